/*
 * Which globals a pickle may name (pickle_allow.h). Default deny: a global
 * is allowed only by an entry of its policy's list or a caller's pattern,
 * and never when the code-execution list names it.
 *
 * Matching is on strings, never on what Python would import:
 *   "module.name"  that module and name exactly (a dotted name, i.e. an
 *                  attribute path such as "Class.method", only this way);
 *   "module.*"     every simple name of the module and of its submodules.
 * The code-execution list matches any name, dotted ones included, and is
 * also tried on each module-like prefix of a dotted name: "os.system"
 * reached as `posixpath` + "os.system" is still os.system. A dotted name
 * through a dunder attribute (__globals__, __builtins__, __subclasses__,
 * ...) reaches anything and counts as code execution.
 *
 * Python 2 module names are read as Python 3's unpickler reads them
 * (fix_imports, Lib/_compat_pickle.py): __builtin__ is builtins, copy_reg
 * is copyreg, and so on.
 */
#include <stdio.h>
#include <string.h>

#include "pickle_allow.h"

#define UNRESOLVED_FINDINGS 20

/* ---- the code-execution list: never allowed ----
 * From the globals that pickle exploits use and that picklescan
 * (src/picklescan/scanner.py, _unsafe_globals), fickling (fickle.py's
 * UNSAFE_IMPORTS, ml.py) and torch's _weights_only_unpickler
 * (_blocklisted_modules: sys, os, posix, nt) flag, grouped by what they
 * give an attacker. */
typedef struct exec_entry {
	const char *pattern;
	const char *why;
} exec_entry;

