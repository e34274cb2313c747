//! `natter plugin build`: builds a plugin crate for `wasm32-unknown-unknown` and wraps the module into a
//! component, the way `scripts/build-plugins.sh` does for the built-ins.
//!
//! The toolchain: a rustup toolchain with the `wasm32-unknown-unknown` target when there is one; otherwise
//! Debian's `rustc-web` + `rust-web-src` + `lld-19` with `-Zbuild-std` (machines where rustup cannot add
//! targets). Anything else is refused with what to install.

use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_RUST_SRC: &str = "/usr/lib/rustlib/src/rust";
const DEBIAN_LINKER: &str = "wasm-ld-19";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "no wasm toolchain: run `rustup target add {WASM_TARGET}`, or on Debian `apt-get install rustc-web rust-web-src lld-19`"
    )]
    NoToolchain,
    #[error("{0}")]
    Crate(String),
    #[error("cargo build failed ({0}); its output is above")]
    Cargo(String),
    #[error("cannot turn the module into a component: {0}")]
    Componentize(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// How the wasm32 build is done on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toolchain {
    /// rustup's toolchain has the target.
    Rustup,
    /// Debian's rustc 1.96 with its library source, building std (`-Zbuild-std`).
    Debian,
}

/// The toolchain `build` would use, if any.
pub fn toolchain() -> Option<Toolchain> {
    let rustup_has_target = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == WASM_TARGET)
        });
    if rustup_has_target {
        return Some(Toolchain::Rustup);
    }
    let linker = Command::new(DEBIAN_LINKER)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    (Path::new(DEBIAN_RUSTC).exists() && Path::new(DEBIAN_RUST_SRC).exists() && linker)
        .then_some(Toolchain::Debian)
}

/// The package to build, from `cargo metadata`.
struct Package {
    name: String,
    /// The cdylib target's name: the module's file name without `.wasm`.
    lib: String,
    target_dir: PathBuf,
}

/// Builds the plugin crate in `crate_dir` and writes the component to `out` (default:
/// `<target dir>/<package>.wasm`). Cargo's output goes to this process's stderr.
pub fn build(crate_dir: &Path, out: Option<&Path>) -> Result<PathBuf, BuildError> {
    let toolchain = toolchain().ok_or(BuildError::NoToolchain)?;
    let manifest = crate_dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(BuildError::Crate(format!(
            "{} has no Cargo.toml",
            crate_dir.display()
        )));
    }
    let package = package(&manifest)?;
    let mut cargo = Command::new("cargo");
    cargo
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&package.target_dir)
        // Settings of an outer build (a test run, a wrapper) must not leak into the plugin's.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if toolchain == Toolchain::Debian {
        cargo
            .arg("-Zbuild-std=std,panic_abort")
            .env("RUSTC", DEBIAN_RUSTC)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", DEBIAN_LINKER);
    }
    let status = cargo.status()?;
    if !status.success() {
        return Err(BuildError::Cargo(status.to_string()));
    }
    let module_path = package
        .target_dir
        .join(WASM_TARGET)
        .join("release")
        .join(format!("{}.wasm", package.lib));
    let module = std::fs::read(&module_path).map_err(|e| {
        BuildError::Crate(format!(
            "no module at {} ({e}); is the crate a cdylib?",
            module_path.display()
        ))
    })?;
    let component = componentize(&module)?;
    let out = out.map_or_else(
        || package.target_dir.join(format!("{}.wasm", package.name)),
        Path::to_path_buf,
    );
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, component)?;
    Ok(out)
}

/// Wraps a core module built against natter-sdk into a component; the WIT world comes from the
/// `component-type` section wit-bindgen left in the module.
pub fn componentize(module: &[u8]) -> Result<Vec<u8>, BuildError> {
    wit_component::ComponentEncoder::default()
        .module(module)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| BuildError::Componentize(format!("{e:#}")))
}

fn package(manifest: &Path) -> Result<Package, BuildError> {
    let output = Command::new("cargo")
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(manifest)
        .env_remove("CARGO_TARGET_DIR")
        .output()?;
    if !output.status.success() {
        return Err(BuildError::Crate(format!(
            "cargo metadata: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| BuildError::Crate(format!("cargo metadata: {e}")))?;
    let manifest = std::fs::canonicalize(manifest)?;
    let package = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| {
            p["manifest_path"]
                .as_str()
                .and_then(|m| std::fs::canonicalize(m).ok())
                .is_some_and(|m| m == manifest)
        })
        .ok_or_else(|| BuildError::Crate("cargo metadata does not list this crate".into()))?;
    let lib = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| {
            t["crate_types"]
                .as_array()
                .is_some_and(|types| types.iter().any(|k| k == "cdylib"))
        })
        .and_then(|t| t["name"].as_str())
        .ok_or_else(|| {
            BuildError::Crate(
                "the crate has no cdylib target: add `crate-type = [\"cdylib\", \"rlib\"]` under [lib]"
                    .into(),
            )
        })?;
    Ok(Package {
        name: package["name"].as_str().unwrap_or(lib).to_string(),
        lib: lib.replace('-', "_"),
        target_dir: metadata["target_directory"]
            .as_str()
            .map(PathBuf::from)
            .ok_or_else(|| BuildError::Crate("cargo metadata names no target directory".into()))?,
    })
}
