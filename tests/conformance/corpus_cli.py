"""Running the CLI on one corpus file, for the format conformance tests."""
import json
import subprocess

import pytest

TIMEOUT = 120  # seconds per CLI run; the corpus files are small


def run(cli, *args):
    """The first JSON line of `modelstore ARGS`; fails on a hang, a signal or exit 2."""
    try:
        p = subprocess.run([cli, *args], capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"modelstore {' '.join(args)} hung")
    assert p.returncode in (0, 1), f"exit {p.returncode}: {p.stderr}"
    return json.loads(p.stdout.strip().splitlines()[0])


def errors(report):
    return [f for f in report["findings"] if f["severity"] == "error"]
