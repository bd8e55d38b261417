"""pytest fixtures for the binding and CLI tests; helpers live in ms_testutil.py."""
import os

import pytest

from ms_testutil import CORPUS, MANIFEST, MODELS, Cli


@pytest.fixture(scope="session")
def manifest():
    if MANIFEST is None:
        pytest.skip("FIXTURES/models/manifest.json missing")
    return MANIFEST


@pytest.fixture(scope="session")
def models_dir(manifest):
    return MODELS


@pytest.fixture(scope="session")
def corpus():
    if CORPUS is None or not (CORPUS / "generated" / "manifest.json").is_file():
        pytest.skip("CORPUS not set or has no generated/manifest.json")
    return CORPUS


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("MODELSTORE_CLI")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("MODELSTORE_CLI not set")
    return Cli(path)


