/*
 * ONNX validation: what onnx.checker verifies (FORMATS.md §8.3, onnx's
 * checker.cc), over a model that read without wire errors, plus what the
 * checker misses: a raw_data length that disagrees with the dims, a graph
 * output nothing produces, external data that leaves the model's folder or
 * its file. Every problem is reported, not only the first; a code that
 * repeats is listed MAX_PER_CODE times, then counted.
 *
 * Scopes follow the checker's lexical contexts: a subgraph sees the names
 * defined before its node in every enclosing graph, may not redefine any of
 * them, and must produce its own outputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_ir.h"
#include "onnx_schema.h"

#define MAX_PER_CODE 20u
#define IR_NEWEST 13     /* onnx 1.20-1.22 */
#define IR_DEV 14        /* in development */
#define MAX_FUNCTIONS 10000u
#define SPARSE_INDEX_READ_MAX (256u * 1024 * 1024)

typedef struct scope {
	onnx_strset names;
	const struct scope *outer;
} scope;

/* Opset imports as the checker keeps them: domain -> version, "" and
 * "ai.onnx" folded together. */
typedef struct opsets {
	const char **domains;
	int64_t *versions;
	size_t n;
	/* the last node lookup (opsets_lookup): most nodes repeat it, with the
	 * same domain pointer (onnx_read.c shares them) */
	const char *last_domain;
	int64_t last_version;
	bool last_found, has_last;
} opsets;

typedef struct chk {
	const onnx_model *m;
	const msi_source *src;
	const onnx_ext_base *base;
	ms_report *r;
	int64_t ir;
	onnx_strset per_code;        /* findings per code, for the cap */
	onnx_strset functions;       /* "domain\nname\noverload" of local functions */
	char **function_keys;
	char where[1024];
	size_t where_len;
	const onnx_node *pending;    /* a node whose part of `where` is not written yet */
	size_t pending_index;
	msi_onnx_schema_cache *schemas;
	/* Nodes whose schema check found nothing, by (op_type, domain, opset,
	 * input and output counts): a node like one of them, without
	 * attributes or empty names, would find nothing either (the check
	 * reads nothing else) and is skipped. Keyed by the pointers the reader
	 * shares between nodes of one op; a graph of 200,000 nodes has a few
	 * dozen such shapes. */
	struct {
		const char *op_type, *domain;
		int64_t version;
		uint32_t n_input, n_output;
	} clean[64];
	bool oom;
} chk;

static void where_materialize(chk *c);

static void add(chk *c, const char *code, const char *fmt, ...) MSI_PRINTF(3, 4);
static void add(chk *c, const char *code, const char *fmt, ...)
{
	uint32_t *n;
	bool existed;
	if (!onnx_strset_put(&c->per_code, code, &n, &existed)) {
		c->oom = true;
		return;
	}
	++*n;
	if (*n > MAX_PER_CODE) {
		if (*n == MAX_PER_CODE + 1) {
			where_materialize(c);
			msi_report_add(c->r, "onnx.too_many_findings", c->where, "more findings of %s follow; only the "
			               "first %u are listed", code, MAX_PER_CODE);
		}
		return;
	}
	where_materialize(c);
	va_list ap;
	va_start(ap, fmt);
	msi_report_addv(c->r, code, c->where, fmt, ap);
	va_end(ap);
}

/* The location path ("graph 'main' > node 3 'If_0' (If) > ..."): pushed
 * and popped as the checks descend. */
static size_t where_push(chk *c, const char *fmt, ...) MSI_PRINTF(2, 3);
static size_t where_push(chk *c, const char *fmt, ...)
{
	where_materialize(c);
	size_t old = c->where_len;
	if (old + 4 >= sizeof c->where)
		return old;
	size_t n = old;
	if (n) {
		memcpy(c->where + n, " > ", 3);
		n += 3;
	}
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(c->where + n, sizeof c->where - n, fmt, ap);
	va_end(ap);
	if (w < 0)
		w = 0;
	n += (size_t)w;
	if (n >= sizeof c->where)
		n = sizeof c->where - 1;
	c->where_len = n;
	return old;
}

/* The same for a node, without printf: a graph of 200,000 nodes pushes
 * one per node. */
static void where_put(chk *c, const char *s, size_t cap)
{
	size_t n = strlen(s);
	if (n > cap)
		n = cap;
	if (n > sizeof c->where - 1 - c->where_len)
		n = sizeof c->where - 1 - c->where_len;
	memcpy(c->where + c->where_len, s, n);
	c->where_len += n;
}

/* Writes the pending node's part of `where`: a node's location is only
 * spelled out when something is reported in it. */
static void where_materialize(chk *c)
{
	const onnx_node *n = c->pending;
	if (!n)
		return;
	c->pending = NULL;
	size_t index = c->pending_index;
	char num[24];
	size_t k = sizeof num;
	num[--k] = '\0';
	do {
		num[--k] = (char)('0' + index % 10);
		index /= 10;
	} while (index);
	if (c->where_len)
		where_put(c, " > ", 3);
	where_put(c, "node ", 5);
	where_put(c, num + k, 24);
	where_put(c, " '", 2);
	where_put(c, onnx_str(n->name), 200);
	where_put(c, "' (", 3);
	where_put(c, onnx_str(n->op_type), 200);
	where_put(c, ")", 1);
	c->where[c->where_len] = '\0';
}

static size_t where_push_node(chk *c, size_t index, const onnx_node *n)
{
	where_materialize(c);
	c->pending = n;
	c->pending_index = index;
	return c->where_len;
}

static void where_pop(chk *c, size_t old)
{
	c->pending = NULL;
	c->where_len = old;
	c->where[old] = '\0';
}

static const char *norm_domain(const char *d)
{
	return onnx_domain_is_default(d) ? "" : d;
}

static bool opsets_find(const opsets *o, const char *domain, int64_t *version)
{
	const char *d = norm_domain(domain);
	for (size_t i = 0; i < o->n; i++) {
		/* first bytes first: nearly every node is in the default domain "" */
		if (o->domains[i][0] == d[0] && (!d[0] || strcmp(o->domains[i], d) == 0)) {
			*version = o->versions[i];
			return true;
		}
	}
	return false;
}

/* opsets_find for a node's domain, remembered for the next node. */
static bool opsets_lookup(opsets *o, const char *domain, int64_t *version)
{
	if (!o->has_last || o->last_domain != domain) {
		o->last_found = opsets_find(o, domain, &o->last_version);
		o->last_domain = domain;
		o->has_last = true;
	}
	*version = o->last_version;
	return o->last_found;
}

