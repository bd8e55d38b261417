"""ONNX conformance over ../shared/corpus (issue 3): `modelstore inspect
--json` reports the facts the corpus manifests recorded with python3-onnx,
and `modelstore validate --json` raises no false error, while the models
that are broken for a real reason get one.

Environment as for test_corpus.py: MODELSTORE_CLI and CORPUS. Skips,
saying so, when the corpus is absent.

Naming between the manifests and our inspect JSON:
- public: `opset_imports` writes the default domain as "ai.onnx" (a file
  importing "" or "ai.onnx" both show "ai.onnx"); `op_types` is the set of
  "domain::op" over the main graph, its subgraphs and its functions, with
  the default domain written "ai.onnx"; ours is the main graph's histogram
  keyed "op" or "domain:op". `inputs` lists every graph input (an IR 3
  model's initializers too), ours leaves initializers out; and
  `initializer_count` counts subgraph initializers too (corpus notes). So
  these compare exactly only where the model has no initializers /
  subgraphs / functions, and as subsets otherwise.
- generated: `opset_imports` as in the file ("" stays ""),
  `op_type_histogram` keyed like ours, `node_count_including_subgraphs` +
  the functions' node counts = our node_count_total, `param_count` = our
  parameters, `functions` objects whose names are ours.
"""
import re

import pytest

from corpus_cli import ROOT, errors, load_manifest, params, run

ONNX_TABLE_OPSET = 17  # onnx 1.12, the checker that wrote the manifests, knows ai.onnx up to 17
ONNX_1_12_IR = 8



PUBLIC = load_manifest("public/manifest.json")
GENERATED = load_manifest("generated/manifest.json")
PUBLIC_ONNX = [e for e in (PUBLIC or {}).get("entries", []) if e["data_format"] == "onnx"]
GENERATED_ONNX = [e for e in (GENERATED or {}).get("files", []) if e.get("expected_format") == "onnx"]


def codes(report):
    return [f["code"] for f in report["findings"]]


# ---- the verdict each public model must get, from the manifest alone ------------------
#
# Each class: (name, test on the entry, expected verdict, reason). The first
# matching class decides. "valid": no error finding; "invalid": at least one
# error, and `codes` (if any) among the findings.

def _public_opset(entry):
    imports = entry["facts"]["opset_imports"]
    return imports.get("ai.onnx", imports.get(""))


def _err(entry):
    return (entry["facts"].get("check_model_error") or "").split("\n")[0]


PUBLIC_CLASSES = [
    ("negative_fixture", lambda e: e["negative_fixture"], "invalid",
     "the corpus marks it NEGATIVE: onnx's checker rejects it in 1.12 and in the current release"),
    ("checker_ok", lambda e: e["facts"]["check_model"] == "ok", "valid",
     "onnx 1.12's checker accepts it"),
    ("newer_ir", lambda e: _err(e) == "Your model ir_version is higher than the checker's."
     and 8 < e["facts"]["ir_version"] <= 13, "valid",
     "rejected only because its IR (9..13) is newer than onnx 1.12's IR 8; we support IR 1..13"),
    ("newer_op", lambda e: re.match(r"No Op registered for \w+ with domain_version of (\d+)$", _err(e))
     and int(re.match(r".*of (\d+)$", _err(e)).group(1)) > ONNX_TABLE_OPSET, "valid",
     "the operator belongs to an ai.onnx opset newer than onnx 1.12's table (17): a warning at most"),
    ("newer_schema", lambda e: (_public_opset(e) or 0) > ONNX_TABLE_OPSET and re.search(
        r"has input size \d+ not in range|Unrecognized attribute: \w+ for operator|"
        r"is marked single but has an empty string", _err(e)), "valid",
     "the model imports ai.onnx > 17 and the op's signature changed after opset 17 (axes as an input, "
     "Split num_outputs, Resize antialias, optional inputs): onnx 1.12 checks it against an older schema"),
    ("external_in_memory", lambda e: e["kind"] == "directory" and "should be stored in" in _err(e)
     and e["facts"].get("check_model_path") == "ok", "valid",
     "in memory onnx 1.12 cannot find the external file; checked in its directory it passes"),
    ("ai_onnx_alias", lambda e: "ai.onnx" in e["facts"]["opset_imports"] and re.match(
        r"No opset import for domain ''$|No Op registered for \w+ with domain_version of \d+$", _err(e))
     and "ai.onnx" in (e.get("note") or ""), "valid",
     "the default domain is imported or used under the name 'ai.onnx'; onnx 1.12 looks only for '', "
     "FORMATS.md §8.3 item 3 treats both names as one domain"),
]

