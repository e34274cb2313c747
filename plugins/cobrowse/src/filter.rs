//! The server-side filter every recorded rrweb event passes before it reaches an agent.
//!
//! The recorder already masks in the visitor's browser; this is the second line, for a recorder that was
//! tampered with or a page that changed under it. It drops events over the size cap, empties script
//! content and inline event handlers, and masks any input value of a sensitive field. Node ids learnt from
//! snapshots and mutations (which are sensitive, masked, or scripts) travel in the session's filter state,
//! since the plugin keeps nothing between calls.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::Config;

/// rrweb event types and incremental sources (`@rrweb/types`).
const FULL_SNAPSHOT: u64 = 2;
const INCREMENTAL: u64 = 3;
const MUTATION: u64 = 0;
const INPUT: u64 = 5;
/// rrweb serialised node types.
const ELEMENT: u64 = 2;
const TEXT: u64 = 3;

/// Card-field names and ids seen in the wild (lowercase substrings).
const CARD_NAMES: &[&str] = &[
    "card", "ccnum", "cc-num", "cc_num", "cvv", "cvc", "csc", "cc-exp", "cc_exp", "iban",
    "password", "passwd",
];

/// What the filter remembers about a session's nodes.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Form fields whose value must never pass.
    #[serde(default)]
    sensitive: BTreeSet<u64>,
    /// Elements and text nodes whose text is masked.
    #[serde(default)]
    masked: BTreeSet<u64>,
    /// Script elements and their text nodes.
    #[serde(default)]
    scripts: BTreeSet<u64>,
}

/// Filters one event: `None` drops it.
pub fn filter(config: &Config, state: &mut State, raw: &str) -> Result<Option<Value>, String> {
    if raw.len() as u64 > config.max_event_bytes {
        return Ok(None);
    }
    let mut event: Value =
        serde_json::from_str(raw).map_err(|e| format!("the event is not JSON: {e}"))?;
    let kind = event.get("type").and_then(Value::as_u64);
    let Some(data) = event.get_mut("data").and_then(Value::as_object_mut) else {
        return Ok(Some(event));
    };
    let masker = Masker { config };
    match kind {
        Some(FULL_SNAPSHOT) => {
            *state = State::default();
            if let Some(node) = data.get_mut("node") {
                masker.walk(state, node, false, false);
            }
        }
        Some(INCREMENTAL) => match data.get("source").and_then(Value::as_u64) {
            Some(MUTATION) => masker.mutation(state, data),
            Some(INPUT) => {
                let id = data.get("id").and_then(Value::as_u64);
                if id.is_some_and(|id| state.sensitive.contains(&id)) {
                    mask_string(data.get_mut("text"));
                }
            }
            _ => {}
        },
        _ => {}
    }
    Ok(Some(event))
}

struct Masker<'a> {
    config: &'a Config,
}

