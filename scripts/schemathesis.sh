#!/usr/bin/env bash
# Checks the served OpenAPI document against the server from outside: starts a real `natter serve` on a
# free port over a fresh SQLite file, makes an admin token with `natter token create`, and runs
# schemathesis (from PyPI, pinned, in a venv under ~/.cache/natter) on `/api/v1/openapi.json`: its
# coverage, fuzzing and stateful phases (examples: the document has none). Fails on
# any 5xx, any answer that does not match the documented status codes, content types and schemas, any
# body the schema forbids that is accepted, and any 405 without a matching `Allow` header.
#
# The run cannot revoke its own token: the revoke route is left out of it and tested in a second pass,
# alone and with a second token.
#
# Bounded: at most NATTER_SCHEMATHESIS_EXAMPLES (default 100) generated cases per operation and phase, with a
# fixed seed (about a minute on 2 cores).
# Usage: scripts/schemathesis.sh   (CARGO_TARGET_DIR as in scripts/test.sh; NATTER_BIN to use a built binary)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/natter/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
version="4.32.5"
examples="${NATTER_SCHEMATHESIS_EXAMPLES:-100}"

venv="$HOME/.cache/natter/schemathesis-venv"
if [ ! -e "$venv/ready-$version" ]; then
  # A venv's scripts name its own path, so it is made where it stays; `ready-VERSION` marks it complete.
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$version"
  touch "$venv/ready-$version"
fi

if [ -z "${NATTER_BIN:-}" ]; then
  cargo build --quiet --locked -p natter-core --bin natter
  NATTER_BIN="$CARGO_TARGET_DIR/debug/natter"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Everything through the environment: no config file, a fresh database, a port the kernel picks.
export NATTER_CONFIG="$work/config.toml"
export NATTER_DATABASE__URL="sqlite://$work/natter.db?mode=rwc"
export NATTER_SERVER__LISTEN="127.0.0.1:0"
export NATTER_LOG__FORMAT="json"
export NATTER_LOG__LEVEL="warn,natter_core=info"
# Mail on, so its routes do their work instead of answering 503 mail_disabled (documented, and tested in
# tests/tests/mail.rs); nothing listens on port 1, so mails queue and are retried, never sent.
export NATTER_MAIL__SMTP_URL="smtp://127.0.0.1:1"
export NATTER_MAIL__FROM="natter@example.com"
export NATTER_MAIL__OFFLINE_INBOX="team@example.com"

"$NATTER_BIN" migrate >"$work/migrate.log" 2>&1
token="$("$NATTER_BIN" token create --name schemathesis --scope admin 2>/dev/null)"
revoker="$("$NATTER_BIN" token create --name schemathesis-revoke --scope admin 2>/dev/null)"

"$NATTER_BIN" serve >"$work/server.log" 2>&1 &
server_pid=$!
base=""
for _ in $(seq 1 100); do
  base="$(sed -n 's/.*"address":"\([0-9.:]*\)".*"natter listening".*/\1/p; s/.*"natter listening".*"address":"\([0-9.:]*\)".*/\1/p' \
    "$work/server.log" | head -n 1)"
  if [ -n "$base" ] && curl -fsS "http://$base/readyz" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "natter serve exited:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$base" ]; then
  echo "natter serve did not say where it listens:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
echo "schemathesis $version against http://$base (at most $examples cases per operation and phase)"

checks="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
checks="$checks,negative_data_rejection,unsupported_method,allow_header_conformance"
run() {
  # From the scratch folder: schemathesis keeps a cache (`.schemathesis/`) in the current one.
  (cd "$work" && "$venv/bin/schemathesis" run "http://$base/api/v1/openapi.json" \
    --checks "$checks" \
    --max-examples "$examples" \
    --phases examples,coverage,fuzzing,stateful \
    --seed 1 \
    --generation-database none \
    --no-color \
    --workers 1 \
    --request-timeout 10 \
    --warnings off \
    "$@")
}
status=0
run -H "Authorization: Bearer $token" \
  --exclude-path '/api/v1/auth/tokens/{id}' || status=$?
run -H "Authorization: Bearer $revoker" \
  --include-path '/api/v1/auth/tokens/{id}' || status=$?

if grep -q 'panicked' "$work/server.log"; then
  echo "the server panicked during the run:" >&2
  grep 'panicked' "$work/server.log" >&2
  status=1
fi
exit "$status"
