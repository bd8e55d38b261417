"""Writing and unpacking serialzy streams (modelstore pack / unpack,
ms_pack_path, ms_artifact_unpack).

Ground truth comes from Python itself, never from the library under test:
the header is built with json.dumps exactly as serialzy's
Serializer.serialize does (SERIALZY.md section 1), the tar of a directory
with tarfile in Python's own order (shutil.make_archive's tar.add("."), with
the reproducibility filter), and the payloads are real model files of every
format read in place from $CORPUS.
"""
import hashlib
import io
import json
import os
import pathlib
import stat
import subprocess
import tarfile

import pytest

import modelstore
from ms_testutil import CORPUS

TYPE_REF = "serialzy_python_type_reference"
CREATED = "2024-02-29T12:34:56Z"

# data_format -> (meta key, default "module.Class", unpack_model name)
FORMATS = {
    "cbm": ("catboost", "catboost.core.CatBoost", "model.cbm"),
    "catboost_quantized_pool": ("catboost", "catboost.core.Pool", "model.bin"),
    "tf_keras": ("keras", "keras.engine.training.Model", "model.savedmodel"),
    "tf_pure": ("tensorflow", "tensorflow.python.module.module.Module", "model.savedmodel"),
    "lgbm": ("lightgbm", "lightgbm.basic.Booster", "model"),
    "xgb": ("xgboost", "xgboost.core.Booster", "model"),
    "pt": ("torch", "torch.jit._script.RecursiveScriptModule", "model.pt"),
    "onnx": ("onnx", "onnx.onnx_ml_pb2.ModelProto", "model.onnx"),
    "skl": ("sklearn", "sklearn.base.BaseEstimator", "model.pickle"),
}

HOSTILE_TEXT = 'Mod\u00e8le "q" \\ \U0001F600 \x01\x1f\x7f\n\t\u2028 \u65e5\u672c'


# ---- Python's side: what serialzy writes ------------------------------------------------------------

def expected_header(data_format, type_name, meta_version, user_meta):
    """json.dumps(dataclasses.asdict(Schema(...))) as serialzy writes it."""
    module, _, name = type_name.rpartition(".")
    meta = {}
    if meta_version is not None:
        meta[FORMATS[data_format][0]] = meta_version
    if user_meta is not None:
        meta["user-meta"] = json.dumps(user_meta)
    schema = {"data_format": data_format, "schema_format": TYPE_REF,
              "schema_content": json.dumps({"module": module, "name": name}), "meta": meta}
    text = json.dumps(schema).encode("utf-8")
    return b"serialzy" + len(text).to_bytes(8, "little") + text


def model_resource(payload, name, notebook=None, variable=None, user=None, created_at=CREATED,
                   description=None, tags=()):
    return {"name": name, "notebook": notebook, "variable": variable, "user": user,
            "created_at": created_at, "size": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(), "description": description,
            "tags": list(tags)}


def serialzy_read(data):
    """serialzy's _deserialize_schema: magic, u64 LE length, Schema(**json),
    then the payload to the end."""
    assert data[:8] == b"serialzy", "Missing header"
    n = int.from_bytes(data[8:16], "little")
    header = json.loads(data[16:16 + n])
    allowed = {"data_format", "schema_format", "schema_content", "meta"}
    assert set(header) <= allowed and {"data_format", "schema_format"} <= set(header)
    return header, data[16 + n:]


def reproducible_filter(ti):
    ti.mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.mode = 0o755 if ti.isdir() or ti.mode & 0o111 else 0o644
    return ti


def expected_tar(directory):
    """shutil.make_archive(base, "tar", directory) does tar.add(".") from
    inside the directory; ustar and the filter make it reproducible."""
    buf = io.BytesIO()
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            tar.add(".", filter=reproducible_filter)
    finally:
        os.chdir(cwd)
    return buf.getvalue()


def tree(root):
    """{relative path: bytes or None for a directory}."""
    root = pathlib.Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in filenames:
            out[os.path.relpath(os.path.join(dirpath, f), root)] = pathlib.Path(dirpath, f).read_bytes()
    return out


# ---- corpus payloads ----------------------------------------------------------------------------------

