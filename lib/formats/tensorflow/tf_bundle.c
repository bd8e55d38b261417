/*
 * Tensor bundles (tensorflow/core/util/tensor_bundle; FORMATS.md §7.3):
 * the index table's entries decoded into a header and tensor entries, and
 * the checks against the data shards.
 *
 * The messages (BundleHeaderProto, BundleEntryProto, TrackableObjectGraph)
 * are small and flat, so they are decoded here by a hand walk of the wire
 * format over a bounded cursor: no recursion beyond the fixed nesting of
 * the messages themselves, and every allocation is counted against
 * limits->max_metadata.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_bundle.h"
#include "tf_table.h"

#define TF_MAX_RANK 254u               /* TensorShape::kMaxDims */
#define STR_WINDOW (64u * 1024u)
#define MAX_FINDINGS_PER_CODE 20u
#define OBJECT_GRAPH_MAX_DEFAULT (64u * 1024u * 1024u)
#define DEFLATED_MAX (64u * 1024u * 1024u)

/* ---- DataType names and sizes ---- */

#define TF_DTYPES(X)                                                                                          \
	X(1, "float", 4) X(2, "double", 8) X(3, "int32", 4) X(4, "uint8", 1) X(5, "int16", 2) X(6, "int8", 1)   \
	X(7, "string", 0) X(8, "complex64", 8) X(9, "int64", 8) X(10, "bool", 1) X(11, "qint8", 1)              \
	X(12, "quint8", 1) X(13, "qint32", 4) X(14, "bfloat16", 2) X(15, "qint16", 2) X(16, "quint16", 2)      \
	X(17, "uint16", 2) X(18, "complex128", 16) X(19, "half", 2) X(20, "resource", 0) X(21, "variant", 0)   \
	X(22, "uint32", 4) X(23, "uint64", 8) X(24, "float8_e5m2", 1) X(25, "float8_e4m3fn", 1)                \
	X(26, "float8_e4m3fnuz", 1) X(27, "float8_e4m3b11fnuz", 1) X(28, "float8_e5m2fnuz", 1)                  \
	X(29, "int4", 1) X(30, "uint4", 1) X(31, "int2", 1) X(32, "uint2", 1) X(33, "float4_e2m1fn", 1)

#define TF_DTYPE_MAX 33
#define X_NAME(n, s, z) [n] = s,
#define X_REF(n, s, z) [n] = s "_ref",
/* TF stores the sub-byte types (int4, int2, float4) one element per byte */
#define X_SIZE(n, s, z) [n] = z,
static const char *const dtype_names[TF_DTYPE_MAX + 1] = { TF_DTYPES(X_NAME) };
static const char *const dtype_ref_names[TF_DTYPE_MAX + 1] = { TF_DTYPES(X_REF) };
static const unsigned char dtype_sizes[TF_DTYPE_MAX + 1] = { TF_DTYPES(X_SIZE) };

const char *tf_dtype_name(int dtype)
{
	if (dtype >= 1 && dtype <= TF_DTYPE_MAX)
		return dtype_names[dtype];
	if (dtype >= 101 && dtype <= 100 + TF_DTYPE_MAX)
		return dtype_ref_names[dtype - 100];
	return NULL;
}

unsigned tf_dtype_size(int dtype)
{
	if (dtype >= 101 && dtype <= 100 + TF_DTYPE_MAX)
		dtype -= 100;
	return dtype >= 1 && dtype <= TF_DTYPE_MAX ? dtype_sizes[dtype] : 0;
}

/* ---- protobuf wire walk ---- */

typedef struct pb_field {
	uint32_t num;
	unsigned wt;
	uint64_t v;        /* varint / fixed value */
	const uint8_t *p;  /* length-delimited bytes */
	size_t len;
} pb_field;

/* Next field of the message in `c`: false at the end, or with c->failed
 * set when the wire format is broken (groups are refused: none of these
 * messages has one). */
static bool pb_next(msi_cursor *c, pb_field *f)
{
	if (c->failed || msi_cursor_left(c) == 0)
		return false;
	uint64_t tag = msi_cursor_varint(c);
	if (c->failed || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) {
		c->failed = true;
		return false;
	}
	f->num = (uint32_t)(tag >> 3);
	f->wt = (unsigned)(tag & 7);
	f->p = NULL;
	f->len = 0;
	f->v = 0;
	switch (f->wt) {
	case 0:
		f->v = msi_cursor_varint(c);
		break;
	case 1:
		f->v = msi_cursor_le64(c);
		break;
	case 2: {
		uint64_t n = msi_cursor_varint(c);
		if (c->failed || n > msi_cursor_left(c)) {
			c->failed = true;
			return false;
		}
		f->len = (size_t)n;
		f->p = msi_cursor_bytes(c, f->len);
		break;
	}
	case 5:
		f->v = msi_cursor_le32(c);
		break;
	default:
		c->failed = true;
	}
	return !c->failed;
}

