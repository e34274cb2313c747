//! Mail end to end, against a real SMTP server on 127.0.0.1 (aiosmtpd, `tests/smtp_sink.py`): the
//! offline form, transcripts, agent notifications with their one-time link, retries while the SMTP
//! server is down, giving up on 5xx, and the input the form refuses.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::time::Duration;

use natter_core::config::Config;
use natter_tests::smtp::{ReceivedMail, SmtpSink};
use natter_tests::{Api, DataDir, TestServer, open_link, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MAIL_WAIT: Duration = Duration::from_secs(30);
const INBOX: &str = "inbox@natter.test";

async fn server_with(sink: &SmtpSink, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let url = sink.url();
    TestServer::start_with(&DataDir::new(), |c| {
        c.mail.smtp_url = url;
        c.mail.from = "Natter <chat@natter.test>".into();
        c.mail.offline_inbox = INBOX.into();
        c.delivery.backoff_base_ms = 20;
        c.delivery.backoff_cap_ms = 200;
        c.delivery.poll_interval_ms = 20;
        tweak(c);
    })
    .await
}

fn visitor_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn offline(
    api: &Api,
    site: &str,
    visitor: &str,
    name: &str,
    email: &str,
    message: &str,
) -> (StatusCode, Value) {
    api.send(
        "POST",
        "/api/v1/widget/offline-messages",
        Some(
            json!({"site": site, "visitor_id": visitor, "name": name, "email": email,
            "message": message, "page_url": "https://shop.test/pricing"}),
        ),
    )
    .await
    .unwrap()
}

async fn deliveries(api: &Api) -> Vec<Value> {
    api.get("/api/v1/mail/deliveries").await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn to(mails: &[ReceivedMail], address: &str) -> Vec<ReceivedMail> {
    mails
        .iter()
        .filter(|m| m.rcpt_tos.iter().any(|r| r == address))
        .cloned()
        .collect()
}

#[tokio::test]
async fn offline_form_is_stored_and_mailed_to_the_inbox_with_reply_to_the_visitor() {
    let sink = SmtpSink::start().await;
    let server = server_with(&sink, |_| {}).await;
    let api = &server.admin().await;
    let site = server.site_key().await;
    let visitor = visitor_id();
    let (status, body) = offline(
        api,
        &site,
        &visitor,
        "Ada Lovelace",
        "ada@example.org",
        "Do you ship to Mars?",
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let conversation = body["conversation_id"].as_str().unwrap().to_string();

    // Stored as a conversation like any other.
    let stored = api
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await
        .unwrap();
    assert_eq!(stored["messages"][0]["body"], "Do you ship to Mars?");
    assert_eq!(stored["conversation"]["visitor_id"], visitor.as_str());

    let mails = sink
        .wait_for("the offline message reaches the inbox", 1)
        .await;
    let mail = &to(&mails, INBOX)[0];
    assert_eq!(mail.header("Reply-To"), Some("ada@example.org"));
    assert!(mail.header("Subject").unwrap().contains("Ada Lovelace"));
    let text = mail.text.as_deref().unwrap();
    assert!(text.contains("Do you ship to Mars?"), "{text}");
    assert!(text.contains("https://shop.test/pricing"), "{text}");
    assert!(
        text.contains(&format!(
            "{}/agent/#conversation={conversation}",
            server.base
        )),
        "{text}"
    );

    // The delivery log shows it sent, with the Message-ID the mail carried.
    wait_until(
        "the delivery is recorded as sent",
        MAIL_WAIT,
        || async move {
            deliveries(api)
                .await
                .first()
                .is_some_and(|d| d["state"] == "sent")
        },
    )
    .await;
    let sent = deliveries(api).await;
    let delivery = &sent[0];
    assert_eq!(delivery["kind"], "offline_message");
    assert_eq!(delivery["to"], INBOX);
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["last_code"], 250);
    let message_id = mail.header("Message-ID").unwrap();
    assert_eq!(
        message_id,
        format!("<{}@natter.test>", delivery["message_id"].as_str().unwrap())
    );
    server.stop().await;
}

#[tokio::test]
async fn transcript_holds_every_message_and_escapes_them_in_html() {
    let sink = SmtpSink::start().await;
    let server = server_with(&sink, |_| {}).await;
    let api = &server.admin().await;
    let site = server.site_key().await;
    let visitor = visitor_id();
    let (_, body) = offline(
        api,
        &site,
        &visitor,
        "Mallory",
        "mallory@example.org",
        "<script>alert('x')</script>",
    )
    .await;
    let conversation = body["conversation_id"].as_str().unwrap().to_string();
    let agent = api.create_agent("ines").await;
    api.post(
        &format!("/api/v1/conversations/{conversation}/messages"),
        json!({"agent_id": agent, "body": "We answer every message & <b>tag</b>."}),
    )
    .await
    .unwrap();

    let queued = api
        .post(
            &format!("/api/v1/conversations/{conversation}/transcript"),
            json!({}),
        )
        .await
        .unwrap();
    assert!(queued["mail_id"].is_string());
    let mails = sink.wait_for("the transcript arrives", 2).await;
    let transcript = &to(&mails, "mallory@example.org")[0];
    let text = transcript.text.as_deref().unwrap();
    assert!(text.contains("<script>alert('x')</script>"), "{text}");
    assert!(
        text.contains("We answer every message & <b>tag</b>."),
        "{text}"
    );
    let html = transcript.html.as_deref().unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("&lt;b&gt;tag&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<b>tag</b>"), "{html}");

    // The visitor may ask for their own transcript; another visitor may not, whatever the id.
    let (status, answer) = api
        .send(
            "POST",
            "/api/v1/widget/transcripts",
            Some(json!({"site": site, "visitor_id": visitor, "conversation_id": conversation})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let (status, answer) = api
        .send(
            "POST",
            "/api/v1/widget/transcripts",
            Some(
                json!({"site": site, "visitor_id": visitor_id(), "conversation_id": conversation}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(answer["error"]["code"], "not_found");
    let mails = sink.wait_for("the visitor's transcript arrives", 3).await;
    assert_eq!(to(&mails, "mallory@example.org").len(), 2);
    server.stop().await;
}

async fn ask_transcript(api: &Api, body: Value) -> (StatusCode, Value) {
    api.send("POST", "/api/v1/widget/transcripts", Some(body))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_visitor_gives_an_address_once_and_the_transcript_goes_only_there() {
    let sink = SmtpSink::start().await;
    let server = server_with(&sink, |c| c.mail.offline_per_visitor_per_hour = 2).await;
    let api = &server.admin().await;
    let site = server.site_key().await;
    // A conversation started in the chat: no address yet.
    let (mut ws, welcome) = server.visitor(&site, None, None).await;
    let visitor = welcome["visitor_id"].as_str().unwrap().to_string();
    ws.send(json!({"type": "message", "body": "Where is my parcel?", "client_id": "p-1"}))
        .await;
    let conversation = ws.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let request = |email: Option<&str>| {
        let mut body = json!({"site": site, "visitor_id": visitor, "conversation_id": conversation,
            "language": "en"});
        if let Some(email) = email {
            body["email"] = json!(email);
        }
        body
    };

    let (status, body) = ask_transcript(api, request(None)).await;
    assert_eq!(status, StatusCode::CONFLICT, "no address given yet: {body}");
    let (status, body) = ask_transcript(api, request(Some("not an address"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "email");

    // The first address given becomes the conversation's.
    let (status, body) = ask_transcript(api, request(Some("sam@example.org"))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // After that, the form cannot send to any other address.
    let (status, body) = ask_transcript(api, request(Some("eve@example.org"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "email");
    // Another visitor cannot use the conversation, whatever address they name.
    let (status, body) = ask_transcript(
        api,
        json!({"site": site, "visitor_id": visitor_id(), "conversation_id": conversation,
            "email": "eve@example.org"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    // The address is recorded: the integrator's route finds it too.
    let queued = api
        .post(
            &format!("/api/v1/conversations/{conversation}/transcript"),
            json!({}),
        )
        .await
        .unwrap();
    assert!(queued["mail_id"].is_string(), "{queued}");
    // Two transcripts of this visitor's conversations this hour: the per-visitor limit here.
    let (status, body) = ask_transcript(api, request(Some("SAM@example.org"))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");

    let mails = sink.wait_for("both transcripts arrive", 2).await;
    assert_eq!(mails.len(), 2);
    for mail in &mails {
        assert_eq!(mail.rcpt_tos, vec!["sam@example.org".to_string()]);
        let text = mail.text.as_deref().unwrap();
        assert!(text.contains("You: Where is my parcel?"), "{text}");
    }
    assert!(to(&sink.mails(), "eve@example.org").is_empty());
    server.stop().await;
}

/// The link in a notification mail, e.g. `http://127.0.0.1:PORT/agent/link/nal_…`.
fn link_in(text: &str) -> String {
    let start = text.find("http://").unwrap();
    text[start..].split_whitespace().next().unwrap().to_string()
}

#[tokio::test]
async fn an_agent_away_is_mailed_a_link_that_opens_the_conversation_once() {
    let sink = SmtpSink::start().await;
    let server = server_with(&sink, |_| {}).await;
    let api = &server.admin().await;
    let site = server.site_key().await;
    let agent = api.create_agent("otto").await;
    let (ws, welcome) = server.visitor(&site, None, None).await;
    let visitor = welcome["visitor_id"].as_str().unwrap().to_string();
    ws.close().await;
    let (_, body) = offline(
        api,
        &site,
        &visitor,
        "Vera",
        "vera@example.org",
        "Is anyone there?",
    )
    .await;
    let conversation = body["conversation_id"].as_str().unwrap().to_string();
    api.post(
        &format!("/api/v1/conversations/{conversation}/assign"),
        json!({"agent_id": agent}),
    )
    .await
    .unwrap();
    let mails = sink.wait_for("the notification arrives", 2).await;
    let notification = &to(&mails, "otto@example.com")[0];
    let text = notification.text.as_deref().unwrap();
    let link = link_in(text);
    assert!(
        link.starts_with(&format!("{}/agent/link/nal_", server.base)),
        "{text}"
    );

    // The link logs the agent into that conversation, once.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let opened = client.get(&link).send().await.unwrap();
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        opened.headers()["location"].to_str().unwrap(),
        format!("/agent/#conversation={conversation}")
    );
    assert!(open_link(&link).await.is_err(), "a second use is refused");

    // Within the quiet period a new visitor message mails nobody again.
    let (mut ws, _) = server.visitor(&site, Some(&visitor), None).await;
    ws.send(json!({"type": "message", "body": "Hello again?", "client_id": "m-2"}))
        .await;
    ws.expect("ack").await;
    // A later mail that is caused (a transcript) arrives after anything queued before it.
    api.post(
        &format!("/api/v1/conversations/{conversation}/transcript"),
        json!({}),
    )
    .await
    .unwrap();
    let mails = sink.wait_for("the transcript arrives", 3).await;
    assert_eq!(
        to(&mails, "otto@example.com").len(),
        1,
        "one notification per quiet period"
    );
    server.stop().await;
}

#[tokio::test]
async fn mails_caused_while_smtp_is_down_arrive_once_each_when_it_returns() {
    let mut sink = SmtpSink::start().await;
    let server = server_with(&sink, |_| {}).await;
    let api = &server.admin().await;
    let site = server.site_key().await;
    sink.stop().await;
    for n in 0..3 {
        let (status, body) = offline(
            api,
            &site,
            &visitor_id(),
            &format!("Visitor {n}"),
            &format!("v{n}@example.org"),
            &format!("question {n}"),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    wait_until(
        "every mail failed once and waits for a retry",
        MAIL_WAIT,
        || async move {
            let all = deliveries(api).await;
            all.len() == 3
                && all
                    .iter()
                    .all(|d| d["state"] == "retrying" && d["last_error"].is_string())
        },
    )
    .await;
    let failed = deliveries(api).await;
    assert!(
        failed[0]["last_error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("connect"),
        "{}",
        failed[0]
    );
    sink.restart().await;
    wait_until("all three are sent", MAIL_WAIT, || async move {
        deliveries(api).await.iter().all(|d| d["state"] == "sent")
    })
    .await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 3, "each mail once");
    let mut bodies: Vec<String> = mails.iter().map(|m| m.text.clone().unwrap()).collect();
    bodies.sort();
    for (n, body) in bodies.iter().enumerate() {
        assert!(body.contains(&format!("question {n}")), "{body}");
    }
    server.stop().await;
}

async fn attempts(api: &Api, mail: &str) -> Vec<Value> {
    api.get(&format!("/api/v1/mail/deliveries/{mail}/attempts"))
        .await
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn the_mail_log_shows_each_attempt_failed_ones_then_the_one_accepted() {
    let mut sink = SmtpSink::start().await;
    let server = server_with(&sink, |_| {}).await;
    let api = &server.admin().await;
    let site = server.site_key().await;
    sink.stop().await;
    let (status, body) = offline(
        api,
        &site,
        &visitor_id(),
        "Lin",
        "lin@example.org",
        "Are you open on Sunday?",
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_until(
        "the mail failed twice while the SMTP server is down",
        MAIL_WAIT,
        || async move {
            deliveries(api)
                .await
                .first()
                .is_some_and(|d| d["attempts"].as_u64().unwrap_or(0) >= 2)
        },
    )
    .await;
    let mail = deliveries(api).await[0]["id"].as_str().unwrap().to_string();
    let failed = attempts(api, &mail).await;
    assert!(failed.len() >= 2, "{failed:?}");
    for (n, attempt) in failed.iter().enumerate() {
        assert_eq!(attempt["number"], n + 1, "{attempt}");
        assert_eq!(attempt["outcome"], "retry", "{attempt}");
        assert!(attempt["code"].is_null(), "no server answered: {attempt}");
        assert!(
            attempt["error"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("connect"),
            "{attempt}"
        );
        assert!(attempt["started_at"].is_string(), "{attempt}");
        assert!(attempt["duration_ms"].is_u64(), "{attempt}");
    }

    sink.restart().await;
    sink.wait_for("the mail arrives once the server is back", 1)
        .await;
    let mail_ref = mail.as_str();
    wait_until(
        "the log ends with the accepted attempt",
        MAIL_WAIT,
        || async move {
            attempts(api, mail_ref)
                .await
                .last()
                .is_some_and(|a| a["outcome"] == "sent")
        },
    )
    .await;
    let log = attempts(api, &mail).await;
    let (last, before) = log.split_last().unwrap();
    assert_eq!(last["code"], 250, "{last}");
    assert!(last["error"].is_null(), "{last}");
    assert_eq!(last["number"], log.len());
    assert!(before.len() >= 2);
    assert!(
        before
            .iter()
            .all(|a| a["outcome"] == "retry" && a["error"].is_string())
    );
    // The delivery list agrees with its log.
    let delivery = deliveries(api).await[0].clone();
    assert_eq!(delivery["state"], "sent");
    assert_eq!(delivery["attempts"], log.len());

    // An unknown mail is 404 in the error shape.
    let (status, body) = api
        .send(
            "GET",
            &format!("/api/v1/mail/deliveries/{}/attempts", uuid::Uuid::new_v4()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    server.stop().await;
}

#[tokio::test]
async fn a_permanent_rejection_is_given_up_with_its_reason_and_a_transient_one_retried() {
    let sink = SmtpSink::start().await;
    let server = server_with(&sink, |c| c.mail.offline_inbox = "busy@natter.test".into()).await;
    let api = &server.admin().await;
    let site = server.site_key().await;
    let agent = api.create_agent("reject-me").await;
    let (_, body) = offline(
        api,
        &site,
        &visitor_id(),
        "Paul",
        "paul@example.org",
        "hello",
    )
    .await;
    let conversation = body["conversation_id"].as_str().unwrap().to_string();
    api.post(
        &format!("/api/v1/conversations/{conversation}/assign"),
        json!({"agent_id": agent}),
    )
    .await
    .unwrap();
    wait_until(
        "the rejected notification is given up; the busy inbox retried",
        MAIL_WAIT,
        || async move {
            let all = deliveries(api).await;
            let notification = all.iter().find(|d| d["kind"] == "agent_notification");
            let offline = all.iter().find(|d| d["kind"] == "offline_message");
            notification.is_some_and(|d| d["state"] == "failed")
                && offline.is_some_and(|d| {
                    d["state"] == "retrying" && d["attempts"].as_u64().unwrap() >= 2
                })
        },
    )
    .await;
    let all = deliveries(api).await;
    let notification = all
        .iter()
        .find(|d| d["kind"] == "agent_notification")
        .unwrap();
    assert_eq!(notification["last_code"], 550);
    let given_up = attempts(api, notification["id"].as_str().unwrap()).await;
    assert_eq!(given_up.len(), 1, "{given_up:?}");
    assert_eq!(given_up[0]["outcome"], "failed");
    assert_eq!(given_up[0]["code"], 550);
    assert_eq!(notification["attempts"], 1);
    assert!(
        notification["last_error"]
            .as_str()
            .unwrap()
            .contains("mailbox unavailable"),
        "{notification}"
    );
    let offline = all.iter().find(|d| d["kind"] == "offline_message").unwrap();
    assert_eq!(offline["last_code"], 451);
    assert!(sink.mails().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn the_form_refuses_bad_addresses_header_tricks_and_floods() {
    let sink = SmtpSink::start().await;
    let server = server_with(&sink, |c| c.mail.offline_per_visitor_per_hour = 2).await;
    let api = &server.admin().await;
    let site = server.site_key().await;
    let visitor = visitor_id();

    for bad in [
        "not-an-address",
        "a@b@c",
        "ada@example.org\r\nBcc: victim@example.com",
        "Ada <ada@example.org>",
    ] {
        let (status, body) = offline(api, &site, &visitor, "Ada", bad, "hi").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "email", "{body}");
    }
    let (status, body) = offline(
        api,
        &site,
        &visitor,
        "Eve\r\nBcc: victim@example.com",
        "eve@example.org",
        "hi",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "name");
    let (status, body) = offline(api, &site, &visitor, "Ada", "ada@example.org", "   ").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "message");

    // Per visitor: two an hour here; the third is refused, another visitor still gets through.
    for n in 0..2 {
        let (status, body) = offline(
            api,
            &site,
            &visitor,
            "Ada",
            "ada@example.org",
            &format!("try {n}"),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let (status, body) = offline(api, &site, &visitor, "Ada", "ada@example.org", "try 3").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let (status, _) = offline(api, &site, &visitor_id(), "Bob", "bob@example.org", "hi").await;
    assert_eq!(status, StatusCode::ACCEPTED);

    // Nothing refused reached the SMTP server; the accepted ones did, with clean headers.
    let mails = sink.wait_for("three offline mails", 3).await;
    assert_eq!(mails.len(), 3);
    // Checked per header line: a random Message-ID or boundary may well contain the letters "bcc".
    for mail in &mails {
        let headers = mail.raw_headers.to_lowercase();
        assert!(
            !headers.lines().any(|line| line.starts_with("bcc:"))
                && !headers.contains("victim@example.com"),
            "{}",
            mail.raw_headers
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn the_site_limit_holds_across_visitors() {
    let sink = SmtpSink::start().await;
    let server = server_with(&sink, |c| c.mail.offline_per_site_per_hour = 2).await;
    let api = &server.admin().await;
    let site = server.site_key().await;
    for _ in 0..2 {
        let (status, _) = offline(api, &site, &visitor_id(), "Ada", "ada@example.org", "hi").await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let (status, body) = offline(api, &site, &visitor_id(), "Ada", "ada@example.org", "hi").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn without_mail_configured_the_mail_routes_say_so() {
    let server = TestServer::start().await;
    let api = &server.admin().await;
    let site = server.site_key().await;
    let (status, body) = api
        .send("GET", "/api/v1/mail/deliveries", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "mail_disabled");
    let (status, body) = api
        .send(
            "GET",
            &format!("/api/v1/mail/deliveries/{}/attempts", uuid::Uuid::new_v4()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "mail_disabled");
    let (status, body) = offline(api, &site, &visitor_id(), "Ada", "ada@example.org", "hi").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "mail_disabled");
    // Chat itself is untouched.
    let (mut ws, _) = server.visitor(&site, None, None).await;
    ws.send(json!({"type": "message", "body": "hi", "client_id": "a"}))
        .await;
    ws.expect("ack").await;
    server.stop().await;
}

#[tokio::test]
async fn every_mail_route_is_in_the_openapi_document() {
    let server = TestServer::start().await;
    let doc = reqwest::get(server.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    for path in [
        "/api/v1/mail/deliveries",
        "/api/v1/mail/deliveries/{id}/attempts",
        "/api/v1/conversations/{id}/transcript",
        "/api/v1/widget/offline-messages",
        "/api/v1/widget/transcripts",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    server.stop().await;
}
