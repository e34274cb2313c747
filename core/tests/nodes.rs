//! Several nodes as one: two real `natter` processes on one PostgreSQL database and one Redis. A
//! visitor on one node and an agent on the other chat as if there were one server; presence, webhook
//! delivery, a node's death and Redis going away are survived without losing or doubling anything.
//!
//! These tests run in the PostgreSQL pass (`NATTER_TEST_POSTGRES`) and skip without it. They use the
//! Redis at `NATTER_TEST_REDIS` (default `redis://127.0.0.1:6379`), each under a key prefix of its
//! own, and for the outage test a private `redis-server` on a free port.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use natter_tests::process::{NatterProcess, admin_token_on, refused};
use natter_tests::receiver::Receiver;
use natter_tests::smtp::SmtpSink;
use natter_tests::{Api, DataDir, POSTGRES_ENV, Ws, repo_root, wait_until};
use serde_json::{Value, json};

/// Waits across nodes include a presence expiry and Redis reconnecting.
const WAIT: Duration = Duration::from_secs(30);
/// The presence expiry the tests configure: a dead node's agents are gone within 3 s plus a beat.
const PRESENCE_TTL: u64 = 3;

fn natter() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_natter"))
}

fn redis_url() -> String {
    std::env::var("NATTER_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// One database and one Redis prefix that every node of a test shares.
struct Cluster {
    data: DataDir,
    redis: String,
    prefix: String,
    token: String,
    extra: String,
}

/// A node: its process and its own folder (configuration and log).
struct Node {
    process: NatterProcess,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Node {
    type Target = NatterProcess;
    fn deref(&self) -> &NatterProcess {
        &self.process
    }
}

impl Node {
    fn kill(self) {
        self.process.kill();
    }
}

impl Cluster {
    /// `None` (the test is skipped) without `NATTER_TEST_POSTGRES`.
    async fn new() -> Option<Self> {
        Self::on_redis(&redis_url(), "").await
    }

    async fn on_redis(redis: &str, extra: &str) -> Option<Self> {
        if std::env::var(POSTGRES_ENV).is_err() {
            eprintln!("skipped: set {POSTGRES_ENV} to run the several-nodes tests");
            return None;
        }
        let data = DataDir::new();
        data.ensure_database().await;
        let token = admin_token_on(natter(), &data.path, &data.database_url());
        Some(Self {
            data,
            redis: redis.to_string(),
            prefix: format!("natter-test-{}", uuid::Uuid::new_v4().simple()),
            token,
            extra: extra.to_string(),
        })
    }

    async fn node(&self) -> Node {
        self.node_with(|_| {}).await
    }

    /// A node whose folder `prepare` fills before it starts.
    async fn node_with(&self, prepare: impl FnOnce(&Path)) -> Node {
        let dir = tempfile::tempdir().unwrap();
        prepare(dir.path());
        let config = format!(
            "[bus]\nurl = \"{}\"\nprefix = \"{}\"\npresence_ttl_seconds = {PRESENCE_TTL}\n\
             connect_timeout_seconds = 5\n\n[chat]\nmessages_per_minute = 1000\n\n{}",
            self.redis, self.prefix, self.extra
        );
        let process =
            NatterProcess::start_on(natter(), dir.path(), &self.data.database_url(), &config).await;
        Node { process, _dir: dir }
    }

    async fn site(&self, node: &NatterProcess) -> String {
        let sites = node.api(&self.token).get("/api/v1/sites").await.unwrap();
        sites[0]["key"].as_str().unwrap().to_string()
    }

    /// A new agent's session cookie, signed in with a password (sessions are stored, so any node
    /// takes it).
    async fn agent_cookie(&self, node: &NatterProcess, name: &str) -> String {
        let api = node.api(&self.token);
        let agent = api.create_agent(name).await;
        let password = "correct horse battery staple";
        let (status, body) = api
            .send(
                "PUT",
                &format!("/api/v1/agents/{agent}/password"),
                Some(json!({"password": password})),
            )
            .await
            .unwrap();
        assert!(status.is_success(), "{body}");
        let signed_in = reqwest::Client::new()
            .post(format!("{}/agent/login", node.base))
            .json(&json!({"email": format!("{name}@example.com"), "password": password}))
            .send()
            .await
            .unwrap();
        assert!(signed_in.status().is_success(), "{}", signed_in.status());
        let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_string()
    }
}

async fn visitor(node: &NatterProcess, site: &str, id: Option<&str>, last_seq: i64) -> (Ws, Value) {
    let url = format!("{}/ws/visitor?site={site}", node.ws_base());
    let mut ws = Ws::connect(&url, None).await.unwrap();
    ws.send(
        json!({"type": "hello", "v": 1, "visitor_id": id, "last_seq": last_seq,
        "page": {"url": "http://shop.test/", "title": "Shop", "referrer": ""}}),
    )
    .await;
    let welcome = ws.expect("welcome").await;
    (ws, welcome)
}

async fn agent(node: &NatterProcess, cookie: &str) -> Ws {
    let url = format!("{}/ws/agent", node.ws_base());
    let mut ws = Ws::connect(&url, Some(cookie)).await.unwrap();
    ws.send(json!({"type": "hello", "v": 1, "resume": []}))
        .await;
    ws.expect("welcome").await;
    ws
}

/// Message frames up to and including the one with body `last`, skipping other frames.
async fn messages_until(ws: &mut Ws, last: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let frame = ws.expect("message").await;
        let done = frame["body"] == last;
        out.push(frame);
        if done {
            return out;
        }
    }
}

fn bodies(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|f| f["body"].as_str().unwrap().to_string())
        .collect()
}

/// Every message of a conversation, from storage.
async fn stored(api: &Api, conversation: &str) -> Vec<Value> {
    let full = api
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await
        .unwrap();
    full["messages"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_visitor_on_one_node_and_an_agent_on_another_chat_in_order_exactly_once() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let a = cluster.node().await;
    let b = cluster.node().await;
    let site = cluster.site(&a).await;
    let (mut guest, _) = visitor(&a, &site, None, 0).await;
    let cookie = cluster.agent_cookie(&b, "ada").await;
    let mut ada = agent(&b, &cookie).await;

    let sent: Vec<String> = (1..=20).map(|n| format!("visitor {n}")).collect();
    for body in &sent {
        guest
            .send(json!({"type": "message", "client_id": body, "body": body}))
            .await;
    }
    let seen = messages_until(&mut ada, "visitor 20").await;
    assert_eq!(
        bodies(&seen),
        sent,
        "the agent on B got each message once, in order"
    );
    let seqs: Vec<i64> = seen.iter().map(|f| f["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    let conversation = seen[0]["conversation_id"].as_str().unwrap().to_string();

    let replies: Vec<String> = (1..=20).map(|n| format!("agent {n}")).collect();
    for body in &replies {
        ada.send(json!({"type": "message", "conversation_id": conversation,
            "client_id": body, "body": body}))
            .await;
    }
    let answered = messages_until(&mut guest, "agent 20").await;
    let answered: Vec<Value> = answered
        .into_iter()
        .filter(|f| f["author"]["kind"] == "agent")
        .collect();
    assert_eq!(
        bodies(&answered),
        replies,
        "the visitor on A got each reply once, in order"
    );
    let seqs: Vec<i64> = answered
        .iter()
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (21..=40).collect::<Vec<_>>());

    let all = stored(&a.api(&cluster.token), &conversation).await;
    assert_eq!(all.len(), 40, "every message stored once");
}

#[tokio::test]
async fn an_agent_on_another_node_shows_the_widget_and_its_death_hides_it() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let a = cluster.node().await;
    let b = cluster.node().await;
    a.api(&cluster.token)
        .post(
            "/api/v1/rules",
            json!({"name": "Agents online", "builtin": "any_agent_online"}),
        )
        .await
        .unwrap();
    let site = cluster.site(&a).await;
    let (mut guest, _) = visitor(&a, &site, None, 0).await;
    assert_eq!(guest.expect("visibility").await["visible"], false);

    let cookie = cluster.agent_cookie(&a, "grace").await;
    let _grace = agent(&b, &cookie).await;
    let shown = guest.expect("visibility").await;
    assert_eq!(
        shown["visible"], true,
        "pushed when the agent came online on B"
    );
    assert_eq!(
        a.api(&cluster.token).get("/api/v1/agents").await.unwrap()[0]["status"],
        "available",
        "node A sees the agent of node B"
    );

    b.kill();
    // Within the presence expiry plus a heartbeat; the socket's own read waits at most its WAIT.
    let hidden = tokio::time::timeout(WAIT, guest.expect("visibility"))
        .await
        .expect("hidden within the expiry");
    assert_eq!(hidden["visible"], false, "B's death took its agent offline");
}

#[tokio::test]
async fn a_rule_saved_on_one_node_decides_for_the_visitors_of_another() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let a = cluster.node().await;
    let b = cluster.node().await;
    let site = cluster.site(&a).await;
    let (mut guest, _) = visitor(&b, &site, None, 0).await;
    assert_eq!(guest.expect("visibility").await["visible"], true);
    a.api(&cluster.token)
        .post(
            "/api/v1/rules",
            json!({"name": "Agents online", "builtin": "any_agent_online"}),
        )
        .await
        .unwrap();
    let hidden = guest.expect("visibility").await;
    assert_eq!(hidden["visible"], false, "B reloaded the rules A saved");
    assert_eq!(
        hidden["decided_by"],
        json!({"kind": "rule", "name": "Agents online"})
    );
}

async fn widget_etag(node: &NatterProcess, site: &str) -> String {
    let answer = reqwest::get(format!("{}/widget.js?site={site}", node.base))
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.headers()["etag"].to_str().unwrap().to_string()
}

/// Each node keeps the widget configuration in memory (the hook after every message needs it): one
/// saved on A must reach B's `widget.js` and B's hooks, not only B's open widgets.
#[tokio::test]
async fn a_widget_configuration_saved_on_one_node_is_what_the_hooks_of_another_use() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let a = cluster.node().await;
    let b = cluster.node().await;
    let site = cluster.site(&a).await;
    // B reads the configuration in force (none stored: no offline reply) and keeps it.
    let (mut first, _) = visitor(&b, &site, None, 0).await;
    first
        .send(json!({"type": "message", "client_id": "b-1", "body": "Anyone?"}))
        .await;
    first.expect("ack").await;
    let before = widget_etag(&b, &site).await;

    let offline = "Saved on node A: we answer within a day.";
    let (status, body) = a
        .api(&cluster.token)
        .send(
            "PUT",
            "/api/v1/widget/config",
            Some(json!({"offline_text": offline, "offline_reply": true})),
        )
        .await
        .unwrap();
    assert!(status.is_success(), "{body}");
    wait_until("B serves the new widget.js", WAIT, || {
        let (b, site, before) = (&b, site.clone(), before.clone());
        async move { widget_etag(b, &site).await != before }
    })
    .await;

    let (mut second, _) = visitor(&b, &site, None, 0).await;
    second
        .send(json!({"type": "message", "client_id": "b-2", "body": "Hello?"}))
        .await;
    second.expect("ack").await;
    let notice = second.expect_message(offline).await;
    assert_eq!(notice["author"]["kind"], "system", "{notice}");

    // A widget told of a newer version (`widget_config`) reloads with `&v=`: B answers that version at
    // once, even before the nodes' own announcement reaches it.
    let (status, body) = a
        .api(&cluster.token)
        .send(
            "PUT",
            "/api/v1/widget/config",
            Some(json!({"offline_text": "Changed again.", "offline_reply": true})),
        )
        .await
        .unwrap();
    assert!(status.is_success(), "{body}");
    let version = body["version"].as_i64().unwrap();
    let reloaded = widget_etag(&b, &format!("{site}&v={version}")).await;
    assert!(
        reloaded.ends_with(&format!("-v{version}\"")),
        "{reloaded} is version {version}"
    );
}

