/* Bounded JSON/UBJSON pull reader: see pull.h. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pull.h"

#define WINDOW (256u * 1024u)
#define NUMBER_MAX 512 /* longest number text accepted */

/* frame states */
enum { ST_FIRST, ST_AFTER_VALUE, ST_EXPECT_VALUE };

static msi_pull_tok fail_at(msi_pull *p, int rc, bool truncated, const char *fmt, ...) MSI_PRINTF(4, 5);
static msi_pull_tok fail_at(msi_pull *p, int rc, bool truncated, const char *fmt, ...)
{
	if (p->rc != MS_OK)
		return MSI_PULL_ERROR;
	p->rc = rc;
	p->truncated = truncated;
	p->err_off = msi_pull_offset(p);
	va_list ap;
	va_start(ap, fmt);
	char what[160];
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(p->msg, sizeof p->msg, "%s at byte %llu", what, (unsigned long long)p->err_off);
	msi_error(rc, "%s", p->msg);
	return MSI_PULL_ERROR;
}

static msi_pull_tok truncated(msi_pull *p)
{
	return fail_at(p, MS_EFORMAT, true, "unexpected end of data");
}

int msi_pull_open(msi_pull *p, const msi_source *src, uint64_t off, uint64_t len, bool ubjson,
                  const msi_pull_limits *limits)
{
	memset(p, 0, sizeof *p);
	p->src = src;
	p->src_off = off;
	p->src_len = len;
	p->ubjson = ubjson;
	p->max_depth = limits && limits->max_depth ? limits->max_depth : 64;
	p->max_string = limits && limits->max_string ? limits->max_string : (64u << 20);
	p->max_elements = limits && limits->max_elements ? limits->max_elements : ((size_t)1 << 28);
	p->stack = msi_calloc(p->max_depth + 1, sizeof *p->stack);
	if (!p->stack)
		return msi_error(MS_ENOMEM, "out of memory");
	const uint8_t *mem = msi_source_memory(src);
	if (mem) {
		p->buf = p->p = mem + off;
		p->end = p->buf + len;
		p->eof = true;
	} else {
		p->cap = (size_t)MSI_MIN((uint64_t)WINDOW, len ? len : 1);
		p->owned = msi_malloc(p->cap);
		if (!p->owned) {
			msi_free(p->stack);
			p->stack = NULL;
			return msi_error(MS_ENOMEM, "out of memory");
		}
		p->buf = p->p = p->end = p->owned;
		p->eof = len == 0;
	}
	return MS_OK;
}

void msi_pull_close(msi_pull *p)
{
	msi_free(p->owned);
	msi_free(p->stack);
	msi_buf_free(&p->scratch);
	p->owned = NULL;
	p->stack = NULL;
}

uint64_t msi_pull_offset(const msi_pull *p)
{
	return p->base + (uint64_t)(p->p - p->buf);
}

/* Makes at least `need` bytes available at p->p, or as many as are left.
 * Returns false only on a read error (p->rc set). */
static bool fill(msi_pull *p, size_t need)
{
	if ((size_t)(p->end - p->p) >= need || p->eof)
		return true;
	size_t keep = (size_t)(p->end - p->p);
	uint64_t at = msi_pull_offset(p);
	if (need > p->cap) {
		size_t ncap = MSI_MAX(need, p->cap * 2);
		uint8_t *nb = msi_malloc(ncap);
		if (!nb) {
			fail_at(p, MS_ENOMEM, false, "out of memory");
			return false;
		}
		memcpy(nb, p->p, keep);
		msi_free(p->owned);
		p->owned = nb;
		p->cap = ncap;
	} else {
		memmove(p->owned, p->p, keep);
	}
	p->buf = p->p = p->owned;
	p->base = at;
	uint64_t left = p->src_len - (at + keep);
	size_t want = (size_t)MSI_MIN((uint64_t)(p->cap - keep), left);
	int64_t got = msi_source_read_upto(p->src, p->src_off + at + keep, p->owned + keep, want);
	if (got < 0 || (size_t)got != want) {
		p->end = p->p + keep;
		fail_at(p, got < 0 ? (int)got : MS_ECHANGED, false, "read error (%s)", ms_error_last());
		return false;
	}
	p->end = p->owned + keep + want;
	p->eof = at + keep + want >= p->src_len;
	if (p->progress && msi_progress_add(p->progress, want) != MS_OK) {
		fail_at(p, MS_ECANCELLED, false, "cancelled");
		return false;
	}
	return true;
}

static inline bool avail(msi_pull *p, size_t n)
{
	return (size_t)(p->end - p->p) >= n || (fill(p, n) && (size_t)(p->end - p->p) >= n);
}

/* ---- JSON ---------------------------------------------------------------- */

