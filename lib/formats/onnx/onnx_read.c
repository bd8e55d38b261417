/*
 * Reading an ONNX ModelProto without trusting it.
 *
 * protobuf-c 1.4.1 has no recursion limit, copies every `bytes` field (a
 * 1 GiB raw_data included) and over-allocates empty repeated messages, so it
 * never sees the model. Instead this file walks the wire format itself,
 * through a bounded window over the source (or the memory behind it):
 *
 *  - every tag, wire type and length is checked against the message's
 *    protobuf-c descriptor before anything is read, and nesting is capped at
 *    ONNX_MAX_DEPTH;
 *  - graphs, subgraphs and function bodies are walked here, recursively;
 *  - tensor payloads (raw_data and the typed data fields) are skipped and
 *    recorded as offsets and counts, never read (except the varint-packed
 *    typed fields, whose element count needs their bytes);
 *  - what is left of each attribute, value info, tensor header, function
 *    and model header is a small message: its bytes are copied into a scratch
 *    stack, with the heavy fields replaced by empty placeholders, and decoded
 *    by protobuf-c with an arena allocator whose total is capped by the
 *    artifact's max_metadata;
 *  - a node's own fields are strings, copied here (see walk_node).
 *
 * Arrays are sized exactly by a first pass over a message's own field
 * headers (content skipped), so nothing is reallocated while reading.
 */
#include <stdio.h>
#include <string.h>

#include "../pb.h"
#include "onnx_ir.h"

#define WINDOW_READ (4u * 1024u)           /* first window, and after a jump */
#define WINDOW_MAX (4u * 1024u * 1024u)    /* largest refill of a sequential walk */
#define GRAPH_WHOLE (16u * 1024u * 1024u)  /* a graph up to this size is read in one piece */
#define LEAF_MAX (16u * 1024u * 1024u)     /* one small message, or one name */
#define ATTR_S_INLINE (64u * 1024u)        /* larger attribute `s` bytes are elided */
#define ARENA_CHUNK_MAX (8u * 1024u * 1024u) /* arena chunks double from 64 KiB to here */
#define LOOKUP_FIELDS 32u                  /* field numbers with a table in rd */

/* ---- name hashes ---- */

/* Eight bytes per step, mixed with splitmix64's multipliers; a name of up
 * to 8 bytes (most of a big graph's: "t12345", "b3") is one word. Seeded
 * with where this library was loaded (ASLR): the name tables probe
 * linearly, and a file whose names were chosen offline to share slots
 * would otherwise make the SSA walk quadratic. */
static const char hash_anchor;

static inline uint64_t hash_mix(uint64_t h)
{
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return h;
}

static inline uint32_t hash_finish(uint64_t h)
{
	h *= 0x94d049bb133111ebull;
	return (uint32_t)(h ^ (h >> 32));
}

/* The n <= 8 bytes at p as a little-endian word, zero above them (two
 * overlapping loads from 4 bytes on, no loop); the reader's name hashes
 * and its shared op_type/domain copies both compare names this way. */
