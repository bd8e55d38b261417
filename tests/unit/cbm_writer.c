/* The test writer for CatBoost models and quantized pools (cbm_writer.h). */
#include "cbm_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fprintf(stderr, "cbm_writer: out of memory\n");
		abort();
	}
	return q;
}

void cbw_put(cbw_buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (data)
		memcpy(b->p + b->len, data, n);
	else
		memset(b->p + b->len, 0, n);
	b->len += n;
}

void cbw_put_u32(cbw_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	cbw_put(b, x, 4);
}

void cbw_put_u64(cbw_buf *b, uint64_t v)
{
	cbw_put_u32(b, (uint32_t)v);
	cbw_put_u32(b, (uint32_t)(v >> 32));
}

static void put_u16(cbw_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	cbw_put(b, x, 2);
}

static void patch_u32(cbw_buf *b, size_t at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b->p[at + i] = (uint8_t)(v >> (8 * i));
}

void cbw_align(cbw_buf *b, size_t a)
{
	while (b->len % a)
		cbw_put(b, NULL, 1);
}

void cbw_free(cbw_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

void *cbw_alloc(cbw_arena *a, size_t size)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->items = xrealloc(a->items, a->cap * sizeof *a->items);
	}
	void *p = calloc(1, size ? size : 1);
	if (!p)
		abort();
	a->items[a->n++] = p;
	return p;
}

cbw_table *cbw_table_new(cbw_arena *a) { return cbw_alloc(a, sizeof(cbw_table)); }

void cbw_arena_free(cbw_arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->items[i]);
	free(a->items);
	memset(a, 0, sizeof *a);
}

static cbw_field *slot_of(cbw_table *t, int slot)
{
	if (slot + 1 > t->nf)
		t->nf = slot + 1;
	memset(&t->f[slot], 0, sizeof t->f[slot]);
	return &t->f[slot];
}

void cbw_set_u8(cbw_table *t, int slot, uint8_t v) { cbw_field *f = slot_of(t, slot); f->kind = CBW_U8; f->v.u8 = v; }
void cbw_set_i32(cbw_table *t, int slot, int32_t v) { cbw_field *f = slot_of(t, slot); f->kind = CBW_I32; f->v.i32 = v; }
void cbw_set_f32(cbw_table *t, int slot, float v) { cbw_field *f = slot_of(t, slot); f->kind = CBW_F32; f->v.f32 = v; }
void cbw_set_f64(cbw_table *t, int slot, double v) { cbw_field *f = slot_of(t, slot); f->kind = CBW_F64; f->v.f64 = v; }

void cbw_set_struct(cbw_table *t, int slot, const void *data, size_t len, uint32_t align)
{
	cbw_field *f = slot_of(t, slot);
	f->kind = CBW_STRUCT;
	f->data = data;
	f->len = len;
	f->elem = align;
}

void cbw_set_string(cbw_table *t, int slot, const char *s)
{
	cbw_field *f = slot_of(t, slot);
	f->kind = CBW_STRING;
	f->data = s;
	f->len = strlen(s);
}

void cbw_set_vector(cbw_table *t, int slot, const void *data, uint32_t count, uint32_t elem)
{
	cbw_field *f = slot_of(t, slot);
	f->kind = CBW_VECTOR;
	f->data = data;
	f->count = count;
	f->elem = elem;
}

void cbw_set_table(cbw_table *t, int slot, cbw_table *child)
{
	cbw_field *f = slot_of(t, slot);
	f->kind = CBW_TABLE;
	f->table = child;
}

void cbw_set_tables(cbw_table *t, int slot, cbw_table **tables, uint32_t n)
{
	cbw_field *f = slot_of(t, slot);
	f->kind = CBW_VEC_TABLES;
	f->tables = tables;
	f->n = n;
}

void cbw_set_strings(cbw_table *t, int slot, const char **strings, uint32_t n)
{
	cbw_field *f = slot_of(t, slot);
	f->kind = CBW_VEC_STRINGS;
	f->strings = strings;
	f->n = n;
}

/* ---- serialising ---- */

static void inline_size(const cbw_field *f, size_t *size, size_t *align)
{
	switch (f->kind) {
	case CBW_U8: *size = 1; *align = 1; break;
	case CBW_I32: case CBW_F32: *size = 4; *align = 4; break;
	case CBW_F64: *size = 8; *align = 8; break;
	case CBW_STRUCT: *size = f->len; *align = f->elem ? f->elem : 1; break;
	case CBW_ABSENT: *size = 0; *align = 1; break;
	default: *size = 4; *align = 4; break; /* an offset */
	}
}

