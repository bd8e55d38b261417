/*
 * Reading saved_model.pb without trusting it (see tf_sm.h).
 *
 * The walk goes SavedModel → MetaGraphDef → {MetaInfoDef, GraphDef →
 * NodeDef / FunctionDefLibrary → FunctionDef → NodeDef, SavedObjectGraph},
 * through a bounded window over the source: a frozen graph's Const
 * tensor_content is skipped by its length, never read, so a 1 GiB graph
 * costs its headers. Every field header is checked (field number, wire
 * type, length inside its message), nesting is capped at TF_MAX_DEPTH, and
 * strings are copied into one arena capped by max_metadata. The small
 * messages (signatures, saver, assets, object-graph nodes) are checked the
 * same way, recursively, then handed to protobuf-c with the arena as its
 * allocator; protobuf-c alone would recurse without limit and copy every
 * bytes field of the whole file.
 *
 * Arrays of nodes and functions are sized by a first pass over their
 * parent's field headers; a node's short lists go through scratch vectors
 * and are copied once the node is done.
 */
#include <stdio.h>
#include <string.h>

#include "tf_sm.h"

#define WINDOW_MIN (16u * 1024u)           /* a refill after a jump */
#define WINDOW_MAX (4u * 1024u * 1024u)    /* largest refill of a sequential walk */
#define LEAF_MAX (16u * 1024u * 1024u)     /* one small message, or one string */
#define CONST_STRINGS_MAX (4u * 1024u * 1024u) /* a string Const kept for the restore checks */
#define ARENA_CHUNK (64u * 1024u)

/* ---- arena ---- */

typedef struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
} arena_chunk;

struct tf_sm_arena {
	arena_chunk *head;
	uint64_t total, cap;
	bool over;
};

static void *arena_alloc(tf_sm_arena *a, size_t size)
{
	if (size > SIZE_MAX / 2) {
		a->over = true;
		return NULL;
	}
	size = (size + 7) & ~(size_t)7;
	arena_chunk *c = a->head;
	if (!c || c->size - c->used < size) {
		size_t want = size > ARENA_CHUNK / 4 ? size : ARENA_CHUNK;
		if (a->total + want > a->cap) {
			a->over = true;
			return NULL;
		}
		arena_chunk *n = msi_malloc(sizeof *n + want);
		if (!n)
			return NULL;
		n->size = want;
		n->used = 0;
		a->total += want;
		if (want > ARENA_CHUNK && c) {
			/* a big block goes behind the open chunk */
			n->next = c->next;
			c->next = n;
			n->used = size;
			return n->data;
		}
		n->next = c;
		a->head = n;
		c = n;
	}
	void *p = c->data + c->used;
	c->used += size;
	return p;
}

static void *arena_array(tf_sm_arena *a, uint64_t count, size_t size)
{
	uint64_t bytes;
	if (!msi_mul_u64(count, size, &bytes) || bytes > SIZE_MAX / 2)
		return NULL;
	void *p = arena_alloc(a, bytes ? (size_t)bytes : 1);
	if (p)
		memset(p, 0, (size_t)bytes);
	return p;
}

static void *pb_alloc(void *data, size_t size) { return arena_alloc(data, size); }
static void pb_free(void *data, void *p) { MSI_UNUSED(data); MSI_UNUSED(p); }

/* ---- the reader ---- */

typedef struct vec {
	void *items;
	size_t n, cap;
} vec;

typedef struct rd {
	const msi_source *src;
	const uint8_t *mem;
	uint64_t size;
	uint8_t *win;
	size_t win_cap, win_len, win_next;
	uint64_t win_off;
	tf_savedmodel *m;
	tf_sm_arena *arena;
	ProtobufCAllocator pa;
	/* a node's lists while it is walked */
	vec inputs, calls, urls, strings, dtypes;
	int rc;
	bool stop;
} rd;

