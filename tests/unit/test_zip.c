/*
 * Unit tests: the zip container (lib/containers/zip.c, zip_verify.c).
 *
 * Expectations come from tests/fixtures/gen_zip.py, which writes each
 * archive with Python's zipfile, breaks it on purpose and records in
 * manifest.json what it broke and what zipfile reads back. Each fixture is
 * read three ways: from a file (pread), from memory, and as a slice of a
 * file that has other bytes in front (as a serialzy payload is).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pwrite */
#endif
#include "harness.h"
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "containers/container.h"
#include "core/json.h"
#include "core/report.h"

#define MiB (1024ull * 1024ull)
#define GiB (1024ull * MiB)

static bool json_has_string(const msi_jval *arr, const char *s)
{
	for (size_t i = 0; arr && i < arr->count; i++)
		if (arr->items[i]->kind == MSI_JSTRING && strcmp(arr->items[i]->text, s) == 0)
			return true;
	return false;
}

static void dump(const char *what, const ms_report *r)
{
	for (size_t i = 0; i < r->count; i++)
		fprintf(stderr, "    %s: [%d] %s at '%s': %s\n", what, (int)r->items[i].severity, r->items[i].code,
		        r->items[i].where, r->items[i].message);
}

/* An error-severity finding whose code is not in `allowed`, or NULL. */
static const char *unexpected_error(const ms_report *r, const msi_jval *allowed)
{
	for (size_t i = 0; i < r->count; i++)
		if (r->items[i].severity == MS_SEVERITY_ERROR && !json_has_string(allowed, r->items[i].code))
			return r->items[i].code;
	return NULL;
}

static msi_jval *manifest;

static const msi_jval *fixtures(void)
{
	if (!manifest) {
		size_t len;
		char *text = (char *)msi_read_file(msi_fixture("zip/manifest.json"), &len);
		if (!text)
			return NULL;
		msi_json_limits jl = { 64, 1000000 };
		if (msi_json_parse(text, len, &jl, &manifest) != MS_OK)
			manifest = NULL;
		free(text);
	}
	return msi_jval_get(manifest, "fixtures");
}

enum { VIA_FILE, VIA_MEMORY, VIA_SLICE };
static const char *const via_names[] = { "file", "memory", "slice" };

/* Opens a fixture's bytes as a source the given way. *keep holds memory
 * to free after the source is released. */
static int fixture_source(const char *path, int via, msi_source **out, unsigned char **keep)
{
	*keep = NULL;
	if (via == VIA_FILE)
		return msi_source_open_file(path, out);
	size_t len;
	unsigned char *data = msi_read_file(path, &len);
	if (!data)
		return MS_EIO;
	if (via == VIA_MEMORY) {
		*keep = data;
		return msi_source_from_memory(data, len, false, out);
	}
	static const char junk[] = "serialzy-like header bytes\n";
	unsigned char *both = malloc(sizeof junk - 1 + len + 1);
	memcpy(both, junk, sizeof junk - 1);
	memcpy(both + sizeof junk - 1, data, len);
	free(data);
	const char *tmp = msi_write_temp("zip-slice.bin", both, sizeof junk - 1 + len);
	free(both);
	msi_source *file;
	int rc = tmp ? msi_source_open_file(tmp, &file) : MS_EIO;
	if (tmp)
		unlink(tmp);
	if (rc != MS_OK)
		return rc;
	rc = msi_source_slice(file, sizeof junk - 1, len, out);
	msi_source_release(file);
	return rc;
}

static const char *fx_name;
static const char *fx_via;

#define FCHECK(cond)                                                                              \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			fprintf(stderr, "  %s:%d: [%s via %s] CHECK failed: %s\n", __FILE__, __LINE__, \
			        fx_name, fx_via, #cond);                                          \
			goto fail;                                                                \
		}                                                                                 \
	} while (0)

#define FFAIL(msg)                                                                                \
	do {                                                                                      \
		fprintf(stderr, "  %s:%d: [%s via %s] %s\n", __FILE__, __LINE__, fx_name, fx_via, msg); \
		goto fail;                                                                        \
	} while (0)

