/* UBJSON (draft 12) syntax for the pull reader. */
#include <stdio.h>
#include <string.h>

#include "pull_impl.h"

/* An integer after marker `m` (already consumed). */
static bool ub_int(msi_pull *p, uint8_t m, int64_t *out)
{
	size_t n = ub_size(m);
	if (n == 0 || m == 'd' || m == 'D' || m == 'C') {
		msi_pl_fail(p, MS_EFORMAT, false, "expected an integer marker, got 0x%02x", m);
		return false;
	}
	if (!avail(p, n)) {
		if (p->rc == MS_OK)
			msi_pl_truncated(p);
		return false;
	}
	const uint8_t *b = p->p;
	p->p += n;
	switch (m) {
	case 'i': *out = (int8_t)b[0]; break;
	case 'U': *out = b[0]; break;
	case 'I': *out = (int16_t)(b[0] << 8 | b[1]); break;
	case 'l': *out = (int32_t)msi_be32(b); break;
	default: *out = (int64_t)msi_be64(b); break;
	}
	return true;
}

static bool ub_byte(msi_pull *p, uint8_t *out)
{
	if (!avail(p, 1)) {
		if (p->rc == MS_OK)
			msi_pl_truncated(p);
		return false;
	}
	*out = *p->p++;
	return true;
}

/* A length (marker + integer), checked non-negative and, times `unit`,
 * within the bytes left. */
