/*
 * Unit tests: the tar container. Fixtures and their expectations come from
 * tests/fixtures/gen_tar.py (tar/manifest.json): member names, types and
 * sizes as Python's tarfile lists them, the exact set of finding codes, and
 * the SHA-256 of every member's bytes, which open_entry must reproduce.
 */
#include "harness.h"
#include "testutil.h"

#include "containers/container.h"
#include "core/json.h"
#include "core/report.h"
#include "io/path.h"

#define GiB (1024ull * 1024 * 1024)

static msi_jval *manifest;

static const msi_jval *load_manifest(void)
{
	if (manifest)
		return manifest;
	size_t len;
	unsigned char *text = msi_read_file(msi_fixture("tar/manifest.json"), &len);
	if (!text)
		return NULL;
	msi_json_limits jl = { 64, 1000000 };
	if (msi_json_parse((const char *)text, len, &jl, &manifest) != MS_OK)
		manifest = NULL;
	free(text);
	return manifest;
}

static msi_source *open_fixture(const char *file, bool memory, unsigned char **keep)
{
	msi_source *s = NULL;
	char rel[512];
	snprintf(rel, sizeof rel, "tar/%s", file);
	*keep = NULL;
	if (memory) {
		size_t len;
		*keep = msi_read_file(msi_fixture(rel), &len);
		if (*keep && msi_source_from_memory(*keep, len, false, &s) != MS_OK)
			s = NULL;
	} else if (msi_source_open_file(msi_fixture(rel), &s) != MS_OK) {
		s = NULL;
	}
	return s;
}

static void check_fixture(const msi_jval *fx, bool memory)
{
	const char *file = jstr(fx, "file");
	unsigned char *keep;
	msi_source *src = open_fixture(file, memory, &keep);
	CHECK(src != NULL);
	msi_limits lim = default_limits();
	const msi_jval *l = msi_jval_get(fx, "limits");
	lim.max_members = jnum(l, "max_members", lim.max_members);
	lim.max_member_size = jnum(l, "max_member_size", lim.max_member_size);

	msi_container *c = NULL;
	int rc = msi_tar_open(src, &lim, &c);
	if (strcmp(jstr(fx, "open"), "eformat") == 0) {
		msi_source_release(src);
		free(keep);
		CHECK_EQ_INT(rc, MS_EFORMAT);
		CHECK(c == NULL);
		return;
	}
	msi_source_release(src); /* the container holds its own reference */
	CHECK_EQ_INT(rc, MS_OK);
	CHECK_EQ_STR(c->kind, "tar");
	bool ok = codes_match(c->findings, msi_jval_get(fx, "codes"), file);
	const msi_jval *members = msi_jval_get(fx, "members");
	if (ok && members && members->kind == MSI_JARRAY) {
		if (members->count != c->count) {
			fprintf(stderr, "  %s: %zu members listed, Python lists %zu\n", file, c->count, members->count);
			ok = false;
		}
		for (size_t i = 0; ok && i < c->count; i++) {
			const msi_jval *m = members->items[i];
			const msi_entry *e = &c->entries[i];
			if (strcmp(e->name, jstr(m, "name")) || strcmp(type_name(e->type), jstr(m, "type")) ||
			    e->size != jnum(m, "size", 0) || e->unsafe != jbool(m, "unsafe")) {
				fprintf(stderr, "  %s: member %zu is '%s' %s %llu%s, expected '%s' %s %llu%s\n", file, i,
				        e->name, type_name(e->type), (unsigned long long)e->size, e->unsafe ? " unsafe" : "",
				        jstr(m, "name"), jstr(m, "type"), (unsigned long long)jnum(m, "size", 0),
				        jbool(m, "unsafe") ? " unsafe" : "");
				ok = false;
				break;
			}
			msi_source *s = NULL;
			rc = c->ops->open_entry(c, i, UINT64_MAX, &s);
			const char *want = jstr(m, "sha256");
			if (want) {
				char hex[65];
				if (rc != MS_OK || !source_sha256(s, hex) || strcmp(hex, want) != 0) {
					fprintf(stderr, "  %s: content of '%s' differs (rc %d)\n", file, e->name, rc);
					ok = false;
				}
			} else if (e->unsafe && rc == MS_OK) {
				fprintf(stderr, "  %s: unsafe member '%s' was opened\n", file, e->name);
				ok = false;
			}
			msi_source_release(s);
		}
	}
	/* Whatever was listed: a member the listing calls safe lies in the file. */
	for (size_t i = 0; ok && i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type == MSI_ENTRY_FILE && !e->unsafe && !msi_range_ok(e->data_offset, e->size, c->src->size))
			ok = false;
	}
	if (ok && c->count > lim.max_members)
		ok = false;
	msi_container_free(c);
	free(keep);
	CHECK(ok);
}

