/* Unit tests: the core layer (errors, allocator, JSON, SHA-256, CRC-32,
 * reports, sources). Known answers come from FIPS 180-4 test vectors,
 * Python's json.dumps and zlib.crc32. */
#include "harness.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/internal.h"
#include "core/json.h"
#include "core/report.h"
#include "io/source.h"

static void hex_of(const char *data, size_t len, char out[65])
{
	msi_sha256 *h = msi_sha256_new();
	msi_sha256_update(h, data, len);
	uint8_t d[32];
	msi_sha256_final(h, d);
	msi_hex(d, 32, out);
}

static void sha256_vectors(void)
{
	char hex[65];
	hex_of("abc", 3, hex);
	CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hex_of("", 0, hex);
	CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* one million 'a', fed in uneven pieces to cross block boundaries */
	msi_sha256 *h = msi_sha256_new();
	char chunk[997];
	memset(chunk, 'a', sizeof chunk);
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof chunk ? left : sizeof chunk;
		msi_sha256_update(h, chunk, n);
		left -= n;
	}
	uint8_t d[32];
	msi_sha256_final(h, d);
	msi_hex(d, 32, hex);
	CHECK_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void sha256_portable_matches(void)
{
	/* The fallback must agree with libcrypto on every length 0..300. */
	char data[300];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 31 + 7);
	for (size_t n = 0; n <= sizeof data; n++) {
		char a[65], b[65];
		unsetenv("MODELSTORE_SHA256");
		hex_of(data, n, a);
		setenv("MODELSTORE_SHA256", "portable", 1);
		CHECK_EQ_STR(msi_sha256_backend(), "portable");
		hex_of(data, n, b);
		unsetenv("MODELSTORE_SHA256");
		CHECK_EQ_STR(a, b);
	}
}

static void crc32_vectors(void)
{
	/* zlib.crc32(b"123456789") == 0xcbf43926 (the standard check value) */
	CHECK_EQ_INT(msi_crc32(0, "123456789", 9), 0xcbf43926u);
	/* incremental == one-shot */
	uint32_t c = msi_crc32(0, "1234", 4);
	CHECK_EQ_INT(msi_crc32(c, "56789", 5), 0xcbf43926u);
}

static void json_python_style(void)
{
	/* Expected text is Python's json.dumps({'a': 'é😀\x01"\\', 'n': [1, 2.5, None, True]}) */
	msi_buf b = MSI_BUF_INIT;
	msi_json j;
	msi_json_init(&j, &b, MSI_JSON_PYTHON);
	msi_json_object_begin(&j);
	msi_json_key(&j, "a");
	msi_json_string(&j, "\xc3\xa9\xf0\x9f\x98\x80\x01\"\\");
	msi_json_key(&j, "n");
	msi_json_array_begin(&j);
	msi_json_int(&j, 1);
	msi_json_double(&j, 2.5);
	msi_json_null(&j);
	msi_json_bool(&j, true);
	msi_json_array_end(&j);
	msi_json_object_end(&j);
	char *s = msi_buf_detach(&b, NULL);
	CHECK_EQ_STR(s, "{\"a\": \"\\u00e9\\ud83d\\ude00\\u0001\\\"\\\\\", \"n\": [1, 2.5, null, true]}");
	msi_free(s);
}

static void json_invalid_utf8_is_replaced(void)
{
	msi_buf b = MSI_BUF_INIT;
	msi_json j;
	msi_json_init(&j, &b, MSI_JSON_COMPACT);
	msi_json_stringn(&j, "a\xff\xc3", 3);
	char *s = msi_buf_detach(&b, NULL);
	CHECK_EQ_STR(s, "\"a\\ufffd\\ufffd\"");
	msi_free(s);
}

