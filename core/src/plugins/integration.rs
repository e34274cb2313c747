//! Integration plugins: the REST routes they serve under `/api/v1` and the platform events they take.
//!
//! A plugin declares its routes once, when it loads (`register`); the host checks them (a known method, a
//! path template below `/api/v1`, a scope that exists) and refuses a plugin whose routes do not pass. The
//! HTTP layer asks [`PluginHost::route_for`] only after its built-in routes did not match, so a built-in
//! route always wins. These types are the host's own, independent of any WIT version.

use std::collections::BTreeMap;

pub use crate::domain::plugin_api::{
    HttpMethod, PlatformEvent, RouteCaller, RouteRefusal, RouteRequest, RouteResponse,
};
use crate::domain::scope::Scope;
use crate::plugins::host::Adapter;
use crate::plugins::{PluginError, PluginHost, PluginKind};

/// A route as the plugin declared it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: HttpMethod,
    /// Template below `/api/v1`: `/agents/{externalId}`.
    pub path: String,
    pub summary: String,
    pub scope: String,
    pub request_schema: Option<String>,
    pub response_schema: String,
}

/// What a plugin serves and listens to, read once at load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    pub routes: Vec<RouteSpec>,
    pub events: Vec<String>,
}

/// A checked route: its template split into segments and its scope parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginRoute {
    pub plugin: String,
    pub method: HttpMethod,
    pub path: String,
    pub summary: String,
    pub scope: Scope,
    pub request_schema: Option<serde_json::Value>,
    pub response_schema: serde_json::Value,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

impl PluginRoute {
    /// Checks a declared route; the message says what is wrong with it.
    pub fn check(plugin: &str, spec: RouteSpec) -> Result<Self, String> {
        let segments = parse_template(&spec.path)?;
        let scope: Scope = spec
            .scope
            .parse()
            .map_err(|e| format!("route {} {}: {e}", spec.method.as_str(), spec.path))?;
        let json = |text: &str, what: &str| {
            serde_json::from_str::<serde_json::Value>(text).map_err(|_| {
                format!(
                    "route {} {}: its {what} schema is not JSON",
                    spec.method.as_str(),
                    spec.path
                )
            })
        };
        let request_schema = match &spec.request_schema {
            Some(text) => Some(json(text, "request")?),
            None => None,
        };
        let response_schema = json(&spec.response_schema, "response")?;
        Ok(Self {
            plugin: plugin.to_string(),
            method: spec.method,
            path: spec.path,
            summary: spec.summary,
            scope,
            request_schema,
            response_schema,
            segments,
        })
    }

    /// The path parameters if `path` (below `/api/v1`) matches this route's template.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => {
                    let value = percent_encoding::percent_decode_str(part)
                        .decode_utf8()
                        .ok()?
                        .into_owned();
                    params.push((name.clone(), value));
                }
            }
        }
        Some(params)
    }

    /// How many literal segments: with two matching routes, the more literal one wins
    /// (`/agents/sync` over `/agents/{externalId}`).
    fn literals(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count()
    }

    /// The template with parameter names replaced, to compare shapes (`/agents/{}`).
    pub fn shape(&self) -> String {
        shape_of(&self.path)
    }
}

/// A template's shape: parameters without names, so `/a/{id}` and `/a/{key}` compare equal.
pub fn shape_of(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                "{}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn parse_template(path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("route path `{path}` must start with /"));
    };
    let mut names = Vec::new();
    rest.split('/')
        .map(|part| {
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                let ok =
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !ok || names.contains(&name) {
                    return Err(format!("route path `{path}`: bad parameter `{part}`"));
                }
                names.push(name);
                Ok(Segment::Param(name.to_string()))
            } else if part.is_empty()
                || !part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                Err(format!("route path `{path}`: bad segment `{part}`"))
            } else {
                Ok(Segment::Literal(part.to_string()))
            }
        })
        .collect()
}

impl PluginHost {
    /// Every route of every loaded integration plugin, disabled ones included (they answer 503), in
    /// plugin-name order. Of two plugins declaring the same method and shape, the first name wins.
    pub fn plugin_routes(&self) -> Vec<PluginRoute> {
        let mut taken: BTreeMap<(HttpMethod, String), PluginRoute> = BTreeMap::new();
        for info in self.list() {
            if info.manifest.kind != PluginKind::Integration {
                continue;
            }
            let Some(plugin) = self.get(&info.manifest.name) else {
                continue;
            };
            for route in plugin.routes() {
                let key = (route.method, route.shape());
                if let Some(first) = taken.get(&key) {
                    tracing::debug!(plugin = %route.plugin, route = %route.path, first = %first.plugin, "another plugin already serves this route; ignored");
                    continue;
                }
                taken.insert(key, route.clone());
            }
        }
        taken.into_values().collect()
    }

