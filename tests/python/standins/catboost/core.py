from standin_calls import read, record, write

CBM = b"CBM1\x08\x00\x00\x00stand-in catboost model "
POOL = b"CatboostQuantizedPool\x00stand-in pool CatboostQuantizedPoolEnd\x00"


class CatBoost:
    def __init__(self, *args, **kwargs):
        record("catboost.%s" % type(self).__name__, args, kwargs)
        self.loaded = None

    def save_model(self, *args, **kwargs):
        record("save_model", args, kwargs)
        write(args[0], CBM + type(self).__name__.encode())

    def load_model(self, *args, **kwargs):
        record("load_model", args, kwargs)
        self.loaded = read(args[0])
        return self


class CatBoostClassifier(CatBoost):
    pass


class CatBoostRegressor(CatBoost):
    pass


class CatBoostRanker(CatBoost):
    pass


class Pool:
    def __init__(self, *args, **kwargs):
        record("catboost.Pool", args, kwargs)
        self.quantized = False
        self.loaded = None
        if args and isinstance(args[0], str) and args[0].startswith("quantized://"):
            self.loaded = read(args[0][len("quantized://"):])
            self.quantized = True

    def quantize(self):
        self.quantized = True

    def is_quantized(self):
        record("is_quantized", (), {})
        return self.quantized

    def save(self, *args, **kwargs):
        record("save", args, kwargs)
        write(args[0], POOL)
