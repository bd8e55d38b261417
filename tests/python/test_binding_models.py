"""Detection, inspection and validation of the fixtures gen_models.py writes
with the real frameworks. The expectations come from its manifest.json:
what each framework wrote (format, containers) and what it reads back
(ONNX inputs/outputs, the serialzy header as json parses it), plus hashlib
digests. These tests are written to the specification: a format whose
sniffer is not finished yet fails here until it is.
"""
import hashlib
import json
import os

import pytest

import modelstore
from ms_testutil import MODELS, fixture_path, gen_models, manifest_entries, strings_in

# Behaviour the format issues deliver. Strict: once a format's reader lands
# these pass, the marker turns them red, and it must be removed.
PENDING_FORMAT_WORK = {}



FILES = manifest_entries(lambda e: not e["directory"])
ALL = manifest_entries()
FRAMED = manifest_entries(lambda e: "serialzy" in e)
ONNX = manifest_entries(lambda e: e["expected_format"] == "onnx")


@pytest.mark.parametrize("entry", ALL)
def test_detected_format_and_containers_from_path(entry):
    with modelstore.Artifact(fixture_path(entry)) as a:
        assert a.format == entry["expected_format"]
        assert a.container == entry["expected_container"]
        assert a.size == entry["size"]
        info = a.inspect()
    assert info["format"] == entry["expected_format"]
    assert info["container"] == entry["expected_container"]
    assert info["containers"] == entry["expected_containers"]
    assert info["size"] == entry["size"]
    assert info["path"] == os.fspath(fixture_path(entry))
    assert info["schema_version"] == 1


@pytest.mark.parametrize("entry", FILES)
def test_bytes_and_path_agree(entry):
    data = fixture_path(entry).read_bytes()
    by_path = modelstore.inspect(fixture_path(entry))
    by_bytes = modelstore.inspect(data)
    assert by_bytes["format"] == by_path["format"] == entry["expected_format"]
    assert by_bytes["containers"] == by_path["containers"]
    assert by_bytes["size"] == len(data)
    # The facts do not depend on where the bytes came from, only "path" does.
    strip = lambda d: {k: v for k, v in d.items() if k != "path"}  # noqa: E731
    assert strip(by_bytes) == strip(by_path)


@pytest.mark.parametrize("entry", ALL)
def test_sha256_matches_hashlib(entry):
    info = modelstore.inspect(fixture_path(entry), hash=True)
    assert info["sha256"] == entry["sha256"]
    if not entry["directory"]:
        assert entry["sha256"] == hashlib.sha256(fixture_path(entry).read_bytes()).hexdigest()


@pytest.mark.parametrize("entry", FILES)
def test_file_descriptor_agrees(entry):
    with open(fixture_path(entry), "rb") as f, modelstore.Artifact.from_fd(f) as a:
        assert a.format == entry["expected_format"]
        assert a.container == entry["expected_container"]


@pytest.mark.parametrize("entry", ALL)
def test_validate_verdict(entry):
    report = modelstore.validate(fixture_path(entry))
    codes = [f.code for f in report.findings]
    assert report.format == entry["expected_format"]
    assert report.valid == entry["expected_valid"], report.findings
    if entry["expected_format"] == "hdf5":
        assert "artifact.format.not_model" in codes
    if entry["expected_valid"]:
        assert not [f for f in report.findings if f.severity == "error"]
        # The quick mode never finds more than the full one.
        quick = modelstore.validate(fixture_path(entry), quick=True)
        assert quick.valid


@pytest.mark.parametrize("entry", FRAMED)
def test_serialzy_header_is_reported_as_written(entry):
    header = json.loads(json.dumps(entry["serialzy"]))
    if "user-meta" in header["meta"]:
        header["meta"]["user-meta"] = json.loads(header["meta"]["user-meta"])
    # schema_content is reported parsed when it is JSON (a type reference)
    try:
        header["schema_content"] = json.loads(header["schema_content"])
    except ValueError:
        pass
    data = fixture_path(entry).read_bytes()
    header_length = int.from_bytes(data[8:16], "little")
    header.update(header_length=header_length, payload_offset=16 + header_length,
                  payload_size=len(data) - 16 - header_length)
    info = modelstore.inspect(fixture_path(entry))
    assert info["container"] == "serialzy"
    assert info["serialzy"] == header
    assert list(info["serialzy"]) == list(header)
    # The payload is what the framework wrote: its digest is hashlib's.
    data = fixture_path(entry).read_bytes()
    assert hashlib.sha256(data[entry["payload_offset"]:]).hexdigest() == entry["payload_sha256"]


@pytest.mark.parametrize("entry", FRAMED)
def test_serialzy_payload_alone_has_the_same_format(entry):
    data = fixture_path(entry).read_bytes()
    payload = data[entry["payload_offset"]:]
    info = modelstore.inspect(payload)
    assert info["format"] == entry["expected_format"]
    assert info["containers"] == (entry["expected_containers"][1:] or ["file"])


