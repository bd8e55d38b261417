"""Stand-in for keras 2 (see ../README.md)."""
__version__ = "2.12.0"

from .engine.training import Model  # noqa: E402,F401
from .engine.sequential import Sequential  # noqa: E402,F401
from . import models  # noqa: E402,F401