static bool fail(rd *r, const char *code, uint64_t off, const char *fmt, ...) MSI_PRINTF(4, 5);
static bool fail(rd *r, const char *code, uint64_t off, const char *fmt, ...)
{
	if (!r->stop) {
		r->stop = true;
		r->m->error.code = code;
		r->m->error.offset = off;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->m->error.message, sizeof r->m->error.message, fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool fail_rc(rd *r, int rc)
{
	if (!r->rc)
		r->rc = rc;
	r->stop = true;
	return false;
}

static bool fail_alloc(rd *r, uint64_t off)
{
	if (r->arena->over)
		return fail(r, "tf.proto.limit", off, "the SavedModel's metadata needs more than the %llu bytes allowed "
		            "(max_metadata)", (unsigned long long)r->arena->cap);
	return fail_rc(r, MS_ENOMEM);
}

/* `n` bytes at `off` (inside the payload, checked by the caller); valid
 * until the next call. */
static const uint8_t *get(rd *r, uint64_t off, size_t n)
{
	if (r->mem)
		return r->mem + off;
	if (off >= r->win_off && off - r->win_off <= r->win_len && n <= r->win_len - (off - r->win_off))
		return r->win + (off - r->win_off);
	/* sequential walks read larger and larger windows; a jump (after a
	 * skipped payload) starts small again */
	bool sequential = r->win_len && off >= r->win_off && off - r->win_off <= r->win_len;
	r->win_next = sequential ? (r->win_next * 2 > WINDOW_MAX ? WINDOW_MAX : r->win_next * 2) : WINDOW_MIN;
	size_t want = n > r->win_next ? n : r->win_next;
	if (want > r->size - off)
		want = (size_t)(r->size - off);
	if (want > r->win_cap) {
		uint8_t *w = msi_realloc(r->win, want ? want : 1);
		if (!w) {
			fail_rc(r, MS_ENOMEM);
			return NULL;
		}
		r->win = w;
		r->win_cap = want;
	}
	int rc = msi_source_read(r->src, off, r->win, want);
	if (rc != MS_OK) {
		r->win_len = 0;
		fail_rc(r, rc);
		return NULL;
	}
	r->win_off = off;
	r->win_len = want;
	return r->win;
}

static bool varint(rd *r, uint64_t *pos, uint64_t end, uint64_t *v)
{
	uint64_t avail = end - *pos;
	size_t n = avail < 10 ? (size_t)avail : 10;
	if (n == 0)
		return fail(r, "tf.proto.invalid", *pos, "a varint at offset %llu is cut by the end of its message",
		            (unsigned long long)*pos);
	const uint8_t *p = get(r, *pos, n);
	if (!p)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 9 && p[i] > 1)
			break;
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*pos += i + 1;
			*v = x;
			return true;
		}
	}
	return fail(r, "tf.proto.invalid", *pos, "a varint at offset %llu is cut short or longer than 64 bits",
	            (unsigned long long)*pos);
}

typedef struct field {
	uint64_t start;
	uint32_t num;
	int wt;
	uint64_t value;      /* a varint's value, or a length */
	uint64_t off, end;   /* the value (wt 1, 2, 5), and after the field */
} field;

/* The next field header at *pos, stepping over its value. */
static bool next_field(rd *r, uint64_t *pos, uint64_t end, const char *msg, field *f)
{
	f->start = *pos;
	uint64_t tag;
	if (!varint(r, pos, end, &tag))
		return false;
	f->num = (uint32_t)(tag >> 3);
	f->wt = (int)(tag & 7);
	if (tag >> 3 == 0 || tag >> 3 > 536870911u)
		return fail(r, "tf.proto.invalid", f->start, "%s: invalid field number %llu at offset %llu", msg,
		            (unsigned long long)(tag >> 3), (unsigned long long)f->start);
	uint64_t w = 0;
	switch (f->wt) {
	case 0:
		if (!varint(r, pos, end, &f->value))
			return false;
		f->off = f->end = *pos;
		return true;
	case 1: w = 8; break;
	case 5: w = 4; break;
	case 2:
		if (!varint(r, pos, end, &f->value))
			return false;
		w = f->value;
		break;
	default:
		return fail(r, "tf.proto.invalid", f->start, "%s: wire type %d (field %u) at offset %llu is not used by "
		            "TensorFlow's messages", msg, f->wt, f->num, (unsigned long long)f->start);
	}
	if (w > end - *pos) {
		bool cut = end == r->size;
		fail(r, "tf.proto.invalid", f->start, "%s: field %u at offset %llu runs %llu bytes past the end of %s", msg,
		     f->num, (unsigned long long)f->start, (unsigned long long)(w - (end - *pos)),
		     cut ? "the file (cut short?)" : "its message");
		/* a file cut short: every message open at the cut ends at the end
		 * of the file, so the walk keeps what precedes the cut (the error
		 * stays recorded; the op rules still see those nodes) */
		if (!cut || f->wt != 2)
			return false;
		w = end - *pos;
		f->value = w;
	}
	f->off = *pos;
	*pos += w;
	f->end = *pos;
	return true;
}

/* A field the walk reads must have the wire type its declaration gives. */
static bool want_wt(rd *r, const field *f, int wt, const char *what)
{
	if (f->wt == wt)
		return true;
	return fail(r, "tf.proto.invalid", f->start, "%s (field %u) at offset %llu has wire type %d, not %d", what,
	            f->num, (unsigned long long)f->start, f->wt, wt);
}

static bool depth_ok(rd *r, unsigned depth, uint64_t off, const char *msg)
{
	if (depth > TF_MAX_DEPTH)
		return fail(r, "tf.proto.depth", off, "%s at offset %llu is nested %u levels deep; the limit is %u", msg,
		            (unsigned long long)off, depth, TF_MAX_DEPTH);
	return true;
}

/* A NUL-terminated arena copy of a length-delimited field's bytes. */
static const char *copy_str(rd *r, const field *f)
{
	if (f->value > LEAF_MAX) {
		fail(r, "tf.proto.limit", f->start, "a string of %llu bytes at offset %llu is over the reader's %u-byte "
		     "cap", (unsigned long long)f->value, (unsigned long long)f->start, LEAF_MAX);
		return NULL;
	}
	char *s = arena_alloc(r->arena, (size_t)f->value + 1);
	if (!s) {
		fail_alloc(r, f->start);
		return NULL;
	}
	if (f->value) {
		const uint8_t *p = get(r, f->off, (size_t)f->value);
		if (!p)
			return NULL;
		memcpy(s, p, (size_t)f->value);
	}
	s[f->value] = 0;
	return s;
}