static uint32_t write_table(cbw_buf *b, cbw_table *t, cbw_marks *mk);

static uint32_t write_string(cbw_buf *b, const char *s, size_t n)
{
	cbw_align(b, 4);
	uint32_t pos = (uint32_t)b->len;
	cbw_put_u32(b, (uint32_t)n);
	cbw_put(b, s, n);
	cbw_put(b, "", 1);
	return pos;
}

static uint32_t write_child(cbw_buf *b, const cbw_field *f, cbw_marks *mk)
{
	switch (f->kind) {
	case CBW_STRING: return write_string(b, f->data, f->len);
	case CBW_VECTOR: {
		size_t a = f->elem >= 8 ? 8 : 4;
		cbw_align(b, 4);
		while ((b->len + 4) % a)
			cbw_put(b, NULL, 4);
		uint32_t pos = (uint32_t)b->len;
		cbw_put_u32(b, f->count);
		cbw_put(b, f->data, (size_t)f->count * f->elem);
		return pos;
	}
	case CBW_TABLE: return write_table(b, f->table, mk);
	case CBW_VEC_TABLES:
	case CBW_VEC_STRINGS: {
		cbw_align(b, 4);
		uint32_t pos = (uint32_t)b->len;
		cbw_put_u32(b, f->n);
		size_t slots = b->len;
		cbw_put(b, NULL, (size_t)f->n * 4);
		for (uint32_t i = 0; i < f->n; i++) {
			uint32_t c = f->kind == CBW_VEC_TABLES ? write_table(b, f->tables[i], mk)
			                                       : write_string(b, f->strings[i], strlen(f->strings[i]));
			size_t at = slots + 4 * (size_t)i;
			patch_u32(b, at, c - (uint32_t)at);
		}
		return pos;
	}
	default: return 0;
	}
}

static uint32_t write_table(cbw_buf *b, cbw_table *t, cbw_marks *mk)
{
	size_t vt_size = 4 + 2 * (size_t)t->nf;
	cbw_align(b, 4);
	size_t vt = b->len;
	size_t pos = (vt + vt_size + 3) & ~(size_t)3;
	/* inline layout, aligned to absolute positions */
	size_t offs[CBW_MAX_FIELDS] = { 0 }, cur = 4;
	for (int i = 0; i < t->nf; i++) {
		size_t size, align;
		inline_size(&t->f[i], &size, &align);
		if (!size)
			continue;
		while ((pos + cur) % align)
			cur++;
		offs[i] = cur;
		cur += size;
	}
	size_t tsize = (cur + 3) & ~(size_t)3;
	put_u16(b, (uint16_t)vt_size);
	put_u16(b, (uint16_t)tsize);
	for (int i = 0; i < t->nf; i++)
		put_u16(b, (uint16_t)offs[i]);
	while (b->len < pos)
		cbw_put(b, NULL, 1);
	cbw_put_u32(b, (uint32_t)(pos - vt)); /* soffset: vtable = table - soffset */
	cbw_put(b, NULL, tsize - 4);
	for (int i = 0; i < t->nf; i++) {
		const cbw_field *f = &t->f[i];
		uint8_t *at = b->p + pos + offs[i];
		switch (f->kind) {
		case CBW_U8: at[0] = f->v.u8; break;
		case CBW_I32: memcpy(at, &f->v.i32, 4); break; /* little-endian hosts */
		case CBW_F32: memcpy(at, &f->v.f32, 4); break;
		case CBW_F64: memcpy(at, &f->v.f64, 8); break;
		case CBW_STRUCT: memcpy(at, f->data, f->len); break;
		default: break;
		}
	}
	if (mk && t->tag > 0 && t->tag < CBW_MAX_TAGS) {
		mk->table[t->tag] = (uint32_t)pos;
		mk->vtable[t->tag] = (uint32_t)vt;
		for (int i = 0; i < t->nf; i++)
			mk->slot[t->tag][i] = offs[i] ? (uint32_t)(pos + offs[i]) : 0;
	}
	for (int i = 0; i < t->nf; i++) {
		const cbw_field *f = &t->f[i];
		if (f->kind < CBW_STRING)
			continue;
		uint32_t c = write_child(b, f, mk);
		size_t at = pos + offs[i];
		patch_u32(b, at, c - (uint32_t)at);
	}
	return (uint32_t)pos;
}

