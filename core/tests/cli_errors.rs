//! How the real `natter` binary reports what stops it: the message and its causes, one line each, and a
//! non-zero exit, even with `RUST_BACKTRACE=1` set (no stack trace for an operator to wade through).
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::path::Path;
use std::process::{Command, Output};

use natter_tests::process::sqlite_url;
use sea_orm::{ConnectionTrait, Database};

fn natter() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_natter"))
}

/// Runs `natter --config <config> <args>` with backtraces asked for; answers the output and its text.
fn run(config: &Path, args: &[&str]) -> (Output, String) {
    let output = Command::new(natter())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, text)
}

fn assert_clean_failure(output: &Output, text: &str) {
    assert!(!output.status.success(), "{text}");
    assert!(
        !text.to_lowercase().contains("stack backtrace"),
        "no backtrace: {text}"
    );
    assert!(text.lines().any(|l| l.starts_with("error: ")), "{text}");
}

#[test]
fn an_unknown_configuration_key_is_named_without_a_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[server]\nlisten_adress = \"127.0.0.1:8080\"\n").unwrap();
    let (output, text) = run(&config, &["config", "show"]);
    assert_clean_failure(&output, &text);
    assert!(text.contains("listen_adress"), "{text}");
    assert_eq!(output.status.code(), Some(1), "{text}");
}

#[test]
fn a_wrong_value_in_an_environment_variable_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let output = Command::new(natter())
        .arg("--config")
        .arg(&config)
        .args(["config", "show"])
        .env("NATTER_CHAT__MAX_MESSAGE_CHARS", "many")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr).to_string();
    assert_clean_failure(&output, &text);
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.contains("\"NATTER_CHAT__MAX_MESSAGE_CHARS\" in environment variable")
            && first.contains("many"),
        "{text}"
    );
    assert!(!text.contains(".rs:"), "no place in the source: {text}");
}

#[tokio::test]
async fn a_migration_error_is_one_message_without_a_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[database]\nurl = \"{url}\"\n")).unwrap();
    let (output, text) = run(&config, &["migrate"]);
    assert!(output.status.success(), "{text}");

    // A newer natter migrated this database further than this one knows.
    let db = Database::connect(url.as_str()).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000001_from_the_future', 0)",
    )
    .await
    .unwrap();
    db.close().await.unwrap();

    let (output, text) = run(&config, &["migrate"]);
    assert_clean_failure(&output, &text);
    assert!(
        text.contains("m20991231_000001_from_the_future") && text.contains("newer version"),
        "{text}"
    );
}

#[test]
fn a_log_written_to_a_file_or_pipe_has_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let url = sqlite_url(dir.path());
    std::fs::write(&config, format!("[database]\nurl = \"{url}\"\n")).unwrap();
    let (output, text) = run(&config, &["migrate"]);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("migration applied"), "{text}");
    assert!(!text.contains('\u{1b}'), "plain text: {text:?}");
}
