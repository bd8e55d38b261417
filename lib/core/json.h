/*
 * One JSON writer and one bounded JSON reader for the whole library.
 *
 * The writer produces either compact JSON (inspect/report output) or the
 * exact text of Python's json.dumps() defaults (", " and ": " separators,
 * non-ASCII as \uXXXX with surrogate pairs), which serialzy headers need.
 *
 * The reader builds a small tree for documents that are bounded by the
 * caller (serialzy headers, metadata members). Every limit is checked:
 * input size, nesting depth and node count. It accepts NaN, Infinity and
 * -Infinity, which Python's json and XGBoost write.
 */
#ifndef MSI_CORE_JSON_H
#define MSI_CORE_JSON_H

#include "internal.h"

#define MSI_JSON_MAX_DEPTH 128

enum {
	MSI_JSON_COMPACT = 0,
	MSI_JSON_PYTHON = 1, /* json.dumps() separators and ensure_ascii */
};

typedef struct msi_json {
	msi_buf *out;
	unsigned flags;
	int depth;
	bool need_comma[MSI_JSON_MAX_DEPTH + 1];
	bool after_key;
	bool overflow; /* nesting beyond MSI_JSON_MAX_DEPTH: output is invalid */
} msi_json;

void msi_json_init(msi_json *j, msi_buf *out, unsigned flags);
void msi_json_object_begin(msi_json *j);
void msi_json_object_end(msi_json *j);
void msi_json_array_begin(msi_json *j);
void msi_json_array_end(msi_json *j);
void msi_json_key(msi_json *j, const char *key);
void msi_json_keyn(msi_json *j, const char *key, size_t len);
void msi_json_string(msi_json *j, const char *s); /* NULL writes null */
void msi_json_stringn(msi_json *j, const char *s, size_t len);
void msi_json_int(msi_json *j, int64_t v);
void msi_json_uint(msi_json *j, uint64_t v);
void msi_json_double(msi_json *j, double v); /* non-finite: null */
void msi_json_bool(msi_json *j, bool v);
void msi_json_null(msi_json *j);
/* A value that is already JSON text. */
void msi_json_raw(msi_json *j, const char *text, size_t len);
/* Escapes `s` as a JSON string body (no quotes) into `out`. */
void msi_json_escape(msi_buf *out, const char *s, size_t len, bool ascii);

/* true when the bytes are valid UTF-8 (no overlong forms, no surrogates). */
bool msi_utf8_valid(const char *s, size_t len);
/* Number of code points in valid UTF-8 (counts lead bytes). */
size_t msi_utf8_count(const char *s, size_t len);

/* ---- reader ---- */
typedef enum msi_jkind {
	MSI_JNULL,
	MSI_JBOOL,
	MSI_JNUMBER,
	MSI_JSTRING,
	MSI_JARRAY,
	MSI_JOBJECT
} msi_jkind;

typedef struct msi_jval msi_jval;
struct msi_jval {
	msi_jkind kind;
	bool boolean;
	double number;
	char *text;      /* string value (NUL-terminated, may hold NULs) or number text */
	size_t text_len;
	size_t count;    /* array/object members */
	char **keys;     /* object keys */
	size_t *key_lens;
	msi_jval **items;
};

typedef struct msi_json_limits {
	size_t max_depth;  /* e.g. 64 */
	size_t max_nodes;  /* e.g. 1,000,000 */
} msi_json_limits;

/* Parses `len` bytes holding exactly one JSON value (surrounding white space
 * allowed). Returns MS_OK, MS_EFORMAT (message says where), MS_ELIMIT or
 * MS_ENOMEM. */
int msi_json_parse(const char *text, size_t len, const msi_json_limits *limits, msi_jval **out);
void msi_jval_free(msi_jval *v);
/* Member `key` of an object (the last one when repeated), or NULL. */
const msi_jval *msi_jval_get(const msi_jval *obj, const char *key);
/* Writes the value back as JSON. */
void msi_jval_write(msi_json *j, const msi_jval *v);

#endif
