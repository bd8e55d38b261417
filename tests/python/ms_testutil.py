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
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = pathlib.Path(os.environ["FIXTURES"]) if os.environ.get("FIXTURES") else None
MODELS = FIXTURES / "models" if FIXTURES else None
CORPUS = pathlib.Path(os.environ["CORPUS"]) if os.environ.get("CORPUS") else None


def read_manifest(directory):
    """directory/manifest.json as a dict, or None when directory is None or
    holds no manifest."""
    if directory is None or not (directory / "manifest.json").is_file():
        return None
    with open(directory / "manifest.json") as f:
        return json.load(f)


MANIFEST = read_manifest(MODELS)


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


class FixtureSet:
    """What one generator, tests/fixtures/gen_NAME.py (run by meson), wrote
    into FIXTURES/NAME: its manifest and files; `key` is the entry field
    that names a file."""

    def __init__(self, name, key="path"):
        self.dir = FIXTURES / name if FIXTURES else None
        self.key = key
        self.missing = ("FIXTURES/%s/manifest.json missing (gen_%s.py runs through meson: tests/fixtures/meson.build)"
                        % (name, name))
        self.missing_id = name + "-fixtures-missing"
        self.manifest = read_manifest(self.dir)
        if self.manifest is None:
            self.why_not = self.missing
        elif self.manifest.get("skipped"):
            # A generator whose framework cannot be imported (not in CI) writes a
            # manifest that only says why: {"skipped": reason, "files": []}.
            self.why_not = "gen_%s.py: %s" % (name, self.manifest["skipped"])
        else:
            self.why_not = None

    def params(self, predicate=lambda e: True):
        """pytest params, one per manifest entry `predicate` accepts (id = its
        file); without the fixtures, one param None: skipped saying why, but
        in CI (env CI set) run, so that need() fails it."""
        if self.why_not:
            if os.environ.get("CI"):
                return [pytest.param(None, id=self.missing_id)]  # fails in need()
            return [pytest.param(None, id=self.missing_id, marks=pytest.mark.skip(reason=self.why_not))]
        return [pytest.param(e, id=e[self.key]) for e in self.manifest["files"] if predicate(e)]

    def need(self, entry):
        """The entry's file; the None param (no fixtures) fails."""
        if entry is None:
            pytest.fail("CI: " + (self.why_not or self.missing))
        return self.dir / entry[self.key]

    def entry(self, name):
        """The manifest entry whose `key` is name: without the fixtures the
        test skips, saying why (in CI it fails); a name the manifest does
        not have fails."""
        self.require()
        for e in self.manifest["files"]:
            if e[self.key] == name:
                return e
        pytest.fail("the manifest has no %s" % name)

    def require(self):
        """For a test that reads the manifest itself: without the fixtures it
        skips, saying why, or in CI fails."""
        if self.why_not and os.environ.get("CI"):
            pytest.fail("CI: " + self.why_not)
        if self.why_not:
            pytest.skip(self.why_not)


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


def run_json_within(seconds, cli, *args):
    """(exit status, first JSON line) of one CLI run, which must end in less
    than `seconds` with status 0 or 1 (the Cli helper already refuses a
    signal) and print JSON."""
    t0 = time.monotonic()
    proc = cli(*args, timeout=max(60, 3 * seconds))
    elapsed = time.monotonic() - t0
    assert elapsed < seconds, "modelstore %s took %.1fs" % (" ".join(map(str, args)), elapsed)
    assert proc.returncode in (0, 1), (proc.returncode, proc.stderr.decode(errors="replace"))
    lines = proc.stdout.decode().splitlines()
    assert lines, ("no output", proc.stderr.decode(errors="replace"))
    return proc.returncode, json.loads(lines[0])


def inspected(status, info):
    """The JSON of an `inspect --json` run that must succeed (exit 0)."""
    assert status == 0, info
    return info


def check_verdict(status, report, valid, formats=None, check=None):
    """One `validate --json` run, (exit status, JSON report): its format is
    among `formats` and check(findings) passes (each when given), then the
    verdict is `valid` with the exit status that goes with it (0 / 1).
    Returns the report."""
    if formats is not None:
        assert report["format"] in formats, (report["format"], brief(report["findings"]))
    if check is not None:
        check(report["findings"])
    assert report["valid"] is valid, brief(report["findings"])
    assert status == (0 if valid else 1)
    return report


def unclean_runs(cli, label, path, argsets, seconds):
    """Runs `modelstore ARGS PATH` for each argument list; the runs that did
    not end cleanly, each as a tuple (label, args, what): an exit status
    other than 0 or 1, no output, `seconds` or more, or a validate whose
    JSON verdict disagrees with its exit status."""
    failures = []
    for args in argsets:
        t0 = time.monotonic()
        proc = cli(*args, path, timeout=max(60, 3 * seconds))
        elapsed = time.monotonic() - t0
        out = proc.stdout.decode(errors="replace").splitlines()
        if proc.returncode not in (0, 1) or not out or elapsed >= seconds:
            failures.append((label, args, proc.returncode, round(elapsed, 2),
                             proc.stderr.decode(errors="replace")[:200]))
            continue
        doc = json.loads(out[0])
        if args[0] == "validate" and doc.get("valid") is not (proc.returncode == 0):
            failures.append((label, args, "exit %d but valid=%r" % (proc.returncode, doc.get("valid"))))
    return failures


def findings_of(report):
    """Findings as dicts, from the CLI's JSON or the binding's Report."""
    if isinstance(report, dict):
        return report["findings"]
    return [f._asdict() for f in report.findings]


def brief(findings):
    """Finding dicts, short, for an assertion's message."""
    return [(f["severity"], f["code"], f.get("where"), f.get("message")) for f in findings]


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
