"""The frameworks behind modelstore.save() and load(): one entry per serialzy
model data format, calling each framework exactly as serialzy's serializer
for that format does (lambdazy/serialzy 1.5.1, serialzy/serializers/*.py;
see ../shared/spec/SERIALZY.md section 3).

Nothing here imports a framework at import time: a framework is imported
only to save an object of its own (so it is already loaded) or to load a
payload of its format. A framework that is missing raises
:class:`FrameworkNotInstalled`, which names the package to install.
"""
import importlib
import inspect
import json
import sys


class FrameworkNotInstalled(ImportError):
    """The framework a model needs is not installed. ``module`` is the
    Python module, ``pip`` and ``debian`` the packages that provide it
    (``debian`` is None where Debian has none)."""

    def __init__(self, module, action, pip, debian):
        where = "apt install %s, or pip install %s" % (debian, pip) if debian else \
            "pip install %s (Debian has no package)" % pip
        super().__init__("%s needs the Python module %r, which is not installed: %s"
                         % (action, module, where), name=module)
        self.module, self.pip, self.debian = module, pip, debian


# module -> (pip package, Debian package or None)
_PACKAGES = {
    "catboost": ("catboost", None),
    "tensorflow": ("tensorflow", None),
    "keras": ("keras", None),
    "lightgbm": ("lightgbm", None),
    "xgboost": ("xgboost", "python3-xgboost"),
    "torch": ("torch", "python3-torch"),
    "onnx": ("onnx", "python3-onnx"),
}


def require(module, action):
    """``import module``, or FrameworkNotInstalled naming its package."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is None or e.name.split(".")[0] != module.split(".")[0]:
            raise  # the framework is there but one of its own imports is not
        pip, debian = _PACKAGES[module.split(".")[0]]
        raise FrameworkNotInstalled(module, action, pip, debian) from e


def _top_module(typ):
    """serialzy's module_name(): the top-level package a class comes from."""
    name = getattr(typ, "__module__", None)
    return name.split(".")[0] if isinstance(name, str) else None


def _fits_module(typ, module):
    """serialzy's ModelBaseSerializer check: the class itself or one of its
    direct bases comes from `module` (a grandchild class does not fit)."""
    if _top_module(typ) == module:
        return True
    return any(_top_module(base) == module for base in getattr(typ, "__bases__", ()))


def _write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


class Format:
    """One serialzy model data format: ``name`` (e.g. "pt"), ``module`` (the
    framework, also the key of its version in the header's meta),
    ``directory`` (the payload is a SavedModel directory)."""

    def __init__(self, name, module, directory=False):
        self.name, self.module, self.directory = name, module, directory

    def fits(self, typ):
        """Whether serialzy would pick this format for objects of ``typ``.
        Imports the framework only when ``typ`` already comes from it."""
        return _fits_module(typ, self.module) and self._accepts(typ, self._fw())

    def _fw(self):
        return require(self.module, "saving a %r model" % self.name)

    def version(self):
        """``<module>.__version__`` as serialzy's meta() records it."""
        try:
            return getattr(importlib.import_module(self.module), "__version__", None)
        except ImportError:
            return None

    def type_name(self, typ):
        """schema_content's {"module", "name"} as "module.Class"."""
        return "%s.%s" % (typ.__module__, typ.__name__)

    def load_module(self):
        return require(self.module, "loading a %r model" % self.name)


class _CatBoostModel(Format):
    def _accepts(self, typ, cb):
        return typ in (cb.CatBoostClassifier, cb.CatBoostRegressor, cb.CatBoostRanker)

    def save(self, obj, path):
        obj.save_model(path, format="cbm")

    def load(self, path, schema):
        cb = self.load_module()
        model = _resolve_type(schema, "catboost", cb.CatBoost)()
        return model.load_model(path, format="cbm")


class _CatBoostPool(Format):
    def fits(self, typ):
        # registered for the exact type catboost.Pool, without a module check
        cb = sys.modules.get("catboost")
        return cb is not None and typ is getattr(cb, "Pool", None)

    def save(self, obj, path):
        if not obj.is_quantized():
            # serialzy raises this after writing the header; we write nothing
            raise ValueError("only quantized catboost.Pool objects can be saved (serialzy's "
                             "catboost_quantized_pool); call pool.quantize() first")
        obj.save(path)

    def load(self, path, schema):
        cb = self.load_module()
        return cb.Pool("quantized://" + path)


class _Keras(Format):
    def _fw(self):
        return require("tensorflow", "saving a 'tf_keras' model")

    def _accepts(self, typ, tf):
        return typ in (tf.keras.Sequential,) or (inspect.isclass(typ) and issubclass(typ, tf.keras.Model))

    def version(self):
        version = super().version()
        if version is None:  # keras only inside tensorflow
            tf = sys.modules.get("tensorflow")
            version = getattr(getattr(tf, "keras", None), "__version__", None)
        return version

    def save(self, obj, path):
        tf = self._fw()
        tf.keras.models.save_model(obj, path, save_format="tf")

    def load(self, path, schema):
        tf = require("tensorflow", "loading a 'tf_keras' model")
        return tf.keras.models.load_model(path)


