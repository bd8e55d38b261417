/*
 * Sources: where bytes come from. A source is a regular file (read with
 * pread, never mapped, so a file that shrinks gives MS_ECHANGED instead of
 * SIGBUS and page cache never counts as our memory), a memory buffer, or a
 * slice of another source (a serialzy payload, a stored zip member, a tar
 * member). Formats never learn which: they read through these functions.
 *
 * Sources are reference counted (not atomically: a source belongs to one
 * artifact handle, and a handle is used by one thread at a time).
 */
#ifndef MSI_IO_SOURCE_H
#define MSI_IO_SOURCE_H

#include "../core/internal.h"

typedef enum msi_source_kind {
	MSI_SOURCE_FILE,
	MSI_SOURCE_MEMORY,
	MSI_SOURCE_SLICE
} msi_source_kind;

typedef struct msi_source msi_source;
struct msi_source {
	msi_source_kind kind;
	int refs;
	uint64_t size;
	int fd;               /* FILE */
	const uint8_t *mem;   /* MEMORY: the bytes */
	void *owned;          /* MEMORY: freed with the source when set */
	size_t owned_big;     /* MEMORY: `owned` is a msi_big_* block of this size (0: msi_malloc'd) */
	msi_source *parent;   /* SLICE */
	uint64_t base;        /* SLICE: offset in parent */
};

/* Opens a regular file read-only. MS_EIO with the OS's reason on failure. */
int msi_source_open_file(const char *path, msi_source **out);
/* Wraps a descriptor of a regular file; `owns` closes it on release. */
int msi_source_from_fd(int fd, bool owns, msi_source **out);
/* Wraps memory. With `take` the source frees `data` (msi_free) on release. */
int msi_source_from_memory(const void *data, size_t len, bool take, msi_source **out);
/* Wraps `len` bytes of a msi_big_alloc(`block`) block, which the source
 * frees (msi_big_free) on release, also when this fails. */
int msi_source_from_big(void *data, size_t len, size_t block, msi_source **out);
/* A window [off, off+len) of `parent`, which must lie inside it. */
int msi_source_slice(msi_source *parent, uint64_t off, uint64_t len, msi_source **out);
msi_source *msi_source_ref(msi_source *s);
void msi_source_release(msi_source *s);

/* Reads exactly `len` bytes at `off`. Fails with MS_EFORMAT when the range
 * is outside the source, MS_ECHANGED when the file shrank, MS_EIO on a read
 * error. */
int msi_source_read(const msi_source *s, uint64_t off, void *dst, size_t len);
/* Reads up to `len` bytes at `off` (fewer at the end); returns the count or
 * a negative error. */
int64_t msi_source_read_upto(const msi_source *s, uint64_t off, void *dst, size_t len);
/* A pointer to `len` bytes at `off`: into the memory itself for memory-backed
 * sources (zero copy), else read into `scratch` (of at least `len` bytes).
 * NULL on error, with *rc set. */
const uint8_t *msi_source_peek(const msi_source *s, uint64_t off, size_t len, void *scratch, int *rc);
/* The memory behind a memory-backed source (following slices), or NULL. */
const uint8_t *msi_source_memory(const msi_source *s);

/* Progress reporting and cancellation for long operations. */
typedef struct msi_progress {
	ms_progress_fn fn;
	void *user;
	uint64_t done;
	uint64_t total;
} msi_progress;
/* Adds `n` done bytes and calls the callback (with done clamped to the
 * total, when there is one); MS_ECANCELLED when it asks to
 * stop. `p` may be NULL. */
int msi_progress_add(msi_progress *p, uint64_t n);

/* Calls `fn` over [off, off+len) in chunks: memory-backed sources hand out
 * pointers into the memory (1 MiB at a time), files go through one reused
 * 64 KiB buffer. Stops at the first non-zero return of `fn` and returns it. */
typedef int (*msi_chunk_fn)(const uint8_t *data, size_t len, void *user);
int msi_source_stream(const msi_source *s, uint64_t off, uint64_t len, msi_chunk_fn fn, void *user,
                      msi_progress *progress);

/* Little-endian and big-endian loads from bytes already bounds-checked. */
static inline uint16_t msi_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t msi_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t msi_le64(const uint8_t *p) { return msi_le32(p) | (uint64_t)msi_le32(p + 4) << 32; }
static inline uint32_t msi_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline uint64_t msi_be64(const uint8_t *p) { return (uint64_t)msi_be32(p) << 32 | msi_be32(p + 4); }

/* A bounded cursor over bytes in memory: every read checks the remaining
 * length and, on overrun, sets `failed` and returns 0 instead of reading
 * past the end. Check `failed` once after a group of reads. */
typedef struct msi_cursor {
	const uint8_t *data;
	size_t len;
	size_t pos;
	bool failed;
} msi_cursor;

static inline msi_cursor msi_cursor_make(const uint8_t *data, size_t len)
{
	msi_cursor c = { data, len, 0, false };
	return c;
}
static inline size_t msi_cursor_left(const msi_cursor *c) { return c->failed ? 0 : c->len - c->pos; }
static inline bool msi_cursor_need(msi_cursor *c, size_t n)
{
	if (c->failed || c->len - c->pos < n) {
		c->failed = true;
		return false;
	}
	return true;
}
static inline uint8_t msi_cursor_u8(msi_cursor *c)
{
	return msi_cursor_need(c, 1) ? c->data[c->pos++] : 0;
}
static inline uint16_t msi_cursor_le16(msi_cursor *c)
{
	if (!msi_cursor_need(c, 2)) return 0;
	uint16_t v = msi_le16(c->data + c->pos);
	c->pos += 2;
	return v;
}
static inline uint32_t msi_cursor_le32(msi_cursor *c)
{
	if (!msi_cursor_need(c, 4)) return 0;
	uint32_t v = msi_le32(c->data + c->pos);
	c->pos += 4;
	return v;
}
static inline uint64_t msi_cursor_le64(msi_cursor *c)
{
	if (!msi_cursor_need(c, 8)) return 0;
	uint64_t v = msi_le64(c->data + c->pos);
	c->pos += 8;
	return v;
}
static inline uint64_t msi_cursor_be64(msi_cursor *c)
{
	if (!msi_cursor_need(c, 8)) return 0;
	uint64_t v = msi_be64(c->data + c->pos);
	c->pos += 8;
	return v;
}
/* Pointer to the next n bytes (advancing), or NULL on overrun. */
static inline const uint8_t *msi_cursor_bytes(msi_cursor *c, size_t n)
{
	if (!msi_cursor_need(c, n)) return NULL;
	const uint8_t *p = c->data + c->pos;
	c->pos += n;
	return p;
}
static inline void msi_cursor_skip(msi_cursor *c, size_t n) { (void)msi_cursor_bytes(c, n); }
/* Protobuf-style base-128 varint, at most 10 bytes. */
static inline uint64_t msi_cursor_varint(msi_cursor *c)
{
	uint64_t v = 0;
	for (int i = 0; i < 10; i++) {
		if (!msi_cursor_need(c, 1)) return 0;
		uint8_t b = c->data[c->pos++];
		if (i == 9 && b > 1) { c->failed = true; return 0; }
		v |= (uint64_t)(b & 0x7F) << (7 * i);
		if (!(b & 0x80)) return v;
	}
	c->failed = true;
	return 0;
}

#endif
