/*
 * CatBoost binary model (CBM1, FlatBuffers), FORMATS.md §1.
 *
 *   "CBM1", a u32 core size (0xFFFFFFFF escapes to a u64), the TModelCore
 *   FlatBuffer, then one model part per TModelCore.ModelPartIds entry
 *   ("static_provider_v1": the CTR value tables).
 *
 * The core is read whole (it must be, to be verified): exactly its declared
 * size, after checking that size against the file and limits->max_metadata;
 * a memory-backed source is used in place. It is walked once through the
 * verifying reader of flatbuf.c, schema slot by schema slot; nothing is
 * read before it is verified and nothing is copied out (leaf values,
 * splits and borders are read in place). CTR tables are read one at a time
 * into one reused buffer.
 */
#define _GNU_SOURCE /* madvise, MADV_HUGEPAGE */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "../format.h"
#include "cbm.h"

static const char format_version[] = "FlabuffersModel_v1";

void cbm_add(cbm_sink *s, const char *code, const char *where, const char *fmt, ...)
{
	const msi_code_info *info = msi_code_lookup(code);
	if (!info || info->severity == MS_SEVERITY_ERROR)
		s->errors++;
	if (!s->report)
		return;
	va_list ap;
	va_start(ap, fmt);
	msi_report_addv(s->report, code, where, fmt, ap);
	va_end(ap);
}

/* ---- the model as read ------------------------------------------------ */

typedef struct cbm_str {
	const char *p;
	uint32_t len;
} cbm_str;

typedef struct cbm_kv {
	cbm_str key, value;
} cbm_kv;

typedef struct cbm_model {
	const msi_view *v;
	cbm_sink *sink;
	bool deep;              /* validate: every check, CTR tables verified */
	msi_progress *progress;

	bool have_header;
	uint64_t core_off, core_size;
	const uint8_t *core;
	uint8_t *owned;
	msi_fb fb;

	bool have_root;
	bool have_version;
	cbm_str version;
	cbm_kv *info;
	uint32_t n_info;
	bool have_info;
	cbm_str *parts;
	uint32_t n_parts;
	bool have_parts;
	bool have_trees;        /* TModelTrees fully verified */
	cbm_trees trees;
	uint32_t n_float, n_cat, n_onehot, n_ctr, n_text, n_est, n_emb;
	uint64_t *ctr_hashes;   /* one per CtrFeature (deep) */
	uint32_t n_ctr_hashes;
	bool have_stats;
	cbm_tree_stats stats;

	uint8_t *window;        /* reads after the core (window_read) */
	uint64_t window_start;
	size_t window_len;

	bool has_ctr_part;
	bool ctr_count_known;
	uint64_t ctr_tables;

	int rc;                 /* first fatal error: MS_EFORMAT, MS_ELIMIT, MS_ENOMEM, I/O */
	char error[320];
} cbm_model;

MSI_PRINTF(5, 6)
static int fatal(cbm_model *m, int rc, const char *code, const char *where, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (code)
		cbm_add(m->sink, code, where, "%s", msg);
	if (m->rc == MS_OK) {
		m->rc = rc;
		snprintf(m->error, sizeof m->error, "%s%s%s", where && *where ? where : "", where && *where ? ": " : "",
		         msg);
	}
	return rc;
}