static bool opsets_build(opsets *o, Onnx__OperatorSetIdProto **ids, size_t n, int64_t ir)
{
	o->n = 0;
	size_t cap = n ? n : 1;
	o->domains = msi_calloc(cap, sizeof *o->domains);
	o->versions = msi_calloc(cap, sizeof *o->versions);
	if (!o->domains || !o->versions)
		return false;
	if (n == 0 && ir < 3 && ir > 0) {
		/* before IR 3 the opset was implicit: ai.onnx version 1 */
		o->domains[0] = "";
		o->versions[0] = 1;
		o->n = 1;
		return true;
	}
	/* a domain imported twice: the last import wins, as in onnx's map */
	for (size_t i = 0; i < n; i++) {
		const char *d = norm_domain(ids[i]->domain);
		size_t k = 0;
		while (k < o->n && strcmp(o->domains[k], d) != 0)
			k++;
		if (k == o->n)
			o->n++;
		o->domains[k] = d;
		o->versions[k] = ids[i]->version;
	}
	return true;
}

static void opsets_free(opsets *o)
{
	msi_free(o->domains);
	msi_free(o->versions);
}

/* ---- scopes ---- */

static bool scope_has_h(const scope *s, const char *name, uint32_t hash, bool ancestors)
{
	for (; s; s = ancestors ? s->outer : NULL) {
		if (onnx_strset_get_h(&s->names, name, hash))
			return true;
	}
	return false;
}

static bool scope_has(const scope *s, const char *name, bool ancestors)
{
	return scope_has_h(s, name, onnx_str_hash(name), ancestors);
}

/* Adds a name; true when this scope had it already. */
static bool scope_add_h(chk *c, scope *s, const char *name, uint32_t hash)
{
	uint32_t *v;
	bool existed = false;
	if (!onnx_strset_put_h(&s->names, name, hash, &v, &existed))
		c->oom = true;
	return existed;
}

static bool scope_add(chk *c, scope *s, const char *name)
{
	return scope_add_h(c, s, name, onnx_str_hash(name));
}

/* The SSA walk of a big graph probes a name table far larger than the
 * caches, at one random slot per name, and would wait on memory at each:
 * the slots of the names of the node SSA_AHEAD places on are prefetched
 * while this one is checked (by the hashes the reader worked out, io_hash;
 * the first SSA_NAMES of a node). */
#define SSA_AHEAD 8u
#define SSA_NAMES 8u

static void ssa_prefetch(const onnx_node *n, const scope *sc)
{
	size_t names = (size_t)n->n_input + n->n_output;
	for (size_t k = 0; k < names && k < SSA_NAMES; k++)
		onnx_strset_prefetch(&sc->names, n->io_hash[k]);
}

/* ---- tensors ---- */

static const char *data_field_name(int f)
{
	static const char *const names[] = { "float_data", "int32_data", "string_data", "int64_data", "raw_data",
	                                     "double_data", "uint64_data" };
	return names[f];
}

/* The typed field a data type's values belong in, and how many values of
 * it n elements need (-1: the type has no typed field). */
static int typed_field(int32_t dt, uint64_t n, uint64_t *need, bool *at_least)
{
	*at_least = false;
	switch (dt) {
	case 1: *need = n; return ONNX_DATA_FLOAT;
	case 14: *need = n * 2; return ONNX_DATA_FLOAT;
	case 11: *need = n; return ONNX_DATA_DOUBLE;
	case 15: *need = n * 2; return ONNX_DATA_DOUBLE;
	case 2: case 3: case 4: case 5: case 6: case 9: case 10: case 16:
	case 17: case 18: case 19: case 20: case 24:
		*need = n;
		return ONNX_DATA_INT32;
	case 21: case 22: case 23: /* 4-bit: packed, the layout has changed over releases */
	case 25: case 26:          /* 2-bit */
		*need = (n + (dt >= 25 ? 15 : 7)) / (dt >= 25 ? 16 : 8);
		*at_least = true;
		return ONNX_DATA_INT32;
	case 7: *need = n; return ONNX_DATA_INT64;
	case 12: case 13: *need = n; return ONNX_DATA_UINT64;
	case 8: *need = n; return ONNX_DATA_STRING;
	default: return -1;
	}
}

/* Bytes of n elements of `bits` each (sub-byte types packed), false on
 * overflow. */
static bool byte_count(uint64_t n, unsigned bits, uint64_t *out)
{
	if (bits % 8 == 0)
		return msi_mul_u64(n, bits / 8, out);
	unsigned per = 8 / bits;
	*out = n / per + (n % per != 0);
	return true;
}

static const char *tname(const onnx_tensor *t)
{
	return onnx_str(t->pb->name);
}