static bool vec_push(rd *r, vec *v, const void *item, size_t size)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void *n = msi_reallocarray(v->items, cap, size);
		if (!n)
			return fail_rc(r, MS_ENOMEM);
		v->items = n;
		v->cap = cap;
	}
	memcpy((char *)v->items + v->n * size, item, size);
	v->n++;
	return true;
}

/* Moves a scratch vector into the arena. */
static bool vec_take(rd *r, vec *v, size_t size, void **out, uint32_t *n, uint64_t off)
{
	*out = NULL;
	*n = 0;
	if (!v->n)
		return true;
	if (v->n > UINT32_MAX)
		return fail(r, "tf.proto.limit", off, "a node at offset %llu has more than 2^32 entries in one list",
		            (unsigned long long)off);
	void *p = arena_array(r->arena, v->n, size);
	if (!p)
		return fail_alloc(r, off);
	memcpy(p, v->items, v->n * size);
	*out = p;
	*n = (uint32_t)v->n;
	v->n = 0;
	return true;
}

/* Appends a scratch vector of pointers to an arena array (a message field
 * that comes twice is merged, as protobuf merges it: repeated fields
 * concatenate). */
static bool append_ptrs(rd *r, vec *v, const char ***arr, size_t *n, uint64_t off)
{
	if (!v->n)
		return true;
	const char **a = arena_array(r->arena, (uint64_t)*n + v->n, sizeof *a);
	if (!a)
		return fail_alloc(r, off);
	if (*n)
		memcpy(a, *arr, *n * sizeof *a);
	memcpy(a + *n, v->items, v->n * sizeof *a);
	*arr = a;
	*n += v->n;
	v->n = 0;
	return true;
}

/* How many fields numbered `num` (length-delimited) a message holds. */
static bool count_fields(rd *r, const char *msg, uint64_t off, uint64_t end, uint32_t num, uint64_t *count)
{
	*count = 0;
	for (uint64_t pos = off; pos < end;) {
		field f;
		if (!next_field(r, &pos, end, msg, &f))
			return false;
		if (f.num == num && f.wt == 2)
			(*count)++;
	}
	return true;
}

/* ---- small messages: checked, then decoded by protobuf-c ---- */

static bool wire_fits(const ProtobufCFieldDescriptor *fd, int wt)
{
	bool rep = fd->label == PROTOBUF_C_LABEL_REPEATED;
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_BOOL: case PROTOBUF_C_TYPE_ENUM:
		return wt == 0 || (rep && wt == 2);
	case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FLOAT:
		return wt == 5 || (rep && wt == 2);
	case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return wt == 1 || (rep && wt == 2);
	default:
		return wt == 2;
	}
}

/* Wire types, lengths and depth of a message and all it holds. */
static bool check_message(rd *r, const ProtobufCMessageDescriptor *d, uint64_t off, uint64_t end, unsigned depth)
{
	if (!depth_ok(r, depth, off, d->short_name))
		return false;
	for (uint64_t pos = off; pos < end;) {
		field f;
		if (!next_field(r, &pos, end, d->short_name, &f))
			return false;
		const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(d, f.num);
		if (!fd)
			continue; /* a newer field: skipped, as protobuf does */
		if (!wire_fits(fd, f.wt))
			return fail(r, "tf.proto.invalid", f.start, "%s.%s (field %u) at offset %llu has wire type %d, which "
			            "that field cannot have", d->short_name, fd->name, f.num, (unsigned long long)f.start,
			            f.wt);
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE && !check_message(r, fd->descriptor, f.off, f.end, depth + 1))
			return false;
	}
	return true;
}

static void *read_leaf(rd *r, const ProtobufCMessageDescriptor *d, const field *f, unsigned depth)
{
	if (!check_message(r, d, f->off, f->end, depth))
		return NULL;
	if (f->value > LEAF_MAX) {
		fail(r, "tf.proto.limit", f->start, "a %s of %llu bytes at offset %llu is over the reader's %u-byte cap",
		     d->short_name, (unsigned long long)f->value, (unsigned long long)f->start, LEAF_MAX);
		return NULL;
	}
	static const uint8_t empty[1];
	const uint8_t *p = f->value ? get(r, f->off, (size_t)f->value) : empty;
	if (!p)
		return NULL;
	void *msg = protobuf_c_message_unpack(d, &r->pa, (size_t)f->value, p);
	if (!msg) {
		if (r->arena->over)
			fail_alloc(r, f->start);
		else
			fail(r, "tf.proto.invalid", f->start, "the %s at offset %llu does not decode", d->short_name,
			     (unsigned long long)f->start);
	}
	return msg;
}

/* ---- attributes ---- */

static bool walk_attr_value(rd *r, const field *vf, const char *key, tf_node *n, unsigned depth);

/* NameAttrList: its name is a function the node calls; its attrs may name
 * more. */
