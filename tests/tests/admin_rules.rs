//! The admin console's Action Rules and visibility pages in a real browser, as an admin uses them:
//! a custom rule with a syntax error marked at its line, an opening-hours rule explained by the
//! test runner either side of opening time, reordering and disabling rules, and adding and removing
//! an override. Screenshots of each step go to `test-artifacts/<test>/`.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use fantoccini::key::Key;
use natter_tests::browser::{Artifacts, Browser, Chromedriver, tools_or_skip};
use natter_tests::{Api, TestServer};
use serde_json::{Value, json};

const EMAIL: &str = "root@example.com"; // the address `create_agent_with_password("root", …)` gives
const PASSWORD: &str = "a long enough secret";

/// The console, signed in as a fresh admin, on `#/<section>` at 1280 px.
async fn admin_browser(
    server: &TestServer,
    driver: &Chromedriver,
    artifacts: &Artifacts,
    section: &str,
) -> Browser {
    let api = server.admin().await;
    api.create_admin_with_password("root", PASSWORD).await;
    let browser = driver.browser("admin", artifacts).await.unwrap();
    browser.resize(1280, 900).await.unwrap();
    browser.goto(&server.url("/agent/")).await.unwrap();
    browser.sign_in(EMAIL, PASSWORD).await;
    browser
        .wait_for("the admin link for an admin", "[data-testid=admin-link]")
        .await;
    browser
        .goto(&server.url(&format!("/agent/admin#/{section}")))
        .await
        .unwrap();
    browser
}

/// Sets a form control's value as a person picking it would (date/time inputs take typed keys
/// in a locale-dependent order, so the value is set and an `input` event fired).
async fn set_value(browser: &Browser, css: &str, value: &str) {
    browser
        .wait_js(
            &format!("{css} set to {value}"),
            "const e = document.querySelector(arguments[0]); if (!e) return false; e.value = arguments[1]; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return e.value === arguments[1];",
            vec![json!(css), json!(value)],
        )
        .await;
}

async fn select(browser: &Browser, what: &str, css: &str, value: &str) {
    browser
        .wait_for(what, css)
        .await
        .select_by_value(value)
        .await
        .unwrap();
}

/// The rules as REST lists them: (name, enabled), in order.
async fn rules(api: &Api) -> Vec<(String, bool)> {
    api.get("/api/v1/rules")
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["enabled"].as_bool().unwrap(),
            )
        })
        .collect()
}

const RULE_NAMES: &str = "return Array.from(document.querySelectorAll('[data-testid=rule-row] [data-testid=rule-name-text]')).map(n => n.textContent);";

/// The line (1-based) of the editor's error underline and whether the gutter shows a marker.
const ERROR_MARK: &str = "const root = document.querySelector('[data-testid=rule-editor]').shadowRoot; \
    const mark = root && root.querySelector('.cm-lintRange-error'); if (!mark) return null; \
    const line = mark.closest('.cm-line'); const lines = Array.from(root.querySelectorAll('.cm-content > .cm-line')); \
    const gutter = root.querySelector('.cm-lint-marker-error'); \
    return { line: lines.indexOf(line) + 1, gutter: gutter !== null, text: line.textContent };";

