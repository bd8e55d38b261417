/*
 * XGBoost JSON and UBJSON documents (FORMATS.md §4.2, §4.3) through the
 * shared pull reader: one pass, no tree of values. Keys are matched by name
 * in any order (XGBoost writes them sorted, so learner_model_param comes
 * after the trees); unknown keys are skipped.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "xgb.h"

static bool key_is(const msi_pull *p, const char *k)
{
	size_t n = strlen(k);
	return p->len == n && memcmp(p->str, k, n) == 0;
}

/* A value of the wrong JSON type: a finding, then the value is skipped. */
static int wrong_type(xgb_ctx *c, msi_pull *p, msi_pull_tok t, const char *where, const char *want)
{
	static const char *const names[] = { "end", "an object", "}", "an array", "]", "a key",
		                             "a string", "an integer", "a number", "a boolean", "null" };
	if (t == MSI_PULL_ERROR)
		return p->rc;
	xgb_find(c, "xgb.schema", where, "expected %s, found %s", want, names[t]);
	return msi_pull_skip(p, t);
}

/* XGBoost params are decimal strings ("5E-1", "3"); numbers are accepted too. */
static bool param_number(xgb_ctx *c, msi_pull *p, msi_pull_tok t, const char *where, double *out)
{
	if (t == MSI_PULL_INT || t == MSI_PULL_DOUBLE) {
		*out = p->dval;
		return true;
	}
	if (t != MSI_PULL_STRING) {
		wrong_type(c, p, t, where, "a decimal string");
		return false;
	}
	const char *s = p->str;
	size_t n = p->len;
	/* from 3.1 base_score is a JSON array in a string: "[5E-1]" (first value) */
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
		const char *comma = memchr(s, ',', n);
		if (comma)
			n = (size_t)(comma - s);
	}
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!msi_parse_double(s, n, out)) {
		xgb_find(c, "xgb.param.invalid", where, "'%.*s' is not a number", (int)MSI_MIN(p->len, 64u), p->str);
		return false;
	}
	return true;
}

static int64_t param_int(xgb_ctx *c, msi_pull *p, msi_pull_tok t, const char *where)
{
	double d;
	if (!param_number(c, p, t, where, &d))
		return -1;
	if (!(d >= 0 && d <= 2147483647.0) || d != (double)(int64_t)d) {
		xgb_find(c, "xgb.param.invalid", where, "%g is not a non-negative 32-bit integer", d);
		return -1;
	}
	return (int64_t)d;
}

/* param_int for the value after key `key` (copied before the value was
 * read); `where` = prefix + key is only formatted when there is something
 * to report. */
static int64_t param_int_key(xgb_ctx *c, msi_pull *p, msi_pull_tok t, const char *pre1, const char *pre2,
                             const char *key)
{
	double d;
	if (t == MSI_PULL_INT && p->ival >= 0 && p->ival <= 2147483647)
		return p->ival;
	if (t == MSI_PULL_STRING && msi_parse_double(p->str, p->len, &d) && d >= 0 && d <= 2147483647.0 &&
	    d == (double)(int64_t)d)
		return (int64_t)d;
	char where[160];
	snprintf(where, sizeof where, "%s%s%s", pre1, pre2, key);
	return param_int(c, p, t, where);
}

/* The current key, at most 40 bytes, as a C string. */
static void key_copy(const msi_pull *p, char dst[41])
{
	size_t n = MSI_MIN(p->len, 40u);
	memcpy(dst, p->str, n);
	dst[n] = '\0';
}

static void copy_string(const msi_pull *p, char *dst, size_t cap)
{
	size_t n = MSI_MIN(p->len, cap - 1);
	memcpy(dst, p->str, n);
	dst[n] = '\0';
}

static int walk_version(xgb_ctx *c, msi_pull *p, msi_pull_tok t)
{
	if (t != MSI_PULL_ARRAY)
		return wrong_type(c, p, t, "version", "an array of three integers");
	c->has_version = true;
	int n = 0;
	bool bad = false;
	while ((t = msi_pull_next(p)) != MSI_PULL_ARRAY_END) {
		if (t == MSI_PULL_ERROR)
			return p->rc;
		if (t == MSI_PULL_INT && p->ival >= 0) {
			if (n < 3)
				c->version[n] = p->ival;
		} else {
			bad = true;
			if (msi_pull_skip(p, t) != MS_OK)
				return p->rc;
		}
		n++;
	}
	c->nversion = n < 3 ? n : 3;
	if (bad || n != 3 || c->version[0] < 1)
		xgb_find(c, "xgb.version", "version", "the version is not [major >= 1, minor, patch] of non-negative integers");
	return MS_OK;
}

