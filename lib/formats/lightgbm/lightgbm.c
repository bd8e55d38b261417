/*
 * LightGBM text model: the format's table entry. Sniff reads the head
 * window; inspect and validate run the streaming reader (lgbm_read.c) and
 * the tree checks (lgbm_tree.c).
 *
 * The first line is the literal `tree` (LF or CRLF), then `key=value`
 * header lines up to the first `Tree=` block (FORMATS.md §3.1). Models
 * since 2.0.12 have `version=v2..v4` next; older ones (2017 and before)
 * start directly with num_class=..., so known header keys also count.
 */
#include <stdlib.h>
#include <string.h>

#include "lgbm.h"

#define HEADER_LINES 64 /* header lines looked at; real headers have ~12 */

typedef struct lgbm_line {
	const char *s;
	size_t len; /* without the line end */
} lgbm_line;

/* The next line of the window; false at its end or when the line does not
 * end inside the window. */
static bool next_line(msi_cursor *c, lgbm_line *l)
{
	size_t left = msi_cursor_left(c);
	if (left == 0)
		return false;
	const uint8_t *start = c->data + c->pos;
	const uint8_t *nl = memchr(start, '\n', left);
	if (!nl)
		return false;
	size_t len = (size_t)(nl - start);
	msi_cursor_skip(c, len + 1);
	if (len > 0 && start[len - 1] == '\r')
		len--;
	l->s = (const char *)start;
	l->len = len;
	return true;
}

static bool line_key(const lgbm_line *l, const char *key, const char **value, size_t *vlen)
{
	size_t kl = strlen(key);
	if (l->len <= kl || memcmp(l->s, key, kl) != 0 || l->s[kl] != '=')
		return false;
	*value = l->s + kl + 1;
	*vlen = l->len - kl - 1;
	return true;
}

static const char *const header_keys[] = {
	"num_class", "num_tree_per_iteration", "label_index", "max_feature_idx",
	"objective", "feature_names", "feature_infos", "tree_sizes",
};

typedef struct lgbm_header {
	bool first_line;  /* "tree" */
	bool version;     /* a version=vN line */
	char version_text[8];
	unsigned known;   /* known header keys seen */
} lgbm_header;

static void read_header(const msi_view *v, lgbm_header *h, msi_json *j)
{
	memset(h, 0, sizeof *h);
	if (!v->src || v->container)
		return;
	msi_cursor c = msi_cursor_make(v->head, v->head_len);
	lgbm_line l;
	if (!next_line(&c, &l) || l.len != 4 || memcmp(l.s, "tree", 4) != 0)
		return;
	h->first_line = true;
	for (int i = 0; i < HEADER_LINES && next_line(&c, &l); i++) {
		if (l.len >= 5 && memcmp(l.s, "Tree=", 5) == 0)
			break;
		const char *val;
		size_t vl;
		if (line_key(&l, "version", &val, &vl)) {
			/* "v2".."v4" today; any short vN is a version line */
			if (vl >= 2 && vl < sizeof h->version_text && val[0] == 'v' && val[1] >= '0' && val[1] <= '9') {
				h->version = true;
				memcpy(h->version_text, val, vl);
				h->version_text[vl] = '\0';
			}
			continue;
		}
		for (size_t k = 0; k < MSI_ARRAY_LEN(header_keys); k++) {
			if (!line_key(&l, header_keys[k], &val, &vl))
				continue;
			h->known++;
			if (!j)
				break;
			if (strcmp(header_keys[k], "objective") == 0) {
				msi_json_key(j, "objective");
				msi_json_stringn(j, val, vl);
			} else if (strcmp(header_keys[k], "feature_names") == 0 ||
			           strcmp(header_keys[k], "feature_infos") == 0) {
				/* lists: left to the full reader */
			} else if (strcmp(header_keys[k], "tree_sizes") == 0) {
				size_t trees = 1;
				for (size_t q = 0; q < vl; q++)
					trees += val[q] == ' ';
				msi_json_key(j, "num_trees");
				msi_json_uint(j, vl ? trees : 0);
			} else {
				char num[24];
				if (vl == 0 || vl >= sizeof num)
					break;
				memcpy(num, val, vl);
				num[vl] = '\0';
				char *end;
				long long n = strtoll(num, &end, 10);
				if (*end == '\0') {
					msi_json_key(j, header_keys[k]);
					msi_json_int(j, n);
				}
			}
			break;
		}
	}
}

static int sniff(const msi_view *v)
{
	lgbm_header h;
	read_header(v, &h, NULL);
	if (!h.first_line)
		return 0;
	if (h.version && h.known >= 1)
		return 100;
	/* pre-v2 files: no version line, but the header keys are there */
	if (h.known >= 2)
		return 90;
	return 0;
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	lgbm_header h;
	read_header(v, &h, NULL);
	if (!h.first_line || !v->src)
		return MS_OK;
	lgbm_ctx c;
	lgbm_ctx_init(&c, v, NULL);
	int rc = lgbm_read(&c, NULL);
	lgbm_write_facts(&c, out->model);
	lgbm_ctx_free(&c);
	return rc;
}

static int validate(const msi_view *v, msi_validate_ctx *ctx)
{
	if (!v->src)
		return MS_OK;
	lgbm_ctx c;
	lgbm_ctx_init(&c, v, ctx->report);
	int rc = lgbm_read(&c, ctx->progress);
	lgbm_ctx_free(&c);
	return rc == MS_EFORMAT ? MS_OK : rc;
}

const msi_format msi_format_lgbm = {
	.name = "lgbm",
	.description = "LightGBM text model",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = validate,
};
