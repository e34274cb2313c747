//! Configuration: built-in defaults < `config.toml` < `NATTER_*` environment variables.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use serde::{Deserialize, Serialize};

/// Everything the server reads at start. Unknown keys are refused so a typo never goes unnoticed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub chat: ChatConfig,
    /// Sandbox limits of Action Rules.
    pub rules: natter_rules::Limits,
    /// Webhook delivery: timeouts, retries, when an endpoint is disabled, which targets are allowed.
    pub delivery: DeliveryConfig,
    pub plugins: PluginsConfig,
    /// Email through SMTP: offline messages, transcripts, agent notifications. Off until `smtp_url` is set.
    pub mail: MailConfig,
    /// Co-browsing: which plugin, and the transport limits the core enforces.
    pub cobrowse: CobrowseConfig,
    /// Realtime fan-out and presence: in this process (one node), or through Redis (several nodes).
    pub bus: BusConfig,
}

/// How nodes share live events and agent presence. Empty `url`: one node, everything in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// `redis://HOST:PORT[/DB]` to run several nodes on one PostgreSQL database; empty for one node.
    pub url: String,
    /// Prefix of every Redis key and channel, so several installations can share one Redis.
    pub prefix: String,
    /// A node's agents count as online this long after its last heartbeat (it beats every third of
    /// it): a node that dies takes its agents offline within `presence_ttl_seconds` plus a third.
    pub presence_ttl_seconds: u64,
    /// How long a starting node waits for Redis before it gives up with an error.
    pub connect_timeout_seconds: u64,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            prefix: "natter".into(),
            presence_ttl_seconds: 15,
            connect_timeout_seconds: 10,
        }
    }
}

