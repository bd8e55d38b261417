/*
 * XGBoost legacy binary model (FORMATS.md §4.4): "binf" (optional), the
 * 136-byte LearnerModelParam, objective and booster names, the booster's
 * payload, then extra attributes. Little-endian dmlc streams; strings are
 * a u64 length then bytes. Every count is checked against the bytes left
 * before anything is read or allocated; trees are read one at a time.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "xgb.h"

#define GBTREE_PARAM 160u
#define TREE_PARAM 148u
#define NODE_SIZE 20u
#define STAT_SIZE 16u
#define LINEAR_PARAM 136u
#define MAX_NAME 4096u

typedef struct bin {
	xgb_ctx *c;
	const msi_source *src;
	uint64_t off, size;
	msi_progress *progress;
	int rc;
} bin;

static int truncated(bin *b, const char *what)
{
	if (b->rc != MS_OK)
		return b->rc;
	xgb_find(b->c, "xgb.truncated", "", "the file ends inside %s (at byte %llu of %llu)", what,
	         (unsigned long long)b->off, (unsigned long long)b->size);
	b->rc = msi_error(MS_EFORMAT, "XGBoost binary: the file ends inside %s", what);
	return b->rc;
}

static int read_bytes(bin *b, void *dst, size_t len, const char *what)
{
	if (b->rc != MS_OK)
		return b->rc;
	if (!msi_range_ok(b->off, len, b->size))
		return truncated(b, what);
	int rc = msi_source_read(b->src, b->off, dst, len);
	if (rc != MS_OK)
		return b->rc = rc;
	b->off += len;
	return MS_OK;
}

static uint64_t read_u64(bin *b, const char *what)
{
	uint8_t t[8];
	return read_bytes(b, t, 8, what) == MS_OK ? msi_le64(t) : 0;
}

/* A string: u64 length (checked against the bytes left and `max`) + bytes. */
static int read_string(bin *b, char *dst, size_t cap, uint64_t max, msi_buf *big, const char *what)
{
	uint64_t n = read_u64(b, what);
	if (b->rc != MS_OK)
		return b->rc;
	if (n > b->size - b->off)
		return truncated(b, what);
	if (n > max) {
		xgb_find(b->c, "xgb.binary.invalid", "", "%s is %llu bytes long", what, (unsigned long long)n);
		return b->rc = msi_error(MS_EFORMAT, "XGBoost binary: %s too long", what);
	}
	if (big) {
		big->len = 0;
		if (!msi_buf_reserve(big, (size_t)n + 1))
			return b->rc = msi_error(MS_ENOMEM, "out of memory");
		if (read_bytes(b, big->data, (size_t)n, what) != MS_OK)
			return b->rc;
		big->len = (size_t)n;
		big->data[n] = '\0';
		return MS_OK;
	}
	if (n >= cap) {
		b->off += n;
		dst[0] = '\0';
		return MS_OK;
	}
	if (read_bytes(b, dst, (size_t)n, what) != MS_OK)
		return b->rc;
	dst[n] = '\0';
	return MS_OK;
}

static int32_t i32at(const uint8_t *p, size_t off)
{
	return (int32_t)msi_le32(p + off);
}

static bool fpush(msi_i64vec *v, int64_t x)
{
	if (v->len == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 64;
		int64_t *nv = msi_reallocarray(v->v, ncap, sizeof *nv);
		if (!nv)
			return false;
		v->v = nv;
		v->cap = ncap;
	}
	v->v[v->len++] = x;
	return true;
}

static bool reserve_tree(xgb_tree *t, size_t n)
{
	msi_i64vec *vs[] = { &t->left, &t->right, &t->parent, &t->split_index, &t->default_left };
	for (size_t i = 0; i < MSI_ARRAY_LEN(vs); i++) {
		if (vs[i]->cap < n) {
			int64_t *nv = msi_reallocarray(vs[i]->v, n, sizeof *nv);
			if (!nv)
				return false;
			vs[i]->v = nv;
			vs[i]->cap = n;
		}
	}
	if (t->cond_flags.cap < n) {
		uint8_t *nf = msi_realloc(t->cond_flags.v, n);
		if (!nf)
			return false;
		t->cond_flags.v = nf;
		t->cond_flags.cap = n;
	}
	return true;
}

