"""TensorFlow checkpoints (tensor bundles) through the CLI: every fixture
tests/fixtures/gen_tf_checkpoint.py writes, with the facts and the exact
finding codes its manifest lists (the writer is the ground truth: Debian has
no TensorFlow). Also byte mutations of the index file, which must end
cleanly, and the streamed CRC of a big sparse shard.
"""
import json
import os
import random
import shutil
import time

import pytest

from ms_testutil import FixtureSet, brief, findings_of, run_json_within, unclean_runs

CKPT = FixtureSet("tf_checkpoint", key="name")
MANIFEST = CKPT.manifest or {"files": []}
SECONDS = 20


def by_name(name):
    for e in MANIFEST["files"]:
        if e["name"] == name:
            return e
    pytest.skip(CKPT.why_not or "no fixture " + name)


def path_of(entry):
    return CKPT.need(entry).parent / entry["path"]


def tf_codes(report):
    return sorted({f["code"] for f in findings_of(report) if not f["code"].startswith("artifact.")})


@pytest.mark.parametrize("entry", CKPT.params())
def test_validate_codes(cli, entry):
    status, report = run_json_within(SECONDS, cli, "validate", "--json", path_of(entry))
    assert report["format"] == "tf_checkpoint", report
    assert tf_codes(report) == entry["codes"], brief(findings_of(report))
    assert report["valid"] is entry["valid"], brief(findings_of(report))
    assert status == (0 if entry["valid"] else 1)
    # every finding names where it is
    for f in findings_of(report):
        if f["code"].startswith("tf."):
            assert f["where"], f


@pytest.mark.parametrize("entry", CKPT.params())
def test_quick_validate_codes(cli, entry):
    _, report = run_json_within(SECONDS, cli, "validate", "--json", "--quick", path_of(entry))
    assert tf_codes(report) == entry["quick_codes"], brief(findings_of(report))


@pytest.mark.parametrize("entry", CKPT.params(lambda e: "facts" in e))
def test_inspect_facts(cli, entry):
    status, info = run_json_within(SECONDS, cli, "inspect", "--json", path_of(entry))
    assert status == 0
    assert info["format"] == "tf_checkpoint"
    model = info["model"]
    want = entry["facts"]
    for key, value in want.items():
        assert model.get(key) == value, (key, model.get(key), value)
    if "latest" not in want:
        assert "latest" not in model
    assert info["parameters"] == entry["parameters"]


@pytest.mark.parametrize("entry", CKPT.params(lambda e: "facts" in e and not e["path"].endswith(".index")))
def test_forced_format_agrees(cli, entry):
    _, a = run_json_within(SECONDS, cli, "inspect", "--json", path_of(entry))
    _, b = run_json_within(SECONDS, cli, "inspect", "--json", "--format", "tf_checkpoint", path_of(entry))
    assert a["model"] == b["model"]


def test_fixtures_cover_the_issue():
    CKPT.require()
    names = {e["name"] for e in MANIFEST["files"]}
    for n in ("single", "sharded", "lone_index", "big_hole", "snappy", "single_tar"):
        assert n in names, n
    wanted = {c for e in MANIFEST["files"] for c in e["codes"]}
    for code in ("tf.table.footer", "tf.table.block", "tf.table.crc", "tf.table.compressed",
                 "tf.table.key_order", "tf.bundle.header", "tf.bundle.entry", "tf.bundle.shard_missing",
                 "tf.bundle.shard_extra", "tf.bundle.range", "tf.bundle.size", "tf.bundle.crc",
                 "tf.bundle.big_endian", "tf.bundle.slices", "tf.checkpoint.state",
                 "tf.checkpoint.object_graph"):
        assert code in wanted, code
    single = by_name("single")
    dtypes = {v["dtype"] for v in single["facts"]["variables"]}
    assert {"float", "double", "int32", "int64", "string", "bool", "half", "bfloat16", "int4",
            "complex128", "float8_e4m3fn"} <= dtypes, dtypes
    assert single["facts"]["object_based"] and len(single["facts"]["variables"]) > 300


def test_codes_exist(cli):
    CKPT.require()
    proc = cli("codes", "--json")
    text = proc.stdout.decode()
    known = set()
    for line in text.splitlines():
        doc = json.loads(line)
        items = doc if isinstance(doc, list) else doc.get("codes", [doc])
        for c in items:
            known.add(c["code"] if isinstance(c, dict) else c)
    for e in MANIFEST["files"]:
        for c in e["codes"]:
            assert c in known, c


