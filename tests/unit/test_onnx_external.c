/*
 * Unit tests: external data of ONNX tensors (lib/formats/onnx/onnx_external.c,
 * FORMATS.md §8.2, §8.3 item 12). Tensors are built by hand with
 * protobuf-c's init macros; a temporary model directory holds a good file,
 * symlinks (to a file, to a directory on the way, out of the directory), a
 * hard link, a FIFO, a subdirectory and an unreadable file; a hand-made tar
 * listing mirrors it. meson runs the program twice: with openat2 and with
 * MODELSTORE_NO_OPENAT2=1 (the openat walk it falls back to).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"
#include "testutil.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/report.h"
#include "formats/onnx/onnx_ir.h"

#define GOOD_SIZE 100u
#define SUB_SIZE 50u

/* ---- building a tensor ---- */

#define MAX_KV 8

typedef struct fake_tensor {
	Onnx__TensorProto pb;
	Onnx__StringStringEntryProto entries[MAX_KV];
	Onnx__StringStringEntryProto *ptrs[MAX_KV];
	onnx_tensor t;
} fake_tensor;

/* `kv` holds key, value pairs and ends with a NULL key. */
static void make_tensor(fake_tensor *f, const char *name, const char *const *kv)
{
	Onnx__TensorProto pb = ONNX__TENSOR_PROTO__INIT;
	memset(f, 0, sizeof *f);
	f->pb = pb;
	f->pb.name = (char *)name;
	f->pb.has_data_type = 1;
	f->pb.data_type = 1;
	f->pb.has_data_location = 1;
	f->pb.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	size_t n = 0;
	for (; kv && kv[2 * n] && n < MAX_KV; n++) {
		Onnx__StringStringEntryProto e = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
		e.key = (char *)kv[2 * n];
		e.value = (char *)kv[2 * n + 1];
		f->entries[n] = e;
		f->ptrs[n] = &f->entries[n];
	}
	f->pb.n_external_data = n;
	f->pb.external_data = n ? f->ptrs : NULL;
	f->t.pb = &f->pb;
}

/* ---- the model directory ---- */

static char root[4096];    /* holds model/ and outside/ */
static char model[4200];   /* the model directory */
static int model_fd = -1;  /* O_PATH, as the artifact opens it */
static bool tree_ready;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		chmod(path, 0700);
	return remove(path);
}

