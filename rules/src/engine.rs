//! The sandboxed Rhai engine: one constructor sets every limit; rules compile once and are
//! evaluated many times; a failing rule becomes "no opinion" with a message, never a crash.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono_tz::Tz;
use rhai::{AST, Dynamic, Engine, EvalAltResult, Position, Scope};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::decision::{Decision, RuleReport, combine};
use crate::outcome::{Answer, RuleOutcome};
use crate::overrides::{Override, select_override};
use crate::run_frame::{self, Frame};
use crate::script_api::{self, GLOBALS, Verdict};

/// Every bound a rule runs under. The defaults leave room for any sensible visibility rule (they
/// are a few lines) while a runaway one is stopped within milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub max_operations: u64,
    /// Nested script function calls.
    pub max_call_levels: usize,
    /// Bytes; must fit the longest URL or referrer a visitor may send.
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    /// Nesting of expressions at compile time, at the top level and inside functions.
    pub max_expr_depth: usize,
    pub max_function_expr_depth: usize,
    pub max_variables: usize,
    pub max_functions: usize,
    /// Wall-clock budget for one evaluation of one rule.
    pub time_budget_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 100_000,
            max_call_levels: 16,
            max_string_size: 64 * 1024,
            max_array_size: 1_024,
            max_map_size: 1_024,
            max_expr_depth: 32,
            max_function_expr_depth: 16,
            max_variables: 64,
            max_functions: 32,
            time_budget_ms: 50,
        }
    }
}

/// A script that does not compile: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("line {line}, column {column}: {message}")]
pub struct CompileError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A rule compiled once; cloning shares the compiled form.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    name: Arc<str>,
    ast: Arc<AST>,
    warnings: Arc<WarnThrottle>,
}

impl CompiledRule {
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A compiled rule as the admin configured it, with its parameters converted once.
#[derive(Debug, Clone)]
pub struct ConfiguredRule {
    rule: CompiledRule,
    params: serde_json::Value,
    script_params: Dynamic,
    enabled: bool,
}

impl ConfiguredRule {
    pub fn new(rule: CompiledRule, params: serde_json::Value, enabled: bool) -> Self {
        let script_params = params_to_script(&params);
        Self {
            rule,
            params,
            script_params,
            enabled,
        }
    }

    pub fn rule(&self) -> &CompiledRule {
        &self.rule
    }

    pub fn params(&self) -> &serde_json::Value {
        &self.params
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }
}

/// The one Rhai engine of the process; `Send + Sync`, shared behind an `Arc`.
pub struct RuleEngine {
    engine: Engine,
    limits: Limits,
}

impl std::fmt::Debug for RuleEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleEngine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// How often, in operations, the wall clock is read: often enough to stop within a fraction of a
/// millisecond past the budget, rarely enough to cost nothing.
const CLOCK_CHECK_EVERY: u64 = 256;

impl RuleEngine {
    pub fn new(limits: Limits) -> Self {
        let mut engine = Engine::new();
        engine
            .set_max_operations(limits.max_operations)
            .set_max_call_levels(limits.max_call_levels)
            .set_max_string_size(limits.max_string_size)
            .set_max_array_size(limits.max_array_size)
            .set_max_map_size(limits.max_map_size)
            .set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth)
            .set_max_variables(limits.max_variables)
            .set_max_functions(limits.max_functions)
            .set_max_modules(0)
            .set_strict_variables(true)
            // Scripts are stored text from admins: nothing may reach files, other scripts or stdout.
            .set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new())
            .disable_symbol("eval")
            .disable_symbol("import")
            .disable_symbol("export")
            .on_print(|text| tracing::debug!(target: "natter_rules::script", "{text}"))
            .on_debug(|text, _, _| tracing::debug!(target: "natter_rules::script", "{text}"))
            .on_progress(|operations| {
                let over_time = operations % CLOCK_CHECK_EVERY == 0
                    && run_frame::current().is_some_and(|f| Instant::now() >= f.deadline);
                over_time.then_some(Dynamic::UNIT)
            });
        script_api::register(&mut engine);
        Self { engine, limits }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn compile(&self, name: &str, script: &str) -> Result<CompiledRule, CompileError> {
        // Strict variables resolve names at compile time, so the context names must be known;
        // they are plain variables here because constants would be folded into the AST.
        let mut scope = Scope::with_capacity(GLOBALS.len());
        for global in GLOBALS {
            scope.push_dynamic(global, Dynamic::UNIT);
        }
        let ast = self
            .engine
            .compile_with_scope(&scope, script)
            .map_err(|e| CompileError {
                line: e.1.line().unwrap_or(0),
                column: e.1.position().unwrap_or(0),
                message: forbidden_keyword(&e.0.to_string()).unwrap_or_else(|| e.0.to_string()),
            })?;
        Ok(CompiledRule {
            name: name.into(),
            ast: Arc::new(ast),
            warnings: Arc::new(WarnThrottle::default()),
        })
    }

