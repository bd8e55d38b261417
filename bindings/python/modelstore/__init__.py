"""Inspect and validate machine-learning model artifacts (libmodelstore).

A thin ctypes binding of the C library: every decision (detection, facts,
findings) is made in C; this package turns the results into Python values.

    >>> import modelstore
    >>> modelstore.inspect("model.onnx")["format"]
    'onnx'
    >>> report = modelstore.validate(open("model.onnx", "rb").read())
    >>> report.valid, [f.code for f in report.findings]

In notebooks, save() writes a framework object (torch, ONNX, XGBoost,
LightGBM, CatBoost, Keras, TensorFlow) as a serialzy model stream, load()
gives the framework object back and open() reads the stream's model
resource without any framework:

    >>> m = modelstore.save(net, "net.serialzy", name="net")
    >>> modelstore.open("net.serialzy").metadata["variable"]
    'net'
    >>> net2 = modelstore.load("net.serialzy")

Paths (``str`` or ``os.PathLike``) and bytes in memory (``bytes``,
``bytearray``, ``memoryview``, any contiguous buffer) are accepted
everywhere; the result of inspect() is the library's JSON as a dict.
Failures raise :class:`ModelStoreError`, which carries the library's error
code and message.
"""
import collections
import ctypes
import html
import json
import os
import threading

from . import _ffi
from ._ffi import ErrorCode, ModelStoreError

# open() is left out of __all__: "from modelstore import *" would hide the
# builtin open.
__all__ = [
    "Artifact", "ErrorCode", "Finding", "FrameworkNotInstalled", "Inspection", "Model", "ModelStoreError",
    "Report", "finding_codes", "formats", "inspect", "load", "pack", "save", "unpack", "validate", "version",
]

__version__ = "0.1.0"


def version():
    """The version of the loaded C library, e.g. ``"0.1.0"``."""
    return _ffi._text(_ffi.ms_version_string())


def version_number():
    """The loaded library's ``ms_version()``: major*10000 + minor*100 + patch."""
    return _ffi.ms_version()


def formats():
    """The data formats the library knows: a list of
    ``{"name", "description", "model"}`` dicts (``model`` is False for kinds
    of file that are not models, such as a plain HDF5 file)."""
    out = []
    for i in range(_ffi.ms_format_count()):
        name, desc, is_model = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_int()
        _ffi.ms_format_get(i, ctypes.byref(name), ctypes.byref(desc), ctypes.byref(is_model))
        out.append({"name": _ffi._text(name.value), "description": _ffi._text(desc.value),
                    "model": bool(is_model.value)})
    return out


def finding_codes():
    """Every finding code the library can emit: a list of
    ``{"code", "severity", "meaning"}`` dicts."""
    out = []
    for i in range(_ffi.ms_finding_code_count()):
        code, severity, meaning = ctypes.c_char_p(), ctypes.c_int(), ctypes.c_char_p()
        _ffi.ms_finding_code_get(i, ctypes.byref(code), ctypes.byref(severity), ctypes.byref(meaning))
        out.append({"code": _ffi._text(code.value), "severity": _severity_name(severity.value),
                    "meaning": _ffi._text(meaning.value)})
    return out


def _severity_name(value):
    return _ffi._text(_ffi.ms_severity_name(value))


# ---- Progress callbacks --------------------------------------------------------

class _Progress:
    """Wraps ``progress(done, total) -> bool | None`` as an ms_progress_fn.

    A true result cancels (the call then raises ModelStoreError with
    ``ErrorCode.ECANCELLED``). An exception raised by the callback also
    stops the operation and is re-raised from the call instead.
    """

    def __init__(self, func):
        if not callable(func):
            raise TypeError("progress must be callable as progress(done, total)")
        self.func = func
        self.exc = None
        # Kept as an attribute: the C function pointer lives as long as this
        # object, which the caller holds for the duration of the C call.
        self.c_func = _ffi.ms_progress_fn(self._call)

    def _call(self, done, total, user):
        try:
            return 1 if self.func(done, total) else 0
        except BaseException as e:  # reported after the C call returns
            self.exc = e
            return 1

    def reraise(self, error):
        if self.exc is not None:
            exc, self.exc = self.exc, None
            raise exc from error


# ---- Reports ---------------------------------------------------------------------

class Finding(collections.namedtuple("Finding", "severity code where message")):
    """One finding: ``severity`` ("info", "warning" or "error"), a stable
    dotted ``code``, ``where`` in the artifact ("" for the whole) and a
    human-readable ``message``."""
    __slots__ = ()


