"""modelstore.save / load / open (issue 10): framework objects to and from
serialzy model streams, in Python and in a real Jupyter kernel.

Ground truth: the real frameworks Debian packages (torch, onnx, xgboost
with sklearn) give predictions to compare; for CatBoost, LightGBM,
TensorFlow and Keras, which Debian lacks, the stand-ins in standins/ record
the calls made to them, and the tests compare those with the calls
serialzy's serializers make (lambdazy/serialzy 1.5.1,
serialzy/serializers/*.py). The stream's bytes are checked against
test_pack's json.dumps-built header.

In CI (env CI set) a missing framework or nbclient fails; elsewhere the
tests that need it skip, saying why.
"""
import contextlib
import importlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import uuid
import http.server
import zipfile

import pytest

import modelstore
from modelstore import _display, _notebook
from test_pack import expected_header, expected_tar, model_resource, serialzy_read

HERE = pathlib.Path(__file__).resolve().parent
FRAMEWORKS = ("catboost", "lightgbm", "tensorflow", "keras", "torch", "onnx", "xgboost", "sklearn", "numpy")
TMP_NAME = re.compile(r"tmp[a-z0-9_]{8}$")  # NamedTemporaryFile / mkdtemp names, no extension


def need(module):
    """Imports a framework Debian packages; in CI its absence fails."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if os.environ.get("CI"):
            pytest.fail("CI: %s is not installed (.ci/setup installs it): %s" % (module, e))
        pytest.skip("%s is not installed: %s" % (module, e))


# ---- real frameworks: save -> open/inspect/validate -> load --------------------------------------------

try:  # a module-level class: torch.jit.script reads its source
    import torch as _torch
except ImportError:
    _torch = None

if _torch is not None:
    class TinyNet(_torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = _torch.nn.Linear(4, 3)

        def forward(self, x):
            return _torch.tanh(self.fc(x))


def test_torch_round_trip(tmp_path):
    torch = need("torch")
    torch.manual_seed(0)
    net = TinyNet()
    out = tmp_path / "net.serialzy"
    model = modelstore.save(net, out, name="net", user="ana", notebook="nb.ipynb", description="d", tags=["x"])
    assert isinstance(model, modelstore.Model) and model.format == "pt"
    data = out.read_bytes()
    header, payload = serialzy_read(data)
    written = model.metadata
    assert written == model_resource(payload, "net", "nb.ipynb", "net", "ana", written["created_at"], "d", ["x"])
    assert data == expected_header("pt", __name__ + ".TinyNet", torch.__version__, written) + payload
    # torch.jit.script(obj).save(<NamedTemporaryFile name>): the zip's folder is that name
    with zipfile.ZipFile(out.open("rb")) as z:
        folder = z.namelist()[0].split("/")[0]
    assert TMP_NAME.match(folder), folder
    info = model.inspect()
    assert isinstance(info, dict) and info["serialzy"]["meta"]["user-meta"] == written
    assert model.validate().valid
    back = modelstore.load(out)
    assert back.original_name == "TinyNet"
    x = torch.randn(6, 4)
    assert torch.equal(back(x), net(x))


def _onnx_model(onnx):
    from onnx import TensorProto, helper
    w = helper.make_tensor("W", TensorProto.FLOAT, [2, 2], [1.0, -2.0, 0.5, 3.0])
    graph = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"])], "g",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["n", 2])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["n", 2])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_onnx_round_trip(tmp_path):
    onnx = need("onnx")
    proto = _onnx_model(onnx)
    out = tmp_path / "m.serialzy"
    model = modelstore.save(proto, out, name="mm")
    header, payload = serialzy_read(out.read_bytes())
    assert payload == proto.SerializeToString()  # obj.SerializeToString() into the file
    assert out.read_bytes() == expected_header("onnx", "onnx.onnx_ml_pb2.ModelProto", onnx.__version__,
                                               model.metadata) + payload
    assert model.metadata["variable"] == "proto"
    assert model.inspect()["model"]["graph"]["op_types"] == {"MatMul": 1}
    back = modelstore.load(out)
    # onnx 1.12 has no runtime: the same graph and weights give the same predictions
    assert isinstance(back, onnx.ModelProto) and back == proto


def test_xgboost_round_trip(tmp_path):
    xgboost = need("xgboost")
    need("sklearn")
    np = need("numpy")
    X = np.random.RandomState(3).rand(60, 4)
    y = (X[:, 0] + X[:, 2] > 1).astype(int)
    clf = xgboost.XGBClassifier(n_estimators=4, max_depth=2, n_jobs=1).fit(X, y)
    out = tmp_path / "clf.serialzy"
    model = modelstore.save(clf, out, name="clf")
    data = out.read_bytes()
    _, payload = serialzy_read(data)
    assert data == expected_header("xgb", "xgboost.sklearn.XGBClassifier", xgboost.__version__,
                                   model.metadata) + payload
    if xgboost.__version__.split(".")[:2] < ["2", "1"]:
        assert payload[:4] == b"binf"  # save_model to a path with no extension: legacy binary before 2.1
    info = model.inspect()
    assert info["format"] == "xgb" and info["model"]["num_trees"] == 4
    assert model.validate().valid
    booster = modelstore.load(out)  # as serialzy: an xgboost.Booster
    assert isinstance(booster, xgboost.Booster)
    assert np.array_equal(booster.predict(xgboost.DMatrix(X)), clf.predict_proba(X)[:, 1])


def test_load_checks_the_payload_first(tmp_path):
    onnx = need("onnx")
    proto = _onnx_model(onnx)
    out = tmp_path / "m.serialzy"
    modelstore.save(proto, out, name="m")
    data = bytearray(out.read_bytes())
    data[-3] ^= 0x01
    out.write_bytes(bytes(data))
    with pytest.raises(modelstore.ModelStoreError) as info:
        modelstore.load(out)
    assert info.value.code == modelstore.ErrorCode.EFORMAT
    assert not modelstore.open(out).validate().valid


def test_unsupported_objects_and_arguments(tmp_path):
    with pytest.raises(TypeError, match="torch.nn.Module"):
        modelstore.save({"not": "a model"}, tmp_path / "x", name="x")
    onnx = need("onnx")
    with pytest.raises(TypeError, match="tags"):
        modelstore.save(_onnx_model(onnx), tmp_path / "x", name="x", tags="one")
    assert not (tmp_path / "x").exists()
    modelstore.save(_onnx_model(onnx), tmp_path / "x", name="x")
    with pytest.raises(modelstore.ModelStoreError):  # never replaced unless asked
        modelstore.save(_onnx_model(onnx), tmp_path / "x", name="y")
    assert modelstore.save(_onnx_model(onnx), tmp_path / "x", name="y", overwrite=True).metadata["name"] == "y"
    # a pickle is never loaded
    src = tmp_path / "p.pkl"
    src.write_bytes(b"\x80\x04\x95")
    modelstore.pack(src, tmp_path / "skl", format="skl", name="s")
    with pytest.raises(ValueError, match="unpickle"):
        modelstore.load(tmp_path / "skl")
    assert modelstore.open(tmp_path / "skl").metadata["name"] == "s"


# ---- defaults of the model resource ----------------------------------------------------------------

def test_defaults(tmp_path, monkeypatch):
    onnx = need("onnx")
    import getpass
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ana/work/churn \u00e9.ipynb")
    churn = _onnx_model(onnx)
    m = modelstore.save(churn, tmp_path / "a", name="a")
    assert m.metadata["notebook"] == "/home/ana/work/churn \u00e9.ipynb"
    assert m.metadata["variable"] == "churn"
    assert m.metadata["user"] == getpass.getuser()
    _hidden = alias = churn  # noqa: F841 two public names: no variable
    assert modelstore.save(churn, tmp_path / "b", name="b").metadata["variable"] is None
    del alias
    _ = churn  # IPython's _ and _N hold displayed results: they are not names
    assert modelstore.save(churn, tmp_path / "c", name="c").metadata["variable"] == "churn"
    explicit = modelstore.save(churn, tmp_path / "d", name="d", variable="v", user="u", notebook="n")
    assert (explicit.metadata["variable"], explicit.metadata["user"], explicit.metadata["notebook"]) == \
        ("v", "u", "n")
    monkeypatch.delenv("JPY_SESSION_NAME")
    assert _notebook.default_notebook() is None  # not in a kernel


@contextlib.contextmanager
def sessions_server(sessions, token):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/api/sessions" or self.headers.get("Authorization") != "token " + token:
                self.send_response(403)
                self.end_headers()
                return
            body = json.dumps(sessions).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d/" % server.server_port
    finally:
        server.shutdown()
        server.server_close()


def test_notebook_from_jupyter_server_sessions(tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    sessions = [{"path": "other.ipynb", "kernel": {"id": "k0"}},
                {"path": "dir/mine.ipynb", "kernel": {"id": "k1"}}]
    with sessions_server(sessions, "s3cret") as url:
        # a stale server file and one with a wrong token are passed over
        (runtime / "jpserver-1.json").write_text(json.dumps({"url": "http://127.0.0.1:9/", "token": "x"}))
        (runtime / "jpserver-2.json").write_text(json.dumps({"url": url, "token": "wrong"}))
        assert _notebook.notebook_from_servers("k1", [str(runtime)]) is None
        (runtime / "jpserver-3.json").write_text(json.dumps({"url": url, "token": "s3cret"}))
        assert _notebook.notebook_from_servers("k1", [str(runtime)]) == "dir/mine.ipynb"
        assert _notebook.notebook_from_servers("k9", [str(runtime)]) is None


# ---- HTML and progress -------------------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script>&<img src=x onerror=alert(1)>'


def test_html_is_escaped(tmp_path):
    src = tmp_path / "m.onnx"
    src.write_bytes(b"\x08\x07\x12\x00")
    out = tmp_path / "s"
    modelstore.pack(src, out, format="onnx", name=HOSTILE, description=HOSTILE, tags=[HOSTILE])
    model = modelstore.open(out)
    report = model.validate()
    for obj in (model, model.inspect(), report):
        text = obj._repr_html_()
        assert "<script" not in text and "<img" not in text, text
        assert "<table" in text
        assert "&lt;script&gt;" in text or obj is report
    hostile_report = modelstore.validate(out.read_bytes(), display_path=HOSTILE)
    assert "<img" not in hostile_report._repr_html_()
    assert "&lt;img" in hostile_report._repr_html_()
    # long values are cut, nested values become tables
    long = _display.html_value({"members": list(range(500)), "s": "y" * 5000, "rows": [{"a": 1}, {"b": "<b>"}]})
    assert "400 more" in long and "5000 characters" in long and "&lt;b&gt;" in long


def test_progress_after_a_second(tmp_path, monkeypatch, capsys):
    src = tmp_path / "big"
    src.write_bytes(os.urandom(3 << 20))
    out = tmp_path / "s"
    modelstore.pack(src, out, format="onnx", name="big")
    model = modelstore.open(out)
    model.validate()
    assert capsys.readouterr().err == ""  # fast: nothing shown
    monkeypatch.setattr(_display, "PROGRESS_AFTER", 0.0)
    model.validate()
    err = capsys.readouterr().err
    assert err.startswith("\rvalidating s: ") and "%" in err, repr(err)
    assert re.search(r"\rvalidating s: done \(0 s\) *\n$", err), repr(err)
    seen = []
    model.validate(progress=lambda done, total: seen.append(done))  # a callable replaces the display
    assert seen and capsys.readouterr().err == ""


# ---- no framework: open works, load names the package ---------------------------------------------------

NO_FRAMEWORKS = r"""
import importlib.abc, json, sys
BLOCKED = set(sys.argv[2].split(","))
ATTEMPTED = []
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            ATTEMPTED.append(name)
            raise ModuleNotFoundError("No module named %r" % name, name=name)
