#![allow(
    clippy::unwrap_used,
    reason = "tests fail loudly on the first unexpected error"
)]

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::overrides::{OverrideScope, select_override};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 16, 8, 0, 0).unwrap()
}

fn site(action: Action) -> Override {
    Override {
        scope: OverrideScope::Site,
        action,
        until: None,
    }
}

fn customer(action: Action) -> Override {
    Override {
        scope: OverrideScope::Customer("c1".into()),
        action,
        until: None,
    }
}

fn visitor(action: Action) -> Override {
    Override {
        scope: OverrideScope::Visitor("v1".into()),
        action,
        until: None,
    }
}

fn expiring(mut o: Override, secs: i64) -> Override {
    o.until = Some(now() + chrono::TimeDelta::seconds(secs));
    o
}

fn rule(name: &str, answer: Answer) -> (String, RuleOutcome) {
    (name.to_owned(), RuleOutcome::answer(answer))
}

fn by_rule(name: &str) -> DecidedBy {
    DecidedBy::Rule { name: name.into() }
}

/// A truth-table row: label, overrides, rule outcomes, then the expected visibility and reason.
type Row = (
    &'static str,
    Vec<Override>,
    Vec<(String, RuleOutcome)>,
    bool,
    DecidedBy,
);

fn by_override(scope: OverrideLevel) -> DecidedBy {
    DecidedBy::Override { scope }
}

/// The combination truth table, also written out in `rules/README.md`.
#[test]
fn combination_truth_table() {
    use Action::{Hide as H, Show as S};
    use Answer::{Hide, NoOpinion, Show};
    let failed = (
        "broken".to_owned(),
        RuleOutcome::failed("Too many operations"),
    );
    let rows: Vec<Row> = vec![
        (
            "nothing configured",
            vec![],
            vec![],
            true,
            DecidedBy::Default,
        ),
        (
            "rules without opinion",
            vec![],
            vec![rule("a", NoOpinion)],
            true,
            DecidedBy::Default,
        ),
        (
            "a failed rule has no opinion",
            vec![],
            vec![failed.clone()],
            true,
            DecidedBy::Default,
        ),
        (
            "one rule shows",
            vec![],
            vec![rule("a", Show)],
            true,
            by_rule("a"),
        ),
        (
            "one rule hides",
            vec![],
            vec![rule("a", Hide)],
            false,
            by_rule("a"),
        ),
        (
            "a hide wins over a show",
            vec![],
            vec![rule("a", Show), rule("b", Hide)],
            false,
            by_rule("b"),
        ),
        (
            "the first hide is named",
            vec![],
            vec![rule("a", Hide), rule("b", Hide)],
            false,
            by_rule("a"),
        ),
        (
            "the first show is named",
            vec![],
            vec![rule("a", NoOpinion), rule("b", Show), rule("c", Show)],
            true,
            by_rule("b"),
        ),
        (
            "failure then show",
            vec![],
            vec![failed, rule("b", Show)],
            true,
            by_rule("b"),
        ),
        (
            "site hide beats rules",
            vec![site(H)],
            vec![rule("a", Show)],
            false,
            by_override(OverrideLevel::Site),
        ),
        (
            "site show beats rules",
            vec![site(S)],
            vec![rule("a", Hide)],
            true,
            by_override(OverrideLevel::Site),
        ),
        (
            "customer beats site",
            vec![site(S), customer(H)],
            vec![],
            false,
            by_override(OverrideLevel::Customer),
        ),
        (
            "visitor beats customer",
            vec![customer(H), visitor(S)],
            vec![],
            true,
            by_override(OverrideLevel::Visitor),
        ),
        (
            "order given does not matter",
            vec![visitor(H), site(S)],
            vec![],
            false,
            by_override(OverrideLevel::Visitor),
        ),
        (
            "expired visitor is ignored",
            vec![expiring(visitor(H), -1), site(S)],
            vec![rule("a", Hide)],
            true,
            by_override(OverrideLevel::Site),
        ),
        (
            "expiry is exclusive",
            vec![expiring(site(S), 0)],
            vec![rule("a", Hide)],
            false,
            by_rule("a"),
        ),
        (
            "all expired: rules decide",
            vec![expiring(site(H), -60)],
            vec![rule("a", Show)],
            true,
            by_rule("a"),
        ),
        (
            "not yet expired counts",
            vec![expiring(site(H), 60)],
            vec![rule("a", Show)],
            false,
            by_override(OverrideLevel::Site),
        ),
    ];
    for (label, overrides, results, visible, decided_by) in rows {
        let decision = decide(&overrides, now(), &results);
        assert_eq!(
            (decision.visible, decision.decided_by),
            (visible, decided_by),
            "{label}"
        );
        assert_eq!(
            decision.rules.len(),
            results.len(),
            "{label}: every rule is reported"
        );
        assert!(!decision.away, "{label}: no rule said away");
    }
}

/// A row of the away table: label, overrides, rule outcomes, then visible, away and what decided.
type AwayRow = (
    &'static str,
    Vec<Override>,
    Vec<(String, RuleOutcome)>,
    bool,
    bool,
    DecidedBy,
);

