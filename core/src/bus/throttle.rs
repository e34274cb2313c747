//! The sign-in throttle shared through Redis, for several nodes: failed attempts per key (an email, a
//! client address) in fixed windows, counted by `INCR` on a key that expires with its window, so a
//! guesser gets the same number of tries however many nodes the load balancer spreads them over.
//! Keys are hashed: no email address or client address is written to Redis.

use std::time::Duration;

use redis::aio::ConnectionManager;
use sha2::{Digest, Sha256};

use crate::bus::BusError;

const IO_TIMEOUT: Duration = Duration::from_secs(2);

pub struct RedisThrottle {
    connection: ConnectionManager,
    prefix: String,
    window: Duration,
}

impl RedisThrottle {
    pub fn new(connection: ConnectionManager, prefix: &str, window: Duration) -> Self {
        Self {
            connection,
            prefix: format!("{prefix}:signin"),
            window,
        }
    }

    /// Whether `key` has fewer than `max_failures` failures in its current window.
    pub async fn allows(&self, key: &str, max_failures: u32) -> Result<bool, BusError> {
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("GET");
        command.arg(self.key(key));
        let failures: Option<u32> = timed(command.query_async(&mut connection)).await?;
        Ok(failures.unwrap_or(0) < max_failures)
    }

    /// Counts a failure; the first one of a window starts it.
    pub async fn failed(&self, key: &str) -> Result<(), BusError> {
        let key = self.key(key);
        let window = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("INCR")
            .arg(&key)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(window)
            .arg("NX")
            .ignore();
        let mut connection = self.connection.clone();
        timed(pipe.query_async::<()>(&mut connection)).await
    }

    /// Forgets the failures of `key` (a successful sign-in).
    pub async fn forget(&self, key: &str) -> Result<(), BusError> {
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("DEL");
        command.arg(self.key(key));
        timed(command.query_async::<i64>(&mut connection))
            .await
            .map(drop)
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{}", self.prefix, hex::encode(Sha256::digest(key)))
    }
}

async fn timed<T>(call: impl Future<Output = Result<T, redis::RedisError>>) -> Result<T, BusError> {
    Ok(tokio::time::timeout(IO_TIMEOUT, call)
        .await
        .map_err(|_| BusError::Timeout)??)
}