static bool ub_length(msi_pull *p, size_t unit, int64_t *out)
{
	const uint8_t *b = p->p;
	if (p->end - b >= 9 && (*b == 'L' || *b == 'U' || *b == 'i')) {
		/* the usual markers, read in place (XGBoost writes 'L') */
		*out = *b == 'L' ? (int64_t)msi_be64(b + 1) : *b == 'U' ? b[1] : (int8_t)b[1];
		p->p += *b == 'L' ? 9 : 2;
	} else {
		uint8_t m;
		if (!ub_byte(p, &m) || !ub_int(p, m, out))
			return false;
	}
	if (*out < 0) {
		msi_pl_fail(p, MS_EFORMAT, false, "negative length %lld", (long long)*out);
		return false;
	}
	uint64_t left = p->src_len - (p->base + (uint64_t)(p->p - p->buf)), need;
	if (!msi_mul_u64((uint64_t)*out, unit ? unit : 1, &need) || need > left) {
		msi_pl_fail(p, MS_EFORMAT, true, "length %lld runs past the end of the data", (long long)*out);
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
		msi_pl_fail(p, MS_ELIMIT, false, "string longer than %zu bytes", p->max_string);
		return false;
	}
	if (!avail(p, (size_t)n)) {
		if (p->rc == MS_OK)
			msi_pl_truncated(p);
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
		return p->rc != MS_OK ? MSI_PULL_ERROR : msi_pl_truncated(p);
	if (*p->p == '$') {
		p->p++;
		if (!ub_byte(p, &typed))
			return MSI_PULL_ERROR;
		if (!ub_size(typed))
			return msi_pl_fail(p, MS_EFORMAT, false, "unsupported typed container of 0x%02x", typed);
		if (!avail(p, 1))
			return p->rc != MS_OK ? MSI_PULL_ERROR : msi_pl_truncated(p);
		if (*p->p != '#')
			return msi_pl_fail(p, MS_EFORMAT, false, "a typed container without a count");
	}
	if (*p->p == '#') {
		p->p++;
		/* every value takes at least one byte (a key at least two) */
		if (!ub_length(p, typed ? ub_size(typed) : (kind == '{' ? 3 : 1), &left))
			return MSI_PULL_ERROR;
	}
	msi_pull_tok t = msi_pl_push(p, kind, typed, left);
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
			return p->rc != MS_OK ? MSI_PULL_ERROR : msi_pl_truncated(p);
		p->str = (const char *)p->p++;
		p->len = 1;
		return MSI_PULL_STRING;
	case 'd':
	case 'D': {
		size_t n = m == 'd' ? 4 : 8;
		if (!avail(p, n))
			return p->rc != MS_OK ? MSI_PULL_ERROR : msi_pl_truncated(p);
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
		return msi_pl_fail(p, MS_EFORMAT, false, "high-precision numbers ('H') are not supported");
	default:
		return msi_pl_fail(p, MS_EFORMAT, false, "unknown marker 0x%02x", m);
	}
}

msi_pull_tok msi_pl_ub_next(msi_pull *p)
{
	if (p->done) {
		if (p->p < p->end || (!p->eof && avail(p, 1)))
			return msi_pl_fail(p, MS_EFORMAT, false, "data after the end of the document");
		return p->rc != MS_OK ? MSI_PULL_ERROR : MSI_PULL_EOF;
	}
	uint8_t m;
	if (p->depth == 0) {
		if (p->started)
			return msi_pl_fail(p, MS_EFORMAT, false, "data after the end of the document");
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
			return msi_pl_pop(p);
	} else if (!f->typed && f->state != ST_EXPECT_VALUE) {
		for (;;) {
			if (!avail(p, 1))
				return p->rc != MS_OK ? MSI_PULL_ERROR : msi_pl_truncated(p);
			if (*p->p != 'N')
				break;
			p->p++;
		}
		if (*p->p == (f->kind == '{' ? '}' : ']')) {
			p->p++;
			return msi_pl_pop(p);
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


/* The length of a key or string at b (a marker and its integer), when it is
 * one of the usual markers and the bytes it counts lie in the window too:
 * then *hdr is the marker's size plus the integer's. -1 otherwise (the
 * token path then reads it, with its checks and messages). */
static inline int64_t ub_inline_length(const msi_pull *p, const uint8_t *b, size_t *hdr)
{
	size_t have = (size_t)(p->end - b);
	uint64_t n;
	if (have < 9)
		return -1;
	switch (*b) {
	case 'L': n = msi_be64(b + 1); *hdr = 9; break;
	case 'U': n = b[1]; *hdr = 2; break;
	case 'i':
		if ((int8_t)b[1] < 0)
			return -1;
		n = b[1];
		*hdr = 2;
		break;
	default: return -1;
	}
	if (n > p->max_string || n > have - *hdr)
		return -1;
	return (int64_t)n;
}

/* UBJSON: steps over the rest of the open container by its lengths, then
 * pops it. Keys, strings and scalars in uncounted, untyped containers (how
 * XGBoost writes its objects) are stepped over here; typed runs by their
 * size; anything else goes through msi_pl_ub_next, so the checks and
 * messages are those of the token path. */
int msi_pl_ub_skip(msi_pull *p)
{
	size_t target = p->depth - 1;
	while (p->depth > target) {
		msi_pull_frame *f = &p->stack[p->depth];
		if (f->typed && f->left > 0) {
			/* a typed run: step over it without decoding */
			uint64_t bytes = (uint64_t)f->left * ub_size(f->typed);
			while (bytes) {
				size_t have = (size_t)(p->end - p->p);
				if (have == 0) {
					if (!msi_pl_fill(p, 1) || p->p == p->end)
						return p->rc != MS_OK ? p->rc : (msi_pl_truncated(p), p->rc);
					continue;
				}
				size_t step = (size_t)MSI_MIN((uint64_t)have, bytes);
				p->p += step;
				bytes -= step;
			}
			f->left = 0;
			f->state = ST_AFTER_VALUE;
		} else if (f->left < 0 && !f->typed && p->end - p->p >= 9 && *p->p != 'N') {
			const uint8_t *b = p->p;
			uint8_t close = f->kind == '{' ? '}' : ']';
			size_t hdr;
			int64_t n;
			if (f->state != ST_EXPECT_VALUE && *b == close) {
				p->p++;
				msi_pl_pop(p);
				continue;
			}
			if (f->kind == '{' && f->state != ST_EXPECT_VALUE) {
				if ((n = ub_inline_length(p, b, &hdr)) >= 0) {
					p->p += hdr + (size_t)n;
					f->state = ST_EXPECT_VALUE;
					continue;
				}
			} else {
				size_t step = 0;
				switch (*b) {
				case 'Z': case 'T': case 'F': step = 1; break;
				case 'i': case 'U': case 'I': case 'l': case 'L': case 'd': case 'D':
					step = 1 + ub_size(*b);
					break;
				case 'S':
					if ((n = ub_inline_length(p, b + 1, &hdr)) >= 0)
						step = 1 + hdr + (size_t)n;
					break;
				case '[':
				case '{':
					if (b[1] == '$' && *b == '[' && ub_size(b[2]) && b[3] == '#' && b[4] == 'L' &&
					    p->end - b >= 13 && p->depth < p->max_depth) {
						/* a typed run "[$t#L<count>" that lies in the window */
						uint64_t bytes;
						if (msi_mul_u64(msi_be64(b + 5), ub_size(b[2]), &bytes) &&
						    bytes <= (uint64_t)(p->end - b - 13))
							step = 13 + (size_t)bytes;
					} else if (b[1] != '$' && b[1] != '#') {
						/* an uncounted container: open it here */
						p->p++;
						f->state = ST_AFTER_VALUE;
						if (msi_pl_push(p, *b, 0, -1) == MSI_PULL_ERROR)
							return p->rc;
						continue;
					}
					break;
				}
				if (step) {
					p->p += step;
					f->state = ST_AFTER_VALUE;
					continue;
				}
			}
		}
		if (msi_pull_next(p) == MSI_PULL_ERROR)
			return p->rc;
	}
	return MS_OK;
}
