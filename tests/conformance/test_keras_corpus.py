"""Keras (`tf_keras`) conformance over ../shared/corpus: `modelstore inspect
--json` reports the facts the corpus manifest recorded for the public Keras
files (.h5 and .keras; the SavedModel directories belong to another issue),
the weights and parameter count h5py finds in the same files, and
`validate` agrees with the manifest's verdict.

Environment as for test_corpus.py: MODELSTORE_CLI and CORPUS. Skips, saying
so, when the corpus is absent.

Naming between the public manifest (`facts`) and our inspect JSON (`model`):
  keras_version = keras_version, backend = backend, model_class_name =
  class_name, has_model_config = not weights_only, has_training_config =
  has_training_config, root_attribute_names = root_attributes,
  root_groups = root_groups, num_layer_names = len(layer_names), members =
  members, date_saved = date_saved, model_module = module (JSON null stays
  null), num_layers_in_config = len(layers).

Ground truth computed here with h5py / zipfile (not in the manifest),
through tests/fixtures/keras_read.py (gen_keras.py reads its fixtures back
with it too):
  legacy .h5: the weights group (model_weights, or the root of a
  save_weights file), its layer_names (split chunks joined as Keras reads
  them), each layer's weight_names -> {"name": "<layer>/<weight>", "shape",
  "dtype"}; .keras: model.weights.h5 extracted to a temporary file and
  walked: every dataset in a `vars` group outside the top-level `optimizer`
  group, depth first in name order, vars indices numerically; parameters =
  elements of those weights.

Verdicts: negative_fixture true -> an error (keras.function for the three
hls4ml files whose Conv2D initializer is a builtins function); false -> no
error (bugged_model.keras: the keras.custom_object warning; weights-only
files: the keras.weights_only info). generated/hdf5/plain_arrays.h5 is plain
HDF5, not a model: format "hdf5".
"""
import io
import json
import zipfile

import h5py  # a test dependency (.ci/setup installs it): missing, the module fails, never skips
import pytest

from corpus_cli import ROOT, brief, errors, fixture_helper, load_manifest, params, run

KERAS_READ = fixture_helper("keras_read")

PUBLIC = load_manifest("public/manifest.json")
GENERATED = load_manifest("generated/manifest.json")
PUBLIC_KERAS = [e for e in (PUBLIC or {}).get("entries", []) if e["data_format"] == "tf_keras" and e["kind"] == "file"]
BUILTINS_FUNCTION = {"tf_keras/hls4ml/binary_tanh__binary_tanh.h5", "tf_keras/hls4ml/hard_sigmoid__hard_sigmoid.h5",
                     "tf_keras/hls4ml/selu__selu.h5"}


def test_corpus_has_the_keras_files_it_promises():
    if ROOT is None or PUBLIC is None:
        pytest.skip("corpus absent")
    assert len(PUBLIC_KERAS) == 17
    names = {e["path"] for e in PUBLIC_KERAS}
    assert BUILTINS_FUNCTION <= names
    assert {e["path"] for e in PUBLIC_KERAS if e["negative_fixture"]} == BUILTINS_FUNCTION
    assert sum(e["path"].endswith(".keras") for e in PUBLIC_KERAS) == 4


# ---- ground truth with h5py ------------------------------------------------------------------

def truth(path, tmp_path):
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"PK\x03\x04":
        with zipfile.ZipFile(path) as zf:
            extracted = tmp_path / "model.weights.h5"
            extracted.write_bytes(zf.read("model.weights.h5"))
        with h5py.File(extracted, "r") as f:
            return KERAS_READ.v3_weights(f)
    with h5py.File(path, "r") as f:
        return KERAS_READ.legacy_weights(f["model_weights"] if "model_config" in f.attrs else f)


