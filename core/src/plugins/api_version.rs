//! The API version a component was built against, read from its import and export names, and whether this
//! server has an adapter for it.
//!
//! Every name of the WIT package carries its version (`natter:plugin/widget-plugin@0.1.0`). That is what the
//! bindings link against, so it is what the host trusts; the manifest's `api-version` is checked against it.

use crate::plugins::PluginKind;

/// The WIT package's name prefix in component import and export names.
const PACKAGE: &str = "natter:plugin/";

/// Compatibility keys this server has an adapter for (cargo's rule: the major, or `0.minor` below 1.0).
pub const SUPPORTED: &[&str] = &["0.1"];

/// How the supported versions read in a message: `0.1.x`.
pub fn supported_text() -> String {
    SUPPORTED
        .iter()
        .map(|key| format!("{key}.x"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A `natter:plugin` interface name split into interface and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceName<'a> {
    pub interface: &'a str,
    pub version: &'a str,
}

/// `natter:plugin/widget-plugin@0.1.0` → (`widget-plugin`, `0.1.0`); `None` for other packages.
pub fn parse_name(name: &str) -> Option<InterfaceName<'_>> {
    let rest = name.strip_prefix(PACKAGE)?;
    let (interface, version) = rest.split_once('@')?;
    Some(InterfaceName { interface, version })
}

/// The compatibility key of a semver version: `1.2.3` → `1`, `0.1.3` → `0.1`. `None` if it is not semver-like.
pub fn compat_key(version: &str) -> Option<String> {
    let mut parts = version.split(['.', '-', '+']);
    let major: u64 = parts.next()?.parse().ok()?;
    let minor: u64 = parts.next()?.parse().ok()?;
    Some(if major == 0 {
        format!("0.{minor}")
    } else {
        major.to_string()
    })
}

pub fn is_supported(version: &str) -> bool {
    compat_key(version).is_some_and(|key| SUPPORTED.contains(&key.as_str()))
}

/// The plugin kind a `*-plugin` export interface stands for.
pub fn kind_of_export(interface: &str) -> Option<PluginKind> {
    match interface {
        "widget-plugin" => Some(PluginKind::Widget),
        "cobrowse-plugin" => Some(PluginKind::Cobrowse),
        "integration-plugin" => Some(PluginKind::Integration),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_interface_and_version_from_names() {
        assert_eq!(
            parse_name("natter:plugin/widget-plugin@0.1.0"),
            Some(InterfaceName {
                interface: "widget-plugin",
                version: "0.1.0"
            })
        );
        assert_eq!(parse_name("wasi:cli/run@0.2.0"), None);
        assert_eq!(parse_name("natter:plugin/host"), None);
    }

    #[test]
    fn compatibility_follows_cargo_semver() {
        assert!(is_supported("0.1.0"));
        assert!(is_supported("0.1.7"));
        assert!(!is_supported("0.2.0"));
        assert!(!is_supported("1.0.0"));
        assert!(!is_supported("banana"));
        assert_eq!(compat_key("2.3.4").as_deref(), Some("2"));
        assert_eq!(supported_text(), "0.1.x");
    }
}