void cbw_finish(cbw_buf *out, cbw_table *root, cbw_marks *marks)
{
	if (marks)
		memset(marks, 0, sizeof *marks);
	cbw_put_u32(out, 0);
	uint32_t r = write_table(out, root, marks);
	patch_u32(out, 0, r);
	cbw_align(out, 8);
}

/* ---- CatBoost models ---- */

void cbw_spec_default(cbw_spec *s)
{
	memset(s, 0, sizeof *s);
	s->dim = 1;
	s->n_float = 3;
	s->borders = 4;
	s->n_trees = 4;
	s->depth = 3;
}

static cbw_table *ctr_base(cbw_arena *a, uint32_t i, uint32_t n_cat)
{
	int32_t *cats = cbw_alloc(a, sizeof *cats);
	cats[0] = (int32_t)(n_cat ? i % n_cat : 0);
	cbw_table *comb = cbw_table_new(a);
	cbw_set_vector(comb, 0, cats, 1, 4);
	cbw_table *base = cbw_table_new(a);
	cbw_set_table(base, 0, comb);
	cbw_set_u8(base, 1, (uint8_t)(i % 3 + 1)); /* Buckets, BinarizedTargetMeanValue, FloatTargetMeanValue */
	cbw_set_i32(base, 2, 0);
	return base;
}

typedef struct kv {
	const char *k, *v;
} kv;

static int cmp_kv(const void *x, const void *y) { return strcmp(((const kv *)x)->k, ((const kv *)y)->k); }

