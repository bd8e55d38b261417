#!/usr/bin/python3
"""CatBoost verify-and-inspect benchmark on a large model made by the test
writer (tests/unit/cbm_writer.c through its cbm_gen program).

    bench_catboost.py CLI CBM_GEN [TREES [DEPTH [DIM]]]

Defaults: 12000 symmetric trees of depth 10 (about 200 MB: leaf values and
weights dominate), dimension 1, 50 float features, two CTR features and
their CTR part. Times `modelstore inspect --json` and `modelstore validate
--json` (best of 3, file in the page cache) and prints MB/s and each run's
peak RSS. The core must be held whole to be verified (it is read with one
pread), so peak RSS is the core plus a constant; it must stay below the
256 MiB max_metadata default, which bounds it.
"""
import os
import subprocess
import sys
import tempfile
import time

TARGET_MBPS = 300


def run(cmd):
    """Wall time, CPU time (user + system) and peak RSS (KiB) of one run."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{cmd} exited {code}: {err}")
    return secs, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def best_of(n, cmd):
    runs = [run(cmd) for _ in range(n)]
    return min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    cli, gen = sys.argv[1], sys.argv[2]
    trees = sys.argv[3] if len(sys.argv) > 3 else "12000"
    depth = sys.argv[4] if len(sys.argv) > 4 else "10"
    dim = sys.argv[5] if len(sys.argv) > 5 else "1"
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "large.cbm")
        subprocess.run([gen, path, trees, depth, dim], check=True, stdout=subprocess.DEVNULL)
        size = os.path.getsize(path)
        subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)  # page cache
        # the model must be valid, or the timing means nothing
        out = subprocess.run([cli, "validate", "--json", path], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"the generated model does not validate: {out.stdout[:500]}")
        print(f"model: {size / 1e6:.1f} MB ({trees} trees, depth {depth}, dimension {dim})")
        rows = []
        for verb in ("inspect", "validate"):
            secs, cpu, rss = best_of(5, [cli, verb, "--json", path])
            rows.append((verb, secs, cpu, rss))
        both = rows[0][1] + rows[1][1]
        print("  (wall time, best of 5; CPU = user + system time, which a loaded machine does not inflate)")
        for verb, secs, cpu, rss in rows:
            print(f"  {verb:<22} {secs * 1000:8.1f} ms  {size / secs / 1e6:7.0f} MB/s   CPU {cpu * 1000:7.1f} ms "
                  f"{size / max(cpu, 1e-6) / 1e6:7.0f} MB/s   peak RSS {rss / 1024:7.1f} MiB")
        print(f"  {'inspect + validate':<22} {both * 1000:8.1f} ms  {size / both / 1e6:7.0f} MB/s")
        worst = size / max(r[1] for r in rows) / 1e6
        verdict = "ok" if worst >= TARGET_MBPS else "BELOW TARGET"
        print(f"slowest verb: {worst:.0f} MB/s (target >= {TARGET_MBPS} MB/s): {verdict}")
        return 0 if worst >= TARGET_MBPS else 1


if __name__ == "__main__":
    sys.exit(main())
