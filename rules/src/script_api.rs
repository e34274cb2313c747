//! What scripts can name: the read-only context objects, the answer helpers and the opening-hours
//! functions. Registered once per engine; a scope holding one context is built per evaluation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use rhai::{Array, Dynamic, Engine, EvalAltResult, INT, Map, Scope};

use crate::context::{AgentsContext, Context, VisitorContext};
use crate::opening_hours::{OpeningHours, SpecError};
use crate::outcome::Answer;
use crate::overrides::{Action, OverrideLevel, OverrideView};
use crate::run_frame;

/// The names a script may read without declaring them; `params` is pushed per rule.
pub(crate) const GLOBALS: [&str; 5] = ["agents", "now", "visitor", "override", "params"];

/// Distinct specs kept parsed; past this the cache starts over rather than grow without bound.
const SPEC_CACHE_CAPACITY: usize = 256;

#[derive(Debug, Clone)]
pub(crate) struct Agents(Arc<AgentsContext>);

#[derive(Debug, Clone)]
pub(crate) struct Visitor(Arc<VisitorContext>);

#[derive(Debug, Clone, Copy)]
pub(crate) struct Now(DateTime<Tz>);

/// A script's answer as built by `show()`, `hide()`, `away()`, `no_opinion()` and `.recheck(secs)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub answer: Answer,
    pub recheck: Option<u64>,
}

type Fallible<T> = Result<T, Box<EvalAltResult>>;

pub(crate) fn register(engine: &mut Engine) {
    register_answers(engine);
    register_agents(engine);
    register_visitor(engine);
    register_now(engine);
    register_opening_hours(engine, Arc::new(SpecCache::default()));
}

/// The scope every rule of one evaluation shares; the caller pushes `params` on top.
pub(crate) fn scope_for(ctx: &Context, override_: Option<&OverrideView>) -> Scope<'static> {
    let mut scope = Scope::with_capacity(GLOBALS.len());
    scope.push_constant("agents", Agents(Arc::new(ctx.agents.clone())));
    scope.push_constant("now", Now(ctx.now.with_timezone(&ctx.timezone)));
    scope.push_constant("visitor", Visitor(Arc::new(ctx.visitor.clone())));
    let override_ = override_.map_or(Dynamic::UNIT, |o| override_map(o, ctx.now));
    scope.push_constant_dynamic("override", override_);
    scope
}

/// `until` is a Rhai keyword, so the expiry is named `expires` for scripts.
fn override_map(view: &OverrideView, now: DateTime<Utc>) -> Dynamic {
    let scope = match view.scope {
        OverrideLevel::Site => "site",
        OverrideLevel::Customer => "customer",
        OverrideLevel::Visitor => "visitor",
    };
    let action = match view.action {
        Action::Show => "show",
        Action::Hide => "hide",
    };
    let mut map = Map::new();
    map.insert("scope".into(), scope.into());
    map.insert("action".into(), action.into());
    let expires = view.until.map_or(Dynamic::UNIT, |u| u.to_rfc3339().into());
    map.insert("expires".into(), expires);
    let seconds_left = view
        .until
        .map_or(Dynamic::UNIT, |u| (u - now).num_seconds().max(0).into());
    map.insert("seconds_left".into(), seconds_left);
    map.into()
}

/// JSON parameters as Rhai values; integers stay integers so `params.seconds` compares with ints.
pub(crate) fn json_to_dynamic(value: &serde_json::Value) -> Dynamic {
    use serde_json::Value;
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().map_or(Dynamic::UNIT, Dynamic::from_float),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => items.iter().map(json_to_dynamic).collect::<Array>().into(),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| (k.as_str().into(), json_to_dynamic(v)))
            .collect::<Map>()
            .into(),
    }
}

fn to_int(n: impl TryInto<INT>) -> INT {
    n.try_into().unwrap_or(INT::MAX)
}

fn strings(items: &[String]) -> Array {
    items.iter().map(|s| s.as_str().into()).collect()
}

