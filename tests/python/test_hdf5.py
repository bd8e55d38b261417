"""The bounded HDF5 reader (`hdf5` format) against the fixtures gen_hdf5.py
writes (FIXTURES/hdf5/manifest.json) and against the shared corpus.

Ground truth is h5py: the manifest's facts were computed by h5py 3.7 from
the files (visititems, attrs, dtype, chunks, compression), and the corpus
facts come from its own manifest or from h5py here. Nothing is taken from
the library's own output.

- positives: `inspect --json` reports exactly the manifest's superblock
  version, user block size, root attribute values, objects (name, type,
  shape, dtype, chunks, compression, attribute names, in h5py's order) and
  object count, through the CLI and from memory through the binding;
  `validate` finds no error or warning but the expected ones (a plain HDF5
  file is no model: `artifact.format.not_model` is always there);
- hostile files (h5py output patched at one structure): `validate` reports
  the code the manifest names, and neither inspect nor validate crashes,
  hangs or takes more than SECONDS;
- speed: 1 GiB of weights (sparse file) inspects and validates in well
  under 50 ms, since only metadata is read;
- corpus: hdf5/plain_arrays.h5 matches its manifest entry; every object h5py
  lists in the tf_keras .h5 files is listed by the `hdf5` reader (format
  forced) with no hdf5.* error.
"""
import time

import h5py  # a test dependency (.ci/setup installs it): missing, the module fails, never skips
import numpy as np
import pytest

import modelstore
from ms_testutil import CORPUS, FixtureSet, brief, findings_of, read_manifest, run_json_within

H5 = FixtureSet("hdf5")
H5_DIR, MANIFEST = H5.dir, H5.manifest
SECONDS = 3.0  # per CLI run: every fixture is below 400 KiB
FACT_KEYS = ("superblock_version", "user_block_size", "root_attributes", "objects", "object_count")
ALWAYS = {"artifact.format.not_model"}  # a plain HDF5 file is no model


def entries(kind):
    return H5.params(lambda e: e["kind"] == kind)


need = H5.need
POSITIVE = entries("positive")
HOSTILE = entries("hostile")


def run_json(cli, *args):
    """(exit status, first JSON line) of one CLI run, which must end in time."""
    return run_json_within(SECONDS, cli, *args)


def format_args(entry):
    return ["--format", "hdf5"] if entry["force_format"] else []


def check_facts(entry, model):
    want = entry["facts"]
    for key in FACT_KEYS:
        got = model.get(key, "<absent>")
        if key == "objects" and got != want[key]:
            # name the first object that differs, not a 1000-line diff
            g = {o.get("name"): o for o in got} if isinstance(got, list) else {}
            for o in want[key]:
                assert g.get(o["name"]) == o, ("object", o["name"])
            assert [o.get("name") for o in got] == [o["name"] for o in want[key]], "object order"
        if key == "root_attributes" and got != want[key] and isinstance(got, dict):
            for name in sorted(set(got) | set(want[key])):
                assert got.get(name, "<absent>") == want[key].get(name, "<absent>"), ("attribute", name)
        assert got == want[key], key
    assert "objects_truncated" not in model


def check_positive_report(entry, findings):
    allowed = ALWAYS | set(entry["expected_warnings"])
    bad = [f for f in findings if f["severity"] in ("error", "warning") and f["code"] not in allowed]
    assert not bad, brief(bad)
    codes = {f["code"] for f in findings}
    missing = [c for c in entry["expected_warnings"] if c not in codes]
    assert not missing, (missing, brief(findings))


# ---- positives ------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", POSITIVE)
def test_inspect_facts(cli, entry):
    status, info = run_json(cli, "inspect", "--json", *format_args(entry), need(entry))
    assert status == 0, info
    assert info["format"] == "hdf5", info["format"]
    check_facts(entry, info["model"])


