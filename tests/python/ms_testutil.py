"""Helpers shared by the binding and CLI tests (imported as ms_testutil).

Environment (set by `meson test -C BUILD python`):
  MODELSTORE_LIBRARY  the built libmodelstore.so.0 (the binding loads it)
  MODELSTORE_CLI      the built `modelstore` program
  FIXTURES            BUILD/tests/fixtures (gen_models.py writes FIXTURES/models)
  CORPUS              ../shared/corpus (read only)
"""
import json
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = pathlib.Path(os.environ["FIXTURES"]) if os.environ.get("FIXTURES") else None
MODELS = FIXTURES / "models" if FIXTURES else None
CORPUS = pathlib.Path(os.environ["CORPUS"]) if os.environ.get("CORPUS") else None


def load_manifest():
    if MODELS is None or not (MODELS / "manifest.json").is_file():
        return None
    with open(MODELS / "manifest.json") as f:
        return json.load(f)


MANIFEST = load_manifest()


def manifest_entries(predicate=lambda e: True):
    """pytest params, one per manifest entry (id = its path), or one skipped
    param when the fixtures were not generated."""
    if MANIFEST is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason="FIXTURES/models/manifest.json missing "
                                                          "(run gen_models.py through meson)"))]
    entries = [e for e in MANIFEST["files"] if predicate(e)]
    return [pytest.param(e, id=e["path"]) for e in entries]


def fixture_path(entry):
    return MODELS / entry["path"]


class Cli:
    """Runs the modelstore program; every run is checked to end by exit(),
    never by a signal."""

    def __init__(self, path):
        self.path = path

    def __call__(self, *args, input=None, timeout=120):
        proc = subprocess.run([self.path] + [os.fspath(a) for a in args], input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        assert proc.returncode >= 0, "modelstore %s died of signal %d" % (args, -proc.returncode)
        return proc


def strings_in(value):
    """Every str inside a JSON value (keys and values), for lenient checks."""
    out = set()
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            out.add(k)
            out |= strings_in(v)
    elif isinstance(value, list):
        for v in value:
            out |= strings_in(v)
    return out


def gen_models():
    """tests/fixtures/gen_models.py as a module (for its serialzy framing
    and directory-digest helpers; importing it does not import torch)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_models", REPO / "tests" / "fixtures" / "gen_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def codes(report):
    return [f.code for f in report.findings]