class Report:
    """The result of a validation. A plain Python object: the C report is
    read completely and released when the Report is made.

    ``valid`` is True when no finding has severity error; ``clean`` when no
    finding has severity warning or error.
    """

    def __init__(self, handle):
        self.valid = bool(_ffi.ms_report_valid(handle))
        self.clean = bool(_ffi.ms_report_clean(handle))
        findings = []
        for i in range(_ffi.ms_report_count(handle)):
            sev, code, where, msg = ctypes.c_int(), ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_char_p()
            _ffi.ms_report_get(handle, i, ctypes.byref(sev), ctypes.byref(code), ctypes.byref(where),
                               ctypes.byref(msg))
            findings.append(Finding(_severity_name(sev.value), _ffi._text(code.value),
                                    _ffi._text(where.value), _ffi._text(msg.value)))
        self.findings = findings
        text, length = ctypes.POINTER(ctypes.c_char)(), ctypes.c_size_t()
        _ffi.ms_report_json(handle, ctypes.byref(text), ctypes.byref(length))
        self._dict = json.loads(_ffi.take_text(text, length.value))
        self.path = self._dict.get("path")
        self.format = self._dict.get("format")

    def to_dict(self):
        """The report as the library writes it in JSON: ``{"path", "format",
        "valid", "findings": [{"severity", "code", "where", "message"}]}``."""
        return json.loads(json.dumps(self._dict))  # a copy the caller may change

    def __repr__(self):
        return "<modelstore.Report %r format=%r valid=%r findings=%d>" % (
            self.path, self.format, self.valid, len(self.findings))

    def _repr_html_(self):
        e = html.escape
        verdict = "valid" if self.valid else "INVALID"
        rows = "".join(
            "<tr><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td></tr>"
            % (e(f.severity), e(f.code), e(f.where), e(f.message)) for f in self.findings)
        return ("<div><p><b>%s</b> (%s): %s</p>"
                "<table><thead><tr><th>severity</th><th>code</th><th>where</th><th>message</th>"
                "</tr></thead><tbody>%s</tbody></table></div>"
                % (e(str(self.path)), e(str(self.format or "unknown format")), verdict, rows))


# ---- Artifacts ----------------------------------------------------------------------

def _c_buffer(data):
    """A pointer to the bytes of ``data``, their length, and the object that
    must stay alive (and unchanged) while the library may read them. bytes
    are used in place; a writable contiguous buffer is exported (so a
    bytearray cannot be resized while the artifact is open); any other
    buffer is copied once. Dropping the returned object ends the export."""
    # ctypes passes bytes and arrays to a void * parameter as their address;
    # ctypes.cast() is avoided because it makes a reference cycle that would
    # keep the buffer exported until the garbage collector runs.
    if isinstance(data, bytes):
        return data, len(data), data
    view = memoryview(data)
    if view.readonly or not view.c_contiguous:
        copy = view.tobytes()
        return copy, len(copy), copy
    if view.nbytes == 0:
        return None, 0, None
    array = (ctypes.c_char * view.nbytes).from_buffer(view.cast("B"))
    return array, view.nbytes, array


def _fs(value):
    """A path or name as the C string the library gets."""
    raw = os.fsencode(value)
    if b"\0" in raw:
        raise ValueError("embedded null byte in %r" % (value,))
    return raw


