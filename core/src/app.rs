//! Wiring: the shared state every handler gets, and the server's life from start to graceful stop.

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::bus::throttle::RedisThrottle;
use crate::bus::{Bus, BusError, MemoryBus, RedisBus};
use crate::config::{Config, LoadedConfig};
use crate::delivery;
use crate::domain::agent_links::AgentLinks;
use crate::domain::agent_logins::AgentLogins;
use crate::domain::chat::{Chat, ChatLimits};
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::cobrowse::{Cobrowse, Tap};
use crate::domain::integrations::Integrations;
use crate::domain::live_visitors::LiveVisitors;
use crate::domain::plugin_api::Plugins;
use crate::domain::presence::Presence;
use crate::domain::tokens::Tokens;
use crate::domain::visibility::Visibility;
use crate::domain::webhooks::Webhooks;
use crate::domain::widget::Widgets;
use crate::domain::widget_hooks::WidgetHooks;
use crate::http;
use crate::plugins::{HostOptions, PluginError, PluginHost};
use crate::store::{Store, StoreError};
use crate::ws::open_sockets::OpenSockets;

/// What every handler and gateway shares: one pointer, so that it costs 8 bytes in every request's
/// and socket's future instead of the services' whole size (an idle visitor socket holds its state
/// for as long as it is open).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services behind [`AppState`].
pub struct Services {
    pub config: Arc<Config>,
    /// Where people reach this server, without a trailing slash (used in links).
    pub base_url: Arc<str>,
    pub store: Store,
    pub chat: Chat,
    pub tokens: Tokens,
    pub links: AgentLinks,
    /// Console sign-in with email and password.
    pub logins: AgentLogins,
    pub visibility: Visibility,
    pub webhooks: Webhooks,
    pub clock: Arc<dyn Clock>,
    /// The WebAssembly plugin host.
    pub plugins: PluginHost,
    /// The widget's configuration and its rendered `widget.js`.
    pub widgets: Widgets,
    /// Cancelled when the server shuts down: sockets close cleanly with 1001.
    pub shutdown: CancellationToken,
    /// Offline messages, transcripts, the mail delivery list (off without `[mail]`).
    pub mail: crate::mail::Mail,
    /// Co-browse sessions, their audit trail and the plugin's scripts.
    pub cobrowse: Cobrowse,
    /// Integration plugins' configuration, routes, events and the webhook shaper.
    pub integrations: Integrations,
    /// Connected visitors' page, browser and language, for the console's details pane.
    pub visitors: LiveVisitors,
    /// How many visitor and agent sockets are open.
    pub sockets: Arc<OpenSockets>,
    /// `widget.js` compressed once per version at brotli's best quality.
    pub precompressed: Arc<crate::http::precompressed::Precompressed>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Migrate(#[from] crate::store::MigrateError),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Domain(crate::domain::DomainError),
    #[error(transparent)]
    Delivery(#[from] delivery::DeliveryError),
    #[error(transparent)]
    Plugins(#[from] PluginError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(
        "[bus] url is set, but the database is SQLite, which serves one node only: use PostgreSQL \
         ([database] url = \"postgres://…\") to run several nodes, or leave [bus] url empty"
    )]
    SharedBusNeedsPostgres,
}

/// Parts a test may swap.
pub struct Overrides {
    pub clock: Arc<dyn Clock>,
    /// The bus; `None` takes the one `[bus]` configures.
    pub bus: Option<Arc<dyn Bus>>,
    /// Sees every co-browse event a visitor sends, before the filter (tests check what left a browser).
    pub cobrowse_tap: Option<Tap>,
}

impl Default for Overrides {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            bus: None,
            cobrowse_tap: None,
        }
    }
}