def _public_entries():
    if CORPUS is None or not (CORPUS / "public" / "manifest.json").is_file():
        return []
    with open(CORPUS / "public" / "manifest.json") as f:
        entries = json.load(f)["entries"]
    # serialzy packs a directory only for the TensorFlow formats (an ONNX
    # model with external data is a directory serialzy cannot write)
    # directory, and for those only a directory (or a tar of one): Keras .h5
    # and .keras files are not what serialzy's tf_keras writes
    tf = ("tf_keras", "tf_pure")
    return [e for e in entries if e["data_format"] in FORMATS
            and (e["kind"] == "directory") == (e["data_format"] in tf)]


PUBLIC = _public_entries()


def corpus_params():
    if not PUBLIC:
        return [pytest.param(None, marks=pytest.mark.skip(reason="CORPUS/public/manifest.json missing"))]
    return [pytest.param(e, id=e["path"]) for e in PUBLIC]


def one_per_format():
    if not PUBLIC:
        return [pytest.param(None, marks=pytest.mark.skip(reason="CORPUS/public/manifest.json missing"))]
    seen = {}
    for e in PUBLIC:
        key = (e["data_format"], e["kind"])
        seen.setdefault(key, e)
    return [pytest.param(e, id="%s-%s" % k) for k, e in sorted(seen.items())]


@pytest.fixture
def epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


# ---- golden bytes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("data_format", sorted(FORMATS))
def test_header_bytes_equal_json_dumps(tmp_path, data_format):
    payload = b"\x08\x07payload for " + data_format.encode()
    if data_format in ("tf_keras", "tf_pure"):  # a tar of a SavedModel
        payload = make_tar([("./saved_model.pb", "file", payload)])
    src = tmp_path / "payload.bin"
    src.write_bytes(payload)
    out = tmp_path / "stream"
    written = modelstore.pack(src, out, format=data_format, type="pkg.mod.Klass", framework_version="1.2.3",
                              name=HOSTILE_TEXT, notebook="nb \u00e9.ipynb", variable="clf", user="\u00fcser",
                              created_at=CREATED, description=HOSTILE_TEXT + '"', tags=["a", "\U0001F680", ""])
    resource = model_resource(payload, HOSTILE_TEXT, "nb \u00e9.ipynb", "clf", "\u00fcser", CREATED,
                              HOSTILE_TEXT + '"', ["a", "\U0001F680", ""])
    assert written == resource
    expected = expected_header(data_format, "pkg.mod.Klass", "1.2.3", resource) + payload
    assert out.read_bytes() == expected
    # and serialzy's reader takes it back
    header, back = serialzy_read(out.read_bytes())
    assert back == payload
    assert json.loads(header["meta"]["user-meta"]) == resource


def test_default_type_and_no_framework_version(tmp_path):
    for data_format, (_, default_type, _) in FORMATS.items():
        payload = b"x"
        if data_format in ("tf_keras", "tf_pure"):
            payload = make_tar([("./saved_model.pb", "file", payload)])
        src = tmp_path / "p"
        src.write_bytes(payload)
        out = tmp_path / data_format
        modelstore.pack(src, out, format=data_format, name="m", created_at=CREATED)
        resource = model_resource(payload, "m")
        assert out.read_bytes() == expected_header(data_format, default_type, None, resource) + payload


def test_cli_pack_matches_python(cli, tmp_path):
    payload = b"\x08\x07\x12\x00"
    src = tmp_path / "model.onnx"
    src.write_bytes(payload)
    out = tmp_path / "out.serialzy"
    proc = cli("pack", "--format", "onnx", "--name", "churn \u00e9", "--notebook", "nb.ipynb", "--variable", "m",
               "--user", "alice", "--created-at", CREATED, "--description", 'say "hi" \\ \u2603', "--tag", "t1",
               "--tag", "t2", "--type", "onnx.onnx_ml_pb2.ModelProto", "--framework-version", "1.12.0",
               "--json", src, out)
    assert proc.returncode == 0, proc.stderr
    resource = model_resource(payload, "churn \u00e9", "nb.ipynb", "m", "alice", CREATED,
                              'say "hi" \\ \u2603', ["t1", "t2"])
    assert out.read_bytes() == expected_header("onnx", "onnx.onnx_ml_pb2.ModelProto", "1.12.0", resource) + payload
    line = json.loads(proc.stdout)
    assert line["model"] == resource and line["format"] == "onnx"
    # the name defaults to SOURCE's last component; OUT '-' is standard output
    proc = cli("pack", "--format", "onnx", "--created-at", CREATED, src, "-")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected_header("onnx", FORMATS["onnx"][1], None,
                                          model_resource(payload, "model.onnx")) + payload


