/*
 * CatBoost binary model (CBM1, FlatBuffers): sniff and a cheap inspect (the
 * FlatBuffers verifier and validate come with the format's own issue).
 *
 * "CBM1", a u32 core size (0xFFFFFFFF escapes to a u64), then the
 * TModelCore FlatBuffer whose FormatVersion string, "FlabuffersModel_v1"
 * (the misspelling is CatBoost's), sits near its start (FORMATS.md §1.1).
 */
#include <string.h>

#include "../format.h"

static const char format_version[] = "FlabuffersModel_v1";

/* The declared core size and where the core starts; false when the size
 * field is cut off. */
static bool core_size(const msi_view *v, uint64_t *size, uint64_t *start)
{
	msi_cursor c = msi_cursor_make(v->head, v->head_len);
	msi_cursor_skip(&c, 4);
	uint64_t n = msi_cursor_le32(&c);
	if (n == 0xFFFFFFFFu)
		n = msi_cursor_le64(&c);
	if (c.failed)
		return false;
	*size = n;
	*start = c.pos;
	return true;
}

static int sniff(const msi_view *v)
{
	if (!v->src || v->container || !msi_has_prefix(v->head, v->head_len, "CBM1", 4))
		return 0;
	if (msi_find(v->head, v->head_len, format_version, sizeof format_version - 1))
		return 100;
	uint64_t size, start;
	if (core_size(v, &size, &start) && size > 0 && size <= v->size - start)
		return 90;
	return 60; /* the magic alone: a truncated or damaged model */
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	uint64_t size, start;
	if (!v->src || !core_size(v, &size, &start))
		return MS_OK;
	msi_json_key(out->model, "core_size");
	msi_json_uint(out->model, size);
	msi_json_key(out->model, "format_version");
	msi_json_string(out->model,
	                msi_find(v->head, v->head_len, format_version, sizeof format_version - 1) ? format_version : NULL);
	return MS_OK;
}

const msi_format msi_format_cbm = {
	.name = "cbm",
	.description = "CatBoost binary model (CBM1, FlatBuffers)",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = NULL,
};