static bool f32_bad(const uint8_t *p)
{
	return (msi_le32(p) & 0x7F800000u) == 0x7F800000u;
}

static int read_tree(bin *b, size_t index, msi_buf *scratch)
{
	xgb_ctx *c = b->c;
	uint8_t tp[TREE_PARAM];
	if (read_bytes(b, tp, TREE_PARAM, "a tree's parameters") != MS_OK)
		return b->rc;
	int32_t num_roots = i32at(tp, 0), num_nodes = i32at(tp, 4), num_deleted = i32at(tp, 8);
	char where[48];
	snprintf(where, sizeof where, "tree %zu", index);
	if (num_roots != 1)
		xgb_find(c, "xgb.binary.invalid", where, "num_roots is %d, not 1", num_roots);
	uint64_t bytes;
	if (num_nodes < 0 || !msi_mul_u64((uint64_t)num_nodes, NODE_SIZE + STAT_SIZE, &bytes) ||
	    bytes > b->size - b->off) {
		if (num_nodes < 0) {
			xgb_find(c, "xgb.binary.invalid", where, "num_nodes is %d", num_nodes);
			return b->rc = msi_error(MS_EFORMAT, "XGBoost binary: negative node count");
		}
		return truncated(b, "a tree's nodes");
	}
	size_t n = (size_t)num_nodes;
	if (!c->report) {
		b->off += bytes; /* inspect: the tree's shape is not needed */
		return msi_progress_add(b->progress, bytes + TREE_PARAM);
	}
	scratch->len = 0;
	if (!msi_buf_reserve(scratch, (size_t)bytes + 1))
		return b->rc = msi_error(MS_ENOMEM, "out of memory");
	if (read_bytes(b, scratch->data, (size_t)bytes, "a tree's nodes") != MS_OK)
		return b->rc;
	xgb_tree *t = &c->tree;
	xgb_tree_reset(t);
	if (!reserve_tree(t, n))
		return b->rc = msi_error(MS_ENOMEM, "out of memory");
	const uint8_t *nodes = (const uint8_t *)scratch->data, *stats = nodes + n * NODE_SIZE;
	size_t bw_bad = 0, loss_bad = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *nd = nodes + i * NODE_SIZE, *st = stats + i * STAT_SIZE;
		int32_t parent = i32at(nd, 0);
		uint32_t sindex = msi_le32(nd + 12);
		t->parent.v[i] = parent == -1 ? XGB_ROOT_PARENT : (int64_t)((uint32_t)parent & 0x7FFFFFFFu);
		t->left.v[i] = i32at(nd, 4);
		t->right.v[i] = i32at(nd, 8);
		t->split_index.v[i] = sindex & 0x7FFFFFFFu;
		t->default_left.v[i] = sindex >> 31;
		t->cond_flags.v[i] = f32_bad(nd + 16);
		loss_bad += f32_bad(st);
		bw_bad += f32_bad(st + 8);
	}
	t->left.len = t->right.len = t->parent.len = t->split_index.len = t->default_left.len = n;
	t->cond_flags.len = t->n_cond = n;
	t->has_cond = true;
	t->num_nodes = num_nodes;
	t->num_deleted = num_deleted;
	t->n_base_weights = t->n_loss = t->n_hess = n;
	t->has_base_weights = t->has_loss = t->has_hess = true;
	t->base_weights_nonfinite = bw_bad;
	t->loss_nonfinite = loss_bad;
	xgb_check_tree(c, index);
	return msi_progress_add(b->progress, bytes + TREE_PARAM);
}

