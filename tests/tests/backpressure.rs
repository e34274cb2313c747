//! Back-pressure on the sockets: a sender past the rate limit is told so per message and loses
//! nothing it was acknowledged for; a client that stops reading is closed with the documented code
//! and resumes from its last `seq` without a gap.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use natter_core::ws::connection::{SEND_QUEUE_BYTES, SLOW_READER_CODE, SLOW_READER_REASON};
use natter_tests::{DataDir, TestServer, WAIT, Ws, wait_until};
use serde_json::{Value, json};

/// The answer (`ack` or `error`) to each `client_id`, read until every one has one.
async fn answers(ws: &mut Ws, client_ids: &[String]) -> HashMap<String, Value> {
    let mut answers = HashMap::new();
    while answers.len() < client_ids.len() {
        let frame = ws.next().await.expect("socket open while answers are due");
        if !matches!(frame["type"].as_str(), Some("ack" | "error")) {
            continue;
        }
        let id = frame["client_id"]
            .as_str()
            .expect("answer names its client_id");
        assert!(
            answers.insert(id.to_string(), frame.clone()).is_none(),
            "{id} answered twice"
        );
    }
    answers
}

fn burst(ids: std::ops::Range<usize>) -> Vec<String> {
    ids.map(|i| format!("burst-{i}")).collect()
}

#[tokio::test]
async fn a_burst_past_the_rate_limit_is_refused_per_message_and_resent_messages_are_stored_once() {
    let server = TestServer::start_with(&DataDir::new(), |config| {
        config.chat.messages_per_minute = 20;
    })
    .await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let (mut visitor, welcome) = server.visitor(&site, None, None).await;
    let visitor_id = welcome["visitor_id"].as_str().unwrap().to_string();

    // 30 back to back, without waiting for answers.
    let ids = burst(0..30);
    for id in &ids {
        visitor
            .send(json!({"type": "message", "client_id": id, "body": format!("text of {id}")}))
            .await;
    }
    let first = answers(&mut visitor, &ids).await;
    let acked: Vec<&String> = ids
        .iter()
        .filter(|id| first[*id]["type"] == "ack")
        .collect();
    let refused: Vec<&String> = ids
        .iter()
        .filter(|id| first[*id]["type"] == "error")
        .collect();
    assert_eq!(acked.len(), 20, "the limit's worth is stored");
    assert_eq!(refused.len(), 10, "the rest is refused, one frame each");
    for id in &refused {
        assert_eq!(first[*id]["code"], "rate_limited");
    }
    let conversation_id = first[acked[0]]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    visitor.close().await;

    // After a reconnect the client resends what was refused, plus five messages whose acks it
    // never read: those are stored once and acknowledged as duplicates.
    let (mut again, _) = server.visitor(&site, Some(&visitor_id), Some(20)).await;
    let resend: Vec<String> = refused
        .iter()
        .map(|id| (*id).clone())
        .chain(acked.iter().take(5).map(|id| (*id).clone()))
        .collect();
    for id in &resend {
        again
            .send(json!({"type": "message", "client_id": id, "body": format!("text of {id}")}))
            .await;
    }
    let second = answers(&mut again, &resend).await;
    for id in &resend {
        assert_eq!(second[id]["type"], "ack", "{id}: {}", second[id]);
        let was_stored = first[id]["type"] == "ack";
        assert_eq!(second[id]["duplicate"], was_stored, "{id}");
        if was_stored {
            assert_eq!(second[id]["seq"], first[id]["seq"], "{id} keeps its seq");
        }
    }
    again.close().await;

    let stored = api
        .get(&format!("/api/v1/conversations/{conversation_id}"))
        .await
        .unwrap();
    let messages = stored["messages"].as_array().unwrap();
    let client_ids: Vec<&str> = messages
        .iter()
        .map(|m| m["client_id"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = client_ids.iter().copied().collect();
    assert_eq!(client_ids.len(), 30, "every message stored");
    assert_eq!(unique.len(), 30, "and each once");
    let seqs: Vec<i64> = messages
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=30).collect::<Vec<_>>());
    server.stop().await;
}