static void json_roundtrip(void)
{
	const char *text = "{\"k\": [1, -2.5e3, \"x\\u00e9\\ud83d\\ude00\", true, false, null, {}], \"k\": NaN, \"i\": -Infinity}";
	msi_jval *v = NULL;
	CHECK_EQ_INT(msi_json_parse(text, strlen(text), NULL, &v), MS_OK);
	const msi_jval *k = msi_jval_get(v, "k");
	CHECK(k && k->kind == MSI_JNUMBER && k->number != k->number); /* last duplicate wins: NaN */
	CHECK_EQ_INT(v->count, 3);
	const msi_jval *arr = v->items[0];
	CHECK_EQ_INT(arr->kind, MSI_JARRAY);
	CHECK_EQ_INT(arr->count, 7);
	CHECK(arr->items[1]->number == -2500.0);
	CHECK_EQ_STR(arr->items[2]->text, "x\xc3\xa9\xf0\x9f\x98\x80");
	msi_buf b = MSI_BUF_INIT;
	msi_json j;
	msi_json_init(&j, &b, MSI_JSON_COMPACT);
	msi_jval_write(&j, arr);
	char *s = msi_buf_detach(&b, NULL);
	CHECK_EQ_STR(s, "[1,-2.5e3,\"x\xc3\xa9\xf0\x9f\x98\x80\",true,false,null,{}]");
	msi_free(s);
	msi_jval_free(v);
}

static void json_rejects_bad_input(void)
{
	static const char *bad[] = {
		"", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "\"\x01\"", "tru", "01x", "[1] 2", "\"\\x\"", "-",
		"{\"a\":\"unterminated", "1.", "1e",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		msi_jval *v = NULL;
		int rc = msi_json_parse(bad[i], strlen(bad[i]), NULL, &v);
		if (rc != MS_EFORMAT)
			fprintf(stderr, "  accepted: '%s'\n", bad[i]);
		CHECK_EQ_INT(rc, MS_EFORMAT);
		CHECK(v == NULL);
		CHECK(strstr(ms_error_last(), "JSON") != NULL);
	}
}

static void json_depth_and_node_limits(void)
{
	char deep[400];
	memset(deep, '[', 200);
	memset(deep + 200, ']', 200);
	msi_jval *v = NULL;
	msi_json_limits lim = { 64, 0 };
	CHECK_EQ_INT(msi_json_parse(deep, sizeof deep, &lim, &v), MS_ELIMIT);
	CHECK(v == NULL);
	msi_json_limits few = { 0, 3 };
	CHECK_EQ_INT(msi_json_parse("[1,2,3]", 7, &few, &v), MS_ELIMIT);
	CHECK_EQ_INT(msi_json_parse("[1,2]", 5, &few, &v), MS_OK);
	msi_jval_free(v);
}

static void *set_error_in_thread(void *arg)
{
	msi_error(MS_EIO, "worker thread");
	*(int *)arg = strcmp(ms_error_last(), "worker thread") == 0;
	return NULL;
}

static void error_is_per_thread(void)
{
	msi_error(MS_EFORMAT, "main thread %d", 1);
	pthread_t t;
	int worker_ok = 0;
	CHECK(pthread_create(&t, NULL, set_error_in_thread, &worker_ok) == 0);
	pthread_join(t, NULL);
	CHECK(worker_ok);
	CHECK_EQ_STR(ms_error_last(), "main thread 1");
	CHECK_EQ_INT(ms_error_last_code(), MS_EFORMAT);
	ms_error_clear();
	CHECK_EQ_STR(ms_error_last(), "");
	CHECK_EQ_STR(ms_strerror(MS_ECHANGED), "file changed while being read");
}

static void allocator_locked_after_use(void)
{
	/* Earlier tests allocated: configuring now is misuse. */
	ms_allocator a = MS_ALLOCATOR_INIT;
	CHECK_EQ_INT(ms_config_allocator(&a), MS_EMISUSE);
}

static void report_codes_table(void)
{
	/* unique codes, known severities, meanings present */
	size_t n = ms_finding_code_count();
	CHECK(n > 50);
	for (size_t i = 0; i < n; i++) {
		const char *code, *meaning;
		ms_severity s;
		CHECK_EQ_INT(ms_finding_code_get(i, &code, &s, &meaning), MS_OK);
		CHECK(strchr(code, '.') != NULL);
		CHECK(meaning && meaning[0]);
		CHECK(s >= MS_SEVERITY_INFO && s <= MS_SEVERITY_ERROR);
		for (size_t k = 0; k < i; k++) {
			const char *other;
			ms_finding_code_get(k, &other, NULL, NULL);
			CHECK(strcmp(code, other) != 0);
		}
	}
	CHECK_EQ_INT(ms_finding_code_get(n, NULL, NULL, NULL), MS_ENOTFOUND);
}

