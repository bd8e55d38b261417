"""The TensorFlow SavedModel reader (`tf_pure`, and Keras 2 SavedModels as
`tf_keras`) against the fixtures gen_tf_savedmodel.py writes
(FIXTURES/tf_savedmodel/manifest.json).

Ground truth is the manifest: facts the generator computed from the
messages it encoded with Google's protobuf runtime and the tensors it wrote
with tf_ckpt_writer.write_bundle, and for each broken case the exact set of
error codes its one defect must give. Nothing here comes from the library's
own output.

- positives: `modelstore inspect --json` reports the manifest's `model`
  facts (kind, versions, tags per meta graph, signatures with dtype / shape
  / tensor, node_count, op_types over graph + library, function_count,
  variables from the bundle, fingerprint, assets, object graph, keras
  metadata) and root keys (parameters, inputs / outputs of
  serving_default); `validate` finds no error, exactly the expected
  warnings, and at least the expected infos; also through the binding,
  from a path and, for single-file fixtures, from memory;
- negatives: `validate` reports exactly the expected set of error codes
  (and warnings where the manifest gives them), valid false, exit 1; the
  structurally intact ones still inspect with the graph facts;
- every fixture, and cuts and byte flips of a few: inspect and validate end
  by exit 0 or 1 (never a signal), print JSON, in less than SECONDS.

Comparison rules (the plan's JSON, /tmp/tf_plan.md): a list fact the
writer knows to be empty ([]) may also be absent; a signature entry must
have name, dtype, shape as written and `tensor` exactly when the TensorInfo
is dense (extra keys are allowed); fingerprint.version is the VersionDef's
producer (an integer, or an object holding it as `producer`).
"""
import os
import shutil
import subprocess
import tempfile

import pytest

import modelstore
from ms_testutil import FixtureSet, brief, check_verdict, findings_of, inspected, run_json_within

SM = FixtureSet("tf_savedmodel", key="path")
MANIFEST = SM.manifest
entries, need, by_path = SM.params, SM.need, SM.entry
# Per CLI run. The 64 MiB Const fixture is a sparse file the reader must
# skip, not read; everything else is a few KiB.
SECONDS = 5.0

POSITIVE = entries(lambda e: e["valid"])
NEGATIVE = entries(lambda e: not e["valid"])
ALL = entries()
# Negatives whose graph is intact: the graph facts are still reported.
GRAPH_FACT_KEYS = ("kind", "tags", "node_count", "op_types", "function_count")


def run_json(cli, *args):
    return run_json_within(SECONDS, cli, *args)


# ---- comparing ------------------------------------------------------------------------------

def _tensor_problems(where, got, want):
    if not isinstance(got, list) or len(got) != len(want):
        return ["%s: got %r, want %r" % (where, got, want)]
    out = []
    for g, w in zip(got, want):
        if not isinstance(g, dict):
            out.append("%s: got %r" % (where, g))
            continue
        for k in ("name", "dtype", "shape"):
            if g.get(k, "<absent>") != w[k]:
                out.append("%s[%s].%s: got %r, want %r" % (where, w["name"], k, g.get(k, "<absent>"), w[k]))
        if "tensor" in w and g.get("tensor") != w["tensor"]:
            out.append("%s[%s].tensor: got %r, want %r" % (where, w["name"], g.get("tensor", "<absent>"), w["tensor"]))
        if "tensor" not in w and "tensor" in g:
            out.append("%s[%s].tensor: %r for a TensorInfo that is not dense" % (where, w["name"], g["tensor"]))
    return out


def _signature_problems(got, want):
    if not isinstance(got, dict):
        return ["signatures: got %r" % (got,)]
    out = []
    if sorted(got) != sorted(want):
        out.append("signatures: keys %s, want %s" % (sorted(got), sorted(want)))
    for key, w in want.items():
        g = got.get(key)
        if not isinstance(g, dict):
            continue
        if g.get("method_name", "") != w["method_name"]:
            out.append("signatures.%s.method_name: got %r, want %r" % (key, g.get("method_name"), w["method_name"]))
        for side in ("inputs", "outputs"):
            out += _tensor_problems("signatures.%s.%s" % (key, side), g.get(side, []), w[side])
    return out


def _fact_problems(key, got, want):
    if key == "signatures":
        return _signature_problems(got, want)
    if key == "fingerprint" and isinstance(got, dict):
        out = []
        for k, v in want.items():
            g = got.get(k, "<absent>")
            if k == "version" and isinstance(g, dict):
                g = g.get("producer", "<absent>")
            if g != v:
                out.append("fingerprint.%s: got %r, want %r" % (k, g, v))
        return out
    if got == "<absent>" and want == []:
        return []
    if got != want:
        return ["%s: got %r, want %r" % (key, got, want)]
    return []


