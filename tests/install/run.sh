#!/usr/bin/env bash
# tests/install/run.sh: install tapegrad into a temporary prefix and build an outside
# program against it the way a user would:
#
#     cc prog.c $(pkg-config --cflags --libs tapegrad)
#
# with PKG_CONFIG_PATH pointing into the prefix; then run it (LD_LIBRARY_PATH) and
# check what it prints. Builds the library alone (no tests, examples or benchmarks)
# in a temporary build directory; everything is removed at exit.
# Exits 0 on success. Run by scripts/test; needs meson, ninja, pkg-config and cc.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tapegrad-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step() { printf 'install test: %s\n' "$*"; }
fail() {
    printf 'install test: FAILED: %s\n' "$*" >&2
    exit 1
}

step "meson setup --prefix=$prefix"
meson setup "$tmp/build" "$src" --prefix="$prefix" \
    -Dtests=false -Dexamples=false -Dbench=false >"$tmp/setup.log" 2>&1 ||
    { cat "$tmp/setup.log"; fail "meson setup"; }
meson compile -C "$tmp/build" >"$tmp/compile.log" 2>&1 ||
    { cat "$tmp/compile.log"; fail "meson compile"; }
meson install -C "$tmp/build" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "meson install"; }

# The layout meson chose (on Debian the libdir is lib/<multiarch>): find the .pc file.
pc=$(find "$prefix" -name tapegrad.pc -print -quit)
[[ -n $pc ]] || fail "no tapegrad.pc under $prefix"
export PKG_CONFIG_PATH=${pc%/*}
step "found ${pc#"$prefix"/}"
# Every public header of the source tree, and the generated config.h, is installed.
headers=(tapegrad.h tapegrad/config.h)
for h in "$src"/include/tapegrad/*.h; do headers+=("tapegrad/${h##*/}"); done
for h in "${headers[@]}"; do
    [[ -f $prefix/include/$h ]] || fail "header $h was not installed"
done

version=$(pkg-config --modversion tapegrad) || fail "pkg-config --modversion tapegrad"
flags=$(pkg-config --cflags --libs tapegrad) || fail "pkg-config --cflags --libs tapegrad"
libdir=$(pkg-config --variable=libdir tapegrad)
step "pkg-config --cflags --libs tapegrad: $flags"

# The outside program, strict: the installed headers must compile warning-free.
# $flags is split into words on purpose, as in a shell command line.
# shellcheck disable=SC2086
"${CC:-cc}" -std=c11 -Wall -Wextra -Wpedantic -Werror "$src/tests/install/prog.c" \
    -o "$tmp/prog" $flags || fail "compiling an outside program"

out=$(LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$tmp/prog") ||
    fail "the outside program exited with status $?"
printf '%s\n' "$out"
grep -qx "tapegrad $version \(float\|double\)" <<<"$out" ||
    fail "expected 'tapegrad $version <precision>' (the version pkg-config reports)"
grep -qx 'f = 15, df/dx = 5, df/dy = 3' <<<"$out" || fail "wrong values or gradients"
step "ok"
