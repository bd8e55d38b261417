/*
 * Tensors and storages from a pickle's inert tree (pt.h). A tensor is a call
 * of one of torch's rebuild functions (FORMATS.md §5.2):
 *
 *   _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
 *   _rebuild_tensor_v3(..., hooks, dtype[, metadata])   dtypes without a storage class
 *   _rebuild_tensor(storage, offset, size, stride)        oldest form
 *   _rebuild_qtensor(storage, offset, size, stride, ...)  quantized
 *   _rebuild_parameter(tensor, requires_grad, hooks)      a Parameter around one
 *   torch._tensor._rebuild_from_type_v2(func, type, args, state)
 *
 * and `storage` is a persistent id ('storage', <class>, key, location, numel)
 * (a 6-tuple with view metadata in the legacy format). Nothing here trusts
 * the tree: every item is checked for kind before use, and the walk is
 * bounded in depth and in nodes visited (the tree can share nodes and even
 * be cyclic).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pt.h"

#define WALK_DEPTH_MAX 64
#define RANK_MAX 64 /* torch itself stops at 64 dimensions */

typedef struct dtype_info {
	const char *name;  /* storage class or dtype global name */
	const char *dtype; /* canonical dtype, as torch prints it without "torch." */
	uint32_t size;
} dtype_info;

static const dtype_info storage_classes[] = {
	{ "DoubleStorage", "float64", 8 },       { "FloatStorage", "float32", 4 },
	{ "HalfStorage", "float16", 2 },         { "BFloat16Storage", "bfloat16", 2 },
	{ "LongStorage", "int64", 8 },           { "IntStorage", "int32", 4 },
	{ "ShortStorage", "int16", 2 },          { "CharStorage", "int8", 1 },
	{ "ByteStorage", "uint8", 1 },           { "BoolStorage", "bool", 1 },
	{ "ComplexDoubleStorage", "complex128", 16 }, { "ComplexFloatStorage", "complex64", 8 },
	{ "QInt8Storage", "qint8", 1 },          { "QUInt8Storage", "quint8", 1 },
	{ "QInt32Storage", "qint32", 4 },        { "QUInt4x2Storage", "quint4x2", 1 },
	{ "QUInt2x4Storage", "quint2x4", 1 },    { "UntypedStorage", "uint8", 1 },
};

/* torch.<name> dtype globals, aliases included (torch.float is torch.float32). */
static const dtype_info dtype_names[] = {
	{ "float32", "float32", 4 },   { "float", "float32", 4 },      { "float64", "float64", 8 },
	{ "double", "float64", 8 },    { "float16", "float16", 2 },    { "half", "float16", 2 },
	{ "bfloat16", "bfloat16", 2 }, { "int64", "int64", 8 },        { "long", "int64", 8 },
	{ "int32", "int32", 4 },       { "int", "int32", 4 },          { "int16", "int16", 2 },
	{ "short", "int16", 2 },       { "int8", "int8", 1 },          { "uint8", "uint8", 1 },
	{ "uint16", "uint16", 2 },     { "uint32", "uint32", 4 },      { "uint64", "uint64", 8 },
	{ "bool", "bool", 1 },         { "complex32", "complex32", 4 }, { "chalf", "complex32", 4 },
	{ "complex64", "complex64", 8 }, { "cfloat", "complex64", 8 }, { "complex128", "complex128", 16 },
	{ "cdouble", "complex128", 16 }, { "qint8", "qint8", 1 },      { "quint8", "quint8", 1 },
	{ "qint32", "qint32", 4 },     { "quint4x2", "quint4x2", 1 },  { "quint2x4", "quint2x4", 1 },
	{ "float8_e4m3fn", "float8_e4m3fn", 1 }, { "float8_e5m2", "float8_e5m2", 1 },
	{ "float8_e4m3fnuz", "float8_e4m3fnuz", 1 }, { "float8_e5m2fnuz", "float8_e5m2fnuz", 1 },
};

