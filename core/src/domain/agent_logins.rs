//! Console sign-in with an email and a password: setting an agent's password (argon2id), checking
//! it in constant time, and throttling guessing per client address and per email.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;

use crate::bus::throttle::RedisThrottle;
use crate::domain::DomainError;
use crate::domain::agent_links::{AgentLinks, Session};
use crate::domain::clock::Clock;
use crate::domain::ids::AgentId;
use crate::domain::model::Agent;
use crate::store::Store;

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted, in bytes: hashing cost grows with length, so it is capped.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Failed sign-ins allowed per email within [`THROTTLE_WINDOW_MINUTES`], before further attempts are
/// refused without checking the password.
pub const FAILURES_PER_EMAIL: u32 = 5;
/// Failed sign-ins allowed per client address within the window. Higher than per email: an office
/// behind one address has several agents mistyping.
pub const FAILURES_PER_ADDRESS: u32 = 20;
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;
/// Past this many tracked keys, windows that are over are dropped.
const THROTTLE_PRUNE_AT: usize = 10_000;

/// A successful sign-in: the agent and their new session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub agent: Agent,
    pub session: Session,
}

#[derive(Clone)]
pub struct AgentLogins {
    store: Store,
    links: AgentLinks,
    throttle: Arc<Mutex<Throttle>>,
    /// With several nodes, the throttle they share (this node's own one stands in while Redis is away).
    shared: Option<Arc<RedisThrottle>>,
}

impl AgentLogins {
    pub fn new(store: Store, clock: Arc<dyn Clock>, links: AgentLinks) -> Self {
        Self {
            store,
            links,
            throttle: Arc::new(Mutex::new(Throttle::new(clock))),
            shared: None,
        }
    }

    /// Counts failed sign-ins in `throttle`, shared by every node, rather than in this process.
    #[must_use]
    pub fn shared_throttle(mut self, throttle: RedisThrottle) -> Self {
        self.shared = Some(Arc::new(throttle));
        self
    }

    /// Whether `key` may try again: in the shared throttle, or this node's when there is none or
    /// it cannot be read.
    async fn allows(&self, key: &str, max_failures: u32) -> bool {
        if let Some(shared) = &self.shared {
            match shared.allows(key, max_failures).await {
                Ok(allowed) => return allowed,
                Err(e) => {
                    tracing::warn!(error = %e, "shared sign-in throttle unreadable; using this node's")
                }
            }
        }
        self.throttle().allows(key, max_failures)
    }

    async fn failed(&self, key: &str) {
        // This node counts too, so it still throttles while Redis is away.
        self.throttle().failed(key);
        if let Some(shared) = &self.shared
            && let Err(e) = shared.failed(key).await
        {
            tracing::warn!(error = %e, "cannot count a failed sign-in in the shared throttle");
        }
    }

    async fn forget(&self, key: &str) {
        self.throttle().forget(key);
        if let Some(shared) = &self.shared
            && let Err(e) = shared.forget(key).await
        {
            tracing::warn!(error = %e, "cannot reset the shared sign-in throttle");
        }
    }

    /// Sets (or replaces) an agent's console password. The password is never logged or kept.
    pub async fn set_password(&self, agent_id: AgentId, password: &str) -> Result<(), DomainError> {
        check_password_rules(password)?;
        let agent = self
            .store
            .agent(agent_id)
            .await?
            .ok_or(DomainError::NotFound("agent"))?;
        // Sign-in is by email, so two agents sharing an email cannot both have a password.
        let others = self.store.agents_with_password(&agent.email).await?;
        if others.iter().any(|(other, _)| other.id != agent.id) {
            return Err(DomainError::Conflict(
                "another agent with this email already has a password".into(),
            ));
        }
        let hash = hash_password(password.to_owned()).await?;
        if !self.store.set_agent_password_hash(agent_id, hash).await? {
            return Err(DomainError::NotFound("agent"));
        }
        tracing::info!(agent = %agent_id, "console password set");
        Ok(())
    }

