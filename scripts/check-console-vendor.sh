#!/usr/bin/env bash
# Rebuilds core/assets/console/admin/vendor/ from console-vendor/ and fails if the bytes differ
# from what git has: the editor served by the console must be exactly what the pinned sources
# produce (the same check scripts/check-plugins.sh makes for plugins).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor=core/assets/console/admin/vendor

"$repo/scripts/build-console-vendor.sh"

stale=0
git -C "$repo" --no-pager diff --exit-code --stat -- "$vendor" >&2 || stale=1
untracked="$(git -C "$repo" ls-files --others --exclude-standard -- "$vendor")"
if [[ -n "$untracked" ]]; then
  printf 'check-console-vendor: not in git:\n%s\n' "$untracked" >&2
  stale=1
fi
if ((stale)); then
  printf 'check-console-vendor: %s does not match console-vendor/; run scripts/build-console-vendor.sh and commit it.\n' "$vendor" >&2
  exit 1
fi
printf 'check-console-vendor: %s matches console-vendor/ (versions pinned in its package-lock.json).\n' "$vendor" >&2
