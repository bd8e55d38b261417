from standin_calls import read, record, write

MODEL = b"tree\nversion=v3\nnum_class=1\nstand-in lightgbm model\n\npandas_categorical:null\n"


class Booster:
    def __init__(self, *args, **kwargs):
        record("lightgbm.Booster", args, kwargs)
        self.loaded = read(kwargs["model_file"]) if "model_file" in kwargs else None

    def save_model(self, *args, **kwargs):
        record("booster_.save_model", args, kwargs)
        write(args[0], MODEL)
        return self