static const exec_entry codeexec[] = {
	/* Python's own evaluators and the attribute primitives that reach them */
	{ "builtins.eval", "evaluates Python code" },
	{ "builtins.exec", "executes Python code" },
	{ "builtins.execfile", "executes a Python file" },
	{ "builtins.compile", "compiles Python code" },
	{ "builtins.__import__", "imports any module" },
	{ "builtins.getattr", "reads any attribute" },
	{ "builtins.setattr", "writes any attribute" },
	{ "builtins.delattr", "deletes any attribute" },
	{ "builtins.globals", "exposes module globals" },
	{ "builtins.locals", "exposes local variables" },
	{ "builtins.vars", "exposes an object's namespace" },
	{ "builtins.open", "opens files" },
	{ "builtins.file", "opens files" },
	{ "builtins.apply", "calls any function" },
	{ "builtins.input", "evaluates input (Python 2) or blocks" },
	{ "builtins.raw_input", "reads input" },
	{ "builtins.breakpoint", "starts a debugger" },
	{ "builtins.help", "runs a pager (a shell command)" },
	{ "builtins.reload", "re-imports modules" },
	{ "types.CodeType", "builds code objects" },
	{ "types.FunctionType", "builds functions from code objects" },
	{ "types.LambdaType", "builds functions from code objects" },
	{ "operator.attrgetter", "reads any attribute" },
	{ "operator.methodcaller", "calls any method" },
	{ "_operator.attrgetter", "reads any attribute" },
	{ "_operator.methodcaller", "calls any method" },
	{ "code.*", "runs Python code" },
	{ "codeop.*", "compiles Python code" },
	{ "runpy.*", "runs Python modules" },
	{ "importlib.*", "imports any module" },
	{ "imp.*", "imports any module" },
	{ "pkgutil.*", "imports any module (resolve_name)" },
	{ "zipimport.*", "imports code from archives" },
	{ "pydoc.*", "imports modules and runs a pager" },
	{ "timeit.*", "runs Python code" },
	{ "cProfile.*", "runs Python code" },
	{ "profile.*", "runs Python code" },
	{ "trace.*", "runs Python code" },
	{ "pdb.*", "runs a debugger" },
	{ "bdb.*", "runs a debugger" },
	{ "doctest.*", "runs Python code" },
	{ "idlelib.*", "runs Python code" },
	/* processes and the operating system */
	{ "os.*", "runs shell commands and touches files" },
	{ "posix.*", "runs shell commands and touches files" },
	{ "nt.*", "runs shell commands and touches files" },
	{ "subprocess.*", "runs processes" },
	{ "_posixsubprocess.*", "runs processes" },
	{ "_winapi.*", "runs processes" },
	{ "pty.*", "runs processes" },
	{ "commands.*", "runs shell commands" },
	{ "popen2.*", "runs shell commands" },
	{ "platform.popen", "runs shell commands" },
	{ "multiprocessing.*", "runs processes" },
	{ "_multiprocessing.*", "runs processes" },
	{ "asyncio.*", "runs processes and opens connections" },
	{ "sys.*", "changes the interpreter (modules, hooks, exit)" },
	{ "ctypes.*", "calls native code" },
	{ "_ctypes.*", "calls native code" },
	{ "cffi.*", "calls native code" },
	{ "shutil.*", "copies, moves and deletes files" },
	{ "io.open", "opens files" },
	{ "_io.open", "opens files" },
	{ "io.FileIO", "opens files" },
	{ "_io.FileIO", "opens files" },
	{ "codecs.open", "opens files" },
	{ "tempfile.*", "creates files" },
	{ "signal.*", "changes signal handlers" },
	{ "pip.*", "installs packages" },
	{ "ensurepip.*", "installs packages" },
	{ "venv.*", "creates environments and runs processes" },
	{ "distutils.*", "runs build commands" },
	{ "setuptools.*", "runs build commands" },
	/* the network */
	{ "socket.*", "opens network connections" },
	{ "_socket.*", "opens network connections" },
	{ "ssl.*", "opens network connections" },
	{ "http.client.*", "opens network connections" },
	{ "httplib.*", "opens network connections" },
	{ "urllib.request.*", "opens network connections" },
	{ "urllib2.*", "opens network connections" },
	{ "ftplib.*", "opens network connections" },
	{ "smtplib.*", "opens network connections" },
	{ "telnetlib.*", "opens network connections" },
	{ "requests.*", "opens network connections" },
	{ "aiohttp.*", "opens network connections" },
	{ "webbrowser.*", "opens a browser (runs a process)" },
	/* loaders of nested pickles or code */
	{ "pickle.*", "loads a nested pickle" },
	{ "_pickle.*", "loads a nested pickle" },
	{ "cPickle.*", "loads a nested pickle" },
	{ "marshal.*", "loads code objects" },
	{ "shelve.*", "loads nested pickles" },
	{ "dill.*", "loads nested pickles and code" },
	{ "cloudpickle.*", "builds functions from code and imports modules" },
	{ "joblib.load", "loads a nested pickle" },
	{ "pandas.read_pickle", "loads a nested pickle" },
	{ "pandas.io.pickle.*", "loads a nested pickle" },
	{ "numpy.load", "loads nested pickles (allow_pickle)" },
	{ "numpy.lib.npyio.load", "loads nested pickles (allow_pickle)" },
	{ "numpy.core._ufunc_reconstruct", "imports any module and reads any attribute" },
	{ "numpy._core._ufunc_reconstruct", "imports any module and reads any attribute" },
	{ "numpy.ctypeslib.*", "loads native libraries" },
	{ "numpy.f2py.*", "evaluates strings" },
	{ "numpy.testing._private.utils.runstring", "executes Python code" },
	{ "numpy.distutils.*", "runs build commands" },
	{ "scipy.sparse.save_npz", "writes files" },
	{ "scipy.sparse.load_npz", "reads files" },
	{ "scipy.sparse._matrix_io.*", "reads and writes files" },
	{ "yaml.load", "builds arbitrary objects" },
	{ "yaml.unsafe_load", "builds arbitrary objects" },
	{ "torch.load", "loads a nested pickle" },
	{ "torch.serialization.load", "loads a nested pickle" },
	{ "torch.storage._load_from_bytes", "loads a nested pickle" },
	{ "torch.hub.*", "downloads and runs code" },
	{ "torch.package.*", "imports the code an archive carries" },
	{ "torch._inductor.codecache.*", "compiles and runs code" },
	{ "torch.jit.unsupported_tensor_ops.execWrapper", "executes Python code" },
	{ "torch.utils.collect_env.*", "runs shell commands" },
	{ "torch.utils.cpp_extension.*", "compiles and loads native code" },
};

/* ---- MSI_PICKLE_TORCH: torch.load(weights_only=True) ----
 * torch/_weights_only_unpickler.py, _get_allowed_globals(), of torch 1.13
 * (installed here) and torch 2.x (the current file): the fixed entries,
 * _tensor_rebuild_functions(), str(dtype) for the dtypes of
 * torch.storage._dtype_to_storage_type_map() and _new_dtypes() plus
 * uint1-7/int1-7, torch._tensor_classes and torch._storage_classes under
 * their __module__, and the quantization schemes. Layouts and memory
 * formats (inert enum values that pickle under `torch`) are added:
 * weights-only loading reaches layouts through _get_layout instead. */
