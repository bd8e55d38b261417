/*
 * Private to the SavedModel reader: the wire-walk state and primitives
 * (tf_sm_wire.c) that the message walk (tf_sm_read.c) is written in.
 * Every primitive checks what it reads against the end of its message and
 * records the first problem in the model (tf_rd_fail); after that they all
 * return false and the walk unwinds.
 */
#ifndef MSI_FORMATS_TF_SM_WIRE_H
#define MSI_FORMATS_TF_SM_WIRE_H

#include "tf_sm.h"

#define LEAF_MAX (16u * 1024u * 1024u)     /* one small message, or one string */

/* A scratch list, malloc'd, reused from node to node. */
typedef struct vec {
	void *items;
	size_t n, cap;
} vec;

/* The walk: the source, its window, the model read so far, the scratch lists. */
typedef struct rd {
	const msi_source *src;
	const uint8_t *mem;
	uint64_t size;
	uint8_t *win;
	size_t win_cap, win_len, win_next;
	uint64_t win_off;
	tf_savedmodel *m;
	msi_arena *arena;
	ProtobufCAllocator pa;
	/* a node's lists while it is walked */
	vec inputs, calls, urls, strings, dtypes;
	int rc;
	bool stop;
} rd;

/* A field header: where it is and what its value is. */
typedef struct field {
	uint64_t start;
	uint32_t num;
	int wt;
	uint64_t value;      /* a varint's value, or a length */
	uint64_t off, end;   /* the value (wt 1, 2, 5), and after the field */
} field;

/* Records a problem (the first one wins) and stops the walk; false. */
bool tf_rd_fail(rd *r, const char *code, uint64_t off, const char *fmt, ...) MSI_PRINTF(4, 5);
/* The arena said no: over max_metadata (a finding) or out of memory. */
bool tf_rd_fail_alloc(rd *r, uint64_t off);

/* A varint at *pos, before `end`; *pos moves past it. */
bool tf_rd_varint(rd *r, uint64_t *pos, uint64_t end, uint64_t *v);
/* The next field header at *pos, stepping over its value; `msg` names the
 * message in the error. */
bool tf_rd_next_field(rd *r, uint64_t *pos, uint64_t end, const char *msg, field *f);
/* How many fields numbered `num` (length-delimited) a message holds. */
bool tf_rd_count_fields(rd *r, const char *msg, uint64_t off, uint64_t end, uint32_t num, uint64_t *count);

/* A NUL-terminated arena copy of a length-delimited field's bytes. */
const char *tf_rd_copy_str(rd *r, const field *f);
bool tf_rd_vec_push(rd *r, vec *v, const void *item, size_t size);
/* Moves a scratch vector into the arena. */
bool tf_rd_vec_take(rd *r, vec *v, size_t size, void **out, uint32_t *n, uint64_t off);
/* Appends a scratch vector of pointers to an arena array (a repeated field
 * merged as protobuf merges it). */
bool tf_rd_append_ptrs(rd *r, vec *v, const char ***arr, size_t *n, uint64_t off);
/* Appends a decoded message to an arena array that doubles as it grows. */
bool tf_rd_push_msg(rd *r, void ***items, size_t *n, size_t *cap, void *msg, uint64_t off);

/* A small message (signature, saver, asset, object-graph node): its wire
 * checked to `depth`, then decoded by protobuf-c into the arena. */
void *tf_rd_read_leaf(rd *r, const ProtobufCMessageDescriptor *d, const field *f, unsigned depth);

/* A field the walk reads must have the wire type its declaration gives. */
static inline bool tf_rd_want_wt(rd *r, const field *f, int wt, const char *what)
{
	if (f->wt == wt)
		return true;
	return tf_rd_fail(r, "tf.proto.invalid", f->start, "%s (field %u) at offset %llu has wire type %d, not %d", what,
	                  f->num, (unsigned long long)f->start, f->wt, wt);
}

static inline bool tf_rd_depth_ok(rd *r, unsigned depth, uint64_t off, const char *msg)
{
	if (depth > TF_MAX_DEPTH)
		return tf_rd_fail(r, "tf.proto.depth", off, "%s at offset %llu is nested %u levels deep; the limit is %u", msg,
		                  (unsigned long long)off, depth, TF_MAX_DEPTH);
	return true;
}

#endif
