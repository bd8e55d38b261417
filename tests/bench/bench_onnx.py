#!/usr/bin/python3
"""ONNX: inspect + validate side by side with Debian's python3-onnx.

    /usr/bin/python3 tests/bench/bench_onnx.py BUILD_DIR [WORK_DIR]

Inputs, written with numpy and onnx.helper only (no corpus) into WORK_DIR
(default /tmp/modelstore-bench-onnx) and reused when present; delete the
directory to regenerate them:

  matmul_1g.onnx        16 MatMul initializers 4096x4096 float32 as inline
                        raw_data (1 GiB), a chain x[N,4096] -> MatMul W0 ->
                        MatMul W1 ... -> y, opset 13. Streamed to disk one
                        64 MiB matrix at a time, in the field order onnx.save
                        uses (the writer is checked byte for byte against
                        SerializeToString on a small model first).
  matmul_1g_ext.onnx    the same graph with the same weights as external data
  matmul_1g_ext.bin     (one .bin file, the 16 matrices back to back).
  chain_200k.onnx       a 200,000-node chain (Relu/Add/Identity, Add with one
                        of 16 [64] float initializers), ~7.2 MB.

Sides, each timed the same way unless said otherwise: IN-PROCESS, around
the call only, in a fresh /usr/bin/python3 that has already imported its
module (so interpreter start-up and `import onnx` are not in the time); each
child makes the call twice (the result dropped and collected in between,
outside the timer) and the best of RUNS children x 2 calls is kept. The
file is read once beforehand so the page cache is warm for every side.

  onnx      onnx.load(path) + onnx.checker.check_model(model) -- the
            in-memory form (the path form rewrites the file in onnx 1.12);
            load_external_data=True for the external-data model. RUNS: 3
            (1 GiB) or 5.
  lib       what the goals judge: one handle, both verbs --
            `with modelstore.Artifact(path) as a: a.inspect(); a.validate()`
            through the ctypes binding, the C report and JSON turned into
            Python objects. Like onnx.load followed by check_model on the
            loaded model, the handle reads the model once for both verbs.
            RUNS as for onnx.
  lib x2    modelstore.inspect(path) + modelstore.validate(path): two
            handles, the file opened and read twice (shown, not judged).
  CLI       `modelstore inspect FILE` then `modelstore validate FILE`, two
            processes (output to /dev/null), timed WHOLE from the parent:
            fork + exec + dynamic linking included, best of 5 of the sum
            (time shown, not judged). Then one run of each verb under
            /usr/bin/time: the larger peak RSS is the one the RSS goals
            judge (a Python child's peak is mostly the interpreter's).

Peak RSS is the child's maxrss as /usr/bin/time reports it (the largest over
the runs; file pages it mapped included); for the Python children it
includes the interpreter and, for onnx, the ~50 MB `import onnx`.

Goals (issue #3), against onnx on the same machine in the same run:
  1 GiB inline model   inspect + validate >= 100x faster, peak RSS <= 64 MiB
  200k-node graph      >= 10x faster, peak RSS <= 100 MB
The external-data line is informational (no goal of its own; the 1 GiB goals
are printed next to it for comparison).

Reading the result: one row per (file, side). "onnx" is onnx's time, "ours"
ours, "ratio" onnx/ours (higher is better); the RSS columns are each side's
peak. PASS/MISS: the lib row's ratio against the time goal, the CLI row's
peak RSS against the memory goal; the other columns are shown. The line under each file says what our side saw (format, valid,
findings, node count when the reader reports one): while the ONNX reader
only sniffs, ours never walks the graph and the ratios mean nothing. Two
shared cores make the numbers noisy: run with the machine idle (the load
average is printed first) and compare ratios, not absolute times, between
machines. A benchmark, not a test: it exits 0 whether the goals are met or not.
"""
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from benchutil import TIMED_CALLS, reference_children, run_child

build = Path(sys.argv[1]).resolve()
work = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/modelstore-bench-onnx")
work.mkdir(parents=True, exist_ok=True)
root = Path(__file__).resolve().parents[2]
LIB = build / "lib" / "libmodelstore.so"
CLI = build / "examples" / "modelstore"
PY = "/usr/bin/python3"
os.environ.setdefault("MODELSTORE_LIBRARY", str(LIB))
sys.path.insert(0, str(root / "bindings" / "python"))
sys.path.insert(0, str(root / "tests" / "fixtures"))
from pbwire import varint  # noqa: E402 (the fixture writers' protobuf varints)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(root / "bindings" / "python")] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])

