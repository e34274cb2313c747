#![allow(
    clippy::unwrap_used,
    reason = "tests fail loudly on the first unexpected error"
)]

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::context::{AgentsContext, CustomerContext, VisitorContext};
use crate::decision::DecidedBy;
use crate::overrides::{Action, OverrideLevel, OverrideScope, OverrideView};

pub(super) fn engine() -> RuleEngine {
    RuleEngine::new(Limits::default())
}

pub(super) fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

/// A Tuesday morning in Paris, two agents online, a returning customer.
pub(super) fn ctx() -> Context {
    Context {
        now: at("2026-06-16T08:05:00Z"),
        timezone: chrono_tz::Europe::Paris,
        agents: AgentsContext {
            online: 3,
            available: 1,
            groups_online: vec!["sales".into(), "support".into()],
            groups_available: vec!["support".into()],
        },
        visitor: VisitorContext {
            id: "v1".into(),
            visits: 2,
            seconds_on_page: 42,
            url: "https://shop.example/pricing".into(),
            referrer: "https://search.example/?q=chat".into(),
            language: "fr-FR".into(),
            customer: Some(CustomerContext {
                id: "c1".into(),
                labels: vec!["vip".into()],
            }),
        },
        override_: Some(OverrideView {
            scope: OverrideLevel::Visitor,
            action: Action::Hide,
            until: None,
        }),
    }
}

pub(super) fn run(script: &str) -> RuleOutcome {
    run_with(&engine(), script, &ctx())
}

pub(super) fn run_with(engine: &RuleEngine, script: &str, ctx: &Context) -> RuleOutcome {
    let rule = engine
        .compile("test", script)
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    engine.evaluate(&rule, &json!({ "seconds": 5, "name": "x" }), ctx)
}

pub(super) fn error_of(outcome: &RuleOutcome) -> &str {
    assert_eq!(
        outcome.answer,
        Answer::NoOpinion,
        "a failed rule has no opinion"
    );
    outcome.error.as_deref().expect("an error message")
}

#[test]
fn engine_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RuleEngine>();
    assert_send_sync::<CompiledRule>();
    assert_send_sync::<ConfiguredRule>();
}

#[test]
fn answer_convention() {
    let cases: &[(&str, Answer, Option<u64>)] = &[
        ("show()", Answer::Show, None),
        ("hide()", Answer::Hide, None),
        ("no_opinion()", Answer::NoOpinion, None),
        ("away()", Answer::Away, None),
        ("away().recheck(60)", Answer::Away, Some(60)),
        ("\"away\"", Answer::Away, None),
        ("()", Answer::NoOpinion, None),
        ("", Answer::NoOpinion, None),
        ("let x = 1;", Answer::NoOpinion, None),
        ("show().recheck(30)", Answer::Show, Some(30)),
        ("hide().recheck(0)", Answer::Hide, Some(1)),
        ("no_opinion().recheck(-5)", Answer::NoOpinion, Some(1)),
        ("\"show\"", Answer::Show, None),
        ("\"hide\"", Answer::Hide, None),
        ("\"no_opinion\"", Answer::NoOpinion, None),
        (
            "if agents.online > 0 { return hide(); } show()",
            Answer::Hide,
            None,
        ),
    ];
    for (script, answer, recheck) in cases {
        let outcome = run(script);
        assert_eq!(outcome.error, None, "{script}");
        assert_eq!(
            (outcome.answer, outcome.recheck_after_secs),
            (*answer, *recheck),
            "{script}"
        );
    }
}

#[test]
fn other_values_are_refused_with_the_convention() {
    for script in ["42", "true", "\"maybe\"", "[1, 2]"] {
        let outcome = run(script);
        assert!(
            error_of(&outcome).contains("end it with show(), hide(), away() or no_opinion()"),
            "{script}"
        );
    }
}

