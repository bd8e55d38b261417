/*
 * LightGBM text model: one streaming pass over the lines (FORMATS.md §3.1):
 * header keys up to the first Tree= line, the tree blocks (checked against
 * tree_sizes by byte offset), then end of trees, feature importances,
 * parameters, parser and pandas_categorical. Lines are read through a
 * window that grows only for a long line, up to max_metadata.
 */
#include <stdio.h>
#include <string.h>

#include "lgbm.h"

#define WINDOW (256u * 1024u)

typedef struct lines {
	const msi_source *src;
	uint64_t size;
	const uint8_t *mem;   /* memory-backed sources: the bytes */
	uint8_t *buf;         /* files: the window */
	size_t cap, pos, end; /* buf[pos..end) holds bytes at base+pos.. */
	uint64_t base;
	uint64_t max_line;
	msi_progress *progress;
	int rc;
} lines;

/* The next line without its line end; *off its offset. false at the end or
 * on an error (r->rc). */
static bool next_line(lines *r, const char **s, size_t *len, uint64_t *off, bool *crlf)
{
	if (r->mem) {
		if (r->pos >= r->size)
			return false;
		const uint8_t *p = r->mem + r->pos, *nl = memchr(p, '\n', (size_t)(r->size - r->pos));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(r->size - r->pos);
		*off = r->pos;
		r->pos += n + (nl != NULL);
		*crlf = n && p[n - 1] == '\r';
		*s = (const char *)p;
		*len = n - *crlf;
		return true;
	}
	for (;;) {
		uint64_t at = r->base + r->pos;
		if (at >= r->size)
			return false;
		const uint8_t *p = r->buf + r->pos, *nl = memchr(p, '\n', r->end - r->pos);
		bool last = r->base + r->end >= r->size;
		if (nl || last) {
			size_t n = nl ? (size_t)(nl - p) : r->end - r->pos;
			*off = at;
			r->pos += n + (nl != NULL);
			*crlf = n && p[n - 1] == '\r';
			*s = (const char *)p;
			*len = n - *crlf;
			return true;
		}
		/* refill: keep the partial line, grow for a long one */
		size_t keep = r->end - r->pos;
		if (keep >= r->max_line) {
			r->rc = msi_error(MS_ELIMIT, "a line of the LightGBM model is longer than %llu bytes",
			                  (unsigned long long)r->max_line);
			return false;
		}
		if (keep * 2 > r->cap) {
			size_t ncap = r->cap * 2;
			uint8_t *nb = msi_malloc(ncap);
			if (!nb) {
				r->rc = msi_error(MS_ENOMEM, "out of memory");
				return false;
			}
			memcpy(nb, p, keep);
			msi_free(r->buf);
			r->buf = nb;
			r->cap = ncap;
		} else {
			memmove(r->buf, p, keep);
		}
		r->base = at;
		r->pos = 0;
		size_t want = (size_t)MSI_MIN((uint64_t)(r->cap - keep), r->size - (at + keep));
		int rc = msi_source_read(r->src, at + keep, r->buf + keep, want);
		if (rc != MS_OK) {
			r->rc = rc;
			return false;
		}
		r->end = keep + want;
		if (msi_progress_add(r->progress, want) != MS_OK) {
			r->rc = MS_ECANCELLED;
			return false;
		}
	}
}

void lgbm_find(lgbm_ctx *c, const char *code, const char *where, const char *fmt, ...)
{
	if (!c->report || c->findings++ >= LGBM_MAX_FINDINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	msi_report_addv(c->report, code, where, fmt, ap);
	va_end(ap);
}

void lgbm_ctx_init(lgbm_ctx *c, const msi_view *v, ms_report *report)
{
	memset(c, 0, sizeof *c);
	c->v = v;
	c->report = report;
	c->num_class = c->num_tree_per_iteration = c->label_index = c->max_feature_idx = -1;
	c->n_feature_names = c->n_feature_infos = c->n_monotone = -1;
	lgbm_tree_reset(&c->tree);
}

void lgbm_ctx_free(lgbm_ctx *c)
{
	lgbm_tree_free(&c->tree);
	msi_buf_free(&c->feature_names);
	msi_buf_free(&c->feature_infos);
	msi_buf_free(&c->parameters);
	msi_i64vec_free(&c->tree_sizes);
	msi_free(c->info_kind);
	msi_free(c->pandas);
}

static bool starts(const char *s, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);
	return n >= pl && memcmp(s, prefix, pl) == 0;
}

