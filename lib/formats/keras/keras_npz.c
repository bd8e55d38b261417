/*
 * model.weights.npz (keras_config.h): a zip written by np.savez, one .npy
 * array per member. A .npy member is (numpy/lib/format.py):
 *
 *   "\x93NUMPY", u8 major, u8 minor   versions 1.0, 2.0, 3.0 only
 *   header length                     u16le (1.0) or u32le (2.0, 3.0)
 *   header                            a Python dict literal, e.g.
 *       {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *   data                              shape product x item size bytes
 *
 * numpy reads the header with ast.literal_eval; we parse the few literal
 * forms it can hold with a bounded parser of our own. An object dtype
 * ('|O', or a structured dtype with an object field) means the data is a
 * pickle that np.load(allow_pickle=True) runs -- and Keras' own NpzIOStore
 * writes each variable group as a 0-d object array of a dict, loading it
 * with allow_pickle=True up to 3.14, so every npz Keras wrote is one.
 */
#include <string.h>

#include <zlib.h>

#include "keras_config.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_HEADER_MAX 10000u /* numpy's own limit for files it does not trust */
#define NPY_HEAD_MAX (12u + NPY_HEADER_MAX)
#define NPY_RANK_MAX 64u      /* NPY_MAXDIMS of numpy 2 (32 in numpy 1) */
#define NPY_NEST_MAX 16u      /* nesting of a structured descr */
#define INFLATE_IN 16384u

/* ---- the header literal ---- */

typedef struct lit {
	const char *s;
	size_t len, pos;
	bool legacy_long; /* versions 1.0/2.0: numpy drops Python 2 'L' suffixes */
	const char *why;  /* first error */
} lit;

typedef struct npy_header {
	const char *descr; /* a plain descr string (not NUL-terminated), or NULL */
	size_t descr_len;
	bool has_descr, has_fortran, has_shape;
	bool object;       /* an object dtype anywhere in descr */
	bool fortran;
	uint64_t shape[NPY_RANK_MAX];
	size_t rank;
} npy_header;

static bool fail(lit *p, const char *why)
{
	if (!p->why)
		p->why = why;
	return false;
}

static void skip_ws(lit *p)
{
	while (p->pos < p->len && strchr(" \t\r\n\f\v", p->s[p->pos]) && p->s[p->pos])
		p->pos++;
}

/* Next non-blank byte, or 0 at the end. */
static char peek(lit *p)
{
	skip_ws(p);
	return p->pos < p->len ? p->s[p->pos] : 0;
}

static bool expect(lit *p, char c, const char *why)
{
	if (peek(p) != c)
		return fail(p, why);
	p->pos++;
	return true;
}

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A quoted string without escapes (numpy never writes any). */
static bool parse_string(lit *p, const char **s, size_t *n)
{
	char q = peek(p);
	if (q != '\'' && q != '"')
		return fail(p, "expected a string");
	size_t start = ++p->pos;
	while (p->pos < p->len && p->s[p->pos] != q) {
		if (p->s[p->pos] == '\\' || p->s[p->pos] == '\n')
			return fail(p, "a string with an escape or a line break");
		p->pos++;
	}
	if (p->pos >= p->len)
		return fail(p, "an unterminated string");
	*s = p->s + start;
	*n = p->pos - start;
	p->pos++;
	return true;
}

static bool parse_keyword(lit *p, const char *kw)
{
	size_t n = strlen(kw);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, kw, n) != 0 ||
	    (p->pos + n < p->len && ident_char(p->s[p->pos + n])))
		return false;
	p->pos += n;
	return true;
}

/* A non-negative decimal integer that fits in 64 bits. */
static bool parse_uint(lit *p, uint64_t *out)
{
	char c = peek(p);
	if (c == '-')
		return fail(p, "a negative dimension");
	if (c == '+')
		p->pos++;
	if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
		return fail(p, "expected an integer");
	uint64_t v = 0;
	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
		if (!msi_mul_u64(v, 10, &v) || !msi_add_u64(v, (uint64_t)(p->s[p->pos] - '0'), &v))
			return fail(p, "a dimension above 2^64");
		p->pos++;
	}
	if (p->legacy_long && p->pos < p->len && (p->s[p->pos] == 'L' || p->s[p->pos] == 'l'))
		p->pos++;
	if (p->pos < p->len && (ident_char(p->s[p->pos]) || p->s[p->pos] == '.'))
		return fail(p, "a number that is not a plain integer");
	*out = v;
	return true;
}

