/* Unit tests: writing serialzy streams (ms_pack_*, ms_stream_*), the model
 * resource (ms_model_*), unpacking (ms_artifact_unpack) and the header
 * checks of the serialzy reader. Golden bytes come from SERIALZY.md and from
 * Python's json.dumps (the expected strings below were printed by it). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#include "core/internal.h"
#include "core/json.h"

/* ---- helpers ---- */

static char tmp_root[256];

static const char *tmp_path(const char *rel)
{
	static char buf[4][512];
	static int k;
	if (!tmp_root[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(tmp_root, sizeof tmp_root, "%s/ms_test_package.%d", t && *t ? t : "/tmp", (int)getpid());
		mkdir(tmp_root, 0777);
	}
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_root, rel);
	return buf[k];
}

static bool write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void rm_rf(const char *path)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "  (could not remove %s)\n", path);
}

/* Number of entries in a directory (0 when missing). */
static int count_entries(const char *dir)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = 0;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static bool has_code(const ms_report *r, const char *code)
{
	for (size_t i = 0; i < ms_report_count(r); i++) {
		const char *c;
		ms_report_get(r, i, NULL, &c, NULL, NULL);
		if (strcmp(c, code) == 0)
			return true;
	}
	return false;
}

static ms_report *validate_buffer(const void *data, size_t len)
{
	ms_artifact *a = NULL;
	if (ms_artifact_open_buffer(&a, data, len, NULL) != MS_OK)
		return NULL;
	ms_report *r = NULL;
	ms_artifact_validate(a, NULL, &r);
	ms_artifact_free(a);
	return r;
}

static size_t frame(unsigned char *out, const char *header, const void *payload, size_t payload_len)
{
	size_t hl = strlen(header);
	memcpy(out, "serialzy", 8);
	for (int i = 0; i < 8; i++)
		out[8 + i] = (unsigned char)((uint64_t)hl >> (8 * i));
	memcpy(out + 16, header, hl);
	memcpy(out + 16 + hl, payload, payload_len);
	return 16 + hl + payload_len;
}

/* A valid ONNX model (onnx.helper, checked by onnx.checker): Relu x -> y,
 * IR 7, opset 13, producer "pytorch". */
static const unsigned char onnx_bytes[] = {
	0x08, 0x07, 0x12, 0x07, 0x70, 0x79, 0x74, 0x6f, 0x72, 0x63, 0x68, 0x3a, 0x33, 0x0a, 0x0c, 0x0a, 0x01, 0x78,
	0x12, 0x01, 0x79, 0x22, 0x04, 0x52, 0x65, 0x6c, 0x75, 0x12, 0x01, 0x67, 0x5a, 0x0f, 0x0a, 0x01, 0x78, 0x12,
	0x0a, 0x0a, 0x08, 0x08, 0x01, 0x12, 0x04, 0x0a, 0x02, 0x08, 0x01, 0x62, 0x0f, 0x0a, 0x01, 0x79, 0x12, 0x0a,
	0x0a, 0x08, 0x08, 0x01, 0x12, 0x04, 0x0a, 0x02, 0x08, 0x01, 0x42, 0x04, 0x0a, 0x00, 0x10, 0x0d,
};

/* ---- golden bytes ---- */

/* SERIALZY.md section 1: the model header (ran, fake xgboost 9.9.9). */
static void golden_model_header(void)
{
	static const char golden[] =
		"{\"data_format\": \"xgb\", \"schema_format\": \"serialzy_python_type_reference\", "
		"\"schema_content\": \"{\\\"module\\\": \\\"xgboost.sklearn\\\", \\\"name\\\": \\\"XGBClassifier\\\"}\", "
		"\"meta\": {\"xgboost\": \"9.9.9\"}}";
	CHECK_EQ_INT(strlen(golden), 187); /* BB 00 .. */
	ms_pack_options po = MS_PACK_OPTIONS_INIT;
	po.format = "xgb";
	po.type = "xgboost.sklearn.XGBClassifier";
	po.framework_version = "9.9.9";
	po.flags = MS_PACK_NO_USER_META;
	char *bytes;
	size_t len;
	CHECK_EQ_INT(ms_stream_header(NULL, &po, &bytes, &len), MS_OK);
	CHECK_EQ_INT(len, 16 + 187);
	CHECK(memcmp(bytes, "serialzy\xbb\0\0\0\0\0\0\0", 16) == 0);
	CHECK(memcmp(bytes + 16, golden, 187) == 0);
	ms_free(bytes);
}