static bool is_int_list(const char *s, size_t n)
{
	/* colon-separated integers: "-1:3:8" */
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != ':')
			j++;
		int64_t x;
		if (!lgbm_parse_int(s + i, j - i, &x))
			return false;
		i = j + 1;
		if (j + 1 == n)
			return false;
	}
	return n > 0;
}

static uint8_t info_kind(const char *s, size_t n)
{
	if (n == 4 && memcmp(s, "none", 4) == 0)
		return LGBM_INFO_NONE;
	if (n >= 5 && s[0] == '[' && s[n - 1] == ']') {
		const char *colon = memchr(s, ':', n);
		double lo, hi;
		if (colon && lgbm_parse_double(s + 1, (size_t)(colon - s - 1), &lo) &&
		    lgbm_parse_double(colon + 1, (size_t)(s + n - 1 - colon - 1), &hi) && !(lo > hi))
			return LGBM_INFO_NUMERIC;
		return LGBM_INFO_BAD;
	}
	return is_int_list(s, n) ? LGBM_INFO_CATEGORICAL : LGBM_INFO_BAD;
}

/* Space-separated list into a JSON array of strings; returns the count. */
static int64_t list_json(const char *s, size_t n, msi_buf *out, lgbm_ctx *c, bool infos)
{
	msi_json j;
	out->len = 0;
	msi_json_init(&j, out, MSI_JSON_COMPACT);
	msi_json_array_begin(&j);
	int64_t count = 0;
	size_t i = 0;
	while (i < n) {
		size_t k = i;
		while (k < n && s[k] != ' ')
			k++;
		if (k > i || (k < n)) {
			msi_json_stringn(&j, s + i, k - i);
			if (infos) {
				uint8_t kind = info_kind(s + i, k - i);
				if (c->n_info_kind % 1024 == 0) {
					uint8_t *nk = msi_realloc(c->info_kind, c->n_info_kind + 1024);
					if (!nk)
						return -1;
					c->info_kind = nk;
				}
				c->info_kind[c->n_info_kind++] = kind;
				if (kind == LGBM_INFO_BAD) {
					char where[48];
					snprintf(where, sizeof where, "feature_infos[%lld]", (long long)count);
					lgbm_find(c, "lgbm.feature_info", where, "'%.*s' is not none, [min:max] or categories",
					          (int)MSI_MIN(k - i, 60u), s + i);
				}
			}
			count++;
		}
		i = k + 1;
	}
	msi_json_array_end(&j);
	return out->failed ? -1 : count;
}

static void header_int(lgbm_ctx *c, const char *key, const char *v, size_t n, int64_t *dst, bool *has)
{
	int64_t x;
	*has = true;
	if (!lgbm_parse_int(v, n, &x) || x < -1 || x > INT32_MAX) {
		lgbm_find(c, "lgbm.header.invalid", key, "'%.*s' is not an integer", (int)MSI_MIN(n, 40u), v);
		return;
	}
	*dst = x;
}

static int header_line(lgbm_ctx *c, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n);
	if (!eq) {
		if (n == 14 && memcmp(s, "average_output", 14) == 0)
			c->average_output = true;
		return MS_OK; /* a flag key */
	}
	size_t kl = (size_t)(eq - s);
	const char *v = eq + 1;
	size_t vl = n - kl - 1;
