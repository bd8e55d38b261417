"""Helpers shared by the benchmarks in this folder."""
import subprocess
import tempfile
import time


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
