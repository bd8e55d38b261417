/*
 * CatBoost quantized pool (FORMATS.md §2).
 *
 *   "CatboostQuantizedPool\0" (22 bytes, NUL included, so that the older
 *   per-part "CatboostQuantizedPoolPart" files do not match), Version,
 *   VersionHash, MetaInfoSize; 16-aligned FlatBuffers chunks from CHUNKS;
 *   at P the TPoolMetainfo protobuf, at Q the TPoolQuantizationSchema
 *   protobuf, at F the per-column chunk table; then the four section
 *   offsets (u64 each) and "CatboostQuantizedPoolEnd\0".
 *
 * The two protobufs and the chunk table are read whole (each checked
 * against max_metadata first; memory-backed sources are used in place).
 * validate also verifies every chunk, one at a time in one reused buffer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../format.h"
#include "cbm.h"

static const char head_magic[] = "CatboostQuantizedPool";    /* + its NUL: 22 bytes */
static const char tail_magic[] = "CatboostQuantizedPoolEnd"; /* + its NUL: 25 bytes */
#define VERSION_HASH 0x62BAF5A0u                            /* IntHash<u32>(1) */
#define HEADER_END 34u                                      /* magic, version, hash, metainfo size */
#define TRAILER (32u + sizeof tail_magic)                   /* 4 offsets + tail magic = 57 */
#define POOL_WINDOW (64u * 1024u)

static const char *const column_type_names[] = {
	"UNKNOWN", "NUMERIC", "LABEL", "WEIGHT", "GROUP_WEIGHT", "BASELINE", "SUBGROUP_ID",
	"DOCUMENT_ID", "GROUP_ID", "CATEGORICAL", "SPARSE", "TIMESTAMP", "PREDICTION", "AUXILIARY",
};
enum { COL_NUMERIC = 1, COL_CATEGORICAL = 9 };

typedef struct region {
	const uint8_t *p;
	uint64_t len;
	uint8_t *owned;
} region;

typedef struct pool_model {
	const msi_view *v;
	cbm_sink *sink;
	bool deep;
	msi_progress *progress;

	bool have_header;
	uint32_t version, hash, metainfo_size;
	bool tail_ok;
	bool have_offsets;
	uint64_t chunks, p, q, f;

	bool have_meta;
	uint64_t doc_count, max_docs_in_chunk;
	bool has_doc_count;
	uint64_t *types; /* column index << 32 | type, sorted by index */
	uint32_t n_types, cap_types;
	uint32_t n_ignored;
	uint32_t fake[3];
	bool has_fake[3];

	bool have_schema;
	uint32_t n_float_schemas, n_cat_schemas;
	region schema;    /* kept for the class names */

	bool have_table;
	uint32_t table_columns;
	uint64_t chunk_count;

	int rc;
	char error[320];
} pool_model;

MSI_PRINTF(5, 6)
static int fatal(pool_model *m, int rc, const char *code, const char *where, const char *fmt, ...)
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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
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

/* Reads [off, off+len) whole (in place for memory sources). */
static int read_region(pool_model *m, uint64_t off, uint64_t len, const char *what, region *out)
{
	memset(out, 0, sizeof *out);
	uint64_t cap = m->v->limits ? m->v->limits->max_metadata : 256u << 20;
	if (len > cap || len > SIZE_MAX / 2)
		return fatal(m, MS_ELIMIT, "pool.limit", what, "%llu bytes, above the max_metadata limit (%llu bytes)",
		             (unsigned long long)len, (unsigned long long)cap);
	const uint8_t *mem = msi_source_memory(m->v->src);
	if (mem) {
		out->p = mem + off;
		out->len = len;
		return MS_OK;
	}
	out->owned = msi_malloc(len ? (size_t)len : 1);
	if (!out->owned)
		return fatal(m, MS_ENOMEM, NULL, "", "out of memory");
	int rc = msi_source_read(m->v->src, off, out->owned, (size_t)len);
	if (rc != MS_OK)
		return fatal(m, rc, NULL, "", "%s", ms_error_last());
	out->p = out->owned;
	out->len = len;
	return MS_OK;
}

