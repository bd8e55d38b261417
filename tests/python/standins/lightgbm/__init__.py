"""Stand-in for lightgbm (see ../README.md)."""
__version__ = "3.3.5"

from .basic import Booster  # noqa: E402,F401
from .sklearn import LGBMClassifier, LGBMRanker, LGBMRegressor  # noqa: E402,F401
