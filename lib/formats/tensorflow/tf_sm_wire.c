/*
 * The wire-walk primitives of the SavedModel reader (tf_sm_wire.h): the
 * bounded window over the source, varints and field headers checked
 * against their message, string and list copies into the arena, and the
 * small messages checked field by field (depth included) before protobuf-c
 * decodes them, for saved_model.pb's leaves (tf_rd_read_leaf) and for
 * stand-alone files (tf_sm_decode_small). The message walk itself is in
 * tf_sm_read.c.
 */
#include <stdio.h>
#include <string.h>

#include "../pb.h"
#include "tf_sm_wire.h"

#define WINDOW_MIN (16u * 1024u)           /* a refill after a jump */
#define WINDOW_MAX (4u * 1024u * 1024u)    /* largest refill of a sequential walk */

bool tf_rd_fail(rd *r, const char *code, uint64_t off, const char *fmt, ...)
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

bool tf_rd_fail_alloc(rd *r, uint64_t off)
{
	if (r->arena->over)
		return tf_rd_fail(r, "tf.proto.limit", off, "the SavedModel's metadata needs more than the %llu bytes allowed "
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

bool tf_rd_varint(rd *r, uint64_t *pos, uint64_t end, uint64_t *v)
{
	uint64_t avail = end - *pos;
	size_t n = avail < 10 ? (size_t)avail : 10;
	if (n == 0)
		return tf_rd_fail(r, "tf.proto.invalid", *pos, "a varint at offset %llu is cut by the end of its message",
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
	return tf_rd_fail(r, "tf.proto.invalid", *pos, "a varint at offset %llu is cut short or longer than 64 bits",
	                  (unsigned long long)*pos);
}


/* The next field header at *pos, stepping over its value. */
bool tf_rd_next_field(rd *r, uint64_t *pos, uint64_t end, const char *msg, field *f)
{
	f->start = *pos;
	uint64_t tag;
	if (!tf_rd_varint(r, pos, end, &tag))
		return false;
	f->num = (uint32_t)(tag >> 3);
	f->wt = (int)(tag & 7);
	if (tag >> 3 == 0 || tag >> 3 > 536870911u)
		return tf_rd_fail(r, "tf.proto.invalid", f->start, "%s: invalid field number %llu at offset %llu", msg,
		                  (unsigned long long)(tag >> 3), (unsigned long long)f->start);
	uint64_t w = 0;
	switch (f->wt) {
	case 0:
		if (!tf_rd_varint(r, pos, end, &f->value))
			return false;
		f->off = f->end = *pos;
		return true;
	case 1: w = 8; break;
	case 5: w = 4; break;
	case 2:
		if (!tf_rd_varint(r, pos, end, &f->value))
			return false;
		w = f->value;
		break;
	default:
		return tf_rd_fail(r, "tf.proto.invalid", f->start, "%s: wire type %d (field %u) at offset %llu is not used by "
		                  "TensorFlow's messages", msg, f->wt, f->num, (unsigned long long)f->start);
	}
	if (w > end - *pos) {
		bool cut = end == r->size;
		tf_rd_fail(r, "tf.proto.invalid", f->start, "%s: field %u at offset %llu runs %llu bytes past the end of %s",
		           msg, f->num, (unsigned long long)f->start, (unsigned long long)(w - (end - *pos)),
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



/* A NUL-terminated arena copy of a length-delimited field's bytes. */
const char *tf_rd_copy_str(rd *r, const field *f)
{
	if (f->value > LEAF_MAX) {
		tf_rd_fail(r, "tf.proto.limit", f->start, "a string of %llu bytes at offset %llu is over the reader's %u-byte "
		           "cap", (unsigned long long)f->value, (unsigned long long)f->start, LEAF_MAX);
		return NULL;
	}
	const uint8_t *p = f->value ? get(r, f->off, (size_t)f->value) : NULL;
	if (f->value && !p)
		return NULL;
	char *s = msi_arena_strndup(r->arena, p, (size_t)f->value);
	if (!s)
		tf_rd_fail_alloc(r, f->start);
	return s;
}

bool tf_rd_vec_push(rd *r, vec *v, const void *item, size_t size)
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
bool tf_rd_vec_take(rd *r, vec *v, size_t size, void **out, uint32_t *n, uint64_t off)
{
	*out = NULL;
	*n = 0;
	if (!v->n)
		return true;
	if (v->n > UINT32_MAX)
		return tf_rd_fail(r, "tf.proto.limit", off, "a node at offset %llu has more than 2^32 entries in one list",
		                  (unsigned long long)off);
	void *p = msi_arena_zalloc(r->arena, v->n, size);
	if (!p)
		return tf_rd_fail_alloc(r, off);
	memcpy(p, v->items, v->n * size);
	*out = p;
	*n = (uint32_t)v->n;
	v->n = 0;
	return true;
}

/* Appends a scratch vector of pointers to an arena array (a message field
 * that comes twice is merged, as protobuf merges it: repeated fields
 * concatenate). */
bool tf_rd_append_ptrs(rd *r, vec *v, const char ***arr, size_t *n, uint64_t off)
{
	if (!v->n)
		return true;
	const char **a = msi_arena_zalloc(r->arena, (uint64_t)*n + v->n, sizeof *a);
	if (!a)
		return tf_rd_fail_alloc(r, off);
	if (*n)
		memcpy(a, *arr, *n * sizeof *a);
	memcpy(a + *n, v->items, v->n * sizeof *a);
	*arr = a;
	*n += v->n;
	v->n = 0;
	return true;
}

/* How many fields numbered `num` (length-delimited) a message holds. */
bool tf_rd_count_fields(rd *r, const char *msg, uint64_t off, uint64_t end, uint32_t num, uint64_t *count)
{
	*count = 0;
	for (uint64_t pos = off; pos < end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, end, msg, &f))
			return false;
		if (f.num == num && f.wt == 2)
			(*count)++;
	}
	return true;
}

/* ---- small messages: checked, then decoded by protobuf-c ---- */

/* Wire types, lengths and depth of a message and all it holds. */
static bool check_message(rd *r, const ProtobufCMessageDescriptor *d, uint64_t off, uint64_t end, unsigned depth)
{
	if (!tf_rd_depth_ok(r, depth, off, d->short_name))
		return false;
	for (uint64_t pos = off; pos < end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, end, d->short_name, &f))
			return false;
		const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(d, f.num);
		if (!fd)
			continue; /* a newer field: skipped, as protobuf does */
		if (!msi_pb_wire_fits(fd, f.wt))
			return tf_rd_fail(r, "tf.proto.invalid", f.start, "%s.%s (field %u) at offset %llu has wire type %d, which "
			                  "that field cannot have", d->short_name, fd->name, f.num, (unsigned long long)f.start,
			                  f.wt);
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE && !check_message(r, fd->descriptor, f.off, f.end, depth + 1))
			return false;
	}
	return true;
}

void *tf_rd_read_leaf(rd *r, const ProtobufCMessageDescriptor *d, const field *f, unsigned depth)
{
	if (!check_message(r, d, f->off, f->end, depth))
		return NULL;
	if (f->value > LEAF_MAX) {
		tf_rd_fail(r, "tf.proto.limit", f->start, "a %s of %llu bytes at offset %llu is over the reader's %u-byte cap",
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
			tf_rd_fail_alloc(r, f->start);
		else
			tf_rd_fail(r, "tf.proto.invalid", f->start, "the %s at offset %llu does not decode", d->short_name,
			           (unsigned long long)f->start);
	}
	return msg;
}

/* Appends a decoded message to an arena array that doubles as it grows
 * (the arena does not free: the old copies stay, bounded by 2x). */
bool tf_rd_push_msg(rd *r, void ***items, size_t *n, size_t *cap, void *msg, uint64_t off)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		void **a = msi_arena_zalloc(r->arena, nc, sizeof *a);
		if (!a)
			return tf_rd_fail_alloc(r, off);
		if (*n)
			memcpy(a, *items, *n * sizeof *a);
		*items = a;
		*cap = nc;
	}
	(*items)[(*n)++] = msg;
	return true;
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
		if (fd && !msi_pb_wire_fits(fd, wt))
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
