//! Crash safety of webhook delivery, against the real `natter` binary: SIGKILL it while visitors
//! write and events flow, start it again on the same database, and every committed message's event
//! arrives at least once, with a stable `webhook-id`, in order per conversation.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

use natter_tests::process::{NatterProcess, admin_token};
use natter_tests::receiver::{Received, Receiver};
use natter_tests::{Api, Ws};
use serde_json::{Value, json};

const VISITORS: usize = 3;
const MESSAGES_EACH: usize = 20;
const WAIT: Duration = Duration::from_secs(60);

const CONFIG: &str = r#"
[chat]
messages_per_minute = 1000

[delivery]
allow_private_targets = true
request_timeout_seconds = 2
backoff_base_ms = 20
backoff_cap_ms = 200
poll_interval_ms = 20
"#;

fn natter() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_natter"))
}

/// Every stored message as (conversation id, seq), read back through the REST API.
async fn stored_messages(api: &Api) -> BTreeSet<(String, i64)> {
    let page = api.get("/api/v1/conversations?limit=200").await.unwrap();
    let mut out = BTreeSet::new();
    for conversation in page["items"].as_array().unwrap() {
        let id = conversation["id"].as_str().unwrap();
        let full = api
            .get(&format!("/api/v1/conversations/{id}"))
            .await
            .unwrap();
        for m in full["messages"].as_array().unwrap() {
            out.insert((id.to_string(), m["seq"].as_i64().unwrap()));
        }
    }
    out
}

fn delivered_messages(received: &[Received]) -> BTreeSet<(String, i64)> {
    received
        .iter()
        .filter(|r| r.event_type() == "message.created")
        .map(|r| {
            let data = &r.body["data"];
            (
                data["conversationId"].as_str().unwrap().to_string(),
                data["message"]["seq"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn sigkill_while_events_flow_loses_no_committed_event() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let receiver = Receiver::start().await;
    let token = admin_token(natter(), dir);

    let first = NatterProcess::start(natter(), dir, CONFIG).await;
    let admin = first.api(&token);
    let endpoint = admin
        .post(
            "/api/v1/webhooks",
            json!({"url": receiver.url, "events": ["conversation.started", "message.created"]}),
        )
        .await
        .unwrap();
    receiver.set_secret(endpoint["secret"].as_str().unwrap());
    let site = admin.get("/api/v1/sites").await.unwrap()[0]["key"]
        .as_str()
        .unwrap()
        .to_string();

    // Visitors write without waiting for acks, so the kill lands while messages are being stored
    // and events delivered.
    let mut sockets = Vec::new();
    for v in 0..VISITORS {
        let url = format!("{}/ws/visitor?site={site}", first.ws_base());
        let mut ws = Ws::connect(&url, None).await.unwrap();
        ws.send(json!({"type": "hello", "v": 1, "visitor_id": null,
            "page": {"url": "http://shop.test/", "title": "Shop", "referrer": ""}}))
            .await;
        ws.expect("welcome").await;
        for n in 0..MESSAGES_EACH {
            let id = format!("v{v}-{n}");
            ws.send(json!({"type": "message", "client_id": id, "body": id}))
                .await;
        }
        sockets.push(ws);
    }
    receiver
        .wait_for("the first events", WAIT, |r| r.len() >= 5)
        .await;
    first.kill();

    // What the visitors were told was stored before the process died.
    let mut acked = BTreeSet::new();
    for mut ws in sockets {
        while let Some(frame) = ws.next().await {
            if frame["type"] == "ack" {
                acked.insert((
                    frame["conversation_id"].as_str().unwrap().to_string(),
                    frame["seq"].as_i64().unwrap(),
                ));
            }
        }
    }
    assert!(!acked.is_empty(), "messages were stored before the kill");

    let second = NatterProcess::start(natter(), dir, CONFIG).await;
    let admin = second.api(&token);
    let stored = stored_messages(&admin).await;
    assert!(acked.is_subset(&stored), "acknowledged means committed");
    let delivered = receiver
        .wait_for("every committed message's event", WAIT, |r| {
            delivered_messages(r) == stored
        })
        .await;

    // Every request verifies; a webhook-id always carries the same bytes, so duplicates can go.
    let all = receiver.received();
    assert!(all.iter().all(|r| r.verified));
    let mut bodies: HashMap<&str, &str> = HashMap::new();
    for r in &all {
        let first_seen = bodies.entry(&r.id).or_insert(&r.raw);
        assert_eq!(*first_seen, r.raw, "webhook-id {} is stable", r.id);
    }

    // Per conversation, first deliveries come in order: started, then seq 1, 2, 3… without gaps.
    let mut per_conversation: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in &delivered {
        let conversation = r.body["data"]["conversationId"].as_str().unwrap();
        let step = match r.event_type() {
            "conversation.started" => json!(0),
            _ => r.body["data"]["message"]["seq"].clone(),
        };
        per_conversation
            .entry(conversation.to_string())
            .or_default()
            .push(step);
    }
    assert_eq!(
        per_conversation.len(),
        VISITORS,
        "one conversation per visitor"
    );
    for (conversation, steps) in &per_conversation {
        let expected: Vec<Value> = (0..steps.len()).map(|i| json!(i)).collect();
        assert_eq!(steps, &expected, "order in {conversation}");
    }
}