static const char *const torch_list[] = {
	/* fixed entries */
	"collections.OrderedDict",
	"collections.Counter",
	"torch.nn.parameter.Parameter",
	"torch.serialization._get_layout",
	"torch.Size",
	"torch.Tensor",
	"torch.device",
	"_codecs.encode",
	"builtins.bytearray",
	"builtins.set",
	"builtins.complex",
	/* rebuild functions (torch._utils) and tensor subclasses */
	"torch._utils._rebuild_tensor",
	"torch._utils._rebuild_tensor_v2",
	"torch._utils._rebuild_tensor_v3",
	"torch._utils._rebuild_parameter",
	"torch._utils._rebuild_parameter_with_state",
	"torch._utils._rebuild_qtensor",
	"torch._utils._rebuild_sparse_tensor",
	"torch._utils._rebuild_sparse_csr_tensor", /* 1.13 */
	"torch._utils._rebuild_meta_tensor_no_storage",
	"torch._utils._rebuild_wrapper_subclass",
	"torch._utils._rebuild_device_tensor_from_cpu_tensor",
	"torch._utils._rebuild_device_tensor_from_numpy",
	"torch._tensor._rebuild_from_type_v2",
	/* dtypes, as str(dtype) writes them */
	"torch.float32", "torch.float64", "torch.float16", "torch.bfloat16",
	"torch.complex32", "torch.complex64", "torch.complex128",
	"torch.uint8", "torch.int8", "torch.int16", "torch.int32", "torch.int64", "torch.bool",
	"torch.qint8", "torch.quint8", "torch.qint32", "torch.quint4x2", "torch.quint2x4",
	"torch.float8_e5m2", "torch.float8_e4m3fn", "torch.float8_e5m2fnuz", "torch.float8_e4m3fnuz",
	"torch.float8_e8m0fnu", "torch.float4_e2m1fn_x2",
	"torch.bits8", "torch.bits16", "torch.bits1x8", "torch.bits2x4", "torch.bits4x2",
	"torch.uint16", "torch.uint32", "torch.uint64",
	"torch.uint1", "torch.uint2", "torch.uint3", "torch.uint4", "torch.uint5", "torch.uint6", "torch.uint7",
	"torch.int1", "torch.int2", "torch.int3", "torch.int4", "torch.int5", "torch.int6", "torch.int7",
	/* storage classes (torch._storage_classes) */
	"torch.DoubleStorage", "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage",
	"torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage",
	"torch.BoolStorage", "torch.ComplexDoubleStorage", "torch.ComplexFloatStorage",
	"torch.QInt8Storage", "torch.QUInt8Storage", "torch.QInt32Storage", "torch.QUInt4x2Storage",
	"torch.QUInt2x4Storage",
	"torch.cuda.DoubleStorage", "torch.cuda.FloatStorage", "torch.cuda.HalfStorage", "torch.cuda.BFloat16Storage",
	"torch.cuda.LongStorage", "torch.cuda.IntStorage", "torch.cuda.ShortStorage", "torch.cuda.CharStorage",
	"torch.cuda.ByteStorage", "torch.cuda.BoolStorage", "torch.cuda.ComplexDoubleStorage",
	"torch.cuda.ComplexFloatStorage",
	"torch.storage.TypedStorage", "torch.storage.UntypedStorage", "torch.TypedStorage", "torch.UntypedStorage",
	/* tensor classes (torch._tensor_classes) */
	"torch.DoubleTensor", "torch.FloatTensor", "torch.HalfTensor", "torch.BFloat16Tensor", "torch.LongTensor",
	"torch.IntTensor", "torch.ShortTensor", "torch.CharTensor", "torch.ByteTensor", "torch.BoolTensor",
	"torch.cuda.DoubleTensor", "torch.cuda.FloatTensor", "torch.cuda.HalfTensor", "torch.cuda.BFloat16Tensor",
	"torch.cuda.LongTensor", "torch.cuda.IntTensor", "torch.cuda.ShortTensor", "torch.cuda.CharTensor",
	"torch.cuda.ByteTensor", "torch.cuda.BoolTensor",
	"torch.sparse.DoubleTensor", "torch.sparse.FloatTensor", "torch.sparse.HalfTensor",
	"torch.sparse.BFloat16Tensor", "torch.sparse.LongTensor", "torch.sparse.IntTensor",
	"torch.sparse.ShortTensor", "torch.sparse.CharTensor", "torch.sparse.ByteTensor",
	"torch.cuda.sparse.DoubleTensor", "torch.cuda.sparse.FloatTensor", "torch.cuda.sparse.HalfTensor",
	"torch.cuda.sparse.BFloat16Tensor", "torch.cuda.sparse.LongTensor", "torch.cuda.sparse.IntTensor",
	"torch.cuda.sparse.ShortTensor", "torch.cuda.sparse.CharTensor", "torch.cuda.sparse.ByteTensor",
	/* quantization schemes */
	"torch.per_tensor_affine", "torch.per_tensor_symmetric", "torch.per_channel_affine",
	"torch.per_channel_symmetric", "torch.per_channel_affine_float_qparams",
	/* layouts and memory formats */
	"torch.strided", "torch.sparse_coo", "torch.sparse_csr", "torch.sparse_csc", "torch.sparse_bsr",
	"torch.sparse_bsc", "torch._mkldnn", "torch.jagged",
	"torch.contiguous_format", "torch.channels_last", "torch.channels_last_3d", "torch.preserve_format",
	NULL,
};