static void run_manifest(bool memory)
{
	const msi_jval *m = load_manifest();
	CHECK(m != NULL);
	const msi_jval *tars = msi_jval_get(m, "tars");
	CHECK(tars && tars->count >= 30);
	int failed_before = msi_test_failed_checks;
	for (size_t i = 0; i < tars->count; i++) {
		int before = msi_test_failed_checks;
		check_fixture(tars->items[i], memory);
		if (msi_test_failed_checks != before)
			fprintf(stderr, "  ^ fixture %s (%s)\n", jstr(tars->items[i], "file"), memory ? "memory" : "file");
	}
	CHECK(msi_test_failed_checks == failed_before);
}

static void test_manifest_file(void) { run_manifest(false); }
static void test_manifest_memory(void) { run_manifest(true); }

static void test_looks_like(void)
{
	static const char *yes[] = { "ustar.tar", "v7.tar", "serialzy.tar", "gnu.tar", "pax.tar" };
	static const char *no[] = { "not_a_tar.bin", "empty.tar", "short.bin" };
	for (size_t k = 0; k < 2; k++) {
		const char **list = k ? no : yes;
		size_t n = k ? MSI_ARRAY_LEN(no) : MSI_ARRAY_LEN(yes);
		for (size_t i = 0; i < n; i++) {
			char rel[256];
			snprintf(rel, sizeof rel, "tar/%s", list[i]);
			size_t len;
			unsigned char *d = msi_read_file(msi_fixture(rel), &len);
			CHECK(d != NULL);
			bool got = msi_tar_looks_like(d, len);
			free(d);
			if (got != !k)
				fprintf(stderr, "  looks_like(%s) = %d\n", list[i], got);
			CHECK(got == !k);
		}
	}
}

static msi_container *open_tar(const char *file, const msi_limits *lim)
{
	unsigned char *keep;
	msi_source *src = open_fixture(file, false, &keep);
	if (!src)
		return NULL;
	msi_limits l = lim ? *lim : default_limits();
	msi_container *c = NULL;
	if (msi_tar_open(src, &l, &c) != MS_OK)
		c = NULL;
	msi_source_release(src);
	return c;
}

/* serialzy's tars name members "./x" and carry a "." root: neither shows. */
static void test_serialzy_names(void)
{
	msi_container *c = open_tar("serialzy.tar", NULL);
	CHECK(c != NULL);
	bool ok = true;
	for (size_t i = 0; i < c->count; i++)
		if (strncmp(c->entries[i].name, "./", 2) == 0 || strcmp(c->entries[i].name, ".") == 0 ||
		    c->entries[i].name[0] == '\0')
			ok = false;
	ssize_t k = msi_container_find(c, "saved_model.pb");
	ssize_t d = msi_container_find(c, "variables");
	msi_source *s = NULL;
	uint8_t head[2] = { 0, 0 };
	int rc = k >= 0 ? c->ops->open_entry(c, (size_t)k, UINT64_MAX, &s) : MS_ERROR;
	if (rc == MS_OK)
		rc = msi_source_read(s, 0, head, 2);
	msi_source_release(s);
	msi_entry_type dt = d >= 0 ? c->entries[d].type : MSI_ENTRY_OTHER;
	msi_container_free(c);
	CHECK(ok);
	CHECK(k >= 0);
	CHECK_EQ_INT(rc, MS_OK);
	CHECK(head[0] == 0x08 && head[1] == 0x01);
	CHECK(dt == MSI_ENTRY_DIR);
}

/* A hard link reads as its target; a directory cannot be opened. */
static void test_hardlink_and_dir(void)
{
	msi_container *c = open_tar("gnu.tar", NULL);
	CHECK(c != NULL);
	ssize_t h = msi_container_find(c, "again.bin"), o = msi_container_find(c, "orig.bin");
	char a[65] = "", b[65] = "";
	msi_source *s = NULL;
	if (h >= 0 && c->ops->open_entry(c, (size_t)h, UINT64_MAX, &s) == MS_OK)
		source_sha256(s, a);
	msi_source_release(s);
	s = NULL;
	if (o >= 0 && c->ops->open_entry(c, (size_t)o, UINT64_MAX, &s) == MS_OK)
		source_sha256(s, b);
	msi_source_release(s);
	s = NULL;
	ssize_t l = msi_container_find(c, "gnu_link");
	int rc = l >= 0 ? c->ops->open_entry(c, (size_t)l, UINT64_MAX, &s) : MS_OK;
	int rc2 = c->ops->open_entry(c, c->count, UINT64_MAX, &s);
	msi_container_free(c);
	CHECK(a[0] && strcmp(a, b) == 0);
	CHECK(rc != MS_OK);
	CHECK(rc2 != MS_OK);
	CHECK(s == NULL);
}

