#!/usr/bin/env bash
# Builds the admin console's third-party bundle, core/assets/console/admin/vendor/rule-editor.js
# (CodeMirror 6 and the Rhai highlighting of console-vendor/src/), from the exact versions pinned in
# console-vendor/package-lock.json. The bundle is committed, so building the server needs no npm;
# scripts/check-console-vendor.sh proves the committed file is what these sources produce.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$repo/console-vendor"
out="$repo/core/assets/console/admin/vendor"

# `npm ci` installs exactly the lock file; install scripts are not needed (esbuild's binary comes
# as an optional dependency) and are not run.
(cd "$src" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
mkdir -p "$out"
"$src/node_modules/.bin/esbuild" "$src/src/rule-editor.js" \
  --bundle --format=esm --target=es2020 --minify --legal-comments=eof \
  --log-level=warning --outfile="$out/rule-editor.js"
