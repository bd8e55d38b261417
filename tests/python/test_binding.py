"""The ctypes binding itself: loading, version check, declarations, errors,
inputs (paths and bytes), hashing, reports and handle lifetime.

Ground truth comes from Python's stdlib (hashlib, os, json, re) and from the
public headers' text, never from the library under test.
"""
import ctypes
import errno
import gc
import hashlib
import json
import os
import pathlib
import random
import re
import shutil
import subprocess
import sys
import threading

import pytest

import modelstore
from modelstore import _ffi
from ms_testutil import REPO, gen_models

INCLUDE = REPO / "include"


def run_python(code, env=None):
    """Runs code in a fresh interpreter (this one's) with env changes."""
    full_env = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    return subprocess.run([sys.executable, "-c", code], env=full_env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)


def random_bytes(n, seed):
    return random.Random(seed).randbytes(n)


# ---- loading and version -----------------------------------------------------------------

def test_version_string_and_number_agree():
    text = modelstore.version()
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", text)
    assert m, text
    major, minor, patch = map(int, m.groups())
    assert modelstore.version_number() == major * 10000 + minor * 100 + patch
    assert modelstore.version_number() >= _ffi.MIN_LIBRARY_VERSION


def test_version_matches_header_macros():
    header = (INCLUDE / "modelstore" / "common.h").read_text()
    macros = dict(re.findall(r"#define MS_VERSION_(MAJOR|MINOR|PATCH) (\d+)", header))
    assert modelstore.version() == "%s.%s.%s" % (macros["MAJOR"], macros["MINOR"], macros["PATCH"])


def test_loaded_library_is_the_one_named_by_the_environment():
    env = os.environ.get("MODELSTORE_LIBRARY")
    if not env:
        pytest.skip("MODELSTORE_LIBRARY not set")
    assert _ffi.LIBRARY_PATH == env


def _stub_library(tmp_path, version_number, version_string):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no C compiler to build a stub library")
    src = tmp_path / "stub.c"
    src.write_text("int ms_version(void) { return %d; }\n"
                   "const char *ms_version_string(void) { return \"%s\"; }\n"
                   % (version_number, version_string))
    lib = tmp_path / "libmodelstore.so.0"
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}  # e.g. an ASan runtime
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src)], check=True, env=env)
    return lib


def test_too_old_library_is_refused_at_import(tmp_path):
    lib = _stub_library(tmp_path, 1, "0.0.1")
    proc = run_python("import modelstore", env={"MODELSTORE_LIBRARY": str(lib)})
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert "0.0.1" in proc.stderr and "0.1.0 or newer" in proc.stderr, proc.stderr


def test_library_lacking_a_function_is_refused_at_import(tmp_path):
    # A library new enough by its version number but missing the API.
    lib = _stub_library(tmp_path, _ffi.LIBRARY_VERSION, modelstore.version())
    proc = run_python("import modelstore", env={"MODELSTORE_LIBRARY": str(lib)})
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr and "lacks the function" in proc.stderr, proc.stderr


def test_explicit_library_that_does_not_exist_is_an_import_error(tmp_path):
    missing = tmp_path / "nowhere" / "libmodelstore.so.0"
    proc = run_python("import modelstore", env={"MODELSTORE_LIBRARY": str(missing)})
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr and str(missing) in proc.stderr, proc.stderr


def test_library_next_to_the_package_is_found(tmp_path):
    pkg = tmp_path / "site" / "modelstore"
    shutil.copytree(pathlib.Path(modelstore.__file__).parent, pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "*.so*"))
    shutil.copy(_ffi.LIBRARY_PATH, pkg / "libmodelstore.so.0")
    proc = run_python("import modelstore._ffi as f; print(f.LIBRARY_PATH); print(f.ms_version())",
                      env={"MODELSTORE_LIBRARY": None, "PYTHONPATH": str(tmp_path / "site")})
    assert proc.returncode == 0, proc.stderr
    path, number = proc.stdout.split()
    assert pathlib.Path(path) == pkg / "libmodelstore.so.0"
    assert int(number) == modelstore.version_number()


# ---- declarations --------------------------------------------------------------------------

def _header_functions():
    """(name, number of parameters) of every MS_EXTERN function in the
    public headers, read from their text."""
    funcs = {}
    for header in sorted((INCLUDE / "modelstore").glob("*.h")):
        text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)
        for m in re.finditer(r"MS_EXTERN\s+[^;(]*?\b(ms_\w+)\s*\(([^)]*)\)\s*;", text):
            params = m.group(2).strip()
            funcs[m.group(1)] = 0 if params in ("", "void") else params.count(",") + 1
    return funcs