    /// Evaluates one rule; `params` (a JSON object) is the script's read-only `params`.
    pub fn evaluate(
        &self,
        rule: &CompiledRule,
        params: &serde_json::Value,
        ctx: &Context,
    ) -> RuleOutcome {
        let override_ = ctx.override_.as_ref().filter(|o| o.in_force(ctx.now));
        let mut scope = script_api::scope_for(ctx, override_);
        self.run(rule, params_to_script(params), local_now(ctx), &mut scope)
    }

    /// Evaluates the rules in admin order and decides. `overrides` may be all of the site's: only
    /// those for the site, this visitor's customer or this visitor (by `visitor.id`) apply. When
    /// none is in force, an override given in `ctx.override` counts instead, which is how a
    /// hand-written test context describes one.
    pub fn evaluate_all(
        &self,
        rules: &[ConfiguredRule],
        overrides: &[Override],
        ctx: &Context,
    ) -> Decision {
        let visitor_id = Some(ctx.visitor.id.as_str()).filter(|id| !id.is_empty());
        let customer_id = ctx.visitor.customer.as_ref().map(|c| c.id.as_str());
        let override_ = select_override(overrides, visitor_id, customer_id, ctx.now)
            .map(Override::view)
            .or_else(|| ctx.override_.clone().filter(|o| o.in_force(ctx.now)));
        let mut scope = script_api::scope_for(ctx, override_.as_ref());
        let now = local_now(ctx);
        let reports = rules
            .iter()
            .map(|r| {
                if r.enabled {
                    let outcome = self.run(&r.rule, r.script_params.clone(), now, &mut scope);
                    RuleReport::enabled(r.rule.name(), outcome)
                } else {
                    RuleReport::disabled(r.rule.name())
                }
            })
            .collect();
        combine(override_, ctx.now, reports)
    }

    fn run(
        &self,
        rule: &CompiledRule,
        params: Dynamic,
        now: chrono::DateTime<Tz>,
        scope: &mut Scope<'static>,
    ) -> RuleOutcome {
        let base = scope.len();
        scope.push_constant_dynamic("params", params);
        let deadline = Instant::now() + Duration::from_millis(self.limits.time_budget_ms);
        let result = {
            let _frame = run_frame::enter(Frame { deadline, now });
            self.engine.eval_ast_with_scope::<Dynamic>(scope, &rule.ast)
        };
        // Rules of one decision share the scope; whatever this one declared must not leak.
        scope.rewind(base);
        let outcome = match result {
            Ok(value) => outcome_from_value(value),
            Err(error) => Err(self.explain(&error)),
        };
        outcome.unwrap_or_else(|message| {
            rule.warnings.warn(rule.name(), &message);
            RuleOutcome::failed(message)
        })
    }