def fact_problems(entry, info, keys=None):
    model = info.get("model")
    if not isinstance(model, dict):
        return ["no model object: %r" % (info,)]
    out = []
    for key, want in entry["facts"].items():
        if keys is None or key in keys:
            out += _fact_problems(key, model.get(key, "<absent>"), want)
    if keys is None:
        for key, want in entry["root"].items():
            got = info.get(key, "<absent>")
            if key in ("inputs", "outputs"):
                out += _tensor_problems(key, got, want)
            elif got != want:
                out.append("root %s: got %r, want %r" % (key, got, want))
        for key in entry.get("root_absent", []):
            if key in info:
                out.append("root %s: present (%r), want absent (no serving_default)" % (key, info[key]))
    return out


def check_facts(entry, info, keys=None):
    assert info.get("format") == entry["expected_format"], (info.get("format"), info.get("error"))
    problems = fact_problems(entry, info, keys)
    assert not problems, problems


def code_problems(entry, findings):
    got = {sev: sorted({f["code"] for f in findings if f["severity"] == sev}) for sev in ("error", "warning", "info")}
    out = []
    if got["error"] != entry["errors"]:
        out.append("errors %s, want exactly %s" % (got["error"], entry["errors"]))
    if entry["warnings"] is not None and got["warning"] != entry["warnings"]:
        out.append("warnings %s, want exactly %s" % (got["warning"], entry["warnings"]))
    missing = set(entry["infos"]) - set(got["info"])
    if missing:
        out.append("infos lack %s" % sorted(missing))
    return out


def check_codes(entry, findings):
    problems = code_problems(entry, findings)
    assert not problems, (problems, brief(findings))


# ---- the fixture set itself -----------------------------------------------------------------

def test_manifest_covers_the_cases():
    SM.require()
    files = MANIFEST["files"]
    pos = [e for e in files if e["valid"]]
    neg = [e for e in files if not e["valid"]]
    assert len(pos) >= 15 and len(neg) >= 40, (len(pos), len(neg))
    codes = {c for e in neg for c in e["errors"]}
    for family in ("tf.op.file_io", "tf.op.python", "tf.op.network", "tf.op.debug", "tf.proto.invalid",
                   "tf.proto.depth", "tf.object_graph.invalid", "tf.variable.mismatch", "tar.header.checksum"):
        assert family in codes, family
    assert {e["container"] for e in pos} == {"dir", "tar", "serialzy", "file"}
    assert {e["expected_format"] for e in pos} == {"tf_pure", "tf_keras"}


# ---- positives ------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", POSITIVE)
def test_inspect_facts(cli, entry):
    check_facts(entry, inspected(*run_json(cli, "inspect", "--json", need(entry))))


@pytest.mark.parametrize("entry", POSITIVE)
def test_positive_validates(cli, entry):
    check_verdict(*run_json(cli, "validate", "--json", need(entry)), True, [entry["expected_format"]],
                  lambda findings: check_codes(entry, findings))


@pytest.mark.parametrize("entry", POSITIVE)
def test_positive_quick_validates(cli, entry):
    check_verdict(*run_json(cli, "validate", "--json", "--quick", need(entry)), True)


@pytest.mark.parametrize("path", ["tf1_saver", "tf2_module", "tf2_module.tar", "keras_metadata.szy"])
def test_binding_by_path_equals_cli(cli, path):
    entry = by_path(path)
    status, info = run_json(cli, "inspect", "--json", need(entry))
    assert status == 0
    got = modelstore.inspect(need(entry))
    assert got.get("model") == info.get("model")
    report = modelstore.validate(need(entry))
    assert report.format == entry["expected_format"]
    check_codes(entry, findings_of(report))
    assert report.valid


@pytest.mark.parametrize("path", ["tf2_module.tar", "tf2_module.szy", "keras_metadata.tar", "tf2_shards.tar"])
def test_binding_from_memory(path):
    """A tar or serialzy stream handed over as bytes: same facts."""
    entry = by_path(path)
    with modelstore.Artifact(need(entry).read_bytes()) as a:
        assert a.format == entry["expected_format"]
        info = a.inspect()
        report = a.validate()
    check_facts(entry, info)
    check_codes(entry, findings_of(report))


def test_tar_and_directory_agree(cli):
    """The serialzy tar and the stream report the directory's model."""
    _, d = run_json(cli, "inspect", "--json", need(by_path("tf2_module")))
    for p in ("tf2_module.tar", "tf2_module.szy"):
        _, t = run_json(cli, "inspect", "--json", need(by_path(p)))
        assert t.get("model") == d.get("model"), p