/* ---- MSI_PICKLE_TORCHSCRIPT: what TorchScript's C++ unpickler resolves
 * itself (torch/csrc/jit/serialization/unpickler.cpp): `__torch__.*`
 * classes are the archive's own compiled classes and torch.jit._pickle.*
 * the container type tags; nothing of Python is imported. */
static const char *const torchscript_extra[] = {
	"__torch__.*",
	"torch.jit._pickle.*",
	NULL,
};

/* numpy 1.24's 90 public ufuncs, under the three names they pickle as */
#define UFUNC(n) "numpy." n, "numpy.core._multiarray_umath." n, "numpy._core._multiarray_umath." n
#define UFUNCS \
	UFUNC("absolute"), UFUNC("add"), UFUNC("arccos"), UFUNC("arccosh"), UFUNC("arcsin"), UFUNC("arcsinh"), \
	UFUNC("arctan"), UFUNC("arctan2"), UFUNC("arctanh"), UFUNC("bitwise_and"), UFUNC("bitwise_or"), \
	UFUNC("bitwise_xor"), UFUNC("cbrt"), UFUNC("ceil"), UFUNC("clip"), UFUNC("conj"), UFUNC("conjugate"), \
	UFUNC("copysign"), UFUNC("cos"), UFUNC("cosh"), UFUNC("deg2rad"), UFUNC("degrees"), UFUNC("divide"), \
	UFUNC("divmod"), UFUNC("equal"), UFUNC("exp"), UFUNC("exp2"), UFUNC("expm1"), UFUNC("fabs"), \
	UFUNC("float_power"), UFUNC("floor"), UFUNC("floor_divide"), UFUNC("fmax"), UFUNC("fmin"), \
	UFUNC("fmod"), UFUNC("frexp"), UFUNC("gcd"), UFUNC("greater"), UFUNC("greater_equal"), \
	UFUNC("heaviside"), UFUNC("hypot"), UFUNC("invert"), UFUNC("isfinite"), UFUNC("isinf"), UFUNC("isnan"), \
	UFUNC("isnat"), UFUNC("lcm"), UFUNC("ldexp"), UFUNC("left_shift"), UFUNC("less"), UFUNC("less_equal"), \
	UFUNC("log"), UFUNC("log10"), UFUNC("log1p"), UFUNC("log2"), UFUNC("logaddexp"), UFUNC("logaddexp2"), \
	UFUNC("logical_and"), UFUNC("logical_not"), UFUNC("logical_or"), UFUNC("logical_xor"), UFUNC("matmul"), \
	UFUNC("maximum"), UFUNC("minimum"), UFUNC("mod"), UFUNC("modf"), UFUNC("multiply"), UFUNC("negative"), \
	UFUNC("nextafter"), UFUNC("not_equal"), UFUNC("positive"), UFUNC("power"), UFUNC("rad2deg"), \
	UFUNC("radians"), UFUNC("reciprocal"), UFUNC("remainder"), UFUNC("right_shift"), UFUNC("rint"), \
	UFUNC("sign"), UFUNC("signbit"), UFUNC("sin"), UFUNC("sinh"), UFUNC("spacing"), UFUNC("sqrt"), \
	UFUNC("square"), UFUNC("subtract"), UFUNC("tan"), UFUNC("tanh"), UFUNC("true_divide"), UFUNC("trunc")