/* ---- reading the index ---- */

typedef struct bundle_impl {
	uint64_t bytes;        /* heap charged against max_metadata */
	uint64_t max_metadata;
	size_t cap;
} bundle_impl;

typedef struct read_ctx {
	tf_bundle *b;
	bundle_impl *impl;
	const msi_limits *limits;
	ms_report *r;
	const char *where;
	bool header_bad;
	bool over;             /* a limit was hit: the walk stopped */
	unsigned n_entry;
} read_ctx;

#define STOP_WALK 1

static bool charge(read_ctx *x, uint64_t n)
{
	uint64_t t;
	if (!msi_add_u64(x->impl->bytes, n, &t) || t > x->impl->max_metadata) {
		if (!x->over)
			tf_finding(x->r, "tf.bundle.limit", x->where,
			           "the bundle's entries need more than max_metadata (%llu bytes)",
			           (unsigned long long)x->impl->max_metadata);
		x->over = true;
		return false;
	}
	x->impl->bytes = t;
	return true;
}

static bool decode_header(tf_bundle *b, const uint8_t *p, size_t n)
{
	msi_cursor c = msi_cursor_make(p, n);
	pb_field f;
	while (pb_next(&c, &f)) {
		if (f.num == 1 && f.wt == 0)
			b->num_shards = (int32_t)f.v;
		else if (f.num == 2 && f.wt == 0)
			b->endianness = (int32_t)f.v;
		else if (f.num == 3 && f.wt == 2) {
			msi_cursor vc = msi_cursor_make(f.p, f.len);
			pb_field g;
			while (pb_next(&vc, &g))
				if (g.num == 1 && g.wt == 0)
					b->producer = (int32_t)g.v;
			if (vc.failed)
				return false;
		} else if (f.num <= 3) {
			return false; /* a known field with the wrong wire type */
		}
	}
	return !c.failed;
}

/* TensorShapeProto: dims appended to dims[*rank] (repeated occurrences of
 * the field merge, as protobuf merges them). */
static bool decode_shape(const uint8_t *p, size_t n, int64_t *dims, uint32_t *rank, bool *unknown, bool *too_many)
{
	msi_cursor c = msi_cursor_make(p, n);
	pb_field f;
	while (pb_next(&c, &f)) {
		if (f.num == 2 && f.wt == 2) {
			int64_t size = 0;
			msi_cursor dc = msi_cursor_make(f.p, f.len);
			pb_field g;
			while (pb_next(&dc, &g))
				if (g.num == 1 && g.wt == 0)
					size = (int64_t)g.v;
			if (dc.failed)
				return false;
			if (*rank >= TF_MAX_RANK) {
				*too_many = true;
				continue;
			}
			dims[(*rank)++] = size;
		} else if (f.num == 3 && f.wt == 0) {
			*unknown = f.v != 0;
		} else if (f.num == 2 || f.num == 3) {
			return false;
		}
	}
	return !c.failed;
}

static void entry_problem(read_ctx *x, const char *key, const char *fmt, ...) MSI_PRINTF(3, 4);
static void entry_problem(read_ctx *x, const char *key, const char *fmt, ...)
{
	if (!x->r || x->n_entry++ >= MAX_FINDINGS_PER_CODE)
		return;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	msi_report_add(x->r, "tf.bundle.entry", x->where, "entry '%.200s': %s", key, msg);
}

