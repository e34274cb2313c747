//! Shared helpers for the end-to-end tests: a real server on a free port over a real SQLite file,
//! real HTTP and WebSocket clients, and named waits that fail with their label.
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly by design")]

pub mod browser;
pub mod process;
pub mod receiver;
pub mod smtp;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use natter_core::config::Config;
use natter_core::domain::clock::ManualClock;
use natter_core::domain::scope::Scope;
use natter_core::domain::tokens::Tokens;
use natter_core::store::Store;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait in a test may take before it fails with its label.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running server. Dropping it without `stop` aborts it.
pub struct TestServer {
    pub base: String,
    pub ws_base: String,
    pub dir: PathBuf,
    pub database_url: String,
    pub clock: Arc<ManualClock>,
    /// Every co-browse event a visitor sent, as the server received it (before its filter).
    pub cobrowse_received: Arc<std::sync::Mutex<Vec<String>>>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    _temp: Option<Arc<tempfile::TempDir>>,
}

/// Set to a PostgreSQL URL (e.g. `postgres://postgres@127.0.0.1/test`) to run the end-to-end tests on
/// PostgreSQL: each data dir then gets a database of its own, created on the server behind that URL.
pub const POSTGRES_ENV: &str = "NATTER_TEST_POSTGRES";

/// Where a server keeps its data; shared by restarts of the "same" server.
#[derive(Clone)]
pub struct DataDir {
    pub path: PathBuf,
    temp: Arc<tempfile::TempDir>,
    /// The server URL and database name, when the tests run on PostgreSQL.
    postgres: Option<(String, String)>,
}

impl DataDir {
    pub fn new() -> Self {
        let temp = Arc::new(tempfile::tempdir().unwrap());
        let postgres = std::env::var(POSTGRES_ENV).ok().map(|base| {
            let name = format!("natter_t_{}", uuid::Uuid::new_v4().simple());
            (base, name)
        });
        Self {
            path: temp.path().to_path_buf(),
            temp,
            postgres,
        }
    }

    pub fn database_url(&self) -> String {
        match &self.postgres {
            Some((base, name)) => Store::postgres_database_url(base, name).unwrap(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.path.join("natter.db").display()
            ),
        }
    }

    /// Creates the PostgreSQL database on first use (SQLite files create themselves).
    pub async fn ensure_database(&self) {
        let Some((base, name)) = &self.postgres else {
            return;
        };
        // A restart of the same data dir finds it already there, which is fine.
        let _ = Store::create_postgres_database(base, name).await;
    }
}

impl Default for DataDir {
    fn default() -> Self {
        Self::new()
    }
}

impl TestServer {
    /// A fresh server on a free port with its own SQLite file.
    pub async fn start() -> Self {
        Self::start_with(&DataDir::new(), |_| {}).await
    }

    /// A server over `data` (restarts reuse the same file), with config tweaks. Its clock stands
    /// still until the test moves it.
    pub async fn start_with(data: &DataDir, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_clocked(data, tweak, false, None).await
    }

    /// A server whose in-process bus is `bus`, so that a test can publish on it directly.
    pub async fn start_on_bus(bus: Arc<dyn natter_core::bus::Bus>) -> Self {
        Self::start_clocked(&DataDir::new(), |_| {}, false, Some(bus)).await
    }

    /// A server whose clock is the system's, for tests of timers that fire by themselves.
    pub async fn start_with_system_clock() -> Self {
        Self::start_clocked(&DataDir::new(), |_| {}, true, None).await
    }

