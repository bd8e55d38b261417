/*
 * The capped arena (arena.h): chunk growth and the cap, and protobuf-c's
 * allocator methods. The fast paths (a block that fits the open chunk, a
 * zeroed array, a string copy) are inline in arena.h.
 */
#include <string.h>

#include "arena.h"

void msi_arena_init(msi_arena *a, uint64_t cap, size_t chunk_max)
{
	memset(a, 0, sizeof *a);
	a->cap = cap;
	a->next_chunk = MSI_ARENA_CHUNK_MIN;
	a->chunk_max = chunk_max > MSI_ARENA_CHUNK_MIN ? chunk_max : MSI_ARENA_CHUNK_MIN;
}

void msi_arena_free(msi_arena *a)
{
	msi_arena_chunk *c = a->head;
	while (c) {
		msi_arena_chunk *next = c->next;
		msi_big_free(c, sizeof *c + c->size);
		c = next;
	}
	msi_arena_init(a, a->cap, a->chunk_max);
}

void *msi_arena_grow(msi_arena *a, size_t size, size_t align)
{
	bool big = size > a->next_chunk / 4;
	/* a chunk with its header is exactly next_chunk bytes: msi_big_*
	 * rounds a block up to a power of two, and 8 MiB and a header would
	 * take a 16 MiB mapping */
	size_t want = big ? size : a->next_chunk - sizeof(msi_arena_chunk);
	/* total <= cap always, so cap - total cannot wrap; a chunk counts with
	 * its header */
	if (size > SIZE_MAX - sizeof(msi_arena_chunk) || a->total > a->cap ||
	    want + sizeof(msi_arena_chunk) > a->cap - a->total) {
		a->over = true;
		return NULL;
	}
	/* msi_big_*: a large graph's chunks are mappings on huge pages, kept
	 * for the next read, instead of thousands of page faults each time */
	msi_arena_chunk *n = msi_big_alloc(sizeof *n + want);
	if (!n)
		return NULL;
	n->size = want;
	n->used = 0;
	a->total += sizeof *n + want;
	if (!big && a->next_chunk < a->chunk_max)
		a->next_chunk *= 2;
	msi_arena_chunk *c = a->head;
	if (big && c) {
		/* behind the open chunk, which keeps its free room */
		n->next = c->next;
		c->next = n;
		n->used = size;
		return n->data;
	}
	n->next = c;
	a->head = n;
	/* data is aligned to 16, which covers any `align` */
	MSI_UNUSED(align);
	n->used = size;
	return n->data;
}

void *msi_arena_pb_alloc(void *arena, size_t size)
{
	return msi_arena_alloc(arena, size);
}

void msi_arena_pb_free(void *arena, void *p)
{
	MSI_UNUSED(arena);
	MSI_UNUSED(p);
}