static int on_entry(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *user)
{
	read_ctx *x = user;
	tf_bundle *b = x->b;
	if (klen == 0) {
		b->has_header = true;
		if (!decode_header(b, val, vlen)) {
			x->header_bad = true;
			tf_finding(x->r, "tf.bundle.header", x->where,
			           "the header entry (key \"\") does not parse as a BundleHeaderProto");
		}
		return MS_OK;
	}
	if (b->count >= x->limits->max_members) {
		tf_finding(x->r, "tf.bundle.limit", x->where, "the bundle has more than %llu entries (max_members)",
		           (unsigned long long)x->limits->max_members);
		x->over = true;
		return STOP_WALK;
	}
	/* the key, cut at a NUL (keys are C strings for the callers) */
	const uint8_t *nul = memchr(key, 0, klen);
	size_t kl = nul ? (size_t)(nul - key) : klen;
	char *k = NULL;
	if (!charge(x, (uint64_t)kl + 1 + sizeof(tf_bundle_entry)))
		return STOP_WALK;
	k = msi_malloc(kl + 1);
	if (!k)
		return msi_error(MS_ENOMEM, "out of memory");
	memcpy(k, key, kl);
	k[kl] = 0;
	if (nul)
		entry_problem(x, k, "the key has a NUL byte at %zu (cut there)", kl);

	tf_bundle_entry e = { .key = k, .key_len = kl, .shard_id = 0 };
	int64_t dims[TF_MAX_RANK];
	bool too_many = false, parsed = true, neg = false;
	int64_t offset = 0, size = 0;
	msi_cursor c = msi_cursor_make(val, vlen);
	pb_field f;
	while (parsed && pb_next(&c, &f)) {
		switch (f.num) {
		case 1: parsed = f.wt == 0; e.dtype = (int)(int32_t)f.v; break;
		case 2: parsed = f.wt == 2 && decode_shape(f.p, f.len, dims, &e.rank, &e.unknown_rank, &too_many); break;
		case 3: parsed = f.wt == 0; e.shard_id = (int32_t)f.v; break;
		case 4: parsed = f.wt == 0; offset = (int64_t)f.v; break;
		case 5: parsed = f.wt == 0; size = (int64_t)f.v; break;
		case 6: parsed = f.wt == 5; e.crc32c = (uint32_t)f.v; e.has_crc = true; break;
		case 7: parsed = f.wt == 2; e.n_slices += e.n_slices < UINT32_MAX; break;
		default: break;
		}
	}
	if (!parsed || c.failed) {
		entry_problem(x, k, "the value does not parse as a BundleEntryProto");
		msi_free(k);
		return MS_OK;
	}
	if (too_many)
		entry_problem(x, k, "the shape has more than %u dimensions", TF_MAX_RANK), e.invalid = true;
	if (!tf_dtype_name(e.dtype) || e.dtype > TF_DTYPE_MAX)
		entry_problem(x, k, "dtype %d is not a TensorFlow data type a bundle can hold", e.dtype), e.invalid = true;
	if (offset < 0 || size < 0)
		entry_problem(x, k, "negative offset (%lld) or size (%lld)", (long long)offset, (long long)size),
			e.invalid = true;
	if (e.unknown_rank && e.rank > 0)
		entry_problem(x, k, "the shape has unknown_rank and %u dimensions", e.rank), e.invalid = true;
	e.offset = offset < 0 ? 0 : (uint64_t)offset;
	e.size = size < 0 ? 0 : (uint64_t)size;
	e.numel = 1;
	for (uint32_t i = 0; i < e.rank; i++) {
		if (dims[i] < 0)
			neg = true;
		else if (!msi_mul_u64(e.numel, (uint64_t)dims[i], &e.numel))
			e.numel = UINT64_MAX;
	}
	if (neg) {
		entry_problem(x, k, "the shape has a negative dimension");
		e.invalid = true;
		e.numel = UINT64_MAX;
	}
	if (e.unknown_rank)
		e.numel = UINT64_MAX;
	if (e.rank > 0) {
		if (!charge(x, (uint64_t)e.rank * sizeof(int64_t))) {
			msi_free(k);
			return STOP_WALK;
		}
		e.dims = msi_malloc((size_t)e.rank * sizeof(int64_t));
		if (!e.dims) {
			msi_free(k);
			return msi_error(MS_ENOMEM, "out of memory");
		}
		memcpy(e.dims, dims, (size_t)e.rank * sizeof(int64_t));
	}
	tf_bundle_entry *arr = msi_grow(b->entries, &x->impl->cap, b->count, sizeof *arr, 16);
	if (!arr) {
		msi_free(e.dims);
		msi_free(k);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	b->entries = arr;
	b->entries[b->count++] = e;
	b->total_bytes = msi_sat_add_u64(b->total_bytes, e.size);
	return MS_OK;
}

int tf_bundle_read_at(msi_source *index, const char *where, const msi_limits *limits, ms_report *findings,
                      tf_bundle **out)
{
	*out = NULL;
	/* the artifact layer's defaults, for callers without limits */
	static const msi_limits defaults = { 100000, 0, 16u << 20, 64, 256u << 20 };
	if (!limits)
		limits = &defaults;
	tf_bundle *b = msi_calloc(1, sizeof *b);
	bundle_impl *impl = msi_calloc(1, sizeof *impl);
	if (!b || !impl) {
		msi_free(b);
		msi_free(impl);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	b->impl = impl;
	b->num_shards = 0;
	b->producer = -1;
	impl->max_metadata = limits->max_metadata;
	read_ctx x = { .b = b, .impl = impl, .limits = limits, .r = findings, .where = where ? where : "" };
	int rc = tf_table_read(index, limits, findings, x.where, on_entry, &x);
	if (rc == STOP_WALK)
		rc = MS_OK;
	if (rc != MS_OK) {
		tf_bundle_free(b);
		return rc;
	}
	if (!b->has_header)
		tf_finding(findings, "tf.bundle.header", x.where, "the bundle has no header entry (the empty key \"\")");
	else if (!x.header_bad && b->num_shards < 1)
		tf_finding(findings, "tf.bundle.header", x.where, "the header says num_shards = %d (at least 1 expected)",
		           b->num_shards);
	else if (!x.header_bad && b->endianness != 0 && b->endianness != 1)
		tf_finding(findings, "tf.bundle.header", x.where, "the header's endianness is %d (0 little, 1 big)",
		           b->endianness);
	if (b->has_header && b->endianness == 1)
		tf_finding(findings, "tf.bundle.big_endian", x.where,
		           "the bundle is big-endian: its tensors need byte swapping on little-endian hosts");
	uint64_t sliced = 0;
	for (size_t i = 0; i < b->count; i++) {
		tf_bundle_entry *e = &b->entries[i];
		sliced += e->n_slices > 0;
		if (b->has_header && b->num_shards >= 1 && (e->shard_id < 0 || e->shard_id >= b->num_shards)) {
			entry_problem(&x, e->key, "shard_id %d is out of range (num_shards %d)", e->shard_id, b->num_shards);
			e->invalid = true;
		}
	}
	if (sliced)
		tf_finding(findings, "tf.bundle.slices", x.where,
		           "%llu entries are partitioned variables (slices): their slices are not checked",
		           (unsigned long long)sliced);
	*out = b;
	return MS_OK;
}

int tf_bundle_read(msi_source *index, const msi_limits *limits, ms_report *findings, tf_bundle **out)
{
	return tf_bundle_read_at(index, NULL, limits, findings, out);
}

const tf_bundle_entry *tf_bundle_find(const tf_bundle *b, const char *key)
{
	if (!b)
		return NULL;
	size_t lo = 0, hi = b->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(b->entries[mid].key, key);
		if (cmp == 0)
			return &b->entries[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* keys cut at a NUL may break the order: fall back to a scan */
	for (size_t i = 0; i < b->count; i++)
		if (strcmp(b->entries[i].key, key) == 0)
			return &b->entries[i];
	return NULL;
}

void tf_bundle_free(tf_bundle *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->count; i++) {
		msi_free((void *)b->entries[i].key);
		msi_free(b->entries[i].dims);
	}
	msi_free(b->entries);
	msi_free(b->impl);
	msi_free(b);
}

/* ---- shards ---- */

/* Parses "<prefix>.data-IIIII-of-NNNNN" (stripped names): true with i, n. */
static bool shard_name_parse(const char *name, const char *prefix, size_t plen, uint64_t *i, uint64_t *n)
{
	if (strncmp(name, prefix, plen) != 0 || strncmp(name + plen, ".data-", 6) != 0)
		return false;
	const char *p = name + plen + 6;
	char *end;
	if (*p < '0' || *p > '9')
		return false;
	unsigned long long a = strtoull(p, &end, 10);
	if (end - p < 5 || strncmp(end, "-of-", 4) != 0)
		return false;
	p = end + 4;
	if (*p < '0' || *p > '9')
		return false;
	unsigned long long c = strtoull(p, &end, 10);
	if (end - p < 5 || *end)
		return false;
	*i = a;
	*n = c;
	return true;
}

typedef struct shard_info {
	ssize_t entry;   /* container index, -1 when missing */
	uint64_t size;
} shard_info;

/* Finds the shard files; adds shard_missing / shard_extra findings. The
 * array has num_shards slots, or fewer when num_shards is absurd: then
 * only the shards that exist in the listing can be present anyway. */
static int find_shards(const tf_bundle *b, msi_container *c, const char *prefix, ms_report *r, const char *where,
                       shard_info **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!b->has_header || b->num_shards < 1)
		return MS_OK;
	size_t plen = strlen(prefix);
	/* One slot per shard index. An absurd num_shards (more than 65536 and
	 * than the listing has files) gets slots only up to the file count + 1:
	 * most of its shards are missing anyway, and a file with a higher
	 * index is counted missing too rather than costing gigabytes here. */
	size_t n = (size_t)b->num_shards;
	size_t slots = n <= MSI_MAX((size_t)65536, c->count + 1) ? n : c->count + 1;
	shard_info *s = msi_calloc(slots ? slots : 1, sizeof *s);
	if (!s)
		return msi_error(MS_ENOMEM, "out of memory");
	for (size_t i = 0; i < slots; i++)
		s[i].entry = -1;
	unsigned extra = 0;
	for (size_t k = 0; k < c->count; k++) {
		const msi_entry *e = &c->entries[k];
		if (e->type != MSI_ENTRY_FILE)
			continue;
		const char *name = msi_entry_strip_dot(e->name);
		uint64_t i, of;
		if (!shard_name_parse(name, prefix, plen, &i, &of))
			continue;
		if (of != (uint64_t)b->num_shards || i >= of) {
			if (extra++ < MAX_FINDINGS_PER_CODE)
				tf_finding(r, "tf.bundle.shard_extra", name,
				           "data file '%.200s' is not one of the bundle's %d shards", name, b->num_shards);
			continue;
		}
		if (i < slots && s[i].entry < 0 && !e->unsafe) {
			s[i].entry = (ssize_t)k;
			s[i].size = e->size;
		}
	}
	uint64_t missing = 0;
	for (size_t i = 0; i < n; i++) {
		if (i < slots && s[i].entry >= 0)
			continue;
		if (missing < MAX_FINDINGS_PER_CODE)
			tf_finding(r, "tf.bundle.shard_missing", where, "data shard '%.200s.data-%05zu-of-%05d' is missing",
			           prefix, i, b->num_shards);
		missing++;
		if (i >= slots) {
			/* every shard from here on is missing too */
			missing += n - i - 1;
			break;
		}
	}
	if (missing > MAX_FINDINGS_PER_CODE)
		tf_finding(r, "tf.bundle.shard_missing", where, "%llu data shards are missing in all",
		           (unsigned long long)missing);
	*out = s;
	*nout = slots;
	return MS_OK;
}

typedef struct crc_acc {
	uint32_t crc;
} crc_acc;

static int crc_chunk(const uint8_t *data, size_t len, void *user)
{
	crc_acc *a = user;
	a->crc = msi_crc32c(a->crc, data, len);
	return MS_OK;
}

/* A bounded window for reading a string tensor's length varints. */
typedef struct win {
	const msi_source *s;
	uint64_t pos, end;
	uint8_t *buf;
	size_t have, at;
	int rc;
	bool eof;
} win;

static bool win_byte(win *w, uint8_t *out)
{
	if (w->at == w->have) {
		if (w->pos >= w->end) {
			w->eof = true;
			return false;
		}
		uint64_t left = w->end - w->pos;
		size_t n = left < STR_WINDOW ? (size_t)left : STR_WINDOW;
		w->rc = msi_source_read(w->s, w->pos, w->buf, n);
		if (w->rc != MS_OK)
			return false;
		w->pos += n;
		w->have = n;
		w->at = 0;
	}
	*out = w->buf[w->at++];
	return true;
}

static uint64_t win_offset(const win *w)
{
	return w->pos - (w->have - w->at);
}

static bool win_varint(win *w, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 10; i++) {
		uint8_t b;
		if (!win_byte(w, &b))
			return false;
		if (i == 9 && b > 1)
			return false;
		*v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			return true;
	}
	return false;
}

