//! `POST /api/v1/mail/test`, the console's "send test mail", against a real SMTP server on
//! 127.0.0.1 (aiosmtpd, `tests/smtp_sink.py`): the mail goes through the outbox like every other,
//! so it is logged with its attempts, retried while SMTP is down, and refused without mail.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::time::Duration;

use natter_core::domain::scope::Scope;
use natter_tests::smtp::SmtpSink;
use natter_tests::{Api, DataDir, TestServer, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MAIL_WAIT: Duration = Duration::from_secs(30);

async fn server_with(sink: &SmtpSink) -> TestServer {
    let url = sink.url();
    TestServer::start_with(&DataDir::new(), |c| {
        c.mail.smtp_url = url;
        c.mail.from = "Natter <chat@natter.test>".into();
        c.mail.offline_inbox = "inbox@natter.test".into();
        c.delivery.backoff_base_ms = 20;
        c.delivery.backoff_cap_ms = 200;
        c.delivery.poll_interval_ms = 20;
    })
    .await
}

async fn send_test(api: &Api, body: Value) -> (StatusCode, Value) {
    api.send("POST", "/api/v1/mail/test", Some(body))
        .await
        .unwrap()
}

/// The mail with this id in the delivery log.
async fn logged(api: &Api, id: &str) -> Option<Value> {
    let page = api.get("/api/v1/mail/deliveries").await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
}

#[tokio::test]
async fn a_test_mail_is_queued_sent_and_logged_with_its_attempt() {
    let sink = SmtpSink::start().await;
    let server = server_with(&sink).await;
    let api = &server.admin().await;

    let (status, body) = send_test(api, json!({"to": " ops@example.org "})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["mail_id"].as_str().unwrap().to_string();

    let mails = sink.wait_for("the test mail arrives", 1).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.rcpt_tos, ["ops@example.org"]);
    assert_eq!(mail.header("Subject"), Some("Natter test mail"));
    let text = mail.text.as_deref().unwrap();
    assert!(text.contains(&server.base), "names the server: {text}");

    let id_ref = id.as_str();
    wait_until(
        "the log shows the test mail sent",
        MAIL_WAIT,
        || async move {
            logged(api, id_ref)
                .await
                .is_some_and(|m| m["state"] == "sent")
        },
    )
    .await;
    let entry = logged(api, &id).await.unwrap();
    assert_eq!(entry["kind"], "test");
    assert_eq!(entry["to"], "ops@example.org");
    assert_eq!(entry["subject"], "Natter test mail");
    assert_eq!(entry["attempts"], 1);
    assert_eq!(entry["last_code"], 250);
    assert!(
        mail.header("Message-ID")
            .unwrap()
            .contains(entry["message_id"].as_str().unwrap()),
        "the log's Message-ID is the mail's: {entry}"
    );
    let attempts = api
        .get(&format!("/api/v1/mail/deliveries/{id}/attempts"))
        .await
        .unwrap();
    let attempts = attempts["items"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["outcome"], "sent");
    assert_eq!(attempts[0]["code"], 250);
    server.stop().await;
}

#[tokio::test]
async fn a_test_mail_while_smtp_is_down_is_retried_and_arrives_once() {
    let mut sink = SmtpSink::start().await;
    let server = server_with(&sink).await;
    let api = &server.admin().await;
    sink.stop().await;

    let (status, body) = send_test(api, json!({"to": "ops@example.org"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["mail_id"].as_str().unwrap().to_string();
    let id_ref = id.as_str();
    wait_until(
        "the test mail failed once and waits for a retry",
        MAIL_WAIT,
        || async move {
            logged(api, id_ref)
                .await
                .is_some_and(|m| m["state"] == "retrying" && m["last_error"].is_string())
        },
    )
    .await;
    let attempts = api
        .get(&format!("/api/v1/mail/deliveries/{id}/attempts"))
        .await
        .unwrap();
    let first = &attempts["items"][0];
    assert_eq!(first["outcome"], "retry", "{attempts}");
    assert!(first["error"].is_string(), "{attempts}");

    sink.restart().await;
    wait_until("the test mail is sent", MAIL_WAIT, || async move {
        logged(api, id_ref)
            .await
            .is_some_and(|m| m["state"] == "sent")
    })
    .await;
    assert_eq!(sink.mails().len(), 1, "once");
    server.stop().await;
}

#[tokio::test]
async fn a_bad_address_is_refused_naming_the_field_and_nothing_is_queued() {
    let sink = SmtpSink::start().await;
    let server = server_with(&sink).await;
    let api = &server.admin().await;
    for to in [
        "",
        "not an address",
        "a@example.org, b@example.org",
        "ops@example.org\r\nBcc: x@example.org",
    ] {
        let (status, body) = send_test(api, json!({ "to": to })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{to:?}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed", "{body}");
        assert_eq!(body["error"]["field"], "to", "{body}");
    }
    for bad in [
        json!({}),
        json!({"to": "ops@example.org", "cc": "x@example.org"}),
    ] {
        let (status, body) = send_test(api, bad.clone()).await;
        assert!(status.is_client_error(), "{bad}: {status} {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    let page = api.get("/api/v1/mail/deliveries").await.unwrap();
    assert_eq!(page["items"], json!([]), "nothing was queued");
    assert!(sink.mails().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn only_an_admin_may_send_a_test_mail() {
    let sink = SmtpSink::start().await;
    let server = server_with(&sink).await;
    let reader = server.admin().await.with_token(
        &server
            .token(&[Scope::ConversationsRead, Scope::ConversationsWrite])
            .await,
    );
    let (status, body) = send_test(&reader, json!({"to": "ops@example.org"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let anonymous = reader.with_token("");
    let (status, body) = send_test(&anonymous, json!({"to": "ops@example.org"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let page = reader.get("/api/v1/mail/deliveries").await.unwrap();
    assert_eq!(page["items"], json!([]), "nothing was queued");
    server.stop().await;
}

#[tokio::test]
async fn without_mail_configured_the_test_mail_says_so() {
    let server = TestServer::start().await;
    let api = &server.admin().await;
    let (status, body) = send_test(api, json!({"to": "ops@example.org"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "mail_disabled");
    let doc = reqwest::get(server.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let operation = &doc["paths"]["/api/v1/mail/test"]["post"];
    for status in ["202", "401", "403", "422", "503"] {
        assert!(
            operation["responses"][status].is_object(),
            "{status} documented"
        );
    }
    server.stop().await;
}
