//! Browser tests' helpers: Debian's headless Chromium driven over WebDriver (chromedriver as a
//! child process on a free port), one WebDriver session per browser context, named waits, and
//! screenshots of each step written to `test-artifacts/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use fantoccini::elements::{Element, ElementRef};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::{WAIT, repo_root};

/// The tools the browser tests need, found on `PATH`.
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// How WebDriver marks an element in a script's result.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium and chromedriver, or `None` after saying why the caller should skip. In CI
/// (`CI=true`) a missing browser is a failure, never a skip.
pub fn tools_or_skip(test: &str) -> Option<Tools> {
    let chromium = which("chromium").or_else(|| which("chromium-browser"));
    let chromedriver = which("chromedriver");
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some(Tools {
            chromium,
            chromedriver,
        }),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "{test}: chromium and chromedriver are required in CI; run scripts/browser-deps.sh"
            )
        }
        _ => {
            eprintln!(
                "SKIPPED {test}: chromium or chromedriver is not installed (scripts/browser-deps.sh installs both)"
            );
            None
        }
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// A chromedriver process on a free port. Dropping it ends the process and the browsers it
/// started (they share its process group).
pub struct Chromedriver {
    pub url: String,
    chromium: PathBuf,
    child: Child,
}

impl Chromedriver {
    pub async fn start(tools: &Tools) -> Result<Self> {
        // The port is free when picked, but another test may bind it before chromedriver does; a
        // chromedriver that cannot bind its port exits, and is started again on another one.
        for _ in 0..3 {
            let port = free_port()?;
            let mut child = Command::new(&tools.chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .kill_on_drop(true)
                .spawn()
                .context("cannot start chromedriver")?;
            let url = format!("http://127.0.0.1:{port}");
            if answers_status(&url, &mut child).await? {
                return Ok(Self {
                    url,
                    chromium: tools.chromium.clone(),
                    child,
                });
            }
        }
        bail!("chromedriver exited at start three times (ports taken?)")
    }

    /// A new browser context: its own Chromium with a fresh profile (no shared cookies or storage).
    pub async fn browser(&self, name: &str, artifacts: &Artifacts) -> Result<Browser> {
        let profile = tempfile::tempdir()?;
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            format!("--user-data-dir={}", profile.path().display()),
            "--window-size=1280,900".into(),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": self.chromium, "args": args}),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .with_context(|| format!("cannot open a Chromium session for {name}"))?;
        Ok(Browser {
            client,
            name: name.to_string(),
            artifacts: artifacts.clone(),
            _profile: profile,
        })
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and every Chromium it started.
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.start_kill();
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Where one test's screenshots go: `test-artifacts/<test>/NN-<browser>-<step>.png`, numbered
/// in the order they were taken.
#[derive(Clone)]
pub struct Artifacts {
    dir: PathBuf,
    counter: std::sync::Arc<AtomicU32>,
}

impl Artifacts {
    pub fn for_test(test: &str) -> Result<Self> {
        let dir = repo_root().join("test-artifacts").join(test);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            counter: std::sync::Arc::new(AtomicU32::new(1)),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn next_path(&self, browser: &str, step: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        self.dir.join(format!("{n:02}-{browser}-{step}.png"))
    }
}

/// One browser context (a WebDriver session).
pub struct Browser {
    pub client: Client,
    name: String,
    artifacts: Artifacts,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("{}: cannot open {url}", self.name))
    }

    /// Resizes the window: a phone's width, a short laptop screen. Headless, the viewport is the
    /// whole window.
    pub async fn resize(&self, width: u32, height: u32) -> Result<()> {
        self.client
            .set_window_size(width, height)
            .await
            .with_context(|| format!("{}: cannot resize to {width}x{height}", self.name))
    }

    pub async fn current_url(&self) -> Result<String> {
        Ok(self.client.current_url().await?.to_string())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.client
            .execute(script, args)
            .await
            .map_err(|e| anyhow!("{}: script failed: {e}", self.name))
    }

    /// Waits until `script` returns something truthy and returns it; panics with `what` when it
    /// never does. Script errors count as "not yet" (the page may be between loads).
    pub async fn wait_js(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(value) = self.client.execute(script, args.clone()).await
                && truthy(&value)
            {
                return value;
            }
            if tokio::time::Instant::now() > deadline {
                let shot = self.screenshot(&format!("timeout-{}", slug(what))).await;
                panic!(
                    "{}: timed out waiting for: {what} (screenshot: {})",
                    self.name,
                    shot.map_or_else(|e| e.to_string(), |p| p.display().to_string())
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Waits for an element matching `css` and returns it.
    pub async fn wait_for(&self, what: &str, css: &str) -> Element {
        self.wait_js(
            what,
            "return document.querySelector(arguments[0]) !== null;",
            vec![json!(css)],
        )
        .await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{}: {what}: {e}", self.name))
    }

    /// Clicks the element matching `css` once it is there and clickable. The page may re-render
    /// between finding and clicking: a stale element is looked up again.
    pub async fn click(&self, what: &str, css: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let clicked = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.click().await.is_ok(),
                Err(_) => false,
            };
            if clicked {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                let _ = self.screenshot(&format!("timeout-{}", slug(what))).await;
                panic!("{}: timed out waiting to click: {what}", self.name);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// An element a script returned (e.g. one inside a shadow root).
    pub async fn element_from(&self, what: &str, script: &str, args: Vec<Value>) -> Element {
        let value = self.wait_js(what, script, args).await;
        let id = value[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("{}: {what}: not an element: {value}", self.name));
        Element::from_element_id(self.client.clone(), ElementRef::from(id.to_string()))
    }

    /// Saves a PNG of the viewport as the next artefact of this test.
    /// Fills the console's sign-in form (the page must be `/agent/login`) and submits it.
    pub async fn sign_in(&self, email: &str, password: &str) {
        for (what, css, value) in [
            ("the email field", "[data-testid=login-email]", email),
            (
                "the password field",
                "[data-testid=login-password]",
                password,
            ),
        ] {
            let field = self.wait_for(what, css).await;
            field.clear().await.expect("clears the field");
            field.send_keys(value).await.expect("types into the field");
        }
        self.click("the sign-in button", "[data-testid=login-submit]")
            .await;
    }

    pub async fn screenshot(&self, step: &str) -> Result<PathBuf> {
        let png = self.client.screenshot().await?;
        if !png.starts_with(b"\x89PNG") {
            bail!("{}: the screenshot is not a PNG", self.name);
        }
        let path = self.artifacts.next_path(&self.name, step);
        std::fs::write(&path, png)?;
        Ok(path)
    }

    pub async fn close(self) -> Result<()> {
        self.client.close().await?;
        Ok(())
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .take(8)
        .collect::<Vec<_>>()
        .join("-")
}

/// A page of a website that embeds the widget, served on its own free port (another origin than
/// the Natter server, as on a real site).
pub struct HostPage {
    pub url: String,
    handle: tokio::task::JoinHandle<()>,
}

impl HostPage {
    pub async fn serve(html: String) -> Result<Self> {
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || {
                let html = html.clone();
                async move { axum::response::Html(html) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, handle })
    }
}

impl Drop for HostPage {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Whether the chromedriver at `url` became ready: `false` if it exited first, an error if it did
/// neither within [`WAIT`].
async fn answers_status(url: &str, child: &mut Child) -> Result<bool> {
    let http = reqwest::Client::new();
    let status = format!("{url}/status");
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(false);
        }
        if let Ok(response) = http.get(&status).send().await
            && response
                .json::<Value>()
                .await
                .is_ok_and(|v| v["value"]["ready"] == true)
        {
            return Ok(true);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    bail!("chromedriver did not answer {status} within {WAIT:?}")
}
