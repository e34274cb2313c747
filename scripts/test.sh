#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, lints, unit and end-to-end tests (on SQLite,
# then again on PostgreSQL), and the check that the committed plugin components match their sources.
# Build artefacts live outside the clone (CARGO_TARGET_DIR) so repeated runs reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/natter/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
postgres_url="${NATTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

echo "== plugin components: rebuilt from source, compared with plugins/dist (same toolchain)"
NATTER_PLUGINS_TARGET_DIR="${NATTER_PLUGINS_TARGET_DIR:-$HOME/.cache/natter/plugins-target}" \
  ./scripts/check-plugins.sh
echo "== plugin components: the check's toolchain-mismatch path"
NATTER_PLUGINS_TARGET_DIR="${NATTER_PLUGINS_TARGET_DIR:-$HOME/.cache/natter/plugins-target}" \
  ./scripts/tests/check-plugins-mismatch.sh

echo "== console editor bundle: rebuilt from console-vendor/, compared with core/assets/console/admin/vendor"
./scripts/check-console-vendor.sh

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== browser test dependencies"
if ! ./scripts/browser-deps.sh && [ "${CI:-}" = "true" ]; then
    exit 1
fi
echo "== SMTP test server: aiosmtpd from PyPI in a venv (the mail tests also do this on first use)"
smtp_venv="$HOME/.cache/natter/smtp-venv"
if [ ! -e "$smtp_venv/ready" ]; then
  rm -rf "$smtp_venv.build"
  python3 -m venv "$smtp_venv.build"
  "$smtp_venv.build/bin/pip" install --quiet aiosmtpd==1.4.6
  touch "$smtp_venv.build/ready"
  rm -rf "$smtp_venv" && mv "$smtp_venv.build" "$smtp_venv"
fi
echo "== Redis for the several-nodes tests (started here if it is not running)"
if ! command -v redis-server >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no >/dev/null
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
echo "== cargo test (SQLite)"
cargo test --workspace --locked
echo "== the served OpenAPI against the server: schemathesis (PyPI, pinned, in a venv)"
# The binary `cargo test` just built for core's own end-to-end tests: building `natter` alone would
# unify dependency features differently and build many of them a second time.
NATTER_BIN="$CARGO_TARGET_DIR/debug/natter" ./scripts/schemathesis.sh
echo "== plugin crates' unit tests, on the host"
CARGO_TARGET_DIR="$HOME/.cache/natter/plugins-host-target" \
  cargo test --manifest-path plugins/Cargo.toml --workspace --locked

echo "== end-to-end tests on PostgreSQL"
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  NATTER_TEST_POSTGRES="$postgres_url" cargo test -p natter-tests --locked
  # The migration crash test drives the real binary, so it lives with the core package.
  NATTER_TEST_POSTGRES="$postgres_url" cargo test -p natter-core --locked --test migrate_kill
  # The store's own tests that have statements of each backend's own run on both.
  NATTER_TEST_POSTGRES="$postgres_url" cargo test -p natter-core --locked --lib store::
  # Two real natter processes on one PostgreSQL database and Redis.
  NATTER_TEST_POSTGRES="$postgres_url" cargo test -p natter-core --test nodes --locked
  # Each test made a database of its own; remove them.
  psql "$postgres_url" -Atc "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE);', datname)
    FROM pg_database WHERE datname LIKE 'natter_t_%'" | psql "$postgres_url" -q
elif [[ "${CI:-}" == "true" ]]; then
  echo "PostgreSQL is not reachable on 127.0.0.1:5432; CI runs the suite on it too" >&2
  exit 1
else
  echo "(skipped: PostgreSQL is not reachable on 127.0.0.1:5432)"
fi