#define KEY(k) (kl == strlen(k) && memcmp(s, k, kl) == 0)
	if (KEY("version")) {
		c->has_version = true;
		snprintf(c->version, sizeof c->version, "%.*s", (int)MSI_MIN(vl, 15u), v);
		if (!(vl == 2 && v[0] == 'v' && v[1] >= '2' && v[1] <= '4'))
			lgbm_find(c, "lgbm.version", "version", "version '%.*s' is not v2, v3 or v4", (int)MSI_MIN(vl, 40u), v);
	} else if (KEY("num_class")) {
		header_int(c, "num_class", v, vl, &c->num_class, &c->has_num_class);
	} else if (KEY("num_tree_per_iteration")) {
		header_int(c, "num_tree_per_iteration", v, vl, &c->num_tree_per_iteration, &c->has_ntpi);
	} else if (KEY("label_index")) {
		header_int(c, "label_index", v, vl, &c->label_index, &c->has_label_index);
	} else if (KEY("max_feature_idx")) {
		header_int(c, "max_feature_idx", v, vl, &c->max_feature_idx, &c->has_max_feature_idx);
	} else if (KEY("objective")) {
		c->has_objective = true;
		snprintf(c->objective, sizeof c->objective, "%.*s", (int)MSI_MIN(vl, 255u), v);
	} else if (KEY("feature_names")) {
		if ((c->n_feature_names = list_json(v, vl, &c->feature_names, c, false)) < 0)
			return msi_error(MS_ENOMEM, "out of memory");
	} else if (KEY("feature_infos")) {
		c->n_info_kind = 0;
		if ((c->n_feature_infos = list_json(v, vl, &c->feature_infos, c, true)) < 0)
			return msi_error(MS_ENOMEM, "out of memory");
	} else if (KEY("monotone_constraints")) {
		int64_t cnt = 0;
		size_t i = 0;
		bool bad = false;
		while (i < vl) {
			size_t k = i;
			while (k < vl && v[k] != ' ')
				k++;
			int64_t x;
			if (k > i) {
				cnt++;
				bad = bad || !lgbm_parse_int(v + i, k - i, &x) || x < -1 || x > 1;
			}
			i = k + 1;
		}
		c->n_monotone = cnt;
		if (bad)
			lgbm_find(c, "lgbm.header.invalid", "monotone_constraints", "a monotone constraint is not -1, 0 or 1");
	} else if (KEY("tree_sizes")) {
		c->has_tree_sizes = true;
		c->tree_sizes.len = 0;
		c->tree_sizes_sum = 0;
		c->tree_sizes_summed = 0;
		size_t i = 0;
		while (i < vl) {
			size_t k = i;
			while (k < vl && v[k] != ' ')
				k++;
			int64_t x;
			if (k > i) {
				if (!lgbm_parse_int(v + i, k - i, &x) || x < 0) {
					lgbm_find(c, "lgbm.header.invalid", "tree_sizes", "'%.*s' is not a byte count",
					          (int)MSI_MIN(k - i, 40u), v + i);
					x = -1;
				}
				if (c->tree_sizes.len == c->tree_sizes.cap) {
					size_t ncap = c->tree_sizes.cap ? c->tree_sizes.cap * 2 : 64;
					int64_t *nv = msi_reallocarray(c->tree_sizes.v, ncap, sizeof *nv);
					if (!nv)
						return msi_error(MS_ENOMEM, "out of memory");
					c->tree_sizes.v = nv;
					c->tree_sizes.cap = ncap;
				}
				c->tree_sizes.v[c->tree_sizes.len++] = x;
			}
			i = k + 1;
		}
	}
#undef KEY
	return MS_OK;
}

static void check_header(lgbm_ctx *c)
{
	if (!c->report)
		return;
	static const char *const req[] = { "num_class", "label_index", "max_feature_idx", "feature_names",
		                           "feature_infos" };
	bool has[] = { c->has_num_class, c->has_label_index, c->has_max_feature_idx, c->n_feature_names >= 0,
		       c->n_feature_infos >= 0 };
	for (size_t i = 0; i < MSI_ARRAY_LEN(req); i++)
		if (!has[i])
			lgbm_find(c, "lgbm.header.missing", req[i], "the header has no %s", req[i]);
	if (c->has_num_class && c->num_class < 1)
		lgbm_find(c, "lgbm.header.invalid", "num_class", "num_class is %lld", (long long)c->num_class);
	if (c->has_ntpi && c->num_tree_per_iteration < 1)
		lgbm_find(c, "lgbm.header.invalid", "num_tree_per_iteration", "num_tree_per_iteration is %lld",
		          (long long)c->num_tree_per_iteration);
	if (c->has_max_feature_idx && c->max_feature_idx < 0)
		lgbm_find(c, "lgbm.header.invalid", "max_feature_idx", "max_feature_idx is %lld", (long long)c->max_feature_idx);
	int64_t nf = c->max_feature_idx + 1;
	if (c->max_feature_idx >= 0) {
		if (c->n_feature_names >= 0 && c->n_feature_names != nf)
			lgbm_find(c, "lgbm.header.length", "feature_names", "%lld names for max_feature_idx + 1 = %lld",
			          (long long)c->n_feature_names, (long long)nf);
		if (c->n_feature_infos >= 0 && c->n_feature_infos != nf)
			lgbm_find(c, "lgbm.header.length", "feature_infos", "%lld infos for max_feature_idx + 1 = %lld",
			          (long long)c->n_feature_infos, (long long)nf);
		if (c->n_monotone >= 0 && c->n_monotone != nf)
			lgbm_find(c, "lgbm.header.length", "monotone_constraints", "%lld constraints for %lld features",
			          (long long)c->n_monotone, (long long)nf);
	}
	if (c->has_objective && (starts(c->objective, strlen(c->objective), "multiclass ") ||
	                         strcmp(c->objective, "multiclass") == 0 || starts(c->objective, strlen(c->objective), "multiclassova"))) {
		int64_t ntpi = c->has_ntpi ? c->num_tree_per_iteration : c->num_class;
		if (c->num_class < 2 || ntpi != c->num_class)
			lgbm_find(c, "lgbm.objective.num_class", "objective",
			          "objective '%.60s' with num_class %lld and num_tree_per_iteration %lld", c->objective,
			          (long long)c->num_class, (long long)ntpi);
	}
}