static void check_tensor(chk *c, const onnx_tensor *t)
{
	const Onnx__TensorProto *pb = t->pb;
	if (!pb->has_data_type || pb->data_type == 0) {
		add(c, "onnx.tensor.data_type", "tensor '%s' has %s data_type", tname(t),
		    pb->has_data_type ? "the UNDEFINED" : "no");
		return;
	}
	const char *dtn = onnx_dtype_name(pb->data_type);
	if (!dtn) {
		add(c, "onnx.tensor.data_type", "tensor '%s' has data_type %d, which no ONNX IR defines", tname(t),
		    pb->data_type);
		return;
	}
	if (pb->segment)
		add(c, "onnx.tensor.segment", "tensor '%s' is a segment [%lld, %lld) of a larger tensor", tname(t),
		    (long long)pb->segment->begin, (long long)pb->segment->end);
	uint64_t nelem = 0;
	bool counted = onnx_tensor_elements(t, &nelem);
	if (!counted) {
		bool neg = false;
		for (size_t i = 0; i < pb->n_dims; i++)
			neg |= pb->dims[i] < 0;
		add(c, "onnx.tensor.dims", "tensor '%s' %s", tname(t),
		    neg ? "has a negative dimension" : "has dims whose product overflows 64 bits");
	}
	/* fields with values, as the checker counts them (an empty field is
	 * no field) */
	int nfields = 0, which = -1;
	for (int f = 0; f < ONNX_DATA_FIELDS; f++) {
		if (t->counts[f]) {
			nfields++;
			which = f;
		}
	}
	bool external = pb->has_data_location && pb->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	if (pb->has_data_location && pb->data_location != 0 && !external)
		add(c, "onnx.tensor.data_field", "tensor '%s' has data_location %d, which is neither DEFAULT nor "
		    "EXTERNAL", tname(t), pb->data_location);
	if (external) {
		if (nfields)
			add(c, "onnx.tensor.multiple_data", "tensor '%s' is stored externally and also holds %s", tname(t),
			    data_field_name(which));
		if (pb->data_type == 8)
			add(c, "onnx.tensor.data_field", "string tensor '%s' cannot be stored as external data", tname(t));
		if (t->external_nul)
			add(c, "onnx.external.path_traversal", "tensor '%s': an external_data key or value holds a NUL byte; "
			    "a C reader would see a shorter location than Python does", tname(t));
		bool len_known = false;
		uint64_t len = 0;
		onnx_check_external(c->r, c->where, t, c->base, &len_known, &len);
		unsigned bits = onnx_dtype_bits(pb->data_type);
		uint64_t bytes;
		if (len_known && counted && bits && byte_count(nelem, bits, &bytes)) {
			if (bytes != len)
				add(c, "onnx.external.size", "external tensor '%s' (%s, %llu elements) needs %llu bytes; its "
				    "external data holds %llu", tname(t), dtn, (unsigned long long)nelem,
				    (unsigned long long)bytes, (unsigned long long)len);
		}
		return;
	}
	if (!counted)
		return;
	if (nelem == 0 && nfields) {
		add(c, "onnx.tensor.multiple_data", "tensor '%s' has 0 elements but holds %s", tname(t),
		    data_field_name(which));
		return;
	}
	if (nelem != 0 && nfields != 1) {
		if (nfields == 0)
			add(c, "onnx.tensor.data_missing", "tensor '%s' (%s, %llu elements) holds no data", tname(t), dtn,
			    (unsigned long long)nelem);
		else
			add(c, "onnx.tensor.multiple_data", "tensor '%s' holds %d data fields; one is allowed", tname(t),
			    nfields);
		return;
	}
	if (nelem == 0)
		return;
	if (which == ONNX_DATA_RAW) {
		if (pb->data_type == 8) {
			add(c, "onnx.tensor.data_field", "string tensor '%s' is stored in raw_data; strings go in "
			    "string_data", tname(t));
			return;
		}
		uint64_t bytes;
		if (!byte_count(nelem, onnx_dtype_bits(pb->data_type), &bytes)) {
			add(c, "onnx.tensor.data_size", "tensor '%s' declares %llu elements of %s, more than 2^64 bytes; its "
			    "raw_data holds %llu", tname(t), (unsigned long long)nelem, dtn, (unsigned long long)t->raw_len);
			return;
		}
		if (bytes != t->raw_len)
			add(c, "onnx.tensor.data_size", "tensor '%s' (%s, %llu elements) needs %llu bytes of raw_data; it "
			    "holds %llu", tname(t), dtn, (unsigned long long)nelem, (unsigned long long)bytes,
			    (unsigned long long)t->raw_len);
		return;
	}
	uint64_t need = 0;
	bool at_least;
	int want = typed_field(pb->data_type, nelem, &need, &at_least);
	if (want < 0) {
		add(c, "onnx.tensor.data_field", "tensor '%s' of type %s cannot hold typed values", tname(t), dtn);
		return;
	}
	if (want != which) {
		add(c, "onnx.tensor.data_field", "values of a %s tensor ('%s') belong in %s, not %s", dtn, tname(t),
		    data_field_name(want), data_field_name(which));
		return;
	}
	uint64_t have = t->counts[which];
	if (at_least ? have < need || have > nelem : have != need)
		add(c, "onnx.tensor.data_size", "tensor '%s' (%s, %llu elements) needs %llu values in %s; it holds %llu",
		    tname(t), dtn, (unsigned long long)nelem, (unsigned long long)need, data_field_name(which),
		    (unsigned long long)have);
}

/* ---- sparse tensors ---- */

/* The int64 values of an INT64 tensor (raw_data or int64_data), read from
 * the source; NULL when they cannot be read (then the check is skipped). */
static int64_t *read_int64s(chk *c, const onnx_tensor *t, uint64_t count)
{
	if (!c->src || count == 0 || count > SPARSE_INDEX_READ_MAX / 8)
		return NULL;
	int64_t *v = msi_malloc((size_t)count * sizeof *v);
	if (!v)
		return NULL;
	if (t->counts[ONNX_DATA_RAW]) {
		if (t->raw_len != count * 8)
			goto fail;
		uint8_t *bytes = (uint8_t *)v;
		if (msi_source_read(c->src, t->raw_off, bytes, (size_t)t->raw_len) != MS_OK)
			goto fail;
		for (uint64_t i = 0; i < count; i++)
			v[i] = (int64_t)msi_le64(bytes + i * 8);
		return v;
	}
	if (t->counts[ONNX_DATA_INT64] != count || t->msg_len > SPARSE_INDEX_READ_MAX)
		goto fail;
	uint8_t *msg = msi_malloc((size_t)t->msg_len ? (size_t)t->msg_len : 1);
	if (!msg || msi_source_read(c->src, t->msg_off, msg, (size_t)t->msg_len) != MS_OK) {
		msi_free(msg);
		goto fail;
	}
	uint64_t n = 0;
	msi_cursor cur = msi_cursor_make(msg, (size_t)t->msg_len);
	while (msi_cursor_left(&cur) > 0 && !cur.failed) {
		uint64_t tag = msi_cursor_varint(&cur);
		uint64_t fnum = tag >> 3;
		int wt = (int)(tag & 7);
		if (wt == 0) {
			uint64_t x = msi_cursor_varint(&cur);
			if (fnum == 7 && n < count)
				v[n++] = (int64_t)x;
		} else if (wt == 2) {
			uint64_t len = msi_cursor_varint(&cur);
			if (len > msi_cursor_left(&cur))
				break;
			if (fnum == 7) {
				msi_cursor sub = msi_cursor_make(cur.data + cur.pos, (size_t)len);
				while (msi_cursor_left(&sub) > 0 && !sub.failed && n < count)
					v[n++] = (int64_t)msi_cursor_varint(&sub);
			}
			cur.pos += (size_t)len;
		} else if (wt == 1) {
			cur.pos = msi_cursor_left(&cur) >= 8 ? cur.pos + 8 : cur.len;
		} else if (wt == 5) {
			cur.pos = msi_cursor_left(&cur) >= 4 ? cur.pos + 4 : cur.len;
		} else {
			break;
		}
	}
	msi_free(msg);
	if (n == count)
		return v;
fail:
	msi_free(v);
	return NULL;
}

