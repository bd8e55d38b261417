/*
 * XGBoost reader internals shared by the JSON/UBJSON walker (xgb_doc.c),
 * the legacy binary reader (xgb_binary.c) and the model checks and facts
 * (xgb_model.c). One pass over the bytes fills an xgb_ctx: facts for
 * inspect, findings for validate (report NULL when only inspecting).
 */
#ifndef MSI_FORMATS_XGB_H
#define MSI_FORMATS_XGB_H

#include "../../core/pull.h"
#include "../../core/report.h"
#include "../format.h"

typedef enum xgb_encoding {
	XGB_NONE,
	XGB_JSON,
	XGB_UBJSON,
	XGB_BINARY,
} xgb_encoding;

#define XGB_LEGACY_PARAM 136u /* LearnerModelParamLegacy */
#define XGB_ROOT_PARENT 0x7FFFFFFF
#define XGB_DELETED_SPLIT 0x7FFFFFFF /* split index of a deleted node, bit 31 masked */
#define XGB_MAX_FINDINGS_PER_TREE 16
#define XGB_MAX_FINDINGS 2000

/* One tree, in the JSON conventions (binary trees are converted): parents
 * masked to 31 bits with the root's 0x7FFFFFFF, split indices masked. */
typedef struct xgb_tree {
	int64_t num_nodes;       /* tree_param.num_nodes, -1 absent */
	int64_t num_deleted;     /* -1 absent */
	int64_t id;              /* -1 absent */
	bool has_split_type;
	msi_i64vec left, right, parent, split_index, split_type, default_left;
	msi_i64vec cat_nodes, cat_segments, cat_sizes, categories;
	bool has_cat_nodes, has_cat_segments, has_cat_sizes, has_categories;
	msi_u8vec cond_flags;    /* split_conditions: 0 finite, 1 non-finite, 2 no number */
	size_t n_cond;
	bool has_cond;
	size_t n_base_weights, base_weights_nonfinite;
	bool has_base_weights;
	size_t n_loss, loss_nonfinite, n_hess;
	bool has_loss, has_hess;
	size_t bad_ints;         /* non-integer elements in the integer arrays */
} xgb_tree;

typedef struct xgb_ctx {
	const msi_view *v;
	ms_report *report;       /* NULL: inspect only */
	xgb_encoding encoding;
	size_t findings;
	char tmp[256];

	/* facts */
	bool has_version;
	int64_t version[3];
	int nversion;
	bool has_learner;
	int64_t num_feature, num_class, num_target; /* -1 absent */
	bool has_base_score;
	double base_score;
	char objective[128];
	bool has_objective;
	char booster[16];        /* outermost gradient_booster name */
	bool has_booster;
	char inner_booster[16];  /* dart: the wrapped gbtree's name */
	bool has_gbm, has_lmp;
	int64_t num_trees_param, num_parallel_tree, size_leaf_vector; /* -1 absent */
	size_t trees_seen;
	bool has_trees, has_tree_info, has_indptr;
	msi_i64vec tree_info, indptr;
	int64_t weight_drop;     /* -1 absent */
	int64_t weights;         /* gblinear weight count, -1 absent */
	int64_t boosted_rounds;  /* gblinear, -1 absent */
	size_t weights_nonfinite;
	msi_buf feature_names;   /* JSON array text */
	int64_t n_feature_names; /* -1 absent */
	msi_buf feature_types;
	int64_t n_feature_types;
	msi_buf attributes;      /* JSON array of names */
	char *scikit_learn;      /* the attribute's text */
	size_t scikit_len;

	/* per tree: the largest split index and its node, checked against
	 * num_feature once it is known (it comes after the trees in JSON) */
	msi_i64vec max_split, max_split_node;
	size_t trees_categorical;

	xgb_tree tree;           /* the tree being read */
	int64_t *scratch;        /* the tree walk's stack and colours */
	size_t scratch_cap;
} xgb_ctx;

void xgb_ctx_init(xgb_ctx *c, const msi_view *v, ms_report *report, xgb_encoding e);
void xgb_ctx_free(xgb_ctx *c);
void xgb_tree_reset(xgb_tree *t);

/* Adds a finding (no-op when inspecting; capped). */
void xgb_find(xgb_ctx *c, const char *code, const char *where, const char *fmt, ...) MSI_PRINTF(4, 5);

/* Checks the tree in c->tree as tree number `index` (xgb_model.c). */
void xgb_check_tree(xgb_ctx *c, size_t index);
/* Model-level checks once everything was read. */
void xgb_check_model(xgb_ctx *c);
/* Writes the model facts. */
void xgb_write_facts(xgb_ctx *c, msi_json *j);

/* Readers: fill c from the payload. MS_OK, MS_EFORMAT when the bytes end
 * early or are malformed (a finding was added and the facts are partial),
 * or another error (MS_ENOMEM, MS_EIO, MS_ECHANGED, MS_ELIMIT). */
int xgb_read_doc(xgb_ctx *c, msi_progress *progress);
int xgb_read_binary(xgb_ctx *c, msi_progress *progress);

#endif
