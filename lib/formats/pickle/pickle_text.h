/*
 * Decoders for the text arguments of protocol 0 and 1 (pickle_text.c),
 * private to the pickle engine. Each follows what CPython's unpickler does
 * with the line (Lib/pickle.py, Modules/_pickle.c), so that the engine's
 * tree holds the value Python would build:
 *
 *   INT, LONG, GET, PUT   int(text, 0) / int(text): whitespace, sign,
 *                         0x/0o/0b prefixes (base 0 only), '_' between digits
 *   FLOAT                 float(text): also inf, nan, infinity
 *   STRING                a quoted repr, through codecs.escape_decode
 *   UNICODE               raw-unicode-escape (\uXXXX, \UXXXXXXXX; other
 *                         bytes are Latin-1 code points), written as UTF-8
 */
#ifndef MSI_FORMATS_PICKLE_TEXT_H
#define MSI_FORMATS_PICKLE_TEXT_H

#include "../../core/internal.h"

/* CPython's default sys.int_info.default_max_str_digits: a longer decimal
 * int is refused by Python >= 3.11, and is not converted here either. */
#define MSI_PT_INT_MAX_DIGITS 4300u

typedef struct msi_pt_int {
	bool fits;            /* the value fits int64: `value` */
	int64_t value;
	bool neg;
	unsigned base;        /* 2, 8, 10 or 16 */
	const uint8_t *digits; /* the digits (underscores included), for msi_pt_int_bytes */
	size_t ndigits;       /* how many digits, underscores excluded */
	size_t span;          /* bytes from `digits` to the last digit */
} msi_pt_int;

/* Python's int(text, 0) (`base0`) or int(text) (base 10). */
bool msi_pt_parse_int(const uint8_t *s, size_t n, bool base0, msi_pt_int *out);

/* Bytes needed by msi_pt_int_bytes for a parsed int that does not fit. */
size_t msi_pt_int_bytes_bound(const msi_pt_int *in);
/* Writes the minimal two's-complement little-endian bytes of a parsed int
 * (what pickle's encode_long writes) to `out` (msi_pt_int_bytes_bound bytes)
 * using `limbs` (msi_pt_int_bytes_bound / 4 + 1 words) as scratch; returns
 * the byte count. */
size_t msi_pt_int_bytes(const msi_pt_int *in, uint32_t *limbs, uint8_t *out);

/* Python's float(text). `*loc` caches a "C" locale for strtod_l, made on
 * first need (start with NULL; release with msi_pt_locale_free). */
bool msi_pt_parse_float(const uint8_t *s, size_t n, void **loc, double *out);
void msi_pt_locale_free(void *loc);

/* codecs.escape_decode of a STRING argument without its quotes, into
 * `out` (at least n bytes). Returns the length; *ok false on a bad \x
 * escape or a trailing backslash (Python refuses both). */
size_t msi_pt_unescape(const uint8_t *s, size_t n, uint8_t *out, bool *ok);

/* raw-unicode-escape decoding into UTF-8, into `out` (at least 2n bytes).
 * Returns the length; *ok false on a truncated or out-of-range escape. */
size_t msi_pt_raw_unicode(const uint8_t *s, size_t n, uint8_t *out, bool *ok);

#endif
