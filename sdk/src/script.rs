//! Putting values into a script the browser will run, as data and never as code.
//!
//! A widget's loader script is a template with one placeholder; the values go in as a JSON literal whose
//! `<`, `>`, `&`, U+2028 and U+2029 are escaped, so no configured text can close a `<script>` element, open
//! an HTML comment or end a JavaScript line early, whether the script is served alone or inlined in a page.

use serde_json::Value;

/// `value` as a JavaScript expression that is safe inside a `<script>` element.
pub fn json_literal(value: &Value) -> String {
    // Serialising a `Value` cannot fail: its keys are strings already.
    let json = value.to_string();
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces the one `placeholder` in `template` with [`json_literal`]`(value)`.
///
/// Fails if the placeholder is missing or appears more than once, which is a bug in the plugin's template.
pub fn inject(template: &str, placeholder: &str, value: &Value) -> Result<String, String> {
    let Some(at) = template.find(placeholder) else {
        return Err(format!("the script template has no {placeholder}"));
    };
    let after = at + placeholder.len();
    if template[after..].contains(placeholder) {
        return Err(format!(
            "the script template has {placeholder} more than once"
        ));
    }
    Ok([&template[..at], &json_literal(value), &template[after..]].concat())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::script::{inject, json_literal};

    #[test]
    fn escapes_what_could_end_a_script_or_a_line() {
        let literal = json_literal(&json!({"t": "</script><!-- & \u{2028}\u{2029}"}));
        for bad in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
            assert!(!literal.contains(bad), "{literal}");
        }
        let back: serde_json::Value = serde_json::from_str(&literal).expect("still JSON");
        assert_eq!(back["t"], "</script><!-- & \u{2028}\u{2029}");
    }

    #[test]
    fn injects_exactly_once() {
        assert_eq!(
            inject("f(@X@);", "@X@", &json!([1])).as_deref(),
            Ok("f([1]);")
        );
        assert!(inject("f();", "@X@", &json!(1)).is_err());
        assert!(inject("@X@@X@", "@X@", &json!(1)).is_err());
    }
}
