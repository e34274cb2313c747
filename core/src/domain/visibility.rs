//! Whether the widget shows for a visitor: Action Rules (sandboxed Rhai) combined with REST
//! overrides, decided from live facts and re-decided when any input changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use natter_rules::{
    Action, AgentsContext, BuiltinRule, ConfiguredRule, Context, CustomerContext, Decision,
    Override, OverrideScope, RuleEngine, VisitorContext,
};

use crate::bus::Bus;
use crate::domain::DomainError;
use crate::domain::clock::Clock;
use crate::domain::events::{Cache, RealtimeEvent, Topic};
use crate::domain::ids::{RuleId, SiteId, VisitorId};
use crate::domain::live_visitors::shrink_after_crowd;
use crate::domain::model::{OverrideTarget, Rule, VisibilityOverride};
use crate::domain::presence::Presence;
use crate::store::{RuleDraft, Store};

/// What the server knows about a visitor on a page: the inputs of their decision besides the
/// rules, overrides and agents.
#[derive(Debug, Clone)]
pub struct VisitorFacts {
    pub visitor_id: VisitorId,
    pub site_id: SiteId,
    pub timezone: Tz,
    pub visits: u32,
    pub url: String,
    pub referrer: String,
    pub language: String,
    /// When the visitor arrived on the current page.
    pub page_since: DateTime<Utc>,
    pub customer: Option<CustomerContext>,
}

/// A rule as the admin wrote it, before it is checked.
#[derive(Debug, Clone)]
pub struct RuleInput {
    pub name: String,
    /// The script; `None` takes the built-in's.
    pub script: Option<String>,
    pub builtin: Option<String>,
    pub params: Option<serde_json::Value>,
    pub position: Option<i32>,
    pub enabled: bool,
}

/// A decision for a context written by hand, with why each rule answered as it did.
#[derive(Debug, Clone)]
pub struct TestRun {
    pub decision: Decision,
    /// One sentence per entry of `decision.rules`, in the same order.
    pub reasons: Vec<String>,
}

/// The compiled rules in admin order, swapped whole on every change.
type RuleSet = Arc<Vec<ConfiguredRule>>;

#[derive(Clone)]
pub struct Visibility {
    inner: Arc<Inner>,
}

struct Inner {
    engine: RuleEngine,
    store: Store,
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
    presence: Arc<Presence>,
    rules: RwLock<RuleSet>,
    overrides: RwLock<Arc<Vec<VisibilityOverride>>>,
    /// Facts of connected visitors (the newest tab's), so an integrator can ask what one sees now.
    live: Mutex<HashMap<VisitorId, (usize, VisitorFacts)>>,
}

impl Visibility {
    /// Loads and compiles the stored rules and overrides.
    pub async fn load(
        limits: natter_rules::Limits,
        store: Store,
        bus: Arc<dyn Bus>,
        clock: Arc<dyn Clock>,
        presence: Arc<Presence>,
    ) -> Result<Self, DomainError> {
        let this = Self {
            inner: Arc::new(Inner {
                engine: RuleEngine::new(limits),
                store,
                bus,
                clock,
                presence,
                rules: RwLock::new(Arc::new(Vec::new())),
                overrides: RwLock::new(Arc::new(Vec::new())),
                live: Mutex::new(HashMap::new()),
            }),
        };
        this.reload_rules().await?;
        this.reload_overrides().await?;
        Ok(this)
    }

    /// The decision for a visitor now.
    pub fn decide(&self, facts: &VisitorFacts) -> Decision {
        let ctx = self.context(facts);
        let rules = self.rule_set();
        let overrides = self.overrides_for(facts.site_id);
        self.inner.engine.evaluate_all(&rules, &overrides, &ctx)
    }