fn register_answers(engine: &mut Engine) {
    let verdict = |answer| {
        move || Verdict {
            answer,
            recheck: None,
        }
    };
    engine
        .register_type_with_name::<Verdict>("Verdict")
        .register_fn("show", verdict(Answer::Show))
        .register_fn("hide", verdict(Answer::Hide))
        .register_fn("away", verdict(Answer::Away))
        .register_fn("no_opinion", verdict(Answer::NoOpinion))
        // Zero or negative means "now" to the script author; one second keeps the server from
        // re-deciding in a tight loop.
        .register_fn("recheck", |v: Verdict, secs: INT| Verdict {
            recheck: Some(u64::try_from(secs).unwrap_or(0).max(1)),
            ..v
        })
        .register_fn("to_string", |v: Verdict| describe(&v))
        .register_fn("to_debug", |v: Verdict| describe(&v));
}

fn describe(v: &Verdict) -> String {
    match v.recheck {
        Some(secs) => format!("{}().recheck({secs})", v.answer.as_str()),
        None => format!("{}()", v.answer.as_str()),
    }
}

fn register_agents(engine: &mut Engine) {
    engine
        .register_type_with_name::<Agents>("Agents")
        .register_get("online", |a: &mut Agents| INT::from(a.0.online))
        .register_get("available", |a: &mut Agents| INT::from(a.0.available))
        .register_get("groups_online", |a: &mut Agents| {
            strings(&a.0.groups_online)
        })
        .register_get("groups_available", |a: &mut Agents| {
            strings(&a.0.groups_available)
        })
        .register_fn("has_online", |a: Agents, group: &str| {
            a.0.groups_online.iter().any(|g| g == group)
        })
        .register_fn("has_available", |a: Agents, group: &str| {
            a.0.groups_available.iter().any(|g| g == group)
        });
}

fn register_visitor(engine: &mut Engine) {
    engine
        .register_type_with_name::<Visitor>("Visitor")
        .register_get("id", |v: &mut Visitor| v.0.id.clone())
        .register_get("visits", |v: &mut Visitor| INT::from(v.0.visits))
        .register_get("seconds_on_page", |v: &mut Visitor| {
            to_int(v.0.seconds_on_page)
        })
        .register_get("url", |v: &mut Visitor| v.0.url.clone())
        .register_get("referrer", |v: &mut Visitor| v.0.referrer.clone())
        .register_get("language", |v: &mut Visitor| v.0.language.clone())
        .register_get("customer", |v: &mut Visitor| match &v.0.customer {
            Some(c) => {
                let mut map = Map::new();
                map.insert("id".into(), c.id.as_str().into());
                map.insert("labels".into(), strings(&c.labels).into());
                Dynamic::from_map(map)
            }
            None => Dynamic::UNIT,
        })
        .register_get("labels", |v: &mut Visitor| {
            v.0.customer
                .as_ref()
                .map_or_else(Array::new, |c| strings(&c.labels))
        })
        .register_fn("has_label", |v: Visitor, label: &str| {
            v.0.customer
                .as_ref()
                .is_some_and(|c| c.labels.iter().any(|l| l == label))
        });
}

const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn register_now(engine: &mut Engine) {
    engine
        .register_type_with_name::<Now>("Now")
        .register_get("year", |n: &mut Now| INT::from(n.0.year()))
        .register_get("month", |n: &mut Now| INT::from(n.0.month()))
        .register_get("day", |n: &mut Now| INT::from(n.0.day()))
        .register_get("weekday", |n: &mut Now| {
            let index = n.0.weekday().num_days_from_monday();
            WEEKDAY_NAMES
                .get(index as usize)
                .copied()
                .unwrap_or_default()
                .to_owned()
        })
        .register_get("weekday_number", |n: &mut Now| {
            INT::from(n.0.weekday().number_from_monday())
        })
        .register_get("hour", |n: &mut Now| INT::from(n.0.hour()))
        .register_get("minute", |n: &mut Now| INT::from(n.0.minute()))
        .register_get("time", |n: &mut Now| n.0.format("%H:%M").to_string())
        .register_get("date", |n: &mut Now| n.0.format("%Y-%m-%d").to_string())
        .register_get("timezone", |n: &mut Now| n.0.timezone().name().to_owned())
        .register_get("unix", |n: &mut Now| n.0.timestamp())
        .register_fn("to_string", |n: Now| n.0.to_rfc3339())
        .register_fn("to_debug", |n: Now| n.0.to_rfc3339());
}