impl AppState {
    /// Connects storage, applies migrations and builds the domain.
    pub async fn build(
        loaded: &LoadedConfig,
        base_url: String,
        overrides: Overrides,
    ) -> Result<Self, ServeError> {
        let config = Arc::new(loaded.config.clone());
        let shutdown = CancellationToken::new();
        let Realtime {
            bus,
            presence,
            throttle,
        } = connect_bus(loaded, overrides.bus, shutdown.clone()).await?;
        let presence = Arc::new(presence);
        let across_nodes = presence.is_shared();
        let store =
            Store::connect_with(&loaded.database_url(), config.database.sqlite_synchronous).await?;
        store.migrate().await?;
        if !presence.is_shared() {
            // One node: nobody is connected yet. With several, the others' agents still are.
            store.mark_all_agents_offline().await?;
        }
        let site = store.ensure_default_site().await?;
        tracing::info!(site_key = %site.key, "widget snippet: <script src=\"{base_url}/widget.js?site={}\" async></script>", site.key);
        let visibility = Visibility::load(
            config.rules.clone(),
            store.clone(),
            bus.clone(),
            overrides.clock.clone(),
            presence.clone(),
        )
        .await
        .map_err(ServeError::Domain)?;
        // Mail: the planner is set before anything can write events, so no event misses its mails.
        let mail_renderer = crate::mail::Renderer::new(
            &base_url,
            config.mail.templates.clone(),
            &config.mail.team_language,
        );
        if config.mail.enabled() {
            // Refuse to start on settings that cannot send, rather than queueing mail that never goes.
            crate::mail::SmtpSender::from_config(loaded)?;
            store.set_mail_planner(Arc::new(crate::mail::Planner::new(
                &config.mail,
                presence.clone(),
                mail_renderer.clone(),
            )));
        }
        let chat = Chat::new(
            store.clone(),
            bus.clone(),
            overrides.clock.clone(),
            presence,
            ChatLimits {
                max_message_chars: config.chat.max_message_chars,
            },
        );
        let tokens = Tokens::new(store.clone(), overrides.clock.clone());
        let links = AgentLinks::new(
            store.clone(),
            overrides.clock.clone(),
            config.auth.chat_link_ttl_seconds,
            config.auth.session_ttl_seconds,
        );
        let webhooks = Webhooks::new(
            store.clone(),
            overrides.clock.clone(),
            config.delivery.allow_private_targets,
        );
        let mut logins = AgentLogins::new(store.clone(), overrides.clock.clone(), links.clone());
        if let Some(throttle) = throttle {
            logins = logins.shared_throttle(throttle);
        }
        let plugins = PluginHost::start(
            HostOptions::from_config(loaded, Arc::new(store.clone()))
                .with_platform(Arc::new(store.clone())),
        )
        .await?;
        plugins.watch();
        // The domain calls plugins through their contract, never the host itself.
        let plugin_calls: Arc<dyn Plugins> = Arc::new(plugins.clone());
        let widgets = Widgets::new(
            store.clone(),
            plugin_calls.clone(),
            bus.clone(),
            &config.plugins.widget,
            &base_url,
        );
        let integrations = Integrations::new(
            store.clone(),
            plugin_calls.clone(),
            Some(&config.delivery.shaper),
        );
        let hooks = WidgetHooks::new(widgets.clone(), chat.clone());
        let chat = chat.observed_by(Arc::new(hooks));
        let mail = crate::mail::Mail::new(
            &config.mail,
            store.clone(),
            chat.clone(),
            overrides.clock.clone(),
            mail_renderer,
            config.chat.max_message_chars,
        );
        let cobrowse = Cobrowse::new(
            chat.clone(),
            plugin_calls,
            overrides.clock.clone(),
            &config.cobrowse,
            overrides.cobrowse_tap,
            across_nodes,
        );
        cobrowse.watch(shutdown.clone());
        Ok(Self(Arc::new(Services {
            visitors: LiveVisitors::new(bus.clone()),
            sockets: Arc::default(),
            precompressed: Arc::default(),
            mail,
            cobrowse,
            integrations,
            base_url: base_url.trim_end_matches('/').into(),
            config,
            store,
            chat,
            tokens,
            links,
            logins,
            visibility,
            webhooks,
            clock: overrides.clock,
            plugins,
            widgets,
            shutdown,
        })))
    }
}

/// What `[bus]` sets up: in this process alone, or shared with the other nodes through Redis.
struct Realtime {
    bus: Arc<dyn Bus>,
    presence: Presence,
    /// The sign-in throttle the nodes share; `None` for one node (it counts in memory).
    throttle: Option<RedisThrottle>,
}

impl Realtime {
    fn alone(bus: Arc<dyn Bus>) -> Self {
        Self {
            bus,
            presence: Presence::new(),
            throttle: None,
        }
    }
}

/// Connects what `[bus]` asks for. A shared bus needs a database every node reaches, so SQLite is
/// refused.
async fn connect_bus(
    loaded: &LoadedConfig,
    given: Option<Arc<dyn Bus>>,
    shutdown: CancellationToken,
) -> Result<Realtime, ServeError> {
    let config = &loaded.config.bus;
    if let Some(bus) = given {
        return Ok(Realtime::alone(bus));
    }
    if !config.is_shared() {
        return Ok(Realtime::alone(Arc::new(MemoryBus::new())));
    }
    if loaded.database_url().starts_with("sqlite:") {
        return Err(ServeError::SharedBusNeedsPostgres);
    }
    let bus = RedisBus::connect(config, shutdown).await?;
    let ttl = Duration::from_secs(config.presence_ttl_seconds.max(1));
    let presence = Presence::shared(bus.presence(ttl));
    let window = chrono::Duration::minutes(crate::domain::agent_logins::THROTTLE_WINDOW_MINUTES);
    let throttle = bus.throttle(window.to_std().unwrap_or(Duration::from_secs(900)));
    Ok(Realtime {
        bus,
        presence,
        throttle: Some(throttle),
    })
}