/* ---- MSI_PICKLE_PLAIN: serialzy's `skl` and `pickle` formats ----
 * What pickles of scikit-learn estimators, numpy arrays and scipy sparse
 * matrices name, read from pickle.dumps of each under protocols 0-5 with
 * scikit-learn 1.2, numpy 1.24 and scipy 1.10, and numpy 2's renamed
 * numpy._core (numpy/_core/multiarray.py, numeric.py). */
static const char *const plain_list[] = {
	/* builtins: containers and scalar types (not getattr, eval, ...: the
	 * code-execution list) */
	"builtins.list", "builtins.dict", "builtins.set", "builtins.frozenset", "builtins.tuple",
	"builtins.slice", "builtins.range", "builtins.complex", "builtins.bytearray", "builtins.bytes",
	"builtins.str", "builtins.int", "builtins.float", "builtins.bool", "builtins.object",
	"collections.OrderedDict", "collections.defaultdict", "collections.Counter", "collections.deque",
	/* bytes in protocols 0-2 (Python 3 writes _codecs.encode(str, 'latin1')) */
	"_codecs.encode",
	/* protocols 0 and 1 rebuild objects with copyreg._reconstructor(cls,
	 * base, state): it calls base.__init__ / cls.__new__ only on classes
	 * that are themselves globals of the stream, judged on their own */
	"copyreg._reconstructor",
	/* numpy arrays, scalars and dtypes (numpy 1 and 2) */
	"numpy.ndarray", "numpy.dtype", "numpy.matrix", "numpy.matrixlib.defmatrix.matrix",
	"numpy.core.multiarray._reconstruct", "numpy.core.multiarray.scalar", "numpy.core.numeric._frombuffer",
	"numpy._core.multiarray._reconstruct", "numpy._core.multiarray.scalar", "numpy._core.numeric._frombuffer",
	"numpy.ma.core.MaskedArray", "numpy.ma.core._mareconstruct",
	"numpy.dtypes.*",
	/* numpy's ufuncs pickle by name (FunctionTransformer(np.log1p)): in the
	 * C module that holds them (numpy 1 and 2), or as numpy.<name> (numpy 2).
	 * Only the ufuncs, which compute and nothing else: that module also has
	 * fromfile, set_string_function, _vec_string (a method call by name) */
	UFUNCS,
	/* numpy scalar types, as dtype= parameters of estimators */
	"numpy.bool_", "numpy.int8", "numpy.int16", "numpy.int32", "numpy.int64", "numpy.uint8", "numpy.uint16",
	"numpy.uint32", "numpy.uint64", "numpy.intc", "numpy.uintc", "numpy.intp", "numpy.uintp", "numpy.longlong",
	"numpy.ulonglong", "numpy.float16", "numpy.float32", "numpy.float64", "numpy.longdouble",
	"numpy.complex64", "numpy.complex128", "numpy.clongdouble", "numpy.str_", "numpy.bytes_", "numpy.object_",
	"numpy.void", "numpy.datetime64", "numpy.timedelta64",
	/* random state: the ctors look the bit generator up by name among
	 * numpy's own (numpy/random/_pickle.py) */
	"numpy.random._pickle.*",
	"numpy.random.mtrand.RandomState", "numpy.random._generator.Generator",
	"numpy.random._mt19937.MT19937", "numpy.random._pcg64.PCG64", "numpy.random._pcg64.PCG64DXSM",
	"numpy.random._philox.Philox", "numpy.random._sfc64.SFC64",
	/* scipy sparse matrices and arrays (scipy.sparse._csr.csr_matrix, and
	 * the public modules of older scipy: scipy.sparse.csr.csr_matrix) */
	"scipy.sparse.*",
	/* scikit-learn: estimators live all over the package; the gadget
	 * modules below are denied even so */
	"sklearn.*",
	NULL,
};

/* Modules denied even under an allowed "module.*" (ours or a caller's):
 * what a pickle of a fitted model never names and an exploit might. */