static void remove_tree(void)
{
	if (model_fd >= 0)
		close(model_fd);
	if (root[0])
		nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool write_file(const char *dir, const char *name, size_t size)
{
	char path[8400];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	for (size_t i = 0; i < size; i++)
		fputc((int)(i & 0xff), f);
	return fclose(f) == 0;
}

static bool at(int (*fn)(const char *, const char *), const char *a, const char *b)
{
	char pb[8400];
	snprintf(pb, sizeof pb, "%s/%s", model, b);
	return fn(a, pb) == 0;
}

static bool make_tree(void)
{
	if (tree_ready)
		return model_fd >= 0;
	tree_ready = true;
	const char *tmp = getenv("TMPDIR");
	snprintf(root, sizeof root, "%s/msi-onnx-ext-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		root[0] = '\0';
		return false;
	}
	atexit(remove_tree);
	char outside[4200], path[8400], src[8400];
	snprintf(model, sizeof model, "%s/model", root);
	snprintf(outside, sizeof outside, "%s/outside", root);
	if (mkdir(model, 0700) != 0 || mkdir(outside, 0700) != 0)
		return false;
	snprintf(path, sizeof path, "%s/sub", model);
	if (mkdir(path, 0700) != 0)
		return false;
	bool ok = write_file(model, "good.bin", GOOD_SIZE) && write_file(model, "sub/data.bin", SUB_SIZE) &&
	          write_file(model, "hard_src.bin", 10) && write_file(model, "locked.bin", 10) &&
	          write_file(outside, "secret", 10);
	/* a symlinked file, a symlinked directory on the way, a link that leaves */
	ok = ok && at(symlink, "good.bin", "link.bin") && at(symlink, "sub", "linkdir") &&
	     at(symlink, "../outside/secret", "escape.bin") && at(symlink, "../outside", "outdir");
	snprintf(src, sizeof src, "%s/hard_src.bin", model);
	ok = ok && at(link, src, "hard.bin");
	snprintf(path, sizeof path, "%s/fifo", model);
	ok = ok && mkfifo(path, 0600) == 0;
	snprintf(path, sizeof path, "%s/locked.bin", model);
	ok = ok && chmod(path, 0) == 0;
	if (!ok)
		return false;
	model_fd = open(model, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return model_fd >= 0;
}

/* ---- running the check ---- */

typedef struct result {
	ms_report *r;
	bool known;
	uint64_t len;
} result;

static result run(const char *const *kv, const onnx_ext_base *base)
{
	fake_tensor f;
	make_tensor(&f, "weight", kv);
	result res = { msi_report_new("model.onnx", "onnx"), false, 12345 };
	onnx_check_external(res.r, "graph.initializer[0]", &f.t, base, &res.known, &res.len);
	if (getenv("MSI_TEST_VERBOSE")) /* every message, to read them */
		for (size_t i = 0; i < res.r->count; i++)
			printf("    %s: %s\n", res.r->items[i].code, res.r->items[i].message);
	return res;
}

static result run_dir(const char *const *kv)
{
	onnx_ext_base base = { model_fd, NULL, "" };
	return run(kv, &base);
}

/* Every finding has `code`, and there is at least one. */
static bool only_code(const ms_report *r, const char *code, const char *what)
{
	bool ok = r->count > 0;
	for (size_t i = 0; i < r->count; i++)
		ok &= strcmp(r->items[i].code, code) == 0;
	if (!ok) {
		fprintf(stderr, "  %s: want only %s, got %zu finding(s):\n", what, code, r->count);
		for (size_t i = 0; i < r->count; i++)
			fprintf(stderr, "    %s: %s\n", r->items[i].code, r->items[i].message);
	}
	return ok;
}

static bool no_findings(const ms_report *r, const char *what)
{
	for (size_t i = 0; i < r->count; i++)
		fprintf(stderr, "  %s: unexpected %s: %s\n", what, r->items[i].code, r->items[i].message);
	return r->count == 0;
}

/* Some finding with `code` has every one of the strings in its message. */
static bool message_has(const ms_report *r, const char *code, const char *a, const char *b)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->items[i].code, code) == 0 && strstr(r->items[i].message, a) &&
		    (!b || strstr(r->items[i].message, b)))
			return true;
	fprintf(stderr, "  no %s message with '%s'%s%s\n", code, a, b ? " and " : "", b ? b : "");
	return false;
}

/* One location, expecting exactly `code` (NULL: no finding). */
static bool expect_location(const char *loc, const char *code)
{
	const char *kv[] = { "location", loc, NULL };
	result res = run_dir(kv);
	bool ok = code ? only_code(res.r, code, loc) : no_findings(res.r, loc);
	ms_report_free(res.r);
	return ok;
}

#define NEED_TREE() CHECK(make_tree())

/* ---- parsing the entries ---- */

static void test_parse_reads_location_offset_length(void)
{
	const char *kv[] = { "location", "w.bin", "offset", "4096", "length", "007", "checksum", "ab", NULL };
	fake_tensor f;
	make_tensor(&f, "w", kv);
	onnx_ext_info x;
	onnx_ext_info_parse(&f.t, &x);
	CHECK_EQ_STR(x.location, "w.bin");
	CHECK_EQ_INT(x.offset, 4096);
	CHECK(x.has_length);
	CHECK_EQ_INT(x.length, 7);
	CHECK(!x.bad_offset && !x.bad_length && !x.repeated_key && !x.unknown_key);
}