#[tokio::test]
async fn failed_sign_ins_on_either_node_count_towards_one_throttle() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let a = cluster.node().await;
    let b = cluster.node().await;
    // Sets the password and proves it works; then five wrong guesses, alternating nodes.
    cluster.agent_cookie(&a, "eve").await;
    let sign_in = |node: &NatterProcess, password: &str| {
        let request = reqwest::Client::new()
            .post(format!("{}/agent/login", node.base))
            .json(&json!({"email": "eve@example.com", "password": password}));
        async move { request.send().await.unwrap().status() }
    };
    for n in 0..5 {
        let node = if n % 2 == 0 { &a } else { &b };
        assert_eq!(sign_in(node, "wrong guess").await, 401);
    }
    assert_eq!(
        sign_in(&b, "correct horse battery staple").await,
        429,
        "the fifth failure, counted across both nodes, throttles even the right password"
    );
    assert_eq!(sign_in(&a, "correct horse battery staple").await, 429);
}

#[tokio::test]
async fn a_plugin_enabled_on_one_node_is_back_in_service_on_the_others() {
    let Some(cluster) = Cluster::on_redis(
        &redis_url(),
        "[plugins]\ndir = \"plugins\"\nwidget = \"fixture-trap\"\nfailures_before_disable = 2\n",
    )
    .await
    else {
        return;
    };
    let with_trap = |dir: &Path| {
        std::fs::create_dir(dir.join("plugins")).unwrap();
        let fixture = repo_root().join("plugins/dist/fixtures/trap.wasm");
        std::fs::copy(fixture, dir.join("plugins/trap.wasm")).unwrap();
    };
    let a = cluster.node_with(with_trap).await;
    let b = cluster.node_with(with_trap).await;
    let site = cluster.site(&a).await;
    let status = |node: &NatterProcess| {
        let api = node.api(&cluster.token);
        async move {
            let plugins = api.get("/api/v1/plugins").await.unwrap();
            plugins
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "fixture-trap")
                .unwrap()["status"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    // Each node counts its own failures: the widget plugin traps until both disabled it.
    for node in [&a, &b] {
        for _ in 0..5 {
            if status(node).await == "disabled" {
                break;
            }
            let script = reqwest::get(format!("{}/widget.js?site={site}", node.base))
                .await
                .unwrap();
            assert_eq!(script.status(), 503);
        }
        assert_eq!(status(node).await, "disabled");
    }

    let (code, body) = a
        .api(&cluster.token)
        .send("POST", "/api/v1/plugins/fixture-trap/enable", None)
        .await
        .unwrap();
    assert_eq!(code, 204, "{body}");
    wait_until("B takes the plugin back into service", WAIT, || async {
        status(&b).await != "disabled"
    })
    .await;
}

#[tokio::test]
async fn two_hundred_webhook_events_reach_the_receiver_once_with_both_workers_running() {
    let Some(cluster) = Cluster::on_redis(
        &redis_url(),
        "[delivery]\nallow_private_targets = true\npoll_interval_ms = 20\nconcurrency = 8\n",
    )
    .await
    else {
        return;
    };
    let a = cluster.node().await;
    let b = cluster.node().await;
    let receiver = Receiver::start().await;
    let endpoint = receiver
        .subscribe(&a.api(&cluster.token), &["message.created"])
        .await;
    let site = cluster.site(&a).await;

    // Ten visitors, half on each node, twenty messages each: 200 events.
    let mut sockets = Vec::new();
    for v in 0..10 {
        let node = if v % 2 == 0 { &a } else { &b };
        let (mut ws, _) = visitor(node, &site, None, 0).await;
        for n in 0..20 {
            let id = format!("v{v}-{n}");
            ws.send(json!({"type": "message", "client_id": id, "body": id}))
                .await;
        }
        sockets.push(ws);
    }
    for ws in &mut sockets {
        loop {
            let ack = ws.expect("ack").await;
            if ack["client_id"].as_str().unwrap().ends_with("-19") {
                break;
            }
        }
    }
    receiver
        .wait_for("200 events", WAIT, |r| {
            r.iter()
                .map(|r| r.id.clone())
                .collect::<BTreeSet<_>>()
                .len()
                >= 200
        })
        .await;

    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in receiver.received() {
        *per_id.entry(r.id.clone()).or_default() += 1;
    }
    assert_eq!(per_id.len(), 200);
    assert!(
        per_id.values().all(|n| *n == 1),
        "each event id arrived once: {:?}",
        per_id.values().filter(|n| **n > 1).count()
    );
    // The receiver has the bytes before the worker records their answer: wait for the records.
    let id = endpoint["id"].as_str().unwrap();
    let api = &a.api(&cluster.token);
    let path = &format!("/api/v1/webhooks/{id}/deliveries?limit=200");
    wait_until("every delivery recorded", WAIT, || async move {
        let log = api.get(path).await.unwrap();
        let log = log.as_array().unwrap();
        log.len() == 200 && log.iter().all(|d| d["state"] == "delivered")
    })
    .await;
    let log = api.get(path).await.unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 200);
    for delivery in log {
        assert_eq!(delivery["attempt_count"], 1, "one attempt each: {delivery}");
    }
}

#[tokio::test]
async fn mails_queued_on_either_node_are_sent_once_with_both_workers_running() {
    if std::env::var(POSTGRES_ENV).is_err() {
        eprintln!("skipped: set {POSTGRES_ENV} to run the several-nodes tests");
        return;
    }
    let sink = SmtpSink::start().await;
    let Some(cluster) = Cluster::on_redis(
        &redis_url(),
        &format!(
            "[delivery]\npoll_interval_ms = 20\n\n[mail]\nsmtp_url = \"{}\"\n\
             from = \"Natter <chat@natter.test>\"\noffline_inbox = \"inbox@natter.test\"\n",
            sink.url()
        ),
    )
    .await
    else {
        return;
    };
    let a = cluster.node().await;
    let b = cluster.node().await;
    let site = cluster.site(&a).await;
    for n in 0..30 {
        let node = if n % 2 == 0 { &a } else { &b };
        node.api(&cluster.token)
            .post(
                "/api/v1/widget/offline-messages",
                json!({"site": site, "visitor_id": uuid::Uuid::new_v4(), "name": format!("V{n}"),
                    "email": format!("v{n}@example.org"), "message": format!("question {n}")}),
            )
            .await
            .unwrap();
    }
    let mails = sink.wait_for("30 offline messages", 30).await;
    let ids: BTreeSet<&str> = mails
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), 30, "every mail sent once");
    let api = a.api(&cluster.token);
    wait_until("every mail recorded as sent", WAIT, || {
        let api = api.clone();
        async move {
            let list = api.get("/api/v1/mail/deliveries").await.unwrap();
            let items = list["items"].as_array().unwrap().clone();
            items.len() == 30 && items.iter().all(|d| d["state"] == "sent")
        }
    })
    .await;
    let list = api.get("/api/v1/mail/deliveries").await.unwrap();
    for mail in list["items"].as_array().unwrap() {
        assert_eq!(mail["attempts"], 1, "one attempt by one node: {mail}");
    }
    assert_eq!(sink.mails().len(), 30, "and nothing sent twice later");
}

