#!/usr/bin/python3
"""XGBoost and LightGBM: inspect + validate side by side with the framework.

    /usr/bin/python3 tests/bench/bench_gbdt.py BUILD_DIR [WORK_DIR]

XGBoost: a 1,000-tree depth-8 model trained with Debian's xgboost (cached in
WORK_DIR), saved as JSON and UBJSON; timed: xgboost.Booster(model_file=...)
against the library's inspect + validate through the Python binding (one
process, best of 5), and the peak RSS of `modelstore validate` on the file.
LightGBM (not packaged): a large model from tests/fixtures/lgbm_writer.py;
parse-and-validate throughput in MB/s.
Goals (issue #5): >= 10x on JSON, >= 3x on UBJSON, peak RSS <= 2x the file
size, LightGBM >= 300 MB/s.
"""
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

build = Path(sys.argv[1]).resolve()
work = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/modelstore-bench-gbdt")
work.mkdir(parents=True, exist_ok=True)
root = Path(__file__).resolve().parents[2]
os.environ.setdefault("MODELSTORE_LIBRARY", str(build / "lib" / "libmodelstore.so"))
sys.path.insert(0, str(root / "bindings" / "python"))
sys.path.insert(0, str(root / "tests" / "fixtures"))
import modelstore  # noqa: E402
import lgbm_writer  # noqa: E402

CLI = build / "examples" / "modelstore"


def best(fn, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def peak_rss_kb(*args):
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *map(str, args)], capture_output=True, text=True)
    return int(p.stderr.strip().splitlines()[-1])


def ours(path):
    def run():
        modelstore.inspect(str(path))
        r = modelstore.validate(str(path))
        assert r.valid, r.findings
    return run


def xgboost_models():
    js, ub = work / "xgb1000.json", work / "xgb1000.ubj"
    if not (js.exists() and ub.exists()):
        import numpy as np
        import xgboost
        rng = np.random.RandomState(0)
        x = rng.standard_normal((5000, 20)).astype(np.float32)
        y = x[:, 0] + np.sin(x[:, 1]) + rng.standard_normal(5000).astype(np.float32) * 0.1
        b = xgboost.train({"max_depth": 8, "eta": 0.1, "tree_method": "hist", "nthread": 2, "seed": 0},
                          xgboost.DMatrix(x, label=y), 1000)
        b.save_model(str(js))
        b.save_model(str(ub))
    return js, ub


def main():
    import xgboost
    print("%-28s %10s %10s %8s %10s %8s" % ("file", "framework", "ours", "ratio", "peak RSS", "x size"))
    ok = True
    for path, goal in zip(xgboost_models(), (10, 3)):
        size = path.stat().st_size
        fw = best(lambda: xgboost.Booster(model_file=str(path)), 3)
        us = best(ours(path))
        rss = peak_rss_kb(CLI, "validate", path) * 1024
        ratio = fw / us
        ok = ok and ratio >= goal and rss <= 2 * size
        print("%-28s %9.3fs %9.4fs %7.1fx %8.1fMB %7.2fx  (goal >= %dx)" % (
            "%s (%.1f MB)" % (path.name, size / 1e6), fw, us, ratio, rss / 1e6, rss / size, goal))
    lg = work / "lgbm_large.txt"
    if not lg.exists():
        lg.write_bytes(lgbm_writer.model_text(num_trees=3000, num_leaves=63, num_features=50, categorical={3, 7}))
    size = lg.stat().st_size
    us = best(lambda: modelstore.validate(str(lg)))
    rss = peak_rss_kb(CLI, "validate", lg) * 1024
    mbps = size / us / 1e6
    ok = ok and mbps >= 300
    print("%-28s %10s %9.4fs %6.0fMB/s %6.1fMB %7.2fx  (goal >= 300 MB/s)" % (
        "%s (%.1f MB)" % (lg.name, size / 1e6), "-", us, mbps, rss / 1e6, rss / size))
    print("goals met" if ok else "goals NOT all met")
    print("(our own process peak RSS: %.1f MB)" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3))


if __name__ == "__main__":
    main()