static ssize_t find_by_name(const msi_container *c, const char *name)
{
	for (size_t i = 0; i < c->count; i++)
		if (strcmp(c->entries[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static bool check_entries(msi_container *c, const msi_jval *entries)
{
	FCHECK(c->count == entries->count);
	for (size_t i = 0; i < entries->count; i++) {
		const msi_jval *x = entries->items[i];
		const msi_entry *e = &c->entries[i];
		bool dir = msi_jval_get(x, "dir")->boolean;
		FCHECK(strcmp(e->name, msi_jval_get(x, "name")->text) == 0);
		FCHECK(e->size == (uint64_t)msi_jval_get(x, "size")->number);
		FCHECK(e->csize == (uint64_t)msi_jval_get(x, "csize")->number);
		FCHECK(e->method == (uint16_t)msi_jval_get(x, "method")->number);
		FCHECK((e->type == MSI_ENTRY_DIR) == dir);
		FCHECK(!e->unsafe);
		if (dir)
			continue;
		msi_source *s;
		FCHECK(c->ops->open_entry(c, i, 64 * MiB, &s) == MS_OK);
		char hex[65];
		bool ok = source_sha256(s, hex);
		uint64_t size = s->size;
		msi_source_release(s);
		FCHECK(ok && size == e->size);
		FCHECK(strcmp(hex, msi_jval_get(x, "sha256")->text) == 0);
	}
	return true;
fail:
	return false;
}

static bool check_fixture(const msi_jval *fx, int via)
{
	const msi_limits lim = default_limits();
	const msi_jval *codes = msi_jval_get(fx, "codes"), *vcodes = msi_jval_get(fx, "verify_codes");
	const msi_jval *entries = msi_jval_get(fx, "entries"), *listed = msi_jval_get(fx, "listed");
	const msi_jval *unsafe = msi_jval_get(fx, "unsafe"), *open_fails = msi_jval_get(fx, "open_fails");
	bool clean = msi_jval_get(fx, "clean")->boolean, not_zip = msi_jval_get(fx, "not_zip")->boolean;
	char rel[256];
	snprintf(rel, sizeof rel, "zip/%s", fx_name = msi_jval_get(fx, "file")->text);
	fx_via = via_names[via];
	msi_source *src = NULL;
	msi_container *c = NULL;
	ms_report *r = NULL;
	unsigned char *keep = NULL;
	FCHECK(fixture_source(msi_fixture(rel), via, &src, &keep) == MS_OK);
	int rc = msi_zip_open(src, &lim, &c);
	if (not_zip) {
		FCHECK(rc == MS_EFORMAT && c == NULL);
		goto done;
	}
	FCHECK(rc == MS_OK && c != NULL);
	FCHECK(strcmp(c->kind, "zip") == 0 && c->src == src);
	for (size_t i = 0; i < codes->count; i++)
		if (!has_code(c->findings, codes->items[i]->text)) {
			fprintf(stderr, "  [%s via %s] missing %s\n", fx_name, fx_via, codes->items[i]->text);
			dump("open", c->findings);
			FFAIL("an expected open-time code is missing");
		}
	if (unexpected_error(c->findings, codes)) {
		dump("open", c->findings);
		FFAIL("an unexpected error finding at open");
	}
	if (clean && c->findings->count) {
		dump("open", c->findings);
		FFAIL("a valid archive has findings");
	}
	if (entries->kind == MSI_JARRAY)
		FCHECK(check_entries(c, entries));
	if (listed->kind == MSI_JARRAY) {
		FCHECK(c->count == listed->count);
		for (size_t i = 0; i < listed->count; i++)
			FCHECK(strcmp(c->entries[i].name, listed->items[i]->text) == 0);
	}
	for (size_t k = 0; k < unsafe->count; k++) {
		size_t seen = 0;
		for (size_t i = 0; i < c->count; i++) {
			if (strcmp(c->entries[i].name, unsafe->items[k]->text) != 0)
				continue;
			msi_source *s = NULL;
			FCHECK(c->entries[i].unsafe);
			FCHECK(c->ops->open_entry(c, i, 64 * MiB, &s) != MS_OK && s == NULL);
			seen++;
		}
		FCHECK(seen > 0);
	}
	for (size_t k = 0; k < open_fails->count; k++) {
		ssize_t i = find_by_name(c, open_fails->items[k]->text);
		msi_source *s = NULL;
		FCHECK(i >= 0);
		FCHECK(c->ops->open_entry(c, (size_t)i, 64 * MiB, &s) != MS_OK && s == NULL);
	}
	r = msi_report_new(NULL, NULL);
	FCHECK(r && c->ops->verify(c, r, NULL) == MS_OK);
	for (size_t i = 0; i < vcodes->count; i++)
		if (!has_code(r, vcodes->items[i]->text)) {
			dump("verify", r);
			FFAIL("an expected verify code is missing");
		}
	if (unexpected_error(r, vcodes)) {
		dump("verify", r);
		FFAIL("an unexpected error finding at verify");
	}
	/* libzip is only a second opinion on archives our pass accepted */
	if (msi_report_count_at_least(c->findings, MS_SEVERITY_ERROR) > 0)
		FCHECK(!has_code(r, "zip.libzip.rejected"));
	if (clean && r->count) {
		dump("verify", r);
		FFAIL("a valid archive has verify findings");
	}
done:
	ms_report_free(r);
	msi_container_free(c);
	msi_source_release(src);
	free(keep);
	return true;
fail:
	ms_report_free(r);
	msi_container_free(c);
	msi_source_release(src);
	free(keep);
	return false;
}

static void test_fixtures(void)
{
	const msi_jval *fx = fixtures();
	CHECK(fx && fx->kind == MSI_JARRAY && fx->count >= 40);
	size_t failed = 0;
	for (size_t i = 0; i < fx->count; i++)
		for (int via = VIA_FILE; via <= VIA_SLICE; via++)
			failed += !check_fixture(fx->items[i], via);
	CHECK_EQ_INT(failed, 0);
}

/* Opens a fixture from memory with the given limits. */
static int open_mem(const char *file, const msi_limits *lim, msi_container **c, unsigned char **data)
{
	char rel[256];
	size_t len;
	snprintf(rel, sizeof rel, "zip/%s", file);
	*c = NULL;
	*data = msi_read_file(msi_fixture(rel), &len);
	if (!*data)
		return MS_EIO;
	msi_source *s;
	int rc = msi_source_from_memory(*data, len, false, &s);
	if (rc != MS_OK)
		return rc;
	rc = msi_zip_open(s, lim, c);
	msi_source_release(s);
	return rc;
}

static void test_looks_like(void)
{
	static const uint8_t local[] = "PK\3\4rest", empty[] = "PK\5\6", junk[] = "\x80\x02}q\0.";
	CHECK(msi_zip_looks_like(local, 8, NULL, 0));
	CHECK(msi_zip_looks_like(empty, 4, NULL, 0));
	CHECK(!msi_zip_looks_like(junk, 6, junk, 6));
	size_t len;
	unsigned char *poly = msi_read_file(msi_fixture("zip/prefix_cat.zip"), &len);
	CHECK(poly);
	bool ok = !msi_zip_looks_like(poly, 4, NULL, 0) && msi_zip_looks_like(poly, 4, poly, len) &&
	          !msi_zip_looks_like(poly, 4, poly, len - 1);
	free(poly);
	CHECK(ok);
}

static void test_member_limit(void)
{
	msi_limits lim = default_limits();
	lim.max_members = 2;
	msi_container *c;
	unsigned char *data;
	CHECK_EQ_INT(open_mem("stored.zip", &lim, &c, &data), MS_OK);
	bool ok = c->count == 2 && has_code(c->findings, "artifact.limit");
	msi_container_free(c);
	free(data);
	CHECK(ok);
}

static void test_size_limits(void)
{
	msi_limits lim = default_limits();
	lim.max_member_size = 100000;
	msi_container *c;
	unsigned char *data;
	CHECK_EQ_INT(open_mem("deflated.zip", &lim, &c, &data), MS_OK);
	ssize_t big = msi_container_find(c, "model/big.bin"), notes = msi_container_find(c, "model/notes.txt");
	msi_source *s = NULL;
	bool ok = big >= 0 && notes >= 0 && has_code(c->findings, "zip.member.too_large") &&
	          c->ops->open_entry(c, (size_t)big, 1000, &s) == MS_ELIMIT && !s &&
	          c->ops->open_entry(c, (size_t)notes, c->entries[notes].size - 1, &s) == MS_ELIMIT && !s &&
	          c->ops->open_entry(c, (size_t)notes, c->entries[notes].size, &s) == MS_OK && s;
	msi_source_release(s);
	ok = ok && c->ops->open_entry(c, c->count, 1000, &s) == MS_EINVAL;
	msi_container_free(c);
	free(data);
	CHECK(ok);
}

static int stop_at_once(uint64_t done, uint64_t total, void *user)
{
	MSI_UNUSED(total);
	*(uint64_t *)user = done;
	return 1;
}

static int keep_going(uint64_t done, uint64_t total, void *user)
{
	MSI_UNUSED(total);
	*(uint64_t *)user = done;
	return 0;
}

static void test_progress_and_cancel(void)
{
	msi_limits lim = default_limits();
	const char *files[] = { "deflated.zip", "stored.zip" };
	for (size_t k = 0; k < 2; k++) {
		msi_container *c;
		unsigned char *data;
		CHECK_EQ_INT(open_mem(files[k], &lim, &c, &data), MS_OK);
		uint64_t seen = 0;
		msi_progress p = { stop_at_once, &seen, 0, 0 };
		ms_report *r = msi_report_new(NULL, NULL);
		int rc1 = c->ops->verify(c, r, &p);
		msi_progress q = { keep_going, &seen, 0, 0 };
		int rc2 = c->ops->verify(c, r, &q);
		uint64_t done = q.done;
		ms_report_free(r);
		msi_container_free(c);
		free(data);
		CHECK_EQ_INT(rc1, MS_ECANCELLED);
		CHECK_EQ_INT(rc2, MS_OK);
		CHECK(done > 0 && seen == done);
	}
}

/* Every read of broken bytes must stay in bounds: open, verify and open
 * every member of each prefix of an archive and of each one-byte change. */
static bool exercise(const uint8_t *data, size_t len)
{
	msi_limits lim = default_limits();
	msi_source *s;
	msi_container *c = NULL;
	if (msi_source_from_memory(data, len, false, &s) != MS_OK)
		return false;
	int rc = msi_zip_open(s, &lim, &c);
	bool ok = rc == MS_OK || rc == MS_EFORMAT;
	if (rc == MS_OK) {
		ms_report *r = msi_report_new(NULL, NULL);
		ok = r && c->ops->verify(c, r, NULL) == MS_OK;
		ms_report_free(r);
		for (size_t i = 0; i < c->count; i++) {
			msi_source *m = NULL;
			if (c->ops->open_entry(c, i, 1 * MiB, &m) == MS_OK) {
				char hex[65];
				ok = ok && source_sha256(m, hex);
			}
			msi_source_release(m);
		}
		msi_container_free(c);
	}
	msi_source_release(s);
	return ok;
}

static void test_mutations(void)
{
	const char *files[] = { "stored.zip", "torchlike.zip", "zip64_small.zip" };
	for (size_t k = 0; k < MSI_ARRAY_LEN(files); k++) {
		char rel[64];
		size_t len;
		snprintf(rel, sizeof rel, "zip/%s", files[k]);
		uint8_t *data = msi_read_file(msi_fixture(rel), &len);
		CHECK(data);
		size_t bad = 0;
		for (size_t cut = 0; cut <= len; cut++)
			bad += !exercise(data, cut);
		for (size_t i = 0; i < len; i++) {
			data[i] ^= 0xFF;
			bad += !exercise(data, len);
			data[i] ^= 0xFF;
		}
		free(data);
		CHECK_EQ_INT(bad, 0);
	}
}

/* Random multi-byte damage (fixed seed) to small archives of every kind. */
static void test_random_damage(void)
{
	const char *files[] = { "overlap.zip", "size_lie.zip", "duplicate.zip", "gap.zip", "bomb.zip",
		                "truncated_torch.zip", "prefix_cat64.zip", "too_large.zip", "zip64_small.zip" };
	static const uint8_t values[] = { 0x00, 0xFF, 0x7F, 0x80, 'P', 'K', 0x01, 0x02, 0x05, 0x06 };
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (size_t k = 0; k < MSI_ARRAY_LEN(files); k++) {
		char rel[64];
		size_t len;
		snprintf(rel, sizeof rel, "zip/%s", files[k]);
		uint8_t *orig = msi_read_file(msi_fixture(rel), &len);
		uint8_t *data = orig ? malloc(len) : NULL;
		CHECK(data);
		size_t bad = 0;
		for (int iter = 0; iter < 400; iter++) {
			memcpy(data, orig, len);
			int edits = 1 + iter % 8;
			for (int j = 0; j < edits; j++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				data[x % len] = (x >> 32) & 1 ? values[(x >> 40) % sizeof values] : (uint8_t)(x >> 48);
			}
			bad += !exercise(data, len);
		}
		free(data);
		free(orig);
		CHECK_EQ_INT(bad, 0);
	}
}

/* ---- memory stays flat whatever the member sizes ---- */

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xFFFF);
	put16(p + 2, v >> 16);
}

typedef struct big_member {
	const char *name;
	uint16_t method;
	uint32_t crc, size, csize, off;
} big_member;

/* Local header (30 bytes + name) or central record (46 bytes + name). */
static size_t member_header(uint8_t *b, const big_member *m, bool central)
{
	size_t n = strlen(m->name), at = central ? 16 : 14;
	memset(b, 0, 46);
	put32(b, central ? 0x02014b50u : 0x04034b50u);
	put16(b + (central ? 10 : 8), m->method);
	put32(b + at, m->crc);
	put32(b + at + 4, m->csize);
	put32(b + at + 8, m->size);
	put16(b + at + 12, (uint32_t)n);
	if (central)
		put32(b + 42, m->off);
	memcpy(b + (central ? 46 : 30), m->name, n);
	return (central ? 46 : 30) + n;
}

static long max_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A 256 MiB stored member (a hole in a sparse file) and 64 MiB of zeros
 * deflated: open + verify must not grow the peak RSS by more than a few
 * windows. Runs first so earlier cases do not hide the peak. */
static void test_memory_bound(void)
{
	const uint32_t stored_size = 256u << 20, zeros = 64u << 20;
	uint8_t *chunk = calloc(1, 1 << 20), *deflated = malloc(1 << 20);
	CHECK(chunk && deflated);
	z_stream zs = { 0 };
	CHECK(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	zs.next_out = deflated;
	zs.avail_out = 1 << 20;
	uint32_t crc = 0;
	for (uint32_t done = 0; done < zeros; done += 1 << 20) {
		zs.next_in = chunk;
		zs.avail_in = 1 << 20;
		deflate(&zs, done + (1 << 20) == zeros ? Z_FINISH : Z_NO_FLUSH);
		crc = msi_crc32(crc, chunk, 1 << 20);
	}
	uint32_t clen = (uint32_t)zs.total_out;
	deflateEnd(&zs);
	uint32_t scrc = crc; /* 64 MiB of zeros; the stored member has 4 times that */
	for (int k = 0; k < 3 * 64; k++)
		scrc = msi_crc32(scrc, chunk, 1 << 20);
	big_member ms[2] = { { "big/stored.bin", 0, scrc, stored_size, stored_size, 0 },
		             { "big/zeros.bin", 8, crc, zeros, clen, 0 } };
	uint8_t hdr[46 + 64];
	const char *path = msi_write_temp("zip-big.zip", "", 0);
	CHECK(path);
	int fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	size_t n = member_header(hdr, &ms[0], false);
	bool ok = pwrite(fd, hdr, n, 0) == (ssize_t)n; /* the data is a hole */
	ms[1].off = (uint32_t)n + stored_size;
	n = member_header(hdr, &ms[1], false);
	ok = ok && pwrite(fd, hdr, n, ms[1].off) == (ssize_t)n &&
	     pwrite(fd, deflated, clen, ms[1].off + n) == (ssize_t)clen;
	uint32_t cd = ms[1].off + (uint32_t)n + clen, pos = cd;
	for (int k = 0; k < 2; k++) {
		n = member_header(hdr, &ms[k], true);
		ok = ok && pwrite(fd, hdr, n, pos) == (ssize_t)n;
		pos += (uint32_t)n;
	}
	uint8_t eocd[22] = { 0 };
	put32(eocd, 0x06054b50u);
	put16(eocd + 8, 2);
	put16(eocd + 10, 2);
	put32(eocd + 12, pos - cd);
	put32(eocd + 16, cd);
	ok = ok && pwrite(fd, eocd, 22, pos) == 22;
	close(fd);
	free(chunk);
	free(deflated);
	CHECK(ok);

	long before = max_rss_kib();
	msi_limits lim = default_limits();
	msi_source *src;
	msi_container *c = NULL;
	CHECK(msi_source_open_file(path, &src) == MS_OK);
	unlink(path);
	int rc = msi_zip_open(src, &lim, &c);
	msi_source_release(src);
	CHECK_EQ_INT(rc, MS_OK);
	ms_report *r = msi_report_new(NULL, NULL);
	msi_progress prog = { 0 };
	msi_source *m = NULL;
	rc = c->ops->verify(c, r, &prog);
	int rc_open = c->ops->open_entry(c, 1, 1 << 20, &m);
	bool clean = c->count == 2 && c->findings->count == 0 && r->count == 0;
	if (!clean) {
		dump("open", c->findings);
		dump("verify", r);
	}
	ms_report_free(r);
	msi_container_free(c);
	long grew = max_rss_kib() - before;
	printf("memory_bound: peak RSS grew by %ld KiB for %u MiB of members\n", grew, (stored_size + zeros) >> 20);
	CHECK_EQ_INT(rc, MS_OK);
	CHECK(clean);
	CHECK(prog.done >= (uint64_t)stored_size + clen);
	CHECK_EQ_INT(rc_open, MS_ELIMIT); /* declared size above max_size: nothing inflated */
	CHECK(grew < 16 * 1024);
}

/* ---- the shared corpus: real PyTorch and Keras files ---- */

static const char *corpus(void)
{
	static char path[4096];
	const char *root = getenv("CORPUS");
	struct stat st;
	if (!root || stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	snprintf(path, sizeof path, "%s", root);
	return path;
}

typedef struct corpus_result {
	int rc;
	msi_container *c;
	ms_report *verify;
} corpus_result;

static corpus_result open_corpus_file(const char *path)
{
	corpus_result res = { MS_EIO, NULL, NULL };
	msi_limits lim = default_limits();
	msi_source *s;
	if (msi_source_open_file(path, &s) != MS_OK)
		return res;
	res.rc = msi_zip_open(s, &lim, &res.c);
	msi_source_release(s);
	if (res.rc == MS_OK) {
		res.verify = msi_report_new(NULL, NULL);
		if (res.c->ops->verify(res.c, res.verify, NULL) != MS_OK)
			res.rc = MS_ERROR;
	}
	return res;
}

static void corpus_done(corpus_result *res)
{
	msi_container_free(res->c);
	ms_report_free(res->verify);
}

static bool is_zip_file(const char *path)
{
	unsigned char head[4] = { 0 };
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	size_t n = fread(head, 1, 4, f);
	fclose(f);
	return n == 4 && memcmp(head, "PK\3\4", 4) == 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Checks every zip under `dir` (recursively) whose name ends in `ext`. */
static void check_corpus_dir(const char *dir, const char *ext, size_t *checked, size_t *failed)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			check_corpus_dir(path, ext, checked, failed);
			continue;
		}
		if (!has_suffix(path, ext) || !is_zip_file(path))
			continue;
		corpus_result res = open_corpus_file(path);
		bool ok = res.rc == MS_OK && msi_report_count_at_least(res.c->findings, MS_SEVERITY_ERROR) == 0 &&
		          msi_report_count_at_least(res.verify, MS_SEVERITY_ERROR) == 0 && res.c->count > 0;
		for (size_t i = 0; ok && i < res.c->count; i++) {
			msi_source *m = NULL;
			ok = res.c->entries[i].type == MSI_ENTRY_DIR ||
			     res.c->ops->open_entry(res.c, i, 64 * MiB, &m) == MS_OK;
			msi_source_release(m);
		}
		if (!ok) {
			fprintf(stderr, "  corpus: %s: rc %d\n", path, res.rc);
			if (res.c)
				dump("open", res.c->findings);
			if (res.verify)
				dump("verify", res.verify);
			(*failed)++;
		}
		(*checked)++;
		corpus_done(&res);
	}
	closedir(d);
}

static void test_corpus_valid(void)
{
	const char *root = corpus();
	if (!root) {
		printf("SKIP: corpus absent ($CORPUS is not a directory)\n");
		return;
	}
	static const struct { const char *dir, *ext; } sets[] = {
		{ "generated/torchscript", ".pt" }, { "generated/torch", ".pt" },
		{ "public/pt", ".pt" }, { "public/tf_keras", ".keras" },
	};
	size_t checked = 0, failed = 0;
	for (size_t i = 0; i < MSI_ARRAY_LEN(sets); i++) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/%s", root, sets[i].dir);
		check_corpus_dir(dir, sets[i].ext, &checked, &failed);
	}
	printf("corpus: %zu valid zips checked, %zu failed\n", checked, failed);
	CHECK(checked > 0);
	CHECK_EQ_INT(failed, 0);
}

static bool any_error(const corpus_result *res)
{
	return res->rc == MS_OK && (msi_report_count_at_least(res->c->findings, MS_SEVERITY_ERROR) > 0 ||
	                            msi_report_count_at_least(res->verify, MS_SEVERITY_ERROR) > 0);
}

static void test_corpus_bad(void)
{
	const char *root = corpus();
	if (!root) {
		printf("SKIP: corpus absent ($CORPUS is not a directory)\n");
		return;
	}
	char path[4096];
	corpus_result res;

	snprintf(path, sizeof path, "%s/generated/bad/zip_slip.pt", root);
	res = open_corpus_file(path);
	bool ok = res.rc == MS_OK && has_code(res.c->findings, "zip.member.path_traversal");
	if (ok) {
		ssize_t i = msi_container_find(res.c, "../../zip_slip_payload.sh");
		msi_source *m = NULL;
		ok = i >= 0 && res.c->entries[i].unsafe && res.c->ops->open_entry(res.c, (size_t)i, MiB, &m) != MS_OK;
	}
	corpus_done(&res);
	CHECK(ok);

	snprintf(path, sizeof path, "%s/generated/bad/zip_bomb.pt", root);
	res = open_corpus_file(path);
	ok = res.rc == MS_OK && (has_code(res.c->findings, "zip.member.too_large") ||
	                         has_code(res.c->findings, "zip.member.ratio"));
	corpus_done(&res);
	CHECK(ok);

	snprintf(path, sizeof path, "%s/generated/bad/bitflip_trace_cnn.pt", root);
	res = open_corpus_file(path);
	ok = any_error(&res);
	corpus_done(&res);
	CHECK(ok);

	/* malicious pickles in well-formed zips: nothing for the zip layer */
	const char *pickles[] = { "pickle_builtins_eval.pt", "pickle_os_system.pt", "pickle_subprocess_popen.pt" };
	for (size_t k = 0; k < MSI_ARRAY_LEN(pickles); k++) {
		snprintf(path, sizeof path, "%s/generated/bad/%s", root, pickles[k]);
		res = open_corpus_file(path);
		ok = res.rc == MS_OK && !any_error(&res) && res.c->count > 0;
		corpus_done(&res);
		CHECK(ok);
	}

	const char *truncated[] = { "truncated_script_mlp_4085of8171.pt", "truncated_script_mlp_8161of8171.pt" };
	for (size_t k = 0; k < 2; k++) {
		snprintf(path, sizeof path, "%s/generated/bad/%s", root, truncated[k]);
		res = open_corpus_file(path);
		ok = res.rc == MS_OK && has_code(res.c->findings, "zip.eocd.missing") && res.c->count >= 1 &&
		     strncmp(res.c->entries[0].name, "script_mlp/", 11) == 0;
		if (!ok && res.c)
			dump("open", res.c->findings);
		corpus_done(&res);
		CHECK(ok);
	}
}

static void test_cleanup(void)
{
	msi_jval_free(manifest);
	manifest = NULL;
}

static const msi_test_case cases[] = {
	{ "memory_bound", test_memory_bound },
	{ "fixtures", test_fixtures },
	{ "looks_like", test_looks_like },
	{ "member_limit", test_member_limit },
	{ "size_limits", test_size_limits },
	{ "progress_and_cancel", test_progress_and_cancel },
	{ "mutations", test_mutations },
	{ "random_damage", test_random_damage },
	{ "corpus_valid", test_corpus_valid },
	{ "corpus_bad", test_corpus_bad },
	{ "cleanup", test_cleanup },
};

MSI_TEST_MAIN(cases)