static void report_json_and_validity(void)
{
	ms_report *r = msi_report_new("p\"ath", "onnx");
	CHECK(r != NULL);
	CHECK(ms_report_valid(r) && ms_report_clean(r));
	msi_report_add(r, "tar.end.missing", "x", "a %s", "warning");
	CHECK(ms_report_valid(r) && !ms_report_clean(r));
	msi_report_add(r, "zip.member.crc", "m", "crc");
	CHECK(!ms_report_valid(r));
	msi_report_add(r, "no.such.code", "", "bug");
	ms_severity s;
	const char *code;
	CHECK_EQ_INT(ms_report_get(r, 2, &s, &code, NULL, NULL), MS_OK);
	CHECK_EQ_STR(code, "internal.unknown_code");
	char *json;
	CHECK_EQ_INT(ms_report_json(r, &json, NULL), MS_OK);
	CHECK(strstr(json, "\"path\":\"p\\\"ath\",\"format\":\"onnx\",\"valid\":false,\"findings\":[{\"severity\":\"warning\","
	                   "\"code\":\"tar.end.missing\",\"where\":\"x\",\"message\":\"a warning\"}") == json + 1);
	ms_free(json);
	ms_report_free(r);
}

static void source_file_shrinks(void)
{
	char data[8192];
	memset(data, 'x', sizeof data);
	const char *path = msi_write_temp("shrink", data, sizeof data);
	CHECK(path);
	msi_source *s;
	CHECK_EQ_INT(msi_source_open_file(path, &s), MS_OK);
	CHECK_EQ_INT(s->size, sizeof data);
	CHECK(truncate(path, 100) == 0);
	char buf[512];
	CHECK_EQ_INT(msi_source_read(s, 4000, buf, sizeof buf), MS_ECHANGED);
	CHECK(strstr(ms_error_last(), "shrank") != NULL);
	CHECK_EQ_INT(msi_source_read(s, 8000, buf, 500), MS_EFORMAT); /* past the recorded end */
	msi_source_release(s);
	unlink(path);
}

static int count_chunk(const uint8_t *d, size_t n, void *user)
{
	(void)d;
	*(uint64_t *)user += n;
	return 0;
}

static int cancel_at_once(uint64_t done, uint64_t total, void *user)
{
	(void)done;
	(void)total;
	(void)user;
	return 1;
}

static void source_slices_and_stream(void)
{
	static const char text[] = "0123456789abcdef";
	msi_source *m, *s1, *s2;
	CHECK_EQ_INT(msi_source_from_memory(text, 16, false, &m), MS_OK);
	CHECK_EQ_INT(msi_source_slice(m, 4, 10, &s1), MS_OK);
	CHECK_EQ_INT(msi_source_slice(s1, 2, 5, &s2), MS_OK);
	char buf[8] = { 0 };
	CHECK_EQ_INT(msi_source_read(s2, 0, buf, 5), MS_OK);
	CHECK(memcmp(buf, "6789a", 5) == 0);
	CHECK_EQ_INT(msi_source_read(s2, 1, buf, 5), MS_EFORMAT);
	msi_source_release(s2);
	CHECK_EQ_INT(msi_source_slice(s1, 8, 3, &s2), MS_EFORMAT);
	CHECK(s2 == NULL);
	uint64_t total = 0;
	CHECK_EQ_INT(msi_source_stream(s1, 0, 10, count_chunk, &total, NULL), MS_OK);
	CHECK_EQ_INT(total, 10);
	msi_progress p = { cancel_at_once, NULL, 0, 10 };
	CHECK_EQ_INT(msi_source_stream(s1, 0, 10, count_chunk, &total, &p), MS_ECANCELLED);
	msi_source_release(s1);
	msi_source_release(m);
}