/* An array of strings written out as a JSON array into `out`. */
static int walk_names(xgb_ctx *c, msi_pull *p, msi_pull_tok t, const char *where, msi_buf *out, int64_t *count)
{
	if (t != MSI_PULL_ARRAY)
		return wrong_type(c, p, t, where, "an array of strings");
	msi_json j;
	out->len = 0;
	msi_json_init(&j, out, MSI_JSON_COMPACT);
	msi_json_array_begin(&j);
	int64_t n = 0;
	while ((t = msi_pull_next(p)) != MSI_PULL_ARRAY_END) {
		if (t == MSI_PULL_ERROR)
			return p->rc;
		if (t == MSI_PULL_STRING) {
			msi_json_stringn(&j, p->str, p->len);
		} else {
			snprintf(c->tmp, sizeof c->tmp, "%s[%lld]", where, (long long)n);
			wrong_type(c, p, t, c->tmp, "a string");
			if (p->rc != MS_OK)
				return p->rc;
			msi_json_null(&j);
		}
		n++;
	}
	msi_json_array_end(&j);
	if (out->failed)
		return msi_error(MS_ENOMEM, "out of memory");
	*count = n;
	return MS_OK;
}

static int walk_attributes(xgb_ctx *c, msi_pull *p, msi_pull_tok t)
{
	if (t != MSI_PULL_OBJECT)
		return wrong_type(c, p, t, "learner.attributes", "an object");
	msi_json j;
	c->attributes.len = 0;
	msi_json_init(&j, &c->attributes, MSI_JSON_COMPACT);
	msi_json_array_begin(&j);
	while ((t = msi_pull_next(p)) == MSI_PULL_KEY) {
		msi_json_stringn(&j, p->str, p->len);
		bool sk = key_is(p, "scikit_learn");
		snprintf(c->tmp, sizeof c->tmp, "learner.attributes.%.*s", (int)MSI_MIN(p->len, 64u), p->str);
		t = msi_pull_next(p);
		if (t == MSI_PULL_STRING) {
			if (sk) {
				msi_free(c->scikit_learn);
				c->scikit_learn = msi_strndup(p->str, p->len);
				c->scikit_len = p->len;
				if (!c->scikit_learn)
					return msi_error(MS_ENOMEM, "out of memory");
			}
		} else if (wrong_type(c, p, t, c->tmp, "a string") != MS_OK) {
			return p->rc;
		}
	}
	msi_json_array_end(&j);
	if (c->attributes.failed)
		return msi_error(MS_ENOMEM, "out of memory");
	return t == MSI_PULL_OBJECT_END ? MS_OK : p->rc;
}

static int walk_lmp(xgb_ctx *c, msi_pull *p, msi_pull_tok t)
{
	if (t != MSI_PULL_OBJECT)
		return wrong_type(c, p, t, "learner.learner_model_param", "an object");
	c->has_lmp = true;
	while ((t = msi_pull_next(p)) == MSI_PULL_KEY) {
		enum { NONE, NF, NC, NT, BS } which = key_is(p, "num_feature") ? NF
		                                    : key_is(p, "num_class")   ? NC
		                                    : key_is(p, "num_target")  ? NT
		                                    : key_is(p, "base_score")  ? BS
		                                                               : NONE;
		char where[160];
		snprintf(where, sizeof where, "learner.learner_model_param.%.*s", (int)MSI_MIN(p->len, 64u), p->str);
		t = msi_pull_next(p);
		double d;
		switch (which) {
		case NF: c->num_feature = param_int(c, p, t, where); break;
		case NC: c->num_class = param_int(c, p, t, where); break;
		case NT: c->num_target = param_int(c, p, t, where); break;
		case BS:
			if (param_number(c, p, t, where, &d)) {
				c->has_base_score = true;
				c->base_score = d;
				if (!isfinite(d))
					xgb_find(c, "xgb.param.invalid", where, "base_score is not finite");
			}
			break;
		default:
			if (msi_pull_skip(p, t) != MS_OK)
				return p->rc;
		}
		if (p->rc != MS_OK)
			return p->rc;
	}
	return t == MSI_PULL_OBJECT_END ? MS_OK : p->rc;
}