static inline uint64_t word_upto8(const uint8_t *p, size_t n)
{
	if (n == 8)
		return msi_le64(p);
	if (n >= 4)
		return (uint64_t)msi_le32(p) | (uint64_t)msi_le32(p + n - 4) << (8 * (n - 4));
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

/* A name of n <= 8 bytes, given as a little-endian word. */
static inline uint32_t hash_small(uint64_t word, size_t n)
{
	return hash_finish(hash_mix(((uint64_t)(uintptr_t)&hash_anchor ^ n) * 0x9e3779b97f4a7c15ull ^ word));
}

/* A name of n > 8 bytes. */
static uint32_t hash_long(const uint8_t *p, size_t n)
{
	uint64_t h = ((uint64_t)(uintptr_t)&hash_anchor ^ n) * 0x9e3779b97f4a7c15ull;
	for (; n >= 8; p += 8, n -= 8)
		h = hash_mix(h ^ msi_le64(p)) * 0x94d049bb133111ebull;
	uint64_t w;
	if (n >= 4)
		w = (uint64_t)msi_le32(p) | (uint64_t)msi_le32(p + n - 4) << 32; /* the two may overlap */
	else
		w = n ? (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16 : 0;
	return hash_finish(hash_mix(h ^ w ^ (uint64_t)n << 56));
}

uint32_t onnx_str_hash(const char *key)
{
	const uint8_t *p = (const uint8_t *)key;
	uint64_t small = 0;
	size_t n = 0;
	while (n < 8 && p[n]) {
		small |= (uint64_t)p[n] << (8 * n);
		n++;
	}
	if (n < 8 || !p[8])
		return hash_small(small, n);
	return hash_long(p, strlen(key));
}

/* Whether any of the n > 8 bytes is 0, a word at a time. */
static inline bool has_nul(const uint8_t *p, size_t n)
{
	uint64_t z = 0;
	for (; n >= 8; p += 8, n -= 8)
		z |= msi_zero_bytes(msi_le64(p));
	if (n)
		z |= msi_zero_bytes(msi_le64(p + n - 8)); /* overlaps the last word: n was over 8 */
	return z != 0;
}

/* onnx_str_hash of the C string that `n` bytes in hand make, without a
 * call for a short name: the reader hashes each input and output name as
 * it copies it, its length known and its bytes in the cache. */
static inline uint32_t mem_hash(const uint8_t *p, size_t n)
{
	if (n <= 8) {
		uint64_t w = word_upto8(p, n);
		/* no zero byte among the n (the zero bytes above them borrow from
		 * nothing below) */
		uint64_t low = n == 8 ? ~0ull : (1ull << (8 * n)) - 1;
		if (!(msi_zero_bytes(w) & low))
			return hash_small(w, n);
	} else if (!has_nul(p, n)) {
		return hash_long(p, n);
	}
	return onnx_str_hash((const char *)p); /* a NUL inside: the C string ends there */
}

/* ---- the reader ---- */

typedef struct rd {
	const msi_source *src;
	const uint8_t *mem;          /* the payload itself when memory-backed */
	uint64_t size;
	uint8_t *win;                /* file window */
	size_t win_cap, win_len;
	size_t win_next;             /* size of the next refill */
	uint64_t win_off;
	onnx_model *m;
	msi_arena *arena;
	ProtobufCAllocator pa;
	msi_buf stk;                 /* scratch stack of filtered copies */
	size_t tensors_cap;
	struct {
		const ProtobufCMessageDescriptor *d;
		const ProtobufCFieldDescriptor *f[LOOKUP_FIELDS];
	} fields[8];
	struct {
		const char *s;           /* a copy in the arena, or NULL */
		size_t len;
		uint64_t word;           /* its first 8 bytes, little-endian, zero-padded */
	} shared[64];                /* op_type and domain strings, one copy each (see shared_string) */
	int rc;                      /* MS_ENOMEM / MS_EIO / MS_ECHANGED */
	bool stop;                   /* a problem was recorded: unwind */
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
		return fail(r, "onnx.limit", off, "the model's metadata needs more than the %llu bytes allowed "
		            "(max_metadata)", (unsigned long long)r->arena->cap);
	return fail_rc(r, MS_ENOMEM);
}

static const uint8_t *get_slow(rd *r, uint64_t off, size_t n);

/* `n` bytes at `off`, which the caller has checked lie inside the payload. */
static inline const uint8_t *get(rd *r, uint64_t off, size_t n)
{
	if (r->mem)
		return r->mem + off;
	if (off >= r->win_off && off - r->win_off <= r->win_len && n <= r->win_len - (off - r->win_off))
		return r->win + (off - r->win_off);
	return get_slow(r, off, n);
}

/* Refills the window at `off`. Reads grow while the walk runs on from the
 * end of the last window (a graph of small nodes: fewer, larger reads, up
 * to WINDOW_MAX) and drop back to WINDOW_READ after a jump (the next field
 * after a skipped tensor payload: a few bytes are needed, not megabytes). */
static const uint8_t *get_slow(rd *r, uint64_t off, size_t n)
{
	bool sequential = r->win_len && off >= r->win_off && off - r->win_off <= r->win_len;
	r->win_next = sequential ? (r->win_next * 2 > WINDOW_MAX ? WINDOW_MAX : r->win_next * 2) : WINDOW_READ;
	size_t want = n > r->win_next ? n : r->win_next;
	if (want > r->size - off)
		want = (size_t)(r->size - off);
	if (want > r->win_cap) {
		uint8_t *w = msi_big_realloc(r->win, r->win_cap, want);
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

/* Decodes a varint at *pos (< end). Ten bytes at most, and the tenth may only
 * carry the top bit of a 64-bit value. */
static bool varint_slow(rd *r, uint64_t *pos, uint64_t end, uint64_t *v);

/* The bytes from `off` to the end of what is in memory (the payload or the
 * window), or NULL when `off` is outside the window. */
static inline __attribute__((always_inline)) const uint8_t *peek(const rd *r, uint64_t off, uint64_t *avail)
{
	if (r->mem) {
		*avail = r->size - off;
		return r->mem + off;
	}
	uint64_t k = off - r->win_off;
	if (off < r->win_off || k >= r->win_len)
		return NULL;
	*avail = r->win_len - k;
	return r->win + k;
}

static inline __attribute__((always_inline)) bool varint(rd *r, uint64_t *pos, uint64_t end, uint64_t *v)
{
	/* one or two bytes: tags and lengths below 16 KiB, nearly every varint
	 * of a graph */
	uint64_t avail;
	const uint8_t *p = *pos < end ? peek(r, *pos, &avail) : NULL;
	if (p) {
		uint64_t lim = end - *pos < avail ? end - *pos : avail;
		if (p[0] < 0x80) {
			*v = p[0];
			*pos += 1;
			return true;
		}
		if (lim >= 2 && p[1] < 0x80) {
			*v = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
			*pos += 2;
			return true;
		}
	}
	return varint_slow(r, pos, end, v);
}

static bool varint_slow(rd *r, uint64_t *pos, uint64_t end, uint64_t *v)
{
	uint64_t avail = end - *pos;
	size_t n = avail < 10 ? (size_t)avail : 10;
	const uint8_t *p = get(r, *pos, n);
	if (!p)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 9 && p[i] > 1)
			return fail(r, "onnx.wire.malformed", *pos, "a varint at offset %llu overflows 64 bits",
			            (unsigned long long)*pos);
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*pos += i + 1;
			*v = x;
			return true;
		}
	}
	if (n < 10)
		return fail(r, "onnx.wire.truncated", *pos, "a varint at offset %llu is cut by the end of its message",
		            (unsigned long long)*pos);
	return fail(r, "onnx.wire.malformed", *pos, "a varint at offset %llu is longer than 10 bytes",
	            (unsigned long long)*pos);
}

typedef struct field {
	uint64_t start;      /* offset of the tag */
	uint32_t num;
	int wt;
	uint64_t value;      /* a varint's value, or a length */
	uint64_t off;        /* where the value (wt 1, 2, 5) starts */
	uint64_t end;        /* offset after the field */
} field;

static bool next_field_slow(rd *r, uint64_t *pos, uint64_t end, const char *msg, field *f);

/* Reads the next field header at *pos and steps over its value. The inline
 * part takes the common shape (a one-byte tag of a length-delimited field,
 * a length below 16 KiB, all in memory); the rest, errors included, goes
 * the checked slow way. */
static inline __attribute__((always_inline)) bool next_field(rd *r, uint64_t *pos, uint64_t end, const char *msg,
                                                            field *f)
{
	uint64_t avail;
	const uint8_t *p = peek(r, *pos, &avail);
	uint64_t lim = end - *pos;
	if (p && avail >= 3 && lim >= 3 && p[0] >= 8 && p[0] < 0x80 && (p[0] & 7) == 2) {
		uint64_t len, hdr;
		if (p[1] < 0x80) {
			len = p[1];
			hdr = 2;
		} else if (p[2] < 0x80) {
			len = (uint64_t)(p[1] & 0x7f) | (uint64_t)p[2] << 7;
			hdr = 3;
		} else {
			return next_field_slow(r, pos, end, msg, f);
		}
		if (len <= lim - hdr) {
			f->start = *pos;
			f->num = p[0] >> 3;
			f->wt = 2;
			f->value = len;
			f->off = *pos + hdr;
			f->end = f->off + len;
			*pos = f->end;
			return true;
		}
	}
	return next_field_slow(r, pos, end, msg, f);
}

static bool next_field_slow(rd *r, uint64_t *pos, uint64_t end, const char *msg, field *f)
{
	f->start = *pos;
	uint64_t tag;
	if (!varint(r, pos, end, &tag))
		return false;
	f->num = (uint32_t)(tag >> 3);
	f->wt = (int)(tag & 7);
	if (tag >> 3 == 0 || tag >> 3 > 536870911u)
		return fail(r, "onnx.wire.malformed", f->start, "%s: invalid field number %llu at offset %llu", msg,
		            (unsigned long long)(tag >> 3), (unsigned long long)f->start);
	uint64_t w = 0;
	switch (f->wt) {
	case 0:
		if (!varint(r, pos, end, &f->value))
			return false;
		f->off = *pos;
		f->end = *pos;
		return true;
	case 1: w = 8; break;
	case 5: w = 4; break;
	case 2:
		if (!varint(r, pos, end, &f->value))
			return false;
		w = f->value;
		break;
	default:
		return fail(r, "onnx.wire.malformed", f->start, "%s: wire type %d (field %u) at offset %llu is not used "
		            "by ONNX", msg, f->wt, f->num, (unsigned long long)f->start);
	}
	if (w > end - *pos)
		return fail(r, "onnx.wire.truncated", f->start, "%s: field %u at offset %llu runs %llu bytes past the "
		            "end of its message", msg, f->num, (unsigned long long)f->start,
		            (unsigned long long)(w - (end - *pos)));
	f->off = *pos;
	*pos += w;
	f->end = *pos;
	return true;
}

static void note_unknown(rd *r, const field *f, const char *msg)
{
	if (r->m->unknown_fields++ == 0) {
		r->m->first_unknown_off = f->start;
		r->m->first_unknown_field = f->num;
		r->m->first_unknown_msg = msg;
	}
}

/* The descriptor of field f in message d: NULL for a field this IR does not
 * define (counted, then skipped like protobuf does), a failure for a wire
 * type the field cannot have. */
static bool lookup(rd *r, const ProtobufCMessageDescriptor *d, const field *f, const ProtobufCFieldDescriptor **fd)
{
	/* the messages walked here, field by field, have a table (built by
	 * onnx_model_read) instead of protobuf-c's binary search */
	*fd = NULL;
	bool cached = false;
	if (f->num < LOOKUP_FIELDS) {
		for (size_t i = 0; i < MSI_ARRAY_LEN(r->fields); i++) {
			if (r->fields[i].d == d) {
				*fd = r->fields[i].f[f->num];
				cached = true;
				break;
			}
		}
	}
	if (!cached)
		*fd = protobuf_c_message_descriptor_get_field(d, f->num);
	if (!*fd) {
		note_unknown(r, f, d->short_name);
		return true;
	}
	if (!msi_pb_wire_fits(*fd, f->wt))
		return fail(r, "onnx.wire.malformed", f->start, "%s.%s (field %u) at offset %llu has wire type %d, "
		            "which that field cannot have", d->short_name, (*fd)->name, f->num,
		            (unsigned long long)f->start, f->wt);
	return true;
}

static bool depth_ok(rd *r, unsigned depth, uint64_t off, const char *msg)
{
	if (depth > ONNX_MAX_DEPTH)
		return fail(r, "onnx.wire.depth", off, "%s at offset %llu is nested %u levels deep; the limit is %u",
		            msg, (unsigned long long)off, depth, ONNX_MAX_DEPTH);
	return true;
}

/* Checks a small message of type d in [off, end) and every message inside
 * it: wire types, lengths and depth. Nothing is kept. */
static bool check_message(rd *r, const ProtobufCMessageDescriptor *d, uint64_t off, uint64_t end, unsigned depth)
{
	if (!depth_ok(r, depth, off, d->short_name))
		return false;
	uint64_t pos = off;
	while (pos < end) {
		field f;
		const ProtobufCFieldDescriptor *fd;
		if (!next_field(r, &pos, end, d->short_name, &f) || !lookup(r, d, &f, &fd))
			return false;
		if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE &&
		    !check_message(r, fd->descriptor, f.off, f.end, depth + 1))
			return false;
	}
	return true;
}

