"""save(), load() and open(): framework objects to and from serialzy model
streams, for notebooks.

save() calls the framework's own save exactly as serialzy's serializer for
the object's type does (see _frameworks.py), into a private temporary
directory, then writes the stream through the C library (ms_pack_path),
with the model resource (name, notebook, variable, user, ...) in the
header. load() unpacks the payload through the C library (size and SHA-256
checked) and calls the framework's load. open() needs no framework at all.
"""
import builtins
import ctypes
import getpass
import glob
import json
import os
import re
import shutil
import sys
import tempfile
import urllib.request

from . import _display, _frameworks
from ._display import progress_for


def _modelstore():
    return sys.modules[__package__]


# ---- defaults of the model resource ------------------------------------------------------------------

def default_user():
    """The login name (getpass: $LOGNAME, $USER, ..., then the password
    database), or None when there is none."""
    try:
        return getpass.getuser() or None
    except Exception:  # no such variables and no passwd entry (containers)
        return None


def _kernel_id():
    """The id of the Jupyter kernel this code runs in, or None."""
    if _display._kernel_display() is None:
        return None
    try:
        from ipykernel.connect import get_connection_file
        name = os.path.basename(get_connection_file())
    except Exception:
        return None
    m = re.match(r"kernel-(.+)\.json$", name)
    return m.group(1) if m else None


def _runtime_dirs():
    dirs = []
    if os.environ.get("JUPYTER_RUNTIME_DIR"):
        dirs.append(os.environ["JUPYTER_RUNTIME_DIR"])
    try:
        from jupyter_core.paths import jupyter_runtime_dir
        dirs.append(jupyter_runtime_dir())
    except Exception:
        data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
        dirs.append(os.path.join(data, "jupyter", "runtime"))
    return list(dict.fromkeys(dirs))


# The server and its token come from our own runtime directory: ask it
# directly, never through a proxy from the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def notebook_from_servers(kernel_id, runtime_dirs, timeout=1.0):
    """The path of the notebook whose session runs ``kernel_id``, asked of
    every Jupyter server that left a jpserver-*.json (or the classic
    nbserver-*.json) in ``runtime_dirs``; None when no server answers."""
    for directory in runtime_dirs:
        files = sorted(glob.glob(os.path.join(directory, "jpserver-*.json"))
                       + glob.glob(os.path.join(directory, "nbserver-*.json")))
        for info_file in files:
            try:
                with builtins.open(info_file) as f:
                    info = json.load(f)
                url = info["url"].rstrip("/") + "/api/sessions"
                request = urllib.request.Request(url)
                if info.get("token"):
                    request.add_header("Authorization", "token " + info["token"])
                with _NO_PROXY.open(request, timeout=timeout) as response:
                    sessions = json.loads(response.read(4 << 20))
                for session in sessions:
                    if (session.get("kernel") or {}).get("id") == kernel_id:
                        path = session.get("path") or (session.get("notebook") or {}).get("path")
                        if isinstance(path, str) and path:
                            return path
            except Exception:
                continue  # a stale file, a server that is gone or refuses us
    return None


def default_notebook():
    """The notebook this kernel runs: $JPY_SESSION_NAME (set by
    jupyter-server), else the Jupyter server's sessions when one is
    reachable, else None (outside Jupyter, or nbclient/papermill runs)."""
    name = os.environ.get("JPY_SESSION_NAME")
    if name:
        return name
    kernel = _kernel_id()
    if kernel is None:
        return None
    return notebook_from_servers(kernel, _runtime_dirs())


def default_variable(obj, frame):
    """The one name in the caller's namespace (locals, then globals) that
    holds ``obj``; None when there is none or several. Names starting with
    "_" are skipped: IPython keeps every displayed result in _, __, _N."""
    names = set()
    for namespace in (frame.f_locals, frame.f_globals):
        for name, value in list(namespace.items()):
            if value is obj and isinstance(name, str) and not name.startswith("_"):
                names.add(name)
    return names.pop() if len(names) == 1 else None


# ---- results ------------------------------------------------------------------------------------------

class Inspection(dict):
    """The result of Model.inspect(): the library's JSON description as a
    dict, shown as a table in Jupyter."""

    def _repr_html_(self):
        return "<div>%s</div>" % _display.html_table(self.items())


class Model:
    """A model resource in a serialzy stream, as open() returns it.

    ``metadata`` is the model resource (name, notebook, variable, user,
    created_at, size, sha256, description, tags; {} when the stream has
    none), ``format`` the data format. Reading it needs no framework; each
    inspect() or validate() reads the file again.
    """

    def __init__(self, path):
        ms = _modelstore()
        self.path = os.fspath(path)
        if not isinstance(self.path, str):
            self.path = os.fsdecode(self.path)
        with ms.Artifact(self.path) as artifact:
            self.container = artifact.container
            self.size = artifact.size
            detected = artifact.format
            self.metadata = _model_metadata(artifact)
        self._header = None
        self.format = detected or self.header.get("data_format")

    @property
    def header(self):
        """The serialzy header (data_format, schema_format, schema_content,
        meta, parsed), {} when the file is not a serialzy stream."""
        if self._header is None:
            self._header = _serialzy_header(self.path)
        return self._header

    def inspect(self, *, hash=False, progress=True):
        """The description of the stream and its model (see
        modelstore.inspect) as an :class:`Inspection`."""
        with progress_for(progress, "hashing " + os.path.basename(self.path)) as callback:
            return Inspection(_modelstore().inspect(self.path, hash=hash, progress=callback))

    def validate(self, *, quick=False, progress=True):
        """Validates the stream and its model; returns a Report (``valid``,
        ``findings``). ``progress=True`` shows progress once validation
        runs past a second; a callable gets (done, total) instead."""
        with progress_for(progress, "validating " + os.path.basename(self.path)) as callback:
            return _modelstore().validate(self.path, quick=quick, progress=callback)

    def load(self):
        """The framework object (see modelstore.load)."""
        return load(self.path)

    def __repr__(self):
        return "<modelstore.Model %r format=%r name=%r>" % (self.path, self.format, self.metadata.get("name"))

    def _repr_html_(self):
        e = _display._e
        rows = [("path", self.path), ("format", self.format), ("container", self.container)]
        rows += list(self.metadata.items())
        title = self.metadata.get("name") or os.path.basename(self.path)
        return "<div><p><b>%s</b> (%s model)</p>%s</div>" % (e(title), e(self.format or "unknown"),
                                                             _display.html_table(rows))


