#!/usr/bin/env bash
# The whole test suite, as the README gives it:
#   1. a normal build: C unit tests, Python binding tests, corpus conformance,
#      the C++ example and an out-of-tree build against the installed library;
#   2. the same tests built with AddressSanitizer + UBSan;
#   3. the thread test under ThreadSanitizer;
#   4. each libFuzzer target for a short run (clang);
#   5. the ABI of a -g -Og build against the last release's dump.
# Ends with one line "N passed, N failed" summing every test case.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
fuzz_seconds=${FUZZ_SECONDS:-30}
status=0
results=$(mktemp)
trap 'rm -f "$results"' EXIT

step() { printf '\n=== %s ===\n' "$*"; }

# Adds the cases of one meson test log to the tally (a test program's own
# "N passed, M failed" line when it prints one, else 1 for the whole test).
tally_meson() {
  /usr/bin/python3 - "$1" "$2" >>"$results" <<'PY'
import json, re, sys
log, label = sys.argv[1], sys.argv[2]
passed = failed = 0
with open(log) as f:
    for line in f:
        t = json.loads(line)
        out = t.get("stdout") or ""
        ok = t["result"] in ("OK", "EXPECTEDFAIL", "SKIP")
        m = None
        for m in re.finditer(r"(?m)^=*\s*(?:(\d+) failed, )?(\d+) passed(?:, (\d+) failed)?", out):
            pass
        if m:
            p = int(m.group(2)); fl = int(m.group(1) or m.group(3) or 0)
            if not ok and fl == 0:
                fl = 1  # crashed or timed out after printing a count
            passed += p; failed += fl
        else:
            passed += ok; failed += not ok
print(f"{label} {passed} {failed}")
PY
}

run_meson_tests() { # builddir label [meson test args...]
  local dir=$1 label=$2; shift 2
  meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" || status=1
  tally_meson "$dir/meson-logs/testlog.json" "$label"
}

setup() { # builddir [meson setup args...]
  local dir=$1; shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null || meson setup --wipe "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

step "normal build"
if setup build && meson compile -C build; then
  run_meson_tests build normal
else
  echo "normal build FAILED"; echo "normal-build 0 1" >>"$results"; status=1
fi

step "AddressSanitizer + UndefinedBehaviorSanitizer build"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug && meson compile -C build-asan; then
  run_meson_tests build-asan asan-unit --suite unit
  # Python loads the library into an uninstrumented interpreter: preload the
  # runtime and leave leak checking to the C tests.
  asan_rt=$(gcc -print-file-name=libasan.so)
  LD_PRELOAD="$asan_rt" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    meson test -C build-asan --print-errorlogs --suite python || status=1
  tally_meson build-asan/meson-logs/testlog.json asan-python
else
  echo "sanitizer build FAILED"; echo "asan-build 0 1" >>"$results"; status=1
fi

step "ThreadSanitizer: distinct handles in distinct threads"
# TSan needs the classic address layout on hosts with large mmap_rnd_bits.
tsan_wrap=()
command -v setarch >/dev/null && tsan_wrap=(setarch "$(uname -m)" -R)
if setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug && meson compile -C build-tsan; then
  TSAN_OPTIONS="halt_on_error=1 suppressions=$root/tests/unit/tsan.supp" "${tsan_wrap[@]}" meson test -C build-tsan --print-errorlogs threads || status=1
  tally_meson build-tsan/meson-logs/testlog.json tsan
else
  echo "tsan build FAILED"; echo "tsan-build 0 1" >>"$results"; status=1
fi

step "libFuzzer targets (${fuzz_seconds}s each)"
if CC=clang CXX=clang++ setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
     -Dbuildtype=debugoptimized && meson compile -C build-fuzz; then
  for target in build-fuzz/tests/fuzz/fuzz_*; do
    [ -f "$target" ] && [ -x "$target" ] || continue
    name=$(basename "$target")
    seeds=$(mktemp -d)
    # seeds: our generated fixtures, and the shared corpus when present (read in place)
    find build/tests/fixtures -type f ! -name '*.stamp' -size -2M -exec cp {} "$seeds/" \; 2>/dev/null
    dirs=("$seeds")
    # the pickle engine also gets CPython's own pickles of many objects, protocols 0-5
    [ "$name" = fuzz_pickle ] && /usr/bin/python3 tests/unit/gen_pickle_cases.py --seeds "$seeds" >/dev/null
    [ -d ../shared/corpus ] && dirs+=(../shared/corpus/generated/bad)
    work=$(mktemp -d)
    if ASAN_OPTIONS=detect_leaks=1 "$target" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
         -timeout=10 -print_final_stats=1 -artifact_prefix="$work/" "$work" "${dirs[@]}" >"$work.log" 2>&1; then
      echo "$name: ok ($(grep -Eo 'stat::number_of_executed_units: [0-9]+' "$work.log" | awk '{print $2}') runs)"
      echo "fuzz-$name 1 0" >>"$results"
    else
      echo "$name: FAILED"; tail -40 "$work.log"
      echo "fuzz-$name 0 1" >>"$results"; status=1
    fi
    rm -rf "$seeds" "$work" "$work.log"
  done
else
  echo "fuzz build FAILED"; echo "fuzz-build 0 1" >>"$results"; status=1
fi

step "ABI against the last release"
if bash tests/abi/check_abi.sh; then
  echo "abi 1 0" >>"$results"
else
  echo "abi 0 1" >>"$results"; status=1
fi

step "summary"
awk '{printf "%-14s %6d passed, %d failed\n", $1, $2, $3; p += $2; f += $3}
     END {printf "%d passed, %d failed\n", p, f}' "$results"
exit $status
