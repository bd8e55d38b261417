/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * TensorFlow's tables and tensor bundles. Two implementations:
 *
 *  - SSE4.2's crc32 instruction, 8 bytes at a time (about ten times the
 *    table on the machines we run on). Compiled with a target attribute so
 *    the rest of the library keeps the baseline ISA; chosen at run time.
 *  - slicing-by-8 tables, for other CPUs and architectures.
 *
 * The choice and the tables are made once under pthread_once, so threads
 * that checksum concurrently never race on them.
 */
#include <pthread.h>
#include <string.h>

#include "internal.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define MSI_CRC32C_X86 1
#include <nmmintrin.h>
#endif

#define POLY 0x82F63B78u

/* Not in internal.h: only tests/unit/test_crc32c.c calls it, declaring it itself. */
uint32_t msi_crc32c_portable(uint32_t crc, const void *data, size_t len);

static uint32_t table[8][256];
/* shift[k][b]: the register b << 8k after HW_BLOCK zero bytes, to join
 * the three streams the hardware path runs in parallel */
#define HW_BLOCK 1024u
static uint32_t shift[4][256];
static bool use_hw;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
		table[0][i] = c;
	}
	/* table[k][i]: the CRC of byte i followed by k zero bytes */
	for (uint32_t i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xff];
	/* the zero-bytes operator is linear: build it from the 32 basis
	 * registers, then tabulate it a byte at a time */
	uint32_t basis[32];
	for (int bit = 0; bit < 32; bit++) {
		uint32_t v = 1u << bit;
		for (unsigned k = 0; k < HW_BLOCK; k++)
			v = table[0][v & 0xff] ^ (v >> 8);
		basis[bit] = v;
	}
	for (int k = 0; k < 4; k++)
		for (uint32_t b = 0; b < 256; b++) {
			uint32_t v = 0;
			for (int bit = 0; bit < 8; bit++)
				if (b & (1u << bit))
					v ^= basis[8 * k + bit];
			shift[k][b] = v;
		}
#ifdef MSI_CRC32C_X86
	__builtin_cpu_init();
	use_hw = __builtin_cpu_supports("sse4.2");
#endif
}

/* Works on the inverted register (c = ~crc). */
static uint32_t crc_table(uint32_t c, const uint8_t *p, size_t len)
{
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
		len--;
	}
	while (len >= 8) {
		/* little-endian assembly independent of the host's byte order */
		uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
		    table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		    table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

#ifdef MSI_CRC32C_X86
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t len)
{
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = _mm_crc32_u8(c, *p++);
		len--;
	}
#ifdef __x86_64__
	/* The crc32 instruction has a latency of three cycles and a
	 * throughput of one: three independent streams over consecutive
	 * blocks keep it busy, and the CRC is linear, so the streams join as
	 * shift(shift(c0) ^ c1) ^ c2. */
	while (len >= 3 * HW_BLOCK) {
		uint64_t c0 = c, c1 = 0, c2 = 0;
		for (unsigned i = 0; i < HW_BLOCK; i += 8) {
			uint64_t v0, v1, v2;
			memcpy(&v0, p + i, 8);
			memcpy(&v1, p + HW_BLOCK + i, 8);
			memcpy(&v2, p + 2 * HW_BLOCK + i, 8);
			c0 = _mm_crc32_u64(c0, v0);
			c1 = _mm_crc32_u64(c1, v1);
			c2 = _mm_crc32_u64(c2, v2);
		}
		uint32_t x = (uint32_t)c0;
		x = shift[0][x & 0xff] ^ shift[1][(x >> 8) & 0xff] ^ shift[2][(x >> 16) & 0xff] ^ shift[3][x >> 24];
		x ^= (uint32_t)c1;
		x = shift[0][x & 0xff] ^ shift[1][(x >> 8) & 0xff] ^ shift[2][(x >> 16) & 0xff] ^ shift[3][x >> 24];
		c = x ^ (uint32_t)c2;
		p += 3 * HW_BLOCK;
		len -= 3 * HW_BLOCK;
	}
	uint64_t c64 = c;
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8); /* aligned here; memcpy keeps it strict-aliasing clean */
		c64 = _mm_crc32_u64(c64, v);
		p += 8;
		len -= 8;
	}
	c = (uint32_t)c64;
#endif
	while (len >= 4) {
		uint32_t v;
		memcpy(&v, p, 4);
		c = _mm_crc32_u32(c, v);
		p += 4;
		len -= 4;
	}
	while (len-- > 0)
		c = _mm_crc32_u8(c, *p++);
	return c;
}
#endif

uint32_t msi_crc32c(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&once, init);
	const uint8_t *p = data;
	if (len == 0)
		return crc;
#ifdef MSI_CRC32C_X86
	if (use_hw)
		return ~crc_hw(~crc, p, len);
#endif
	return ~crc_table(~crc, p, len);
}

/* The portable path on its own, so the unit test can compare the two. */
uint32_t msi_crc32c_portable(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&once, init);
	if (len == 0)
		return crc;
	return ~crc_table(~crc, data, len);
}