/* A dtype string that numpy reads as an object dtype: "O", "|O", "<O8"... */
static bool descr_is_object(const char *s, size_t n)
{
	if (n && strchr("<>|=", s[0]) && s[0])
		s++, n--;
	return n >= 1 && s[0] == 'O';
}

/* Where a literal sits inside a non-string descr (a structured or subarray
 * dtype): only whether some dtype in it is an object dtype matters. */
typedef enum descr_ctx {
	AT_DTYPE, /* a dtype: a string, a field list, or a (dtype, shape) tuple */
	AT_FIELD, /* an item of a field list: (name, dtype[, shape]) */
	AT_OTHER, /* a field name, a shape, or inside one */
} descr_ctx;

static bool parse_any(lit *p, npy_header *h, unsigned depth, descr_ctx at)
{
	if (depth > NPY_NEST_MAX)
		return fail(p, "a descr nested too deeply");
	char c = peek(p);
	if (c == '\'' || c == '"') {
		const char *s;
		size_t n;
		if (!parse_string(p, &s, &n))
			return false;
		if (at == AT_DTYPE && descr_is_object(s, n))
			h->object = true;
		return true;
	}
	if (c == '(' || c == '[') {
		char close = c == '(' ? ')' : ']';
		p->pos++;
		for (size_t i = 0; peek(p) != close; i++) {
			descr_ctx item = AT_OTHER;
			if (at == AT_DTYPE && c == '[')
				item = AT_FIELD;
			else if ((at == AT_DTYPE && i == 0) || (at == AT_FIELD && i == 1))
				item = AT_DTYPE;
			if (!parse_any(p, h, depth + 1, item))
				return false;
			if (peek(p) == ',')
				p->pos++;
			else if (peek(p) != close)
				return fail(p, "expected ',' in a descr");
		}
		p->pos++;
		return true;
	}
	if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
		uint64_t v;
		if (c == '-')
			p->pos++;
		return parse_uint(p, &v);
	}
	if (parse_keyword(p, "True") || parse_keyword(p, "False") || parse_keyword(p, "None"))
		return true;
	return fail(p, "an unexpected token in the descr");
}

static bool parse_shape(lit *p, npy_header *h)
{
	if (!expect(p, '(', "shape is not a tuple"))
		return false;
	bool comma = false;
	h->rank = 0;
	while (peek(p) != ')') {
		if (h->rank == NPY_RANK_MAX)
			return fail(p, "more than 64 dimensions");
		if (!parse_uint(p, &h->shape[h->rank++]))
			return false;
		if (peek(p) == ',') {
			p->pos++;
			comma = true;
		} else if (peek(p) != ')') {
			return fail(p, "expected ',' in the shape");
		}
	}
	p->pos++;
	/* "(3)" is the integer 3 in Python, not a tuple */
	if (h->rank == 1 && !comma)
		return fail(p, "shape is not a tuple");
	return true;
}

static bool parse_header(lit *p, npy_header *h)
{
	if (!expect(p, '{', "the header is not a dict"))
		return false;
	while (peek(p) != '}') {
		const char *key;
		size_t n;
		if (!parse_string(p, &key, &n) || !expect(p, ':', "expected ':' in the header"))
			return false;
		char c = peek(p);
		/* a repeated key: the last one counts, as in Python */
		if (n == 5 && memcmp(key, "descr", 5) == 0) {
			h->has_descr = true;
			h->object = false;
			h->descr = NULL;
			if (c == '\'' || c == '"') {
				if (!parse_string(p, &h->descr, &h->descr_len))
					return false;
				h->object = descr_is_object(h->descr, h->descr_len);
			} else if (!parse_any(p, h, 0, AT_DTYPE)) {
				return false;
			}
		} else if (n == 13 && memcmp(key, "fortran_order", 13) == 0) {
			h->has_fortran = true;
			if (parse_keyword(p, "True"))
				h->fortran = true;
			else if (parse_keyword(p, "False"))
				h->fortran = false;
			else
				return fail(p, "fortran_order is not True or False");
		} else if (n == 5 && memcmp(key, "shape", 5) == 0) {
			h->has_shape = true;
			if (!parse_shape(p, h))
				return false;
		} else {
			return fail(p, "a key other than descr, fortran_order and shape");
		}
		if (peek(p) == ',')
			p->pos++;
		else if (peek(p) != '}')
			return fail(p, "expected ',' in the header");
	}
	p->pos++;
	if (peek(p) != 0)
		return fail(p, "bytes after the header dict");
	if (!h->has_descr || !h->has_fortran || !h->has_shape)
		return fail(p, "the header lacks descr, fortran_order or shape");
	return true;
}

