//! Host tests against the committed components: the built-in WebChat and agent sync, the failure fixtures,
//! and the limits on host functions (the key-value quota, the deadline of waits on the database).
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::time::Duration;

use crate::plugins::capabilities::Grants;
use crate::plugins::integration::PlatformEvent;
use crate::plugins::limits::KvQuota;
use crate::plugins::{
    BUILTINS, Builtin, FailureKind, HostOptions, Limits, MemoryPluginData, PluginData, PluginError,
    PluginHost, PluginSource, PluginStatus, RenderContext,
};
use futures_util::future::BoxFuture;

use crate::domain::customers::CustomerFields;
use crate::domain::ids::{ConversationId, EventId};
use crate::domain::model::{Agent, Customer, Message};
use crate::domain::plugin_deliveries::OutboundDelivery;
use crate::plugins::platform::{ConversationView, Platform};
use crate::store::agent_sync::SyncedAgent;
use crate::store::{PluginDeliveryError, Store, StoreError};

const LOOP: &[u8] = include_bytes!("../../../plugins/dist/fixtures/loop.wasm");
const ALLOC: &[u8] = include_bytes!("../../../plugins/dist/fixtures/alloc.wasm");
const TRAP: &[u8] = include_bytes!("../../../plugins/dist/fixtures/trap.wasm");
const UNGRANTED: &[u8] = include_bytes!("../../../plugins/dist/fixtures/ungranted-capability.wasm");
const WRONG_VERSION: &[u8] =
    include_bytes!("../../../plugins/dist/fixtures/wrong-api-version.wasm");
const EVENT_LOG: &[u8] = include_bytes!("../../../plugins/dist/fixtures/event-log.wasm");

fn limits() -> Limits {
    Limits {
        call_deadline: Duration::from_millis(50),
        memory_bytes: 16 * 1024 * 1024,
        max_payload_bytes: 256 * 1024,
        failures_before_disable: 3,
        kv: KvQuota {
            max_keys: 1000,
            max_bytes: 1024 * 1024,
        },
    }
}

async fn host_with(builtins: &[(&'static str, &'static [u8])], limits: Limits) -> PluginHost {
    PluginHost::start(HostOptions {
        limits,
        grants: Grants::default(),
        dir: None,
        builtins: builtins
            .iter()
            .map(|&(name, bytes)| Builtin { name, bytes })
            .collect(),
        data: Arc::new(MemoryPluginData::default()),
        platform: None,
        compile_cache: None,
    })
    .await
    .unwrap()
}

fn ctx() -> RenderContext {
    RenderContext {
        site_key: "site_test".into(),
        base_url: "http://127.0.0.1:8080".into(),
        ws_url: "ws://127.0.0.1:8080/ws/visitor".into(),
    }
}

