/*
 * XGBoost model: JSON, UBJSON or legacy binary: sniff and a cheap inspect
 * (the document readers and validate come with the format's own issue).
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

#include "../format.h"

typedef enum xgb_encoding {
	XGB_NONE,
	XGB_JSON,
	XGB_UBJSON,
	XGB_BINARY,
} xgb_encoding;

#define LEGACY_PARAM 136u /* LearnerModelParamLegacy */

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

/* "version": [major, minor, patch] near the end of a JSON document. */
static void json_version(const uint8_t *p, size_t n, msi_json *j)
{
	const uint8_t *hit = NULL, *at;
	size_t from = 0;
	while (from < n && (at = msi_find(p + from, n - from, "\"version\"", 9)) != NULL) {
		hit = at;
		from = (size_t)(at - p) + 1;
	}
	if (!hit)
		return;
	size_t i = (size_t)(hit - p) + 9;
	while (i < n && (p[i] == ' ' || p[i] == ':'))
		i++;
	if (i >= n || p[i] != '[')
		return;
	i++;
	int64_t parts[3];
	for (int k = 0; k < 3; k++) {
		while (i < n && p[i] == ' ')
			i++;
		int64_t x = 0;
		size_t digits = 0;
		while (i < n && p[i] >= '0' && p[i] <= '9' && digits < 9) {
			x = x * 10 + (p[i++] - '0');
			digits++;
		}
		if (!digits)
			return;
		parts[k] = x;
		while (i < n && p[i] == ' ')
			i++;
		if (i >= n || p[i] != (k < 2 ? ',' : ']'))
			return;
		i++;
	}
	msi_json_key(j, "version");
	msi_json_array_begin(j);
	for (int k = 0; k < 3; k++)
		msi_json_int(j, parts[k]);
	msi_json_array_end(j);
}

/* A UBJSON integer after its marker; false for other markers. */
static bool ubjson_int(msi_cursor *c, uint8_t marker, int64_t *v)
{
	const uint8_t *b;
	switch (marker) {
	case 'i': *v = (int8_t)msi_cursor_u8(c); break;
	case 'U': *v = msi_cursor_u8(c); break;
	case 'I':
		b = msi_cursor_bytes(c, 2);
		*v = b ? (int16_t)(b[0] << 8 | b[1]) : 0;
		break;
	case 'l':
		b = msi_cursor_bytes(c, 4);
		*v = b ? (int32_t)msi_be32(b) : 0;
		break;
	case 'L': *v = (int64_t)msi_cursor_be64(c); break;
	default: return false;
	}
	return !c->failed;
}

/* The "version" key near the end of a UBJSON document (the keys are sorted,
 * so it comes last): `[#` count, then three integers, or the typed form
 * `[$<marker>#` count. */
static void ubjson_version(const uint8_t *p, size_t n, msi_json *j)
{
	static const uint8_t key[] = { 'L', 0, 0, 0, 0, 0, 0, 0, 7, 'v', 'e', 'r', 's', 'i', 'o', 'n', '[' };
	const uint8_t *hit = NULL, *at;
	size_t from = 0;
	while (from < n && (at = msi_find(p + from, n - from, key, sizeof key)) != NULL) {
		hit = at;
		from = (size_t)(at - p) + 1;
	}
	if (!hit)
		return;
	size_t start = (size_t)(hit - p) + sizeof key;
	msi_cursor c = msi_cursor_make(p + start, n - start);
	uint8_t typed = 0, m = msi_cursor_u8(&c);
	if (m == '$') {
		typed = msi_cursor_u8(&c);
		m = msi_cursor_u8(&c);
	}
	int64_t count;
	if (m != '#' || !ubjson_int(&c, msi_cursor_u8(&c), &count) || count != 3)
		return;
	int64_t parts[3];
	for (int k = 0; k < 3; k++)
		if (!ubjson_int(&c, typed ? typed : msi_cursor_u8(&c), &parts[k]))
			return;
	msi_json_key(j, "version");
	msi_json_array_begin(j);
	for (int k = 0; k < 3; k++)
		msi_json_int(j, parts[k]);
	msi_json_array_end(j);
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	int score;
	xgb_encoding e = encoding_of(v, &score);
	msi_json *j = out->model;
	static const char *const names[] = { NULL, "json", "ubjson", "binary" };
	if (e == XGB_NONE)
		return MS_OK;
	msi_json_key(j, "encoding");
	msi_json_string(j, names[e]);
	if (e == XGB_JSON) {
		json_version(v->tail, v->tail_len, j);
	} else if (e == XGB_UBJSON) {
		ubjson_version(v->tail, v->tail_len, j);
	} else if (e == XGB_BINARY) {
		size_t off = msi_has_prefix(v->head, v->head_len, "binf", 4) ? 4 : 0;
		const uint8_t *obj, *booster;
		size_t olen, blen;
		if (v->head_len >= off + LEGACY_PARAM) {
			const uint8_t *param = v->head + off;
			msi_json_key(j, "num_feature");
			msi_json_uint(j, msi_le32(param + 4));
			msi_json_key(j, "num_class");
			msi_json_int(j, (int32_t)msi_le32(param + 8));
			msi_json_key(j, "version");
			msi_json_array_begin(j);
			msi_json_uint(j, msi_le32(param + 20));
			msi_json_uint(j, msi_le32(param + 24));
			msi_json_array_end(j);
		}
		if (binary_names(v->head, v->head_len, off + LEGACY_PARAM, &obj, &olen, &booster, &blen)) {
			msi_json_key(j, "objective");
			msi_json_stringn(j, (const char *)obj, olen);
			msi_json_key(j, "booster");
			msi_json_stringn(j, (const char *)booster, blen);
		}
	}
	return MS_OK;
}

const msi_format msi_format_xgb = {
	.name = "xgb",
	.description = "XGBoost model: JSON, UBJSON or legacy binary",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = NULL,
};