/* ---- dtypes ---- */

typedef struct npy_dtype {
	const char *code; /* kind and size after the byte-order character */
	const char *name;
	uint32_t size;
} npy_dtype;

static const npy_dtype plain_dtypes[] = {
	{ "b1", "bool", 1 },        { "i1", "int8", 1 },        { "i2", "int16", 2 },
	{ "i4", "int32", 4 },       { "i8", "int64", 8 },       { "u1", "uint8", 1 },
	{ "u2", "uint16", 2 },      { "u4", "uint32", 4 },      { "u8", "uint64", 8 },
	{ "f2", "float16", 2 },     { "f4", "float32", 4 },     { "f8", "float64", 8 },
	{ "f16", "float128", 16 },  { "c8", "complex64", 8 },   { "c16", "complex128", 16 },
	{ "c32", "complex256", 32 },
};

static const npy_dtype *plain_dtype(const char *s, size_t n)
{
	if (n && strchr("<>|=", s[0]) && s[0])
		s++, n--;
	for (size_t i = 0; i < MSI_ARRAY_LEN(plain_dtypes); i++)
		if (strlen(plain_dtypes[i].code) == n && memcmp(plain_dtypes[i].code, s, n) == 0)
			return &plain_dtypes[i];
	return NULL;
}

/* ---- reading a member's first bytes ---- */

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	MSI_UNUSED(opaque);
	return msi_reallocarray(NULL, items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
	MSI_UNUSED(opaque);
	msi_free(p);
}

/* Inflates the first `cap` bytes of a deflated member (or fewer, when it is
 * shorter). Returns MS_OK, MS_EFORMAT with *why set for corrupt data, or an
 * I/O or memory error. */
static int inflate_head(const msi_container *c, const msi_entry *e, uint8_t *out, size_t cap, size_t *got,
                        const char **why)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	zs.zalloc = z_alloc;
	zs.zfree = z_free;
	if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
		return msi_error(MS_ENOMEM, "out of memory (inflateInit2)");
	uint8_t *in = msi_malloc(INFLATE_IN);
	if (!in) {
		inflateEnd(&zs);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	uint64_t off = e->data_offset, left = e->csize;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	int rc = MS_OK, zr = Z_OK;
	while (zs.avail_out > 0 && zr != Z_STREAM_END) {
		if (zs.avail_in == 0) {
			if (left == 0) {
				*why = "the deflate stream is truncated";
				rc = MS_EFORMAT;
				break;
			}
			size_t n = (size_t)MSI_MIN(left, (uint64_t)INFLATE_IN);
			rc = msi_source_read(c->src, off, in, n);
			if (rc != MS_OK) {
				if (rc == MS_EFORMAT)
					*why = "the member's data lies outside the file";
				break;
			}
			off += n;
			left -= n;
			zs.next_in = in;
			zs.avail_in = (uInt)n;
		}
		zr = inflate(&zs, Z_NO_FLUSH);
		if (zr == Z_MEM_ERROR) {
			rc = msi_error(MS_ENOMEM, "out of memory while inflating");
			break;
		}
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			*why = "corrupt deflate data";
			rc = MS_EFORMAT;
			break;
		}
	}
	*got = cap - zs.avail_out;
	inflateEnd(&zs);
	msi_free(in);
	return rc;
}