typedef struct shard_ctx {
	const tf_bundle *b;
	ms_report *r;
	const char *where;
	const char *prefix;
	bool quick;
	msi_progress *progress;
	unsigned n_range, n_size, n_crc;
	uint8_t *strbuf;
} shard_ctx;

/* Streams `len` bytes at `at` into the CRC-32C `crc` (what precedes them,
 * for a string entry its lengths and their checksum) and compares the
 * masked result with the entry's. The caller has checked the range. */
static int check_data_crc(shard_ctx *x, const tf_bundle_entry *e, const msi_source *src, const char *shard,
                          uint64_t at, uint64_t len, uint32_t crc)
{
	crc_acc a = { crc };
	int rc = msi_source_stream(src, at, len, crc_chunk, &a, x->progress);
	if (rc != MS_OK)
		return rc;
	if (msi_crc32c_mask(a.crc) != e->crc32c && x->n_crc++ < MAX_FINDINGS_PER_CODE)
		tf_finding(x->r, "tf.bundle.crc", shard,
		           "entry '%.200s' at offset %llu: masked CRC-32C 0x%08x stored, 0x%08x computed", e->key,
		           (unsigned long long)e->offset, e->crc32c, msi_crc32c_mask(a.crc));
	return MS_OK;
}

/* A DT_STRING entry: varint64 lengths, the masked CRC-32C of the lengths
 * (each hashed as a u32, or a u64 when it does not fit), then the bytes.
 * Its crc32c covers the lengths so hashed, the 4 checksum bytes and the
 * string bytes. Reads the lengths through a 64 KiB window. */