    /// The plugin route for `method` and `path` (below `/api/v1`), with its path parameters.
    pub fn route_for(
        &self,
        method: HttpMethod,
        path: &str,
    ) -> Option<(PluginRoute, Vec<(String, String)>)> {
        self.plugin_routes()
            .into_iter()
            .filter(|route| route.method == method)
            .filter_map(|route| route.matches(path).map(|params| (route, params)))
            .max_by_key(|(route, _)| route.literals())
    }

    /// Serves a request to a plugin route with the plugin's configuration. `Ok(Err(refusal))` is the
    /// plugin turning the request down.
    pub async fn handle_route(
        &self,
        plugin: &str,
        config: String,
        request: RouteRequest,
    ) -> Result<Result<RouteResponse, RouteRefusal>, PluginError> {
        let input = request.body.as_ref().map_or(0, String::len)
            + request
                .params
                .iter()
                .chain(&request.query)
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
        self.call(
            plugin,
            PluginKind::Integration,
            input,
            answer_size,
            move |adapter, store| {
                let Adapter::Integration0_1(integration) = adapter else {
                    return Ok(Err("not an integration plugin".into()));
                };
                integration.handle(store, &config, request)
            },
        )
        .await
    }

    /// Hands one platform event to an integration plugin that registered for its type.
    pub async fn on_event(
        &self,
        plugin: &str,
        config: String,
        event: PlatformEvent,
    ) -> Result<(), PluginError> {
        let input = config.len() + event.size();
        self.call(
            plugin,
            PluginKind::Integration,
            input,
            |_: &()| 0,
            move |adapter, store| {
                let Adapter::Integration0_1(integration) = adapter else {
                    return Ok(Err("not an integration plugin".into()));
                };
                integration.on_event(store, &config, event)
            },
        )
        .await
    }

    /// Asks the webhook shaper for the body endpoints get for `event`.
    pub async fn shape_webhook(
        &self,
        plugin: &str,
        config: String,
        event: PlatformEvent,
    ) -> Result<String, PluginError> {
        let input = config.len() + event.size();
        self.call(
            plugin,
            PluginKind::Integration,
            input,
            String::len,
            move |adapter, store| {
                let Adapter::Integration0_1(integration) = adapter else {
                    return Ok(Err("not an integration plugin".into()));
                };
                integration.shape_webhook(store, &config, event)
            },
        )
        .await
    }
}

fn answer_size(answer: &Result<RouteResponse, RouteRefusal>) -> usize {
    match answer {
        Ok(response) => response.body.len(),
        Err(RouteRefusal::Invalid(errors)) => {
            errors.iter().map(|e| e.field.len() + e.message.len()).sum()
        }
        Err(
            RouteRefusal::NotFound(text)
            | RouteRefusal::Conflict(text)
            | RouteRefusal::BadRequest(text),
        ) => text.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: HttpMethod, path: &str) -> PluginRoute {
        PluginRoute::check(
            "p",
            RouteSpec {
                method,
                path: path.into(),
                summary: String::new(),
                scope: "agents:write".into(),
                request_schema: None,
                response_schema: "{}".into(),
            },
        )
        .expect("valid route")
    }

    #[test]
    fn templates_match_segments_and_decode_parameters() {
        let one = route(HttpMethod::Put, "/agents/{externalId}");
        assert_eq!(
            one.matches("/agents/a%20b"),
            Some(vec![("externalId".into(), "a b".into())])
        );
        assert_eq!(one.matches("/agents"), None);
        assert_eq!(one.matches("/agents/"), None);
        assert_eq!(one.matches("/agents/x/y"), None);
        assert_eq!(route(HttpMethod::Put, "/agents/sync").literals(), 2);
        assert_eq!(one.shape(), "/agents/{}");
    }

    #[test]
    fn bad_templates_and_scopes_are_refused() {
        for path in ["agents", "/agents/{}", "/a/{x}/{x}", "/a//b", "/a/b?c"] {
            let spec = RouteSpec {
                method: HttpMethod::Get,
                path: path.into(),
                summary: String::new(),
                scope: "agents:read".into(),
                request_schema: None,
                response_schema: "{}".into(),
            };
            assert!(PluginRoute::check("p", spec).is_err(), "{path}");
        }
        let spec = RouteSpec {
            method: HttpMethod::Get,
            path: "/x".into(),
            summary: String::new(),
            scope: "everything".into(),
            request_schema: None,
            response_schema: "{}".into(),
        };
        assert!(PluginRoute::check("p", spec).is_err());
    }
}