static void test_parse_defaults_when_absent(void)
{
	const char *kv[] = { "basepath", "/somewhere", NULL };
	fake_tensor f;
	make_tensor(&f, "w", kv);
	onnx_ext_info x;
	onnx_ext_info_parse(&f.t, &x);
	CHECK(x.location == NULL);
	CHECK_EQ_INT(x.offset, 0);
	CHECK(!x.has_length);
	CHECK(!x.bad_offset && !x.bad_length && !x.repeated_key && !x.unknown_key);
}

static void test_parse_accepts_int64_max_and_rejects_more(void)
{
	const char *kv[] = { "location", "w", "offset", "9223372036854775807", "length", "9223372036854775808", NULL };
	fake_tensor f;
	make_tensor(&f, "w", kv);
	onnx_ext_info x;
	onnx_ext_info_parse(&f.t, &x);
	CHECK(!x.bad_offset);
	CHECK(x.offset == INT64_MAX);
	CHECK(x.has_length && x.bad_length);
}

static void test_parse_rejects_non_canonical_integers(void)
{
	static const char *const bad[] = { "-1", "+5", "1e3", "", " 5", "5 ", "0x10", "1_000", "99999999999999999999",
	                                   "\xd9\xa5" /* ARABIC-INDIC DIGIT FIVE: int() takes it */ };
	for (size_t i = 0; i < MSI_ARRAY_LEN(bad); i++) {
		const char *kv[] = { "location", "w", "offset", bad[i], "length", bad[i], NULL };
		fake_tensor f;
		make_tensor(&f, "w", kv);
		onnx_ext_info x;
		onnx_ext_info_parse(&f.t, &x);
		if (!x.bad_offset || !x.bad_length || !x.has_length)
			fprintf(stderr, "  '%s' was accepted\n", bad[i]);
		CHECK(x.bad_offset && x.bad_length && x.has_length);
		CHECK_EQ_INT(x.offset, 0);
	}
}

static void test_parse_flags_repeated_and_unknown_keys(void)
{
	const char *kv[] = { "location", "a.bin", "__class__", "x", "location", "b.bin", "other", "y", NULL };
	fake_tensor f;
	make_tensor(&f, "w", kv);
	onnx_ext_info x;
	onnx_ext_info_parse(&f.t, &x);
	CHECK(x.repeated_key);
	CHECK_EQ_STR(x.unknown_key, "__class__");
	CHECK_EQ_STR(x.location, "b.bin"); /* the last one, as onnx's setattr loop keeps */
}

static void test_parse_null_key_and_value_read_as_empty(void)
{
	const char *kv[] = { "location", NULL, "offset", NULL, NULL };
	fake_tensor f;
	make_tensor(&f, "w", kv);
	Onnx__StringStringEntryProto e = ONNX__STRING_STRING_ENTRY_PROTO__INIT; /* key and value absent */
	f.entries[2] = e;
	f.ptrs[2] = &f.entries[2];
	f.pb.n_external_data = 3;
	onnx_ext_info x;
	onnx_ext_info_parse(&f.t, &x);
	CHECK(x.location == NULL);
	CHECK(x.bad_offset);
	CHECK_EQ_STR(x.unknown_key, "");
}

/* ---- entries and strings, before any file ---- */

static void test_good_file_gives_no_finding_and_the_rest_of_the_file(void)
{
	NEED_TREE();
	const char *kv[] = { "location", "good.bin", "offset", "10", NULL };
	result res = run_dir(kv);
	CHECK(no_findings(res.r, "good.bin"));
	CHECK(res.known);
	CHECK_EQ_INT(res.len, GOOD_SIZE - 10);
	ms_report_free(res.r);
}

static void test_good_file_with_length_gives_that_length(void)
{
	NEED_TREE();
	const char *kv[] = { "location", "./sub//data.bin", "offset", "20", "length", "30", "checksum", "00", NULL };
	result res = run_dir(kv);
	CHECK(no_findings(res.r, "sub/data.bin"));
	CHECK(res.known);
	CHECK_EQ_INT(res.len, 30);
	ms_report_free(res.r);
}

