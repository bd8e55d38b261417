"""Running the CLI on one corpus file, for the format conformance tests."""
import importlib.util
import json
import os
import subprocess
import sys
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


def params(entries, what, predicate=lambda e: True):
    """pytest params, one per corpus entry `predicate` accepts (id = its
    path); one skipped param when there are no entries at all (`what`: the
    kind of entry looked for) or none is accepted."""
    if not entries:
        why = "CORPUS not set" if ROOT is None else "no %s entries under %s" % (what, ROOT)
        return [pytest.param(None, id="corpus-absent", marks=pytest.mark.skip(reason="corpus absent: " + why))]
    chosen = [pytest.param(e, id=e["path"]) for e in entries if predicate(e)]
    return chosen or [pytest.param(None, id="none", marks=pytest.mark.skip(reason="the manifest has no such entry"))]


def brief(findings):
    """Finding dicts, short, for an assertion's message."""
    return [(f["severity"], f["code"], f.get("message")) for f in findings]


def fixture_helper(name):
    """tests/fixtures/NAME.py as a module: a reading of a format that the
    fixture generators share with these tests. tests/fixtures goes on
    sys.path, for the helpers it imports from its folder (pbwire.py)."""
    folder = Path(__file__).resolve().parents[1] / "fixtures"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    path = folder / (name + ".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tf_messages(writer):
    """The TensorFlow message classes (writer.load_messages, writer being
    fixture_helper("tf_ckpt_writer")) from the descriptor set of the
    library's .proto: TF_DESCRIPTOR_SET, or lib/tf-savedmodel.desc found next
    to MODELSTORE_LIBRARY or the CLI's build. Without it the test skips,
    saying why (in CI it fails)."""
    cands = []
    if os.environ.get("TF_DESCRIPTOR_SET"):
        cands.append(Path(os.environ["TF_DESCRIPTOR_SET"]))
    if os.environ.get("MODELSTORE_LIBRARY"):
        cands.append(Path(os.environ["MODELSTORE_LIBRARY"]).resolve().parent / "tf-savedmodel.desc")
    if os.environ.get("MODELSTORE_CLI"):
        cands.append(Path(os.environ["MODELSTORE_CLI"]).resolve().parents[1] / "lib" / "tf-savedmodel.desc")
    for c in cands:
        if c.is_file():
            return writer.load_messages(str(c))
    why = "no tf-savedmodel.desc (set TF_DESCRIPTOR_SET or MODELSTORE_LIBRARY to a build)"
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)