static int walk_objective(xgb_ctx *c, msi_pull *p, msi_pull_tok t)
{
	if (t != MSI_PULL_OBJECT)
		return wrong_type(c, p, t, "learner.objective", "an object");
	while ((t = msi_pull_next(p)) == MSI_PULL_KEY) {
		bool name = key_is(p, "name");
		t = msi_pull_next(p);
		if (name && t == MSI_PULL_STRING) {
			copy_string(p, c->objective, sizeof c->objective);
			c->has_objective = true;
		} else if (name) {
			wrong_type(c, p, t, "learner.objective.name", "a string");
		} else if (msi_pull_skip(p, t) != MS_OK) {
			return p->rc;
		}
		if (p->rc != MS_OK)
			return p->rc;
	}
	return t == MSI_PULL_OBJECT_END ? MS_OK : p->rc;
}

/* ---- trees --------------------------------------------------------------- */

static int tree_ints(xgb_ctx *c, msi_pull *p, msi_pull_tok t, const char *where, msi_i64vec *dst, bool *has)
{
	if (t != MSI_PULL_ARRAY)
		return wrong_type(c, p, t, where, "an array of integers");
	size_t bad;
	if (msi_pull_ints(p, dst, &bad) != MS_OK)
		return p->rc;
	if (has)
		*has = true;
	c->tree.bad_ints += bad;
	return MS_OK;
}

