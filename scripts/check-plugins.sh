#!/usr/bin/env bash
# Rebuilds plugins/dist from source and fails if the result differs from what git has: the components
# embedded in the binary must be exactly what the sources in plugins/ produce.
#
# The bytes depend on the exact compiler (Debian's rustc-web moves with security updates), so they are
# compared only when this machine's toolchain is the one recorded in plugins/dist/TOOLCHAIN. Otherwise every
# plugin is still built from source (a build failure fails the check), the bytes are not compared, a warning
# says so and why, and plugins/dist is put back as git has it. NATTER_RECORDED_TOOLCHAIN replaces the
# recorded description (the test of the mismatch path uses it).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
record="$repo/plugins/dist/TOOLCHAIN"
# The index's copy: what is compared is what git has, not a file a previous build just wrote.
recorded="${NATTER_RECORDED_TOOLCHAIN:-$(git -C "$repo" show :plugins/dist/TOOLCHAIN 2>/dev/null || true)}"

"$repo/scripts/build-plugins.sh"
current="$(cat "$record")"

if [[ "$recorded" != "$current" ]]; then
  git -C "$repo" checkout -- plugins/dist
  git -C "$repo" clean -q -f -- plugins/dist
  {
    printf '\ncheck-plugins: WARNING: the bytes of plugins/dist were NOT compared.\n'
    printf 'check-plugins: they were built with a different toolchain than this machine has, and the bytes\n'
    printf 'check-plugins: depend on it. Every plugin was built from source without error; plugins/dist is left\n'
    printf 'check-plugins: as git has it. Recorded toolchain:\n'
    printf '%s\n' "${recorded:-(none recorded)}" | sed 's/^/    /'
    printf 'check-plugins: this machine:\n'
    printf '%s\n' "$current" | sed 's/^/    /'
    printf 'check-plugins: to refresh: scripts/build-plugins.sh, then commit plugins/dist (TOOLCHAIN included).\n\n'
  } >&2
  exit 0
fi

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
printf 'check-plugins: plugins/dist matches its sources (toolchain as recorded in plugins/dist/TOOLCHAIN).\n' >&2
