//! The WebChat configuration: fields, defaults, limits, the JSON Schema admins see, and validation.
//!
//! The schema and the checks read the same constants, and a test compares the two, so an admin is never
//! told one thing by the schema and another by a 422.

use std::collections::BTreeMap;

use natter_sdk::FieldError;
use natter_sdk::config::{Fields, hex_color, text};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::i18n::{self, LANGUAGES, Texts};

pub const DEFAULT_COLOR: &str = "#2563eb";
pub const DEFAULT_LANGUAGE: &str = "en";
pub const POSITIONS: &[&str] = &["right", "left"];
pub const LAUNCHERS: &[&str] = &["bubble", "tab"];

const TITLE_MAX: usize = 60;
const GREETING_MAX: usize = 500;
const PLACEHOLDER_MAX: usize = 80;
const OFFLINE_TEXT_MAX: usize = 500;
const LABEL_MAX: usize = 80;
const SENT_TEXT_MAX: usize = 300;

/// Every configurable text with its limits (name, min, max, line breaks allowed), as `Config::parse`
/// checks the main ones: the per-language `translations` are checked against this table.
const TEXT_FIELDS: &[(&str, usize, usize, bool)] = &[
    ("title", 1, TITLE_MAX, false),
    ("greeting", 0, GREETING_MAX, true),
    ("placeholder", 1, PLACEHOLDER_MAX, false),
    ("offline_text", 0, OFFLINE_TEXT_MAX, true),
    ("offline_name_label", 1, LABEL_MAX, false),
    ("offline_email_label", 1, LABEL_MAX, false),
    ("offline_message_label", 1, LABEL_MAX, false),
    ("offline_send_label", 1, LABEL_MAX, false),
    ("offline_sent_text", 1, SENT_TEXT_MAX, true),
    ("transcript_label", 1, LABEL_MAX, false),
    ("transcript_email_label", 1, LABEL_MAX, false),
    ("transcript_send_label", 1, LABEL_MAX, false),
    ("transcript_sent_text", 1, SENT_TEXT_MAX, true),
    ("transcript_invalid_text", 1, SENT_TEXT_MAX, true),
    ("transcript_limited_text", 1, SENT_TEXT_MAX, true),
];

/// The default of one text in one language's [`Texts`].
fn default_text(texts: &Texts, name: &str) -> &'static str {
    match name {
        "title" => texts.title,
        "greeting" => texts.greeting,
        "placeholder" => texts.placeholder,
        "offline_text" => texts.offline_text,
        "offline_name_label" => texts.offline_name_label,
        "offline_email_label" => texts.offline_email_label,
        "offline_message_label" => texts.offline_message_label,
        "offline_send_label" => texts.offline_send_label,
        "offline_sent_text" => texts.offline_sent_text,
        "transcript_label" => texts.transcript_label,
        "transcript_email_label" => texts.transcript_email_label,
        "transcript_send_label" => texts.transcript_send_label,
        "transcript_sent_text" => texts.transcript_sent_text,
        "transcript_invalid_text" => texts.transcript_invalid_text,
        _ => texts.transcript_limited_text,
    }
}

/// A configuration that passed validation, every field filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    pub color: String,
    pub title: String,
    pub greeting: String,
    pub placeholder: String,
    pub offline_text: String,
    /// Post `offline_text` into a conversation started while no agent is available.
    pub offline_reply: bool,
    pub offline_form: bool,
    pub offline_name_label: String,
    pub offline_email_label: String,
    pub offline_message_label: String,
    pub offline_send_label: String,
    pub offline_sent_text: String,
    /// The control that mails the visitor the transcript of their conversation.
    pub transcript_label: String,
    pub transcript_email_label: String,
    pub transcript_send_label: String,
    pub transcript_sent_text: String,
    /// Shown on a 422: a bad address, or not the one given in this conversation.
    pub transcript_invalid_text: String,
    /// Shown on a 429.
    pub transcript_limited_text: String,
    pub position: String,
    pub launcher: String,
    pub language: String,
    /// More languages: every text of each (the admin's, else that language's default), shown to
    /// visitors whose browser prefers it.
    pub translations: BTreeMap<String, BTreeMap<String, String>>,
}