static bool walk_name_attr_list(rd *r, const field *lf, tf_node *n, unsigned depth)
{
	if (!depth_ok(r, depth, lf->start, "NameAttrList"))
		return false;
	for (uint64_t pos = lf->off; pos < lf->end;) {
		field f;
		if (!next_field(r, &pos, lf->end, "NameAttrList", &f))
			return false;
		if (f.num == 1) {
			if (!want_wt(r, &f, 2, "NameAttrList.name"))
				return false;
			const char *s = copy_str(r, &f);
			if (!s || !vec_push(r, &r->calls, &s, sizeof s))
				return false;
		} else if (f.num == 2) {
			if (!want_wt(r, &f, 2, "NameAttrList.attr"))
				return false;
			for (uint64_t p2 = f.off; p2 < f.end;) {
				field e;
				if (!next_field(r, &p2, f.end, "NameAttrList.AttrEntry", &e))
					return false;
				if (e.num == 2 && (!want_wt(r, &e, 2, "AttrEntry.value") ||
				                   !walk_attr_value(r, &e, "", n, depth + 2)))
					return false;
			}
		}
	}
	return true;
}

/* The string values of a string Const's tensor (restore ops read their
 * variable names from them). Payload fields are stepped over unread. */
static bool walk_tensor(rd *r, const field *tf, tf_node *n, unsigned depth)
{
	if (!depth_ok(r, depth, tf->start, "TensorProto"))
		return false;
	bool keep = tf->value <= CONST_STRINGS_MAX;
	if (!keep)
		n->strings_elided = true;
	for (uint64_t pos = tf->off; pos < tf->end;) {
		field f;
		if (!next_field(r, &pos, tf->end, "TensorProto", &f))
			return false;
		if (f.num == 1 && !want_wt(r, &f, 0, "TensorProto.dtype"))
			return false;
		if (f.num == 8) {
			if (!want_wt(r, &f, 2, "TensorProto.string_val"))
				return false;
			if (keep) {
				const char *s = copy_str(r, &f);
				if (!s || !vec_push(r, &r->strings, &s, sizeof s))
					return false;
			}
		}
	}
	return true;
}

/* Packed or plain varints of a list field (ListValue.type). */
static bool read_varints(rd *r, const field *f, vec *out)
{
	if (f->wt == 0) {
		int32_t v = (int32_t)f->value;
		return vec_push(r, out, &v, sizeof v);
	}
	if (f->wt != 2)
		return want_wt(r, f, 2, "ListValue.type");
	for (uint64_t pos = f->off; pos < f->end;) {
		uint64_t x;
		if (!varint(r, &pos, f->end, &x))
			return false;
		int32_t v = (int32_t)x;
		if (!vec_push(r, out, &v, sizeof v))
			return false;
	}
	return true;
}

static bool walk_list_value(rd *r, const field *lf, const char *key, tf_node *n, unsigned depth)
{
	if (!depth_ok(r, depth, lf->start, "AttrValue.ListValue"))
		return false;
	bool urls = strcmp(key, "debug_urls") == 0 || strcmp(key, "debug_ops_spec") == 0;
	bool dtypes = strcmp(key, "dtypes") == 0;
	for (uint64_t pos = lf->off; pos < lf->end;) {
		field f;
		if (!next_field(r, &pos, lf->end, "AttrValue.ListValue", &f))
			return false;
		if (f.num == 2 && urls) {
			if (!want_wt(r, &f, 2, "ListValue.s"))
				return false;
			const char *s = copy_str(r, &f);
			if (!s || !vec_push(r, &r->urls, &s, sizeof s))
				return false;
		} else if (f.num == 6 && dtypes) {
			if (!read_varints(r, &f, &r->dtypes))
				return false;
		} else if (f.num == 9) {
			if (!want_wt(r, &f, 2, "ListValue.func") || !walk_name_attr_list(r, &f, n, depth + 1))
				return false;
		}
	}
	return true;
}

/* TensorShapeProto {dim = 2 {size = 1}, unknown_rank = 3} of a variable's
 * `shape` attr (the TF1 restore checks compare it with the bundle). */
static bool walk_shape(rd *r, const field *sf, tf_node *n)
{
	vec dims = { 0 };
	bool ok = true, unknown = false;
	for (uint64_t pos = sf->off; ok && pos < sf->end;) {
		field f;
		if (!(ok = next_field(r, &pos, sf->end, "TensorShapeProto", &f)))
			break;
		if (f.num == 3 && (ok = want_wt(r, &f, 0, "TensorShapeProto.unknown_rank")))
			unknown = f.value != 0;
		if (f.num != 2 || !(ok = want_wt(r, &f, 2, "TensorShapeProto.dim")))
			continue;
		int64_t size = -1;
		for (uint64_t p2 = f.off; ok && p2 < f.end;) {
			field d;
			if ((ok = next_field(r, &p2, f.end, "TensorShapeProto.Dim", &d)) && d.num == 1)
				if ((ok = want_wt(r, &d, 0, "Dim.size")))
					size = (int64_t)d.value;
		}
		ok = ok && vec_push(r, &dims, &size, sizeof size);
	}
	if (ok && dims.n > UINT32_MAX)
		ok = fail(r, "tf.proto.limit", sf->start, "a shape at offset %llu has more than 2^32 dims",
		          (unsigned long long)sf->start);
	if (ok) {
		n->has_shape = true;
		n->shape_unknown_rank = unknown;
		n->shape_rank = 0;
		n->shape = NULL;
		if (dims.n && !(n->shape = arena_array(r->arena, dims.n, sizeof *n->shape)))
			ok = fail_alloc(r, sf->start);
		else if (dims.n) {
			memcpy(n->shape, dims.items, dims.n * sizeof *n->shape);
			n->shape_rank = (uint32_t)dims.n;
		}
	}
	msi_free(dims.items);
	return ok;
}

