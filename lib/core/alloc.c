/* Allocation through the hook installed by ms_config_allocator(). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE */
#include <stdint.h>
#include <sys/mman.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static ms_allocator g_allocator; /* zeroed: system allocator */
static atomic_bool g_used;       /* set by the first call that allocates */

void msi_mark_used(void)
{
	atomic_store_explicit(&g_used, true, memory_order_release);
}

MS_EXTERN int ms_config_allocator(const ms_allocator *allocator)
{
	if (atomic_load_explicit(&g_used, memory_order_acquire))
		return msi_error(MS_EMISUSE, "ms_config_allocator() must be called before any other call");
	if (allocator == NULL) {
		memset(&g_allocator, 0, sizeof g_allocator);
		return MS_OK;
	}
	if (allocator->version < 1 || allocator->version > MS_ALLOCATOR_VERSION)
		return msi_error(MS_EVERSION, "ms_allocator version %u is not supported", allocator->version);
	if (!allocator->malloc_fn || !allocator->realloc_fn || !allocator->free_fn)
		return msi_error(MS_EINVAL, "ms_allocator needs malloc_fn, realloc_fn and free_fn");
	g_allocator = *allocator;
	return MS_OK;
}

void *msi_malloc(size_t size)
{
	msi_mark_used();
	if (size == 0)
		size = 1;
	if (g_allocator.malloc_fn)
		return g_allocator.malloc_fn(size, g_allocator.user);
	return malloc(size);
}

void *msi_calloc(size_t count, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total))
		return NULL;
	void *p = msi_malloc(total);
	if (p)
		memset(p, 0, total);
	return p;
}

void *msi_realloc(void *ptr, size_t size)
{
	msi_mark_used();
	if (size == 0)
		size = 1;
	if (g_allocator.realloc_fn)
		return g_allocator.realloc_fn(ptr, size, g_allocator.user);
	return realloc(ptr, size);
}

void *msi_reallocarray(void *ptr, size_t count, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total))
		return NULL;
	return msi_realloc(ptr, total);
}

void *msi_grow(void *items, size_t *cap, size_t count, size_t elem_size, size_t first)
{
	if (count < *cap)
		return items;
	size_t ncap = *cap ? *cap * 2 : first;
	if (ncap < *cap)
		return NULL;
	void *grown = msi_reallocarray(items, ncap, elem_size);
	if (grown)
		*cap = ncap;
	return grown;
}

void msi_free(void *ptr)
{
	if (ptr == NULL)
		return;
	if (g_allocator.free_fn)
		g_allocator.free_fn(ptr, g_allocator.user);
	else
		free(ptr);
}

MS_EXTERN void ms_free(void *ptr)
{
	msi_free(ptr);
}