static void test_range_to_the_exact_end_is_fine(void)
{
	NEED_TREE();
	const char *a[] = { "location", "good.bin", "offset", "100", NULL };
	result res = run_dir(a);
	CHECK(no_findings(res.r, "offset = size"));
	CHECK(res.known && res.len == 0);
	ms_report_free(res.r);
	const char *b[] = { "location", "good.bin", "offset", "60", "length", "40", NULL };
	res = run_dir(b);
	CHECK(no_findings(res.r, "offset + length = size"));
	ms_report_free(res.r);
}

static void test_range_past_the_end_gives_out_of_range(void)
{
	NEED_TREE();
	const char *a[] = { "location", "good.bin", "offset", "90", "length", "11", NULL };
	result res = run_dir(a);
	CHECK(only_code(res.r, "onnx.external.out_of_range", "90+11"));
	CHECK(message_has(res.r, "onnx.external.out_of_range", "offset 90 + length 11 = 101", "(100 bytes)"));
	CHECK(res.known && res.len == 11); /* the length the entry asks for */
	ms_report_free(res.r);
	const char *b[] = { "location", "good.bin", "offset", "101", NULL };
	res = run_dir(b);
	CHECK(only_code(res.r, "onnx.external.out_of_range", "offset 101"));
	CHECK(message_has(res.r, "onnx.external.out_of_range", "offset 101", "(100 bytes)"));
	CHECK(!res.known);
	ms_report_free(res.r);
	const char *c[] = { "location", "good.bin", "offset", "9223372036854775807", "length",
		            "9223372036854775807", NULL };
	res = run_dir(c);
	CHECK(only_code(res.r, "onnx.external.out_of_range", "huge offset and length"));
	ms_report_free(res.r);
}

static void test_bad_offsets_give_invalid_field(void)
{
	NEED_TREE();
	static const char *const bad[] = { "-1", "1e3", "", " 5", "99999999999999999999" };
	for (size_t i = 0; i < MSI_ARRAY_LEN(bad); i++) {
		const char *kv[] = { "location", "good.bin", "offset", bad[i], NULL };
		result res = run_dir(kv);
		CHECK(only_code(res.r, "onnx.external.invalid_field", bad[i]));
		CHECK(message_has(res.r, "onnx.external.invalid_field", "offset", "'weight'"));
		CHECK(!res.known);
		ms_report_free(res.r);
		const char *kl[] = { "location", "good.bin", "length", bad[i], NULL };
		res = run_dir(kl);
		CHECK(only_code(res.r, "onnx.external.invalid_field", bad[i]));
		CHECK(message_has(res.r, "onnx.external.invalid_field", "length", NULL));
		CHECK(!res.known);
		ms_report_free(res.r);
	}
}

static void test_repeated_key_gives_invalid_field(void)
{
	NEED_TREE();
	const char *kv[] = { "location", "good.bin", "offset", "0", "offset", "4", NULL };
	result res = run_dir(kv);
	CHECK(only_code(res.r, "onnx.external.invalid_field", "repeated offset"));
	CHECK(message_has(res.r, "onnx.external.invalid_field", "'offset' appears 2 times", NULL));
	ms_report_free(res.r);
}

static void test_unknown_key_gives_a_warning_only(void)
{
	NEED_TREE();
	const char *kv[] = { "location", "good.bin", "__class__", "x", "basepath", "/tmp", NULL };
	result res = run_dir(kv);
	CHECK(only_code(res.r, "onnx.external.unknown_key", "__class__"));
	CHECK(res.r->items[0].severity == MS_SEVERITY_WARNING);
	CHECK(message_has(res.r, "onnx.external.unknown_key", "'__class__'", NULL));
	CHECK(res.known && res.len == GOOD_SIZE);
	ms_report_free(res.r);
}