static const char *const plain_deny[] = {
	"numpy.f2py", "numpy.distutils", "numpy.testing", "numpy.ctypeslib", "numpy.lib.utils", "numpy.lib.npyio",
	"sklearn.utils._testing",         /* assert_run_python_script runs a process */
	"sklearn.utils.estimator_checks", /* test drivers */
	"sklearn.utils._show_versions",   /* imports and inspects modules */
	"sklearn.utils._joblib",          /* joblib's load and dump (0.21-0.23) */
	"sklearn.utils.discovery",        /* imports every submodule */
	"sklearn.datasets",               /* downloads and reads files */
	"sklearn.externals",              /* vendored third-party code */
	"sklearn._build_utils",           /* runs the compiler */
	"sklearn.__check_build",
	"sklearn.conftest",
	"scipy.sparse.linalg",            /* solvers that call back into anything given */
	NULL,
};

/* ---- matching ---- */

/* Python 2 names as Python 3 loads them (Lib/_compat_pickle.py) */
static const char *const module_aliases[][2] = {
	{ "__builtin__", "builtins" }, { "copy_reg", "copyreg" },    { "cPickle", "pickle" },
	{ "commands", "subprocess" },  { "exceptions", "builtins" }, { "UserDict", "collections" },
	{ "UserList", "collections" }, { "cStringIO", "io" },        { "StringIO", "io" },
	{ "urllib2", "urllib.request" }, { "httplib", "http.client" }, { "Queue", "queue" },
};

static const char *const name_aliases[][3] = {
	{ "builtins", "xrange", "range" },      { "builtins", "unicode", "str" },
	{ "builtins", "long", "int" },          { "builtins", "basestring", "str" },
	{ "builtins", "unichr", "chr" },        { "builtins", "raw_input", "input" },
};

static bool is_wild(const char *pat, size_t *mlen)
{
	size_t pl = strlen(pat);
	*mlen = pl >= 2 ? pl - 2 : 0;
	return pl >= 2 && pat[pl - 2] == '.' && pat[pl - 1] == '*';
}

/* `module` is `prefix` or one of its submodules */
static bool module_under(const char *module, const char *prefix, size_t plen)
{
	return strncmp(module, prefix, plen) == 0 && (module[plen] == '\0' || module[plen] == '.');
}

/* "module.name" exactly */
static bool exact(const char *pat, const char *module, size_t mlen, const char *name)
{
	return strncmp(pat, module, mlen) == 0 && pat[mlen] == '.' && strcmp(pat + mlen + 1, name) == 0;
}

static bool matches(const char *pat, const char *module, const char *name, bool wild_ok)
{
	size_t ml;
	if (is_wild(pat, &ml))
		return wild_ok && module_under(module, pat, ml);
	return exact(pat, module, strlen(module), name);
}

static const exec_entry *codeexec_match(const char *module, const char *name)
{
	for (size_t i = 0; i < MSI_ARRAY_LEN(codeexec); i++)
		if (matches(codeexec[i].pattern, module, name, true))
			return &codeexec[i];
	return NULL;
}

static bool is_dunder(const char *s, size_t n)
{
	return n > 4 && s[0] == '_' && s[1] == '_' && s[n - 2] == '_' && s[n - 1] == '_';
}

/* For a dotted name (an attribute path): a dunder attribute on the way,
 * or a stretch of it that the code-execution list names as module.attr
 * ("os.system" reached through any module that imported os). */
static const char *dotted_exec(const char *name)
{
	char buf[512];
	size_t n = strlen(name);
	if (n >= sizeof buf)
		return "follows an attribute path too long to check";
	memcpy(buf, name, n + 1);
	const char *part = name;
	for (const char *dot;; part = dot + 1) {
		dot = strchr(part, '.');
		size_t len = dot ? (size_t)(dot - part) : strlen(part);
		if (is_dunder(part, len))
			return "reaches any object through a dunder attribute";
		if (!dot)
			break;
	}
	/* every stretch buf[from..]: split into module (up to a dot) and attribute */
	for (size_t from = 0; from < n; from++) {
		if (from > 0 && buf[from - 1] != '.')
			continue;
		for (size_t i = from; i < n; i++) {
			if (buf[i] != '.')
				continue;
			buf[i] = '\0';
			const exec_entry *e = codeexec_match(buf + from, buf + i + 1);
			buf[i] = '.';
			if (e)
				return e->why;
		}
	}
	return NULL;
}