impl Config {
    /// Reads an admin's document; absent texts take the defaults of the configured language.
    pub fn parse(json: &str) -> Result<Self, Vec<FieldError>> {
        // `translations` is an object of objects, which the SDK's field reader does not take: it is read
        // here, and the rest of the document goes to the reader.
        let (json, translations) = take_translations(json);
        let mut fields = Fields::parse(&json)?;
        let language = fields.one_of("language", DEFAULT_LANGUAGE, LANGUAGES);
        let translations = read_translations(translations, &language, &mut fields);
        let (texts, _) = i18n::strings(&language);
        let config = Self {
            color: fields.string("color", DEFAULT_COLOR, hex_color),
            title: fields.string("title", texts.title, |v| text(v, 1, TITLE_MAX, false)),
            greeting: fields.string("greeting", texts.greeting, |v| {
                text(v, 0, GREETING_MAX, true)
            }),
            placeholder: fields.string("placeholder", texts.placeholder, |v| {
                text(v, 1, PLACEHOLDER_MAX, false)
            }),
            offline_text: fields.string("offline_text", texts.offline_text, |v| {
                text(v, 0, OFFLINE_TEXT_MAX, true)
            }),
            offline_reply: fields.bool("offline_reply", false),
            offline_form: fields.bool("offline_form", true),
            offline_name_label: fields.string(
                "offline_name_label",
                texts.offline_name_label,
                |v| text(v, 1, LABEL_MAX, false),
            ),
            offline_email_label: fields.string(
                "offline_email_label",
                texts.offline_email_label,
                |v| text(v, 1, LABEL_MAX, false),
            ),
            offline_message_label: fields.string(
                "offline_message_label",
                texts.offline_message_label,
                |v| text(v, 1, LABEL_MAX, false),
            ),
            offline_send_label: fields.string(
                "offline_send_label",
                texts.offline_send_label,
                |v| text(v, 1, LABEL_MAX, false),
            ),
            offline_sent_text: fields.string("offline_sent_text", texts.offline_sent_text, |v| {
                text(v, 1, SENT_TEXT_MAX, true)
            }),
            transcript_label: fields.string("transcript_label", texts.transcript_label, |v| {
                text(v, 1, LABEL_MAX, false)
            }),
            transcript_email_label: fields.string(
                "transcript_email_label",
                texts.transcript_email_label,
                |v| text(v, 1, LABEL_MAX, false),
            ),
            transcript_send_label: fields.string(
                "transcript_send_label",
                texts.transcript_send_label,
                |v| text(v, 1, LABEL_MAX, false),
            ),
            transcript_sent_text: fields.string(
                "transcript_sent_text",
                texts.transcript_sent_text,
                |v| text(v, 1, SENT_TEXT_MAX, true),
            ),
            transcript_invalid_text: fields.string(
                "transcript_invalid_text",
                texts.transcript_invalid_text,
                |v| text(v, 1, SENT_TEXT_MAX, true),
            ),
            transcript_limited_text: fields.string(
                "transcript_limited_text",
                texts.transcript_limited_text,
                |v| text(v, 1, SENT_TEXT_MAX, true),
            ),
            position: fields.one_of("position", POSITIONS[0], POSITIONS),
            launcher: fields.one_of("launcher", LAUNCHERS[0], LAUNCHERS),
            language,
            translations,
        };
        fields.finish().map(|()| config)
    }
}

/// Splits `translations` off a document; anything that is not a JSON object goes on unchanged, for the
/// field reader to refuse.
fn take_translations(json: &str) -> (String, Option<Value>) {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(mut map)) => {
            let translations = map.remove("translations");
            (Value::Object(map).to_string(), translations)
        }
        _ => (json.to_owned(), None),
    }
}