@pytest.mark.parametrize("entry", POSITIVE)
def test_inspect_facts_from_memory(entry):
    fmt = "hdf5" if entry["force_format"] else None
    with modelstore.Artifact(need(entry).read_bytes(), format=fmt) as a:
        assert a.format == "hdf5"
        info = a.inspect()
    check_facts(entry, info["model"])


@pytest.mark.parametrize("entry", POSITIVE)
def test_positive_validates(cli, entry):
    status, report = run_json(cli, "validate", "--json", *format_args(entry), need(entry))
    assert report["format"] == "hdf5"
    check_positive_report(entry, report["findings"])
    assert status == 1  # not a model, by design


@pytest.mark.parametrize("entry", POSITIVE)
def test_positive_validates_from_memory(entry):
    fmt = "hdf5" if entry["force_format"] else None
    with modelstore.Artifact(need(entry).read_bytes(), format=fmt) as a:
        report = a.validate()
    check_positive_report(entry, findings_of(report))


def test_keras_like_is_claimed_by_keras(cli):
    """The Keras markers (root attribute names, read by the reader) hand a
    legacy Keras .h5 to tf_keras, however its root attributes are stored."""
    H5.require()
    for name in ("keras_like.h5", "keras_like_latest.h5"):
        status, info = run_json(cli, "inspect", "--json", H5_DIR / name)
        assert info["format"] == "tf_keras", (name, info["format"])


def test_every_fixture_kind_is_there():
    """The generator wrote what the reader must be tested on."""
    H5.require()
    paths = {e["path"] for e in MANIFEST["files"]}
    for libver in ("earliest", "latest"):
        for stem in ("attrs", "groups", "datasets", "manyattrs", "links", "trackorder", "deep40", "committed",
                     "wide"):
            assert "%s_%s.h5" % (stem, libver) in paths
    for sizes in ("44", "48", "84"):
        assert "sizes%s_earliest.h5" % sizes in paths and "sizes%s_latest.h5" % sizes in paths
    versions = {e["facts"]["superblock_version"] for e in MANIFEST["files"] if e["kind"] == "positive"}
    assert {0, 2, 3} <= versions
    assert {e["facts"]["user_block_size"] for e in MANIFEST["files"] if e["kind"] == "positive"} >= {0, 512, 1024}
    codes = {e["expected_code"] for e in MANIFEST["files"] if e["kind"] == "hostile"}
    assert codes >= {"hdf5.truncated", "hdf5.superblock.invalid", "hdf5.address.invalid", "hdf5.loop",
                     "hdf5.dataspace.invalid", "hdf5.attribute.invalid", "hdf5.heap.invalid", "hdf5.checksum",
                     "hdf5.link.invalid", "hdf5.limit", "hdf5.layout.invalid"}


# ---- hostile files --------------------------------------------------------------------------

@pytest.mark.parametrize("entry", HOSTILE)
def test_hostile_is_reported(cli, entry):
    status, report = run_json(cli, "validate", "--json", "--format", "hdf5", need(entry))
    codes = [f["code"] for f in report["findings"]]
    assert entry["expected_code"] in codes, (entry["why"], brief(report["findings"]))
    assert report["valid"] is False and status == 1


@pytest.mark.parametrize("entry", HOSTILE)
def test_hostile_inspects(cli, entry):
    status, info = run_json(cli, "inspect", "--json", "--format", "hdf5", need(entry))
    assert info["format"] == "hdf5"


@pytest.mark.parametrize("entry", HOSTILE)
def test_hostile_from_memory(entry):
    data = need(entry).read_bytes()
    with modelstore.Artifact(data, format="hdf5") as a:
        a.inspect()
        report = a.validate()
    assert entry["expected_code"] in [f["code"] for f in findings_of(report)]


def test_hostile_with_small_limits():
    """With the fuzzers' limits (depth 16), a 40-level file is cut with a
    finding instead of being walked."""
    H5.require()
    with modelstore.Artifact((H5_DIR / "deep40_earliest.h5").read_bytes(), format="hdf5", max_depth=16) as a:
        report = a.validate()
        info = a.inspect()
    assert "hdf5.limit" in [f["code"] for f in findings_of(report)]
    assert info["model"]["object_count"] == 16