static void check_sparse(chk *c, const onnx_sparse *s)
{
	if (!s->values) {
		add(c, "onnx.sparse.values", "a sparse tensor has no values");
		return;
	}
	const char *name = tname(s->values);
	check_tensor(c, s->values);
	if (s->values->pb->n_dims != 1) {
		add(c, "onnx.sparse.values", "sparse tensor '%s': values have rank %zu; rank 1 [NNZ] is required", name,
		    s->values->pb->n_dims);
		return;
	}
	int64_t nnz = s->values->pb->dims[0];
	if (s->n_dims == 0) {
		add(c, "onnx.sparse.dims", "sparse tensor '%s' has no dims (dense rank 0)", name);
		return;
	}
	uint64_t dense = 1;
	bool dense_ok = true;
	for (size_t i = 0; i < s->n_dims; i++) {
		if (s->dims[i] <= 0) {
			add(c, "onnx.sparse.dims", "sparse tensor '%s': dimension %zu is %lld; dims must be positive", name, i,
			    (long long)s->dims[i]);
			return;
		}
		dense_ok = dense_ok && msi_mul_u64(dense, (uint64_t)s->dims[i], &dense) && dense <= INT64_MAX;
	}
	if (!dense_ok) {
		add(c, "onnx.sparse.dims", "sparse tensor '%s': the dense size overflows 64 bits", name);
		return;
	}
	const onnx_tensor *ix = s->indices;
	if (!ix) {
		if (nnz != 0)
			add(c, "onnx.sparse.indices", "sparse tensor '%s' has %lld values and no indices", name, (long long)nnz);
		return;
	}
	check_tensor(c, ix);
	if (ix->pb->data_type != 7) {
		add(c, "onnx.sparse.indices", "sparse tensor '%s': indices are of type %s; INT64 is required", name,
		    onnx_str(onnx_dtype_name(ix->pb->data_type)));
		return;
	}
	size_t rank = ix->pb->n_dims;
	if (rank != 1 && rank != 2) {
		add(c, "onnx.sparse.indices", "sparse tensor '%s': indices have rank %zu; 1 or 2 is required", name, rank);
		return;
	}
	if (ix->pb->dims[0] != nnz || (rank == 2 && ix->pb->dims[1] != (int64_t)s->n_dims)) {
		add(c, "onnx.sparse.indices", "sparse tensor '%s': indices have shape [%lld%s%s] for %lld values of "
		    "rank %zu", name, (long long)ix->pb->dims[0], rank == 2 ? ", " : "",
		    rank == 2 ? "..." : "", (long long)nnz, s->n_dims);
		return;
	}
	if (nnz <= 0)
		return;
	uint64_t count;
	if (!msi_mul_u64((uint64_t)nnz, rank == 2 ? s->n_dims : 1, &count)) {
		add(c, "onnx.sparse.indices", "sparse tensor '%s': %lld entries of rank %zu overflow an index count",
		    name, (long long)nnz, s->n_dims);
		return;
	}
	int64_t *v = read_int64s(c, ix, count);
	if (!v)
		return; /* the size checks above have said what is wrong with the data */
	int64_t prev = -1;
	for (int64_t i = 0; i < nnz; i++) {
		int64_t lin = 0;
		if (rank == 1) {
			lin = v[i];
			if (lin < 0 || (uint64_t)lin >= dense) {
				add(c, "onnx.sparse.indices", "sparse tensor '%s': index %lld (entry %lld) is outside the %llu "
				    "dense elements", name, (long long)lin, (long long)i, (unsigned long long)dense);
				break;
			}
		} else {
			bool bad = false;
			for (size_t d = 0; d < s->n_dims; d++) {
				int64_t x = v[(uint64_t)i * s->n_dims + d];
				if (x < 0 || x >= s->dims[d]) {
					add(c, "onnx.sparse.indices", "sparse tensor '%s': entry %lld has coordinate %lld in "
					    "dimension %zu of size %lld", name, (long long)i, (long long)x, d, (long long)s->dims[d]);
					bad = true;
					break;
				}
				lin = lin * s->dims[d] + x; /* < dense <= INT64_MAX */
			}
			if (bad)
				break;
		}
		if (lin <= prev) {
			add(c, "onnx.sparse.indices", "sparse tensor '%s': entry %lld is not after the one before it "
			    "(indices must be strictly increasing)", name, (long long)i);
			break;
		}
		prev = lin;
	}
	msi_free(v);
}

/* ---- value infos ---- */

static void check_type(chk *c, const char *name, const Onnx__TypeProto *t, bool main, unsigned depth)
{
	if (!t) {
		if (main)
			add(c, "onnx.value.type_missing", "value '%s' has no type", name);
		return;
	}
	if (depth > ONNX_MAX_DEPTH)
		return; /* the reader capped nesting already */
	switch (t->value_case) {
	case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
	case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE: {
		bool sparse = t->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE;
		bool has_elem = sparse ? t->sparse_tensor_type->has_elem_type : t->tensor_type->has_elem_type;
		int32_t elem = sparse ? t->sparse_tensor_type->elem_type : t->tensor_type->elem_type;
		const Onnx__TensorShapeProto *shape = sparse ? t->sparse_tensor_type->shape : t->tensor_type->shape;
		if (main && !has_elem)
			add(c, "onnx.value.type_missing", "value '%s': its %s type has no elem_type", name,
			    sparse ? "sparse tensor" : "tensor");
		if (main && !shape)
			add(c, "onnx.value.type_missing", "value '%s': its %s type has no shape", name,
			    sparse ? "sparse tensor" : "tensor");
		if (has_elem && !onnx_dtype_name(elem))
			add(c, "onnx.value.type_invalid", "value '%s': elem_type %d is not an ONNX data type", name, elem);
		/* a warning, not an error: older exporters wrote -1 for "unknown"
		 * and onnx accepts it */
		for (size_t i = 0; shape && i < shape->n_dim; i++) {
			const Onnx__TensorShapeProto__Dimension *d = shape->dim[i];
			if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value < 0) {
				add(c, "onnx.value.negative_dim", "value '%s': dimension %zu is %lld", name, i,
				    (long long)d->dim_value);
				break;
			}
		}
		break;
	}
	case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
		if (!t->sequence_type->elem_type) {
			if (main)
				add(c, "onnx.value.type_missing", "value '%s': its sequence type has no elem_type", name);
		} else {
			check_type(c, name, t->sequence_type->elem_type, false, depth + 1);
		}
		break;
	case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
		if (!t->optional_type->elem_type) {
			if (main)
				add(c, "onnx.value.type_missing", "value '%s': its optional type has no elem_type", name);
		} else {
			check_type(c, name, t->optional_type->elem_type, false, depth + 1);
		}
		break;
	case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
		if (main && (!t->map_type->has_key_type || !t->map_type->value_type))
			add(c, "onnx.value.type_missing", "value '%s': its map type lacks the key or value type", name);
		if (t->map_type->value_type)
			check_type(c, name, t->map_type->value_type, false, depth + 1);
		break;
	case ONNX__TYPE_PROTO__VALUE_OPAQUE_TYPE:
		break;
	default:
		if (main)
			add(c, "onnx.value.type_invalid", "value '%s': its type sets none of tensor, sequence, map, optional, "
			    "sparse tensor or opaque", name);
		break;
	}
}

static void check_value_info(chk *c, const Onnx__ValueInfoProto *v, const char *role, bool main)
{
	const char *name = onnx_str(v->name);
	if (!*name) {
		add(c, "onnx.value.name_empty", "a graph %s has no name", role);
		return;
	}
	if (main)
		check_type(c, name, v->type, true, 0);
}

/* ---- nodes, attributes, graphs ---- */

typedef struct ctx {
	opsets *ops;                 /* not const: opsets_lookup remembers the last lookup */
	bool main;                   /* the model's main graph (types are required) */
	bool in_function;
} ctx;

static void check_graph(chk *c, const onnx_graph *g, const scope *outer, const ctx *x);

static bool attr_type_fits(int type, unsigned field)
{
	static const int types[] = { [2] = 1, [3] = 2, [4] = 3, [5] = 4, [6] = 5, [7] = 6, [8] = 7, [9] = 8,
	                             [10] = 9, [11] = 10, [14] = 13, [15] = 14, [22] = 11, [23] = 12 };
	return field < MSI_ARRAY_LEN(types) && types[field] == type;
}

