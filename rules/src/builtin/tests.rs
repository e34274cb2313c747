#![allow(
    clippy::unwrap_used,
    reason = "tests fail loudly on the first unexpected error"
)]

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::*;
use crate::context::{AgentsContext, Context, VisitorContext};
use crate::engine::{Limits, RuleEngine};
use crate::outcome::{Answer, RuleOutcome};

fn builtin(key: &str) -> BuiltinRule {
    builtin_rules()
        .into_iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("no builtin {key}"))
}

fn evaluate(key: &str, params: &Value, ctx: &Context) -> RuleOutcome {
    let engine = RuleEngine::new(Limits::default());
    let rule = engine.compile(key, builtin(key).script).unwrap();
    engine.evaluate(&rule, params, ctx)
}

fn answered(outcome: RuleOutcome) -> (Answer, Option<u64>) {
    assert_eq!(outcome.error, None);
    (outcome.answer, outcome.recheck_after_secs)
}

fn at_local(tz: Tz, text: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    tz.from_local_datetime(&naive)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn at_utc(text: &str) -> DateTime<Utc> {
    Utc.from_utc_datetime(&NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap())
}

#[test]
fn every_builtin_compiles_and_accepts_its_defaults() {
    let rules = builtin_rules();
    let keys: Vec<_> = rules.iter().map(|r| r.key).collect();
    assert_eq!(
        keys,
        [
            "any_agent_online",
            "any_agent_available",
            "opening_hours",
            "seconds_on_page",
            "nth_visit"
        ]
    );
    let engine = RuleEngine::new(Limits::default());
    for rule in &rules {
        engine
            .compile(rule.name, rule.script)
            .unwrap_or_else(|e| panic!("{}: {e}", rule.key));
        rule.check_params(&rule.default_params)
            .unwrap_or_else(|e| panic!("{}: {e}", rule.key));
        let mut defaults: Vec<_> = rule
            .default_params
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut declared: Vec<_> = rule.params.iter().map(|p| p.name.to_owned()).collect();
        defaults.sort();
        declared.sort();
        assert_eq!(
            defaults, declared,
            "{}: every parameter has a default",
            rule.key
        );
    }
}

#[test]
fn any_agent_online_and_available() {
    let agents = AgentsContext {
        online: 2,
        available: 0,
        groups_online: vec!["sales".into()],
        groups_available: vec![],
    };
    let ctx = Context {
        agents,
        ..Context::default()
    };
    let nobody = Context::default();
    let cases: &[(&str, Value, &Context, Answer)] = &[
        ("any_agent_online", json!({}), &ctx, Answer::Show),
        (
            "any_agent_online",
            json!({ "group": "" }),
            &ctx,
            Answer::Show,
        ),
        (
            "any_agent_online",
            json!({ "group": "sales" }),
            &ctx,
            Answer::Show,
        ),
        (
            "any_agent_online",
            json!({ "group": "support" }),
            &ctx,
            Answer::Hide,
        ),
        ("any_agent_online", json!({}), &nobody, Answer::Hide),
        ("any_agent_available", json!({}), &ctx, Answer::Hide),
        (
            "any_agent_available",
            json!({ "group": "sales" }),
            &ctx,
            Answer::Hide,
        ),
        ("any_agent_available", json!({}), &nobody, Answer::Hide),
    ];
    for (key, params, ctx, answer) in cases {
        assert_eq!(
            answered(evaluate(key, params, ctx)),
            (*answer, None),
            "{key} {params}"
        );
    }
    let mut available = ctx.clone();
    available.agents.available = 1;
    available.agents.groups_available = vec!["sales".into()];
    assert_eq!(
        evaluate("any_agent_available", &json!({}), &available).answer,
        Answer::Show
    );
    let sales = evaluate(
        "any_agent_available",
        &json!({ "group": "sales" }),
        &available,
    );
    assert_eq!(sales.answer, Answer::Show);
}

#[test]
fn opening_hours_shows_when_open_and_asks_again_at_the_next_change() {
    let spec = "mon-fri 09:00-12:00, 13:00-17:30; sat 10:00-14:00; 12-25 closed";
    let paris = chrono_tz::Europe::Paris;
    let cases: &[(&str, Answer, u64)] = &[
        ("2026-06-16 11:00", Answer::Show, 3600),
        ("2026-06-16 12:30", Answer::Hide, 1800),
        ("2026-06-16 17:30", Answer::Hide, 15 * 3600 + 30 * 60),
        ("2026-06-20 14:00", Answer::Hide, 43 * 3600),
        ("2026-12-25 10:00", Answer::Hide, 24 * 3600),
    ];
    for (local, answer, recheck) in cases {
        let ctx = Context {
            now: at_local(paris, local),
            timezone: paris,
            ..Context::default()
        };
        let outcome = evaluate("opening_hours", &json!({ "spec": spec }), &ctx);
        assert_eq!(answered(outcome), (*answer, Some(*recheck)), "{local}");
    }
}

#[test]
fn opening_hours_reads_its_own_time_zone_when_given() {
    let paris = chrono_tz::Europe::Paris;
    let params = json!({ "spec": "mon-fri 09:00-17:00", "timezone": "America/New_York" });
    // The site is in Paris; the hours are New York's (6 hours behind in June).
    let cases: &[(&str, Answer, u64)] = &[
        ("2026-06-16 14:59", Answer::Hide, 60),
        ("2026-06-16 15:01", Answer::Show, 8 * 3600 - 60),
    ];
    for (local, answer, recheck) in cases {
        let ctx = Context {
            now: at_local(paris, local),
            timezone: paris,
            ..Context::default()
        };
        let outcome = evaluate("opening_hours", &params, &ctx);
        assert_eq!(answered(outcome), (*answer, Some(*recheck)), "{local}");
    }
}

#[test]
fn opening_hours_across_a_dst_change_and_far_from_utc() {
    let weekdays = json!({ "spec": "mon-fri 09:00-17:00" });
    // Paris is UTC+1 on Friday 2026-03-27 and UTC+2 from Sunday 2026-03-29: the same 07:30 UTC is
    // before opening on Friday and after it on Monday, and the weekend lasts an hour less.
    let paris = chrono_tz::Europe::Paris;
    let cases: &[(Tz, &str, Answer, u64)] = &[
        (paris, "2026-03-27 07:30", Answer::Hide, 30 * 60),
        (paris, "2026-03-30 07:30", Answer::Show, 7 * 3600 + 30 * 60),
        (paris, "2026-03-27 16:00", Answer::Hide, 63 * 3600),
        // Kiritimati is UTC+14: it is already Monday 09:30 there on Sunday 19:30 UTC.
        (
            chrono_tz::Pacific::Kiritimati,
            "2026-06-14 19:30",
            Answer::Show,
            7 * 3600 + 30 * 60,
        ),
        // Honolulu is UTC-10: Friday 18:00 UTC is Friday 08:00 there.
        (
            chrono_tz::Pacific::Honolulu,
            "2026-06-19 18:00",
            Answer::Hide,
            3600,
        ),
    ];
    for (tz, utc, answer, recheck) in cases {
        let ctx = Context {
            now: at_utc(utc),
            timezone: *tz,
            ..Context::default()
        };
        let outcome = evaluate("opening_hours", &weekdays, &ctx);
        assert_eq!(
            answered(outcome),
            (*answer, Some(*recheck)),
            "{utc} in {tz}"
        );
    }
}

#[test]
fn opening_hours_parameters() {
    let sunday = Context {
        now: at_utc("2026-06-21 12:00"),
        ..Context::default()
    };
    let defer = json!({ "spec": "mon-fri 09:00-17:00", "when_closed": "no_opinion" });
    assert_eq!(
        evaluate("opening_hours", &defer, &sunday).answer,
        Answer::NoOpinion
    );
    let away = json!({ "spec": "mon-fri 09:00-17:00", "when_closed": "away" });
    assert_eq!(
        answered(evaluate("opening_hours", &away, &sunday)),
        (Answer::Away, Some(21 * 3600))
    );
    let monday = Context {
        now: at_utc("2026-06-22 12:00"),
        ..Context::default()
    };
    assert_eq!(
        evaluate("opening_hours", &away, &monday).answer,
        Answer::Show
    );
    let default_spec = evaluate("opening_hours", &json!({}), &sunday);
    assert_eq!(answered(default_spec), (Answer::Hide, Some(21 * 3600)));
    let always = evaluate("opening_hours", &json!({ "spec": "00:00-24:00" }), &sunday);
    assert_eq!(answered(always), (Answer::Show, None));
    let invalid = evaluate(
        "opening_hours",
        &json!({ "spec": "weekdays 9 to 5" }),
        &sunday,
    );
    assert_eq!(invalid.answer, Answer::NoOpinion);
    assert!(
        invalid
            .error
            .unwrap()
            .contains("\"weekdays\" is not a weekday")
    );
}

#[test]
fn seconds_on_page_hides_until_due_and_says_when() {
    let cases: &[(Value, u64, Answer, Option<u64>)] = &[
        (json!({}), 0, Answer::Hide, Some(10)),
        (json!({}), 7, Answer::Hide, Some(3)),
        (json!({}), 10, Answer::Show, None),
        (json!({ "seconds": 30 }), 29, Answer::Hide, Some(1)),
        (json!({ "seconds": 30 }), 31, Answer::Show, None),
        (json!({ "seconds": 0 }), 0, Answer::Show, None),
    ];
    for (params, elapsed, answer, recheck) in cases {
        let visitor = VisitorContext {
            seconds_on_page: *elapsed,
            ..VisitorContext::default()
        };
        let ctx = Context {
            visitor,
            ..Context::default()
        };
        assert_eq!(
            answered(evaluate("seconds_on_page", params, &ctx)),
            (*answer, *recheck),
            "{params} {elapsed}"
        );
    }
}

#[test]
fn nth_visit_shows_from_that_visit_on() {
    let cases: &[(Value, u32, Answer)] = &[
        (json!({}), 1, Answer::Hide),
        (json!({}), 2, Answer::Show),
        (json!({}), 5, Answer::Show),
        (json!({ "visit": 3 }), 2, Answer::Hide),
        (json!({ "visit": 3 }), 3, Answer::Show),
        (
            json!({ "visit": 2, "only_that_visit": true }),
            2,
            Answer::Show,
        ),
        (
            json!({ "visit": 2, "only_that_visit": true }),
            3,
            Answer::Hide,
        ),
    ];
    for (params, visits, answer) in cases {
        let visitor = VisitorContext {
            visits: *visits,
            ..VisitorContext::default()
        };
        let ctx = Context {
            visitor,
            ..Context::default()
        };
        assert_eq!(
            answered(evaluate("nth_visit", params, &ctx)),
            (*answer, None),
            "{params} {visits}"
        );
    }
}

#[test]
fn parameters_are_checked_before_saving() {
    let cases: &[(&str, Value, Option<&str>)] = &[
        ("seconds_on_page", json!({ "seconds": 30 }), None),
        ("seconds_on_page", json!(null), None),
        (
            "seconds_on_page",
            json!({ "seconds": -1 }),
            Some("`seconds`: must be a whole number of at least 0"),
        ),
        (
            "seconds_on_page",
            json!({ "seconds": "10" }),
            Some("`seconds`"),
        ),
        (
            "seconds_on_page",
            json!({ "secs": 10 }),
            Some("`secs`: unknown; this rule takes seconds"),
        ),
        (
            "seconds_on_page",
            json!([10]),
            Some("must be a JSON object"),
        ),
        ("nth_visit", json!({ "visit": 0 }), Some("at least 1")),
        (
            "nth_visit",
            json!({ "only_that_visit": "yes" }),
            Some("true or false"),
        ),
        (
            "any_agent_online",
            json!({ "group": 3 }),
            Some("must be a string"),
        ),
        (
            "opening_hours",
            json!({ "spec": "mon-fri 09:00-17:00; sat 10:00" }),
            Some("part 2"),
        ),
        (
            "opening_hours",
            json!({ "timezone": "Mars/Olympus" }),
            Some("IANA time zone"),
        ),
        (
            "opening_hours",
            json!({ "timezone": "America/New_York", "spec": "09:00-17:00" }),
            None,
        ),
        (
            "opening_hours",
            json!({ "when_closed": "show" }),
            Some("one of \"hide\", \"away\", \"no_opinion\""),
        ),
    ];
    for (key, params, expected) in cases {
        let result = builtin(key).check_params(params);
        match expected {
            None => assert_eq!(result, Ok(()), "{key} {params}"),
            Some(message) => {
                let err = result.expect_err("refused").to_string();
                assert!(err.contains(message), "{key} {params}: {err}");
            }
        }
    }
}
