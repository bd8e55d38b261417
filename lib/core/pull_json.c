/* JSON syntax for the pull reader: white space, numbers, strings, tokens
 * and the fast bracket skip. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pull_impl.h"

/* Skips white space; false at the end of the data (or on a read error). */
bool msi_pl_json_ws(msi_pull *p)
{
	for (;;) {
		while (p->p < p->end && is_ws(*p->p))
			p->p++;
		if (p->p < p->end)
			return true;
		if (p->eof || !msi_pl_fill(p, 1) || p->p == p->end)
			return false;
	}
}

static const double pow10_exact[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* Lexes a number at s[0..n). Returns false on a syntax error; the caller
 * makes sure the window holds NUMBER_MAX bytes or the end of the data. */
bool msi_pl_lex_number(const uint8_t *s, size_t n, number *num)
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

double msi_pl_number_value(const number *num)
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
bool msi_pl_number_nonfinite(const number *num)
{
	if (num->special)
		return true;
	if (num->mant == 0)
		return false;
	int64_t mag = num->sig + num->e10; /* value < 10^mag */
	if (mag <= 38)
		return false;
	return fabs(msi_pl_number_value(num)) > FLT_MAX;
}

bool msi_parse_double(const char *s, size_t n, double *out)
{
	number num;
	if (!msi_pl_lex_number((const uint8_t *)s, n, &num) || num.len != n)
		return false;
	*out = msi_pl_number_value(&num);
	return true;
}

/* Lexes a number at the read position into `num`. */
bool msi_pl_json_number(msi_pull *p, number *num)
{
	if (!avail(p, NUMBER_MAX) && p->rc != MS_OK)
		return false;
	size_t n = (size_t)(p->end - p->p);
	if (!msi_pl_lex_number(p->p, n, num)) {
		msi_pl_fail(p, MS_EFORMAT, n < NUMBER_MAX && p->eof && n > 0 && p->p[n - 1] >= '0', "invalid number");
		return false;
	}
	if (num->len == n && !p->eof) {
		msi_pl_fail(p, MS_EFORMAT, false, "number longer than %d bytes", NUMBER_MAX);
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
bool msi_pl_json_string(msi_pull *p)
{
	size_t i = 1;
	bool escapes = false;
	for (;;) {
		size_t n = (size_t)(p->end - p->p);
		while (i < n) {
#ifdef PULL_SSE2
			if (n - i >= 16) {
				/* 16 bytes at a time to the next quote, backslash or
				 * control character */
				__m128i v = _mm_loadu_si128((const __m128i *)(p->p + i));
				__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
				                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
				                         _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v));
				unsigned bits = (unsigned)_mm_movemask_epi8(m);
				if (!bits) {
					i += 16;
					continue;
				}
				i += (size_t)__builtin_ctz(bits);
			}
#endif
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
				msi_pl_fail(p, MS_EFORMAT, false, "control character in a string");
				return false;
			}
			i++;
		}
		if (i < n)
			break;
		if (i - 1 > p->max_string) {
			msi_pl_fail(p, MS_ELIMIT, false, "string longer than %zu bytes", p->max_string);
			return false;
		}
		if (p->eof) {
			p->p = p->end;
			msi_pl_truncated(p);
			return false;
		}
		if (!msi_pl_fill(p, n + MSI_MAX(n, (size_t)4096)))
			return false;
	}
	if (i - 1 > p->max_string) {
		msi_pl_fail(p, MS_ELIMIT, false, "string longer than %zu bytes", p->max_string);
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
					msi_pl_fail(p, MS_EFORMAT, false, "bad \\u escape");
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
			msi_pl_fail(p, MS_EFORMAT, false, "bad escape \\%c in a string", e >= 0x20 && e < 0x7F ? e : '?');
			return false;
		}
	}
	if (b->failed) {
		msi_pl_fail(p, MS_ENOMEM, false, "out of memory");
		return false;
	}
	p->str = b->data ? b->data : "";
	p->len = b->len;
	return true;
}

msi_pull_tok msi_pl_json_value(msi_pull *p)
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
		return msi_pl_push(p, '{', 0, -1);
	case '[':
		p->p++;
		p->done = false;
		return msi_pl_push(p, '[', 0, -1);
	case '"':
		return msi_pl_json_string(p) ? MSI_PULL_STRING : MSI_PULL_ERROR;
	case 't':
	case 'f':
	case 'n': {
		const char *w = c == 't' ? "true" : c == 'f' ? "false" : "null";
		size_t wl = strlen(w);
		if (!avail(p, wl)) {
			if (p->rc == MS_OK && memcmp(p->p, w, (size_t)(p->end - p->p)) == 0) {
				p->p = p->end;
				return msi_pl_truncated(p);
			}
			return msi_pl_fail(p, MS_EFORMAT, false, "invalid literal");
		}
		if (memcmp(p->p, w, wl) != 0)
			return msi_pl_fail(p, MS_EFORMAT, false, "invalid literal");
		p->p += wl;
		if (c == 'n')
			return MSI_PULL_NULL;
		p->bval = c == 't';
		return MSI_PULL_BOOL;
	}
	default: {
		number num;
		if (!msi_pl_json_number(p, &num))
			return MSI_PULL_ERROR;
		if (num.integer) {
			p->ival = num.neg ? -(int64_t)num.mant : (int64_t)num.mant;
			p->dval = (double)p->ival;
			return MSI_PULL_INT;
		}
		p->dval = msi_pl_number_value(&num);
		return MSI_PULL_DOUBLE;
	}
	}
}

