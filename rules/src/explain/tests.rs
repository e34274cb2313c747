use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::context::Context;
use crate::decision::RuleReport;
use crate::explain::explain;
use crate::outcome::{Answer, RuleOutcome};

fn report(answer: Answer) -> RuleReport {
    RuleReport::enabled("r", RuleOutcome::answer(answer))
}

fn at(hour: u32, minute: u32) -> Context {
    Context {
        // 2026-12-03 is a Thursday; New York is UTC-5 then.
        now: Utc
            .with_ymd_and_hms(2026, 12, 3, hour + 5, minute, 0)
            .single()
            .expect("valid time"),
        timezone: chrono_tz::America::New_York,
        ..Context::default()
    }
}

#[test]
fn opening_hours_names_the_local_time_and_the_state() {
    let params = json!({ "spec": "mon-fri 09:00-17:00" });
    let table = [
        (
            at(8, 59),
            Answer::Hide,
            "closed at Thu 2026-12-03 08:59 in America/New_York (hours \"mon-fri 09:00-17:00\"): hide",
        ),
        (
            at(9, 1),
            Answer::Show,
            "open at Thu 2026-12-03 09:01 in America/New_York (hours \"mon-fri 09:00-17:00\"): show",
        ),
    ];
    for (ctx, answer, want) in table {
        assert_eq!(
            explain(Some("opening_hours"), &params, &ctx, &report(answer)),
            want
        );
    }
}

#[test]
fn opening_hours_reads_the_rule_s_own_zone() {
    let params = json!({ "spec": "mon-fri 09:00-17:00", "timezone": "Europe/Paris" });
    // 08:59 in New York is 14:59 in Paris.
    let got = explain(
        Some("opening_hours"),
        &params,
        &at(8, 59),
        &report(Answer::Show),
    );
    assert_eq!(
        got,
        "open at Thu 2026-12-03 14:59 in Europe/Paris (hours \"mon-fri 09:00-17:00\"): show"
    );
}

#[test]
fn each_builtin_names_what_it_read() {
    let mut ctx = Context::default();
    ctx.visitor.seconds_on_page = 4;
    ctx.visitor.visits = 1;
    ctx.agents.online = 2;
    ctx.agents.groups_available = vec!["sales".into()];
    let table = [
        (
            "seconds_on_page",
            json!({ "seconds": 10 }),
            Answer::Hide,
            "on the page for 4 s, 10 s needed: hide",
        ),
        (
            "nth_visit",
            json!({ "visit": 2 }),
            Answer::Hide,
            "visit 1, shows from visit 2: hide",
        ),
        (
            "nth_visit",
            json!({ "visit": 1, "only_that_visit": true }),
            Answer::Show,
            "visit 1, shows only on visit 1: show",
        ),
        (
            "any_agent_online",
            json!({ "group": "" }),
            Answer::Show,
            "2 agent(s) online: show",
        ),
        (
            "any_agent_available",
            json!({ "group": "sales" }),
            Answer::Show,
            "group \"sales\" has an agent available: show",
        ),
        (
            "any_agent_online",
            json!({ "group": "sales" }),
            Answer::Hide,
            "group \"sales\" has no agent online: hide",
        ),
    ];
    for (key, params, answer, want) in table {
        assert_eq!(
            explain(Some(key), &params, &ctx, &report(answer)),
            want,
            "{key}"
        );
    }
}

#[test]
fn custom_disabled_and_failed_rules() {
    let ctx = Context::default();
    let params = json!({});
    assert_eq!(
        explain(None, &params, &ctx, &report(Answer::Away)),
        "the script answered away (offline form)"
    );
    assert_eq!(
        explain(None, &params, &ctx, &RuleReport::disabled("r")),
        "disabled, so not run"
    );
    let failed = RuleReport::enabled("r", RuleOutcome::failed("line 1: boom"));
    assert_eq!(
        explain(None, &params, &ctx, &failed),
        "failed, so no opinion: line 1: boom"
    );
}
