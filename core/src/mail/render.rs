//! The mails' texts and how they are put together. Every value that comes from a visitor or an
//! agent is HTML-escaped in HTML parts and stripped of control characters where it meets a header.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::MailTexts;
use crate::domain::mail::{Contact, MailKind, NewMail};
use crate::domain::model::{Agent, AuthorKind, Conversation, Message};

/// The English texts; `[mail.templates.<lang>]` replaces any of them per language.
struct Texts {
    offline_subject: String,
    transcript_subject: String,
    transcript_intro: String,
    notification_subject: String,
    notification_intro: String,
}

impl Default for Texts {
    fn default() -> Self {
        Self {
            offline_subject: "Offline message from {name}".into(),
            transcript_subject: "The transcript of your conversation".into(),
            transcript_intro: "Here is your conversation with us.".into(),
            notification_subject: "{name} is waiting for you".into(),
            notification_intro:
                "A visitor wrote in a conversation assigned to you while you were not connected."
                    .into(),
        }
    }
}

/// Renders the three mails. Holds the link base and the per-language texts.
#[derive(Debug, Clone)]
pub struct Renderer {
    base_url: String,
    templates: BTreeMap<String, MailTexts>,
}

impl Renderer {
    pub fn new(base_url: &str, templates: BTreeMap<String, MailTexts>) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            templates,
        }
    }

    /// The texts for `language` (`de-AT` falls back to `de`, then to English).
    fn texts(&self, language: &str) -> Texts {
        let mut texts = Texts::default();
        let lower = language.trim().to_ascii_lowercase();
        let primary = lower
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_string();
        let chosen = self
            .templates
            .get(&lower)
            .or_else(|| self.templates.get(&primary));
        if let Some(over) = chosen {
            let pick = |own: &Option<String>, default: &mut String| {
                if let Some(text) = own {
                    default.clone_from(text);
                }
            };
            pick(&over.offline_subject, &mut texts.offline_subject);
            pick(&over.transcript_subject, &mut texts.transcript_subject);
            pick(&over.transcript_intro, &mut texts.transcript_intro);
            pick(&over.notification_subject, &mut texts.notification_subject);
            pick(&over.notification_intro, &mut texts.notification_intro);
        }
        texts
    }

    fn conversation_url(&self, conversation: &Conversation) -> String {
        format!("{}/agent/#conversation={}", self.base_url, conversation.id)
    }

    /// A visitor's offline message, to the inbox, answered by replying to the visitor.
    pub fn offline_message(
        &self,
        inbox: &str,
        contact: &Contact,
        conversation: &Conversation,
        message: &Message,
    ) -> NewMail {
        let texts = self.texts(&contact.language);
        let name = header_text(&contact.name);
        let link = self.conversation_url(conversation);
        let page = if contact.page_url.is_empty() {
            "(unknown page)".to_string()
        } else {
            contact.page_url.clone()
        };
        let text = format!(
            "{name} <{email}> wrote from {page}:\n\n{body}\n\nThe conversation: {link}\nReply to this mail to answer {name} by email.\n",
            email = contact.email,
            body = message.body,
        );
        let html = format!(
            "<p><strong>{name}</strong> &lt;{email}&gt; wrote from <a href=\"{page_attr}\">{page}</a>:</p>\n\
             <blockquote style=\"white-space:pre-wrap\">{body}</blockquote>\n\
             <p><a href=\"{link_attr}\">Open the conversation</a>. Reply to this mail to answer by email.</p>\n",
            name = escape(&name),
            email = escape(&contact.email),
            page_attr = escape(&page),
            page = escape(&page),
            body = escape(&message.body),
            link_attr = escape(&link),
        );
        NewMail {
            kind: MailKind::OfflineMessage,
            conversation_id: Some(conversation.id),
            agent_id: None,
            to: inbox.to_string(),
            reply_to: Some(contact.email.clone()),
            subject: subject(&texts.offline_subject.replace("{name}", &name)),
            text,
            html: Some(wrap_html(&html)),
        }
    }

    /// Every message of a conversation, with times in the site's time zone.
    pub fn transcript(
        &self,
        contact: &Contact,
        conversation: &Conversation,
        messages: &[Message],
        time_zone: &str,
    ) -> NewMail {
        let texts = self.texts(&contact.language);
        let tz: Tz = time_zone.parse().unwrap_or(Tz::UTC);
        let mut text = format!("{}\n\n", texts.transcript_intro);
        let mut rows = String::new();
        for m in messages {
            let when = local_time(m.created_at, tz);
            let who = author(m, &contact.name);
            text.push_str(&format!("[{when}] {who}: {}\n", m.body));
            rows.push_str(&format!(
                "<tr><td style=\"color:#666;white-space:nowrap\">{}</td><td><strong>{}</strong></td><td style=\"white-space:pre-wrap\">{}</td></tr>\n",
                escape(&when),
                escape(&who),
                escape(&m.body)
            ));
        }
        let html = format!(
            "<p>{}</p>\n<table cellpadding=\"4\">\n{rows}</table>\n",
            escape(&texts.transcript_intro)
        );
        NewMail {
            kind: MailKind::Transcript,
            conversation_id: Some(conversation.id),
            agent_id: None,
            to: contact.email.clone(),
            reply_to: None,
            subject: subject(&texts.transcript_subject),
            text,
            html: Some(wrap_html(&html)),
        }
    }

    /// Tells an agent who is not connected that a conversation waits, with a one-time link into it.
    pub fn agent_notification(
        &self,
        agent: &Agent,
        conversation: &Conversation,
        message: Option<&Message>,
        link_token: &str,
    ) -> NewMail {
        let texts = self.texts("");
        let visitor = message
            .and_then(|m| m.author_name.clone())
            .map(|n| header_text(&n))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "A visitor".to_string());
        let link = format!("{}/agent/link/{link_token}", self.base_url);
        let quoted = message.map(|m| m.body.as_str()).unwrap_or_default();
        let text = format!(
            "Hello {agent},\n\n{intro}\n\n{quoted}\n\nOpen the conversation (the link works once): {link}\n",
            agent = agent.name,
            intro = texts.notification_intro,
        );
        let html = format!(
            "<p>Hello {agent},</p>\n<p>{intro}</p>\n<blockquote style=\"white-space:pre-wrap\">{quoted}</blockquote>\n\
             <p><a href=\"{link}\">Open the conversation</a> (the link works once).</p>\n",
            agent = escape(&agent.name),
            intro = escape(&texts.notification_intro),
            quoted = escape(quoted),
            link = escape(&link),
        );
        NewMail {
            kind: MailKind::AgentNotification,
            conversation_id: Some(conversation.id),
            agent_id: Some(agent.id),
            to: agent.email.clone(),
            reply_to: None,
            subject: subject(&texts.notification_subject.replace("{name}", &visitor)),
            text,
            html: Some(wrap_html(&html)),
        }
    }
}