/* ---- the scratch stack: filtered copies for protobuf-c ---- */

static bool stk_put(rd *r, const void *p, size_t n)
{
	msi_buf_append(&r->stk, p, n);
	return r->stk.failed ? fail_rc(r, MS_ENOMEM) : true;
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		out[n++] = b | (v ? 0x80 : 0);
	} while (v);
	return n;
}

/* Copies a whole field (tag to end) from the payload. */
static bool stk_copy(rd *r, const field *f)
{
	uint64_t n = f->end - f->start;
	if (n > LEAF_MAX)
		return fail(r, "onnx.limit", f->start, "a field of %llu bytes at offset %llu is larger than the "
		            "reader's %u-byte cap for metadata", (unsigned long long)n, (unsigned long long)f->start,
		            LEAF_MAX);
	const uint8_t *p = get(r, f->start, (size_t)n);
	return p && stk_put(r, p, (size_t)n);
}

/* An empty length-delimited field: keeps the presence of what it stands for. */
static bool stk_placeholder(rd *r, uint32_t num)
{
	uint8_t b[11];
	size_t n = put_varint(b, (uint64_t)num << 3 | 2);
	b[n++] = 0;
	return stk_put(r, b, n);
}

/* Wraps the bytes from `base` to the top of the stack as field `num`. */
static bool stk_wrap(rd *r, size_t base, uint32_t num)
{
	uint8_t hdr[20];
	size_t n = put_varint(hdr, (uint64_t)num << 3 | 2);
	n += put_varint(hdr + n, r->stk.len - base);
	if (!msi_buf_reserve(&r->stk, n))
		return fail_rc(r, MS_ENOMEM);
	memmove(r->stk.data + base + n, r->stk.data + base, r->stk.len - base);
	memcpy(r->stk.data + base, hdr, n);
	r->stk.len += n;
	return true;
}

static void *unpack(rd *r, const ProtobufCMessageDescriptor *d, size_t base, uint64_t off)
{
	static const uint8_t empty[1];
	/* an empty message may come with no stack at all (NULL + 0 is undefined) */
	const uint8_t *bytes = r->stk.data ? (const uint8_t *)r->stk.data + base : empty;
	void *msg = protobuf_c_message_unpack(d, &r->pa, r->stk.len - base, bytes);
	r->stk.len = base;
	if (!msg) {
		if (r->arena->over)
			fail_alloc(r, off);
		else
			fail(r, "onnx.wire.malformed", off, "the %s at offset %llu does not decode", d->short_name,
			     (unsigned long long)off);
	}
	return msg;
}

/* A small message read whole: checked, then decoded by protobuf-c. */
static void *read_leaf(rd *r, const ProtobufCMessageDescriptor *d, const field *f, unsigned depth)
{
	if (!check_message(r, d, f->off, f->end, depth))
		return NULL;
	if (f->value > LEAF_MAX) {
		fail(r, "onnx.limit", f->start, "a %s of %llu bytes at offset %llu is larger than the reader's cap",
		     d->short_name, (unsigned long long)f->value, (unsigned long long)f->start);
		return NULL;
	}
	const uint8_t *p = get(r, f->off, (size_t)f->value);
	if (!p)
		return NULL;
	void *msg = protobuf_c_message_unpack(d, &r->pa, (size_t)f->value, p);
	if (!msg) {
		if (r->arena->over)
			fail_alloc(r, f->start);
		else
			fail(r, "onnx.wire.malformed", f->start, "the %s at offset %llu does not decode", d->short_name,
			     (unsigned long long)f->start);
	}
	return msg;
}

/* Counts the fields of a message by number (content skipped). */
#define COUNT_MAX 32
static bool count_fields(rd *r, const char *msg, uint64_t off, uint64_t end, uint64_t counts[COUNT_MAX])
{
	memset(counts, 0, sizeof(uint64_t) * COUNT_MAX);
	uint64_t pos = off;
	while (pos < end) {
		field f;
		if (!next_field(r, &pos, end, msg, &f))
			return false;
		if (f.num < COUNT_MAX && f.wt == 2)
			counts[f.num]++;
	}
	return true;
}

static bool add_tensor(rd *r, onnx_tensor *t)
{
	onnx_model *m = r->m;
	if (m->n_tensors == r->tensors_cap) {
		size_t cap = r->tensors_cap ? r->tensors_cap * 2 : 64;
		onnx_tensor **v = msi_reallocarray(m->tensors, cap, sizeof *v);
		if (!v)
			return fail_rc(r, MS_ENOMEM);
		m->tensors = v;
		r->tensors_cap = cap;
	}
	m->tensors[m->n_tensors++] = t;
	return true;
}

/* ---- tensors ---- */

/* Whether a StringStringEntryProto (already checked) has a NUL inside its
 * key or value. */
static bool entry_has_nul(rd *r, const field *ef, bool *nul)
{
	uint64_t pos = ef->off;
	while (pos < ef->end) {
		field f;
		if (!next_field(r, &pos, ef->end, "StringStringEntryProto", &f))
			return false;
		if (f.wt != 2 || f.value == 0)
			continue;
		if (f.value > LEAF_MAX)
			return fail(r, "onnx.limit", f.start, "an external_data entry of %llu bytes is over the reader's cap",
			            (unsigned long long)f.value);
		const uint8_t *p = get(r, f.off, (size_t)f.value);
		if (!p)
			return false;
		if (memchr(p, 0, (size_t)f.value))
			*nul = true;
	}
	return true;
}

/* Counts the varints packed in [off, end) through the window. */
static bool count_packed_varints(rd *r, uint64_t off, uint64_t end, uint64_t *count)
{
	uint64_t n = 0;
	uint8_t last = 0;
	for (uint64_t pos = off; pos < end;) {
		size_t chunk = end - pos > WINDOW_READ ? WINDOW_READ : (size_t)(end - pos);
		const uint8_t *p = get(r, pos, chunk);
		if (!p)
			return false;
		for (size_t i = 0; i < chunk; i++)
			n += !(p[i] & 0x80);
		last = p[chunk - 1];
		pos += chunk;
	}
	if (end > off && (last & 0x80))
		return fail(r, "onnx.wire.malformed", end - 1, "packed varints end inside a value at offset %llu",
		            (unsigned long long)(end - 1));
	*count += n;
	return true;
}

