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
	uint8_t m;
	if (!ub_byte(p, &m) || !ub_int(p, m, out))
		return false;
	if (*out < 0) {
		msi_pl_fail(p, MS_EFORMAT, false, "negative length %lld", (long long)*out);
		return false;
	}
	uint64_t left = p->src_len - msi_pull_offset(p), need;
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