LAYERS, DIM = 16, 4096       # 16 x 4096 x 4096 x 4 bytes = 1 GiB
CHAIN_NODES, CHAIN_DIM, CHAIN_BIAS = 200_000, 64, 16


# ---- generating the inputs -------------------------------------------------------------

def field(number, length):
    """The key and length prefix of a length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(length)


def matmul_graph(layers, dim, initializers):
    from onnx import TensorProto, helper
    nodes = [helper.make_node("MatMul", ["x" if i == 0 else "h%d" % i, "W%d" % i],
                              ["y" if i == layers - 1 else "h%d" % (i + 1)], name="matmul%d" % i)
             for i in range(layers)]
    return helper.make_graph(nodes, "matmul_chain",
                             [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", dim])],
                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", dim])],
                             initializer=initializers)


def make_model(graph):
    from onnx import helper
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="modelstore-bench")


def matrix(i, dim):
    import numpy as np
    w = np.random.default_rng(i).standard_normal((dim, dim), dtype=np.float32)
    w *= 1.0 / dim ** 0.5
    return w.astype("<f4", copy=False)


def weight_header(i, dim):
    """W<i>'s TensorProto without its data (dims, data_type, name)."""
    from onnx import TensorProto
    return TensorProto(dims=[dim, dim], data_type=TensorProto.FLOAT, name="W%d" % i)


def write_inline_model(f, layers, dim, weights):
    """Writes the MatMul chain with inline raw_data to the open file f without
    holding more than one matrix, in the order onnx.save writes the fields:
    ModelProto 1-6, graph (7: GraphProto node, name, initializer 5 (TensorProto
    dims, data_type, name, raw_data 9), input, output), then 8 (opset_import)."""
    from onnx import GraphProto, ModelProto
    graph = matmul_graph(layers, dim, [])
    model = make_model(graph)
    nbytes = dim * dim * 4
    heads = [weight_header(i, dim).SerializeToString() for i in range(layers)]
    tensors = [h + field(9, nbytes) for h in heads]
    g_nodes = GraphProto(node=graph.node, name=graph.name).SerializeToString()
    g_io = GraphProto(input=graph.input, output=graph.output).SerializeToString()
    g_len = len(g_nodes) + sum(len(field(5, len(t) + nbytes)) + len(t) + nbytes for t in tensors) + len(g_io)
    m_head = ModelProto()
    m_head.CopyFrom(model)
    m_head.ClearField("graph")
    m_head.ClearField("opset_import")
    f.write(m_head.SerializeToString())
    f.write(field(7, g_len))
    f.write(g_nodes)
    for i, t in enumerate(tensors):
        f.write(field(5, len(t) + nbytes))
        f.write(t)
        f.write(memoryview(weights(i)).cast("B"))
    f.write(g_io)
    f.write(ModelProto(opset_import=model.opset_import).SerializeToString())


def check_writer():
    """The streamed writer gives onnx.save's bytes (a 4-layer 32x32 model)."""
    import io
    from onnx import numpy_helper
    buf = io.BytesIO()
    write_inline_model(buf, 4, 32, lambda i: matrix(i, 32))
    ref = make_model(matmul_graph(4, 32, [numpy_helper.from_array(matrix(i, 32), "W%d" % i) for i in range(4)]))
    assert buf.getvalue() == ref.SerializeToString(), "streamed ONNX writer differs from SerializeToString"


def onnx_check_child(path, external=False):
    """onnx.checker in memory, in a child (a 1 GiB model costs ~3 GB there)."""
    code = ("import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1], load_external_data=%s))"
            % external)
    subprocess.run([PY, "-c", code, str(path)], check=True)