char *msi_strndup(const char *s, size_t n)
{
	char *d = msi_malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *msi_strdup(const char *s)
{
	return s ? msi_strndup(s, strlen(s)) : NULL;
}

/* ---- large blocks ---------------------------------------------------------
 * A pickle-heavy archive (a state dict of thousands of tensors) builds
 * megabytes of tree, memo and tensor tables, and spent as much time in page
 * faults as in its work: one fault per 4 KiB first touched, ~2 us each on a
 * VM. With the system allocator in use, blocks of BIG_MIN and more
 * therefore come straight from mmap, sized to a power of two; those of
 * 2 MiB and more are aligned to 2 MiB and advised as huge pages
 * (transparent huge pages in "madvise" mode), so each 2 MiB first touched
 * costs one fault. Freed blocks are kept (16 at most, 64 MiB in all) for
 * the next call that asks for the same size (a registry validating file
 * after file, a notebook re-validating), which then touches no fresh page.
 * glibc's malloc hands such sizes to mmap too, but returns them at once.
 * A caller's allocator, when installed, gets every block as before. */
#define BIG_MIN ((size_t)128 << 10) /* glibc's first mmap threshold */
#define BIG_ALIGN ((size_t)2 << 20)
#define BIG_MAX ((size_t)1 << 40)
#define BIG_KEEP_MAX ((size_t)32 << 20)   /* larger blocks are never kept */
#define BIG_KEEP_TOTAL ((size_t)64 << 20) /* nor more than this in all */
#define BIG_SLOTS 16 /* a state dict's validation frees about ten */

/* Kept blocks, each as its address (page-aligned) | log2 of its length, so
 * a slot is judged without touching the block another thread may own. */
static _Atomic(uintptr_t) g_big_kept[BIG_SLOTS];
static _Atomic(size_t) g_big_kept_bytes;

static bool big_direct(size_t size)
{
	return !g_allocator.malloc_fn && size >= BIG_MIN && size <= BIG_MAX;
}

static size_t big_len(size_t size)
{
	size_t len = BIG_MIN;
	while (len < size)
		len *= 2;
	return len;
}

static uintptr_t kept_tag(void *block, size_t len)
{
	return (uintptr_t)block | (uintptr_t)__builtin_ctzll((unsigned long long)len);
}

static void *kept_block(uintptr_t tag)
{
	return (void *)(tag & ~(uintptr_t)0xfff);
}

static size_t kept_len(uintptr_t tag)
{
	return (size_t)1 << (tag & 0xfff);
}

static void *big_map(size_t len)
{
	if (len < BIG_ALIGN) {
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	uint8_t *raw = mmap(NULL, len + BIG_ALIGN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	/* trim the mapping to the aligned block inside it */
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + BIG_ALIGN - 1) & ~(uintptr_t)(BIG_ALIGN - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + BIG_ALIGN > p)
		munmap(p + len, (size_t)(raw + BIG_ALIGN - p));
#ifdef MADV_HUGEPAGE
	madvise(p, len, MADV_HUGEPAGE); /* advice only: without THP these are plain pages */
#endif
	return p;
}

void *msi_big_alloc(size_t size)
{
	msi_mark_used();
	if (!big_direct(size))
		return msi_malloc(size);
	size_t len = big_len(size);
	for (int i = 0; i < BIG_SLOTS; i++) {
		uintptr_t kept = atomic_load_explicit(&g_big_kept[i], memory_order_relaxed);
		if (kept && kept_len(kept) == len &&
		    atomic_compare_exchange_strong_explicit(&g_big_kept[i], &kept, 0, memory_order_acq_rel,
		                                            memory_order_relaxed)) {
			atomic_fetch_sub_explicit(&g_big_kept_bytes, len, memory_order_relaxed);
			return kept_block(kept);
		}
	}
	return big_map(len);
}

void msi_big_free(void *ptr, size_t size)
{
	if (!ptr)
		return;
	if (!big_direct(size)) {
		msi_free(ptr);
		return;
	}
	size_t len = big_len(size);
	if (len > BIG_KEEP_MAX ||
	    atomic_fetch_add_explicit(&g_big_kept_bytes, len, memory_order_relaxed) + len > BIG_KEEP_TOTAL) {
		if (len <= BIG_KEEP_MAX)
			atomic_fetch_sub_explicit(&g_big_kept_bytes, len, memory_order_relaxed);
		munmap(ptr, len);
		return;
	}
	uintptr_t tag = kept_tag(ptr, len);
	/* an empty slot, else the slot of a smaller block (kept blocks grow
	 * towards the sizes in use); what is pushed out is unmapped */
	for (int i = 0; i < BIG_SLOTS; i++) {
		uintptr_t none = 0;
		if (atomic_compare_exchange_strong_explicit(&g_big_kept[i], &none, tag, memory_order_acq_rel,
		                                            memory_order_relaxed))
			return;
	}
	for (int i = 0; i < BIG_SLOTS; i++) {
		uintptr_t old = atomic_load_explicit(&g_big_kept[i], memory_order_relaxed);
		if (old && kept_len(old) < len &&
		    atomic_compare_exchange_strong_explicit(&g_big_kept[i], &old, tag, memory_order_acq_rel,
		                                            memory_order_relaxed)) {
			atomic_fetch_sub_explicit(&g_big_kept_bytes, kept_len(old), memory_order_relaxed);
			munmap(kept_block(old), kept_len(old));
			return;
		}
	}
	atomic_fetch_sub_explicit(&g_big_kept_bytes, len, memory_order_relaxed);
	munmap(ptr, len);
}

void *msi_big_realloc(void *ptr, size_t old_size, size_t new_size)
{
	if (!ptr)
		return msi_big_alloc(new_size);
	if (!big_direct(old_size) && !big_direct(new_size))
		return msi_realloc(ptr, new_size);
	if (big_direct(old_size) && big_direct(new_size) && big_len(old_size) == big_len(new_size))
		return ptr; /* the mapping already has the room */
	void *n = msi_big_alloc(new_size);
	if (!n)
		return NULL;
	memcpy(n, ptr, old_size < new_size ? old_size : new_size);
	msi_big_free(ptr, old_size);
	return n;
}

#if defined(__GNUC__)
/* the kept blocks go with the library (dlclose) */
__attribute__((destructor)) static void big_release(void)
{
	for (int i = 0; i < BIG_SLOTS; i++) {
		uintptr_t kept = atomic_exchange_explicit(&g_big_kept[i], 0, memory_order_acq_rel);
		if (kept)
			munmap(kept_block(kept), kept_len(kept));
	}
}
#endif
