"""Corpus conformance: every artifact of ../shared/corpus is detected as its
manifest says, and inspect/validate never crash on it.

Environment: MODELSTORE_CLI (the built `modelstore` program) and CORPUS (the
corpus root holding public/manifest.json and generated/manifest.json). Run
with Debian's interpreter:

    MODELSTORE_CLI=build/examples/modelstore CORPUS=/work/shared/corpus \\
        /usr/bin/python3 -m pytest -q tests/conformance

Expected formats:
- public/manifest.json: `data_format`. `negative_fixture: true` files must
  still be recognised as their format (validate reports them invalid),
  except the ones that are no model of that format at all (corpus/PUBLIC.md,
  "Expected verdict"), which may also get no format.
- generated/manifest.json: `expected_format`; a file whose expected format
  is null is no model and must get none, except a plain HDF5 file, which is
  recognised as the non-model format "hdf5".
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

TIMEOUT = 120  # seconds per CLI run; the corpus files are small

# Public negatives that are no model of their data format (PUBLIC.md,
# "Negative and edge-case fixtures"): a lone LightGBM tree block without the
# model header, and a pre-release LightGBM text format no release loads.
# Recognising them as lgbm (and reporting them invalid) or not at all are
# both right.
NOT_A_MODEL_OF_ITS_FORMAT = {
    "lgbm/leaves/fragment_tree_1leaf.txt",
    "lgbm/lightgbm-repo/2016_examples_binary_LightGBM_model.txt",
}

# Container finding prefixes that must never fire on a well-formed artifact.
CONTAINER_PREFIXES = ("zip.", "tar.", "dir.", "serialzy.")


def _corpus_root():
    root = os.environ.get("CORPUS")
    if not root:
        return None, "CORPUS is not set"
    root = Path(root)
    for manifest in ("public/manifest.json", "generated/manifest.json"):
        if not (root / manifest).is_file():
            return None, f"{root / manifest} does not exist"
    return root, None


def _entries(root):
    """One dict per artifact: path, expected format(s), whether it must be
    free of container findings."""
    out = []
    public = json.loads((root / "public" / "manifest.json").read_text())
    for e in public["entries"]:
        accepted = {e["data_format"]}
        if e.get("negative_fixture") and e["path"] in NOT_A_MODEL_OF_ITS_FORMAT:
            accepted.add(None)
        out.append({
            "id": "public/" + e["path"],
            "path": root / "public" / e["path"],
            "accepted": accepted,
            "well_formed": e.get("negative_fixture") is False,
        })
    generated = json.loads((root / "generated" / "manifest.json").read_text())
    for e in generated["files"]:
        expected = e["expected_format"]
        if expected is None and e.get("kind") == "hdf5":
            expected = "hdf5"
        out.append({
            "id": "generated/" + e["path"],
            "path": root / "generated" / e["path"],
            "accepted": {expected},
            "well_formed": e.get("expected_valid") is True,
        })
    return out


CORPUS_ROOT, ABSENT = _corpus_root()
ENTRIES = _entries(CORPUS_ROOT) if CORPUS_ROOT else []

if ENTRIES:
    PARAMS = [pytest.param(e, id=e["id"]) for e in ENTRIES]
else:
    PARAMS = [pytest.param(None, id="corpus-absent",
                           marks=pytest.mark.skip(reason=f"corpus absent: {ABSENT}"))]

# Detection outcomes, filled by test_detect and reported at the end.
RESULTS = {}


@pytest.fixture(scope="module", autouse=True)
def detection_report(request):
    """Prints the detection count after the module, even under -q."""
    yield
    if not RESULTS:
        return
    wrong = sorted(k for k, ok in RESULTS.items() if not ok)
    line = (f"corpus conformance: {len(RESULTS) - len(wrong)}/{len(RESULTS)} "
            f"artifacts detected right, {len(wrong)} wrong")
    text = "\n".join(["", line] + [f"  wrong: {k}" for k in wrong])
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print(text, flush=True)
    else:
        print(text)


def run(cli, *args):
    """Runs the CLI; fails on a signal or a timeout, returns (rc, stdout)."""
    try:
        p = subprocess.run([cli, *args], capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"modelstore {' '.join(args)} took more than {TIMEOUT}s")
    assert p.returncode >= 0, f"modelstore {' '.join(args)} died of signal {-p.returncode}: {p.stderr}"
    return p.returncode, p.stdout, p.stderr


def one_json(stdout, what):
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"{what}: expected one JSON line, got {len(lines)}: {stdout[:500]!r}"
    try:
        return json.loads(lines[0])
    except json.JSONDecodeError as e:
        pytest.fail(f"{what}: output is not JSON ({e}): {lines[0][:500]!r}")


@pytest.fixture(scope="module")
def known_codes(cli):
    rc, out, err = run(cli, "codes", "--json")
    assert rc == 0, err
    codes = json.loads(out)
    return {c["code"] for c in codes}


@pytest.mark.parametrize("entry", PARAMS)
def test_detect(cli, entry):
    rc, out, err = run(cli, "inspect", "--json", str(entry["path"]))
    RESULTS[entry["id"]] = False
    assert rc in (0, 1), f"exit status {rc}: {err}"
    doc = one_json(out, "inspect --json")
    got = doc.get("format")
    accepted = " or ".join(sorted(map(str, entry["accepted"])))
    assert got in entry["accepted"], f"format {got!r}, expected {accepted} ({err.strip()})"
    RESULTS[entry["id"]] = True


@pytest.mark.parametrize("entry", PARAMS)
def test_validate(cli, known_codes, entry):
    rc, out, err = run(cli, "validate", "--json", str(entry["path"]))
    assert rc in (0, 1), f"exit status {rc}: {err}"
    report = one_json(out, "validate --json")
    findings = report.get("findings")
    assert isinstance(findings, list), report
    unknown = sorted({f.get("code") for f in findings} - known_codes)
    assert not unknown, f"finding codes missing from `modelstore codes`: {unknown}"
    if entry["well_formed"]:
        false_alarms = [f for f in findings
                        if f.get("severity") == "error" and str(f.get("code")).startswith(CONTAINER_PREFIXES)]
        assert not false_alarms, f"container errors on a well-formed artifact: {false_alarms}"


def test_detection_count():
    """The done-criterion: every corpus artifact detected right."""
    if not ENTRIES:
        pytest.skip(f"corpus absent: {ABSENT}")
    if not RESULTS:
        pytest.skip("test_detect did not run (deselected or MODELSTORE_CLI missing)")
    wrong = sorted(k for k, ok in RESULTS.items() if not ok)
    assert not wrong, f"{len(wrong)} of {len(RESULTS)} artifacts detected wrong: {wrong}"
