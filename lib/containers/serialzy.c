/* The serialzy frame reader: see serialzy.h. */
#include <string.h>

#include "serialzy.h"

bool msi_serialzy_looks_like(const uint8_t *head, size_t head_len)
{
	return head_len >= MSI_SERIALZY_MAGIC_LEN && memcmp(head, MSI_SERIALZY_MAGIC, MSI_SERIALZY_MAGIC_LEN) == 0;
}

static const char *const known_keys[] = { "data_format", "schema_format", "schema_content", "meta" };

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

	const msi_jval *sf = msi_jval_get(h, "schema_format");
	if (sf && sf->kind != MSI_JSTRING)
		msi_report_add(s->findings, "serialzy.header.type", "serialzy header: schema_format",
		               "schema_format must be a string");
	const msi_jval *sc = msi_jval_get(h, "schema_content");
	if (sc && sc->kind != MSI_JSTRING)
		msi_report_add(s->findings, "serialzy.header.type", "serialzy header: schema_content",
		               "schema_content must be a string");
	if (sf && sf->kind == MSI_JSTRING && strcmp(sf->text, "serialzy_python_type_reference") == 0 && sc &&
	    sc->kind == MSI_JSTRING) {
		msi_json_limits jl = { limits->max_depth, 1000 };
		msi_jval *ref = NULL;
		if (msi_json_parse(sc->text, sc->text_len, &jl, &ref) != MS_OK || ref->kind != MSI_JOBJECT ||
		    !msi_jval_get(ref, "module") || !msi_jval_get(ref, "name"))
			msi_report_add(s->findings, "serialzy.schema.invalid", "serialzy header: schema_content",
			               "schema_content should be a JSON object {\"module\": ..., \"name\": ...}");
		msi_jval_free(ref);
	}

	const msi_jval *meta = msi_jval_get(h, "meta");
	if (!meta)
		return;
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
	if (msi_json_parse(um->text, um->text_len, &jl, &s->user_meta) != MS_OK || s->user_meta->kind != MSI_JOBJECT) {
		msi_report_add(s->findings, "serialzy.user_meta.invalid", "serialzy header: meta.user-meta",
		               "user-meta is not a JSON object: %s", ms_error_last());
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

void msi_serialzy_write_json(const msi_serialzy *s, msi_json *j)
{
	if (!s->header || s->header->kind != MSI_JOBJECT) {
		msi_json_null(j);
		return;
	}
	const msi_jval *h = s->header;
	msi_json_object_begin(j);
	for (size_t i = 0; i < h->count; i++) {
		msi_json_keyn(j, h->keys[i], h->key_lens[i]);
		const msi_jval *v = h->items[i];
		if (strcmp(h->keys[i], "meta") == 0 && v->kind == MSI_JOBJECT && s->user_meta) {
			msi_json_object_begin(j);
			for (size_t k = 0; k < v->count; k++) {
				msi_json_keyn(j, v->keys[k], v->key_lens[k]);
				if (strcmp(v->keys[k], "user-meta") == 0 && v->items[k]->kind == MSI_JSTRING)
					msi_jval_write(j, s->user_meta);
				else
					msi_jval_write(j, v->items[k]);
			}
			msi_json_object_end(j);
		} else {
			msi_jval_write(j, v);
		}
	}
	msi_json_object_end(j);
}

void msi_serialzy_free(msi_serialzy *s)
{
	if (!s)
		return;
	msi_jval_free(s->header);
	msi_jval_free(s->user_meta);
	ms_report_free(s->findings);
	msi_free(s);
}
