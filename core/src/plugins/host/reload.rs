//! The plugin folder: scanning it, loading new, changed and removed files without a restart, and working
//! out which plugin answers each name (a folder plugin replaces a built-in; stored disabled records apply).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::plugins::capabilities::DisabledRecord;
use crate::plugins::host::{FileEntry, PluginHost, PluginSource};

/// How often the plugin folder is checked for new, replaced or removed files.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

impl PluginHost {
    /// Polls the plugin folder every [`RELOAD_INTERVAL`] until [`PluginHost::stop`], so a dropped-in,
    /// replaced or removed `.wasm` file takes effect without a restart. Does nothing without a folder.
    pub fn watch(&self) {
        if self.inner.dir.is_none() {
            return;
        }
        let host = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(RELOAD_INTERVAL);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = host.inner.stopped.cancelled() => break,
                    _ = interval.tick() => host.reload().await,
                }
            }
        });
    }

    /// Rescans the plugin folder: loads new and changed files, forgets removed ones.
    pub async fn reload(&self) {
        let changed = match self.inner.dir.clone() {
            Some(dir) => self.rescan(&dir).await,
            None => true,
        };
        if changed {
            self.refresh().await;
        }
    }

    /// Loads what changed in `dir` since the last scan; answers whether anything did.
    pub(super) async fn rescan(&self, dir: &Path) -> bool {
        let _one_at_a_time = self.inner.reloading.lock().await;
        let seen = scan(dir).await;
        let (changed, removed) = {
            let registry = self.read_registry();
            let changed: Vec<_> = seen
                .iter()
                .filter(|(path, stamp)| {
                    registry.files.get(*path).is_none_or(|e| e.stamp != **stamp)
                })
                .map(|(path, stamp)| (path.clone(), *stamp))
                .collect();
            let removed: Vec<PathBuf> = registry
                .files
                .keys()
                .filter(|path| !seen.contains_key(*path))
                .cloned()
                .collect();
            (changed, removed)
        };
        if changed.is_empty() && removed.is_empty() {
            return false;
        }
        let mut loaded = Vec::new();
        for (path, stamp) in changed {
            let hint = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let outcome = match tokio::fs::read(&path).await {
                Ok(bytes) => self
                    .load(&hint, bytes, PluginSource::File(path.clone()))
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("cannot read {}: {e}", path.display())),
            };
            match &outcome {
                Ok(plugin) => tracing::info!(
                    plugin = %plugin.manifest.name,
                    version = %plugin.manifest.version,
                    file = %path.display(),
                    "plugin loaded"
                ),
                Err(error) => tracing::error!(file = %path.display(), %error, "plugin not loaded"),
            }
            loaded.push((path, FileEntry { stamp, outcome }));
        }
        let mut registry = self.write_registry();
        for path in &removed {
            tracing::info!(file = %path.display(), "plugin file removed");
            registry.files.remove(path);
        }
        for (path, entry) in loaded {
            registry.files.insert(path, entry);
        }
        true
    }

    /// Recomputes what calls see, with the disabled records of storage applied.
    pub(super) async fn refresh(&self) {
        let disabled = match self.inner.data.disabled().await {
            Ok(disabled) => disabled,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read disabled plugins; assuming none");
                HashMap::new()
            }
        };
        self.recompute_active(&disabled);
    }

    /// Rebuilds the name → plugin map: built-ins, then folder files in name order (a folder plugin named
    /// like a built-in replaces it; of two files with one name, the first in file-name order wins).
    pub(super) fn recompute_active(&self, disabled: &HashMap<String, DisabledRecord>) {
        let mut registry = self.write_registry();
        let mut active = registry.builtins.clone();
        let mut from_files = BTreeSet::new();
        for (path, entry) in &registry.files {
            if let Ok(plugin) = &entry.outcome {
                let name = plugin.manifest.name.clone();
                if !from_files.insert(name.clone()) {
                    tracing::warn!(plugin = %name, file = %path.display(), "another file already provides this plugin; ignored");
                    continue;
                }
                active.insert(name, plugin.clone());
            }
        }
        for (name, plugin) in &active {
            if let Some(record) = disabled.get(name)
                && *record.digest == *plugin.digest
                && let Ok(mut slot) = plugin.health.disabled.lock()
                && slot.is_none()
            {
                *slot = Some(record.clone());
            }
        }
        registry.active = active;
    }
}

/// The `.wasm` files of the plugin folder with their modification stamp. A missing folder has none.
async fn scan(dir: &Path) -> BTreeMap<PathBuf, (Option<SystemTime>, u64)> {
    let mut found = BTreeMap::new();
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return found;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "wasm") {
            continue;
        }
        if let Ok(meta) = entry.metadata().await
            && meta.is_file()
        {
            found.insert(path, (meta.modified().ok(), meta.len()));
        }
    }
    found
}