static int walk_tree(xgb_ctx *c, msi_pull *p, msi_pull_tok t, size_t index)
{
	xgb_tree *tr = &c->tree;
	xgb_tree_reset(tr);
	char where[64];
	snprintf(where, sizeof where, "tree %zu", index);
	if (t != MSI_PULL_OBJECT)
		return wrong_type(c, p, t, where, "an object");
	bool has_left = false, has_right = false, has_parent = false, has_split = false, has_dl = false;
	while ((t = msi_pull_next(p)) == MSI_PULL_KEY) {
		int rc = MS_OK;
		size_t cnt, nf, bad;
		if (key_is(p, "left_children")) {
			rc = tree_ints(c, p, msi_pull_next(p), where, &tr->left, &has_left);
		} else if (key_is(p, "right_children")) {
			rc = tree_ints(c, p, msi_pull_next(p), where, &tr->right, &has_right);
		} else if (key_is(p, "parents")) {
			rc = tree_ints(c, p, msi_pull_next(p), where, &tr->parent, &has_parent);
		} else if (key_is(p, "split_indices")) {
			rc = tree_ints(c, p, msi_pull_next(p), where, &tr->split_index, &has_split);
		} else if (key_is(p, "split_type")) {
			rc = tree_ints(c, p, msi_pull_next(p), where, &tr->split_type, &tr->has_split_type);
		} else if (key_is(p, "default_left")) {
			rc = tree_ints(c, p, msi_pull_next(p), where, &tr->default_left, &has_dl);
		} else if (key_is(p, "categories_nodes")) {
			rc = tree_ints(c, p, msi_pull_next(p), where, &tr->cat_nodes, &tr->has_cat_nodes);
		} else if (key_is(p, "categories_segments")) {
			rc = tree_ints(c, p, msi_pull_next(p), where, &tr->cat_segments, &tr->has_cat_segments);
		} else if (key_is(p, "categories_sizes")) {
			rc = tree_ints(c, p, msi_pull_next(p), where, &tr->cat_sizes, &tr->has_cat_sizes);
		} else if (key_is(p, "categories")) {
			rc = tree_ints(c, p, msi_pull_next(p), where, &tr->categories, &tr->has_categories);
		} else if (key_is(p, "split_conditions")) {
			t = msi_pull_next(p);
			if (t != MSI_PULL_ARRAY) {
				rc = wrong_type(c, p, t, where, "an array of numbers");
			} else if ((rc = msi_pull_floats(p, &cnt, &nf, &bad, &tr->cond_flags, NULL)) == MS_OK) {
				tr->n_cond = cnt;
				tr->has_cond = true;
			}
		} else if (key_is(p, "base_weights") || key_is(p, "loss_changes") || key_is(p, "sum_hessian")) {
			int which = p->str[0] == 'b' ? 0 : p->str[0] == 'l' ? 1 : 2;
			t = msi_pull_next(p);
			if (t != MSI_PULL_ARRAY) {
				rc = wrong_type(c, p, t, where, "an array of numbers");
			} else if ((rc = msi_pull_floats(p, &cnt, &nf, &bad, NULL, NULL)) == MS_OK) {
				if (which == 0) {
					tr->n_base_weights = cnt;
					tr->base_weights_nonfinite = nf + bad;
					tr->has_base_weights = true;
				} else if (which == 1) {
					tr->n_loss = cnt;
					tr->loss_nonfinite = nf + bad;
					tr->has_loss = true;
				} else {
					tr->n_hess = cnt;
					tr->has_hess = true;
				}
			}
		} else if (key_is(p, "id")) {
			t = msi_pull_next(p);
			if (t == MSI_PULL_INT)
				tr->id = p->ival;
			else
				rc = wrong_type(c, p, t, where, "an integer id");
		} else if (key_is(p, "tree_param")) {
			t = msi_pull_next(p);
			if (t != MSI_PULL_OBJECT) {
				rc = wrong_type(c, p, t, where, "an object");
			} else {
				while ((t = msi_pull_next(p)) == MSI_PULL_KEY) {
					int k = key_is(p, "num_nodes") ? 1 : key_is(p, "num_deleted") ? 2 : 0;
					char key[41];
					key_copy(p, key);
					t = msi_pull_next(p);
					if (k == 1)
						tr->num_nodes = param_int_key(c, p, t, where, ": tree_param.", key);
					else if (k == 2)
						tr->num_deleted = param_int_key(c, p, t, where, ": tree_param.", key);
					else
						msi_pull_skip(p, t);
					if (p->rc != MS_OK)
						return p->rc;
				}
				rc = t == MSI_PULL_OBJECT_END ? MS_OK : p->rc;
			}
		} else {
			rc = msi_pull_skip(p, msi_pull_next(p));
		}
		if (rc != MS_OK || p->rc != MS_OK)
			return p->rc != MS_OK ? p->rc : rc;
	}
	if (t != MSI_PULL_OBJECT_END)
		return p->rc;
	if (!has_left || !has_right || !has_parent || !has_split || !tr->has_cond) {
		xgb_find(c, "xgb.tree.missing_array", where,
		         "the tree lacks %s", !has_left ? "left_children" : !has_right ? "right_children"
		                              : !has_parent ? "parents" : !has_split ? "split_indices" : "split_conditions");
		/* still record it, so counts and split maxima stay aligned */
	}
	if (!has_dl)
		tr->default_left.len = 0;
	xgb_check_tree(c, index);
	return MS_OK;
}