#[test]
fn scripts_see_the_context() {
    let facts = [
        "agents.online == 3",
        "agents.available == 1",
        "agents.has_online(\"sales\")",
        "!agents.has_online(\"billing\")",
        "agents.has_available(\"support\") && !agents.has_available(\"sales\")",
        "agents.groups_online == [\"sales\", \"support\"]",
        "agents.groups_available.len() == 1",
        // 08:05 UTC is 10:05 in Paris in summer.
        "now.hour == 10 && now.minute == 5",
        "now.time == \"10:05\"",
        "now.date == \"2026-06-16\"",
        "now.weekday == \"tue\" && now.weekday_number == 2",
        "now.year == 2026 && now.month == 6 && now.day == 16",
        "now.timezone == \"Europe/Paris\"",
        "now.unix == 1781597100",
        "visitor.id == \"v1\"",
        "visitor.visits == 2",
        "visitor.seconds_on_page == 42",
        "visitor.url.contains(\"/pricing\")",
        "visitor.referrer.starts_with(\"https://search.example\")",
        "visitor.language == \"fr-FR\"",
        "visitor.customer.id == \"c1\"",
        "visitor.customer.labels == [\"vip\"]",
        "visitor.labels.contains(\"vip\")",
        "visitor.has_label(\"vip\") && !visitor.has_label(\"churned\")",
        "override.scope == \"visitor\" && override.action == \"hide\"",
        "override.expires == () && override.seconds_left == ()",
        "params.seconds == 5 && params.name == \"x\"",
        "params.missing == ()",
        "(params.missing ?? 7) == 7",
    ];
    for fact in facts {
        let outcome = run(&format!("if {fact} {{ show() }} else {{ hide() }}"));
        assert_eq!(
            (outcome.answer, outcome.error),
            (Answer::Show, None),
            "{fact}"
        );
    }
}

#[test]
fn absent_customer_and_override_are_unit() {
    let mut ctx = ctx();
    ctx.visitor.customer = None;
    ctx.override_ = None;
    let script = "if visitor.customer == () && override == () && visitor.labels.is_empty() \
                  { show() } else { hide() }";
    assert_eq!(run_with(&engine(), script, &ctx).answer, Answer::Show);
}

#[test]
fn context_is_read_only() {
    for script in [
        "params.seconds = 1; show()",
        "agents = 1; show()",
        "visitor.visits = 9; show()",
        "override = (); show()",
    ] {
        let outcome = run(script);
        assert!(!error_of(&outcome).is_empty(), "{script}");
    }
}

#[test]
fn evaluate_all_gives_each_rule_its_own_params_and_skips_disabled_ones() {
    let engine = engine();
    let script =
        "let wanted = params.visits; if visitor.visits == wanted { show() } else { hide() }";
    let rule = engine.compile("visits", script).unwrap();
    let rules = [
        ConfiguredRule::new(rule.clone(), json!({ "visits": 2 }), true),
        ConfiguredRule::new(rule.clone(), json!({ "visits": 3 }), false),
        ConfiguredRule::new(
            engine.compile("other", "show()").unwrap(),
            json!(null),
            true,
        ),
    ];
    let decision = engine.evaluate_all(
        &rules,
        &[],
        &Context {
            override_: None,
            ..ctx()
        },
    );
    let answers: Vec<_> = decision
        .rules
        .iter()
        .map(|r| (r.enabled, r.answer))
        .collect();
    assert_eq!(
        answers,
        [
            (true, Answer::Show),
            (false, Answer::NoOpinion),
            (true, Answer::Show)
        ]
    );
    assert!(decision.visible);
    assert_eq!(
        decision.decided_by,
        DecidedBy::Rule {
            name: "visits".into()
        }
    );
}