/* The block of tree `index` ended: check it and its tree_sizes entry. */
static void end_tree(lgbm_ctx *c)
{
	if (!c->in_tree)
		return;
	c->in_tree = false;
	lgbm_check_tree(c, c->num_trees);
	c->num_trees++;
	lgbm_tree_reset(&c->tree);
}

static void parameter_line(lgbm_ctx *c, const char *s, size_t n, msi_json *pj)
{
	/* "[key: value]" */
	if (n < 3 || s[0] != '[' || s[n - 1] != ']')
		return;
	const char *colon = memchr(s, ':', n);
	if (!colon)
		return;
	size_t kl = (size_t)(colon - s - 1);
	const char *v = colon + 1;
	size_t vl = (size_t)(s + n - 1 - v);
	if (vl && *v == ' ') {
		v++;
		vl--;
	}
	msi_json_keyn(pj, s + 1, kl);
	msi_json_stringn(pj, v, vl);
	c->n_parameters++;
	if (kl == 8 && memcmp(s + 1, "boosting", 8) == 0) {
		snprintf(c->boosting, sizeof c->boosting, "%.*s", (int)MSI_MIN(vl, 31u), v);
		c->has_boosting = true;
	}
}

int lgbm_read(lgbm_ctx *c, msi_progress *progress)
{
	const msi_view *v = c->v;
	lines r = { 0 };
	r.src = v->src;
	r.size = v->src->size;
	r.mem = msi_source_memory(v->src);
	r.progress = progress;
	r.max_line = v->limits && v->limits->max_metadata ? v->limits->max_metadata : (256u << 20);
	if (!r.mem) {
		r.cap = (size_t)MSI_MIN((uint64_t)WINDOW, r.size + 1);
		r.buf = msi_malloc(r.cap);
		if (!r.buf)
			return msi_error(MS_ENOMEM, "out of memory");
	}
	enum { HEADER, TREES, TRAILER, PARAMS, PARSER, IMPORTANCES } state = HEADER;
	const char *s;
	size_t n;
	uint64_t off;
	bool crlf, first = true;
	int rc = MS_OK;
	msi_json pj;
	msi_json_init(&pj, &c->parameters, MSI_JSON_COMPACT);
	while (rc == MS_OK && next_line(&r, &s, &n, &off, &crlf)) {
		if (crlf)
			c->crlf = true;
		if (first) {
			first = false;
			if (n != 4 || memcmp(s, "tree", 4) != 0) {
				lgbm_find(c, "lgbm.first_line", "line 1", "the first line is '%.*s', not 'tree'",
				          (int)MSI_MIN(n, 40u), s);
				rc = msi_error(MS_EFORMAT, "not a LightGBM text model (the first line is not 'tree')");
				break;
			}
			continue;
		}
		if (starts(s, n, "Tree=") && (state == HEADER || state == TREES)) {
			if (state == HEADER) {
				check_header(c);
				c->first_tree_off = off;
				state = TREES;
			}
			end_tree(c);
			int64_t k;
			if (!lgbm_parse_int(s + 5, n - 5, &k) || k != (int64_t)c->num_trees) {
				char where[48];
				snprintf(where, sizeof where, "tree %zu", c->num_trees);
				lgbm_find(c, "lgbm.tree.header", where, "the block starts with '%.*s', expected Tree=%zu",
				          (int)MSI_MIN(n, 40u), s, c->num_trees);
			}
			if (c->has_tree_sizes && c->num_trees < c->tree_sizes.len) {
				/* a running sum: adding up the sizes before every tree
				 * was quadratic in the number of trees */
				for (; c->tree_sizes_summed < c->num_trees; c->tree_sizes_summed++)
					c->tree_sizes_sum += (uint64_t)c->tree_sizes.v[c->tree_sizes_summed];
				uint64_t want = c->first_tree_off + c->tree_sizes_sum;
				if (want != off && c->report) {
					char where[48];
					snprintf(where, sizeof where, "tree %zu", c->num_trees);
					lgbm_find(c, "lgbm.tree_sizes", where,
					          "the block starts at byte %llu, tree_sizes puts it at %llu%s",
					          (unsigned long long)off, (unsigned long long)want,
					          c->crlf ? " (CRLF line ends: LightGBM cannot load this file)" : "");
					c->has_tree_sizes = false; /* one finding is enough */
				}
			}
			c->in_tree = true;
			continue;
		}
		switch (state) {
		case HEADER:
			if (n == 0)
				break;
			if (starts(s, n, "end of trees")) {
				check_header(c);
				state = TRAILER;
				c->end_of_trees = true;
				c->end_of_trees_off = off;
				break;
			}
			rc = header_line(c, s, n);
			break;
		case TREES:
			if (starts(s, n, "end of trees")) {
				end_tree(c);
				state = TRAILER;
				c->end_of_trees = true;
				c->end_of_trees_off = off;
			} else if (n == 0) {
				end_tree(c);
			} else if (c->in_tree) {
				rc = lgbm_tree_line(c, s, n);
			} else {
				/* pre-v2 files end the trees without a marker */
				state = TRAILER;
				goto trailer;
			}
			break;
		case TRAILER:
		trailer:
			if (starts(s, n, "parameters:")) {
				state = PARAMS;
				c->has_parameters = true;
				msi_json_object_begin(&pj);
			} else if (starts(s, n, "parser:")) {
				state = PARSER;
				c->parser_open = true;
			} else if (starts(s, n, "feature_importances:") || starts(s, n, "feature importances:")) {
				c->has_importances = true;
				state = IMPORTANCES;
			} else if (starts(s, n, "pandas_categorical:")) {
				msi_free(c->pandas);
				c->pandas = msi_strndup(s + 19, n - 19);
				c->pandas_len = n - 19;
				c->has_pandas = true;
				if (!c->pandas)
					rc = msi_error(MS_ENOMEM, "out of memory");
			}
			break;
		case IMPORTANCES:
			if (n == 0)
				state = TRAILER;
			else if (!memchr(s, '=', n)) {
				state = TRAILER;
				goto trailer;
			}
			break;
		case PARAMS:
			if (starts(s, n, "end of parameters")) {
				c->parameters_closed = true;
				msi_json_object_end(&pj);
				state = TRAILER;
			} else {
				parameter_line(c, s, n, &pj);
			}
			break;
		case PARSER:
			if (starts(s, n, "end of parser")) {
				c->parser_open = false;
				state = TRAILER;
			}
			break;
		}
	}
	if (rc == MS_OK && r.rc != MS_OK)
		rc = r.rc;
	msi_free(r.buf);
	if (rc != MS_OK)
		return rc;
	if (first) {
		lgbm_find(c, "lgbm.first_line", "line 1", "the file is empty");
		return msi_error(MS_EFORMAT, "not a LightGBM text model (empty)");
	}
	if (state == HEADER)
		check_header(c);
	if (state == PARAMS) {
		msi_json_object_end(&pj);
		lgbm_find(c, "lgbm.parameters", "parameters", "the parameters: block has no 'end of parameters'");
	}
	if (c->parser_open)
		lgbm_find(c, "lgbm.parameters", "parser", "the parser: block has no 'end of parser'");
	/* the file ended inside a tree block or before the trees tree_sizes announces */
	bool cut = (state == TREES && c->in_tree && c->tree.keys == 0) ||
	           (c->has_tree_sizes && !c->end_of_trees && c->num_trees + (c->in_tree ? 1 : 0) < c->tree_sizes.len) ||
	           (state == HEADER && !c->end_of_trees);
	if (state == TREES && c->in_tree) {
		/* a block at the end of the file that never got its blank line:
		 * complete if it has its keys up to shrinkage */
		if (!c->tree.has_shrinkage && !c->tree.has_leaf_value)
			cut = true;
		end_tree(c);
	}
	if (cut) {
		c->truncated = true;
		lgbm_find(c, "lgbm.truncated", "", "the file ends inside %s (%zu trees read)",
		          state == HEADER ? "the header" : "the trees", c->num_trees);
		return msi_error(MS_EFORMAT, "LightGBM model truncated after %zu trees", c->num_trees);
	}
	if (!c->report)
		return MS_OK;
	if (c->has_tree_sizes && c->tree_sizes.len != c->num_trees)
		lgbm_find(c, "lgbm.tree_sizes", "tree_sizes", "tree_sizes has %zu entries for %zu trees",
		          c->tree_sizes.len, c->num_trees);
	else if (c->has_tree_sizes && c->end_of_trees) {
		uint64_t want = c->first_tree_off;
		for (size_t i = 0; i < c->tree_sizes.len; i++)
			want += (uint64_t)c->tree_sizes.v[i];
		if (want != c->end_of_trees_off)
			lgbm_find(c, "lgbm.tree_sizes", "end of trees", "the trees end at byte %llu, tree_sizes says %llu%s",
			          (unsigned long long)c->end_of_trees_off, (unsigned long long)want,
			          c->crlf ? " (CRLF line ends: LightGBM cannot load this file)" : "");
	}
	int64_t ntpi = c->has_ntpi ? c->num_tree_per_iteration : c->num_class;
	if (ntpi > 0 && c->num_trees % (uint64_t)ntpi != 0)
		lgbm_find(c, "lgbm.trees.count", "", "%zu trees are not a multiple of num_tree_per_iteration %lld",
		          c->num_trees, (long long)ntpi);
	if (!c->end_of_trees && (c->has_tree_sizes || c->has_version))
		lgbm_find(c, "lgbm.end_of_trees", "", "the model has no 'end of trees' line");
	if (c->has_pandas) {
		msi_jval *jv = NULL;
		msi_json_limits lim = { 32, 1000000 };
		if (msi_json_parse(c->pandas, c->pandas_len, &lim, &jv) != MS_OK)
			lgbm_find(c, "lgbm.pandas_categorical", "pandas_categorical", "%s", ms_error_last());
		msi_jval_free(jv);
	}
	return MS_OK;
}