static int walk_model(xgb_ctx *c, msi_pull *p, msi_pull_tok t, const char *where)
{
	if (t != MSI_PULL_OBJECT)
		return wrong_type(c, p, t, where, "an object");
	while ((t = msi_pull_next(p)) == MSI_PULL_KEY) {
		int rc = MS_OK;
		size_t bad, cnt, nf;
		if (key_is(p, "gbtree_model_param")) {
			t = msi_pull_next(p);
			if (t != MSI_PULL_OBJECT) {
				rc = wrong_type(c, p, t, "gbtree_model_param", "an object");
			} else {
				while ((t = msi_pull_next(p)) == MSI_PULL_KEY) {
					int k = key_is(p, "num_trees") ? 1 : key_is(p, "num_parallel_tree") ? 2
					      : key_is(p, "size_leaf_vector") ? 3 : 0;
					char w[96];
					snprintf(w, sizeof w, "gbtree_model_param.%.*s", (int)MSI_MIN(p->len, 40u), p->str);
					t = msi_pull_next(p);
					if (k == 1)
						c->num_trees_param = param_int(c, p, t, w);
					else if (k == 2)
						c->num_parallel_tree = param_int(c, p, t, w);
					else if (k == 3)
						c->size_leaf_vector = param_int(c, p, t, w);
					else
						msi_pull_skip(p, t);
					if (p->rc != MS_OK)
						return p->rc;
				}
				rc = t == MSI_PULL_OBJECT_END ? MS_OK : p->rc;
			}
		} else if (key_is(p, "tree_info") || key_is(p, "iteration_indptr")) {
			bool info = p->str[0] == 't';
			t = msi_pull_next(p);
			if (t != MSI_PULL_ARRAY) {
				rc = wrong_type(c, p, t, info ? "tree_info" : "iteration_indptr", "an array of integers");
			} else if ((rc = msi_pull_ints(p, info ? &c->tree_info : &c->indptr, &bad)) == MS_OK) {
				if (info)
					c->has_tree_info = true;
				else
					c->has_indptr = true;
				if (bad)
					xgb_find(c, "xgb.schema", info ? "tree_info" : "iteration_indptr",
					         "%zu elements are not integers", bad);
			}
		} else if (key_is(p, "trees")) {
			t = msi_pull_next(p);
			if (t != MSI_PULL_ARRAY) {
				rc = wrong_type(c, p, t, "trees", "an array");
			} else {
				c->has_trees = true;
				while ((t = msi_pull_next(p)) != MSI_PULL_ARRAY_END && t != MSI_PULL_ERROR) {
					if (c->report) {
						rc = walk_tree(c, p, t, c->trees_seen);
					} else {
						rc = msi_pull_skip(p, t);
					}
					c->trees_seen++;
					if (rc != MS_OK)
						return rc;
				}
				rc = p->rc;
			}
		} else if (key_is(p, "weights")) {
			t = msi_pull_next(p);
			if (t != MSI_PULL_ARRAY) {
				rc = wrong_type(c, p, t, "weights", "an array of numbers");
			} else if ((rc = msi_pull_floats(p, &cnt, &nf, &bad, NULL, NULL)) == MS_OK) {
				c->weights = (int64_t)cnt;
				c->weights_nonfinite = nf + bad;
			}
		} else if (key_is(p, "boosted_rounds")) {
			t = msi_pull_next(p);
			if (t == MSI_PULL_INT && p->ival >= 0)
				c->boosted_rounds = p->ival;
			else
				rc = wrong_type(c, p, t, "boosted_rounds", "a non-negative integer");
		} else if (key_is(p, "weight_drop")) {
			t = msi_pull_next(p);
			if (t != MSI_PULL_ARRAY)
				rc = wrong_type(c, p, t, "weight_drop", "an array of numbers");
			else if ((rc = msi_pull_floats(p, &cnt, &nf, &bad, NULL, NULL)) == MS_OK)
				c->weight_drop = (int64_t)cnt;
		} else {
			rc = msi_pull_skip(p, msi_pull_next(p));
		}
		if (rc != MS_OK || p->rc != MS_OK)
			return p->rc != MS_OK ? p->rc : rc;
	}
	return t == MSI_PULL_OBJECT_END ? MS_OK : p->rc;
}

/* gradient_booster: {"model":..., "name":"gbtree"}, dart wraps a gbtree
 * GBM under "gbtree" with "weight_drop" next to it. */
static int walk_gbm(xgb_ctx *c, msi_pull *p, msi_pull_tok t, int level)
{
	if (t != MSI_PULL_OBJECT)
		return wrong_type(c, p, t, "learner.gradient_booster", "an object");
	c->has_gbm = true;
	while ((t = msi_pull_next(p)) == MSI_PULL_KEY) {
		int rc = MS_OK;
		if (key_is(p, "name")) {
			t = msi_pull_next(p);
			if (t == MSI_PULL_STRING) {
				if (level == 0) {
					copy_string(p, c->booster, sizeof c->booster);
					c->has_booster = true;
				} else {
					copy_string(p, c->inner_booster, sizeof c->inner_booster);
				}
			} else {
				rc = wrong_type(c, p, t, "gradient_booster.name", "a string");
			}
		} else if (key_is(p, "model")) {
			rc = walk_model(c, p, msi_pull_next(p), "gradient_booster.model");
		} else if (key_is(p, "gbtree") && level == 0) {
			rc = walk_gbm(c, p, msi_pull_next(p), 1);
		} else if (key_is(p, "weight_drop")) {
			size_t cnt, nf, bad;
			t = msi_pull_next(p);
			if (t != MSI_PULL_ARRAY)
				rc = wrong_type(c, p, t, "weight_drop", "an array of numbers");
			else if ((rc = msi_pull_floats(p, &cnt, &nf, &bad, NULL, NULL)) == MS_OK)
				c->weight_drop = (int64_t)cnt;
		} else {
			rc = msi_pull_skip(p, msi_pull_next(p));
		}
		if (rc != MS_OK || p->rc != MS_OK)
			return p->rc != MS_OK ? p->rc : rc;
	}
	return t == MSI_PULL_OBJECT_END ? MS_OK : p->rc;
}