/* u64 count + f32 values; counts non-finite ones. */
static int read_floats(bin *b, int64_t *count, size_t *nonfinite, const char *what)
{
	uint64_t n = read_u64(b, what);
	uint64_t bytes;
	if (b->rc != MS_OK)
		return b->rc;
	if (!msi_mul_u64(n, 4, &bytes) || bytes > b->size - b->off)
		return truncated(b, what);
	*count = (int64_t)n;
	*nonfinite = 0;
	uint8_t chunk[4096];
	while (bytes) {
		size_t step = (size_t)MSI_MIN(bytes, (uint64_t)sizeof chunk);
		if (read_bytes(b, chunk, step, what) != MS_OK)
			return b->rc;
		for (size_t i = 0; i + 4 <= step; i += 4)
			*nonfinite += f32_bad(chunk + i);
		bytes -= step;
	}
	return MS_OK;
}

static int read_gbtree(bin *b)
{
	xgb_ctx *c = b->c;
	uint8_t gp[GBTREE_PARAM];
	if (read_bytes(b, gp, GBTREE_PARAM, "the gbtree parameters") != MS_OK)
		return b->rc;
	int32_t num_trees = i32at(gp, 0);
	c->num_trees_param = num_trees;
	c->num_parallel_tree = i32at(gp, 4);
	c->size_leaf_vector = i32at(gp, 28);
	c->has_trees = true;
	if (num_trees < 0) {
		xgb_find(c, "xgb.binary.invalid", "gbtree_model_param.num_trees", "num_trees is %d", num_trees);
		return b->rc = msi_error(MS_EFORMAT, "XGBoost binary: negative tree count");
	}
	/* each tree needs at least its parameter block */
	uint64_t least;
	if (!msi_mul_u64((uint64_t)num_trees, TREE_PARAM, &least) || least > b->size - b->off)
		return truncated(b, "the trees (num_trees is larger than the file can hold)");
	msi_buf scratch = MSI_BUF_INIT;
	for (int32_t i = 0; i < num_trees && b->rc == MS_OK; i++) {
		int rc = read_tree(b, (size_t)i, &scratch);
		c->trees_seen++;
		if (rc != MS_OK) {
			b->rc = rc;
			break;
		}
	}
	msi_buf_free(&scratch);
	if (b->rc != MS_OK)
		return b->rc;
	if (num_trees > 0) {
		c->has_tree_info = true;
		uint64_t bytes = (uint64_t)num_trees * 4;
		if (bytes > b->size - b->off)
			return truncated(b, "tree_info");
		uint8_t chunk[4096];
		while (bytes) {
			size_t step = (size_t)MSI_MIN(bytes, (uint64_t)sizeof chunk);
			if (read_bytes(b, chunk, step, "tree_info") != MS_OK)
				return b->rc;
			for (size_t i = 0; i + 4 <= step; i += 4)
				if (!fpush(&c->tree_info, i32at(chunk, i)))
					return b->rc = msi_error(MS_ENOMEM, "out of memory");
			bytes -= step;
		}
	}
	return MS_OK;
}

