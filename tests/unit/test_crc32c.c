/* Unit tests: CRC-32C (lib/core/crc32c.c). Known answers: the check value
 * of the CRC catalogue (crc32c("123456789") = 0xE3069283) and RFC 3720's
 * iSCSI vectors; the SSE4.2 path (when the CPU has it) must agree with the
 * portable tables for every length and alignment, including from threads
 * that start at the same time (the tables are built once). */
#include "harness.h"

#include <pthread.h>

#include "core/internal.h"

uint32_t msi_crc32c_portable(uint32_t crc, const void *data, size_t len);

static void known_vectors(void)
{
	CHECK_EQ_INT(msi_crc32c(0, "123456789", 9), 0xE3069283u);
	CHECK_EQ_INT(msi_crc32c_portable(0, "123456789", 9), 0xE3069283u);
	uint8_t buf[32];
	memset(buf, 0, sizeof buf);
	CHECK_EQ_INT(msi_crc32c(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, sizeof buf);
	CHECK_EQ_INT(msi_crc32c(0, buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	CHECK_EQ_INT(msi_crc32c(0, buf, 32), 0x46DD794Eu);
	CHECK_EQ_INT(msi_crc32c_portable(0, buf, 32), 0x46DD794Eu);
	CHECK_EQ_INT(msi_crc32c(0x1234, buf, 0), 0x1234);
	/* TensorFlow's mask of crc32c("") = 0 */
	CHECK_EQ_INT(msi_crc32c_mask(0), 0xa282ead8u);
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void hardware_equals_tables(void)
{
	static uint8_t data[70000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)rnd();
	for (int round = 0; round < 2000; round++) {
		size_t off = (size_t)(rnd() % 64);
		size_t len = round < 300 ? (size_t)round : (size_t)(rnd() % (sizeof data - 64));
		uint32_t seed = round % 3 ? (uint32_t)rnd() : 0;
		uint32_t a = msi_crc32c(seed, data + off, len), b = msi_crc32c_portable(seed, data + off, len);
		CHECK_EQ_INT(a, b);
		/* split anywhere: the running value continues */
		size_t cut = len ? (size_t)(rnd() % len) : 0;
		uint32_t c = msi_crc32c(msi_crc32c(seed, data + off, cut), data + off + cut, len - cut);
		CHECK_EQ_INT(c, a);
	}
}

static void *thread_crc(void *arg)
{
	uint32_t *out = arg;
	*out = msi_crc32c(0, "123456789", 9);
	return NULL;
}

static void threads_agree(void)
{
	pthread_t t[4];
	uint32_t got[4] = { 0 };
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, thread_crc, &got[i]) == 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(got[i], 0xE3069283u);
}

static const msi_test_case cases[] = {
	{ "threads_agree", threads_agree }, /* first: the one-time setup races here if anywhere */
	{ "known_vectors", known_vectors },
	{ "hardware_equals_tables", hardware_equals_tables },
};

MSI_TEST_MAIN(cases)