static void cursor_never_overruns(void)
{
	const uint8_t bytes[] = { 0x96, 0x01, 0xff, 0xff };
	msi_cursor c = msi_cursor_make(bytes, sizeof bytes);
	CHECK_EQ_INT(msi_cursor_varint(&c), 150);
	CHECK_EQ_INT(msi_cursor_le16(&c), 0xffff);
	CHECK(!c.failed);
	CHECK_EQ_INT(msi_cursor_le32(&c), 0);
	CHECK(c.failed);
	const uint8_t long_varint[11] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	c = msi_cursor_make(long_varint, sizeof long_varint);
	msi_cursor_varint(&c);
	CHECK(c.failed);
}

static void options_versions(void)
{
	ms_open_options o;
	CHECK_EQ_INT(ms_open_options_init(&o, 99), MS_EVERSION);
	CHECK_EQ_INT(ms_open_options_init(&o, MS_OPEN_OPTIONS_VERSION), MS_OK);
	CHECK_EQ_INT(o.version, MS_OPEN_OPTIONS_VERSION);
	o.version = 0;
	ms_artifact *a = NULL;
	CHECK_EQ_INT(ms_artifact_open_buffer(&a, "x", 1, &o), MS_EVERSION);
	CHECK(a == NULL);
	ms_open_options bad_format = MS_OPEN_OPTIONS_INIT;
	bad_format.format = "no-such-format";
	CHECK_EQ_INT(ms_artifact_open_buffer(&a, "x", 1, &bad_format), MS_EINVAL);
	CHECK(strstr(ms_error_last(), "no-such-format") != NULL);
	CHECK_EQ_INT(ms_version(), MS_VERSION_NUMBER);
	CHECK_EQ_STR(ms_version_string(), MS_VERSION_STRING);
}

/* The readers' arena: alignment, chunks doubling to chunk_max, big blocks
 * behind the open chunk, and the cap counting whole chunks. */
static void arena_cap_and_chunks(void)
{
	msi_arena a;
	msi_arena_init(&a, 1u << 20, 256u * 1024u);
	char *s = msi_arena_strndup(&a, "abc", 3);
	CHECK(s && strcmp(s, "abc") == 0);
	uint64_t *x = msi_arena_alloc(&a, sizeof *x);
	CHECK(x && (uintptr_t)x % 8 == 0);
	CHECK_EQ_INT(a.total, MSI_ARENA_CHUNK_MIN);
	/* a big block gets its own chunk; the open one stays the head */
	msi_arena_chunk *open = a.head;
	CHECK(msi_arena_alloc(&a, 100u * 1024u) != NULL);
	CHECK(a.head == open);
	CHECK_EQ_INT(a.total, MSI_ARENA_CHUNK_MIN + 100u * 1024u + sizeof(msi_arena_chunk));
	/* small blocks fill the first chunk; the next is twice its size */
	for (int i = 0; i < 64 && a.head == open; i++)
		CHECK(msi_arena_alloc(&a, 1024) != NULL);
	/* a chunk and its header make the doubled size exactly */
	CHECK(a.head != open && a.head->size + sizeof(msi_arena_chunk) == 2u * MSI_ARENA_CHUNK_MIN);
	uint32_t *z = msi_arena_zalloc(&a, 4, sizeof *z);
	CHECK(z && z[0] == 0 && z[3] == 0);
	CHECK(!a.over);
	/* over the cap: NULL and `over`, not an out-of-memory */
	CHECK(msi_arena_alloc(&a, 1u << 20) == NULL);
	CHECK(a.over);
	CHECK(msi_arena_zalloc(&a, UINT64_MAX, 2) == NULL);
	msi_arena_free(&a);
	CHECK(a.head == NULL && a.total == 0 && !a.over);
	CHECK(msi_arena_pb_alloc(&a, 24) != NULL);
	msi_arena_pb_free(&a, NULL);
	msi_arena_free(&a);
}

/* msi_big_*: small sizes are plain heap blocks; from 128 KiB, mappings kept
 * after free and handed back for the same size; realloc keeps the bytes
 * across both kinds; huge-page blocks (2 MiB and more) are 2 MiB-aligned. */
