"""ctypes declarations of libmodelstore's public C API.

One declaration per function of include/modelstore/*.h, made through
``_declare``. Functions that return an ``int`` status get an errcheck that
turns a negative code into :class:`ModelStoreError`, carrying the code and
the calling thread's ``ms_error_last()`` message.

The shared library is looked up in this order:

1. the path in the environment variable ``MODELSTORE_LIBRARY``;
2. ``libmodelstore.so.0`` inside this package's folder, then next to it;
3. the system: ``ctypes.util.find_library("modelstore")``, then
   ``libmodelstore.so.0`` through the dynamic loader's search path.
"""
import ctypes
import ctypes.util
import enum
import os
import pathlib

from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_int, c_size_t, c_uint,
                    c_uint32, c_uint64, c_void_p)

#: The oldest library this binding works with (``ms_version()`` number,
#: major*10000 + minor*100 + patch): 0.1.0.
MIN_LIBRARY_VERSION = 100

SONAME = "libmodelstore.so.0"
ENV_LIBRARY = "MODELSTORE_LIBRARY"


# ---- Errors ------------------------------------------------------------------

class ErrorCode(enum.IntEnum):
    """The ``ms_error_code`` values of include/modelstore/common.h."""
    OK = 0
    ERROR = -1
    ENOMEM = -2
    EINVAL = -3
    EIO = -4
    EFORMAT = -5
    ELIMIT = -6
    ECANCELLED = -7
    EUNSUPPORTED = -8
    EMISUSE = -9
    ENOTFOUND = -10
    EVERSION = -11
    ECHANGED = -12


class ModelStoreError(Exception):
    """A libmodelstore call failed.

    ``code`` is the negative ``MS_E*`` code (an :class:`ErrorCode` when the
    binding knows it), ``message`` the library's message for the failure.
    """

    def __init__(self, code, message):
        try:
            code = ErrorCode(code)
        except ValueError:
            pass
        self.code = code
        self.message = message
        super().__init__(code, message)

    def __str__(self):
        name = "MS_" + self.code.name if isinstance(self.code, ErrorCode) else str(self.code)
        return "%s [%s]" % (self.message, name)


def _text(raw):
    """A C string from the library as str (None stays None)."""
    if raw is None:
        return None
    return raw.decode("utf-8", "surrogateescape")


def last_error(code):
    """The exception for ``code`` failing on this thread, with its message."""
    message = _text(ms_error_last()) or _text(ms_strerror(code))
    return ModelStoreError(code, message)


def _check(result, func, args):
    if result < 0:
        raise last_error(result)
    return result


# ---- Types -------------------------------------------------------------------

class ms_artifact(Structure):
    """Opaque handle (``struct ms_artifact``)."""


class ms_report(Structure):
    """Opaque handle (``struct ms_report``)."""


ms_progress_fn = CFUNCTYPE(c_int, c_uint64, c_uint64, c_void_p)
_malloc_fn = CFUNCTYPE(c_void_p, c_size_t, c_void_p)
_realloc_fn = CFUNCTYPE(c_void_p, c_void_p, c_size_t, c_void_p)
_free_fn = CFUNCTYPE(None, c_void_p, c_void_p)


class _Versioned(Structure):
    """An options struct whose ``version`` field is set on creation, as the
    C ``*_OPTIONS_INIT`` macros do. Fields left out stay 0 / NULL."""
    VERSION = 0

    def __init__(self, **fields):
        super().__init__(version=self.VERSION, **fields)


class OpenOptions(_Versioned):
    VERSION = 1  # MS_OPEN_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint),
        ("format", c_char_p),
        ("display_path", c_char_p),
        ("max_members", c_uint64),
        ("max_member_size", c_uint64),
        ("max_header_size", c_uint64),
        ("max_depth", c_uint32),
        ("max_metadata", c_uint64),
    ]


class InspectOptions(_Versioned):
    VERSION = 1  # MS_INSPECT_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint),
        ("flags", c_uint),
        ("progress", ms_progress_fn),
        ("progress_user", c_void_p),
    ]


