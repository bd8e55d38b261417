/* The serialzy frame reader: see serialzy.h. */
#include <string.h>

#include "../package/package.h"
#include "serialzy.h"

bool msi_serialzy_looks_like(const uint8_t *head, size_t head_len)
{
	return head_len >= MSI_SERIALZY_MAGIC_LEN && memcmp(head, MSI_SERIALZY_MAGIC, MSI_SERIALZY_MAGIC_LEN) == 0;
}

static const char *const known_keys[] = { "data_format", "schema_format", "schema_content", "meta" };

/* Top-level modules whose classes no model serializer produces, and whose
 * import or call from a header means running system code. */
static const char *const forbidden_modules[] = {
	"builtins", "__builtin__", "os", "posix", "nt", "sys", "subprocess", "shutil", "socket", "importlib",
	"pickle", "_pickle", "marshal", "runpy", "code", "codeop", "ctypes", "pty", "webbrowser", "io",
	"operator", "functools", "types", "signal", "multiprocessing", "threading", "asyncio", "pdb",
};

static bool module_is(const char *module, size_t len, const char *top)
{
	size_t n = strlen(top);
	return len >= n && memcmp(module, top, n) == 0 && (len == n || module[n] == '.');
}

/* The type a serialzy_python_type_reference schema names, against what its
 * data format can produce (SERIALZY.md sections 2 and 3). */
static void check_type_reference(msi_serialzy *s, const char *df, const msi_jval *ref)
{
	const msi_jval *mod = msi_jval_get(ref, "module"), *name = msi_jval_get(ref, "name");
	if (!mod || mod->kind != MSI_JSTRING || !name || (name->kind != MSI_JSTRING && name->kind != MSI_JNULL))
		return;
	const char *where = "serialzy header: schema_content";
	const char *nm = name->kind == MSI_JSTRING ? name->text : "None";
	if (df && strcmp(df, "primitive_type") == 0) {
		static const char *const prim[] = { "int", "float", "str", "bool", "NoneType" };
		bool ok = false;
		for (size_t i = 0; i < MSI_ARRAY_LEN(prim) && name->kind == MSI_JSTRING; i++)
			ok |= strcmp(nm, prim[i]) == 0 && strlen(prim[i]) == name->text_len;
		if (!ok || strcmp(mod->text, "builtins") != 0 || mod->text_len != 8)
			msi_report_add(s->findings, "serialzy.schema.type", where,
			               "primitive_type names %.100s.%.100s; serialzy calls that type on the payload, and "
			               "it only writes int, float, str, bool and NoneType from builtins",
			               mod->text, nm);
		return;
	}
	if (!msi_pack_format_by_name(df))
		return;
	if (module_is(mod->text, mod->text_len, "__main__")) {
		msi_report_add(s->findings, "serialzy.schema.main_module", where,
		               "the model class %.100s is defined in __main__: serialzy cannot import it back "
		               "(modelstore.load can)",
		               nm);
		return;
	}
	for (size_t i = 0; i < MSI_ARRAY_LEN(forbidden_modules); i++) {
		if (module_is(mod->text, mod->text_len, forbidden_modules[i])) {
			msi_report_add(s->findings, "serialzy.schema.type", where,
			               "the %.40s data format never produces %.100s.%.100s; serialzy would import and "
			               "instantiate it",
			               df, mod->text, nm);
			return;
		}
	}
	if (strcmp(df, "catboost_quantized_pool") == 0 &&
	    (!module_is(mod->text, mod->text_len, "catboost") || strcmp(nm, "Pool") != 0))
		msi_report_add(s->findings, "serialzy.schema.type", where,
		               "catboost_quantized_pool holds a catboost Pool, not %.100s.%.100s", mod->text, nm);
}