static bool walk_tensor(rd *r, const field *tf, unsigned depth, onnx_tensor **out)
{
	const ProtobufCMessageDescriptor *d = &onnx__tensor_proto__descriptor;
	if (!depth_ok(r, depth, tf->start, "TensorProto"))
		return false;
	onnx_tensor *t = msi_arena_zalloc(r->arena, 1, sizeof *t);
	if (!t)
		return fail_alloc(r, tf->start);
	t->msg_off = tf->off;
	t->msg_len = tf->value;
	size_t base = r->stk.len;
	uint64_t pos = tf->off;
	while (pos < tf->end) {
		field f;
		const ProtobufCFieldDescriptor *fd;
		if (!next_field(r, &pos, tf->end, "TensorProto", &f) || !lookup(r, d, &f, &fd))
			return false;
		if (!fd)
			continue;
		int data = -1;
		switch (f.num) {
		case 4: data = ONNX_DATA_FLOAT; break;
		case 5: data = ONNX_DATA_INT32; break;
		case 6: data = ONNX_DATA_STRING; break;
		case 7: data = ONNX_DATA_INT64; break;
		case 9: data = ONNX_DATA_RAW; break;
		case 10: data = ONNX_DATA_DOUBLE; break;
		case 11: data = ONNX_DATA_UINT64; break;
		default: break;
		}
		if (data < 0) {
			if (fd->type == PROTOBUF_C_TYPE_MESSAGE && !check_message(r, fd->descriptor, f.off, f.end, depth + 1))
				return false;
			if (f.num == 13 && !t->external_nul && !entry_has_nul(r, &f, &t->external_nul))
				return false;
			if (!stk_copy(r, &f))
				return false;
			continue;
		}
		t->present |= 1u << data;
		uint64_t *count = &t->counts[data];
		switch (data) {
		case ONNX_DATA_RAW:
			t->raw_off = f.off;
			t->raw_len = f.value; /* protobuf keeps the last one */
			*count = f.value;
			break;
		case ONNX_DATA_STRING:
			(*count)++;
			break;
		case ONNX_DATA_FLOAT:
		case ONNX_DATA_DOUBLE: {
			unsigned w = data == ONNX_DATA_FLOAT ? 4 : 8;
			if (f.wt != 2) {
				(*count)++;
			} else if (f.value % w) {
				return fail(r, "onnx.wire.malformed", f.start, "packed %s at offset %llu is %llu bytes, not a "
				            "multiple of %u", fd->name, (unsigned long long)f.start,
				            (unsigned long long)f.value, w);
			} else {
				*count += f.value / w;
			}
			break;
		}
		default:
			if (f.wt == 0)
				(*count)++;
			else if (!count_packed_varints(r, f.off, f.end, count))
				return false;
			break;
		}
	}
	t->pb = unpack(r, d, base, tf->start);
	if (!t->pb)
		return false;
	*out = t;
	return add_tensor(r, t);
}

static bool read_dims(rd *r, const field *f, int64_t *dims, size_t cap, size_t *n)
{
	uint64_t pos = f->off;
	if (f->wt == 0) {
		if (*n < cap)
			dims[*n] = (int64_t)f->value;
		(*n)++;
		return true;
	}
	while (pos < f->end) {
		uint64_t v;
		if (!varint(r, &pos, f->end, &v))
			return false;
		if (*n < cap)
			dims[*n] = (int64_t)v;
		(*n)++;
	}
	return true;
}

static bool walk_sparse(rd *r, const field *sf, unsigned depth, onnx_sparse **out)
{
	const ProtobufCMessageDescriptor *d = &onnx__sparse_tensor_proto__descriptor;
	if (!depth_ok(r, depth, sf->start, "SparseTensorProto"))
		return false;
	onnx_sparse *s = msi_arena_zalloc(r->arena, 1, sizeof *s);
	if (!s)
		return fail_alloc(r, sf->start);
	s->msg_off = sf->start;
	/* dims: counted first (packed or not), then read */
	uint64_t ndims = 0;
	for (int pass = 0; pass < 2; pass++) {
		uint64_t pos = sf->off;
		size_t n = 0;
		while (pos < sf->end) {
			field f;
			const ProtobufCFieldDescriptor *fd;
			if (!next_field(r, &pos, sf->end, "SparseTensorProto", &f))
				return false;
			/* the first pass checks wire types and counts unknown fields, once */
			if (pass == 1)
				fd = protobuf_c_message_descriptor_get_field(d, f.num);
			else if (!lookup(r, d, &f, &fd))
				return false;
			if (!fd)
				continue;
			if (f.num == 3) {
				if (!read_dims(r, &f, s->dims, pass ? (size_t)ndims : 0, &n))
					return false;
			} else if (pass == 1 && f.num == 1) {
				if (!walk_tensor(r, &f, depth + 1, &s->values))
					return false;
			} else if (pass == 1 && f.num == 2) {
				if (!walk_tensor(r, &f, depth + 1, &s->indices))
					return false;
			}
		}
		if (pass == 0) {
			ndims = n;
			if (ndims) {
				s->dims = msi_arena_zalloc(r->arena, (size_t)ndims, sizeof *s->dims);
				if (!s->dims)
					return fail_alloc(r, sf->start);
			}
		}
		s->n_dims = n;
	}
	*out = s;
	return true;
}

/* ---- graphs, nodes, attributes ---- */

static bool walk_graph(rd *r, const field *gf, unsigned depth, onnx_graph **out);

/* Appends attribute `af`'s filtered content to the stack. */
static bool walk_attr(rd *r, const field *af, unsigned depth, onnx_attr_ext *ext)
{
	const ProtobufCMessageDescriptor *d = &onnx__attribute_proto__descriptor;
	if (!depth_ok(r, depth, af->start, "AttributeProto"))
		return false;
	uint64_t counts[COUNT_MAX];
	if (!count_fields(r, "AttributeProto", af->off, af->end, counts))
		return false;
	if (counts[10] && !(ext->tensors = msi_arena_zalloc(r->arena, (size_t)counts[10], sizeof(void *))))
		return fail_alloc(r, af->start);
	if (counts[11] && !(ext->graphs = msi_arena_zalloc(r->arena, (size_t)counts[11], sizeof(void *))))
		return fail_alloc(r, af->start);
	if (counts[23] && !(ext->sparse_tensors = msi_arena_zalloc(r->arena, (size_t)counts[23], sizeof(void *))))
		return fail_alloc(r, af->start);
	uint64_t pos = af->off;
	while (pos < af->end) {
		field f;
		const ProtobufCFieldDescriptor *fd;
		if (!next_field(r, &pos, af->end, "AttributeProto", &f) || !lookup(r, d, &f, &fd))
			return false;
		if (!fd)
			continue;
		bool ok = true;
		switch (f.num) {
		case 5:
			ok = walk_tensor(r, &f, depth + 1, &ext->t);
			break;
		case 6:
			ok = walk_graph(r, &f, depth + 1, &ext->g);
			break;
		case 10:
			ok = walk_tensor(r, &f, depth + 1, &ext->tensors[ext->n_tensors++]);
			break;
		case 11:
			ok = walk_graph(r, &f, depth + 1, &ext->graphs[ext->n_graphs++]);
			break;
		case 22:
			ok = walk_sparse(r, &f, depth + 1, &ext->sparse_tensor);
			break;
		case 23:
			ok = walk_sparse(r, &f, depth + 1, &ext->sparse_tensors[ext->n_sparse_tensors++]);
			break;
		case 4:
			if (f.value > ATTR_S_INLINE) {
				/* a blob (an EPContext engine, say): its length is enough */
				ext->s_len = f.value;
				ext->s_elided = true;
				if (!stk_placeholder(r, 4))
					return false;
				continue;
			}
			/* fall through */
		default:
			if (fd->type == PROTOBUF_C_TYPE_MESSAGE && !check_message(r, fd->descriptor, f.off, f.end, depth + 1))
				return false;
			if (!stk_copy(r, &f))
				return false;
			continue;
		}
		if (!ok || !stk_placeholder(r, f.num))
			return false;
	}
	return true;
}

