"""Stand-in for catboost (see ../README.md)."""
__version__ = "1.2.2"

from .core import CatBoost, CatBoostClassifier, CatBoostRanker, CatBoostRegressor, Pool  # noqa: E402,F401
