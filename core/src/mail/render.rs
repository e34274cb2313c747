//! The mails' texts and how they are put together. Every value that comes from a visitor or an
//! agent is HTML-escaped in HTML parts and stripped of control characters where it meets a header.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::MailTexts;
use crate::domain::mail::{Contact, MailKind, NewMail};
use crate::domain::model::{Agent, AuthorKind, Conversation, Message};

/// Every visible text of the three mails, English by default; `[mail.templates.<lang>]` replaces
/// any of them per language. `{placeholder}`s are filled per mail (see `fill`).
#[derive(Debug, Clone, PartialEq)]
pub struct Texts {
    pub offline_subject: String,
    pub offline_intro: String,
    pub offline_unknown_page: String,
    pub offline_link: String,
    pub offline_reply_hint: String,
    pub transcript_subject: String,
    pub transcript_intro: String,
    pub transcript_you: String,
    pub transcript_agent: String,
    pub transcript_system: String,
    pub notification_subject: String,
    pub notification_greeting: String,
    pub notification_intro: String,
    pub notification_link: String,
    pub notification_visitor: String,
}

impl Default for Texts {
    fn default() -> Self {
        Self {
            offline_subject: "Offline message from {name}".into(),
            offline_intro: "{name} <{email}> wrote from {page}:".into(),
            offline_unknown_page: "(unknown page)".into(),
            offline_link: "The conversation: {link}".into(),
            offline_reply_hint: "Reply to this mail to answer {name} by email.".into(),
            transcript_subject: "The transcript of your conversation".into(),
            transcript_intro: "Here is your conversation with us.".into(),
            transcript_you: "You".into(),
            transcript_agent: "Agent".into(),
            transcript_system: "Natter".into(),
            notification_subject: "{name} is waiting for you".into(),
            notification_greeting: "Hello {agent},".into(),
            notification_intro:
                "A visitor wrote in a conversation assigned to you while you were not connected."
                    .into(),
            notification_link: "Open the conversation (the link works once): {link}".into(),
            notification_visitor: "A visitor".into(),
        }
    }
}

impl Texts {
    /// These texts with every key `over` sets replaced.
    fn with(mut self, over: &MailTexts) -> Self {
        let pairs: [(&Option<String>, &mut String); 15] = [
            (&over.offline_subject, &mut self.offline_subject),
            (&over.offline_intro, &mut self.offline_intro),
            (&over.offline_unknown_page, &mut self.offline_unknown_page),
            (&over.offline_link, &mut self.offline_link),
            (&over.offline_reply_hint, &mut self.offline_reply_hint),
            (&over.transcript_subject, &mut self.transcript_subject),
            (&over.transcript_intro, &mut self.transcript_intro),
            (&over.transcript_you, &mut self.transcript_you),
            (&over.transcript_agent, &mut self.transcript_agent),
            (&over.transcript_system, &mut self.transcript_system),
            (&over.notification_subject, &mut self.notification_subject),
            (&over.notification_greeting, &mut self.notification_greeting),
            (&over.notification_intro, &mut self.notification_intro),
            (&over.notification_link, &mut self.notification_link),
            (&over.notification_visitor, &mut self.notification_visitor),
        ];
        for (own, text) in pairs {
            if let Some(own) = own {
                text.clone_from(own);
            }
        }
        self
    }
}

/// Renders the three mails. Holds the link base, the per-language texts and the team's language.
#[derive(Debug, Clone)]
pub struct Renderer {
    base_url: String,
    templates: BTreeMap<String, MailTexts>,
    team_language: String,
}

