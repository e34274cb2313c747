//! `natter plugin check|list|build`, run as the real binary.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use natter_core::plugins::build;
use natter_core::plugins::capabilities::DisabledRecord;
use natter_core::store::Store;
use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A configuration folder: `config.toml` with `plugins.dir = "plugins"`, and that folder.
fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[plugins]\ndir = \"plugins\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    dir
}

fn natter(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_natter"))
        .arg("--config")
        .arg(config.join("config.toml"))
        .args(args)
        .env("NATTER_LOG", "error")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_describes_a_plugin_and_renders_it() {
    let config = config_dir();
    let webchat = repo().join("plugins/dist/webchat.wasm");
    let out = natter(
        config.path(),
        &["plugin", "check", webchat.to_str().unwrap()],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("webchat")
            && stdout.contains("kind=widget")
            && stdout.contains("api=0.1.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("render with the default configuration: ok"),
        "{stdout}"
    );
}

#[test]
fn check_refuses_an_unknown_api_version_naming_both_versions() {
    let config = config_dir();
    let wrong = repo().join("plugins/dist/fixtures/wrong-api-version.wasm");
    let out = natter(config.path(), &["plugin", "check", wrong.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("natter:plugin@1.0.0") && stderr.contains("supports 0.1.x"),
        "{stderr}"
    );
}

#[tokio::test]
async fn list_shows_built_ins_folder_plugins_grants_and_disabled_ones() {
    let config = config_dir();
    let trap = std::fs::read(repo().join("plugins/dist/fixtures/trap.wasm")).unwrap();
    std::fs::write(config.path().join("plugins/trap.wasm"), &trap).unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        config.path().join("natter.db").display()
    );
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    // What the server records when a plugin fails too often.
    store
        .set_plugin_disabled(
            "fixture-trap",
            Some(DisabledRecord {
                digest: hex::encode(Sha256::digest(&trap)),
                reason: "3 consecutive failures".into(),
                at: chrono::Utc::now(),
            }),
        )
        .await
        .unwrap();
    store.close().await.unwrap();
    let out = natter(config.path(), &["plugin", "list"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("webchat 0.1.0") && stdout.contains("source=built-in"),
        "{stdout}"
    );
    let trap_line = stdout
        .lines()
        .position(|l| l.starts_with("fixture-trap"))
        .unwrap();
    let details = stdout.lines().nth(trap_line + 1).unwrap();
    assert!(details.contains("status=DISABLED"), "{stdout}");
}

/// Builds the example vendor plugin with `natter plugin build`, checks it and sees it listed. Needs a
/// wasm toolchain (a rustup wasm32 target, or Debian's rustc-web + rust-web-src + lld-19); without one the
/// test says so and passes, so the suite runs anywhere.
#[test]
fn the_vendor_example_builds_and_loads() {
    if build::toolchain().is_none() {
        eprintln!("skipped: no wasm toolchain on this machine (see README: Plugins)");
        return;
    }
    let config = config_dir();
    let out_file = config.path().join("plugins/acme-help-tab.wasm");
    let crate_dir = repo().join("examples/vendor-widget");
    let out = natter(
        config.path(),
        &[
            "plugin",
            "build",
            crate_dir.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("acme-help-tab")
            && stdout.contains("render with the default configuration: ok"),
        "{stdout}"
    );
    let listed = text(&natter(config.path(), &["plugin", "list"]).stdout);
    assert!(listed.contains("acme-help-tab 0.1.0"), "{listed}");
}
