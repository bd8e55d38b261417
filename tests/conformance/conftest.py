"""Shared by the corpus conformance tests: the CLI they run."""
import os

import pytest


@pytest.fixture(scope="module")
def cli():
    path = os.environ.get("MODELSTORE_CLI")
    if not path or not os.access(path, os.X_OK):
        why = f"MODELSTORE_CLI not set or not executable: {path!r}"
        if os.environ.get("CI"):
            pytest.fail(why)  # in CI a missing CLI is a broken run, not a skip
        pytest.skip(why)
    return path