static inline bool is_ws(uint8_t c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Skips white space; false at the end of the data (or on a read error). */
static bool json_ws(msi_pull *p)
{
	for (;;) {
		while (p->p < p->end && is_ws(*p->p))
			p->p++;
		if (p->p < p->end)
			return true;
		if (p->eof || !fill(p, 1) || p->p == p->end)
			return false;
	}
}

static const double pow10_exact[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

typedef struct number {
	bool neg, integer, special; /* special: NaN/Infinity */
	double special_value;
	uint64_t mant;   /* up to 19 significant digits */
	int sig;         /* significant digits kept in mant (after leading zeros) */
	int64_t e10;     /* value = mant * 10^e10 */
	size_t len;      /* bytes of text */
} number;

/* Lexes a number at s[0..n). Returns false on a syntax error; the caller
 * makes sure the window holds NUMBER_MAX bytes or the end of the data. */
static bool lex_number(const uint8_t *s, size_t n, number *num)
{
	size_t i = 0;
	memset(num, 0, sizeof *num);
	if (i < n && (s[i] == '-' || s[i] == '+')) {
		num->neg = s[i] == '-';
		i++;
	}
	if (i < n && (s[i] == 'N' || s[i] == 'I')) {
		const char *w = s[i] == 'N' ? "NaN" : "Infinity";
		size_t wl = strlen(w);
		if (n - i < wl || memcmp(s + i, w, wl) != 0)
			return false;
		if (s[i] == 'N' && i > 0)
			return false; /* -NaN */
		num->special = true;
		num->special_value = s[i] == 'N' ? NAN : (num->neg ? -INFINITY : INFINITY);
		num->len = i + wl;
		return true;
	}
	if (i >= n || s[i] < '0' || s[i] > '9')
		return false;
	int64_t dropped = 0;
	int digits = 0;
	if (s[i] == '0') {
		i++;
		if (i < n && s[i] >= '0' && s[i] <= '9')
			return false;
	} else {
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (num->sig < 19) {
				num->mant = num->mant * 10 + (uint64_t)(s[i] - '0');
				num->sig++;
			} else {
				dropped++;
			}
			digits++;
			i++;
		}
	}
	num->integer = true;
	int64_t frac = 0;
	if (i < n && s[i] == '.') {
		num->integer = false;
		i++;
		size_t start = i;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (num->sig < 19) {
				if (num->mant != 0 || s[i] != '0')
					num->sig++;
				num->mant = num->mant * 10 + (uint64_t)(s[i] - '0');
				frac++;
			}
			i++;
		}
		if (i == start)
			return false;
	}
	int64_t ex = 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		num->integer = false;
		i++;
		bool eneg = false;
		if (i < n && (s[i] == '+' || s[i] == '-')) {
			eneg = s[i] == '-';
			i++;
		}
		size_t start = i;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (ex < 100000)
				ex = ex * 10 + (s[i] - '0');
			i++;
		}
		if (i == start)
			return false;
		if (eneg)
			ex = -ex;
	}
	if (num->integer && (digits > 18 || dropped))
		num->integer = false;
	num->e10 = ex - frac + dropped;
	num->len = i;
	return true;
}

static double number_value(const number *num)
{
	if (num->special)
		return num->special_value;
	double v;
	if (num->mant == 0) {
		v = 0.0;
	} else if (num->mant < (1ull << 53) && num->e10 >= -22 && num->e10 <= 22) {
		v = num->e10 >= 0 ? (double)num->mant * pow10_exact[num->e10]
		                  : (double)num->mant / pow10_exact[-num->e10];
	} else if (num->e10 > 400) {
		v = INFINITY;
	} else if (num->e10 < -400) {
		v = 0.0;
	} else {
		/* outside the exact range: a close approximation (facts only need
		 * that; XGBoost's float32 values stay in the exact range) */
		v = (double)num->mant;
		int64_t e = num->e10;
		while (e >= 22 && v < 1e300) {
			v *= 1e22;
			e -= 22;
		}
		while (e <= -22 && v > 1e-300) {
			v /= 1e22;
			e += 22;
		}
		if (e > 0 && e < 22)
			v *= pow10_exact[e];
		else if (e < 0 && e > -22)
			v /= pow10_exact[-e];
		else if (e >= 22)
			v = INFINITY;
		else if (e <= -22)
			v = 0.0;
	}
	return num->neg ? -v : v;
}

/* Non-finite as a float32 (XGBoost's type): NaN, ±Infinity or too large. */
static bool number_nonfinite(const number *num)
{
	if (num->special)
		return true;
	if (num->mant == 0)
		return false;
	int64_t mag = num->sig + num->e10; /* value < 10^mag */
	if (mag <= 38)
		return false;
	return fabs(number_value(num)) > FLT_MAX;
}

bool msi_parse_double(const char *s, size_t n, double *out)
{
	number num;
	if (!lex_number((const uint8_t *)s, n, &num) || num.len != n)
		return false;
	*out = number_value(&num);
	return true;
}