def test_reproducible(cli, tmp_path, epoch):
    src = tmp_path / "saved"
    (src / "variables").mkdir(parents=True)
    (src / "saved_model.pb").write_bytes(b"\x08\x01")
    (src / "variables" / "variables.index").write_bytes(b"i" * 700)
    outs = []
    for i in range(2):
        out = tmp_path / ("s%d" % i)
        proc = cli("pack", "--format", "tf_pure", "--created-at", CREATED, "--name", "m", src, out)
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_bytes())
        os.utime(src / "saved_model.pb", (1, 1))  # mtimes do not matter
    assert outs[0] == outs[1]
    # without --created-at the time is now: still a valid timestamp
    proc = cli("pack", "--format", "tf_pure", "--json", src, tmp_path / "now")
    created = json.loads(proc.stdout)["model"]["created_at"]
    assert len(created) == 20 and created.endswith("Z")


def test_directory_tar_is_pythons(tmp_path, epoch):
    # nested directories, an empty one, an empty file, an executable file, a
    # name past 100 bytes (ustar prefix split), names that sort bytewise
    src = tmp_path / "saved"
    deep = src / "variables" / ("d" * 60) / ("e" * 50)
    deep.mkdir(parents=True)
    (src / "assets").mkdir()
    (src / "saved_model.pb").write_bytes(b"\x08\x01" * 300)
    (src / "B").write_bytes(b"")
    (src / "a.txt").write_bytes(b"x")
    (src / "run.sh").write_bytes(b"#!/bin/sh\n")
    os.chmod(src / "run.sh", 0o775)
    (deep / ("f" * 40)).write_bytes(os.urandom(5000))
    (src / "variables" / "\u00e9t\u00e9").write_bytes(b"utf-8 name")
    out = tmp_path / "stream"
    written = modelstore.pack(src, out, format="tf_keras", name="m", created_at=CREATED)
    tar = expected_tar(src)
    assert len(tar) % 10240 == 0
    assert out.read_bytes() == expected_header("tf_keras", FORMATS["tf_keras"][1], None,
                                               model_resource(tar, "m")) + tar
    assert written["size"] == len(tar)
    # unpack gives the directory back
    dest = tmp_path / "dest"
    assert modelstore.unpack(out, dest) == str(dest / "model.savedmodel")
    assert tree(dest / "model.savedmodel") == tree(src)
    assert os.listdir(dest) == ["model.savedmodel"]


def test_tf_formats_take_a_savedmodel_not_a_keras_file(tmp_path):
    src = tmp_path / "model.h5"
    src.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(600))
    with pytest.raises(modelstore.ModelStoreError) as info:
        modelstore.pack(src, tmp_path / "out", format="tf_keras", name="m")
    assert info.value.code == modelstore.ErrorCode.EINVAL
    assert not (tmp_path / "out").exists()
    # a tar of a SavedModel is taken as it is
    tar = tmp_path / "sm.tar"
    tar.write_bytes(make_tar([("./saved_model.pb", "file", b"\x08\x01")]))
    modelstore.pack(tar, tmp_path / "out", format="tf_pure", name="m")
    assert serialzy_read((tmp_path / "out").read_bytes())[1] == tar.read_bytes()


def test_directory_with_symlink_is_refused(tmp_path):
    src = tmp_path / "saved"
    src.mkdir()
    (src / "saved_model.pb").write_bytes(b"\x08\x01")
    os.symlink("/etc/passwd", src / "leak")
    with pytest.raises(modelstore.ModelStoreError) as info:
        modelstore.pack(src, tmp_path / "out", format="tf_pure", name="m")
    assert info.value.code == modelstore.ErrorCode.EUNSUPPORTED
    assert "leak" in info.value.message
    assert not (tmp_path / "out").exists()
    assert os.listdir(tmp_path) == ["saved"]


# ---- round trips over the corpus ------------------------------------------------------------------

