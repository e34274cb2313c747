//! Building a [`Manifest`]: the SDK fills in the API version so a plugin cannot claim one it was not built
//! against.

use crate::types::{Manifest, PluginKind};

/// Builds a manifest; start from [`manifest!`](crate::manifest!) to take the version from `Cargo.toml`.
#[derive(Debug, Clone)]
pub struct ManifestBuilder {
    manifest: Manifest,
}

impl ManifestBuilder {
    pub fn new(kind: PluginKind, name: &str, version: &str) -> Self {
        Self {
            manifest: Manifest {
                name: name.to_owned(),
                version: version.to_owned(),
                kind,
                api_version: crate::API_VERSION.to_owned(),
                capabilities: Vec::new(),
                description: String::new(),
            },
        }
    }

    /// One line for admins.
    pub fn description(mut self, description: &str) -> Self {
        description.clone_into(&mut self.manifest.description);
        self
    }

    /// Asks for a capability (see [`capability`](crate::capability)); the host's configuration grants it.
    pub fn capability(mut self, name: &str) -> Self {
        if !self.manifest.capabilities.iter().any(|c| c == name) {
            self.manifest.capabilities.push(name.to_owned());
        }
        self
    }

    pub fn build(self) -> Manifest {
        self.manifest
    }
}

/// Starts a [`ManifestBuilder`] for a plugin kind and name, with the calling crate's version:
/// `natter_sdk::manifest!(Widget, "webchat").description("…").build()`.
#[macro_export]
macro_rules! manifest {
    ($kind:ident, $name:expr) => {
        $crate::manifest::ManifestBuilder::new(
            $crate::types::PluginKind::$kind,
            $name,
            ::core::env!("CARGO_PKG_VERSION"),
        )
    };
}

#[cfg(test)]
mod tests {
    use crate::manifest::ManifestBuilder;
    use crate::types::PluginKind;

    #[test]
    fn fills_the_api_version_and_keeps_capabilities_unique() {
        let manifest = ManifestBuilder::new(PluginKind::Widget, "demo", "1.2.3")
            .capability("kv")
            .capability("kv")
            .description("A demo")
            .build();
        assert_eq!(manifest.api_version, crate::API_VERSION);
        assert_eq!(manifest.capabilities, vec!["kv".to_owned()]);
        assert_eq!(manifest.description, "A demo");
    }

    #[test]
    fn the_macro_takes_the_crate_version() {
        let manifest = crate::manifest!(Widget, "demo").build();
        assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(manifest.kind, PluginKind::Widget);
    }
}