/* A FlatBuffers failure at `where` (the fb holds the reason). */
MSI_PRINTF(2, 3)
static int fb_fail(cbm_model *m, const char *fmt, ...)
{
	char where[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(where, sizeof where, fmt, ap);
	va_end(ap);
	bool limit = m->fb.error == MSI_FB_LIMIT;
	return fatal(m, limit ? MS_ELIMIT : MS_EFORMAT, limit ? "cbm.flatbuffers.limit" : "cbm.flatbuffers.invalid",
	             where, "%s", m->fb.message[0] ? m->fb.message : "invalid FlatBuffer");
}

static bool push_u64(uint64_t **arr, uint32_t *n, uint32_t *cap, uint64_t v)
{
	if (*n == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 16;
		uint64_t *na = msi_reallocarray(*arr, nc, sizeof *na);
		if (!na)
			return false;
		*arr = na;
		*cap = nc;
	}
	(*arr)[(*n)++] = v;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* ---- header and core -------------------------------------------------- */

static bool core_size(const msi_view *v, uint64_t *size, uint64_t *start)
{
	msi_cursor c = msi_cursor_make(v->head, v->head_len);
	msi_cursor_skip(&c, 4);
	uint64_t n = msi_cursor_le32(&c);
	if (n == 0xFFFFFFFFu)
		n = msi_cursor_le64(&c);
	if (c.failed)
		return false;
	*size = n;
	*start = c.pos;
	return true;
}

/* A large core is filled by one pread: transparent huge pages cut its page
 * faults (the dominant cost) by up to 512x where the kernel offers them. */
static void advise_huge(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
	const size_t huge = 2u << 20;
	if (n < 4 * huge)
		return;
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		return;
	uintptr_t start = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	uintptr_t end = ((uintptr_t)p + n) & ~((uintptr_t)page - 1);
	if (end > start)
		(void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
	MSI_UNUSED(p);
	MSI_UNUSED(n);
#endif
}

static int load_core(cbm_model *m)
{
	const msi_view *v = m->v;
	if (!v->src)
		return fatal(m, MS_EFORMAT, "cbm.header.truncated", "", "no bytes to read");
	if (v->head_len < 4 || memcmp(v->head, "CBM1", 4) != 0)
		return fatal(m, MS_EFORMAT, v->head_len < 4 ? "cbm.header.truncated" : "cbm.magic", "offset 0",
		             "the file does not start with the CatBoost magic \"CBM1\"");
	if (!core_size(v, &m->core_size, &m->core_off))
		return fatal(m, MS_EFORMAT, "cbm.header.truncated", "offset 4",
		             "the file (%llu bytes) ends inside the core size field", (unsigned long long)v->size);
	m->have_header = true;
	uint64_t room = v->size - m->core_off;
	if (m->core_size == 0 || m->core_size > room)
		return fatal(m, MS_EFORMAT, "cbm.core.size", "offset 4",
		             "the FlatBuffers core is declared as %llu bytes but %llu bytes follow the size field",
		             (unsigned long long)m->core_size, (unsigned long long)room);
	uint64_t cap = v->limits ? v->limits->max_metadata : 256u << 20;
	if (m->core_size > MSI_FB_MAX_BUFFER || m->core_size > cap)
		return fatal(m, MS_ELIMIT, "cbm.core.too_large", "offset 4",
		             "the FlatBuffers core (%llu bytes) is above the %s (%llu bytes)",
		             (unsigned long long)m->core_size,
		             m->core_size > MSI_FB_MAX_BUFFER ? "FlatBuffers 2 GiB maximum" : "max_metadata limit",
		             (unsigned long long)(m->core_size > MSI_FB_MAX_BUFFER ? MSI_FB_MAX_BUFFER : cap));
	const uint8_t *mem = msi_source_memory(v->src);
	if (mem) {
		m->core = mem + m->core_off;
	} else {
		m->owned = msi_malloc((size_t)m->core_size);
		if (!m->owned)
			return fatal(m, MS_ENOMEM, NULL, "", "out of memory for the %llu-byte core",
			             (unsigned long long)m->core_size);
		advise_huge(m->owned, (size_t)m->core_size);
		int rc = msi_source_read(v->src, m->core_off, m->owned, (size_t)m->core_size);
		if (rc != MS_OK)
			return fatal(m, rc, NULL, "", "%s", ms_error_last());
		m->core = m->owned;
	}
	if (m->progress) {
		int rc = msi_progress_add(m->progress, m->core_off + m->core_size);
		if (rc != MS_OK)
			return fatal(m, rc, NULL, "", "%s", ms_error_last());
	}
	uint32_t depth = v->limits && v->limits->max_depth ? v->limits->max_depth : MSI_FB_DEFAULT_DEPTH;
	msi_fb_init(&m->fb, m->core, (size_t)m->core_size, depth, MSI_FB_DEFAULT_TABLES, 0);
	return MS_OK;
}

/* ---- walking TModelCore ----------------------------------------------- */

/* Index/FlatIndex bookkeeping for invariant 9 (deep only). */
typedef struct feature_ids {
	uint64_t *flat;
	uint32_t n_flat, cap_flat;
	uint64_t *index; /* kind << 32 | index */
	uint32_t n_index, cap_index;
	bool oom;
} feature_ids;

static void note_ids(cbm_model *m, feature_ids *ids, uint32_t kind, int32_t index, int32_t flat)
{
	if (!m->deep)
		return;
	if (flat >= 0 && !push_u64(&ids->flat, &ids->n_flat, &ids->cap_flat, (uint64_t)flat))
		ids->oom = true;
	if (index >= 0 && !push_u64(&ids->index, &ids->n_index, &ids->cap_index, (uint64_t)kind << 32 | (uint32_t)index))
		ids->oom = true;
}

static const char *const kind_names[] = { "FloatFeatures", "CatFeatures", "TextFeatures", "EmbeddingFeatures" };

static void check_ids(cbm_model *m, feature_ids *ids)
{
	if (!m->deep)
		return;
	if (ids->n_flat)
		qsort(ids->flat, ids->n_flat, sizeof *ids->flat, cmp_u64);
	for (uint32_t i = 1; i < ids->n_flat; i++)
		if (ids->flat[i] == ids->flat[i - 1]) {
			cbm_add(m->sink, "cbm.features.flat_index", "ModelTrees",
			        "two features share FlatIndex %llu", (unsigned long long)ids->flat[i]);
			break;
		}
	if (ids->n_index)
		qsort(ids->index, ids->n_index, sizeof *ids->index, cmp_u64);
	for (uint32_t i = 1; i < ids->n_index; i++)
		if (ids->index[i] == ids->index[i - 1]) {
			uint32_t kind = (uint32_t)(ids->index[i] >> 32);
			cbm_add(m->sink, "cbm.features.index", kind < 4 ? kind_names[kind] : "ModelTrees",
			        "two features of this kind share Index %u", (uint32_t)ids->index[i]);
			break;
		}
}

/* Borders of a float feature: strictly ascending and finite. */
static void check_borders(cbm_model *m, const msi_fb_vec *b, const char *kind, uint32_t i)
{
	if (!m->deep)
		return;
	float prev = 0;
	for (uint32_t k = 0; k < b->count; k++) {
		float x = msi_fb_vec_f32(&m->fb, b, k);
		const char *why = !isfinite(x) ? "is not finite" : (k && !(x > prev)) ? "is not above the previous one" : NULL;
		if (why) {
			char where[64];
			snprintf(where, sizeof where, "ModelTrees.%s[%u].Borders", kind, i);
			cbm_add(m->sink, "cbm.features.borders", where, "border %u (%g) %s", k, (double)x, why);
			return;
		}
		prev = x;
	}
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* A TModelCtrBase: verified, hashed over its content (FeatureCombination,
 * CtrType, TargetBorderClassifierIdx) so that CTR features can be matched
 * with CTR value tables. Returns -1 on a FlatBuffers failure. */
static int read_ctr_base(msi_fb *fb, const msi_fb_table *base, uint64_t *hash, uint8_t *ctr_type)
{
	msi_fb_table comb;
	msi_fb_vec cats = { 0 }, floats = { 0 }, onehots = { 0 };
	int32_t tbc;
	int r = msi_fb_table_field(fb, base, 0, &comb);
	if (r < 0)
		return -1;
	if (r == 1 && (msi_fb_vector(fb, &comb, 0, 4, &cats) < 0 || msi_fb_vector(fb, &comb, 1, 8, &floats) < 0 ||
	               msi_fb_vector(fb, &comb, 2, 8, &onehots) < 0))
		return -1;
	if (msi_fb_u8(fb, base, 1, 0, ctr_type) < 0 || msi_fb_i32(fb, base, 2, 0, &tbc) < 0)
		return -1;
	uint64_t h = 0xcbf29ce484222325ull;
	uint8_t head[16];
	head[0] = *ctr_type;
	memcpy(head + 1, &tbc, 4);
	memcpy(head + 5, &cats.count, 4);
	memcpy(head + 9, &floats.count, 4);
	h = fnv(h, head, 13);
	h = fnv(h, &onehots.count, 4);
	if (cats.count)
		h = fnv(h, msi_fb_vec_at(fb, &cats, 0), (size_t)cats.count * 4);
	if (floats.count)
		h = fnv(h, msi_fb_vec_at(fb, &floats, 0), (size_t)floats.count * 8);
	if (onehots.count)
		h = fnv(h, msi_fb_vec_at(fb, &onehots, 0), (size_t)onehots.count * 8);
	*hash = h;
	return 1;
}

static int walk_float(cbm_model *m, const msi_fb_table *tt, feature_ids *ids)
{
	msi_fb_vec vec = { 0 };
	if (msi_fb_vector(&m->fb, tt, CBM_T_FLOAT_FEATURES, 4, &vec) < 0)
		return fb_fail(m, "ModelTrees.FloatFeatures");
	m->n_float = vec.count;
	for (uint32_t i = 0; i < vec.count; i++) {
		msi_fb_table f;
		msi_fb_vec borders = { 0 };
		uint8_t has_nans, nvt;
		int32_t index, flat;
		const char *id;
		uint32_t id_len;
		if (msi_fb_vec_table(&m->fb, &vec, i, &f) < 0 || msi_fb_u8(&m->fb, &f, 0, 0, &has_nans) < 0 ||
		    msi_fb_i32(&m->fb, &f, 1, -1, &index) < 0 || msi_fb_i32(&m->fb, &f, 2, -1, &flat) < 0 ||
		    msi_fb_vector(&m->fb, &f, 3, 4, &borders) < 0 || msi_fb_string(&m->fb, &f, 4, &id, &id_len) < 0 ||
		    msi_fb_u8(&m->fb, &f, 5, 0, &nvt) < 0)
			return fb_fail(m, "ModelTrees.FloatFeatures[%u]", i);
		m->trees.bin_count += borders.count;
		note_ids(m, ids, 0, index, flat);
		check_borders(m, &borders, "FloatFeatures", i);
		if (m->deep && nvt > 2) {
			char where[64];
			snprintf(where, sizeof where, "ModelTrees.FloatFeatures[%u]", i);
			cbm_add(m->sink, "cbm.features.enum", where, "NanValueTreatment is %u; it must be 0, 1 or 2", nvt);
		}
	}
	return MS_OK;
}

/* Cat, text and embedding features: Index [0], FlatIndex [1], FeatureId [2],
 * then UsedInModel (or Dimension, UsedInModel for embeddings). */
static int walk_plain_items(cbm_model *m, const msi_fb_table *tt, unsigned slot, uint32_t kind, uint32_t *count,
                            feature_ids *ids)
{
	msi_fb_vec vec = { 0 };
	const char *name = kind_names[kind];
	if (msi_fb_vector(&m->fb, tt, slot, 4, &vec) < 0)
		return fb_fail(m, "ModelTrees.%s", name);
	*count = vec.count;
	for (uint32_t i = 0; i < vec.count; i++) {
		msi_fb_table f;
		int32_t index, flat, dimension;
		uint8_t used;
		const char *id;
		uint32_t id_len;
		if (msi_fb_vec_table(&m->fb, &vec, i, &f) < 0 || msi_fb_i32(&m->fb, &f, 0, -1, &index) < 0 ||
		    msi_fb_i32(&m->fb, &f, 1, -1, &flat) < 0 || msi_fb_string(&m->fb, &f, 2, &id, &id_len) < 0)
			return fb_fail(m, "ModelTrees.%s[%u]", name, i);
		if (kind == 3) {
			if (msi_fb_i32(&m->fb, &f, 3, 0, &dimension) < 0 || msi_fb_u8(&m->fb, &f, 4, 1, &used) < 0)
				return fb_fail(m, "ModelTrees.%s[%u]", name, i);
		} else if (msi_fb_u8(&m->fb, &f, 3, 1, &used) < 0) {
			return fb_fail(m, "ModelTrees.%s[%u]", name, i);
		}
		note_ids(m, ids, kind, index, flat);
	}
	return MS_OK;
}

static int walk_estimated(cbm_model *m, const msi_fb_table *tt)
{
	msi_fb_vec vec = { 0 };
	if (msi_fb_vector(&m->fb, tt, CBM_T_ESTIMATED_FEATURES, 4, &vec) < 0)
		return fb_fail(m, "ModelTrees.EstimatedFeatures");
	m->n_est = vec.count;
	for (uint32_t i = 0; i < vec.count; i++) {
		msi_fb_table f;
		msi_fb_vec borders = { 0 };
		int32_t source, local;
		uint8_t type;
		const uint8_t *guid;
		if (msi_fb_vec_table(&m->fb, &vec, i, &f) < 0 || msi_fb_i32(&m->fb, &f, 0, 0, &source) < 0 ||
		    msi_fb_inline(&m->fb, &f, 1, 16, 4, &guid) < 0 || msi_fb_i32(&m->fb, &f, 2, 0, &local) < 0 ||
		    msi_fb_vector(&m->fb, &f, 3, 4, &borders) < 0 || msi_fb_u8(&m->fb, &f, 4, 0, &type) < 0)
			return fb_fail(m, "ModelTrees.EstimatedFeatures[%u]", i);
		m->trees.bin_count += borders.count;
		if (m->deep && type > 1) {
			char where[64];
			snprintf(where, sizeof where, "ModelTrees.EstimatedFeatures[%u]", i);
			cbm_add(m->sink, "cbm.features.enum", where, "SourceFeatureType is %u; it must be 0 (text) or 1 (embedding)",
			        type);
		}
	}
	return MS_OK;
}

static int walk_one_hot(cbm_model *m, const msi_fb_table *tt)
{
	msi_fb_vec vec = { 0 };
	if (msi_fb_vector(&m->fb, tt, CBM_T_ONE_HOT_FEATURES, 4, &vec) < 0)
		return fb_fail(m, "ModelTrees.OneHotFeatures");
	m->n_onehot = vec.count;
	for (uint32_t i = 0; i < vec.count; i++) {
		msi_fb_table f;
		msi_fb_vec values = { 0 }, strings = { 0 };
		int32_t index;
		if (msi_fb_vec_table(&m->fb, &vec, i, &f) < 0 || msi_fb_i32(&m->fb, &f, 0, -1, &index) < 0 ||
		    msi_fb_vector(&m->fb, &f, 1, 4, &values) < 0 || msi_fb_vector(&m->fb, &f, 2, 4, &strings) < 0)
			return fb_fail(m, "ModelTrees.OneHotFeatures[%u]", i);
		for (uint32_t k = 0; k < strings.count; k++) {
			const char *s;
			uint32_t n;
			if (msi_fb_vec_string(&m->fb, &strings, k, &s, &n) < 0)
				return fb_fail(m, "ModelTrees.OneHotFeatures[%u].StringValues[%u]", i, k);
		}
		m->trees.bin_count += values.count;
	}
	return MS_OK;
}

static int walk_ctr(cbm_model *m, const msi_fb_table *tt)
{
	msi_fb_vec vec = { 0 };
	if (msi_fb_vector(&m->fb, tt, CBM_T_CTR_FEATURES, 4, &vec) < 0)
		return fb_fail(m, "ModelTrees.CtrFeatures");
	m->n_ctr = vec.count;
	uint32_t cap = 0;
	for (uint32_t i = 0; i < vec.count; i++) {
		msi_fb_table f, ctr, base;
		msi_fb_vec borders = { 0 };
		int32_t tbi;
		float pn, pd, shift, scale;
		uint64_t hash = 0;
		uint8_t type = 0;
		int rc = msi_fb_vec_table(&m->fb, &vec, i, &f);
		int has_ctr = rc < 0 ? -1 : msi_fb_table_field(&m->fb, &f, 0, &ctr);
		if (has_ctr < 0 || msi_fb_vector(&m->fb, &f, 1, 4, &borders) < 0)
			return fb_fail(m, "ModelTrees.CtrFeatures[%u]", i);
		if (has_ctr == 1) {
			int has_base = msi_fb_table_field(&m->fb, &ctr, 0, &base);
			if (has_base < 0 || msi_fb_i32(&m->fb, &ctr, 1, 0, &tbi) < 0 || msi_fb_f32(&m->fb, &ctr, 2, 0, &pn) < 0 ||
			    msi_fb_f32(&m->fb, &ctr, 3, 1, &pd) < 0 || msi_fb_f32(&m->fb, &ctr, 4, 0, &shift) < 0 ||
			    msi_fb_f32(&m->fb, &ctr, 5, 1, &scale) < 0 ||
			    (has_base == 1 && read_ctr_base(&m->fb, &base, &hash, &type) < 0))
				return fb_fail(m, "ModelTrees.CtrFeatures[%u].Ctr", i);
			if (has_base == 0 && m->deep)
				cbm_add(m->sink, "cbm.ctr.invalid", "ModelTrees.CtrFeatures", "CTR feature %u has no Ctr.Base", i);
		} else if (m->deep) {
			cbm_add(m->sink, "cbm.ctr.invalid", "ModelTrees.CtrFeatures", "CTR feature %u has no Ctr", i);
		}
		m->trees.bin_count += borders.count;
		if (m->deep) {
			if (type > 5) {
				char where[64];
				snprintf(where, sizeof where, "ModelTrees.CtrFeatures[%u]", i);
				cbm_add(m->sink, "cbm.features.enum", where, "CtrType is %u; it must be 0..5", type);
			}
			if (has_ctr == 1 && !push_u64(&m->ctr_hashes, &m->n_ctr_hashes, &cap, hash))
				return fatal(m, MS_ENOMEM, NULL, "", "out of memory");
		}
	}
	return MS_OK;
}

static int walk_trees(cbm_model *m, const msi_fb_table *root)
{
	msi_fb_table tt;
	int r = msi_fb_table_field(&m->fb, root, 1, &tt);
	if (r < 0)
		return fb_fail(m, "TModelCore.ModelTrees");
	if (r == 0)
		return fatal(m, MS_EFORMAT, "cbm.trees.missing", "TModelCore", "the model has no ModelTrees table");
	cbm_trees *t = &m->trees;
	t->fb = &m->fb;
	static const struct {
		unsigned slot;
		uint32_t elem;
		size_t off;
		const char *name;
	} vecs[] = {
		{ CBM_T_TREE_SPLITS, 4, offsetof(cbm_trees, splits), "TreeSplits" },
		{ CBM_T_TREE_SIZES, 4, offsetof(cbm_trees, sizes), "TreeSizes" },
		{ CBM_T_TREE_START_OFFSETS, 4, offsetof(cbm_trees, starts), "TreeStartOffsets" },
		{ CBM_T_LEAF_VALUES, 8, offsetof(cbm_trees, leaf_values), "LeafValues" },
		{ CBM_T_LEAF_WEIGHTS, 8, offsetof(cbm_trees, leaf_weights), "LeafWeights" },
		{ CBM_T_STEP_NODES, 4, offsetof(cbm_trees, step_nodes), "NonSymmetricStepNodes" },
		{ CBM_T_NODE_TO_LEAF, 4, offsetof(cbm_trees, node_to_leaf), "NonSymmetricNodeIdToLeafId" },
		{ CBM_T_MULTI_BIAS, 8, offsetof(cbm_trees, multi_bias), "MultiBias" },
		{ CBM_T_REPACKED_BINS, 4, offsetof(cbm_trees, repacked), "RepackedBins" },
	};
	if (msi_fb_i32(&m->fb, &tt, CBM_T_APPROX_DIMENSION, 0, &t->dim) < 0)
		return fb_fail(m, "ModelTrees.ApproxDimension");
	if (msi_fb_f64(&m->fb, &tt, CBM_T_SCALE, 1.0, &t->scale) < 0)
		return fb_fail(m, "ModelTrees.Scale");
	if (msi_fb_f64(&m->fb, &tt, CBM_T_BIAS, 0.0, &t->bias) < 0)
		return fb_fail(m, "ModelTrees.Bias");
	for (size_t i = 0; i < MSI_ARRAY_LEN(vecs); i++) {
		msi_fb_vec *out = (msi_fb_vec *)((char *)t + vecs[i].off);
		if (msi_fb_vector(&m->fb, &tt, vecs[i].slot, vecs[i].elem, out) < 0)
			return fb_fail(m, "ModelTrees.%s", vecs[i].name);
	}
	feature_ids ids = { 0 };
	int rc = walk_float(m, &tt, &ids);
	if (rc == MS_OK)
		rc = walk_plain_items(m, &tt, CBM_T_CAT_FEATURES, 1, &m->n_cat, &ids);
	if (rc == MS_OK)
		rc = walk_plain_items(m, &tt, CBM_T_TEXT_FEATURES, 2, &m->n_text, &ids);
	if (rc == MS_OK)
		rc = walk_plain_items(m, &tt, CBM_T_EMBEDDING_FEATURES, 3, &m->n_emb, &ids);
	if (rc == MS_OK)
		rc = walk_estimated(m, &tt);
	if (rc == MS_OK)
		rc = walk_one_hot(m, &tt);
	if (rc == MS_OK)
		rc = walk_ctr(m, &tt);
	if (rc == MS_OK && ids.oom)
		rc = fatal(m, MS_ENOMEM, NULL, "", "out of memory");
	if (rc == MS_OK)
		check_ids(m, &ids);
	msi_free(ids.flat);
	msi_free(ids.index);
	if (rc == MS_OK)
		m->have_trees = true;
	return rc;
}

#define CBM_MAX_INFO 65536u
#define CBM_MAX_PARTS 4096u

static int walk_core(cbm_model *m)
{
	msi_fb_table root;
	if (msi_fb_root(&m->fb, &root) < 0)
		return fb_fail(m, "TModelCore");
	m->have_root = true;
	int r = msi_fb_string(&m->fb, &root, 0, &m->version.p, &m->version.len);
	if (r < 0)
		return fb_fail(m, "TModelCore.FormatVersion");
	m->have_version = r == 1;

	msi_fb_vec iv = { 0 };
	if (msi_fb_vector(&m->fb, &root, 2, 4, &iv) < 0)
		return fb_fail(m, "TModelCore.InfoMap");
	if (iv.count > CBM_MAX_INFO)
		return fatal(m, MS_ELIMIT, "cbm.flatbuffers.limit", "TModelCore.InfoMap",
		             "the info map has %u entries, more than %u", iv.count, CBM_MAX_INFO);
	if (iv.count && !(m->info = msi_calloc(iv.count, sizeof *m->info)))
		return fatal(m, MS_ENOMEM, NULL, "", "out of memory");
	for (uint32_t i = 0; i < iv.count; i++) {
		msi_fb_table kv;
		cbm_kv *e = &m->info[i];
		int rk = 0, rv = 0;
		if (msi_fb_vec_table(&m->fb, &iv, i, &kv) < 0 ||
		    (rk = msi_fb_string(&m->fb, &kv, 0, &e->key.p, &e->key.len)) < 0 ||
		    (rv = msi_fb_string(&m->fb, &kv, 1, &e->value.p, &e->value.len)) < 0)
			return fb_fail(m, "TModelCore.InfoMap[%u]", i);
		if (!rk || !rv) {
			char where[48];
			snprintf(where, sizeof where, "TModelCore.InfoMap[%u]", i);
			return fatal(m, MS_EFORMAT, "cbm.flatbuffers.invalid", where, "the required field %s is missing",
			             !rk ? "Key" : "Value");
		}
		m->n_info = i + 1;
	}
	m->have_info = true;

	msi_fb_vec pv = { 0 };
	if (msi_fb_vector(&m->fb, &root, 3, 4, &pv) < 0)
		return fb_fail(m, "TModelCore.ModelPartIds");
	if (pv.count > CBM_MAX_PARTS)
		return fatal(m, MS_ELIMIT, "cbm.flatbuffers.limit", "TModelCore.ModelPartIds",
		             "the model lists %u parts, more than %u", pv.count, CBM_MAX_PARTS);
	if (pv.count && !(m->parts = msi_calloc(pv.count, sizeof *m->parts)))
		return fatal(m, MS_ENOMEM, NULL, "", "out of memory");
	for (uint32_t i = 0; i < pv.count; i++) {
		if (msi_fb_vec_string(&m->fb, &pv, i, &m->parts[i].p, &m->parts[i].len) < 0)
			return fb_fail(m, "TModelCore.ModelPartIds[%u]", i);
		/* CatBoost counts a NUL in some ids ("text_process_v2\0") */
		while (m->parts[i].len && m->parts[i].p[m->parts[i].len - 1] == 0)
			m->parts[i].len--;
		m->n_parts = i + 1;
	}
	m->have_parts = true;
	return walk_trees(m, &root);
}

/* ---- info map --------------------------------------------------------- */

static bool str_is(cbm_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && memcmp(s.p, lit, n) == 0;
}

static const cbm_kv *info_get(const cbm_model *m, const char *key)
{
	const cbm_kv *found = NULL;
	for (uint32_t i = 0; i < m->n_info; i++)
		if (str_is(m->info[i].key, key))
			found = &m->info[i];
	return found;
}

static bool is_json_key(cbm_str k)
{
	return str_is(k, "params") || str_is(k, "class_params") || str_is(k, "multiclass_params") ||
	       str_is(k, "output_options") || str_is(k, "training");
}

static msi_jval *parse_json(const cbm_model *m, const cbm_kv *kv, int *rc)
{
	msi_json_limits lim = { m->v->limits && m->v->limits->max_depth ? m->v->limits->max_depth : 64, 1000000 };
	msi_jval *out = NULL;
	*rc = kv ? msi_json_parse(kv->value.p, kv->value.len, &lim, &out) : MS_EFORMAT;
	return *rc == MS_OK ? out : NULL;
}

static int cmp_kv(const void *a, const void *b)
{
	const cbm_kv *x = a, *y = b;
	int c = memcmp(x->key.p, y->key.p, MSI_MIN(x->key.len, y->key.len));
	return c ? c : (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

/* Invariant 11: unique keys (older models store them unsorted: no finding
 * for the order), JSON-valued keys parse. */
static int check_info(cbm_model *m)
{
	if (m->n_info > 1) {
		cbm_kv *sorted = msi_malloc((size_t)m->n_info * sizeof *sorted);
		if (!sorted)
			return fatal(m, MS_ENOMEM, NULL, "", "out of memory");
		memcpy(sorted, m->info, (size_t)m->n_info * sizeof *sorted);
		qsort(sorted, m->n_info, sizeof *sorted, cmp_kv);
		for (uint32_t i = 1; i < m->n_info; i++)
			if (cmp_kv(&sorted[i], &sorted[i - 1]) == 0) {
				cbm_add(m->sink, "cbm.info.duplicate_key", "TModelCore.InfoMap",
				        "the key '%.*s' appears more than once", (int)MSI_MIN(sorted[i].key.len, 100u), sorted[i].key.p);
				break;
			}
		msi_free(sorted);
	}
	for (uint32_t i = 0; i < m->n_info; i++) {
		const cbm_kv *kv = &m->info[i];
		if (!is_json_key(kv->key))
			continue;
		int rc;
		msi_jval *j = parse_json(m, kv, &rc);
		if (rc == MS_ENOMEM)
			return fatal(m, MS_ENOMEM, NULL, "", "out of memory");
		char where[64];
		snprintf(where, sizeof where, "InfoMap[\"%.*s\"]", (int)kv->key.len, kv->key.p);
		if (!j)
			cbm_add(m->sink, "cbm.info.json", where, "the value is not valid JSON: %s", ms_error_last());
		else if (j->kind != MSI_JOBJECT)
			cbm_add(m->sink, "cbm.info.json", where, "the value is JSON but not an object");
		msi_jval_free(j);
	}
	return MS_OK;
}

/* ---- model parts ------------------------------------------------------ */

/* Small reads after the core go through one 64 KiB window, so that a part
 * of many tiny CTR tables costs one pread per window, not one per table. */
#define CBM_WINDOW (64u * 1024u)

static int window_read(cbm_model *m, uint64_t off, void *dst, size_t n)
{
	if (n == 0)
		return MS_OK;
	if (m->window && off >= m->window_start && off - m->window_start + n <= m->window_len) {
		memcpy(dst, m->window + (off - m->window_start), n);
		return MS_OK;
	}
	if (!m->window && !(m->window = msi_malloc(CBM_WINDOW)))
		return msi_error(MS_ENOMEM, "out of memory");
	int64_t got = msi_source_read_upto(m->v->src, off, m->window, CBM_WINDOW);
	if (got < 0)
		return (int)got;
	m->window_start = off;
	m->window_len = (size_t)got;
	if ((size_t)got < n)
		return msi_error(MS_ECHANGED, "the file ended early at %llu", (unsigned long long)(off + (uint64_t)got));
	memcpy(dst, m->window, n);
	return MS_OK;
}

/* A SaveSize at *off: u32, 0xFFFFFFFF escaping to a u64; *cut when the
 * file ends first. */
static int read_save_size(cbm_model *m, uint64_t *off, uint64_t *out, bool *cut)
{
	uint8_t b[8];
	*cut = false;
	if (m->v->size - *off < 4) {
		*cut = true;
		return MS_OK;
	}
	int rc = window_read(m, *off, b, 4);
	if (rc != MS_OK)
		return rc;
	*off += 4;
	uint64_t n = msi_le32(b);
	if (n == 0xFFFFFFFFu) {
		if (m->v->size - *off < 8) {
			*cut = true;
			return MS_OK;
		}
		rc = window_read(m, *off, b, 8);
		if (rc != MS_OK)
			return rc;
		*off += 8;
		n = msi_le64(b);
	}
	*out = n;
	return MS_OK;
}

/* One TCtrValueTable: verified; its base's hash appended to `hashes`.
 * false, with the reason in `why`, when it is invalid. */
static bool verify_ctr_table(cbm_model *m, const uint8_t *p, uint64_t len, uint64_t **hashes, uint32_t *n,
                             uint32_t *cap, char *why, size_t why_len)
{
	msi_fb fb;
	msi_fb_table root, base;
	msi_fb_vec hash_raw = { 0 }, blob = { 0 };
	int32_t denom, classes;
	uint64_t h;
	uint8_t type = 0;
	msi_fb_init(&fb, p, (size_t)len, m->fb.max_depth, MSI_FB_DEFAULT_TABLES, 0);
	int has_base = -1;
	if (msi_fb_root(&fb, &root) < 0 || (has_base = msi_fb_table_field(&fb, &root, 0, &base)) < 0 ||
	    msi_fb_vector(&fb, &root, 1, 1, &hash_raw) < 0 || msi_fb_vector(&fb, &root, 2, 1, &blob) < 0 ||
	    msi_fb_i32(&fb, &root, 3, 0, &denom) < 0 || msi_fb_i32(&fb, &root, 4, 0, &classes) < 0 ||
	    (has_base == 1 && read_ctr_base(&fb, &base, &h, &type) < 0)) {
		snprintf(why, why_len, "the TCtrValueTable fails FlatBuffers verification: %s", fb.message);
		return false;
	}
	if (!has_base) {
		snprintf(why, why_len, "the TCtrValueTable has no ModelCtrBase");
		return false;
	}
	if (type > 5) {
		snprintf(why, why_len, "CtrType is %u; it must be 0..5", type);
		return false;
	}
	if (!push_u64(hashes, n, cap, h))
		fatal(m, MS_ENOMEM, NULL, "", "out of memory");
	return true;
}

static bool opaque_part(cbm_str id)
{
	return (id.len >= 12 && memcmp(id.p, "text_process", 12) == 0) ||
	       (id.len >= 17 && memcmp(id.p, "embedding_process", 17) == 0);
}

static int check_ctr_part(cbm_model *m, uint64_t *off)
{
	const msi_view *v = m->v;
	uint64_t count;
	bool cut;
	uint64_t part_start = *off;
	int rc = read_save_size(m, off, &count, &cut);
	if (rc != MS_OK)
		return fatal(m, rc, NULL, "", "%s", ms_error_last());
	if (cut)
		return fatal(m, MS_EFORMAT, "cbm.part.truncated", "static_provider_v1",
		             "the file ends at %llu, where the CTR part's table count should be",
		             (unsigned long long)part_start);
	m->ctr_count_known = true;
	m->ctr_tables = count;
	if (count > (v->size - *off) / 4)
		return fatal(m, MS_EFORMAT, "cbm.part.truncated", "static_provider_v1",
		             "the CTR part declares %llu tables but only %llu bytes follow", (unsigned long long)count,
		             (unsigned long long)(v->size - *off));
	uint64_t *hashes = NULL;
	uint32_t n = 0, cap = 0;
	uint8_t *scratch = NULL;
	size_t scratch_cap = 0;
	uint64_t max = v->limits ? v->limits->max_metadata : 256u << 20;
	uint64_t bad_tables = 0;
	char why[240], first_why[240] = "", bad_where[48] = "";
	rc = MS_OK;
	for (uint64_t i = 0; i < count && rc == MS_OK && m->rc == MS_OK; i++) {
		uint64_t len;
		rc = read_save_size(m, off, &len, &cut);
		if (rc != MS_OK) {
			rc = fatal(m, rc, NULL, "", "%s", ms_error_last());
			break;
		}
		char where[48];
		snprintf(where, sizeof where, "CTR table %llu", (unsigned long long)i);
		if (cut || len > v->size - *off) {
			rc = fatal(m, MS_EFORMAT, "cbm.part.truncated", where,
			           "the table (%llu bytes at %llu) runs past the end of the file (%llu bytes)",
			           cut ? 0ull : (unsigned long long)len, (unsigned long long)*off, (unsigned long long)v->size);
			break;
		}
		if (m->deep) {
			if (len > max || len > MSI_FB_MAX_BUFFER) {
				rc = fatal(m, MS_ELIMIT, "cbm.core.too_large", where,
				           "the CTR table (%llu bytes) is above the max_metadata limit (%llu bytes)",
				           (unsigned long long)len, (unsigned long long)max);
				break;
			}
			const uint8_t *mem = msi_source_memory(v->src);
			const uint8_t *p;
			if (mem) {
				p = mem + *off;
			} else {
				if (len > scratch_cap) {
					uint8_t *ns = msi_realloc(scratch, (size_t)len ? (size_t)len : 1);
					if (!ns) {
						rc = fatal(m, MS_ENOMEM, NULL, "", "out of memory");
						break;
					}
					scratch = ns;
					scratch_cap = (size_t)len;
				}
				rc = len <= CBM_WINDOW ? window_read(m, *off, scratch, (size_t)len)
				                       : msi_source_read(v->src, *off, scratch, (size_t)len);
				if (rc != MS_OK) {
					rc = fatal(m, rc, NULL, "", "%s", ms_error_last());
					break;
				}
				p = scratch;
			}
			if (!verify_ctr_table(m, p, len, &hashes, &n, &cap, why, sizeof why) && !bad_tables++) {
				snprintf(bad_where, sizeof bad_where, "CTR table %llu", (unsigned long long)i);
				memcpy(first_why, why, sizeof first_why);
			}
			if (m->progress && (rc = msi_progress_add(m->progress, len + 4)) != MS_OK) {
				rc = fatal(m, rc, NULL, "", "%s", ms_error_last());
				break;
			}
		}
		*off += len;
	}
	msi_free(scratch);
	if (bad_tables)
		cbm_add(m->sink, "cbm.ctr.invalid", bad_where, "%s%s", first_why,
		        bad_tables > 1 ? " (and more invalid tables follow)" : "");
	if (rc == MS_OK && m->rc == MS_OK && m->deep) {
		/* every CTR feature needs its table (invariant 12) */
		if (n)
			qsort(hashes, n, sizeof *hashes, cmp_u64);
		uint64_t missing = 0, first = 0;
		for (uint32_t i = 0; i < m->n_ctr_hashes; i++)
			if (!n || !bsearch(&m->ctr_hashes[i], hashes, n, sizeof *hashes, cmp_u64)) {
				if (!missing++)
					first = i;
			}
		if (missing) {
			char where[48];
			snprintf(where, sizeof where, "ModelTrees.CtrFeatures[%llu]", (unsigned long long)first);
			cbm_add(m->sink, "cbm.ctr.table_missing", where,
			        "%llu of %u CTR features have no value table in the CTR part (%llu tables)",
			        (unsigned long long)missing, m->n_ctr_hashes, (unsigned long long)count);
		}
	}
	msi_free(hashes);
	return m->rc != MS_OK ? m->rc : rc;
}

static int check_parts(cbm_model *m)
{
	uint64_t off = m->core_off + m->core_size;
	bool stopped = false;
	for (uint32_t i = 0; i < m->n_parts && !stopped; i++) {
		cbm_str id = m->parts[i];
		char where[48];
		snprintf(where, sizeof where, "ModelPartIds[%u]", i);
		if (str_is(id, "static_provider_v1")) {
			if (m->has_ctr_part) {
				cbm_add(m->sink, "cbm.part.unknown", where,
				        "a second static_provider_v1 part; the bytes from %llu on are not checked",
				        (unsigned long long)off);
				stopped = true;
				break;
			}
			m->has_ctr_part = true;
			int rc = check_ctr_part(m, &off);
			if (rc != MS_OK)
				return rc;
		} else if (opaque_part(id)) {
			cbm_add(m->sink, "cbm.part.opaque", where,
			        "model part '%.*s' (%llu bytes from offset %llu) is not checked", (int)MSI_MIN(id.len, 64u), id.p,
			        (unsigned long long)(m->v->size - off), (unsigned long long)off);
			stopped = true;
		} else {
			cbm_add(m->sink, "cbm.part.unknown", where,
			        "unknown model part '%.*s'; the bytes from %llu on are not checked", (int)MSI_MIN(id.len, 64u),
			        id.p, (unsigned long long)off);
			stopped = true;
		}
	}
	if (m->deep && m->n_ctr && !m->has_ctr_part)
		cbm_add(m->sink, "cbm.ctr.missing", "ModelPartIds",
		        "the model has %u CTR features but no CTR data part (trained with final CTR computation "
		        "skipped?): it cannot predict on categorical features",
		        m->n_ctr);
	if (!stopped && off < m->v->size)
		cbm_add(m->sink, "cbm.trailing_data", "offset", "%llu bytes follow the last model part, at offset %llu",
		        (unsigned long long)(m->v->size - off), (unsigned long long)off);
	return MS_OK;
}

/* ---- the whole pass --------------------------------------------------- */

static void model_init(cbm_model *m, const msi_view *v, cbm_sink *sink, bool deep, msi_progress *progress)
{
	memset(m, 0, sizeof *m);
	m->v = v;
	m->sink = sink;
	m->deep = deep;
	m->progress = progress;
}

static void model_free(cbm_model *m)
{
	msi_free(m->owned);
	msi_free(m->info);
	msi_free(m->parts);
	msi_free(m->ctr_hashes);
	msi_free(m->window);
}

static int model_load(cbm_model *m)
{
	int rc = load_core(m);
	if (rc != MS_OK)
		return rc;
	rc = walk_core(m);
	if (m->have_root && m->deep && m->rc == MS_OK) {
		if (!m->have_version)
			cbm_add(m->sink, "cbm.format_version", "TModelCore.FormatVersion", "FormatVersion is missing");
		else if (!str_is(m->version, format_version))
			cbm_add(m->sink, "cbm.format_version", "TModelCore.FormatVersion",
			        "FormatVersion is '%.*s', not '%s'", (int)MSI_MIN(m->version.len, 64u), m->version.p,
			        format_version);
	}
	if (rc != MS_OK)
		return rc;
	if (m->deep && (rc = check_info(m)) != MS_OK)
		return rc;
	rc = cbm_check_trees(&m->trees, m->sink, &m->stats);
	if (rc != MS_OK)
		return fatal(m, rc, NULL, "", "%s", ms_error_last());
	m->have_stats = true;
	return check_parts(m);
}

/* ---- facts ------------------------------------------------------------ */

static bool classification_loss(const char *loss, size_t n)
{
	static const char *const names[] = { "Logloss", "CrossEntropy", "MultiClass", "MultiClassOneVsAll" };
	for (size_t i = 0; i < MSI_ARRAY_LEN(names); i++)
		if (strlen(names[i]) == n && memcmp(names[i], loss, n) == 0)
			return true;
	return false;
}

#define CBM_MAX_LABELS 100000

static bool write_label_array(msi_json *j, const msi_jval *a)
{
	if (!a || a->kind != MSI_JARRAY || !a->count)
		return false;
	msi_jval_write(j, a);
	return true;
}

static bool write_count_labels(msi_json *j, double n)
{
	if (!(n >= 1 && n <= CBM_MAX_LABELS))
		return false;
	msi_json_array_begin(j);
	for (uint32_t i = 0; i < (uint32_t)n; i++)
		msi_json_uint(j, i);
	msi_json_array_end(j);
	return true;
}

/* Class labels in the order of FORMATS.md §1.4. */
static void write_class_names(cbm_model *m, msi_json *j, const msi_jval *params, const char *loss, size_t loss_len)
{
	const cbm_kv *kv = info_get(m, "class_params");
	if (!kv)
		kv = info_get(m, "multiclass_params");
	int rc;
	msi_jval *cp = kv ? parse_json(m, kv, &rc) : NULL;
	bool done = false;
	if (cp && cp->kind == MSI_JOBJECT) {
		const msi_jval *cnt = msi_jval_get(cp, "classes_count");
		done = write_label_array(j, msi_jval_get(cp, "class_names")) ||
		       (cnt && cnt->kind == MSI_JNUMBER && write_count_labels(j, cnt->number)) ||
		       write_label_array(j, msi_jval_get(cp, "class_to_label"));
	}
	msi_jval_free(cp);
	if (done)
		return;
	const msi_jval *dpo = params && params->kind == MSI_JOBJECT ? msi_jval_get(params, "data_processing_options") : NULL;
	if (dpo && dpo->kind == MSI_JOBJECT && write_label_array(j, msi_jval_get(dpo, "class_names")))
		return;
	if (loss && classification_loss(loss, loss_len) && m->have_trees && m->trees.dim >= 1 &&
	    write_count_labels(j, m->trees.dim == 1 ? 2 : m->trees.dim))
		return;
	msi_json_array_begin(j);
	msi_json_array_end(j);
}

/* X.Y.Z after `marker` in catboost_version_info. */
static bool version_after(cbm_str s, const char *marker, char out[32])
{
	const uint8_t *at = msi_find((const uint8_t *)s.p, s.len, marker, strlen(marker));
	if (!at)
		return false;
	size_t i = (size_t)(at - (const uint8_t *)s.p) + strlen(marker), n = 0;
	while (i < s.len && n < 31 && ((s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == '.'))
		out[n++] = s.p[i++];
	while (n && out[n - 1] == '.')
		n--;
	out[n] = 0;
	return n && out[0] >= '0' && out[0] <= '9' && memchr(out, '.', n);
}

static void write_info_string(msi_json *j, const cbm_kv *kv)
{
	if (kv)
		msi_json_stringn(j, kv->value.p, kv->value.len);
	else
		msi_json_null(j);
}

static void write_facts(cbm_model *m, msi_json *j)
{
	cbm_trees *t = &m->trees;
	bool trees = m->have_trees && m->have_stats;
	msi_json_key(j, "format_version");
	if (m->have_version)
		msi_json_stringn(j, m->version.p, m->version.len);
	else
		msi_json_null(j);
	msi_json_key(j, "core_size");
	if (m->have_header)
		msi_json_uint(j, m->core_size);
	else
		msi_json_null(j);
	msi_json_key(j, "num_trees");
	if (trees)
		msi_json_uint(j, t->sizes.count);
	else
		msi_json_null(j);
	msi_json_key(j, "symmetric");
	if (trees)
		msi_json_bool(j, m->stats.symmetric);
	else
		msi_json_null(j);
	msi_json_key(j, "tree_depth");
	if (trees && m->stats.depth_known) {
		msi_json_object_begin(j);
		msi_json_key(j, "min");
		msi_json_uint(j, m->stats.depth_min);
		msi_json_key(j, "max");
		msi_json_uint(j, m->stats.depth_max);
		msi_json_object_end(j);
	} else {
		msi_json_null(j);
	}
	static const char *const count_keys[] = { "float_features", "cat_features", "text_features",
		                                  "embedding_features", "one_hot_features", "ctr_features",
		                                  "estimated_features" };
	const uint32_t counts[] = { m->n_float, m->n_cat, m->n_text, m->n_emb, m->n_onehot, m->n_ctr, m->n_est };
	for (size_t i = 0; i < MSI_ARRAY_LEN(count_keys); i++) {
		msi_json_key(j, count_keys[i]);
		if (m->have_trees)
			msi_json_uint(j, counts[i]);
		else
			msi_json_null(j);
	}

	/* info map facts */
	int rc;
	const cbm_kv *pkv = m->have_info ? info_get(m, "params") : NULL;
	msi_jval *params = pkv ? parse_json(m, pkv, &rc) : NULL;
	const char *loss = NULL;
	size_t loss_len = 0;
	if (params && params->kind == MSI_JOBJECT) {
		const msi_jval *lf = msi_jval_get(params, "loss_function");
		if (lf && lf->kind == MSI_JOBJECT)
			lf = msi_jval_get(lf, "type");
		if (lf && lf->kind == MSI_JSTRING) {
			loss = lf->text;
			const char *colon = memchr(lf->text, ':', lf->text_len);
			loss_len = colon ? (size_t)(colon - lf->text) : lf->text_len;
		}
	}
	msi_json_key(j, "class_names");
	if (m->have_info)
		write_class_names(m, j, params, loss, loss_len);
	else
		msi_json_null(j);
	msi_json_key(j, "loss_function");
	if (loss)
		msi_json_stringn(j, loss, loss_len);
	else
		msi_json_null(j);
	msi_json_key(j, "catboost_version");
	const cbm_kv *vi = m->have_info ? info_get(m, "catboost_version_info") : NULL;
	char ver[32];
	if (vi && (version_after(vi->value, "Branch: tags/v", ver) || version_after(vi->value, "CatBoost release ", ver)))
		msi_json_string(j, ver);
	else
		msi_json_null(j);
	msi_json_key(j, "model_guid");
	write_info_string(j, m->have_info ? info_get(m, "model_guid") : NULL);
	msi_json_key(j, "train_finish_time");
	write_info_string(j, m->have_info ? info_get(m, "train_finish_time") : NULL);
	msi_json_key(j, "params");
	if (params)
		msi_jval_write(j, params);
	else if (pkv)
		msi_json_stringn(j, pkv->value.p, pkv->value.len);
	else
		msi_json_null(j);
	msi_jval_free(params);
	msi_json_key(j, "info");
	if (m->have_info) {
		msi_json_object_begin(j);
		for (uint32_t i = 0; i < m->n_info; i++) {
			const cbm_kv *kv = &m->info[i];
			if (str_is(kv->key, "params") || str_is(kv->key, "model_guid") || str_is(kv->key, "train_finish_time"))
				continue;
			msi_json_keyn(j, kv->key.p, kv->key.len);
			msi_jval *val = is_json_key(kv->key) ? parse_json(m, kv, &rc) : NULL;
			if (val)
				msi_jval_write(j, val);
			else
				msi_json_stringn(j, kv->value.p, kv->value.len);
			msi_jval_free(val);
		}
		msi_json_object_end(j);
	} else {
		msi_json_null(j);
	}

	/* parts */
	bool ctr_id = false;
	for (uint32_t i = 0; i < m->n_parts; i++)
		ctr_id |= str_is(m->parts[i], "static_provider_v1");
	msi_json_key(j, "has_ctr_data");
	if (m->have_parts)
		msi_json_bool(j, ctr_id);
	else
		msi_json_null(j);
	msi_json_key(j, "ctr_table_count");
	if (m->ctr_count_known)
		msi_json_uint(j, m->ctr_tables);
	else if (m->have_parts && !ctr_id)
		msi_json_uint(j, 0);
	else
		msi_json_null(j);
	msi_json_key(j, "model_parts");
	if (m->have_parts) {
		msi_json_array_begin(j);
		for (uint32_t i = 0; i < m->n_parts; i++)
			msi_json_stringn(j, m->parts[i].p, m->parts[i].len);
		msi_json_array_end(j);
	} else {
		msi_json_null(j);
	}

	/* leaves */
	msi_json_key(j, "leaf_value_count");
	if (m->have_trees)
		msi_json_uint(j, t->leaf_values.count);
	else
		msi_json_null(j);
	msi_json_key(j, "leaf_weight_count");
	if (m->have_trees)
		msi_json_uint(j, t->leaf_weights.count);
	else
		msi_json_null(j);
	msi_json_key(j, "dimension");
	if (m->have_trees)
		msi_json_int(j, t->dim);
	else
		msi_json_null(j);
	msi_json_key(j, "scale");
	if (m->have_trees)
		msi_json_double(j, t->scale);
	else
		msi_json_null(j);
	msi_json_key(j, "bias");
	if (m->have_trees && t->multi_bias.count) {
		msi_json_array_begin(j);
		for (uint32_t i = 0; i < t->multi_bias.count && i < 100000; i++)
			msi_json_double(j, msi_fb_vec_f64(&m->fb, &t->multi_bias, i));
		msi_json_array_end(j);
	} else if (m->have_trees) {
		msi_json_double(j, t->bias);
	} else {
		msi_json_null(j);
	}
}

/* ---- the table entry -------------------------------------------------- */

static int sniff(const msi_view *v)
{
	if (!v->src || v->container || !msi_has_prefix(v->head, v->head_len, "CBM1", 4))
		return 0;
	if (msi_find(v->head, v->head_len, format_version, sizeof format_version - 1))
		return 100;
	uint64_t size, start;
	if (core_size(v, &size, &start) && size > 0 && size <= v->size - start)
		return 90;
	return 60; /* the magic alone: a truncated or damaged model */
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	cbm_sink sink = { NULL, 0 };
	cbm_model m;
	model_init(&m, v, &sink, false, NULL);
	model_load(&m);
	write_facts(&m, out->model);
	int rc = m.rc;
	char error[sizeof m.error];
	memcpy(error, m.error, sizeof error);
	model_free(&m);
	if (rc != MS_OK)
		return msi_error(rc, "%s", error);
	return MS_OK;
}

static int validate(const msi_view *v, msi_validate_ctx *ctx)
{
	cbm_sink sink = { ctx->report, 0 };
	cbm_model m;
	model_init(&m, v, &sink, true, ctx->progress);
	model_load(&m);
	int rc = m.rc;
	char error[sizeof m.error];
	memcpy(error, m.error, sizeof error);
	model_free(&m);
	/* format and limit problems are findings already */
	if (rc == MS_OK || rc == MS_EFORMAT || rc == MS_ELIMIT)
		return MS_OK;
	return msi_error(rc, "%s", error);
}

const msi_format msi_format_cbm = {
	.name = "cbm",
	.description = "CatBoost binary model (CBM1, FlatBuffers)",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = validate,
};