#[test]
fn evaluate_all_selects_the_override_and_scripts_see_it() {
    let engine = engine();
    let script = "if override != () && override.action == \"hide\" { hide() } else { show() }";
    let rules = [ConfiguredRule::new(
        engine.compile("mirror", script).unwrap(),
        json!({}),
        true,
    )];
    let overrides = [
        Override {
            scope: OverrideScope::Site,
            action: Action::Show,
            until: None,
        },
        Override {
            scope: OverrideScope::Visitor("v1".into()),
            action: Action::Hide,
            until: None,
        },
        Override {
            scope: OverrideScope::Visitor("v2".into()),
            action: Action::Show,
            until: None,
        },
    ];
    let mine = Context {
        override_: None,
        ..ctx()
    };
    let decision = engine.evaluate_all(&rules, &overrides, &mine);
    assert_eq!(
        decision.decided_by,
        DecidedBy::Override {
            scope: OverrideLevel::Visitor
        }
    );
    assert!(!decision.visible);
    assert_eq!(decision.rules[0].answer, Answer::Hide);

    let mut someone_else = mine.clone();
    someone_else.visitor.id = "v3".into();
    let decision = engine.evaluate_all(&rules, &overrides, &someone_else);
    assert_eq!(
        decision.decided_by,
        DecidedBy::Override {
            scope: OverrideLevel::Site
        }
    );
    assert!(decision.visible);
    assert_eq!(decision.rules[0].answer, Answer::Show);
}

#[test]
fn evaluate_all_falls_back_to_the_override_in_the_context() {
    let engine = engine();
    let rules = [ConfiguredRule::new(
        engine.compile("open", "show()").unwrap(),
        json!({}),
        true,
    )];
    let decision = engine.evaluate_all(&rules, &[], &ctx());
    assert_eq!(
        decision.decided_by,
        DecidedBy::Override {
            scope: OverrideLevel::Visitor
        }
    );
    assert!(!decision.visible);

    let mut expired = ctx();
    expired.override_ = Some(OverrideView {
        scope: OverrideLevel::Site,
        action: Action::Hide,
        until: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
    });
    let decision = engine.evaluate_all(&rules, &[], &expired);
    assert_eq!(
        decision.decided_by,
        DecidedBy::Rule {
            name: "open".into()
        }
    );
    assert_eq!(decision.override_, None);
}

#[test]
fn a_context_can_be_written_as_json() {
    let ctx: Context = serde_json::from_value(json!({
        "now": "2026-06-16T08:05:00Z",
        "timezone": "Asia/Tokyo",
        "agents": { "online": 1 },
        "visitor": { "visits": 3, "customer": { "id": "c9" } },
        "override": { "scope": "site", "action": "show" }
    }))
    .unwrap();
    assert_eq!(ctx.timezone, chrono_tz::Asia::Tokyo);
    assert_eq!(
        (ctx.agents.online, ctx.agents.available, ctx.visitor.visits),
        (1, 0, 3)
    );
    assert_eq!(ctx.visitor.customer.map(|c| c.id), Some("c9".into()));
    assert_eq!(ctx.override_.map(|o| o.action), Some(Action::Show));

    let empty: Context = serde_json::from_value(json!({})).unwrap();
    assert_eq!(empty.timezone, chrono_tz::UTC);
    assert!(
        Utc::now() - empty.now < chrono::TimeDelta::minutes(1),
        "now defaults to the clock"
    );
}

#[test]
fn scripts_see_when_the_override_expires() {
    let mut ctx = ctx();
    ctx.override_ = Some(OverrideView {
        scope: OverrideLevel::Customer,
        action: Action::Show,
        until: Some(at("2026-06-16T09:05:00Z")),
    });
    let script = "if override.expires == \"2026-06-16T09:05:00+00:00\" && override.seconds_left == 3600 \
                  { show() } else { hide() }";
    let outcome = run_with(&engine(), script, &ctx);
    assert_eq!((outcome.answer, outcome.error), (Answer::Show, None));
}

#[test]
fn the_readme_examples_compile_and_run() {
    let readme = include_str!("../../README.md");
    let examples: Vec<&str> = readme
        .split("```rhai\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .collect();
    assert!(examples.len() >= 4, "found {} examples", examples.len());
    for example in examples {
        let outcome = run(example);
        assert_eq!(outcome.error, None, "{example}");
    }
}
