/*
 * Private core services shared by every layer: allocation through the
 * configurable hook, per-thread errors, checked arithmetic, growable
 * buffers. Nothing here is exported (only ms_* symbols are, by the version
 * script); internal names use the msi_ prefix.
 */
#ifndef MSI_CORE_INTERNAL_H
#define MSI_CORE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "modelstore.h"

#define MSI_UNUSED(x) ((void)(x))
#define MSI_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MSI_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MSI_MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define MSI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MSI_PRINTF(f, a)
#endif

/* ---- allocation (alloc.c) ---- */
void *msi_malloc(size_t size);
void *msi_calloc(size_t count, size_t size);
void *msi_realloc(void *ptr, size_t size);
/* realloc for count*size with overflow check */
void *msi_reallocarray(void *ptr, size_t count, size_t size);
/* Room for one more element of an array that grows by doubling: returns
 * `items` itself while count < *cap, else the array reallocated to twice
 * its capacity (`first` when empty) and *cap updated; NULL (the array and
 * *cap unchanged) when memory runs out or the size overflows. */
void *msi_grow(void *items, size_t *cap, size_t count, size_t elem_size, size_t first);
void msi_free(void *ptr);
/* Blocks of hundreds of kilobytes and more (arenas, tables that grow with
 * the input): mappings kept for reuse between calls, huge pages from 2 MiB,
 * when the system allocator is in use; msi_malloc otherwise (alloc.c says
 * why). Each call needs the size the block was last given: msi_big_free
 * and msi_big_realloc cannot find it themselves. */
void *msi_big_alloc(size_t size);
void *msi_big_realloc(void *ptr, size_t old_size, size_t new_size);
void msi_big_free(void *ptr, size_t size);
char *msi_strdup(const char *s);
char *msi_strndup(const char *s, size_t n);
/* Marks the library as in use: the allocator can no longer be changed. */
void msi_mark_used(void);

/* ---- errors (error.c) ---- */
/* Records the error of the calling thread and returns `code`. */
int msi_error(int code, const char *fmt, ...) MSI_PRINTF(2, 3);
int msi_error_errno(int code, int errnum, const char *fmt, ...) MSI_PRINTF(3, 4);

/* ---- checked arithmetic ---- */
static inline bool msi_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}
static inline bool msi_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}
/* a + b, or UINT64_MAX when it would wrap (counts that only need to be large) */
static inline uint64_t msi_sat_add_u64(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}
/* FNV-1a of a NUL-terminated string, continuing from `h` (start with
 * MSI_FNV_OFFSET): the hash of the library's small open-addressing tables. */
#define MSI_FNV_OFFSET 1469598103934665603ull
static inline uint64_t msi_fnv1a_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}
/* The bytes of `w` that are 0, as their top bits (0x80 in each): exact
 * below the lowest zero byte, so "is any byte 0" is exact. Word-at-a-time
 * scans of names (zip members, ONNX names). */
#define MSI_BYTES_01 0x0101010101010101ull
static inline uint64_t msi_zero_bytes(uint64_t w)
{
	return (w - MSI_BYTES_01) & ~w & 0x8080808080808080ull;
}
/* true when [off, off+len) lies inside [0, size) */
static inline bool msi_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	uint64_t end;
	return msi_add_u64(off, len, &end) && end <= size;
}

/* ---- growable byte buffer (buf.c) ---- */
typedef struct msi_buf {
	char *data;
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed: the content is incomplete */
} msi_buf;

#define MSI_BUF_INIT { NULL, 0, 0, false }
bool msi_buf_reserve(msi_buf *b, size_t extra);
void msi_buf_append(msi_buf *b, const void *data, size_t len);
void msi_buf_puts(msi_buf *b, const char *s);
void msi_buf_putc(msi_buf *b, char c);
void msi_buf_printf(msi_buf *b, const char *fmt, ...) MSI_PRINTF(2, 3);
/* NUL-terminates and hands the memory over (caller frees with msi_free). */
char *msi_buf_detach(msi_buf *b, size_t *len_out);
void msi_buf_free(msi_buf *b);

/* ---- hashing and checksums (sha256.c, crc32.c) ---- */
typedef struct msi_sha256 msi_sha256;
msi_sha256 *msi_sha256_new(void);
void msi_sha256_update(msi_sha256 *h, const void *data, size_t len);
/* Writes 32 bytes and frees the context. */
void msi_sha256_final(msi_sha256 *h, uint8_t out[32]);
void msi_sha256_abort(msi_sha256 *h);
void msi_hex(const uint8_t *bytes, size_t n, char *out /* 2n+1 */);
/* Which implementation runs: "openssl" or "portable". */
const char *msi_sha256_backend(void);

uint32_t msi_crc32(uint32_t crc, const void *data, size_t len);
/* CRC-32C (Castagnoli), as TensorFlow's tables and bundles use it; `crc`
 * is the running value (0 to start). SSE4.2 when the CPU has it. */
uint32_t msi_crc32c(uint32_t crc, const void *data, size_t len);
/* TensorFlow's masked form of a CRC-32C (stored CRCs of CRC-covered data). */
static inline uint32_t msi_crc32c_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

#endif