/// Away against the other answers and the overrides, also written out in `rules/README.md`:
/// hide beats away, away beats show, an override in force decides (a shown widget offers chat).
#[test]
fn away_truth_table() {
    use Action::{Hide as H, Show as S};
    use Answer::{Away, Hide, NoOpinion, Show};
    let rows: Vec<AwayRow> = vec![
        (
            "one rule away",
            vec![],
            vec![rule("a", Away)],
            true,
            true,
            by_rule("a"),
        ),
        (
            "away beats show, whatever the order",
            vec![],
            vec![rule("a", Show), rule("b", Away)],
            true,
            true,
            by_rule("b"),
        ),
        (
            "hide beats away",
            vec![],
            vec![rule("a", Away), rule("b", Hide)],
            false,
            false,
            by_rule("b"),
        ),
        (
            "the first away rule is named",
            vec![],
            vec![rule("a", NoOpinion), rule("b", Away), rule("c", Away)],
            true,
            true,
            by_rule("b"),
        ),
        (
            "a show override offers chat",
            vec![site(S)],
            vec![rule("a", Away)],
            true,
            false,
            by_override(OverrideLevel::Site),
        ),
        (
            "a hide override hides",
            vec![visitor(H)],
            vec![rule("a", Away)],
            false,
            false,
            by_override(OverrideLevel::Visitor),
        ),
        (
            "an expired override leaves it to the rules",
            vec![expiring(site(S), -60)],
            vec![rule("a", Away)],
            true,
            true,
            by_rule("a"),
        ),
    ];
    for (label, overrides, results, visible, away, decided_by) in rows {
        let decision = decide(&overrides, now(), &results);
        assert_eq!(
            (decision.visible, decision.away, decision.decided_by),
            (visible, away, decided_by),
            "{label}"
        );
    }
    let mut disabled = RuleReport::enabled("off", RuleOutcome::answer(Away));
    disabled.enabled = false;
    let decision = combine(None, now(), vec![disabled]);
    assert!(
        decision.visible && !decision.away,
        "a disabled rule says nothing"
    );
}

#[test]
fn recheck_is_the_soonest_of_rules_and_override_expiry() {
    let rules = |secs: &[u64]| -> Vec<(String, RuleOutcome)> {
        secs.iter()
            .map(|s| {
                (
                    "r".to_owned(),
                    RuleOutcome::answer(Answer::Hide).with_recheck(*s),
                )
            })
            .collect()
    };
    let cases = [
        (vec![], rules(&[]), None),
        (vec![], rules(&[30, 10, 20]), Some(10)),
        (vec![expiring(site(Action::Show), 5)], rules(&[30]), Some(5)),
        (
            vec![expiring(site(Action::Show), 90)],
            rules(&[30]),
            Some(30),
        ),
        (vec![site(Action::Show)], rules(&[]), None),
    ];
    for (overrides, results, expected) in cases {
        assert_eq!(
            decide(&overrides, now(), &results).recheck_after_secs,
            expected,
            "{overrides:?} {results:?}"
        );
    }
    // Part of a second still left counts as a whole one, so the recheck never comes early.
    let soon = Override {
        until: Some(now() + chrono::TimeDelta::milliseconds(1_200)),
        ..site(Action::Hide)
    };
    assert_eq!(decide(&[soon], now(), &[]).recheck_after_secs, Some(2));
}

#[test]
fn disabled_rules_neither_decide_nor_recheck() {
    let mut disabled = RuleReport::disabled("off");
    disabled.answer = Answer::Hide;
    disabled.recheck_after_secs = Some(1);
    let decision = combine(None, now(), vec![disabled]);
    assert_eq!(
        (
            decision.visible,
            decision.decided_by,
            decision.recheck_after_secs
        ),
        (true, DecidedBy::Default, None)
    );
}

#[test]
fn select_override_ignores_other_visitors_and_customers() {
    let others = [
        Override {
            scope: OverrideScope::Visitor("v2".into()),
            action: Action::Hide,
            until: None,
        },
        Override {
            scope: OverrideScope::Customer("c2".into()),
            action: Action::Hide,
            until: None,
        },
    ];
    assert_eq!(
        select_override(&others, Some("v1"), Some("c1"), now()),
        None
    );

    let all = [
        others.as_slice(),
        &[site(Action::Show), customer(Action::Hide)],
    ]
    .concat();
    let chosen = select_override(&all, Some("v1"), Some("c1"), now()).map(|o| o.scope.clone());
    assert_eq!(chosen, Some(OverrideScope::Customer("c1".into())));
    let anonymous = select_override(&all, Some("v1"), None, now()).map(|o| o.scope.clone());
    assert_eq!(anonymous, Some(OverrideScope::Site));
}

#[test]
fn a_decision_serializes_as_documented() {
    let decision = decide(
        &[expiring(visitor(Action::Hide), 60)],
        now(),
        &[rule("Opening hours", Answer::Show)],
    );
    let value = serde_json::to_value(&decision).unwrap();
    assert_eq!(
        value,
        json!({
            "visible": false,
            "away": false,
            "decided_by": { "kind": "override", "scope": "visitor" },
            "recheck_after_secs": 60,
            "override": { "scope": "visitor", "action": "hide", "until": "2026-06-16T08:01:00Z" },
            "rules": [{
                "name": "Opening hours",
                "enabled": true,
                "answer": "show",
                "recheck_after_secs": null,
                "error": null
            }]
        })
    );
    let by_rule = serde_json::to_value(by_rule("a")).unwrap();
    assert_eq!(by_rule, json!({ "kind": "rule", "name": "a" }));
    let scope = serde_json::to_value(OverrideScope::Customer("c1".into())).unwrap();
    assert_eq!(scope, json!({ "level": "customer", "id": "c1" }));
}