#[tokio::test]
async fn a_visitor_whose_node_is_killed_resumes_on_the_other_and_nothing_is_doubled() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let a = cluster.node().await;
    let b = cluster.node().await;
    let site = cluster.site(&a).await;
    let (mut guest, welcome) = visitor(&a, &site, None, 0).await;
    let visitor_id = welcome["visitor_id"].as_str().unwrap().to_string();

    // The visitor streams without waiting for acks; A dies while they arrive.
    let sent: Vec<String> = (1..=40).map(|n| format!("m{n}")).collect();
    for body in &sent {
        guest
            .send(json!({"type": "message", "client_id": body, "body": body}))
            .await;
    }
    let first_ack = guest.expect("ack").await;
    let conversation = first_ack["conversation_id"].as_str().unwrap().to_string();
    a.kill();
    let mut acked = BTreeMap::new();
    acked.insert(
        first_ack["client_id"].as_str().unwrap().to_string(),
        first_ack["seq"].as_i64().unwrap(),
    );
    while let Some(frame) = guest.next().await {
        if frame["type"] == "ack" {
            acked.insert(
                frame["client_id"].as_str().unwrap().to_string(),
                frame["seq"].as_i64().unwrap(),
            );
        }
    }
    let last_seq = acked.values().copied().max().unwrap();

    // Reconnect to B from the last seq seen, and send again what was not acknowledged.
    let (mut guest, welcome) = visitor(&b, &site, Some(&visitor_id), last_seq).await;
    assert_eq!(welcome["conversation"]["id"], conversation.as_str());
    for body in &sent {
        guest
            .send(json!({"type": "message", "client_id": body, "body": body}))
            .await;
    }
    let mut answers = BTreeMap::new();
    while answers.len() < sent.len() {
        let ack = guest.expect("ack").await;
        answers.insert(
            ack["client_id"].as_str().unwrap().to_string(),
            (ack["seq"].as_i64().unwrap(), ack["duplicate"] == true),
        );
    }
    for (client_id, seq) in &acked {
        assert_eq!(
            answers[client_id],
            (*seq, true),
            "{client_id} was stored by A: B answers it as a duplicate with the same seq"
        );
    }

    let messages = stored(&b.api(&cluster.token), &conversation).await;
    let stored_bodies: Vec<String> = messages
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = stored_bodies.iter().collect();
    assert_eq!(unique.len(), stored_bodies.len(), "nothing stored twice");
    assert_eq!(stored_bodies.len(), sent.len(), "everything stored once");
    let seqs: Vec<i64> = messages
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "no gaps");
}

