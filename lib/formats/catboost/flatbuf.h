/*
 * A small FlatBuffers verifier and reader over one bounded buffer in memory
 * (FORMATS.md §0.4). Nothing here knows a schema: the caller walks its
 * schema through these accessors and every access verifies what it touches
 * before anything is read, as flatbuffers::Verifier does:
 *
 *   tables   4-aligned, inside the buffer; the vtable (at table - soffset)
 *            2-aligned, even-sized, at least 4 bytes, inside the buffer; the
 *            table's inline size at least 4 and inside the buffer; a field
 *            lies inside the table's inline size and is aligned to its size.
 *   offsets  u32 relative offsets are non-zero, below 2^31 and land inside
 *            the buffer (they only point forward, so a chain of tables cannot
 *            loop; the depth cap still bounds recursion).
 *   vectors  4-aligned u32 count; count * element size inside the buffer,
 *            without overflow.
 *   strings  as vectors of bytes, plus the terminating NUL inside the buffer.
 *
 * Caps: nesting depth, number of tables verified, and a work budget (bytes
 * of tables, vectors and strings verified) that stops a DAG of shared
 * sub-objects from making verification quadratic.
 *
 * Accessors return 1 (present, *out filled), 0 (absent: the caller uses the
 * schema default) or -1 (invalid or over a cap; fb->error says which and
 * why, and every later call returns -1). Nothing is copied or allocated.
 */
#ifndef MSI_FORMATS_CATBOOST_FLATBUF_H
#define MSI_FORMATS_CATBOOST_FLATBUF_H

#include "../../core/internal.h"
#include "../../io/source.h"

/* FlatBuffers' own limit: buffers must be smaller than 2 GiB. */
#define MSI_FB_MAX_BUFFER 0x7FFFFFFFu
#define MSI_FB_DEFAULT_DEPTH 64u
#define MSI_FB_DEFAULT_TABLES 256000000u /* CatBoost's verifier cap */

typedef enum msi_fb_error {
	MSI_FB_OK = 0,
	MSI_FB_INVALID, /* the bytes break a FlatBuffers rule */
	MSI_FB_LIMIT    /* depth, table count or work budget exceeded */
} msi_fb_error;

typedef struct msi_fb {
	const uint8_t *buf;
	uint32_t len;
	uint32_t max_depth;
	uint64_t max_tables;
	uint64_t tables;      /* tables verified so far */
	uint64_t budget;      /* bytes that may still be verified */
	msi_fb_error error;
	uint32_t error_at;    /* buffer offset of the fault */
	char message[160];    /* why, e.g. "vector of 9 x 8 bytes at 100 runs past the end (120 bytes)" */
} msi_fb;

typedef struct msi_fb_table {
	uint32_t pos;    /* of the table (its soffset) */
	uint32_t vt;     /* of its vtable */
	uint16_t vt_len; /* vtable size in bytes */
	uint16_t size;   /* inline table size in bytes */
	uint32_t depth;  /* 1 for the root */
} msi_fb_table;

typedef struct msi_fb_vec {
	uint32_t pos;    /* of the first element */
	uint32_t count;
	uint32_t elem;   /* element size in bytes */
	uint32_t depth;  /* depth of the table that holds the vector */
} msi_fb_vec;

/* `len` must be <= MSI_FB_MAX_BUFFER. `budget` 0 means 16 x len + 1 MiB. */
void msi_fb_init(msi_fb *fb, const uint8_t *buf, size_t len, uint32_t max_depth, uint64_t max_tables,
                 uint64_t budget);

/* The root table (u32 offset at byte 0). */
int msi_fb_root(msi_fb *fb, msi_fb_table *out);

/* Offset of field `slot` inside the table, 0 when absent. No verification:
 * use the typed accessors below. */
static inline uint16_t msi_fb_field_offset(const msi_fb *fb, const msi_fb_table *t, unsigned slot)
{
	uint32_t at = 4u + 2u * slot;
	if (at + 2u > t->vt_len)
		return 0;
	return msi_le16(fb->buf + t->vt + at);
}

/* Inline scalars (size 1, 2, 4 or 8) and structs (size, alignment): *p
 * points at the verified bytes. */
int msi_fb_inline(msi_fb *fb, const msi_fb_table *t, unsigned slot, uint32_t size, uint32_t align,
                  const uint8_t **p);
int msi_fb_u8(msi_fb *fb, const msi_fb_table *t, unsigned slot, uint8_t dflt, uint8_t *out);
int msi_fb_i32(msi_fb *fb, const msi_fb_table *t, unsigned slot, int32_t dflt, int32_t *out);
int msi_fb_f32(msi_fb *fb, const msi_fb_table *t, unsigned slot, float dflt, float *out);
int msi_fb_f64(msi_fb *fb, const msi_fb_table *t, unsigned slot, double dflt, double *out);

/* Reference fields. */
int msi_fb_table_field(msi_fb *fb, const msi_fb_table *t, unsigned slot, msi_fb_table *out);
int msi_fb_vector(msi_fb *fb, const msi_fb_table *t, unsigned slot, uint32_t elem_size, msi_fb_vec *out);
int msi_fb_string(msi_fb *fb, const msi_fb_table *t, unsigned slot, const char **s, uint32_t *len);

/* Elements of a vector of offsets (elem_size 4). */
int msi_fb_vec_table(msi_fb *fb, const msi_fb_vec *v, uint32_t i, msi_fb_table *out);
int msi_fb_vec_string(msi_fb *fb, const msi_fb_vec *v, uint32_t i, const char **s, uint32_t *len);

/* Element i of a verified vector (i < v->count). */
static inline const uint8_t *msi_fb_vec_at(const msi_fb *fb, const msi_fb_vec *v, uint32_t i)
{
	return fb->buf + v->pos + (size_t)i * v->elem;
}
static inline int32_t msi_fb_vec_i32(const msi_fb *fb, const msi_fb_vec *v, uint32_t i)
{
	return (int32_t)msi_le32(msi_fb_vec_at(fb, v, i));
}
static inline uint32_t msi_fb_vec_u32(const msi_fb *fb, const msi_fb_vec *v, uint32_t i)
{
	return msi_le32(msi_fb_vec_at(fb, v, i));
}
float msi_fb_vec_f32(const msi_fb *fb, const msi_fb_vec *v, uint32_t i);
double msi_fb_vec_f64(const msi_fb *fb, const msi_fb_vec *v, uint32_t i);

/* A float/double from little-endian bytes. */
float msi_fb_load_f32(const uint8_t *p);
double msi_fb_load_f64(const uint8_t *p);

#endif
