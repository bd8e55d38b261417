/*
 * A capped bump allocator for what a reader keeps.
 *
 * The ONNX and TensorFlow SavedModel readers keep everything they read
 * (names, node arrays, the small messages protobuf-c decodes) in one arena:
 * one cap for all of it, so the total a file can make the library hold is
 * bounded by the artifact's max_metadata whatever its shape, and one free
 * at the end instead of millions (a 200k-node ONNX graph freed piecewise by
 * protobuf-c took 13 ms; PITFALLS.md). Nothing is freed before the arena.
 *
 * Chunks start at MSI_ARENA_CHUNK_MIN and double up to the `chunk_max`
 * given at init (fewer mallocs for a large graph; equal min and max keep
 * them fixed); those sizes include the chunk's header, so a chunk is a
 * whole msi_big_* size class. A block larger than a quarter of the next
 * chunk gets a chunk of its own, linked behind the open chunk, which stays
 * open. Every chunk counts in full, header included, against the cap.
 */
#ifndef MSI_CORE_ARENA_H
#define MSI_CORE_ARENA_H

#include <string.h>

#include "internal.h"

#define MSI_ARENA_CHUNK_MIN (64u * 1024u)

typedef struct msi_arena_chunk {
	struct msi_arena_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
} msi_arena_chunk;

typedef struct msi_arena {
	msi_arena_chunk *head;       /* the open chunk; full and big ones behind it */
	uint64_t total, cap;         /* bytes of all chunks, and their limit */
	size_t next_chunk, chunk_max;
	bool over;                   /* an allocation failed on the cap (not on malloc) */
} msi_arena;

/* An empty arena that will hold at most `cap` bytes, its chunks growing to
 * `chunk_max` (at least MSI_ARENA_CHUNK_MIN). Required: a zeroed msi_arena
 * would give every block a chunk of its own. */
void msi_arena_init(msi_arena *a, uint64_t cap, size_t chunk_max);

/* Frees every chunk; the arena is empty again (same cap). */
void msi_arena_free(msi_arena *a);

/* A new chunk for a block that does not fit the open one (arena.c). */
void *msi_arena_grow(msi_arena *a, size_t size, size_t align);

/* `size` bytes aligned to `align` (a power of two, at most 16), valid until
 * msi_arena_free. NULL over the cap (then a->over is set) or when malloc
 * fails. Inline: a graph walk allocates per node, and nearly every block
 * fits the open chunk. */
static inline void *msi_arena_alloc_aligned(msi_arena *a, size_t size, size_t align)
{
	msi_arena_chunk *c = a->head;
	if (c) {
		size_t at = (c->used + align - 1) & ~(align - 1);
		if (at <= c->size && c->size - at >= size) {
			c->used = at + size;
			return c->data + at;
		}
	}
	return msi_arena_grow(a, size, align);
}

/* 8-byte alignment: protobuf-c's messages and our structs hold nothing
 * wider. */
static inline void *msi_arena_alloc(msi_arena *a, size_t size)
{
	return msi_arena_alloc_aligned(a, size, 8);
}

/* `count` zeroed elements of `size` bytes (one byte when the product is 0,
 * so a non-NULL result always means success). A product past SIZE_MAX is
 * over any cap. */
static inline void *msi_arena_zalloc(msi_arena *a, uint64_t count, size_t size)
{
	uint64_t bytes;
	if (!msi_mul_u64(count, size, &bytes) || bytes > SIZE_MAX) {
		a->over = true;
		return NULL;
	}
	void *p = msi_arena_alloc(a, bytes ? (size_t)bytes : 1);
	if (p)
		memset(p, 0, (size_t)bytes);
	return p;
}

/* A NUL-terminated copy of `n` bytes at `p` (which may be NULL when `n` is
 * 0). Inline like the allocation: readers copy every name they keep. */
static inline char *msi_arena_strndup(msi_arena *a, const void *p, size_t n)
{
	if (n == SIZE_MAX) {
		a->over = true;
		return NULL;
	}
	char *s = msi_arena_alloc_aligned(a, n + 1, 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* protobuf-c's ProtobufCAllocator methods over an arena (allocator_data is
 * the msi_arena); free does nothing, the arena frees everything at once.
 * Declared with void pointers so this header needs no protobuf-c. */
void *msi_arena_pb_alloc(void *arena, size_t size);
void msi_arena_pb_free(void *arena, void *p);

#endif