static bool walk_attr_value(rd *r, const field *vf, const char *key, tf_node *n, unsigned depth)
{
	if (!depth_ok(r, depth, vf->start, "AttrValue"))
		return false;
	for (uint64_t pos = vf->off; pos < vf->end;) {
		field f;
		if (!next_field(r, &pos, vf->end, "AttrValue", &f))
			return false;
		switch (f.num) {
		case 1:
			if (!want_wt(r, &f, 2, "AttrValue.list") || !walk_list_value(r, &f, key, n, depth + 1))
				return false;
			break;
		case 2:
			if (!want_wt(r, &f, 2, "AttrValue.s"))
				return false;
			if (strcmp(key, "output_stream") == 0 && !(n->output_stream = copy_str(r, &f)))
				return false;
			if (strcmp(key, "descriptor_source") == 0 && !(n->descriptor_source = copy_str(r, &f)))
				return false;
			break;
		case 7:
			if (!want_wt(r, &f, 2, "AttrValue.shape"))
				return false;
			if (strcmp(key, "shape") == 0 && !walk_shape(r, &f, n))
				return false;
			break;
		case 6:
			if (!want_wt(r, &f, 0, "AttrValue.type"))
				return false;
			if (strcmp(key, "dtype") == 0)
				n->dtype = (int32_t)f.value;
			break;
		case 8:
			if (!want_wt(r, &f, 2, "AttrValue.tensor"))
				return false;
			if (strcmp(key, "value") == 0 && !walk_tensor(r, &f, n, depth + 1))
				return false;
			break;
		case 10:
			if (!want_wt(r, &f, 2, "AttrValue.func") || !walk_name_attr_list(r, &f, n, depth + 1))
				return false;
			break;
		default:
			break;
		}
	}
	return true;
}

/* ---- nodes, functions, graphs ---- */

static bool walk_node(rd *r, const field *nf, tf_node *n, unsigned depth)
{
	if (!depth_ok(r, depth, nf->start, "NodeDef"))
		return false;
	memset(n, 0, sizeof *n);
	n->name = n->op = n->device = "";
	n->dtype = -1;
	n->off = nf->start;
	r->inputs.n = r->calls.n = r->urls.n = r->strings.n = r->dtypes.n = 0;
	for (uint64_t pos = nf->off; pos < nf->end;) {
		field f;
		if (!next_field(r, &pos, nf->end, "NodeDef", &f))
			return false;
		const char *s = NULL;
		switch (f.num) {
		case 1: case 2: case 3: case 4:
			if (!want_wt(r, &f, 2, "NodeDef string") || !(s = copy_str(r, &f)))
				return false;
			if (f.num == 1)
				n->name = s;
			else if (f.num == 2)
				n->op = s;
			else if (f.num == 4)
				n->device = s;
			else if (!vec_push(r, &r->inputs, &s, sizeof s))
				return false;
			break;
		case 5: {
			if (!want_wt(r, &f, 2, "NodeDef.attr"))
				return false;
			/* map entry: key 1, value 2 (the key usually first; a value
			 * before its key is read with the key "" and loses nothing
			 * but the special cases) */
			const char *key = "";
			for (uint64_t p2 = f.off; p2 < f.end;) {
				field e;
				if (!next_field(r, &p2, f.end, "NodeDef.AttrEntry", &e))
					return false;
				if (e.num == 1) {
					if (!want_wt(r, &e, 2, "AttrEntry.key") || !(key = copy_str(r, &e)))
						return false;
				} else if (e.num == 2) {
					if (!want_wt(r, &e, 2, "AttrEntry.value") || !walk_attr_value(r, &e, key, n, depth + 2))
						return false;
				}
			}
			break;
		}
		default:
			break;
		}
	}
	void *p;
	if (!vec_take(r, &r->inputs, sizeof(char *), &p, &n->n_inputs, nf->start))
		return false;
	n->inputs = p;
	if (!vec_take(r, &r->calls, sizeof(char *), &p, &n->n_calls, nf->start))
		return false;
	n->calls = p;
	if (!vec_take(r, &r->urls, sizeof(char *), &p, &n->n_debug_urls, nf->start))
		return false;
	n->debug_urls = p;
	if (!vec_take(r, &r->strings, sizeof(char *), &p, &n->n_strings, nf->start))
		return false;
	n->strings = p;
	if (!vec_take(r, &r->dtypes, sizeof(int32_t), &p, &n->n_dtypes, nf->start))
		return false;
	n->dtypes = p;
	return true;
}

/* The repeated NodeDef field `num` of a message, into an exact array. */
static bool walk_nodes(rd *r, const char *msg, const field *mf, uint32_t num, unsigned depth, tf_node **out,
                       size_t *n_out)
{
	uint64_t count;
	if (!count_fields(r, msg, mf->off, mf->end, num, &count))
		return false;
	/* a message that comes twice (two graph_def fields) merges: its nodes
	 * follow the ones read before */
	size_t have = *n_out;
	tf_node *nodes = arena_array(r->arena, (uint64_t)have + count, sizeof *nodes);
	if (!nodes)
		return fail_alloc(r, mf->start);
	if (have)
		memcpy(nodes, *out, have * sizeof *nodes);
	/* the nodes read so far stay visible when a later one is broken (the
	 * op rules still see them) */
	*out = nodes;
	for (uint64_t pos = mf->off; pos < mf->end;) {
		field f;
		if (!next_field(r, &pos, mf->end, msg, &f))
			return false;
		if (f.num == num && f.wt == 2 && *n_out < have + count) {
			if (!walk_node(r, &f, &nodes[*n_out], depth + 1))
				return false;
			(*n_out)++;
		} else if (f.num == num && !want_wt(r, &f, 2, "node")) {
			return false;
		}
	}
	return true;
}

