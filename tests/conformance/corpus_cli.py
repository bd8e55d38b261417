"""Running the CLI on one corpus file, for the format conformance tests."""
import json
import os
import subprocess
from pathlib import Path

import pytest

TIMEOUT = 120  # seconds per CLI run; the corpus files are small

# The shared corpus (../shared/corpus), or None when $CORPUS is not set.
ROOT = Path(os.environ["CORPUS"]) if os.environ.get("CORPUS") else None


def load_manifest(rel):
    """A manifest of the corpus as a dict, or None when the corpus or the file is absent."""
    if ROOT is None or not (ROOT / rel).is_file():
        return None
    return json.loads((ROOT / rel).read_text())


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
