/* Allocation through the hook installed by ms_config_allocator(). */
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
