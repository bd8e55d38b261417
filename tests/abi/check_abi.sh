#!/usr/bin/env bash
# Compares the ABI of a fresh -g -Og build with the dump of the last release
# (tests/abi/modelstore-<version>.dump, made by abi-dumper): any binary or
# source incompatibility, and any warning (a field moved in a struct users
# allocate is only a warning to the checker), fails. After a release, add its dump here:
#   abi-dumper BUILD/lib/libmodelstore.so.X -o tests/abi/modelstore-X.dump \
#       -lver X -public-headers include/
set -euo pipefail
cd "$(dirname "$0")/../.."
baseline=$(ls tests/abi/modelstore-*.dump | sort -V | tail -1)
build=build-abi
if [ -d "$build" ]; then
  meson setup --reconfigure "$build" -Dbuildtype=debug -Dc_args=-Og -Dtests=false >/dev/null
else
  meson setup "$build" -Dbuildtype=debug -Dc_args=-Og -Dtests=false >/dev/null
fi
meson compile -C "$build" >/dev/null
lib=$(ls "$build"/lib/libmodelstore.so.*.*.* | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
abi-dumper "$lib" -o "$work/current.dump" -lver current -public-headers include/ >/dev/null
if abi-compliance-checker -l modelstore -old "$baseline" -new "$work/current.dump" \
     -report-path "$work/report.html" > "$work/log" 2>&1 &&
   ! grep -qE 'problems: [1-9]|warnings: [1-9]' "$work/log"; then
  grep -E 'compatibility' "$work/log"
  echo "1 passed, 0 failed"
else
  cat "$work/log"
  echo "0 passed, 1 failed"
  exit 1
fi