static int check_string(shard_ctx *x, const tf_bundle_entry *e, const msi_source *src, const char *shard)
{
	if (e->numel == UINT64_MAX || e->unknown_rank)
		return MS_OK;
	win w = { .s = src, .pos = e->offset, .end = e->offset + e->size, .buf = x->strbuf };
	uint32_t crc = 0;
	uint64_t total = 0;
	bool bad = false;
	for (uint64_t i = 0; i < e->numel; i++) {
		uint64_t len;
		if (!win_varint(&w, &len)) {
			if (w.rc != MS_OK)
				return w.rc;
			bad = true;
			break;
		}
		if (len <= UINT32_MAX) {
			uint8_t le[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24) };
			crc = msi_crc32c(crc, le, 4);
		} else {
			uint8_t le[8];
			for (int k = 0; k < 8; k++)
				le[k] = (uint8_t)(len >> (8 * k));
			crc = msi_crc32c(crc, le, 8);
		}
		total = msi_sat_add_u64(total, len);
	}
	uint8_t ck[4];
	bool got = !bad;
	for (int k = 0; got && k < 4; k++)
		got = win_byte(&w, &ck[k]);
	if (w.rc != MS_OK)
		return w.rc;
	uint64_t data_at = win_offset(&w);
	if (!got || total != e->offset + e->size - data_at) {
		if (x->n_size++ < MAX_FINDINGS_PER_CODE)
			tf_finding(x->r, "tf.bundle.size", shard,
			           "string entry '%.200s' at offset %llu: %llu elements' lengths and their checksum do not "
			           "add up to its %llu bytes",
			           e->key, (unsigned long long)e->offset, (unsigned long long)e->numel,
			           (unsigned long long)e->size);
		return MS_OK;
	}
	uint32_t stored = msi_le32(ck);
	if (stored != msi_crc32c_mask(crc)) {
		if (x->n_crc++ < MAX_FINDINGS_PER_CODE)
			tf_finding(x->r, "tf.bundle.crc", shard,
			           "string entry '%.200s': the lengths' checksum 0x%08x does not match (0x%08x computed)",
			           e->key, stored, msi_crc32c_mask(crc));
		return MS_OK;
	}
	if (x->quick || !e->has_crc)
		return MS_OK;
	return check_data_crc(x, e, src, shard, data_at, total, msi_crc32c(crc, ck, 4));
}