void cbw_model(const cbw_spec *s, cbw_model_out *out)
{
	cbw_arena a = { 0 };
	memset(out, 0, sizeof *out);
	uint32_t dim = s->dim > 0 ? (uint32_t)s->dim : 1;
	uint64_t bins = (uint64_t)s->n_float * s->borders + s->n_ctr;

	/* trees */
	uint32_t nodes_per_tree = s->non_symmetric ? (2u << s->depth) - 1 : (uint32_t)s->depth;
	uint32_t leaves_per_tree = 1u << s->depth;
	uint32_t n_splits = s->n_trees * nodes_per_tree;
	int32_t *splits = cbw_alloc(&a, (size_t)n_splits * 4);
	int32_t *sizes = cbw_alloc(&a, (size_t)s->n_trees * 4);
	int32_t *starts = cbw_alloc(&a, (size_t)s->n_trees * 4);
	uint64_t n_leaves = (uint64_t)s->n_trees * leaves_per_tree;
	double *values = cbw_alloc(&a, (size_t)(n_leaves * dim) * 8);
	double *weights = cbw_alloc(&a, (size_t)n_leaves * 8);
	uint16_t *steps = s->non_symmetric ? cbw_alloc(&a, (size_t)n_splits * 4) : NULL;
	uint32_t *node_leaf = s->non_symmetric ? cbw_alloc(&a, (size_t)n_splits * 4) : NULL;
	for (uint64_t i = 0; i < n_leaves * dim; i++)
		values[i] = (double)(i % 97) / 100.0 - 0.3;
	for (uint64_t i = 0; i < n_leaves; i++)
		weights[i] = 1.0 + (double)(i % 5);
	uint32_t leaf = 0;
	for (uint32_t t = 0; t < s->n_trees; t++) {
		sizes[t] = (int32_t)nodes_per_tree;
		starts[t] = (int32_t)(t * nodes_per_tree);
		if (!s->non_symmetric) {
			for (int k = 0; k < s->depth; k++)
				splits[t * nodes_per_tree + k] = bins ? (int32_t)((t * 7u + (uint32_t)k) % bins) : 0;
			continue;
		}
		/* a complete tree in preorder: node at level l has a left child at +1
		 * and a right child after its left subtree (2^(depth-l) - 1 nodes) */
		uint32_t base = t * nodes_per_tree, i = 0;
		struct {
			int level;
		} stack[64];
		int sp = 0;
		stack[sp++].level = 0;
		while (sp) {
			int l = stack[--sp].level;
			uint32_t n = base + i++;
			if (l == s->depth) {
				steps[2 * n] = steps[2 * n + 1] = 0;
				splits[n] = 0;
				node_leaf[n] = leaf++ * dim;
				continue;
			}
			uint32_t left_size = (1u << (s->depth - l)) - 1;
			steps[2 * n] = 1;
			steps[2 * n + 1] = (uint16_t)(1 + left_size);
			splits[n] = bins ? (int32_t)((n * 5u) % bins) : 0;
			node_leaf[n] = 0xFFFFFFFFu;
			stack[sp++].level = l + 1; /* right, visited after the left */
			stack[sp++].level = l + 1;
		}
	}

	cbw_table *trees = cbw_table_new(&a);
	trees->tag = CBW_TAG_TREES;
	cbw_set_i32(trees, 0, s->dim);
	cbw_set_vector(trees, 1, splits, n_splits, 4);
	cbw_set_vector(trees, 2, sizes, s->n_trees, 4);
	cbw_set_vector(trees, 3, starts, s->n_trees, 4);

	cbw_table **cats = cbw_alloc(&a, (s->n_cat + 1) * sizeof *cats);
	for (uint32_t i = 0; i < s->n_cat; i++) {
		cbw_table *c = cats[i] = cbw_table_new(&a);
		char *id = cbw_alloc(&a, 16);
		snprintf(id, 16, "c%u", i);
		cbw_set_i32(c, 0, (int32_t)i);
		cbw_set_i32(c, 1, (int32_t)(s->n_float + i));
		cbw_set_string(c, 2, id);
	}
	if (s->n_cat)
		cbw_set_tables(trees, 4, cats, s->n_cat);

	cbw_table **floats = cbw_alloc(&a, (s->n_float + 1) * sizeof *floats);
	for (uint32_t i = 0; i < s->n_float; i++) {
		cbw_table *f = floats[i] = cbw_table_new(&a);
		if (i == 0)
			f->tag = CBW_TAG_FLOAT0;
		float *b = cbw_alloc(&a, (s->borders + 1) * sizeof *b);
		for (uint32_t k = 0; k < s->borders; k++)
			b[k] = (float)k * 0.5f + (float)i;
		char *id = cbw_alloc(&a, 16);
		snprintf(id, 16, "f%u", i);
		cbw_set_u8(f, 0, 0);
		cbw_set_i32(f, 1, (int32_t)i);
		cbw_set_i32(f, 2, (int32_t)i);
		cbw_set_vector(f, 3, b, s->borders, 4);
		cbw_set_string(f, 4, id);
		cbw_set_u8(f, 5, 0);
	}
	if (s->n_float)
		cbw_set_tables(trees, 5, floats, s->n_float);

	cbw_table **ctrs = cbw_alloc(&a, (s->n_ctr + 1) * sizeof *ctrs);
	static const float ctr_border = 0.5f;
	for (uint32_t i = 0; i < s->n_ctr; i++) {
		cbw_table *ctr = cbw_table_new(&a);
		cbw_set_table(ctr, 0, ctr_base(&a, i, s->n_cat));
		cbw_set_i32(ctr, 1, 0);
		cbw_set_f32(ctr, 2, 0.5f);
		cbw_table *f = ctrs[i] = cbw_table_new(&a);
		if (i == 0)
			f->tag = CBW_TAG_CTR0;
		cbw_set_table(f, 0, ctr);
		cbw_set_vector(f, 1, &ctr_border, 1, 4);
	}
	if (s->n_ctr)
		cbw_set_tables(trees, 7, ctrs, s->n_ctr);
	cbw_set_vector(trees, 8, values, (uint32_t)(n_leaves * dim), 8);
	if (s->leaf_weights)
		cbw_set_vector(trees, 9, weights, (uint32_t)n_leaves, 8);
	if (s->non_symmetric) {
		cbw_set_vector(trees, 10, steps, n_splits, 4);
		cbw_set_vector(trees, 11, node_leaf, n_splits, 4);
	}
	double *bias = cbw_alloc(&a, dim * sizeof *bias);
	cbw_set_vector(trees, 16, bias, dim, 8);

	/* info map */
	kv info[8];
	int ni = 0;
	info[ni++] = (kv){ "params", s->params ? s->params
	                                       : "{\"loss_function\":{\"type\":\"Logloss\",\"params\":{}},"
	                                         "\"data_processing_options\":{\"class_names\":[]}}" };
	info[ni++] = (kv){ "model_guid", "0a1b2c3d-4e5f6a7b-8c9d0e1f-2a3b4c5d" };
	info[ni++] = (kv){ "train_finish_time", "2024-01-02T03:04:05Z" };
	info[ni++] = (kv){ "catboost_version_info", "Git info:\n    Branch: tags/v1.2.7\n    Summary: CatBoost release 1.2.7.\n" };
	info[ni++] = (kv){ "user_key", "user value" };
	if (s->class_params)
		info[ni++] = (kv){ "class_params", s->class_params };
	qsort(info, (size_t)ni, sizeof *info, cmp_kv);
	if (s->unsorted_info) { /* reverse */
		for (int i = 0; i < ni / 2; i++) {
			kv x = info[i];
			info[i] = info[ni - 1 - i];
			info[ni - 1 - i] = x;
		}
	}
	cbw_table **kvs = cbw_alloc(&a, (size_t)ni * sizeof *kvs);
	for (int i = 0; i < ni; i++) {
		kvs[i] = cbw_table_new(&a);
		if (i == 0)
			kvs[i]->tag = CBW_TAG_INFO0;
		cbw_set_string(kvs[i], 0, info[i].k);
		cbw_set_string(kvs[i], 1, info[i].v);
	}

	const char *parts[2];
	uint32_t np = 0;
	if (s->ctr_part)
		parts[np++] = "static_provider_v1";
	if (s->extra_part)
		parts[np++] = s->extra_part;

	cbw_table *core = cbw_table_new(&a);
	core->tag = CBW_TAG_CORE;
	cbw_set_string(core, 0, "FlabuffersModel_v1");
	cbw_set_table(core, 1, trees);
	cbw_set_tables(core, 2, kvs, (uint32_t)ni);
	if (np)
		cbw_set_strings(core, 3, parts, np);

	cbw_buf corebuf = { 0 };
	cbw_finish(&corebuf, core, &out->marks);
	cbw_put(&out->file, "CBM1", 4);
	cbw_put_u32(&out->file, (uint32_t)corebuf.len);
	out->core_off = out->file.len;
	out->core_len = corebuf.len;
	cbw_put(&out->file, corebuf.p, corebuf.len);
	cbw_free(&corebuf);

	if (s->ctr_part) {
		uint32_t n = s->ctr_part_empty ? 0 : s->n_ctr;
		cbw_put_u32(&out->file, n);
		for (uint32_t i = 0; i < n; i++) {
			static const uint8_t hash_raw[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0 };
			static const uint8_t blob[8] = { 0 };
			cbw_table *t = cbw_table_new(&a);
			cbw_set_table(t, 0, ctr_base(&a, i, s->n_cat));
			cbw_set_vector(t, 1, hash_raw, 12, 1);
			cbw_set_vector(t, 2, blob, 8, 1);
			cbw_set_i32(t, 3, 1);
			cbw_set_i32(t, 4, 2);
			cbw_buf tb = { 0 };
			cbw_finish(&tb, t, NULL);
			cbw_put_u32(&out->file, (uint32_t)tb.len);
			cbw_put(&out->file, tb.p, tb.len);
			cbw_free(&tb);
		}
	}
	if (s->extra_part)
		cbw_put(&out->file, "opaque text processing bytes", 28);
	for (size_t i = 0; i < s->trailing; i++)
		cbw_put(&out->file, "\xAB", 1);
	cbw_arena_free(&a);
}