static const char *attr_type_name(int t)
{
	static const char *const names[] = { "UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS",
	                                     "INTS", "STRINGS", "TENSORS", "GRAPHS", "SPARSE_TENSOR",
	                                     "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS" };
	return t >= 0 && (size_t)t < MSI_ARRAY_LEN(names) ? names[t] : "unknown";
}

/* The value fields an attribute holds, as (field number) list. */
static int attr_value_fields(const Onnx__AttributeProto *a, unsigned *fields)
{
	int n = 0;
	if (a->has_f) fields[n++] = 2;
	if (a->has_i) fields[n++] = 3;
	if (a->has_s) fields[n++] = 4;
	if (a->t) fields[n++] = 5;
	if (a->g) fields[n++] = 6;
	if (a->n_floats) fields[n++] = 7;
	if (a->n_ints) fields[n++] = 8;
	if (a->n_strings) fields[n++] = 9;
	if (a->n_tensors) fields[n++] = 10;
	if (a->n_graphs) fields[n++] = 11;
	if (a->tp) fields[n++] = 14;
	if (a->n_type_protos) fields[n++] = 15;
	if (a->sparse_tensor) fields[n++] = 22;
	if (a->n_sparse_tensors) fields[n++] = 23;
	return n;
}

static void check_attribute(chk *c, const Onnx__AttributeProto *a, const onnx_attr_ext *e, const scope *sc,
                            const ctx *x)
{
	const char *name = onnx_str(a->name);
	if (!*name)
		add(c, "onnx.attribute.name_empty", "an attribute has no name");
	if (c->ir >= 2 && !a->has_type)
		add(c, "onnx.attribute.type_missing", "attribute '%s' has no type (required from IR 2)", name);
	unsigned fields[16];
	int n = attr_value_fields(a, fields);
	if (a->has_type) {
		for (int i = 0; i < n; i++) {
			if (!attr_type_fits(a->type, fields[i])) {
				add(c, "onnx.attribute.value", "attribute '%s' is of type %s but holds a value in field %u", name,
				    attr_type_name(a->type), fields[i]);
				break;
			}
		}
	}
	if (n > 1)
		add(c, "onnx.attribute.value", "attribute '%s' holds %d value fields; one is allowed", name, n);
	if (a->ref_attr_name && *a->ref_attr_name) {
		if (!x->in_function)
			add(c, "onnx.attribute.ref_outside_function", "attribute '%s' refers to function attribute '%s' "
			    "outside a function body", name, a->ref_attr_name);
		else if (n)
			add(c, "onnx.attribute.value", "attribute '%s' refers to '%s' and also holds a value", name,
			    a->ref_attr_name);
		return;
	}
	size_t w = where_push(c, "attribute '%s'", name);
	if (e->t)
		check_tensor(c, e->t);
	for (size_t i = 0; i < e->n_tensors; i++)
		check_tensor(c, e->tensors[i]);
	if (e->sparse_tensor)
		check_sparse(c, e->sparse_tensor);
	for (size_t i = 0; i < e->n_sparse_tensors; i++)
		check_sparse(c, e->sparse_tensors[i]);
	ctx sub = *x;
	sub.main = false;
	if (e->g)
		check_graph(c, e->g, sc, &sub);
	for (size_t i = 0; i < e->n_graphs; i++)
		check_graph(c, e->graphs[i], sc, &sub);
	where_pop(c, w);
}

static bool is_local_function(const chk *c, const onnx_node *n)
{
	if (!c->functions.n)
		return false;
	char key[1024];
	int k = snprintf(key, sizeof key, "%s\n%s\n%s", norm_domain(n->domain), onnx_str(n->op_type),
	                 onnx_str(n->overload));
	return k >= 0 && (size_t)k < sizeof key && onnx_strset_get(&c->functions, key);
}

static bool names_all_set(const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!names[i] || !names[i][0])
			return false;
	}
	return true;
}

/* The slot of c->clean for a node (see chk), and whether the node is
 * plain: no attributes, no empty input or output name. Inline: nearly
 * every node of a big graph ends here. */
static inline __typeof__(((chk *)0)->clean[0]) *clean_slot(chk *c, const onnx_node *n, int64_t version,
                                                            bool *plain)
{
	*plain = n->n_attribute == 0 && names_all_set(n->input, n->n_input) &&
	         names_all_set(n->output, n->n_output);
	uintptr_t ph = ((uintptr_t)n->op_type >> 3) ^ ((uintptr_t)n->domain >> 5) ^ (uintptr_t)version * 31u ^
	               (uintptr_t)n->n_input * 0x9E3779B1u ^ (uintptr_t)n->n_output * 0x85EBCA77u;
	return &c->clean[(ph ^ (ph >> 11)) % MSI_ARRAY_LEN(c->clean)];
}

static inline bool known_clean(chk *c, const onnx_node *n, int64_t version)
{
	bool plain;
	__typeof__(c->clean[0]) *memo = clean_slot(c, n, version, &plain);
	return plain && memo->op_type == n->op_type && memo->domain == n->domain && memo->version == version &&
	       memo->n_input == n->n_input && memo->n_output == n->n_output;
}

static void check_node_schema(chk *c, const onnx_node *nd, const ctx *x, int64_t version)
{
	const onnx_node *n = nd;
	size_t na = n->n_attribute;
	bool plain;
	__typeof__(c->clean[0]) *memo = clean_slot(c, n, version, &plain);
	const char *names_s[32];
	int types_s[32];
	bool refs_s[32], vals_s[32];
	const char **names = names_s;
	int *types = types_s;
	bool *refs = refs_s, *vals = vals_s;
	void *heap = NULL;
	if (na > 32) {
		heap = msi_malloc(na * (sizeof *names + sizeof *types + 2 * sizeof *refs));
		if (!heap) {
			c->oom = true;
			return;
		}
		names = heap;
		types = (int *)(names + na);
		refs = (bool *)(types + na);
		vals = refs + na;
	}
	for (size_t i = 0; i < na; i++) {
		const Onnx__AttributeProto *a = n->attribute[i];
		unsigned fields[16];
		names[i] = onnx_str(a->name);
		types[i] = a->has_type ? a->type : 0;
		refs[i] = a->ref_attr_name && *a->ref_attr_name;
		vals[i] = attr_value_fields(a, fields) > 0;
	}
	MSI_UNUSED(x);
	msi_onnx_node_sig sig = {
		.op_type = onnx_str(n->op_type),
		.domain = onnx_str(n->domain),
		.n_inputs = n->n_input, .inputs = (const char *const *)n->input,
		.n_outputs = n->n_output, .outputs = (const char *const *)n->output,
		.n_attrs = na, .attr_names = names, .attr_types = types, .attr_is_ref = refs,
		.attr_has_value = vals,
	};
	/* the node's location is written only if the check reports something */
	size_t before = c->r->count;
	msi_onnx_check_node_schema_cached(c->r, "", &sig, version, c->schemas);
	if (c->r->count > before) {
		where_materialize(c);
		msi_report_set_where(c->r, before, c->where);
	} else if (plain && n->op_type) {
		memo->op_type = n->op_type;
		memo->domain = n->domain;
		memo->version = version;
		memo->n_input = n->n_input;
		memo->n_output = n->n_output;
	}
	msi_free(heap);
}

