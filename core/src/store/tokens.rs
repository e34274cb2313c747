//! API tokens, stored as hashes.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::ids::TokenId;
use crate::domain::model::ApiToken;
use crate::domain::scope::Scope;
use crate::store::convert::{self, to_json_list};
use crate::store::entities::api_token;
use crate::store::{Store, StoreResult};

/// A token row to insert: everything but the secret itself.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub prefix: String,
    pub hash: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Store {
    pub async fn insert_token(&self, new: NewToken, now: DateTime<Utc>) -> StoreResult<ApiToken> {
        let scopes: Vec<String> = new.scopes.iter().map(|s| s.as_str().to_string()).collect();
        let row = api_token::ActiveModel {
            id: Set(TokenId::new().0),
            name: Set(new.name),
            prefix: Set(new.prefix),
            hash: Set(new.hash),
            scopes: Set(to_json_list(&scopes)),
            created_at: Set(now),
            expires_at: Set(new.expires_at),
            last_used_at: Set(None),
            revoked_at: Set(None),
        };
        let w = self.write().await?;
        let model = row.insert(&w.tx).await?;
        w.commit().await?;
        convert::api_token(model)
    }

    pub async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<ApiToken>> {
        api_token::Entity::find()
            .filter(api_token::Column::Hash.eq(hash))
            .one(self.db())
            .await?
            .map(convert::api_token)
            .transpose()
    }

    pub async fn list_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        api_token::Entity::find()
            .order_by_asc(api_token::Column::CreatedAt)
            .all(self.db())
            .await?
            .into_iter()
            .map(convert::api_token)
            .collect()
    }

    /// Marks a token revoked. `false` if there is no such token.
    pub async fn revoke_token(&self, id: TokenId, now: DateTime<Utc>) -> StoreResult<bool> {
        let w = self.write().await?;
        let result = api_token::Entity::update_many()
            .col_expr(api_token::Column::RevokedAt, Some(now).into())
            .filter(api_token::Column::Id.eq(id.0))
            .filter(api_token::Column::RevokedAt.is_null())
            .exec(&w.tx)
            .await?;
        w.commit().await?;
        if result.rows_affected > 0 {
            return Ok(true);
        }
        Ok(api_token::Entity::find_by_id(id.0)
            .one(self.db())
            .await?
            .is_some())
    }

    pub async fn touch_token(&self, id: TokenId, now: DateTime<Utc>) -> StoreResult<()> {
        let w = self.write().await?;
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Some(now).into())
            .filter(api_token::Column::Id.eq(id.0))
            .exec(&w.tx)
            .await?;
        w.commit().await
    }
}