static void big_blocks_reused(void)
{
	uint8_t *small = msi_big_alloc(1000);
	CHECK(small != NULL);
	memset(small, 7, 1000);
	msi_big_free(small, 1000);

	size_t n = 300u << 10;
	uint8_t *a = msi_big_alloc(n);
	CHECK(a != NULL && ((uintptr_t)a & 4095) == 0);
	memset(a, 0xab, n);
	msi_big_free(a, n);
	uint8_t *b = msi_big_alloc(n - 1000); /* the same power-of-two class */
	CHECK(b == a);
	CHECK(b[12345] == 0xab); /* reused as it was: callers zero what they need */

	/* grown across classes and back down to a heap block: the bytes stay */
	for (size_t i = 0; i < n - 1000; i++)
		b[i] = (uint8_t)(i * 31);
	uint8_t *c = msi_big_realloc(b, n - 1000, 3u << 20);
	CHECK(c != NULL);
	CHECK(((uintptr_t)c & ((2u << 20) - 1)) == 0);
	bool same = true;
	for (size_t i = 0; i < n - 1000; i++)
		same = same && c[i] == (uint8_t)(i * 31);
	CHECK(same);
	memset(c + n, 1, (3u << 20) - n); /* all of it is writable */
	uint8_t *d = msi_big_realloc(c, 3u << 20, 100);
	CHECK(d != NULL);
	CHECK(d[0] == 0 && d[99] == (uint8_t)(99 * 31));
	msi_big_free(d, 100);

	/* more freed blocks than are kept: all released, none lost */
	uint8_t *many[40];
	for (int i = 0; i < 40; i++) {
		many[i] = msi_big_alloc((size_t)(128u << 10) << (i % 4));
		CHECK(many[i] != NULL);
		many[i][0] = (uint8_t)i;
	}
	for (int i = 0; i < 40; i++)
		msi_big_free(many[i], (size_t)(128u << 10) << (i % 4));
	uint8_t *e = msi_big_realloc(NULL, 0, 1u << 20); /* realloc of nothing allocates */
	CHECK(e != NULL);
	msi_big_free(e, 1u << 20);
	msi_big_free(NULL, 1u << 20);
}

static void *big_worker(void *arg)
{
	uint8_t id = (uint8_t)(uintptr_t)arg;
	for (int i = 0; i < 2000; i++) {
		size_t n = (size_t)(128u << 10) << (i % 3);
		uint8_t *p = msi_big_alloc(n);
		if (!p)
			return (void *)1;
		for (size_t k = 0; k < n; k += 4096)
			p[k] = id;
		sched_yield(); /* let the others run while this block is ours */
		for (size_t k = 0; k < n; k += 4096)
			if (p[k] != id)
				return (void *)1; /* another thread was handed it too */
		msi_big_free(p, n);
	}
	return NULL;
}

/* Threads taking and keeping blocks at once never share one. */
static void big_blocks_threads(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, big_worker, (void *)(uintptr_t)(i + 1)) == 0);
	for (int i = 0; i < 4; i++) {
		void *rv;
		CHECK(pthread_join(t[i], &rv) == 0);
		CHECK(rv == NULL);
	}
}

static const msi_test_case cases[] = {
	{ "big_blocks_reused", big_blocks_reused },
	{ "big_blocks_threads", big_blocks_threads },
	{ "sha256_vectors", sha256_vectors },
	{ "sha256_portable_matches", sha256_portable_matches },
	{ "crc32_vectors", crc32_vectors },
	{ "json_python_style", json_python_style },
	{ "json_invalid_utf8_is_replaced", json_invalid_utf8_is_replaced },
	{ "json_roundtrip", json_roundtrip },
	{ "json_rejects_bad_input", json_rejects_bad_input },
	{ "json_depth_and_node_limits", json_depth_and_node_limits },
	{ "error_is_per_thread", error_is_per_thread },
	{ "allocator_locked_after_use", allocator_locked_after_use },
	{ "report_codes_table", report_codes_table },
	{ "report_json_and_validity", report_json_and_validity },
	{ "source_file_shrinks", source_file_shrinks },
	{ "source_slices_and_stream", source_slices_and_stream },
	{ "cursor_never_overruns", cursor_never_overruns },
	{ "arena_cap_and_chunks", arena_cap_and_chunks },
	{ "options_versions", options_versions },
};

MSI_TEST_MAIN(cases)
