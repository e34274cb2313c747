//! Compiled plugin components kept on disk, so a restart does not compile every plugin again with
//! Cranelift (most of what starting the server used to cost).
//!
//! An entry is named by the SHA-256 of the component's bytes and of the engine's compatibility hash
//! (wasmtime's version and every compilation setting), so a new plugin build, a wasmtime upgrade or
//! a changed engine setting each get their own entry. An entry holds the SHA-256 of its payload
//! before the payload; one that is cut short, changed on disk or refused by wasmtime is removed and
//! the component compiled again. Nothing found in the folder is trusted beyond what those checks
//! prove, and the folder is as sensitive as the binary itself: whoever can write machine code
//! into it with a matching digest can run it in the server, as they could by replacing the binary.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const DIGEST_LEN: usize = 32;

/// A folder of compiled components.
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The component compiled from `bytes`: from the folder when a sound entry is there, otherwise
    /// compiled and written there for the next start (a folder that cannot be written only costs the
    /// next start its compile time).
    pub fn component(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        let path = self.dir.join(format!("{}.cwasm", key(engine, bytes)));
        if let Some(component) = self.read(engine, &path) {
            return Ok(component);
        }
        let component = Component::new(engine, bytes)?;
        match component.serialize() {
            Ok(serialized) => {
                if let Err(e) = write(&path, &serialized) {
                    tracing::warn!(path = %path.display(), error = %e, "compiled plugin not cached");
                }
            }
            Err(e) => tracing::warn!(error = %e, "compiled plugin cannot be serialized"),
        }
        Ok(component)
    }

    fn read(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let entry = std::fs::read(path).ok()?;
        let Some(payload) = checked_payload(&entry) else {
            tracing::warn!(path = %path.display(), "cached plugin is damaged; compiling again");
            let _ = std::fs::remove_file(path);
            return None;
        };
        // SAFETY: `Component::deserialize` needs bytes that `Component::serialize` made for an engine
        // compatible with this one. The payload's SHA-256 matches the digest written before it when it
        // was stored by `write` from `serialize`, so it is those bytes unchanged; the entry's name
        // includes the engine's compatibility hash, and wasmtime itself checks the version and
        // settings recorded in the payload again, failing (not crashing) on a mismatch.
        #[allow(
            unsafe_code,
            reason = "the one spot that loads machine code from disk; see the SAFETY note"
        )]
        let loaded = unsafe { Component::deserialize(engine, payload) };
        match loaded {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cached plugin refused; compiling again");
                let _ = std::fs::remove_file(path);
                None
            }
        }
    }
}

/// The entry's name: the component's bytes and everything about the engine that compiled code
/// depends on.
fn key(engine: &Engine, bytes: &[u8]) -> String {
    let mut hasher = DigestHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let mut digest = hasher.0;
    digest.update(Sha256::digest(bytes));
    hex::encode(digest.finalize())
}

/// The payload of an entry whose digest matches it.
fn checked_payload(entry: &[u8]) -> Option<&[u8]> {
    if entry.len() <= DIGEST_LEN {
        return None;
    }
    let (digest, payload) = entry.split_at(DIGEST_LEN);
    (Sha256::digest(payload).as_slice() == digest).then_some(payload)
}

/// Writes an entry whole or not at all: a temporary file in the folder, renamed over the name.
fn write(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(&Sha256::digest(payload))?;
    file.write_all(payload)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Feeds what a `Hash` implementation writes into SHA-256, so the key is the same in every process
/// (the standard hasher is seeded per process).
struct DigestHasher(Sha256);

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_is_taken_only_with_its_own_digest() {
        let payload = b"compiled code".to_vec();
        let mut entry = Sha256::digest(&payload).to_vec();
        entry.extend_from_slice(&payload);
        assert_eq!(checked_payload(&entry), Some(payload.as_slice()));

        let mut changed = entry.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        assert_eq!(checked_payload(&changed), None, "a changed byte");
        assert_eq!(
            checked_payload(&entry[..entry.len() - 1]),
            None,
            "cut short"
        );
        assert_eq!(checked_payload(&entry[..DIGEST_LEN]), None, "no payload");
        assert_eq!(checked_payload(&[]), None, "empty");
    }

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("engine")
    }

    const COMPONENT: &[u8] = include_bytes!("../../../plugins/dist/webhooks.wasm");

    fn only_entry(dir: &Path) -> PathBuf {
        let entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("cache folder")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        entries[0].clone()
    }

    #[test]
    fn a_damaged_or_refused_entry_is_compiled_again_and_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = CompileCache::new(dir.path().join("plugin-cache"));
        let engine = engine();
        cache.component(&engine, COMPONENT).expect("compiles");
        let entry = only_entry(&dir.path().join("plugin-cache"));
        let sound = std::fs::read(&entry).expect("entry");
        cache
            .component(&engine, COMPONENT)
            .expect("loads from the cache");
        assert_eq!(
            std::fs::read(&entry).expect("entry"),
            sound,
            "a sound entry is kept"
        );

        // A flipped byte: the digest no longer matches.
        let mut damaged = sound.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0xff;
        std::fs::write(&entry, &damaged).expect("damage");
        cache.component(&engine, COMPONENT).expect("compiled again");
        assert_eq!(std::fs::read(&entry).expect("entry"), sound, "rewritten");

        // A matching digest over bytes wasmtime refuses.
        let garbage = b"not a compiled component".to_vec();
        let mut refused = Sha256::digest(&garbage).to_vec();
        refused.extend_from_slice(&garbage);
        std::fs::write(&entry, &refused).expect("replace");
        cache.component(&engine, COMPONENT).expect("compiled again");
        assert_eq!(std::fs::read(&entry).expect("entry"), sound, "rewritten");
    }

    #[test]
    fn another_engine_setting_is_another_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = CompileCache::new(dir.path().to_path_buf());
        cache.component(&engine(), COMPONENT).expect("compiles");
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let other = Engine::new(&config).expect("engine");
        cache.component(&other, COMPONENT).expect("compiles");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 2);
    }
}