/* Copies string field f into dst (NUL-terminated); dst has room. */
static bool copy_field_str(rd *r, const field *f, char *dst)
{
	const uint8_t *p = get(r, f->off, (size_t)f->value);
	if (!p)
		return false;
	memcpy(dst, p, (size_t)f->value);
	dst[f->value] = '\0';
	return true;
}

/* A node. NodeProto's own fields are strings (input, output, name,
 * op_type, domain, overload, doc_string) and two small message lists;
 * those strings are copied here in two passes over the node's bytes (count
 * and size, then fill one block), because protobuf-c spent ~1,400
 * instructions per node of a 200,000-node graph on them (callgrind), seven
 * times the rest of the walk. Each attribute, the part with types and
 * nesting, is filtered and decoded by protobuf-c (see walk_attr). */
/* Reads a varint from memory already in hand; false when it does not end
 * before `e` within ten bytes (the checked walk then says why). */
static inline bool mem_varint(const uint8_t **pp, const uint8_t *e, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t x = 0;
	for (unsigned i = 0; i < 10 && p < e; i++, p++) {
		x |= (uint64_t)(*p & 0x7f) << (7 * i);
		if (!(*p & 0x80)) {
			*pp = p + 1;
			*v = x;
			return true;
		}
	}
	return false;
}

/* op_type and domain: a graph of 200,000 nodes has a few dozen distinct
 * ones, so each node points at one shared copy instead of its own. Less to
 * write, and the checks and facts can tell two nodes of the same op apart
 * by the pointer before they compare strings (onnx_schema.c, onnx_facts.c).
 * Direct-mapped on the length and first 8 bytes, compared as one word (a
 * byte loop's varying length kept missing the branch predictor): a
 * collision only costs a copy. NULL when the arena is full. */
static const char *shared_string(rd *r, const uint8_t *p, size_t len)
{
	uint64_t word = word_upto8(p, len < 8 ? len : 8);
	uint64_t h = (word ^ len) * 0x9E3779B97F4A7C15ull;
	__typeof__(r->shared[0]) *e = &r->shared[(h >> 58) % MSI_ARRAY_LEN(r->shared)];
	if (e->s && e->len == len && e->word == word && (len <= 8 || memcmp(e->s + 8, p + 8, len - 8) == 0))
		return e->s;
	char *s = msi_arena_strndup(r->arena, p, len);
	if (s) {
		e->s = s;
		e->len = len;
		e->word = word;
	}
	return s;
}

/* memcpy for a node's names, which are short: no call for up to 16 bytes
 * (each copy overlaps itself rather than looping). */
static inline void copy_short(char *dst, const uint8_t *src, size_t n)
{
	if (n >= 8 && n <= 16) {
		uint64_t a, b;
		memcpy(&a, src, 8);
		memcpy(&b, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
	} else if (n >= 4 && n < 8) {
		uint32_t a, b;
		memcpy(&a, src, 4);
		memcpy(&b, src + n - 4, 4);
		memcpy(dst, &a, 4);
		memcpy(dst + n - 4, &b, 4);
	} else if (n < 4) {
		for (size_t i = 0; i < n; i++)
			dst[i] = (char)src[i];
	} else {
		memcpy(dst, src, n);
	}
}

/* A node's string field `num` now at `s`: inputs and outputs are appended
 * (their arrays are sized already), the singular names keep the last one
 * as protobuf does. false for fields that are not strings of the node. */
static bool node_take_string(onnx_node *node, unsigned num, const char *s)
{
	switch (num) {
	case 1: node->input[node->n_input++] = s; return true;
	case 2: node->output[node->n_output++] = s; return true;
	case 3: node->name = s; return true;
	case 4: node->op_type = s; return true;
	case 7: node->domain = s; return true;
	case 8: node->overload = s; return true;
	default: return false;
	}
}

static bool node_alloc_attrs(rd *r, onnx_node *node, uint64_t n_attr, uint64_t off)
{
	if (n_attr && (!(node->attrs = msi_arena_zalloc(r->arena, (size_t)n_attr, sizeof *node->attrs)) ||
	               !(node->attribute = msi_arena_zalloc(r->arena, (size_t)n_attr, sizeof *node->attribute))))
		return fail_alloc(r, off);
	return true;
}

/* Attribute field `af` of the node: filtered, decoded by protobuf-c, kept. */
static bool node_add_attr(rd *r, onnx_node *node, const field *af, unsigned depth)
{
	size_t abase = r->stk.len;
	if (!walk_attr(r, af, depth + 1, &node->attrs[node->n_attribute]))
		return false;
	Onnx__AttributeProto *a = unpack(r, &onnx__attribute_proto__descriptor, abase, af->start);
	if (!a)
		return false;
	node->attribute[node->n_attribute++] = a;
	return true;
}

/* The common node, in one tight pass over its bytes in memory: one-byte
 * tags of fields 1-8, all length-delimited, at most NODE_FAST_FIELDS of
 * them. Returns 1 when done, 0 when the node has any other shape (then
 * nothing was changed and the checked walk below takes it), -1 on failure
 * (recorded). */
#define NODE_FAST_MAX (64u * 1024u)
#define NODE_FAST_FIELDS 48u
static int walk_node_fast(rd *r, const field *nf, unsigned depth, onnx_node *node)
{
	if (nf->value > NODE_FAST_MAX)
		return 0;
	const uint8_t *p = get(r, nf->off, (size_t)nf->value);
	if (!p)
		return -1;
	const uint8_t *e = p + nf->value;
	/* pass 1: where each field is, and how many of each kind. The tags of
	 * fields 1-8 with wire type 2 are the bytes 0x0a, 0x12, ... 0x42. */
	struct {
		uint32_t start, off, len;
		uint8_t num;
	} refs[NODE_FAST_FIELDS];
	uint32_t n_in = 0, n_out = 0, n_attr = 0; /* in registers: an array in memory chained each
	                                             * field's count through a store */
	size_t n = 0, bytes = 0;
	for (const uint8_t *q = p; q < e; n++) {
		uint8_t tag = q[0];
		if (n == NODE_FAST_FIELDS || (tag & 7) != 2 || tag < 8 || tag >= 0x48 || e - q < 2)
			return 0;
		uint64_t len;
		refs[n].start = (uint32_t)(q - p);
		if (q[1] < 0x80) {
			len = q[1]; /* under 128 bytes: one length byte */
			q += 2;
		} else {
			q++;
			if (!mem_varint(&q, e, &len))
				return 0;
		}
		if (len > (uint64_t)(e - q))
			return 0;
		uint8_t num = tag >> 3;
		n_in += num == 1;
		n_out += num == 2;
		n_attr += num == 5;
		refs[n].off = (uint32_t)(q - p);
		refs[n].len = (uint32_t)len;
		refs[n].num = num;
		if (num <= 3 || num == 8)
			bytes += (size_t)len + 1; /* copied below: inputs, outputs, name, overload */
		q += len;
	}
	/* one block: the input and output pointer arrays, their hashes, then
	 * the strings */
	size_t ptrs = ((size_t)n_in + n_out) * sizeof(char *);
	char *block = msi_arena_alloc(r->arena, ptrs + ((size_t)n_in + n_out) * sizeof(uint32_t) + bytes + 1);
	if (!block) {
		fail_alloc(r, nf->start);
		return -1;
	}
	if (!node_alloc_attrs(r, node, n_attr, nf->start))
		return -1;
	const char **in = (const char **)block, **out = in + n_in;
	node->input = n_in ? in : NULL;
	node->output = n_out ? out : NULL;
	uint32_t *io_hash = (uint32_t *)(block + ptrs);
	node->io_hash = n_in + n_out ? io_hash : NULL;
	char *strs = block + ptrs + ((size_t)n_in + n_out) * sizeof(uint32_t);
	uint32_t ni = 0, no = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *src = p + refs[i].off;
		size_t len = refs[i].len;
		const char *str;
		switch (refs[i].num) {
		case 4: /* op_type */
		case 7: /* domain */
			if (!(str = shared_string(r, src, len))) {
				fail_alloc(r, nf->start);
				return -1;
			}
			if (refs[i].num == 4)
				node->op_type = str;
			else
				node->domain = str;
			continue;
		case 5: /* attributes below */
		case 6: /* doc_string */
			continue;
		default:
			break;
		}
		copy_short(strs, src, len);
		strs[len] = '\0';
		switch (refs[i].num) {
		case 1: io_hash[ni] = mem_hash(src, len); in[ni++] = strs; break;
		case 2: io_hash[n_in + no] = mem_hash(src, len); out[no++] = strs; break;
		case 3: node->name = strs; break;
		default: node->overload = strs; break; /* 8 */
		}
		strs += len + 1;
	}
	node->n_input = ni;
	node->n_output = no;
	for (size_t i = 0; i < n && n_attr; i++) {
		if (refs[i].num != 5)
			continue;
		/* walking an attribute may move the window: only offsets from here */
		field af = { nf->off + refs[i].start, 5, 2, refs[i].len, nf->off + refs[i].off,
		             nf->off + refs[i].off + refs[i].len };
		if (!node_add_attr(r, node, &af, depth))
			return -1;
	}
	r->m->nodes_total++;
	return 1;
}