class ValidateOptions(_Versioned):
    VERSION = 1  # MS_VALIDATE_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint),
        ("flags", c_uint),
        ("progress", ms_progress_fn),
        ("progress_user", c_void_p),
    ]


class PackOptions(_Versioned):
    VERSION = 1  # MS_PACK_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint),
        ("flags", c_uint),
        ("format", c_char_p),
        ("type", c_char_p),
        ("framework_version", c_char_p),
        ("progress", ms_progress_fn),
        ("progress_user", c_void_p),
    ]


class UnpackOptions(_Versioned):
    VERSION = 1  # MS_UNPACK_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint),
        ("flags", c_uint),
        ("progress", ms_progress_fn),
        ("progress_user", c_void_p),
    ]


class Allocator(_Versioned):
    VERSION = 1  # MS_ALLOCATOR_VERSION
    _fields_ = [
        ("version", c_uint),
        ("malloc_fn", _malloc_fn),
        ("realloc_fn", _realloc_fn),
        ("free_fn", _free_fn),
        ("user", c_void_p),
    ]


class ms_model(Structure):
    """Opaque handle (``struct ms_model``)."""


class ms_stream(Structure):
    """Opaque handle (``struct ms_stream``)."""


PACK_NO_USER_META = 0x1  # MS_PACK_NO_USER_META
PACK_FSYNC = 0x2         # MS_PACK_FSYNC
PACK_OVERWRITE = 0x4     # MS_PACK_OVERWRITE
UNPACK_OVERWRITE = 0x1   # MS_UNPACK_OVERWRITE
UNPACK_NO_VERIFY = 0x2   # MS_UNPACK_NO_VERIFY
UNPACK_FSYNC = 0x4       # MS_UNPACK_FSYNC

INSPECT_HASH = 0x1    # MS_INSPECT_HASH
VALIDATE_QUICK = 0x1  # MS_VALIDATE_QUICK

SEVERITY_INFO, SEVERITY_WARNING, SEVERITY_ERROR = 0, 1, 2


# ---- Loading -----------------------------------------------------------------

def _candidates():
    env = os.environ.get(ENV_LIBRARY)
    if env:
        # An explicit choice is final: never fall back behind the user's back.
        return [env], True
    here = pathlib.Path(__file__).resolve().parent
    names = [str(here / SONAME), str(here.parent / SONAME)]
    names = [n for n in names if os.path.exists(n)]
    found = ctypes.util.find_library("modelstore")
    if found:
        names.append(found)
    names.append(SONAME)
    return names, False


def _load():
    names, explicit = _candidates()
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            errors.append("%s: %s" % (name, e))
    if explicit:
        raise ImportError("cannot load libmodelstore from %s=%s (%s)"
                          % (ENV_LIBRARY, names[0], "; ".join(errors)))
    raise ImportError("cannot find libmodelstore: set %s to the path of %s, or install the "
                      "library (tried: %s)" % (ENV_LIBRARY, SONAME, "; ".join(errors)))


lib, LIBRARY_PATH = _load()


def _declare(name, restype, *argtypes, check=False):
    """Looks up one C function of the library and declares its types; with
    ``check``, a negative result raises ModelStoreError."""
    try:
        func = getattr(lib, name)
    except AttributeError:
        raise ImportError("libmodelstore at %s lacks the function %s(): it is older than this "
                          "binding expects" % (LIBRARY_PATH, name)) from None
    func.restype = restype
    func.argtypes = argtypes
    if check:
        func.errcheck = _check
    return func


# The version first: an older library may lack the functions declared below.
ms_version = _declare("ms_version", c_int)
ms_version_string = _declare("ms_version_string", c_char_p)