/* ---- one member ---- */

typedef struct npz_check {
	msi_container *c;
	ms_report *r;
	const char *prefix;
	msi_buf where;
	msi_npz_array_fn fn;
	void *user;
	uint8_t head[NPY_HEAD_MAX];
} npz_check;

static const char *member_where(npz_check *k, const char *name)
{
	k->where.len = 0;
	if (k->prefix && *k->prefix) {
		msi_buf_puts(&k->where, k->prefix);
		msi_buf_putc(&k->where, ':');
	}
	msi_buf_printf(&k->where, "%.200s", name);
	return k->where.failed || !k->where.data ? "" : k->where.data;
}

#define INVALID(k, e, ...) msi_report_add((k)->r, "keras.npz.invalid", member_where(k, (e)->name), __VA_ARGS__)

static int check_member(npz_check *k, size_t index)
{
	const msi_entry *e = &k->c->entries[index];
	size_t name_len = strlen(e->name);
	if (name_len < 4 || memcmp(e->name + name_len - 4, ".npy", 4) != 0) {
		INVALID(k, e, "member '%.200s' is not a .npy file (np.savez names every member <key>.npy)", e->name);
		return MS_OK;
	}
	size_t want = (size_t)MSI_MIN(e->size, (uint64_t)NPY_HEAD_MAX), got = 0;
	const char *why = NULL;
	int rc;
	if (e->method == 8) {
		rc = inflate_head(k->c, e, k->head, want, &got, &why);
	} else {
		msi_source *s = NULL;
		rc = k->c->ops->open_entry(k->c, index, NPY_HEAD_MAX, &s);
		if (rc == MS_OK) {
			int64_t n = msi_source_read_upto(s, 0, k->head, want);
			rc = n < 0 ? (int)n : MS_OK;
			got = n < 0 ? 0 : (size_t)n;
		}
		if (rc == MS_EFORMAT)
			why = ms_error_last();
		msi_source_release(s);
	}
	if (rc == MS_EFORMAT) {
		INVALID(k, e, "member '%.200s' cannot be read: %s", e->name, why ? why : "malformed");
		return MS_OK;
	}
	if (rc != MS_OK)
		return rc;

	if (got < 10 || memcmp(k->head, NPY_MAGIC, 6) != 0) {
		INVALID(k, e, "member '%.200s' does not start with the .npy magic \\x93NUMPY", e->name);
		return MS_OK;
	}
	uint8_t major = k->head[6], minor = k->head[7];
	if (major < 1 || major > 3 || minor != 0) {
		INVALID(k, e, "member '%.200s' is .npy version %u.%u (numpy reads 1.0, 2.0 and 3.0)", e->name, major,
		        minor);
		return MS_OK;
	}
	size_t pre = major == 1 ? 10 : 12;
	if (got < pre) {
		INVALID(k, e, "member '%.200s' ends inside the .npy preamble", e->name);
		return MS_OK;
	}
	uint32_t hlen = major == 1 ? msi_le16(k->head + 8) : msi_le32(k->head + 8);
	if (hlen > NPY_HEADER_MAX) {
		INVALID(k, e, "member '%.200s' has a %u-byte .npy header (numpy refuses more than %u from an "
		        "untrusted file)", e->name, hlen, NPY_HEADER_MAX);
		return MS_OK;
	}
	if (got < pre + hlen) {
		INVALID(k, e, "member '%.200s' ends inside its .npy header", e->name);
		return MS_OK;
	}

	npy_header h;
	memset(&h, 0, sizeof h);
	lit p = { (const char *)k->head + pre, hlen, 0, major < 3, NULL };
	if (memchr(p.s, '\0', hlen) || !parse_header(&p, &h)) {
		INVALID(k, e, "member '%.200s': the .npy header is not a valid dict literal (%s at byte %zu)", e->name,
		        p.why ? p.why : "a NUL byte", p.pos);
		return MS_OK;
	}
	if (h.object) {
		msi_report_add(k->r, "keras.npz.pickle", member_where(k, e->name), "member '%.200s' is an object "
		               "array: its data is a pickle, which numpy runs when loading", e->name);
		return MS_OK;
	}
	const npy_dtype *dt = h.descr ? plain_dtype(h.descr, h.descr_len) : NULL;
	if (!dt) {
		char d[24];
		size_t n = h.descr ? MSI_MIN(h.descr_len, sizeof d - 1) : 0;
		for (size_t i = 0; i < n; i++)
			d[i] = (unsigned char)h.descr[i] < 0x20 || (unsigned char)h.descr[i] >= 0x7F ? '?' : h.descr[i];
		d[n] = '\0';
		INVALID(k, e, "member '%.200s' has dtype %s%s%s, not a plain numeric one", e->name, h.descr ? "'" : "",
		        h.descr ? d : "(structured)", h.descr ? "'" : "");
		return MS_OK;
	}
	/* numpy's sizes are signed (npy_intp), and it refuses a shape whose
	 * non-zero dimensions times the item size pass INT64_MAX even when
	 * another dimension is 0 */
	uint64_t count = 1, bytes;
	bool zero = false;
	for (size_t i = 0; i < h.rank; i++) {
		if (h.shape[i] == 0)
			zero = true;
		else if (!msi_mul_u64(count, h.shape[i], &count) || count > INT64_MAX) {
			INVALID(k, e, "member '%.200s': the shape's element count is above 2^63", e->name);
			return MS_OK;
		}
	}
	if (!msi_mul_u64(count, dt->size, &bytes) || bytes > INT64_MAX) {
		INVALID(k, e, "member '%.200s': the data size is above 2^63 bytes", e->name);
		return MS_OK;
	}
	if (zero)
		count = bytes = 0;
	uint64_t data = e->size - (pre + hlen);
	if (data != bytes) {
		INVALID(k, e, "member '%.200s' holds %llu data bytes, but its shape and dtype need %llu", e->name,
		        (unsigned long long)data, (unsigned long long)bytes);
		return MS_OK;
	}
	if (!k->fn)
		return MS_OK;
	return k->fn(k->user, e->name, name_len - 4, dt->name, (unsigned)h.rank, h.shape, count);
}