# ---- speed: only metadata is read -----------------------------------------------------------

def _sparse_weights(path, chunked):
    with h5py.File(path, "w") as f:
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
        if chunked:
            dcpl.set_chunk((1 << 18,))
        n = 1 << 28  # 2^28 float32 = 1 GiB
        space = h5py.h5s.create_simple((n,))
        h5py.h5d.create(f.id, b"weights", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
        f["weights"].attrs["note"] = "1 GiB, never written (sparse)"
        f.create_dataset("small", data=np.arange(4, dtype="f4"))


@pytest.mark.parametrize("chunked", [False, True], ids=["contiguous", "chunked"])
def test_gigabyte_reads_only_metadata(tmp_path, chunked):
    path = tmp_path / "big.h5"
    _sparse_weights(path, chunked)
    assert path.stat().st_size >= 1 << 30
    best_inspect = best_validate = 1e9
    for _ in range(3):
        with modelstore.Artifact(path) as a:
            t0 = time.perf_counter()
            info = a.inspect()
            t1 = time.perf_counter()
            report = a.validate()
            t2 = time.perf_counter()
        best_inspect = min(best_inspect, t1 - t0)
        best_validate = min(best_validate, t2 - t1)
    objects = {o["name"]: o for o in info["model"]["objects"]}
    assert objects["weights"]["shape"] == [1 << 28]
    assert objects["weights"]["chunks"] == ([1 << 18] if chunked else None)
    check_positive_report({"expected_warnings": []}, findings_of(report))
    assert best_inspect < 0.05, best_inspect
    assert best_validate < 0.05, best_validate


# ---- the shared corpus ----------------------------------------------------------------------

def test_corpus_plain_arrays(cli):
    m = read_manifest(CORPUS / "generated" if CORPUS else None)
    if m is None:
        pytest.skip("CORPUS not set or has no generated/manifest.json")
    entry = next((e for e in m["files"] if e["path"] == "hdf5/plain_arrays.h5"), None)
    if entry is None:
        pytest.skip("the corpus has no hdf5/plain_arrays.h5 entry")
    facts = entry["facts"]
    status, info = run_json(cli, "inspect", "--json", CORPUS / "generated" / entry["path"])
    assert info["format"] == "hdf5"
    model = info["model"]
    assert model["root_attributes"] == facts["root_attrs"]
    want = [dict(o, name=o["name"].lstrip("/")) for o in facts["objects"]]
    assert model["objects"] == want
    assert model["object_count"] == facts["object_count"]
    status, report = run_json(cli, "validate", "--json", CORPUS / "generated" / entry["path"])
    check_positive_report({"expected_warnings": []}, report["findings"])


def _tf_keras_h5():
    if CORPUS is None:
        return []
    root = CORPUS / "public" / "tf_keras"
    return sorted(root.rglob("*.h5")) if root.is_dir() else []


TF_KERAS = _tf_keras_h5()


@pytest.mark.parametrize("path", TF_KERAS or [pytest.param(None, marks=pytest.mark.skip(
    reason="CORPUS not set or has no public/tf_keras .h5 files"))], ids=lambda p: p.name if p else "none")
def test_corpus_tf_keras_objects(cli, path):
    want = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: want.__setitem__(
            name, "group" if isinstance(obj, h5py.Group) else "dataset" if isinstance(obj, h5py.Dataset)
            else "datatype"))
        root_attrs = sorted(f.attrs.keys())
    status, info = run_json(cli, "inspect", "--json", "--format", "hdf5", path)
    got = {o["name"]: o["type"] for o in info["model"]["objects"]}
    assert got == want
    assert sorted(info["model"]["root_attributes"]) == root_attrs
    status, report = run_json(cli, "validate", "--json", "--format", "hdf5", path)
    bad = [f for f in report["findings"] if f["code"].startswith("hdf5.") and f["severity"] == "error"]
    assert not bad, brief(bad)