class Artifact:
    """One model artifact: a file, a directory, bytes in memory or an open
    file descriptor (:meth:`from_fd`). Opening detects the containers and
    the data format.

    Use it as a context manager, or call :meth:`close`: the C handle (and,
    for bytes, the buffer it reads) is released then. Calls on one Artifact
    from several threads are serialised; distinct Artifacts run in
    parallel.

    Keyword arguments: ``format`` forces a data format instead of
    detecting it; ``display_path`` is the "path" reported for bytes and
    descriptors; ``max_members``, ``max_member_size``, ``max_header_size``,
    ``max_depth`` and ``max_metadata`` override the limits against hostile
    input (see ``ms_open_options`` in modelstore/artifact.h).
    """

    def __init__(self, source, **options):
        self._start()
        opts = self._options(options)
        handle = ctypes.POINTER(_ffi.ms_artifact)()
        if isinstance(source, (bytes, bytearray, memoryview)):
            ptr, length, keep = _c_buffer(source)
            _ffi.ms_artifact_open_buffer(ctypes.byref(handle), ptr, length, ctypes.byref(opts))
            self._keep = keep
        elif isinstance(source, (str, os.PathLike)):
            _ffi.ms_artifact_open_path(ctypes.byref(handle), _fs(source), ctypes.byref(opts))
        else:
            raise TypeError("expected a path (str or os.PathLike) or bytes-like data, not %s"
                            % type(source).__name__)
        self._handle = handle

    @classmethod
    def from_fd(cls, fd, **options):
        """Opens an open file descriptor (or an object with ``fileno()``) of
        a regular file. The library duplicates it: the caller keeps ``fd``."""
        if not isinstance(fd, int):
            fd = fd.fileno()
        self = cls.__new__(cls)
        self._start()
        handle = ctypes.POINTER(_ffi.ms_artifact)()
        _ffi.ms_artifact_open_fd(ctypes.byref(handle), fd, ctypes.byref(cls._options(options)))
        self._handle = handle
        return self

    def _start(self):
        self._handle = None
        self._keep = None  # for buffers: the bytes the C handle reads
        self._lock = threading.Lock()

    @staticmethod
    def _options(options):
        opts = _ffi.OpenOptions()
        for key, value in options.items():
            if key not in dict(_ffi.OpenOptions._fields_) or key == "version":
                raise TypeError("unknown option %r" % key)
            if value is None:
                continue
            setattr(opts, key, _fs(value) if key in ("format", "display_path") else value)
        return opts

    # -- lifetime --

    def close(self):
        """Releases the C handle and the buffer it reads. Idempotent."""
        with self._lock:
            handle, self._handle = self._handle, None
            if handle:
                _ffi.ms_artifact_free(handle)
            self._keep = None  # only now may the buffer go (and a bytearray resize)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @property
    def closed(self):
        return self._handle is None

    def _h(self):
        if not self._handle:
            raise ValueError("operation on a closed modelstore.Artifact")
        return self._handle

    # -- facts --

    @property
    def format(self):
        """The detected (or forced) data format, e.g. "onnx", or None."""
        with self._lock:
            return _ffi._text(_ffi.ms_artifact_format(self._h()))

    @property
    def container(self):
        """The outermost container: "file", "directory", "zip", "tar" or
        "serialzy"."""
        with self._lock:
            return _ffi._text(_ffi.ms_artifact_container(self._h()))

    @property
    def size(self):
        """The size in bytes (a directory: the sum of its regular files)."""
        with self._lock:
            return _ffi.ms_artifact_size(self._h())

    def inspect(self, *, hash=False, progress=None):
        """The artifact's description as a dict (see ms_artifact_inspect).

        ``hash=True`` adds "sha256". When the model cannot be parsed to the
        end, ModelStoreError (code EFORMAT) is raised and its ``partial``
        attribute holds what could be read, with an "error" key.
        """
        opts = _ffi.InspectOptions(flags=_ffi.INSPECT_HASH if hash else 0)
        cb = self._progress(opts, progress)
        text, length = ctypes.POINTER(ctypes.c_char)(), ctypes.c_size_t()
        with self._lock:
            try:
                _ffi.ms_artifact_inspect(self._h(), ctypes.byref(opts), ctypes.byref(text),
                                         ctypes.byref(length))
            except ModelStoreError as e:
                partial = _ffi.take_text(text, length.value)
                e.partial = json.loads(partial) if partial is not None else None
                if cb:
                    cb.reraise(e)
                raise
        return json.loads(_ffi.take_text(text, length.value))

    def allow_globals(self, patterns):
        """Adds pickle globals ("module.name" or "module.*") that validation
        accepts on top of the built-in allowlists. Code-execution globals
        (os.system, builtins.eval, ...) stay errors."""
        items = [p.encode("utf-8") for p in patterns]
        arr = (ctypes.c_char_p * max(len(items), 1))(*items)
        with self._lock:
            _ffi.ms_artifact_allow_globals(self._h(), arr, len(items))

    def validate(self, *, quick=False, progress=None, allow_globals=None):
        """Checks the artifact; returns a :class:`Report`. ``quick=True``
        skips checksums over payloads; ``allow_globals`` extends the pickle
        allowlists (see :meth:`allow_globals`)."""
        if allow_globals:
            self.allow_globals(allow_globals)
        opts = _ffi.ValidateOptions(flags=_ffi.VALIDATE_QUICK if quick else 0)
        cb = self._progress(opts, progress)
        handle = ctypes.POINTER(_ffi.ms_report)()
        with self._lock:
            try:
                _ffi.ms_artifact_validate(self._h(), ctypes.byref(opts), ctypes.byref(handle))
            except ModelStoreError as e:
                if cb:
                    cb.reraise(e)
                raise
        try:
            return Report(handle)
        finally:
            _ffi.ms_report_free(handle)

    @staticmethod
    def _progress(opts, progress):
        if progress is None:
            return None
        cb = _Progress(progress)
        opts.progress = cb.c_func
        return cb

    def __repr__(self):
        if self.closed:
            return "<modelstore.Artifact (closed)>"
        return "<modelstore.Artifact format=%r container=%r size=%d>" % (
            self.format, self.container, self.size)