impl Masker<'_> {
    /// Walks a serialised node tree; `masked` / `script` say whether an ancestor is one.
    fn walk(&self, state: &mut State, node: &mut Value, masked: bool, script: bool) {
        let Some(obj) = node.as_object_mut() else {
            return;
        };
        let id = obj.get("id").and_then(Value::as_u64);
        let kind = obj.get("type").and_then(Value::as_u64);
        let (mut masked, mut script) = (masked, script);
        match kind {
            Some(ELEMENT) => {
                let tag = obj
                    .get("tagName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let attributes = obj.get("attributes").and_then(Value::as_object);
                masked |= attributes.is_some_and(|a| self.masks(&tag, a));
                script |= tag == "script";
                let field = matches!(tag.as_str(), "input" | "textarea" | "select");
                let sensitive = field && (masked || attributes.is_some_and(|a| sensitive_field(a)));
                if let Some(attributes) = obj.get_mut("attributes").and_then(Value::as_object_mut) {
                    attributes.retain(|name, _| !name.to_ascii_lowercase().starts_with("on"));
                    if sensitive {
                        mask_string(attributes.get_mut("value"));
                    }
                }
                if let Some(id) = id {
                    if sensitive {
                        state.sensitive.insert(id);
                    }
                    if masked {
                        state.masked.insert(id);
                    }
                    if script {
                        state.scripts.insert(id);
                    }
                }
            }
            Some(TEXT) => {
                if script {
                    obj.insert("textContent".to_owned(), Value::String(String::new()));
                } else if masked {
                    mask_string(obj.get_mut("textContent"));
                }
                if let Some(id) = id {
                    if script {
                        state.scripts.insert(id);
                    }
                    if masked {
                        state.masked.insert(id);
                    }
                }
            }
            _ => {}
        }
        if let Some(children) = obj.get_mut("childNodes").and_then(Value::as_array_mut) {
            for child in children {
                self.walk(state, child, masked, script);
            }
        }
    }

    fn mutation(&self, state: &mut State, data: &mut Map<String, Value>) {
        if let Some(adds) = data.get_mut("adds").and_then(Value::as_array_mut) {
            for add in adds {
                let parent = add.get("parentId").and_then(Value::as_u64);
                let masked = parent.is_some_and(|p| state.masked.contains(&p));
                let script = parent.is_some_and(|p| state.scripts.contains(&p));
                if let Some(node) = add.get_mut("node") {
                    self.walk(state, node, masked, script);
                }
            }
        }
        if let Some(texts) = data.get_mut("texts").and_then(Value::as_array_mut) {
            for text in texts {
                let id = text.get("id").and_then(Value::as_u64);
                if id.is_some_and(|id| state.scripts.contains(&id)) {
                    if let Some(t) = text.as_object_mut() {
                        t.insert("value".to_owned(), Value::String(String::new()));
                    }
                } else if id.is_some_and(|id| state.masked.contains(&id)) {
                    mask_string(text.get_mut("value"));
                }
            }
        }
        if let Some(changes) = data.get_mut("attributes").and_then(Value::as_array_mut) {
            for change in changes {
                let id = change.get("id").and_then(Value::as_u64);
                let sensitive = id.is_some_and(|id| state.sensitive.contains(&id));
                if let Some(attributes) =
                    change.get_mut("attributes").and_then(Value::as_object_mut)
                {
                    attributes.retain(|name, _| !name.to_ascii_lowercase().starts_with("on"));
                    if sensitive {
                        mask_string(attributes.get_mut("value"));
                    }
                }
            }
        }
    }

    /// Whether an element is masked with all it contains: `data-natter-mask`, or a configured selector
    /// of the simple forms the filter understands (`#id`, `.class`, `tag`, `[attr]`, `[attr="value"]`).
    /// The recorder applies the configured selectors in full in the browser.
    fn masks(&self, tag: &str, attributes: &Map<String, Value>) -> bool {
        attributes.contains_key("data-natter-mask")
            || self
                .config
                .mask_selectors
                .iter()
                .flat_map(|s| s.split(','))
                .any(|s| simple_selector_matches(s.trim(), tag, attributes))
    }
}

/// Password fields, payment-card fields (by `autocomplete` and common names) and anything with
/// `data-natter-mask`.
fn sensitive_field(attributes: &Map<String, Value>) -> bool {
    let attr = |name: &str| {
        attributes
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    attr("type") == "password"
        || attr("autocomplete")
            .split_whitespace()
            .any(|token| token.starts_with("cc-") || token.contains("password"))
        || ["name", "id"]
            .iter()
            .any(|a| CARD_NAMES.iter().any(|n| attr(a).contains(n)))
        || attributes.contains_key("data-natter-mask")
}

fn simple_selector_matches(selector: &str, tag: &str, attributes: &Map<String, Value>) -> bool {
    let attr = |name: &str| attributes.get(name).and_then(Value::as_str);
    if let Some(id) = selector.strip_prefix('#') {
        attr("id") == Some(id)
    } else if let Some(class) = selector.strip_prefix('.') {
        attr("class").is_some_and(|c| c.split_whitespace().any(|c| c == class))
    } else if let Some(inner) = selector.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        match inner.split_once('=') {
            Some((name, value)) => {
                let value = value.trim_matches(|c| c == '"' || c == '\'');
                attr(name.trim()) == Some(value)
            }
            None => attributes.contains_key(inner.trim()),
        }
    } else {
        !selector.is_empty()
            && selector
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            && selector.eq_ignore_ascii_case(tag)
    }
}

