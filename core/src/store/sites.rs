//! Sites: the websites the widget is embedded on.
//!
//! A site is never changed or deleted once created (its identity secret is stored apart), so the
//! sites read by key are kept for the process's life: a visitor socket opening finds its site without
//! a read, and every socket of a site shares one copy. Should sites become editable, this cache must
//! be invalidated on every node (over the bus, as the widget configuration is).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::ids::SiteId;
use crate::domain::model::Site;
use crate::domain::secret;
use crate::store::convert::{self, to_json_list};
use crate::store::entities::site;
use crate::store::{Store, StoreResult};

impl Store {
    /// The site whose widget key is `key`. Unknown keys are not remembered: a site created
    /// afterwards (on any node) is found.
    pub async fn site_by_key(&self, key: &str) -> StoreResult<Option<Arc<Site>>> {
        if let Some(known) = self.sites.get(key) {
            return Ok(Some(known));
        }
        let Some(row) = site::Entity::find()
            .filter(site::Column::Key.eq(key))
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(self.sites.remember(convert::site(row)?)))
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

/// The sites read by key so far (see the module doc for why nothing is ever evicted: there is one
/// entry per site an admin created).
#[derive(Default)]
pub(crate) struct SitesByKey(RwLock<HashMap<String, Arc<Site>>>);

impl SitesByKey {
    fn get(&self, key: &str) -> Option<Arc<Site>> {
        let known = self.0.read().unwrap_or_else(|e| e.into_inner());
        known.get(key).cloned()
    }

    fn remember(&self, site: Site) -> Arc<Site> {
        let mut known = self.0.write().unwrap_or_else(|e| e.into_inner());
        known
            .entry(site.key.clone())
            .or_insert_with(|| Arc::new(site))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use std::sync::Arc;

    use chrono::Utc;
    use sea_orm::{ActiveModelTrait, Set};

    use crate::domain::ids::SiteId;
    use crate::store::convert::to_json_list;
    use crate::store::entities::site;
    use crate::store::test_stores::test_stores;

    /// A key asked for before its site exists is found once the site is created (a miss is not
    /// remembered), and every later read shares the one copy the first read kept.
    #[tokio::test]
    async fn sites_by_key_are_kept_once_found_and_a_miss_is_not_kept() {
        for on in test_stores().await {
            eprintln!("on {}", on.backend);
            let store = &on.store;
            let created = store.create_site("Shop", &[], "UTC").await.unwrap();
            let first = store.site_by_key(&created.key).await.unwrap().unwrap();
            assert_eq!(*first, created);
            let again = store.site_by_key(&created.key).await.unwrap().unwrap();
            assert!(Arc::ptr_eq(&first, &again), "read once, then shared");

            // As another node would create it: straight into the table, after a miss here.
            let key = "site_made_elsewhere";
            assert!(store.site_by_key(key).await.unwrap().is_none());
            let id = SiteId::new();
            site::ActiveModel {
                id: Set(id.0),
                key: Set(key.into()),
                name: Set("Later".into()),
                allowed_origins: Set(to_json_list(&[])),
                timezone: Set("Europe/Berlin".into()),
                created_at: Set(Utc::now()),
            }
            .insert(store.db())
            .await
            .unwrap();
            let found = store.site_by_key(key).await.unwrap().unwrap();
            assert_eq!((found.id, found.timezone.as_str()), (id, "Europe/Berlin"));
        }
    }
}