impl BusConfig {
    /// Whether the nodes share a Redis bus (several nodes) rather than this process's memory.
    pub fn is_shared(&self) -> bool {
        !self.url.trim().is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CobrowseConfig {
    /// The co-browse plugin (its own settings are edited at /api/v1/cobrowse/config).
    pub plugin: String,
    /// The largest frame a visitor socket accepts while it is in a co-browse session (a page snapshot).
    pub max_frame_bytes: usize,
    /// Recorded events per session and second passed on; the rest are dropped.
    pub max_events_per_second: u32,
}

impl Default for CobrowseConfig {
    fn default() -> Self {
        Self {
            plugin: "cobrowse".into(),
            max_frame_bytes: 256 * 1024,
            max_events_per_second: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub public_url: String,
    pub max_body_bytes: usize,
    pub max_frame_bytes: usize,
    pub shutdown_grace_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
    /// How an SQLite commit reaches the disk (the server's connections; PostgreSQL has its own
    /// `synchronous_commit`).
    pub sqlite_synchronous: SqliteSynchronous,
}

/// SQLite's `synchronous` for the database file, which is in WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    /// Each commit is synced to the disk before it returns, so before its acks go out: nothing
    /// acknowledged is lost, even to a power cut.
    #[default]
    Full,
    /// Each commit is written to the WAL file, which is synced at checkpoints: whatever was
    /// acknowledged survives a killed server, but the last commits before a power cut or an
    /// operating system crash may be lost. A commit waits for no disk sync.
    Normal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub session_ttl_seconds: u64,
    pub chat_link_ttl_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    pub max_message_chars: usize,
    pub messages_per_minute: u32,
}

/// The WebAssembly plugin host: where vendor plugins live, what each call may spend, who may do what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// A folder of vendor `.wasm` components, relative to the configuration file; empty for none.
    pub dir: String,
    /// The widget plugin that renders `/widget.js`.
    pub widget: String,
    pub call_deadline_ms: u64,
    pub memory_limit_bytes: usize,
    pub max_payload_bytes: usize,
    /// Consecutive failed calls after which a plugin is disabled.
    pub failures_before_disable: u32,
    /// The most keys one plugin may keep in its key-value store.
    pub kv_max_keys: u64,
    /// The most bytes (keys and values together) one plugin may keep in its key-value store.
    pub kv_max_bytes: u64,
    /// Capabilities granted per plugin name, e.g. `webchat = ["kv"]`. Anything not listed is denied.
    pub grants: BTreeMap<String, Vec<String>>,
    /// Where compiled plugins are kept between starts, relative to the configuration file; empty
    /// compiles every plugin on every start.
    pub compile_cache: String,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            dir: String::new(),
            widget: "webchat".into(),
            call_deadline_ms: 200,
            memory_limit_bytes: 32 * 1024 * 1024,
            max_payload_bytes: 256 * 1024,
            failures_before_disable: 5,
            kv_max_keys: 1000,
            kv_max_bytes: 1024 * 1024,
            compile_cache: "plugin-cache".into(),
            // The built-in agent sync and customer tagging need to read and write what they keep.
            grants: BTreeMap::from([
                (
                    "agent-sync".to_string(),
                    vec!["agents.read".to_string(), "agents.write".to_string()],
                ),
                (
                    "customer-tags".to_string(),
                    vec!["customers.read".to_string(), "customers.write".to_string()],
                ),
            ]),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            max_body_bytes: 64 * 1024,
            max_frame_bytes: 16 * 1024,
            shutdown_grace_seconds: 10,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_ttl_seconds: 12 * 3600,
            chat_link_ttl_seconds: 15 * 60,
        }
    }
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            max_message_chars: 4000,
            messages_per_minute: 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// How long one POST to a receiver may take, connection included.
    pub request_timeout_seconds: u64,
    /// How long a failing delivery is retried, counted from its first attempt, before it is given up.
    pub max_age_seconds: u64,
    /// The first retry waits up to this long; each further one up to twice as long (full jitter).
    pub backoff_base_ms: u64,
    /// The longest wait between two attempts.
    pub backoff_cap_ms: u64,
    /// Deliveries given up in a row (each after `max_age_seconds` of retries) that disable an endpoint.
    pub failures_before_disable: u32,
    /// How often the worker looks for retries that came due, when no new event wakes it.
    pub poll_interval_ms: u64,
    /// Attempts in flight at once, across all endpoints.
    pub concurrency: usize,
    /// Whether endpoints may point at loopback, private or link-local addresses.
    pub allow_private_targets: bool,
    /// The integration plugin that shapes webhook bodies (`shape-webhook`); empty sends the envelope
    /// as is.
    pub shaper: String,
    /// Finished deliveries and mails (and their attempt logs) older than this many days are removed,
    /// with the events nothing needs any more; 0 keeps everything.
    pub retention_days: u32,
    /// How often the retention pass runs, in seconds.
    pub prune_interval_seconds: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            request_timeout_seconds: 10,
            max_age_seconds: 24 * 3600,
            backoff_base_ms: 5_000,
            backoff_cap_ms: 3_600_000,
            failures_before_disable: 5,
            poll_interval_ms: 1_000,
            concurrency: 8,
            allow_private_targets: false,
            shaper: "webhooks".into(),
            retention_days: 30,
            prune_interval_seconds: 3600,
        }
    }
}

/// Email: where mail goes out, who it is from, where offline messages land, and the limits on it.
/// Retries use the `[delivery]` back-off and retry window, like webhooks.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `smtp://host:25` (plain), `smtp://host:587?tls=required` (STARTTLS) or `smtps://host:465`
    /// (TLS). Empty: mail is off.
    pub smtp_url: String,
    pub username: String,
    /// Prefer `NATTER_MAIL__PASSWORD` or `password_file`; never logged, redacted by `config show`.
    pub password: String,
    /// A file holding the password (first line), relative to the configuration file.
    pub password_file: String,
    /// The sender, e.g. `Natter <chat@example.com>`.
    pub from: String,
    /// Where offline messages from the widget are sent.
    pub offline_inbox: String,
    /// How long one SMTP session may take, connection included.
    pub timeout_seconds: u64,
    /// After a notification about a conversation, an agent gets no other about it for this long.
    pub notification_quiet_seconds: u64,
    /// How long the one-time chat link in a notification works.
    pub notification_link_ttl_seconds: u64,
    /// Offline messages one visitor may send per hour; transcripts one visitor may ask for from
    /// the widget per hour (counted apart).
    pub offline_per_visitor_per_hour: u32,
    /// Offline messages one site takes per hour, all visitors together; the same for transcript
    /// requests from the widget (counted apart).
    pub offline_per_site_per_hour: u32,
    /// The language of the mails to the team (offline messages to the inbox, agent notifications);
    /// transcripts use the visitor's.
    pub team_language: String,
    /// Texts per language (`[mail.templates.de]`), over the English defaults.
    pub templates: BTreeMap<String, MailTexts>,
}