/* Header-size and name-budget limits end the listing with findings. */
static void test_small_limits(void)
{
	msi_limits l = default_limits();
	l.max_header_size = 10; /* the pax header of pax.tar is bigger */
	msi_container *c = open_tar("pax.tar", &l);
	CHECK(c != NULL);
	bool hdr = has_code(c->findings, "tar.header.invalid");
	msi_container_free(c);
	CHECK(hdr);
	l = default_limits();
	l.max_metadata = 64; /* the first name alone is 300 bytes */
	c = open_tar("pax.tar", &l);
	CHECK(c != NULL);
	bool budget = has_code(c->findings, "tar.too_many_members");
	size_t n = c->count;
	msi_container_free(c);
	CHECK(budget);
	CHECK_EQ_INT(n, 0);
}

static uint8_t *read_fixture(const char *file, size_t *len)
{
	char rel[256];
	snprintf(rel, sizeof rel, "tar/%s", file);
	return msi_read_file(msi_fixture(rel), len);
}

static void fix_checksum(uint8_t *h)
{
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

/* Opens mutated bytes from memory: whatever happens, no crash, no listing
 * that points outside the bytes (ASan/UBSan catch the rest). */
static bool survive(const uint8_t *d, size_t n)
{
	msi_source *s;
	if (msi_source_from_memory(d, n, false, &s) != MS_OK)
		return false;
	msi_limits l = default_limits();
	msi_container *c = NULL;
	int rc = msi_tar_open(s, &l, &c);
	bool ok = rc == MS_OK || rc == MS_EFORMAT;
	for (size_t i = 0; c && i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type != MSI_ENTRY_FILE || e->unsafe)
			continue;
		msi_source *m = NULL;
		if (!msi_range_ok(e->data_offset, e->size, n) || c->ops->open_entry(c, i, UINT64_MAX, &m) != MS_OK)
			ok = false;
		msi_source_release(m);
	}
	msi_container_free(c);
	msi_source_release(s);
	return ok;
}

static void test_mutations(void)
{
	static const char *files[] = { "serialzy.tar", "pax.tar", "gnu.tar", "symlink_escape.tar", "v7.tar" };
	static const uint8_t values[] = { 0x00, 0xff, 0x80, '7', ' ', '/', '.', '\n', '9' };
	size_t runs = 0;
	for (size_t f = 0; f < MSI_ARRAY_LEN(files); f++) {
		size_t n;
		uint8_t *orig = read_fixture(files[f], &n);
		CHECK(orig != NULL);
		uint8_t *buf = malloc(n);
		CHECK(buf != NULL);
		bool ok = true;
		/* every byte of the first 4 KiB (headers, pax records), then a sample */
		for (size_t off = 0; off < n && ok; off += off < 4096 ? 1 : 61) {
			/* three of the values per offset, rotating */
			for (size_t k = 0; k < 3 && ok; k++) {
				size_t v = (off * 7 + k * 3) % MSI_ARRAY_LEN(values);
				memcpy(buf, orig, n);
				buf[off] = values[v];
				/* with a fixed checksum the damage reaches the field parsers */
				size_t blk = off / 512 * 512;
				if (v & 1 && off - blk != 148)
					fix_checksum(buf + blk);
				ok = survive(buf, n);
				runs++;
			}
		}
		for (size_t cut = 0; cut < n && ok; cut += 37, runs++)
			ok = survive(orig, cut);
		free(buf);
		free(orig);
		if (!ok)
			fprintf(stderr, "  mutation of %s failed\n", files[f]);
		CHECK(ok);
	}
	CHECK(runs > 10000);
}

/* The shared name rules in lexical form (tar and ONNX external data). */
static void test_path_check(void)
{
	static const struct { const char *p; msi_path_problem want; } cases[] = {
		{ "a", MSI_PATH_OK }, { "a/b/c.bin", MSI_PATH_OK }, { "./a", MSI_PATH_OK },
		{ "a//b", MSI_PATH_OK }, { "..a/b..", MSI_PATH_OK }, { "a/.../b", MSI_PATH_OK },
		{ "", MSI_PATH_EMPTY }, { "/etc/passwd", MSI_PATH_ABSOLUTE }, { "C:/x", MSI_PATH_ABSOLUTE },
		{ "\\\\server\\share", MSI_PATH_ABSOLUTE }, { "a\\b", MSI_PATH_BACKSLASH },
		{ "..", MSI_PATH_DOTDOT }, { "../a", MSI_PATH_DOTDOT }, { "a/../../b", MSI_PATH_DOTDOT },
		{ "a/..", MSI_PATH_DOTDOT },
	};
	for (size_t i = 0; i < MSI_ARRAY_LEN(cases); i++) {
		msi_path_problem got = msi_path_check(cases[i].p, strlen(cases[i].p));
		if (got != cases[i].want)
			fprintf(stderr, "  msi_path_check('%s') = %d, want %d\n", cases[i].p, got, cases[i].want);
		CHECK(got == cases[i].want);
	}
	CHECK(msi_path_check("a\0b", 3) == MSI_PATH_NUL);
	CHECK(msi_path_is_contained("weights.bin", 11));
	CHECK(!msi_path_is_contained("../weights.bin", 14));
	CHECK(msi_path_check(NULL, 0) == MSI_PATH_EMPTY);
	CHECK(strcmp(msi_path_problem_str(MSI_PATH_DOTDOT), "has a '..' component") == 0);
}