#[tokio::test]
async fn co_browsing_with_the_visitor_on_one_node_and_the_agent_on_another() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let a = cluster.node().await;
    let b = cluster.node().await;
    let site = cluster.site(&a).await;
    let (mut guest, _) = visitor(&a, &site, None, 0).await;
    guest
        .send(json!({"type": "message", "client_id": "help", "body": "help"}))
        .await;
    let conversation = guest.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let cookie = cluster.agent_cookie(&b, "mia").await;
    let mut mia = agent(&b, &cookie).await;

    // The session lives on B, where Mia asked; the visitor's frames reach it from A.
    mia.send(json!({"type": "cobrowse_request", "conversation_id": conversation}))
        .await;
    let request = guest.expect("cobrowse_request").await;
    let session = request["session_id"].as_str().unwrap().to_string();
    guest
        .send(json!({"type": "cobrowse_consent", "session_id": session, "granted": true}))
        .await;
    while mia.expect("cobrowse_state").await["status"] != "active" {}

    let secret = "hunter2-Secret!";
    let snapshot = json!({"type": 2, "timestamp": 1, "data": {"initialOffset": {"top": 0, "left": 0},
        "node": {"type": 0, "id": 1, "childNodes": [
            {"type": 2, "id": 2, "tagName": "input", "attributes": {"type": "password", "value": secret},
             "childNodes": []}]}}});
    let typed = json!({"type": 3, "timestamp": 2, "data": {"source": 5, "id": 2, "text": secret, "isChecked": false}});
    guest
        .send(
            json!({"type": "cobrowse_events", "session_id": session, "events": [snapshot, typed]}),
        )
        .await;
    let events = mia.expect("cobrowse_events").await;
    assert_eq!(events["events"].as_array().unwrap().len(), 2);
    assert!(
        !events.to_string().contains(secret),
        "B's filter masked the password: {events}"
    );

    // Control needs the visitor's grant, which the visitor gives on A and B checks.
    let click = json!({"type": "cobrowse_control", "conversation_id": conversation,
        "control": {"action": "click", "id": 2}});
    mia.send(click.clone()).await;
    assert_eq!(mia.expect("error").await["code"], "conflict");
    guest
        .send(json!({"type": "cobrowse_control_grant", "session_id": session, "granted": true}))
        .await;
    while mia.expect("cobrowse_state").await["control"] != true {}
    mia.send(click).await;
    let control = guest.expect("cobrowse_control").await;
    assert_eq!(control["action"], "click");

    guest
        .send(json!({"type": "cobrowse_end", "session_id": session}))
        .await;
    loop {
        let state = mia.expect("cobrowse_state").await;
        if state["status"] == "ended" {
            assert_eq!(state["reason"], "ended_by_visitor");
            break;
        }
    }
}

