"""PyTorch (`pt`) conformance over ../shared/corpus: `modelstore inspect
--json` reports the facts the corpus manifests recorded with torch, every
well-formed file validates without an error, and every broken one gets at
least one (of the right family where the manifest says what is broken).

Environment as for test_corpus.py: MODELSTORE_CLI and CORPUS. Skips, saying
so, when the corpus is absent.

Naming between the manifests and our inspect JSON (`model` unless said):
- public (entries with data_format "pt"): archive_prefix = archive_prefix,
  num_members = len(records) (no public archive has directory entries),
  is_torchscript = (kind == "torchscript"), num_tensor_storages = storages
  (data/ records), serialization_version = str(version), byteorder =
  byteorder (a TorchScript entry without the key has no byteorder record:
  null, checked against the zip), has_data_pkl / has_constants_pkl /
  has_code_dir from records; the legacy ones (pickle_protocol,
  starts_with_magic_number_long) are kind "torch_save_legacy".
- generated (torch/, torchscript/, bad/*.pt): records (sorted; the manifest
  keeps torch's order), version_record = str(version),
  tensor_storage_count = storages, archive_prefix, code_files (sorted),
  extra_files name -> size, torch.save's top_level_type / top_level_keys /
  tensors (shape, dtype) and total_numel = root `parameters`,
  TorchScript's param_count = root `parameters` (unique parameters),
  buffer_element_count = root `buffers`, root_type = the last component of
  top_level_type (ours is qualified: "__torch__.<module path>.<Class>").
"""
import zipfile

import pytest

from corpus_cli import ROOT, brief, errors, load_manifest, params, run




PUBLIC = load_manifest("public/manifest.json")
GENERATED = load_manifest("generated/manifest.json")
PUBLIC_PT = [e for e in (PUBLIC or {}).get("entries", []) if e["data_format"] == "pt"]
GENERATED_PT = [e for e in (GENERATED or {}).get("files", [])
                if e["path"].startswith(("torch/", "torchscript/"))
                or (e["path"].startswith("bad/") and e["path"].endswith(".pt"))]


def test_corpus_has_the_pt_files_it_promises():
    if ROOT is None or PUBLIC is None or GENERATED is None:
        pytest.skip("corpus absent")
    assert len(PUBLIC_PT) == 39
    assert {e["path"].split("/")[0] for e in GENERATED_PT} == {"torch", "torchscript", "bad"}
    assert any(not e["expected_valid"] for e in GENERATED_PT)
    # the public .pt files are all well-formed: the negatives are the generated ones
    assert not any(e["negative_fixture"] for e in PUBLIC_PT)


# ---- public --------------------------------------------------------------------------------

def _is_legacy(entry):
    return "starts_with_magic_number_long" in entry["facts"]


@pytest.mark.parametrize("entry", params(PUBLIC_PT, "pt"))
def test_public_pt_facts(cli, entry):
    path = ROOT / "public" / entry["path"]
    f = entry["facts"]
    info = run(cli, "inspect", "--json", str(path))
    assert info["format"] == "pt"
    assert "error" not in info, info.get("error")
    m = info["model"]
    if _is_legacy(entry):
        assert f["starts_with_magic_number_long"] is True
        assert m["kind"] == "torch_save_legacy"
        return
    assert f["container"] == "zip"
    assert m["kind"] == ("torchscript" if f["is_torchscript"] else "torch_save_zip")
    assert m["archive_prefix"] == f["archive_prefix"]
    records = m["records"]
    assert len(records) == f["num_members"]
    assert records == sorted(records)
    assert ("data.pkl" in records) == f["has_data_pkl"]
    assert ("constants.pkl" in records) == f["has_constants_pkl"]
    assert any(r.startswith("code/") for r in records) == f["has_code_dir"]
    assert m["storages"] == f["num_tensor_storages"]
    assert str(m["version"]) == f["serialization_version"]
    if "byteorder" in f:
        assert m["byteorder"] == f["byteorder"]
    else:
        with zipfile.ZipFile(path) as zf:  # the manifest leaves the key out when there is no record
            assert not [n for n in zf.namelist() if n.split("/", 1)[-1] == "byteorder"]
        assert m["byteorder"] is None


@pytest.mark.parametrize("entry", params(PUBLIC_PT, "pt", lambda e: not e["negative_fixture"]))
def test_public_pt_validates(cli, entry):
    report = run(cli, "validate", "--json", str(ROOT / "public" / entry["path"]))
    assert report["format"] == "pt"
    assert not errors(report), brief(report["findings"])
    flagged = [f for f in report["findings"] if f["code"].startswith("pickle.global.")]
    assert not flagged, brief(flagged)  # every public .pt references only allowlisted globals
    assert report["valid"] is True


