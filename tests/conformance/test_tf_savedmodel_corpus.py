"""TensorFlow SavedModel conformance over ../shared/corpus: the public
SavedModels (data_format `tf_pure`, and `tf_keras` entries under
`savedmodel/`: TF Serving test models from TF 1.x to 2.14, Keras 2
SavedModels) inspect with the facts the corpus manifest recorded, the op
histogram and variables an independent Python reading finds, and validate
without an error; packed into a serialzy-style tar they report the same.

Environment as for test_corpus.py: MODELSTORE_CLI and CORPUS; the
descriptor set of the library's .proto (lib/tf-savedmodel.desc in the build
tree, found next to MODELSTORE_LIBRARY or the CLI's build, or given as
TF_DESCRIPTOR_SET) to decode saved_model.pb with Google's protobuf runtime.
Skips, saying so, when the corpus is absent. (The tf_checkpoint entries
have their own test.)

Ground truth:
  manifest facts.saved_model_pb.meta_graphs[i]: tags -> model.tags[i];
    of the first: signature_keys -> the keys of model.signatures,
    graph_nodes -> node_count, functions -> function_count,
    tensorflow_version, tensorflow_git_version; the count -> meta_graphs;
    has_keras_metadata_pb -> model.keras_metadata;
  google.protobuf (our descriptors) on saved_model.pb: op_types = {op:
    count} over the first meta graph's nodes and its library's function
    nodes; fingerprint.pb's five hashes;
  variables/variables.index read with tf_ckpt_writer.read_bundle (a table
    walk of our own, shared with the fixture generators, with a small
    snappy decoder: TensorFlow compresses table blocks with snappy when
    that saves space, and four of these indexes have such blocks): every
    key but "" and _CHECKPOINTABLE_OBJECT_GRAPH in key order -> {name,
    dtype, shape}; parameters = the sum of their element counts.
"""
import shutil
from pathlib import Path

import pytest

from corpus_cli import ROOT, brief, errors, fixture_helper, load_manifest, params, run, tf_messages

W = fixture_helper("tf_ckpt_writer")
PUBLIC = load_manifest("public/manifest.json")
ENTRIES = [e for e in (PUBLIC or {}).get("entries", [])
           if e["data_format"] == "tf_pure" or (e["data_format"] == "tf_keras" and "/savedmodel/" in e["path"])]
KIND = {"tf_pure": "saved_model", "tf_keras": "keras_saved_model"}


@pytest.fixture(scope="module")
def msgs():
    return tf_messages(W)


def test_corpus_has_the_savedmodels_it_promises():
    if ROOT is None or PUBLIC is None:
        pytest.skip("corpus absent")
    assert len(ENTRIES) == 14
    assert sum(e["data_format"] == "tf_keras" for e in ENTRIES) == 4
    assert all(e["kind"] == "directory" and not e["negative_fixture"] for e in ENTRIES)


# ---- an independent reading of the files ---------------------------------------------------

def bundle_variables(directory, msgs):
    if not (directory / "variables" / "variables.index").is_file():
        return None
    return W.read_bundle(msgs, str(directory / "variables"), "variables", check_data=False)["variables"]


def parameters(variables):
    return sum(W.numel(v["shape"]) for v in variables if v["shape"] is not None and all(d >= 0 for d in v["shape"]))


def saved_model(directory, msgs):
    return msgs["SavedModel"].FromString((directory / "saved_model.pb").read_bytes())


def op_histogram(mg):
    h = {}
    for n in list(mg.graph_def.node) + [n for f in mg.graph_def.library.function for n in f.node_def]:
        h[n.op] = h.get(n.op, 0) + 1
    return h


# ---- the checks ----------------------------------------------------------------------------