static bool walk_node(rd *r, const field *nf, unsigned depth, onnx_node *node)
{
	const ProtobufCMessageDescriptor *d = &onnx__node_proto__descriptor;
	memset(node, 0, sizeof *node);
	if (!depth_ok(r, depth, nf->start, "NodeProto"))
		return false;
	int fast = walk_node_fast(r, nf, depth, node);
	if (fast)
		return fast > 0;
	/* pass 1: counts and string bytes; wire types and lengths checked */
	uint64_t n_in = 0, n_out = 0, n_attr = 0, bytes = 0;
	uint64_t pos = nf->off;
	while (pos < nf->end) {
		field f;
		const ProtobufCFieldDescriptor *fd;
		if (!next_field(r, &pos, nf->end, "NodeProto", &f) || !lookup(r, d, &f, &fd))
			return false;
		if (!fd)
			continue;
		switch (f.num) {
		case 1: n_in++; bytes += f.value + 1; break;
		case 2: n_out++; bytes += f.value + 1; break;
		case 3: case 4: case 7: case 8: bytes += f.value + 1; break;
		case 5: n_attr++; break;
		default: break;
		}
	}
	if (n_attr > UINT32_MAX || n_in > UINT32_MAX || n_out > UINT32_MAX)
		return fail(r, "onnx.limit", nf->start, "a node at offset %llu has more than 2^32 inputs, outputs or "
		            "attributes", (unsigned long long)nf->start);
	/* nf->value bounds every count and size: no overflow below */
	char *strs = bytes ? msi_arena_alloc_aligned(r->arena, (size_t)bytes, 1) : NULL;
	if ((bytes && !strs) ||
	    (n_in && !(node->input = msi_arena_alloc(r->arena, (size_t)n_in * sizeof *node->input))) ||
	    (n_out && !(node->output = msi_arena_alloc(r->arena, (size_t)n_out * sizeof *node->output))))
		return fail_alloc(r, nf->start);
	uint32_t *io_hash = NULL;
	if (n_in + n_out && !(io_hash = msi_arena_alloc(r->arena, (size_t)(n_in + n_out) * sizeof *io_hash)))
		return fail_alloc(r, nf->start);
	node->io_hash = io_hash;
	if (!node_alloc_attrs(r, node, n_attr, nf->start))
		return false;
	/* pass 2: fill */
	pos = nf->off;
	while (pos < nf->end) {
		field f;
		if (!next_field(r, &pos, nf->end, "NodeProto", &f))
			return false;
		if (f.num == 5) {
			if (!node_add_attr(r, node, &f, depth))
				return false;
			continue;
		}
		if (f.num == 9 || f.num == 10) {
			const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(d, f.num);
			if (!check_message(r, fd->descriptor, f.off, f.end, depth + 1))
				return false;
			continue;
		}
		if (!node_take_string(node, f.num, strs))
			continue; /* doc_string, unknown fields */
		if (!copy_field_str(r, &f, strs))
			return false;
		if (f.num == 1)
			io_hash[node->n_input - 1] = mem_hash((const uint8_t *)strs, (size_t)f.value);
		else if (f.num == 2)
			io_hash[n_in + node->n_output - 1] = mem_hash((const uint8_t *)strs, (size_t)f.value);
		strs += f.value + 1;
	}
	r->m->nodes_total++;
	return true;
}

static bool read_string(rd *r, const field *f, const char **out)
{
	if (f->value > LEAF_MAX)
		return fail(r, "onnx.limit", f->start, "a name of %llu bytes at offset %llu is over the reader's cap",
		            (unsigned long long)f->value, (unsigned long long)f->start);
	const uint8_t *p = get(r, f->off, (size_t)f->value);
	if (!p)
		return false;
	char *s = msi_arena_strndup(r->arena, p, (size_t)f->value);
	if (!s)
		return fail_alloc(r, f->start);
	*out = s;
	return true;
}

