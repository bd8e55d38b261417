/*
 * CatBoost quantized pool: sniff and a cheap inspect (the chunk and
 * protobuf readers and validate come with the format's own issue).
 *
 * "CatboostQuantizedPool\0" (22 bytes, NUL included, so that the older
 * per-part "CatboostQuantizedPoolPart" files do not match), version and
 * version hash; the file ends with "CatboostQuantizedPoolEnd\0"
 * (FORMATS.md §2.1).
 */
#include <string.h>

#include "../format.h"

static const char head_magic[] = "CatboostQuantizedPool"; /* + its NUL: 22 bytes */
static const char tail_magic[] = "CatboostQuantizedPoolEnd"; /* + its NUL: 25 bytes */
#define VERSION_HASH 0x62BAF5A0u /* IntHash<u32>(1) */

static int sniff(const msi_view *v)
{
	if (!v->src || v->container || !msi_has_prefix(v->head, v->head_len, head_magic, sizeof head_magic))
		return 0;
	return 100;
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	msi_cursor c = msi_cursor_make(v->head, v->head_len);
	msi_cursor_skip(&c, sizeof head_magic);
	uint32_t version = msi_cursor_le32(&c);
	uint32_t hash = msi_cursor_le32(&c);
	if (!c.failed) {
		msi_json_key(out->model, "version");
		msi_json_uint(out->model, version);
		msi_json_key(out->model, "version_hash_ok");
		msi_json_bool(out->model, hash == VERSION_HASH);
	}
	bool tail_ok = v->tail_len >= sizeof tail_magic && v->size >= sizeof head_magic + sizeof tail_magic &&
	               memcmp(v->tail + v->tail_len - sizeof tail_magic, tail_magic, sizeof tail_magic) == 0;
	msi_json_key(out->model, "trailing_magic_ok");
	msi_json_bool(out->model, tail_ok);
	return MS_OK;
}

const msi_format msi_format_catboost_quantized_pool = {
	.name = "catboost_quantized_pool",
	.description = "CatBoost quantized pool",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = NULL,
};