msi_pull_tok msi_pl_json_next(msi_pull *p)
{
	if (!msi_pl_json_ws(p)) {
		if (p->rc != MS_OK)
			return MSI_PULL_ERROR;
		if (p->done)
			return MSI_PULL_EOF;
		return msi_pl_truncated(p);
	}
	if (p->done)
		return msi_pl_fail(p, MS_EFORMAT, false, "data after the end of the document");
	if (p->depth == 0) {
		if (p->started)
			return msi_pl_fail(p, MS_EFORMAT, false, "data after the end of the document");
		p->started = true;
		return msi_pl_json_value(p);
	}
	msi_pull_frame *f = &p->stack[p->depth];
	uint8_t c = *p->p;
	uint8_t close = f->kind == '{' ? '}' : ']';
	if (f->state == ST_EXPECT_VALUE)
		return msi_pl_json_value(p);
	if (c == close) {
		p->p++;
		return msi_pl_pop(p);
	}
	if (f->state == ST_AFTER_VALUE) {
		if (c != ',')
			return msi_pl_fail(p, MS_EFORMAT, false, "expected ',' or '%c'", close);
		p->p++;
		if (!msi_pl_json_ws(p))
			return p->rc != MS_OK ? MSI_PULL_ERROR : msi_pl_truncated(p);
		c = *p->p;
	}
	if (f->kind == '[') {
		if (c == ']' || c == '}' || c == ',' || c == ':')
			return msi_pl_fail(p, MS_EFORMAT, false, "expected a value");
		return msi_pl_json_value(p);
	}
	if (c != '"')
		return msi_pl_fail(p, MS_EFORMAT, false, "expected a key");
	if (!msi_pl_json_string(p))
		return MSI_PULL_ERROR;
	/* the key stays in the window or scratch: ':' and white space never
	 * move the window when the key came from scratch; when it came from the
	 * window, a refill could, so copy it first (unless the window already
	 * holds the rest of the data: it never moves then) */
	if (p->str != p->scratch.data && !p->eof) {
		p->scratch.len = 0;
		msi_buf_append(&p->scratch, p->str, p->len);
		if (p->scratch.failed)
			return msi_pl_fail(p, MS_ENOMEM, false, "out of memory");
		p->str = p->scratch.data ? p->scratch.data : "";
	}
	if (!msi_pl_json_ws(p))
		return p->rc != MS_OK ? MSI_PULL_ERROR : msi_pl_truncated(p);
	if (*p->p != ':')
		return msi_pl_fail(p, MS_EFORMAT, false, "expected ':'");
	p->p++;
	f->state = ST_EXPECT_VALUE;
	return MSI_PULL_KEY;
}

static const uint8_t skip_special[256] = { ['"'] = 1, ['['] = 1, [']'] = 1, ['{'] = 1, ['}'] = 1 };

/* JSON: steps over the rest of the open container by its brackets and
 * strings only (scalars inside are not checked), then pops it. */
int msi_pl_json_skip(msi_pull *p)
{
	size_t depth = 1;
	for (;;) {
		const uint8_t *s = p->p, *e = p->end;
		while (s < e) {
#ifdef PULL_SSE2
			/* 32 bytes at a time: a byte is a candidate when it is '"' or
			 * when c & 0xD9 == 0x59, which brackets and braces are (so are
			 * 'Y', '_', 'y' and DEL: the table below tells) */
			while (e - s >= 32) {
				__m128i a = _mm_loadu_si128((const __m128i *)s);
				__m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
				__m128i mask = _mm_set1_epi8((char)0xD9), br = _mm_set1_epi8(0x59), q = _mm_set1_epi8('"');
				__m128i ma = _mm_or_si128(_mm_cmpeq_epi8(_mm_and_si128(a, mask), br), _mm_cmpeq_epi8(a, q));
				__m128i mb = _mm_or_si128(_mm_cmpeq_epi8(_mm_and_si128(b, mask), br), _mm_cmpeq_epi8(b, q));
				uint32_t bits = (uint32_t)_mm_movemask_epi8(ma) | (uint32_t)_mm_movemask_epi8(mb) << 16;
				if (!bits) {
					s += 32;
					continue;
				}
				s += __builtin_ctz(bits);
				if (skip_special[*s])
					break;
				s++;
			}
#endif
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
				if (!msi_pl_json_string(p))
					return p->rc;
				s = p->p;
				e = p->end;
				continue;
			}
			s++;
			if (c == '[' || c == '{') {
				if (p->depth + depth >= p->max_depth) {
					p->p = s;
					return msi_pl_fail(p, MS_ELIMIT, false, "nesting deeper than %zu", p->max_depth), p->rc;
				}
				depth++;
			} else if (c == ']' || c == '}') {
				if (--depth == 0) {
					if (c != (p->stack[p->depth].kind == '{' ? '}' : ']')) {
						p->p = s - 1;
						return msi_pl_fail(p, MS_EFORMAT, false, "mismatched '%c'", c), p->rc;
					}
					p->p = s;
					msi_pl_pop(p);
					return MS_OK;
				}
			}
		}
		p->p = s;
		if (p->eof)
			return msi_pl_truncated(p), p->rc;
		if (!msi_pl_fill(p, 1))
			return p->rc;
	}
}