static void test_missing_or_empty_location_gives_location_missing(void)
{
	NEED_TREE();
	const char *a[] = { "offset", "0", NULL };
	result res = run_dir(a);
	CHECK(only_code(res.r, "onnx.external.location_missing", "no location"));
	ms_report_free(res.r);
	CHECK(expect_location("", "onnx.external.location_missing"));
}

static void test_hash_location_gives_in_memory_and_no_file_check(void)
{
	NEED_TREE();
	CHECK(expect_location("#buffer0", "onnx.external.in_memory"));
	CHECK(expect_location("#../../etc/passwd", "onnx.external.in_memory"));
}

static void test_absolute_locations_give_path_absolute(void)
{
	NEED_TREE();
	static const char *const locs[] = { "/etc/passwd", "//server/share/x", "\\\\server\\share\\x", "\\x",
		                            "C:\\x", "c:x" };
	for (size_t i = 0; i < MSI_ARRAY_LEN(locs); i++)
		CHECK(expect_location(locs[i], "onnx.external.path_absolute"));
}

static void test_traversal_locations_give_path_traversal(void)
{
	NEED_TREE();
	static const char *const locs[] = { "../x", "..", "./../x", "a/../../x", "a/..\\x", "sub/../good.bin",
		                            "a\\b", "..\\x", "outdir/../../outside/secret" };
	for (size_t i = 0; i < MSI_ARRAY_LEN(locs); i++)
		CHECK(expect_location(locs[i], "onnx.external.path_traversal"));
}

static void test_traversal_message_says_how_far_it_climbs(void)
{
	NEED_TREE();
	const char *kv[] = { "location", "a/../../x", NULL };
	result res = run_dir(kv);
	CHECK(message_has(res.r, "onnx.external.path_traversal", "'a/../../x'", "climbs 1 level"));
	ms_report_free(res.r);
	const char *k2[] = { "location", "a/..\\x", NULL };
	res = run_dir(k2);
	CHECK(message_has(res.r, "onnx.external.path_traversal", "'..' component", "backslash"));
	ms_report_free(res.r);
}

/* ---- the file system ---- */

static void test_symlinked_file_gives_symlink(void)
{
	NEED_TREE();
	CHECK(expect_location("link.bin", "onnx.external.symlink"));
	const char *kv[] = { "location", "link.bin", NULL };
	result res = run_dir(kv);
	CHECK(message_has(res.r, "onnx.external.symlink", "'link.bin' is a symbolic link", "'good.bin'"));
	CHECK(!res.known);
	ms_report_free(res.r);
}

static void test_symlinked_directory_on_the_way_gives_symlink_naming_it(void)
{
	NEED_TREE();
	CHECK(expect_location("linkdir/data.bin", "onnx.external.symlink"));
	const char *kv[] = { "location", "linkdir/data.bin", NULL };
	result res = run_dir(kv);
	CHECK(message_has(res.r, "onnx.external.symlink", "directory 'linkdir'", "(to 'sub')"));
	ms_report_free(res.r);
}

static void test_symlink_out_of_the_directory_gives_symlink(void)
{
	NEED_TREE();
	CHECK(expect_location("escape.bin", "onnx.external.symlink"));
	CHECK(expect_location("outdir/secret", "onnx.external.symlink"));
}

static void test_hard_linked_file_gives_hardlink(void)
{
	NEED_TREE();
	CHECK(expect_location("hard.bin", "onnx.external.hardlink"));
	CHECK(expect_location("hard_src.bin", "onnx.external.hardlink"));
	const char *kv[] = { "location", "hard.bin", NULL };
	result res = run_dir(kv);
	CHECK(message_has(res.r, "onnx.external.hardlink", "has 2 hard links", NULL));
	CHECK(res.known && res.len == 10); /* its size is still known */
	ms_report_free(res.r);
}