    async fn start_clocked(
        data: &DataDir,
        tweak: impl FnOnce(&mut Config),
        system_clock: bool,
        bus: Option<Arc<dyn natter_core::bus::Bus>>,
    ) -> Self {
        data.ensure_database().await;
        let mut config = Config::default();
        config.database.url = data.database_url();
        tweak(&mut config);
        let loaded = natter_core::LoadedConfig {
            config,
            base_dir: data.path.clone(),
            unknown_env: Vec::new(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let mut overrides = if system_clock {
            natter_core::Overrides::default()
        } else {
            natter_core::Overrides {
                clock: clock.clone(),
                ..Default::default()
            }
        };
        overrides.bus = bus;
        let cobrowse_received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = cobrowse_received.clone();
        overrides.cobrowse_tap = Some(Arc::new(move |raw: &str| {
            seen.lock().unwrap().push(raw.to_string());
        }));
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let stop = async {
                let _ = rx.await;
            };
            if let Err(e) = natter_core::serve(loaded, listener, stop, overrides).await {
                panic!("server failed: {e}");
            }
        });
        let server = Self {
            base: format!("http://{addr}"),
            ws_base: format!("ws://{addr}"),
            dir: data.path.clone(),
            database_url: data.database_url(),
            clock,
            cobrowse_received,
            shutdown: Some(tx),
            handle: Some(handle),
            _temp: Some(data.temp.clone()),
        };
        let client = reqwest::Client::new();
        let ready = format!("{}/readyz", server.base);
        wait_until("server ready", WAIT, || {
            let client = client.clone();
            let ready = ready.clone();
            async move {
                client
                    .get(&ready)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await;
        server
    }

    /// Graceful stop: sockets are closed, in-flight requests finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(WAIT, handle)
                .await
                .expect("server stops within the wait")
                .expect("server task ends cleanly");
        }
    }

    /// The server's (hand-moved) time.
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use natter_core::domain::clock::Clock;
        self.clock.now()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a token directly in the server's database, as `natter token create` does.
    pub async fn token(&self, scopes: &[Scope]) -> String {
        let store = Store::connect(&self.database_url).await.unwrap();
        let tokens = Tokens::new(store.clone(), self.clock.clone());
        let created = tokens.create("test", scopes.to_vec(), None).await.unwrap();
        store.close().await.unwrap();
        created.secret
    }

    pub async fn admin(&self) -> Api {
        Api {
            base: self.base.clone(),
            token: self.token(&[Scope::Admin]).await,
            client: reqwest::Client::new(),
        }
    }

    /// The default site's key.
    pub async fn site_key(&self) -> String {
        let api = self.admin().await;
        let sites = api.get("/api/v1/sites").await.unwrap();
        sites[0]["key"].as_str().unwrap().to_string()
    }

    /// A visitor socket that has said hello and got its welcome.
    pub async fn visitor(
        &self,
        site: &str,
        visitor_id: Option<&str>,
        last_seq: Option<i64>,
    ) -> (Ws, Value) {
        let mut ws = Ws::connect(&format!("{}/ws/visitor?site={site}", self.ws_base), None)
            .await
            .unwrap();
        ws.send(
            json!({"type": "hello", "v": 1, "visitor_id": visitor_id, "last_seq": last_seq,
            "page": {"url": "http://shop.test/", "title": "Shop", "referrer": ""}}),
        )
        .await;
        let welcome = ws.expect("welcome").await;
        (ws, welcome)
    }

    /// Creates an agent, issues a chat link for `conversation_id` and opens it: the session cookie.
    pub async fn agent_session(
        &self,
        api: &Api,
        name: &str,
        conversation_id: &str,
    ) -> (String, String) {
        let agent_id = api.create_agent(name).await;
        let link = api
            .post(
                &format!("/api/v1/agents/{agent_id}/chat-links"),
                json!({"conversationId": conversation_id}),
            )
            .await
            .unwrap();
        let cookie = open_link(link["url"].as_str().unwrap()).await.unwrap();
        (agent_id, cookie)
    }

    /// An agent socket (session cookie) that has said hello and got its welcome.
    pub async fn agent(&self, cookie: &str, resume: Value) -> (Ws, Value) {
        let mut ws = Ws::connect(&format!("{}/ws/agent", self.ws_base), Some(cookie))
            .await
            .unwrap();
        ws.send(json!({"type": "hello", "v": 1, "resume": resume}))
            .await;
        let welcome = ws.expect("welcome").await;
        (ws, welcome)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

/// Signs in to the console with email and password (the JSON form of `POST /agent/login`); returns
/// the session cookie pair.
pub async fn sign_in(server: &TestServer, email: &str, password: &str) -> Result<String> {
    let response = reqwest::Client::new()
        .post(server.url("/agent/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("sign-in answered {}", response.status());
    }
    let cookie = response
        .headers()
        .get("set-cookie")
        .context("no cookie")?
        .to_str()?;
    Ok(cookie.split(';').next().unwrap_or_default().to_string())
}

/// Opens a public agent chat URL without following the redirect; returns the session cookie pair.
pub async fn open_link(url: &str) -> Result<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let response = client.get(url).send().await?;
    if response.status() != reqwest::StatusCode::SEE_OTHER {
        bail!("link answered {}", response.status());
    }
    let cookie = response
        .headers()
        .get("set-cookie")
        .context("no cookie")?
        .to_str()?;
    Ok(cookie.split(';').next().unwrap_or_default().to_string())
}

/// An HTTP client with a bearer token.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    pub client: reqwest::Client,
}

impl Api {
    /// Creates an agent named `name` (email `name@example.com`); returns its id.
    pub async fn create_agent(&self, name: &str) -> String {
        let agent = self
            .post(
                "/api/v1/agents",
                json!({"email": format!("{name}@example.com"), "name": name}),
            )
            .await
            .unwrap();
        agent["id"].as_str().unwrap().to_string()
    }

    /// An agent `{name}@example.com` who can sign in to the console with `password`.
    pub async fn create_agent_with_password(&self, name: &str, password: &str) -> String {
        let id = self.create_agent(name).await;
        self.set_password(&id, password).await;
        id
    }

    /// Sets an agent's console password; the API must accept it.
    pub async fn set_password(&self, id: &str, password: &str) {
        let (status, body) = self
            .send(
                "PUT",
                &format!("/api/v1/agents/{id}/password"),
                Some(json!({"password": password})),
            )
            .await
            .unwrap();
        assert_eq!(status, reqwest::StatusCode::NO_CONTENT, "{body}");
    }

    /// An admin `{name}@example.com` who can sign in to the console with `password`.
    pub async fn create_admin_with_password(&self, name: &str, password: &str) -> String {
        let agent = self
            .post(
                "/api/v1/agents",
                json!({"email": format!("{name}@example.com"), "name": name, "role": "admin"}),
            )
            .await
            .unwrap();
        let id = agent["id"].as_str().unwrap().to_string();
        self.set_password(&id, password).await;
        id
    }

    pub fn with_token(&self, token: &str) -> Api {
        Api {
            token: token.to_string(),
            ..self.clone()
        }
    }

    /// GET that must succeed; returns the JSON body.
    pub async fn get(&self, path: &str) -> Result<Value> {
        let (status, body) = self.send("GET", path, None).await?;
        if !status.is_success() {
            return Err(anyhow!("GET {path} answered {status}: {body}"));
        }
        Ok(body)
    }

    /// POST that must succeed; returns the JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let (status, answer) = self.send("POST", path, Some(body)).await?;
        if !status.is_success() {
            return Err(anyhow!("POST {path} answered {status}: {answer}"));
        }
        Ok(answer)
    }

    /// Any request; returns status and JSON body (Null if none).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(reqwest::StatusCode, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, value))
    }
}

