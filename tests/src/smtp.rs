//! A real SMTP server for the mail tests: `tests/smtp_sink.py` on aiosmtpd (PyPI), listening on
//! 127.0.0.1 and writing every accepted mail as JSON. It can be stopped and started again on the
//! same port. aiosmtpd is installed on first use into a venv under `$HOME/.cache/natter`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::{WAIT, repo_root, wait_until};

/// One mail the sink accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub rcpt_tos: Vec<String>,
    pub headers: Vec<(String, String)>,
    /// The header block as sent, before any decoding.
    pub raw_headers: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl ReceivedMail {
    /// The first header of that name (case-insensitive), decoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl SmtpSink {
    /// Starts the sink on a free port and waits until it accepts connections.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut sink = Self {
            port,
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
        };
        sink.restart().await;
        sink
    }

    /// `smtp://127.0.0.1:PORT`, for `mail.smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops the server: connections are refused until `restart`.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
        let port = self.port;
        wait_until("the SMTP sink stopped listening", WAIT, || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
        })
        .await;
    }

    /// Starts the server (again) on the same port.
    pub async fn restart(&mut self) {
        let child = Command::new(python())
            .arg(repo_root().join("tests/smtp_sink.py"))
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the SMTP sink starts");
        self.child = Some(child);
        let port = self.port;
        wait_until(
            "the SMTP sink accepts connections",
            WAIT * 3,
            || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
            },
        )
        .await;
    }

    /// Every mail accepted so far, in the order it arrived.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("sink dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        names.sort_by_key(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let (time, count) = name
                .trim_end_matches(".json")
                .split_once('-')
                .unwrap_or(("0", "0"));
            (
                time.parse::<u128>().unwrap_or(0),
                count.parse::<u64>().unwrap_or(0),
            )
        });
        names.iter().map(|p| read_mail(p)).collect()
    }

    /// Waits until at least `n` mails arrived, and returns them all.
    pub async fn wait_for(&self, what: &str, n: usize) -> Vec<ReceivedMail> {
        wait_until(what, WAIT * 3, || async move { self.mails().len() >= n }).await;
        self.mails()
    }
}

fn read_mail(path: &Path) -> ReceivedMail {
    let raw = std::fs::read_to_string(path).expect("mail file");
    let v: Value = serde_json::from_str(&raw).expect("mail JSON");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    ReceivedMail {
        rcpt_tos: strings(&v["rcpt_tos"]),
        headers: v["headers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|pair| {
                        let p = strings(pair);
                        (
                            p.first().cloned().unwrap_or_default(),
                            p.get(1).cloned().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        raw_headers: v["raw_headers"].as_str().unwrap_or_default().to_string(),
        text: v["text"].as_str().map(str::to_string),
        html: v["html"].as_str().map(str::to_string),
    }
}

/// The Python that has aiosmtpd: `NATTER_TEST_PYTHON` if set, else a venv under
/// `$HOME/.cache/natter/smtp-venv`, created and filled from PyPI on first use.
pub fn python() -> PathBuf {
    if let Ok(python) = std::env::var("NATTER_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    let venv = Path::new(&home).join(".cache/natter/smtp-venv");
    let python = venv.join("bin/python");
    if venv.join("ready").exists() {
        return python;
    }
    // Several test binaries may get here at once: each builds in a folder of its own and the first
    // rename wins; the others find the venv ready.
    let building = venv.with_extension(format!("build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    let ok = std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(&building)
        .status()
        .is_ok_and(|s| s.success())
        && std::process::Command::new(building.join("bin/pip"))
            .args(["install", "--quiet", "aiosmtpd==1.4.6"])
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        ok,
        "cannot install aiosmtpd into a venv (python3 -m venv, pip install aiosmtpd)"
    );
    std::fs::write(building.join("ready"), "").expect("marker");
    if std::fs::rename(&building, &venv).is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    python
}