int xgb_read_binary(xgb_ctx *c, msi_progress *progress)
{
	bin b = { c, c->v->src, 0, c->v->src->size, progress, MS_OK };
	uint8_t magic[4];
	if (b.size >= 4 && msi_source_read(b.src, 0, magic, 4) == MS_OK && memcmp(magic, "binf", 4) == 0)
		b.off = 4;
	uint8_t lp[XGB_LEGACY_PARAM];
	if (read_bytes(&b, lp, sizeof lp, "the learner parameters") != MS_OK)
		return b.rc;
	float bs;
	uint32_t u = msi_le32(lp);
	memcpy(&bs, &u, 4);
	c->has_lmp = true;
	c->has_base_score = true;
	c->base_score = bs;
	if (!isfinite(bs))
		xgb_find(c, "xgb.param.invalid", "learner_model_param.base_score", "base_score is not finite");
	uint32_t nf = msi_le32(lp + 4);
	c->num_feature = nf <= INT32_MAX ? (int64_t)nf : -1;
	int32_t nc = i32at(lp, 8);
	c->num_class = nc >= 0 ? nc : -1;
	int32_t extra_attrs = i32at(lp, 12), eval_metrics = i32at(lp, 16);
	uint32_t major = msi_le32(lp + 20), minor = msi_le32(lp + 24), nt = msi_le32(lp + 28);
	c->num_target = nt >= 1 && nt <= INT32_MAX ? (int64_t)nt : 1;
	if (major || minor) {
		c->has_version = true;
		c->version[0] = major;
		c->version[1] = minor;
		c->nversion = 2;
	}
	if (read_string(&b, c->objective, sizeof c->objective, MAX_NAME, NULL, "the objective name") != MS_OK)
		return b.rc;
	c->has_objective = c->objective[0] != '\0';
	if (read_string(&b, c->booster, sizeof c->booster, MAX_NAME, NULL, "the booster name") != MS_OK)
		return b.rc;
	c->has_booster = true;
	c->has_gbm = true;
	if (strcmp(c->booster, "gbtree") == 0 || strcmp(c->booster, "dart") == 0) {
		if (read_gbtree(&b) != MS_OK)
			return b.rc;
		if (strcmp(c->booster, "dart") == 0 && c->num_trees_param > 0) {
			size_t bad;
			if (read_floats(&b, &c->weight_drop, &bad, "dart weight_drop") != MS_OK)
				return b.rc;
		}
	} else if (strcmp(c->booster, "gblinear") == 0) {
		uint8_t lin[LINEAR_PARAM];
		if (read_bytes(&b, lin, sizeof lin, "the gblinear parameters") != MS_OK)
			return b.rc;
		if (read_floats(&b, &c->weights, &c->weights_nonfinite, "the gblinear weights") != MS_OK)
			return b.rc;
	} else {
		xgb_find(c, "xgb.booster.unknown", "booster", "booster '%.40s' is not gbtree, dart or gblinear", c->booster);
		return b.rc = msi_error(MS_EFORMAT, "XGBoost binary: unknown booster");
	}
	if (extra_attrs) {
		uint64_t n = read_u64(&b, "the attribute count");
		if (b.rc != MS_OK)
			return b.rc;
		/* each attribute is at least two u64 lengths */
		if (n > (b.size - b.off) / 16)
			return truncated(&b, "the attributes");
		msi_json j;
		msi_json_init(&j, &c->attributes, MSI_JSON_COMPACT);
		msi_json_array_begin(&j);
		msi_buf val = MSI_BUF_INIT, key = MSI_BUF_INIT;
		uint64_t cap = c->v->limits && c->v->limits->max_metadata ? c->v->limits->max_metadata : (64u << 20);
		for (uint64_t i = 0; i < n && b.rc == MS_OK; i++) {
			if (read_string(&b, NULL, 0, MAX_NAME, &key, "an attribute name") != MS_OK ||
			    read_string(&b, NULL, 0, cap, &val, "an attribute value") != MS_OK)
				break;
			/* XGBoost 1.x keeps its configuration here and drops these
			 * from the attributes it reports */
			if (strcmp(key.data, "objective") != 0 && strcmp(key.data, "metrics") != 0)
				msi_json_stringn(&j, key.data, key.len);
			if (strcmp(key.data, "scikit_learn") == 0) {
				msi_free(c->scikit_learn);
				c->scikit_learn = msi_strndup(val.data, val.len);
				c->scikit_len = val.len;
			}
		}
		msi_json_array_end(&j);
		msi_buf_free(&key);
		msi_buf_free(&val);
		if (b.rc != MS_OK)
			return b.rc;
	}
	if (eval_metrics) {
		uint64_t n = read_u64(&b, "the metric count");
		if (b.rc != MS_OK)
			return b.rc;
		if (n > (b.size - b.off) / 8)
			return truncated(&b, "the metrics");
		char name[256];
		for (uint64_t i = 0; i < n && b.rc == MS_OK; i++)
			read_string(&b, name, sizeof name, MAX_NAME, NULL, "a metric name");
		if (b.rc != MS_OK)
			return b.rc;
	}
	if (b.off != b.size)
		xgb_find(c, "xgb.trailing_data", "", "%llu bytes follow the model", (unsigned long long)(b.size - b.off));
	return MS_OK;
}