/// A WebSocket client speaking the JSON frame protocol.
pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    pub async fn connect(url: &str, cookie: Option<&str>) -> Result<Self> {
        match cookie {
            Some(cookie) => Self::connect_with(url, &[("cookie", cookie)]).await,
            None => Self::connect_with(url, &[]).await,
        }
    }

    /// Connects sending these request headers (a browser's `User-Agent`, `Accept-Language`, a cookie).
    pub async fn connect_with(url: &str, headers: &[(&'static str, &str)]) -> Result<Self> {
        let mut request = url.into_client_request()?;
        for (name, value) in headers {
            request.headers_mut().insert(*name, value.parse()?);
        }
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self { stream })
    }

    /// Connects over a socket whose receive buffer is `bytes` (the kernel may round it up): a client
    /// that stops reading fills it, and then the server's buffers, quickly.
    pub async fn connect_with_receive_buffer(url: &str, bytes: u32) -> Result<Self> {
        let request = url.into_client_request()?;
        let host = request.uri().host().context("url has a host")?.to_string();
        let port = request.uri().port_u16().context("url has a port")?;
        let address = tokio::net::lookup_host((host.as_str(), port))
            .await?
            .next()
            .context("url resolves")?;
        let socket = if address.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_recv_buffer_size(bytes)?;
        let tcp = socket.connect(address).await?;
        let (stream, _) =
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp)).await?;
        Ok(Self { stream })
    }

    pub async fn send(&mut self, frame: Value) {
        self.stream
            .send(WsMessage::Text(frame.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, text: String) {
        self.stream
            .send(WsMessage::Text(text.into()))
            .await
            .unwrap();
    }

    /// The next JSON frame, or `None` when the socket closed.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("a frame within the wait")?;
            match message {
                Ok(WsMessage::Text(text)) => {
                    return Some(serde_json::from_str(text.as_str()).unwrap());
                }
                Ok(WsMessage::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// The close code the server sent, waiting for it (frames before it are skipped).
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let message = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("close within the wait")?;
            match message {
                Ok(WsMessage::Close(frame)) => return frame.map(|f| f.code.into()),
                Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Every JSON frame up to the close frame, and the close frame's code and reason (`None` if the
    /// connection ended without one).
    pub async fn until_close(&mut self) -> (Vec<Value>, Option<(u16, String)>) {
        let mut frames = Vec::new();
        loop {
            let message = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("close within the wait");
            match message {
                Some(Ok(WsMessage::Text(text))) => {
                    frames.push(serde_json::from_str(text.as_str()).unwrap());
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    let close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    return (frames, close);
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return (frames, None),
            }
        }
    }

    /// Skips frames until one of type `kind` arrives; fails with the label if it never does.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            match self.next().await {
                Some(frame) if frame["type"] == kind => return frame,
                Some(_) => {}
                None => panic!("socket closed while waiting for a `{kind}` frame"),
            }
        }
    }

    /// Skips frames until a `message` frame with this body arrives.
    pub async fn expect_message(&mut self, body: &str) -> Value {
        loop {
            let frame = self.expect("message").await;
            if frame["body"] == body {
                return frame;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// Waits until `check` is true, polling; panics with `what` after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The path of the repository root (for tests that read shipped files).
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}
