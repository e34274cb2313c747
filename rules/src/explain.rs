//! Why a rule answered as it did, in one sentence for the admin's test runner.
//!
//! Built-in rules are explained from the facts they read (the local time against the hours, the
//! seconds on the page, the visit count, the agents); a custom script can only be described by its
//! answer, since its logic is the admin's own.

use chrono::Timelike;
use serde_json::Value;

use crate::context::Context;
use crate::decision::RuleReport;
use crate::opening_hours::OpeningHours;
use crate::outcome::Answer;

/// One sentence saying why `report` is what the rule answered in `ctx`. `builtin` is the key of
/// the built-in rule whose unchanged script the rule runs, `None` for a custom script.
pub fn explain(
    builtin: Option<&str>,
    params: &Value,
    ctx: &Context,
    report: &RuleReport,
) -> String {
    if !report.enabled {
        return "disabled, so not run".to_owned();
    }
    if let Some(error) = &report.error {
        return format!("failed, so no opinion: {error}");
    }
    let answer = answer_text(report.answer);
    let facts = builtin.and_then(|key| facts(key, params, ctx));
    match facts {
        Some(facts) => format!("{facts}: {answer}"),
        None => format!("the script answered {answer}"),
    }
}

fn answer_text(answer: Answer) -> &'static str {
    match answer {
        Answer::Show => "show",
        Answer::Hide => "hide",
        Answer::Away => "away (offline form)",
        Answer::NoOpinion => "no opinion",
    }
}

/// What a built-in rule looked at, or `None` for an unknown key.
fn facts(key: &str, params: &Value, ctx: &Context) -> Option<String> {
    let text = |name: &str| params.get(name).and_then(Value::as_str).unwrap_or("");
    let int =
        |name: &str, default: i64| params.get(name).and_then(Value::as_i64).unwrap_or(default);
    let group = text("group");
    let agents = &ctx.agents;
    Some(match key {
        "opening_hours" => {
            let spec = params
                .get("spec")
                .and_then(Value::as_str)
                .unwrap_or("mon-fri 09:00-17:00");
            let zone = text("timezone").parse().unwrap_or(ctx.timezone);
            let local = ctx.now.with_timezone(&zone);
            let state = match OpeningHours::parse(spec) {
                Ok(hours) if hours.is_open(local) => "open",
                Ok(_) => "closed",
                Err(_) => "invalid hours",
            };
            format!(
                "{state} at {} {:02}:{:02} in {} (hours \"{spec}\")",
                local.format("%a %Y-%m-%d"),
                local.hour(),
                local.minute(),
                zone.name()
            )
        }
        "seconds_on_page" => format!(
            "on the page for {} s, {} s needed",
            ctx.visitor.seconds_on_page,
            int("seconds", 10)
        ),
        "nth_visit" => {
            let only = params
                .get("only_that_visit")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let from = if only { "only on visit" } else { "from visit" };
            format!(
                "visit {}, shows {from} {}",
                ctx.visitor.visits,
                int("visit", 2)
            )
        }
        "any_agent_online" if group.is_empty() => format!("{} agent(s) online", agents.online),
        "any_agent_online" => {
            let yes = agents.groups_online.iter().any(|g| g == group);
            format!("group \"{group}\" {} online", has(yes))
        }
        "any_agent_available" if group.is_empty() => {
            format!("{} agent(s) available", agents.available)
        }
        "any_agent_available" => {
            let yes = agents.groups_available.iter().any(|g| g == group);
            format!("group \"{group}\" {} available", has(yes))
        }
        _ => return None,
    })
}

fn has(yes: bool) -> &'static str {
    if yes { "has an agent" } else { "has no agent" }
}

#[cfg(test)]
mod tests;
