#!/usr/bin/env bash
# Prints the description of the wasm toolchain that scripts/build-plugins.sh uses (`rustup` or `debian`):
# the compiler's `rustc -vV`, the Debian package versions and the linker. plugins/dist/TOOLCHAIN holds what
# this printed for the build that made the committed components.
set -euo pipefail
kind="${1:?usage: plugin-toolchain.sh rustup|debian}"
echo "# The toolchain that built plugins/dist (written by scripts/build-plugins.sh; do not edit)."
echo "toolchain: $kind"
case "$kind" in
  rustup)
    rustc -vV
    ;;
  debian)
    /usr/bin/rustc -vV
    for pkg in rustc-web rust-web-src lld-19; do
      echo "package $pkg: $(dpkg-query -W -f='${Version}' "$pkg")"
    done
    ;;
  *)
    echo "plugin-toolchain.sh: unknown toolchain '$kind'" >&2
    exit 2
    ;;
esac
