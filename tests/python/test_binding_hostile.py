"""Hostile bytes through the binding: each input is built here with Python's
stdlib (random, zipfile, tarfile, json) and must give the finding code whose
meaning (ms_finding_code_get) describes the defect. Also: every code the
library emits anywhere is listed in its table, with that severity.
"""
import io
import json
import random
import tarfile
import warnings
import zipfile

import pytest

import modelstore
from ms_testutil import CORPUS, MANIFEST, MODELS, gen_models

G = gen_models()
ONNX_SCHEMA = json.dumps({"module": "onnx.onnx_ml_pb2", "name": "ModelProto"})


def frame_raw(header_text, payload=b"x"):
    """A serialzy frame around header text as given (not necessarily JSON)."""
    if isinstance(header_text, str):
        header_text = header_text.encode()
    return b"serialzy" + len(header_text).to_bytes(8, "little") + header_text + payload


def make_zip(members, *, prefix=b"", suffix=b""):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for name, data in members:
                z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return prefix + buf.getvalue() + suffix


def make_tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for info, data in members:
            info.mtime = 1700000000
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def tar_file(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def tar_link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def tar_device(name):
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    info.devmajor, info.devminor = 1, 3
    return info, None


def _zip_with_bad_crc():
    data = bytearray(make_zip([("model/data.pkl", b"\x80\x02}q\x00." * 20)]))
    # The stored member's bytes follow its local header (30 bytes + name).
    start = 30 + len("model/data.pkl")
    data[start + 5] ^= 0xFF
    return bytes(data)


def _tar_with_bad_checksum():
    data = bytearray(make_tar([tar_file("saved_model.pb", b"\x08\x01")]))
    data[0] ^= 0x01  # the name changes; the stored checksum no longer matches
    return bytes(data)


HOSTILE = {
    # whole input
    "empty": (b"", "artifact.empty"),
    "random": (random.Random(1234).randbytes(4096), "artifact.format.unknown"),
    "zeros": (b"\0" * 4096, "artifact.format.unknown"),
    "text": (b"hello, this is not a model\n" * 10, "artifact.format.unknown"),
    # serialzy frame
    "serialzy_magic_only": (b"serialzy", "serialzy.header.truncated"),
    "serialzy_length_past_end": (b"serialzy" + (500).to_bytes(8, "little") + b"{}",
                                 "serialzy.header.truncated"),
    # 1 TiB declared: both too large and past the end; either code is right.
    "serialzy_header_huge": (b"serialzy" + (1 << 40).to_bytes(8, "little") + b"{}",
                             ("serialzy.header.too_large", "serialzy.header.truncated")),
    "serialzy_not_json": (frame_raw("{data_format: onnx}"), "serialzy.header.json"),
    "serialzy_not_object": (frame_raw('["onnx"]'), "serialzy.header.not_object"),
    "serialzy_missing_data_format": (frame_raw(json.dumps({"schema_format": "x", "meta": {}})),
                                     "serialzy.header.missing_key"),
    "serialzy_unknown_key": (frame_raw(json.dumps({"data_format": "onnx", "schema_format": "",
                                                   "schema_content": "", "meta": {}, "extra": 1})),
                             "serialzy.header.unknown_key"),
    "serialzy_wrong_type": (frame_raw(json.dumps({"data_format": 5})), "serialzy.header.type"),
    "serialzy_no_payload": (G.serialzy_frame(G.serialzy_header("onnx", ONNX_SCHEMA, {}), b""),
                            "serialzy.payload.empty"),
    "serialzy_unknown_format": (G.serialzy_frame(G.serialzy_header("no_such_format", "", {}), b"x"),
                                "serialzy.format.unknown"),
    "serialzy_user_meta_not_json": (G.serialzy_frame(G.serialzy_header(
        "onnx", ONNX_SCHEMA, {"onnx": "1.12.0", "user-meta": "{not json"}), b"\x08\x07"),
        "serialzy.user_meta.invalid"),
    "serialzy_key_order": (frame_raw(json.dumps({"meta": {}, "data_format": "onnx", "schema_format":
                                                 "serialzy_python_type_reference",
                                                 "schema_content": ONNX_SCHEMA}), b"\x08\x07"),
                           "serialzy.header.key_order"),
    "serialzy_non_ascii": (frame_raw(json.dumps({"data_format": "onnx", "schema_format": "", "schema_content":
                                                 "", "meta": {"who": "\u00e9t\u00e9"}}, ensure_ascii=False),
                                     b"\x08\x07"),
                           "serialzy.header.non_ascii"),
    # zip
    "zip_slip": (make_zip([("archive/../../evil.py", b"x")]), "zip.member.path_traversal"),
    "zip_absolute": (make_zip([("/etc/cron.d/evil", b"x")]), "zip.member.absolute_path"),
    "zip_backslash": (make_zip([("archive\\..\\evil", b"x")]), "zip.member.backslash"),
    "zip_duplicate": (make_zip([("archive/data.pkl", b"a"), ("archive/data.pkl", b"b")]),
                      "zip.member.duplicate"),
    "zip_prefix": (make_zip([("archive/data.pkl", b"a")], prefix=b"\x80\x02polyglot" * 8),
                   "zip.prefix_data"),
    "zip_trailing": (make_zip([("archive/data.pkl", b"a")], suffix=b"trailing bytes"), "zip.trailing_data"),
    "zip_bad_crc": (_zip_with_bad_crc(), "zip.member.crc"),
    # tar
    "tar_traversal": (make_tar([tar_file("../evil", b"x")]), "tar.member.path_traversal"),
    "tar_absolute": (make_tar([tar_file("/etc/evil", b"x")]), "tar.member.absolute_path"),
    "tar_symlink_escape": (make_tar([tar_file("saved_model.pb", b"\x08\x01"),
                                     tar_link("variables", "../../etc")]), "tar.member.link_escape"),
    "tar_device": (make_tar([tar_device("dev/mem")]), "tar.member.device"),
    "tar_bad_checksum": (_tar_with_bad_checksum(), "tar.header.checksum"),
    "tar_truncated": (make_tar([tar_file("saved_model.pb", b"\x08\x01" * 600)])[:1024],
                      "tar.truncated"),
}

CODE_TABLE = {c["code"]: c["severity"] for c in modelstore.finding_codes()}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_gives_its_code(name):
    data, wanted = HOSTILE[name]
    wanted = (wanted,) if isinstance(wanted, str) else wanted
    for code in wanted:
        assert code in CODE_TABLE, "the test expects a code the library does not list: %s" % code
    report = modelstore.validate(data)
    found = [f.code for f in report.findings]
    hits = [c for c in wanted if c in found]
    assert hits, found
    if any(CODE_TABLE[c] == "error" for c in hits):
        assert not report.valid
    # The binding and the path route agree.
    assert [f.code for f in modelstore.validate(bytearray(data)).findings] == found


def test_quick_mode_skips_payload_checksums():
    data, _ = HOSTILE["zip_bad_crc"]
    assert "zip.member.crc" not in [f.code for f in modelstore.validate(data, quick=True).findings]


def test_hostile_inputs_never_crash_inspect():
    for name, (data, _) in sorted(HOSTILE.items()):
        try:
            info = modelstore.inspect(data, hash=True)
        except modelstore.ModelStoreError as e:
            assert e.code == modelstore.ErrorCode.EFORMAT, (name, e)
            continue
        assert info["size"] == len(data), name


def _all_inputs():
    """Every input the tests know: hostile samples, generated fixtures and
    the corpus' generated set (negatives included)."""
    for name, (data, _) in sorted(HOSTILE.items()):
        yield name, data
    if MANIFEST is not None:
        for e in MANIFEST["files"]:
            yield e["path"], MODELS / e["path"]
    if CORPUS is not None and (CORPUS / "generated" / "manifest.json").is_file():
        with open(CORPUS / "generated" / "manifest.json") as f:
            for e in json.load(f)["files"]:
                yield "corpus:" + e["path"], CORPUS / "generated" / e["path"]


def test_every_emitted_code_is_in_the_table():
    seen = set()
    for name, source in _all_inputs():
        for quick in (False, True):
            try:
                report = modelstore.validate(source, quick=quick)
            except modelstore.ModelStoreError as e:
                # Opening can fail (e.g. a feature not supported): no codes to check.
                assert e.code != modelstore.ErrorCode.ECANCELLED, name
                continue
            for f in report.findings:
                assert f.code in CODE_TABLE, (name, f)
                assert f.severity == CODE_TABLE[f.code], (name, f)
                seen.add(f.code)
    assert "internal.unknown_code" not in seen
    assert {"artifact.empty", "artifact.format.unknown"} <= seen