@pytest.mark.parametrize("entry", corpus_params())
def test_corpus_round_trip(tmp_path, entry, epoch):
    src = CORPUS / "public" / entry["path"]
    data_format = entry["data_format"]
    out = tmp_path / "stream"
    written = modelstore.pack(src, out, format=data_format, name=src.name, created_at=CREATED,
                              framework_version="0.0.0")
    data = out.read_bytes()
    header, payload = serialzy_read(data)
    assert header["data_format"] == data_format
    if entry["kind"] == "file":
        assert payload == src.read_bytes()
    else:
        assert payload == expected_tar(src)
    assert written == model_resource(payload, src.name)
    assert data == expected_header(data_format, FORMATS[data_format][1], "0.0.0", written) + payload
    info = modelstore.inspect(out)
    assert info["serialzy"]["meta"]["user-meta"] == written
    assert info["serialzy"]["payload_size"] == len(payload)
    assert info["serialzy"]["payload_offset"] == len(data) - len(payload)
    report = modelstore.validate(out)
    assert not [f for f in report.findings if f.code.startswith(("model.", "serialzy."))], report.findings
    dest = tmp_path / "dest"
    path = pathlib.Path(modelstore.unpack(out, dest))
    assert path.name == FORMATS[data_format][2]
    if entry["kind"] == "file" and data_format not in ("tf_keras", "tf_pure"):
        assert path.read_bytes() == src.read_bytes()
    elif entry["kind"] == "directory":
        assert tree(path) == tree(src)
    assert os.listdir(dest) == [path.name]


@pytest.mark.parametrize("entry", one_per_format())
def test_cli_round_trip_every_format(cli, tmp_path, entry, epoch):
    src = CORPUS / "public" / entry["path"]
    out = tmp_path / "stream"
    proc = cli("pack", "--format", entry["data_format"], "--created-at", CREATED, src, out)
    assert proc.returncode == 0, proc.stderr
    dest = tmp_path / "dest"
    proc = cli("unpack", "--json", out, dest)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["name"] == FORMATS[entry["data_format"]][2]
    target = dest / result["name"]
    if target.is_dir():
        assert tree(target) == tree(src)
    else:
        _, payload = serialzy_read(out.read_bytes())
        assert target.read_bytes() == payload
        if entry["kind"] == "file":
            assert payload == src.read_bytes()


def test_skl_round_trip(tmp_path):
    try:
        import pickle
        from sklearn.ensemble import IsolationForest
        obj = IsolationForest(n_estimators=3, random_state=0).fit([[0.0], [1.0], [2.0]])
        payload = pickle.dumps(obj)
    except ImportError:  # the bytes are what matters here
        import pickle
        payload = pickle.dumps({"not": "sklearn"})
    src = tmp_path / "clf.pkl"
    src.write_bytes(payload)
    out = tmp_path / "stream"
    modelstore.pack(src, out, format="skl", type="sklearn.ensemble._iforest.IsolationForest",
                    framework_version="1.2.1", name="forest", created_at=CREATED)
    assert out.read_bytes() == expected_header("skl", "sklearn.ensemble._iforest.IsolationForest", "1.2.1",
                                               model_resource(payload, "forest")) + payload
    assert pathlib.Path(modelstore.unpack(out, tmp_path / "d")).read_bytes() == payload


def test_streams_written_by_python_unpack(cli, tmp_path, epoch):
    # The other direction: a stream Python writes as serialzy does (no
    # user-meta, a plain make_archive-style tar) is unpacked byte-exact.
    src = tmp_path / "saved"
    (src / "variables").mkdir(parents=True)
    (src / "saved_model.pb").write_bytes(b"\x08\x01abc")
    (src / "variables" / "variables.index").write_bytes(b"idx")
    buf = io.BytesIO()
    cwd = os.getcwd()
    os.chdir(src)
    try:
        with tarfile.open(fileobj=buf, mode="w") as tar:  # PAX, as serialzy's Python writes
            tar.add(".")
    finally:
        os.chdir(cwd)
    stream = tmp_path / "py.serialzy"
    stream.write_bytes(expected_header("tf_pure", "tensorflow.Module", "2.14.0", None) + buf.getvalue())
    proc = cli("unpack", stream, tmp_path / "dest")
    assert proc.returncode == 0, proc.stderr
    assert tree(tmp_path / "dest" / "model.savedmodel") == tree(src)
    onnx = tmp_path / "py2.serialzy"
    onnx.write_bytes(expected_header("onnx", "onnx.onnx_ml_pb2.ModelProto", "1.12.0", {"k": "v"}) + b"\x08\x07")
    assert cli("unpack", onnx, tmp_path / "dest").returncode == 0
    assert (tmp_path / "dest" / "model.onnx").read_bytes() == b"\x08\x07"


