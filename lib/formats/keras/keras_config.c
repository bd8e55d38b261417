/*
 * The Keras config walk (keras_config.h): every object in the config, at any
 * depth, is checked for what Keras would import, call or unpickle when it
 * loads the model (FORMATS.md §6.1 item 3, §6.2), and layer names are
 * checked because Keras turns them into HDF5 group paths.
 *
 * Where the rules come from (keras-team/keras, keras/src/saving/
 * serialization_lib.py and the layers' from_config; versions are the first
 * release tag holding each fix):
 *   - `__lambda__` objects and `Lambda` layers carry Python bytecode
 *     (CVE-2024-3660); TorchModuleWrapper carries a torch.save pickle
 *     (refused in safe mode since 3.12).
 *   - `_retrieve_class_or_fn` imports any "module" named by an object up to
 *     3.8 (CVE-2025-1550); since 3.9 only keras packages, but a registered
 *     custom object still resolves by name, so a module outside keras.* is
 *     code from somewhere else either way. {"module": "builtins",
 *     "class_name": "function"} is how Keras 2.13+ writes a plain function.
 *   - Keras APIs reachable by name that are not model parts: 3.11 added a
 *     deny list (LOADING_APIS, later NON_MODELING_APIS) after configs called
 *     keras.config.enable_unsafe_deserialization (CVE-2025-9906) and
 *     keras.utils.get_file (CVE-2025-8747). That list matches exact public
 *     names only; ours matches the function name under any keras module and
 *     whole modules that hold no model parts, because Keras <= 3.8 imported
 *     internal modules (keras.src.*) as readily as public ones.
 *   - TFSMLayer loads another SavedModel from a path (refused in safe mode
 *     since 3.14); StringLookup/IntegerLookup read a vocabulary file named
 *     by the config (CVE-2025-12058, refused in safe mode since 3.12).
 *   - Keras 2 TFOpLambda layers call a TF API symbol by name: file and
 *     Python-calling symbols (tf.io.write_file, tf.io.gfile.*,
 *     tf.py_function, ...) are not model parts either.
 * Legacy HDF5 files ignored safe_mode until 3.11 (CVE-2025-9905), so the
 * same rules apply to model_config.
 */
#include <string.h>

#include "keras_config.h"

#define MAX_FINDINGS 1000u /* per config: a hostile one can name 100k Lambdas */
#define CLIP 64u           /* bytes of a name quoted in a message or a location */
#define SEEN_SLOTS 512u    /* distinct custom registered names reported */
#define NAME_MAX_LEN 255u  /* an HDF5 link name component, and ext4's */

typedef enum role {
	ROLE_NONE,
	ROLE_CONFIG,     /* the "config" of a Keras object */
	ROLE_LAYER,      /* a layer (or model) object */
	ROLE_LAYER_LIST, /* an array of layers */
} role;

/* One step of the JSON pointer to the value being walked: an object key
 * (pointing into the parsed document) or an array index. The pointer is
 * formatted only when a finding needs it: most configs have none, and
 * building it for every value was most of the walk's cost. */
typedef struct path_step {
	const char *key; /* NULL: an index */
	size_t len;      /* the key's length, or the index */
} path_step;

/* Deeper than the JSON reader's depth cap (128) plus the walk's own steps. */
#define MAX_PATH_STEPS 160

typedef struct walk {
	ms_report *r;
	const char *prefix;
	path_step path[MAX_PATH_STEPS];
	size_t depth;  /* steps in the path (those past MAX_PATH_STEPS are not kept) */
	msi_buf where; /* prefix + ':' + path, built per finding */
	size_t findings;
	uint64_t seen[SEEN_SLOTS]; /* FNV-1a of reported registered names, 0 = empty */
	size_t nseen;
} walk;

/* ---- small string helpers on JSON values ---- */

static bool is_str(const msi_jval *v, const char *s)
{
	size_t n = strlen(s);
	return v && v->kind == MSI_JSTRING && v->text_len == n && memcmp(v->text, s, n) == 0;
}

static bool is_any(const msi_jval *v, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_str(v, list[i]))
			return true;
	return false;
}

/* `s` (len bytes) is `p` or starts with `p` followed by a dot: a module or
 * dotted symbol inside `p`. */
static bool in_namespace(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);
	return len >= n && memcmp(s, p, n) == 0 && (len == n || s[n] == '.');
}

static bool is_keras_module(const msi_jval *m)
{
	return m && m->kind == MSI_JSTRING && in_namespace(m->text, m->text_len, "keras");
}