def test_serialzy_header_naming_an_unknown_format(models_dir):
    entry = [e for e in modelstore_manifest() if e["path"] == "serialzy_primitive"][0]
    report = modelstore.validate(models_dir / entry["path"])
    found = {f.code: f.severity for f in report.findings}
    assert found.get("serialzy.format.unknown") == "warning"
    assert report.format is None


def test_serialzy_header_that_contradicts_the_payload(models_dir):
    # data_format says onnx, the payload is XGBoost JSON.
    g = gen_models()
    header = g.serialzy_header("onnx", json.dumps({"module": "onnx.onnx_ml_pb2", "name": "ModelProto"}),
                               {"onnx": "1.12.0"})
    data = g.serialzy_frame(header, (models_dir / "xgb_clf.json").read_bytes())
    report = modelstore.validate(data)
    assert report.format == "xgb"
    assert "serialzy.format.mismatch" in [f.code for f in report.findings]
    assert not report.valid


def test_serialzy_framing_reproduces_the_golden_bytes():
    # SERIALZY.md section 1, "(ran)": the primitive serializer with 42 and
    # user_meta={"name":"m","n":1}.
    golden = (b"serialzy" + bytes.fromhex("E200000000000000")
              + b'{"data_format": "primitive_type", "schema_format": "serialzy_python_type_reference", '
                b'"schema_content": "{\\"module\\": \\"builtins\\", \\"name\\": \\"int\\"}", '
                b'"meta": {"serialzy": "1.5.1", "user-meta": "{\\"name\\": \\"m\\", \\"n\\": 1}"}}'
              + b"42")
    assert len(golden) == 8 + 8 + 226 + 2
    g = gen_models()
    header = g.serialzy_header("primitive_type", json.dumps({"module": "builtins", "name": "int"}),
                               {"serialzy": "1.5.1", "user-meta": json.dumps({"name": "m", "n": 1})})
    assert g.serialzy_frame(header, b"42") == golden
    info = modelstore.inspect(golden)
    assert info["container"] == "serialzy"
    assert info["serialzy"]["data_format"] == "primitive_type"
    assert info["serialzy"]["meta"]["user-meta"] == {"name": "m", "n": 1}
    if MODELS is not None and (MODELS / "serialzy_primitive").is_file():
        assert (MODELS / "serialzy_primitive").read_bytes() == golden


@pytest.mark.parametrize("entry", ONNX)
def test_onnx_inputs_and_outputs_named_as_onnx_reads_them(entry):
    info = modelstore.inspect(fixture_path(entry))
    facts = entry["facts"]
    assert "inputs" in info and "outputs" in info
    in_names = strings_in(info["inputs"])
    out_names = strings_in(info["outputs"])
    for v in facts["inputs"]:
        assert v["name"] in in_names
    for v in facts["outputs"]:
        assert v["name"] in out_names
    # Initializers are weights, not inputs a caller feeds.
    assert "W" not in in_names or entry["path"] != "mlp.onnx"


@pytest.mark.parametrize("entry", manifest_entries(lambda e: e["expected_containers"][-1] == "zip"))
def test_zip_fixtures_pass_the_crc_check(entry):
    # zipfile.testzip() found every CRC-32 right when the fixture was made.
    assert entry["facts"]["zip_crc_ok"] is True
    report = modelstore.validate(fixture_path(entry))
    assert "zip.member.crc" not in [f.code for f in report.findings]


def test_forcing_a_format_overrides_detection(models_dir):
    with modelstore.Artifact(models_dir / "xgb_clf.json", format="onnx") as a:
        assert a.format == "onnx"
        report = a.validate()
    assert report.format == "onnx"
    assert {f.code: f.severity for f in report.findings}.get("artifact.format.forced") == "info"


def modelstore_manifest():
    from ms_testutil import MANIFEST
    if MANIFEST is None:
        pytest.skip("fixtures not generated")
    return MANIFEST["files"]


def _pending(entry):
    reason = PENDING_FORMAT_WORK.get(entry.get("expected_format"))
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def _cuts():
    from ms_testutil import MANIFEST
    if MANIFEST is None:
        return manifest_entries()
    params = []
    for e in MANIFEST["files"]:
        for t in e.get("truncations", []):
            marks = _pending(e) if t["framework_rejects"] else []
            params.append(pytest.param(e, t, id="%s[:%d]" % (e["path"], t["keep"]), marks=marks))
    return params


@pytest.mark.parametrize("entry,cut", _cuts())
def test_cut_short_model_is_invalid_where_the_framework_rejects_it(entry, cut):
    # gen_models.py asked the framework's own loader about each cut.
    data = fixture_path(entry).read_bytes()[: cut["keep"]]
    report = modelstore.validate(data)
    if cut["framework_rejects"]:
        assert not report.valid, (cut["error"], report.findings)
    else:
        pytest.skip("the framework accepts this cut too (%s)" % entry["kind"])