def expected(entry, msgs):
    d = ROOT / "public" / entry["path"]
    facts = entry["facts"]
    metas = facts["saved_model_pb"]["meta_graphs"]
    first = metas[0]
    sm = saved_model(d, msgs)
    want = {
        "kind": KIND[entry["data_format"]],
        "saved_model_schema_version": facts["saved_model_pb"]["saved_model_schema_version"],
        "meta_graphs": len(metas),
        "tags": [m["tags"] for m in metas],
        "tensorflow_version": first["tensorflow_version"],
        "tensorflow_git_version": first["tensorflow_git_version"],
        "node_count": first["graph_nodes"],
        "function_count": first["functions"],
        "op_types": op_histogram(sm.meta_graphs[0]),
        "keras_metadata": facts["has_keras_metadata_pb"],
    }
    variables = bundle_variables(d, msgs)
    if variables is not None:
        want["variables"] = variables
    if facts["has_fingerprint_pb"]:
        fp = msgs["FingerprintDef"].FromString((d / "fingerprint.pb").read_bytes())
        want["fingerprint"] = {k: getattr(fp, k) for k in (
            "saved_model_checksum", "graph_def_program_hash", "signature_def_hash", "saved_object_graph_hash",
            "checkpoint_hash")}
    return want, sorted(first["signature_keys"]), variables


def problems(info, want, signature_keys, variables):
    out = []
    model = info.get("model")
    if not isinstance(model, dict):
        return ["no model: %r" % (info,)]
    for k, v in want.items():
        got = model.get(k, "<absent>")
        if k == "fingerprint" and isinstance(got, dict):
            got = {x: got.get(x) for x in v}
        if got != v:
            out.append("model.%s: got %r, want %r" % (k, got, v))
    sigs = model.get("signatures")
    if not isinstance(sigs, dict) or sorted(sigs) != signature_keys:
        out.append("signature keys: got %r, want %r" % (sorted(sigs) if isinstance(sigs, dict) else sigs,
                                                        signature_keys))
    if variables is not None and info.get("parameters") != parameters(variables):
        out.append("parameters: got %r, want %r" % (info.get("parameters"), parameters(variables)))
    return out


@pytest.mark.parametrize("entry", params(ENTRIES, "tf_pure / tf_keras SavedModel"))
def test_inspect_matches_manifest(cli, msgs, entry):
    path = ROOT / "public" / entry["path"]
    info = run(cli, "inspect", "--json", str(path))
    assert info.get("format") == entry["data_format"], (info.get("format"), info.get("error"))
    want, keys, variables = expected(entry, msgs)
    p = problems(info, want, keys, variables)
    assert not p, p


@pytest.mark.parametrize("entry", params(ENTRIES, "tf_pure / tf_keras SavedModel"))
def test_validate_finds_no_error(cli, entry):
    path = ROOT / "public" / entry["path"]
    report = run(cli, "validate", "--json", str(path))
    assert report["format"] == entry["data_format"]
    assert not errors(report), brief(errors(report))
    assert report["valid"] is True


def serialzy_tar(src, tmp):
    """shutil.make_archive(<dir>/model, "tar", <dir>) as serialzy runs it."""
    work = Path(tmp) / "savedmodel"
    shutil.copytree(src, work)
    base = work / "model"
    open(str(base) + ".tar", "wb").close()
    return Path(shutil.make_archive(str(base), "tar", str(work)))


@pytest.mark.parametrize("entry", params(ENTRIES, "tf_pure / tf_keras SavedModel"))
def test_serialzy_tar_reports_the_same(cli, msgs, entry, tmp_path):
    src = ROOT / "public" / entry["path"]
    tar = serialzy_tar(src, tmp_path)
    info = run(cli, "inspect", "--json", str(tar))
    assert info.get("format") == entry["data_format"], (info.get("format"), info.get("error"))
    want, keys, variables = expected(entry, msgs)
    p = problems(info, want, keys, variables)
    assert not p, p
    direct = run(cli, "inspect", "--json", str(src))
    assert info.get("model") == direct.get("model")
    report = run(cli, "validate", "--json", str(tar))
    assert not errors(report), brief(errors(report))
