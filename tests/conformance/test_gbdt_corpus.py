"""XGBoost and LightGBM conformance over ../shared/corpus: the model facts
`modelstore inspect --json` reports equal the manifests' facts (read back
through the frameworks, or from the bytes for the public LightGBM files),
valid models get no error finding, negatives get at least one.

Environment as for test_corpus.py: MODELSTORE_CLI and CORPUS.
"""

import pytest

from corpus_cli import ROOT, errors, run, load_manifest




PUBLIC = load_manifest("public/manifest.json")
GENERATED = load_manifest("generated/manifest.json")

PUBLIC_GBDT = [e for e in (PUBLIC or {}).get("entries", []) if e["data_format"] in ("xgb", "lgbm")]
GENERATED_XGB = [e for e in (GENERATED or {}).get("files", []) if e.get("expected_format") == "xgb"]


def _params(entries, key):
    if not entries:
        return [pytest.param(None, id="corpus-absent", marks=pytest.mark.skip(reason="corpus absent"))]
    return [pytest.param(e, id=e[key]) for e in entries]


@pytest.mark.parametrize("entry", _params(PUBLIC_GBDT, "path"))
def test_public_facts_and_verdict(cli, entry):
    path = ROOT / "public" / entry["path"]
    info = run(cli, "inspect", "--json", str(path))
    report = run(cli, "validate", "--json", str(path))
    facts = entry["facts"]
    if entry["negative_fixture"]:
        # no model of its format (a lone tree block, a pre-release format)
        assert info["format"] is None or not report["valid"]
        return
    assert info["format"] == entry["data_format"]
    assert not errors(report), errors(report)
    m = info["model"]
    if entry["data_format"] == "lgbm":
        version = facts["version"]
        assert m["version"] == (None if version.startswith("(none") else version)
        for key in ("num_class", "num_tree_per_iteration", "max_feature_idx", "label_index", "objective",
                    "average_output", "num_trees", "linear_trees"):
            assert m[key] == facts[key], key
        assert len(m["feature_names"]) == facts["num_feature_names"]
        if "boosting" in facts:
            assert m["boosting"] == facts["boosting"]
        assert (m["parameters"] is not None) == facts["has_parameters_section"]
    else:
        assert m["encoding"] == {"json": "json", "legacy_binary": "binary", "ubjson": "ubjson"}[facts["container"]]
        if "xgboost_version" in facts:
            assert m["version"] == facts["xgboost_version"]
        for key in ("objective", "booster", "num_trees"):
            if key in facts:
                assert m[key] == facts[key], key


@pytest.mark.parametrize("entry", _params(GENERATED_XGB, "path"))
def test_generated_xgboost(cli, entry):
    path = ROOT / "generated" / entry["path"]
    info = run(cli, "inspect", "--json", str(path))
    report = run(cli, "validate", "--json", str(path))
    assert info["format"] == "xgb"
    if not entry["expected_valid"]:
        assert not report["valid"] and errors(report)
        assert "error" in info or entry["kind"] != "truncated"
        return
    assert not errors(report), errors(report)
    facts, m = entry["facts"], info["model"]
    enc = {"json": "json", "ubjson": "ubjson", "deprecated_binary": "binary"}[facts["model_format"]]
    assert m["encoding"] == enc
    for key in ("num_feature", "num_class", "objective", "booster", "num_boosted_rounds", "base_score",
                "feature_names", "feature_types", "num_trees", "num_parallel_tree"):
        assert m[key] == facts[key], key
    assert sorted(m["attributes"] or []) == sorted(facts["attribute_names"])
