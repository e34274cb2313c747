#!/usr/bin/env bash
# Rebuilds plugins/dist from source and fails if the result differs from what git has: the components
# embedded in the binary must be exactly what the sources in plugins/ produce.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/build-plugins.sh"

# Compared with the index, so it also works before the rebuilt files are committed; new files that git does
# not know yet count as differences too.
stale=0
git -C "$repo" --no-pager diff --exit-code --stat -- plugins/dist >&2 || stale=1
untracked="$(git -C "$repo" ls-files --others --exclude-standard -- plugins/dist)"
if [[ -n "$untracked" ]]; then
  printf 'check-plugins: not in git:\n%s\n' "$untracked" >&2
  stale=1
fi
if ((stale)); then
  printf 'check-plugins: plugins/dist does not match its sources; run scripts/build-plugins.sh and commit it.\n' >&2
  exit 1
fi
printf 'check-plugins: plugins/dist matches its sources.\n' >&2
