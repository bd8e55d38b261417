/* Bounded JSON/UBJSON pull reader: see pull.h. The window, errors, the
 * nesting stack, msi_pull_next and msi_pull_skip; the two syntaxes are in
 * pull_json.c and pull_ubjson.c, the bulk array readers in pull_bulk.c. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pull_impl.h"

msi_pull_tok msi_pl_fail(msi_pull *p, int rc, bool truncated, const char *fmt, ...)
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

msi_pull_tok msi_pl_truncated(msi_pull *p)
{
	return msi_pl_fail(p, MS_EFORMAT, true, "unexpected end of data");
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

bool msi_pl_fill(msi_pull *p, size_t need)
{
	if ((size_t)(p->end - p->p) >= need || p->eof)
		return true;
	size_t keep = (size_t)(p->end - p->p);
	uint64_t at = msi_pull_offset(p);
	if (need > p->cap) {
		size_t ncap = MSI_MAX(need, p->cap * 2);
		uint8_t *nb = msi_malloc(ncap);
		if (!nb) {
			msi_pl_fail(p, MS_ENOMEM, false, "out of memory");
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
		msi_pl_fail(p, got < 0 ? (int)got : MS_ECHANGED, false, "read error (%s)", ms_error_last());
		return false;
	}
	p->end = p->owned + keep + want;
	p->eof = at + keep + want >= p->src_len;
	if (p->progress && msi_progress_add(p->progress, want) != MS_OK) {
		msi_pl_fail(p, MS_ECANCELLED, false, "cancelled");
		return false;
	}
	return true;
}

msi_pull_tok msi_pl_push(msi_pull *p, uint8_t kind, uint8_t typed, int64_t left)
{
	if (p->depth >= p->max_depth)
		return msi_pl_fail(p, MS_ELIMIT, false, "nesting deeper than %zu", p->max_depth);
	msi_pull_frame *f = &p->stack[++p->depth];
	f->kind = kind;
	f->state = ST_FIRST;
	f->typed = typed;
	f->left = left;
	return kind == '{' ? MSI_PULL_OBJECT : MSI_PULL_ARRAY;
}

msi_pull_tok msi_pl_pop(msi_pull *p)
{
	uint8_t kind = p->stack[p->depth].kind;
	p->depth--;
	if (p->depth == 0)
		p->done = true;
	return kind == '{' ? MSI_PULL_OBJECT_END : MSI_PULL_ARRAY_END;
}

msi_pull_tok msi_pull_next(msi_pull *p)
{
	if (p->rc != MS_OK)
		return MSI_PULL_ERROR;
	return p->ubjson ? msi_pl_ub_next(p) : msi_pl_json_next(p);
}

int msi_pull_skip(msi_pull *p, msi_pull_tok tok)
{
	if (tok == MSI_PULL_ERROR)
		return p->rc;
	if (tok != MSI_PULL_OBJECT && tok != MSI_PULL_ARRAY)
		return MS_OK;
	return p->ubjson ? msi_pl_ub_skip(p) : msi_pl_json_skip(p);
}

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

