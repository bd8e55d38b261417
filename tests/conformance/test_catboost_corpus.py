"""CatBoost conformance: the public corpus's `.cbm` models and quantized
pools, read by `modelstore inspect --json` and `modelstore validate --json`,
against the facts of public/manifest.json (corpus/PUBLIC.md says how they
are counted).

Environment: MODELSTORE_CLI (the built `modelstore` program) and CORPUS (the
corpus root holding public/manifest.json). Skips, saying so, when either is
missing:

    MODELSTORE_CLI=build/examples/modelstore CORPUS=/work/shared/corpus \\
        /usr/bin/python3 -m pytest -q tests/conformance/test_catboost_corpus.py

How the manifest's facts map to the contract's `model` keys:
- core_flatbuffer_size      -> core_size
- magic_FlabuffersModel_v1  -> format_version == "FlabuffersModel_v1"
- loss_function             -> loss_function (params.loss_function.type)
- catboost_version          -> catboost_version (absent fact: null)
- trailing_section          -> has_ctr_data (ctr_data: true, otherwise false);
                               text_processing_collection: the part id
                               text_process_v2 is listed in model_parts
- class_names               -> class_names, compared only where the fact is not
                               "[]" (the fact is params.data_processing_options
                               .class_names as stored; the contract resolves
                               labels as in FORMATS.md section 1.4); where the
                               note says class_params holds classes_count n,
                               the labels are 0..n-1
- has_model_guid            -> model_guid is not null
- quantized pools: version_bytes_hex -> version; trailing_magic_ok.
Every valid file must validate without an error finding.
"""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

TIMEOUT = 120
FORMATS = ("cbm", "catboost_quantized_pool")


def _entries():
    root = os.environ.get("CORPUS")
    if not root:
        return None, "CORPUS is not set"
    manifest = Path(root) / "public" / "manifest.json"
    if not manifest.is_file():
        return None, f"{manifest} does not exist"
    entries = json.loads(manifest.read_text())["entries"]
    return [dict(e, abspath=Path(root) / "public" / e["path"]) for e in entries
            if e["data_format"] in FORMATS], None


ENTRIES, ABSENT = _entries()
if ENTRIES:
    PARAMS = [pytest.param(e, id=e["path"]) for e in ENTRIES]
else:
    PARAMS = [pytest.param(None, id="corpus-absent",
                           marks=pytest.mark.skip(reason=f"corpus absent: {ABSENT}"))]

RESULTS = {}  # path -> list of mismatches (empty: all facts matched)


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    """Prints how many files had every fact matched, even under -q."""
    yield
    if not RESULTS:
        return
    bad = {k: v for k, v in RESULTS.items() if v}
    lines = ["", f"catboost conformance: {len(RESULTS) - len(bad)}/{len(RESULTS)} files with every fact "
             f"matched and no false error, {len(bad)} not"]
    lines += [f"  {k}: {'; '.join(v)}" for k, v in sorted(bad.items())]
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print("\n".join(lines), flush=True)
    else:
        print("\n".join(lines))


def _run(cli, verb, path):
    p = subprocess.run([cli, verb, "--json", str(path)], capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode in (0, 1), f"{verb} exited {p.returncode}: {p.stderr}"
    return json.loads(p.stdout.splitlines()[0])


def _expected_labels(entry):
    """Class labels the contract should report, or None when unknown."""
    note = entry.get("note", "")
    m = re.search(r"classes_count (\d+), so the labels resolve to 0\.\.(\d+)", note)
    if m:
        return list(range(int(m.group(1))))
    stored = entry["facts"].get("class_names", "[]")
    labels = json.loads(stored)
    return labels or None


def _cbm_mismatches(entry, info):
    facts, model = entry["facts"], info["model"]
    out = []

    def eq(name, got, want):
        if got != want:
            out.append(f"{name}: got {got!r}, manifest {want!r}")

    eq("format", info["format"], "cbm")
    eq("core_size", model.get("core_size"), facts["core_flatbuffer_size"])
    if facts.get("magic_FlabuffersModel_v1"):
        eq("format_version", model.get("format_version"), "FlabuffersModel_v1")
    eq("loss_function", model.get("loss_function"), facts.get("loss_function"))
    eq("catboost_version", model.get("catboost_version"), facts.get("catboost_version"))
    section = facts.get("trailing_section", "none")
    eq("has_ctr_data", model.get("has_ctr_data"), section.startswith("ctr_data"))
    if section == "text_processing_collection":
        eq("text part", "text_process_v2" in (model.get("model_parts") or []), True)
    eq("model_guid present", model.get("model_guid") is not None, bool(facts.get("has_model_guid")))
    labels = _expected_labels(entry)
    if labels is not None:
        eq("class_names", model.get("class_names"), labels)
    for key in ("num_trees", "tree_depth", "float_features", "cat_features", "text_features",
                "embedding_features", "class_names", "loss_function", "catboost_version", "model_guid",
                "train_finish_time", "params", "info", "has_ctr_data", "leaf_value_count", "dimension"):
        if key not in model:
            out.append(f"model key {key} missing")
    if isinstance(model.get("num_trees"), int) and model["num_trees"] > 0 and not model.get("tree_depth"):
        out.append("tree_depth missing")
    return out


def _pool_mismatches(entry, info):
    facts, model = entry["facts"], info["model"]
    out = []
    if info["format"] != "catboost_quantized_pool":
        out.append(f"format {info['format']!r}")
    version = int.from_bytes(bytes.fromhex(facts["version_bytes_hex"]), "little")
    if model.get("version") != version:
        out.append(f"version: got {model.get('version')!r}, manifest {version}")
    if model.get("trailing_magic_ok") != facts["trailing_magic_ok"]:
        out.append("trailing_magic_ok differs")
    for key in ("version", "document_count", "column_count", "feature_count", "column_types", "chunk_count"):
        if model.get(key) is None:
            out.append(f"model key {key} missing or null")
    return out


@pytest.mark.parametrize("entry", PARAMS)
def test_catboost_artifact(cli, entry):
    info = _run(cli, "inspect", entry["abspath"])
    report = _run(cli, "validate", entry["abspath"])
    if entry["data_format"] == "cbm":
        problems = _cbm_mismatches(entry, info)
    else:
        problems = _pool_mismatches(entry, info)
    if "error" in info:
        problems.append(f"inspect error: {info['error']}")
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    if entry.get("negative_fixture") is False and errors:
        problems += [f"false error {f['code']} at {f['where']}: {f['message']}" for f in errors]
    if entry.get("negative_fixture") is True and report["valid"]:
        problems.append("a negative fixture validates")
    RESULTS[entry["path"]] = problems
    assert not problems, "\n".join(problems)