/// Replaces a string with as many `*` (rrweb's own mask), so the layout of the replay stays the same.
fn mask_string(value: Option<&mut Value>) {
    if let Some(v) = value
        && let Some(text) = v.as_str()
    {
        *v = Value::String("*".repeat(text.chars().count()));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::config::Config;
    use crate::filter::{State, filter};

    fn config() -> Config {
        Config::parse(r##"{"mask_selectors":["#secret-note"],"max_event_bytes":2048}"##)
            .expect("config")
    }

    fn run(state: &mut State, event: &Value) -> Option<Value> {
        filter(&config(), state, &event.to_string()).expect("filtered")
    }

    fn snapshot() -> Value {
        json!({"type": 2, "timestamp": 1, "data": {"initialOffset": {"top": 0, "left": 0}, "node":
        {"type": 0, "id": 1, "childNodes": [
            {"type": 2, "id": 2, "tagName": "input", "attributes": {"type": "password", "value": "hunter2"}, "childNodes": []},
            {"type": 2, "id": 3, "tagName": "input", "attributes": {"name": "cardnumber", "value": "4111111111111111"}, "childNodes": []},
            {"type": 2, "id": 4, "tagName": "input", "attributes": {"autocomplete": "billing cc-csc", "value": "123"}, "childNodes": []},
            {"type": 2, "id": 5, "tagName": "input", "attributes": {"name": "city", "value": "Lyon", "onfocus": "steal()"}, "childNodes": []},
            {"type": 2, "id": 6, "tagName": "script", "attributes": {}, "childNodes": [
                {"type": 3, "id": 7, "textContent": "var token = 'abc';"}]},
            {"type": 2, "id": 8, "tagName": "div", "attributes": {"data-natter-mask": ""}, "childNodes": [
                {"type": 3, "id": 9, "textContent": "IBAN FR76"},
                {"type": 2, "id": 10, "tagName": "input", "attributes": {"value": "FR76 3000"}, "childNodes": []}]},
            {"type": 2, "id": 11, "tagName": "p", "attributes": {"id": "secret-note"}, "childNodes": [
                {"type": 3, "id": 12, "textContent": "private"}]}
        ]}}})
    }

    #[test]
    fn a_snapshot_loses_sensitive_values_scripts_and_handlers() {
        let mut state = State::default();
        let out = run(&mut state, &snapshot()).expect("kept").to_string();
        for secret in [
            "hunter2",
            "4111111111111111",
            "\"123\"",
            "var token",
            "IBAN",
            "FR76",
            "private",
            "steal",
        ] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        assert!(out.contains("\"Lyon\""), "normal values stay: {out}");
        assert!(out.contains("*******"), "masked like rrweb: {out}");
    }

    #[test]
    fn an_input_event_of_a_sensitive_field_is_masked_and_others_pass() {
        let mut state = State::default();
        run(&mut state, &snapshot());
        let input = |id: u64, text: &str| json!({"type": 3, "timestamp": 2, "data": {"source": 5, "id": id, "text": text, "isChecked": false}});
        for id in [2, 3, 4, 10] {
            let out = run(&mut state, &input(id, "s3cret")).expect("kept");
            assert_eq!(out["data"]["text"], "******", "field {id}");
        }
        let out = run(&mut state, &input(5, "Paris")).expect("kept");
        assert_eq!(out["data"]["text"], "Paris");
    }

    #[test]
    fn a_mutation_adding_a_script_or_a_password_field_is_cleaned() {
        let mut state = State::default();
        run(&mut state, &snapshot());
        let mutation = json!({"type": 3, "timestamp": 3, "data": {"source": 0,
            "adds": [
                {"parentId": 1, "nextId": null, "node": {"type": 2, "id": 20, "tagName": "script", "attributes": {}, "childNodes": [
                    {"type": 3, "id": 21, "textContent": "exfiltrate()"}]}},
                {"parentId": 1, "nextId": null, "node": {"type": 2, "id": 22, "tagName": "input", "attributes": {"type": "password", "value": "pw1"}, "childNodes": []}},
                {"parentId": 8, "nextId": null, "node": {"type": 3, "id": 23, "textContent": "masked too"}}
            ],
            "texts": [{"id": 7, "value": "new script text"}, {"id": 12, "value": "still private"}],
            "attributes": [{"id": 2, "attributes": {"value": "pw2"}}],
            "removes": []}});
        let out = run(&mut state, &mutation).expect("kept").to_string();
        for secret in [
            "exfiltrate",
            "pw1",
            "pw2",
            "masked too",
            "new script text",
            "still private",
        ] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        let later = json!({"type": 3, "timestamp": 4, "data": {"source": 5, "id": 22, "text": "typed", "isChecked": false}});
        assert_eq!(
            run(&mut state, &later).expect("kept")["data"]["text"],
            "*****"
        );
    }

    #[test]
    fn an_oversized_event_is_dropped() {
        let mut state = State::default();
        let big = json!({"type": 3, "timestamp": 5, "data": {"source": 0, "adds": [], "texts": [
            {"id": 99, "value": "x".repeat(4096)}], "attributes": [], "removes": []}});
        assert_eq!(run(&mut state, &big), None);
    }

    #[test]
    fn not_json_is_an_error() {
        assert!(filter(&config(), &mut State::default(), "{").is_err());
    }
}