def matmul_models():
    inline, ext, ext_bin = work / "matmul_1g.onnx", work / "matmul_1g_ext.onnx", work / "matmul_1g_ext.bin"
    if inline.exists() and ext.exists() and ext_bin.exists():
        return inline, ext
    from onnx import TensorProto
    check_writer()
    print("writing %s and %s (1 GiB each) ..." % (inline.name, ext_bin.name), flush=True)
    nbytes = DIM * DIM * 4
    tmp_inline, tmp_bin = inline.with_suffix(".tmp"), ext_bin.with_suffix(".tmp")
    with open(tmp_inline, "wb") as fi, open(tmp_bin, "wb") as fb:
        def weights(i):
            w = matrix(i, DIM)
            fb.write(memoryview(w).cast("B"))
            return w
        write_inline_model(fi, LAYERS, DIM, weights)
    inits = []
    for i in range(LAYERS):
        t = weight_header(i, DIM)
        for key, value in (("location", ext_bin.name), ("offset", i * nbytes), ("length", nbytes)):
            t.external_data.add(key=key, value=str(value))  # as external_data_helper writes them
        t.data_location = TensorProto.EXTERNAL
        inits.append(t)
    ext.with_suffix(".tmp2").write_bytes(make_model(matmul_graph(LAYERS, DIM, inits)).SerializeToString())
    os.replace(tmp_bin, ext_bin)
    onnx_check_child(tmp_inline)
    onnx_check_child(ext.with_suffix(".tmp2"), external=True)
    os.replace(tmp_inline, inline)
    os.replace(ext.with_suffix(".tmp2"), ext)
    return inline, ext


def chain_model():
    path = work / "chain_200k.onnx"
    if path.exists():
        return path
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    print("writing %s ..." % path.name, flush=True)
    ops = ("Relu", "Add", "Identity")
    nodes = []
    for i in range(CHAIN_NODES):
        op = ops[i % 3]
        src = "x" if i == 0 else "t%d" % i
        dst = "y" if i == CHAIN_NODES - 1 else "t%d" % (i + 1)
        inputs = [src, "b%d" % (i % CHAIN_BIAS)] if op == "Add" else [src]
        nodes.append(helper.make_node(op, inputs, [dst], name="n%d" % i))
    rng = np.random.default_rng(0)
    biases = [numpy_helper.from_array(rng.standard_normal(CHAIN_DIM, dtype=np.float32), "b%d" % k)
              for k in range(CHAIN_BIAS)]
    graph = helper.make_graph(nodes, "chain",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", CHAIN_DIM])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", CHAIN_DIM])],
                              initializer=biases)
    model = make_model(graph)
    onnx.checker.check_model(model)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(model.SerializeToString())
    os.replace(tmp, path)
    return path


# ---- measuring ---------------------------------------------------------------------------

def warm(*paths):
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


ONNX_CHILD = r"""
import sys
import onnx
path, external, calls = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])


def call(p):
    model = onnx.load(p, load_external_data=external)
    onnx.checker.check_model(model)
    return model


def facts(model):
    return {"nodes": len(model.graph.node)}
""" + TIMED_CALLS

LIB_CHILD = r"""
import sys
import modelstore
path, handles, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])


def call(p):
    if handles == "one":
        with modelstore.Artifact(p) as a:
            return a.inspect(), a.validate()
    return modelstore.inspect(p), modelstore.validate(p)


def facts(r):
    return {"nodes": r[0]["model"]["graph"]["node_count"], "valid": r[1].valid}
""" + TIMED_CALLS


def side_children(script, path, runs, *args):
    """Best time over `runs` children of 2 timed calls each, largest peak RSS,
    what the last child saw."""
    got = reference_children([PY, "-c", script, path, *args, 2], runs, "child", Path(path))
    if got is None:
        raise SystemExit("a timed child failed on %s" % path)
    times, rss, saw = got
    return min(times), rss, saw


def side_cli(path, n=5):
    """Best of n of inspect + validate, run directly (so /usr/bin/time's own
    exec is not in the time); the peak RSS from one more run of each verb."""
    times = []
    for _ in range(n):
        total = 0.0
        for verb in ("inspect", "validate"):
            wall, _, err, rc, _ = run_child([CLI, verb, path], stdout=False, rss=False)
            if rc not in (0, 1):
                raise SystemExit("modelstore %s %s: exit %d\n%s" % (verb, path, rc, err.decode(errors="replace")))
            total += wall
        times.append(total)
    rss = max(run_child([CLI, verb, path], stdout=False)[4] for verb in ("inspect", "validate"))
    return min(times), rss


