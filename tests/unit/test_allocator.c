/* The allocator hook: installed before any other call, every allocation of
 * the library goes through it and is released through it. (zlib, libzip and
 * libcrypto keep their own allocators: they have no hook of ours.) */
#include "harness.h"

#include "modelstore.h"

static size_t live, total_allocs, total_frees, largest;
static int user_token;

static void *counting_malloc(size_t size, void *user)
{
	if (user != &user_token)
		abort();
	size_t *p = malloc(size + sizeof(size_t) * 2);
	if (!p)
		return NULL;
	p[0] = size;
	live++;
	total_allocs++;
	largest = size > largest ? size : largest;
	return p + 2;
}

static void *counting_realloc(void *ptr, size_t size, void *user)
{
	if (!ptr)
		return counting_malloc(size, user);
	size_t *p = realloc((size_t *)ptr - 2, size + sizeof(size_t) * 2);
	if (!p)
		return NULL;
	p[0] = size;
	return p + 2;
}

static void counting_free(void *ptr, void *user)
{
	if (user != &user_token)
		abort();
	if (!ptr)
		return;
	live--;
	total_frees++;
	free((size_t *)ptr - 2);
}

static void hook_sees_every_allocation(void)
{
	ms_allocator a = { MS_ALLOCATOR_VERSION, counting_malloc, counting_realloc, counting_free, &user_token };
	ms_allocator incomplete = { MS_ALLOCATOR_VERSION, counting_malloc, NULL, counting_free, NULL };
	ms_allocator future = { MS_ALLOCATOR_VERSION + 1, counting_malloc, counting_realloc, counting_free, NULL };
	CHECK_EQ_INT(ms_config_allocator(&incomplete), MS_EINVAL);
	CHECK_EQ_INT(ms_config_allocator(&future), MS_EVERSION);
	CHECK_EQ_INT(ms_config_allocator(&a), MS_OK);

	/* a framed payload that no format claims: every layer still allocates */
	static const char stream[] = "serialzy\x14\0\0\0\0\0\0\0{\"data_format\": \"x\"}\x01\x02\x03\x04";
	ms_artifact *art;
	CHECK_EQ_INT(ms_artifact_open_buffer(&art, stream, sizeof stream - 1, NULL), MS_OK);
	CHECK(total_allocs > 0);
	char *json;
	CHECK_EQ_INT(ms_artifact_inspect(art, NULL, &json, NULL), MS_OK);
	ms_report *r;
	CHECK_EQ_INT(ms_artifact_validate(art, NULL, &r), MS_OK);
	char *rj;
	CHECK_EQ_INT(ms_report_json(r, &rj, NULL), MS_OK);
	ms_free(rj);
	ms_free(json); /* memory handed out is released through the hook too */
	ms_report_free(r);
	ms_artifact_free(art);
	CHECK_EQ_INT(live, 0);
	CHECK_EQ_INT(total_allocs, total_frees);

	/* a pickle whose tree takes megabytes: the arena's large blocks,
	 * which come from mmap without a hook, go through the hook too */
	size_t n = 200000, len = 0;
	uint8_t *pk = malloc(3 + 2 * n + 3);
	CHECK(pk != NULL);
	pk[len++] = 0x80, pk[len++] = 2, pk[len++] = ']', pk[len++] = '(';
	for (size_t i = 0; i < n; i++)
		pk[len++] = 'K', pk[len++] = (uint8_t)i;
	pk[len++] = 'e', pk[len++] = '.';
	CHECK_EQ_INT(ms_artifact_open_buffer(&art, pk, len, NULL), MS_OK);
	CHECK_EQ_INT(ms_artifact_validate(art, NULL, &r), MS_OK);
	ms_report_free(r);
	ms_artifact_free(art);
	free(pk);
	CHECK(largest >= (size_t)1 << 20);
	CHECK_EQ_INT(live, 0);
	CHECK_EQ_INT(total_allocs, total_frees);

	/* once used, the hook cannot change */
	CHECK_EQ_INT(ms_config_allocator(NULL), MS_EMISUSE);
}

static const msi_test_case cases[] = {
	{ "hook_sees_every_allocation", hook_sees_every_allocation },
};

MSI_TEST_MAIN(cases)