    /// The context a visitor's rules see now.
    pub fn context(&self, facts: &VisitorFacts) -> Context {
        let now = self.inner.clock.now();
        let counts = self.inner.presence.counts();
        Context {
            now,
            timezone: facts.timezone,
            agents: AgentsContext {
                online: counts.online,
                available: counts.available,
                groups_online: Vec::new(),
                groups_available: Vec::new(),
            },
            visitor: VisitorContext {
                id: facts.visitor_id.to_string(),
                visits: facts.visits,
                seconds_on_page: u64::try_from((now - facts.page_since).num_seconds()).unwrap_or(0),
                url: facts.url.clone(),
                referrer: facts.referrer.clone(),
                language: facts.language.clone(),
                customer: facts.customer.clone(),
            },
            override_: None,
        }
    }

    /// Evaluates a context given by hand: the stored rules, or only `draft` when given; each rule's
    /// report comes with a sentence saying why it answered so.
    pub async fn test(
        &self,
        ctx: &Context,
        draft: Option<(&str, serde_json::Value)>,
    ) -> Result<TestRun, DomainError> {
        // (rule, built-in key when the rule runs that built-in's script unchanged)
        let mut explained: Vec<(ConfiguredRule, Option<String>)> = Vec::new();
        match draft {
            Some((script, params)) => {
                let compiled = self.compile("draft", script)?;
                explained.push((ConfiguredRule::new(compiled, params, true), None));
            }
            // Compiled afresh (not the cached set) so each report lines up with its stored rule.
            None => {
                for rule in self.rules().await? {
                    let Ok(compiled) = self.inner.engine.compile(&rule.name, &rule.script) else {
                        continue;
                    };
                    let key = rule
                        .builtin
                        .filter(|key| builtin(key).is_ok_and(|b| b.script == rule.script.as_str()));
                    explained.push((
                        ConfiguredRule::new(compiled, rule.params, rule.enabled),
                        key,
                    ));
                }
            }
        }
        let rules: Vec<ConfiguredRule> = explained.iter().map(|(r, _)| r.clone()).collect();
        let decision = self.inner.engine.evaluate_all(&rules, &[], ctx);
        let reasons = decision
            .rules
            .iter()
            .zip(&explained)
            .map(|(report, (rule, key))| {
                natter_rules::explain(key.as_deref(), rule.params(), ctx, report)
            })
            .collect();
        Ok(TestRun { decision, reasons })
    }

    /// A connected visitor's facts changed (or they arrived): remembered for [`Self::live_facts`].
    pub fn visitor_connected(&self, facts: &VisitorFacts) {
        let mut live = self.inner.live.lock().unwrap_or_else(|e| e.into_inner());
        let entry = live
            .entry(facts.visitor_id)
            .or_insert_with(|| (0, facts.clone()));
        entry.0 += 1;
        entry.1 = facts.clone();
    }

    pub fn visitor_moved(&self, facts: &VisitorFacts) {
        let mut live = self.inner.live.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = live.get_mut(&facts.visitor_id) {
            entry.1 = facts.clone();
        }
    }

    pub fn visitor_disconnected(&self, visitor: VisitorId) {
        let mut live = self.inner.live.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = live.get_mut(&visitor) {
            entry.0 = entry.0.saturating_sub(1);
            if entry.0 == 0 {
                live.remove(&visitor);
                shrink_after_crowd(&mut live);
            }
        }
    }

