/* Unit tests: the serialzy frame. The golden stream is the one
 * ../shared/spec/SERIALZY.md records from running serialzy 1.5.1. */
#include "harness.h"

#include "core/internal.h"
#include "core/json.h"

/* serialzy.serialize(42, user_meta={"name": "m", "n": 1}) */
static const char golden_header[] =
	"{\"data_format\": \"primitive_type\", \"schema_format\": \"serialzy_python_type_reference\", "
	"\"schema_content\": \"{\\\"module\\\": \\\"builtins\\\", \\\"name\\\": \\\"int\\\"}\", "
	"\"meta\": {\"serialzy\": \"1.5.1\", \"user-meta\": \"{\\\"name\\\": \\\"m\\\", \\\"n\\\": 1}\"}}";

static size_t frame(unsigned char *out, const char *header, size_t header_len, uint64_t declared,
                    const char *payload, size_t payload_len)
{
	memcpy(out, "serialzy", 8);
	for (int i = 0; i < 8; i++)
		out[8 + i] = (unsigned char)(declared >> (8 * i));
	memcpy(out + 16, header, header_len);
	memcpy(out + 16 + header_len, payload, payload_len);
	return 16 + header_len + payload_len;
}

static ms_report *validate_bytes(const void *data, size_t len, ms_artifact **out)
{
	ms_artifact *a = NULL;
	if (ms_artifact_open_buffer(&a, data, len, NULL) != MS_OK)
		return NULL;
	ms_report *r = NULL;
	if (ms_artifact_validate(a, NULL, &r) != MS_OK) {
		ms_artifact_free(a);
		return NULL;
	}
	*out = a;
	return r;
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

static void golden_stream_header(void)
{
	unsigned char buf[512];
	size_t hl = strlen(golden_header);
	CHECK_EQ_INT(hl, 226); /* the length SERIALZY.md gives: E2 00 .. */
	size_t n = frame(buf, golden_header, hl, hl, "42", 2);
	ms_artifact *a;
	CHECK_EQ_INT(ms_artifact_open_buffer(&a, buf, n, NULL), MS_OK);
	CHECK_EQ_STR(ms_artifact_container(a), "serialzy");
	CHECK(ms_artifact_format(a) == NULL); /* primitive_type is no model */
	char *json;
	CHECK_EQ_INT(ms_artifact_inspect(a, NULL, &json, NULL), MS_OK);
	msi_jval *v;
	CHECK_EQ_INT(msi_json_parse(json, strlen(json), NULL, &v), MS_OK);
	const msi_jval *s = msi_jval_get(v, "serialzy");
	CHECK(s && s->kind == MSI_JOBJECT);
	CHECK_EQ_STR(msi_jval_get(s, "data_format")->text, "primitive_type");
	const msi_jval *um = msi_jval_get(msi_jval_get(s, "meta"), "user-meta");
	CHECK(um && um->kind == MSI_JOBJECT); /* parsed, not left as a string */
	CHECK_EQ_STR(msi_jval_get(um, "name")->text, "m");
	CHECK(msi_jval_get(um, "n")->number == 1.0);
	CHECK(msi_jval_get(v, "size")->number == (double)n);
	msi_jval_free(v);
	ms_free(json);
	ms_report *r;
	CHECK_EQ_INT(ms_artifact_validate(a, NULL, &r), MS_OK);
	CHECK(has_code(r, "serialzy.format.unknown"));
	ms_report_free(r);
	ms_artifact_free(a);
}

static void header_runs_past_end(void)
{
	unsigned char buf[64];
	size_t n = frame(buf, "{\"data_format\": ", 16, 1000000, "", 0);
	ms_artifact *a;
	ms_report *r = validate_bytes(buf, n, &a);
	CHECK(r);
	CHECK(has_code(r, "serialzy.header.truncated"));
	CHECK(!ms_report_valid(r));
	ms_report_free(r);
	ms_artifact_free(a);
	/* declared length near 2^64 must not wrap */
	n = frame(buf, "{}", 2, UINT64_MAX - 3, "", 0);
	r = validate_bytes(buf, n, &a);
	CHECK(r && has_code(r, "serialzy.header.truncated"));
	ms_report_free(r);
	ms_artifact_free(a);
	/* stream cut inside the length field */
	r = validate_bytes("serialzy\x10\x00", 10, &a);
	CHECK(r && has_code(r, "serialzy.header.truncated"));
	ms_report_free(r);
	ms_artifact_free(a);
}

static void header_too_large_for_limit(void)
{
	unsigned char buf[512];
	size_t hl = strlen(golden_header);
	size_t n = frame(buf, golden_header, hl, hl, "42", 2);
	ms_open_options o = MS_OPEN_OPTIONS_INIT;
	o.max_header_size = 100;
	ms_artifact *a;
	CHECK_EQ_INT(ms_artifact_open_buffer(&a, buf, n, &o), MS_OK);
	ms_report *r;
	CHECK_EQ_INT(ms_artifact_validate(a, NULL, &r), MS_OK);
	CHECK(has_code(r, "serialzy.header.too_large"));
	ms_report_free(r);
	ms_artifact_free(a);
}

static void header_not_json_or_wrong_keys(void)
{
	struct {
		const char *header;
		const char *code;
	} cases[] = {
		{ "{\"data_format\": \"onnx\"", "serialzy.header.json" },
		{ "[1, 2]", "serialzy.header.not_object" },
		{ "{\"schema_format\": \"x\"}", "serialzy.header.missing_key" },
		{ "{\"data_format\": 5}", "serialzy.header.type" },
		{ "{\"data_format\": \"onnx\", \"extra\": 1}", "serialzy.header.unknown_key" },
		{ "{\"meta\": {}, \"data_format\": \"onnx\"}", "serialzy.header.key_order" },
		{ "{\"data_format\": \"onnx\", \"meta\": {\"user-meta\": \"not json\"}}", "serialzy.user_meta.invalid" },
		{ "{\"data_format\": \"onnx\", \"meta\": {\"onnx\": 1}}", "serialzy.header.type" },
		{ "{\"data_format\": \"onnx\", \"schema_format\": \"serialzy_python_type_reference\", "
		  "\"schema_content\": \"nope\"}",
		  "serialzy.schema.invalid" },
		{ "{\"data_format\": \"caf\xc3\xa9\"}", "serialzy.header.non_ascii" },
		{ "{\"data_format\": \"xgb\"}", "serialzy.payload.empty" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned char buf[512];
		size_t hl = strlen(cases[i].header);
		const char *payload = strcmp(cases[i].code, "serialzy.payload.empty") == 0 ? "" : "x";
		size_t n = frame(buf, cases[i].header, hl, hl, payload, strlen(payload));
		ms_artifact *a;
		ms_report *r = validate_bytes(buf, n, &a);
		CHECK(r);
		if (!has_code(r, cases[i].code))
			fprintf(stderr, "  case %zu: expected %s\n", i, cases[i].code);
		CHECK(has_code(r, cases[i].code));
		ms_report_free(r);
		ms_artifact_free(a);
	}
}

static void empty_and_random_inputs(void)
{
	ms_artifact *a;
	ms_report *r = validate_bytes("", 0, &a);
	CHECK(r && has_code(r, "artifact.empty") && !ms_report_valid(r));
	CHECK_EQ_STR(ms_artifact_container(a), "file");
	ms_report_free(r);
	ms_artifact_free(a);
	unsigned char noise[4096];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof noise; i++) {
		x = x * 1103515245u + 12345u;
		noise[i] = (unsigned char)(x >> 16);
	}
	r = validate_bytes(noise, sizeof noise, &a);
	CHECK(r && has_code(r, "artifact.format.unknown"));
	ms_report_free(r);
	ms_artifact_free(a);
}

static const msi_test_case cases[] = {
	{ "golden_stream_header", golden_stream_header },
	{ "header_runs_past_end", header_runs_past_end },
	{ "header_too_large_for_limit", header_too_large_for_limit },
	{ "header_not_json_or_wrong_keys", header_not_json_or_wrong_keys },
	{ "empty_and_random_inputs", empty_and_random_inputs },
};

MSI_TEST_MAIN(cases)
