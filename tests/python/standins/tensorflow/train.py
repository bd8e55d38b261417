from tensorflow.python.checkpoint.checkpoint import Checkpoint  # noqa: F401
