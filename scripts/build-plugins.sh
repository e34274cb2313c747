#!/usr/bin/env bash
# Builds every plugin crate in plugins/ (webchat and the host's test fixtures) for wasm32-unknown-unknown,
# turns each core module into a component and writes plugins/dist/<name>.wasm and
# plugins/dist/fixtures/<name>.wasm.
#
# Toolchain: a rustup toolchain with the wasm32-unknown-unknown target when there is one, otherwise Debian's
# rustc-web + rust-web-src + lld-19 with -Zbuild-std (see the wasm toolchain note). NATTER_WASM_TOOLCHAIN=rustup
# or =debian forces one. The committed bytes depend on the compiler, so compare builds of the same toolchain.
#
# The bytes do not depend on where the repository or CARGO_HOME live: paths are remapped to fixed names.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
plugins="$repo/plugins"
dist="$plugins/dist"
target="${NATTER_PLUGINS_TARGET_DIR:-$plugins/target}"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
wasm_target=wasm32-unknown-unknown
# An outer CARGO_TARGET_DIR would move the outputs away from where this script looks for them.
unset CARGO_TARGET_DIR

say() { printf 'build-plugins: %s\n' "$*" >&2; }

# The module → component tool is a host program: build it before any wasm-specific setting is exported.
say "building the componentize tool"
CARGO_TARGET_DIR="$target/host" cargo build --quiet --release --locked \
  --manifest-path "$plugins/componentize/Cargo.toml"
componentize="$target/host/release/componentize"

toolchain="${NATTER_WASM_TOOLCHAIN:-}"
if [[ -z "$toolchain" ]]; then
  if rustup target list --installed 2>/dev/null | grep -qx "$wasm_target"; then
    toolchain=rustup
  else
    toolchain=debian
  fi
fi

build_args=(build --release --locked --target "$wasm_target")
case "$toolchain" in
  rustup)
    rust_src="$(rustc --print sysroot)/lib/rustlib/src/rust"
    ;;
  debian)
    missing=()
    for pkg in rustc-web rust-web-src lld-19; do
      dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
      say "installing ${missing[*]}"
      apt-get update -q
      apt-get install -y -q "${missing[@]}"
    fi
    export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19
    build_args+=(-Zbuild-std=std,panic_abort)
    rust_src=/usr/lib/rustlib/src/rust
    ;;
  *)
    say "NATTER_WASM_TOOLCHAIN must be rustup or debian, not '$toolchain'"
    exit 2
    ;;
esac

# Panic locations embed source paths; map every machine-specific prefix to a fixed one. Encoded flags keep
# paths with spaces intact.
flags=(
  "--remap-path-prefix=$repo=/natter"
  "--remap-path-prefix=$cargo_home=/cargo"
  "--remap-path-prefix=$rust_src=/rustc-src"
)
unset RUSTFLAGS
CARGO_ENCODED_RUSTFLAGS="$(IFS=$'\x1f'; echo "${flags[*]}")"
export CARGO_ENCODED_RUSTFLAGS

# The co-browse plugin embeds rrweb's prebuilt bundles from npm, pinned by its package-lock.json; `npm ci`
# installs exactly those bytes (and checks their integrity hashes) before cargo reads them.
say "installing the co-browse plugin's npm packages (npm ci)"
(cd "$plugins/cobrowse" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)

say "building plugins for $wasm_target ($toolchain toolchain)"
# One build per plugin kind: cargo unifies the SDK's features across the crates of one build, and each
# plugin must link exactly its own kind's world (`cobrowse`, `integration` features of the SDK).
integration=(natter-plugin-agent-sync natter-plugin-customer-tags natter-plugin-webhooks
  natter-plugin-fixture-event-log natter-plugin-fixture-conversation-export)
(cd "$plugins" && CARGO_TARGET_DIR="$target" cargo "${build_args[@]}" --workspace \
  --exclude natter-plugin-cobrowse "${integration[@]/#/--exclude=}")
(cd "$plugins" && CARGO_TARGET_DIR="$target" cargo "${build_args[@]}" -p natter-plugin-cobrowse)
(cd "$plugins" && CARGO_TARGET_DIR="$target" cargo "${build_args[@]}" "${integration[@]/#/--package=}")

# Rebuilt from source every time: a plugin removed from the workspace loses its dist file too.
mkdir -p "$dist/fixtures"
rm -f "$dist"/*.wasm "$dist"/fixtures/*.wasm
out="$target/$wasm_target/release"
pairs=("$out/natter_plugin_webchat.wasm" "$dist/webchat.wasm")
pairs+=("$out/natter_plugin_cobrowse.wasm" "$dist/cobrowse.wasm")
pairs+=("$out/natter_plugin_agent_sync.wasm" "$dist/agent-sync.wasm")
pairs+=("$out/natter_plugin_customer_tags.wasm" "$dist/customer-tags.wasm")
pairs+=("$out/natter_plugin_webhooks.wasm" "$dist/webhooks.wasm")
for dir in "$plugins"/fixtures/*/; do
  name="$(basename "$dir")"
  pairs+=("$out/natter_plugin_fixture_${name//-/_}.wasm" "$dist/fixtures/$name.wasm")
done
"$componentize" "${pairs[@]}"

# The bytes depend on the exact compiler and linker: record which ones made them, so that a check on another
# machine knows whether comparing bytes means anything (scripts/check-plugins.sh).
"$repo/scripts/plugin-toolchain.sh" "$toolchain" >"$dist/TOOLCHAIN"

for ((i = 1; i < ${#pairs[@]}; i += 2)); do
  say "wrote ${pairs[i]#"$repo/"} ($(wc -c <"${pairs[i]}") bytes)"
done
