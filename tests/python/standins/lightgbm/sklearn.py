from .basic import Booster


class LGBMModel:
    def __init__(self):
        self._Booster = Booster(note="fit")

    @property
    def booster_(self):
        return self._Booster


class LGBMClassifier(LGBMModel):
    pass


class LGBMRegressor(LGBMModel):
    pass


class LGBMRanker(LGBMModel):
    pass