def what_we_saw(path):
    """One line on what our side read: format, validity, findings, graph facts."""
    import modelstore
    try:
        info = modelstore.inspect(str(path))
    except modelstore.ModelStoreError as e:
        info = getattr(e, "partial", None) or {"error": str(e)}
    r = modelstore.validate(str(path))
    model = info.get("model") or {}
    facts = {k: v for k, v in model.items() if not isinstance(v, (dict, list)) and v not in ("", 0)}
    graph = model.get("graph") if isinstance(model.get("graph"), dict) else {}
    facts.update(("graph." + k, v) for k, v in graph.items() if k.endswith("count") and v)
    counts = {k: len(info[k]) for k in ("inputs", "outputs", "parameters") if isinstance(info.get(k), list)}
    codes = sorted({f.code for f in r.findings})
    return "ours saw: format=%s valid=%s findings=%d%s model=%s%s" % (
        info.get("format"), r.valid, len(r.findings), " %s" % codes[:5] if codes else "",
        json.dumps(facts, separators=(",", ":"))[:300], " %s" % counts if counts else "")


def main():
    for f in (LIB, CLI):
        if not f.exists():
            raise SystemExit("%s: not built (meson compile -C %s)" % (f, build))
    load = os.getloadavg()
    print("load average %.2f %.2f %.2f, %d CPUs; onnx %s" % (
        *load, os.cpu_count(),
        subprocess.run([PY, "-c", "import onnx; print(onnx.__version__)"], capture_output=True,
                       text=True).stdout.strip()))
    inline, ext = matmul_models()
    chain = chain_model()
    cases = [
        # (label, model file, files to warm, external, onnx runs, time goal, RSS goal in bytes, its label)
        ("1 GiB inline", inline, [inline], False, 3, 100, 64 << 20, "64 MiB"),
        ("1 GiB external", ext, [ext, ext.with_suffix(".bin")], True, 3, 100, 64 << 20, "64 MiB"),
        ("200k nodes", chain, [chain], False, 5, 10, 100_000_000, "100 MB"),
    ]
    print("\n%-16s %-9s %10s %10s %8s %10s %10s  %s" % (
        "model", "side", "onnx", "ours", "ratio", "onnx RSS", "our RSS", "goal"))
    ok = True
    for label, path, files, external, n, goal_x, goal_rss, rss_label in cases:
        size = sum(p.stat().st_size for p in files)
        warm(*files)
        fw, fw_rss, fw_saw = side_children(ONNX_CHILD, path, n, "1" if external else "0")
        rows = []
        for side in ("lib", "lib x2"):
            warm(*files)
            us, us_rss, saw = side_children(LIB_CHILD, path, n, "one" if side == "lib" else "two")
            if side == "lib":
                lib_saw = saw
            met = fw / us >= goal_x
            rows.append((side, us, us_rss, ">= %dx: %s" % (goal_x, "PASS" if met else "MISS") if side == "lib"
                         else "(shown)", met if side == "lib" else True))
        warm(*files)
        us, us_rss = side_cli(path)
        met = us_rss <= goal_rss
        rows.append(("CLI", us, us_rss, "<= %s: %s (time shown)" % (rss_label, "PASS" if met else "MISS"), met))
        for i, (side, us, us_rss, verdict, met) in enumerate(rows):
            if not external:
                ok = ok and met
            print("%-16s %-9s %9.3fs %9.4fs %7.1fx %8.1fMB %8.1fMB  %s%s" % (
                label if i == 0 else "", side, fw, us, fw / us, fw_rss / 1e6, us_rss / 1e6, verdict,
                " (info)" if external and "shown" not in verdict else ""))
        print("%-16s (%.1f MB) onnx saw %s, lib saw %s" % ("", size / 1e6, json.dumps(fw_saw), json.dumps(lib_saw)))
        print("%-16s %s" % ("", what_we_saw(path)))
    print("\ngoals met" if ok else "\ngoals NOT all met")
    print("(load average now %.2f %.2f %.2f; this process's peak RSS %.1f MB)" % (
        *os.getloadavg(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3))


if __name__ == "__main__":
    main()