/* json.dumps of a model resource with non-ASCII text, an emoji, quotes, a
 * backslash and control characters (DEL included), as Python prints it. */
static const char model_json_golden[] =
	"{\"name\": \"Mod\\u00e8le \\\"q\\\" \\\\ \\ud83d\\ude00\\u0001\\u001f\\u007f\\n\", \"notebook\": \"nb.ipynb\", "
	"\"variable\": \"clf\", \"user\": \"\\u00fcn\\u00ef\", \"created_at\": \"2024-02-29T23:59:59Z\", \"size\": 5, "
	"\"sha256\": \"abababababababababababababababababababababababababababababababab\", \"description\": "
	"\"tab\\there\\u2028\", \"tags\": [\"t1\", \"\\u65e5\\u672c\"]}";

static ms_model *hostile_model(void)
{
	ms_model *m;
	if (ms_model_new(&m) != MS_OK)
		return NULL;
	ms_model_set(m, "name", "Mod\xc3\xa8le \"q\" \\ \xf0\x9f\x98\x80\x01\x1f\x7f\n");
	ms_model_set(m, "notebook", "nb.ipynb");
	ms_model_set(m, "variable", "clf");
	ms_model_set(m, "user", "\xc3\xbcn\xc3\xaf");
	ms_model_set(m, "created_at", "2024-02-29T23:59:59Z");
	ms_model_set_size(m, 5);
	ms_model_set(m, "sha256", "abababababababababababababababababababababababababababababababab");
	ms_model_set(m, "description", "tab\there\xe2\x80\xa8");
	ms_model_add_tag(m, "t1");
	ms_model_add_tag(m, "\xe6\x97\xa5\xe6\x9c\xac");
	return m;
}

static void model_json_is_json_dumps(void)
{
	ms_model *m = hostile_model();
	CHECK(m);
	char *json;
	size_t len;
	CHECK_EQ_INT(ms_model_to_json(m, &json, &len), MS_OK);
	CHECK_EQ_STR(json, model_json_golden);
	CHECK_EQ_INT(len, strlen(model_json_golden));
	/* and back */
	ms_model *back;
	CHECK_EQ_INT(ms_model_from_json(&back, json, len), MS_OK);
	char *again;
	CHECK_EQ_INT(ms_model_to_json(back, &again, NULL), MS_OK);
	CHECK_EQ_STR(again, json);
	const char *v;
	size_t vl;
	CHECK_EQ_INT(ms_model_get(back, "user", &v, &vl), MS_OK);
	CHECK_EQ_STR(v, "\xc3\xbcn\xc3\xaf");
	CHECK_EQ_INT(ms_model_tag_count(back), 2);
	ms_free(again);
	ms_free(json);
	ms_model_free(back);
	ms_model_free(m);
}

static void model_from_json_is_strict(void)
{
	ms_model *m = NULL;
	CHECK_EQ_INT(ms_model_from_json(&m, "[1]", 3), MS_EFORMAT);
	CHECK_EQ_INT(ms_model_from_json(&m, "{\"name\": 5}", 11), MS_EFORMAT);
	CHECK_EQ_INT(ms_model_from_json(&m, "{\"extra\": 1}", 12), MS_EFORMAT);
	CHECK_EQ_INT(ms_model_from_json(&m, "{\"size\": -1}", 12), MS_EFORMAT);
	CHECK_EQ_INT(ms_model_from_json(&m, "{\"size\": 1.5}", 13), MS_EFORMAT);
	CHECK(m == NULL);
	/* NUL inside a string survives */
	static const char nul[] = "{\"description\": \"a\\u0000b\"}";
	CHECK_EQ_INT(ms_model_from_json(&m, nul, sizeof nul - 1), MS_OK);
	const char *v;
	size_t vl;
	CHECK_EQ_INT(ms_model_get(m, "description", &v, &vl), MS_OK);
	CHECK_EQ_INT(vl, 3);
	CHECK(memcmp(v, "a\0b", 3) == 0);
	uint64_t size;
	CHECK_EQ_INT(ms_model_get_size(m, &size), MS_ENOTFOUND);
	CHECK_EQ_INT(ms_model_set(m, "size", "1"), MS_ENOTFOUND);
	ms_model_free(m);
}

