/*
 * XGBoost model: JSON, UBJSON or legacy binary. This file is the format's
 * table entry: sniff, then inspect and validate through the readers
 * (xgb_doc.c for JSON/UBJSON, xgb_binary.c) and the checks (xgb_model.c).
 *
 * Telling them apart (FORMATS.md §4.1, §4.3, §4.4):
 *   JSON     `{` ... with a top-level key "learner" holding an object
 *   UBJSON   `{` then a length marker and the key `learner` (sorted keys put
 *            it first), then `{`
 *   binary   "binf", or (very old files) no magic at all: the 136-byte
 *            LearnerModelParam then the objective and booster names as
 *            u64-length strings; that second shape is what we check
 * Only the head window is read, so a truncated file is still recognised.
 */
#include <string.h>

#include "xgb.h"

#define LEGACY_PARAM XGB_LEGACY_PARAM

/* Scans JSON text for a key at nesting depth 1 whose value is an object.
 * Strings are skipped with their escapes; the scan stops at the window's
 * end. */
static bool json_top_key(const uint8_t *p, size_t n, const char *key)
{
	size_t kl = strlen(key);
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	if (i >= n || p[i] != '{')
		return false;
	int depth = 0;
	bool expect_key = false;
	for (; i < n; i++) {
		uint8_t ch = p[i];
		if (ch == '"') {
			size_t start = ++i;
			while (i < n && p[i] != '"')
				i += p[i] == '\\' ? 2 : 1;
			if (i >= n)
				return false;
			if (depth == 1 && expect_key && i - start == kl && memcmp(p + start, key, kl) == 0) {
				size_t k = i + 1;
				while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r' || p[k] == '\n' || p[k] == ':'))
					k++;
				return k < n && p[k] == '{';
			}
			expect_key = false;
			continue;
		}
		if (ch == '{' || ch == '[') {
			depth++;
			expect_key = ch == '{';
		} else if (ch == '}' || ch == ']') {
			depth--;
			if (depth <= 0)
				return false;
		} else if (ch == ',') {
			/* a comma inside an object starts the next key; the depth tells
			 * arrays from objects only at depth 1, which is all we need */
			expect_key = depth == 1;
		}
	}
	return false;
}

/* UBJSON: `{`, a key as (integer marker, big-endian length, bytes), then
 * `{`. XGBoost writes L (int64) lengths; other integer markers are legal. */
static bool ubjson_first_key(const uint8_t *p, size_t n, const char *key)
{
	msi_cursor c = msi_cursor_make(p, n);
	if (msi_cursor_u8(&c) != '{')
		return false;
	uint8_t marker = msi_cursor_u8(&c);
	uint64_t len;
	switch (marker) {
	case 'i':
	case 'U': len = msi_cursor_u8(&c); break;
	case 'I': {
		const uint8_t *b = msi_cursor_bytes(&c, 2);
		len = b ? (uint64_t)b[0] << 8 | b[1] : 0;
		break;
	}
	case 'l': {
		const uint8_t *b = msi_cursor_bytes(&c, 4);
		len = b ? msi_be32(b) : 0;
		break;
	}
	case 'L': len = msi_cursor_be64(&c); break;
	default: return false;
	}
	size_t kl = strlen(key);
	if (c.failed || len != kl)
		return false;
	const uint8_t *k = msi_cursor_bytes(&c, kl);
	return k && memcmp(k, key, kl) == 0 && msi_cursor_u8(&c) == '{' && !c.failed;
}

/* A u64-length string with a printable, short body. */
static const uint8_t *binary_string(msi_cursor *c, size_t max, size_t *len)
{
	uint64_t n = msi_cursor_le64(c);
	if (c->failed || n == 0 || n > max)
		return NULL;
	const uint8_t *s = msi_cursor_bytes(c, (size_t)n);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7E)
			return NULL;
	*len = (size_t)n;
	return s;
}

static bool booster_name(const uint8_t *s, size_t n)
{
	return (n == 6 && memcmp(s, "gbtree", 6) == 0) || (n == 8 && memcmp(s, "gblinear", 8) == 0) ||
	       (n == 4 && memcmp(s, "dart", 4) == 0);
}

/* The objective and booster names after the parameter block at `off`.
 * Objectives are "family:name" ("binary:logistic", "reg:squarederror",
 * "rank:pairwise", ...). */
static bool binary_names(const uint8_t *p, size_t n, size_t off, const uint8_t **obj, size_t *olen,
                         const uint8_t **booster, size_t *blen)
{
	if (n < off)
		return false;
	msi_cursor c = msi_cursor_make(p + off, n - off);
	*obj = binary_string(&c, 64, olen);
	if (!*obj || !memchr(*obj, ':', *olen))
		return false;
	*booster = binary_string(&c, 16, blen);
	return *booster && booster_name(*booster, *blen);
}

static xgb_encoding encoding_of(const msi_view *v, int *score)
{
	*score = 0;
	if (!v->src || v->container || v->head_len == 0)
		return XGB_NONE;
	const uint8_t *p = v->head;
	size_t n = v->head_len;
	if (p[0] == '{') {
		if (ubjson_first_key(p, n, "learner")) {
			*score = 95;
			return XGB_UBJSON;
		}
		if (json_top_key(p, n, "learner")) {
			*score = 90;
			return XGB_JSON;
		}
		return XGB_NONE;
	}
	if ((p[0] == ' ' || p[0] == '\n' || p[0] == '\r' || p[0] == '\t') && json_top_key(p, n, "learner")) {
		*score = 90;
		return XGB_JSON;
	}
	const uint8_t *obj, *booster;
	size_t olen, blen;
	if (msi_has_prefix(p, n, "binf", 4)) {
		/* the names confirm it; a truncated file may end before them */
		*score = binary_names(p, n, 4 + LEGACY_PARAM, &obj, &olen, &booster, &blen) ? 100 : 90;
		return XGB_BINARY;
	}
	if (binary_names(p, n, LEGACY_PARAM, &obj, &olen, &booster, &blen)) {
		*score = 80;
		return XGB_BINARY;
	}
	return XGB_NONE;
}

static int sniff(const msi_view *v)
{
	int score;
	encoding_of(v, &score);
	return score;
}

/* One pass over the payload: facts (and findings when `report` is set). */
static int read_model(xgb_ctx *c, msi_progress *progress)
{
	if (c->encoding == XGB_BINARY)
		return xgb_read_binary(c, progress);
	return xgb_read_doc(c, progress);
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	int score;
	xgb_encoding e = encoding_of(v, &score);
	if (e == XGB_NONE)
		return MS_OK;
	xgb_ctx c;
	xgb_ctx_init(&c, v, NULL, e);
	int rc = read_model(&c, NULL);
	xgb_write_facts(&c, out->model);
	xgb_ctx_free(&c);
	return rc;
}

static int validate(const msi_view *v, msi_validate_ctx *ctx)
{
	int score;
	xgb_encoding e = encoding_of(v, &score);
	if (e == XGB_NONE) {
		msi_report_add(ctx->report, "xgb.syntax", "", "the bytes are not an XGBoost JSON, UBJSON or binary model");
		return MS_OK;
	}
	xgb_ctx c;
	xgb_ctx_init(&c, v, ctx->report, e);
	int rc = read_model(&c, ctx->progress);
	if (rc == MS_OK)
		xgb_check_model(&c);
	xgb_ctx_free(&c);
	return rc == MS_EFORMAT ? MS_OK : rc;
}

const msi_format msi_format_xgb = {
	.name = "xgb",
	.description = "XGBoost model: JSON, UBJSON or legacy binary",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = validate,
};