LIBRARY_VERSION = ms_version()
if LIBRARY_VERSION < MIN_LIBRARY_VERSION:
    raise ImportError(
        "libmodelstore at %s is version %s (%d); this binding needs %d.%d.%d or newer"
        % (LIBRARY_PATH, _text(ms_version_string()), LIBRARY_VERSION,
           MIN_LIBRARY_VERSION // 10000, MIN_LIBRARY_VERSION // 100 % 100, MIN_LIBRARY_VERSION % 100))

_P_ARTIFACT = POINTER(ms_artifact)
_PP_ARTIFACT = POINTER(_P_ARTIFACT)
_P_REPORT = POINTER(ms_report)
_PP_REPORT = POINTER(_P_REPORT)
_P_OPEN = POINTER(OpenOptions)
_P_INSPECT = POINTER(InspectOptions)
_P_VALIDATE = POINTER(ValidateOptions)
_P_TEXT = POINTER(POINTER(c_char))  # char **: text the caller releases with ms_free
_P_STR = POINTER(c_char_p)          # const char **: static or owned by a handle
_P_SIZE = POINTER(c_size_t)
_P_INT = POINTER(c_int)

# common.h
ms_error_last = _declare("ms_error_last", c_char_p)
ms_error_last_code = _declare("ms_error_last_code", c_int)
ms_error_clear = _declare("ms_error_clear", None)
ms_strerror = _declare("ms_strerror", c_char_p, c_int)
ms_free = _declare("ms_free", None, c_void_p)
ms_config_allocator = _declare("ms_config_allocator", c_int, POINTER(Allocator), check=True)

# report.h (ms_severity is an enum: passed and returned as int)
ms_severity_name = _declare("ms_severity_name", c_char_p, c_int)
ms_report_valid = _declare("ms_report_valid", c_int, _P_REPORT)
ms_report_clean = _declare("ms_report_clean", c_int, _P_REPORT)
ms_report_count = _declare("ms_report_count", c_size_t, _P_REPORT)
ms_report_get = _declare("ms_report_get", c_int, _P_REPORT, c_size_t, _P_INT, _P_STR, _P_STR, _P_STR,
                         check=True)
ms_report_json = _declare("ms_report_json", c_int, _P_REPORT, _P_TEXT, _P_SIZE, check=True)
ms_report_free = _declare("ms_report_free", None, _P_REPORT)
ms_finding_code_count = _declare("ms_finding_code_count", c_size_t)
ms_finding_code_get = _declare("ms_finding_code_get", c_int, c_size_t, _P_STR, _P_INT, _P_STR, check=True)

# artifact.h
ms_open_options_init = _declare("ms_open_options_init", c_int, _P_OPEN, c_uint, check=True)
ms_artifact_open_path = _declare("ms_artifact_open_path", c_int, _PP_ARTIFACT, c_char_p, _P_OPEN, check=True)
ms_artifact_open_buffer = _declare("ms_artifact_open_buffer", c_int, _PP_ARTIFACT, c_void_p, c_size_t,
                                   _P_OPEN, check=True)
ms_artifact_open_fd = _declare("ms_artifact_open_fd", c_int, _PP_ARTIFACT, c_int, _P_OPEN, check=True)
ms_artifact_free = _declare("ms_artifact_free", None, _P_ARTIFACT)
ms_artifact_format = _declare("ms_artifact_format", c_char_p, _P_ARTIFACT)
ms_artifact_container = _declare("ms_artifact_container", c_char_p, _P_ARTIFACT)
ms_artifact_size = _declare("ms_artifact_size", c_uint64, _P_ARTIFACT)
ms_artifact_allow_globals = _declare("ms_artifact_allow_globals", c_int, _P_ARTIFACT, POINTER(c_char_p),
                                     c_size_t, check=True)
ms_inspect_options_init = _declare("ms_inspect_options_init", c_int, _P_INSPECT, c_uint, check=True)
ms_artifact_inspect = _declare("ms_artifact_inspect", c_int, _P_ARTIFACT, _P_INSPECT, _P_TEXT, _P_SIZE,
                               check=True)
ms_validate_options_init = _declare("ms_validate_options_init", c_int, _P_VALIDATE, c_uint, check=True)
ms_artifact_validate = _declare("ms_artifact_validate", c_int, _P_ARTIFACT, _P_VALIDATE, _PP_REPORT,
                                check=True)

# formats.h
ms_format_count = _declare("ms_format_count", c_size_t)
ms_format_get = _declare("ms_format_get", c_int, c_size_t, _P_STR, _P_STR, _P_INT, check=True)

# model.h
_P_MODEL = POINTER(ms_model)
_PP_MODEL = POINTER(_P_MODEL)
ms_model_new = _declare("ms_model_new", c_int, _PP_MODEL, check=True)
ms_model_dup = _declare("ms_model_dup", c_int, _PP_MODEL, _P_MODEL, check=True)
ms_model_free = _declare("ms_model_free", None, _P_MODEL)
ms_model_set = _declare("ms_model_set", c_int, _P_MODEL, c_char_p, c_char_p, check=True)
ms_model_get = _declare("ms_model_get", c_int, _P_MODEL, c_char_p, POINTER(c_void_p), _P_SIZE, check=True)
ms_model_set_created_at = _declare("ms_model_set_created_at", c_int, _P_MODEL, ctypes.c_int64, check=True)
ms_model_set_size = _declare("ms_model_set_size", c_int, _P_MODEL, c_uint64, check=True)
ms_model_get_size = _declare("ms_model_get_size", c_int, _P_MODEL, POINTER(c_uint64))
ms_model_unset = _declare("ms_model_unset", c_int, _P_MODEL, c_char_p, check=True)
ms_model_add_tag = _declare("ms_model_add_tag", c_int, _P_MODEL, c_char_p, check=True)
ms_model_tag_count = _declare("ms_model_tag_count", c_size_t, _P_MODEL)
ms_model_tag_get = _declare("ms_model_tag_get", c_int, _P_MODEL, c_size_t, POINTER(c_void_p), _P_SIZE,
                            check=True)
ms_model_to_json = _declare("ms_model_to_json", c_int, _P_MODEL, _P_TEXT, _P_SIZE, check=True)
ms_model_from_json = _declare("ms_model_from_json", c_int, _PP_MODEL, c_char_p, c_size_t, check=True)
ms_model_from_artifact = _declare("ms_model_from_artifact", c_int, _PP_MODEL, _P_ARTIFACT, check=True)
ms_model_validate = _declare("ms_model_validate", c_int, _P_MODEL, _PP_REPORT, check=True)

# stream.h
_P_PACK = POINTER(PackOptions)
_P_UNPACK = POINTER(UnpackOptions)
_P_STREAM = POINTER(ms_stream)
_PP_STREAM = POINTER(_P_STREAM)
ms_pack_options_init = _declare("ms_pack_options_init", c_int, _P_PACK, c_uint, check=True)
ms_pack_format_count = _declare("ms_pack_format_count", c_size_t)
ms_pack_format_get = _declare("ms_pack_format_get", c_int, c_size_t, _P_STR, _P_STR, _P_STR, _P_INT, check=True)
ms_pack_path = _declare("ms_pack_path", c_int, c_char_p, c_char_p, _P_MODEL, _P_PACK, _PP_MODEL, check=True)
ms_pack_fd = _declare("ms_pack_fd", c_int, c_char_p, c_int, _P_MODEL, _P_PACK, _PP_MODEL, check=True)
ms_stream_header = _declare("ms_stream_header", c_int, _P_MODEL, _P_PACK, _P_TEXT, _P_SIZE, check=True)
ms_stream_create = _declare("ms_stream_create", c_int, _PP_STREAM, c_char_p, _P_MODEL, c_uint64, _P_PACK,
                            check=True)
ms_stream_create_fd = _declare("ms_stream_create_fd", c_int, _PP_STREAM, c_int, _P_MODEL, c_uint64, _P_PACK,
                               check=True)
ms_stream_write = _declare("ms_stream_write", c_int, _P_STREAM, c_void_p, c_size_t, check=True)
ms_stream_finish = _declare("ms_stream_finish", c_int, _P_STREAM, _PP_MODEL, check=True)
ms_stream_free = _declare("ms_stream_free", None, _P_STREAM)
ms_unpack_options_init = _declare("ms_unpack_options_init", c_int, _P_UNPACK, c_uint, check=True)
ms_artifact_unpack = _declare("ms_artifact_unpack", c_int, _P_ARTIFACT, c_char_p, _P_UNPACK, _P_TEXT, check=True)


def take_text(ptr, length):
    """Copies a string the library handed out, then releases it (ms_free)."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr, length).decode("utf-8", "surrogateescape")
    finally:
        ms_free(ptr)