/* OpDef (a function's signature): its name and its input argument names. */
static bool walk_signature(rd *r, const field *sf, tf_function *fn)
{
	for (uint64_t pos = sf->off; pos < sf->end;) {
		field f;
		if (!next_field(r, &pos, sf->end, "OpDef", &f))
			return false;
		if (f.num == 1) {
			const char *s;
			if (!want_wt(r, &f, 2, "OpDef.name") || !(s = copy_str(r, &f)))
				return false;
			fn->name = s;
		} else if (f.num == 2) {
			if (!want_wt(r, &f, 2, "OpDef.input_arg"))
				return false;
			for (uint64_t p2 = f.off; p2 < f.end;) {
				field a;
				if (!next_field(r, &p2, f.end, "OpDef.ArgDef", &a))
					return false;
				if (a.num == 1) {
					const char *s;
					if (!want_wt(r, &a, 2, "ArgDef.name") || !(s = copy_str(r, &a)) ||
					    !vec_push(r, &r->inputs, &s, sizeof s))
						return false;
				}
			}
		}
	}
	return true;
}

static bool walk_function(rd *r, const field *ff, tf_function *fn, unsigned depth)
{
	fn->name = "";
	fn->off = ff->start;
	if (!depth_ok(r, depth, ff->start, "FunctionDef"))
		return false;
	r->inputs.n = 0;
	vec rets = { 0 };
	bool ok = true;
	for (uint64_t pos = ff->off; ok && pos < ff->end;) {
		field f;
		if (!(ok = next_field(r, &pos, ff->end, "FunctionDef", &f)))
			break;
		if (f.num == 1) {
			ok = want_wt(r, &f, 2, "FunctionDef.signature") && walk_signature(r, &f, fn);
		} else if (f.num == 4) {
			ok = want_wt(r, &f, 2, "FunctionDef.ret");
			for (uint64_t p2 = f.off; ok && p2 < f.end;) {
				field e;
				const char *s;
				ok = next_field(r, &p2, f.end, "FunctionDef.RetEntry", &e);
				if (ok && e.num == 2)
					ok = want_wt(r, &e, 2, "RetEntry.value") && (s = copy_str(r, &e)) &&
					     vec_push(r, &rets, &s, sizeof s);
			}
		}
	}
	void *p;
	if (ok)
		ok = vec_take(r, &r->inputs, sizeof(char *), &p, &fn->n_args, ff->start);
	if (ok) {
		fn->args = p;
		ok = vec_take(r, &rets, sizeof(char *), &p, &fn->n_rets, ff->start);
		fn->rets = p;
	}
	msi_free(rets.items);
	/* the body after the signature: walk_node reuses the scratch vectors */
	return ok && walk_nodes(r, "FunctionDef", ff, 3, depth, &fn->nodes, &fn->n_nodes);
}

static bool walk_library(rd *r, const field *lf, tf_meta_graph *mg, unsigned depth)
{
	if (!depth_ok(r, depth, lf->start, "FunctionDefLibrary"))
		return false;
	uint64_t count;
	if (!count_fields(r, "FunctionDefLibrary", lf->off, lf->end, 1, &count))
		return false;
	/* merged with a library read before (the field came twice) */
	size_t have = mg->n_functions;
	tf_function *fns = arena_array(r->arena, (uint64_t)have + count, sizeof *fns);
	if (!fns)
		return fail_alloc(r, lf->start);
	if (have)
		memcpy(fns, mg->functions, have * sizeof *fns);
	mg->functions = fns;
	count += have;
	for (uint64_t pos = lf->off; pos < lf->end;) {
		field f;
		if (!next_field(r, &pos, lf->end, "FunctionDefLibrary", &f))
			return false;
		if (f.num == 1) {
			if (!want_wt(r, &f, 2, "FunctionDefLibrary.function"))
				return false;
			if (mg->n_functions < count) {
				/* counted before it is read: a broken function keeps
				 * the nodes it had (name "" until its signature) */
				tf_function *fn = &fns[mg->n_functions++];
				if (!walk_function(r, &f, fn, depth + 1))
					return false;
			}
		}
	}
	return true;
}