fn author(message: &Message, visitor_name: &str) -> String {
    match message.author_kind {
        AuthorKind::Visitor => {
            let name = header_text(visitor_name);
            if name.is_empty() { "You".into() } else { name }
        }
        AuthorKind::Agent => message
            .author_name
            .clone()
            .unwrap_or_else(|| "Agent".into()),
        AuthorKind::System => "Natter".into(),
    }
}

fn local_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

fn wrap_html(body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body style=\"font-family:sans-serif\">\n{body}</body></html>\n"
    )
}

/// Text that may end up in a header (a name, a subject): control characters, CR and LF included,
/// become spaces, runs of spaces collapse, and it is cut at 150 characters.
pub fn header_text(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(150)
        .collect()
}

fn subject(raw: &str) -> String {
    header_text(raw)
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_drops_line_breaks_and_controls() {
        assert_eq!(
            header_text("Eve\r\nBcc: victim@example.com"),
            "Eve Bcc: victim@example.com"
        );
        assert_eq!(header_text("  a\t\u{0}b  "), "a b");
        assert_eq!(header_text(&"x".repeat(400)).len(), 150);
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert(\"x\")</script> & 'y'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn texts_fall_back_from_region_to_language_to_english() {
        let mut templates = BTreeMap::new();
        templates.insert(
            "de".to_string(),
            MailTexts {
                transcript_subject: Some("Ihr Gesprächsverlauf".into()),
                ..MailTexts::default()
            },
        );
        let r = Renderer::new("http://x/", templates);
        assert_eq!(r.texts("de-AT").transcript_subject, "Ihr Gesprächsverlauf");
        assert_eq!(
            r.texts("de").transcript_intro,
            Texts::default().transcript_intro
        );
        assert_eq!(
            r.texts("fr").transcript_subject,
            Texts::default().transcript_subject
        );
    }
}