/// The most bytes the kernel may hold for one TCP connection on the way out (`tcp_wmem`'s
/// maximum), so a test knows how much it must send before the server's own queue fills.
fn kernel_send_buffer_max() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|text| text.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(16 * 1024 * 1024)
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_and_resumes_without_a_gap() {
    const BODY_CHARS: usize = 60_000;
    let server = TestServer::start_with(&DataDir::new(), |config| {
        config.chat.max_message_chars = BODY_CHARS;
    })
    .await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let url = format!("{}/ws/visitor?site={site}", server.ws_base);
    let mut visitor = Ws::connect_with_receive_buffer(&url, 4096).await.unwrap();
    visitor
        .send(json!({"type": "hello", "v": 1, "visitor_id": null,
            "page": {"url": "http://shop.test/", "title": "Shop", "referrer": ""}}))
        .await;
    let visitor_id = visitor.expect("welcome").await["visitor_id"]
        .as_str()
        .unwrap()
        .to_string();
    visitor
        .send(json!({"type": "message", "client_id": "first", "body": "hello?"}))
        .await;
    let conversation_id = visitor.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (agent_id, cookie) = server.agent_session(&api, "ann", &conversation_id).await;

    // The visitor reads nothing more while the agent writes more than the kernel's buffers and
    // the server's queue hold together.
    let body = "x".repeat(BODY_CHARS);
    let needed = kernel_send_buffer_max() + SEND_QUEUE_BYTES + 2 * 1024 * 1024;
    let mut written = 0;
    let mut sent = 0_i64;
    while written < needed {
        api.post(
            &format!("/api/v1/conversations/{conversation_id}/messages"),
            json!({"agent_id": agent_id, "body": body}),
        )
        .await
        .unwrap();
        written += BODY_CHARS;
        sent += 1;
    }
    let last_seq = 1 + sent;

    // The server gives up on the visitor (it is no longer online for agents) ...
    let client = reqwest::Client::new();
    let details = server.url(&format!("/agent/api/visitors/{visitor_id}"));
    wait_until(
        "the slow visitor is let go",
        Duration::from_secs(60),
        || {
            let request = client.get(&details).header("cookie", &cookie);
            async move {
                let Ok(response) = request.send().await else {
                    return false;
                };
                let body: Value = response.json().await.unwrap_or_default();
                body["online"] == false
            }
        },
    )
    .await;

    // ... and what the visitor reads when it looks again ends with the documented close.
    let (frames, close) = visitor.until_close().await;
    assert_eq!(
        close,
        Some((SLOW_READER_CODE, SLOW_READER_REASON.to_string())),
        "closed with the documented code and reason"
    );
    let seen = frames
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["seq"].as_i64().unwrap())
        .max()
        .unwrap_or(0);
    assert!(
        seen < last_seq,
        "the visitor was closed before it had everything"
    );

    // Resuming from the last seq it saw gives exactly the rest, in order.
    let (mut resumed, welcome) = server.visitor(&site, Some(&visitor_id), Some(seen)).await;
    assert_eq!(welcome["conversation"]["id"], conversation_id.as_str());
    let mut expected = seen + 1;
    while expected <= last_seq {
        let frame = tokio::time::timeout(WAIT, resumed.expect("message"))
            .await
            .expect("the rest within the wait");
        assert_eq!(frame["seq"], expected, "no gap and no repeat");
        expected += 1;
    }
    resumed.close().await;
    server.stop().await;
}

#[tokio::test]
async fn a_visitor_whose_own_topic_overflows_refills_its_messages_from_storage() {
    use std::sync::Arc;

    use natter_core::bus::{Bus, MemoryBus};
    use natter_core::domain::events::{Author, RealtimeEvent, Topic};
    use natter_core::domain::ids::{ConversationId, VisitorId};
    use natter_core::domain::model::AuthorKind;
    use natter_core::store::{NewMessage, Store};

    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new());
    let server = TestServer::start_on_bus(bus.clone()).await;
    let site = server.site_key().await;
    let (mut visitor, welcome) = server.visitor(&site, None, None).await;
    let visitor_id = VisitorId(welcome["visitor_id"].as_str().unwrap().parse().unwrap());
    visitor
        .send(json!({"type": "message", "client_id": "first", "body": "hello"}))
        .await;
    let ack = answers(&mut visitor, &["first".to_string()]).await["first"].clone();
    let conversation = ConversationId(ack["conversation_id"].as_str().unwrap().parse().unwrap());

    // A reply stored, and its event published with 40 typing events behind it in one go (nothing
    // runs in between on this test's one thread): the visitor's topic holds fewer, so the reply's
    // event is overwritten before the socket reads it.
    let store = Store::connect(&server.database_url).await.unwrap();
    let reply = NewMessage {
        author_kind: AuthorKind::System,
        author_id: None,
        author_name: None,
        body: "a reply whose event was lost".into(),
        client_id: None,
    };
    let stored = store
        .append_message(conversation, reply, None, chrono::Utc::now())
        .await
        .unwrap()
        .expect("the conversation is open");
    bus.publish(
        Topic::Visitor(visitor_id),
        RealtimeEvent::Message(stored.message.clone()),
    );
    let typing = 40;
    for _ in 0..typing {
        let author = Author {
            kind: AuthorKind::Agent,
            id: None,
            name: None,
        };
        bus.publish(
            Topic::Visitor(visitor_id),
            RealtimeEvent::Typing {
                conversation_id: conversation,
                author,
                active: true,
            },
        );
    }

    // The socket fell behind, filled from storage, and stays open. (Its own first message comes
    // back to it as well, as seq 1.)
    let mut typing_frames = 0;
    let message = loop {
        let frame = visitor.next().await.expect("the socket stays open");
        match frame["type"].as_str() {
            Some("typing") => typing_frames += 1,
            Some("message") if frame["seq"] != 1 => break frame,
            _ => {}
        }
    };
    assert_eq!(message["seq"], 2);
    assert_eq!(message["body"], "a reply whose event was lost");
    visitor
        .send(json!({"type": "message", "client_id": "after", "body": "still here"}))
        .await;
    let mut seen_after = Vec::new();
    let after = loop {
        let frame = visitor.next().await.expect("the socket stays open");
        match frame["type"].as_str() {
            Some("typing") => typing_frames += 1,
            Some("ack") => break frame,
            _ => seen_after.push(frame),
        }
    };
    assert_eq!(after["seq"], 3);
    assert!(
        !seen_after
            .iter()
            .any(|f| f["type"] == "message" && f["seq"] == 2),
        "the reply came once: {seen_after:?}"
    );
    assert!(
        typing_frames < typing,
        "the topic overflowed (else this test shows nothing): {typing_frames} typing frames"
    );
    server.stop().await;
}