void lgbm_write_facts(lgbm_ctx *c, msi_json *j)
{
	msi_json_key(j, "version");
	msi_json_string(j, c->has_version ? c->version : NULL);
#define INT_OR_NULL(key, has, v)      \
	msi_json_key(j, key);         \
	if ((has) && (v) >= 0)        \
		msi_json_int(j, v);   \
	else                          \
		msi_json_null(j);
	INT_OR_NULL("num_class", c->has_num_class, c->num_class)
	int64_t ntpi = c->has_ntpi ? c->num_tree_per_iteration : c->num_class;
	INT_OR_NULL("num_tree_per_iteration", c->has_ntpi || c->has_num_class, ntpi)
	INT_OR_NULL("label_index", c->has_label_index, c->label_index)
	INT_OR_NULL("max_feature_idx", c->has_max_feature_idx, c->max_feature_idx)
#undef INT_OR_NULL
	msi_json_key(j, "objective");
	msi_json_string(j, c->has_objective ? c->objective : NULL);
	msi_json_key(j, "boosting");
	msi_json_string(j, c->has_boosting ? c->boosting : NULL);
	msi_json_key(j, "average_output");
	msi_json_bool(j, c->average_output);
	/* a model cut short still declares its trees in tree_sizes */
	msi_json_key(j, "num_trees");
	msi_json_uint(j, c->truncated && c->tree_sizes.len > c->num_trees ? c->tree_sizes.len : c->num_trees);
	msi_json_key(j, "feature_names");
	if (c->n_feature_names >= 0 && !c->feature_names.failed)
		msi_json_raw(j, c->feature_names.data, c->feature_names.len);
	else
		msi_json_null(j);
	msi_json_key(j, "feature_infos");
	if (c->n_feature_infos >= 0 && !c->feature_infos.failed)
		msi_json_raw(j, c->feature_infos.data, c->feature_infos.len);
	else
		msi_json_null(j);
	msi_json_key(j, "parameters");
	if (c->has_parameters && c->parameters_closed && !c->parameters.failed)
		msi_json_raw(j, c->parameters.data, c->parameters.len);
	else
		msi_json_null(j);
	msi_json_key(j, "pandas_categorical");
	msi_jval *jv = NULL;
	msi_json_limits lim = { 32, 1000000 };
	if (c->has_pandas && msi_json_parse(c->pandas, c->pandas_len, &lim, &jv) == MS_OK)
		msi_jval_write(j, jv);
	else
		msi_json_null(j);
	msi_jval_free(jv);
	msi_json_key(j, "linear_trees");
	msi_json_uint(j, c->linear_trees);
}