static void region_free(region *r)
{
	msi_free(r->owned);
	memset(r, 0, sizeof *r);
}

/* ---- protobuf wire walking (FORMATS.md §0.2) --------------------------- */

typedef struct pb_field {
	uint32_t num;
	uint8_t wt;
	uint64_t value;      /* varint, fixed32, fixed64 */
	const uint8_t *data; /* length-delimited */
	size_t len;
} pb_field;

/* 1: a field, 0: end of message, -1: malformed. */
static int pb_next(msi_cursor *c, pb_field *f)
{
	if (msi_cursor_left(c) == 0)
		return c->failed ? -1 : 0;
	uint64_t tag = msi_cursor_varint(c);
	if (c->failed || (tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF)
		return -1;
	f->num = (uint32_t)(tag >> 3);
	f->wt = tag & 7;
	switch (f->wt) {
	case 0: f->value = msi_cursor_varint(c); break;
	case 1: f->value = msi_cursor_le64(c); break;
	case 5: f->value = msi_cursor_le32(c); break;
	case 2: {
		uint64_t n = msi_cursor_varint(c);
		if (c->failed || n > msi_cursor_left(c))
			return -1;
		f->len = (size_t)n;
		f->data = msi_cursor_bytes(c, f->len);
		break;
	}
	default: return -1; /* groups (3, 4) are obsolete; 6, 7 do not exist */
	}
	return c->failed ? -1 : 1;
}

/* A map entry {1: varint key, 2: value}: key and the value field. */
static bool pb_map_entry(const pb_field *e, uint64_t *key, pb_field *value, bool *has_value)
{
	if (e->wt != 2)
		return false;
	msi_cursor c = msi_cursor_make(e->data, e->len);
	pb_field f;
	int r;
	*key = 0;
	*has_value = false;
	while ((r = pb_next(&c, &f)) == 1) {
		if (f.num == 1 && f.wt == 0)
			*key = f.value;
		else if (f.num == 2) {
			*value = f;
			*has_value = true;
		}
	}
	return r == 0;
}

/* ---- header, trailer, sections --------------------------------------- */

static int read_header(pool_model *m)
{
	const msi_view *v = m->v;
	if (!v->src)
		return fatal(m, MS_EFORMAT, "pool.header.truncated", "", "no bytes to read");
	if (!msi_has_prefix(v->head, v->head_len, head_magic, sizeof head_magic))
		return fatal(m, MS_EFORMAT, v->head_len < sizeof head_magic ? "pool.header.truncated" : "pool.magic",
		             "offset 0", "the file does not start with \"CatboostQuantizedPool\\0\"");
	msi_cursor c = msi_cursor_make(v->head, v->head_len);
	msi_cursor_skip(&c, sizeof head_magic);
	m->version = msi_cursor_le32(&c);
	m->hash = msi_cursor_le32(&c);
	m->metainfo_size = msi_cursor_le32(&c);
	if (c.failed)
		return fatal(m, MS_EFORMAT, "pool.header.truncated", "offset 22", "the file (%llu bytes) ends inside the header",
		             (unsigned long long)v->size);
	m->have_header = true;
	if (m->version != 1 || m->hash != VERSION_HASH)
		cbm_add(m->sink, "pool.version", "offset 22", "Version %u, VersionHash 0x%08X: expected 1 and 0x%08X",
		        m->version, m->hash, VERSION_HASH);
	uint8_t tail[TRAILER];
	if (v->size < 48 + TRAILER || msi_view_read(v, v->size - TRAILER, tail, TRAILER) != TRAILER)
		return fatal(m, MS_EFORMAT, "pool.header.truncated", "end of file",
		             "the file (%llu bytes) is too short for the section offsets and the trailing magic",
		             (unsigned long long)v->size);
	m->tail_ok = memcmp(tail + 32, tail_magic, sizeof tail_magic) == 0;
	if (!m->tail_ok)
		return fatal(m, MS_EFORMAT, "pool.tail_magic", "end of file",
		             "the file does not end with \"CatboostQuantizedPoolEnd\\0\" (truncated or not a pool)");
	m->chunks = msi_le64(tail);
	m->p = msi_le64(tail + 8);
	m->q = msi_le64(tail + 16);
	m->f = msi_le64(tail + 24);
	uint64_t end = v->size - TRAILER;
	uint64_t want = 48 + (uint64_t)m->metainfo_size;
	if (m->chunks != want)
		return fatal(m, MS_EFORMAT, "pool.offsets", "end of file",
		             "the chunks start at %llu, not at 48 + MetaInfoSize (%llu)", (unsigned long long)m->chunks,
		             (unsigned long long)want);
	if (!(m->chunks <= m->p && m->p < m->q && m->q < m->f && m->f < end))
		return fatal(m, MS_EFORMAT, "pool.offsets", "end of file",
		             "section offsets chunks %llu, metainfo %llu, schema %llu, table %llu are not increasing inside "
		             "the %llu bytes before the trailer",
		             (unsigned long long)m->chunks, (unsigned long long)m->p, (unsigned long long)m->q,
		             (unsigned long long)m->f, (unsigned long long)end);
	m->have_offsets = true;
	return MS_OK;
}

/* The u32-size-prefixed section at `off` that must end by `limit`. */
static int read_section(pool_model *m, uint64_t off, uint64_t limit, const char *what, region *out)
{
	uint8_t b[4];
	if (limit - off < 4 || msi_view_read(m->v, off, b, 4) != 4)
		return fatal(m, MS_EFORMAT, "pool.section.size", what, "no room for the size field at %llu",
		             (unsigned long long)off);
	uint32_t n = msi_le32(b);
	if ((uint64_t)n > limit - off - 4)
		return fatal(m, MS_EFORMAT, "pool.section.size", what,
		             "the section declares %u bytes at %llu but the next section starts at %llu", n,
		             (unsigned long long)off, (unsigned long long)limit);
	return read_region(m, off + 4, n, what, out);
}

static int parse_metainfo(pool_model *m, const region *r)
{
	msi_cursor c = msi_cursor_make(r->p, (size_t)r->len);
	pb_field f;
	int rc;
	while ((rc = pb_next(&c, &f)) == 1) {
		switch (f.num) {
		case 1: {
			uint64_t key;
			pb_field val;
			bool has;
			if (!pb_map_entry(&f, &key, &val, &has) || (has && val.wt != 0) || key > UINT32_MAX)
				return fatal(m, MS_EFORMAT, "pool.metainfo.invalid", "metainfo",
				             "a ColumnIndexToType entry is malformed");
			uint64_t type = has ? val.value : 0;
			if (!push_u64(&m->types, &m->n_types, &m->cap_types, key << 32 | (type > 0xFFFFFFFFu ? 0xFFFFFFFFu : type)))
				return fatal(m, MS_ENOMEM, NULL, "", "out of memory");
			break;
		}
		case 2:
			if (f.wt != 0)
				return fatal(m, MS_EFORMAT, "pool.metainfo.invalid", "metainfo", "DocumentCount is not a varint");
			m->doc_count = f.value;
			m->has_doc_count = true;
			break;
		case 3:
			if (f.wt == 0) {
				m->n_ignored++;
			} else if (f.wt == 2) { /* packed */
				msi_cursor pc = msi_cursor_make(f.data, f.len);
				while (msi_cursor_left(&pc)) {
					msi_cursor_varint(&pc);
					m->n_ignored++;
				}
				if (pc.failed)
					return fatal(m, MS_EFORMAT, "pool.metainfo.invalid", "metainfo",
					             "IgnoredColumnIndices is malformed");
			}
			break;
		case 4:
		case 5:
		case 6:
			if (f.wt == 0 && f.value <= UINT32_MAX) {
				m->fake[f.num - 4] = (uint32_t)f.value;
				m->has_fake[f.num - 4] = true;
			}
			break;
		case 7: {
			uint64_t key;
			pb_field val;
			bool has;
			if (!pb_map_entry(&f, &key, &val, &has) || (has && val.wt != 2))
				return fatal(m, MS_EFORMAT, "pool.metainfo.invalid", "metainfo",
				             "a ColumnIndexToName entry is malformed");
			break;
		}
		case 8:
			if (f.wt == 0)
				m->max_docs_in_chunk = f.value;
			break;
		default: break;
		}
	}
	if (rc < 0)
		return fatal(m, MS_EFORMAT, "pool.metainfo.invalid", "metainfo",
		             "the TPoolMetainfo protobuf is malformed (a tag, varint or length runs past its %llu bytes)",
		             (unsigned long long)r->len);
	if (m->n_types)
		qsort(m->types, m->n_types, sizeof *m->types, cmp_u64);
	m->have_meta = true;
	return MS_OK;
}

/* Borders of one TFeatureQuantizationSchema (deep): finite, strictly
 * ascending. false when the message is malformed. */
static bool check_borders(pool_model *m, uint64_t feature, const uint8_t *p, size_t n)
{
	msi_cursor c = msi_cursor_make(p, n);
	pb_field f;
	int rc;
	float prev = 0;
	uint64_t k = 0;
	while ((rc = pb_next(&c, &f)) == 1) {
		if (f.num != 1)
			continue;
		uint8_t one[4];
		const uint8_t *data;
		size_t len;
		if (f.wt == 2 && f.len % 4 == 0) { /* packed */
			data = f.data;
			len = f.len;
		} else if (f.wt == 5) {
			for (int i = 0; i < 4; i++)
				one[i] = (uint8_t)(f.value >> (8 * i));
			data = one;
			len = 4;
		} else {
			return false;
		}
		for (size_t i = 0; i < len; i += 4, k++) {
			float x = msi_fb_load_f32(data + i);
			if (!isfinite(x) || (k && !(x > prev))) {
				char where[48];
				snprintf(where, sizeof where, "schema feature %llu", (unsigned long long)feature);
				cbm_add(m->sink, "pool.schema.invalid", where, "border %llu (%g) is %s", (unsigned long long)k,
				        (double)x, isfinite(x) ? "not above the previous one" : "not finite");
				return true;
			}
			prev = x;
		}
	}
	return rc == 0;
}

static int parse_schema(pool_model *m, const region *r)
{
	msi_cursor c = msi_cursor_make(r->p, (size_t)r->len);
	pb_field f;
	int rc;
	while ((rc = pb_next(&c, &f)) == 1) {
		uint64_t key;
		pb_field val;
		bool has;
		if (f.num == 1 || f.num == 3) {
			if (!pb_map_entry(&f, &key, &val, &has) || (has && val.wt != 2))
				return fatal(m, MS_EFORMAT, "pool.schema.invalid", "schema", "a %s entry is malformed",
				             f.num == 1 ? "FeatureIndexToSchema" : "CatFeatureIndexToSchema");
			if (f.num == 1) {
				m->n_float_schemas++;
				if (m->deep && has && !check_borders(m, key, val.data, val.len))
					return fatal(m, MS_EFORMAT, "pool.schema.invalid", "schema",
					             "the quantization schema of feature %llu is malformed", (unsigned long long)key);
			} else {
				m->n_cat_schemas++;
			}
		} else if (f.num == 2 && f.wt != 2) {
			return fatal(m, MS_EFORMAT, "pool.schema.invalid", "schema", "a ClassNames entry is not a string");
		}
	}
	if (rc < 0)
		return fatal(m, MS_EFORMAT, "pool.schema.invalid", "schema",
		             "the TPoolQuantizationSchema protobuf is malformed (a tag, varint or length runs past its %llu "
		             "bytes)",
		             (unsigned long long)r->len);
	m->have_schema = true;
	return MS_OK;
}

static bool known_column(const pool_model *m, uint32_t col)
{
	uint32_t lo = 0, hi = m->n_types;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t k = (uint32_t)(m->types[mid] >> 32);
		if (k == col)
			return true;
		if (k < col)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool fake_column(const pool_model *m, uint32_t col)
{
	for (int i = 0; i < 3; i++)
		if (m->has_fake[i] && m->fake[i] == col)
			return true;
	return false;
}

/* ---- chunks (deep) ---------------------------------------------------- */

typedef struct chunk_ref {
	uint64_t off, size;
} chunk_ref;

static int cmp_chunk(const void *a, const void *b)
{
	const chunk_ref *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

typedef struct chunk_ctx {
	uint8_t *scratch;
	size_t cap;
	uint8_t *window; /* small chunks are read through one 64 KiB window */
	uint64_t window_start;
	size_t window_len;
	chunk_ref *refs;
	size_t n, refs_cap;
	uint64_t bad_bounds, bad_chunk;
} chunk_ctx;

static int check_chunk(pool_model *m, chunk_ctx *cc, uint32_t col, uint64_t k, uint64_t off, uint64_t size,
                       uint64_t docs)
{
	char where[64];
	snprintf(where, sizeof where, "column %u chunk %llu", col, (unsigned long long)k);
	if (off < m->chunks || off % 16 || size > m->p || off > m->p - size) {
		if (!cc->bad_bounds++)
			cbm_add(m->sink, "pool.chunk.out_of_bounds", where,
			        "the chunk (%llu bytes at %llu) is not a 16-aligned range inside the chunk section [%llu, %llu)",
			        (unsigned long long)size, (unsigned long long)off, (unsigned long long)m->chunks,
			        (unsigned long long)m->p);
		return MS_OK;
	}
	if (cc->n == cc->refs_cap) {
		size_t nc = cc->refs_cap ? cc->refs_cap * 2 : 64;
		chunk_ref *nr = msi_reallocarray(cc->refs, nc, sizeof *nr);
		if (!nr)
			return fatal(m, MS_ENOMEM, NULL, "", "out of memory");
		cc->refs = nr;
		cc->refs_cap = nc;
	}
	cc->refs[cc->n++] = (chunk_ref){ off, size };
	uint64_t cap = m->v->limits ? m->v->limits->max_metadata : 256u << 20;
	if (size > cap || size > MSI_FB_MAX_BUFFER)
		return fatal(m, MS_ELIMIT, "pool.limit", where, "the chunk (%llu bytes) is above the max_metadata limit",
		             (unsigned long long)size);
	const uint8_t *mem = msi_source_memory(m->v->src), *p;
	if (mem) {
		p = mem + off;
	} else {
		if (size > cc->cap) {
			uint8_t *ns = msi_realloc(cc->scratch, size ? (size_t)size : 1);
			if (!ns)
				return fatal(m, MS_ENOMEM, NULL, "", "out of memory");
			cc->scratch = ns;
			cc->cap = (size_t)size;
		}
		int rc = MS_OK;
		if (size <= POOL_WINDOW) {
			if (!cc->window || off < cc->window_start || off - cc->window_start + size > cc->window_len) {
				if (!cc->window && !(cc->window = msi_malloc(POOL_WINDOW)))
					return fatal(m, MS_ENOMEM, NULL, "", "out of memory");
				int64_t got = msi_source_read_upto(m->v->src, off, cc->window, POOL_WINDOW);
				if (got < 0)
					return fatal(m, (int)got, NULL, "", "%s", ms_error_last());
				cc->window_start = off;
				cc->window_len = (size_t)got;
				if ((uint64_t)got < size)
					return fatal(m, MS_ECHANGED, NULL, "", "the file ended early at %llu",
					             (unsigned long long)(off + (uint64_t)got));
			}
			if (size)
				memcpy(cc->scratch, cc->window + (off - cc->window_start), (size_t)size);
		} else {
			rc = msi_source_read(m->v->src, off, cc->scratch, (size_t)size);
		}
		if (rc != MS_OK)
			return fatal(m, rc, NULL, "", "%s", ms_error_last());
		p = cc->scratch;
	}
	msi_fb fb;
	msi_fb_table root;
	msi_fb_vec quants = { 0 };
	uint8_t bits = 0;
	msi_fb_init(&fb, p, (size_t)size, 8, 1024, 0);
	if (msi_fb_root(&fb, &root) < 0 || msi_fb_u8(&fb, &root, 0, 0, &bits) < 0 ||
	    msi_fb_vector(&fb, &root, 1, 1, &quants) < 0) {
		if (!cc->bad_chunk++)
			cbm_add(m->sink, "pool.chunk.invalid", where, "the chunk fails FlatBuffers verification: %s", fb.message);
		return MS_OK;
	}
	if (bits == 0 || bits > 64 || (bits & (bits - 1))) {
		if (!cc->bad_chunk++)
			cbm_add(m->sink, "pool.chunk.invalid", where, "BitsPerDocument is %u; it must be 1, 2, 4, 8, 16, 32 or 64",
			        bits);
		return MS_OK;
	}
	/* a fake string column (group/doc ids) stores raw strings, not quants */
	uint64_t want = (docs * bits + 7) / 8; /* docs < 2^32, bits <= 64 */
	if (!fake_column(m, col) && quants.count != want) {
		if (!cc->bad_chunk++)
			cbm_add(m->sink, "pool.chunk.invalid", where,
			        "%u quant bytes, but %llu documents at %u bits need %llu", quants.count,
			        (unsigned long long)docs, bits, (unsigned long long)want);
	}
	if (m->progress) {
		int rc = msi_progress_add(m->progress, size);
		if (rc != MS_OK)
			return fatal(m, rc, NULL, "", "%s", ms_error_last());
	}
	return MS_OK;
}

/* ---- the chunk table -------------------------------------------------- */

static int parse_table(pool_model *m)
{
	const msi_view *v = m->v;
	uint64_t end = v->size - TRAILER;
	region r;
	int rc = read_region(m, m->f, end - m->f, "chunk table", &r);
	if (rc != MS_OK)
		return rc;
	msi_cursor c = msi_cursor_make(r.p, (size_t)r.len);
	uint32_t columns = msi_cursor_le32(&c);
	chunk_ctx cc = { 0 };
	uint64_t prev_col = 0, total = 0;
	bool unsorted = false;
	uint64_t unknown = 0, coverage_bad = 0;
	uint32_t first_unknown = 0;
	for (uint32_t i = 0; i < columns && !c.failed && m->rc == MS_OK; i++) {
		uint32_t col = msi_cursor_le32(&c);
		uint32_t n = msi_cursor_le32(&c);
		if (c.failed || (uint64_t)n * 20 > msi_cursor_left(&c)) {
			c.failed = true;
			break;
		}
		if (i && col <= prev_col)
			unsorted = true;
		prev_col = col;
		if (m->have_meta && !known_column(m, col) && !fake_column(m, col) && !unknown++)
			first_unknown = col;
		total += n;
		uint64_t next_doc = 0;
		bool cov_ok = true;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t size = msi_cursor_le32(&c);
			uint64_t off = msi_cursor_le64(&c);
			uint32_t doc_off = msi_cursor_le32(&c);
			uint32_t docs = msi_cursor_le32(&c);
			if (doc_off != next_doc)
				cov_ok = false;
			next_doc = (uint64_t)doc_off + docs;
			if (m->deep && check_chunk(m, &cc, col, k, off, size, docs) != MS_OK)
				break;
		}
		if (n && m->has_doc_count && next_doc != m->doc_count)
			cov_ok = false;
		if (m->deep && !cov_ok && !coverage_bad++) {
			char where[32];
			snprintf(where, sizeof where, "column %u", col);
			cbm_add(m->sink, "pool.chunk.coverage", where,
			        "the column's %u chunks do not cover documents [0, %llu) in order without gaps or overlap", n,
			        (unsigned long long)m->doc_count);
		}
	}
	if (m->rc == MS_OK) {
		if (c.failed)
			fatal(m, MS_EFORMAT, "pool.table.invalid", "chunk table",
			      "the table of %u columns runs past its %llu bytes", columns, (unsigned long long)r.len);
		else if (msi_cursor_left(&c))
			fatal(m, MS_EFORMAT, "pool.table.invalid", "chunk table",
			      "the table ends %llu bytes before the section offsets", (unsigned long long)msi_cursor_left(&c));
	}
	if (m->rc == MS_OK) {
		m->have_table = true;
		m->table_columns = columns;
		m->chunk_count = total;
		if (m->deep) {
			if (unsorted)
				cbm_add(m->sink, "pool.table.invalid", "chunk table", "the columns are not in ascending order");
			if (unknown) {
				char where[32];
				snprintf(where, sizeof where, "column %u", first_unknown);
				cbm_add(m->sink, "pool.column.unknown", where,
				        "%llu column(s) of the chunk table are missing from ColumnIndexToType",
				        (unsigned long long)unknown);
			}
			if (cc.n)
				qsort(cc.refs, cc.n, sizeof *cc.refs, cmp_chunk);
			for (size_t i = 1; i < cc.n; i++)
				if (cc.refs[i].off < cc.refs[i - 1].off + cc.refs[i - 1].size) {
					char where[48];
					snprintf(where, sizeof where, "offset %llu", (unsigned long long)cc.refs[i].off);
					cbm_add(m->sink, "pool.chunk.overlap", where,
					        "the chunk at %llu overlaps the one at %llu (%llu bytes)",
					        (unsigned long long)cc.refs[i].off, (unsigned long long)cc.refs[i - 1].off,
					        (unsigned long long)cc.refs[i - 1].size);
					break;
				}
		}
	}
	msi_free(cc.scratch);
	msi_free(cc.window);
	msi_free(cc.refs);
	region_free(&r);
	return m->rc;
}

static int pool_load(pool_model *m)
{
	int rc = read_header(m);
	if (rc != MS_OK)
		return rc;
	region meta;
	rc = read_section(m, m->p, m->q, "metainfo", &meta);
	if (rc != MS_OK)
		return rc;
	rc = parse_metainfo(m, &meta);
	region_free(&meta);
	if (rc != MS_OK)
		return rc;
	rc = read_section(m, m->q, m->f, "quantization schema", &m->schema);
	if (rc != MS_OK)
		return rc;
	rc = parse_schema(m, &m->schema);
	if (rc != MS_OK)
		return rc;
	return parse_table(m);
}

static void pool_free(pool_model *m)
{
	msi_free(m->types);
	region_free(&m->schema);
}

/* ---- facts ------------------------------------------------------------ */

static void write_class_names(const pool_model *m, msi_json *j)
{
	msi_cursor c = msi_cursor_make(m->schema.p, (size_t)m->schema.len);
	pb_field f;
	msi_json_array_begin(j);
	while (pb_next(&c, &f) == 1) {
		if (f.num == 2 && f.wt == 2) {
			msi_json_stringn(j, (const char *)f.data, f.len);
		} else if (f.num == 5 || f.num == 6) {
			if (f.wt == 2) {
				msi_cursor pc = msi_cursor_make(f.data, f.len);
				while (msi_cursor_left(&pc)) {
					if (f.num == 5) {
						uint64_t x = msi_cursor_varint(&pc);
						if (!pc.failed)
							msi_json_int(j, (int32_t)(uint32_t)x);
					} else {
						const uint8_t *b = msi_cursor_bytes(&pc, 4);
						if (b)
							msi_json_double(j, msi_fb_load_f32(b));
					}
				}
			} else if (f.num == 5 && f.wt == 0) {
				msi_json_int(j, (int32_t)(uint32_t)f.value);
			} else if (f.num == 6 && f.wt == 5) {
				uint8_t b[4] = { (uint8_t)f.value, (uint8_t)(f.value >> 8), (uint8_t)(f.value >> 16),
					         (uint8_t)(f.value >> 24) };
				msi_json_double(j, msi_fb_load_f32(b));
			}
		}
	}
	msi_json_array_end(j);
}

static void write_facts(const pool_model *m, msi_json *j)
{
	msi_json_key(j, "version");
	if (m->have_header)
		msi_json_uint(j, m->version);
	else
		msi_json_null(j);
	msi_json_key(j, "version_hash_ok");
	if (m->have_header)
		msi_json_bool(j, m->hash == VERSION_HASH);
	else
		msi_json_null(j);
	msi_json_key(j, "trailing_magic_ok");
	msi_json_bool(j, m->tail_ok);
	msi_json_key(j, "document_count");
	if (m->have_meta && m->has_doc_count)
		msi_json_uint(j, m->doc_count);
	else
		msi_json_null(j);
	msi_json_key(j, "column_count");
	if (m->have_meta)
		msi_json_uint(j, m->n_types);
	else
		msi_json_null(j);
	msi_json_key(j, "feature_count");
	if (m->have_table)
		msi_json_uint(j, m->table_columns);
	else
		msi_json_null(j);
	msi_json_key(j, "column_types");
	uint32_t numeric = 0, categorical = 0;
	if (m->have_meta) {
		msi_json_object_begin(j);
		for (uint32_t i = 0; i < m->n_types; i++) {
			uint32_t col = (uint32_t)(m->types[i] >> 32), type = (uint32_t)m->types[i];
			numeric += type == COL_NUMERIC;
			categorical += type == COL_CATEGORICAL;
			if (i + 1 < m->n_types && (uint32_t)(m->types[i + 1] >> 32) == col)
				continue; /* a repeated key: the last one wins */
			char key[16];
			snprintf(key, sizeof key, "%u", col);
			msi_json_key(j, key);
			if (type < MSI_ARRAY_LEN(column_type_names))
				msi_json_string(j, column_type_names[type]);
			else
				msi_json_uint(j, type);
		}
		msi_json_object_end(j);
	} else {
		msi_json_null(j);
	}
	msi_json_key(j, "chunk_count");
	if (m->have_table)
		msi_json_uint(j, m->chunk_count);
	else
		msi_json_null(j);
	msi_json_key(j, "numeric_features");
	if (m->have_meta)
		msi_json_uint(j, numeric);
	else
		msi_json_null(j);
	msi_json_key(j, "categorical_features");
	if (m->have_meta)
		msi_json_uint(j, categorical);
	else
		msi_json_null(j);
	msi_json_key(j, "ignored_columns");
	if (m->have_meta)
		msi_json_uint(j, m->n_ignored);
	else
		msi_json_null(j);
	msi_json_key(j, "max_docs_in_chunk");
	if (m->have_meta && m->max_docs_in_chunk)
		msi_json_uint(j, m->max_docs_in_chunk);
	else
		msi_json_null(j);
	msi_json_key(j, "class_names");
	if (m->have_schema)
		write_class_names(m, j);
	else
		msi_json_null(j);
}

/* ---- the table entry -------------------------------------------------- */

static int sniff(const msi_view *v)
{
	if (!v->src || v->container || !msi_has_prefix(v->head, v->head_len, head_magic, sizeof head_magic))
		return 0;
	return 100;
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	cbm_sink sink = { NULL, 0 };
	pool_model m;
	memset(&m, 0, sizeof m);
	m.v = v;
	m.sink = &sink;
	pool_load(&m);
	write_facts(&m, out->model);
	int rc = m.rc;
	char error[sizeof m.error];
	memcpy(error, m.error, sizeof error);
	pool_free(&m);
	return rc == MS_OK ? MS_OK : msi_error(rc, "%s", error);
}

static int validate(const msi_view *v, msi_validate_ctx *ctx)
{
	cbm_sink sink = { ctx->report, 0 };
	pool_model m;
	memset(&m, 0, sizeof m);
	m.v = v;
	m.sink = &sink;
	m.deep = true;
	m.progress = ctx->progress;
	pool_load(&m);
	int rc = m.rc;
	char error[sizeof m.error];
	memcpy(error, m.error, sizeof error);
	pool_free(&m);
	if (rc == MS_OK || rc == MS_EFORMAT || rc == MS_ELIMIT)
		return MS_OK;
	return msi_error(rc, "%s", error);
}

const msi_format msi_format_catboost_quantized_pool = {
	.name = "catboost_quantized_pool",
	.description = "CatBoost quantized pool",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = validate,
};
