//! A job that one node at a time runs (handing events to plugins, the retention pass): the lease
//! this node holds on it (`store::leases`), renewed while it works.

use std::time::Duration;

use chrono::Utc;

use crate::store::Store;

pub struct Lease {
    store: Store,
    name: &'static str,
    length: Duration,
    /// Until when this node holds it (Unix ms, as stored), if it does.
    held: Option<i64>,
}

impl Lease {
    pub fn new(store: Store, name: &'static str, length: Duration) -> Self {
        Self {
            store,
            name,
            length,
            held: None,
        }
    }

    /// Whether this node may run the job now. Takes a free lease, and renews its own once half of
    /// it is used, so a holder that keeps working keeps it and one that died loses it.
    pub async fn hold(&mut self) -> bool {
        let now = Utc::now();
        let length = chrono::Duration::from_std(self.length).unwrap_or(chrono::Duration::hours(1));
        if let Some(until) = self.held
            && until - now.timestamp_millis() > length.num_milliseconds() / 2
        {
            return true;
        }
        let until = now + length;
        match self
            .store
            .take_lease(self.name, now, until, self.held)
            .await
        {
            Ok(true) => {
                self.held = Some(until.timestamp_millis());
                true
            }
            Ok(false) => {
                self.held = None;
                false
            }
            Err(e) => {
                tracing::warn!(lease = self.name, error = %e, "cannot take or renew a lease");
                self.held = None;
                false
            }
        }
    }
}