static void model_validation(void)
{
	ms_model *m;
	CHECK_EQ_INT(ms_model_new(&m), MS_OK);
	ms_report *r;
	CHECK_EQ_INT(ms_model_validate(m, &r), MS_OK);
	CHECK(has_code(r, "model.name.missing") && !ms_report_valid(r));
	ms_report_free(r);

	/* 255 characters (two bytes each) pass, 256 do not */
	char name[600] = "";
	for (int i = 0; i < 255; i++)
		strcat(name, "\xc3\xa9");
	ms_model_set(m, "name", name);
	ms_model_set(m, "created_at", "2024-02-29T00:00:00Z");
	CHECK_EQ_INT(ms_model_validate(m, &r), MS_OK);
	CHECK(ms_report_valid(r));
	ms_report_free(r);
	strcat(name, "\xc3\xa9");
	ms_model_set(m, "name", name);
	CHECK_EQ_INT(ms_model_validate(m, &r), MS_OK);
	CHECK(has_code(r, "model.name.too_long"));
	ms_report_free(r);

	ms_model_set(m, "name", "");
	ms_model_set(m, "user", "\xff\xfe");
	ms_model_set(m, "created_at", "2023-02-29T00:00:00Z"); /* not a leap year */
	ms_model_set(m, "sha256", "ABCD");
	CHECK_EQ_INT(ms_model_validate(m, &r), MS_OK);
	CHECK(has_code(r, "model.name.empty"));
	CHECK(has_code(r, "model.text.utf8"));
	CHECK(has_code(r, "model.created_at.format"));
	CHECK(has_code(r, "model.sha256.format"));
	ms_report_free(r);
	static const char *const bad_times[] = { "2024-01-01 00:00:00Z", "2024-01-01T24:00:00Z", "2024-13-01T00:00:00Z",
		                                 "2024-01-01T00:00:00", "2024-01-01T00:00:00+00:00" };
	for (size_t i = 0; i < sizeof bad_times / sizeof *bad_times; i++) {
		ms_model_set(m, "created_at", bad_times[i]);
		CHECK_EQ_INT(ms_model_validate(m, &r), MS_OK);
		CHECK(has_code(r, "model.created_at.format"));
		ms_report_free(r);
	}
	CHECK_EQ_INT(ms_model_set_created_at(m, 0), MS_OK);
	const char *v;
	ms_model_get(m, "created_at", &v, NULL);
	CHECK_EQ_STR(v, "1970-01-01T00:00:00Z");
	ms_model_free(m);
}

/* ---- packing and unpacking ---- */

static int pack_file(const char *src, const char *out, const char *format, ms_model **written)
{
	ms_model *m;
	ms_model_new(&m);
	ms_model_set(m, "name", "unit");
	ms_model_set(m, "created_at", "2024-01-02T03:04:05Z");
	ms_pack_options po = MS_PACK_OPTIONS_INIT;
	po.format = format;
	po.flags = MS_PACK_OVERWRITE;
	int rc = ms_pack_path(src, out, m, &po, written);
	ms_model_free(m);
	return rc;
}

