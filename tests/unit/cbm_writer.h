/*
 * A FlatBuffers writer by hand, for tests: CatBoost models (CBM1 + the
 * TModelCore FlatBuffer + CTR part) and quantized pools, valid ones and,
 * through the recorded positions, hostile ones.
 *
 * The builder writes front to back: a table's vtable just before it, then
 * the table with its inline fields, then the objects it references (so
 * every u32 offset points forward, as FlatBuffers requires).
 */
#ifndef CBM_WRITER_H
#define CBM_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cbw_buf {
	uint8_t *p;
	size_t len, cap;
} cbw_buf;

void cbw_put(cbw_buf *b, const void *data, size_t n);
void cbw_put_u32(cbw_buf *b, uint32_t v);
void cbw_put_u64(cbw_buf *b, uint64_t v);
void cbw_align(cbw_buf *b, size_t a);
void cbw_free(cbw_buf *b);

/* ---- generic tables ---- */
typedef enum cbw_kind {
	CBW_ABSENT = 0,
	CBW_U8,
	CBW_I32,
	CBW_F32,
	CBW_F64,
	CBW_STRUCT,      /* data/len inline, aligned to `elem` */
	CBW_STRING,      /* data/len */
	CBW_VECTOR,      /* count elements of elem bytes at data */
	CBW_TABLE,       /* table */
	CBW_VEC_TABLES,  /* tables[n] */
	CBW_VEC_STRINGS, /* strings[n] (NUL-terminated) */
} cbw_kind;

typedef struct cbw_table cbw_table;
typedef struct cbw_field {
	cbw_kind kind;
	union {
		uint8_t u8;
		int32_t i32;
		float f32;
		double f64;
	} v;
	const void *data;
	size_t len;
	uint32_t elem, count;
	cbw_table *table;
	cbw_table **tables;
	const char **strings;
	uint32_t n;
} cbw_field;

#define CBW_MAX_FIELDS 24
struct cbw_table {
	cbw_field f[CBW_MAX_FIELDS];
	int nf; /* vtable slots written (highest slot + 1) */
	int tag; /* >0: the builder records where the table was written */
};

/* Tables come from an arena freed at once. */
typedef struct cbw_arena {
	void **items;
	size_t n, cap;
} cbw_arena;
void *cbw_alloc(cbw_arena *a, size_t size);
cbw_table *cbw_table_new(cbw_arena *a);
void cbw_arena_free(cbw_arena *a);

void cbw_set_u8(cbw_table *t, int slot, uint8_t v);
void cbw_set_i32(cbw_table *t, int slot, int32_t v);
void cbw_set_f32(cbw_table *t, int slot, float v);
void cbw_set_f64(cbw_table *t, int slot, double v);
void cbw_set_struct(cbw_table *t, int slot, const void *data, size_t len, uint32_t align);
void cbw_set_string(cbw_table *t, int slot, const char *s);
void cbw_set_vector(cbw_table *t, int slot, const void *data, uint32_t count, uint32_t elem);
void cbw_set_table(cbw_table *t, int slot, cbw_table *child);
void cbw_set_tables(cbw_table *t, int slot, cbw_table **tables, uint32_t n);
void cbw_set_strings(cbw_table *t, int slot, const char **strings, uint32_t n);

/* Positions recorded while writing, by table tag. */
#define CBW_MAX_TAGS 32
typedef struct cbw_marks {
	uint32_t table[CBW_MAX_TAGS];  /* table position */
	uint32_t vtable[CBW_MAX_TAGS]; /* its vtable */
	uint32_t slot[CBW_MAX_TAGS][CBW_MAX_FIELDS]; /* position of each field's inline bytes */
} cbw_marks;

/* A whole FlatBuffer with `root` as root table, appended to `out` starting
 * at a fresh buffer (positions relative to the FlatBuffer start). */
void cbw_finish(cbw_buf *out, cbw_table *root, cbw_marks *marks);

/* ---- CatBoost models ---- */
typedef struct cbw_spec {
	int dim;                 /* ApproxDimension */
	uint32_t n_float;        /* float features */
	uint32_t borders;        /* borders per float feature */
	uint32_t n_cat;          /* categorical features */
	uint32_t n_ctr;          /* CTR features (one border each) */
	bool ctr_part;           /* write the static_provider_v1 part */
	bool ctr_part_empty;     /* ... with no tables */
	uint32_t n_trees;
	int depth;               /* symmetric depth, or complete non-symmetric depth */
	bool non_symmetric;
	bool leaf_weights;
	bool unsorted_info;      /* InfoMap keys in non-sorted order (old models) */
	const char *class_params; /* JSON, or NULL */
	const char *params;      /* JSON, or NULL for a default */
	const char *extra_part;  /* another ModelPartIds entry (e.g. "text_process_v2"), or NULL */
	size_t trailing;         /* garbage bytes after the last part */
} cbw_spec;

/* Table tags used by cbw_model. */
enum { CBW_TAG_CORE = 1, CBW_TAG_TREES = 2, CBW_TAG_FLOAT0 = 3, CBW_TAG_INFO0 = 4, CBW_TAG_CTR0 = 5 };

typedef struct cbw_model_out {
	cbw_buf file;      /* the whole .cbm */
	size_t core_off;   /* 8 */
	size_t core_len;
	cbw_marks marks;   /* positions inside the core */
} cbw_model_out;

void cbw_spec_default(cbw_spec *s);
void cbw_model(const cbw_spec *s, cbw_model_out *out);

/* ---- quantized pools ---- */
typedef struct cbw_pool_spec {
	uint32_t docs;
	uint32_t n_numeric;
	uint32_t docs_per_chunk;
	bool unsorted_columns;
} cbw_pool_spec;

typedef struct cbw_pool_out {
	cbw_buf file;
	uint64_t chunks, p, q, f;  /* section offsets */
	uint64_t first_chunk_entry; /* file offset of column 1's first 20-byte chunk record */
} cbw_pool_out;

void cbw_pool(const cbw_pool_spec *s, cbw_pool_out *out);

#endif