def inspect(source, *, hash=False, format=None, progress=None, **options):
    """Describes a model artifact (a path or bytes) as a dict.

    Root keys: schema_version, path, format, container, containers, size,
    sha256 (with ``hash=True``), serialzy (when framed), members, model, and
    where the format knows them inputs, outputs, parameters, buffers.
    ``format`` forces a data format; ``progress(done, total)`` is called
    while hashing and may return True to cancel. Other keywords are the
    :class:`Artifact` options (display_path and the limits).
    """
    with Artifact(source, format=format, **options) as artifact:
        return artifact.inspect(hash=hash, progress=progress)


def validate(source, *, quick=False, format=None, progress=None, allow_globals=None, **options):
    """Validates a model artifact (a path or bytes); returns a :class:`Report`.
    Keywords as for :func:`inspect`; ``quick=True`` skips payload checksums;
    ``allow_globals`` adds "module.name" / "module.*" pickle globals to the
    allowlists."""
    with Artifact(source, format=format, **options) as artifact:
        return artifact.validate(quick=quick, progress=progress, allow_globals=allow_globals)


# ---- Packing (include/modelstore/stream.h, model.h) -------------------------------

_MODEL_TEXT = ("name", "notebook", "variable", "user", "created_at", "sha256", "description")


def _model_handle(fields):
    """A new ms_model from a dict of model-resource fields (None: null)."""
    handle = ctypes.POINTER(_ffi.ms_model)()
    _ffi.ms_model_new(ctypes.byref(handle))
    try:
        for key, value in (fields or {}).items():
            if value is None:
                continue
            if key in _MODEL_TEXT:
                _ffi.ms_model_set(handle, key.encode(), value.encode("utf-8", "surrogatepass"))
            elif key == "size":
                _ffi.ms_model_set_size(handle, value)
            elif key == "tags":
                for tag in value:
                    _ffi.ms_model_add_tag(handle, tag.encode("utf-8", "surrogatepass"))
            else:
                raise TypeError("%r is not a field of a model resource" % key)
    except BaseException:
        _ffi.ms_model_free(handle)
        raise
    return handle


def _model_dict(handle):
    text, length = ctypes.POINTER(ctypes.c_char)(), ctypes.c_size_t()
    _ffi.ms_model_to_json(handle, ctypes.byref(text), ctypes.byref(length))
    return json.loads(_ffi.take_text(text, length.value))


def pack(source, out, *, format, type=None, framework_version=None, overwrite=False, progress=None,
         **model):
    """Packs a model file or SavedModel directory into a serialzy stream at
    ``out``, byte for byte what serialzy writes. Keywords besides the
    options are the model resource: name, notebook, variable, user,
    created_at ("YYYY-MM-DDTHH:MM:SSZ"), description, tags. Returns the
    model resource written (a dict, with size and sha256)."""
    opts = _ffi.PackOptions(format=_fs(format), type=type.encode() if type else None,
                            framework_version=framework_version.encode() if framework_version else None,
                            flags=_ffi.PACK_OVERWRITE if overwrite else 0)
    cb = Artifact._progress(opts, progress)
    handle = _model_handle(model)
    written = ctypes.POINTER(_ffi.ms_model)()
    try:
        _ffi.ms_pack_path(_fs(source), _fs(out), handle, ctypes.byref(opts), ctypes.byref(written))
        return _model_dict(written)
    except ModelStoreError as e:
        if cb:
            cb.reraise(e)
        raise
    finally:
        _ffi.ms_model_free(handle)
        _ffi.ms_model_free(written)


def unpack(stream, dest, *, overwrite=False, verify=True, progress=None):
    """Writes the payload of a serialzy stream (a path or bytes) into the
    directory ``dest`` under serialzy's unpack_model name; returns the path
    written."""
    flags = (_ffi.UNPACK_OVERWRITE if overwrite else 0) | (0 if verify else _ffi.UNPACK_NO_VERIFY)
    opts = _ffi.UnpackOptions(flags=flags)
    cb = Artifact._progress(opts, progress)
    name = ctypes.POINTER(ctypes.c_char)()
    with Artifact(stream) as artifact, artifact._lock:
        try:
            _ffi.ms_artifact_unpack(artifact._h(), _fs(dest), ctypes.byref(opts), ctypes.byref(name))
        except ModelStoreError as e:
            if cb:
                cb.reraise(e)
            raise
    return os.path.join(os.fsdecode(dest), _ffi.take_text(name, len(ctypes.string_at(name))))


# ---- Notebooks: framework objects to and from streams (_notebook.py) -----------------------------
# Last: the name open() shadows the builtin in this module from here on.

from ._frameworks import FrameworkNotInstalled  # noqa: E402
from ._notebook import Inspection, Model, load, open, save  # noqa: E402,F401