/// A `redis-server` of the test's own on a free port (the machine's Redis is shared: never stopped).
struct PrivateRedis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl PrivateRedis {
    async fn start(port: u16, dir: &Path) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test.sh installs it)");
        wait_until("private redis-server listens", WAIT, || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        Self {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL, as a crash would.
    fn stop(mut self) -> (u16, PathBuf) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        (self.port, self.dir.clone())
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn ready(node: &NatterProcess) -> bool {
    reqwest::get(format!("{}/readyz", node.base))
        .await
        .is_ok_and(|r| r.status().is_success())
}

#[tokio::test]
async fn redis_stopped_and_restarted_mid_conversation_loses_nothing() {
    if std::env::var(POSTGRES_ENV).is_err() {
        eprintln!("skipped: set {POSTGRES_ENV} to run the several-nodes tests");
        return;
    }
    let redis_dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = PrivateRedis::start(port, redis_dir.path()).await;
    let cluster = Cluster::on_redis(&redis.url(), "").await.unwrap();
    let a = cluster.node().await;
    let b = cluster.node().await;
    let site = cluster.site(&a).await;
    let (mut guest, _) = visitor(&a, &site, None, 0).await;
    let cookie = cluster.agent_cookie(&b, "linus").await;
    let mut linus = agent(&b, &cookie).await;
    guest
        .send(json!({"type": "message", "client_id": "before", "body": "before"}))
        .await;
    guest.expect("ack").await;
    let conversation = linus.expect_message("before").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();

    let (port, dir) = redis.stop();
    wait_until("A says the bus is down", WAIT, || async {
        !ready(&a).await
    })
    .await;
    // A keeps serving its own socket: messages are stored and acknowledged.
    let during: Vec<String> = (1..=5).map(|n| format!("during {n}")).collect();
    for body in &during {
        guest
            .send(json!({"type": "message", "client_id": body, "body": body}))
            .await;
        let ack = guest.expect("ack").await;
        assert_eq!(ack["client_id"], body.as_str());
    }

    let _redis = PrivateRedis::start(port, &dir).await;
    wait_until("both nodes ready again", WAIT, || async {
        ready(&a).await && ready(&b).await
    })
    .await;
    // B's agent catches up from storage: what A stored while Redis was away, once and in order.
    let caught_up = messages_until(&mut linus, "during 5").await;
    assert_eq!(bodies(&caught_up), during);
    // And live events cross again, both ways.
    guest
        .send(json!({"type": "message", "client_id": "after", "body": "after"}))
        .await;
    linus.expect_message("after").await;
    linus
        .send(json!({"type": "message", "conversation_id": conversation,
            "client_id": "reply", "body": "reply"}))
        .await;
    guest.expect_message("reply").await;

    let all = stored(&a.api(&cluster.token), &conversation).await;
    assert_eq!(
        bodies(&all),
        [
            "before", "during 1", "during 2", "during 3", "during 4", "during 5", "after", "reply"
        ]
    );
}

#[tokio::test]
async fn a_redis_bus_with_sqlite_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("natter.db").display()
    );
    let (status, log) = refused(
        natter(),
        dir.path(),
        &sqlite,
        "[bus]\nurl = \"redis://127.0.0.1:6379\"\n",
        WAIT,
    )
    .await;
    assert!(!status.success());
    assert!(
        log.contains("SQLite, which serves one node only"),
        "the refusal says why: {log}"
    );
}

#[tokio::test]
async fn an_unreachable_redis_at_start_is_an_error_after_the_configured_wait() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there; the database is never reached, since the bus comes first.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (status, log) = refused(
        natter(),
        dir.path(),
        "postgres://postgres@127.0.0.1:5432/natter_never_used",
        &format!("[bus]\nurl = \"redis://127.0.0.1:{port}\"\nconnect_timeout_seconds = 1\n"),
        WAIT,
    )
    .await;
    assert!(!status.success());
    assert!(
        log.contains(&format!("cannot reach Redis at redis://127.0.0.1:{port}")),
        "the error names Redis and where: {log}"
    );
}