/// Reads `translations`: `{ "de": { "greeting": "…" } }`, languages of [`LANGUAGES`] other than the main
/// one, texts of [`TEXT_FIELDS`] with their limits; each bad one is reported at its path
/// (`translations.de.greeting`). Texts left out take that language's defaults.
fn read_translations(
    value: Option<Value>,
    main: &str,
    fields: &mut Fields,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let languages = match value {
        None | Some(Value::Null) => return out,
        Some(Value::Object(map)) => map,
        Some(_) => {
            fields.error(
                "translations",
                "must be an object of languages, e.g. {\"de\": {\"greeting\": \"Hallo!\"}}",
            );
            return out;
        }
    };
    for (language, texts) in languages {
        let path = format!("translations.{language}");
        if !LANGUAGES.contains(&language.as_str()) {
            fields.error(
                &path,
                format!(
                    "is not a language the widget has; it has {}",
                    LANGUAGES.join(", ")
                ),
            );
            continue;
        }
        if language == main {
            fields.error(
                &path,
                "is the main language: its texts are the fields outside translations",
            );
            continue;
        }
        let Value::Object(texts) = texts else {
            fields.error(
                &path,
                "must be an object of texts, e.g. {\"greeting\": \"Hallo!\"}",
            );
            continue;
        };
        out.insert(
            language.clone(),
            read_texts(&language, &texts, &path, fields),
        );
    }
    out
}

/// One language's texts: the admin's where given and valid, that language's defaults otherwise.
fn read_texts(
    language: &str,
    given: &Map<String, Value>,
    path: &str,
    fields: &mut Fields,
) -> BTreeMap<String, String> {
    let (defaults, _) = i18n::strings(language);
    for name in given.keys() {
        if !TEXT_FIELDS.iter().any(|(known, ..)| known == name) {
            fields.error(&format!("{path}.{name}"), "is not a text of the widget");
        }
    }
    TEXT_FIELDS
        .iter()
        .map(|&(name, min, max, multiline)| {
            let default = default_text(&defaults, name);
            let value = match given.get(name) {
                None | Some(Value::Null) => default.to_owned(),
                Some(Value::String(value)) => match text(value, min, max, multiline) {
                    Ok(()) => value.clone(),
                    Err(message) => {
                        fields.error(&format!("{path}.{name}"), message);
                        default.to_owned()
                    }
                },
                Some(_) => {
                    fields.error(&format!("{path}.{name}"), "must be a string");
                    default.to_owned()
                }
            };
            (name.to_owned(), value)
        })
        .collect()
}

