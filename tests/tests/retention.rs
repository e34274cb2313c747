//! The retention pass through the real server: finished webhook deliveries and sent mails older than
//! `[delivery] retention_days` disappear with their events, while a delivery still retrying, an event a
//! plugin has not been handed yet, and anything newer stay. Age is the server's (manual) clock.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::time::Duration;

use natter_core::store::{PluginCursor, Store};
use natter_tests::receiver::Receiver;
use natter_tests::smtp::SmtpSink;
use natter_tests::{Api, DataDir, TestServer, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// An endpoint's deliveries as (message body, state), sorted.
async fn deliveries_of(api: &Api, endpoint: &Value) -> Vec<(String, String)> {
    let id = endpoint["id"].as_str().unwrap();
    let mut log: Vec<(String, String)> = api
        .get(&format!("/api/v1/webhooks/{id}/deliveries"))
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["payload"]["data"]["message"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                d["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    log.sort();
    log
}

async fn bodies(api: &Api, endpoint: &Value) -> Vec<String> {
    deliveries_of(api, endpoint)
        .await
        .into_iter()
        .map(|(body, _)| body)
        .collect()
}

async fn mail_count(api: &Api) -> usize {
    api.get("/api/v1/mail/deliveries").await.unwrap()["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn event_bodies(store: &Store) -> Vec<String> {
    store
        .events_after(0, 1000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event_type == "message.created")
        .map(|e| {
            let envelope: Value = serde_json::from_str(&e.envelope).unwrap();
            envelope["data"]["message"]["body"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn pair(body: &str, state: &str) -> (String, String) {
    (body.to_string(), state.to_string())
}

#[tokio::test]
async fn finished_and_old_goes_while_open_unhanded_and_new_stays() {
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let server = TestServer::start_with(&DataDir::new(), |c| {
        c.mail.smtp_url = smtp;
        c.mail.from = "Natter <chat@natter.test>".into();
        c.mail.offline_inbox = "inbox@natter.test".into();
        c.delivery.allow_private_targets = true;
        c.delivery.poll_interval_ms = 20;
        c.delivery.backoff_base_ms = 20;
        c.delivery.backoff_cap_ms = 100;
        c.delivery.retention_days = 1;
        c.delivery.prune_interval_seconds = 1;
    })
    .await;
    let api = server.admin().await;
    let store = Store::connect(&server.database_url).await.unwrap();
    let up = Receiver::start().await;
    let up_endpoint = up.subscribe(&api, &["message.created"]).await;
    let down = Receiver::start().await;
    down.answer_always(Some(500));
    let down_endpoint = down.subscribe(&api, &["message.created"]).await;

    // Old: one message (delivered to one endpoint, retrying at the other) and one mailed offline form.
    let site = server.site_key().await;
    let (mut visitor, _) = server.visitor(&site, None, None).await;
    visitor
        .send(json!({"type": "message", "client_id": "old", "body": "old"}))
        .await;
    visitor.expect("ack").await;
    let (status, body) = api
        .send(
            "POST",
            "/api/v1/widget/offline-messages",
            Some(
                json!({"site": site, "visitor_id": uuid::Uuid::new_v4().to_string(),
                "name": "Ada", "email": "ada@example.com", "message": "old form"}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 202, "{body}");
    sink.wait_for("the offline mail", 1).await;
    wait_until("the old deliveries settle", WAIT, || {
        let api = api.clone();
        let up_endpoint = up_endpoint.clone();
        async move {
            let mails = api.get("/api/v1/mail/deliveries").await.unwrap();
            deliveries_of(&api, &up_endpoint)
                .await
                .contains(&pair("old", "delivered"))
                && mails["items"][0]["state"] == "sent"
        }
    })
    .await;
    // A plugin that has not been handed anything yet holds every event.
    store
        .set_plugin_cursor(
            "slow-plugin",
            &PluginCursor {
                last_seq: 0,
                attempts: 0,
            },
            None,
        )
        .await
        .unwrap();

    // Two days later, something new. (Its delivery waits: the worker's clock is the system's, and
    // this one is due two days ahead of it. Only its presence matters here.)
    server.clock.advance(chrono::Duration::days(2));
    visitor
        .send(json!({"type": "message", "client_id": "new", "body": "new"}))
        .await;
    visitor.expect("ack").await;

    wait_until(
        "the old finished delivery and mail are pruned",
        WAIT,
        || {
            let api = api.clone();
            let up_endpoint = up_endpoint.clone();
            async move {
                bodies(&api, &up_endpoint).await == ["new"]
                    && mail_count(&api).await == 0
            }
        },
    )
    .await;
    let retrying = deliveries_of(&api, &down_endpoint).await;
    assert!(
        retrying.iter().any(|(body, _)| body == "old"),
        "a delivery still retrying stays, whatever its age: {retrying:?}"
    );
    assert!(
        event_bodies(&store).await.contains(&"old".to_string()),
        "its event stays"
    );

    // Once the receiver is back, the old deliveries finish and go; their events stay for the plugin
    // that has not been handed them, until it moves on.
    down.answer_always(None);
    wait_until(
        "the old deliveries at the endpoint that was down finish and go",
        WAIT,
        || {
            let api = api.clone();
            let down_endpoint = down_endpoint.clone();
            async move { bodies(&api, &down_endpoint).await == ["new"] }
        },
    )
    .await;
    assert!(
        down.delivered()
            .iter()
            .any(|r| r.body["data"]["message"]["body"] == "old"),
        "delivered before it went"
    );
    assert!(
        event_bodies(&store).await.contains(&"old".to_string()),
        "the plugin's cursor still holds the old event"
    );
    let newest = store
        .events_after(0, 1000)
        .await
        .unwrap()
        .last()
        .unwrap()
        .seq;
    store
        .set_plugin_cursor(
            "slow-plugin",
            &PluginCursor {
                last_seq: newest,
                attempts: 0,
            },
            None,
        )
        .await
        .unwrap();
    wait_until("the old events are pruned", WAIT, || {
        let store = store.clone();
        async move { event_bodies(&store).await == ["new"] }
    })
    .await;
    server.stop().await;
}
