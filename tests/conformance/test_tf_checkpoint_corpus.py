"""TensorFlow checkpoint conformance over ../shared/corpus.

- public/tf_checkpoint/*: each directory inspects as tf_checkpoint with the
  manifest's facts (index file, data shards, meta graph files, the state
  file's model_checkpoint_path) and the variables an independent reading
  finds, and validates without an error (also --quick).
- the variables/ directory of every public SavedModel (tf_pure, and
  tf_keras under savedmodel/), forced to tf_checkpoint: the same cross-check
  of its bundle, and no error.

Ground truth: the corpus manifest, and the index tables read with
tf_ckpt_writer.read_bundle (struct: a table walk of our own with a small
snappy decoder, shared with the fixture generators) whose values are
decoded by Google's protobuf runtime from the library's descriptor set
(BundleHeaderProto, BundleEntryProto); block and data CRCs recomputed with
the writer's CRC-32C. Never our reader. Skips, saying so, when the corpus is
absent.
"""
import pytest

from corpus_cli import ROOT, brief, errors, fixture_helper, load_manifest, params, run, tf_messages

W = fixture_helper("tf_ckpt_writer")
PUBLIC = load_manifest("public/manifest.json")
CHECKPOINTS = [e for e in (PUBLIC or {}).get("entries", []) if e["data_format"] == "tf_checkpoint"]
SAVEDMODELS = [e for e in (PUBLIC or {}).get("entries", [])
               if e["data_format"] == "tf_pure" or (e["data_format"] == "tf_keras" and "/savedmodel/" in e["path"])]


@pytest.fixture(scope="module")
def msgs():
    return tf_messages(W)


def check_bundle(msgs, info, directory, prefix):
    want = W.read_bundle(msgs, directory, prefix)
    header, m = want["header"], info["model"]
    assert m["variables"] == want["variables"]
    assert m["tensor_count"] == want["tensor_count"]
    assert m["total_bytes"] == want["total_bytes"]
    assert m["object_based"] is want["object_based"]
    assert m["bundle_version"] == header.version.producer
    assert m["endianness"] == ("big" if header.endianness == 1 else "little")
    assert info["parameters"] == want["parameters"]


# ---- checkpoints --------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", params(CHECKPOINTS, "tf_checkpoint"))
def test_checkpoint_facts(cli, msgs, entry):
    path = ROOT / "public" / entry["path"]
    facts = entry["facts"]
    info = run(cli, "inspect", "--json", str(path))
    assert info["format"] == "tf_checkpoint", info
    m = info["model"]
    assert m["kind"] == "checkpoint"
    assert [m["index_file"]] == facts["index_files"]
    assert m["shards"] == sorted(facts["data_shards"])
    assert m["data_shards"] == len(facts["data_shards"])
    assert m["has_meta_graph"] is bool(facts["meta_graph_files"])
    assert m["has_state_file"] is ("checkpoint" in facts["files"])
    state = facts.get("checkpoint_state_file")
    if state:
        latest = [ln.split(":", 1)[1].strip().strip('"') for ln in state.splitlines()
                  if ln.startswith("model_checkpoint_path")]
        assert m["latest"] == latest[0]
    prefix = m["index_file"][:-len(".index")]
    assert m["prefix"] == prefix
    check_bundle(msgs, info, str(path), prefix)


@pytest.mark.parametrize("entry", params(CHECKPOINTS, "tf_checkpoint"))
@pytest.mark.parametrize("quick", [False, True], ids=["full", "quick"])
def test_checkpoint_validates(cli, entry, quick):
    path = ROOT / "public" / entry["path"]
    report = run(cli, "validate", "--json", *(["--quick"] if quick else []), str(path))
    assert report["format"] == "tf_checkpoint"
    assert not errors(report), brief(report["findings"])
    assert report["valid"], brief(report["findings"])


# ---- SavedModel variables -----------------------------------------------------------------------

def has_variables(e):
    return ROOT is not None and (ROOT / "public" / e["path"] / "variables" / "variables.index").is_file()


@pytest.mark.parametrize("entry", params(SAVEDMODELS, "SavedModel", has_variables))
def test_savedmodel_variables_as_checkpoint(cli, msgs, entry):
    path = ROOT / "public" / entry["path"] / "variables"
    info = run(cli, "inspect", "--json", "--format", "tf_checkpoint", str(path))
    assert info["model"]["kind"] == "checkpoint"
    assert info["model"]["prefix"] == "variables"
    check_bundle(msgs, info, str(path), "variables")
    report = run(cli, "validate", "--json", "--format", "tf_checkpoint", str(path))
    assert not errors(report), brief(report["findings"])
    codes = {f["code"] for f in report["findings"]}
    assert codes <= {"artifact.format.forced"}, brief(report["findings"])
