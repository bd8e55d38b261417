"""Helpers shared by the benchmarks in this folder."""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_child(args, stdout=True, rss=True):
    """Runs args to the end; returns (wall seconds, stdout, stderr, exit status,
    peak RSS in bytes or None). The peak RSS comes from /usr/bin/time (its
    wait4): a child forked straight from this process would report at least
    this process's own RSS, which Linux carries over exec as ru_maxrss.
    Output goes to temporary files (stdout to /dev/null unless wanted), so no
    pipe can fill up and stall the child."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as peak:
        cmd = (["/usr/bin/time", "-o", peak.name, "-f", "%M"] if rss else []) + [str(a) for a in args]
        t = time.perf_counter()
        p = subprocess.run(cmd, stdout=out if stdout else subprocess.DEVNULL, stderr=err)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        kb = peak.read().strip().splitlines() if rss else None
        # /usr/bin/time prints "Command exited with non-zero status N" before %M
        return wall, out.read(), err.read(), p.returncode, int(kb[-1]) * 1024 if kb else None


PY = "/usr/bin/python3"


def parse_args(doc, work, runs):
    """The command line of a benchmark that compares against a reference:
    BUILD_DIR [WORK_DIR] [--quick] [--runs N] (`doc`: its docstring, `work`
    and `runs`: the defaults). Returns (options, the build directory, the
    work directory, the CLI in the build)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("build", help="meson build directory (has examples/modelstore)")
    ap.add_argument("work", nargs="?", default=work, help="input cache")
    ap.add_argument("--quick", action="store_true", help="small inputs: a smoke run, not a measurement")
    ap.add_argument("--runs", type=int, default=runs, help="reference children per input (each makes 2 calls)")
    opt = ap.parse_args()
    build = Path(opt.build).resolve()
    return opt, build, Path(opt.work), build / "examples" / "modelstore"


def make_input(work, name, what, child, *args):
    """work/name, unless it is there already written by `python3 -c CHILD
    ARGS... PATH` (`what` says what it is); exits 2 when the child fails.
    Written under its final name in a scratch directory (torch names the
    archive's prefix after the file), then moved into place: an interrupted
    run leaves no input that looks complete."""
    path = work / name
    if path.exists():
        return path
    print("writing %s (%s) ..." % (name, what), flush=True)
    scratch = Path(tempfile.mkdtemp(prefix=".gen-", dir=work))
    try:
        p = subprocess.run([PY, "-c", child, *map(str, args), str(scratch / name)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            sys.stderr.write(p.stderr)
            raise SystemExit(2)
        os.replace(scratch / name, path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return path


def warm(path):
    """Reads the file once, so that every side sees it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


# The end of a reference child's script (python3 -c): `calls` calls of
# call(path), each timed in-process around the call only, the result dropped
# and collected between calls outside the timer; prints
# {"times": [...], "saw": facts(the last result)}.
TIMED_CALLS = r"""
import gc, json, time
times = []
for i in range(calls):
    t = time.perf_counter()
    r = call(path)
    times.append(time.perf_counter() - t)
    if i == calls - 1:
        saw = facts(r)
    del r
    gc.collect()
print(json.dumps({"times": times, "saw": saw}))
"""


def reference_children(args, runs, name, path):
    """Runs `runs` reference children (args: a script ending in TIMED_CALLS);
    (all their times, the largest child peak RSS, what the last one saw), or
    None when one fails (said, naming the reference and the file)."""
    times, rss, saw = [], 0, {}
    for _ in range(runs):
        _, out, err, rc, peak = run_child(args)
        if rc != 0:
            msg = err.decode(errors="replace").strip().splitlines()
            print("  %s failed on %s: %s" % (name, path.name, msg[-1] if msg else "exit %d" % rc))
            return None
        r = json.loads(out)
        times += r["times"]
        saw = r["saw"]
        rss = max(rss, peak or 0)
    return times, rss, saw


def time_cli(cli, args, path, n):
    """n whole-process wall-clock times of `CLI ARGS... FILE` (output to
    /dev/null) and the peak RSS of one more run; exit status 0 and 1 are both
    fine, anything else gives None (said)."""
    times = []
    for _ in range(n):
        wall, _, err, rc, _ = run_child([cli, *args, path], stdout=False, rss=False)
        if rc not in (0, 1):
            msg = err.decode(errors="replace").strip()
            print("  modelstore %s %s: exit %d %s" % (" ".join(args), path.name, rc, msg[:200]))
            return None
        times.append(wall)
    return times, run_child([cli, *args, path], stdout=False)[4]


def cli_json(cli, verb, path):
    """One untimed `CLI VERB --json FILE`: (its first line of output as a
    JSON object, or None; its exit status; its stderr as text)."""
    _, out, err, rc, _ = run_child([cli, verb, "--json", path], rss=False)
    try:
        doc = json.loads(out.decode(errors="replace").splitlines()[0])
    except (ValueError, IndexError):
        doc = None
    return (doc if isinstance(doc, dict) else None), rc, err.decode(errors="replace").strip()


def preamble(build, cli, reference, version_code, quick):
    """Exits 2 when cli is not built; prints the load average, the CPUs, the
    reference's version (what `python3 -c VERSION_CODE` prints), cli and the
    build's buildtype, flagging one other than release, and --quick."""
    if not cli.exists():
        print("%s: not built (meson compile -C %s)" % (cli, build), file=sys.stderr)
        raise SystemExit(2)
    buildtype = "?"
    try:
        opts = json.loads((build / "meson-info" / "intro-buildoptions.json").read_text())
        buildtype = next(o["value"] for o in opts if o["name"] == "buildtype")
    except (OSError, ValueError, StopIteration, KeyError, TypeError):
        pass
    version = subprocess.run([PY, "-c", version_code], capture_output=True, text=True).stdout.strip() or "?"
    print("load average %.2f %.2f %.2f, %d CPUs; %s %s; %s (buildtype %s%s)%s" % (
        *os.getloadavg(), os.cpu_count(), reference, version, cli, buildtype,
        "" if buildtype == "release" else ", not release: ours is slower than it should be",
        "\n--quick: small inputs, a smoke run of the script, NOT a measurement" if quick else ""))


def closing():
    """The last line: the load average now and this process's peak RSS."""
    print("(load average now %.2f %.2f %.2f; this process's peak RSS %.1f MB)" % (
        *os.getloadavg(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3))
