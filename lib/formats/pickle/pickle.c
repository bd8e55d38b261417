/*
 * Python pickle (any object that no other format claims): sniff and a cheap
 * inspect (the safe walker and validate come with the format's own issue).
 *
 * Detection scans opcodes in the head window only (pickle_scan.c); nothing
 * is ever executed or imported. Protocols 2-5 start with PROTO (`80 0N`),
 * which is half a magic number; protocols 0 and 1 have no header at all, so
 * they must parse to STOP and end the file exactly, which text and random
 * bytes do not.
 */
#include <string.h>

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
	return MS_OK;
}

const msi_format msi_format_pickle = {
	.name = "pickle",
	.description = "Python pickle (any other object)",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = NULL,
};