static bool walk_graph(rd *r, const field *gf, tf_meta_graph *mg, unsigned depth)
{
	if (!depth_ok(r, depth, gf->start, "GraphDef"))
		return false;
	mg->has_graph = true;
	if (!walk_nodes(r, "GraphDef", gf, 1, depth, &mg->nodes, &mg->n_nodes))
		return false;
	for (uint64_t pos = gf->off; pos < gf->end;) {
		field f;
		if (!next_field(r, &pos, gf->end, "GraphDef", &f))
			return false;
		if (f.num == 2) {
			if (!want_wt(r, &f, 2, "GraphDef.library") || !walk_library(r, &f, mg, depth + 1))
				return false;
		} else if (f.num == 4) {
			if (!want_wt(r, &f, 2, "GraphDef.versions"))
				return false;
			for (uint64_t p2 = f.off; p2 < f.end;) {
				field v;
				if (!next_field(r, &p2, f.end, "VersionDef", &v))
					return false;
				if (v.num == 1) {
					if (!want_wt(r, &v, 0, "VersionDef.producer"))
						return false;
					mg->producer = (int32_t)v.value;
				}
			}
		}
	}
	return true;
}

/* ---- meta graphs ---- */

static bool walk_meta_info(rd *r, const field *mf, tf_meta_graph *mg, unsigned depth)
{
	mg->has_meta_info = true;
	vec tags = { 0 }, ops = { 0 };
	bool ok = depth_ok(r, depth, mf->start, "MetaInfoDef");
	for (uint64_t pos = mf->off; ok && pos < mf->end;) {
		field f;
		const char *s = NULL;
		if (!(ok = next_field(r, &pos, mf->end, "MetaInfoDef", &f)))
			break;
		switch (f.num) {
		case 2: /* stripped_op_list: OpList { repeated OpDef op = 1 { name = 1 } } */
			ok = want_wt(r, &f, 2, "MetaInfoDef.stripped_op_list");
			mg->has_op_list = true;
			for (uint64_t p2 = f.off; ok && p2 < f.end;) {
				field o;
				if (!(ok = next_field(r, &p2, f.end, "OpList", &o)) || o.num != 1)
					continue;
				ok = want_wt(r, &o, 2, "OpList.op");
				for (uint64_t p3 = o.off; ok && p3 < o.end;) {
					field nf;
					if ((ok = next_field(r, &p3, o.end, "OpDef", &nf)) && nf.num == 1)
						ok = want_wt(r, &nf, 2, "OpDef.name") && (s = copy_str(r, &nf)) &&
						     vec_push(r, &ops, &s, sizeof s);
				}
			}
			break;
		case 4:
			ok = want_wt(r, &f, 2, "MetaInfoDef.tags") && (s = copy_str(r, &f)) && vec_push(r, &tags, &s, sizeof s);
			break;
		case 5:
			ok = want_wt(r, &f, 2, "MetaInfoDef.tensorflow_version") && (mg->tf_version = copy_str(r, &f));
			break;
		case 6:
			ok = want_wt(r, &f, 2, "MetaInfoDef.tensorflow_git_version") &&
			     (mg->tf_git_version = copy_str(r, &f));
			break;
		default:
			break;
		}
	}
	if (ok)
		ok = append_ptrs(r, &tags, &mg->tags, &mg->n_tags, mf->start) &&
		     append_ptrs(r, &ops, &mg->op_list, &mg->n_op_list, mf->start);
	msi_free(tags.items);
	msi_free(ops.items);
	return ok;
}

/* Appends a decoded message to an arena array that doubles as it grows
 * (the arena does not free: the old copies stay, bounded by 2x). */
static bool push_msg(rd *r, void ***items, size_t *n, size_t *cap, void *msg, uint64_t off)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		void **a = arena_array(r->arena, nc, sizeof *a);
		if (!a)
			return fail_alloc(r, off);
		if (*n)
			memcpy(a, *items, *n * sizeof *a);
		*items = a;
		*cap = nc;
	}
	(*items)[(*n)++] = msg;
	return true;
}

static bool walk_object_graph(rd *r, const field *of, tf_meta_graph *mg, unsigned depth)
{
	if (!depth_ok(r, depth, of->start, "SavedObjectGraph"))
		return false;
	mg->has_object_graph = true;
	for (uint64_t pos = of->off; pos < of->end;) {
		field f;
		if (!next_field(r, &pos, of->end, "SavedObjectGraph", &f))
			return false;
		void *msg;
		if (f.num == 1) {
			if (!want_wt(r, &f, 2, "SavedObjectGraph.nodes") ||
			    !(msg = read_leaf(r, &tfsm__saved_object__descriptor, &f, depth + 1)) ||
			    !push_msg(r, (void ***)&mg->objects, &mg->n_objects, &mg->cap_objects, msg, f.start))
				return false;
		} else if (f.num == 2) {
			if (!want_wt(r, &f, 2, "SavedObjectGraph.concrete_functions") ||
			    !(msg = read_leaf(r, &tfsm__saved_object_graph__concrete_functions_entry__descriptor, &f,
			                      depth + 1)) ||
			    !push_msg(r, (void ***)&mg->concrete, &mg->n_concrete, &mg->cap_concrete, msg, f.start))
				return false;
		}
	}
	return true;
}

