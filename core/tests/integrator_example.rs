//! The integrator walk-through (`examples/integrator/walkthrough.py`) runs against the real binary,
//! so the example in the README keeps working. Skipped where `python3` is not installed.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::path::Path;
use std::time::Duration;

use natter_tests::process::{NatterProcess, admin_token};

#[tokio::test]
async fn the_integrator_walkthrough_runs_end_to_end() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("python3 is not installed: the walk-through is not run");
        return;
    }
    let natter = Path::new(env!("CARGO_BIN_EXE_natter"));
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/integrator/walkthrough.py");
    let temp = tempfile::tempdir().unwrap();
    let token = admin_token(natter, temp.path());
    let server = NatterProcess::start(
        natter,
        temp.path(),
        "[delivery]\nallow_private_targets = true\npoll_interval_ms = 50\n",
    )
    .await;
    let run = tokio::process::Command::new("python3")
        .arg(&script)
        .arg("--url")
        .arg(&server.base)
        .env("NATTER_TOKEN", &token)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the walk-through ends within a minute")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("conversation.started"), "{stdout}");
    // The tagged customer came back as the conversation's customer, through the page's proof.
    assert!(stdout.contains("customer.updated"), "{stdout}");
    assert!(stdout.contains("= cust-"), "{stdout}");
    assert!(
        stdout.contains("the agent opened the link and replied"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("done"), "{stdout}");
}