static bool walk_graph(rd *r, const field *gf, unsigned depth, onnx_graph **out)
{
	const ProtobufCMessageDescriptor *d = &onnx__graph_proto__descriptor;
	if (!depth_ok(r, depth, gf->start, "GraphProto"))
		return false;
	/* A graph of up to GRAPH_WHOLE bytes is read in one piece, so that the
	 * counting pass and the walk both run from memory (through the
	 * window, a 7 MB graph of 200,000 nodes was read from the file twice).
	 * A larger one holds its weights inline: it goes through the window,
	 * which skips the payloads instead of reading them. */
	if (!r->mem && gf->value <= GRAPH_WHOLE && !get(r, gf->off, (size_t)gf->value))
		return false;
	uint64_t counts[COUNT_MAX];
	if (!count_fields(r, "GraphProto", gf->off, gf->end, counts))
		return false;
	onnx_graph *g = msi_arena_zalloc(r->arena, 1, sizeof *g);
	if (!g)
		return fail_alloc(r, gf->start);
	g->msg_off = gf->start;
#define ALLOC_FIELD(ptr, num)                                                                   \
	if (counts[num] && !((ptr) = msi_arena_zalloc(r->arena, (size_t)counts[num], sizeof *(ptr)))) \
		return fail_alloc(r, gf->start);
	/* nodes are not cleared here: walk_node clears each as it fills it,
	 * while its line is in the cache (a separate pass over 16 MB of
	 * node structs for a 200,000-node graph cost a tenth of the read) */
	uint64_t node_bytes;
	if (counts[1] && (!msi_mul_u64(counts[1], sizeof *g->nodes, &node_bytes) || node_bytes > SIZE_MAX ||
	                  !(g->nodes = msi_arena_alloc(r->arena, (size_t)node_bytes))))
		return fail_alloc(r, gf->start);
	ALLOC_FIELD(g->initializers, 5)
	ALLOC_FIELD(g->sparse_initializers, 15)
	ALLOC_FIELD(g->inputs, 11)
	ALLOC_FIELD(g->outputs, 12)
	ALLOC_FIELD(g->value_infos, 13)
	ALLOC_FIELD(g->metadata_props, 16)
#undef ALLOC_FIELD
	*out = g;
	const ProtobufCMessageDescriptor *vi = &onnx__value_info_proto__descriptor;
	uint64_t pos = gf->off;
	while (pos < gf->end) {
		field f;
		const ProtobufCFieldDescriptor *fd;
		if (!next_field(r, &pos, gf->end, "GraphProto", &f))
			return false;
		if (f.num == 1 && f.wt == 2) {
			/* a node, nearly every field of a big graph: no lookup needed;
			 * the node struct a few places on is fetched for writing
			 * while this one is walked (the array is new memory) */
			if (g->n_nodes + 4 < counts[1])
				__builtin_prefetch(&g->nodes[g->n_nodes + 4], 1);
			if (!walk_node(r, &f, depth + 1, &g->nodes[g->n_nodes++]))
				return false;
			continue;
		}
		if (!lookup(r, d, &f, &fd))
			return false;
		if (!fd)
			continue;
		bool ok = true;
		switch (f.num) {
		case 1:
			ok = walk_node(r, &f, depth + 1, &g->nodes[g->n_nodes++]);
			break;
		case 2:
			ok = read_string(r, &f, &g->name);
			g->has_name = true;
			break;
		case 5:
			ok = walk_tensor(r, &f, depth + 1, &g->initializers[g->n_initializers++]);
			break;
		case 15:
			ok = walk_sparse(r, &f, depth + 1, &g->sparse_initializers[g->n_sparse_initializers++]);
			break;
		case 11:
			ok = (g->inputs[g->n_inputs++] = read_leaf(r, vi, &f, depth + 1)) != NULL;
			break;
		case 12:
			ok = (g->outputs[g->n_outputs++] = read_leaf(r, vi, &f, depth + 1)) != NULL;
			break;
		case 13:
			ok = (g->value_infos[g->n_value_infos++] = read_leaf(r, vi, &f, depth + 1)) != NULL;
			break;
		case 16:
			ok = (g->metadata_props[g->n_metadata_props++] =
			      read_leaf(r, &onnx__string_string_entry_proto__descriptor, &f, depth + 1)) != NULL;
			break;
		default:
			if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
				ok = check_message(r, fd->descriptor, f.off, f.end, depth + 1);
			break;
		}
		if (!ok)
			return false;
	}
	return true;
}

static bool walk_function(rd *r, const field *ff, unsigned depth, onnx_function *fn)
{
	const ProtobufCMessageDescriptor *d = &onnx__function_proto__descriptor;
	if (!depth_ok(r, depth, ff->start, "FunctionProto"))
		return false;
	uint64_t counts[COUNT_MAX];
	if (!count_fields(r, "FunctionProto", ff->off, ff->end, counts))
		return false;
	if (counts[7] && !(fn->nodes = msi_arena_zalloc(r->arena, (size_t)counts[7], sizeof *fn->nodes)))
		return fail_alloc(r, ff->start);
	if (counts[11] && !(fn->attribute_proto_ext = msi_arena_zalloc(r->arena, (size_t)counts[11],
	                                                               sizeof *fn->attribute_proto_ext)))
		return fail_alloc(r, ff->start);
	size_t base = r->stk.len, nattr = 0;
	uint64_t pos = ff->off;
	while (pos < ff->end) {
		field f;
		const ProtobufCFieldDescriptor *fd;
		if (!next_field(r, &pos, ff->end, "FunctionProto", &f) || !lookup(r, d, &f, &fd))
			return false;
		if (!fd)
			continue;
		if (f.num == 7) {
			if (!walk_node(r, &f, depth + 1, &fn->nodes[fn->n_nodes++]))
				return false;
			continue;
		}
		if (f.num == 11) {
			size_t abase = r->stk.len;
			if (!walk_attr(r, &f, depth + 1, &fn->attribute_proto_ext[nattr++]) || !stk_wrap(r, abase, 11))
				return false;
			continue;
		}
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE && !check_message(r, fd->descriptor, f.off, f.end, depth + 1))
			return false;
		if (!stk_copy(r, &f))
			return false;
	}
	fn->pb = unpack(r, d, base, ff->start);
	if (!fn->pb)
		return false;
	return true;
}

static bool walk_training(rd *r, const field *tf, unsigned depth, onnx_training *t)
{
	const ProtobufCMessageDescriptor *d = &onnx__training_info_proto__descriptor;
	if (!depth_ok(r, depth, tf->start, "TrainingInfoProto"))
		return false;
	uint64_t pos = tf->off;
	while (pos < tf->end) {
		field f;
		const ProtobufCFieldDescriptor *fd;
		if (!next_field(r, &pos, tf->end, "TrainingInfoProto", &f) || !lookup(r, d, &f, &fd))
			return false;
		if (!fd)
			continue;
		bool ok;
		if (f.num == 1)
			ok = walk_graph(r, &f, depth + 1, &t->initialization);
		else if (f.num == 2)
			ok = walk_graph(r, &f, depth + 1, &t->algorithm);
		else
			ok = check_message(r, fd->descriptor, f.off, f.end, depth + 1);
		if (!ok)
			return false;
	}
	return true;
}

static bool walk_model(rd *r)
{
	const ProtobufCMessageDescriptor *d = &onnx__model_proto__descriptor;
	onnx_model *m = r->m;
	field top = { 0, 0, 2, r->size, 0, r->size };
	uint64_t counts[COUNT_MAX];
	if (!count_fields(r, "ModelProto", 0, r->size, counts))
		return false;
	if (counts[25] && !(m->functions = msi_arena_zalloc(r->arena, (size_t)counts[25], sizeof *m->functions)))
		return fail_alloc(r, 0);
	if (counts[20] && !(m->training = msi_arena_zalloc(r->arena, (size_t)counts[20], sizeof *m->training)))
		return fail_alloc(r, 0);
	size_t base = r->stk.len;
	uint64_t pos = 0;
	while (pos < top.end) {
		field f;
		const ProtobufCFieldDescriptor *fd;
		if (!next_field(r, &pos, top.end, "ModelProto", &f) || !lookup(r, d, &f, &fd))
			return false;
		if (!fd)
			continue;
		bool ok = true;
		switch (f.num) {
		case 7:
			/* protobuf merges repeated singular messages; a second graph
			 * field is read as its own graph and the last one wins */
			ok = walk_graph(r, &f, 2, &m->graph);
			break;
		case 20:
			ok = walk_training(r, &f, 2, &m->training[m->n_training++]);
			break;
		case 25:
			ok = walk_function(r, &f, 2, &m->functions[m->n_functions++]);
			break;
		default:
			if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
				ok = check_message(r, fd->descriptor, f.off, f.end, 2);
			ok = ok && stk_copy(r, &f);
			break;
		}
		if (!ok)
			return false;
	}
	m->pb = unpack(r, d, base, 0);
	return m->pb != NULL;
}