static bool walk_meta_graph(rd *r, const field *mf, tf_meta_graph *mg, unsigned depth)
{
	mg->producer = -1;
	mg->off = mf->start;
	for (uint64_t pos = mf->off; pos < mf->end;) {
		field f;
		if (!next_field(r, &pos, mf->end, "MetaGraphDef", &f))
			return false;
		if (f.num >= 1 && f.num <= 7 && !want_wt(r, &f, 2, "MetaGraphDef field"))
			return false;
		void *msg;
		switch (f.num) {
		case 1:
			if (!walk_meta_info(r, &f, mg, depth + 1))
				return false;
			break;
		case 2:
			if (!walk_graph(r, &f, mg, depth + 1))
				return false;
			break;
		case 3:
			if (!(mg->saver = read_leaf(r, &tfsm__saver_def__descriptor, &f, depth + 1)))
				return false;
			break;
		case 4:
			mg->n_collections++;
			break;
		case 5:
			if (!(msg = read_leaf(r, &tfsm__meta_graph_def__signature_def_entry__descriptor, &f, depth + 1)) ||
			    !push_msg(r, (void ***)&mg->signatures, &mg->n_signatures, &mg->cap_signatures, msg, f.start))
				return false;
			break;
		case 6:
			if (!(msg = read_leaf(r, &tfsm__asset_file_def__descriptor, &f, depth + 1)) ||
			    !push_msg(r, (void ***)&mg->assets, &mg->n_assets, &mg->cap_assets, msg, f.start))
				return false;
			break;
		case 7:
			if (!walk_object_graph(r, &f, mg, depth + 1))
				return false;
			break;
		default:
			break;
		}
	}
	return true;
}

static void walk_model(rd *r)
{
	tf_savedmodel *m = r->m;
	uint64_t count;
	if (!count_fields(r, "SavedModel", 0, m->size, 2, &count))
		return;
	if (!(m->metas = arena_array(r->arena, count, sizeof *m->metas))) {
		fail_alloc(r, 0);
		return;
	}
	for (uint64_t pos = 0; pos < m->size;) {
		field f;
		if (!next_field(r, &pos, m->size, "SavedModel", &f))
			return;
		if (f.num == 1) {
			if (!want_wt(r, &f, 0, "SavedModel.saved_model_schema_version"))
				return;
			m->has_schema_version = true;
			m->schema_version = (int64_t)f.value;
		} else if (f.num == 2) {
			if (!want_wt(r, &f, 2, "SavedModel.meta_graphs"))
				return;
			if (m->n_metas < count && !walk_meta_graph(r, &f, &m->metas[m->n_metas++], 2))
				return;
		}
	}
}

int tf_sm_read(const msi_source *src, const msi_limits *limits, tf_savedmodel **out)
{
	*out = NULL;
	tf_sm_arena *arena = msi_calloc(1, sizeof *arena);
	if (!arena)
		return msi_error(MS_ENOMEM, "out of memory");
	arena->cap = limits && limits->max_metadata ? limits->max_metadata : 256u * 1024u * 1024u;
	tf_savedmodel *m = arena_alloc(arena, sizeof *m);
	if (!m) {
		msi_free(arena);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	memset(m, 0, sizeof *m);
	m->arena = arena;
	m->size = src->size;
	rd r;
	memset(&r, 0, sizeof r);
	r.src = src;
	r.mem = msi_source_memory(src);
	r.size = src->size;
	r.m = m;
	r.arena = arena;
	r.pa.alloc = pb_alloc;
	r.pa.free = pb_free;
	r.pa.allocator_data = arena;
	walk_model(&r);
	msi_free(r.win);
	msi_free(r.inputs.items);
	msi_free(r.calls.items);
	msi_free(r.urls.items);
	msi_free(r.strings.items);
	msi_free(r.dtypes.items);
	if (r.rc) {
		tf_sm_free(m);
		return r.rc == MS_ENOMEM ? msi_error(MS_ENOMEM, "out of memory") : r.rc;
	}
	*out = m;
	return MS_OK;
}

void tf_sm_free(tf_savedmodel *m)
{
	if (!m)
		return;
	tf_sm_arena *a = m->arena;
	arena_chunk *c = a->head;
	while (c) {
		arena_chunk *next = c->next;
		msi_free(c);
		c = next;
	}
	msi_free(a);
}

/* ---- small stand-alone messages ---- */

/* Depth and wire types of a buffer, before protobuf-c (which has no
 * recursion limit) decodes it with the default allocator. */
static bool small_ok(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, unsigned depth)
{
	if (depth > TF_MAX_DEPTH)
		return false;
	msi_cursor c = msi_cursor_make(p, n);
	while (c.pos < n && !c.failed) {
		uint64_t tag = msi_cursor_varint(&c);
		if (c.failed || tag >> 3 == 0 || tag >> 3 > 536870911u)
			return false;
		const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
		int wt = (int)(tag & 7);
		if (fd && !wire_fits(fd, wt))
			return false;
		uint64_t len;
		switch (wt) {
		case 0: msi_cursor_varint(&c); continue;
		case 1: len = 8; break;
		case 5: len = 4; break;
		case 2: len = msi_cursor_varint(&c); break;
		default: return false;
		}
		if (c.failed || len > n - c.pos)
			return false;
		if (wt == 2 && fd && fd->type == PROTOBUF_C_TYPE_MESSAGE &&
		    !small_ok(fd->descriptor, p + c.pos, (size_t)len, depth + 1))
			return false;
		c.pos += (size_t)len;
	}
	return !c.failed;
}

ProtobufCMessage *tf_sm_decode_small(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
	static const uint8_t empty[1];
	if (!small_ok(d, n ? p : empty, n, 1))
		return NULL;
	return protobuf_c_message_unpack(d, NULL, n, n ? p : empty);
}
