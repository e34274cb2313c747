//! Customers kept by integrations (by the integrator's external id), the visitor ↔ customer link a
//! verified identity makes, and each site's identity secret.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::domain::customers::{CustomerFields, IdentitySecret};
use crate::domain::ids::{CustomerId, SiteId, VisitorId};
use crate::domain::model::Customer;
use crate::domain::webhook_events::DomainEvent;
use crate::store::entities::{customer, site_identity_secret, visitor};
use crate::store::{Store, StoreError, StoreResult, convert};

/// What saving a customer did.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedCustomer {
    pub customer: Customer,
    /// `false` when the stored customer already equalled the fields: nothing was written.
    pub changed: bool,
}

impl Store {
    pub async fn customer_by_external_id(
        &self,
        external_id: &str,
    ) -> StoreResult<Option<Customer>> {
        find_by_external_id(self.db(), external_id)
            .await?
            .map(convert::customer)
            .transpose()
    }

    /// Creates the customer with this external id or updates it, writing `customer.updated` in the same
    /// transaction when anything changed. `fields` must be normalised.
    pub async fn save_customer(&self, fields: CustomerFields) -> StoreResult<SavedCustomer> {
        let now = Utc::now();
        let w = self.write().await?;
        let existing = find_by_external_id(&w.tx, &fields.external_id).await?;
        let labels = convert::to_json_list(&fields.labels);
        let row = match existing {
            Some(row)
                if row.email == fields.email
                    && row.firstname == fields.firstname
                    && row.lastname == fields.lastname
                    && convert::json_list(&row.labels, "customer labels")? == fields.labels =>
            {
                w.commit().await?;
                return Ok(SavedCustomer {
                    customer: convert::customer(row)?,
                    changed: false,
                });
            }
            Some(row) => {
                let mut row: customer::ActiveModel = row.into();
                row.email = Set(fields.email);
                row.firstname = Set(fields.firstname);
                row.lastname = Set(fields.lastname);
                row.labels = Set(labels);
                row.updated_at = Set(now);
                row.update(&w.tx).await?
            }
            None => {
                customer::ActiveModel {
                    email: Set(fields.email),
                    firstname: Set(fields.firstname),
                    lastname: Set(fields.lastname),
                    labels: Set(labels),
                    ..new_customer(Some(fields.external_id), now)
                }
                .insert(&w.tx)
                .await?
            }
        };
        let customer = convert::customer(row)?;
        let event = DomainEvent::CustomerUpdated {
            customer: customer.clone(),
        };
        self.append_event(&w.tx, &event, now).await?;
        w.commit().await?;
        self.events_committed();
        Ok(SavedCustomer {
            customer,
            changed: true,
        })
    }

    /// Links a visitor to the customer with this external id (a page proved the identity), creating an
    /// empty customer the integration can fill in later. Conversations the visitor had before keep the
    /// customer they were opened under.
    pub async fn identify_visitor(
        &self,
        visitor_id: VisitorId,
        external_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Customer> {
        let w = self.write().await?;
        let row = match find_by_external_id(&w.tx, external_id).await? {
            Some(row) => row,
            None => {
                new_customer(Some(external_id.to_string()), now)
                    .insert(&w.tx)
                    .await?
            }
        };
        let visitor = visitor::Entity::find_by_id(visitor_id.0)
            .one(&w.tx)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("visitor {visitor_id} vanished")))?;
        if visitor.customer_id != Some(row.id) {
            let mut visitor: visitor::ActiveModel = visitor.into();
            visitor.customer_id = Set(Some(row.id));
            visitor.update(&w.tx).await?;
        }
        w.commit().await?;
        convert::customer(row)
    }

    pub async fn identity_secret(&self, site: SiteId) -> StoreResult<Option<IdentitySecret>> {
        Ok(site_identity_secret::Entity::find_by_id(site.0)
            .one(self.db())
            .await?
            .map(|row| IdentitySecret::from_stored(row.secret)))
    }

    /// Stores a new identity secret for the site, replacing the old one (proofs made with it stop working).
    pub async fn rotate_identity_secret(&self, site: SiteId) -> StoreResult<IdentitySecret> {
        let secret = IdentitySecret::generate();
        let row = site_identity_secret::ActiveModel {
            site_id: Set(site.0),
            secret: Set(secret.expose().to_string()),
            created_at: Set(Utc::now()),
        };
        let w = self.write().await?;
        site_identity_secret::Entity::insert(row)
            .on_conflict(
                OnConflict::column(site_identity_secret::Column::SiteId)
                    .update_columns([
                        site_identity_secret::Column::Secret,
                        site_identity_secret::Column::CreatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&w.tx)
            .await?;
        w.commit().await?;
        Ok(secret)
    }

    /// Turns identity proofs off for the site; answers whether there was a secret.
    pub async fn delete_identity_secret(&self, site: SiteId) -> StoreResult<bool> {
        let w = self.write().await?;
        let done = site_identity_secret::Entity::delete_by_id(site.0)
            .exec(&w.tx)
            .await?;
        w.commit().await?;
        Ok(done.rows_affected > 0)
    }
}

async fn find_by_external_id(
    db: &impl ConnectionTrait,
    external_id: &str,
) -> StoreResult<Option<customer::Model>> {
    Ok(customer::Entity::find()
        .filter(customer::Column::ExternalId.eq(external_id))
        .one(db)
        .await?)
}

/// A customer nobody described yet: anonymous (a visitor's first conversation) or known only by the
/// integrator's id (a proven identity before the integration sent the rest).
pub(crate) fn new_customer(
    external_id: Option<String>,
    now: DateTime<Utc>,
) -> customer::ActiveModel {
    customer::ActiveModel {
        id: Set(CustomerId::new().0),
        external_id: Set(external_id),
        email: Set(None),
        firstname: Set(None),
        lastname: Set(None),
        labels: Set("[]".into()),
        created_at: Set(now),
        updated_at: Set(now),
    }
}