static int walk_learner(xgb_ctx *c, msi_pull *p, msi_pull_tok t)
{
	if (t != MSI_PULL_OBJECT)
		return wrong_type(c, p, t, "learner", "an object");
	c->has_learner = true;
	while ((t = msi_pull_next(p)) == MSI_PULL_KEY) {
		int rc;
		if (key_is(p, "attributes"))
			rc = walk_attributes(c, p, msi_pull_next(p));
		else if (key_is(p, "feature_names"))
			rc = walk_names(c, p, msi_pull_next(p), "learner.feature_names", &c->feature_names,
			                &c->n_feature_names);
		else if (key_is(p, "feature_types"))
			rc = walk_names(c, p, msi_pull_next(p), "learner.feature_types", &c->feature_types,
			                &c->n_feature_types);
		else if (key_is(p, "gradient_booster"))
			rc = walk_gbm(c, p, msi_pull_next(p), 0);
		else if (key_is(p, "learner_model_param"))
			rc = walk_lmp(c, p, msi_pull_next(p));
		else if (key_is(p, "objective"))
			rc = walk_objective(c, p, msi_pull_next(p));
		else
			rc = msi_pull_skip(p, msi_pull_next(p));
		if (rc != MS_OK || p->rc != MS_OK)
			return p->rc != MS_OK ? p->rc : rc;
	}
	return t == MSI_PULL_OBJECT_END ? MS_OK : p->rc;
}

static int walk_root(xgb_ctx *c, msi_pull *p)
{
	msi_pull_tok t = msi_pull_next(p);
	if (t != MSI_PULL_OBJECT)
		return t == MSI_PULL_ERROR ? p->rc : wrong_type(c, p, t, "", "an object");
	while ((t = msi_pull_next(p)) == MSI_PULL_KEY) {
		int rc;
		if (key_is(p, "learner"))
			rc = walk_learner(c, p, msi_pull_next(p));
		else if (key_is(p, "version"))
			rc = walk_version(c, p, msi_pull_next(p));
		else
			rc = msi_pull_skip(p, msi_pull_next(p));
		if (rc != MS_OK || p->rc != MS_OK)
			return p->rc != MS_OK ? p->rc : rc;
	}
	if (t != MSI_PULL_OBJECT_END)
		return p->rc;
	t = msi_pull_next(p);
	return t == MSI_PULL_EOF ? MS_OK : p->rc;
}

int xgb_read_doc(xgb_ctx *c, msi_progress *progress)
{
	const msi_view *v = c->v;
	msi_pull p;
	msi_pull_limits lim = { 0 };
	lim.max_depth = v->limits && v->limits->max_depth ? v->limits->max_depth : 64;
	if (v->limits && v->limits->max_metadata)
		lim.max_string = lim.max_elements = (size_t)MSI_MIN(v->limits->max_metadata / 8, (uint64_t)SIZE_MAX);
	int rc = msi_pull_open(&p, v->src, 0, v->src->size, c->encoding == XGB_UBJSON, &lim);
	if (rc != MS_OK)
		return rc;
	p.progress = progress;
	rc = walk_root(c, &p);
	if (rc == MS_OK && p.rc != MS_OK)
		rc = p.rc;
	if (rc == MS_EFORMAT) {
		xgb_find(c, p.truncated ? "xgb.truncated" : "xgb.syntax", "", "%s: %s",
		         c->encoding == XGB_UBJSON ? "UBJSON" : "JSON", p.msg);
		msi_error(MS_EFORMAT, "XGBoost %s: %s", c->encoding == XGB_UBJSON ? "UBJSON" : "JSON", p.msg);
	}
	msi_pull_close(&p);
	return rc;
}
