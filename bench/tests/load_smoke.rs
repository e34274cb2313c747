//! The load generator end to end, small: `natter-bench load` against the workspace's `natter` (the
//! debug build `cargo test --workspace` makes for core's own end-to-end tests) and its bare relay.
//! It checks what the tool reports, not how fast: every message sent was acknowledged and reached
//! every agent, with no errors, closes or failed connects, and each idle socket was opened.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/natter`, next to this test's own folder (`target/<profile>/deps`).
fn natter_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir.join("natter");
    assert!(
        binary.exists(),
        "{} is missing: build it first (`cargo build -p natter-core --bin natter`, or run the \
         whole workspace's tests, which build it)",
        binary.display()
    );
    binary
}

/// The table rows of one server: its name, then the cells.
fn rows<'a>(table_output: &'a str, server: &str) -> Vec<Vec<&'a str>> {
    table_output
        .lines()
        .filter(|line| line.starts_with(&format!("| {server} |")))
        .map(|line| line.trim_matches('|').split('|').map(str::trim).collect())
        .collect()
}

#[test]
fn a_small_load_is_acknowledged_and_delivered_in_full_on_natter_and_the_relay() {
    let output = Command::new(env!("CARGO_BIN_EXE_natter-bench"))
        .args([
            "load",
            "--visitors",
            "50",
            "--agents",
            "2",
            "--talkers",
            "10",
            "--rate",
            "100",
            "--seconds",
            "2",
            "--natter",
        ])
        .arg(natter_binary())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "natter-bench failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let mut servers = Vec::new();
    for line in stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| server"))
    {
        let name = line.trim_matches('|').split('|').next().unwrap().trim();
        if !name.starts_with("---") && !servers.contains(&name) {
            servers.push(name);
        }
    }
    assert_eq!(servers.len(), 2, "natter and the relay:\n{stdout}");
    for server in servers {
        let rows = rows(&stdout, server);
        assert_eq!(rows.len(), 2, "a memory row and a traffic row for {server}");
        let (memory, traffic) = (&rows[0], &rows[1]);
        assert_eq!(
            memory[1], "50",
            "{server}: every idle socket opened\n{stdout}"
        );
        // | server | ack p50 | ack p99 | ack max | delivery p50 | p99 | max | acked msg/s | sent |
        //   acked | delivered | errors | closes | failed connects |
        let count = |i: usize| -> u64 { traffic[i].parse().unwrap() };
        let (sent, acked, delivered) = (count(8), count(9), count(10));
        assert!(sent >= 100, "{server}: the talkers sent ({sent})\n{stdout}");
        assert_eq!(
            acked, sent,
            "{server}: every message acknowledged\n{stdout}"
        );
        assert_eq!(
            delivered,
            2 * sent,
            "{server}: every agent got every one\n{stdout}"
        );
        assert_eq!(
            (count(11), count(12), count(13)),
            (0, 0, 0),
            "{server}: no errors, closes or failed connects\n{stdout}"
        );
    }
}

/// A run whose sockets do not fit under the open-file limit stops before it starts a server,
/// naming the limit and the largest run that fits, instead of failing thousands of connects. The
/// limit is lowered for the tool alone, and the run asks for more descriptors than Linux's default
/// ceiling for any process (`fs.nr_open`, 1,048,576), so even a privileged tool cannot raise it.
#[test]
fn a_run_larger_than_the_open_file_limit_is_refused_with_the_largest_that_fits() {
    let output = Command::new("bash")
        .arg("-c")
        .arg(r#"ulimit -n 1000 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_natter-bench"))
        .args([
            "load",
            "--visitors",
            "2000000",
            "--agents",
            "2",
            "--talkers",
            "10",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the run was refused: {stderr}");
    assert!(stderr.contains("the open-file limit is 1000"), "{stderr}");
    // 1000 less 256 spare descriptors is 744 sockets; 212 of them are the 10 talkers, 2 agents
    // and the 200 the tool keeps for its warm-up and reconnects.
    assert!(stderr.contains("run at most 744 sockets"), "{stderr}");
    assert!(stderr.contains("`--visitors 532`"), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing was measured");
}