# ---- public ------------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", params(PUBLIC_KERAS, "tf_keras file"))
def test_public_keras_facts(cli, entry):
    path = ROOT / "public" / entry["path"]
    f = entry["facts"]
    info = run(cli, "inspect", "--json", str(path))
    assert info["format"] == "tf_keras"
    assert "error" not in info, info.get("error")
    m = info["model"]
    wrong = []

    def same(ours, want, label):
        got = m.get(ours, "<absent>") if isinstance(ours, str) else ours
        if got != want:
            wrong.append("%s: got %r, want %r" % (label, got, want))

    is_zip = "members" in f
    same("container", "keras_v3" if is_zip else "hdf5", "container")
    same("keras_version", f["keras_version"], "keras_version")
    if "backend" in f:
        same("backend", f["backend"], "backend")
    if "model_class_name" in f:
        same("class_name", f["model_class_name"], "class_name")
    if "has_model_config" in f:
        same(not m["weights_only"] if isinstance(m.get("weights_only"), bool) else "<absent>",
             f["has_model_config"], "not weights_only")
    if "has_training_config" in f:
        same("has_training_config", f["has_training_config"], "has_training_config")
    if "root_attribute_names" in f:
        same("root_attributes", f["root_attribute_names"], "root_attributes")
    if "root_groups" in f:
        same("root_groups", f["root_groups"], "root_groups")
    if "num_layer_names" in f:
        same(len(m["layer_names"]) if isinstance(m.get("layer_names"), list) else "<absent>",
             f["num_layer_names"], "len(layer_names)")
    if "members" in f:
        same("members", f["members"], "members")
    if "date_saved" in f:
        same("date_saved", f["date_saved"], "date_saved")
    if "model_module" in f:
        same("module", f["model_module"], "module")
    if "num_layers_in_config" in f:
        same(len(m["layers"]) if isinstance(m.get("layers"), list) else "<absent>",
             f["num_layers_in_config"], "len(layers)")
    assert not wrong, wrong


@pytest.mark.parametrize("entry", params(PUBLIC_KERAS, "tf_keras file"))
def test_public_keras_weights(cli, entry, tmp_path):
    path = ROOT / "public" / entry["path"]
    want = truth(path, tmp_path)
    info = run(cli, "inspect", "--json", str(path))
    got = info["model"].get("weights", "<absent>")
    if got != want:
        diff = next(("[%d]: got %r, want %r" % (i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w),
                    "lengths %s / %d" % (len(got) if isinstance(got, list) else got, len(want)))
        pytest.fail("weights differ: " + diff)
    params = sum(_prod(w["shape"]) for w in want)
    assert info.get("parameters", "<absent>") == params


def _prod(shape):
    n = 1
    for d in shape:
        n *= d
    return n


@pytest.mark.parametrize("entry", params(PUBLIC_KERAS, "tf_keras file"))
def test_public_keras_verdict(cli, entry):
    report = run(cli, "validate", "--json", str(ROOT / "public" / entry["path"]))
    assert report["format"] == "tf_keras"
    codes = {(f["severity"], f["code"]) for f in report["findings"]}
    if entry["negative_fixture"]:
        assert errors(report), brief(report["findings"])
        assert report["valid"] is False
        if entry["path"] in BUILTINS_FUNCTION:
            assert ("error", "keras.function") in codes, brief(report["findings"])
        return
    assert not errors(report), brief(report["findings"])
    assert report["valid"] is True
    f = entry["facts"]
    if f.get("model_module", "") is None:  # bugged_model.keras: a user class registered by name
        assert ("warning", "keras.custom_object") in codes, brief(report["findings"])
    if f.get("has_model_config") is False:
        assert ("info", "keras.weights_only") in codes, brief(report["findings"])


@pytest.mark.parametrize("entry", params(PUBLIC_KERAS, "tf_keras file", lambda e: e["path"] in BUILTINS_FUNCTION))
def test_public_builtins_function_named(cli, entry):
    """The finding names what is wrong: the function and its module."""
    report = run(cli, "validate", "--json", str(ROOT / "public" / entry["path"]))
    hits = [e for e in errors(report) if e["code"] == "keras.function"]
    assert hits, brief(report["findings"])
    assert any("random_kernel" in (e.get("message") or "") or "builtins" in (e.get("message") or "")
               for e in hits), brief(hits)


# ---- plain HDF5 is not a Keras model ------------------------------------------------------------

def test_plain_hdf5_is_not_keras(cli):
    if ROOT is None or GENERATED is None:
        pytest.skip("corpus absent")
    path = ROOT / "generated" / "hdf5" / "plain_arrays.h5"
    assert path.is_file()
    info = run(cli, "inspect", "--json", str(path))
    assert info["format"] == "hdf5", info["format"]
    report = run(cli, "validate", "--json", str(path))
    assert report["format"] == "hdf5"
    assert report["valid"] is False
    report = run(cli, "validate", "--json", "--format", "tf_keras", str(path))
    assert report["valid"] is False and errors(report), brief(report["findings"])  # forced: not a Keras model


def test_keras_zip_members_read_back():
    """The .keras entries' members as zipfile lists them (sanity of the
    manifest this file relies on)."""
    if ROOT is None or PUBLIC is None:
        pytest.skip("corpus absent")
    for e in PUBLIC_KERAS:
        if "members" in e["facts"]:
            with zipfile.ZipFile(ROOT / "public" / e["path"]) as zf:
                assert zf.namelist() == e["facts"]["members"], e["path"]
                meta = json.load(io.BytesIO(zf.read("metadata.json")))
                assert meta["keras_version"] == e["facts"]["keras_version"]