    /// Sets the password of the one agent with this email (the `natter agent password` command).
    pub async fn set_password_by_email(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Agent, DomainError> {
        let agents = self.store.agents_by_email(email.trim()).await?;
        match agents.as_slice() {
            [agent] => {
                self.set_password(agent.id, password).await?;
                Ok(agent.clone())
            }
            [] => Err(DomainError::NotFound("agent with this email")),
            _ => Err(DomainError::Conflict(
                "several agents have this email; set the password by agent id over the API".into(),
            )),
        }
    }

    /// Checks an email and password and opens a session. Every failure looks the same from the
    /// outside (unknown email, no password, wrong password, disabled agent) and takes as long: a
    /// hash is verified in every case.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        from: IpAddr,
    ) -> Result<SignedIn, DomainError> {
        let email = email.trim().to_lowercase();
        let keys = [format!("email:{email}"), format!("address:{from}")];
        if !self.allows(&keys[0], FAILURES_PER_EMAIL).await
            || !self.allows(&keys[1], FAILURES_PER_ADDRESS).await
        {
            tracing::warn!(address = %from, "sign-in throttled");
            return Err(DomainError::RateLimited);
        }
        let candidate = if password.len() > MAX_PASSWORD_BYTES {
            None
        } else {
            self.store
                .agents_with_password(&email)
                .await?
                .into_iter()
                .next()
        };
        let (agent, hash) = match candidate {
            Some((agent, hash)) => (Some(agent), hash),
            None => (None, dummy_hash().to_owned()),
        };
        let matches = verify_password(password.to_owned(), hash).await?;
        let agent = match agent {
            Some(agent) if matches && agent.enabled => agent,
            _ => {
                for key in &keys {
                    self.failed(key).await;
                }
                tracing::info!(address = %from, "sign-in failed");
                return Err(DomainError::SignInFailed);
            }
        };
        self.forget(&keys[0]).await;
        let session = self.links.start_session(agent.id).await?;
        tracing::info!(agent = %agent.id, "agent signed in");
        Ok(SignedIn { agent, session })
    }

    /// Ends the session behind a cookie.
    pub async fn sign_out(&self, session: &str) -> Result<(), DomainError> {
        self.links.end_session(session).await
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.throttle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub fn check_password_rules(password: &str) -> Result<(), DomainError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(DomainError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(DomainError::invalid(
            "password",
            format!("must be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Hashing is deliberately slow (tens of milliseconds of CPU), so it runs off the async workers.
async fn hash_password(password: String) -> Result<String, DomainError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| DomainError::Internal(format!("password hashing stopped: {e}")))?
}

fn hash_now(password: &str) -> Result<String, DomainError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| DomainError::Internal(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| DomainError::Internal(format!("password hashing: {e}")))
}

async fn verify_password(password: String, hash: String) -> Result<bool, DomainError> {
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            tracing::error!("a stored password hash does not parse");
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(|e| DomainError::Internal(format!("password check stopped: {e}")))
}

/// A hash of a random password, verified against when the email has no password, so an unknown
/// email costs as much time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut random = [0u8; 24];
        rand::rng().fill_bytes(&mut random);
        hash_now(&hex::encode(random)).unwrap_or_default()
    })
}

/// Failed attempts per key in fixed windows of [`THROTTLE_WINDOW_MINUTES`]. In memory: a restart
/// forgets it, which costs an attacker a restart per few guesses.
struct Throttle {
    clock: Arc<dyn Clock>,
    windows: HashMap<String, Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: DateTime<Utc>,
    failures: u32,
}

impl Throttle {
    fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            windows: HashMap::new(),
        }
    }

    fn window() -> Duration {
        Duration::minutes(THROTTLE_WINDOW_MINUTES)
    }

    fn allows(&self, key: &str, max_failures: u32) -> bool {
        let now = self.clock.now();
        self.windows
            .get(key)
            .is_none_or(|w| now - w.started >= Self::window() || w.failures < max_failures)
    }

    fn failed(&mut self, key: &str) {
        let now = self.clock.now();
        if self.windows.len() >= THROTTLE_PRUNE_AT {
            self.windows.retain(|_, w| now - w.started < Self::window());
        }
        let window = self.windows.entry(key.to_owned()).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now - window.started >= Self::window() {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures += 1;
    }

    fn forget(&mut self, key: &str) {
        self.windows.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::clock::ManualClock;

    #[test]
    fn the_throttle_refuses_after_the_allowed_failures_until_the_window_ends() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let mut throttle = Throttle::new(clock.clone());
        for _ in 0..3 {
            assert!(throttle.allows("email:a@example.com", 3));
            throttle.failed("email:a@example.com");
        }
        assert!(!throttle.allows("email:a@example.com", 3));
        assert!(
            throttle.allows("email:b@example.com", 3),
            "keys are separate"
        );
        clock.advance(Duration::minutes(THROTTLE_WINDOW_MINUTES));
        assert!(throttle.allows("email:a@example.com", 3));
        throttle.failed("email:a@example.com");
        assert!(throttle.allows("email:a@example.com", 3), "a new window");
        throttle.forget("email:a@example.com");
        assert!(throttle.windows.is_empty());
    }

    #[test]
    fn passwords_hash_with_a_salt_and_verify() {
        let a = hash_now("correct horse battery").expect("hashes");
        let b = hash_now("correct horse battery").expect("hashes");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert!(!a.contains("correct horse"));
        let parsed = PasswordHash::new(&a).expect("a PHC string");
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong horse battery", &parsed)
                .is_err()
        );
        assert!(PasswordHash::new(dummy_hash()).is_ok());
    }

    #[test]
    fn password_rules() {
        assert!(check_password_rules("short").is_err());
        assert!(check_password_rules("ten chars!").is_ok());
        assert!(check_password_rules(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }
}
