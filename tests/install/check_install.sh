#!/usr/bin/env bash
# Installs the build into a staging root and builds examples/inspect_min.c
# out of tree against it through pkg-config, as a user's program would be.
# Usage: check_install.sh BUILD_DIR SOURCE_DIR SAMPLE
set -euo pipefail
build=$1 src=$2 sample=$3
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
meson install -C "$build" --destdir "$stage" --no-rebuild --quiet >/dev/null
pc=$(find "$stage" -name modelstore.pc | head -1)
[ -n "$pc" ] || { echo "modelstore.pc was not installed"; exit 1; }
echo "installed: $(cd "$stage" && find . -name 'libmodelstore.so*' -o -name modelstore.h -o -name modelstore.pc | sort | tr '\n' ' ')"
# PKG_CONFIG_SYSROOT_DIR maps the .pc file's prefix into the staging root
export PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs modelstore)
echo "pkg-config: $flags"
cc -std=c11 -Wall -Werror -o "$stage/inspect_min" "$src/examples/inspect_min.c" $flags
libdir=$(dirname "$(find "$stage" -name 'libmodelstore.so.0' | head -1)")
out=$(LD_LIBRARY_PATH=$libdir "$stage/inspect_min" "$sample")
echo "$out"
# it must have used the staged library, and found a format
grep -q '"schema_version":1' <<<"$out"
# (outputs captured first: with pipefail, `ldd | grep -q` fails whenever grep
# exits before ldd has written its last line, a race that loaded machines lose)
libs=$(LD_LIBRARY_PATH=$libdir ldd "$stage/inspect_min")
grep -q "$libdir/libmodelstore.so.0" <<<"$libs"
# the installed CLI and Python package are there too
[ -n "$(find "$stage" -path '*bin/modelstore')" ]
[ -n "$(find "$stage" -path '*modelstore/__init__.py')" ]
echo "1 passed, 0 failed"