static void check_node(chk *c, const onnx_node *nd, const scope *sc, const ctx *x)
{
	const onnx_node *n = nd;
	if (!n->op_type || !*n->op_type)
		add(c, "onnx.node.op_type_empty", "a node has no op_type");
	if (n->n_input == 0 && n->n_output == 0)
		add(c, "onnx.node.no_io", "the node has neither inputs nor outputs");
	/* attribute names unique */
	for (size_t i = 0; i < n->n_attribute; i++) {
		for (size_t k = 0; k < i; k++) {
			if (strcmp(onnx_str(n->attribute[i]->name), onnx_str(n->attribute[k]->name)) == 0) {
				add(c, "onnx.attribute.duplicate", "attribute '%s' is given twice",
				    onnx_str(n->attribute[i]->name));
				break;
			}
		}
	}
	for (size_t i = 0; i < n->n_attribute; i++)
		check_attribute(c, n->attribute[i], &nd->attrs[i], sc, x);
	if (!n->op_type || !*n->op_type)
		return;
	int64_t version;
	if (!opsets_lookup(x->ops, n->domain, &version)) {
		add(c, "onnx.node.domain_not_imported", "domain '%s' of op %s is not in the opset imports",
		    onnx_str(n->domain), n->op_type);
		return;
	}
	if (is_local_function(c, n))
		return; /* a call of a model-local function: checked as a function */
	if (!onnx_domain_is_default(n->domain) && msi_onnx_schema_max_opset(norm_domain(n->domain)) <= 0)
		return; /* a custom domain: onnx checks it only when asked to */
	if (!known_clean(c, n, version))
		check_node_schema(c, nd, x, version);
}

static void check_graph(chk *c, const onnx_graph *g, const scope *outer, const ctx *x)
{
	size_t w = where_push(c, "graph '%s'", onnx_str(g->name));
	scope sc = { { 0 }, outer };
	size_t names = g->n_inputs + g->n_initializers + g->n_sparse_initializers;
	for (size_t i = 0; i < g->n_nodes; i++)
		names += g->nodes[i].n_output;
	if (!onnx_strset_reserve(&sc.names, names))
		c->oom = true;
	if (!g->name || !*g->name)
		add(c, "onnx.graph.name_empty", "the graph has no name");
	for (size_t i = 0; i < g->n_inputs; i++) {
		const Onnx__ValueInfoProto *v = g->inputs[i];
		check_value_info(c, v, "input", x->main);
		const char *name = onnx_str(v->name);
		if (!*name)
			continue;
		if (scope_has(&sc, name, false))
			add(c, "onnx.graph.duplicate_name", "'%s' is listed twice as a graph input", name);
		scope_add(c, &sc, name);
	}
	for (size_t i = 0; i < g->n_outputs; i++)
		check_value_info(c, g->outputs[i], "output", x->main);
	for (size_t i = 0; i < g->n_value_infos; i++)
		check_value_info(c, g->value_infos[i], "value_info", x->main);

	onnx_strset inits = { 0 };
	for (size_t i = 0; i < g->n_initializers; i++) {
		const onnx_tensor *t = g->initializers[i];
		const char *name = tname(t);
		size_t wi = where_push(c, "initializer %zu '%s'", i, name);
		if (!*name) {
			add(c, "onnx.initializer.name_empty", "an initializer has no name");
		} else {
			uint32_t *v;
			bool existed;
			if (!onnx_strset_put(&inits, name, &v, &existed))
				c->oom = true;
			else if (existed)
				add(c, "onnx.graph.duplicate_name", "'%s' is the name of two initializers", name);
			if (!scope_has(&sc, name, false)) {
				if (c->ir > 0 && c->ir <= 3)
					add(c, "onnx.initializer.not_input", "initializer '%s' is not a graph input (required up "
					    "to IR 3)", name);
				else
					scope_add(c, &sc, name);
			}
		}
		check_tensor(c, t);
		where_pop(c, wi);
	}
	for (size_t i = 0; i < g->n_sparse_initializers; i++) {
		const onnx_sparse *s = g->sparse_initializers[i];
		size_t wi = where_push(c, "sparse initializer %zu", i);
		check_sparse(c, s);
		const char *name = s->values ? tname(s->values) : "";
		if (s->values && !*name) {
			add(c, "onnx.initializer.name_empty", "a sparse initializer has no name (its values tensor's name)");
		} else if (*name) {
			uint32_t *v;
			bool existed;
			if (!onnx_strset_put(&inits, name, &v, &existed))
				c->oom = true;
			else if (existed || scope_has(&sc, name, false))
				add(c, "onnx.graph.duplicate_name", "sparse initializer '%s' repeats a name already defined",
				    name);
			scope_add(c, &sc, name);
		}
		where_pop(c, wi);
	}
	onnx_strset_free(&inits);

	for (size_t i = 0; i < g->n_nodes && i < SSA_AHEAD; i++)
		ssa_prefetch(&g->nodes[i], &sc);
	for (size_t i = 0; i < g->n_nodes; i++) {
		const onnx_node *nd = &g->nodes[i];
		const onnx_node *n = nd;
		if (i + SSA_AHEAD < g->n_nodes)
			ssa_prefetch(&g->nodes[i + SSA_AHEAD], &sc);
		size_t wn = where_push_node(c, i, n);
		for (size_t k = 0; k < n->n_input; k++) {
			const char *in = onnx_str(n->input[k]);
			if (*in && !scope_has_h(&sc, in, n->io_hash[k], true))
				add(c, "onnx.node.undefined_input", "input '%s' is not a graph input, an initializer or the "
				    "output of an earlier node", in);
		}
		check_node(c, nd, &sc, x);
		for (size_t k = 0; k < n->n_output; k++) {
			const char *out = onnx_str(n->output[k]);
			if (!*out)
				continue;
			uint32_t h = n->io_hash[n->n_input + k];
			/* one probe in this graph; the enclosing ones only for subgraphs */
			if (scope_add_h(c, &sc, out, h) || scope_has_h(outer, out, h, true))
				add(c, "onnx.graph.duplicate_name", "output '%s' is already defined (SSA: every name is "
				    "assigned once, subgraphs included)", out);
		}
		where_pop(c, wn);
	}
	for (size_t i = 0; i < g->n_outputs; i++) {
		const char *name = onnx_str(g->outputs[i]->name);
		if (*name && !scope_has(&sc, name, false))
			add(c, "onnx.graph.output_undefined", "graph output '%s' is not produced in this graph", name);
	}
	onnx_strset_free(&sc.names);
	where_pop(c, w);
}