/// Empties the editor as a person would with the keyboard: a click below the last line puts the cursor
/// at the end, then Backspace until nothing is left (the scripts here are far shorter than that).
async fn clear_editor(editor: &fantoccini::elements::Element) {
    editor.click().await.unwrap();
    editor
        .send_keys(&Key::Backspace.to_string().repeat(600))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_rhai_syntax_error_is_marked_at_its_line_before_saving() {
    let Some(tools) = tools_or_skip("admin_rules_syntax_error") else {
        return;
    };
    let artifacts = Artifacts::for_test("admin_rules_syntax_error").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    let driver = Chromedriver::start(&tools).await.unwrap();
    let browser = admin_browser(&server, &driver, &artifacts, "rules").await;

    select(&browser, "the rule kind", "[data-testid=rule-kind]", "").await;
    let name = browser
        .wait_for("the name field", "[data-testid=rule-name]")
        .await;
    name.clear().await.unwrap();
    name.send_keys("Careers pages").await.unwrap();
    let editor = browser
        .element_from(
            "the editor's text area (in its shadow root)",
            "const r = document.querySelector('[data-testid=rule-editor]').shadowRoot; return r && r.querySelector('.cm-content');",
            vec![],
        )
        .await;
    clear_editor(&editor).await;
    // Line 3 misses the condition's closing brace before `else`.
    editor
        .send_keys("// hide on the careers pages\nlet careers = visitor.url.contains(\"/careers\");\nif careers { hide() else { no_opinion() }\n")
        .await
        .unwrap();
    let mark = browser
        .wait_js("the editor marks the compile error", ERROR_MARK, vec![])
        .await;
    // The marked line is the broken statement, line 3, and the message under the editor names it.
    assert!(
        mark["text"]
            .as_str()
            .is_some_and(|text| text.starts_with("if careers {")),
        "{mark}"
    );
    assert_eq!(mark["gutter"], true, "{mark}");
    assert_eq!(mark["line"], 3, "{mark}");
    let message = browser
        .wait_for(
            "the error under the editor",
            "[data-testid=script-error]:not([hidden])",
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(message.starts_with("Line 3, column"), "{message}");
    browser.screenshot("syntax-error-marked").await.unwrap();

    // Saving is refused before anything is stored.
    browser
        .click("the save button", "[data-testid=rule-save]")
        .await;
    browser
        .wait_js(
            "the form says the script does not compile",
            "return document.querySelector('[data-testid=rule-form-status]').textContent.includes('does not compile');",
            vec![],
        )
        .await;
    assert!(rules(&api).await.is_empty());

    // Fixed, it saves and is listed, its name shown as text.
    let editor = browser
        .element_from(
            "the editor's text area",
            "const r = document.querySelector('[data-testid=rule-editor]').shadowRoot; return r && r.querySelector('.cm-content');",
            vec![],
        )
        .await;
    clear_editor(&editor).await;
    editor
        .send_keys("if visitor.url.contains(\"/careers\") { hide() } else { no_opinion() }")
        .await
        .unwrap();
    browser
        .wait_js(
            "the error marker goes away",
            "return document.querySelector('[data-testid=script-error]').hidden;",
            vec![],
        )
        .await;
    browser
        .click("the save button", "[data-testid=rule-save]")
        .await;
    browser
        .wait_js(
            "the rule is listed",
            "return document.querySelectorAll('[data-testid=rule-row]').length === 1;",
            vec![],
        )
        .await;
    assert_eq!(rules(&api).await, [("Careers pages".to_string(), true)]);
    browser.screenshot("rule-saved").await.unwrap();
    browser.close().await.unwrap();
    server.stop().await;
}

/// Runs the test runner at `local` (New York) and returns the verdict, decided-by and reasons once
/// they are about `time` (HH:MM).
async fn run_test_at(browser: &Browser, local: &str, time: &str) -> Value {
    set_value(browser, "[data-testid=test-local-time]", local).await;
    browser
        .click("run the test", "[data-testid=test-run]")
        .await;
    browser
        .wait_js(
            &format!("the test runner explains {local}"),
            "const v = document.querySelector('[data-testid=test-verdict]'); if (!v) return null; \
             const reasons = Array.from(document.querySelectorAll('[data-testid=test-reason]')).map(n => n.textContent); \
             if (!reasons.some(r => r.includes(arguments[0]))) return null; \
             return { verdict: v.textContent, visible: v.dataset.visible, by: document.querySelector('[data-testid=test-decided-by]').textContent, reasons };",
            vec![json!(time)],
        )
        .await
}

#[tokio::test]
async fn opening_hours_in_new_york_are_explained_at_8_59_and_9_01() {
    let Some(tools) = tools_or_skip("admin_rules_opening_hours") else {
        return;
    };
    let artifacts = Artifacts::for_test("admin_rules_opening_hours").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    let driver = Chromedriver::start(&tools).await.unwrap();
    let browser = admin_browser(&server, &driver, &artifacts, "rules").await;

    select(
        &browser,
        "the rule kind",
        "[data-testid=rule-kind]",
        "opening_hours",
    )
    .await;
    let name = browser
        .wait_for("the name field", "[data-testid=rule-name]")
        .await;
    name.clear().await.unwrap();
    name.send_keys("Office hours").await.unwrap();
    select(
        &browser,
        "the rule's time zone",
        "[data-testid=param-timezone]",
        "America/New_York",
    )
    .await;
    // The week form starts at Monday to Friday, 09:00 to 17:00.
    for (css, want) in [
        ("[data-testid=hours-mon-0-from]", "09:00"),
        ("[data-testid=hours-fri-0-to]", "17:00"),
    ] {
        let value = browser
            .wait_for(css, css)
            .await
            .prop("value")
            .await
            .unwrap();
        assert_eq!(value.as_deref(), Some(want), "{css}");
    }
    browser
        .click("add a holiday", "[data-testid=add-holiday]")
        .await;
    set_value(&browser, "[data-testid=hours-holidays] input", "2026-12-25").await;
    let spec = browser
        .wait_for("the hours as text", "[data-testid=hours-spec]")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(spec, "mon-fri 09:00-17:00; 2026-12-25 closed");
    browser.screenshot("opening-hours-form").await.unwrap();
    browser
        .click("add the rule", "[data-testid=rule-save]")
        .await;
    browser
        .wait_js(
            "the rule is listed",
            "return document.querySelectorAll('[data-testid=rule-row]').length === 1;",
            vec![],
        )
        .await;
    let stored = api.get("/api/v1/rules").await.unwrap();
    assert_eq!(
        stored[0]["params"],
        json!({"spec": "mon-fri 09:00-17:00; 2026-12-25 closed", "timezone": "America/New_York", "when_closed": "hide"})
    );

    // The test runner, in New York, on a Thursday.
    select(
        &browser,
        "the test's time zone",
        "[data-testid=test-timezone]",
        "America/New_York",
    )
    .await;
    let before = run_test_at(&browser, "2026-12-03T08:59", "08:59").await;
    assert_eq!(before["visible"], "false", "{before}");
    assert_eq!(before["verdict"], "Hidden");
    assert_eq!(before["by"], "Decided by the rule “Office hours”.");
    assert_eq!(
        before["reasons"][0],
        " — closed at Thu 2026-12-03 08:59 in America/New_York (hours \"mon-fri 09:00-17:00; 2026-12-25 closed\"): hide"
    );
    browser.screenshot("test-08-59-hidden").await.unwrap();

    let after = run_test_at(&browser, "2026-12-03T09:01", "09:01").await;
    assert_eq!(after["visible"], "true", "{after}");
    assert_eq!(after["verdict"], "Visible");
    assert_eq!(after["by"], "Decided by the rule “Office hours”.");
    assert_eq!(
        after["reasons"][0],
        " — open at Thu 2026-12-03 09:01 in America/New_York (hours \"mon-fri 09:00-17:00; 2026-12-25 closed\"): show"
    );
    browser.screenshot("test-09-01-visible").await.unwrap();

    // Usable at 768 px: the runner's button is still on screen and clickable.
    browser.resize(768, 1000).await.unwrap();
    browser
        .click("run the test at 768 px", "[data-testid=test-run]")
        .await;
    browser.screenshot("test-runner-768").await.unwrap();
    browser.close().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn rules_are_reordered_and_disabled_from_the_list() {
    let Some(tools) = tools_or_skip("admin_rules_reorder_disable") else {
        return;
    };
    let artifacts = Artifacts::for_test("admin_rules_reorder_disable").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    for (name, builtin) in [
        ("First visits", "nth_visit"),
        ("<b>Patience</b>", "seconds_on_page"),
        ("Staffed", "any_agent_online"),
    ] {
        api.post("/api/v1/rules", json!({"name": name, "builtin": builtin}))
            .await
            .unwrap();
    }
    let driver = Chromedriver::start(&tools).await.unwrap();
    let browser = admin_browser(&server, &driver, &artifacts, "rules").await;
    let names = browser
        .wait_js(
            "the three rules are listed",
            &format!("const n = (function() {{ {RULE_NAMES} }})(); return n.length === 3 && n;"),
            vec![],
        )
        .await;
    // The admin's text is shown as text.
    assert_eq!(names, json!(["First visits", "<b>Patience</b>", "Staffed"]));
    browser.screenshot("three-rules").await.unwrap();

    // "Staffed" moves up with the button, then again with Alt+Up from the keyboard.
    browser
        .click(
            "move Staffed up",
            "[data-testid=rule-row]:nth-child(3) [data-testid=rule-up]",
        )
        .await;
    browser
        .wait_js(
            "Staffed is second",
            &format!("const n = (function() {{ {RULE_NAMES} }})(); return n[1] === 'Staffed';"),
            vec![],
        )
        .await;
    let focused = browser
        .js(
            "return document.activeElement.getAttribute('aria-label');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused, "Move “Staffed” up", "focus follows the moved rule");
    let up = browser
        .wait_for(
            "Staffed's up button",
            "[data-testid=rule-row]:nth-child(2) [data-testid=rule-up]",
        )
        .await;
    up.send_keys(&format!("{}{}", Key::Alt, Key::Up))
        .await
        .unwrap();
    browser
        .wait_js(
            "Staffed is first",
            &format!("const n = (function() {{ {RULE_NAMES} }})(); return n[0] === 'Staffed';"),
            vec![],
        )
        .await;
    let order: Vec<String> = rules(&api).await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(order, ["Staffed", "First visits", "<b>Patience</b>"]);
    browser.screenshot("reordered").await.unwrap();

    // Disable "First visits".
    browser
        .click(
            "disable First visits",
            "[data-testid=rule-row]:nth-child(2) [data-testid=rule-enabled]",
        )
        .await;
    browser
        .wait_js(
            "First visits is shown disabled",
            "const r = document.querySelector('[data-testid=rule-row]:nth-child(2)'); return r && r.dataset.enabled === 'false';",
            vec![],
        )
        .await;
    assert_eq!(
        rules(&api).await,
        [
            ("Staffed".to_string(), true),
            ("First visits".to_string(), false),
            ("<b>Patience</b>".to_string(), true),
        ]
    );
    browser.screenshot("disabled").await.unwrap();

    // Delete asks first.
    browser
        .click(
            "delete Patience",
            "[data-testid=rule-row]:nth-child(3) [data-testid=rule-delete]",
        )
        .await;
    browser
        .click("confirm", "[data-testid=rule-delete-confirm]")
        .await;
    browser
        .wait_js(
            "two rules are left",
            "return document.querySelectorAll('[data-testid=rule-row]').length === 2;",
            vec![],
        )
        .await;
    assert_eq!(rules(&api).await.len(), 2);
    browser.resize(768, 1000).await.unwrap();
    browser.screenshot("list-768").await.unwrap();
    browser.close().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn an_override_is_added_explained_and_removed() {
    let Some(tools) = tools_or_skip("admin_rules_override") else {
        return;
    };
    let artifacts = Artifacts::for_test("admin_rules_override").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    let site = server.site_key().await;
    let (_ws, welcome) = server.visitor(&site, None, None).await;
    let visitor_id = welcome["visitor_id"].as_str().unwrap().to_string();
    let driver = Chromedriver::start(&tools).await.unwrap();
    let browser = admin_browser(&server, &driver, &artifacts, "visibility").await;
    browser
        .wait_js(
            "the empty override list",
            "return document.querySelector('[data-testid=override-list]') !== null && document.querySelectorAll('[data-testid=override-row]').length === 0;",
            vec![],
        )
        .await;

    select(
        &browser,
        "the override's scope",
        "[data-testid=override-scope]",
        "visitor",
    )
    .await;
    browser
        .wait_for("the target field", "[data-testid=override-id]")
        .await
        .send_keys(&visitor_id)
        .await
        .unwrap();
    select(
        &browser,
        "the override's action",
        "[data-testid=override-action-input]",
        "hide",
    )
    .await;
    browser
        .click("add the override", "[data-testid=override-add]")
        .await;
    browser
        .wait_js(
            "the override is listed",
            "const r = document.querySelector('[data-testid=override-row]'); return r && r.dataset.target === arguments[0] && r.dataset.scope === 'visitor';",
            vec![json!(visitor_id)],
        )
        .await;
    let stored = api.get("/api/v1/visibility").await.unwrap();
    assert_eq!(stored[0]["action"], "hide");
    assert_eq!(stored[0]["id"], visitor_id);
    browser.screenshot("override-added").await.unwrap();

    // What does this visitor see now, and why?
    browser
        .wait_for("the visitor field", "[data-testid=decide-visitor]")
        .await
        .send_keys(&visitor_id)
        .await
        .unwrap();
    browser
        .click("check the visitor", "[data-testid=decide-run]")
        .await;
    let why = browser
        .wait_js(
            "the visitor's decision",
            "const v = document.querySelector('[data-testid=decide-result] [data-testid=test-verdict]'); return v && { verdict: v.textContent, by: document.querySelector('[data-testid=decide-result] [data-testid=test-decided-by]').textContent, context: document.querySelector('[data-testid=decide-context]').textContent };",
            vec![],
        )
        .await;
    assert_eq!(why["verdict"], "Hidden", "{why}");
    assert_eq!(why["by"], "Decided by the visitor override.");
    assert!(
        why["context"]
            .as_str()
            .unwrap()
            .starts_with("Connected now"),
        "{why}"
    );
    browser.screenshot("visitor-explained").await.unwrap();

    browser
        .click("remove the override", "[data-testid=override-remove]")
        .await;
    browser
        .wait_js(
            "the override is gone",
            "return document.querySelectorAll('[data-testid=override-row]').length === 0;",
            vec![],
        )
        .await;
    assert_eq!(api.get("/api/v1/visibility").await.unwrap(), json!([]));
    browser.screenshot("override-removed").await.unwrap();
    browser.close().await.unwrap();
    server.stop().await;
}