# ---- generated -------------------------------------------------------------------------------

def _tensor_facts(m):
    return {k: {"shape": v.get("shape"), "dtype": v.get("dtype")} for k, v in (m.get("tensors") or {}).items()}


@pytest.mark.parametrize("entry", params(GENERATED_PT, "pt", lambda e: e["expected_valid"]))
def test_generated_pt_facts(cli, entry):
    path = ROOT / "generated" / entry["path"]
    f = entry["facts"]
    info = run(cli, "inspect", "--json", str(path))
    assert info["format"] == entry["expected_format"] == "pt"
    assert "error" not in info, info.get("error")
    m = info["model"]
    if entry["kind"] == "torchscript_zip":
        assert m["kind"] == "torchscript"
        assert m["archive_prefix"] == f["archive_prefix"]
        assert m["records"] == sorted(f["records"])
        assert m["code_files"] == sorted(f["code_files"])
        assert m["storages"] == f["tensor_storage_count"]
        assert str(m["version"]) == f["version_record"]
        assert m["extra_files"] == {k: v["size"] for k, v in f["extra_files"].items()}
        top = m["top_level_type"]
        assert top.startswith("__torch__.") and top.rsplit(".", 1)[-1] == f["root_type"], top
        assert info["parameters"] == f["param_count"]
        assert info["buffers"] == f["buffer_element_count"]
    elif entry["kind"] == "torch_zip":
        assert f["serialization"] == "zip"
        assert m["kind"] == "torch_save_zip"
        assert m["archive_prefix"] == f["archive_prefix"]
        assert m["records"] == sorted(f["records"])
        assert m["storages"] == f["tensor_storage_count"]
        assert str(m["version"]) == f["version_record"]
        assert m["top_level_type"] == f["top_level_type"]
        assert m["top_level_keys"] == f["top_level_keys"]
        assert _tensor_facts(m) == f["tensors"]
        assert info["parameters"] == f["total_numel"]
        assert len({t["storage"] for t in m["tensors"].values()}) == f["unique_storage_count"]
    elif entry["kind"] == "torch_legacy_pickle":
        assert f["serialization"] == "legacy_pickle"
        assert m["kind"] == "torch_save_legacy"
        assert m["top_level_type"] == f["top_level_type"]
        assert m["top_level_keys"] == f["top_level_keys"]
        assert _tensor_facts(m) == f["tensors"]
        assert info["parameters"] == f["total_numel"]
        assert len({t["storage"] for t in m["tensors"].values()}) == f["unique_storage_count"]
    else:
        pytest.fail("unknown generated kind %r" % entry["kind"])


@pytest.mark.parametrize("entry", params(GENERATED_PT, "pt", lambda e: e["expected_valid"]))
def test_generated_pt_validates(cli, entry):
    report = run(cli, "validate", "--json", str(ROOT / "generated" / entry["path"]))
    assert report["format"] == "pt"
    assert not errors(report), brief(report["findings"])
    assert report["valid"] is True


# What each negative kind of the corpus must at least produce (a code ending
# in "." is a family); kinds not listed need any error.
NEGATIVE_FAMILIES = {
    "zip_slip": ["zip.member.path_traversal"],
    "zip_bomb": ["zip.member.ratio", "zip.member.too_large"],
    "truncated": ["zip."],
}


@pytest.mark.parametrize("entry", params(GENERATED_PT, "pt", lambda e: not e["expected_valid"]))
def test_generated_pt_negative_rejected(cli, entry):
    report = run(cli, "validate", "--json", str(ROOT / "generated" / entry["path"]))
    errs = errors(report)
    assert errs, brief(report["findings"])
    assert report["valid"] is False
    codes = [e["code"] for e in errs]
    want = NEGATIVE_FAMILIES.get(entry["kind"])
    if want:
        assert any(c.startswith(w) if w.endswith(".") else c == w for c in codes for w in want), (want, codes)
    if entry["kind"] == "malicious_pickle":
        # each global the manifest found statically is reported as unsafe, by name
        for g in entry["pickle_globals"]:
            target = g["target"]
            assert any(e["code"] == "pickle.global.unsafe" and target in (e.get("message") or "") for e in errs), \
                (target, brief(errs))