/* The npz's own zip findings, located inside it. */
static void copy_findings(npz_check *k, const ms_report *from)
{
	for (size_t i = 0; i < from->count; i++) {
		const msi_finding *f = &from->items[i];
		k->where.len = 0;
		if (k->prefix && *k->prefix)
			msi_buf_puts(&k->where, k->prefix);
		if (k->prefix && *k->prefix && f->where && *f->where)
			msi_buf_putc(&k->where, ':');
		if (f->where)
			msi_buf_puts(&k->where, f->where);
		msi_buf_putc(&k->where, '\0');
		msi_report_add(k->r, f->code, k->where.failed ? "" : k->where.data, "%s", f->message);
	}
	k->r->dropped += from->dropped;
}

int msi_keras_npz_check(msi_source *src, const msi_limits *limits, const char *where_prefix, ms_report *r,
                        msi_npz_array_fn fn, void *user)
{
	msi_container *c = NULL;
	int rc = msi_zip_open(src, limits, &c);
	if (rc == MS_EFORMAT) {
		msi_report_add(r, "keras.npz.invalid", where_prefix ? where_prefix : "", "the npz cannot be read as a "
		               "zip archive (%s)", ms_error_last());
		return MS_OK;
	}
	if (rc != MS_OK)
		return rc;
	npz_check *k = msi_calloc(1, sizeof *k);
	if (!k) {
		msi_container_free(c);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	k->c = c;
	k->r = r;
	k->prefix = where_prefix;
	k->fn = fn;
	k->user = user;
	if (c->findings)
		copy_findings(k, c->findings);
	for (size_t i = 0; i < c->count && rc == MS_OK; i++) {
		/* unsafe members are in the zip findings already; np.savez writes
		 * no directories */
		if (c->entries[i].type == MSI_ENTRY_FILE && !c->entries[i].unsafe)
			rc = check_member(k, i);
	}
	if (rc == MS_OK && k->where.failed)
		rc = msi_error(MS_ENOMEM, "out of memory");
	msi_buf_free(&k->where);
	msi_free(k);
	msi_container_free(c);
	return rc;
}
