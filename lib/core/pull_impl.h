/*
 * Private to the pull reader (pull.c core and window, pull_json.c,
 * pull_ubjson.c, pull_bulk.c): shared helpers and constants.
 */
#ifndef MSI_CORE_PULL_IMPL_H
#define MSI_CORE_PULL_IMPL_H

#include <string.h>

#include "pull.h"

#define WINDOW (256u * 1024u)
#define NUMBER_MAX 512 /* longest number text accepted */

/* frame states */
enum { ST_FIRST, ST_AFTER_VALUE, ST_EXPECT_VALUE };

/* Records the first error (p->rc, p->msg, p->err_off); returns MSI_PULL_ERROR. */
msi_pull_tok msi_pl_fail(msi_pull *p, int rc, bool truncated, const char *fmt, ...) MSI_PRINTF(4, 5);
msi_pull_tok msi_pl_truncated(msi_pull *p);
/* Makes at least `need` bytes available at p->p, or as many as are left.
 * Returns false only on a read error (p->rc set). */
bool msi_pl_fill(msi_pull *p, size_t need);

static inline bool avail(msi_pull *p, size_t n)
{
	return (size_t)(p->end - p->p) >= n || (msi_pl_fill(p, n) && (size_t)(p->end - p->p) >= n);
}

msi_pull_tok msi_pl_push(msi_pull *p, uint8_t kind, uint8_t typed, int64_t left);
msi_pull_tok msi_pl_pop(msi_pull *p);

/* Leading ASCII digits among the 8 bytes at s (0..8). The caller makes
 * sure s[0..8) lies inside the window. */
static inline unsigned digits8(const uint8_t *s)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && (defined(__GNUC__) || defined(__clang__))
	uint64_t x;
	memcpy(&x, s, 8);
	/* a byte is a digit when its high nibble is 3 and its low nibble + 6
	 * does not carry: every other byte leaves bits in its high nibble */
	uint64_t m = ((x & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull) |
	             (((x & 0x0F0F0F0F0F0F0F0Full) + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull);
	return m ? (unsigned)__builtin_ctzll(m) >> 3 : 8;
#else
	unsigned n = 0;
	while (n < 8 && (uint8_t)(s[n] - '0') < 10)
		n++;
	return n;
#endif
}

#if defined(__SSE2__) && !defined(MSI_PULL_NO_SSE)
#include <emmintrin.h>
#define PULL_SSE2 1

#endif

/* ---- JSON (pull_json.c) ---- */

static inline bool is_ws(uint8_t c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

typedef struct number {
	bool neg, integer, special; /* special: NaN/Infinity */
	double special_value;
	uint64_t mant;   /* up to 19 significant digits */
	int sig;         /* significant digits kept in mant (after leading zeros) */
	int64_t e10;     /* value = mant * 10^e10 */
	size_t len;      /* bytes of text */
} number;

/* Skips white space; false at the end of the data (or on a read error). */
bool msi_pl_json_ws(msi_pull *p);
/* Lexes a number at s[0..n). Returns false on a syntax error. */
bool msi_pl_lex_number(const uint8_t *s, size_t n, number *num);
double msi_pl_number_value(const number *num);
/* Non-finite as a float32 (XGBoost's type): NaN, ±Infinity or too large. */
bool msi_pl_number_nonfinite(const number *num);
/* Lexes a number at the read position into `num`. */
bool msi_pl_json_number(msi_pull *p, number *num);
/* A string whose opening quote is at p->p; sets p->str/p->len. */
bool msi_pl_json_string(msi_pull *p);
msi_pull_tok msi_pl_json_value(msi_pull *p);
msi_pull_tok msi_pl_json_next(msi_pull *p);
/* Steps over the rest of the open container, then pops it. */
int msi_pl_json_skip(msi_pull *p);

/* ---- UBJSON (pull_ubjson.c) ---- */

static inline size_t ub_size(uint8_t m)
{
	switch (m) {
	case 'i': case 'U': case 'C': return 1;
	case 'I': return 2;
	case 'l': case 'd': return 4;
	case 'L': case 'D': return 8;
	default: return 0;
	}
}

static inline uint64_t be_load(const uint8_t *b, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

msi_pull_tok msi_pl_ub_next(msi_pull *p);
/* Steps over the rest of the open container, then pops it. */
int msi_pl_ub_skip(msi_pull *p);

#endif