# For negative fixtures: the code the checker's message maps to.
PUBLIC_NEGATIVE_CODES = [
    (r"^No opset import for domain '", "onnx.node.domain_not_imported"),
    (r"^Field 'type' of 'value_info' is required but missing", "onnx.value.type_missing"),
    (r"^Field 'shape' of 'type' is required but missing", "onnx.value.type_missing"),
    (r"^Nodes in a graph must be topologically sorted", "onnx.node.undefined_input"),
    (r"^Mismatched attribute type", "onnx.node.attribute_type"),
    (r"^The model does not have an ir_version set properly", "onnx.ir_version.missing"),
    (r"^Field 'name' of 'graph' is required to be non-empty", "onnx.graph.name_empty"),
    (r"^No Op registered for \w+ with domain_version of \d+$", "onnx.node.unknown_op"),
]


def public_class(entry):
    for name, test, verdict, reason in PUBLIC_CLASSES:
        if test(entry):
            return name, verdict, reason
    return "unclassified", None, "no class: the manifest's error is not one of the known kinds"


def test_every_public_onnx_model_is_classified():
    if not PUBLIC_ONNX:
        pytest.skip("corpus absent")
    unclassified = [(e["path"], _err(e)) for e in PUBLIC_ONNX if public_class(e)[0] == "unclassified"]
    assert not unclassified
    for e in PUBLIC_ONNX:
        if e["negative_fixture"]:
            assert any(re.search(p, _err(e)) for p, _ in PUBLIC_NEGATIVE_CODES), (e["path"], _err(e))


# ---- public ---------------------------------------------------------------------------

def _our_op_set(hist):
    """Our histogram keys as the public manifest writes them."""
    out = set()
    for key in hist:
        domain, sep, op = key.rpartition(":")
        out.add(("ai.onnx" if not sep else domain) + "::" + op)
    return out


def _public_value(v):
    """A public manifest input/output as our {name, dtype, shape}."""
    kind = v.get("kind")
    if kind in ("tensor_type", "sparse_tensor_type"):
        dtype = v["elem_type"].lower() if v.get("elem_type") else None
        return {"name": v["name"], "dtype": dtype, "shape": v.get("shape")}
    kinds = {"sequence_type": "sequence", "map_type": "map", "optional_type": "optional", "opaque_type": "opaque"}
    return {"name": v["name"], "dtype": kinds.get(kind), "shape": None, "_unset": kind not in kinds}


def _ours(values):
    return [{k: v.get(k) for k in ("name", "dtype", "shape")} for v in values]


def _compare_values(ours, theirs, initializers_possible, side):
    """initializers_possible: how many of their inputs may be initializers
    that ours leaves out (0: compare exactly)."""
    if not initializers_possible:
        assert len(ours) == len(theirs), side
        for o, t in zip(ours, theirs):
            assert o["name"] == t["name"], side
            if t.get("_unset"):
                continue  # no type case set: nothing to compare the dtype with
            assert o["dtype"] == t["dtype"], (side, o["name"])
            assert o["shape"] == t["shape"], (side, o["name"])
        return
    # inputs of a model with initializers: ours is theirs without the
    # initializers declared as inputs, in the same order
    names = [t["name"] for t in theirs]
    assert len(names) - initializers_possible <= len(ours) <= len(names), (side, len(ours), len(names))
    it = iter(names)
    assert all(o["name"] in it for o in ours), (side, [o["name"] for o in ours], names)
    by_name = {t["name"]: t for t in theirs}
    for o in ours:
        t = by_name[o["name"]]
        if not t.get("_unset"):
            assert (o["dtype"], o["shape"]) == (t["dtype"], t["shape"]), (side, o["name"])


@pytest.mark.parametrize("entry", params(PUBLIC_ONNX, "ONNX"))
def test_public_onnx_facts(cli, entry):
    path = ROOT / "public" / entry["path"]
    info = run(cli, "inspect", "--json", str(path))
    f = entry["facts"]
    assert info["format"] == "onnx"
    m = info["model"]
    assert m["ir_version"] == f["ir_version"]
    assert m["producer_name"] == f["producer_name"]
    assert m["producer_version"] == f["producer_version"]
    assert {("ai.onnx" if k == "" else k): v for k, v in m["opset_import"].items()} == f["opset_imports"]
    assert m["graph"]["name"] == f["graph_name"]
    assert m["graph"]["node_count"] == f["node_count"]
    nested = f["subgraph_count"] > 0 or f["local_functions"] > 0
    ops = _our_op_set(m["graph"]["op_types"])
    assert sum(m["graph"]["op_types"].values()) == f["node_count"]
    if nested:
        assert ops <= set(f["op_types"])
    else:
        assert ops == set(f["op_types"])
    if f["subgraph_count"] > 0:
        assert m["graph"]["initializer_count"] <= f["initializer_count"]
    else:
        assert m["graph"]["initializer_count"] == f["initializer_count"]
    assert m["graph"]["sparse_initializer_count"] == f["sparse_initializer_count"]
    assert len(m["functions"]) == f["local_functions"]
    assert len(m["external_data"]) == f["external_data_tensors"]
    if "external_data_locations" in f:
        assert sorted({x["location"] for x in m["external_data"]}) == sorted(f["external_data_locations"])
    theirs_in = [_public_value(v) for v in f["inputs"]]
    _compare_values(_ours(info["inputs"]), theirs_in, f["initializer_count"], "inputs")
    _compare_values(_ours(info["outputs"]), [_public_value(v) for v in f["outputs"]], 0, "outputs")