static void test_fifo_gives_not_regular_without_blocking(void)
{
	NEED_TREE();
	CHECK(expect_location("fifo", "onnx.external.not_regular"));
	const char *kv[] = { "location", "fifo", NULL };
	result res = run_dir(kv);
	CHECK(message_has(res.r, "onnx.external.not_regular", "a FIFO", NULL));
	ms_report_free(res.r);
}

static void test_directory_gives_not_regular(void)
{
	NEED_TREE();
	CHECK(expect_location("sub", "onnx.external.not_regular"));
	CHECK(expect_location("sub/", "onnx.external.not_regular"));
	CHECK(expect_location(".", "onnx.external.not_regular"));
}

static void test_absent_file_gives_missing_file(void)
{
	NEED_TREE();
	CHECK(expect_location("nope.bin", "onnx.external.missing_file"));
	CHECK(expect_location("nosub/x.bin", "onnx.external.missing_file"));
	CHECK(expect_location("good.bin/x", "onnx.external.missing_file"));
	const char *kv[] = { "location", "nosub/x.bin", NULL };
	result res = run_dir(kv);
	CHECK(message_has(res.r, "onnx.external.missing_file", "'nosub/x.bin' does not exist", "no 'nosub'"));
	ms_report_free(res.r);
}

static void test_unreadable_file_gives_missing_file(void)
{
	NEED_TREE();
	if (geteuid() == 0) {
		printf("SKIP unreadable file: running as root, which reads any file\n");
		return;
	}
	CHECK(expect_location("locked.bin", "onnx.external.missing_file"));
}

static void test_subdirectory_file_is_found(void)
{
	NEED_TREE();
	CHECK(expect_location("sub/data.bin", NULL));
}

static void test_no_directory_gives_one_unresolved_warning(void)
{
	onnx_ext_base base = { -1, NULL, "" };
	const char *kv[] = { "location", "w.bin", "length", "8", NULL };
	result res = run(kv, &base);
	CHECK(only_code(res.r, "onnx.external.unresolved", "no base"));
	CHECK_EQ_INT(res.r->count, 1);
	CHECK(message_has(res.r, "onnx.external.unresolved", "'weight'", "'w.bin'"));
	CHECK(res.known && res.len == 8); /* an explicit length needs no file */
	ms_report_free(res.r);
	res = run(kv, NULL);
	CHECK(only_code(res.r, "onnx.external.unresolved", "NULL base"));
	ms_report_free(res.r);
}

static void test_string_rules_apply_without_a_directory(void)
{
	onnx_ext_base base = { -1, NULL, "" };
	const char *kv[] = { "location", "a/../../x", NULL };
	result res = run(kv, &base);
	CHECK(only_code(res.r, "onnx.external.path_traversal", "no base"));
	ms_report_free(res.r);
}

/* ---- a tar listing ---- */

static msi_entry tar_entries[] = {
	{ .name = "./", .type = MSI_ENTRY_DIR },
	{ .name = "./model.onnx", .type = MSI_ENTRY_FILE, .size = 300 },
	{ .name = "./good.bin", .type = MSI_ENTRY_FILE, .size = GOOD_SIZE },
	{ .name = "./sub/", .type = MSI_ENTRY_DIR },
	{ .name = "./sub/data.bin", .type = MSI_ENTRY_FILE, .size = SUB_SIZE },
	{ .name = "./link.bin", .type = MSI_ENTRY_SYMLINK, .link_target = "good.bin" },
	{ .name = "./linkdir", .type = MSI_ENTRY_SYMLINK, .link_target = "sub" },
	{ .name = "./orig.bin", .type = MSI_ENTRY_FILE, .size = 10 },
	{ .name = "./hard.bin", .type = MSI_ENTRY_HARDLINK, .link_target = "./orig.bin" },
	{ .name = "./fifo", .type = MSI_ENTRY_OTHER },
	{ .name = "deep/nested/w.bin", .type = MSI_ENTRY_FILE, .size = 64 }, /* no "./", no directory entries */
	{ .name = "./plain.bin", .type = MSI_ENTRY_FILE, .size = 1 },
	{ .name = "./plain.bin/", .type = MSI_ENTRY_DIR }, /* later duplicate: extraction keeps it */
};

