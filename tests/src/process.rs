//! The real `natter` binary as a child process, for the tests that must kill it or run a client
//! against it from outside. The binary's path comes from the caller: only the core package's own
//! integration tests know it (`CARGO_BIN_EXE_natter`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::{Api, WAIT, wait_until};

/// A `natter serve` process over a data directory. Dropping it kills it.
pub struct NatterProcess {
    child: Child,
    pub base: String,
    log: PathBuf,
}

impl NatterProcess {
    /// Writes `config.toml` into `dir` (a free port, the SQLite file `dir/natter.db`, and the
    /// sections in `extra`), starts the server and waits until it is ready. Its log goes to
    /// `dir/natter-PORT.log`.
    pub async fn start(binary: &Path, dir: &Path, extra: &str) -> Self {
        Self::start_on(binary, dir, &sqlite_url(dir), extra).await
    }

    /// As [`NatterProcess::start`], on the database at `database_url` (several processes may share
    /// one PostgreSQL database, each with its own `dir`).
    pub async fn start_on(binary: &Path, dir: &Path, database_url: &str, extra: &str) -> Self {
        let port = free_port();
        let child = spawn(binary, dir, port, database_url, extra);
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log_path(dir, port),
        };
        let ready = format!("{}/readyz", server.base);
        wait_until("natter answers /readyz", WAIT * 3, || {
            let ready = ready.clone();
            async move {
                reqwest::get(&ready)
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await;
        server
    }

    /// SIGKILL: no shutdown handler runs; only what was committed survives.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reaped");
    }

    pub fn ws_base(&self) -> String {
        self.base.replacen("http://", "ws://", 1)
    }

    pub fn api(&self, token: &str) -> Api {
        Api {
            base: self.base.clone(),
            token: token.to_string(),
            client: reqwest::Client::new(),
        }
    }
}

impl Drop for NatterProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test shows what the server said; its data directory is gone after the test.
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL)..];
            eprintln!("--- {} (last {} lines)", self.log.display(), tail.len());
            eprintln!("{}", tail.join("\n"));
        }
    }
}

/// How much of a server's log a failing test prints.
const LOG_TAIL: usize = 200;

fn log_path(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!("natter-{port}.log"))
}

/// Starts `natter serve` expecting it to refuse: waits up to `patience` for it to exit and answers
/// its exit status and log (standard error).
pub async fn refused(
    binary: &Path,
    dir: &Path,
    database_url: &str,
    extra: &str,
    patience: Duration,
) -> (ExitStatus, String) {
    let port = free_port();
    let mut child = spawn(binary, dir, port, database_url, extra);
    let deadline = tokio::time::Instant::now() + patience;
    let status = loop {
        if let Some(status) = child.try_wait().expect("natter's status") {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("natter still runs after {patience:?}; it should have stopped with an error");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let log = std::fs::read_to_string(log_path(dir, port)).unwrap_or_default();
    (status, log)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn spawn(binary: &Path, dir: &Path, port: u16, database_url: &str, extra: &str) -> Child {
    let config = write_config(dir, port, database_url, extra);
    let log = File::create(log_path(dir, port)).expect("log file");
    Command::new(binary)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("natter starts")
}

/// `natter token create --scope admin` over the data directory, as an operator would run it.
pub fn admin_token(binary: &Path, dir: &Path) -> String {
    admin_token_on(binary, dir, &sqlite_url(dir))
}

/// As [`admin_token`], on the database at `database_url`.
pub fn admin_token_on(binary: &Path, dir: &Path, database_url: &str) -> String {
    let config = write_config(dir, 0, database_url, "");
    let output = Command::new(binary)
        .arg("--config")
        .arg(config)
        .args(["token", "create", "--name", "test", "--scope", "admin"])
        .output()
        .expect("natter token create runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("natter.db").display())
}

fn write_config(dir: &Path, port: u16, database_url: &str, extra: &str) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\nshutdown_grace_seconds = 1\n\n\
         [database]\nurl = \"{database_url}\"\n\n{extra}\n"
    );
    std::fs::write(&path, text).expect("config written");
    path
}