/* A fake tree for msi_path_resolve: "up" -> "..", "self" -> ".",
 * "deep" -> "a/b/c", "abs" -> "/x", "l1" <-> "l2". */
static int fake_readlink(void *user, const char *path, msi_buf *target)
{
	MSI_UNUSED(user);
	static const char *links[][2] = { { "up", ".." }, { "self", "." }, { "deep", "a/b/c" },
		                          { "abs", "/x" }, { "l1", "l2" }, { "l2", "l1" } };
	for (size_t i = 0; i < MSI_ARRAY_LEN(links); i++)
		if (strcmp(path, links[i][0]) == 0) {
			msi_buf_puts(target, links[i][1]);
			return 1;
		}
	return 0;
}

static void test_path_resolve(void)
{
	static const struct { const char *p; bool follow; bool fake; msi_link_verdict want; } cases[] = {
		{ "a/b", true, false, MSI_LINK_INSIDE }, { "a/../b", true, false, MSI_LINK_INSIDE },
		{ "a/../../b", true, false, MSI_LINK_OUTSIDE }, { "/etc", true, false, MSI_LINK_OUTSIDE },
		{ "", true, false, MSI_LINK_INSIDE }, { "./.", true, false, MSI_LINK_INSIDE },
		{ "up", true, true, MSI_LINK_OUTSIDE }, { "up", false, true, MSI_LINK_INSIDE },
		{ "self/../x", true, true, MSI_LINK_OUTSIDE }, { "self/../x", true, false, MSI_LINK_INSIDE },
		{ "deep/../../x", true, true, MSI_LINK_INSIDE }, { "deep/../../x", true, false, MSI_LINK_OUTSIDE },
		{ "abs", true, true, MSI_LINK_OUTSIDE }, { "abs", false, true, MSI_LINK_INSIDE },
		{ "dir/abs", true, true, MSI_LINK_INSIDE }, { "l1", true, true, MSI_LINK_LOOP },
		{ "up/x", false, true, MSI_LINK_OUTSIDE },
	};
	for (size_t i = 0; i < MSI_ARRAY_LEN(cases); i++) {
		msi_link_verdict v = MSI_LINK_LOOP;
		int rc = msi_path_resolve(cases[i].p, strlen(cases[i].p), cases[i].follow,
		                          cases[i].fake ? fake_readlink : NULL, NULL, &v);
		if (rc != MS_OK || v != cases[i].want)
			fprintf(stderr, "  resolve('%s', follow=%d, fake=%d) = %d (rc %d), want %d\n", cases[i].p,
			        cases[i].follow, cases[i].fake, v, rc, cases[i].want);
		CHECK_EQ_INT(rc, MS_OK);
		CHECK(v == cases[i].want);
	}
}

/* Through the public API: detection peels the tar. */
static void test_artifact_open(void)
{
	char rel[] = "tar/serialzy.tar";
	ms_artifact *a = NULL;
	int rc = ms_artifact_open_path(&a, msi_fixture(rel), NULL);
	CHECK_EQ_INT(rc, MS_OK);
	const char *kind = ms_artifact_container(a);
	bool is_tar = kind && strcmp(kind, "tar") == 0;
	ms_artifact_free(a);
	CHECK(is_tar);
}

static void test_cleanup(void)
{
	msi_jval_free(manifest);
	manifest = NULL;
}

static const msi_test_case cases[] = {
	{ "manifest_file", test_manifest_file },
	{ "manifest_memory", test_manifest_memory },
	{ "looks_like", test_looks_like },
	{ "serialzy_names", test_serialzy_names },
	{ "hardlink_and_dir", test_hardlink_and_dir },
	{ "small_limits", test_small_limits },
	{ "mutations", test_mutations },
	{ "path_check", test_path_check },
	{ "path_resolve", test_path_resolve },
	{ "artifact_open", test_artifact_open },
	{ "cleanup", test_cleanup },
};

MSI_TEST_MAIN(cases)