/* Lexes a number at the read position into `num`. */
static bool json_number(msi_pull *p, number *num)
{
	if (!avail(p, NUMBER_MAX) && p->rc != MS_OK)
		return false;
	size_t n = (size_t)(p->end - p->p);
	if (!lex_number(p->p, n, num)) {
		fail_at(p, MS_EFORMAT, n < NUMBER_MAX && p->eof && n > 0 && p->p[n - 1] >= '0', "invalid number");
		return false;
	}
	if (num->len == n && !p->eof) {
		fail_at(p, MS_EFORMAT, false, "number longer than %d bytes", NUMBER_MAX);
		return false;
	}
	p->p += num->len;
	return true;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static void put_utf8(msi_buf *b, uint32_t cp)
{
	char t[4];
	size_t n;
	if (cp < 0x80) {
		t[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xC0 | cp >> 6);
		t[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xE0 | cp >> 12);
		t[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		t[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		t[0] = (char)(0xF0 | cp >> 18);
		t[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		t[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		t[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	msi_buf_append(b, t, n);
}

/* A string whose opening quote is at p->p; sets p->str/p->len. */
static bool json_string(msi_pull *p)
{
	size_t i = 1;
	bool escapes = false;
	for (;;) {
		size_t n = (size_t)(p->end - p->p);
		while (i < n) {
			uint8_t c = p->p[i];
			if (c == '"')
				break;
			if (c == '\\') {
				escapes = true;
				i += 2;
				continue;
			}
			if (c < 0x20) {
				p->p += i;
				fail_at(p, MS_EFORMAT, false, "control character in a string");
				return false;
			}
			i++;
		}
		if (i < n)
			break;
		if (i - 1 > p->max_string) {
			fail_at(p, MS_ELIMIT, false, "string longer than %zu bytes", p->max_string);
			return false;
		}
		if (p->eof) {
			p->p = p->end;
			truncated(p);
			return false;
		}
		if (!fill(p, n + MSI_MAX(n, (size_t)4096)))
			return false;
	}
	if (i - 1 > p->max_string) {
		fail_at(p, MS_ELIMIT, false, "string longer than %zu bytes", p->max_string);
		return false;
	}
	const uint8_t *s = p->p + 1;
	size_t len = i - 1;
	p->p += i + 1;
	if (!escapes) {
		p->str = (const char *)s;
		p->len = len;
		return true;
	}
	msi_buf *b = &p->scratch;
	b->len = 0;
	for (size_t k = 0; k < len; k++) {
		if (s[k] != '\\') {
			msi_buf_putc(b, (char)s[k]);
			continue;
		}
		uint8_t e = s[++k];
		switch (e) {
		case '"': case '\\': case '/': msi_buf_putc(b, (char)e); break;
		case 'b': msi_buf_putc(b, '\b'); break;
		case 'f': msi_buf_putc(b, '\f'); break;
		case 'n': msi_buf_putc(b, '\n'); break;
		case 'r': msi_buf_putc(b, '\r'); break;
		case 't': msi_buf_putc(b, '\t'); break;
		case 'u': {
			uint32_t cp = 0;
			for (int q = 0; q < 4; q++) {
				int h = k + 1 < len ? hexval(s[++k]) : -1;
				if (h < 0) {
					fail_at(p, MS_EFORMAT, false, "bad \\u escape");
					return false;
				}
				cp = cp << 4 | (uint32_t)h;
			}
			if (cp >= 0xD800 && cp < 0xDC00 && k + 6 < len && s[k + 1] == '\\' && s[k + 2] == 'u') {
				uint32_t lo = 0;
				bool ok = true;
				for (int q = 0; q < 4; q++) {
					int h = hexval(s[k + 3 + q]);
					ok = ok && h >= 0;
					lo = lo << 4 | (uint32_t)(h < 0 ? 0 : h);
				}
				if (ok && lo >= 0xDC00 && lo < 0xE000) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					k += 6;
				}
			}
			put_utf8(b, cp);
			break;
		}
		default:
			fail_at(p, MS_EFORMAT, false, "bad escape \\%c in a string", e >= 0x20 && e < 0x7F ? e : '?');
			return false;
		}
	}
	if (b->failed) {
		fail_at(p, MS_ENOMEM, false, "out of memory");
		return false;
	}
	p->str = b->data ? b->data : "";
	p->len = b->len;
	return true;
}

static msi_pull_tok push(msi_pull *p, uint8_t kind, uint8_t typed, int64_t left)
{
	if (p->depth >= p->max_depth)
		return fail_at(p, MS_ELIMIT, false, "nesting deeper than %zu", p->max_depth);
	msi_pull_frame *f = &p->stack[++p->depth];
	f->kind = kind;
	f->state = ST_FIRST;
	f->typed = typed;
	f->left = left;
	return kind == '{' ? MSI_PULL_OBJECT : MSI_PULL_ARRAY;
}

static msi_pull_tok pop(msi_pull *p)
{
	uint8_t kind = p->stack[p->depth].kind;
	p->depth--;
	if (p->depth == 0)
		p->done = true;
	return kind == '{' ? MSI_PULL_OBJECT_END : MSI_PULL_ARRAY_END;
}

static msi_pull_tok json_value(msi_pull *p)
{
	if (p->depth)
		p->stack[p->depth].state = ST_AFTER_VALUE;
	else
		p->done = true; /* a scalar top-level value; containers reset this */
	uint8_t c = *p->p;
	switch (c) {
	case '{':
		p->p++;
		p->done = false;
		return push(p, '{', 0, -1);
	case '[':
		p->p++;
		p->done = false;
		return push(p, '[', 0, -1);
	case '"':
		return json_string(p) ? MSI_PULL_STRING : MSI_PULL_ERROR;
	case 't':
	case 'f':
	case 'n': {
		const char *w = c == 't' ? "true" : c == 'f' ? "false" : "null";
		size_t wl = strlen(w);
		if (!avail(p, wl)) {
			if (p->rc == MS_OK && memcmp(p->p, w, (size_t)(p->end - p->p)) == 0) {
				p->p = p->end;
				return truncated(p);
			}
			return fail_at(p, MS_EFORMAT, false, "invalid literal");
		}
		if (memcmp(p->p, w, wl) != 0)
			return fail_at(p, MS_EFORMAT, false, "invalid literal");
		p->p += wl;
		if (c == 'n')
			return MSI_PULL_NULL;
		p->bval = c == 't';
		return MSI_PULL_BOOL;
	}
	default: {
		number num;
		if (!json_number(p, &num))
			return MSI_PULL_ERROR;
		if (num.integer) {
			p->ival = num.neg ? -(int64_t)num.mant : (int64_t)num.mant;
			p->dval = (double)p->ival;
			return MSI_PULL_INT;
		}
		p->dval = number_value(&num);
		return MSI_PULL_DOUBLE;
	}
	}
}

static msi_pull_tok json_next(msi_pull *p)
{
	if (!json_ws(p)) {
		if (p->rc != MS_OK)
			return MSI_PULL_ERROR;
		if (p->done)
			return MSI_PULL_EOF;
		return truncated(p);
	}
	if (p->done)
		return fail_at(p, MS_EFORMAT, false, "data after the end of the document");
	if (p->depth == 0) {
		if (p->started)
			return fail_at(p, MS_EFORMAT, false, "data after the end of the document");
		p->started = true;
		return json_value(p);
	}
	msi_pull_frame *f = &p->stack[p->depth];
	uint8_t c = *p->p;
	uint8_t close = f->kind == '{' ? '}' : ']';
	if (f->state == ST_EXPECT_VALUE)
		return json_value(p);
	if (c == close) {
		p->p++;
		return pop(p);
	}
	if (f->state == ST_AFTER_VALUE) {
		if (c != ',')
			return fail_at(p, MS_EFORMAT, false, "expected ',' or '%c'", close);
		p->p++;
		if (!json_ws(p))
			return p->rc != MS_OK ? MSI_PULL_ERROR : truncated(p);
		c = *p->p;
	}
	if (f->kind == '[') {
		if (c == ']' || c == '}' || c == ',' || c == ':')
			return fail_at(p, MS_EFORMAT, false, "expected a value");
		return json_value(p);
	}
	if (c != '"')
		return fail_at(p, MS_EFORMAT, false, "expected a key");
	if (!json_string(p))
		return MSI_PULL_ERROR;
	/* the key stays in the window or scratch: ':' and white space never
	 * move the window when the key came from scratch; when it came from the
	 * window, a refill could, so copy it first */
	if (p->str != p->scratch.data) {
		p->scratch.len = 0;
		msi_buf_append(&p->scratch, p->str, p->len);
		if (p->scratch.failed)
			return fail_at(p, MS_ENOMEM, false, "out of memory");
		p->str = p->scratch.data ? p->scratch.data : "";
	}
	if (!json_ws(p))
		return p->rc != MS_OK ? MSI_PULL_ERROR : truncated(p);
	if (*p->p != ':')
		return fail_at(p, MS_EFORMAT, false, "expected ':'");
	p->p++;
	f->state = ST_EXPECT_VALUE;
	return MSI_PULL_KEY;
}

/* ---- UBJSON -------------------------------------------------------------- */

static size_t ub_size(uint8_t m)
{
	switch (m) {
	case 'i': case 'U': case 'C': return 1;
	case 'I': return 2;
	case 'l': case 'd': return 4;
	case 'L': case 'D': return 8;
	default: return 0;
	}
}

static uint64_t be_load(const uint8_t *b, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

/* An integer after marker `m` (already consumed). */
static bool ub_int(msi_pull *p, uint8_t m, int64_t *out)
{
	size_t n = ub_size(m);
	if (n == 0 || m == 'd' || m == 'D' || m == 'C') {
		fail_at(p, MS_EFORMAT, false, "expected an integer marker, got 0x%02x", m);
		return false;
	}
	if (!avail(p, n)) {
		if (p->rc == MS_OK)
			truncated(p);
		return false;
	}
	uint64_t u = be_load(p->p, n);
	p->p += n;
	switch (m) {
	case 'i': *out = (int8_t)u; break;
	case 'U': *out = (int64_t)u; break;
	case 'I': *out = (int16_t)u; break;
	case 'l': *out = (int32_t)u; break;
	default: *out = (int64_t)u; break;
	}
	return true;
}

static bool ub_byte(msi_pull *p, uint8_t *out)
{
	if (!avail(p, 1)) {
		if (p->rc == MS_OK)
			truncated(p);
		return false;
	}
	*out = *p->p++;
	return true;
}

/* A length (marker + integer), checked non-negative and, times `unit`,
 * within the bytes left. */
static bool ub_length(msi_pull *p, size_t unit, int64_t *out)
{
	uint8_t m;
	if (!ub_byte(p, &m) || !ub_int(p, m, out))
		return false;
	if (*out < 0) {
		fail_at(p, MS_EFORMAT, false, "negative length %lld", (long long)*out);
		return false;
	}
	uint64_t left = p->src_len - msi_pull_offset(p), need;
	if (!msi_mul_u64((uint64_t)*out, unit ? unit : 1, &need) || need > left) {
		fail_at(p, MS_EFORMAT, true, "length %lld runs past the end of the data", (long long)*out);
		return false;
	}
	return true;
}

static bool ub_string(msi_pull *p)
{
	int64_t n;
	if (!ub_length(p, 1, &n))
		return false;
	if ((uint64_t)n > p->max_string) {
		fail_at(p, MS_ELIMIT, false, "string longer than %zu bytes", p->max_string);
		return false;
	}
	if (!avail(p, (size_t)n)) {
		if (p->rc == MS_OK)
			truncated(p);
		return false;
	}
	p->str = (const char *)p->p;
	p->len = (size_t)n;
	p->p += n;
	return true;
}

/* Opens a container after its '{' or '[' marker: optional $type, #count. */
static msi_pull_tok ub_open(msi_pull *p, uint8_t kind)
{
	uint8_t typed = 0;
	int64_t left = -1;
	if (!avail(p, 1))
		return p->rc != MS_OK ? MSI_PULL_ERROR : truncated(p);
	if (*p->p == '$') {
		p->p++;
		if (!ub_byte(p, &typed))
			return MSI_PULL_ERROR;
		if (!ub_size(typed))
			return fail_at(p, MS_EFORMAT, false, "unsupported typed container of 0x%02x", typed);
		if (!avail(p, 1))
			return p->rc != MS_OK ? MSI_PULL_ERROR : truncated(p);
		if (*p->p != '#')
			return fail_at(p, MS_EFORMAT, false, "a typed container without a count");
	}
	if (*p->p == '#') {
		p->p++;
		/* every value takes at least one byte (a key at least two) */
		if (!ub_length(p, typed ? ub_size(typed) : (kind == '{' ? 3 : 1), &left))
			return MSI_PULL_ERROR;
	}
	msi_pull_tok t = push(p, kind, typed, left);
	if (t != MSI_PULL_ERROR)
		p->done = false;
	return t;
}

static msi_pull_tok ub_value(msi_pull *p, uint8_t m)
{
	if (p->depth)
		p->stack[p->depth].state = ST_AFTER_VALUE;
	else
		p->done = true;
	switch (m) {
	case '{':
	case '[':
		return ub_open(p, m);
	case 'Z': return MSI_PULL_NULL;
	case 'T':
	case 'F':
		p->bval = m == 'T';
		return MSI_PULL_BOOL;
	case 'S':
		return ub_string(p) ? MSI_PULL_STRING : MSI_PULL_ERROR;
	case 'C':
		if (!avail(p, 1))
			return p->rc != MS_OK ? MSI_PULL_ERROR : truncated(p);
		p->str = (const char *)p->p++;
		p->len = 1;
		return MSI_PULL_STRING;
	case 'd':
	case 'D': {
		size_t n = m == 'd' ? 4 : 8;
		if (!avail(p, n))
			return p->rc != MS_OK ? MSI_PULL_ERROR : truncated(p);
		uint64_t u = be_load(p->p, n);
		p->p += n;
		if (m == 'd') {
			uint32_t u32 = (uint32_t)u;
			float f;
			memcpy(&f, &u32, 4);
			p->dval = f;
		} else {
			memcpy(&p->dval, &u, 8);
		}
		return MSI_PULL_DOUBLE;
	}
	case 'i': case 'U': case 'I': case 'l': case 'L':
		if (!ub_int(p, m, &p->ival))
			return MSI_PULL_ERROR;
		p->dval = (double)p->ival;
		return MSI_PULL_INT;
	case 'H':
		return fail_at(p, MS_EFORMAT, false, "high-precision numbers ('H') are not supported");
	default:
		return fail_at(p, MS_EFORMAT, false, "unknown marker 0x%02x", m);
	}
}

static msi_pull_tok ub_next(msi_pull *p)
{
	if (p->done) {
		if (p->p < p->end || (!p->eof && avail(p, 1)))
			return fail_at(p, MS_EFORMAT, false, "data after the end of the document");
		return p->rc != MS_OK ? MSI_PULL_ERROR : MSI_PULL_EOF;
	}
	uint8_t m;
	if (p->depth == 0) {
		if (p->started)
			return fail_at(p, MS_EFORMAT, false, "data after the end of the document");
		p->started = true;
		do {
			if (!ub_byte(p, &m))
				return MSI_PULL_ERROR;
		} while (m == 'N');
		return ub_value(p, m);
	}
	msi_pull_frame *f = &p->stack[p->depth];
	if (f->left >= 0) {
		if (f->left == 0 && f->state != ST_EXPECT_VALUE)
			return pop(p);
	} else if (!f->typed && f->state != ST_EXPECT_VALUE) {
		for (;;) {
			if (!avail(p, 1))
				return p->rc != MS_OK ? MSI_PULL_ERROR : truncated(p);
			if (*p->p != 'N')
				break;
			p->p++;
		}
		if (*p->p == (f->kind == '{' ? '}' : ']')) {
			p->p++;
			return pop(p);
		}
	}
	if (f->kind == '{' && f->state != ST_EXPECT_VALUE) {
		if (!ub_string(p))
			return MSI_PULL_ERROR;
		f->state = ST_EXPECT_VALUE;
		return MSI_PULL_KEY;
	}
	if (f->left > 0)
		f->left--;
	if (f->typed)
		m = f->typed;
	else if (!ub_byte(p, &m))
		return MSI_PULL_ERROR;
	return ub_value(p, m);
}

msi_pull_tok msi_pull_next(msi_pull *p)
{
	if (p->rc != MS_OK)
		return MSI_PULL_ERROR;
	return p->ubjson ? ub_next(p) : json_next(p);
}

static const uint8_t skip_special[256] = { ['"'] = 1, ['['] = 1, [']'] = 1, ['{'] = 1, ['}'] = 1 };

/* JSON: steps over the rest of the open container by its brackets and
 * strings only (scalars inside are not checked), then pops it. */
static int json_skip_raw(msi_pull *p)
{
	size_t depth = 1;
	for (;;) {
		const uint8_t *s = p->p, *e = p->end;
		while (s < e) {
			while (e - s >= 4 && !skip_special[s[0]] && !skip_special[s[1]] && !skip_special[s[2]] &&
			       !skip_special[s[3]])
				s += 4;
			while (s < e && !skip_special[*s])
				s++;
			if (s == e)
				break;
			uint8_t c = *s;
			if (c == '"') {
				p->p = s;
				if (!json_string(p))
					return p->rc;
				s = p->p;
				e = p->end;
				continue;
			}
			s++;
			if (c == '[' || c == '{') {
				if (p->depth + depth >= p->max_depth) {
					p->p = s;
					return fail_at(p, MS_ELIMIT, false, "nesting deeper than %zu", p->max_depth), p->rc;
				}
				depth++;
			} else if (c == ']' || c == '}') {
				if (--depth == 0) {
					if (c != (p->stack[p->depth].kind == '{' ? '}' : ']')) {
						p->p = s - 1;
						return fail_at(p, MS_EFORMAT, false, "mismatched '%c'", c), p->rc;
					}
					p->p = s;
					pop(p);
					return MS_OK;
				}
			}
		}
		p->p = s;
		if (p->eof)
			return truncated(p), p->rc;
		if (!fill(p, 1))
			return p->rc;
	}
}

int msi_pull_skip(msi_pull *p, msi_pull_tok tok)
{
	if (tok == MSI_PULL_ERROR)
		return p->rc;
	if (tok != MSI_PULL_OBJECT && tok != MSI_PULL_ARRAY)
		return MS_OK;
	if (!p->ubjson)
		return json_skip_raw(p);
	size_t target = p->depth - 1;
	while (p->depth > target) {
		msi_pull_frame *f = &p->stack[p->depth];
		if (p->ubjson && f->typed && f->left > 0) {
			/* a typed run: step over it without decoding */
			uint64_t bytes = (uint64_t)f->left * ub_size(f->typed);
			while (bytes) {
				size_t have = (size_t)(p->end - p->p);
				if (have == 0) {
					if (!fill(p, 1) || p->p == p->end)
						return p->rc != MS_OK ? p->rc : (truncated(p), p->rc);
					continue;
				}
				size_t step = (size_t)MSI_MIN((uint64_t)have, bytes);
				p->p += step;
				bytes -= step;
			}
			f->left = 0;
			f->state = ST_AFTER_VALUE;
		}
		if (msi_pull_next(p) == MSI_PULL_ERROR)
			return p->rc;
	}
	return MS_OK;
}

/* ---- bulk readers -------------------------------------------------------- */

void msi_i64vec_free(msi_i64vec *v)
{
	msi_free(v->v);
	v->v = NULL;
	v->len = v->cap = 0;
}

void msi_u8vec_free(msi_u8vec *v)
{
	msi_free(v->v);
	v->v = NULL;
	v->len = v->cap = 0;
}

static bool i64_push(msi_pull *p, msi_i64vec *v, int64_t x)
{
	if (v->len == v->cap) {
		if (v->len >= p->max_elements) {
			fail_at(p, MS_ELIMIT, false, "array longer than %zu elements", p->max_elements);
			return false;
		}
		size_t ncap = v->cap ? v->cap * 2 : 64;
		int64_t *nv = msi_reallocarray(v->v, ncap, sizeof *nv);
		if (!nv) {
			fail_at(p, MS_ENOMEM, false, "out of memory");
			return false;
		}
		v->v = nv;
		v->cap = ncap;
	}
	v->v[v->len++] = x;
	return true;
}

static bool u8_push(msi_pull *p, msi_u8vec *v, uint8_t x)
{
	if (v->len == v->cap) {
		if (v->len >= p->max_elements) {
			fail_at(p, MS_ELIMIT, false, "array longer than %zu elements", p->max_elements);
			return false;
		}
		size_t ncap = v->cap ? v->cap * 2 : 64;
		uint8_t *nv = msi_realloc(v->v, ncap);
		if (!nv) {
			fail_at(p, MS_ENOMEM, false, "out of memory");
			return false;
		}
		v->v = nv;
		v->cap = ncap;
	}
	v->v[v->len++] = x;
	return true;
}

/* JSON: the separator after an element of the current array; returns 1 at
 * ']' (consumed, frame popped), 0 after ',' (consumed), -1 on error. */
static int json_after_element(msi_pull *p)
{
	if (!json_ws(p)) {
		if (p->rc == MS_OK)
			truncated(p);
		return -1;
	}
	if (*p->p == ']') {
		p->p++;
		pop(p);
		return 1;
	}
	if (*p->p != ',') {
		fail_at(p, MS_EFORMAT, false, "expected ',' or ']'");
		return -1;
	}
	p->p++;
	if (!json_ws(p)) {
		if (p->rc == MS_OK)
			truncated(p);
		return -1;
	}
	if (*p->p == ']') {
		fail_at(p, MS_EFORMAT, false, "expected a value");
		return -1;
	}
	return 0;
}

/* JSON: true when the next element is a number (the fast path). */
static bool json_number_ahead(msi_pull *p)
{
	uint8_t c = *p->p;
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'N' || c == 'I';
}

/* Element classification for the generic path: 0 number (value in *d, int
 * in *i when integral), 2 no number. Containers are skipped. */
static int generic_element(msi_pull *p, msi_pull_tok t, int64_t *i, double *d, bool *integral)
{
	if (t == MSI_PULL_INT) {
		*i = p->ival;
		*d = p->dval;
		*integral = true;
		return 0;
	}
	if (t == MSI_PULL_BOOL) {
		*i = p->bval;
		*d = p->bval;
		*integral = true;
		return 0;
	}
	if (t == MSI_PULL_DOUBLE) {
		*d = p->dval;
		*integral = isfinite(*d) && fabs(*d) < 9.2e18 && *d == (double)(int64_t)*d;
		*i = *integral ? (int64_t)*d : INT64_MIN;
		return 0;
	}
	if (msi_pull_skip(p, t) != MS_OK)
		return -1;
	return 2;
}

int msi_pull_ints(msi_pull *p, msi_i64vec *out, size_t *bad)
{
	out->len = 0;
	*bad = 0;
	if (p->rc != MS_OK)
		return p->rc;
	size_t depth = p->depth;
	msi_pull_frame *f = &p->stack[depth];
	if (p->ubjson && f->typed && f->typed != 'd' && f->typed != 'D' && f->typed != 'C') {
		size_t sz = ub_size(f->typed);
		while (f->left > 0) {
			if (!avail(p, sz))
				return p->rc != MS_OK ? p->rc : (truncated(p), p->rc);
			size_t n = (size_t)MSI_MIN((uint64_t)f->left, (uint64_t)(p->end - p->p) / sz);
			if (out->len + n > out->cap) {
				size_t want = out->len + n, ncap = out->cap ? out->cap : 64;
				while (ncap < want)
					ncap *= 2;
				if (want > p->max_elements)
					return fail_at(p, MS_ELIMIT, false, "array longer than %zu elements", p->max_elements), p->rc;
				int64_t *nv = msi_reallocarray(out->v, ncap, sizeof *nv);
				if (!nv)
					return fail_at(p, MS_ENOMEM, false, "out of memory"), p->rc;
				out->v = nv;
				out->cap = ncap;
			}
			const uint8_t *b = p->p;
			int64_t *dst = out->v + out->len;
			switch (f->typed) {
			case 'i': for (size_t k = 0; k < n; k++) dst[k] = (int8_t)b[k]; break;
			case 'U': for (size_t k = 0; k < n; k++) dst[k] = b[k]; break;
			case 'I': for (size_t k = 0; k < n; k++) dst[k] = (int16_t)(b[2 * k] << 8 | b[2 * k + 1]); break;
			case 'l': for (size_t k = 0; k < n; k++) dst[k] = (int32_t)msi_be32(b + 4 * k); break;
			default: for (size_t k = 0; k < n; k++) dst[k] = (int64_t)msi_be64(b + 8 * k); break;
			}
			out->len += n;
			p->p += n * sz;
			f->left -= (int64_t)n;
		}
		f->state = ST_AFTER_VALUE;
		return msi_pull_next(p) == MSI_PULL_ARRAY_END ? MS_OK : p->rc;
	}
	if (!p->ubjson) {
		/* empty array? */
		if (!json_ws(p))
			return p->rc != MS_OK ? p->rc : (truncated(p), p->rc);
		if (*p->p == ']') {
			p->p++;
			pop(p);
			return MS_OK;
		}
		for (;;) {
			/* fast path: a short plain integer followed by ',' or ']' */
			if (p->end - p->p < 64 && !p->eof && !fill(p, NUMBER_MAX))
				return p->rc;
			const uint8_t *s = p->p, *e = p->end;
			bool neg = s < e && *s == '-';
			s += neg;
			const uint8_t *d0 = s;
			uint64_t v = 0;
			while (s < e && s - d0 < 18 && (uint8_t)(*s - '0') < 10)
				v = v * 10 + (uint64_t)(*s++ - '0');
			if (s > d0 && s < e && (*s == ',' || *s == ']') && !(*d0 == '0' && s - d0 > 1)) {
				if (!i64_push(p, out, neg ? -(int64_t)v : (int64_t)v))
					return p->rc;
				p->p = s + 1;
				if (*s == ']') {
					pop(p);
					return MS_OK;
				}
				if (p->p < p->end && (uint8_t)(*p->p - '0') < 10)
					continue;
				if (!json_ws(p))
					return p->rc != MS_OK ? p->rc : (truncated(p), p->rc);
				if (*p->p == ']')
					return fail_at(p, MS_EFORMAT, false, "expected a value"), p->rc;
				continue;
			}
			if (json_number_ahead(p)) {
				number num;
				if (!json_number(p, &num))
					return p->rc;
				int64_t x;
				if (num.integer) {
					x = num.neg ? -(int64_t)num.mant : (int64_t)num.mant;
				} else {
					double d = number_value(&num);
					if (isfinite(d) && fabs(d) < 9.2e18 && d == (double)(int64_t)d) {
						x = (int64_t)d;
					} else {
						x = INT64_MIN;
						(*bad)++;
					}
				}
				if (!i64_push(p, out, x))
					return p->rc;
				p->stack[depth].state = ST_AFTER_VALUE;
			} else {
				msi_pull_tok t = json_value(p);
				if (t == MSI_PULL_ERROR || msi_pull_skip(p, t) != MS_OK)
					return p->rc;
				if (t != MSI_PULL_BOOL)
					(*bad)++;
				if (!i64_push(p, out, t == MSI_PULL_BOOL ? p->bval : INT64_MIN))
					return p->rc;
			}
			int r = json_after_element(p);
			if (r < 0)
				return p->rc;
			if (r > 0)
				return MS_OK;
		}
	}
	for (;;) {
		msi_pull_tok t = msi_pull_next(p);
		if (t == MSI_PULL_ERROR)
			return p->rc;
		if (t == MSI_PULL_ARRAY_END && p->depth < depth)
			return MS_OK;
		int64_t i;
		double d;
		bool integral;
		int k = generic_element(p, t, &i, &d, &integral);
		if (k < 0)
			return p->rc;
		if (k != 0 || !integral) {
			(*bad)++;
			i = INT64_MIN;
		}
		if (!i64_push(p, out, i))
			return p->rc;
	}
}

static inline bool f32_nonfinite(uint32_t u)
{
	return (u & 0x7F800000u) == 0x7F800000u;
}

int msi_pull_floats(msi_pull *p, size_t *count, size_t *nonfinite, size_t *bad, msi_u8vec *flags, double *first)
{
	*count = *nonfinite = *bad = 0;
	if (flags)
		flags->len = 0;
	if (first)
		*first = NAN;
	if (p->rc != MS_OK)
		return p->rc;
	size_t depth = p->depth;
	msi_pull_frame *f = &p->stack[depth];
	if (p->ubjson && f->typed && f->typed != 'C') {
		size_t sz = ub_size(f->typed);
		while (f->left > 0) {
			if (!avail(p, sz))
				return p->rc != MS_OK ? p->rc : (truncated(p), p->rc);
			size_t n = (size_t)MSI_MIN((uint64_t)f->left, (uint64_t)(p->end - p->p) / sz);
			const uint8_t *b = p->p;
			if (flags && flags->len + n > flags->cap) {
				if (flags->len + n > p->max_elements)
					return fail_at(p, MS_ELIMIT, false, "array longer than %zu elements", p->max_elements), p->rc;
				uint8_t *nv = msi_realloc(flags->v, flags->len + n);
				if (!nv)
					return fail_at(p, MS_ENOMEM, false, "out of memory"), p->rc;
				flags->v = nv;
				flags->cap = flags->len + n;
			}
			if (f->typed == 'd' && !first) {
				/* the common case: float32 runs, finiteness by exponent bits */
				size_t nbad = 0;
				for (size_t k = 0; k < n; k++) {
					uint8_t fl = f32_nonfinite(msi_be32(b + 4 * k));
					nbad += fl;
					if (flags)
						flags->v[flags->len + k] = fl;
				}
				if (flags)
					flags->len += n;
				*nonfinite += nbad;
				*count += n;
				p->p += n * 4;
				f->left -= (int64_t)n;
				continue;
			}
			for (size_t k = 0; k < n; k++) {
				uint8_t fl = 0;
				double v;
				if (f->typed == 'd') {
					uint32_t u = msi_be32(b + 4 * k);
					fl = f32_nonfinite(u);
					float fv;
					memcpy(&fv, &u, 4);
					v = fv;
				} else if (f->typed == 'D') {
					uint64_t u = msi_be64(b + 8 * k);
					memcpy(&v, &u, 8);
					fl = !isfinite(v) || fabs(v) > FLT_MAX;
				} else {
					int64_t x = (int64_t)be_load(b + sz * k, sz);
					v = (double)x; /* sign is irrelevant to finiteness */
				}
				if (first && *count == 0 && k == 0)
					*first = v;
				*nonfinite += fl;
				if (flags && !u8_push(p, flags, fl))
					return p->rc;
			}
			*count += n;
			p->p += n * sz;
			f->left -= (int64_t)n;
		}
		f->state = ST_AFTER_VALUE;
		return msi_pull_next(p) == MSI_PULL_ARRAY_END ? MS_OK : p->rc;
	}
	if (!p->ubjson) {
		if (!json_ws(p))
			return p->rc != MS_OK ? p->rc : (truncated(p), p->rc);
		if (*p->p == ']') {
			p->p++;
			pop(p);
			return MS_OK;
		}
		for (;;) {
			uint8_t fl;
			/* fast path: [-]digits[.digits][E[+-]dd] with at most 8 integer
			 * digits and a small exponent (always a finite float32),
			 * followed by ',' or ']' */
			if (p->end - p->p < 64 && !p->eof && !fill(p, NUMBER_MAX))
				return p->rc;
			const uint8_t *s = p->p, *e = p->end;
			s += s < e && *s == '-';
			const uint8_t *d0 = s;
			while (s < e && (uint8_t)(*s - '0') < 10)
				s++;
			bool ok = s > d0 && s - d0 <= 8 && !(*d0 == '0' && s - d0 > 1);
			if (ok && s < e && *s == '.') {
				const uint8_t *f0 = ++s;
				while (s < e && (uint8_t)(*s - '0') < 10)
					s++;
				ok = s > f0;
			}
			if (ok && s < e && (*s == 'E' || *s == 'e')) {
				s++;
				s += s < e && (*s == '-' || *s == '+');
				const uint8_t *x0 = s;
				while (s < e && (uint8_t)(*s - '0') < 10)
					s++;
				ok = s > x0 && s - x0 <= 2 && (s - x0 == 1 || x0[0] < '3');
			}
			if (ok && s < e && (*s == ',' || *s == ']')) {
				if (first && *count == 0 && !msi_parse_double((const char *)p->p, (size_t)(s - p->p), first))
					*first = NAN;
				(*count)++;
				if (flags && !u8_push(p, flags, 0))
					return p->rc;
				p->p = s + 1;
				if (*s == ']') {
					pop(p);
					return MS_OK;
				}
				uint8_t c = p->p < p->end ? *p->p : 0;
				if ((uint8_t)(c - '0') < 10 || c == '-')
					continue;
				if (!json_ws(p))
					return p->rc != MS_OK ? p->rc : (truncated(p), p->rc);
				if (*p->p == ']')
					return fail_at(p, MS_EFORMAT, false, "expected a value"), p->rc;
				continue;
			}
			if (json_number_ahead(p)) {
				number num;
				if (!json_number(p, &num))
					return p->rc;
				fl = number_nonfinite(&num);
				if (first && *count == 0)
					*first = number_value(&num);
				p->stack[depth].state = ST_AFTER_VALUE;
			} else {
				msi_pull_tok t = json_value(p);
				if (t == MSI_PULL_ERROR || msi_pull_skip(p, t) != MS_OK)
					return p->rc;
				fl = 2;
			}
			(*count)++;
			*nonfinite += fl == 1;
			*bad += fl == 2;
			if (flags && !u8_push(p, flags, fl))
				return p->rc;
			int r = json_after_element(p);
			if (r < 0)
				return p->rc;
			if (r > 0)
				return MS_OK;
		}
	}
	for (;;) {
		msi_pull_tok t = msi_pull_next(p);
		if (t == MSI_PULL_ERROR)
			return p->rc;
		if (t == MSI_PULL_ARRAY_END && p->depth < depth)
			return MS_OK;
		int64_t i;
		double d;
		bool integral;
		int k = generic_element(p, t, &i, &d, &integral);
		if (k < 0)
			return p->rc;
		uint8_t fl = k == 2 ? 2 : (!isfinite(d) || fabs(d) > FLT_MAX);
		if (first && *count == 0)
			*first = k == 2 ? NAN : d;
		(*count)++;
		*nonfinite += fl == 1;
		*bad += fl == 2;
		if (flags && !u8_push(p, flags, fl))
			return p->rc;
	}
}
