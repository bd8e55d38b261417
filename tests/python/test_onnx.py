"""The ONNX reader and validator (issue 3) against the fixtures gen_onnx.py
writes (FIXTURES/onnx/manifest.json).

Ground truth is the manifest: facts computed with python3-onnx from the
protos, and for each negative the finding codes its defect must produce
(FORMATS.md §8.3 plus our stricter rules). Nothing here is taken from the
library's own output.

- positives: no error finding, the expected warnings and no others (apart
  from "allowed_codes"); inspect facts equal the manifest's, from the path,
  from memory, from a serialzy frame and through the CLI;
- negatives: every expected code is reported (format forced to onnx only
  where the file is no longer recognisable as ONNX by content);
- external data opened from memory cannot be resolved: a warning, not an
  error.

In CI (env CI set) a missing manifest fails; elsewhere the tests skip,
saying so.
"""
import json

import pytest

import modelstore
from ms_testutil import FixtureSet, gen_models

ONNX = FixtureSet("onnx")
ONNX_DIR, MANIFEST = ONNX.dir, ONNX.manifest
entries, need = ONNX.params, ONNX.need
POSITIVE = entries(lambda e: e["valid"])
NEGATIVE = entries(lambda e: not e["valid"])
SELF_CONTAINED_POSITIVE = entries(lambda e: e["valid"] and e["self_contained"] and not e["sparse_file"])
SELF_CONTAINED_NEGATIVE = entries(lambda e: not e["valid"] and e["self_contained"])
EXTERNAL_POSITIVE = entries(lambda e: e["valid"] and not e["self_contained"])


def codes_of(report):
    return [f.code for f in report.findings]


def errors_of(report):
    return [f for f in report.findings if f.severity == "error"]


def check_positive_report(entry, report):
    """No error; every expected code; no warning beyond expected + allowed."""
    assert report.format == "onnx"
    assert not errors_of(report), errors_of(report)
    assert report.valid
    found = codes_of(report)
    for code in entry["expected_codes"]:
        assert code in found, (code, report.findings)
    tolerated = set(entry["expected_codes"]) | set(entry["allowed_codes"])
    unexpected = [f for f in report.findings if f.severity == "warning" and f.code not in tolerated]
    assert not unexpected, unexpected


def check_facts(entry, info):
    """The inspect JSON against the manifest's facts: every key the manifest
    has must be there with the same value (the library may add keys)."""
    facts = entry["facts"]
    assert info["format"] == "onnx"
    assert "error" not in info, info.get("error")
    m = info["model"]
    for key, want in facts["model"].items():
        if key == "graph":
            assert isinstance(m.get("graph"), dict), m.get("graph")
            for gkey, gwant in want.items():
                assert m["graph"].get(gkey, "<absent>") == gwant, "model.graph." + gkey
        else:
            assert m.get(key, "<absent>") == want, "model." + key
    for side in ("inputs", "outputs"):
        got = info.get(side)
        assert isinstance(got, list), (side, got)
        assert [{k: v.get(k, "<absent>") for k in ("name", "dtype", "shape")} for v in got] == facts[side], side
    assert info.get("parameters") == facts["parameters"]


# ---- positives --------------------------------------------------------------------------

@pytest.mark.parametrize("entry", POSITIVE)
def test_positive_is_detected_and_valid(entry):
    path = need(entry)
    with modelstore.Artifact(path) as a:
        assert a.format == "onnx"
        report = a.validate()
    check_positive_report(entry, report)


@pytest.mark.parametrize("entry", POSITIVE)
def test_positive_inspect_facts(entry):
    path = need(entry)
    check_facts(entry, modelstore.inspect(path))


@pytest.mark.parametrize("entry", SELF_CONTAINED_POSITIVE)
def test_positive_from_memory(entry):
    data = need(entry).read_bytes()
    with modelstore.Artifact(data) as a:
        assert a.format == "onnx"
        report = a.validate()
        info = a.inspect()
    check_positive_report(entry, report)
    check_facts(entry, info)


@pytest.mark.parametrize("entry", EXTERNAL_POSITIVE)
def test_external_data_from_memory_is_unresolved_not_invalid(entry):
    # Without a path there is no directory to resolve the locations in.
    data = need(entry).read_bytes()
    report = modelstore.validate(data)
    assert report.format == "onnx"
    assert not errors_of(report), errors_of(report)
    found = {f.code: f.severity for f in report.findings}
    on_disk = [x for x in entry["facts"]["model"]["external_data"] if not x["location"].startswith("#")]
    if on_disk:
        assert found.get("onnx.external.unresolved") == "warning", report.findings
    # the facts (locations, offsets, lengths) are in the model bytes
    check_facts(entry, modelstore.inspect(data))


def _frame(payload):
    g = gen_models()
    header = g.serialzy_header("onnx", json.dumps({"module": "onnx.onnx_ml_pb2", "name": "ModelProto"}),
                               {"onnx": MANIFEST["onnx"]})
    return g.serialzy_frame(header, payload)


@pytest.mark.parametrize("entry", SELF_CONTAINED_POSITIVE)
def test_positive_in_a_serialzy_frame(entry, tmp_path):
    framed = tmp_path / "model.serialzy"
    framed.write_bytes(_frame(need(entry).read_bytes()))
    with modelstore.Artifact(framed) as a:
        assert a.format == "onnx"
        assert a.container == "serialzy"
        report = a.validate()
        info = a.inspect()
    check_positive_report(entry, report)
    check_facts(entry, info)


