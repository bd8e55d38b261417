/*
 * Text arguments of protocols 0 and 1 (pickle_text.h). Python's own
 * grammars, checked byte by byte: the engine must agree with the
 * unpickler on what a line means, or a crafted line could read one way
 * here and another way in Python.
 */
#define _GNU_SOURCE /* strtod_l, newlocale: a float's text never depends on the caller's locale */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pickle_text.h"

#define FLOAT_TEXT_MAX 1024 /* longer float text is refused (Python reads it; no pickler writes it) */

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void strip(const uint8_t **s, size_t *n)
{
	while (*n && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

static int digit_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

bool msi_pt_parse_int(const uint8_t *s, size_t n, bool base0, msi_pt_int *out)
{
	memset(out, 0, sizeof *out);
	strip(&s, &n);
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-')) {
		out->neg = s[i] == '-';
		i++;
	}
	unsigned base = 10;
	bool prefixed = false;
	if (base0 && n - i >= 2 && s[i] == '0') {
		uint8_t p = s[i + 1] | 0x20;
		base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
		if (base != 10) {
			i += 2;
			prefixed = true;
		}
	}
	/* after a prefix one underscore may come first: 0x_1f */
	if (prefixed && i < n && s[i] == '_')
		i++;
	out->base = base;
	out->digits = s + i;
	uint64_t mag = 0;
	bool overflow = false, nonzero = false, last_digit = false;
	size_t start = i;
	for (; i < n; i++) {
		if (s[i] == '_') {
			if (!last_digit)
				return false;
			last_digit = false;
			continue;
		}
		unsigned d = (unsigned)digit_value(s[i]);
		if (d >= base)
			return false;
		/* base 0 refuses leading zeros on a non-zero decimal ("010") */
		if (base0 && base == 10 && !prefixed && out->ndigits > 0 && !nonzero && d != 0)
			return false;
		nonzero |= d != 0;
		if (!overflow && (mag > (UINT64_MAX - d) / base))
			overflow = true;
		else if (!overflow)
			mag = mag * base + d;
		out->ndigits++;
		last_digit = true;
	}
	if (out->ndigits == 0 || !last_digit)
		return false;
	out->span = i - start;
	if (!overflow && (out->neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= (uint64_t)INT64_MAX)) {
		out->fits = true;
		out->value = out->neg ? (int64_t)(0 - mag) : (int64_t)mag;
	}
	return true;
}

size_t msi_pt_int_bytes_bound(const msi_pt_int *in)
{
	size_t bits_per_digit = in->base == 2 ? 1 : in->base == 8 ? 3 : 4;
	return in->ndigits * bits_per_digit / 8 + 8;
}

/* limbs[0..*nl) = limbs * mul + add */
static void mul_add(uint32_t *limbs, size_t *nl, uint64_t mul, uint64_t add)
{
	uint64_t carry = add;
	for (size_t i = 0; i < *nl; i++) {
		uint64_t t = (uint64_t)limbs[i] * mul + carry;
		limbs[i] = (uint32_t)t;
		carry = t >> 32;
	}
	while (carry) {
		limbs[(*nl)++] = (uint32_t)carry;
		carry >>= 32;
	}
}

size_t msi_pt_int_bytes(const msi_pt_int *in, uint32_t *limbs, uint8_t *out)
{
	size_t nl = 0;
	uint64_t chunk = 0, mul = 1;
	for (size_t i = 0; i < in->span; i++) {
		if (in->digits[i] == '_')
			continue;
		chunk = chunk * in->base + (uint64_t)digit_value(in->digits[i]);
		mul *= in->base;
		if (mul * in->base > UINT32_MAX) {
			mul_add(limbs, &nl, mul, chunk);
			chunk = 0;
			mul = 1;
		}
	}
	if (mul > 1)
		mul_add(limbs, &nl, mul, chunk);
	size_t nb = nl * 4;
	for (size_t i = 0; i < nb; i++)
		out[i] = (uint8_t)(limbs[i / 4] >> (8 * (i % 4)));
	while (nb > 0 && out[nb - 1] == 0)
		nb--;
	if (!in->neg) {
		if (nb == 0 || out[nb - 1] & 0x80)
			out[nb++] = 0;
		return nb;
	}
	/* two's complement of the magnitude, then the shortest form */
	unsigned carry = 1;
	for (size_t i = 0; i < nb; i++) {
		unsigned t = (uint8_t)~out[i] + carry;
		out[i] = (uint8_t)t;
		carry = t >> 8;
	}
	if (nb == 0 || !(out[nb - 1] & 0x80))
		out[nb++] = 0xff;
	while (nb > 1 && out[nb - 1] == 0xff && (out[nb - 2] & 0x80))
		nb--;
	return nb;
}

static const double pow10_exact[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

static bool word_is(const uint8_t *s, size_t n, const char *w)
{
	if (strlen(w) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((s[i] | 0x20) != (uint8_t)w[i])
			return false;
	return true;
}

/* Copies a run of digits with single underscores between them into buf;
 * false when an underscore is misplaced. Counts the digits in *nd. */
static bool digit_part(const uint8_t *s, size_t n, size_t *i, char *buf, size_t *m, size_t *nd)
{
	bool last_digit = false;
	*nd = 0;
	while (*i < n) {
		uint8_t c = s[*i];
		if (c >= '0' && c <= '9') {
			buf[(*m)++] = (char)c;
			(*nd)++;
			last_digit = true;
		} else if (c == '_') {
			if (!last_digit || *i + 1 >= n || s[*i + 1] < '0' || s[*i + 1] > '9')
				return false;
			last_digit = false;
		} else {
			break;
		}
		(*i)++;
	}
	return true;
}

void msi_pt_locale_free(void *loc)
{
	if (loc)
		freelocale((locale_t)loc);
}

bool msi_pt_parse_float(const uint8_t *s, size_t n, void **loc, double *out)
{
	strip(&s, &n);
	if (n == 0 || n > FLOAT_TEXT_MAX)
		return false;
	size_t i = 0;
	bool neg = false;
	if (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-';
		i++;
	}
	if (word_is(s + i, n - i, "inf") || word_is(s + i, n - i, "infinity")) {
		*out = neg ? -INFINITY : INFINITY;
		return true;
	}
	if (word_is(s + i, n - i, "nan")) {
		*out = neg ? -NAN : NAN;
		return true;
	}
	char buf[FLOAT_TEXT_MAX + 2];
	size_t m = 0, nint, nfrac = 0, nexp;
	if (neg)
		buf[m++] = '-';
	if (!digit_part(s, n, &i, buf, &m, &nint))
		return false;
	size_t frac_at = m;
	if (i < n && s[i] == '.') {
		buf[m++] = '.';
		i++;
		if (!digit_part(s, n, &i, buf, &m, &nfrac))
			return false;
	}
	if (nint + nfrac == 0)
		return false;
	int64_t ex = 0;
	bool has_exp = false;
	if (i < n && (s[i] | 0x20) == 'e') {
		buf[m++] = 'e';
		i++;
		bool eneg = false;
		if (i < n && (s[i] == '+' || s[i] == '-')) {
			eneg = s[i] == '-';
			buf[m++] = (char)s[i++];
		}
		size_t e_at = m;
		if (!digit_part(s, n, &i, buf, &m, &nexp) || nexp == 0)
			return false;
		for (size_t k = e_at; k < m && ex < 100000; k++)
			ex = ex * 10 + (buf[k] - '0');
		if (eneg)
			ex = -ex;
		has_exp = true;
	}
	if (i != n)
		return false;
	buf[m] = '\0';
	MSI_UNUSED(has_exp);
	/* Exact when the digits fit a double's mantissa and the power of ten is
	 * exact too (one correctly rounded operation): what Python's repr
	 * writes for everyday values. Everything else goes to strtod_l. */
	uint64_t mant = 0;
	int sig = 0;
	bool exact = true;
	int64_t e10 = ex;
	for (size_t k = neg ? 1 : 0; k < m && buf[k] != 'e'; k++) {
		if (buf[k] == '.')
			continue;
		if (k > frac_at)
			e10--;
		unsigned d = (unsigned)(buf[k] - '0');
		if (sig == 0 && d == 0)
			continue;
		if (++sig > 19) {
			exact = false;
			break;
		}
		mant = mant * 10 + d;
	}
	if (exact && mant == 0) {
		*out = neg ? -0.0 : 0.0;
		return true;
	}
	if (exact && mant < (1ull << 53) && e10 >= -22 && e10 <= 22) {
		double v = e10 >= 0 ? (double)mant * pow10_exact[e10] : (double)mant / pow10_exact[-e10];
		*out = neg ? -v : v;
		return true;
	}
	if (!*loc)
		*loc = (void *)newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	char *end;
	*out = *loc ? strtod_l(buf, &end, (locale_t)*loc) : strtod(buf, &end);
	return end == buf + m;
}

size_t msi_pt_unescape(const uint8_t *s, size_t n, uint8_t *out, bool *ok)
{
	size_t m = 0;
	*ok = true;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			out[m++] = s[i];
			continue;
		}
		if (++i >= n) {
			*ok = false; /* "Trailing \ in string" */
			break;
		}
		uint8_t c = s[i];
		switch (c) {
		case '\n': break;
		case '\\': out[m++] = '\\'; break;
		case '\'': out[m++] = '\''; break;
		case '"': out[m++] = '"'; break;
		case 'b': out[m++] = '\b'; break;
		case 'f': out[m++] = '\f'; break;
		case 't': out[m++] = '\t'; break;
		case 'n': out[m++] = '\n'; break;
		case 'r': out[m++] = '\r'; break;
		case 'v': out[m++] = '\v'; break;
		case 'a': out[m++] = '\a'; break;
		case 'x':
			if (i + 2 < n && digit_value(s[i + 1]) < 16 && digit_value(s[i + 2]) < 16) {
				out[m++] = (uint8_t)(digit_value(s[i + 1]) * 16 + digit_value(s[i + 2]));
				i += 2;
			} else {
				*ok = false; /* "invalid \x escape" */
				return m;
			}
			break;
		default:
			if (c >= '0' && c <= '7') {
				unsigned v = c - '0';
				for (int k = 0; k < 2 && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
					v = v * 8 + (unsigned)(s[++i] - '0');
				out[m++] = (uint8_t)v;
			} else {
				/* an unknown escape stays as it is */
				out[m++] = '\\';
				out[m++] = c;
			}
		}
	}
	return m;
}

static size_t put_utf8(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xC0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) { /* lone surrogates included: Python's str holds them */
		o[0] = (uint8_t)(0xE0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (uint8_t)(0xF0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

size_t msi_pt_raw_unicode(const uint8_t *s, size_t n, uint8_t *out, bool *ok)
{
	size_t m = 0, i = 0;
	*ok = true;
	while (i < n) {
		if (s[i] != '\\') {
			m += put_utf8(out + m, s[i++]);
			continue;
		}
		/* \u and \U count only after an odd run of backslashes */
		size_t run = 0;
		while (i < n && s[i] == '\\') {
			out[m++] = '\\';
			run++;
			i++;
		}
		if (!(run & 1) || i >= n || (s[i] != 'u' && s[i] != 'U'))
			continue;
		m--; /* the backslash that starts the escape */
		size_t count = s[i] == 'u' ? 4 : 8;
		i++;
		uint32_t cp = 0;
		for (; count; count--, i++) {
			if (i >= n || digit_value(s[i]) >= 16) {
				*ok = false; /* "truncated \uXXXX" */
				return m;
			}
			cp = cp * 16 + (uint32_t)digit_value(s[i]);
		}
		if (cp > 0x10FFFF) {
			*ok = false; /* "\Uxxxxxxxx out of range" */
			return m;
		}
		m += put_utf8(out + m, cp);
	}
	return m;
}