/// The base URL links are built from: the configured one, else the address actually listened on.
pub fn base_url(config: &Config, listener: &TcpListener) -> std::io::Result<String> {
    if !config.server.public_url.is_empty() {
        return Ok(config.server.public_url.clone());
    }
    Ok(format!("http://{}", listener.local_addr()?))
}

/// Turns Nagle's algorithm off on every accepted connection. Chat frames are small and go out as
/// they happen; with it on, a small frame written before the client acknowledged the one before (a
/// visitor's `ack`, then its own `message`) is held back until the client's delayed ACK, up to 40 ms
/// on Linux.
fn without_nagle(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    fn set_nodelay(tcp: &mut TcpStream) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot turn Nagle's algorithm off for a connection");
        }
    }
    listener.tap_io(set_nodelay as fn(&mut TcpStream))
}

/// Serves on `listener` until `shutdown` resolves, then closes sockets and finishes in-flight
/// requests (up to `server.shutdown_grace_seconds`).
pub async fn serve(
    loaded: LoadedConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    overrides: Overrides,
) -> Result<(), ServeError> {
    let base = base_url(&loaded.config, &listener)?;
    let state = AppState::build(&loaded, base, overrides).await?;
    let grace = Duration::from_secs(loaded.config.server.shutdown_grace_seconds);
    let sockets = state.shutdown.clone();
    let store = state.store.clone();
    let worker = delivery::spawn(
        store.clone(),
        state.integrations.clone(),
        loaded.config.delivery.clone(),
        state.shutdown.clone(),
    )?;
    let plugin_events = delivery::plugin_events::spawn(
        store.clone(),
        state.plugins.clone(),
        state.integrations.clone(),
        loaded.config.delivery.clone(),
        state.shutdown.clone(),
    );
    let retention = delivery::retention::spawn(
        store.clone(),
        state.clock.clone(),
        &loaded.config.delivery,
        state.shutdown.clone(),
    );
    let mail_worker = if loaded.config.mail.enabled() {
        Some(crate::mail::spawn(
            store.clone(),
            crate::mail::SmtpSender::from_config(&loaded)?,
            loaded.config.delivery.clone(),
            state.shutdown.clone(),
        ))
    } else {
        None
    };
    let cluster = loaded.config.bus.is_shared().then(|| {
        // A third of the expiry: one lost heartbeat does not take a node's agents offline.
        let ttl = Duration::from_secs(loaded.config.bus.presence_ttl_seconds.max(1));
        crate::cluster::spawn(
            state.chat.clone(),
            state.visibility.clone(),
            state.widgets.clone(),
            state.cobrowse.clone(),
            state.plugins.clone(),
            (ttl / 3).max(Duration::from_millis(200)),
            state.shutdown.clone(),
        )
    });
    let plugins = state.plugins.clone();
    tracing::info!(address = %listener.local_addr()?, "natter listening");
    let app = http::router(state);
    let stopped = CancellationToken::new();
    let stop_signal = stopped.clone();
    // The peer address is what sign-in throttling counts per client.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(without_nagle(listener), app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: closing sockets, finishing requests");
        sockets.cancel();
        stop_signal.cancel();
    });
    let server = server.into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        () = async { stopped.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!("grace period over; dropping remaining connections");
        }
    }
    // The worker stops with the sockets; attempts in flight get the grace period to record.
    if tokio::time::timeout(grace, worker).await.is_err() {
        tracing::warn!("webhook attempts still in flight; they are retried after restart");
    }
    if let Some(mail_worker) = mail_worker
        && tokio::time::timeout(grace, mail_worker).await.is_err()
    {
        tracing::warn!("mail attempts still in flight; they are sent again after restart");
    }
    // An event being handled when the worker stops is handed over again after restart.
    if tokio::time::timeout(grace, plugin_events).await.is_err() {
        tracing::warn!("plugin event handling still in flight; it is repeated after restart");
    }
    if let Some(cluster) = cluster
        && tokio::time::timeout(grace, cluster).await.is_err()
    {
        tracing::warn!("this node's agents were not taken out of the shared presence; they expire");
    }
    if let Some(retention) = retention {
        // A pass in progress is one transaction: cut short, it rolls back.
        retention.abort();
    }
    plugins.stop();
    store.close().await?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use axum::serve::Listener;
    use tokio::net::{TcpListener, TcpStream};

    #[tokio::test]
    async fn accepted_connections_send_small_frames_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut listener = super::without_nagle(listener);
        let _client = TcpStream::connect(address).await.unwrap();
        let (accepted, _) = listener.accept().await;
        assert!(accepted.nodelay().unwrap(), "TCP_NODELAY is on");
    }
}