int onnx_model_read(const msi_source *src, const msi_limits *limits, onnx_model **out)
{
	*out = NULL;
	onnx_model *m = msi_calloc(1, sizeof *m);
	msi_arena *a = msi_calloc(1, sizeof *a);
	if (!m || !a) {
		msi_free(m);
		msi_free(a);
		return msi_error(MS_ENOMEM, "out of memory reading an ONNX model");
	}
	msi_arena_init(a, limits && limits->max_metadata ? limits->max_metadata : 256u * 1024 * 1024,
	               ARENA_CHUNK_MAX);
	m->arena = a;
	m->size = src->size;
	rd r = { 0 };
	r.src = src;
	r.mem = msi_source_memory(src);
	r.size = src->size;
	r.m = m;
	r.arena = a;
	r.pa = msi_pb_arena_allocator(a);
	static const ProtobufCMessageDescriptor *const walked[] = {
		&onnx__model_proto__descriptor, &onnx__graph_proto__descriptor, &onnx__node_proto__descriptor,
		&onnx__attribute_proto__descriptor, &onnx__tensor_proto__descriptor,
		&onnx__sparse_tensor_proto__descriptor, &onnx__function_proto__descriptor,
		&onnx__training_info_proto__descriptor,
	};
	for (size_t i = 0; i < MSI_ARRAY_LEN(walked); i++) {
		r.fields[i].d = walked[i];
		for (uint32_t k = 0; k < LOOKUP_FIELDS; k++)
			r.fields[i].f[k] = protobuf_c_message_descriptor_get_field(walked[i], k);
	}
	walk_model(&r);
	msi_big_free(r.win, r.win_cap);
	msi_buf_free(&r.stk);
	if (r.rc) {
		onnx_model_free(m);
		if (r.rc == MS_ENOMEM)
			return msi_error(MS_ENOMEM, "out of memory reading an ONNX model");
		return r.rc; /* the source set the error */
	}
	*out = m;
	return MS_OK;
}

void onnx_model_free(onnx_model *m)
{
	if (!m)
		return;
	if (m->arena) {
		msi_arena_free(m->arena);
		msi_free(m->arena);
	}
	msi_free(m->tensors);
	msi_free(m);
}

/* ---- helpers shared by facts and checks ---- */

static const struct {
	const char *name;
	unsigned bits;
} dtypes[] = {
	[0] = { "undefined", 0 },
	[1] = { "float", 32 },       [2] = { "uint8", 8 },        [3] = { "int8", 8 },
	[4] = { "uint16", 16 },      [5] = { "int16", 16 },       [6] = { "int32", 32 },
	[7] = { "int64", 64 },       [8] = { "string", 0 },       [9] = { "bool", 8 },
	[10] = { "float16", 16 },    [11] = { "double", 64 },     [12] = { "uint32", 32 },
	[13] = { "uint64", 64 },     [14] = { "complex64", 64 },  [15] = { "complex128", 128 },
	[16] = { "bfloat16", 16 },   [17] = { "float8e4m3fn", 8 }, [18] = { "float8e4m3fnuz", 8 },
	[19] = { "float8e5m2", 8 },  [20] = { "float8e5m2fnuz", 8 }, [21] = { "uint4", 4 },
	[22] = { "int4", 4 },        [23] = { "float4e2m1", 4 },  [24] = { "float8e8m0", 8 },
	[25] = { "uint2", 2 },       [26] = { "int2", 2 },
};

const char *onnx_dtype_name(int32_t t)
{
	return t >= 0 && (size_t)t < MSI_ARRAY_LEN(dtypes) ? dtypes[t].name : NULL;
}

unsigned onnx_dtype_bits(int32_t t)
{
	return t >= 0 && (size_t)t < MSI_ARRAY_LEN(dtypes) ? dtypes[t].bits : 0;
}

bool onnx_tensor_elements(const onnx_tensor *t, uint64_t *out)
{
	uint64_t n = 1;
	for (size_t i = 0; i < t->pb->n_dims; i++) {
		if (t->pb->dims[i] < 0 || !msi_mul_u64(n, (uint64_t)t->pb->dims[i], &n) || n > INT64_MAX)
			return false;
	}
	*out = n;
	return true;
}

/* ---- string sets ---- */

/* Open addressing, linear probing, at most half full; the stored hash
 * spares most string compares. */
static bool strset_resize(onnx_strset *s, size_t cap)
{
	/* a big graph's name table: msi_big_* (huge pages, kept for reuse) */
	if (cap > SIZE_MAX / sizeof(onnx_strset_slot))
		return false;
	onnx_strset_slot *slots = msi_big_alloc(cap * sizeof *slots);
	if (!slots)
		return false;
	memset(slots, 0, cap * sizeof *slots);
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->slots[i].key)
			continue;
		size_t j = s->slots[i].hash & (cap - 1);
		while (slots[j].key)
			j = (j + 1) & (cap - 1);
		slots[j] = s->slots[i];
	}
	msi_big_free(s->slots, s->cap * sizeof *s->slots);
	s->slots = slots;
	s->cap = cap;
	return true;
}

bool onnx_strset_reserve(onnx_strset *s, size_t n)
{
	size_t cap = s->cap ? s->cap : 64;
	while (cap < SIZE_MAX / 4 && cap < n * 2)
		cap *= 2;
	return cap == s->cap || strset_resize(s, cap);
}

static onnx_strset_slot *strset_find(const onnx_strset *s, const char *key, uint32_t h)
{
	size_t j = h & (s->cap - 1);
	while (s->slots[j].key) {
		if (s->slots[j].hash == h && strcmp(s->slots[j].key, key) == 0)
			return &s->slots[j];
		j = (j + 1) & (s->cap - 1);
	}
	return &s->slots[j];
}

bool onnx_strset_put_h(onnx_strset *s, const char *key, uint32_t h, uint32_t **val, bool *existed)
{
	if ((s->n + 1) * 2 > s->cap && !strset_resize(s, s->cap ? s->cap * 2 : 64))
		return false;
	onnx_strset_slot *slot = strset_find(s, key, h);
	*existed = slot->key != NULL;
	if (!slot->key) {
		slot->key = key;
		slot->hash = h;
		slot->val = 0;
		s->n++;
	}
	*val = &slot->val;
	return true;
}

bool onnx_strset_put(onnx_strset *s, const char *key, uint32_t **val, bool *existed)
{
	return onnx_strset_put_h(s, key, onnx_str_hash(key), val, existed);
}

uint32_t *onnx_strset_get_h(const onnx_strset *s, const char *key, uint32_t h)
{
	if (!s->n)
		return NULL;
	onnx_strset_slot *slot = strset_find(s, key, h);
	return slot->key ? &slot->val : NULL;
}

uint32_t *onnx_strset_get(const onnx_strset *s, const char *key)
{
	return s->n ? onnx_strset_get_h(s, key, onnx_str_hash(key)) : NULL; /* no hash for an empty set */
}

void onnx_strset_free(onnx_strset *s)
{
	msi_big_free(s->slots, s->cap * sizeof *s->slots);
	memset(s, 0, sizeof *s);
}