static msi_container tar_listing = { .kind = "tar", .entries = tar_entries,
	                             .count = sizeof tar_entries / sizeof tar_entries[0] };

static result run_tar(const char *loc, const char *offset, const char *length)
{
	const char *kv[7] = { "location", loc, NULL, NULL, NULL, NULL, NULL };
	size_t n = 2;
	if (offset) {
		kv[n++] = "offset";
		kv[n++] = offset;
	}
	if (length) {
		kv[n++] = "length";
		kv[n++] = length;
	}
	onnx_ext_base base = { -1, &tar_listing, "" };
	return run(kv, &base);
}

static bool expect_tar(const char *loc, const char *code)
{
	result res = run_tar(loc, NULL, NULL);
	bool ok = code ? only_code(res.r, code, loc) : no_findings(res.r, loc);
	ms_report_free(res.r);
	return ok;
}

static void test_tar_member_is_found_with_its_size(void)
{
	result res = run_tar("good.bin", "30", NULL);
	CHECK(no_findings(res.r, "tar good.bin"));
	CHECK(res.known && res.len == GOOD_SIZE - 30);
	ms_report_free(res.r);
	CHECK(expect_tar("sub/data.bin", NULL));
	CHECK(expect_tar("./deep//nested/w.bin", NULL));
}

static void test_tar_range_past_the_member_gives_out_of_range(void)
{
	result res = run_tar("sub/data.bin", "40", "11");
	CHECK(only_code(res.r, "onnx.external.out_of_range", "tar 40+11"));
	CHECK(message_has(res.r, "onnx.external.out_of_range", "= 51", "(50 bytes)"));
	ms_report_free(res.r);
}

static void test_tar_symlink_members_give_symlink(void)
{
	CHECK(expect_tar("link.bin", "onnx.external.symlink"));
	CHECK(expect_tar("linkdir/data.bin", "onnx.external.symlink"));
	result res = run_tar("linkdir/data.bin", NULL, NULL);
	CHECK(message_has(res.r, "onnx.external.symlink", "directory 'linkdir'", "(to 'sub')"));
	ms_report_free(res.r);
}

static void test_tar_hard_links_give_hardlink_both_ways(void)
{
	CHECK(expect_tar("hard.bin", "onnx.external.hardlink"));
	CHECK(expect_tar("orig.bin", "onnx.external.hardlink"));
	result res = run_tar("hard.bin", NULL, NULL);
	CHECK(res.known && res.len == 10); /* the size of the member it reads as */
	ms_report_free(res.r);
}

static void test_tar_other_members_give_not_regular(void)
{
	CHECK(expect_tar("fifo", "onnx.external.not_regular"));
	CHECK(expect_tar("sub", "onnx.external.not_regular"));
	CHECK(expect_tar("plain.bin", "onnx.external.not_regular"));
}

static void test_tar_absent_member_gives_missing_file(void)
{
	CHECK(expect_tar("nope.bin", "onnx.external.missing_file"));
	CHECK(expect_tar("good.bin/x", "onnx.external.missing_file"));
	CHECK(expect_tar("model.onnx/../good.bin", "onnx.external.path_traversal"));
}

static void test_tar_entry_dir_prefixes_the_location(void)
{
	onnx_ext_base base = { -1, &tar_listing, "./deep/nested/" };
	const char *kv[] = { "location", "w.bin", NULL };
	result res = run(kv, &base);
	CHECK(no_findings(res.r, "entry_dir deep/nested"));
	CHECK(res.known && res.len == 64);
	ms_report_free(res.r);
	base.entry_dir = "sub";
	res = run(kv, &base);
	CHECK(only_code(res.r, "onnx.external.missing_file", "entry_dir sub"));
	CHECK(message_has(res.r, "onnx.external.missing_file", "no member 'sub/w.bin'", NULL));
	ms_report_free(res.r);
}

