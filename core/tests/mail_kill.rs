//! Mail against the real `natter` binary: SIGKILL it with mails pending while the SMTP server is
//! down, start it again, bring SMTP back, and every committed mail arrives once; and
//! `natter mail test` reports the SMTP server's answer or why it failed.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use natter_tests::process::{NatterProcess, admin_token};
use natter_tests::smtp::SmtpSink;
use natter_tests::{Api, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

fn natter() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_natter"))
}

fn config(sink: &SmtpSink) -> String {
    format!(
        "[delivery]\nbackoff_base_ms = 20\nbackoff_cap_ms = 200\npoll_interval_ms = 20\n\n\
         [mail]\nsmtp_url = \"{}\"\nfrom = \"Natter <chat@natter.test>\"\noffline_inbox = \"inbox@natter.test\"\ntimeout_seconds = 2\n",
        sink.url()
    )
}

async fn deliveries(api: &Api) -> Vec<Value> {
    api.get("/api/v1/mail/deliveries").await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn sigkill_with_mails_pending_loses_none() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let mut sink = SmtpSink::start().await;
    let token = admin_token(natter(), dir);
    sink.stop().await;

    let first = NatterProcess::start(natter(), dir, &config(&sink)).await;
    let api = &first.api(&token);
    let site = api.get("/api/v1/sites").await.unwrap()[0]["key"]
        .as_str()
        .unwrap()
        .to_string();
    for n in 0..3 {
        api.post(
            "/api/v1/widget/offline-messages",
            json!({"site": site, "visitor_id": uuid::Uuid::new_v4(), "name": format!("V{n}"),
                "email": format!("v{n}@example.org"), "message": format!("question {n}")}),
        )
        .await
        .unwrap();
    }
    wait_until(
        "the mails were attempted while SMTP is down",
        WAIT,
        || async move {
            let all = deliveries(api).await;
            all.len() == 3 && all.iter().all(|d| d["attempts"].as_u64().unwrap() >= 1)
        },
    )
    .await;
    first.kill();

    sink.restart().await;
    let second = NatterProcess::start(natter(), dir, &config(&sink)).await;
    let api = &second.api(&token);
    wait_until(
        "every mail is sent after the restart",
        WAIT,
        || async move { deliveries(api).await.iter().all(|d| d["state"] == "sent") },
    )
    .await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 3, "each committed mail once");
    let mut ids: Vec<&str> = mails
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

fn mail_test(dir: &Path, smtp_url: &str, to: &str) -> (bool, String) {
    let config = dir.join("mail-test.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}?mode=rwc\"\n\n[mail]\nsmtp_url = \"{smtp_url}\"\nfrom = \"chat@natter.test\"\ntimeout_seconds = 3\npassword = \"hunter2\"\n",
            dir.join("natter.db").display()
        ),
    )
    .unwrap();
    let output = Command::new(natter())
        .arg("--config")
        .arg(&config)
        .args(["mail", "test", "--to", to])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!text.contains("hunter2"), "{text}");
    (output.status.success(), text)
}

#[tokio::test]
async fn mail_test_prints_the_answer_or_the_exact_failure() {
    let temp = tempfile::tempdir().unwrap();
    let mut sink = SmtpSink::start().await;
    let url = sink.url();

    let (ok, text) = mail_test(temp.path(), &url, "ops@example.org");
    assert!(ok, "{text}");
    assert!(text.contains("250"), "{text}");
    assert_eq!(sink.mails().len(), 1);

    let (ok, text) = mail_test(temp.path(), &url, "reject@example.org");
    assert!(!ok, "{text}");
    assert!(
        text.contains("550") && text.contains("mailbox unavailable"),
        "{text}"
    );

    let (ok, text) = mail_test(temp.path(), &url, "not an address");
    assert!(!ok, "{text}");
    assert!(text.contains("--to"), "{text}");

    sink.stop().await;
    let (ok, text) = mail_test(temp.path(), &url, "ops@example.org");
    assert!(!ok, "{text}");
    assert!(text.to_lowercase().contains("connection refused"), "{text}");
}
