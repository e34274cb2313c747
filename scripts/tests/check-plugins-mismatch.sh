#!/usr/bin/env bash
# The toolchain-mismatch path of scripts/check-plugins.sh: with a recorded toolchain that is not this
# machine's, the check still builds every plugin from source, passes, says loudly that the bytes were not
# compared, and leaves plugins/dist exactly as git has it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

fail() { printf 'check-plugins-mismatch: FAILED: %s\n' "$*" >&2; cat "$log" >&2; exit 1; }

NATTER_RECORDED_TOOLCHAIN=$'toolchain: debian\nrustc 0.0.0-recorded-elsewhere' \
  "$repo/scripts/check-plugins.sh" 2>"$log" || fail "check-plugins.sh exited non-zero"
grep -q 'WARNING: the bytes of plugins/dist were NOT compared' "$log" || fail "no warning"
grep -q 'rustc 0.0.0-recorded-elsewhere' "$log" || fail "the warning does not show the recorded toolchain"
git -C "$repo" diff --quiet -- plugins/dist || fail "plugins/dist differs from git afterwards"
[[ -z "$(git -C "$repo" ls-files --others --exclude-standard -- plugins/dist)" ]] ||
  fail "untracked files left in plugins/dist"
printf 'check-plugins-mismatch: the mismatch path builds, warns and leaves plugins/dist as git has it\n' >&2