static void check_header(msi_serialzy *s, const msi_limits *limits)
{
	const msi_jval *h = s->header;
	if (h->kind != MSI_JOBJECT) {
		msi_report_add(s->findings, "serialzy.header.not_object", "serialzy header",
		               "the header is a JSON value but not an object");
		return;
	}
	size_t order = 0;
	bool ordered = true;
	for (size_t i = 0; i < h->count; i++) {
		size_t k;
		for (k = 0; k < MSI_ARRAY_LEN(known_keys); k++)
			if (strcmp(h->keys[i], known_keys[k]) == 0 && strlen(known_keys[k]) == h->key_lens[i])
				break;
		if (k == MSI_ARRAY_LEN(known_keys)) {
			msi_report_add(s->findings, "serialzy.header.unknown_key", "serialzy header",
			               "key '%.100s' is not one of data_format, schema_format, schema_content, meta",
			               h->keys[i]);
			continue;
		}
		if (k < order)
			ordered = false;
		order = k;
	}
	if (!ordered)
		msi_report_add(s->findings, "serialzy.header.key_order", "serialzy header",
		               "keys are not in serialzy's order (data_format, schema_format, schema_content, meta)");

	const msi_jval *df = msi_jval_get(h, "data_format");
	if (!df)
		msi_report_add(s->findings, "serialzy.header.missing_key", "serialzy header",
		               "the header has no data_format");
	else if (df->kind != MSI_JSTRING)
		msi_report_add(s->findings, "serialzy.header.type", "serialzy header: data_format",
		               "data_format must be a string");
	else
		s->data_format = df->text;
	if (s->data_format && !msi_serialzy_format_known(s->data_format))
		msi_report_add(s->findings, "serialzy.format.invalid", "serialzy header: data_format",
		               "serialzy has no serializer for the data format '%.100s'", s->data_format);

	const msi_jval *sf = msi_jval_get(h, "schema_format");
	if (!sf)
		msi_report_add(s->findings, "serialzy.header.missing_key", "serialzy header",
		               "the header has no schema_format");
	else if (sf->kind != MSI_JSTRING)
		msi_report_add(s->findings, "serialzy.header.type", "serialzy header: schema_format",
		               "schema_format must be a string");
	const msi_jval *sc = msi_jval_get(h, "schema_content");
	if (!sc)
		msi_report_add(s->findings, "serialzy.header.optional_missing", "serialzy header",
		               "the header has no schema_content (serialzy reads it as '')");
	else if (sc->kind != MSI_JSTRING)
		msi_report_add(s->findings, "serialzy.header.type", "serialzy header: schema_content",
		               "schema_content must be a string");
	if (sc && sc->kind == MSI_JSTRING) {
		msi_json_limits jl = { limits->max_depth, 100000 };
		if (msi_json_parse(sc->text, sc->text_len, &jl, &s->schema) != MS_OK) {
			msi_jval_free(s->schema);
			s->schema = NULL;
		}
	}
	bool sf_str = sf && sf->kind == MSI_JSTRING;
	if (sf_str && strcmp(sf->text, "pickled_type") == 0) {
		msi_report_add(s->findings, "serialzy.schema.pickled", "serialzy header: schema_format",
		               "schema_format is pickled_type: serialzy gets the type by unpickling schema_content, "
		               "which can run any code");
	} else if (sf_str && strcmp(sf->text, "serialzy_python_type_reference") == 0 && sc && sc->kind == MSI_JSTRING) {
		const msi_jval *ref = s->schema;
		const msi_jval *mod = ref && ref->kind == MSI_JOBJECT ? msi_jval_get(ref, "module") : NULL;
		const msi_jval *nm = ref && ref->kind == MSI_JOBJECT ? msi_jval_get(ref, "name") : NULL;
		if (!mod || !nm || mod->kind != MSI_JSTRING || (nm->kind != MSI_JSTRING && nm->kind != MSI_JNULL))
			msi_report_add(s->findings, "serialzy.schema.invalid", "serialzy header: schema_content",
			               "schema_content should be a JSON object {\"module\": ..., \"name\": ...}");
		else
			check_type_reference(s, s->data_format, ref);
	} else if (sf_str && s->data_format && msi_pack_format_by_name(s->data_format)) {
		msi_report_add(s->findings, "serialzy.schema.invalid", "serialzy header: schema_format",
		               "the %.40s serializer reads only serialzy_python_type_reference schemas, not '%.100s'",
		               s->data_format, sf->text);
	}

	const msi_jval *meta = msi_jval_get(h, "meta");
	if (!meta) {
		msi_report_add(s->findings, "serialzy.header.optional_missing", "serialzy header",
		               "the header has no meta (serialzy reads it as {})");
		return;
	}
	if (meta->kind != MSI_JOBJECT) {
		msi_report_add(s->findings, "serialzy.header.type", "serialzy header: meta", "meta must be an object");
		return;
	}
	for (size_t i = 0; i < meta->count; i++)
		if (meta->items[i]->kind != MSI_JSTRING)
			msi_report_add(s->findings, "serialzy.header.type", "serialzy header: meta",
			               "meta value '%.100s' must be a string", meta->keys[i]);
	const msi_jval *um = msi_jval_get(meta, "user-meta");
	if (!um || um->kind != MSI_JSTRING)
		return;
	msi_json_limits jl = { limits->max_depth, 1000000 };
	int rc = msi_json_parse(um->text, um->text_len, &jl, &s->user_meta);
	if (rc != MS_OK || s->user_meta->kind != MSI_JOBJECT) {
		if (rc != MS_OK)
			msi_report_add(s->findings, "serialzy.user_meta.json", "serialzy header: meta.user-meta",
			               "user-meta is not JSON: %s", ms_error_last());
		msi_report_add(s->findings, "serialzy.user_meta.invalid", "serialzy header: meta.user-meta",
		               "user-meta is not a JSON object%s%s", rc != MS_OK ? ": " : "",
		               rc != MS_OK ? ms_error_last() : "");
		msi_jval_free(s->user_meta);
		s->user_meta = NULL;
	}
}

