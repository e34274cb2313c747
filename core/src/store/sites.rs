//! Sites: the websites the widget is embedded on.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::ids::SiteId;
use crate::domain::model::Site;
use crate::domain::secret;
use crate::store::convert::{self, to_json_list};
use crate::store::entities::site;
use crate::store::{Store, StoreResult};

impl Store {
    pub async fn site_by_key(&self, key: &str) -> StoreResult<Option<Site>> {
        site::Entity::find()
            .filter(site::Column::Key.eq(key))
            .one(self.db())
            .await?
            .map(convert::site)
            .transpose()
    }

    pub async fn site(&self, id: SiteId) -> StoreResult<Option<Site>> {
        site::Entity::find_by_id(id.0)
            .one(self.db())
            .await?
            .map(convert::site)
            .transpose()
    }

    pub async fn list_sites(&self) -> StoreResult<Vec<Site>> {
        site::Entity::find()
            .order_by_asc(site::Column::CreatedAt)
            .all(self.db())
            .await?
            .into_iter()
            .map(convert::site)
            .collect()
    }

    pub async fn create_site(
        &self,
        name: &str,
        allowed_origins: &[String],
        timezone: &str,
    ) -> StoreResult<Site> {
        // Site keys are public (they sit in the snippet), so they only need to be unique, not secret.
        let key = secret::generate("site_").plain[..21].to_string();
        let row = site::ActiveModel {
            id: Set(SiteId::new().0),
            key: Set(key),
            name: Set(name.to_string()),
            allowed_origins: Set(to_json_list(allowed_origins)),
            timezone: Set(timezone.to_string()),
            created_at: Set(Utc::now()),
        };
        let w = self.write().await?;
        let model = row.insert(&w.tx).await?;
        w.commit().await?;
        convert::site(model)
    }

    /// The first site, created on first start so a fresh server has a widget key to paste.
    pub async fn ensure_default_site(&self) -> StoreResult<Site> {
        if let Some(first) = self.list_sites().await?.into_iter().next() {
            return Ok(first);
        }
        self.create_site("Default site", &[], "UTC").await
    }
}