# ---- negatives --------------------------------------------------------------------------

def _validate_negative(entry, source):
    kw = {} if entry["detect"] else {"format": "onnx"}
    with modelstore.Artifact(source, **kw) as a:
        assert a.format == "onnx", "not recognised as ONNX" if entry["detect"] else "format not forced"
        return a.validate()


@pytest.mark.parametrize("entry", NEGATIVE)
def test_negative_reports_its_codes(entry):
    report = _validate_negative(entry, need(entry))
    assert report.format == "onnx"
    assert not report.valid, report.findings
    found = codes_of(report)
    missing = [c for c in entry["expected_codes"] if c not in found]
    assert not missing, (missing, [(f.severity, f.code, f.message) for f in report.findings])


@pytest.mark.parametrize("entry", NEGATIVE)
def test_negative_inspect_ends_cleanly(entry):
    # inspect may fail (EFORMAT with partial JSON) but never otherwise
    kw = {} if entry["detect"] else {"format": "onnx"}
    try:
        info = modelstore.inspect(need(entry), **kw)
    except modelstore.ModelStoreError as e:
        info = getattr(e, "partial", None)
        assert info is not None and "error" in info, e
    assert info["format"] == "onnx"


@pytest.mark.parametrize("entry", SELF_CONTAINED_NEGATIVE)
def test_negative_from_memory(entry):
    report = _validate_negative(entry, need(entry).read_bytes())
    found = codes_of(report)
    assert not report.valid
    missing = [c for c in entry["expected_codes"] if c not in found]
    assert not missing, (missing, report.findings)


@pytest.mark.parametrize("entry", entries(lambda e: not e["valid"] and e["self_contained"] and e["detect"]))
def test_negative_in_a_serialzy_frame(entry):
    report = modelstore.validate(_frame(need(entry).read_bytes()))
    assert report.format == "onnx"
    found = codes_of(report)
    missing = [c for c in entry["expected_codes"] if c not in found]
    assert not missing, (missing, report.findings)


def _inspect_or_partial(artifact):
    try:
        return artifact.inspect()
    except modelstore.ModelStoreError as e:
        assert e.partial is not None and "error" in e.partial, e
        return e.partial


@pytest.mark.parametrize("entry", entries())
def test_one_handle_inspects_and_validates_as_two_would(entry):
    # A handle reads the model once for both verbs (onnx.c keeps it on the
    # artifact): in either order, and again, each verb must give what a
    # fresh handle gives, and the manifest's codes and facts must hold.
    kw = {} if entry["detect"] else {"format": "onnx"}
    path = need(entry)
    with modelstore.Artifact(path, **kw) as a:
        alone_report = a.validate().to_dict()
    with modelstore.Artifact(path, **kw) as a:
        alone_info = _inspect_or_partial(a)
    for first in ("inspect", "validate"):
        with modelstore.Artifact(path, **kw) as a:
            if first == "inspect":
                info = _inspect_or_partial(a)
                report = a.validate()
            else:
                report = a.validate()
                info = _inspect_or_partial(a)
            assert report.to_dict() == alone_report, first
            assert info == alone_info, first
            assert a.validate().to_dict() == alone_report
            assert _inspect_or_partial(a) == alone_info
        found = codes_of(report)
        assert [c for c in entry["expected_codes"] if c not in found] == [], first
        if entry["valid"]:
            check_facts(entry, info)


def test_every_file_level_onnx_code_has_a_fixture():
    # Each onnx.* code the library can emit from a file has at least one
    # fixture expecting it (unresolved comes from memory, too_many_findings
    # is bookkeeping).
    ONNX.require()
    library = {c["code"] for c in modelstore.finding_codes() if c["code"].startswith("onnx.")}
    covered = {c for e in MANIFEST["files"] for c in e["expected_codes"]}
    not_from_a_file = {"onnx.external.unresolved", "onnx.too_many_findings"}
    assert sorted(library - covered - not_from_a_file) == []
    # and no fixture expects a code the library does not have
    assert sorted(covered - library) == []


def test_max_metadata_caps_the_reader():
    # ms_open_options.max_metadata bounds the heap one call may use for
    # metadata: a valid model whose input name is 1 MiB does not fit 64 KiB.
    ONNX.require()
    path = ONNX_DIR / "long_value_name_1mib.onnx"
    assert modelstore.validate(path).valid
    report = modelstore.validate(path, max_metadata=64 << 10)
    assert not report.valid
    assert "onnx.limit" in codes_of(report), report.findings


# ---- the CLI ------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", entries())
def test_cli_verdict_and_codes(cli, entry):
    path = need(entry)
    args = ["validate", "--json"] + ([] if entry["detect"] else ["--format", "onnx"]) + [path]
    proc = cli(*args)
    assert proc.returncode == (0 if entry["valid"] else 1), proc.stderr
    report = json.loads(proc.stdout.decode().splitlines()[0])
    assert report["format"] == "onnx"
    assert report["valid"] is entry["valid"]
    found = [f["code"] for f in report["findings"]]
    for code in entry["expected_codes"]:
        assert code in found, (code, report["findings"])


@pytest.mark.parametrize("entry", POSITIVE)
def test_cli_inspect_agrees_with_the_binding(cli, entry):
    path = need(entry)
    proc = cli("inspect", "--json", path)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.decode().splitlines()[0])
    check_facts(entry, info)
    assert info == modelstore.inspect(path)
