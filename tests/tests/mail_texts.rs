//! Mail texts per language through a real SMTP server (aiosmtpd): every text of every mail can be
//! replaced in `[mail.templates.<lang>]`. Mails to the team follow `mail.team_language`,
//! transcripts the visitor's language.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;

use natter_core::config::MailTexts;
use natter_tests::smtp::{ReceivedMail, SmtpSink};
use natter_tests::{DataDir, TestServer};
use reqwest::StatusCode;
use serde_json::json;

const INBOX: &str = "inbox@natter.test";

fn german() -> MailTexts {
    let t = |s: &str| Some(s.to_string());
    MailTexts {
        offline_subject: t("Nachricht von {name}"),
        offline_intro: t("{name} <{email}> schrieb von {page}:"),
        offline_unknown_page: t("(unbekannte Seite)"),
        offline_link: t("Zum Gespräch: {link}"),
        offline_reply_hint: t("Antworten Sie auf diese Mail, um {name} per E-Mail zu antworten."),
        transcript_subject: t("Ihr Gesprächsverlauf"),
        transcript_intro: t("Hier ist Ihr Gespräch mit uns."),
        transcript_you: t("Sie"),
        transcript_agent: t("Mitarbeiter"),
        transcript_system: t("System"),
        notification_subject: t("{name} wartet auf Sie"),
        notification_greeting: t("Hallo {agent},"),
        notification_intro: t("Ein Besucher hat geschrieben, während Sie nicht verbunden waren."),
        notification_link: t("Gespräch öffnen (der Link gilt einmal): {link}"),
        notification_visitor: t("Ein Besucher"),
    }
}

fn to(mails: &[ReceivedMail], address: &str) -> ReceivedMail {
    mails
        .iter()
        .find(|m| m.rcpt_tos.iter().any(|r| r == address))
        .cloned()
        .unwrap_or_else(|| panic!("no mail to {address}"))
}

#[tokio::test]
async fn german_overrides_reach_every_mail_kind() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let server = TestServer::start_with(&DataDir::new(), |c| {
        c.mail.smtp_url = url;
        c.mail.from = "Natter <chat@natter.test>".into();
        c.mail.offline_inbox = INBOX.into();
        c.mail.team_language = "de".into();
        c.mail.templates = BTreeMap::from([("de".to_string(), german())]);
        c.delivery.poll_interval_ms = 20;
    })
    .await;
    let api = &server.admin().await;
    let site = server.site_key().await;

    // The offline message goes to the team in the team's language, whatever the visitor's.
    let (status, body) = api
        .send(
            "POST",
            "/api/v1/widget/offline-messages",
            Some(
                json!({"site": site, "visitor_id": uuid::Uuid::new_v4(), "name": "Ada",
                "email": "ada@example.org", "message": "Liefern Sie zum Mars?", "language": "en"}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let conversation = body["conversation_id"].as_str().unwrap().to_string();
    let agent = api.create_agent("otto").await;
    api.post(
        &format!("/api/v1/conversations/{conversation}/assign"),
        json!({"agent_id": agent}),
    )
    .await
    .unwrap();

    // A chat conversation whose visitor asks for the transcript in German.
    let (mut ws, welcome) = server.visitor(&site, None, None).await;
    let visitor = welcome["visitor_id"].as_str().unwrap().to_string();
    ws.send(json!({"type": "message", "body": "Hallo?", "client_id": "h-1"}))
        .await;
    let chat = ws.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = api
        .send(
            "POST",
            "/api/v1/widget/transcripts",
            Some(
                json!({"site": site, "visitor_id": visitor, "conversation_id": chat,
                "email": "bea@example.org", "language": "de-DE"}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    let mails = sink
        .wait_for("offline message, notification, transcript", 3)
        .await;

    let offline = to(&mails, INBOX);
    assert_eq!(offline.header("Subject"), Some("Nachricht von Ada"));
    let text = offline.text.as_deref().unwrap();
    for expected in [
        "Ada <ada@example.org> schrieb von (unbekannte Seite):",
        "Liefern Sie zum Mars?",
        &format!(
            "Zum Gespräch: {}/agent/#conversation={conversation}",
            server.base
        ),
        "Antworten Sie auf diese Mail, um Ada per E-Mail zu antworten.",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    let html = offline.html.as_deref().unwrap();
    assert!(html.contains("schrieb von (unbekannte Seite)"), "{html}");
    assert!(!text.contains("wrote from"), "{text}");

    let notification = to(&mails, "otto@example.com");
    // Assigned, not written to: the visitor is not named.
    assert_eq!(
        notification.header("Subject"),
        Some("Ein Besucher wartet auf Sie")
    );
    let text = notification.text.as_deref().unwrap();
    for expected in [
        "Hallo otto,",
        "Ein Besucher hat geschrieben, während Sie nicht verbunden waren.",
        &format!(
            "Gespräch öffnen (der Link gilt einmal): {}/agent/link/nal_",
            server.base
        ),
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }

    let transcript = to(&mails, "bea@example.org");
    assert_eq!(transcript.header("Subject"), Some("Ihr Gesprächsverlauf"));
    let text = transcript.text.as_deref().unwrap();
    assert!(text.starts_with("Hier ist Ihr Gespräch mit uns."), "{text}");
    assert!(text.contains("] Sie: Hallo?"), "{text}");
    let html = transcript.html.as_deref().unwrap();
    assert!(html.contains("<strong>Sie</strong>"), "{html}");
    server.stop().await;
}
