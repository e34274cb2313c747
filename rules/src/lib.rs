//! Action Rules: the sandboxed Rhai engine and the visibility model.
//!
//! An admin's rule is a Rhai script that reads a read-only [`Context`] and answers show, hide or
//! no opinion ([`RuleOutcome`]). [`RuleEngine`] compiles scripts once and evaluates them inside
//! hard limits; [`decide`] and [`RuleEngine::evaluate_all`] combine the answers with REST
//! [`Override`]s into a [`Decision`] that says what decided. `rules/README.md` is the reference
//! for script authors.

mod builtin;
mod context;
mod decision;
mod engine;
mod error;
mod explain;
mod opening_hours;
mod outcome;
mod overrides;
mod run_frame;
mod script_api;

pub use builtin::{BuiltinRule, ParamKind, ParamSpec, builtin_rules};
pub use context::{AgentsContext, Context, CustomerContext, VisitorContext};
pub use decision::{DecidedBy, Decision, RuleReport, decide};
pub use engine::{CompileError, CompiledRule, ConfiguredRule, Limits, RuleEngine};
pub use error::Error;
pub use explain::explain;
pub use opening_hours::{OpeningHours, SpecError, validate_opening_hours};
pub use outcome::{Answer, RuleOutcome};
pub use overrides::{
    Action, Override, OverrideLevel, OverrideScope, OverrideView, select_override,
};