/* A name from the file, made safe to quote: at most CLIP bytes cut at a
 * UTF-8 boundary, control bytes as '?', "..." when cut. */
static const char *clip(const char *s, size_t len, char out[CLIP + 4])
{
	size_t n = 0;
	if (len > CLIP) {
		n = CLIP;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	} else {
		n = len;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7F ? '?' : s[i];
	if (n < len)
		memcpy(out + n, "...", 3), n += 3;
	out[n] = '\0';
	return out;
}

#define CLIPV(v, buf) clip((v)->text, (v)->text_len, buf)

/* ---- locations ---- */

static size_t path_push(walk *w, const char *key, size_t len)
{
	size_t old = w->depth++;
	if (old < MAX_PATH_STEPS)
		w->path[old] = (path_step){ key, len };
	return old;
}

static size_t path_push_index(walk *w, size_t i)
{
	size_t old = w->depth++;
	if (old < MAX_PATH_STEPS)
		w->path[old] = (path_step){ NULL, i };
	return old;
}

static void path_pop(walk *w, size_t old)
{
	w->depth = old;
}

/* Appends the JSON pointer of the current value to `out`. */
static void path_format(const walk *w, msi_buf *out)
{
	for (size_t i = 0; i < w->depth && i < MAX_PATH_STEPS; i++) {
		const path_step *s = &w->path[i];
		if (!s->key) {
			msi_buf_printf(out, "/%zu", s->len);
			continue;
		}
		char c[CLIP + 4];
		clip(s->key, s->len, c);
		msi_buf_putc(out, '/');
		for (const char *p = c; *p; p++) {
			/* RFC 6901 escapes */
			if (*p == '~')
				msi_buf_puts(out, "~0");
			else if (*p == '/')
				msi_buf_puts(out, "~1");
			else
				msi_buf_putc(out, *p);
		}
	}
	if (w->depth > MAX_PATH_STEPS)
		msi_buf_puts(out, "/...");
}

static void finding(walk *w, const char *code, const char *fmt, ...) MSI_PRINTF(3, 4);

static void finding(walk *w, const char *code, const char *fmt, ...)
{
	if (w->findings >= MAX_FINDINGS) {
		/* counted as dropped, so the report still says how many */
		w->r->dropped++;
		return;
	}
	w->findings++;
	w->where.len = 0;
	if (w->prefix && *w->prefix) {
		msi_buf_puts(&w->where, w->prefix);
		if (w->depth)
			msi_buf_putc(&w->where, ':');
	}
	path_format(w, &w->where);
	msi_buf_putc(&w->where, '\0'); /* an empty location still needs a string */
	va_list ap;
	va_start(ap, fmt);
	msi_report_addv(w->r, code, w->where.failed ? "" : w->where.data, fmt, ap);
	va_end(ap);
}

/* ---- deny lists ---- */

/* Keras modules none of whose members is a model part: global settings,
 * saving and loading, downloads, file and dataset helpers, callbacks, and
 * internals that hold those or run bytecode (python_utils.func_load) or
 * flip safe mode (global_state.set_global_attribute). */
static const char *const keras_unsafe_modules[] = {
	"keras.config",
	"keras.saving",
	"keras.callbacks",
	"keras.datasets",
	"keras.export",
	"keras.src.saving",
	"keras.src.legacy.saving",
	"keras.src.callbacks",
	"keras.src.datasets",
	"keras.src.export",
	"keras.src.backend.config",
	"keras.src.backend.common.global_state",
	"keras.src.utils.file_utils",
	"keras.src.utils.io_utils",
	"keras.src.utils.python_utils",
	"keras.src.utils.image_utils",
	"keras.src.utils.dataset_utils",
	"keras.src.utils.image_dataset_utils",
	"keras.src.utils.text_dataset_utils",
	"keras.src.utils.audio_dataset_utils",
	"keras.src.utils.model_visualization",
	"keras.src.utils.summary_utils",
};

/* Names refused under any keras module: Keras' NON_MODELING_APIS without
 * their module (they are re-exported under several), plus the helpers
 * next to them that write files, run `dot` or load bytecode. */
static const char *const keras_unsafe_names[] = {
	"enable_unsafe_deserialization",
	"set_global_attribute",
	"set_backend",
	"get_file",
	"extract_archive",
	"load_model",
	"save_model",
	"model_from_json",
	"model_from_yaml",
	"model_from_config",
	"load_weights",
	"save_weights",
	"load_img",
	"save_img",
	"image_dataset_from_directory",
	"text_dataset_from_directory",
	"audio_dataset_from_directory",
	"serialize_keras_object",
	"deserialize_keras_object",
	"register_keras_serializable",
	"get_registered_object",
	"get_custom_objects",
	"custom_object_scope",
	"CustomObjectScope",
	"clear_session",
	"plot_model",
	"model_to_dot",
	"func_load",
	"ExportArchive",
};

/* The keras module or name that makes {module, name} a non-model API, or
 * NULL. */
static const char *keras_api_denied(const msi_jval *module, const msi_jval *name)
{
	for (size_t i = 0; i < MSI_ARRAY_LEN(keras_unsafe_modules); i++)
		if (in_namespace(module->text, module->text_len, keras_unsafe_modules[i]))
			return keras_unsafe_modules[i];
	if (name && is_any(name, keras_unsafe_names, MSI_ARRAY_LEN(keras_unsafe_names)))
		return name->text;
	return NULL;
}

/* TF API namespaces a Keras 2 op layer must not call: files, Python
 * callbacks, saving, summaries, datasets (they read files), global
 * settings, and Keras itself (its loaders). */
static const char *const tf_unsafe_namespaces[] = {
	"io.gfile", "gfile", "saved_model", "train", "summary", "data", "debugging.experimental",
	"config", "sysconfig", "distribute", "tpu", "autograph", "keras", "profiler", "lite",
	"estimator", "experimental.dtensor",
};
static const char *const tf_unsafe_symbols[] = {
	"io.read_file", "io.write_file", "io.matching_files", "read_file", "write_file",
	"matching_files", "py_function", "numpy_function", "py_func", "load_op_library",
	"load_library", "io.write_graph", "train.write_graph",
};
/* Substrings of tf.raw_ops names that read or write files or call Python. */
static const char *const tf_unsafe_raw_ops[] = {
	"File", "Save", "Restore", "PyFunc", "Summary", "Debug", "Checkpoint", "Reader", "Dataset",
	"ImmutableConst", "Print",
};

static bool contains(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (memcmp(s + i, needle, n) == 0)
			return true;
	return false;
}

static bool tf_symbol_unsafe(const char *s, size_t len)
{
	if (len >= 3 && memcmp(s, "tf.", 3) == 0)
		s += 3, len -= 3;
	while (len >= 10 && (memcmp(s, "compat.v1.", 10) == 0 || memcmp(s, "compat.v2.", 10) == 0))
		s += 10, len -= 10;
	for (size_t i = 0; i < MSI_ARRAY_LEN(tf_unsafe_namespaces); i++)
		if (in_namespace(s, len, tf_unsafe_namespaces[i]))
			return true;
	for (size_t i = 0; i < MSI_ARRAY_LEN(tf_unsafe_symbols); i++)
		if (strlen(tf_unsafe_symbols[i]) == len && memcmp(s, tf_unsafe_symbols[i], len) == 0)
			return true;
	if (len > 8 && memcmp(s, "raw_ops.", 8) == 0)
		for (size_t i = 0; i < MSI_ARRAY_LEN(tf_unsafe_raw_ops); i++)
			if (contains(s + 8, len - 8, tf_unsafe_raw_ops[i]))
				return true;
	return false;
}

/* ---- one object ---- */

static bool seen_before(walk *w, const msi_jval *name)
{
	uint64_t h = MSI_FNV_OFFSET;
	for (size_t i = 0; i < name->text_len; i++)
		h = (h ^ (unsigned char)name->text[i]) * 1099511628211ull;
	if (h == 0)
		h = 1;
	if (w->nseen >= SEEN_SLOTS / 2)
		return true; /* enough distinct names reported: the rest are alike */
	size_t slot = (size_t)(h % SEEN_SLOTS);
	while (w->seen[slot]) {
		if (w->seen[slot] == h)
			return true;
		slot = (slot + 1) % SEEN_SLOTS;
	}
	w->seen[slot] = h;
	w->nseen++;
	return false;
}

/* The layer's config name: Keras 3 refuses only '/', but legacy HDF5 uses
 * names as group names and Keras 2 as TF scope names, so anything beyond
 * a plain identifier (TFOpLambda's "tf.math.add" included) is refused. */
static void check_layer_name(walk *w, const msi_jval *layer)
{
	const msi_jval *cfg = msi_jval_get(layer, "config");
	const msi_jval *name = msi_jval_get(cfg, "name");
	if (!name)
		return;
	size_t a = path_push(w, "config", 6), b = path_push(w, "name", 4);
	char c[CLIP + 4];
	if (name->kind != MSI_JSTRING) {
		finding(w, "keras.layer_name.invalid", "a layer name is not a string");
	} else if (name->text_len == 0) {
		finding(w, "keras.layer_name.invalid", "a layer name is empty");
	} else if (name->text_len > NAME_MAX_LEN) {
		finding(w, "keras.layer_name.invalid", "layer name '%s' is %zu bytes long (at most %u)",
		        CLIPV(name, c), name->text_len, NAME_MAX_LEN);
	} else if (is_str(name, ".") || is_str(name, "..")) {
		finding(w, "keras.layer_name.invalid", "layer name '%s' is a path component", name->text);
	} else {
		for (size_t i = 0; i < name->text_len; i++) {
			unsigned char ch = (unsigned char)name->text[i];
			bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			          ch == '_' || ch == '.' || ch == '-';
			if (!ok) {
				finding(w, "keras.layer_name.invalid", "layer name '%s' has a character outside "
				        "[A-Za-z0-9_.-] at byte %zu", CLIPV(name, c), i);
				break;
			}
		}
	}
	path_pop(w, b);
	path_pop(w, a);
}

static const char *const lookup_layers[] = { "StringLookup", "IntegerLookup", "IndexLookup", "TextVectorization" };
static const char *const op_layers[] = { "TFOpLambda", "SlicingOpLambda" };

/* One finding at most per object, the most specific first. */
static void check_object(walk *w, const msi_jval *o)
{
	const msi_jval *cls = msi_jval_get(o, "class_name");
	if (!cls || cls->kind != MSI_JSTRING)
		return;
	const msi_jval *module = msi_jval_get(o, "module");
	const msi_jval *cfg = msi_jval_get(o, "config");
	const msi_jval *reg = msi_jval_get(o, "registered_name");
	char c1[CLIP + 4], c2[CLIP + 4];

	if (is_str(cls, "__lambda__")) {
		finding(w, "keras.lambda", "a __lambda__ object: Python bytecode that runs when the model loads");
		return;
	}
	if (is_str(cls, "Lambda")) {
		finding(w, "keras.lambda", "a Lambda layer: its function is Python code from the file");
		return;
	}
	if (is_str(cls, "TorchModuleWrapper")) {
		finding(w, "keras.lambda", "a TorchModuleWrapper layer: its module is a torch.save pickle that runs "
		        "when the model loads");
		return;
	}
	if (is_str(cls, "TFSMLayer")) {
		const msi_jval *fp = msi_jval_get(cfg, "filepath");
		if (fp && fp->kind == MSI_JSTRING)
			finding(w, "keras.tfsmlayer", "a TFSMLayer: loading it loads the SavedModel at '%s'", CLIPV(fp, c1));
		else
			finding(w, "keras.tfsmlayer", "a TFSMLayer: loading it loads another SavedModel");
		return;
	}
	bool function = is_str(cls, "function");
	const msi_jval *fn_name = function && cfg && cfg->kind == MSI_JSTRING ? cfg : NULL;
	if (module && module->kind == MSI_JSTRING) {
		if (!is_keras_module(module)) {
			/* Keras' own extension packages: Keras 3 imports them by name for
			 * their presets; the risk is the package installed, not the file */
			static const char *const extensions[] = { "keras_hub", "keras_nlp", "keras_cv" };
			for (size_t e = 0; e < MSI_ARRAY_LEN(extensions); e++) {
				if (in_namespace(module->text, module->text_len, extensions[e])) {
					finding(w, "keras.module.extension", "class '%s' from '%s': loading imports the %s "
					        "package", CLIPV(cls, c1), CLIPV(module, c2), extensions[e]);
					return;
				}
			}
			if (function)
				finding(w, "keras.function", "a serialized Python function '%s' from module '%s'",
				        fn_name ? CLIPV(fn_name, c1) : "?", CLIPV(module, c2));
			else
				finding(w, "keras.module.unsafe", "class '%s' from module '%s', which Keras imports",
				        CLIPV(cls, c1), CLIPV(module, c2));
			return;
		}
		const char *why = keras_api_denied(module, fn_name ? fn_name : cls);
		if (!why && function && reg && reg->kind == MSI_JSTRING)
			why = keras_api_denied(module, reg);
		if (why) {
			finding(w, "keras.api.unsafe", "'%s.%s' is not a model part (%s)", CLIPV(module, c1),
			        fn_name ? CLIPV(fn_name, c2) : CLIPV(cls, c2), why);
			return;
		}
	}
	if (is_any(cls, op_layers, MSI_ARRAY_LEN(op_layers))) {
		const msi_jval *fn = msi_jval_get(cfg, "function");
		if (fn && fn->kind == MSI_JSTRING && tf_symbol_unsafe(fn->text, fn->text_len)) {
			finding(w, "keras.api.unsafe", "%s calls '%s', which is not a model operation", cls->text,
			        CLIPV(fn, c1));
			return;
		}
	}
	if (is_str(cls, "ClassMethod")) {
		const msi_jval *sym = msi_jval_get(cfg, "cls_symbol");
		if (sym && sym->kind == MSI_JSTRING && tf_symbol_unsafe(sym->text, sym->text_len)) {
			finding(w, "keras.api.unsafe", "ClassMethod on '%s', which is not a model operation",
			        CLIPV(sym, c1));
			return;
		}
	}
	if (is_any(cls, lookup_layers, MSI_ARRAY_LEN(lookup_layers))) {
		const msi_jval *vocab = msi_jval_get(cfg, "vocabulary");
		if (vocab && vocab->kind == MSI_JSTRING) {
			finding(w, "keras.api.unsafe", "%s reads its vocabulary from the file '%s' outside the model",
			        cls->text, CLIPV(vocab, c1));
			return;
		}
	}
	if (module && module->kind == MSI_JNULL && reg && reg->kind == MSI_JSTRING && !seen_before(w, reg))
		finding(w, "keras.custom_object", "custom class '%s' (registered as '%s'): loading needs the code "
		        "that registers it", CLIPV(cls, c1), CLIPV(reg, c2));
}

/* ---- the walk ---- */

static const char *const layer_list_keys[] = { "layers", "cells" };
static const char *const layer_keys[] = { "layer", "forward_layer", "backward_layer", "cell" };

static bool key_is(const msi_jval *o, size_t i, const char *k)
{
	size_t n = strlen(k);
	return o->key_lens[i] == n && memcmp(o->keys[i], k, n) == 0;
}

static bool key_in(const msi_jval *o, size_t i, const char *const *list, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (key_is(o, i, list[k]))
			return true;
	return false;
}

/* Recursion is bounded by the parser's depth limit (at most
 * MSI_JSON_MAX_DEPTH). */
static void walk_value(walk *w, const msi_jval *v, role as)
{
	if (v->kind == MSI_JARRAY) {
		for (size_t i = 0; i < v->count; i++) {
			size_t old = path_push_index(w, i);
			walk_value(w, v->items[i], as == ROLE_LAYER_LIST ? ROLE_LAYER : ROLE_NONE);
			path_pop(w, old);
		}
		return;
	}
	if (v->kind != MSI_JOBJECT)
		return;
	check_object(w, v);
	if (as == ROLE_LAYER)
		check_layer_name(w, v);
	const msi_jval *cls = msi_jval_get(v, "class_name");
	bool keras_object = cls && cls->kind == MSI_JSTRING;
	for (size_t i = 0; i < v->count; i++) {
		role child = ROLE_NONE;
		if (keras_object && key_is(v, i, "config"))
			/* Keras 2.0-2.2 wrote a Sequential's layers as its config */
			child = v->items[i]->kind == MSI_JARRAY && is_str(cls, "Sequential") ? ROLE_LAYER_LIST : ROLE_CONFIG;
		else if (as == ROLE_CONFIG && key_in(v, i, layer_list_keys, MSI_ARRAY_LEN(layer_list_keys)))
			child = ROLE_LAYER_LIST;
		else if (as == ROLE_CONFIG && key_in(v, i, layer_keys, MSI_ARRAY_LEN(layer_keys)))
			child = ROLE_LAYER;
		size_t old = path_push(w, v->keys[i], v->key_lens[i]);
		walk_value(w, v->items[i], child);
		path_pop(w, old);
	}
}

/* ---- facts ---- */

static char *dup_str(const msi_jval *v, bool *failed)
{
	if (!v || v->kind != MSI_JSTRING)
		return NULL;
	char *s = msi_strndup(v->text, v->text_len);
	if (!s)
		*failed = true;
	return s;
}

static int fill_facts(const msi_jval *root, msi_keras_facts *f)
{
	bool failed = false;
	f->is_object = true;
	f->has_module = msi_jval_get(root, "module") != NULL;
	const msi_jval *cls = msi_jval_get(root, "class_name");
	f->class_name = dup_str(cls, &failed);
	f->module = dup_str(msi_jval_get(root, "module"), &failed);
	f->registered_name = dup_str(msi_jval_get(root, "registered_name"), &failed);
	const msi_jval *b = msi_jval_get(root, "build_config"), *c = msi_jval_get(root, "compile_config");
	f->has_build_config = b && b->kind != MSI_JNULL;
	f->has_compile_config = c && c->kind != MSI_JNULL;

	/* Layers only for the classes whose config lists them; a subclassed
	 * model's config is its own business. */
	const msi_jval *cfg = msi_jval_get(root, "config"), *layers = NULL;
	if (is_str(cls, "Sequential") && cfg && cfg->kind == MSI_JARRAY)
		layers = cfg;
	else if (is_str(cls, "Sequential") || is_str(cls, "Functional") || is_str(cls, "Model"))
		layers = msi_jval_get(cfg, "layers");
	if (layers && layers->kind == MSI_JARRAY && layers->count) {
		size_t n = MSI_MIN(layers->count, (size_t)MSI_KERAS_MAX_LAYERS);
		f->layers = msi_calloc(n, sizeof *f->layers);
		if (!f->layers)
			failed = true;
		for (size_t i = 0; f->layers && i < n && !failed; i++) {
			const msi_jval *lc = msi_jval_get(layers->items[i], "class_name");
			f->layers[i] = lc && lc->kind == MSI_JSTRING ? msi_strndup(lc->text, lc->text_len) : msi_strdup("");
			if (!f->layers[i])
				failed = true;
			else
				f->layer_count = i + 1;
		}
		f->layers_total = layers->count;
	}
	return failed ? msi_error(MS_ENOMEM, "out of memory for the Keras config facts") : MS_OK;
}

void msi_keras_facts_free(msi_keras_facts *f)
{
	if (!f)
		return;
	msi_free(f->class_name);
	msi_free(f->module);
	msi_free(f->registered_name);
	for (size_t i = 0; i < f->layer_count; i++)
		msi_free(f->layers[i]);
	msi_free(f->layers);
	memset(f, 0, sizeof *f);
}

static const char *kind_name(msi_jkind k)
{
	switch (k) {
	case MSI_JNULL: return "null";
	case MSI_JBOOL: return "a boolean";
	case MSI_JNUMBER: return "a number";
	case MSI_JSTRING: return "a string";
	case MSI_JARRAY: return "an array";
	default: return "an object";
	}
}

int msi_keras_config_check(const char *json, size_t len, const char *where_prefix,
                           const msi_json_limits *limits, ms_report *r, msi_keras_facts *facts)
{
	if (facts)
		memset(facts, 0, sizeof *facts);
	msi_json_limits dflt = { 64, 1000000 };
	const char *where = where_prefix ? where_prefix : "";
	msi_jval *root = NULL;
	int rc = msi_json_parse(json, len, limits ? limits : &dflt, &root);
	if (rc == MS_ENOMEM)
		return rc;
	if (rc == MS_ELIMIT) {
		msi_report_add(r, "keras.config.limit", where, "the config is beyond the reader's limits (%s)",
		               ms_error_last());
		return MS_OK;
	}
	if (rc != MS_OK) {
		msi_report_add(r, "keras.config.invalid", where, "the config is not JSON (%s)", ms_error_last());
		return MS_OK;
	}
	if (root->kind != MSI_JOBJECT) {
		msi_report_add(r, "keras.config.invalid", where, "the config is %s, not a JSON object",
		               kind_name(root->kind));
		msi_jval_free(root);
		return MS_OK;
	}
	walk w; /* 2.5 KiB of path steps */
	memset(&w, 0, sizeof w);
	w.r = r;
	w.prefix = where;
	walk_value(&w, root, ROLE_LAYER);
	bool failed = w.where.failed;
	msi_buf_free(&w.where);
	rc = failed ? msi_error(MS_ENOMEM, "out of memory while checking the Keras config") : MS_OK;
	if (rc == MS_OK && facts)
		rc = fill_facts(root, facts);
	if (rc != MS_OK && facts)
		msi_keras_facts_free(facts);
	msi_jval_free(root);
	return rc;
}
