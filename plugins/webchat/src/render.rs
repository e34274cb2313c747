//! Rendering `widget.js`: the script template with the configuration, labels, endpoints and styles
//! injected as one JSON literal.
//!
//! Values are data, never code: [`natter_sdk::script::inject`] escapes everything that could end the script
//! or a line, so admin texts such as `</script>` stay text.

use natter_sdk::widget::{RenderContext, Rendered};
use serde_json::json;

use crate::config::Config;
use crate::i18n;

const TEMPLATE: &str = include_str!("../assets/widget.js");
const STYLE: &str = include_str!("../assets/widget.css");
/// The only identifier in the template that is not JavaScript of its own.
const PLACEHOLDER: &str = "__NATTER_BOOT__";

pub fn render(config: &Config, ctx: &RenderContext) -> Result<Rendered, String> {
    let (_, ui) = i18n::strings(&config.language);
    // The labels of every further language, for visitors whose browser prefers one of them.
    let languages: serde_json::Map<String, serde_json::Value> = config
        .translations
        .keys()
        .map(|language| {
            let (_, labels) = i18n::strings(language);
            serde_json::to_value(labels).map(|labels| (language.clone(), labels))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let boot = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "config": serde_json::to_value(config).map_err(|e| e.to_string())?,
        "i18n": serde_json::to_value(ui).map_err(|e| e.to_string())?,
        "languages": languages,
        "on_color": on_color(&config.color),
        "ctx": { "site_key": ctx.site_key, "base_url": ctx.base_url, "ws_url": ctx.ws_url },
        "css": STYLE,
    });
    let script = natter_sdk::script::inject(TEMPLATE, PLACEHOLDER, &boot)?;
    Ok(Rendered {
        script,
        style: STYLE.to_owned(),
        markup: None,
    })
}

/// Text colour on the configured colour: white or near-black, whichever contrasts more (WCAG luminance).
pub fn on_color(hex: &str) -> &'static str {
    let channel = |i: usize| {
        let value = hex
            .get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
        let c = f64::from(value) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    let dark = 0.0137; // relative luminance of #111827
    let on_white = 1.05 / (luminance + 0.05);
    let on_dark = (luminance + 0.05) / (dark + 0.05);
    if on_white >= on_dark {
        "#ffffff"
    } else {
        "#111827"
    }
}

#[cfg(test)]
mod tests {
    use natter_sdk::widget::RenderContext;

    use crate::config::Config;
    use crate::render::{PLACEHOLDER, TEMPLATE, on_color, render};

    fn ctx() -> RenderContext {
        RenderContext {
            site_key: "site-1".to_owned(),
            base_url: "https://chat.example.com".to_owned(),
            ws_url: "wss://chat.example.com/ws/visitor".to_owned(),
        }
    }

    #[test]
    fn the_template_has_one_placeholder() {
        assert_eq!(TEMPLATE.matches(PLACEHOLDER).count(), 1);
    }

    #[test]
    fn admin_texts_cannot_break_out_of_the_script() {
        let config = Config::parse(
            r#"{"title":"</script><script>alert(1)</script>","greeting":"<!-- \u2028"}"#,
        )
        .expect("texts are free");
        let rendered = render(&config, &ctx()).expect("renders");
        assert!(!rendered.script.contains("</script>"));
        assert!(!rendered.script.contains("<!--"));
        assert!(!rendered.script.contains('\u{2028}'));
        assert!(!rendered.script.contains(PLACEHOLDER));
        assert!(rendered.script.contains("\\u003c/script\\u003e"));
    }

    #[test]
    fn carries_the_configuration_and_endpoints() {
        let config = Config::parse(r##"{"color":"#ff0000","position":"left"}"##).expect("valid");
        let script = render(&config, &ctx()).expect("renders").script;
        for expected in [
            r##""color":"#ff0000""##,
            r#""position":"left""#,
            r#""site_key":"site-1""#,
        ] {
            assert!(script.contains(expected), "{expected}");
        }
    }

    #[test]
    fn carries_the_labels_of_each_further_language() {
        let config =
            Config::parse(r#"{"translations":{"de":{"greeting":"Servus!"}}}"#).expect("valid");
        let script = render(&config, &ctx()).expect("renders").script;
        assert!(script.contains(r#""greeting":"Servus!""#));
        assert!(script.contains(r#""languages":{"de":{"#));
    }

    #[test]
    fn picks_a_readable_text_colour() {
        assert_eq!(on_color("#2563eb"), "#ffffff");
        assert_eq!(on_color("#000000"), "#ffffff");
        assert_eq!(on_color("#fde047"), "#111827");
        assert_eq!(on_color("#ffffff"), "#111827");
    }
}