def _model_metadata(artifact):
    ffi = _modelstore()._ffi
    handle = ctypes.POINTER(ffi.ms_model)()
    try:
        ffi.ms_model_from_artifact(ctypes.byref(handle), artifact._h())
    except ffi.ModelStoreError as e:
        if e.code in (ffi.ErrorCode.ENOTFOUND, ffi.ErrorCode.EFORMAT):
            return {}  # no user-meta, or free-form user-meta that is no model resource
        raise
    try:
        return _modelstore()._model_dict(handle)
    finally:
        ffi.ms_model_free(handle)


def _serialzy_header(path):
    ms = _modelstore()
    try:
        info = ms.inspect(path)
    except ms.ModelStoreError as e:
        info = getattr(e, "partial", None) or {}  # the model failed to parse, the header did not
    return info.get("serialzy") or {}


def open(path):
    """Opens the serialzy stream at ``path``; returns a :class:`Model`."""
    return Model(path)


# ---- save and load ------------------------------------------------------------------------------------

def save(obj, path, *, name, notebook=None, variable=None, user=None, description=None, tags=None,
         overwrite=False, progress=True):
    """Saves a framework object as a serialzy model stream at ``path``, the
    way serialzy does, with a model resource in its header; returns the
    :class:`Model` written.

    ``user`` defaults to the login name, ``notebook`` to the Jupyter
    notebook this kernel runs, ``variable`` to the one name in the caller's
    namespace that holds ``obj`` (None where unknown). ``overwrite``
    replaces an existing file; ``progress=True`` shows progress once the
    save runs past a second (a callable gets (done, total) instead).
    """
    if tags is not None and (isinstance(tags, (str, bytes)) or not all(isinstance(t, str) for t in tags)):
        raise TypeError("tags must be a list of strings")
    fmt = _frameworks.format_of(obj)
    type_name = fmt.type_name(type(obj))
    if variable is None:
        frame = sys._getframe(1)
        try:
            variable = default_variable(obj, frame)
        finally:
            del frame
    if notebook is None:
        notebook = default_notebook()
    if user is None:
        user = default_user()
    ms = _modelstore()
    work = tempfile.mkdtemp(prefix="modelstore-save-")
    try:
        # serialzy saves into a NamedTemporaryFile (tmpXXXXXXXX, no extension)
        # or a mkdtemp() directory; TorchScript names its zip folder after it
        if fmt.directory:
            target = tempfile.mkdtemp(dir=work)
        else:
            fd, target = tempfile.mkstemp(dir=work)
            os.close(fd)
        # the clock starts before the framework's save: a long save shows
        # progress once the C library copies the payload
        with progress_for(progress, "saving " + os.path.basename(os.fspath(path))) as callback:
            fmt.save(obj, target)
            ms.pack(target, path, format=fmt.name, type=type_name, framework_version=fmt.version(),
                    overwrite=overwrite, progress=callback, name=name, notebook=notebook, variable=variable,
                    user=user, description=description, tags=list(tags) if tags is not None else None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Model(path)


def load(path, *, verify=True, progress=True):
    """Loads the model of the serialzy stream at ``path`` with its
    framework, as serialzy does: a TorchScript module (torch.jit.load, so a
    class defined in the notebook itself loads back), an xgboost.Booster or
    lightgbm.Booster (as serialzy returns them), a CatBoost model of the
    class the header names, a catboost.Pool, a Keras model, a revived
    tf.Module, an onnx.ModelProto. The payload's size and SHA-256 are
    checked against the model resource first (``verify=False`` skips it).
    FrameworkNotInstalled names the package when the framework is missing.
    """
    ms = _modelstore()
    path = os.fspath(path)
    header = _serialzy_header(path)
    data_format = header.get("data_format")
    if not header:
        raise ValueError("%s is not a serialzy stream (modelstore.load reads what modelstore.save writes)"
                         % path)
    if data_format == "skl":
        raise ValueError("%s holds a pickled scikit-learn model: modelstore.load never unpickles (it runs "
                         "code); modelstore.unpack() extracts it if you trust it" % path)
    fmt = _frameworks.BY_NAME.get(data_format)
    if fmt is None:
        raise ValueError("%s holds data format %r, which is not a serialzy model format" % (path, data_format))
    fmt.load_module()  # before unpacking: say what is missing first
    work = tempfile.mkdtemp(prefix="modelstore-load-")
    try:
        with progress_for(progress, "unpacking " + os.path.basename(path)) as callback:
            target = ms.unpack(path, work, verify=verify, progress=callback)
        return fmt.load(target, header.get("schema_content"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