impl Renderer {
    pub fn new(
        base_url: &str,
        templates: BTreeMap<String, MailTexts>,
        team_language: &str,
    ) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            templates,
            team_language: team_language.to_string(),
        }
    }

    /// The texts for `language` (`de-AT` falls back to `de`, then to English).
    pub fn texts(&self, language: &str) -> Texts {
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
        match chosen {
            Some(over) => Texts::default().with(over),
            None => Texts::default(),
        }
    }

    fn conversation_url(&self, conversation: &Conversation) -> String {
        format!("{}/agent/#conversation={}", self.base_url, conversation.id)
    }

    /// A visitor's offline message, to the inbox, answered by replying to the visitor. In the
    /// team's language: the inbox is read by the team, whatever the visitor's language.
    pub fn offline_message(
        &self,
        inbox: &str,
        contact: &Contact,
        conversation: &Conversation,
        message: &Message,
    ) -> NewMail {
        let texts = self.texts(&self.team_language);
        let name = header_text(&contact.name);
        let link = self.conversation_url(conversation);
        let (page_text, page_html) = if contact.page_url.is_empty() {
            (
                texts.offline_unknown_page.clone(),
                escape(&texts.offline_unknown_page),
            )
        } else {
            (contact.page_url.clone(), anchor(&contact.page_url))
        };
        let vars = [
            ("name", name.clone()),
            ("email", contact.email.clone()),
            ("page", page_text),
            ("link", link.clone()),
        ];
        let vars_html = [
            ("name", format!("<strong>{}</strong>", escape(&name))),
            ("email", escape(&contact.email)),
            ("page", page_html),
            ("link", anchor(&link)),
        ];
        let text = format!(
            "{intro}\n\n{body}\n\n{link}\n{hint}\n",
            intro = fill(&texts.offline_intro, &vars),
            body = message.body,
            link = fill(&texts.offline_link, &vars),
            hint = fill(&texts.offline_reply_hint, &vars),
        );
        let html = format!(
            "<p>{intro}</p>\n<blockquote style=\"white-space:pre-wrap\">{body}</blockquote>\n<p>{link}<br>\n{hint}</p>\n",
            intro = fill_html(&texts.offline_intro, &vars_html),
            body = escape(&message.body),
            link = fill_html(&texts.offline_link, &vars_html),
            hint = fill_html(&texts.offline_reply_hint, &vars_html),
        );
        NewMail {
            kind: MailKind::OfflineMessage,
            conversation_id: Some(conversation.id),
            agent_id: None,
            to: inbox.to_string(),
            reply_to: Some(contact.email.clone()),
            subject: subject(&fill(&texts.offline_subject, &vars)),
            text,
            html: Some(wrap_html(&html)),
        }
    }

    /// Every message of a conversation, with times in the site's time zone, in `language` (the
    /// visitor's).
    pub fn transcript(
        &self,
        contact: &Contact,
        language: &str,
        conversation: &Conversation,
        messages: &[Message],
        time_zone: &str,
    ) -> NewMail {
        let texts = self.texts(language);
        let tz: Tz = time_zone.parse().unwrap_or(Tz::UTC);
        let mut text = format!("{}\n\n", texts.transcript_intro);
        let mut rows = String::new();
        for m in messages {
            let when = local_time(m.created_at, tz);
            let who = author(m, &contact.name, &texts);
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
    /// In the team's language.
    pub fn agent_notification(
        &self,
        agent: &Agent,
        conversation: &Conversation,
        message: Option<&Message>,
        link_token: &str,
    ) -> NewMail {
        let texts = self.texts(&self.team_language);
        let visitor = message
            .and_then(|m| m.author_name.clone())
            .map(|n| header_text(&n))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| texts.notification_visitor.clone());
        let link = format!("{}/agent/link/{link_token}", self.base_url);
        let quoted = message.map(|m| m.body.as_str()).unwrap_or_default();
        let vars = [
            ("name", visitor.clone()),
            ("agent", agent.name.clone()),
            ("link", link.clone()),
        ];
        let vars_html = [
            ("name", escape(&visitor)),
            ("agent", escape(&agent.name)),
            ("link", anchor(&link)),
        ];
        let text = format!(
            "{greeting}\n\n{intro}\n\n{quoted}\n\n{link}\n",
            greeting = fill(&texts.notification_greeting, &vars),
            intro = fill(&texts.notification_intro, &vars),
            link = fill(&texts.notification_link, &vars),
        );
        let html = format!(
            "<p>{greeting}</p>\n<p>{intro}</p>\n<blockquote style=\"white-space:pre-wrap\">{quoted}</blockquote>\n<p>{link}</p>\n",
            greeting = fill_html(&texts.notification_greeting, &vars_html),
            intro = fill_html(&texts.notification_intro, &vars_html),
            quoted = escape(quoted),
            link = fill_html(&texts.notification_link, &vars_html),
        );
        NewMail {
            kind: MailKind::AgentNotification,
            conversation_id: Some(conversation.id),
            agent_id: Some(agent.id),
            to: agent.email.clone(),
            reply_to: None,
            subject: subject(&fill(&texts.notification_subject, &vars)),
            text,
            html: Some(wrap_html(&html)),
        }
    }

    /// The console's test mail: plain text, naming the server it came from, so the admin who asked
    /// can tell it apart from anything else in the mailbox.
    pub fn test_mail(&self, to: &str) -> NewMail {
        NewMail {
            kind: MailKind::Test,
            conversation_id: None,
            agent_id: None,
            to: to.to_string(),
            reply_to: None,
            subject: "Natter test mail".into(),
            text: format!(
                "This is a test mail from the Natter server at {}, sent from the admin console.\n\
                 It went through the outbox like every other mail: the mail settings work.\n",
                self.base_url
            ),
            html: None,
        }
    }
}

/// Fills `{key}` placeholders in one pass: a value is never read for placeholders again (a visitor
/// named `{link}` stays that), and an unknown `{word}` stays as written.
pub fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let key = &after[..close];
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (v, close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The HTML form of a template: its own text escaped, placeholders filled with ready HTML.
fn fill_html(template: &str, vars_html: &[(&str, String)]) -> String {
    fill(&escape(template), vars_html)
}

fn anchor(url: &str) -> String {
    format!("<a href=\"{0}\">{0}</a>", escape(url))
}

fn author(message: &Message, visitor_name: &str, texts: &Texts) -> String {
    match message.author_kind {
        AuthorKind::Visitor => {
            let name = header_text(visitor_name);
            if name.is_empty() {
                texts.transcript_you.clone()
            } else {
                name
            }
        }
        AuthorKind::Agent => message
            .author_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| texts.transcript_agent.clone()),
        AuthorKind::System => texts.transcript_system.clone(),
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
        let r = Renderer::new("http://x/", templates, "en");
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

    #[test]
    fn fill_replaces_known_placeholders_once() {
        let vars = [("name", "{link}".to_string()), ("link", "L".to_string())];
        assert_eq!(fill("{name} at {link}", &vars), "{link} at L");
        assert_eq!(fill("{unknown} {name", &vars), "{unknown} {name");
        assert_eq!(fill("no braces", &vars), "no braces");
        assert_eq!(fill("{}{{link}}", &vars), "{}{L}");
    }

    #[test]
    fn html_parts_escape_the_template_and_the_values() {
        let templates = BTreeMap::from([(
            "en".to_string(),
            MailTexts {
                offline_reply_hint: Some("Antwort an <{name}> & co".into()),
                ..MailTexts::default()
            },
        )]);
        let r = Renderer::new("http://x", templates, "en");
        let hint = fill_html(
            &r.texts("en").offline_reply_hint,
            &[("name", format!("<strong>{}</strong>", escape("<Eve>")))],
        );
        assert_eq!(
            hint,
            "Antwort an &lt;<strong>&lt;Eve&gt;</strong>&gt; &amp; co"
        );
    }
}