/* ---- quantized pools ---- */

static void put_varint(cbw_buf *b, uint64_t v)
{
	while (v >= 0x80) {
		uint8_t x = (uint8_t)(v | 0x80);
		cbw_put(b, &x, 1);
		v >>= 7;
	}
	uint8_t x = (uint8_t)v;
	cbw_put(b, &x, 1);
}

static void put_ld(cbw_buf *b, uint32_t field, const cbw_buf *msg)
{
	put_varint(b, (uint64_t)field << 3 | 2);
	put_varint(b, msg->len);
	cbw_put(b, msg->p, msg->len);
}

typedef struct chunk_rec {
	uint32_t size;
	uint64_t off;
	uint32_t doc_off, docs;
} chunk_rec;

void cbw_pool(const cbw_pool_spec *s, cbw_pool_out *out)
{
	memset(out, 0, sizeof *out);
	cbw_buf *b = &out->file;
	uint32_t ncols = 1 + s->n_numeric;
	uint32_t per = s->docs_per_chunk ? s->docs_per_chunk : s->docs;
	uint32_t nchunks = per ? (s->docs + per - 1) / per : 0;
	chunk_rec *recs = calloc((size_t)ncols * (nchunks + 1), sizeof *recs);
	cbw_put(b, "CatboostQuantizedPool", 22);
	cbw_put_u32(b, 1);
	cbw_put_u32(b, 0x62BAF5A0u);
	cbw_put_u32(b, 0);
	cbw_align(b, 16);
	out->chunks = b->len;
	uint8_t *quants = calloc(per + 1, 1);
	for (uint32_t c = 0; c < ncols; c++)
		for (uint32_t k = 0; k < nchunks; k++) {
			uint32_t doc_off = k * per, docs = s->docs - doc_off < per ? s->docs - doc_off : per;
			for (uint32_t i = 0; i < docs; i++)
				quants[i] = (uint8_t)((i + c) % 3);
			cbw_arena a = { 0 };
			cbw_table *t = cbw_table_new(&a);
			cbw_set_u8(t, 0, 8);
			cbw_set_vector(t, 1, quants, docs, 1);
			cbw_buf fb = { 0 };
			cbw_finish(&fb, t, NULL);
			cbw_arena_free(&a);
			cbw_align(b, 16);
			recs[c * nchunks + k] = (chunk_rec){ (uint32_t)fb.len, b->len, doc_off, docs };
			cbw_put(b, fb.p, fb.len);
			cbw_free(&fb);
		}
	free(quants);

	/* metainfo */
	cbw_buf meta = { 0 };
	for (uint32_t c = 0; c < ncols; c++) {
		cbw_buf e = { 0 };
		put_varint(&e, 1 << 3);
		put_varint(&e, c);
		put_varint(&e, 2 << 3);
		put_varint(&e, c == 0 ? 2 : 1); /* LABEL, NUMERIC */
		put_ld(&meta, 1, &e);
		cbw_free(&e);
	}
	put_varint(&meta, 2 << 3);
	put_varint(&meta, s->docs);
	out->p = b->len;
	cbw_put_u32(b, (uint32_t)meta.len);
	cbw_put(b, meta.p, meta.len);
	cbw_free(&meta);

	/* quantization schema: borders 0.5, 1.5 per numeric feature; class names */
	cbw_buf schema = { 0 };
	for (uint32_t c = 0; c < s->n_numeric; c++) {
		cbw_buf fs = { 0 }, e = { 0 };
		float borders[2] = { 0.5f, 1.5f };
		cbw_buf packed = { 0 };
		cbw_put(&packed, borders, 8);
		put_ld(&fs, 1, &packed);
		put_varint(&fs, 2 << 3);
		put_varint(&fs, 1);
		put_varint(&e, 1 << 3);
		put_varint(&e, c);
		put_ld(&e, 2, &fs);
		put_ld(&schema, 1, &e);
		cbw_free(&fs);
		cbw_free(&e);
		cbw_free(&packed);
	}
	cbw_buf name = { 0 };
	cbw_put(&name, "yes", 3);
	put_ld(&schema, 2, &name);
	cbw_free(&name);
	out->q = b->len;
	cbw_put_u32(b, (uint32_t)schema.len);
	cbw_put(b, schema.p, schema.len);
	cbw_free(&schema);

	/* chunk table */
	out->f = b->len;
	cbw_put_u32(b, ncols);
	for (uint32_t i = 0; i < ncols; i++) {
		uint32_t c = s->unsorted_columns ? ncols - 1 - i : i;
		cbw_put_u32(b, c);
		cbw_put_u32(b, nchunks);
		if (c == 1)
			out->first_chunk_entry = b->len;
		for (uint32_t k = 0; k < nchunks; k++) {
			const chunk_rec *r = &recs[c * nchunks + k];
			cbw_put_u32(b, r->size);
			cbw_put_u64(b, r->off);
			cbw_put_u32(b, r->doc_off);
			cbw_put_u32(b, r->docs);
		}
	}
	free(recs);
	cbw_put_u64(b, out->chunks);
	cbw_put_u64(b, out->p);
	cbw_put_u64(b, out->q);
	cbw_put_u64(b, out->f);
	cbw_put(b, "CatboostQuantizedPoolEnd", 25);
}