def test_every_public_function_is_declared_with_its_arity():
    funcs = _header_functions()
    assert len(funcs) >= 30  # the parse found the API
    for name, arity in funcs.items():
        func = getattr(_ffi, name, None)
        assert func is not None, "%s is not declared in _ffi.py" % name
        assert func.argtypes is not None and len(func.argtypes) == arity, name
    exported = set(funcs)
    declared = {n for n in dir(_ffi)
                if n.startswith("ms_") and isinstance(getattr(_ffi, n), ctypes._CFuncPtr)}
    assert declared == exported


def test_options_structs_mirror_the_headers():
    # Field names and order of the C structs, read from the header text.
    text = (INCLUDE / "modelstore" / "artifact.h").read_text()
    for c_name, py in (("ms_open_options", _ffi.OpenOptions), ("ms_inspect_options", _ffi.InspectOptions),
                       ("ms_validate_options", _ffi.ValidateOptions)):
        body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (c_name, c_name), text, re.S).group(1)
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        fields = re.findall(r"(\w+)\s*;", body)
        assert [f[0] for f in py._fields_] == fields, c_name
        version = int(re.search(r"#define %s_VERSION (\d+)" % c_name.upper(), text).group(1))
        assert py().version == version


def test_options_version_is_accepted_by_the_library():
    # ms_*_options_init fills a struct the way the C macros do; ours must match.
    for py, init in ((_ffi.OpenOptions, _ffi.ms_open_options_init),
                     (_ffi.InspectOptions, _ffi.ms_inspect_options_init),
                     (_ffi.ValidateOptions, _ffi.ms_validate_options_init)):
        ours, theirs = py(), py()
        init(ctypes.byref(theirs), py.VERSION)
        assert bytes(ours) == bytes(theirs)
        assert ctypes.sizeof(ours) == ctypes.sizeof(theirs)


# ---- errors ----------------------------------------------------------------------------------

def test_missing_file_raises_modelstore_error_with_message(tmp_path):
    missing = tmp_path / "no such model.onnx"
    with pytest.raises(modelstore.ModelStoreError) as info:
        modelstore.inspect(missing)
    err = info.value
    assert err.code == modelstore.ErrorCode.EIO == -4
    assert str(missing) in err.message
    assert os.strerror(errno.ENOENT) in err.message
    assert err.message in str(err)


def test_unknown_forced_format_is_einval():
    with pytest.raises(modelstore.ModelStoreError) as info:
        modelstore.validate(b"abc", format="no_such_format")
    assert info.value.code == modelstore.ErrorCode.EINVAL
    assert "no_such_format" in info.value.message


def test_one_exception_type_for_every_code():
    assert issubclass(modelstore.ModelStoreError, Exception)
    assert modelstore.ModelStoreError is _ffi.ModelStoreError
    for code in modelstore.ErrorCode:
        if code < 0:
            expected = _ffi._text(_ffi.ms_strerror(code))
            assert expected and expected != "unknown error code"