@pytest.mark.parametrize("entry", params(PUBLIC_ONNX, "ONNX"))
def test_public_onnx_verdict(cli, entry):
    path = ROOT / "public" / entry["path"]
    report = run(cli, "validate", "--json", str(path))
    name, verdict, reason = public_class(entry)
    assert verdict is not None, (name, reason, _err(entry))
    assert report["format"] == "onnx"
    if verdict == "valid":
        assert not errors(report), (name, reason, errors(report))
        return
    assert not report["valid"] and errors(report), (name, reason)
    want = [c for p, c in PUBLIC_NEGATIVE_CODES if re.search(p, _err(entry))]
    assert want and want[0] in codes(report), (name, want, report["findings"])


# ---- generated --------------------------------------------------------------------------

# Negative kinds and reasons (manifest "kind" / "reason") -> the code they must produce.
GENERATED_NEGATIVE_CODES = [
    (lambda e: e["kind"] == "truncated", "onnx.wire.truncated"),
    (lambda e: e["reason"].startswith("absolute external-data location"), "onnx.external.path_absolute"),
    (lambda e: e["reason"].startswith("relative location escapes"), "onnx.external.path_traversal"),
    (lambda e: e["reason"] == "ir_version is 0", "onnx.ir_version.missing"),
    (lambda e: e["reason"] == "opset_import is empty", "onnx.opset.missing"),
    (lambda e: e["reason"].startswith("initializer raw_data byte length disagrees"), "onnx.tensor.data_size"),
    (lambda e: e["reason"].startswith("a node input names a value that no node"), "onnx.node.undefined_input"),
    # a bit flip has no fixed code: onnx's checker found the damage (see its verification)
    (lambda e: e["kind"] == "bitflip", None),
]


def _generated_value(v):
    shape = None if v["shape"] is None else [d.get("dim_value", d.get("dim_param")) for d in v["shape"]]
    return {"name": v["name"], "dtype": v["elem_type_name"].lower(), "shape": shape}


@pytest.mark.parametrize("entry", params(GENERATED_ONNX, "ONNX"))
def test_generated_onnx(cli, entry):
    path = ROOT / "generated" / entry["path"]
    report = run(cli, "validate", "--json", str(path))
    assert report["format"] == "onnx"
    if not entry["expected_valid"]:
        assert not report["valid"] and errors(report), entry["reason"]
        matched = [code for test, code in GENERATED_NEGATIVE_CODES if test(entry)]
        assert matched, "unclassified negative: " + entry["reason"]
        if matched[0]:
            assert matched[0] in codes(report), (matched[0], report["findings"])
        return
    assert not errors(report), errors(report)
    info = run(cli, "inspect", "--json", str(path))
    f, m = entry["facts"], info["model"]
    for key in ("ir_version", "producer_name", "producer_version", "domain", "model_version", "doc_string",
                "metadata_props", "external_data"):
        assert m[key] == f[key], key
    assert m["opset_import"] == f["opset_imports"]
    g = m["graph"]
    assert g["name"] == f["graph_name"]
    assert g["node_count"] == f["node_count"]
    assert g["node_count_total"] == f["node_count_including_subgraphs"] + sum(x["node_count"] for x in f["functions"])
    assert g["op_types"] == f["op_type_histogram"]
    assert g["initializer_count"] == f["initializer_count"]
    assert g["sparse_initializer_count"] == f["sparse_initializer_count"]
    assert m["functions"] == [x["name"] for x in f["functions"]]
    assert info["parameters"] == f["param_count"]
    _compare_values(_ours(info["inputs"]), [_generated_value(v) for v in f["inputs"]],
                    f["initializer_count"], "inputs")
    assert _ours(info["outputs"]) == [_generated_value(v) for v in f["outputs"]]