static int check_entry(shard_ctx *x, const tf_bundle_entry *e, const msi_source *src, uint64_t shard_size,
                       const char *shard)
{
	if (!msi_range_ok(e->offset, e->size, shard_size)) {
		if (x->n_range++ < MAX_FINDINGS_PER_CODE)
			tf_finding(x->r, "tf.bundle.range", shard,
			           "entry '%.200s': bytes [%llu, +%llu) run past the end of the shard (%llu bytes)", e->key,
			           (unsigned long long)e->offset, (unsigned long long)e->size,
			           (unsigned long long)shard_size);
		return MS_OK;
	}
	unsigned es = tf_dtype_size(e->dtype);
	if (es > 0) {
		uint64_t want;
		bool known = e->numel != UINT64_MAX && !e->unknown_rank && msi_mul_u64(e->numel, es, &want);
		if (!known || want != e->size) {
			if (x->n_size++ < MAX_FINDINGS_PER_CODE) {
				if (known)
					tf_finding(x->r, "tf.bundle.size", shard,
					           "entry '%.200s': %llu bytes, but %llu %s elements take %llu", e->key,
					           (unsigned long long)e->size, (unsigned long long)e->numel,
					           tf_dtype_name(e->dtype), (unsigned long long)want);
				else
					tf_finding(x->r, "tf.bundle.size", shard,
					           "entry '%.200s': %llu bytes, but its shape's size is unknown or overflows",
					           e->key, (unsigned long long)e->size);
			}
			return MS_OK;
		}
	}
	if (e->dtype == 7) /* DT_STRING */
		return check_string(x, e, src, shard);
	if (x->quick || !e->has_crc)
		return MS_OK;
	return check_data_crc(x, e, src, shard, e->offset, e->size, 0);
}

static int by_shard_offset(const void *pa, const void *pb)
{
	const tf_bundle_entry *a = *(const tf_bundle_entry *const *)pa, *b = *(const tf_bundle_entry *const *)pb;
	if (a->shard_id != b->shard_id)
		return a->shard_id < b->shard_id ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	return strcmp(a->key, b->key);
}

/* The prefix without the "./" of tar members. */
static const char *strip_prefix(const char *p)
{
	return msi_entry_strip_dot(p);
}