/// The texts of the mails in one language; a key left out keeps the English text (see
/// `mail::render::Texts` for the defaults). `{name}`-style placeholders are filled per mail; an
/// unknown key is a configuration error naming it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailTexts {
    /// Offline message: the subject (`{name}`).
    pub offline_subject: Option<String>,
    /// Offline message: the line before the message (`{name}`, `{email}`, `{page}`).
    pub offline_intro: Option<String>,
    /// Offline message: `{page}` when the widget sent no page address.
    pub offline_unknown_page: Option<String>,
    /// Offline message: the link for agents (`{link}`).
    pub offline_link: Option<String>,
    /// Offline message: how to answer (`{name}`).
    pub offline_reply_hint: Option<String>,
    /// Transcript: the subject.
    pub transcript_subject: Option<String>,
    /// Transcript: the line before the messages.
    pub transcript_intro: Option<String>,
    /// Transcript: the visitor's messages when they gave no name.
    pub transcript_you: Option<String>,
    /// Transcript: an agent's messages when the agent has no name.
    pub transcript_agent: Option<String>,
    /// Transcript: the server's own messages.
    pub transcript_system: Option<String>,
    /// Agent notification: the subject (`{name}`: the visitor's, or `notification_visitor`).
    pub notification_subject: Option<String>,
    /// Agent notification: the greeting (`{agent}`).
    pub notification_greeting: Option<String>,
    /// Agent notification: what happened.
    pub notification_intro: Option<String>,
    /// Agent notification: the one-time link (`{link}`).
    pub notification_link: Option<String>,
    /// Agent notification: `{name}` when the visitor gave none.
    pub notification_visitor: Option<String>,
}

impl MailConfig {
    pub fn enabled(&self) -> bool {
        !self.smtp_url.trim().is_empty()
    }
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &redact_url_password(&self.smtp_url))
            .field("username", &self.username)
            .field("password", &"redacted")
            .field("password_file", &self.password_file)
            .field("from", &self.from)
            .field("offline_inbox", &self.offline_inbox)
            .finish_non_exhaustive()
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: String::new(),
            username: String::new(),
            password: String::new(),
            password_file: String::new(),
            from: String::new(),
            offline_inbox: String::new(),
            timeout_seconds: 10,
            notification_quiet_seconds: 15 * 60,
            notification_link_ttl_seconds: 24 * 3600,
            offline_per_visitor_per_hour: 5,
            offline_per_site_per_hour: 100,
            team_language: "en".into(),
            templates: BTreeMap::new(),
        }
    }
}

/// `NATTER_*` variables read elsewhere than the configuration: the file's path, the log filter, and the
/// migration runner's crash-test hook.
const NON_SETTING_ENV: &[&str] = &[
    "NATTER_CONFIG",
    "NATTER_LOG",
    crate::store::migrate::HOLD_ENV,
];

/// Sections that `NATTER_<SECTION>__<KEY>` may name; anything else is warned about.
const SECTIONS: &[&str] = &[
    "server", "database", "log", "auth", "chat", "rules", "delivery", "plugins", "mail", "bus",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
}

/// A loaded configuration and where it came from (the database file is placed next to it).
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    pub base_dir: PathBuf,
    /// `NATTER_*` variables that name no setting (logged once logging is up).
    pub unknown_env: Vec<String>,
}

impl Config {
    /// Loads defaults, then `path` if it exists, then `NATTER_*` variables from the process environment.
    pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    /// As [`Config::load`], with the environment given explicitly (tests pass their own).
    pub fn load_with_env(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<LoadedConfig, ConfigError> {
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("NATTER_"))
            .collect();
        let unknown_env = env
            .iter()
            .map(|(key, _)| key.clone())
            .filter(|key| !is_known_env_key(key) && !NON_SETTING_ENV.contains(&key.as_str()))
            .collect();
        let overrides = env_overrides(&env);
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(path))
            .merge(EnvOverrides(overrides))
            .extract()
            .map_err(Box::new)?;
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(LoadedConfig {
            config,
            base_dir,
            unknown_env,
        })
    }
}