static const char *const *policy_list(msi_pickle_policy policy)
{
	return policy == MSI_PICKLE_PLAIN ? plain_list : torch_list;
}

static bool list_allows(const char *const *list, const char *module, const char *name, bool wild_ok)
{
	for (size_t i = 0; list[i]; i++)
		if (matches(list[i], module, name, wild_ok))
			return true;
	return false;
}

static bool extra_allows(const msi_allow_extra *extra, const char *module, const char *name, bool wild_ok)
{
	for (size_t i = 0; extra && i < extra->count; i++)
		if (extra->patterns[i] && matches(extra->patterns[i], module, name, wild_ok))
			return true;
	return false;
}

/* A gadget module, or a test module anywhere ("tests", "testing",
 * "conftest" as a component): never allowed by a "module.*". */
static bool denied_module(const char *module)
{
	for (size_t i = 0; plain_deny[i]; i++)
		if (module_under(module, plain_deny[i], strlen(plain_deny[i])))
			return true;
	for (const char *p = module; p;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if ((n == 5 && memcmp(p, "tests", 5) == 0) || (n == 7 && memcmp(p, "testing", 7) == 0) ||
		    (n == 8 && memcmp(p, "conftest", 8) == 0))
			return true;
		p = dot ? dot + 1 : NULL;
	}
	return false;
}

static void normalize(const char **module, const char **name)
{
	for (size_t i = 0; i < MSI_ARRAY_LEN(module_aliases); i++)
		if (strcmp(*module, module_aliases[i][0]) == 0) {
			*module = module_aliases[i][1];
			break;
		}
	for (size_t i = 0; i < MSI_ARRAY_LEN(name_aliases); i++)
		if (strcmp(*module, name_aliases[i][0]) == 0 && strcmp(*name, name_aliases[i][1]) == 0) {
			*name = name_aliases[i][2];
			break;
		}
}

/* The verdict, and for CODE_EXEC what the global gives an attacker. */
static msi_global_verdict judge(msi_pickle_policy policy, const char *module, const char *name,
                                const msi_allow_extra *extra, const char **why)
{
	*why = NULL;
	normalize(&module, &name);
	const exec_entry *e = codeexec_match(module, name);
	if (e) {
		*why = e->why;
		return MSI_GLOBAL_CODE_EXEC;
	}
	bool dotted = strchr(name, '.') != NULL;
	if (dotted && (*why = dotted_exec(name)))
		return MSI_GLOBAL_CODE_EXEC;
	const char *const *list = policy_list(policy);
	/* exact entries allow even in a denied module; "module.*" does not, nor
	 * does it reach dotted names (attribute paths lead anywhere) */
	bool wild_ok = !dotted && !denied_module(module);
	if (list_allows(list, module, name, wild_ok) || extra_allows(extra, module, name, wild_ok))
		return MSI_GLOBAL_ALLOWED;
	if (policy == MSI_PICKLE_TORCHSCRIPT && list_allows(torchscript_extra, module, name, wild_ok))
		return MSI_GLOBAL_ALLOWED;
	return MSI_GLOBAL_UNSAFE;
}

msi_global_verdict msi_pickle_judge(msi_pickle_policy policy, const char *module, const char *name,
                                    const msi_allow_extra *extra)
{
	const char *why;
	return judge(policy, module ? module : "", name ? name : "", extra, &why);
}

const char *msi_pickle_allowlist_at(msi_pickle_policy policy, size_t i)
{
	const char *const *list = policy_list(policy);
	size_t n = 0;
	while (list[n])
		n++;
	if (i < n)
		return list[i];
	if (policy == MSI_PICKLE_TORCHSCRIPT && i - n < MSI_ARRAY_LEN(torchscript_extra) - 1)
		return torchscript_extra[i - n];
	return NULL;
}

const char *msi_pickle_codeexec_at(size_t i)
{
	return i < MSI_ARRAY_LEN(codeexec) ? codeexec[i].pattern : NULL;
}

/* ---- checking a pickle's globals ---- */

static const char *const policy_names[] = { "torch weights-only", "TorchScript", "plain pickle" };

typedef struct distinct {
	const msi_pickle_global *first;
	size_t count;
} distinct;

static uint64_t name_hash(const char *module, const char *name)
{
	uint64_t h = msi_fnv1a_str(MSI_FNV_OFFSET, module);
	h = (h ^ 0xff) * 1099511628211ull; /* "a.b" + "c" differs from "a" + "b.c" */
	return msi_fnv1a_str(h, name);
}