static void pack_unpack_round_trip_and_reproducible(void)
{
	const char *src = tmp_path("payload.onnx");
	CHECK(write_file(src, onnx_bytes, sizeof onnx_bytes));
	const char *out1 = tmp_path("a.serialzy");
	ms_model *w;
	CHECK_EQ_INT(pack_file(src, out1, "onnx", &w), MS_OK);
	uint64_t size;
	CHECK_EQ_INT(ms_model_get_size(w, &size), MS_OK);
	CHECK_EQ_INT(size, sizeof onnx_bytes);
	ms_model_free(w);
	char out1_copy[512];
	snprintf(out1_copy, sizeof out1_copy, "%s", out1);
	CHECK_EQ_INT(pack_file(src, tmp_path("b.serialzy"), "onnx", NULL), MS_OK);
	size_t la, lb;
	unsigned char *a = msi_read_file(out1_copy, &la), *b = msi_read_file(tmp_path("b.serialzy"), &lb);
	CHECK(a && b && la == lb && memcmp(a, b, la) == 0);
	CHECK(memcmp(a + la - sizeof onnx_bytes, onnx_bytes, sizeof onnx_bytes) == 0);
	free(b);

	/* the stream reads back: header, model resource, payload */
	ms_artifact *art;
	CHECK_EQ_INT(ms_artifact_open_buffer(&art, a, la, NULL), MS_OK);
	CHECK_EQ_STR(ms_artifact_container(art), "serialzy");
	ms_report *r;
	CHECK_EQ_INT(ms_artifact_validate(art, NULL, &r), MS_OK);
	CHECK(ms_report_clean(r));
	ms_report_free(r);
	ms_model *m;
	CHECK_EQ_INT(ms_model_from_artifact(&m, art), MS_OK);
	const char *v;
	ms_model_get(m, "name", &v, NULL);
	CHECK_EQ_STR(v, "unit");
	ms_model_free(m);
	const char *dest = tmp_path("dest1");
	char *name;
	CHECK_EQ_INT(ms_artifact_unpack(art, dest, NULL, &name), MS_OK);
	CHECK_EQ_STR(name, "model.onnx");
	ms_free(name);
	char got[600];
	snprintf(got, sizeof got, "%s/model.onnx", dest);
	size_t lg;
	unsigned char *g = msi_read_file(got, &lg);
	CHECK(g && lg == sizeof onnx_bytes && memcmp(g, onnx_bytes, lg) == 0);
	free(g);
	CHECK_EQ_INT(count_entries(dest), 1); /* no temporary left */
	/* a second unpack refuses to replace, unless told */
	CHECK_EQ_INT(ms_artifact_unpack(art, dest, NULL, NULL), MS_EIO);
	ms_unpack_options uo = MS_UNPACK_OPTIONS_INIT;
	uo.flags = MS_UNPACK_OVERWRITE;
	CHECK_EQ_INT(ms_artifact_unpack(art, dest, &uo, NULL), MS_OK);
	CHECK_EQ_INT(count_entries(dest), 1);
	ms_artifact_free(art);
	free(a);
}

static void pack_refuses_existing_output_and_bad_options(void)
{
	const char *src = tmp_path("p2.onnx");
	CHECK(write_file(src, onnx_bytes, sizeof onnx_bytes));
	char srcc[512];
	snprintf(srcc, sizeof srcc, "%s", src);
	const char *out = tmp_path("exists.serialzy");
	CHECK(write_file(out, "x", 1));
	ms_pack_options po = MS_PACK_OPTIONS_INIT;
	po.format = "onnx";
	ms_model *m;
	ms_model_new(&m);
	ms_model_set(m, "name", "n");
	CHECK_EQ_INT(ms_pack_path(srcc, out, m, &po, NULL), MS_EIO);
	po.format = "primitive_type";
	CHECK_EQ_INT(ms_pack_path(srcc, tmp_path("new.serialzy"), m, &po, NULL), MS_EINVAL);
	po.format = "onnx";
	po.type = "NoDot";
	CHECK_EQ_INT(ms_pack_path(srcc, tmp_path("new.serialzy"), m, &po, NULL), MS_EINVAL);
	po.type = NULL;
	ms_model_set(m, "created_at", "yesterday");
	CHECK_EQ_INT(ms_pack_path(srcc, tmp_path("new.serialzy"), m, &po, NULL), MS_EINVAL);
	ms_model_set(m, "created_at", NULL);
	ms_model_set(m, "sha256", "0000000000000000000000000000000000000000000000000000000000000000");
	CHECK_EQ_INT(ms_pack_path(srcc, tmp_path("new.serialzy"), m, &po, NULL), MS_EFORMAT);
	CHECK(!exists(tmp_path("new.serialzy")));
	CHECK_EQ_INT(count_entries(tmp_root) >= 0, 1);
	ms_model_free(m);
}

static int cancel_at_once(uint64_t done, uint64_t total, void *user)
{
	(void)done, (void)total, (void)user;
	return 1;
}