/// The `NATTER_*` settings as a figment provider whose errors name the variable (`for key
/// "NATTER_CHAT__MAX_MESSAGE_CHARS" in environment variable`), not a place in this file.
struct EnvOverrides(Dict);

impl figment::Provider for EnvOverrides {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("environment variable").interpolater(
            |_: &figment::Profile, keys: &[&str]| {
                let keys: Vec<String> = keys.iter().map(|k| k.to_ascii_uppercase()).collect();
                format!("NATTER_{}", keys.join("__"))
            },
        )
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, Dict>, figment::Error> {
        Ok(figment::Profile::Default.collect(self.0.clone()))
    }
}

/// Turns `NATTER_SECTION__KEY=value` pairs into nested values, parsed the way figment parses env values.
fn env_overrides(env: &[(String, String)]) -> Dict {
    let mut root = Dict::new();
    for (key, raw) in env.iter().filter(|(k, _)| is_known_env_key(k)) {
        let path: Vec<String> = key["NATTER_".len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let value: Value = raw.parse().unwrap_or_else(|_| Value::from(raw.clone()));
        insert_path(&mut root, &path, value);
    }
    root
}

fn insert_path(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

fn is_known_env_key(key: &str) -> bool {
    key.strip_prefix("NATTER_")
        .and_then(|rest| rest.split_once("__"))
        .is_some_and(|(section, _)| SECTIONS.contains(&section.to_ascii_lowercase().as_str()))
}

impl LoadedConfig {
    /// The database URL in force: the configured one, or an SQLite file next to the configuration.
    pub fn database_url(&self) -> String {
        if self.config.database.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.base_dir.join("natter.db").display()
            )
        } else {
            self.config.database.url.clone()
        }
    }

    /// The folder of compiled plugins, if one is configured (relative paths start at the config's folder).
    pub fn plugin_cache_dir(&self) -> Option<PathBuf> {
        let dir = self.config.plugins.compile_cache.trim();
        (!dir.is_empty()).then(|| self.base_dir.join(dir))
    }

    /// The vendor plugin folder in force, if one is configured (relative paths start at the config's folder).
    pub fn plugins_dir(&self) -> Option<PathBuf> {
        let dir = self.config.plugins.dir.trim();
        (!dir.is_empty()).then(|| self.base_dir.join(dir))
    }

    /// The SMTP password in force: `mail.password`, else the first line of `mail.password_file`.
    pub fn mail_password(&self) -> std::io::Result<Option<String>> {
        let mail = &self.config.mail;
        if !mail.password.is_empty() {
            return Ok(Some(mail.password.clone()));
        }
        let file = mail.password_file.trim();
        if file.is_empty() {
            return Ok(None);
        }
        let raw = std::fs::read_to_string(self.base_dir.join(file))?;
        Ok(raw.lines().next().map(str::to_string))
    }

    /// The configuration as TOML with secrets redacted, for `natter config show`.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.config.clone();
        shown.database.url = redact_url_password(&shown.database.url);
        shown.mail.smtp_url = redact_url_password(&shown.mail.smtp_url);
        shown.bus.url = redact_url_password(&shown.bus.url);
        if !shown.mail.password.is_empty() {
            shown.mail.password = "REDACTED".into();
        }
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

/// A URL with its password replaced, for logs, errors and `config show`.
pub(crate) fn redact_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // set_password only fails for URLs that cannot have one, which this one does.
            let _ = parsed.set_password(Some("REDACTED"));
            parsed.to_string()
        }
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_config() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config.toml")
    }

    #[test]
    fn shipped_config_toml_equals_defaults() {
        let loaded = Config::load_with_env(&repo_config(), Vec::new()).expect("config.toml parses");
        assert_eq!(loaded.config, Config::default());
    }

    #[test]
    fn env_overrides_file_with_nested_keys() {
        let env = vec![
            (
                "NATTER_SERVER__LISTEN".to_string(),
                "127.0.0.1:9000".to_string(),
            ),
            (
                "NATTER_CHAT__MAX_MESSAGE_CHARS".to_string(),
                "12".to_string(),
            ),
            ("NATTER_BOGUS__KEY".to_string(), "1".to_string()),
            ("NATTER_LOG".to_string(), "debug".to_string()),
            (
                crate::store::migrate::HOLD_ENV.to_string(),
                "m20261126_000001_create_chat_tables".to_string(),
            ),
        ];
        let loaded = Config::load_with_env(&repo_config(), env).expect("loads");
        assert_eq!(loaded.config.server.listen.port(), 9000);
        assert_eq!(loaded.config.chat.max_message_chars, 12);
        assert_eq!(loaded.unknown_env, vec!["NATTER_BOGUS__KEY".to_string()]);
    }

    #[test]
    fn sqlite_synchronous_is_full_unless_set_and_a_wrong_value_is_named() {
        let env = |value: &str| {
            vec![(
                "NATTER_DATABASE__SQLITE_SYNCHRONOUS".to_string(),
                value.to_string(),
            )]
        };
        let default = Config::load_with_env(&repo_config(), Vec::new()).expect("loads");
        assert_eq!(
            default.config.database.sqlite_synchronous,
            SqliteSynchronous::Full
        );
        let normal = Config::load_with_env(&repo_config(), env("normal")).expect("loads");
        assert_eq!(
            normal.config.database.sqlite_synchronous,
            SqliteSynchronous::Normal
        );
        let err = Config::load_with_env(&repo_config(), env("off")).expect_err("refused");
        let text = err.to_string();
        assert!(text.contains("off") && text.contains("normal"), "{text}");
        assert!(
            text.contains("NATTER_DATABASE__SQLITE_SYNCHRONOUS") && !text.contains("config.rs"),
            "the variable is named: {text}"
        );
    }

    #[test]
    fn unknown_keys_in_file_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[server]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n").expect("write");
        let err = Config::load_with_env(&path, Vec::new()).expect_err("typo refused");
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn unknown_mail_template_keys_are_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[mail.templates.de]\ntranscript_subject = \"Verlauf\"\ntranscript_subjekt = \"Verlauf\"\n",
        )
        .expect("write");
        let err = Config::load_with_env(&path, Vec::new()).expect_err("typo refused");
        assert!(err.to_string().contains("transcript_subjekt"), "{err}");
        std::fs::write(
            &path,
            "[mail.templates.de]\noffline_link = \"Zum Gespräch: {link}\"\n",
        )
        .expect("write");
        let loaded = Config::load_with_env(&path, Vec::new()).expect("known keys load");
        assert_eq!(
            loaded.config.mail.templates["de"].offline_link.as_deref(),
            Some("Zum Gespräch: {link}")
        );
    }

    #[test]
    fn default_database_is_sqlite_next_to_config() {
        let loaded = Config::load_with_env(Path::new("/srv/natter/config.toml"), Vec::new())
            .expect("missing file is fine");
        assert_eq!(
            loaded.database_url(),
            "sqlite:///srv/natter/natter.db?mode=rwc"
        );
    }

    #[test]
    fn show_redacts_database_password() {
        let env = vec![(
            "NATTER_DATABASE__URL".to_string(),
            "postgres://natter:hunter2@db/natter".to_string(),
        )];
        let loaded = Config::load_with_env(&repo_config(), env).expect("loads");
        let shown = loaded.redacted_toml();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }

    #[test]
    fn show_redacts_mail_password() {
        let env = vec![
            (
                "NATTER_MAIL__SMTP_URL".to_string(),
                "smtp://mailer:s3cret@127.0.0.1:25".to_string(),
            ),
            ("NATTER_MAIL__PASSWORD".to_string(), "hunter3".to_string()),
        ];
        let loaded = Config::load_with_env(&repo_config(), env).expect("loads");
        let shown = loaded.redacted_toml();
        assert!(!shown.contains("hunter3"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!format!("{:?}", loaded.config).contains("hunter3"));
        assert!(loaded.config.mail.enabled());
    }
}
