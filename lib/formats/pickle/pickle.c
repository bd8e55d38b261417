/*
 * Python pickle (any object that no other format claims): sniff, inspect
 * and validate. Validation runs the symbolic engine (pickle_vm.h) over the
 * whole stream and judges every global it names against the plain-pickle
 * allowlist (pickle_allow.h), which `skl` shares.
 *
 * Detection scans opcodes in the head window only (pickle_scan.c); nothing
 * is ever executed or imported. Protocols 2-5 start with PROTO (`80 0N`),
 * which is half a magic number; protocols 0 and 1 have no header at all, so
 * they must parse to STOP and end the file exactly, which text and random
 * bytes do not.
 */
#include <stdlib.h>
#include <string.h>

#include "pickle_allow.h"
#include "pickle_scan.h"

int msi_pickle_score(const msi_view *v, msi_pickle_info *info)
{
	msi_pickle_info local;
	if (!info)
		info = &local;
	memset(info, 0, sizeof *info);
	if (!v->src || v->container || v->head_len < 2)
		return 0;
	bool proto = v->head[0] == 0x80 && v->head[1] >= 2 && v->head[1] <= 5;
	/* a protocol 0/1 stream larger than the window cannot be checked to its
	 * end, and without a header that is too weak to claim it */
	if (!proto && v->size > v->head_len)
		return 0;
	msi_pickle_scan(v->head, v->head_len, NULL, NULL, info);
	if (proto) {
		if (info->stopped)
			return 90;
		if (info->incomplete && info->ops >= 4)
			return v->size > v->head_len ? 80 : 50; /* larger than the window, or cut short */
		/* joblib and others put raw array bytes inside the stream: a long
		 * valid run before them is still a pickle */
		if (info->error && info->ops >= 16)
			return 50;
		return 0;
	}
	if (info->stopped && info->ops >= 3 && info->end == v->size)
		return 60;
	return 0;
}

static int sniff(const msi_view *v)
{
	return msi_pickle_score(v, NULL);
}

typedef struct first_global {
	msi_json *j;
} first_global;

static bool on_global(const uint8_t *module, size_t mlen, const uint8_t *name, size_t nlen, void *user)
{
	first_global *g = user;
	msi_json_key(g->j, "first_global");
	msi_buf b = MSI_BUF_INIT;
	msi_buf_append(&b, module, mlen);
	msi_buf_putc(&b, '.');
	msi_buf_append(&b, name, nlen);
	if (!b.failed)
		msi_json_stringn(g->j, b.data, b.len);
	else
		msi_json_null(g->j);
	msi_buf_free(&b);
	return false; /* the first one is enough for a cheap inspect */
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	if (!v->src || v->head_len == 0)
		return MS_OK;
	msi_pickle_info info;
	first_global g = { out->model };
	msi_pickle_scan(v->head, v->head_len, on_global, &g, &info);
	msi_json_key(out->model, "pickle_protocol");
	msi_json_int(out->model, info.protocol);
	return msi_pickle_inspect_globals(v, out->model);
}

static int run_whole(const msi_view *v, ms_report *r, msi_pickle **out)
{
	msi_pickle_limits lim = { 0 };
	lim.max_arena = v->limits->max_metadata;
	return msi_pickle_run(v->src, 0, v->size, &lim, true, r, "pickle", out);
}

static int cmp_global(const void *a, const void *b)
{
	const msi_pickle_global *x = *(const msi_pickle_global *const *)a, *y = *(const msi_pickle_global *const *)b;
	int c = strcmp(x->module, y->module);
	return c ? c : strcmp(x->name, y->name);
}

int msi_pickle_write_globals(msi_json *j, const msi_pickle *const *pks, size_t count)
{
	size_t total = 0;
	for (size_t k = 0; k < count; k++)
		total += pks[k] ? pks[k]->nglobals : 0;
	const msi_pickle_global **sorted = msi_calloc(total + 1, sizeof *sorted);
	if (!sorted)
		return MS_ENOMEM;
	size_t n = 0;
	for (size_t k = 0; k < count; k++)
		for (size_t i = 0; pks[k] && i < pks[k]->nglobals; i++)
			if (!pks[k]->globals[i].unresolved)
				sorted[n++] = &pks[k]->globals[i];
	qsort(sorted, n, sizeof *sorted, cmp_global);
	msi_json_key(j, "globals");
	msi_json_array_begin(j);
	msi_buf b = MSI_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && cmp_global(&sorted[i], &sorted[i - 1]) == 0)
			continue;
		b.len = 0;
		msi_buf_printf(&b, "%s.%s", sorted[i]->module, sorted[i]->name);
		if (!b.failed)
			msi_json_stringn(j, b.data, b.len);
	}
	msi_buf_free(&b);
	msi_json_array_end(j);
	msi_free(sorted);
	return MS_OK;
}

int msi_pickle_inspect_globals(const msi_view *v, msi_json *model)
{
	if (!v->src)
		return MS_OK;
	msi_pickle *pk = NULL;
	int rc = run_whole(v, NULL, &pk);
	if (rc == MS_OK)
		rc = msi_pickle_write_globals(model, (const msi_pickle *const *)&pk, 1);
	msi_pickle_free(pk);
	return rc;
}

int msi_pickle_validate_plain(const msi_view *v, msi_validate_ctx *ctx)
{
	if (!v->src)
		return MS_OK;
	msi_pickle *pk = NULL;
	int rc = run_whole(v, ctx->report, &pk);
	if (rc != MS_OK)
		return rc;
	msi_allow_extra extra = { v->allow_globals, v->allow_globals_count };
	msi_pickle_check_globals(pk, MSI_PICKLE_PLAIN, &extra, ctx->report, "pickle");
	msi_pickle_free(pk);
	return MS_OK;
}

const msi_format msi_format_pickle = {
	.name = "pickle",
	.description = "Python pickle (any other object)",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = msi_pickle_validate_plain,
};