    /// How many connected visitors' facts are held (`GET /api/v1/stats`).
    pub fn live_count(&self) -> usize {
        self.inner
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// The facts of a connected visitor.
    pub fn live_facts(&self, visitor: VisitorId) -> Option<VisitorFacts> {
        let live = self.inner.live.lock().unwrap_or_else(|e| e.into_inner());
        live.get(&visitor).map(|(_, facts)| facts.clone())
    }

    pub async fn rules(&self) -> Result<Vec<Rule>, DomainError> {
        Ok(self.inner.store.list_rules().await?)
    }

    pub async fn rule(&self, id: RuleId) -> Result<Rule, DomainError> {
        self.inner
            .store
            .rule(id)
            .await?
            .ok_or(DomainError::NotFound("rule"))
    }

    pub async fn create_rule(&self, input: RuleInput) -> Result<Rule, DomainError> {
        let position = match input.position {
            Some(p) => p,
            None => self
                .inner
                .store
                .list_rules()
                .await?
                .last()
                .map_or(0, |r| r.position + 1),
        };
        let draft = self.check(input, position)?;
        let rule = self
            .inner
            .store
            .insert_rule(draft, self.inner.clock.now())
            .await?;
        self.rules_changed().await?;
        Ok(rule)
    }

    pub async fn update_rule(&self, id: RuleId, input: RuleInput) -> Result<Rule, DomainError> {
        let current = self.rule(id).await?;
        let position = input.position.unwrap_or(current.position);
        let draft = self.check(input, position)?;
        let rule = self
            .inner
            .store
            .update_rule(id, draft, self.inner.clock.now())
            .await?
            .ok_or(DomainError::NotFound("rule"))?;
        self.rules_changed().await?;
        Ok(rule)
    }

    pub async fn delete_rule(&self, id: RuleId) -> Result<(), DomainError> {
        if !self.inner.store.delete_rule(id).await? {
            return Err(DomainError::NotFound("rule"));
        }
        self.rules_changed().await
    }

    /// Puts the rules in the order of `ids`, which must name every rule once.
    pub async fn reorder_rules(&self, ids: &[RuleId]) -> Result<Vec<Rule>, DomainError> {
        let current = self.rules().await?;
        let mut wanted: Vec<RuleId> = ids.to_vec();
        wanted.sort_by_key(|id| id.0);
        wanted.dedup();
        let mut known: Vec<RuleId> = current.iter().map(|r| r.id).collect();
        known.sort_by_key(|id| id.0);
        if wanted.len() != ids.len() || wanted != known {
            return Err(DomainError::invalid(
                "ids",
                "must list every rule exactly once",
            ));
        }
        let rules = self
            .inner
            .store
            .reorder_rules(ids, self.inner.clock.now())
            .await?;
        self.rules_changed().await?;
        Ok(rules)
    }

    /// Overrides in force now.
    pub fn overrides(&self) -> Vec<VisibilityOverride> {
        let now = self.inner.clock.now();
        self.inner
            .overrides
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|o| o.until.is_none_or(|until| now < until))
            .cloned()
            .collect()
    }

    pub async fn set_override(
        &self,
        target: OverrideTarget,
        action: Action,
        until: Option<DateTime<Utc>>,
    ) -> Result<VisibilityOverride, DomainError> {
        let now = self.inner.clock.now();
        if until.is_some_and(|u| u <= now) {
            return Err(DomainError::invalid("until", "must be in the future"));
        }
        let o = VisibilityOverride {
            target,
            action,
            until,
            created_at: now,
        };
        self.inner.store.put_override(&o).await?;
        self.overrides_changed().await?;
        Ok(o)
    }

    pub async fn remove_override(&self, target: OverrideTarget) -> Result<(), DomainError> {
        if !self.inner.store.delete_override(target).await? {
            return Err(DomainError::NotFound("override"));
        }
        self.overrides_changed().await
    }

    /// Checks a script compiles; for the CLI and the REST draft test.
    pub fn compile(
        &self,
        name: &str,
        script: &str,
    ) -> Result<natter_rules::CompiledRule, DomainError> {
        self.inner
            .engine
            .compile(name, script)
            .map_err(|e| DomainError::Script {
                line: e.line,
                column: e.column,
                message: e.message,
            })
    }