int tf_bundle_check_shards(const tf_bundle *b, msi_container *c, const char *prefix, bool quick, ms_report *r,
                           msi_progress *progress)
{
	if (!b || !c || !prefix)
		return MS_OK;
	prefix = strip_prefix(prefix);
	char where[256];
	snprintf(where, sizeof where, "%.240s.index", prefix);
	shard_info *shards;
	size_t nshards;
	int rc = find_shards(b, c, prefix, r, where, &shards, &nshards);
	if (rc != MS_OK || !shards)
		return rc;
	const tf_bundle_entry **order = msi_reallocarray(NULL, b->count ? b->count : 1, sizeof *order);
	uint8_t *strbuf = msi_malloc(STR_WINDOW);
	if (!order || !strbuf) {
		msi_free(order);
		msi_free(strbuf);
		msi_free(shards);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	size_t n = 0;
	for (size_t i = 0; i < b->count; i++)
		if (!b->entries[i].invalid)
			order[n++] = &b->entries[i];
	qsort(order, n, sizeof *order, by_shard_offset);
	shard_ctx x = { .b = b, .r = r, .where = where, .prefix = prefix, .quick = quick, .progress = progress,
		        .strbuf = strbuf };
	msi_source *src = NULL;
	int32_t open_shard = -1;
	char shard_name[320] = "";
	uint64_t prev_end = 0;
	const tf_bundle_entry *prev = NULL;
	for (size_t i = 0; rc == MS_OK && i < n; i++) {
		const tf_bundle_entry *e = order[i];
		if (e->shard_id < 0 || (size_t)e->shard_id >= nshards || shards[e->shard_id].entry < 0)
			continue; /* reported: out of range or missing */
		if (e->shard_id != open_shard) {
			msi_source_release(src);
			src = NULL;
			open_shard = e->shard_id;
			prev = NULL;
			prev_end = 0;
			snprintf(shard_name, sizeof shard_name, "%.240s.data-%05d-of-%05d", prefix, e->shard_id,
			         b->num_shards);
			rc = c->ops->open_entry(c, (size_t)shards[e->shard_id].entry, DEFLATED_MAX, &src);
			if (rc != MS_OK)
				break;
		}
		/* sorted by offset: an entry starting before the furthest end so
		 * far overlaps the entry that reaches it (empty entries take no
		 * bytes) */
		uint64_t end;
		if (e->size > 0 && prev && e->offset < prev_end && x.n_range++ < MAX_FINDINGS_PER_CODE)
			tf_finding(r, "tf.bundle.range", shard_name,
			           "entry '%.200s' [%llu, +%llu) overlaps entry '%.200s' (which ends at %llu)", e->key,
			           (unsigned long long)e->offset, (unsigned long long)e->size, prev->key,
			           (unsigned long long)prev_end);
		if (e->size > 0 && msi_add_u64(e->offset, e->size, &end) && end > prev_end) {
			prev_end = end;
			prev = e;
		}
		rc = check_entry(&x, e, src, src->size, shard_name);
	}
	msi_source_release(src);
	msi_free(order);
	msi_free(strbuf);
	msi_free(shards);
	return rc;
}

/* ---- the object graph ---- */

int tf_bundle_read_object_graph(const tf_bundle *b, msi_container *c, const char *prefix, uint8_t **out,
                                size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	const tf_bundle_entry *e = tf_bundle_find(b, TF_OBJECT_GRAPH_KEY);
	if (!e || e->dtype != 7 || e->rank != 0 || e->unknown_rank || e->invalid)
		return msi_error(MS_EFORMAT, "no scalar string entry %s in the bundle", TF_OBJECT_GRAPH_KEY);
	if (!c || !prefix || e->shard_id < 0 || e->shard_id >= b->num_shards)
		return msi_error(MS_EFORMAT, "the object graph entry's shard is out of range");
	const bundle_impl *impl = b->impl;
	uint64_t cap = impl && impl->max_metadata ? impl->max_metadata : OBJECT_GRAPH_MAX_DEFAULT;
	if (e->size > cap || e->size > SIZE_MAX - 1)
		return msi_error(MS_ELIMIT, "the object graph entry is %llu bytes, over max_metadata",
		                 (unsigned long long)e->size);
	prefix = strip_prefix(prefix);
	char want[320];
	snprintf(want, sizeof want, "%.240s.data-%05d-of-%05d", prefix, e->shard_id, b->num_shards);
	ssize_t idx = -1;
	for (size_t k = 0; k < c->count; k++)
		if (c->entries[k].type == MSI_ENTRY_FILE && !c->entries[k].unsafe &&
		    strcmp(msi_entry_strip_dot(c->entries[k].name), want) == 0) {
			idx = (ssize_t)k;
			break;
		}
	if (idx < 0)
		return msi_error(MS_EFORMAT, "data shard '%s' is missing", want);
	msi_source *src;
	int rc = c->ops->open_entry(c, (size_t)idx, DEFLATED_MAX, &src);
	if (rc != MS_OK)
		return rc;
	if (!msi_range_ok(e->offset, e->size, src->size)) {
		msi_source_release(src);
		return msi_error(MS_EFORMAT, "the object graph entry runs past the end of its shard");
	}
	uint8_t *buf = msi_malloc(e->size ? (size_t)e->size : 1);
	if (!buf) {
		msi_source_release(src);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	rc = msi_source_read(src, e->offset, buf, (size_t)e->size);
	msi_source_release(src);
	if (rc != MS_OK) {
		msi_free(buf);
		return rc;
	}
	/* one varint64 length, its 4-byte masked CRC, then the string */
	msi_cursor cur = msi_cursor_make(buf, (size_t)e->size);
	uint64_t len = msi_cursor_varint(&cur);
	msi_cursor_skip(&cur, 4);
	if (cur.failed || len != msi_cursor_left(&cur)) {
		msi_free(buf);
		return msi_error(MS_EFORMAT, "the object graph entry is not one string");
	}
	memmove(buf, buf + cur.pos, (size_t)len);
	*out = buf;
	*out_len = (size_t)len;
	return MS_OK;
}

int tf_object_graph_check(const tf_bundle *b, const uint8_t *data, size_t len, ms_report *r, const char *where,
                          uint64_t *nodes_out)
{
	if (nodes_out)
		*nodes_out = 0;
	/* first pass: count the nodes, so child ids can be range-checked */
	uint64_t nodes = 0;
	msi_cursor c = msi_cursor_make(data, len);
	pb_field f;
	while (pb_next(&c, &f))
		if (f.num == 1) {
			if (f.wt != 2)
				c.failed = true;
			else
				nodes++;
		}
	if (c.failed) {
		tf_finding(r, "tf.checkpoint.object_graph", where,
		           "the object graph (%s) does not parse as a TrackableObjectGraph (at byte %zu)",
		           TF_OBJECT_GRAPH_KEY, c.pos);
		return MS_OK;
	}
	if (nodes_out)
		*nodes_out = nodes;
	unsigned reported = 0;
	uint64_t node = 0;
	c = msi_cursor_make(data, len);
	while (pb_next(&c, &f)) {
		if (f.num != 1)
			continue;
		msi_cursor nc = msi_cursor_make(f.p, f.len);
		pb_field g;
		bool broken = false;
		while (!broken && pb_next(&nc, &g)) {
			if ((g.num == 1 || g.num == 2 || g.num == 3) && g.wt != 2) {
				broken = true;
				break;
			}
			msi_cursor sc = msi_cursor_make(g.p, g.len);
			pb_field h;
			if (g.num == 1) { /* children: ObjectReference {node_id 1, local_name 2} */
				while (pb_next(&sc, &h))
					if (h.num == 1 && h.wt == 0 && ((int32_t)h.v < 0 || (uint64_t)(int32_t)h.v >= nodes) &&
					    reported++ < MAX_FINDINGS_PER_CODE)
						tf_finding(r, "tf.checkpoint.object_graph", where,
						           "node %llu: child node id %d is out of range (%llu nodes)",
						           (unsigned long long)node, (int32_t)h.v, (unsigned long long)nodes);
			} else if (g.num == 2) { /* attributes: SerializedTensor {name 1, full_name 2, checkpoint_key 3} */
				const uint8_t *key = NULL;
				size_t klen = 0;
				while (pb_next(&sc, &h))
					if (h.num == 3 && h.wt == 2) {
						key = h.p;
						klen = h.len;
					}
				if (!sc.failed && key && klen < 4096) {
					char k[4096];
					memcpy(k, key, klen);
					k[klen] = 0;
					if (!tf_bundle_find(b, k) && reported++ < MAX_FINDINGS_PER_CODE)
						tf_finding(r, "tf.checkpoint.object_graph", where,
						           "node %llu: checkpoint_key '%.200s' is not in the bundle",
						           (unsigned long long)node, k);
				}
			} else if (g.num == 3) { /* slot_variables: original 1, slot 3 */
				while (pb_next(&sc, &h))
					if ((h.num == 1 || h.num == 3) && h.wt == 0 &&
					    ((int32_t)h.v < 0 || (uint64_t)(int32_t)h.v >= nodes) &&
					    reported++ < MAX_FINDINGS_PER_CODE)
						tf_finding(r, "tf.checkpoint.object_graph", where,
						           "node %llu: slot variable node id %d is out of range (%llu nodes)",
						           (unsigned long long)node, (int32_t)h.v, (unsigned long long)nodes);
			}
			if (sc.failed)
				broken = true;
		}
		if ((broken || nc.failed) && reported++ < MAX_FINDINGS_PER_CODE)
			tf_finding(r, "tf.checkpoint.object_graph", where, "node %llu does not parse as a TrackableObject",
			           (unsigned long long)node);
		node++;
	}
	return MS_OK;
}