fn register_opening_hours(engine: &mut Engine, cache: Arc<SpecCache>) {
    let open = {
        let cache = Arc::clone(&cache);
        move |spec: &str, zone: &str| -> Fallible<bool> {
            let now = zoned_now("opening_hours", zone)?;
            Ok(cache.get(spec)?.state(now).open)
        }
    };
    let next = move |spec: &str, zone: &str| -> Fallible<Dynamic> {
        let now = zoned_now("next_change_secs", zone)?;
        let state = cache.get(spec)?.state(now);
        Ok(state.next_change.map_or(Dynamic::UNIT, |at| {
            let millis = (at - now.with_timezone(&Utc)).num_milliseconds();
            to_int(u64::try_from(millis).unwrap_or(0).div_ceil(1000).max(1)).into()
        }))
    };
    // One argument reads the hours in the site's time zone; a second names another zone ("" is
    // the site's), so a rule can keep a team's hours wherever the site is.
    let open_here = open.clone();
    engine.register_fn("opening_hours", move |spec: &str| open_here(spec, ""));
    engine.register_fn("opening_hours", open);
    let next_here = next.clone();
    engine.register_fn("next_change_secs", move |spec: &str| next_here(spec, ""));
    engine.register_fn("next_change_secs", next);
}

/// The evaluation's time, in `zone` when one is named.
fn zoned_now(function: &str, zone: &str) -> Fallible<DateTime<Tz>> {
    let now = frame_now(function)?;
    if zone.is_empty() {
        return Ok(now);
    }
    let tz: Tz = zone
        .parse()
        .map_err(|_| format!("{function}: unknown time zone \"{zone}\""))?;
    Ok(now.with_timezone(&tz))
}

fn frame_now(function: &str) -> Fallible<DateTime<Tz>> {
    run_frame::current()
        .map(|frame| frame.now)
        .ok_or_else(|| format!("{function} is only available while a rule is evaluated").into())
}

/// Parsed specs, shared by every evaluation. Each also remembers its last answer for as long as
/// that answer holds, because after an agent status change the server re-decides for every
/// visitor within the same second and they all ask the same question.
#[derive(Default)]
struct SpecCache {
    entries: RwLock<HashMap<String, Arc<CachedSpec>>>,
}

struct CachedSpec {
    hours: OpeningHours,
    last: Mutex<Option<Span>>,
}

/// From `from` until `until` (exclusive) in `tz`, the hours are `open`; `next_change` follows.
#[derive(Debug, Clone, Copy)]
struct Span {
    tz: Tz,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    state: State,
}

#[derive(Debug, Clone, Copy)]
struct State {
    open: bool,
    next_change: Option<DateTime<Utc>>,
}

impl SpecCache {
    fn get(&self, spec: &str) -> Fallible<Arc<CachedSpec>> {
        let cached = self
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(spec)
            .cloned();
        if let Some(entry) = cached {
            return Ok(entry);
        }
        let hours = OpeningHours::parse(spec).map_err(|e: SpecError| {
            Box::<EvalAltResult>::from(format!("invalid opening hours: {e}"))
        })?;
        let entry = Arc::new(CachedSpec {
            hours,
            last: Mutex::new(None),
        });
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= SPEC_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(spec.to_owned(), Arc::clone(&entry));
        Ok(entry)
    }
}

impl CachedSpec {
    fn state(&self, now: DateTime<Tz>) -> State {
        let instant = now.with_timezone(&Utc);
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(span) = *last
            && span.tz == now.timezone()
            && span.from <= instant
            && instant < span.until
        {
            return span.state;
        }
        let next_change = self.hours.next_change(now).map(|t| t.with_timezone(&Utc));
        let state = State {
            open: self.hours.is_open(now),
            next_change,
        };
        // Without a change in sight the answer is still certain for the next day at least.
        let until = next_change.unwrap_or(instant + TimeDelta::days(1));
        *last = Some(Span {
            tz: now.timezone(),
            from: instant,
            until,
            state,
        });
        state
    }
}