static bool lookup(const dtype_info *t, size_t n, const char *name, const char **dtype, uint32_t *size)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0) {
			*dtype = t[i].dtype;
			*size = t[i].size;
			return true;
		}
	return false;
}

bool pt_dtype_of_storage(const char *type_name, const char **dtype, uint32_t *elem_size)
{
	return lookup(storage_classes, MSI_ARRAY_LEN(storage_classes), type_name, dtype, elem_size);
}

bool pt_dtype_of_name(const char *name, const char **dtype, uint32_t *elem_size)
{
	return lookup(dtype_names, MSI_ARRAY_LEN(dtype_names), name, dtype, elem_size);
}

void pt_tensors_init(pt_tensors *t, ms_report *r, const char *where)
{
	memset(t, 0, sizeof *t);
	t->report = r;
	t->where = where;
	t->budget = 50u * 1000u * 1000u;
}

/* Keys and shapes live in chunks freed together: a state dict has
 * thousands of tensors, and a malloc per key was a fifth of a validate. */
typedef struct pt_chunk {
	struct pt_chunk *next;
	size_t used, cap;
	max_align_t data[];
} pt_chunk;

#define CHUNK_SIZE (64u * 1024u)

static void *chunk_alloc(pt_tensors *t, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	pt_chunk *c = t->chunks;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;
		c = msi_malloc(sizeof *c + cap);
		if (!c) {
			t->failed = true;
			return NULL;
		}
		c->next = t->chunks;
		c->used = 0;
		c->cap = cap;
		t->chunks = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

/* The tables grow with the archive (6,000 tensors are ~1 MB of them):
 * they live in msi_big_* blocks, which a registry's next validation reuses
 * instead of faulting in fresh pages. */
static void *grow_big(void *arr, size_t cap, size_t ncap, size_t elem)
{
	if (ncap > SIZE_MAX / elem)
		return NULL;
	return msi_big_realloc(arr, cap * elem, ncap * elem);
}

void pt_tensors_free(pt_tensors *t)
{
	for (pt_chunk *c = t->chunks, *next; c; c = next) {
		next = c->next;
		msi_free(c);
	}
	msi_big_free(t->tensors, t->cap_tensors * sizeof *t->tensors);
	msi_big_free(t->storages, t->cap_storages * sizeof *t->storages);
	msi_big_free(t->index, t->index_cap * sizeof *t->index);
	memset(t, 0, sizeof *t);
}

#define finding(t, ...)                                          \
	do {                                                     \
		if ((t)->report)                                 \
			msi_report_add((t)->report, __VA_ARGS__); \
	} while (0)

static const char *str_of(const msi_pv *v)
{
	return v && v->kind == MSI_PV_STR && v->u.str.data ? v->u.str.data : NULL;
}

static bool int_of(const msi_pv *v, int64_t *out)
{
	if (!v)
		return false;
	if (v->kind == MSI_PV_INT) {
		*out = v->u.i;
		return true;
	}
	if (v->kind == MSI_PV_BOOL) {
		*out = v->u.b;
		return true;
	}
	return false;
}

/* ---- storages: one per key, found through a hash of the keys ---- */

static uint64_t hash_str(const char *s, bool constants)
{
	/* data/<key> and constants/<key> are two namespaces */
	return msi_fnv1a_str(constants ? 0x9e3779b97f4a7c15u : MSI_FNV_OFFSET, s);
}

/* Rehashes into at least `want` slots (a power of two, at least twice the
 * capacity it had). */
static bool index_grow_to(pt_tensors *t, size_t want)
{
	size_t cap = t->index_cap ? t->index_cap * 2 : 64;
	while (cap < want)
		cap *= 2;
	size_t *idx = cap <= SIZE_MAX / sizeof *idx ? msi_big_alloc(cap * sizeof *idx) : NULL;
	if (!idx)
		return false;
	memset(idx, 0, cap * sizeof *idx);
	for (size_t i = 0; i < t->nstorages; i++) {
		uint64_t h = hash_str(t->storages[i].key, t->storages[i].constants);
		size_t j = (size_t)h & (cap - 1);
		while (idx[j])
			j = (j + 1) & (cap - 1);
		idx[j] = i + 1;
	}
	msi_big_free(t->index, t->index_cap * sizeof *t->index);
	t->index = idx;
	t->index_cap = cap;
	return true;
}

/* A hint sized from the archive, which a hostile file can inflate only as
 * far as its own record count: capped so it never costs more than the
 * listing itself. */
#define RESERVE_MAX (1u << 20)

bool pt_tensors_reserve(pt_tensors *t, size_t storages)
{
	if (storages > RESERVE_MAX)
		storages = RESERVE_MAX;
	if (storages <= t->cap_storages && storages <= t->cap_tensors)
		return true;
	pt_storage *s = grow_big(t->storages, t->cap_storages, storages, sizeof *s);
	if (!s)
		return false;
	t->storages = s;
	t->cap_storages = storages;
	pt_tensor *x = grow_big(t->tensors, t->cap_tensors, storages, sizeof *x);
	if (!x)
		return false;
	t->tensors = x;
	t->cap_tensors = storages;
	return t->index_cap >= 2 * (storages + 1) || index_grow_to(t, 2 * (storages + 1));
}

/* The storage for `key`, added when new; SIZE_MAX on OOM. */
static size_t storage_find_or_add(pt_tensors *t, const char *key, bool constants, bool *is_new)
{
	*is_new = false;
	if ((t->nstorages + 1) * 2 > t->index_cap && !index_grow_to(t, 0)) {
		t->failed = true;
		return SIZE_MAX;
	}
	uint64_t h = hash_str(key, constants);
	size_t j = (size_t)h & (t->index_cap - 1);
	while (t->index[j]) {
		pt_storage *s = &t->storages[t->index[j] - 1];
		if (s->hash == (uint32_t)(h >> 32) && s->constants == constants && strcmp(s->key, key) == 0)
			return t->index[j] - 1;
		j = (j + 1) & (t->index_cap - 1);
	}
	if (t->nstorages == t->cap_storages) {
		size_t cap = t->cap_storages ? t->cap_storages * 2 : 16;
		pt_storage *s = grow_big(t->storages, t->cap_storages, cap, sizeof *s);
		if (!s) {
			t->failed = true;
			return SIZE_MAX;
		}
		t->storages = s;
		t->cap_storages = cap;
	}
	size_t i = t->nstorages++;
	memset(&t->storages[i], 0, sizeof t->storages[i]);
	t->storages[i].key = key;
	t->storages[i].constants = constants;
	t->storages[i].hash = (uint32_t)(h >> 32);
	t->index[j] = i + 1;
	*is_new = true;
	return i;
}

const pt_storage *pt_tensors_find_storage(const pt_tensors *t, const char *key, bool constants)
{
	if (!t->index_cap)
		return NULL;
	uint64_t h = hash_str(key, constants);
	size_t j = (size_t)h & (t->index_cap - 1);
	while (t->index[j]) {
		const pt_storage *s = &t->storages[t->index[j] - 1];
		if (s->hash == (uint32_t)(h >> 32) && s->constants == constants && strcmp(s->key, key) == 0)
			return s;
		j = (j + 1) & (t->index_cap - 1);
	}
	return NULL;
}

/* A persistent id -> storage index, or SIZE_MAX when it names none. */
static size_t storage_of(pt_tensors *t, const msi_pv *pid, bool legacy, bool constants)
{
	if (!pid || pid->kind != MSI_PV_PERSID)
		return SIZE_MAX;
	const msi_pv *id = pid->u.persid;
	const char *tag = str_of(msi_pv_item(id, 0));
	if (!id || id->kind != MSI_PV_TUPLE || !tag || strcmp(tag, "storage") != 0) {
		finding(t, "pt.storage.invalid_id", t->where, "a persistent id is not a ('storage', class, key, "
		        "location, numel) tuple");
		return SIZE_MAX;
	}
	size_t want = legacy ? 6 : 5;
	const msi_pv *cls = msi_pv_item(id, 1);
	const char *key = str_of(msi_pv_item(id, 2));
	const char *loc = str_of(msi_pv_item(id, 3));
	int64_t numel = -1;
	bool have_numel = int_of(msi_pv_item(id, 4), &numel) && numel >= 0;
	if (id->nitems != want || !cls || cls->kind != MSI_PV_GLOBAL || !key || !loc || !have_numel) {
		finding(t, "pt.storage.invalid_id", t->where, "persistent id for storage '%.40s' has %u items or "
		        "items of the wrong type (expected %zu: 'storage', class, key, location, numel%s)",
		        key ? key : "?", (unsigned)id->nitems, want, legacy ? ", view" : "");
		if (!key)
			return SIZE_MAX;
	}
	bool is_new;
	size_t i = storage_find_or_add(t, key, constants, &is_new);
	if (i == SIZE_MAX)
		return i;
	pt_storage *s = &t->storages[i];
	const char *type_name = cls && cls->kind == MSI_PV_GLOBAL ? cls->u.global.name : "?";
	if (is_new) {
		s->type_name = type_name;
		s->location = loc;
		s->numel = (uint64_t)(numel < 0 ? 0 : numel);
		s->numel_known = have_numel;
		/* one class node serves every storage of a kind (memo): look its
		 * name up once */
		if (cls && cls == t->class_node) {
			s->dtype = t->class_dtype;
			s->elem_size = t->class_size;
		} else if (pt_dtype_of_storage(type_name, &s->dtype, &s->elem_size)) {
			t->class_node = cls;
			t->class_dtype = s->dtype;
			t->class_size = s->elem_size;
		} else {
			finding(t, "pt.storage.unknown_type", t->where, "storage '%.40s' has unknown class '%.100s'",
			        key, type_name);
		}
	} else if (strcmp(s->type_name, type_name) != 0 || (have_numel && s->numel != (uint64_t)numel)) {
		if (!s->conflict_reported) {
			s->conflict_reported = true;
			finding(t, "pt.storage.dtype_conflict", t->where, "storage '%.40s' is named as %.60s of %llu "
			        "elements and again as %.60s of %lld elements", key, s->type_name,
			        (unsigned long long)s->numel, type_name, (long long)numel);
		}
	}
	return i;
}

/* ---- tensors ---- */

static bool name_is(const char *module, const char *name, const char *m, const char *n)
{
	return strcmp(module, m) == 0 && strcmp(name, n) == 0;
}

/* The rebuild call under a value: unwraps _rebuild_parameter and
 * _rebuild_from_type_v2. Returns the rebuild function's argument tuple and
 * its name, or NULL when the value is no tensor. */
static const msi_pv *tensor_args_by_name(const msi_pv *v, const char **fn, bool *parameter, int depth);

/* The rebuild function a call names is mostly one memoized GLOBAL node:
 * the last node that named a plain rebuild function is remembered, so the
 * names are compared once, not once per tensor. */
static const msi_pv *tensor_args(pt_tensors *t, const msi_pv *v, const char **fn, bool *parameter, int depth)
{
	if (!v || v->kind != MSI_PV_CALL)
		return NULL;
	const msi_pv *args = v->u.call.args;
	if (t && v->u.call.callable && v->u.call.callable == t->fn_node) {
		if (!args || args->kind != MSI_PV_TUPLE)
			return NULL;
		*fn = t->fn_name;
		return args;
	}
	bool param = false;
	const msi_pv *a = tensor_args_by_name(v, fn, &param, depth);
	if (a && !param && t && v->u.call.callable && v->u.call.callable->kind == MSI_PV_GLOBAL) {
		t->fn_node = v->u.call.callable;
		t->fn_name = *fn;
	}
	*parameter = *parameter || param;
	return a;
}

static const msi_pv *tensor_args_by_name(const msi_pv *v, const char **fn, bool *parameter, int depth)
{
	const char *m, *n;
	if (depth > 4 || !v || v->kind != MSI_PV_CALL || !msi_pv_call_target(v, &m, &n))
		return NULL;
	const msi_pv *args = v->u.call.args;
	if (!args || args->kind != MSI_PV_TUPLE)
		return NULL;
	if (strcmp(m, "torch._utils") == 0) {
		if (strcmp(n, "_rebuild_tensor_v2") == 0 || strcmp(n, "_rebuild_tensor_v3") == 0 ||
		    strcmp(n, "_rebuild_tensor") == 0 || strcmp(n, "_rebuild_qtensor") == 0) {
			*fn = n;
			return args;
		}
		if (strcmp(n, "_rebuild_parameter") == 0 || strcmp(n, "_rebuild_parameter_with_state") == 0) {
			*parameter = true;
			return tensor_args_by_name(msi_pv_item(args, 0), fn, parameter, depth + 1);
		}
		return NULL;
	}
	if (name_is(m, n, "torch._tensor", "_rebuild_from_type_v2")) {
		/* (func, type, args, state): func applied to args */
		const msi_pv *func = msi_pv_item(args, 0);
		const msi_pv *inner = msi_pv_item(args, 2);
		if (!func || func->kind != MSI_PV_GLOBAL || !inner || inner->kind != MSI_PV_TUPLE ||
		    strcmp(func->u.global.module, "torch._utils") != 0)
			return NULL;
		const char *fname = func->u.global.name;
		if (strcmp(fname, "_rebuild_tensor_v2") != 0 && strcmp(fname, "_rebuild_tensor_v3") != 0 &&
		    strcmp(fname, "_rebuild_tensor") != 0)
			return NULL;
		*fn = fname;
		return inner;
	}
	return NULL;
}

/* A dotted path being built by a walk: parts are appended and cut back. */
typedef struct pt_path {
	char buf[1024];
	size_t len;
	bool overflow; /* deeper than the buffer: later parts are dropped */
} pt_path;

/* Appends ".part" (or "part" at the root), part being n bytes and a NUL;
 * returns the length to cut back to. */
static size_t path_push_n(pt_path *p, const char *part, size_t n)
{
	size_t mark = p->len, need = n + (p->len ? 1 : 0);
	if (p->len + need >= sizeof p->buf) {
		p->overflow = true;
		return mark;
	}
	if (p->len)
		p->buf[p->len++] = '.';
	memcpy(p->buf + p->len, part, n + 1);
	p->len += n;
	return mark;
}

static void path_pop(pt_path *p, size_t mark)
{
	p->len = mark;
	p->buf[mark] = '\0';
}

static pt_tensor *tensor_add(pt_tensors *t, const char *key, size_t kl, const msi_pv *node)
{
	if (t->ntensors == t->cap_tensors) {
		size_t cap = t->cap_tensors ? t->cap_tensors * 2 : 32;
		pt_tensor *n = grow_big(t->tensors, t->cap_tensors, cap, sizeof *n);
		if (!n) {
			t->failed = true;
			return NULL;
		}
		t->tensors = n;
		t->cap_tensors = cap;
	}
	char *k = chunk_alloc(t, kl + 1);
	if (!k)
		return NULL;
	memcpy(k, key, kl + 1);
	pt_tensor *x = &t->tensors[t->ntensors++];
	memset(x, 0, sizeof *x);
	x->key = k;
	x->node = node;
	x->storage = SIZE_MAX;
	return x;
}

/* Reads a size or stride tuple of ints into `out` (rank entries). */
static bool read_ints(const msi_pv *tuple, int64_t *out, uint32_t rank)
{
	for (uint32_t i = 0; i < rank; i++)
		if (!int_of(msi_pv_item(tuple, i), &out[i]))
			return false;
	return true;
}

/* Tensor `v` (already known to be one) under `key`. */
static pt_tensor *take_tensor(pt_tensors *t, const msi_pv *v, const pt_path *path, bool legacy, bool constants)
{
	const char *fn = NULL;
	bool parameter = false;
	const msi_pv *args = tensor_args(t, v, &fn, &parameter, 0);
	if (!args)
		return NULL;
	const char *key = path->buf;
	pt_tensor *x = tensor_add(t, key, path->len, v);
	if (!x)
		return NULL;
	x->storage = storage_of(t, msi_pv_item(args, 0), legacy, constants);
	const pt_storage *s = x->storage != SIZE_MAX ? &t->storages[x->storage] : NULL;
	if (s) {
		x->dtype = s->dtype;
		x->elem_size = s->elem_size;
	}
	if (strcmp(fn, "_rebuild_tensor_v3") == 0) {
		/* the dtype is an argument: (storage, offset, size, stride, rg, hooks, dtype) */
		const msi_pv *d = msi_pv_item(args, 6);
		if (d && d->kind == MSI_PV_GLOBAL && strcmp(d->u.global.module, "torch") == 0)
			pt_dtype_of_name(d->u.global.name, &x->dtype, &x->elem_size);
	}
	int64_t offset = 0;
	const msi_pv *size = msi_pv_item(args, 2), *stride = msi_pv_item(args, 3);
	bool ok = int_of(msi_pv_item(args, 1), &offset) && offset >= 0 && size && stride &&
	          (size->kind == MSI_PV_TUPLE || size->kind == MSI_PV_LIST) &&
	          (stride->kind == MSI_PV_TUPLE || stride->kind == MSI_PV_LIST) && size->nitems <= RANK_MAX &&
	          size->nitems == stride->nitems;
	if (ok) {
		x->rank = size->nitems;
		x->shape = chunk_alloc(t, 2u * (size_t)(x->rank ? x->rank : 1) * sizeof *x->shape);
		if (!x->shape)
			return x;
		x->stride = x->shape + x->rank;
		ok = read_ints(size, x->shape, x->rank) && read_ints(stride, x->stride, x->rank);
	}
	x->offset = (uint64_t)(offset > 0 ? offset : 0);
	x->shape_ok = ok;
	x->numel = 1;
	for (uint32_t i = 0; ok && i < x->rank; i++) {
		if (x->shape[i] < 0 || x->stride[i] < 0) {
			x->shape_ok = false;
			break;
		}
		if (x->numel && (uint64_t)x->shape[i] > UINT64_MAX / x->numel)
			x->numel = UINT64_MAX;
		else
			x->numel *= (uint64_t)x->shape[i];
	}
	if (!x->shape_ok) {
		x->numel = 0;
		finding(t, "pt.tensor.invalid", t->where, "tensor '%.200s': offset, size or stride is not a list "
		        "of non-negative integers of one rank (at most %u)", key, RANK_MAX);
	}
	return x;
}

/* Dict pairs of a DICT node or of a CALL (OrderedDict) that SETITEMS filled. */
static bool has_pairs(const msi_pv *v)
{
	return v && (v->kind == MSI_PV_DICT || (v->kind == MSI_PV_CALL && v->npairs > 0));
}

/* A dict key as a path part in buf (cut at cap - 1 bytes); returns its length. */
static size_t key_text(const msi_pv *k, char *buf, size_t cap)
{
	const char *s = str_of(k);
	size_t n;
	if (s) {
		n = strlen(s);
		if (n >= cap)
			n = cap - 1;
		memcpy(buf, s, n);
		buf[n] = '\0';
		return n;
	}
	int w = k && k->kind == MSI_PV_INT ? snprintf(buf, cap, "%lld", (long long)k->u.i) : snprintf(buf, cap, "?");
	return w < 0 ? 0 : (size_t)w < cap ? (size_t)w : cap - 1;
}

/* A value no walk looks into: no tensor, nothing inside. */
static bool is_leaf(const msi_pv *v)
{
	return !v || (v->kind != MSI_PV_CALL && v->nitems == 0 && v->npairs == 0);
}

static void walk_save(pt_tensors *t, const msi_pv *v, pt_path *path, int depth, bool legacy, bool constants)
{
	if (!v || t->failed || depth > WALK_DEPTH_MAX || t->budget == 0)
		return;
	t->budget--;
	if (v->kind != MSI_PV_CALL && v->nitems == 0 && v->npairs == 0)
		return; /* a leaf: no tensor, nothing inside */
	if (take_tensor(t, v, path, legacy, constants))
		return;
	char part[256];
	if (has_pairs(v)) {
		for (uint32_t i = 0; i < v->npairs && !t->failed; i++) {
			size_t n = key_text(v->pairs[2 * i], part, sizeof part);
			size_t mark = path_push_n(path, part, n);
			walk_save(t, v->pairs[2 * i + 1], path, depth + 1, legacy, constants);
			path_pop(path, mark);
		}
	}
	if (v->kind == MSI_PV_LIST || v->kind == MSI_PV_TUPLE || (v->kind == MSI_PV_CALL && v->nitems > 0)) {
		for (uint32_t i = 0; i < v->nitems && !t->failed; i++) {
			int n = snprintf(part, sizeof part, "%u", (unsigned)i);
			size_t mark = path_push_n(path, part, (size_t)n);
			walk_save(t, v->items[i], path, depth + 1, legacy, constants);
			path_pop(path, mark);
		}
	}
	/* an object's state (BUILD): its attributes continue the path */
	if (v->kind == MSI_PV_CALL && v->state && v->state != v)
		walk_save(t, v->state, path, depth + 1, legacy, constants);
}

uint64_t pt_tensors_total_elements(const pt_tensors *t)
{
	uint64_t total = 0;
	for (size_t i = 0; i < t->ntensors; i++)
		total = msi_sat_add_u64(total, t->tensors[i].numel);
	return total;
}

void pt_tensors_collect(pt_tensors *t, const msi_pv *root, bool legacy, bool constants)
{
	pt_path path;
	path.buf[0] = '\0';
	path.len = 0;
	path.overflow = false;
	walk_save(t, root, &path, 0, legacy, constants);
}

static void walk_module(pt_tensors *t, const msi_pv *v, pt_path *path, const pt_class_lists *lists, int depth)
{
	if (!v || t->failed || depth > WALK_DEPTH_MAX || t->budget == 0)
		return;
	t->budget--;
	const char *m, *n;
	if (v->kind != MSI_PV_CALL || !msi_pv_call_target(v, &m, &n) || !has_pairs(v->state)) {
		walk_save(t, v, path, depth, false, false); /* tensors inside lists, dicts, tuples */
		return;
	}
	/* the modules of one class share its memoized GLOBAL node: one lookup */
	const pt_class *cls;
	if (v->u.call.callable == t->module_node) {
		cls = t->module_class;
	} else {
		cls = lists ? pt_class_lists_find(lists, m, n) : NULL;
		t->module_node = v->u.call.callable;
		t->module_class = cls;
	}
	const msi_pv *state = v->state;
	char part[256];
	for (uint32_t i = 0; i < state->npairs && !t->failed; i++) {
		const msi_pv *val = state->pairs[2 * i + 1];
		if (is_leaf(val))
			continue; /* `training`, hooks: neither a tensor nor a module */
		size_t kn = key_text(state->pairs[2 * i], part, sizeof part);
		size_t mark = path_push_n(path, part, kn);
		pt_tensor *x = take_tensor(t, val, path, false, false);
		if (x) {
			int what = pt_class_attr_kind(cls, part);
			x->parameter = what == 1;
			x->buffer = what == 2;
		} else {
			walk_module(t, val, path, lists, depth + 1);
		}
		path_pop(path, mark);
	}
}

void pt_tensors_collect_module(pt_tensors *t, const msi_pv *root, const pt_class_lists *lists)
{
	pt_path path;
	path.buf[0] = '\0';
	path.len = 0;
	path.overflow = false;
	walk_module(t, root, &path, lists, 0);
}

const char *pt_top_level_type(const msi_pv *root, char *buf, size_t cap)
{
	const char *m, *n, *fn = NULL;
	bool parameter = false;
	if (!root)
		return "none";
	if (tensor_args(NULL, root, &fn, &parameter, 0))
		return parameter ? "Parameter" : "Tensor";
	switch (root->kind) {
	case MSI_PV_NONE: return "NoneType";
	case MSI_PV_BOOL: return "bool";
	case MSI_PV_INT:
	case MSI_PV_BIGINT: return "int";
	case MSI_PV_FLOAT: return "float";
	case MSI_PV_STR: return "str";
	case MSI_PV_BYTES: return "bytes";
	case MSI_PV_BYTEARRAY: return "bytearray";
	case MSI_PV_TUPLE: return "tuple";
	case MSI_PV_LIST: return "list";
	case MSI_PV_DICT: return "dict";
	case MSI_PV_SET: return "set";
	case MSI_PV_FROZENSET: return "frozenset";
	case MSI_PV_CALL:
		if (msi_pv_call_target(root, &m, &n)) {
			if (strcmp(m, "collections") == 0 || strcmp(m, "builtins") == 0 || strncmp(m, "__torch__", 9) != 0)
				snprintf(buf, cap, "%s", n);
			else
				snprintf(buf, cap, "%s.%s", m, n);
			return buf;
		}
		return "object";
	default: return "object";
	}
}

/* ---- JSON shared by zip and legacy torch.save ---- */

bool pt_dict_like(const char *m, const char *n)
{
	return (strcmp(m, "collections") == 0 && (strcmp(n, "OrderedDict") == 0 || strcmp(n, "Counter") == 0 ||
	                                          strcmp(n, "defaultdict") == 0)) ||
	       (strcmp(m, "builtins") == 0 && strcmp(n, "dict") == 0);
}

static void write_shape(msi_json *j, const pt_tensor *x)
{
	msi_json_array_begin(j);
	for (uint32_t i = 0; x->shape_ok && i < x->rank; i++)
		msi_json_int(j, x->shape[i]);
	msi_json_array_end(j);
}

void pt_write_top_level(const msi_pv *root, msi_json *j)
{
	char buf[300];
	msi_json_key(j, "top_level_type");
	msi_json_string(j, pt_top_level_type(root, buf, sizeof buf));
	const char *m, *n;
	bool dict = root && (root->kind == MSI_PV_DICT || (root->kind == MSI_PV_CALL && (root->npairs ||
	                     (msi_pv_call_target(root, &m, &n) && pt_dict_like(m, n)))));
	if (dict) {
		msi_json_key(j, "top_level_keys");
		msi_json_array_begin(j);
		for (uint32_t i = 0; i < root->npairs; i++) {
			const msi_pv *k = root->pairs[2 * i];
			if (k && k->kind == MSI_PV_STR && k->u.str.data)
				msi_json_stringn(j, k->u.str.data, k->u.str.len);
			else if (k && k->kind == MSI_PV_INT)
				msi_json_int(j, k->u.i);
			else
				msi_json_null(j);
		}
		msi_json_array_end(j);
	}
}

void pt_write_tensors(const pt_tensors *t, msi_json *j)
{
	msi_json_key(j, "tensors");
	msi_json_object_begin(j);
	for (size_t i = 0; i < t->ntensors; i++) {
		const pt_tensor *x = &t->tensors[i];
		msi_json_key(j, x->key);
		msi_json_object_begin(j);
		msi_json_key(j, "dtype");
		msi_json_string(j, x->dtype);
		msi_json_key(j, "shape");
		write_shape(j, x);
		msi_json_key(j, "storage");
		msi_json_string(j, x->storage != SIZE_MAX ? t->storages[x->storage].key : NULL);
		msi_json_object_end(j);
	}
	msi_json_object_end(j);
}