/// The JSON Schema (draft 2020-12) of the configuration. Text defaults are the English ones.
pub fn schema() -> Value {
    let (texts, _) = i18n::strings(DEFAULT_LANGUAGE);
    let text = |description: &str, default: &str, min: usize, max: usize| json!({ "type": "string", "description": description, "default": default, "minLength": min, "maxLength": max });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "natter:plugin/webchat/config",
        "title": "WebChat widget",
        // The host calls `on-visitor-event` only for these (see `on_visitor_event` in lib.rs): not after
        // every message.
        "x-natter-hook-events": ["conversation-started"],
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "color": {
                "type": "string",
                "description": "Main colour: launcher, header, the visitor's messages.",
                "pattern": "^#[0-9a-fA-F]{6}$",
                "default": DEFAULT_COLOR
            },
            "title": text("Window title; also the tab launcher's label.", texts.title, 1, TITLE_MAX),
            "greeting": text("First message shown in the window; empty for none.", texts.greeting, 0, GREETING_MAX),
            "placeholder": text("Hint in the empty message field.", texts.placeholder, 1, PLACEHOLDER_MAX),
            "offline_text": text(
                "Shown when no agent is available.",
                texts.offline_text, 0, OFFLINE_TEXT_MAX
            ),
            "offline_reply": {
                "type": "boolean",
                "description": "Also post the offline text as a message into a conversation started while no agent is available.",
                "default": false
            },
            "offline_form": {
                "type": "boolean",
                "description": "When no agent is available, offer a short form (name, email, message) that is stored as a conversation and mailed to the site's inbox (needs [mail] on the server).",
                "default": true
            },
            "offline_name_label": text("Offline form: the name field's label.", texts.offline_name_label, 1, LABEL_MAX),
            "offline_email_label": text("Offline form: the email field's label.", texts.offline_email_label, 1, LABEL_MAX),
            "offline_message_label": text("Offline form: the message field's label.", texts.offline_message_label, 1, LABEL_MAX),
            "offline_send_label": text("Offline form: the send button.", texts.offline_send_label, 1, LABEL_MAX),
            "offline_sent_text": text("Offline form: shown once the message was sent.", texts.offline_sent_text, 1, SENT_TEXT_MAX),
            "transcript_label": text("The control that mails the visitor the transcript of their conversation (shown while they have one; needs [mail] on the server).", texts.transcript_label, 1, LABEL_MAX),
            "transcript_email_label": text("Transcript: the email field's label, asked when the conversation has no address yet.", texts.transcript_email_label, 1, LABEL_MAX),
            "transcript_send_label": text("Transcript: the send button.", texts.transcript_send_label, 1, LABEL_MAX),
            "transcript_sent_text": text("Transcript: shown once it is on its way.", texts.transcript_sent_text, 1, SENT_TEXT_MAX),
            "transcript_invalid_text": text("Transcript: shown when the address is refused (not an address, or not the one given in this conversation).", texts.transcript_invalid_text, 1, SENT_TEXT_MAX),
            "transcript_limited_text": text("Transcript: shown when the visitor asked too often.", texts.transcript_limited_text, 1, SENT_TEXT_MAX),
            "position": {
                "type": "string",
                "description": "Corner of the page.",
                "enum": POSITIONS,
                "default": POSITIONS[0]
            },
            "launcher": {
                "type": "string",
                "description": "Launcher style: a round bubble or a tab on the bottom edge.",
                "enum": LAUNCHERS,
                "default": LAUNCHERS[0]
            },
            "language": {
                "type": "string",
                "description": "Language of the widget's labels, and of the texts left out.",
                "enum": LANGUAGES,
                "default": DEFAULT_LANGUAGE
            },
            "translations": translations_schema()
        }
    })
}

/// `translations`: more languages, each an object of texts without defaults of their own (left out, a text
/// is that language's default).
fn translations_schema() -> Value {
    let properties: Map<String, Value> = TEXT_FIELDS
        .iter()
        .map(|&(name, min, max, _)| {
            let main = &schema_text_description(name);
            (name.to_owned(), json!({ "type": "string", "description": main, "minLength": min, "maxLength": max }))
        })
        .collect();
    json!({
        "type": "object",
        "title": "Languages",
        "description": "More languages: visitors whose browser prefers one of them get its texts and labels (the script URL's &lang= can choose one too). A text left out is the widget's own in that language.",
        "propertyNames": { "enum": LANGUAGES },
        "additionalProperties": {
            "type": "object",
            "additionalProperties": false,
            "properties": properties
        },
        "default": {}
    })
}

