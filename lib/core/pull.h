/*
 * A bounded pull reader for JSON and UBJSON, shared by the formats that
 * store big documents (XGBoost models, Keras configs, serialzy headers).
 *
 * It reads a source through one window (zero copy for memory-backed
 * sources), hands out one token per call and never builds a tree, so memory
 * stays flat whatever the document size. Nesting depth, string length and
 * array sizes are capped; every count read from UBJSON is checked against
 * the bytes left before anything is allocated.
 *
 * JSON: RFC 8259 plus NaN, Infinity, -Infinity and a leading '+', which
 * XGBoost and Python write. UBJSON (draft 12): markers {}[]ZNTFiUIlLdDSC;
 * counted (#) and typed ($) containers; keys are a length without an 'S'.
 * 'H' (high precision) is refused.
 *
 * Usage:
 *     msi_pull p;
 *     msi_pull_open(&p, src, 0, src->size, ubjson, &limits);
 *     for (tok = msi_pull_next(&p); tok > MSI_PULL_EOF; tok = msi_pull_next(&p)) ...
 *     if (p.rc != MS_OK) ... p.msg, p.truncated
 *     msi_pull_close(&p);
 * Strings and keys (p.str, p.len) point into the window or a scratch
 * buffer: valid until the next call.
 */
#ifndef MSI_CORE_PULL_H
#define MSI_CORE_PULL_H

#include "../io/source.h"
#include "internal.h"

typedef enum msi_pull_tok {
	MSI_PULL_ERROR = -1, /* p->rc, p->msg say why; every later call returns it again */
	MSI_PULL_EOF = 0,    /* the document ended after its one top-level value */
	MSI_PULL_OBJECT,
	MSI_PULL_OBJECT_END,
	MSI_PULL_ARRAY,
	MSI_PULL_ARRAY_END,
	MSI_PULL_KEY,
	MSI_PULL_STRING,
	MSI_PULL_INT,        /* p->ival (JSON integers without fraction/exponent that fit int64) */
	MSI_PULL_DOUBLE,     /* p->dval (may be NaN or infinite) */
	MSI_PULL_BOOL,       /* p->bval */
	MSI_PULL_NULL,
} msi_pull_tok;

typedef struct msi_pull_limits {
	size_t max_depth;    /* nesting; 0 = 64 */
	size_t max_string;   /* bytes of one string or key; 0 = 64 MiB */
	size_t max_elements; /* elements one bulk array call may store; 0 = 1 << 28 */
} msi_pull_limits;

typedef struct msi_pull_frame {
	uint8_t kind;  /* '{' or '[' */
	uint8_t state; /* see pull.c */
	uint8_t typed; /* UBJSON $ marker, 0 when untyped */
	int64_t left;  /* UBJSON counted containers: values still to come; -1 uncounted */
} msi_pull_frame;

typedef struct msi_pull {
	/* input */
	const msi_source *src;
	uint64_t src_off, src_len;
	bool ubjson;
	uint8_t *owned;          /* the window buffer for file sources */
	size_t cap;
	const uint8_t *buf;      /* window start: document offset `base` */
	const uint8_t *p, *end;  /* read position and window end */
	uint64_t base;
	bool eof;                /* the window reaches the end of the document */
	msi_progress *progress;  /* optional: bytes are added as the window moves */
	/* nesting */
	msi_pull_frame *stack;
	size_t depth, max_depth;
	size_t max_string, max_elements;
	bool started, done;
	/* the current token */
	const char *str;
	size_t len;
	int64_t ival;
	double dval;
	bool bval;
	msi_buf scratch;
	/* the first error */
	int rc;
	bool truncated;          /* the error is the data ending early */
	uint64_t err_off;
	char msg[200];
} msi_pull;

/* Opens a reader over [off, off+len) of `src`. Returns MS_OK or MS_ENOMEM. */
int msi_pull_open(msi_pull *p, const msi_source *src, uint64_t off, uint64_t len, bool ubjson,
                  const msi_pull_limits *limits);
void msi_pull_close(msi_pull *p);

msi_pull_tok msi_pull_next(msi_pull *p);
/* After a token that opens an object or array: consumes the rest of it
 * (up to and including its end). Any other token: nothing to do. Returns
 * MS_OK or p->rc. JSON is skipped by brackets and strings only (fast; the
 * scalars inside are not checked), UBJSON by its lengths. */
int msi_pull_skip(msi_pull *p, msi_pull_tok tok);
/* Document offset of the read position. */
uint64_t msi_pull_offset(const msi_pull *p);

/* Growable vector of int64 for the bulk readers. */
typedef struct msi_i64vec {
	int64_t *v;
	size_t len, cap;
} msi_i64vec;
void msi_i64vec_free(msi_i64vec *v);

/* Bulk readers: call right after MSI_PULL_ARRAY; they consume the rest of
 * the array including its end (fast paths for JSON number runs and UBJSON
 * typed arrays).
 *
 * msi_pull_ints stores every element as int64 in `out` (reset first).
 * Elements that are no integer (a fraction, a string, an object...) are
 * stored as INT64_MIN and counted in *bad; integral doubles are accepted,
 * and booleans as 0/1 (XGBoost 1.0 wrote default_left as booleans).
 *
 * msi_pull_floats counts the elements (*count), the non-finite ones
 * (*nonfinite: NaN, ±Infinity, or beyond float range) and the ones that are
 * no number at all (*bad). With `flags` (reset first) it also stores one
 * byte per element: 0 finite, 1 non-finite, 2 no number. With `first` it
 * stores the value of the first element (NaN when none).
 *
 * Both return MS_OK, or p->rc on a syntax error or a limit. */
int msi_pull_ints(msi_pull *p, msi_i64vec *out, size_t *bad);
typedef struct msi_u8vec {
	uint8_t *v;
	size_t len, cap;
} msi_u8vec;
void msi_u8vec_free(msi_u8vec *v);
int msi_pull_floats(msi_pull *p, size_t *count, size_t *nonfinite, size_t *bad, msi_u8vec *flags, double *first);

/* Decimal text to double without strtod (locale-free). `s` is a JSON
 * number or NaN/Infinity/-Infinity/+Infinity; false on any other text. */
bool msi_parse_double(const char *s, size_t n, double *out);

#endif
