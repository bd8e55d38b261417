#!/usr/bin/env bash
# Compares the ABI of a fresh -g -Og build with the dump of the last release
# (tests/abi/modelstore-<version>.dump, made by abi-dumper): any binary or
# source incompatibility fails (see below for the one kind let through).
# After a release, add its dump here:
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
abi-compliance-checker -l modelstore -old "$baseline" -new "$work/current.dump" -xml \
  -report-path "$work/report.xml" > "$work/log" 2>&1 || true
# Every reported problem fails, whatever severity the checker gives it (a
# field inserted into a struct users allocate is only "low" to it), except
# how an -Og build happens to keep parameters in registers, which is no ABI.
if /usr/bin/python3 - "$work/report.xml" include <<'PY'
import pathlib, re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
# Handles the public headers only declare (typedef struct ms_x ms_x;) are
# opaque: callers never see their layout, so the library may change it.
# (abi-dumper matches public headers by file name, and our internal
# lib/artifact/artifact.h shares one with include/modelstore/artifact.h.)
headers = "".join(p.read_text() for p in pathlib.Path(sys.argv[2]).rglob("*.h"))
declared = set(re.findall(r"typedef struct (ms_\w+) \1;", headers))
opaque = {n for n in declared if not re.search(r"struct %s\s*\{" % n, headers)}
benign = re.compile(r"^(Parameter|Return_Value)_.*(Register|Stack)")
bad, current = [], None
for m in re.finditer(r'<type name="([^"]+)">|</type>|<problem id="([^"]+)"', text):
    if m.group(1):
        current = m.group(1)
    elif m.group(2):
        in_opaque = current is not None and current.replace("struct ", "") in opaque
        if not in_opaque and not benign.match(m.group(2)):
            bad.append(m.group(2))
    else:
        current = None
print("opaque handles (layout may change):", ", ".join(sorted(opaque)))
print("ABI problems against the baseline:", ", ".join(sorted(set(bad))) or "none")
sys.exit(1 if bad else 0)
PY
then
  echo "1 passed, 0 failed"
else
  cat "$work/log"
  echo "0 passed, 1 failed"
  exit 1
fi
