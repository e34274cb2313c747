//! What integration plugins reach of the platform through host functions (agents, ...), behind a trait so
//! the host runs on the server's store, or without one (`natter plugin check`, unit tests: every such host
//! function then answers `unavailable`). Each function is gated by a capability.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::domain::customers::{CustomerFields, CustomerFieldsError};
use crate::domain::model::{Agent, Customer};
use crate::plugins::call::{CallState, ImportError};
use crate::plugins::capabilities::Capability;
use crate::store::agent_sync::SyncedAgent;
use crate::store::{Store, StoreError};

/// The platform's data as host functions see it.
pub trait Platform: Send + Sync {
    /// Every agent, oldest first.
    fn agents(&self) -> BoxFuture<'_, Result<Vec<Agent>, StoreError>>;

    /// Creates or updates the agent with this external id.
    fn save_agent(&self, agent: SyncedAgent) -> BoxFuture<'_, Result<Agent, StoreError>>;

    fn customer<'a>(
        &'a self,
        external_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Customer>, StoreError>>;

    /// Creates or updates the customer with this external id (`customer.updated` on a change).
    fn save_customer(&self, fields: CustomerFields) -> BoxFuture<'_, Result<Customer, StoreError>>;
}

impl Platform for Store {
    fn agents(&self) -> BoxFuture<'_, Result<Vec<Agent>, StoreError>> {
        Box::pin(self.list_agents())
    }

    fn save_agent(&self, agent: SyncedAgent) -> BoxFuture<'_, Result<Agent, StoreError>> {
        Box::pin(self.save_synced_agent(agent))
    }

    fn customer<'a>(
        &'a self,
        external_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Customer>, StoreError>> {
        Box::pin(self.customer_by_external_id(external_id))
    }

    fn save_customer(&self, fields: CustomerFields) -> BoxFuture<'_, Result<Customer, StoreError>> {
        Box::pin(async move { Ok(self.save_customer(fields).await?.customer) })
    }
}

/// Longest text an integration may store in one agent field.
const MAX_AGENT_FIELD_BYTES: usize = 1024;
/// Most groups one agent may have.
const MAX_AGENT_GROUPS: usize = 100;

impl CallState {
    fn platform(&self) -> Result<Arc<dyn Platform>, ImportError> {
        self.platform
            .clone()
            .ok_or_else(|| ImportError::Unavailable("this host has no platform data".into()))
    }

    pub fn agents_list(&mut self) -> Result<Vec<Agent>, ImportError> {
        self.require(Capability::AgentsRead)?;
        let platform = self.platform()?;
        // Calls run on a blocking thread, so waiting for the database here stalls no async worker.
        self.runtime
            .block_on(platform.agents())
            .map_err(|e| ImportError::Unavailable(e.to_string()))
    }

    pub fn agent_save(&mut self, agent: SyncedAgent) -> Result<Agent, ImportError> {
        self.require(Capability::AgentsWrite)?;
        let too_long = [&agent.external_id, &agent.email, &agent.name]
            .into_iter()
            .chain(&agent.groups)
            .any(|text| text.len() > MAX_AGENT_FIELD_BYTES);
        if too_long || agent.groups.len() > MAX_AGENT_GROUPS {
            return Err(ImportError::TooLarge);
        }
        if agent.external_id.trim().is_empty() || agent.email.trim().is_empty() {
            return Err(ImportError::Unavailable(
                "an agent needs an external id and an email".into(),
            ));
        }
        let platform = self.platform()?;
        self.runtime
            .block_on(platform.save_agent(agent))
            .map_err(|e| ImportError::Unavailable(e.to_string()))
    }

    pub fn customer_get(&mut self, external_id: &str) -> Result<Option<Customer>, ImportError> {
        self.require(Capability::CustomersRead)?;
        let platform = self.platform()?;
        self.runtime
            .block_on(platform.customer(external_id))
            .map_err(|e| ImportError::Unavailable(e.to_string()))
    }

    /// Fields are normalised here, so every plugin gets the same trimming, label order and limits.
    pub fn customer_save(&mut self, fields: CustomerFields) -> Result<Customer, ImportError> {
        self.require(Capability::CustomersWrite)?;
        let fields = fields.normalised().map_err(|e| match e {
            CustomerFieldsError::TooLong(_) | CustomerFieldsError::TooManyLabels => {
                ImportError::TooLarge
            }
            other => ImportError::Unavailable(other.to_string()),
        })?;
        let platform = self.platform()?;
        self.runtime
            .block_on(platform.save_customer(fields))
            .map_err(|e| ImportError::Unavailable(e.to_string()))
    }
}
