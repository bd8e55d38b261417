#!/usr/bin/env bash
# The shared library exports only ms_ symbols (plus the version-script
# node), under the soname libmodelstore.so.0, and exports every function the
# public headers declare.
set -euo pipefail
lib=$1 include=$2
fail=0
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libmodelstore.so.0" ] || { echo "soname is '$soname'"; fail=1; }
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//')
stray=$(grep -v -E '^(ms_|MODELSTORE_[0-9]+$)' <<<"$exported" || true)
[ -z "$stray" ] || { echo "exported symbols outside ms_:"; echo "$stray"; fail=1; }
# every MS_EXTERN declaration of the headers must be exported
declared=$(grep -rhoE 'MS_EXTERN [^(]*\bms_[a-z0-9_]+\(' "$include" | grep -oE 'ms_[a-z0-9_]+\($' | tr -d '(' | sort -u)
for f in $declared; do
  grep -qx "$f" <<<"$exported" || { echo "declared but not exported: $f"; fail=1; }
done
echo "$(wc -l <<<"$declared") declared functions, $(wc -l <<<"$exported") exported symbols"
if [ $fail -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; exit 1; fi
