//! The SMTP side: a lettre transport built from `[mail]`, a message built from a stored mail, and
//! the server's answer sorted into sent, retry (no connection, TLS, 4xx) or give up (5xx).

use std::str::FromStr;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::LoadedConfig;
use crate::store::ClaimedMail;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail is not configured: set mail.smtp_url")]
    Disabled,
    /// A setting that cannot work; names it. Never carries the password.
    #[error("mail.{field}: {message}")]
    Config {
        field: &'static str,
        message: String,
    },
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The SMTP reply code, when the server answered.
    pub code: Option<u16>,
    /// `None` when the server accepted the mail; otherwise why not, in words.
    pub error: Option<String>,
    /// The failure will not pass by retrying (a 5xx answer, a mail that cannot be built).
    pub permanent: bool,
    /// The server's answer, for `natter mail test`.
    pub answer: String,
}

/// Sends mail through the configured SMTP server.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The right part of every `Message-ID`.
    domain: String,
    /// The whole session's limit. lettre's own timeout bounds only the connection on its async
    /// transport: a server that accepts and never answers would hold an attempt for ever, and the
    /// worker's claim (this plus a margin) would run out while it is still in flight.
    timeout: Duration,
}

impl SmtpSender {
    pub fn from_config(loaded: &LoadedConfig) -> Result<Self, MailError> {
        let mail = &loaded.config.mail;
        if !mail.enabled() {
            return Err(MailError::Disabled);
        }
        let from = Mailbox::from_str(mail.from.trim()).map_err(|e| MailError::Config {
            field: "from",
            message: format!("not an address: {e}"),
        })?;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(mail.smtp_url.trim())
            .map_err(|e| MailError::Config {
                field: "smtp_url",
                message: e.to_string(),
            })?;
        let password = loaded.mail_password().map_err(|e| MailError::Config {
            field: "password_file",
            message: format!("cannot read: {e}"),
        })?;
        let builder = match (mail.username.trim(), password) {
            ("", _) => builder,
            (user, password) => {
                builder.credentials(Credentials::new(user.into(), password.unwrap_or_default()))
            }
        };
        let timeout = Duration::from_secs(mail.timeout_seconds.max(1));
        let transport = builder.timeout(Some(timeout)).build();
        let domain = from.email.domain().to_string();
        Ok(Self {
            transport,
            from,
            domain,
            timeout,
        })
    }

    /// The longest one attempt takes (`mail.timeout_seconds`, the whole session).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one mail; never fails as a function, the outcome says how it went.
    pub async fn send(&self, mail: &ClaimedMail) -> Outcome {
        match self.build(mail) {
            Ok(message) => self.deliver(message).await,
            Err(error) => Outcome {
                code: None,
                error: Some(error),
                permanent: true,
                answer: String::new(),
            },
        }
    }

    /// The one-off message of `natter mail test`.
    pub async fn send_test(&self, to: &str) -> Outcome {
        let claimed = ClaimedMail {
            id: uuid::Uuid::now_v7(),
            message_id: uuid::Uuid::now_v7().to_string(),
            to: to.to_string(),
            reply_to: None,
            subject: "Natter test mail".into(),
            text: "This is a test mail from `natter mail test`: the SMTP settings work.\n".into(),
            html: None,
            attempts: 0,
            first_attempt_at: None,
        };
        self.send(&claimed).await
    }

    fn build(&self, mail: &ClaimedMail) -> Result<Message, String> {
        let to = parse_address(&mail.to).map_err(|e| format!("recipient: {e}"))?;
        let mut builder = Message::builder()
            .message_id(Some(format!("<{}@{}>", mail.message_id, self.domain)))
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(crate::mail::render::header_text(&mail.subject));
        if let Some(reply_to) = &mail.reply_to {
            let address = parse_address(reply_to).map_err(|e| format!("reply-to: {e}"))?;
            builder = builder.reply_to(Mailbox::new(None, address));
        }
        let built = match &mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                html.clone(),
            )),
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.text.clone()),
            ),
        };
        built.map_err(|e| format!("cannot build the mail: {e}"))
    }

    async fn deliver(&self, message: Message) -> Outcome {
        let Ok(sent) = tokio::time::timeout(self.timeout, self.transport.send(message)).await
        else {
            return Outcome {
                code: None,
                error: Some(format!(
                    "timed out: the SMTP session took longer than {} s (mail.timeout_seconds)",
                    self.timeout.as_secs()
                )),
                permanent: false,
                answer: String::new(),
            };
        };
        match sent {
            Ok(response) => Outcome {
                code: Some(u16::from(response.code())),
                error: None,
                permanent: false,
                answer: format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            },
            Err(e) => {
                let code = e.status().map(u16::from);
                Outcome {
                    code,
                    error: Some(describe(&e)),
                    permanent: e.is_permanent(),
                    answer: String::new(),
                }
            }
        }
    }
}

/// An address as the mails take it: `local@domain`, nothing around it.
pub fn parse_address(raw: &str) -> Result<Address, String> {
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) || raw.len() > 254 {
        return Err("must be one plain address such as name@example.com".into());
    }
    Address::from_str(raw).map_err(|e| format!("not an email address ({e})"))
}

/// The error in words, with its cause chain (refused connection, TLS, authentication, rejected
/// recipient): lettre's top-level message alone often hides the reason.
fn describe(error: &lettre::transport::smtp::Error) -> String {
    let kind = if error.is_permanent() {
        "rejected (permanent)"
    } else if error.is_transient() {
        "rejected for now (transient)"
    } else if error.is_tls() {
        "TLS failed"
    } else if error.is_timeout() {
        "timed out"
    } else {
        "failed"
    };
    let mut text = format!("{kind}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use std::time::Duration;

    use super::SmtpSender;
    use crate::config::{Config, LoadedConfig};

    /// A server that accepts the connection and never sends its greeting is an attempt that timed
    /// out (and is retried), not one that waits for ever.
    #[tokio::test]
    async fn a_server_that_accepts_and_never_answers_is_an_attempt_that_timed_out() {
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let (socket, _) = silent.accept().await.unwrap();
            std::future::pending::<()>().await;
            drop(socket);
        });
        let mut config = Config::default();
        config.mail.smtp_url = format!("smtp://127.0.0.1:{port}");
        config.mail.from = "chat@natter.test".into();
        config.mail.timeout_seconds = 1;
        let loaded = LoadedConfig {
            config,
            base_dir: ".".into(),
            unknown_env: Vec::new(),
        };
        let sender = SmtpSender::from_config(&loaded).unwrap();
        // Only a guard against hanging the test run; the attempt's own limit is 1 s.
        let outcome =
            tokio::time::timeout(Duration::from_secs(60), sender.send_test("ops@example.org"))
                .await
                .expect("the attempt ends by itself");
        let error = outcome.error.unwrap();
        assert!(error.contains("timed out"), "{error}");
        assert!(error.contains("mail.timeout_seconds"), "{error}");
        assert!(!outcome.permanent);
        assert_eq!(outcome.code, None);
        held.abort();
    }
}
