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
    pub offline_name_label: &'static str,
    pub offline_email_label: &'static str,
    pub offline_message_label: &'static str,
    pub offline_send_label: &'static str,
    pub offline_sent_text: &'static str,
    pub transcript_label: &'static str,
    pub transcript_email_label: &'static str,
    pub transcript_send_label: &'static str,
    pub transcript_sent_text: &'static str,
    pub transcript_invalid_text: &'static str,
    pub transcript_limited_text: &'static str,
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
    /// Shown while nobody can chat and the offline form is not offered (or the visitor's
    /// conversation is already open): chat goes on and is answered later.
    pub answer_later: &'static str,
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
                offline_name_label: "Ihr Name",
                offline_email_label: "Ihre E-Mail-Adresse",
                offline_message_label: "Ihre Nachricht",
                offline_send_label: "Nachricht senden",
                offline_sent_text: "Danke! Wir antworten Ihnen per E-Mail.",
                transcript_label: "Verlauf per E-Mail senden",
                transcript_email_label: "Ihre E-Mail-Adresse",
                transcript_send_label: "Verlauf senden",
                transcript_sent_text: "Der Verlauf ist unterwegs in Ihr Postfach.",
                transcript_invalid_text: "Bitte prüfen Sie die Adresse: Der Verlauf geht nur an die Adresse, die Sie in diesem Gespräch angegeben haben.",
                transcript_limited_text: "Zu viele Anfragen. Bitte versuchen Sie es später noch einmal.",
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
                answer_later: "Gerade ist niemand online. Schreiben Sie uns trotzdem: Wir antworten hier, sobald jemand da ist.",
            },
        ),
        "fr" => (
            Texts {
                title: "Discutez avec nous",
                greeting: "Bonjour ! Comment pouvons-nous vous aider ?",
                placeholder: "Écrivez votre message…",
                offline_text: "Nous sommes absents pour le moment. Laissez un message, nous vous répondrons bientôt.",
                offline_name_label: "Votre nom",
                offline_email_label: "Votre adresse e-mail",
                offline_message_label: "Votre message",
                offline_send_label: "Envoyer le message",
                offline_sent_text: "Merci ! Nous vous répondrons par e-mail.",
                transcript_label: "M'envoyer la conversation par e-mail",
                transcript_email_label: "Votre adresse e-mail",
                transcript_send_label: "Envoyer la conversation",
                transcript_sent_text: "La conversation est en route vers votre boîte mail.",
                transcript_invalid_text: "Vérifiez l'adresse : la conversation est envoyée uniquement à l'adresse donnée dans cette conversation.",
                transcript_limited_text: "Trop de demandes. Réessayez plus tard.",
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
                answer_later: "Personne n'est en ligne pour le moment. Écrivez-nous quand même : nous répondrons ici dès que quelqu'un sera de retour.",
            },
        ),
        "es" => (
            Texts {
                title: "Chatea con nosotros",
                greeting: "¡Hola! ¿En qué podemos ayudarte?",
                placeholder: "Escribe tu mensaje…",
                offline_text: "Ahora no hay nadie disponible. Déjanos un mensaje y te responderemos pronto.",
                offline_name_label: "Tu nombre",
                offline_email_label: "Tu correo electrónico",
                offline_message_label: "Tu mensaje",
                offline_send_label: "Enviar mensaje",
                offline_sent_text: "¡Gracias! Te responderemos por correo electrónico.",
                transcript_label: "Enviarme la conversación por correo",
                transcript_email_label: "Tu correo electrónico",
                transcript_send_label: "Enviar la conversación",
                transcript_sent_text: "La conversación va de camino a tu correo.",
                transcript_invalid_text: "Revisa la dirección: la conversación solo se envía a la dirección que diste en esta conversación.",
                transcript_limited_text: "Demasiadas solicitudes. Inténtalo más tarde.",
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
                answer_later: "Ahora no hay nadie conectado. Escríbenos de todos modos: te responderemos aquí en cuanto alguien vuelva.",
            },
        ),
        _ => (
            Texts {
                title: "Chat with us",
                greeting: "Hi! How can we help?",
                placeholder: "Type your message…",
                offline_text: "We're offline right now. Leave a message and we'll get back to you.",
                offline_name_label: "Your name",
                offline_email_label: "Your email",
                offline_message_label: "Your message",
                offline_send_label: "Send message",
                offline_sent_text: "Thanks! We'll answer you by email.",
                transcript_label: "Email me the transcript",
                transcript_email_label: "Your email",
                transcript_send_label: "Send transcript",
                transcript_sent_text: "The transcript is on its way to your inbox.",
                transcript_invalid_text: "Please check the address: the transcript goes only to the address you gave in this conversation.",
                transcript_limited_text: "Too many requests. Please try again later.",
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
                answer_later: "Nobody is online right now. Write to us anyway: we'll answer here as soon as someone is back.",
            },
        ),
    }
}
