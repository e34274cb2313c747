//! Who is on the site right now and where: the page, browser and language of each connected
//! visitor, for the console's details pane. Kept in memory only (nothing of it is stored), fed by
//! the visitor gateway, announced to agents while the visitor has an open conversation.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::bus::Bus;
use crate::domain::events::{RealtimeEvent, Topic};
use crate::domain::ids::VisitorId;
use crate::domain::model::PageInfo;

/// Longest page URL, title or language tag kept: the widget reports them, so they are bounded here.
const MAX_TEXT: usize = 2048;

/// What an agent may see of a connected visitor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VisitorContext {
    pub page_url: String,
    pub page_title: String,
    /// A short name such as "Chrome 131 on Windows", read from the `User-Agent` header.
    pub browser: String,
    /// The browser's preferred language (`navigator.language`, else the first `Accept-Language`).
    pub language: String,
    /// When the visitor's newest connection opened.
    pub since: DateTime<Utc>,
}

impl VisitorContext {
    pub fn new(
        page: &PageInfo,
        user_agent: &str,
        language: &str,
        accept_language: &str,
        now: DateTime<Utc>,
    ) -> Self {
        let language = if language.trim().is_empty() {
            first_language(accept_language)
        } else {
            bounded(language)
        };
        Self {
            page_url: bounded(&page.url),
            page_title: bounded(&page.title),
            browser: browser_name(user_agent),
            language,
            since: now,
        }
    }
}

/// The connected visitors of this process. A visitor with two tabs counts two connections; the
/// newest tab's page is the one shown.
#[derive(Clone)]
pub struct LiveVisitors {
    bus: Arc<dyn Bus>,
    live: Arc<Mutex<HashMap<VisitorId, (usize, VisitorContext)>>>,
}

impl LiveVisitors {
    pub fn new(bus: Arc<dyn Bus>) -> Self {
        Self {
            bus,
            live: Arc::default(),
        }
    }

    /// A visitor's widget connected. `announce`: they have an open conversation, so agents hear it.
    pub fn connected(&self, visitor: VisitorId, context: VisitorContext, announce: bool) {
        // A copy only for the announcement: every visitor socket that opens passes here.
        let announced = announce.then(|| context.clone());
        {
            let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            match live.entry(visitor) {
                Entry::Occupied(mut held) => {
                    let (connections, newest) = held.get_mut();
                    *connections += 1;
                    *newest = context;
                }
                Entry::Vacant(free) => {
                    free.insert((1, context));
                }
            }
        }
        if let Some(context) = announced {
            self.announce(visitor, Some(context));
        }
    }

    /// The visitor moved to another page without reloading.
    pub fn moved(&self, visitor: VisitorId, page: &PageInfo, announce: bool) {
        let context = {
            let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            let Some(entry) = live.get_mut(&visitor) else {
                return;
            };
            entry.1.page_url = bounded(&page.url);
            entry.1.page_title = bounded(&page.title);
            entry.1.clone()
        };
        if announce {
            self.announce(visitor, Some(context));
        }
    }

    /// One of the visitor's connections closed; the last one makes them offline.
    pub fn disconnected(&self, visitor: VisitorId, announce: bool) {
        let left = {
            let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            match live.get_mut(&visitor) {
                Some(entry) if entry.0 > 1 => {
                    entry.0 -= 1;
                    false
                }
                Some(_) => {
                    live.remove(&visitor);
                    shrink_after_crowd(&mut live);
                    true
                }
                None => false,
            }
        };
        if left && announce {
            self.announce(visitor, None);
        }
    }

    /// How many connected visitors are held (`GET /api/v1/stats`).
    pub fn count(&self) -> usize {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The visitor's context if they are connected.
    pub fn get(&self, visitor: VisitorId) -> Option<VisitorContext> {
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.get(&visitor).map(|(_, context)| context.clone())
    }

    fn announce(&self, visitor_id: VisitorId, context: Option<VisitorContext>) {
        self.bus.publish(
            Topic::Agents,
            RealtimeEvent::VisitorContext {
                visitor_id,
                context,
            },
        );
    }
}

fn bounded(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_TEXT) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

/// The first tag of an `Accept-Language` header (`de-DE,de;q=0.9,en;q=0.8` → `de-DE`).
pub fn first_language(header: &str) -> String {
    let tag = header
        .split(',')
        .next()
        .and_then(|first| first.split(';').next())
        .unwrap_or("")
        .trim();
    if tag == "*" || !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return String::new();
    }
    bounded(tag)
}

/// A short, human name for a `User-Agent`: browser and major version, and the system. The order of
/// the checks matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
pub fn browser_name(user_agent: &str) -> String {
    let major = |token: &str| {
        user_agent.split_whitespace().find_map(|part| {
            part.strip_prefix(token).map(|version| {
                version
                    .split('.')
                    .next()
                    .unwrap_or("")
                    .trim_end_matches(|c: char| !c.is_ascii_digit())
                    .to_string()
            })
        })
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("CriOS/", "Chrome"),
        ("Version/", "Safari"),
    ]
    .into_iter()
    .find_map(|(token, name)| major(token).map(|v| format!("{name} {v}")));
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(token, _)| user_agent.contains(token))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{} on {s}", b.trim_end()),
        (Some(b), None) => b.trim_end().to_string(),
        (None, Some(s)) => format!("a browser on {s}"),
        (None, None) => bounded(user_agent).chars().take(80).collect(),
    }
}

/// Gives back a table's memory once most of the visitors it held have left (a `HashMap` never
/// shrinks by itself, so 50,000 visitors who came and went would keep their slots).
pub(crate) fn shrink_after_crowd<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 64 && map.len() < map.capacity() / 4 {
        map.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::live_visitors::{browser_name, first_language};

    #[test]
    fn names_common_browsers() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131 on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
                "Edge 131 on Windows",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox 133 on Linux",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                "Safari 18 on iOS",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
                "Safari 17 on macOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome 131 on Android",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/130.0.6723.116 Safari/537.36",
                "Chrome 130 on Linux",
            ),
            ("curl/8.5.0", "curl/8.5.0"),
            ("", ""),
        ];
        for (agent, expected) in cases {
            assert_eq!(browser_name(agent), expected, "{agent}");
        }
    }

    #[test]
    fn takes_the_first_accept_language() {
        assert_eq!(first_language("de-DE,de;q=0.9,en;q=0.8"), "de-DE");
        assert_eq!(first_language("fr;q=0.7"), "fr");
        assert_eq!(first_language("*"), "");
        assert_eq!(first_language(""), "");
        assert_eq!(first_language("<script>"), "");
    }
}
