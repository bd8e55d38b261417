from standin_calls import read_tree, record, write_savedmodel

from .engine.training import Model


def save_model(*args, **kwargs):
    record("tf.keras.models.save_model", args, kwargs)
    write_savedmodel(args[1], keras=True)


def load_model(*args, **kwargs):
    record("tf.keras.models.load_model", args, kwargs)
    return Model(read_tree(args[0]))