sys.meta_path.insert(0, Block())
import modelstore
m = modelstore.open(sys.argv[1])
report = m.validate()
out = {"metadata": m.metadata, "format": m.format, "valid": report.valid,
       "findings": [f.code for f in report.findings], "inspect_format": m.inspect()["format"],
       "html": "<table" in m._repr_html_() and "<table" in m.inspect()._repr_html_()}
try:
    modelstore.load(sys.argv[1])
except modelstore.FrameworkNotInstalled as e:
    out["error"] = str(e)
    out["is_import_error"] = isinstance(e, ImportError)
out["attempted"] = ATTEMPTED
out["imported"] = sorted(n for n in sys.modules if n.split(".")[0] in BLOCKED | {"IPython"})
print(json.dumps(out))
"""


def _other_pythons():
    found = [sys.executable]
    for candidate in sorted(pathlib.Path(os.path.expanduser("~/.pyenv/versions")).glob("3.8*/bin/python3")):
        found.append(str(candidate))  # the oldest CPython the binding supports, when this machine has it
    return found


@pytest.mark.parametrize("python", _other_pythons())
def test_open_without_frameworks(tmp_path, python, models_dir):
    out = tmp_path / "s"
    modelstore.pack(models_dir / "script_mlp.pt", out, format="pt", name="mlp", user="ana")
    proc = subprocess.run([python, "-c", NO_FRAMEWORKS, str(out), ",".join(FRAMEWORKS)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout)
    assert result["metadata"]["name"] == "mlp" and result["metadata"]["user"] == "ana"
    assert result["format"] == result["inspect_format"] == "pt"
    assert result["valid"] and result["html"]
    assert result["imported"] == []
    assert result["attempted"] == ["torch"]  # by load() only
    assert result["is_import_error"]
    assert "'torch'" in result["error"] and "python3-torch" in result["error"] and "pip install torch" in \
        result["error"]


# ---- stand-ins: CatBoost, LightGBM, TensorFlow, Keras ------------------------------------------------------

STANDIN_MODULES = ("catboost", "lightgbm", "tensorflow", "keras", "standin_calls")


@pytest.fixture
def standins(tmp_path, monkeypatch):
    """The stand-in packages first on sys.path (from a copy in tmp), and
    gone from sys.modules afterwards; yields standin_calls."""
    root = tmp_path / "standins"
    shutil.copytree(HERE / "standins", root)
    monkeypatch.syspath_prepend(str(root))
    saved = {n: m for n, m in sys.modules.items() if n.split(".")[0] in STANDIN_MODULES}
    for name in saved:
        del sys.modules[name]
    calls = importlib.import_module("standin_calls")
    try:
        yield calls
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] in STANDIN_MODULES]:
            del sys.modules[name]
        sys.modules.update(saved)


def _check_stream(out, model, data_format, type_name, version, payload):
    data = out.read_bytes()
    header, got = serialzy_read(data)
    assert got == payload
    assert model.metadata == model_resource(payload, "m", "nb", "v", "u", model.metadata["created_at"])
    assert data == expected_header(data_format, type_name, version, model.metadata) + payload
    assert header["data_format"] == data_format


def _save(obj, out):
    return modelstore.save(obj, out, name="m", notebook="nb", variable="v", user="u")


def _tmp_path_arg(call, index=0):
    """The path a recorded save got: a tmpXXXXXXXX name with no extension
    (serialzy's NamedTemporaryFile or mkdtemp), removed once save() returned."""
    path = call[1][index]
    assert TMP_NAME.match(os.path.basename(path)), path
    assert not os.path.exists(path)


def test_standin_catboost(tmp_path, standins):
    import catboost
    from catboost import core
    for cls in (catboost.CatBoostClassifier, catboost.CatBoostRegressor, catboost.CatBoostRanker):
        obj = cls()
        del standins.CALLS[:]
        out = tmp_path / cls.__name__
        model = _save(obj, out)
        # serialzy: obj.save_model(<tmp>, format="cbm")
        [call] = standins.CALLS
        assert call[0] == "save_model" and len(call[1]) == 1 and call[2] == {"format": "cbm"}
        _tmp_path_arg(call)
        _check_stream(out, model, "cbm", "catboost.core." + cls.__name__, "1.2.2",
                      core.CBM + cls.__name__.encode())
        # serialzy: schema_type().load_model(<file>, format="cbm"), the type from the header
        del standins.CALLS[:]
        back = modelstore.load(out)
        assert type(back) is cls and back.loaded == core.CBM + cls.__name__.encode()
        assert [c[0] for c in standins.CALLS] == ["catboost." + cls.__name__, "load_model"]
        assert standins.CALLS[0][1:] == ((), {}) and standins.CALLS[1][2] == {"format": "cbm"}
    # the base class is not a serialzy cbm type (it goes to cloudpickle there)
    with pytest.raises(TypeError):
        _save(catboost.CatBoost(), tmp_path / "base")


def test_standin_catboost_pool(tmp_path, standins):
    import catboost
    from catboost import core
    pool = catboost.Pool([[1.0]])
    with pytest.raises(ValueError, match="quantized"):
        _save(pool, tmp_path / "raw")
    assert not (tmp_path / "raw").exists()  # serialzy writes the header first; we write nothing
    pool.quantize()
    del standins.CALLS[:]
    model = _save(pool, tmp_path / "pool")
    # serialzy: obj.is_quantized(), then obj.save(<tmp>)
    assert [c[0] for c in standins.CALLS] == ["is_quantized", "save"]
    assert len(standins.CALLS[1][1]) == 1 and standins.CALLS[1][2] == {}
    _tmp_path_arg(standins.CALLS[1])
    _check_stream(tmp_path / "pool", model, "catboost_quantized_pool", "catboost.core.Pool", "1.2.2", core.POOL)
    del standins.CALLS[:]
    back = modelstore.load(tmp_path / "pool")  # serialzy: catboost.Pool("quantized://" + <file>)
    [call] = standins.CALLS
    assert call[0] == "catboost.Pool" and call[1][0].startswith("quantized://") and len(call[1]) == 1
    assert call[2] == {} and back.loaded == core.POOL


def test_standin_lightgbm(tmp_path, standins):
    import lightgbm
    from lightgbm import basic
    for cls in (lightgbm.LGBMClassifier, lightgbm.LGBMRegressor, lightgbm.LGBMRanker):
        obj = cls()
        del standins.CALLS[:]
        out = tmp_path / cls.__name__
        model = _save(obj, out)
        [call] = standins.CALLS  # serialzy: obj.booster_.save_model(<tmp>)
        assert call[0] == "booster_.save_model" and len(call[1]) == 1 and call[2] == {}
        _tmp_path_arg(call)
        _check_stream(out, model, "lgbm", "lightgbm.sklearn." + cls.__name__, "3.3.5", basic.MODEL)
        del standins.CALLS[:]
        back = modelstore.load(out)  # serialzy: lightgbm.Booster(model_file=<file>), a Booster
        assert type(back) is basic.Booster and back.loaded == basic.MODEL
        [call] = standins.CALLS
        assert call[1] == () and list(call[2]) == ["model_file"]
    with pytest.raises(TypeError):
        _save(basic.Booster(), tmp_path / "booster")  # a Booster is cloudpickled by serialzy


def test_standin_tensorflow_and_keras(tmp_path, standins, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    import tensorflow as tf

    class MyKeras(tf.keras.Model):
        pass

    class Adder(tf.Module):
        pass

    cases = [
        (tf.keras.Sequential(), "tf_keras", "keras.engine.sequential.Sequential", "2.12.0",
         "tf.keras.models.save_model", {"save_format": "tf"}),
        (MyKeras(), "tf_keras", __name__ + ".MyKeras", "2.12.0", "tf.keras.models.save_model",
         {"save_format": "tf"}),
        (Adder(), "tf_pure", __name__ + ".Adder", "2.12.1", "tf.saved_model.save", {}),
        (tf.train.Checkpoint(), "tf_pure", "tensorflow.python.checkpoint.checkpoint.Checkpoint", "2.12.1",
         "tf.saved_model.save", {}),
    ]
    for i, (obj, data_format, type_name, version, call_name, kwargs) in enumerate(cases):
        del standins.CALLS[:]
        out = tmp_path / ("s%d" % i)
        model = _save(obj, out)
        # serialzy: tf.keras.models.save_model(obj, <mkdtemp>, save_format='tf') /
        # tf.saved_model.save(obj, <mkdtemp>), then a tar of the directory
        [call] = standins.CALLS
        assert call[0] == call_name and call[1][0] is obj and len(call[1]) == 2 and call[2] == kwargs
        _tmp_path_arg(call, 1)
        expected_dir = tmp_path / ("dir%d" % i)
        standins.write_savedmodel(str(expected_dir), keras=data_format == "tf_keras")
        _check_stream(out, model, data_format, type_name, version, expected_tar(expected_dir))
        del standins.CALLS[:]
        back = modelstore.load(out)
        [call] = standins.CALLS
        loader = "tf.keras.models.load_model" if data_format == "tf_keras" else "tf.saved_model.load"
        assert call[0] == loader and len(call[1]) == 1 and call[2] == {}
        assert back.files == standins.read_tree(str(expected_dir))
    # an object tf.saved_model.load revived: serialzy names no class, ms_pack cannot say that
    with pytest.raises(TypeError, match="revived"):
        _save(back, tmp_path / "revived")


def test_missing_framework_is_named(tmp_path, standins, monkeypatch):
    import catboost
    _save(catboost.CatBoostClassifier(), tmp_path / "cbm")
    for name in [n for n in sys.modules if n.split(".")[0] == "catboost"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "standins" not in p])
    with pytest.raises(modelstore.FrameworkNotInstalled) as info:
        modelstore.load(tmp_path / "cbm")
    assert info.value.module == "catboost" and "pip install catboost" in str(info.value)
    assert modelstore.open(tmp_path / "cbm").metadata["name"] == "m"


# ---- a real kernel (nbclient + ipykernel) ----------------------------------------------------------------

NOTEBOOK_CELLS = [
    """
    import getpass, http.server, json, os, threading
    import numpy as np, onnx, torch, xgboost
    import modelstore
    from modelstore import _display, _notebook
    """,
    """
    class Net(torch.nn.Module):  # defined in the notebook: __main__.Net
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 3)

        def forward(self, x):
            return torch.tanh(self.fc(x)) * 2

    torch.manual_seed(0)
    net = Net()
    net  # displayed: IPython's _ and _N now hold it too
    """,
    """
    saved = modelstore.save(net, "net.serialzy", name="net", description="<script>alert(1)</script>")
    saved
    """,
    """
    assert saved.metadata["notebook"] == os.environ["JPY_SESSION_NAME"] == "work/demo.ipynb", saved.metadata
    assert saved.metadata["variable"] == "net", saved.metadata
    assert saved.metadata["user"] == getpass.getuser(), saved.metadata
    assert saved.header["schema_content"] == {"module": "__main__", "name": "Net"}
    back = modelstore.load("net.serialzy")  # serialzy could not import __main__.Net
    x = torch.randn(5, 4)
    assert torch.equal(back(x), net(x))
    """,
    """
    X = np.random.RandomState(1).rand(80, 4)
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    clf = xgboost.XGBClassifier(n_estimators=4, max_depth=2, n_jobs=1).fit(X, y)
    assert modelstore.save(clf, "clf.serialzy", name="clf").metadata["variable"] == "clf"
    booster = modelstore.load("clf.serialzy")
    assert np.array_equal(booster.predict(xgboost.DMatrix(X)), clf.predict_proba(X)[:, 1])
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node("Relu", ["X"], ["Y"])], "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])])
    relu = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    modelstore.save(relu, "relu.serialzy", name="relu")
    assert modelstore.load("relu.serialzy") == relu
    """,
    """
    info = saved.inspect()
    info
    """,
    """
    report = saved.validate()
    assert report.valid
    report
    """,
    """
    _display.PROGRESS_AFTER = 0.0
    saved.validate();
    _display.PROGRESS_AFTER = 1.0
    """,
    """
    # no JPY_SESSION_NAME: the Jupyter server's sessions name the notebook
    kernel = _notebook._kernel_id()
    assert kernel == os.environ["MS_TEST_KERNEL_ID"], kernel

    class Sessions(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps([{"path": "from-server.ipynb", "kernel": {"id": kernel}}]).encode()
            self.send_response(200 if self.headers.get("Authorization") == "token t0k" else 403)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Sessions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.makedirs("runtime")
    with open("runtime/jpserver-1.json", "w") as f:
        json.dump({"url": "http://127.0.0.1:%d/" % server.server_port, "token": "t0k"}, f)
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.abspath("runtime")
    del os.environ["JPY_SESSION_NAME"]
    assert modelstore.save(net, "net2.serialzy", name="n").metadata["notebook"] == "from-server.ipynb"
    server.shutdown()
    """,
]


def _notebook_modules():
    try:
        import nbclient
        import nbformat
        return nbclient, nbformat
    except ImportError as e:
        if os.environ.get("CI"):
            pytest.fail("CI: nbclient/ipykernel missing (.ci/setup installs python3-nbclient "
                        "python3-ipykernel): %s" % e)
        pytest.skip("nbclient is not installed: %s" % e)


def _outputs_text(cell):
    out = []
    for o in cell.get("outputs", []):
        out.append(o.get("text", ""))
        for value in (o.get("data") or {}).values():
            out.append(value if isinstance(value, str) else json.dumps(value))
    return "\n".join(out)


def test_in_a_real_kernel(tmp_path, monkeypatch):
    nbclient, nbformat = _notebook_modules()
    for module in ("ipykernel", "torch", "onnx", "xgboost", "sklearn"):
        need(module)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(src).strip()) for src in NOTEBOOK_CELLS]
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, str(path))  # the fixture, written at test time
    # jupyter-server sets JPY_SESSION_NAME for its kernels; nbclient does not
    monkeypatch.setenv("JPY_SESSION_NAME", "work/demo.ipynb")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiets ipykernel's debugger
    monkeypatch.delenv("JUPYTER_RUNTIME_DIR", raising=False)
    # jupyter-server names a kernel's connection file kernel-<kernel id>.json
    # (nbclient's own choice is a random tmpXXXX.json)
    from jupyter_client.manager import KernelManager
    kernel_id = str(uuid.uuid4())
    monkeypatch.setenv("MS_TEST_KERNEL_ID", kernel_id)
    km = KernelManager(kernel_name="python3", connection_file=str(tmp_path / ("kernel-%s.json" % kernel_id)))
    client = nbclient.NotebookClient(nbformat.read(str(path), as_version=4), km=km, timeout=300,
                                     resources={"metadata": {"path": str(tmp_path)}})
    executed = client.execute()
    cells = executed.cells
    model_html = cells[2].outputs[0]["data"]["text/html"]
    assert "<table" in model_html and "&lt;script&gt;" in model_html and "<script" not in model_html
    assert ">net<" in model_html
    assert "<table" in cells[5].outputs[0]["data"]["text/html"]
    assert "serialzy" in cells[5].outputs[0]["data"]["text/html"]
    assert "valid" in cells[6].outputs[0]["data"]["text/html"]
    progress = _outputs_text(cells[7])
    assert "validating net.serialzy: done" in progress, cells[7].outputs
    assert [o for o in cells[7].outputs if o["output_type"] == "display_data"]