/* ---- functions ---- */

typedef struct fn_graph {
	size_t n;
	size_t **callees;            /* per function, indices it calls */
	size_t *n_callees;
	int *color;
} fn_graph;

static ssize_t function_index(const chk *c, const onnx_node *n)
{
	if (!is_local_function(c, n))
		return -1;
	for (size_t i = 0; i < c->m->n_functions; i++) {
		const Onnx__FunctionProto *f = c->m->functions[i].pb;
		if (strcmp(norm_domain(f->domain), norm_domain(n->domain)) == 0 &&
		    strcmp(onnx_str(f->name), onnx_str(n->op_type)) == 0 &&
		    strcmp(onnx_str(f->overload), onnx_str(n->overload)) == 0)
			return (ssize_t)i;
	}
	return -1;
}

static void collect_calls(const chk *c, const onnx_node *nodes, size_t n, size_t *out, size_t *nout, size_t cap);

static void collect_calls_graph(const chk *c, const onnx_graph *g, size_t *out, size_t *nout, size_t cap)
{
	collect_calls(c, g->nodes, g->n_nodes, out, nout, cap);
}

static void collect_calls(const chk *c, const onnx_node *nodes, size_t n, size_t *out, size_t *nout, size_t cap)
{
	for (size_t i = 0; i < n; i++) {
		ssize_t k = function_index(c, &nodes[i]);
		if (k >= 0 && *nout < cap)
			out[(*nout)++] = (size_t)k;
		for (size_t a = 0; a < nodes[i].n_attribute; a++) {
			const onnx_attr_ext *e = &nodes[i].attrs[a];
			if (e->g)
				collect_calls_graph(c, e->g, out, nout, cap);
			for (size_t j = 0; j < e->n_graphs; j++)
				collect_calls_graph(c, e->graphs[j], out, nout, cap);
		}
	}
}

/* Depth-first search for a cycle from function i (colors: 0 new, 1 on the
 * path, 2 done). Iterative: a hostile call chain cannot exhaust the stack. */
static ssize_t find_cycle(fn_graph *fg, size_t start)
{
	size_t *stack = msi_calloc(fg->n + 1, sizeof *stack);
	size_t *next = msi_calloc(fg->n + 1, sizeof *next);
	ssize_t found = -1;
	if (!stack || !next)
		goto out;
	size_t top = 0;
	stack[0] = start;
	next[0] = 0;
	fg->color[start] = 1;
	while (top != (size_t)-1 && found < 0) {
		size_t f = stack[top];
		if (next[top] < fg->n_callees[f]) {
			size_t g = fg->callees[f][next[top]++];
			if (fg->color[g] == 1) {
				found = (ssize_t)g;
			} else if (fg->color[g] == 0 && top + 1 < fg->n + 1) {
				fg->color[g] = 1;
				stack[++top] = g;
				next[top] = 0;
			}
		} else {
			fg->color[f] = 2;
			top--;
		}
	}
out:
	msi_free(stack);
	msi_free(next);
	return found;
}

static void check_function_calls(chk *c)
{
	size_t n = c->m->n_functions;
	fn_graph fg = { n, msi_calloc(n, sizeof(size_t *)), msi_calloc(n, sizeof(size_t)), msi_calloc(n, sizeof(int)) };
	if (!fg.callees || !fg.n_callees || !fg.color) {
		c->oom = true;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const onnx_function *f = &c->m->functions[i];
		size_t cap = f->n_nodes + 16;
		fg.callees[i] = msi_calloc(cap, sizeof(size_t));
		if (!fg.callees[i]) {
			c->oom = true;
			goto out;
		}
		collect_calls(c, f->nodes, f->n_nodes, fg.callees[i], &fg.n_callees[i], cap);
	}
	for (size_t i = 0; i < n; i++) {
		if (fg.color[i])
			continue;
		ssize_t k = find_cycle(&fg, i);
		if (k >= 0) {
			const Onnx__FunctionProto *f = c->m->functions[k].pb;
			add(c, "onnx.function.call_cycle", "function '%s' (domain '%s') calls itself through its own body "
			    "or the functions it calls", onnx_str(f->name), onnx_str(f->domain));
			break;
		}
	}
out:
	for (size_t i = 0; fg.callees && i < n; i++)
		msi_free(fg.callees[i]);
	msi_free(fg.callees);
	msi_free(fg.n_callees);
	msi_free(fg.color);
}

static void check_function(chk *c, const onnx_function *fn, const opsets *model_ops)
{
	const Onnx__FunctionProto *f = fn->pb;
	size_t w = where_push(c, "function '%s'", onnx_str(f->name));
	if (!f->name || !*f->name)
		add(c, "onnx.function.name_empty", "a function has no name");
	if (c->ir >= 8 && !f->domain)
		add(c, "onnx.function.name_empty", "function '%s' has no domain (required from IR 8)", onnx_str(f->name));
	opsets ops = { 0 };
	if (!opsets_build(&ops, f->opset_import, f->n_opset_import, 3)) {
		c->oom = true;
		opsets_free(&ops);
		where_pop(c, w);
		return;
	}
	scope sc = { { 0 }, NULL };
	for (size_t i = 0; i < f->n_input; i++) {
		if (scope_has(&sc, f->input[i], false))
			add(c, "onnx.function.duplicate_io", "input '%s' is listed twice", f->input[i]);
		scope_add(c, &sc, f->input[i]);
	}
	for (size_t i = 0; i < f->n_output; i++) {
		for (size_t k = 0; k < i; k++) {
			if (strcmp(f->output[i], f->output[k]) == 0) {
				add(c, "onnx.function.duplicate_io", "output '%s' is listed twice", f->output[i]);
				break;
			}
		}
	}
	size_t nattr = f->n_attribute + f->n_attribute_proto;
	for (size_t i = 0; i < nattr; i++) {
		const char *a = i < f->n_attribute ? f->attribute[i]
		                                   : onnx_str(f->attribute_proto[i - f->n_attribute]->name);
		for (size_t k = 0; k < i; k++) {
			const char *b = k < f->n_attribute ? f->attribute[k]
			                                   : onnx_str(f->attribute_proto[k - f->n_attribute]->name);
			if (strcmp(a, b) == 0) {
				add(c, "onnx.function.duplicate_io", "attribute '%s' is declared twice", a);
				break;
			}
		}
	}
	ctx x = { &ops, false, true };
	for (size_t i = 0; i < fn->n_nodes; i++) {
		const onnx_node *nd = &fn->nodes[i];
		const onnx_node *n = nd;
		size_t wn = where_push_node(c, i, n);
		for (size_t k = 0; k < n->n_input; k++) {
			const char *in = onnx_str(n->input[k]);
			if (*in && !scope_has(&sc, in, false))
				add(c, "onnx.node.undefined_input", "input '%s' is not a function input or the output of an "
				    "earlier node", in);
		}
		check_node(c, nd, &sc, &x);
		/* the function's import of this domain must pick the same
		 * operator version as the model's */
		int64_t fv, mv;
		if (n->op_type && opsets_find(&ops, n->domain, &fv) && opsets_find(model_ops, n->domain, &mv) &&
		    fv != mv && msi_onnx_schema_max_opset(norm_domain(n->domain)) > 0) {
			const struct msi_onnx_op_schema *a = msi_onnx_schema_find(norm_domain(n->domain), n->op_type, fv);
			const struct msi_onnx_op_schema *b = msi_onnx_schema_find(norm_domain(n->domain), n->op_type, mv);
			if ((a || b) && (!a || !b || msi_onnx_schema_since(a) != msi_onnx_schema_since(b)))
				add(c, "onnx.function.opset_mismatch", "op %s: the function imports domain '%s' at version "
				    "%lld and the model at %lld, which define different versions of the op", n->op_type,
				    onnx_str(n->domain), (long long)fv, (long long)mv);
		}
		for (size_t k = 0; k < n->n_output; k++) {
			const char *out = onnx_str(n->output[k]);
			if (!*out)
				continue;
			if (scope_has(&sc, out, false))
				add(c, "onnx.graph.duplicate_name", "output '%s' is already defined (SSA)", out);
			scope_add(c, &sc, out);
		}
		where_pop(c, wn);
	}
	onnx_strset_free(&sc.names);
	opsets_free(&ops);
	where_pop(c, w);
}