static void pack_cancelled_leaves_nothing(void)
{
	const char *src = tmp_path("p3.onnx");
	CHECK(write_file(src, onnx_bytes, sizeof onnx_bytes));
	char srcc[512];
	snprintf(srcc, sizeof srcc, "%s", src);
	const char *dir = tmp_path("cancel");
	mkdir(dir, 0777);
	char out[600];
	snprintf(out, sizeof out, "%s/out.serialzy", dir);
	ms_pack_options po = MS_PACK_OPTIONS_INIT;
	po.format = "onnx";
	po.progress = cancel_at_once;
	ms_model *m;
	ms_model_new(&m);
	ms_model_set(m, "name", "n");
	CHECK_EQ_INT(ms_pack_path(srcc, out, m, &po, NULL), MS_ECANCELLED);
	CHECK_EQ_INT(count_entries(dir), 0);
	ms_model_free(m);
}

static void incremental_stream_and_pipe(void)
{
	ms_model *m;
	ms_model_new(&m);
	ms_model_set(m, "name", "inc");
	ms_model_set(m, "created_at", "2024-01-02T03:04:05Z");
	ms_pack_options po = MS_PACK_OPTIONS_INIT;
	po.format = "onnx";
	ms_stream *s;
	const char *out = tmp_path("inc.serialzy");
	char outc[512];
	snprintf(outc, sizeof outc, "%s", out);
	unlink(outc);
	CHECK_EQ_INT(ms_stream_create(&s, outc, m, sizeof onnx_bytes, &po), MS_OK);
	CHECK(!exists(outc));
	CHECK_EQ_INT(ms_stream_write(s, onnx_bytes, 3), MS_OK);
	CHECK_EQ_INT(ms_stream_write(s, onnx_bytes + 3, sizeof onnx_bytes - 3), MS_OK);
	CHECK_EQ_INT(ms_stream_write(s, "x", 1), MS_EINVAL); /* past the declared size */
	CHECK_EQ_INT(ms_stream_finish(s, NULL), MS_EMISUSE);
	ms_stream_free(s);
	CHECK(!exists(outc));
	CHECK_EQ_INT(ms_stream_create(&s, outc, m, sizeof onnx_bytes, &po), MS_OK);
	CHECK_EQ_INT(ms_stream_write(s, onnx_bytes, sizeof onnx_bytes), MS_OK);
	ms_model *w;
	CHECK_EQ_INT(ms_stream_finish(s, &w), MS_OK);
	ms_stream_free(s);
	size_t ln;
	unsigned char *file = msi_read_file(outc, &ln);
	CHECK(file);

	/* a pipe cannot seek: the digest must be known first */
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK_EQ_INT(ms_stream_create_fd(&s, p[1], m, sizeof onnx_bytes, &po), MS_EINVAL);
	const char *sha;
	ms_model_get(w, "sha256", &sha, NULL);
	ms_model_set(m, "sha256", sha);
	CHECK_EQ_INT(ms_stream_create_fd(&s, p[1], m, sizeof onnx_bytes, &po), MS_OK);
	CHECK_EQ_INT(ms_stream_write(s, onnx_bytes, sizeof onnx_bytes), MS_OK);
	CHECK_EQ_INT(ms_stream_finish(s, NULL), MS_OK);
	ms_stream_free(s);
	close(p[1]);
	unsigned char *piped = malloc(ln + 1);
	size_t got = 0;
	ssize_t n;
	while (got <= ln && (n = read(p[0], piped + got, ln + 1 - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	CHECK_EQ_INT(got, ln);
	CHECK(memcmp(piped, file, ln) == 0); /* same bytes as the file */
	free(piped);
	free(file);
	ms_model_free(w);
	ms_model_free(m);
}

/* A minimal ustar member: header (+ data padded). Returns bytes written. */
static size_t tar_member(unsigned char *out, const char *name, char type, const char *data, const char *link)
{
	memset(out, 0, 512);
	size_t dl = data ? strlen(data) : 0;
	memcpy(out, name, strlen(name));
	snprintf((char *)out + 100, 8, "%07o", 0644);
	snprintf((char *)out + 108, 8, "%07o", 0);
	snprintf((char *)out + 116, 8, "%07o", 0);
	snprintf((char *)out + 124, 12, "%011o", (unsigned)dl);
	snprintf((char *)out + 136, 12, "%011o", 0);
	memset(out + 148, ' ', 8);
	out[156] = (unsigned char)type;
	if (link)
		memcpy(out + 157, link, strlen(link));
	memcpy(out + 257, "ustar\0" "00", 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += out[i];
	snprintf((char *)out + 148, 8, "%06o", sum);
	out[155] = ' ';
	size_t n = 512;
	if (dl) {
		memset(out + 512, 0, (dl + 511) / 512 * 512);
		memcpy(out + 512, data, dl);
		n += (dl + 511) / 512 * 512;
	}
	return n;
}

static size_t tar_stream(unsigned char *buf, const unsigned char *tar, size_t tar_len)
{
	static const char h[] =
		"{\"data_format\": \"tf_pure\", \"schema_format\": \"serialzy_python_type_reference\", "
		"\"schema_content\": \"{\\\"module\\\": \\\"tensorflow\\\", \\\"name\\\": null}\", \"meta\": {}}";
	return frame(buf, h, tar, tar_len);
}

static void unpack_refuses_escaping_tar(void)
{
	static unsigned char tar[8192], buf[10240];
	const char *bad[][3] = {
		{ "./saved_model.pb", "0", NULL },
		{ "../evil", "0", NULL },
	};
	const char *dest = tmp_path("dest_escape");
	char destc[512];
	snprintf(destc, sizeof destc, "%s", dest);
	for (int variant = 0; variant < 4; variant++) {
		size_t n = tar_member(tar, bad[0][0], '0', "\x08\x01", NULL);
		if (variant == 0)
			n += tar_member(tar + n, "../evil", '0', "pwned", NULL);
		else if (variant == 1)
			n += tar_member(tar + n, "/tmp/evil", '0', "pwned", NULL);
		else if (variant == 2)
			n += tar_member(tar + n, "./link", '2', NULL, "../../etc/passwd");
		else
			n += tar_member(tar + n, "./dev", '3', NULL, NULL);
		memset(tar + n, 0, 1024);
		n += 1024;
		size_t len = tar_stream(buf, tar, n);
		ms_artifact *a;
		CHECK_EQ_INT(ms_artifact_open_buffer(&a, buf, len, NULL), MS_OK);
		int rc = ms_artifact_unpack(a, destc, NULL, NULL);
		CHECK(rc == MS_EFORMAT || rc == MS_EUNSUPPORTED);
		CHECK(strstr(ms_error_last(), "evil") || strstr(ms_error_last(), "link") ||
		      strstr(ms_error_last(), "dev") || strstr(ms_error_last(), "tar."));
		CHECK_EQ_INT(count_entries(destc), 0); /* nothing partial */
		ms_artifact_free(a);
	}
	char parent_evil[600];
	snprintf(parent_evil, sizeof parent_evil, "%s/../evil", destc);
	CHECK(!exists(parent_evil));

	/* a clean tar extracts, nested directories included */
	size_t n = tar_member(tar, "./", '5', NULL, NULL);
	n += tar_member(tar + n, "./saved_model.pb", '0', "\x08\x01", NULL);
	n += tar_member(tar + n, "./variables/variables.index", '0', "idx", NULL);
	n += tar_member(tar + n, "./variables/hard", '1', NULL, "./variables/variables.index");
	memset(tar + n, 0, 1024);
	n += 1024;
	size_t len = tar_stream(buf, tar, n);
	ms_artifact *a;
	CHECK_EQ_INT(ms_artifact_open_buffer(&a, buf, len, NULL), MS_OK);
	char *name;
	CHECK_EQ_INT(ms_artifact_unpack(a, destc, NULL, &name), MS_OK);
	CHECK_EQ_STR(name, "model.savedmodel");
	ms_free(name);
	char p[700];
	snprintf(p, sizeof p, "%s/model.savedmodel/variables/hard", destc);
	size_t lg;
	unsigned char *g = msi_read_file(p, &lg);
	CHECK(g && lg == 3 && memcmp(g, "idx", 3) == 0);
	free(g);
	CHECK_EQ_INT(count_entries(destc), 1);
	/* a symlink planted where the directory goes is not followed */
	rm_rf(destc);
	mkdir(destc, 0777);
	char link[700];
	snprintf(link, sizeof link, "%s/model.savedmodel", destc);
	CHECK(symlink("/tmp", link) == 0);
	CHECK_EQ_INT(ms_artifact_unpack(a, destc, NULL, NULL), MS_EIO);
	ms_unpack_options uo = MS_UNPACK_OPTIONS_INIT;
	uo.flags = MS_UNPACK_OVERWRITE;
	CHECK_EQ_INT(ms_artifact_unpack(a, destc, &uo, NULL), MS_EIO);
	struct stat st;
	CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
	ms_artifact_free(a);
}

static void unpack_checks_the_model_resource(void)
{
	const char *src = tmp_path("p4.onnx");
	CHECK(write_file(src, onnx_bytes, sizeof onnx_bytes));
	char srcc[512];
	snprintf(srcc, sizeof srcc, "%s", src);
	const char *out = tmp_path("p4.serialzy");
	char outc[512];
	snprintf(outc, sizeof outc, "%s", out);
	CHECK_EQ_INT(pack_file(srcc, outc, "onnx", NULL), MS_OK);
	size_t len;
	unsigned char *data = msi_read_file(outc, &len);
	CHECK(data);
	data[len - 1] ^= 1; /* the payload no longer has its sha256 */
	ms_report *r = validate_buffer(data, len);
	CHECK(r && has_code(r, "model.sha256.mismatch") && !ms_report_valid(r));
	ms_report_free(r);
	ms_artifact *a;
	CHECK_EQ_INT(ms_artifact_open_buffer(&a, data, len, NULL), MS_OK);
	const char *dest = tmp_path("dest_sha");
	char destc[512];
	snprintf(destc, sizeof destc, "%s", dest);
	CHECK_EQ_INT(ms_artifact_unpack(a, destc, NULL, NULL), MS_EFORMAT);
	CHECK_EQ_INT(count_entries(destc), 0);
	ms_unpack_options uo = MS_UNPACK_OPTIONS_INIT;
	uo.flags = MS_UNPACK_NO_VERIFY;
	CHECK_EQ_INT(ms_artifact_unpack(a, destc, &uo, NULL), MS_OK);
	ms_artifact_free(a);
	/* one payload byte more: the size no longer matches */
	unsigned char *longer = malloc(len + 1);
	memcpy(longer, data, len);
	longer[len] = 0;
	r = validate_buffer(longer, len + 1);
	CHECK(r && has_code(r, "model.size.mismatch"));
	ms_report_free(r);
	free(longer);
	free(data);
}

/* ---- header checks of the reader ---- */

static void header_checks(void)
{
	static unsigned char buf[4096];
	struct {
		const char *header;
		const char *code;
		bool valid;
	} cases[] = {
		{ "{\"data_format\": \"onnx\", \"schema_format\": \"serialzy_python_type_reference\", \"schema_content\": "
		  "\"{\\\"module\\\": \\\"onnx\\\", \\\"name\\\": \\\"ModelProto\\\"}\", \"meta\": {}, \"extra\": 1}",
		  "serialzy.header.unknown_key", false },
		{ "{\"data_format\": \"onnx\", \"schema_format\": \"serialzy_python_type_reference\"}",
		  "serialzy.header.optional_missing", true },
		{ "{\"data_format\": \"onnx\"}", "serialzy.header.missing_key", false },
		{ "{\"data_format\": \"nonesuch\", \"schema_format\": \"no_schema\", \"schema_content\": \"\", \"meta\": {}}",
		  "serialzy.format.invalid", false },
		{ "{\"data_format\": \"onnx\", \"schema_format\": \"pickled_type\", \"schema_content\": \"gASV\", \"meta\": {}}",
		  "serialzy.schema.pickled", false },
		{ "{\"data_format\": \"primitive_type\", \"schema_format\": \"serialzy_python_type_reference\", "
		  "\"schema_content\": \"{\\\"module\\\": \\\"os\\\", \\\"name\\\": \\\"system\\\"}\", \"meta\": {}}",
		  "serialzy.schema.type", false },
		{ "{\"data_format\": \"onnx\", \"schema_format\": \"serialzy_python_type_reference\", \"schema_content\": "
		  "\"{\\\"module\\\": \\\"builtins\\\", \\\"name\\\": \\\"eval\\\"}\", \"meta\": {}}",
		  "serialzy.schema.type", false },
		{ "{\"data_format\": \"onnx\", \"schema_format\": \"serialzy_python_type_reference\", \"schema_content\": "
		  "\"{\\\"module\\\": \\\"__main__\\\", \\\"name\\\": \\\"Net\\\"}\", \"meta\": {}}",
		  "serialzy.schema.main_module", true },
		{ "{\"data_format\": \"onnx\", \"schema_format\": \"serialzy_python_type_reference\", \"schema_content\": "
		  "\"{\\\"module\\\": \\\"onnx\\\", \\\"name\\\": \\\"ModelProto\\\"}\", \"meta\": {\"user-meta\": \"{nope\"}}",
		  "serialzy.user_meta.json", false },
		{ "{\"data_format\": \"onnx\", \"schema_format\": \"x\", \"schema_content\": \"\xff\", \"meta\": {}}",
		  "serialzy.header.utf8", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t n = frame(buf, cases[i].header, onnx_bytes, sizeof onnx_bytes);
		ms_report *r = validate_buffer(buf, n);
		if (!r || !has_code(r, cases[i].code) || ms_report_valid(r) != cases[i].valid)
			fprintf(stderr, "  case %zu (%s)\n", i, cases[i].code);
		CHECK(r && has_code(r, cases[i].code));
		CHECK_EQ_INT(ms_report_valid(r), cases[i].valid);
		ms_report_free(r);
		/* unpack refuses every header serialzy would refuse */
		ms_artifact *a;
		CHECK_EQ_INT(ms_artifact_open_buffer(&a, buf, n, NULL), MS_OK);
		int rc = ms_artifact_unpack(a, tmp_path("dest_hdr"), NULL, NULL);
		bool serialzy_refuses = strncmp(cases[i].code, "serialzy.header.", 16) == 0 &&
		                        strcmp(cases[i].code, "serialzy.header.optional_missing") != 0;
		if (serialzy_refuses || strcmp(cases[i].code, "serialzy.format.invalid") == 0)
			CHECK(rc == MS_EFORMAT || rc == MS_EUNSUPPORTED);
		ms_artifact_free(a);
		rm_rf(tmp_path("dest_hdr"));
	}
	/* an empty payload (serialzy leaves one for a pool that is not quantized) */
	size_t n = frame(buf, "{\"data_format\": \"catboost_quantized_pool\", \"schema_format\": "
	                      "\"serialzy_python_type_reference\", \"schema_content\": \"{\\\"module\\\": "
	                      "\\\"catboost.core\\\", \\\"name\\\": \\\"Pool\\\"}\", \"meta\": {\"catboost\": \"1.2\"}}",
	                 "", 0);
	ms_report *r = validate_buffer(buf, n);
	CHECK(r && has_code(r, "serialzy.payload.empty") && !ms_report_valid(r));
	ms_report_free(r);
	ms_artifact *a;
	CHECK_EQ_INT(ms_artifact_open_buffer(&a, buf, n, NULL), MS_OK);
	CHECK_EQ_INT(ms_artifact_unpack(a, tmp_path("dest_empty"), NULL, NULL), MS_EFORMAT);
	/* inspect reports the frame's offsets */
	char *json;
	CHECK_EQ_INT(ms_artifact_inspect(a, NULL, &json, NULL), MS_OK);
	CHECK(strstr(json, "\"payload_size\":0"));
	CHECK(strstr(json, "\"schema_content\":{\"module\":\"catboost.core\",\"name\":\"Pool\"}"));
	ms_free(json);
	ms_artifact_free(a);
}

static const msi_test_case cases[] = {
	{ "golden_model_header", golden_model_header },
	{ "model_json_is_json_dumps", model_json_is_json_dumps },
	{ "model_from_json_is_strict", model_from_json_is_strict },
	{ "model_validation", model_validation },
	{ "pack_unpack_round_trip_and_reproducible", pack_unpack_round_trip_and_reproducible },
	{ "pack_refuses_existing_output_and_bad_options", pack_refuses_existing_output_and_bad_options },
	{ "pack_cancelled_leaves_nothing", pack_cancelled_leaves_nothing },
	{ "incremental_stream_and_pipe", incremental_stream_and_pipe },
	{ "unpack_refuses_escaping_tar", unpack_refuses_escaping_tar },
	{ "unpack_checks_the_model_resource", unpack_checks_the_model_resource },
	{ "header_checks", header_checks },
};

int main(int argc, char **argv)
{
	int rc = msi_test_run(cases, sizeof cases / sizeof *cases, argc, argv);
	if (tmp_root[0])
		rm_rf(tmp_root);
	return rc;
}
