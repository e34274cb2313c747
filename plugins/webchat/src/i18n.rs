//! The widget's own words per language: defaults for the configurable texts and the fixed interface labels.
//!
//! Adding a language means one arm in [`strings`]; the schema's `language` enum follows [`LANGUAGES`].

use serde::Serialize;

pub const LANGUAGES: &[&str] = &["en", "de", "fr", "es"];

/// Defaults of the texts an admin may override.
#[derive(Debug, Clone, Copy)]
pub struct Texts {
    pub title: &'static str,
    pub greeting: &'static str,
    pub placeholder: &'static str,
    pub offline_text: &'static str,
}

/// Labels the admin does not configure: buttons, screen-reader names, connection states.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Ui {
    pub open: &'static str,
    pub close: &'static str,
    pub send: &'static str,
    pub typing: &'static str,
    pub seen: &'static str,
    pub failed: &'static str,
    pub reconnecting: &'static str,
    pub unavailable: &'static str,
    pub closed: &'static str,
}

/// The strings of `language`, English for anything not in [`LANGUAGES`].
pub fn strings(language: &str) -> (Texts, Ui) {
    match language {
        "de" => (
            Texts {
                title: "Chatten Sie mit uns",
                greeting: "Hallo! Wie können wir helfen?",
                placeholder: "Nachricht schreiben…",
                offline_text: "Gerade ist niemand da. Schreiben Sie uns, wir melden uns so bald wie möglich.",
            },
            Ui {
                open: "Chat öffnen",
                close: "Chat schließen",
                send: "Senden",
                typing: "Schreibt gerade…",
                seen: "Gelesen",
                failed: "Nicht gesendet",
                reconnecting: "Verbindung wird wiederhergestellt…",
                unavailable: "Der Chat ist gerade nicht verfügbar.",
                closed: "Diese Unterhaltung wurde beendet.",
            },
        ),
        "fr" => (
            Texts {
                title: "Discutez avec nous",
                greeting: "Bonjour ! Comment pouvons-nous vous aider ?",
                placeholder: "Écrivez votre message…",
                offline_text: "Nous sommes absents pour le moment. Laissez un message, nous vous répondrons bientôt.",
            },
            Ui {
                open: "Ouvrir le chat",
                close: "Fermer le chat",
                send: "Envoyer",
                typing: "En train d'écrire…",
                seen: "Lu",
                failed: "Non envoyé",
                reconnecting: "Reconnexion…",
                unavailable: "Le chat n'est pas disponible pour le moment.",
                closed: "Cette conversation est terminée.",
            },
        ),
        "es" => (
            Texts {
                title: "Chatea con nosotros",
                greeting: "¡Hola! ¿En qué podemos ayudarte?",
                placeholder: "Escribe tu mensaje…",
                offline_text: "Ahora no hay nadie disponible. Déjanos un mensaje y te responderemos pronto.",
            },
            Ui {
                open: "Abrir chat",
                close: "Cerrar chat",
                send: "Enviar",
                typing: "Escribiendo…",
                seen: "Leído",
                failed: "No enviado",
                reconnecting: "Reconectando…",
                unavailable: "El chat no está disponible ahora.",
                closed: "Esta conversación ha terminado.",
            },
        ),
        _ => (
            Texts {
                title: "Chat with us",
                greeting: "Hi! How can we help?",
                placeholder: "Type your message…",
                offline_text: "We're offline right now. Leave a message and we'll get back to you.",
            },
            Ui {
                open: "Open chat",
                close: "Close chat",
                send: "Send",
                typing: "Typing…",
                seen: "Seen",
                failed: "Not sent",
                reconnecting: "Reconnecting…",
                unavailable: "Chat is not available right now.",
                closed: "This conversation has ended.",
            },
        ),
    }
}
