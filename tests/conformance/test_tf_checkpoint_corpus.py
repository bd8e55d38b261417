"""TensorFlow checkpoint conformance over ../shared/corpus.

- public/tf_checkpoint/*: each directory inspects as tf_checkpoint with the
  manifest's facts (index file, data shards, meta graph files, the state
  file's model_checkpoint_path) and the variables an independent reading
  finds, and validates without an error (also --quick).
- the variables/ directory of every public SavedModel (tf_pure, and
  tf_keras under savedmodel/), forced to tf_checkpoint: the same cross-check
  of its bundle, and no error.

Ground truth: the corpus manifest, and the index tables read here with
struct (a table walk of our own with a small snappy decoder) whose values
are decoded by Google's protobuf runtime from the library's descriptor
set (BundleHeaderProto, BundleEntryProto); data CRCs recomputed with the
writer's CRC-32C. Never our reader. Skips, saying so, when the corpus is
absent.
"""
import os
import struct
from pathlib import Path

import pytest

from corpus_cli import ROOT, brief, errors, fixture_helper, load_manifest, params, run

W = fixture_helper("tf_ckpt_writer")
PUBLIC = load_manifest("public/manifest.json")
CHECKPOINTS = [e for e in (PUBLIC or {}).get("entries", []) if e["data_format"] == "tf_checkpoint"]
SAVEDMODELS = [e for e in (PUBLIC or {}).get("entries", [])
               if e["data_format"] == "tf_pure" or (e["data_format"] == "tf_keras" and "/savedmodel/" in e["path"])]
MAGIC = 0xDB4775248B80FB57


def descriptor_set():
    cands = []
    if os.environ.get("TF_DESCRIPTOR_SET"):
        cands.append(Path(os.environ["TF_DESCRIPTOR_SET"]))
    if os.environ.get("MODELSTORE_LIBRARY"):
        cands.append(Path(os.environ["MODELSTORE_LIBRARY"]).resolve().parent / "tf-savedmodel.desc")
    if os.environ.get("MODELSTORE_CLI"):
        cands.append(Path(os.environ["MODELSTORE_CLI"]).resolve().parents[1] / "lib" / "tf-savedmodel.desc")
    for c in cands:
        if c.is_file():
            return c
    return None


@pytest.fixture(scope="module")
def msgs():
    d = descriptor_set()
    if d is None:
        pytest.skip("no tf-savedmodel.desc next to MODELSTORE_LIBRARY / the CLI's build (or TF_DESCRIPTOR_SET)")
    return W.load_messages(str(d))


# ---- an independent table reader ----------------------------------------------------------------

def uvarint(b, p):
    r = s = 0
    while True:
        x = b[p]
        p += 1
        r |= (x & 0x7F) << s
        s += 7
        if not x & 0x80:
            return r, p


def unsnappy(b):
    n, p = uvarint(b, 0)
    out = bytearray()
    while p < len(b):
        tag = b[p]
        p += 1
        kind = tag & 3
        if kind == 0:
            ln = tag >> 2
            if ln >= 60:
                nb = ln - 59
                ln = int.from_bytes(b[p:p + nb], "little")
                p += nb
            out += b[p:p + ln + 1]
            p += ln + 1
            continue
        if kind == 1:
            ln, off = 4 + ((tag >> 2) & 7), ((tag >> 5) << 8) | b[p]
            p += 1
        elif kind == 2:
            ln, off = 1 + (tag >> 2), int.from_bytes(b[p:p + 2], "little")
            p += 2
        else:
            ln, off = 1 + (tag >> 2), int.from_bytes(b[p:p + 4], "little")
            p += 4
        for _ in range(ln):
            out.append(out[-off])
    assert len(out) == n
    return bytes(out)


def read_block(data, off, size):
    raw = data[off:off + size]
    typ = data[off + size]
    assert struct.unpack_from("<I", data, off + size + 1)[0] == W.masked_crc32c(raw + bytes([typ]))
    blk = unsnappy(raw) if typ == 1 else raw
    assert typ in (0, 1)
    nrest = struct.unpack_from("<I", blk, len(blk) - 4)[0]
    end = len(blk) - 4 - 4 * nrest
    p, key, out = 0, b"", []
    while p < end:
        sh, p = uvarint(blk, p)
        ns, p = uvarint(blk, p)
        vl, p = uvarint(blk, p)
        key = key[:sh] + blk[p:p + ns]
        p += ns
        out.append((key, blk[p:p + vl]))
        p += vl
    return out


def read_table(path):
    data = Path(path).read_bytes()
    assert struct.unpack_from("<Q", data, len(data) - 8)[0] == MAGIC
    f = data[-48:]
    # the index handle follows the metaindex handle
    p = 0
    _, p = uvarint(f, p)
    _, p = uvarint(f, p)
    io, p = uvarint(f, p)
    isz, p = uvarint(f, p)
    out = []
    for _, handle in read_block(data, io, isz):
        o, q = uvarint(handle, 0)
        s, q = uvarint(handle, q)
        out += read_block(data, o, s)
    keys = [k for k, _ in out]
    assert keys == sorted(set(keys))
    return out


def expected_bundle(msgs, directory, prefix):
    """(header, variables [{name, dtype, shape}], parameters, tensor_count,
    total_bytes, object_based), with every entry's data CRC checked."""
    entries = read_table(os.path.join(directory, prefix + ".index"))
    assert entries[0][0] == b""
    header = msgs["BundleHeaderProto"].FromString(entries[0][1])
    variables, params, total, object_based = [], 0, 0, False
    for key, value in entries[1:]:
        e = msgs["BundleEntryProto"].FromString(value)
        total += e.size
        shard = os.path.join(directory, "%s.data-%05d-of-%05d" % (prefix, e.shard_id, header.num_shards))
        with open(shard, "rb") as fh:
            fh.seek(e.offset)
            data = fh.read(e.size)
        assert len(data) == e.size
        if e.dtype != 7:  # strings hash their lengths as fixed-width ints
            assert W.masked_crc32c(data) == e.crc32c, key
        name = key.decode()
        if name == W.OBJECT_GRAPH_KEY:
            object_based = True
            continue
        shape = None if e.shape.unknown_rank else [d.size for d in e.shape.dim]
        variables.append({"name": name, "dtype": W.dtype_name(e.dtype), "shape": shape})
        if shape is not None:
            params += W.numel(shape)
    return header, variables, params, len(entries) - 1, total, object_based


def check_bundle(msgs, info, directory, prefix):
    header, variables, params, count, total, object_based = expected_bundle(msgs, directory, prefix)
    m = info["model"]
    assert m["variables"] == variables
    assert m["tensor_count"] == count
    assert m["total_bytes"] == total
    assert m["object_based"] is object_based
    assert m["bundle_version"] == header.version.producer
    assert m["endianness"] == ("big" if header.endianness == 1 else "little")
    assert info["parameters"] == params


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