static const msi_test_case cases[] = {
	{ "parse_reads_location_offset_length", test_parse_reads_location_offset_length },
	{ "parse_defaults_when_absent", test_parse_defaults_when_absent },
	{ "parse_accepts_int64_max_and_rejects_more", test_parse_accepts_int64_max_and_rejects_more },
	{ "parse_rejects_non_canonical_integers", test_parse_rejects_non_canonical_integers },
	{ "parse_flags_repeated_and_unknown_keys", test_parse_flags_repeated_and_unknown_keys },
	{ "parse_null_key_and_value_read_as_empty", test_parse_null_key_and_value_read_as_empty },
	{ "good_file_gives_no_finding_and_the_rest_of_the_file",
	  test_good_file_gives_no_finding_and_the_rest_of_the_file },
	{ "good_file_with_length_gives_that_length", test_good_file_with_length_gives_that_length },
	{ "range_to_the_exact_end_is_fine", test_range_to_the_exact_end_is_fine },
	{ "range_past_the_end_gives_out_of_range", test_range_past_the_end_gives_out_of_range },
	{ "bad_offsets_give_invalid_field", test_bad_offsets_give_invalid_field },
	{ "repeated_key_gives_invalid_field", test_repeated_key_gives_invalid_field },
	{ "unknown_key_gives_a_warning_only", test_unknown_key_gives_a_warning_only },
	{ "missing_or_empty_location_gives_location_missing", test_missing_or_empty_location_gives_location_missing },
	{ "hash_location_gives_in_memory_and_no_file_check", test_hash_location_gives_in_memory_and_no_file_check },
	{ "absolute_locations_give_path_absolute", test_absolute_locations_give_path_absolute },
	{ "traversal_locations_give_path_traversal", test_traversal_locations_give_path_traversal },
	{ "traversal_message_says_how_far_it_climbs", test_traversal_message_says_how_far_it_climbs },
	{ "symlinked_file_gives_symlink", test_symlinked_file_gives_symlink },
	{ "symlinked_directory_on_the_way_gives_symlink_naming_it",
	  test_symlinked_directory_on_the_way_gives_symlink_naming_it },
	{ "symlink_out_of_the_directory_gives_symlink", test_symlink_out_of_the_directory_gives_symlink },
	{ "hard_linked_file_gives_hardlink", test_hard_linked_file_gives_hardlink },
	{ "fifo_gives_not_regular_without_blocking", test_fifo_gives_not_regular_without_blocking },
	{ "directory_gives_not_regular", test_directory_gives_not_regular },
	{ "absent_file_gives_missing_file", test_absent_file_gives_missing_file },
	{ "unreadable_file_gives_missing_file", test_unreadable_file_gives_missing_file },
	{ "subdirectory_file_is_found", test_subdirectory_file_is_found },
	{ "no_directory_gives_one_unresolved_warning", test_no_directory_gives_one_unresolved_warning },
	{ "string_rules_apply_without_a_directory", test_string_rules_apply_without_a_directory },
	{ "tar_member_is_found_with_its_size", test_tar_member_is_found_with_its_size },
	{ "tar_range_past_the_member_gives_out_of_range", test_tar_range_past_the_member_gives_out_of_range },
	{ "tar_symlink_members_give_symlink", test_tar_symlink_members_give_symlink },
	{ "tar_hard_links_give_hardlink_both_ways", test_tar_hard_links_give_hardlink_both_ways },
	{ "tar_other_members_give_not_regular", test_tar_other_members_give_not_regular },
	{ "tar_absent_member_gives_missing_file", test_tar_absent_member_gives_missing_file },
	{ "tar_entry_dir_prefixes_the_location", test_tar_entry_dir_prefixes_the_location },
};

MSI_TEST_MAIN(cases)