static size_t report_one(const msi_pickle_global *g, size_t count, msi_pickle_policy policy,
                         const msi_allow_extra *extra, ms_report *r, const char *where)
{
	const char *why;
	msi_global_verdict verdict = judge(policy, g->module, g->name, extra, &why);
	if (verdict == MSI_GLOBAL_ALLOWED)
		return 0;
	if (!r)
		return 1;
	char times[48] = "";
	if (count > 1)
		snprintf(times, sizeof times, ", %zu times", count);
	if (verdict == MSI_GLOBAL_CODE_EXEC)
		msi_report_add(r, "pickle.global.unsafe", where,
		               "global %s.%s at offset %llu%s (runs code; it %s): no allowlist admits it", g->module, g->name,
		               (unsigned long long)g->offset, times, why);
	else
		msi_report_add(r, "pickle.global.unsafe", where, "global %s.%s at offset %llu%s is not on the %s allowlist",
		               g->module, g->name, (unsigned long long)g->offset, times,
		               policy_names[policy <= MSI_PICKLE_PLAIN ? policy : 0]);
	return 1;
}

size_t msi_pickle_check_globals(const msi_pickle *pk, msi_pickle_policy policy, const msi_allow_extra *extra,
                                ms_report *r, const char *where)
{
	if (!pk || !pk->nglobals)
		return 0;
	size_t bad = 0, unresolved = 0;
	/* each distinct module.name once, in order of first use */
	size_t cap = 16;
	while (cap < pk->nglobals * 2)
		cap *= 2;
	distinct *table = msi_calloc(cap, sizeof *table);
	const msi_pickle_global **order = table ? msi_calloc(pk->nglobals, sizeof *order) : NULL;
	size_t norder = 0;
	for (size_t i = 0; i < pk->nglobals; i++) {
		const msi_pickle_global *g = &pk->globals[i];
		if (g->unresolved) {
			bad++;
			if (r && unresolved++ < UNRESOLVED_FINDINGS) {
				if (g->opcode >= 0x82 && g->opcode <= 0x84)
					msi_report_add(r, "pickle.global.unresolved", where,
					               "EXT%d at offset %llu names a global through copyreg's extension registry, "
					               "which only the loading process knows",
					               g->opcode == 0x82 ? 1 : g->opcode == 0x83 ? 2 : 4,
					               (unsigned long long)g->offset);
				else
					msi_report_add(r, "pickle.global.unresolved", where,
					               "STACK_GLOBAL at offset %llu names a global that is not a plain string of "
					               "the stream (computed, or from a memo slot written twice); seen as %s.%s",
					               (unsigned long long)g->offset, g->module, g->name);
			}
			/* what it looked like may still be plainly dangerous */
			const char *why;
			if (strcmp(g->module, "?") != 0 &&
			    judge(policy, g->module, g->name, extra, &why) == MSI_GLOBAL_CODE_EXEC && r)
				msi_report_add(r, "pickle.global.unsafe", where,
				               "global %s.%s at offset %llu (runs code; it %s): no allowlist admits it", g->module,
				               g->name, (unsigned long long)g->offset, why);
			continue;
		}
		if (!order) { /* no memory for the table: every occurrence on its own */
			bad += report_one(g, 1, policy, extra, r, where);
			continue;
		}
		size_t h = (size_t)name_hash(g->module, g->name) & (cap - 1);
		while (table[h].first &&
		       (strcmp(table[h].first->module, g->module) != 0 || strcmp(table[h].first->name, g->name) != 0))
			h = (h + 1) & (cap - 1);
		if (!table[h].first) {
			table[h].first = g;
			order[norder++] = g;
		}
		table[h].count++;
	}
	if (r && unresolved > UNRESOLVED_FINDINGS)
		msi_report_add(r, "pickle.global.unresolved", where, "%zu more unresolved globals are not listed",
		               unresolved - UNRESOLVED_FINDINGS);
	for (size_t i = 0; i < norder; i++) {
		const msi_pickle_global *g = order[i];
		size_t h = (size_t)name_hash(g->module, g->name) & (cap - 1);
		while (table[h].first != g)
			h = (h + 1) & (cap - 1);
		bad += report_one(g, table[h].count, policy, extra, r, where);
	}
	msi_free(order);
	msi_free(table);
	return bad;
}
