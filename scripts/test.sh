#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, lints, unit and end-to-end tests.
# Build artefacts live outside the clone (CARGO_TARGET_DIR) so repeated runs reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/natter/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== browser test dependencies"
if ! ./scripts/browser-deps.sh && [ "${CI:-}" = "true" ]; then
    exit 1
fi
echo "== cargo test"
cargo test --workspace --locked