static void check_functions(chk *c, const opsets *model_ops)
{
	const onnx_model *m = c->m;
	if (m->n_functions > MAX_FUNCTIONS)
		add(c, "onnx.function.too_many", "the model has %zu local functions; onnx allows %u", m->n_functions,
		    MAX_FUNCTIONS);
	c->function_keys = msi_calloc(m->n_functions ? m->n_functions : 1, sizeof *c->function_keys);
	if (!c->function_keys) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < m->n_functions; i++) {
		const Onnx__FunctionProto *f = m->functions[i].pb;
		size_t len = strlen(norm_domain(f->domain)) + strlen(onnx_str(f->name)) + strlen(onnx_str(f->overload)) + 3;
		char *key = msi_malloc(len);
		if (!key) {
			c->oom = true;
			return;
		}
		snprintf(key, len, "%s\n%s\n%s", norm_domain(f->domain), onnx_str(f->name), onnx_str(f->overload));
		c->function_keys[i] = key;
		uint32_t *v;
		bool existed;
		if (!onnx_strset_put(&c->functions, key, &v, &existed)) {
			c->oom = true;
			return;
		}
		if (existed)
			add(c, "onnx.function.duplicate", "function '%s' of domain '%s'%s%s is defined twice",
			    onnx_str(f->name), onnx_str(f->domain), f->overload && *f->overload ? " overload " : "",
			    onnx_str(f->overload));
	}
	for (size_t i = 0; i < m->n_functions; i++)
		check_function(c, &m->functions[i], model_ops);
	check_function_calls(c);
}

/* ---- the model ---- */

static void check_opsets(chk *c, const Onnx__ModelProto *pb)
{
	if (c->ir >= 3 && pb->n_opset_import == 0)
		add(c, "onnx.opset.missing", "IR %lld models must import at least one opset", (long long)c->ir);
	if (c->ir > 0 && c->ir < 3 && pb->n_opset_import > 0)
		add(c, "onnx.opset.unexpected", "IR %lld models have an implicit opset and may not import one",
		    (long long)c->ir);
	for (size_t i = 0; i < pb->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *o = pb->opset_import[i];
		const char *d = onnx_str(o->domain);
		if (o->version < 1 || o->version > INT32_MAX)
			add(c, "onnx.opset.invalid", "domain '%s' is imported at version %lld", d, (long long)o->version);
		for (size_t k = 0; k < i; k++) {
			if (strcmp(norm_domain(pb->opset_import[k]->domain), norm_domain(d)) == 0) {
				add(c, "onnx.opset.duplicate", "domain '%s' is imported twice (versions %lld and %lld)", d,
				    (long long)pb->opset_import[k]->version, (long long)o->version);
				break;
			}
		}
		int64_t max = msi_onnx_schema_max_opset(norm_domain(d));
		if (max > 0 && o->version > max)
			add(c, "onnx.opset.newer_than_table", "domain '%s' is imported at version %lld; the operator table "
			    "(onnx %s) ends at %lld", *d ? d : "ai.onnx", (long long)o->version,
			    msi_onnx_schema_table_version(), (long long)max);
	}
}

void onnx_check_model(const onnx_model *m, const msi_source *src, const onnx_ext_base *base, msi_validate_ctx *vctx)
{
	chk c = { 0 };
	c.m = m;
	c.src = src;
	c.base = base;
	c.r = vctx->report;
	c.schemas = msi_onnx_schema_cache_new(); /* NULL: the checks go uncached */
	const Onnx__ModelProto *pb = m->pb;
	c.ir = pb->has_ir_version ? pb->ir_version : 0;
	if (c.ir <= 0)
		add(&c, "onnx.ir_version.missing", "ir_version is %s", pb->has_ir_version ? "not positive" : "not set");
	else if (c.ir > IR_DEV)
		add(&c, "onnx.ir_version.unsupported", "ir_version %lld is newer than any ONNX IR (the newest released "
		    "is %d, %d is in development)", (long long)c.ir, IR_NEWEST, IR_DEV);
	else if (c.ir == IR_DEV)
		add(&c, "onnx.ir_version.dev", "ir_version %d is still in development", IR_DEV);
	for (size_t i = 0; i < pb->n_metadata_props; i++) {
		for (size_t k = 0; k < i; k++) {
			if (strcmp(onnx_str(pb->metadata_props[i]->key), onnx_str(pb->metadata_props[k]->key)) == 0) {
				add(&c, "onnx.metadata.duplicate_key", "metadata key '%s' appears twice",
				    onnx_str(pb->metadata_props[i]->key));
				break;
			}
		}
	}
	check_opsets(&c, pb);
	opsets ops = { 0 };
	if (!opsets_build(&ops, pb->opset_import, pb->n_opset_import, c.ir)) {
		c.oom = true;
	} else {
		check_functions(&c, &ops);
		if (!m->graph) {
			add(&c, "onnx.graph.missing", "the model has no graph");
		} else {
			ctx x = { &ops, true, false };
			check_graph(&c, m->graph, NULL, &x);
		}
	}
	opsets_free(&ops);
	if (c.oom)
		msi_report_add(c.r, "artifact.limit", "", "out of memory while checking the ONNX model; the checks are "
		               "incomplete");
	for (size_t i = 0; c.function_keys && i < m->n_functions; i++)
		msi_free(c.function_keys[i]);
	msi_free(c.function_keys);
	onnx_strset_free(&c.functions);
	onnx_strset_free(&c.per_code);
	msi_onnx_schema_cache_free(c.schemas);
}