    fn check(&self, input: RuleInput, position: i32) -> Result<RuleDraft, DomainError> {
        let name = input.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(DomainError::invalid("name", "must be 1 to 100 characters"));
        }
        let builtin = match &input.builtin {
            Some(key) => Some(builtin(key)?),
            None => None,
        };
        let script = match (input.script, &builtin) {
            (Some(script), _) => script,
            (None, Some(b)) => b.script.to_string(),
            (None, None) => {
                return Err(DomainError::invalid("script", "give a script or a builtin"));
            }
        };
        let params = match (input.params, &builtin) {
            (Some(params), _) => params,
            (None, Some(b)) => b.default_params.clone(),
            (None, None) => serde_json::json!({}),
        };
        if !params.is_object() {
            return Err(DomainError::invalid("params", "must be a JSON object"));
        }
        if let Some(b) = &builtin {
            b.check_params(&params)
                .map_err(|e| DomainError::invalid("params", e.to_string()))?;
        }
        self.compile(&name, &script)?;
        Ok(RuleDraft {
            name,
            script,
            params,
            position,
            enabled: input.enabled,
            builtin: input.builtin,
        })
    }

    fn rule_set(&self) -> RuleSet {
        self.inner
            .rules
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn overrides_for(&self, site: SiteId) -> Vec<Override> {
        self.inner
            .overrides
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|o| {
                let scope = match o.target {
                    OverrideTarget::Site(id) if id == site => OverrideScope::Site,
                    OverrideTarget::Site(_) => return None,
                    OverrideTarget::Customer(id) => OverrideScope::Customer(id.to_string()),
                    OverrideTarget::Visitor(id) => OverrideScope::Visitor(id.to_string()),
                };
                Some(Override {
                    scope,
                    action: o.action,
                    until: o.until,
                })
            })
            .collect()
    }

    async fn reload_rules(&self) -> Result<(), DomainError> {
        let mut compiled = Vec::new();
        for rule in self.inner.store.list_rules().await? {
            match self.inner.engine.compile(&rule.name, &rule.script) {
                Ok(c) => compiled.push(ConfiguredRule::new(c, rule.params, rule.enabled)),
                // Stored rules compiled when saved; one that no longer does (a newer engine) is
                // skipped rather than hiding the widget.
                Err(e) => {
                    tracing::warn!(rule = %rule.name, error = %e, "stored rule does not compile; skipped")
                }
            }
        }
        *self.inner.rules.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(compiled);
        Ok(())
    }

    async fn reload_overrides(&self) -> Result<(), DomainError> {
        let all = self.inner.store.list_overrides().await?;
        *self
            .inner
            .overrides
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(all);
        Ok(())
    }

    async fn rules_changed(&self) -> Result<(), DomainError> {
        self.reload_rules().await?;
        self.announce(Cache::Rules);
        Ok(())
    }

    async fn overrides_changed(&self) -> Result<(), DomainError> {
        self.reload_overrides().await?;
        self.announce(Cache::Overrides);
        Ok(())
    }

    /// Another node changed rules or overrides: reloads this node's copy, then its widgets re-decide.
    pub async fn reload(&self, cache: Cache) -> Result<(), DomainError> {
        match cache {
            Cache::Rules => self.reload_rules().await?,
            Cache::Overrides => self.reload_overrides().await?,
            // Not a visibility input (`cluster` hands it to the widget service).
            Cache::Widget => return Ok(()),
        }
        self.inner
            .bus
            .publish_local(Topic::AllVisitors, RealtimeEvent::VisibilityInputsChanged);
        Ok(())
    }

    /// This node's widgets re-decide now; other nodes reload first (`cluster`), then theirs do.
    fn announce(&self, cache: Cache) {
        self.inner
            .bus
            .publish_local(Topic::AllVisitors, RealtimeEvent::VisibilityInputsChanged);
        self.inner
            .bus
            .publish(Topic::Nodes, RealtimeEvent::CacheChanged(cache));
    }
}

fn builtin(key: &str) -> Result<BuiltinRule, DomainError> {
    natter_rules::builtin_rules()
        .into_iter()
        .find(|b| b.key == key)
        .ok_or_else(|| DomainError::invalid("builtin", format!("no built-in rule `{key}`")))
}