    fn explain(&self, error: &EvalAltResult) -> String {
        let inner = error.unwrap_inner();
        let limits = &self.limits;
        let message = match inner {
            EvalAltResult::ErrorTooManyOperations(_) => {
                format!(
                    "stopped: exceeded the limit of {} operations",
                    limits.max_operations
                )
            }
            EvalAltResult::ErrorTerminated(..) => {
                format!(
                    "stopped: exceeded the time budget of {} ms",
                    limits.time_budget_ms
                )
            }
            EvalAltResult::ErrorStackOverflow(_) => format!(
                "stopped: exceeded the limit of {} nested function calls",
                limits.max_call_levels
            ),
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                let what = what.to_lowercase();
                if what.contains("string") {
                    format!(
                        "stopped: a string grew past {} bytes",
                        limits.max_string_size
                    )
                } else if what.contains("array") {
                    format!(
                        "stopped: an array grew past {} items",
                        limits.max_array_size
                    )
                } else if what.contains("map") {
                    format!("stopped: a map grew past {} entries", limits.max_map_size)
                } else {
                    format!("stopped: {what} too large")
                }
            }
            EvalAltResult::ErrorFunctionNotFound(signature, _) => format!(
                "unknown function {signature}: rules may call Rhai's built-in functions and \
                 those listed in the rules README"
            ),
            // `Fn("eval")` gets this far: the keyword is refused when the pointer is called.
            EvalAltResult::ErrorParsing(parse_error, _) => {
                match forbidden_keyword(&parse_error.to_string()) {
                    Some(message) => message,
                    None => return error.to_string(),
                }
            }
            _ => return error.to_string(),
        };
        with_position(message, inner.position())
    }
}

fn with_position(message: String, position: Position) -> String {
    match (position.line(), position.position()) {
        (Some(line), Some(column)) => format!("{message} (line {line}, column {column})"),
        (Some(line), None) => format!("{message} (line {line})"),
        _ => message,
    }
}

/// Rhai reports a disabled keyword as reserved; say plainly that rules may not use it.
fn forbidden_keyword(message: &str) -> Option<String> {
    ["eval", "import", "export"]
        .into_iter()
        .find(|k| message.contains("reserved") && message.contains(&format!("'{k}'")))
        .map(|k| format!("'{k}' is not allowed in rules"))
}

fn local_now(ctx: &Context) -> chrono::DateTime<Tz> {
    ctx.now.with_timezone(&ctx.timezone)
}

/// A rule without parameters still sees `params` as an empty map, so `params.x ?? 1` works.
fn params_to_script(params: &serde_json::Value) -> Dynamic {
    if params.is_null() {
        Dynamic::from_map(rhai::Map::new())
    } else {
        script_api::json_to_dynamic(params)
    }
}

/// The answer convention: `show()`, `hide()`, `away()`, `no_opinion()` (each optionally
/// `.recheck(secs)`), the strings "show", "hide", "away" and "no_opinion", or `()` for no opinion.
fn outcome_from_value(value: Dynamic) -> Result<RuleOutcome, String> {
    if value.is_unit() {
        return Ok(RuleOutcome::answer(Answer::NoOpinion));
    }
    let value = match value.try_cast_result::<Verdict>() {
        Ok(verdict) => {
            let outcome = RuleOutcome::answer(verdict.answer);
            return Ok(match verdict.recheck {
                Some(secs) => outcome.with_recheck(secs),
                None => outcome,
            });
        }
        Err(value) => value,
    };
    let answer = value
        .clone()
        .into_immutable_string()
        .ok()
        .and_then(|s| match s.as_str() {
            "show" => Some(Answer::Show),
            "hide" => Some(Answer::Hide),
            "away" => Some(Answer::Away),
            "no_opinion" => Some(Answer::NoOpinion),
            _ => None,
        });
    answer.map(RuleOutcome::answer).ok_or_else(|| {
        format!(
            "the rule ended with {} `{value}`; end it with show(), hide(), away() or no_opinion()",
            value.type_name()
        )
    })
}

/// A broken rule fails for every visitor; one warning a minute per rule says so without flooding
/// the log, and counts the failures it did not print.
#[derive(Debug, Default)]
struct WarnThrottle {
    last_warned_secs: AtomicU64,
    suppressed: AtomicU64,
}

const WARN_INTERVAL_SECS: u64 = 60;

impl WarnThrottle {
    fn warn(&self, rule: &str, message: &str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .max(1);
        let last = self.last_warned_secs.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= WARN_INTERVAL_SECS;
        if due
            && self
                .last_warned_secs
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
            tracing::warn!(
                rule,
                error = message,
                suppressed,
                "action rule failed; counted as no opinion"
            );
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(rule, error = message, "action rule failed again");
        }
    }
}

#[cfg(test)]
mod sandbox_tests;
#[cfg(test)]
mod tests;