def _is_revived_user_object(typ):
    return (inspect.isclass(typ) and getattr(typ, "__module__", None) == "tensorflow.python.saved_model.load"
            and getattr(typ, "__name__", None) == "_UserObject")


class _TensorFlow(Format):
    def fits(self, typ):
        if not _fits_module(typ, "tensorflow"):
            return False
        tf = self._fw()
        return (typ in (tf.train.Checkpoint,) or (inspect.isclass(typ) and issubclass(typ, tf.Module))
                or _is_revived_user_object(typ))

    def type_name(self, typ):
        if _is_revived_user_object(typ):
            # serialzy writes {"module": "tensorflow", "name": null}, which
            # ms_pack_path's "module.Class" cannot say
            raise TypeError("an object revived by tf.saved_model.load cannot be saved by modelstore.save "
                            "(serialzy names no class for it); save the original tf.Module instead")
        return super().type_name(typ)

    def save(self, obj, path):
        self._fw().saved_model.save(obj, path)

    def load(self, path, schema):
        return self.load_module().saved_model.load(path)


class _LightGBM(Format):
    def _accepts(self, typ, lgbm):
        return typ in (lgbm.LGBMRanker, lgbm.LGBMRegressor, lgbm.LGBMClassifier)

    def save(self, obj, path):
        obj.booster_.save_model(path)

    def load(self, path, schema):
        return self.load_module().Booster(model_file=path)


class _XGBoost(Format):
    def _accepts(self, typ, xgb):
        return typ in (xgb.XGBRanker, xgb.XGBRegressor, xgb.XGBClassifier)

    def save(self, obj, path):
        obj.save_model(path)  # no extension: the writer's default encoding

    def load(self, path, schema):
        model = self.load_module().Booster({"nthread": 4})
        model.load_model(path)
        return model


class _Torch(Format):
    def _accepts(self, typ, torch):
        return inspect.isclass(typ) and issubclass(typ, torch.nn.Module)

    def save(self, obj, path):
        self._fw().jit.script(obj).save(path)

    def load(self, path, schema):
        # TorchScript carries its code: the class need not be importable
        # (serialzy's resolve() imports it, so a notebook's class fails there)
        return self.load_module().jit.load(path)


class _Onnx(Format):
    def _accepts(self, typ, onnx):
        return inspect.isclass(typ) and issubclass(typ, onnx.ModelProto)

    def save(self, obj, path):
        _write_bytes(path, obj.SerializeToString())

    def load(self, path, schema):
        onnx = self.load_module()
        with open(path, "rb") as f:
            return onnx.load(f)


# serialzy's registry order among equal priorities: serializer module, then
# class name (catboost, lightgbm, onnx, tensorflow Keras before Pure, torch,
# xgboost)
FORMATS = [
    _CatBoostPool("catboost_quantized_pool", "catboost"),
    _CatBoostModel("cbm", "catboost"),
    _LightGBM("lgbm", "lightgbm"),
    _Onnx("onnx", "onnx"),
    _Keras("tf_keras", "keras", directory=True),
    _TensorFlow("tf_pure", "tensorflow", directory=True),
    _Torch("pt", "torch"),
    _XGBoost("xgb", "xgboost"),
]
BY_NAME = {f.name: f for f in FORMATS}


def format_of(obj):
    """The Format serialzy would save ``obj`` with, or TypeError."""
    typ = type(obj)
    for fmt in FORMATS:
        if fmt.fits(typ):
            return fmt
    raise TypeError("modelstore.save takes the objects serialzy saves as models (CatBoost models and "
                    "quantized Pools, Keras models, tf.Module and tf.train.Checkpoint, LightGBM and XGBoost "
                    "scikit-learn models, torch.nn.Module, onnx.ModelProto), not %s.%s"
                    % (typ.__module__, typ.__qualname__))


def _resolve_type(schema, package, base):
    """The class a header's schema_content names, imported only when it
    belongs to ``package`` and subclasses ``base``: the header is untrusted,
    and importing an arbitrary module runs its code."""
    content = schema if isinstance(schema, dict) else {}
    module, name = content.get("module"), content.get("name")
    if not (isinstance(module, str) and isinstance(name, str)
            and module.split(".")[0] == package and name.isidentifier()):
        raise ValueError("the stream's schema names %s, not a class of %s"
                         % (json.dumps(content), package))
    typ = getattr(importlib.import_module(module), name, None)
    if not (inspect.isclass(typ) and issubclass(typ, base)):
        raise ValueError("the stream's schema names %s.%s, which is not a %s.%s class"
                         % (module, name, base.__module__, base.__name__))
    return typ
