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
 * Arenas that grow to megabytes (the pickle engine's tree of a state dict
 * with thousands of tensors) spent most of their time in page faults, one
 * per 4 KiB first touched: ~2 us each on a VM, as much as the work itself.
 * With the system allocator in use, blocks of 2 MiB and more therefore come
 * straight from mmap, sized to a power of two, aligned to 2 MiB and advised
 * as huge pages (transparent huge pages in "madvise" mode), so each 2 MiB
 * first touched costs one fault. The last block freed is kept for the next
 * call of the same size (a registry validating file after file, a notebook
 * re-validating), which then touches no fresh page at all; only one block,
 * of at most BIG_KEEP_MAX, is ever kept. A caller's allocator, when
 * installed, gets every block as before. */
#define BIG_ALIGN ((size_t)2 << 20)
#define BIG_MAX ((size_t)1 << 40)
#define BIG_KEEP_MAX ((size_t)64 << 20)

static _Atomic(void *) g_big_kept; /* its first word holds its mapped length */

static bool big_direct(size_t size)
{
	return !g_allocator.malloc_fn && size >= BIG_ALIGN && size <= BIG_MAX;
}

static size_t big_len(size_t size)
{
	size_t len = BIG_ALIGN;
	while (len < size)
		len *= 2;
	return len;
}

void *msi_big_alloc(size_t size)
{
	msi_mark_used();
	if (!big_direct(size))
		return msi_malloc(size);
	size_t len = big_len(size);
	void *kept = atomic_exchange_explicit(&g_big_kept, NULL, memory_order_acq_rel);
	if (kept) {
		size_t kept_len;
		memcpy(&kept_len, kept, sizeof kept_len);
		if (kept_len == len)
			return kept;
		munmap(kept, kept_len);
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

void msi_big_free(void *ptr, size_t size)
{
	if (!ptr)
		return;
	if (!big_direct(size)) {
		msi_free(ptr);
		return;
	}
	size_t len = big_len(size);
	if (len > BIG_KEEP_MAX) {
		munmap(ptr, len);
		return;
	}
	memcpy(ptr, &len, sizeof len);
	void *old = atomic_exchange_explicit(&g_big_kept, ptr, memory_order_acq_rel);
	if (old) {
		size_t old_len;
		memcpy(&old_len, old, sizeof old_len);
		munmap(old, old_len);
	}
}

#if defined(__GNUC__)
/* the kept block goes with the library (dlclose) */
__attribute__((destructor)) static void big_release(void)
{
	void *kept = atomic_exchange_explicit(&g_big_kept, NULL, memory_order_acq_rel);
	if (kept) {
		size_t len;
		memcpy(&len, kept, sizeof len);
		munmap(kept, len);
	}
}
#endif
