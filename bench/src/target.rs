//! The server under test, as a child process: `natter serve` on a fresh SQLite file and a free port
//! (with a token, agents who signed in and the default site's key), or this tool's bare relay.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rustix::process::{Pid, Signal, kill_process};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// How long a server may take to answer `/readyz` (a fresh database compiles the plugins once).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// How `natter serve` is run.
#[derive(Clone)]
pub struct NatterCommand {
    pub binary: PathBuf,
    /// Extra `NATTER_*` settings, e.g. a PostgreSQL `NATTER_DATABASE__URL`.
    pub env: Vec<(String, String)>,
}

impl NatterCommand {
    /// The settings every run uses on top of `env`: the data folder, the port, quiet logs, and a
    /// per-socket message limit the load never reaches (the benchmark measures the path, not the limit).
    fn command(&self, data: &Path, listen: SocketAddr) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .env("NATTER_CONFIG", data.join("config.toml"))
            .env("NATTER_SERVER__LISTEN", listen.to_string())
            .env("NATTER_LOG__LEVEL", "warn")
            .env("NATTER_CHAT__MESSAGES_PER_MINUTE", "1000000")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Starts `natter serve` on `data`; returns once the child runs (not yet ready).
    pub fn spawn(&self, data: &Path, listen: SocketAddr) -> anyhow::Result<Child> {
        self.command(data, listen)
            .arg("serve")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))
    }

    /// `natter token create --scope admin` on `data`: the token's secret.
    pub async fn admin_token(&self, data: &Path) -> anyhow::Result<String> {
        let output = self
            .command(data, free_address()?)
            .args(["token", "create", "--name", "bench", "--scope", "admin"])
            .output()
            .await?;
        if !output.status.success() {
            bail!(
                "natter token create failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_string())
    }
}

/// A free port on 127.0.0.1 (the kernel's pick, released for the child to bind).
pub fn free_address() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Polls `GET /readyz` until it answers 200; returns how long that took from `since`.
pub async fn wait_ready(
    http: &reqwest::Client,
    addr: SocketAddr,
    since: Instant,
    child: &mut Child,
) -> anyhow::Result<Duration> {
    let url = format!("http://{addr}/readyz");
    loop {
        if let Ok(response) = http.get(&url).send().await
            && response.status().is_success()
        {
            return Ok(since.elapsed());
        }
        if let Some(status) = child.try_wait()? {
            bail!("the server exited before it was ready: {status}");
        }
        if since.elapsed() > READY_TIMEOUT {
            bail!("not ready within {READY_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Asks a child to stop (SIGTERM, a graceful stop) and waits for it.
pub async fn stop(child: &mut Child) -> anyhow::Result<()> {
    if let Some(pid) = child
        .id()
        .and_then(|id| Pid::from_raw(i32::try_from(id).ok()?))
    {
        kill_process(pid, Signal::TERM)?;
    }
    if tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .is_err()
    {
        child.kill().await?;
    }
    Ok(())
}

/// A running server the load is pointed at.
pub struct Target {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub pid: u32,
    /// The site key visitors connect with (the relay ignores it).
    pub site: String,
    /// Session cookies of the agents, one per agent socket.
    pub cookies: Vec<String>,
    child: Child,
    _data: Option<tempfile::TempDir>,
}

impl Target {
    /// `natter serve` on a fresh SQLite file in a temporary folder, with `agents` agents signed in.
    pub async fn natter(command: &NatterCommand, agents: usize) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let addr = free_address()?;
        let http = reqwest::Client::new();
        // The token first: it migrates the fresh database before the server starts.
        let token = command.admin_token(data.path()).await?;
        let mut child = command.spawn(data.path(), addr)?;
        wait_ready(&http, addr, Instant::now(), &mut child).await?;
        let base = format!("http://{addr}");
        let sites: Value = http
            .get(format!("{base}/api/v1/sites"))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let site = sites[0]["key"]
            .as_str()
            .context("no default site")?
            .to_string();
        let mut cookies = Vec::new();
        for i in 0..agents {
            cookies.push(sign_in_agent(&http, &base, &token, i).await?);
        }
        let pid = child.id().context("the server exited")?;
        Ok(Self {
            name: "natter",
            addr,
            pid,
            site,
            cookies,
            child,
            _data: Some(data),
        })
    }

    /// This tool's bare relay, in its own process so its memory is measured alone.
    pub async fn relay(agents: usize) -> anyhow::Result<Self> {
        let addr = free_address()?;
        let mut child = Command::new(std::env::current_exe()?)
            .args(["relay", "--listen", &addr.to_string()])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        // The relay has no `/readyz`: wait until it accepts connections.
        let since = Instant::now();
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if let Some(status) = child.try_wait()? {
                bail!("the relay exited: {status}");
            }
            if since.elapsed() > READY_TIMEOUT {
                bail!("the relay did not listen within {READY_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let pid = child.id().context("the relay exited")?;
        Ok(Self {
            name: "relay",
            addr,
            pid,
            site: "relay".into(),
            cookies: vec![String::new(); agents],
            child,
            _data: None,
        })
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        stop(&mut self.child).await
    }
}

/// Creates agent `i` with a password and signs it in: the session cookie (`name=value`).
async fn sign_in_agent(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    i: usize,
) -> anyhow::Result<String> {
    let email = format!("bench-agent-{i}@example.com");
    let password = "bench-password-123";
    let agent: Value = http
        .post(format!("{base}/api/v1/agents"))
        .bearer_auth(token)
        .json(&json!({"email": email, "name": format!("Agent {i}")}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = agent["id"].as_str().context("agent without id")?;
    http.put(format!("{base}/api/v1/agents/{id}/password"))
        .bearer_auth(token)
        .json(&json!({"password": password}))
        .send()
        .await?
        .error_for_status()?;
    let response = http
        .post(format!("{base}/agent/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?
        .error_for_status()?;
    let cookie = response
        .headers()
        .get("set-cookie")
        .context("sign-in set no cookie")?
        .to_str()?;
    Ok(cookie.split(';').next().unwrap_or_default().to_string())
}