# ---- bad input ----------------------------------------------------------------------------------------

def frame(header_text, payload=b"\x08\x07"):
    if isinstance(header_text, str):
        header_text = header_text.encode()
    return b"serialzy" + len(header_text).to_bytes(8, "little") + header_text + payload


def header_json(**overrides):
    h = {"data_format": "onnx", "schema_format": TYPE_REF,
         "schema_content": json.dumps({"module": "onnx.onnx_ml_pb2", "name": "ModelProto"}),
         "meta": {"onnx": "1.12.0"}}
    h.update(overrides)
    return json.dumps({k: v for k, v in h.items() if v is not None})


def make_tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, kind, value in members:
            ti = tarfile.TarInfo(name)
            if kind == "file":
                ti.size = len(value)
                tar.addfile(ti, io.BytesIO(value))
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                tar.addfile(ti)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = value
                tar.addfile(ti)
    return buf.getvalue()


TF_SCHEMA = json.dumps({"module": "tensorflow", "name": None})

BAD = {
    "length_past_end": (b"serialzy" + (500).to_bytes(8, "little") + b"{}", "serialzy.header.truncated"),
    "length_above_cap": (b"serialzy" + (17 << 20).to_bytes(8, "little") + b" " * (17 << 20) + b"x",
                         "serialzy.header.too_large"),
    "not_json": (frame("{data_format: onnx}"), "serialzy.header.json"),
    "not_utf8": (frame(b'{"data_format": "onnx", "schema_format": "\xff\xfe"}'), "serialzy.header.utf8"),
    "extra_key": (frame(header_json(extra=1)), "serialzy.header.unknown_key"),
    "unknown_format": (frame(header_json(data_format="no_such_format")), "serialzy.format.invalid"),
    "empty_payload": (frame(header_json(data_format="catboost_quantized_pool",
                                        schema_content=json.dumps({"module": "catboost.core", "name": "Pool"})),
                            b""), "serialzy.payload.empty"),
    "pickled_type": (frame(header_json(schema_format="pickled_type", schema_content="gASVIAAAAAAAAAA=")),
                     "serialzy.schema.pickled"),
    "primitive_naming_system": (frame(header_json(data_format="primitive_type", schema_content=json.dumps(
        {"module": "os", "name": "system"})), b"echo hi"), "serialzy.schema.type"),
    "user_meta_not_json": (frame(header_json(meta={"user-meta": "{oops"})), "serialzy.user_meta.json"),
    "tar_escape": (frame(header_json(data_format="tf_pure", schema_content=TF_SCHEMA),
                         make_tar([("./saved_model.pb", "file", b"\x08\x01"), ("../../evil", "file", b"x")])),
                   "tar.member.path_traversal"),
    "tar_symlink_escape": (frame(header_json(data_format="tf_pure", schema_content=TF_SCHEMA),
                                 make_tar([("./saved_model.pb", "file", b"\x08\x01"),
                                           ("./v", "symlink", "/etc"), ("./v/passwd", "file", b"x")])),
                           "tar.member.link_escape"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_stream_is_a_clear_error(cli, tmp_path, name):
    data, code = BAD[name]
    report = modelstore.validate(data)
    found = {f.code: f for f in report.findings}
    assert code in found, report.findings
    assert found[code].severity == "error"
    assert not report.valid
    stream = tmp_path / "bad"
    stream.write_bytes(data)
    dest = tmp_path / "dest"
    proc = cli("unpack", stream, dest)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert proc.stderr.strip()
    # nothing written, nothing partial, nothing outside DEST
    assert not dest.exists() or os.listdir(dest) == []
    assert sorted(os.listdir(tmp_path)) == ["bad"] + (["dest"] if dest.exists() else [])


def test_pickled_type_is_shown_by_inspect(models_dir):
    data = frame(header_json(schema_format="pickled_type", schema_content="gASVIAAAAAAAAAA="),
                 (models_dir / "mlp.onnx").read_bytes())
    info = modelstore.inspect(data)
    assert info["serialzy"]["schema_format"] == "pickled_type"
    assert info["serialzy"]["schema_content"] == "gASVIAAAAAAAAAA="
    assert info["format"] == "onnx"


def test_main_module_is_a_warning(tmp_path):
    data = frame(header_json(data_format="pt", schema_content=json.dumps({"module": "__main__", "name": "Net"})))
    report = modelstore.validate(data)
    found = {f.code: f.severity for f in report.findings}
    assert found.get("serialzy.schema.main_module") == "warning"
    assert not [c for c, s in found.items() if s == "error" and c.startswith("serialzy.")]


def test_missing_optional_keys_are_warnings(models_dir):
    report = modelstore.validate(frame(json.dumps({"data_format": "onnx", "schema_format": TYPE_REF}),
                                       (models_dir / "mlp.onnx").read_bytes()))
    found = {f.code: f.severity for f in report.findings}
    assert found.get("serialzy.header.optional_missing") == "warning"
    assert report.valid


def test_model_resource_mismatch(tmp_path):
    src = tmp_path / "m.onnx"
    src.write_bytes(b"\x08\x07\x12\x00")
    out = tmp_path / "s"
    modelstore.pack(src, out, format="onnx", name="m")
    data = bytearray(out.read_bytes())
    data[-1] ^= 0xFF
    codes = {f.code for f in modelstore.validate(bytes(data)).findings}
    assert "model.sha256.mismatch" in codes
    assert "model.sha256.mismatch" not in {f.code for f in modelstore.validate(bytes(data), quick=True).findings}
    with pytest.raises(modelstore.ModelStoreError) as info:
        modelstore.unpack(bytes(data), tmp_path / "d")
    assert info.value.code == modelstore.ErrorCode.EFORMAT
    assert not (tmp_path / "d").exists() or os.listdir(tmp_path / "d") == []
    assert modelstore.unpack(bytes(data), tmp_path / "d", verify=False)


def test_invalid_model_resource_is_refused_by_pack(cli, tmp_path):
    src = tmp_path / "m.onnx"
    src.write_bytes(b"\x08\x07")
    for args in (["--name", ""], ["--name", "x" * 256], ["--created-at", "2024-02-30T00:00:00Z"],
                 ["--created-at", "2024-01-01 00:00:00"]):
        proc = cli("pack", "--format", "onnx", *args, src, tmp_path / "out")
        assert proc.returncode == 2, args
        assert b"model resource" in proc.stderr
        assert not (tmp_path / "out").exists()
    proc = cli("pack", "--format", "nonsense", src, tmp_path / "out")
    assert proc.returncode == 2 and b"nonsense" in proc.stderr
    assert cli("pack", "--format", "onnx", "--name", "\u00e9" * 255, src, tmp_path / "out").returncode == 0


def test_unpack_never_follows_symlinks_in_dest(tmp_path):
    outside = tmp_path / "outside"
    outside.write_bytes(b"keep")
    src = tmp_path / "m.onnx"
    src.write_bytes(b"\x08\x07")
    modelstore.pack(src, tmp_path / "s", format="onnx", name="m")
    dest = tmp_path / "dest"
    dest.mkdir()
    os.symlink(outside, dest / "model.onnx")
    with pytest.raises(modelstore.ModelStoreError):
        modelstore.unpack(tmp_path / "s", dest)
    modelstore.unpack(tmp_path / "s", dest, overwrite=True)  # replaces the link, not its target
    assert outside.read_bytes() == b"keep"
    assert not (dest / "model.onnx").is_symlink()
    assert (dest / "model.onnx").read_bytes() == b"\x08\x07"


def test_pack_progress_and_cancel(tmp_path):
    src = tmp_path / "big"
    src.write_bytes(os.urandom(3 << 20))
    seen = []
    modelstore.pack(src, tmp_path / "s", format="onnx", name="m", progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (3 << 20, 3 << 20)
    with pytest.raises(modelstore.ModelStoreError) as info:
        modelstore.pack(src, tmp_path / "s2", format="onnx", name="m", progress=lambda d, t: d > (1 << 20))
    assert info.value.code == modelstore.ErrorCode.ECANCELLED
    assert sorted(os.listdir(tmp_path)) == ["big", "s"]