def test_big_sparse_shard_is_streamed(cli):
    """64 MiB of zeros: the CRC is streamed (bounded memory), and a flipped
    stored CRC is found."""
    entry = by_name("big_hole")
    t0 = time.monotonic()
    _, report = run_json_within(SECONDS, cli, "validate", "--json", path_of(entry))
    assert report["valid"], brief(findings_of(report))
    assert time.monotonic() - t0 < SECONDS


def test_lone_index_without_shards_is_clean(cli):
    entry = by_name("lone_index")
    _, report = run_json_within(SECONDS, cli, "validate", "--json", path_of(entry))
    assert tf_codes(report) == [], brief(findings_of(report))
    _, info = run_json_within(SECONDS, cli, "inspect", "--json", path_of(entry))
    assert info["model"]["data_shards"] == 0 and info["model"]["shards"] == []


def test_missing_state_prefix_falls_back(cli, tmp_path):
    """A state file naming another existing prefix picks that bundle."""
    entry = by_name("sharded")
    d = tmp_path / "two"
    shutil.copytree(path_of(entry), d)
    for f in os.listdir(d):
        if f.startswith("model.ckpt-7"):
            shutil.copy(d / f, d / f.replace("model.ckpt-7", "model.ckpt-3"))
    (d / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-3"\n')
    _, info = run_json_within(SECONDS, cli, "inspect", "--json", d)
    assert info["model"]["prefix"] == "model.ckpt-3"
    assert info["model"]["latest"] == "model.ckpt-3"
    _, report = run_json_within(SECONDS, cli, "validate", "--json", d)
    assert tf_codes(report) == [], brief(findings_of(report))


def mutations(data, seed, count=60):
    rng = random.Random(seed)
    n = len(data)
    for c in sorted({1, 8, 47, 48, 49, n // 2, n - 49, n - 48, n - 8, n - 1} |
                    {rng.randrange(1, n) for _ in range(10)}):
        if 0 < c < n:
            yield "cut%d" % c, data[:c]
    for i in range(count):
        b = bytearray(data)
        pos = rng.randrange(n - 48, n) if i % 3 == 0 else rng.randrange(n)
        b[pos] ^= (1 << rng.randrange(8)) if i % 2 else 0xFF
        yield "flip%d@%d" % (i, pos), bytes(b)


@pytest.mark.parametrize("name", ["single", "sharded", "snappy"])
def test_hostile_index_variants_end_cleanly(cli, tmp_path, name):
    entry = by_name(name)
    src = path_of(entry)
    prefix = entry["facts"]["prefix"]
    d = tmp_path / name
    shutil.copytree(src, d)
    index = d / (prefix + ".index")
    data = index.read_bytes()
    failures = []
    for label, variant in mutations(data, seed=sum(name.encode())):
        index.write_bytes(variant)
        failures += unclean_runs(cli, label, d, (["inspect", "--json"], ["validate", "--json"],
                                                 ["validate", "--json", "--quick"]), SECONDS)
    assert not failures, failures[:10]


# ---- through the binding: limits, progress, cancellation, bytes -----------------------------------

def test_entry_limit_through_the_binding():
    import modelstore
    entry = by_name("single")
    n = len(entry["facts"]["variables"])
    with modelstore.Artifact(str(path_of(entry)), max_members=100) as a:
        report = a.validate()
    codes = {f.code for f in report.findings}
    assert "tf.bundle.limit" in codes, codes
    assert not report.valid
    assert n > 100


def test_metadata_limit_through_the_binding():
    import modelstore
    entry = by_name("single")
    with modelstore.Artifact(str(path_of(entry)), max_metadata=2048) as a:
        report = a.validate()
    assert "tf.bundle.limit" in {f.code for f in report.findings}


def test_progress_and_cancel_on_a_big_shard():
    import modelstore
    entry = by_name("big_hole")
    seen = []
    with modelstore.Artifact(str(path_of(entry))) as a:
        report = a.validate(progress=lambda done, total: seen.append((done, total)))
        assert report.valid
        assert seen and seen[-1][0] == seen[-1][1]
        assert len(seen) > 10  # streamed in chunks, not one read
        with pytest.raises(modelstore.ModelStoreError):
            a.validate(progress=lambda done, total: done > (1 << 20))


def test_lone_index_from_memory():
    import modelstore
    entry = by_name("lone_index")
    data = path_of(entry).read_bytes()
    with modelstore.Artifact(data, format="tf_checkpoint") as a:
        info = a.inspect()
        report = a.validate()
    assert info["model"]["variables"] == entry["facts"]["variables"]
    assert {f.code for f in report.findings} <= {"artifact.format.forced"}