/// A text's description in the per-language objects: the main field's, which says what it is.
fn schema_text_description(name: &str) -> String {
    match name {
        "title" => "Window title; also the tab launcher's label.",
        "greeting" => "First message shown in the window.",
        "placeholder" => "Hint in the empty message field.",
        "offline_text" => "Shown when no agent is available.",
        "offline_sent_text" => "Offline form: shown once the message was sent.",
        "transcript_sent_text" => "Transcript: shown once it is on its way.",
        _ => "",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::config::{Config, DEFAULT_COLOR, TEXT_FIELDS, schema};

    fn fields_of(errors: &[natter_sdk::FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn empty_config_is_the_schema_defaults() {
        let config = Config::parse("{}").expect("defaults are valid");
        let schema = schema();
        let as_json = serde_json::to_value(&config).expect("plain strings");
        let properties = schema["properties"].as_object().expect("properties");
        assert_eq!(properties.len(), as_json.as_object().map_or(0, |o| o.len()));
        for (name, property) in properties {
            assert_eq!(property["default"], as_json[name], "default of {name}");
        }
        assert_eq!(config.color, DEFAULT_COLOR);
    }

    #[test]
    fn texts_left_out_follow_the_language() {
        let config = Config::parse(r#"{"language":"de","title":"Hilfe"}"#).expect("valid");
        assert_eq!(config.title, "Hilfe");
        assert_eq!(config.placeholder, "Nachricht schreiben…");
    }

    #[test]
    fn names_every_bad_field() {
        let bad = json!({
            "color": "blue",
            "title": "",
            "greeting": "x".repeat(501),
            "placeholder": "two\nlines",
            "position": "top",
            "launcher": 3,
            "language": "xx",
            "font": "Comic Sans"
        });
        let errors = Config::parse(&bad.to_string()).expect_err("all bad");
        assert_eq!(
            fields_of(&errors),
            [
                "language",
                "color",
                "title",
                "greeting",
                "placeholder",
                "position",
                "launcher",
                "font"
            ]
        );
        assert!(
            errors[1].message.contains("#rrggbb") || errors[1].message.contains("six hex digits")
        );
        assert!(
            errors[3].message.contains("at most 500"),
            "{}",
            errors[3].message
        );
    }

    #[test]
    fn refuses_what_is_not_an_object() {
        assert_eq!(
            fields_of(&Config::parse("\"red\"").expect_err("string")),
            [""]
        );
        assert_eq!(
            fields_of(&Config::parse("{\"color\":").expect_err("broken")),
            [""]
        );
    }

    #[test]
    fn translations_fill_each_language_and_name_bad_texts_by_path() {
        let config =
            Config::parse(r#"{"translations":{"de":{"greeting":"Servus!"}}}"#).expect("valid");
        let de = &config.translations["de"];
        assert_eq!(de["greeting"], "Servus!");
        assert_eq!(
            de["placeholder"], "Nachricht schreiben…",
            "left out: the German default"
        );
        assert_eq!(de.len(), TEXT_FIELDS.len());

        let bad = json!({
            "translations": {
                "de": { "placeholder": "", "font": "x" },
                "en": { "greeting": "Hi" },
                "xx": {},
                "fr": "Bonjour"
            }
        });
        let errors = Config::parse(&bad.to_string()).expect_err("bad");
        assert_eq!(
            fields_of(&errors),
            [
                "translations.de.font",
                "translations.de.placeholder",
                "translations.en",
                "translations.fr",
                "translations.xx"
            ]
        );
        assert_eq!(
            fields_of(&Config::parse(r#"{"translations":[]}"#).expect_err("list")),
            ["translations"]
        );
    }

    #[test]
    fn the_translation_limits_are_the_main_texts_limits() {
        let schema = schema();
        for &(name, min, max, _) in TEXT_FIELDS {
            let main = &schema["properties"][name];
            assert_eq!(main["minLength"], min, "{name}");
            assert_eq!(main["maxLength"], max, "{name}");
            let per_language =
                &schema["properties"]["translations"]["additionalProperties"]["properties"][name];
            assert_eq!(per_language["maxLength"], max, "{name}");
        }
    }

    #[test]
    fn schema_limits_match_the_checks() {
        let schema: Value = schema();
        let max = |name: &str| {
            schema["properties"][name]["maxLength"]
                .as_u64()
                .unwrap_or(0) as usize
        };
        for field in [
            "title",
            "greeting",
            "placeholder",
            "offline_text",
            "offline_name_label",
            "offline_sent_text",
            "transcript_label",
            "transcript_sent_text",
        ] {
            let at_limit = json!({ field: "a".repeat(max(field)) }).to_string();
            let over = json!({ field: "a".repeat(max(field) + 1) }).to_string();
            assert!(Config::parse(&at_limit).is_ok(), "{field} at its limit");
            assert_eq!(fields_of(&Config::parse(&over).expect_err("over")), [field]);
        }
    }
}