def test_large_const_is_not_read(cli):
    """64 MiB of tensor_content, stored sparse: inspect stays fast and
    reports the node."""
    entry = by_path("large_const")
    pb = need(entry) / "saved_model.pb"
    assert pb.stat().st_size > 64 << 20
    status, info = run_json_within(2.0, cli, "inspect", "--json", need(entry))
    assert status == 0
    check_facts(entry, info)
    # and the 64 MiB are not brought into memory: peak RSS (wait4, via /usr/bin/time) stays small
    if os.access("/usr/bin/time", os.X_OK):
        with tempfile.NamedTemporaryFile("r") as peak:
            p = subprocess.run(["/usr/bin/time", "-o", peak.name, "-f", "%M", cli.path, "inspect", "--json",
                                str(need(entry))], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
            assert p.returncode == 0, p.stderr
            kib = int(peak.read().split()[-1])
        assert kib < 32 * 1024, "peak RSS %d KiB inspecting a graph with a 64 MiB Const" % kib


# ---- negatives ------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", NEGATIVE)
def test_negative_codes(cli, entry):
    check_verdict(*run_json(cli, "validate", "--json", need(entry)), False, [entry["expected_format"]],
                  lambda findings: check_codes(entry, findings))


@pytest.mark.parametrize("entry", entries(lambda e: not e["valid"] and e["facts"]))
def test_negative_still_inspects(cli, entry):
    """A defect that leaves the graph intact does not hide it."""
    status, info = run_json(cli, "inspect", "--json", need(entry))
    check_facts(entry, info, keys=GRAPH_FACT_KEYS)


@pytest.mark.parametrize("path", ["op_readfile_graph", "op_writefile_function", "op_dataservice_function"])
def test_op_finding_names_op_and_place(cli, path):
    """An op finding names the op and the function it sits in ("graph" at the top level)."""
    entry = by_path(path)
    _, report = run_json(cli, "validate", "--json", need(entry))
    hits = [f for f in report["findings"] if f["code"] == entry["errors"][0]]
    assert hits, brief(report["findings"])
    text = " ".join("%s %s" % (f.get("where") or "", f.get("message") or "") for f in hits)
    op = {"op_readfile_graph": "ReadFile", "op_writefile_function": "WriteFile",
          "op_dataservice_function": "DataServiceDatasetV2"}[path]
    assert op in text, text
    if path == "op_readfile_graph":
        assert "graph" in text, text
    else:
        assert "__inference_" in text, text


def test_negative_through_the_binding():
    entry = by_path("op_pyfunc")
    report = modelstore.validate(need(entry))
    check_codes(entry, findings_of(report))
    assert not report.valid


# ---- robustness -----------------------------------------------------------------------------

@pytest.mark.parametrize("entry", ALL)
def test_every_fixture_ends_in_time(cli, entry):
    for verb in ("inspect", "validate"):
        run_json(cli, verb, "--json", need(entry))


def _mutants(data):
    n = len(data)
    cuts = sorted({1, 2, 3, 10, n // 3, n // 2, n - 1})
    for c in cuts:
        if 0 < c < n:
            yield "cut%d" % c, data[:c]
    for i in range(3, n, max(1, n // 23)):
        flipped = bytearray(data)
        flipped[i] ^= 0xFF
        yield "flip%d" % i, bytes(flipped)


@pytest.mark.parametrize("path", ["tf1_saver", "tf2_module", "keras_metadata"])
def test_mutated_saved_model_pb(cli, tmp_path, path):
    """Cut or flipped saved_model.pb: never a crash or a hang (a cut at a
    field boundary can still be a valid message, so no verdict is asked)."""
    src = need(by_path(path))
    data = (src / "saved_model.pb").read_bytes()
    for label, mutant in _mutants(data):
        d = tmp_path / label
        shutil.copytree(src, d)
        (d / "saved_model.pb").write_bytes(mutant)
        for verb in ("inspect", "validate"):
            run_json(cli, verb, "--json", d)
        shutil.rmtree(d)


@pytest.mark.parametrize("path", ["tf2_module.tar", "tf2_module.szy"])
def test_mutated_streams(cli, tmp_path, path):
    data = need(by_path(path)).read_bytes()
    for label, mutant in _mutants(data):
        p = tmp_path / (label + os.path.splitext(path)[1])
        p.write_bytes(mutant)
        for verb in ("inspect", "validate"):
            run_json(cli, verb, "--json", p)
        p.unlink()
