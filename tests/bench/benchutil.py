"""Helpers shared by the benchmarks in this folder."""
import argparse
import json
import os
import resource
import shutil
import statistics
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


MIB = 1 << 20


def ms(t):
    return "%.1f ms" % (t * 1e3) if t is not None else "-"


def mib(b):
    return "%.1f MiB" % (b / MIB) if b else "-"


def side_ref(args, runs, name, path):
    """reference_children(args, runs, name, path) summed up: {median, min,
    rss, saw}, or None when a child failed."""
    r = reference_children(args, runs, name, path)
    if r is None:
        return None
    times, rss, saw = r
    return {"median": statistics.median(times), "min": min(times), "rss": rss, "saw": saw}


def side_cli(cli, args, path, n):
    """time_cli(cli, args, path, n) summed up: {median, min, rss}, or None."""
    r = time_cli(cli, args, path, n)
    if r is None:
        return None
    times, rss = r
    return {"median": statistics.median(times), "min": min(times), "rss": rss}


def cli_floor(n):
    """The median of n runs of /bin/true timed as the CLI is: the floor of
    a whole-process time."""
    return statistics.median(run_child(["/bin/true"], stdout=False, rss=False)[0] for _ in range(n))


def goal_row(label, size, us, ref, agree, goal_seconds, goal_rss):
    """(a table row for one input: its size, our median (min), the
    reference's, their ratio, both peak RSSes and PASS / MISS against the
    goals, or n/a when the sides disagree; whether our side met the goals)."""
    ratio = ref["median"] / us["median"] if ref and us else None
    met = bool(us) and us["median"] < goal_seconds and us["rss"] is not None and us["rss"] <= goal_rss
    row = "| %s | %.1f MB | %s (%s) | %s (%s) | %s | %s | %s | %s |" % (
        label, size / 1e6, ms(us and us["median"]), ms(us and us["min"]),
        ms(ref and ref["median"]), ms(ref and ref["min"]), "%.1fx" % ratio if ratio else "-",
        mib(us and us["rss"]), mib(ref and ref["rss"]),
        ("PASS" if met else "MISS") if agree else "n/a: the sides disagree (see below)")
    return row, met


def saw_note(label, ours, name, ref):
    """The line that says what both sides saw on one input."""
    return "%s: ours saw %s; %s saw %s" % (label, json.dumps(ours, separators=(",", ":")), name,
                                           json.dumps(ref and ref["saw"], separators=(",", ":")))


def ours_saw(cli, path, pick):
    """What one untimed `CLI inspect --json FILE` reports: pick(its JSON, its
    model object or {}), or {exit, error} when it printed no JSON object."""
    doc, rc, err = cli_json(cli, "inspect", path)
    if doc is None:
        return {"exit": rc, "error": err[:200] or "(no JSON)"}
    return pick(doc, doc.get("model") if isinstance(doc.get("model"), dict) else {})


def compare(inputs, name, ref_args, cli, runs, n_ours, prepare, pick, keys, goal_seconds, goal_rss):
    """Each input (label, path, size): prepare(path) (warming its pages),
    what ours saw (ours_saw(cli, path, pick)), one untimed reference child
    (ref_args(path, 1 call)) as a warm-up, `runs` reference children of 2
    calls (side_ref, the reference called `name`), n_ours timed runs of
    `CLI inspect --json` (side_cli). Returns (goal_row rows, saw_note notes,
    whether every input met the goals with both sides agreeing on `keys`)."""
    rows, notes, ok = [], [], True
    for label, path, size in inputs:
        prepare(path)
        saw = ours_saw(cli, path, pick)
        run_child(ref_args(path, 1), stdout=False, rss=False)  # warm-up
        ref = side_ref(ref_args(path, 2), runs, name, path)
        us = side_cli(cli, ["inspect", "--json"], path, n_ours)
        agree = ref is not None and all(saw.get(k) == ref["saw"][k] for k in keys)
        row, met = goal_row(label, size, us, ref, agree, goal_seconds, goal_rss)
        ok = ok and met and agree
        rows.append(row)
        notes.append(saw_note(label, saw, name, ref))
    return rows, notes, ok


def goal_table(head, rows, notes, ok, quick):
    """Prints the table (head: its header line; rows from goal_row), the
    notes, the verdict on the goals and the closing line."""
    print("\n" + head)
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)
    print()
    for n in notes:
        print(n)
    print("\n%s%s" % ("goals met" if ok else "goals NOT all met", " -- --quick: smoke run only" if quick else ""))
    closing()


def closing():
    """The last line: the load average now and this process's peak RSS."""
    print("(load average now %.2f %.2f %.2f; this process's peak RSS %.1f MB)" % (
        *os.getloadavg(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3))