def test_error_messages_are_per_thread(tmp_path):
    # Each thread's exception must carry its own path, however threads interleave.
    barrier = threading.Barrier(8)
    failures = []

    def worker(i):
        path = tmp_path / ("missing-%d" % i)
        barrier.wait()
        for _ in range(200):
            try:
                modelstore.Artifact(path)
            except modelstore.ModelStoreError as e:
                if str(path) not in e.message or e.code != modelstore.ErrorCode.EIO:
                    failures.append((i, e.message))
            else:
                failures.append((i, "no error"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_unsupported_source_types_are_type_errors():
    for bad in (42, None, 1.5, ["x"]):
        with pytest.raises(TypeError):
            modelstore.inspect(bad)
    with pytest.raises(TypeError):
        modelstore.Artifact(b"x", no_such_option=1)


# ---- inputs -------------------------------------------------------------------------------

def test_bytes_like_inputs_are_read_as_the_same_bytes():
    data = random_bytes(5000, 1)
    want = hashlib.sha256(data).hexdigest()
    for source in (data, bytearray(data), memoryview(data), memoryview(bytearray(data))):
        info = modelstore.inspect(source, hash=True)
        assert info["sha256"] == want
        assert info["size"] == len(data)
    strided = memoryview(data)[::3]  # not contiguous: the binding must copy it
    assert modelstore.inspect(strided, hash=True)["sha256"] == hashlib.sha256(data[::3]).hexdigest()
    import array
    ints = array.array("i", range(100))
    assert modelstore.inspect(memoryview(ints), hash=True)["sha256"] == \
        hashlib.sha256(ints.tobytes()).hexdigest()


def test_path_types_agree(tmp_path):
    data = random_bytes(777, 2)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)

    class Custom:
        def __fspath__(self):
            return str(path)

    results = [modelstore.inspect(p, hash=True) for p in (str(path), path, Custom())]
    assert all(r == results[0] for r in results)
    assert results[0]["path"] == str(path)
    assert results[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert results[0]["size"] == os.path.getsize(path)


def test_bytes_and_path_give_the_same_description(tmp_path):
    data = random_bytes(3000, 3)
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    by_path, by_bytes = modelstore.inspect(path), modelstore.inspect(data)
    for key in ("format", "container", "containers", "size"):
        assert by_path[key] == by_bytes[key], key


def test_file_descriptor_input(tmp_path):
    data = random_bytes(4096, 4)
    path = tmp_path / "fd.bin"
    path.write_bytes(data)
    with open(path, "rb") as f:
        with modelstore.Artifact.from_fd(f, display_path="shown-name") as a:
            info = a.inspect(hash=True)
        assert not f.closed and os.fstat(f.fileno())  # the caller keeps its descriptor
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["path"] == "shown-name"


# ---- hashing --------------------------------------------------------------------------------

def test_sha256_of_a_multi_chunk_file(tmp_path):
    data = random_bytes(3 * 1024 * 1024 + 17, 5)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    info = modelstore.inspect(path, hash=True)
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["size"] == len(data)
    assert "sha256" not in modelstore.inspect(path)


def test_sha256_of_empty_input(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    want = hashlib.sha256(b"").hexdigest()
    assert modelstore.inspect(empty, hash=True)["sha256"] == want
    assert modelstore.inspect(b"", hash=True)["sha256"] == want


def _make_tree(root):
    files = {
        "a.txt": b"alpha\n",
        "B.txt": b"upper case sorts first bytewise",
        "z": b"",
        "sub/b.bin": random_bytes(70000, 6),
        "sub/deeper/c": b"c" * 1000,
        "sub dir/with space": b"space",
        "sub-x/y": b"dash sorts before slash? no: '-' (0x2d) < '/' (0x2f)",
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "empty-dir").mkdir()
    return files


def test_sha256_of_a_directory(tmp_path):
    root = tmp_path / "model"
    files = _make_tree(root)
    lines = sorted(rel.encode() + b"\0" + hashlib.sha256(data).hexdigest().encode() + b"\n"
                   for rel, data in files.items())
    want = hashlib.sha256(b"".join(lines)).hexdigest()
    with modelstore.Artifact(root) as a:
        assert a.container == "directory"
        assert a.size == sum(len(d) for d in files.values())
        info = a.inspect(hash=True)
    assert info["sha256"] == want
    assert info["container"] == "directory"


# ---- lifetime ----------------------------------------------------------------------------------

def test_closed_artifact_refuses_use_and_close_is_idempotent():
    a = modelstore.Artifact(b"abc")
    assert not a.closed
    a.close()
    a.close()
    assert a.closed
    for op in (lambda: a.format, lambda: a.size, lambda: a.inspect(), lambda: a.validate()):
        with pytest.raises(ValueError):
            op()
    with modelstore.Artifact(b"abc") as b:
        assert b.size == 3
    assert b.closed


def test_buffer_is_kept_alive_by_the_artifact():
    def open_fresh():
        data = bytes(random_bytes(200000, 7))  # the only reference goes to the artifact
        return modelstore.Artifact(data), hashlib.sha256(data).hexdigest()

    a, want = open_fresh()
    gc.collect()
    junk = [bytes(200000) for _ in range(20)]  # reuse freed memory if the buffer was freed
    assert a.inspect(hash=True)["sha256"] == want
    del junk
    a.close()


def test_bytearray_cannot_be_resized_while_open_and_can_after_close():
    data = bytearray(b"model bytes " * 100)
    a = modelstore.Artifact(data)
    with pytest.raises(BufferError):
        data.extend(b"more")
    a.close()
    data.extend(b"more")  # the export ended deterministically with close()
    with modelstore.Artifact(data) as b:
        assert b.size == len(data)
    data.extend(b"again")


# ---- reports --------------------------------------------------------------------------------------

def test_report_of_empty_input():
    report = modelstore.validate(b"")
    assert report.valid is False
    assert report.clean is False
    assert [tuple(f) for f in report.findings] == [
        (f.severity, f.code, f.where, f.message) for f in report.findings]
    assert "artifact.empty" in [f.code for f in report.findings]
    d = report.to_dict()
    assert d["valid"] is False
    assert d["path"] == report.path and d["format"] == report.format
    assert [(f["severity"], f["code"], f["where"], f["message"]) for f in d["findings"]] == \
        [tuple(f) for f in report.findings]
    d["findings"].clear()
    assert report.to_dict()["findings"], "to_dict() must return a copy"
    json.dumps(report.to_dict())  # plain JSON values


def test_report_validity_follows_severities():
    for data in (b"", random_bytes(4096, 8), b"\0" * 4096):
        report = modelstore.validate(data)
        errors = [f for f in report.findings if f.severity == "error"]
        warnings = [f for f in report.findings if f.severity == "warning"]
        assert report.valid == (not errors)
        assert report.clean == (not errors and not warnings)
        assert all(f.severity in ("info", "warning", "error") for f in report.findings)


def test_display_path_and_forced_format_reach_the_report():
    with modelstore.Artifact(random_bytes(64, 9), display_path="shown.onnx", format="onnx") as a:
        assert a.format == "onnx"
        report = a.validate()
    assert report.path == "shown.onnx"
    assert report.format == "onnx"
    assert "artifact.format.forced" in [f.code for f in report.findings]
    forced = [f for f in report.findings if f.code == "artifact.format.forced"][0]
    assert forced.severity == "info"


def test_uint64_limit_option_reaches_the_library():
    # A well-formed serialzy header of 200 bytes, with the header limit set
    # below it: the 6th field of ms_open_options must arrive intact.
    g = gen_models()
    header = g.serialzy_header("onnx", json.dumps({"module": "onnx.onnx_ml_pb2", "name": "ModelProto"}),
                               {"onnx": "1.12.0", "user-meta": json.dumps({"pad": "x" * 40})})
    data = g.serialzy_frame(header, b"\x08\x07")
    assert len(json.dumps(header)) > 100
    codes_default = [f.code for f in modelstore.validate(data).findings]
    assert "serialzy.header.too_large" not in codes_default
    with modelstore.Artifact(data, max_header_size=100) as a:
        codes_limited = [f.code for f in a.validate().findings]
    assert "serialzy.header.too_large" in codes_limited


def test_repr_html_escapes_text():
    g = gen_models()
    hostile = "<script>alert('x')</script>"
    header = g.serialzy_header(hostile, "", {})
    report = modelstore.validate(g.serialzy_frame(header, b"payload"), )
    messages = " ".join(f.message for f in report.findings)
    assert hostile in messages  # the library quotes the header's data_format back
    with modelstore.Artifact(b"", display_path="<b>&amp</b>") as a:
        html_empty = a.validate()._repr_html_()
    html_text = report._repr_html_()
    assert "<table" in html_text and "</table>" in html_text
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text
    assert "<b>&amp</b>" not in html_empty and "&lt;b&gt;&amp;amp&lt;/b&gt;" in html_empty
    for f in report.findings:
        assert "<code>%s</code>" % f.code in html_text
    assert html_text.count("<tr>") == len(report.findings) + 1


def test_inspect_of_unparseable_model_raises_with_partial_result(models_dir):
    # A model cut in half, with its format forced: the library must say
    # MS_EFORMAT and still hand over the JSON it could read.
    data = (models_dir / "mlp.onnx").read_bytes()
    with pytest.raises(modelstore.ModelStoreError) as info:
        modelstore.inspect(data[: len(data) // 2], format="onnx")
    err = info.value
    assert err.code == modelstore.ErrorCode.EFORMAT
    assert isinstance(err.partial, dict)
    assert err.partial["format"] == "onnx" and "error" in err.partial


# ---- tables -----------------------------------------------------------------------------------------

def test_finding_codes_table():
    table = modelstore.finding_codes()
    assert table
    codes = [c["code"] for c in table]
    assert len(codes) == len(set(codes))
    for c in table:
        assert re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", c["code"]), c
        assert c["severity"] in ("info", "warning", "error")
        assert c["meaning"].strip()
    # Families the headers and README promise.
    for code in ("artifact.empty", "artifact.format.unknown", "zip.member.path_traversal"):
        assert code in codes


def test_formats_table():
    table = modelstore.formats()
    names = [f["name"] for f in table]
    assert len(names) == len(set(names))
    # Every serialzy model data_format (SERIALZY.md section 3) is known.
    for name in ("onnx", "pt", "xgb", "lgbm", "cbm", "catboost_quantized_pool", "tf_keras", "tf_pure"):
        assert name in names
        assert [f for f in table if f["name"] == name][0]["model"] is True
    hdf5 = [f for f in table if f["name"] == "hdf5"]
    assert hdf5 and hdf5[0]["model"] is False
    assert all(isinstance(f["model"], bool) and f["description"].strip() for f in table)


def test_embedded_nul_in_a_path_is_refused(tmp_path):
    (tmp_path / "a").write_bytes(b"x")
    with pytest.raises(ValueError):
        modelstore.inspect(str(tmp_path / "a") + "\0.onnx")
    with pytest.raises(ValueError):
        modelstore.inspect(b"x", display_path="a\0b")


def test_limits_are_accepted_as_keywords():
    info = modelstore.inspect(b"abc", max_members=5, max_member_size=1 << 20, max_header_size=1 << 10,
                              max_depth=8, max_metadata=1 << 20)
    assert info["size"] == 3
