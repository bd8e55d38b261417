from tensorflow.python.module.module import Module


class Model(Module):  # as in Keras 2: a Keras model is a tf.Module too
    def __init__(self, files=None):
        self.files = files
