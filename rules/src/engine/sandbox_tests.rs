#![allow(
    clippy::unwrap_used,
    reason = "tests fail loudly on the first unexpected error"
)]

//! The sandbox: what a script may not do, and how each refusal is reported.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::context::Context;
use crate::decision::DecidedBy;
use crate::engine::tests::{ctx, engine, error_of, run, run_with};
use crate::engine::{ConfiguredRule, Limits, RuleEngine};
use crate::outcome::Answer;

#[test]
fn compile_errors_carry_line_and_column() {
    let err = engine()
        .compile("bad", "let x = 1;\nlet y = ;\nshow()")
        .unwrap_err();
    assert_eq!((err.line, err.column), (2, 9));
    assert!(err.to_string().starts_with("line 2, column 9: "), "{err}");
}

#[test]
fn undefined_variables_are_refused_at_compile_time() {
    let err = engine()
        .compile("typo", "if agent.online > 0 { show() }")
        .unwrap_err();
    assert_eq!((err.line, err.column), (1, 4));
    assert!(err.message.contains("agent"), "{err}");
}

#[test]
fn forbidden_keywords_are_refused_at_compile_time() {
    let cases = [
        ("eval(\"hide()\")", "'eval' is not allowed in rules"),
        (
            "import \"secrets\" as s; show()",
            "'import' is not allowed in rules",
        ),
        (
            "fn f() { 1 } export f; show()",
            "'export' is not allowed in rules",
        ),
    ];
    for (script, message) in cases {
        let err = engine().compile("forbidden", script).unwrap_err();
        assert_eq!(err.message, message, "{script}");
        assert_eq!(err.line, 1, "{script}");
    }
}

#[test]
fn deeply_nested_expressions_are_refused_at_compile_time() {
    let script = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    let err = engine().compile("deep", &script).unwrap_err();
    assert!(err.message.to_lowercase().contains("complex"), "{err}");
}

#[test]
fn runaway_scripts_fail_safely_with_a_clear_message() {
    let cases = [
        ("loop {}", "exceeded the limit of 100000 operations"),
        (
            "let s = \"x\"; loop { s += s; }",
            "a string grew past 65536 bytes",
        ),
        (
            "let a = []; loop { a.push(1); }",
            "an array grew past 1024 items",
        ),
        (
            "fn f(n) { f(n + 1) } f(0)",
            "exceeded the limit of 16 nested function calls",
        ),
        ("launch_missiles()", "unknown function launch_missiles ()"),
        ("\"x\".open_file()", "unknown function open_file ("),
        ("opening_hours(\"someday\")", "invalid opening hours"),
        (
            "let f = Fn(\"eval\"); f.call(\"hide()\")",
            "'eval' is not allowed in rules",
        ),
        (
            "call(Fn(\"eval\"), \"hide()\")",
            "'eval' is not allowed in rules",
        ),
        ("1 / 0", "Division by zero"),
    ];
    for (script, message) in cases {
        let outcome = run(script);
        let error = error_of(&outcome);
        assert!(error.contains(message), "{script}: {error}");
        assert!(error.contains("line 1"), "{script}: {error}");
    }
}

#[test]
fn the_time_budget_stops_a_script_the_operation_limit_allows() {
    // Zero operations means unlimited to Rhai, leaving the clock as the only bound.
    let engine = RuleEngine::new(Limits {
        max_operations: 0,
        time_budget_ms: 20,
        ..Limits::default()
    });
    let started = Instant::now();
    let outcome = run_with(&engine, "loop {}", &ctx());
    assert!(error_of(&outcome).contains("exceeded the time budget of 20 ms"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the budget did stop the loop"
    );
}

#[test]
fn print_and_debug_do_not_fail() {
    assert_eq!(
        run("print(\"hello\"); debug(now); show()").answer,
        Answer::Show
    );
}

#[test]
fn a_failing_rule_does_not_stop_the_others_from_deciding() {
    let engine = engine();
    let configured = |name: &str, script: &str| {
        ConfiguredRule::new(engine.compile(name, script).unwrap(), json!({}), true)
    };
    let rules = [
        configured("spin", "loop {}"),
        configured("bomb", "let s = \"x\"; loop { s += s; }"),
        configured("recurse", "fn f() { f() } f()"),
        configured("undefined", "whatever()"),
        configured("closed", "hide()"),
    ];
    let decision = engine.evaluate_all(
        &rules,
        &[],
        &Context {
            override_: None,
            ..ctx()
        },
    );
    assert!(!decision.visible);
    assert_eq!(
        decision.decided_by,
        DecidedBy::Rule {
            name: "closed".into()
        }
    );
    let failed: Vec<_> = decision
        .rules
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| &r.name)
        .collect();
    assert_eq!(failed, ["spin", "bomb", "recurse", "undefined"]);

    // Failing rules alone hide nothing.
    let decision = engine.evaluate_all(
        &rules[..4],
        &[],
        &Context {
            override_: None,
            ..ctx()
        },
    );
    assert!(decision.visible);
    assert_eq!(decision.decided_by, DecidedBy::Default);
}