int msi_serialzy_open(msi_source *src, const msi_limits *limits, msi_serialzy **out)
{
	*out = NULL;
	uint8_t fixed[16];
	int64_t got = msi_source_read_upto(src, 0, fixed, sizeof fixed);
	if (got < 0)
		return (int)got;
	if (!msi_serialzy_looks_like(fixed, (size_t)got))
		return msi_error(MS_EFORMAT, "no serialzy magic");
	msi_serialzy *s = msi_calloc(1, sizeof *s);
	if (!s || !(s->findings = msi_report_new(NULL, NULL))) {
		msi_free(s);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	*out = s;
	s->stream_size = src->size;
	if (got < 16) {
		msi_report_add(s->findings, "serialzy.header.truncated", "serialzy header",
		               "the stream ends inside the 8-byte header length (%lld bytes in all)", (long long)got);
		return MS_OK;
	}
	s->header_len = msi_le64(fixed + 8);
	if (!msi_range_ok(16, s->header_len, src->size)) {
		msi_report_add(s->findings, "serialzy.header.truncated", "serialzy header",
		               "the header declares %llu bytes but only %llu follow",
		               (unsigned long long)s->header_len, (unsigned long long)(src->size - 16));
		return MS_OK;
	}
	s->header_whole = true;
	s->payload_offset = 16 + s->header_len;
	if (s->header_len > limits->max_header_size) {
		msi_report_add(s->findings, "serialzy.header.too_large", "serialzy header",
		               "the header declares %llu bytes, above the limit of %llu",
		               (unsigned long long)s->header_len, (unsigned long long)limits->max_header_size);
		return MS_OK;
	}
	char *text = msi_malloc((size_t)s->header_len + 1);
	if (!text)
		return msi_error(MS_ENOMEM, "out of memory reading a %llu-byte header", (unsigned long long)s->header_len);
	int rc = msi_source_read(src, 16, text, (size_t)s->header_len);
	if (rc != MS_OK) {
		msi_free(text);
		return rc;
	}
	if (!msi_utf8_valid(text, (size_t)s->header_len)) {
		msi_report_add(s->findings, "serialzy.header.utf8", "serialzy header",
		               "the header is not valid UTF-8 (serialzy's json.loads refuses it)");
		msi_free(text);
		return MS_OK;
	}
	for (size_t i = 0; i < s->header_len; i++) {
		if ((unsigned char)text[i] >= 0x80) {
			msi_report_add(s->findings, "serialzy.header.non_ascii", "serialzy header",
			               "byte %zu is not ASCII; serialzy escapes non-ASCII text", i);
			break;
		}
	}
	msi_json_limits jl = { limits->max_depth, 1000000 };
	rc = msi_json_parse(text, (size_t)s->header_len, &jl, &s->header);
	msi_free(text);
	if (rc == MS_ENOMEM)
		return rc;
	if (rc != MS_OK) {
		msi_report_add(s->findings, "serialzy.header.json", "serialzy header", "%s", ms_error_last());
		return MS_OK;
	}
	check_header(s, limits);
	if (s->payload_offset == src->size)
		msi_report_add(s->findings, "serialzy.payload.empty", "serialzy payload",
		               "the stream ends right after the header: no payload");
	return s->findings->failed ? msi_error(MS_ENOMEM, "out of memory") : MS_OK;
}

static void write_offsets(const msi_serialzy *s, msi_json *j)
{
	msi_json_key(j, "header_length");
	msi_json_uint(j, s->header_len);
	msi_json_key(j, "payload_offset");
	if (s->header_whole)
		msi_json_uint(j, s->payload_offset);
	else
		msi_json_null(j);
	msi_json_key(j, "payload_size");
	if (s->header_whole)
		msi_json_uint(j, s->stream_size - s->payload_offset);
	else
		msi_json_null(j);
}

void msi_serialzy_write_json(const msi_serialzy *s, msi_json *j)
{
	msi_json_object_begin(j);
	const msi_jval *h = s->header;
	for (size_t i = 0; h && h->kind == MSI_JOBJECT && i < h->count; i++) {
		/* the offsets are ours: a header key of that name is not repeated */
		if (strcmp(h->keys[i], "header_length") == 0 || strcmp(h->keys[i], "payload_offset") == 0 ||
		    strcmp(h->keys[i], "payload_size") == 0)
			continue;
		msi_json_keyn(j, h->keys[i], h->key_lens[i]);
		const msi_jval *v = h->items[i];
		if (strcmp(h->keys[i], "schema_content") == 0 && v->kind == MSI_JSTRING && s->schema &&
		    v == msi_jval_get(h, "schema_content")) {
			msi_jval_write(j, s->schema);
		} else if (strcmp(h->keys[i], "meta") == 0 && v->kind == MSI_JOBJECT && s->user_meta &&
		           v == msi_jval_get(h, "meta")) {
			msi_json_object_begin(j);
			for (size_t k = 0; k < v->count; k++) {
				msi_json_keyn(j, v->keys[k], v->key_lens[k]);
				if (strcmp(v->keys[k], "user-meta") == 0 && v->items[k]->kind == MSI_JSTRING &&
				    v->items[k] == msi_jval_get(v, "user-meta"))
					msi_jval_write(j, s->user_meta);
				else
					msi_jval_write(j, v->items[k]);
			}
			msi_json_object_end(j);
		} else {
			msi_jval_write(j, v);
		}
	}
	write_offsets(s, j);
	msi_json_object_end(j);
}

void msi_serialzy_free(msi_serialzy *s)
{
	if (!s)
		return;
	msi_jval_free(s->header);
	msi_jval_free(s->user_meta);
	msi_jval_free(s->schema);
	ms_report_free(s->findings);
	msi_free(s);
}
