"""Stand-in for tensorflow (see ../README.md). tf.keras is the keras
stand-in, as TensorFlow 2.x's tf.keras is the keras package."""
__version__ = "2.12.1"  # differs from keras.__version__: the tests see which one is recorded

from .python.module.module import Module  # noqa: E402,F401
from . import saved_model, train  # noqa: E402,F401
import keras  # noqa: E402,F401