fn failure(result: Result<impl std::fmt::Debug, PluginError>) -> (FailureKind, String) {
    let error = result.unwrap_err();
    (
        error
            .failure_kind()
            .unwrap_or_else(|| panic!("not a call failure: {error}")),
        error.to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn webchat_loads_renders_and_validates() {
    let host = host_with(&[("webchat", BUILTINS[0].bytes)], limits()).await;
    let info = host.list().into_iter().next().unwrap();
    assert_eq!(info.manifest.name, "webchat");
    assert_eq!(info.manifest.api_version, "0.1.0");
    assert_eq!(info.source, PluginSource::Builtin);
    let (rendered, _) = host.render("webchat", "{}", &ctx()).await.unwrap();
    assert!(
        rendered.script.contains("ws://127.0.0.1:8080/ws/visitor"),
        "the context reaches the script"
    );
    let errors = host
        .validate_config("webchat", r##"{"color": "red"}"##)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(errors[0].field, "color");
    assert!(
        host.validate_config("webchat", r##"{"color": "#0f766e"}"##)
            .await
            .unwrap()
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_loop_fails_its_call_at_the_deadline() {
    let host = host_with(&[("loop", LOOP)], limits()).await;
    let (kind, message) = failure(host.render("fixture-loop", "{}", &ctx()).await);
    assert_eq!(kind, FailureKind::Deadline, "{message}");
    assert!(message.contains("fixture-loop"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn allocating_without_end_fails_at_the_memory_cap() {
    // A deadline far off: on a loaded machine, growing to the cap must not lose a race against it.
    let limits = Limits {
        call_deadline: Duration::from_secs(10),
        ..limits()
    };
    let host = host_with(&[("alloc", ALLOC)], limits).await;
    let (kind, message) = failure(host.render("fixture-alloc", "{}", &ctx()).await);
    assert_eq!(kind, FailureKind::Memory, "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trap_fails_its_call_with_the_panic_message() {
    let host = host_with(&[("trap", TRAP)], limits()).await;
    let (kind, message) = failure(host.render("fixture-trap", "{}", &ctx()).await);
    assert_eq!(kind, FailureKind::Trap, "{message}");
    assert!(message.contains("deliberate panic in render"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ungranted_capability_is_refused() {
    let host = host_with(&[("ungranted", UNGRANTED)], limits()).await;
    let info = host.list().into_iter().next().unwrap();
    assert!(info.capabilities_granted.is_empty());
    let (kind, message) = failure(
        host.render("fixture-ungranted-capability", "{}", &ctx())
            .await,
    );
    assert_eq!(kind, FailureKind::Denied, "{message}");
    assert!(message.contains("`kv`"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_api_version_is_refused_naming_both_versions() {
    let host = host_with(&[], limits()).await;
    let refusal = host
        .add(
            "wrong-api-version",
            WRONG_VERSION.to_vec(),
            PluginSource::Builtin,
        )
        .await
        .unwrap_err();
    let PluginError::ApiVersion {
        found, supported, ..
    } = &refusal
    else {
        panic!("not an API version refusal: {refusal}");
    };
    assert_eq!((found.as_str(), supported.as_str()), ("1.0.0", "0.1.x"));
    let message = refusal.to_string();
    assert!(
        message.contains("natter:plugin@1.0.0") && message.contains("0.1.x"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_core_module_is_refused_with_a_hint() {
    let host = host_with(&[], limits()).await;
    let module = vec![0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    let refusal = host
        .add("bare", module, PluginSource::Builtin)
        .await
        .unwrap_err();
    assert!(
        refusal.to_string().contains("natter plugin build"),
        "{refusal}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failures_disable_until_enabled() {
    let host = host_with(&[("trap", TRAP), ("webchat", BUILTINS[0].bytes)], limits()).await;
    for _ in 0..3 {
        failure(host.render("fixture-trap", "{}", &ctx()).await);
    }
    let refused = host.render("fixture-trap", "{}", &ctx()).await.unwrap_err();
    assert!(matches!(refused, PluginError::Disabled(_)), "{refused}");
    let info = host
        .list()
        .into_iter()
        .find(|p| p.manifest.name == "fixture-trap")
        .unwrap();
    assert!(
        matches!(info.status, PluginStatus::Disabled { .. }),
        "{info:?}"
    );
    assert_eq!(info.failures, 3);
    // Another plugin is not affected.
    host.render("webchat", "{}", &ctx()).await.unwrap();
    host.enable("fixture-trap").await.unwrap();
    let (kind, _) = failure(host.render("fixture-trap", "{}", &ctx()).await);
    assert_eq!(kind, FailureKind::Trap, "called again once enabled");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_folder_is_reloaded_when_files_change() {
    let dir = tempfile::tempdir().unwrap();
    let host = PluginHost::start(HostOptions {
        limits: limits(),
        grants: Grants::default(),
        dir: Some(dir.path().to_path_buf()),
        builtins: vec![],
        data: Arc::new(MemoryPluginData::default()),
        platform: None,
        compile_cache: None,
    })
    .await
    .unwrap();
    assert!(host.list().is_empty());
    let file = dir.path().join("vendor.wasm");
    std::fs::write(&file, TRAP).unwrap();
    host.reload().await;
    let names: Vec<String> = host.list().into_iter().map(|p| p.manifest.name).collect();
    assert_eq!(names, ["fixture-trap"]);
    std::fs::write(&file, LOOP).unwrap();
    host.reload().await;
    let names: Vec<String> = host.list().into_iter().map(|p| p.manifest.name).collect();
    assert_eq!(names, ["fixture-loop"]);
    std::fs::write(dir.path().join("broken.wasm"), b"not wasm").unwrap();
    host.reload().await;
    assert_eq!(host.load_errors().len(), 1);
    std::fs::remove_file(&file).unwrap();
    host.reload().await;
    assert!(host.list().is_empty());
    host.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn agent_sync_loads_as_an_integration_with_its_routes() {
    use crate::domain::scope::Scope;
    use crate::plugins::PluginKind;
    use crate::plugins::integration::HttpMethod;

    let bytes = BUILTINS
        .iter()
        .find(|b| b.name == "agent-sync")
        .unwrap()
        .bytes;
    let host = host_with(&[("agent-sync", bytes)], limits()).await;
    let info = host.list().into_iter().next().unwrap();
    assert_eq!(info.manifest.kind, PluginKind::Integration);
    assert_eq!(info.manifest.capabilities, ["agents.read", "agents.write"]);
    let routes = host.plugin_routes();
    let declared: Vec<_> = routes
        .iter()
        .map(|r| (r.method, r.path.as_str(), r.scope))
        .collect();
    assert!(declared.contains(&(HttpMethod::Put, "/agents/sync", Scope::AgentsWrite)));
    assert!(declared.contains(&(
        HttpMethod::Delete,
        "/agents/{externalId}",
        Scope::AgentsWrite
    )));
    // `/agents/sync` is both a literal route and a value of `{externalId}`: the literal one wins.
    let (route, params) = host.route_for(HttpMethod::Put, "/agents/sync").unwrap();
    assert_eq!(route.path, "/agents/sync");
    assert!(params.is_empty());
    let (route, params) = host.route_for(HttpMethod::Put, "/agents/u-1").unwrap();
    assert_eq!(route.path, "/agents/{externalId}");
    assert_eq!(params, [("externalId".to_string(), "u-1".to_string())]);
    assert!(host.route_for(HttpMethod::Get, "/agents/u-1").is_none());
}

/// A migrated SQLite file, removed with the returned directory.
async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("natter.db").display()
    );
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

/// The `event-log` fixture (it appends each event it is handed to the value of its key `log`) over
/// `store`, granted `kv`. Its calls get seconds: they write to a real SQLite file, maybe on a busy machine.
async fn event_log_host(store: &Store, kv: KvQuota) -> PluginHost {
    PluginHost::start(HostOptions {
        limits: Limits {
            call_deadline: Duration::from_secs(3),
            failures_before_disable: 10,
            kv,
            ..limits()
        },
        grants: Grants::from_config(&std::collections::BTreeMap::from([(
            "fixture-event-log".to_string(),
            vec!["kv".to_string()],
        )])),
        dir: None,
        builtins: vec![Builtin {
            name: "event-log",
            bytes: EVENT_LOG,
        }],
        data: Arc::new(store.clone()),
        platform: None,
        compile_cache: None,
    })
    .await
    .unwrap()
}

fn event(id: &str, body: &str) -> PlatformEvent {
    PlatformEvent {
        id: id.to_string(),
        event_type: "message.created".to_string(),
        timestamp: "2026-12-01T10:00:00.000Z".to_string(),
        data: serde_json::json!({ "message": { "body": body } }).to_string(),
    }
}

/// The ids of the events the fixture logged, read from the store.
async fn logged(store: &Store) -> Vec<String> {
    let log = store
        .kv_get("fixture-event-log", "log")
        .await
        .unwrap()
        .unwrap_or_else(|| "[]".into());
    let log: serde_json::Value = serde_json::from_str(&log).unwrap();
    log.as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kv_set_past_the_quota_is_refused_and_the_plugin_sees_why() {
    let (store, _dir) = sqlite_store().await;
    let host = event_log_host(
        &store,
        KvQuota {
            max_keys: 2,
            max_bytes: 280,
        },
    )
    .await;
    let on_event = |id: &'static str, body: &'static str| {
        host.on_event("fixture-event-log", "{}".into(), event(id, body))
    };

    // Each logged event adds 76 bytes to the value of `log`: three make 232 bytes, a fourth 308.
    for id in ["evt_1", "evt_2", "evt_3"] {
        on_event(id, "hello").await.unwrap();
    }
    let (kind, message) = failure(on_event("evt_4", "hello").await);
    assert_eq!(kind, FailureKind::Failed, "{message}");
    assert!(
        message.contains("key-value store is full") && message.contains("plugins.kv_max_bytes"),
        "the plugin got the host's reason: {message}"
    );
    assert_eq!(
        logged(&store).await,
        ["evt_1", "evt_2", "evt_3"],
        "nothing half-written"
    );

    // `fail-once` keeps a key per event: the second key fits, a third is refused.
    let (kind, _) = failure(on_event("evt_5", "fail-once").await);
    assert_eq!(kind, FailureKind::Failed, "failing once on purpose");
    let (kind, message) = failure(on_event("evt_6", "fail-once").await);
    assert_eq!(kind, FailureKind::Failed, "{message}");
    assert!(message.contains("plugins.kv_max_keys"), "{message}");
    assert_eq!(
        store
            .kv_get("fixture-event-log", "tried-evt_6")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_function_waiting_on_the_database_ends_with_the_call_deadline() {
    let (store, _dir) = sqlite_store().await;
    let host = event_log_host(
        &store,
        KvQuota {
            max_keys: 100,
            max_bytes: 100_000,
        },
    )
    .await;

    // Another writer holds the store's write lock: the fixture's kv-set waits for it.
    let writer = store.write().await.unwrap();
    let (kind, message) = failure(
        host.on_event("fixture-event-log", "{}".into(), event("evt_1", "hello"))
            .await,
    );
    assert_eq!(kind, FailureKind::Deadline, "{message}");
    assert!(
        message.contains("kv-set"),
        "says what it waited for: {message}"
    );
    drop(writer);

    // The abandoned write left nothing behind, and the next call goes through.
    assert!(logged(&store).await.is_empty());
    host.on_event("fixture-event-log", "{}".into(), event("evt_2", "hello"))
        .await
        .unwrap();
    assert_eq!(logged(&store).await, ["evt_2"]);
}

/// A platform whose database never answers: every host function's wait must end with the call.
struct SilentPlatform;

impl Platform for SilentPlatform {
    fn agents(&self) -> BoxFuture<'_, Result<Vec<Agent>, StoreError>> {
        Box::pin(std::future::pending())
    }

    fn save_agent(&self, _agent: SyncedAgent) -> BoxFuture<'_, Result<Agent, StoreError>> {
        Box::pin(std::future::pending())
    }

    fn customer<'a>(
        &'a self,
        _external_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Customer>, StoreError>> {
        Box::pin(std::future::pending())
    }

    fn save_customer(
        &self,
        _fields: CustomerFields,
    ) -> BoxFuture<'_, Result<Customer, StoreError>> {
        Box::pin(std::future::pending())
    }

    fn conversation(
        &self,
        _id: ConversationId,
    ) -> BoxFuture<'_, Result<Option<ConversationView>, StoreError>> {
        Box::pin(std::future::pending())
    }

    fn messages(
        &self,
        _conversation: ConversationId,
        _after_seq: i64,
        _limit: u64,
    ) -> BoxFuture<'_, Result<Vec<Message>, StoreError>> {
        Box::pin(std::future::pending())
    }

    fn enqueue_delivery(
        &self,
        _delivery: OutboundDelivery,
    ) -> BoxFuture<'_, Result<EventId, PluginDeliveryError>> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_platform_host_function_ends_with_the_call_deadline() {
    use crate::plugins::integration::{HttpMethod, RouteCaller, RouteRequest};

    let bytes = BUILTINS
        .iter()
        .find(|b| b.name == "agent-sync")
        .unwrap()
        .bytes;
    let host = PluginHost::start(
        HostOptions {
            // Long enough that the plugin reaches its first host call however busy the machine is.
            limits: Limits {
                call_deadline: Duration::from_secs(1),
                ..limits()
            },
            grants: Grants::from_config(&std::collections::BTreeMap::from([(
                "agent-sync".to_string(),
                vec!["agents.read".to_string(), "agents.write".to_string()],
            )])),
            dir: None,
            builtins: vec![Builtin {
                name: "agent-sync",
                bytes,
            }],
            data: Arc::new(MemoryPluginData::default()),
            platform: None,
            compile_cache: None,
        }
        .with_platform(Arc::new(SilentPlatform)),
    )
    .await
    .unwrap();
    let request = RouteRequest {
        method: HttpMethod::Put,
        route: "/agents/sync".into(),
        params: Vec::new(),
        query: Vec::new(),
        body: Some(r#"{"agents":[]}"#.into()),
        caller: RouteCaller {
            token_id: "t".into(),
            token_name: "test".into(),
            scopes: vec!["agents:write".into()],
        },
    };
    let (kind, message) = failure(host.handle_route("agent-sync", "{}".into(), request).await);
    assert_eq!(kind, FailureKind::Deadline, "{message}");
    assert!(message.contains("agents-list"), "{message}");
}
