//! `natter agent create`: how the first admin is made on a fresh server, with the real binary and a
//! real SQLite file. The password comes from standard input, never from the command line.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use natter_core::domain::audit::ActorKind;
use natter_core::domain::model::AgentRole;
use natter_core::store::Store;
use natter_tests::process::sqlite_url;

/// Runs `natter --config <config> agent create <args>` with `stdin` as standard input.
fn create_agent(config: &Path, args: &[&str], stdin: &str) -> (Output, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_natter"))
        .arg("--config")
        .arg(config)
        .args(["agent", "create"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, text)
}

#[tokio::test]
async fn the_first_admin_is_made_from_the_command_line_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[database]\nurl = \"{url}\"\n")).unwrap();

    // Too short a password: refused, and no agent is left behind without one.
    let (output, text) = create_agent(
        &config,
        &["--email", "ada@example.com", "--name", "Ada", "--admin"],
        "short\n",
    );
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("at least 10"), "{text}");
    let store = Store::connect(&url).await.unwrap();
    assert!(
        store
            .agents_by_email("ada@example.com")
            .await
            .unwrap()
            .is_empty()
    );

    let (output, text) = create_agent(
        &config,
        &["--email", "ada@example.com", "--name", "Ada", "--admin"],
        "a long enough secret\n",
    );
    assert!(output.status.success(), "{text}");
    let (output, text) = create_agent(
        &config,
        &["--email", "bob@example.com", "--name", "Bob"],
        "another long secret\n",
    );
    assert!(output.status.success(), "{text}");

    let ada = store.agents_with_password("ada@example.com").await.unwrap();
    assert_eq!(ada.len(), 1, "Ada has a password");
    assert_eq!(ada[0].0.role, AgentRole::Admin);
    assert!(ada[0].1.starts_with("$argon2"), "stored as a hash");
    let bob = store.agents_by_email("bob@example.com").await.unwrap();
    assert_eq!(bob[0].role, AgentRole::Agent);

    let audit = store.list_audit(10, None).await.unwrap();
    let made: Vec<(&str, &str)> = audit
        .iter()
        .map(|entry| (entry.action.as_str(), entry.target.as_str()))
        .collect();
    assert_eq!(
        made,
        [
            ("agent.create (agent)", "bob@example.com"),
            ("agent.create (admin)", "ada@example.com"),
        ]
    );
    assert!(audit.iter().all(|entry| entry.actor.kind == ActorKind::Cli));
    store.close().await.unwrap();
}
