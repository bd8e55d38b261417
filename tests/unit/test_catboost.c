/*
 * Unit tests: CatBoost models (cbm) and quantized pools. Every input is made
 * here by the FlatBuffers test writer (cbm_writer.c): valid models of each
 * shape, then hostile ones made by patching recorded positions (lying
 * vtables, looping and outside offsets, overflowing counts), every
 * truncation, and bit flips. The generic verifier (flatbuf.c) gets its own
 * cases for the depth, table and work caps.
 */
#include "harness.h"

#include <stdint.h>

#include "cbm_writer.h"
#include "core/report.h"
#include "formats/catboost/flatbuf.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static ms_report *validate_bytes(const void *p, size_t n, const char *force)
{
	ms_open_options o = MS_OPEN_OPTIONS_INIT;
	o.format = force;
	ms_artifact *a;
	if (ms_artifact_open_buffer(&a, p, n, &o) != MS_OK)
		return NULL;
	ms_report *r = NULL;
	if (ms_artifact_validate(a, NULL, &r) != MS_OK)
		r = NULL;
	ms_artifact_free(a);
	return r;
}

/* Inspect JSON's "model" object (parsed) and the call's return code. */
static msi_jval *inspect_bytes(const void *p, size_t n, const char *force, int *rc_out)
{
	ms_open_options o = MS_OPEN_OPTIONS_INIT;
	o.format = force;
	ms_artifact *a;
	*rc_out = MS_EINVAL;
	if (ms_artifact_open_buffer(&a, p, n, &o) != MS_OK)
		return NULL;
	char *json = NULL;
	size_t len = 0;
	*rc_out = ms_artifact_inspect(a, NULL, &json, &len);
	ms_artifact_free(a);
	if (!json)
		return NULL;
	msi_json_limits jl = { 64, 1000000 };
	msi_jval *v = NULL;
	if (msi_json_parse(json, len, &jl, &v) != MS_OK)
		v = NULL;
	ms_free(json);
	return v;
}

static size_t errors(const ms_report *r) { return msi_report_count_at_least(r, MS_SEVERITY_ERROR); }

static void dump(const ms_report *r)
{
	for (size_t i = 0; r && i < r->count; i++)
		fprintf(stderr, "    finding %s at '%s': %s\n", r->items[i].code, r->items[i].where, r->items[i].message);
}

/* Validates and expects `code` (NULL: no error at all). */
static bool expect(const cbw_buf *b, const char *code)
{
	ms_report *r = validate_bytes(b->p, b->len, NULL);
	if (!r)
		return false;
	bool ok = code ? has_code(r, code) : errors(r) == 0;
	if (!ok) {
		fprintf(stderr, "  expected %s\n", code ? code : "no errors");
		dump(r);
	}
	ms_report_free(r);
	return ok;
}

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* File offset of the vector referenced by field `slot` of table `tag`. */
static size_t vector_at(const cbw_model_out *m, int tag, int slot)
{
	uint32_t s = m->marks.slot[tag][slot];
	return m->core_off + s + rd32(m->file.p + m->core_off + s);
}

static const msi_jval *model_of(const msi_jval *root) { return root ? msi_jval_get(root, "model") : NULL; }

/* ---- valid models ----------------------------------------------------- */

static void test_symmetric_valid(void)
{
	cbw_spec s;
	cbw_spec_default(&s);
	cbw_model_out m;
	cbw_model(&s, &m);
	CHECK(expect(&m.file, NULL));
	ms_report *r = validate_bytes(m.file.p, m.file.len, NULL);
	CHECK(r);
	CHECK_EQ_INT(r->count, 0);
	ms_report_free(r);
	int rc;
	msi_jval *root = inspect_bytes(m.file.p, m.file.len, NULL, &rc);
	CHECK_EQ_INT(rc, MS_OK);
	const msi_jval *mo = model_of(root);
	CHECK(mo);
	CHECK_EQ_STR(jstr(mo, "format_version"), "FlabuffersModel_v1");
	CHECK_EQ_INT(jnum(mo, "num_trees", 0), 4);
	const msi_jval *d = msi_jval_get(mo, "tree_depth");
	CHECK(d && d->kind == MSI_JOBJECT);
	CHECK_EQ_INT(jnum(d, "min", 99), 3);
	CHECK_EQ_INT(jnum(d, "max", 99), 3);
	CHECK_EQ_INT(jnum(mo, "float_features", 99), 3);
	CHECK_EQ_INT(jnum(mo, "cat_features", 99), 0);
	CHECK_EQ_INT(jnum(mo, "text_features", 99), 0);
	CHECK_EQ_INT(jnum(mo, "embedding_features", 99), 0);
	CHECK_EQ_INT(jnum(mo, "leaf_value_count", 0), 32);
	CHECK_EQ_INT(jnum(mo, "dimension", 0), 1);
	CHECK_EQ_STR(jstr(mo, "loss_function"), "Logloss");
	CHECK_EQ_STR(jstr(mo, "catboost_version"), "1.2.7");
	CHECK_EQ_STR(jstr(mo, "model_guid"), "0a1b2c3d-4e5f6a7b-8c9d0e1f-2a3b4c5d");
	CHECK_EQ_STR(jstr(mo, "train_finish_time"), "2024-01-02T03:04:05Z");
	CHECK(!jbool(mo, "has_ctr_data"));
	const msi_jval *cn = msi_jval_get(mo, "class_names");
	CHECK(cn && cn->kind == MSI_JARRAY && cn->count == 2); /* Logloss without stored labels: 0, 1 */
	const msi_jval *params = msi_jval_get(mo, "params");
	CHECK(params && params->kind == MSI_JOBJECT && msi_jval_get(params, "loss_function"));
	const msi_jval *info = msi_jval_get(mo, "info");
	CHECK(info && info->kind == MSI_JOBJECT);
	CHECK_EQ_STR(jstr(info, "user_key"), "user value");
	CHECK(!msi_jval_get(info, "params") && !msi_jval_get(info, "model_guid"));
	CHECK(jstr(info, "catboost_version_info"));
	msi_jval_free(root);
	cbw_free(&m.file);
}

static void test_non_symmetric_valid(void)
{
	cbw_spec s;
	cbw_spec_default(&s);
	s.non_symmetric = true;
	s.dim = 3;
	s.depth = 4;
	s.leaf_weights = true;
	s.params = "{\"loss_function\":{\"type\":\"MultiClass\"}}";
	cbw_model_out m;
	cbw_model(&s, &m);
	CHECK(expect(&m.file, NULL));
	int rc;
	msi_jval *root = inspect_bytes(m.file.p, m.file.len, NULL, &rc);
	CHECK_EQ_INT(rc, MS_OK);
	const msi_jval *mo = model_of(root);
	CHECK(mo);
	CHECK(!jbool(mo, "symmetric"));
	const msi_jval *d = msi_jval_get(mo, "tree_depth");
	CHECK(d && d->kind == MSI_JOBJECT);
	CHECK_EQ_INT(jnum(d, "min", 99), 4);
	CHECK_EQ_INT(jnum(d, "max", 99), 4);
	CHECK_EQ_INT(jnum(mo, "leaf_value_count", 0), 4 * 16 * 3);
	CHECK_EQ_INT(jnum(mo, "dimension", 0), 3);
	const msi_jval *cn = msi_jval_get(mo, "class_names");
	CHECK(cn && cn->kind == MSI_JARRAY && cn->count == 3);
	msi_jval_free(root);
	cbw_free(&m.file);
}

static void test_ctr_model(void)
{
	cbw_spec s;
	cbw_spec_default(&s);
	s.n_cat = 2;
	s.n_ctr = 3;
	s.ctr_part = true;
	cbw_model_out m;
	cbw_model(&s, &m);
	CHECK(expect(&m.file, NULL));
	int rc;
	msi_jval *root = inspect_bytes(m.file.p, m.file.len, NULL, &rc);
	CHECK_EQ_INT(rc, MS_OK);
	const msi_jval *mo = model_of(root);
	CHECK(jbool(mo, "has_ctr_data"));
	CHECK_EQ_INT(jnum(mo, "ctr_table_count", 0), 3);
	CHECK_EQ_INT(jnum(mo, "cat_features", 0), 2);
	msi_jval_free(root);

	/* from a file: the core goes through msi_source_read */
	const char *path = msi_write_temp("ctr.cbm", m.file.p, m.file.len);
	ms_artifact *a;
	CHECK_EQ_INT(ms_artifact_open_path(&a, path, NULL), MS_OK);
	ms_report *r;
	CHECK_EQ_INT(ms_artifact_validate(a, NULL, &r), MS_OK);
	CHECK_EQ_INT(errors(r), 0);
	ms_report_free(r);
	char *json;
	CHECK_EQ_INT(ms_artifact_inspect(a, NULL, &json, NULL), MS_OK);
	CHECK(strstr(json, "\"ctr_table_count\":3"));
	ms_free(json);
	ms_artifact_free(a);
	cbw_free(&m.file);
}

static void test_ctr_parts(void)
{
	cbw_spec s;
	cbw_spec_default(&s);
	s.n_cat = 1;
	s.n_ctr = 2;
	cbw_model_out m;
	/* CTR features but no CTR part: a warning (final CTR computation skipped) */
	cbw_model(&s, &m);
	CHECK(expect(&m.file, "cbm.ctr.missing"));
	CHECK(expect(&m.file, NULL));
	cbw_free(&m.file);
	/* an empty CTR part with CTR features: tables missing */
	s.ctr_part = true;
	s.ctr_part_empty = true;
	cbw_model(&s, &m);
	CHECK(expect(&m.file, "cbm.ctr.table_missing"));
	cbw_free(&m.file);
	/* an empty CTR part without CTR features is legal (old models) */
	s.n_ctr = 0;
	cbw_model(&s, &m);
	CHECK(expect(&m.file, NULL));
	ms_report *r = validate_bytes(m.file.p, m.file.len, NULL);
	CHECK(r && r->count == 0);
	ms_report_free(r);
	cbw_free(&m.file);
}

static void test_info_and_classes(void)
{
	cbw_spec s;
	cbw_spec_default(&s);
	s.unsorted_info = true;
	s.dim = 4;
	s.params = "{\"loss_function\":{\"type\":\"MultiClass\"},\"data_processing_options\":{\"class_names\":[]}}";
	s.class_params = "{\"classes_count\":4,\"class_names\":[],\"class_to_label\":[0,1,2,3]}";
	cbw_model_out m;
	cbw_model(&s, &m);
	ms_report *r = validate_bytes(m.file.p, m.file.len, NULL);
	CHECK(r);
	CHECK_EQ_INT(r->count, 0); /* unsorted keys are no finding */
	ms_report_free(r);
	int rc;
	msi_jval *root = inspect_bytes(m.file.p, m.file.len, NULL, &rc);
	const msi_jval *cn = msi_jval_get(model_of(root), "class_names");
	CHECK(cn && cn->kind == MSI_JARRAY && cn->count == 4);
	CHECK(cn->items[3]->kind == MSI_JNUMBER && cn->items[3]->number == 3);
	const msi_jval *cp = msi_jval_get(msi_jval_get(model_of(root), "info"), "class_params");
	CHECK(cp && cp->kind == MSI_JOBJECT); /* JSON-valued keys come parsed */
	msi_jval_free(root);
	cbw_free(&m.file);

	/* stored names win */
	s.class_params = "{\"classes_count\":0,\"class_names\":[\"France\",\"UK\",\"USA\"]}";
	cbw_model(&s, &m);
	root = inspect_bytes(m.file.p, m.file.len, NULL, &rc);
	cn = msi_jval_get(model_of(root), "class_names");
	CHECK(cn && cn->count == 3 && cn->items[1]->kind == MSI_JSTRING);
	CHECK_EQ_STR(cn->items[1]->text, "UK");
	msi_jval_free(root);
	cbw_free(&m.file);

	/* a JSON key that is no JSON */
	s.class_params = "{not json";
	cbw_model(&s, &m);
	CHECK(expect(&m.file, "cbm.info.json"));
	cbw_free(&m.file);
}

static void test_parts_and_trailing(void)
{
	cbw_spec s;
	cbw_spec_default(&s);
	s.extra_part = "text_process_v2";
	cbw_model_out m;
	cbw_model(&s, &m);
	CHECK(expect(&m.file, "cbm.part.opaque"));
	CHECK(expect(&m.file, NULL));
	cbw_free(&m.file);
	s.extra_part = "mystery_part";
	cbw_model(&s, &m);
	CHECK(expect(&m.file, "cbm.part.unknown"));
	cbw_free(&m.file);
	s.extra_part = NULL;
	s.trailing = 5;
	cbw_model(&s, &m);
	CHECK(expect(&m.file, "cbm.trailing_data"));
	CHECK(expect(&m.file, NULL)); /* a warning */
	cbw_free(&m.file);
}

/* ---- semantic violations ---------------------------------------------- */

static void test_tree_violations(void)
{
	cbw_spec s;
	cbw_spec_default(&s);
	cbw_model_out m;
	cbw_model(&s, &m);
	size_t splits = vector_at(&m, CBW_TAG_TREES, 1), sizes = vector_at(&m, CBW_TAG_TREES, 2);
	cbw_buf b = { 0 };

	cbw_put(&b, m.file.p, m.file.len);
	wr32(b.p + splits + 4 + 4 * 5, 12345); /* tree 1, split 2 */
	CHECK(expect(&b, "cbm.split.out_of_range"));
	ms_report *r = validate_bytes(b.p, b.len, NULL);
	CHECK(r && r->count >= 1);
	CHECK_EQ_STR(r->items[0].where, "tree 1");
	ms_report_free(r);

	b.len = 0;
	cbw_put(&b, m.file.p, m.file.len);
	wr32(b.p + sizes + 4 + 4 * 3, 2); /* the last tree: depth 2, so TreeSplits is longer than the trees */
	CHECK(expect(&b, "cbm.trees.offsets"));

	b.len = 0;
	cbw_put(&b, m.file.p, m.file.len);
	wr32(b.p + m.core_off + m.marks.slot[CBW_TAG_TREES][0], 2); /* ApproxDimension 2 */
	CHECK(expect(&b, "cbm.leaf_values.count")); /* a MultiBias of 1 entry is still fine */

	b.len = 0;
	cbw_put(&b, m.file.p, m.file.len);
	wr32(b.p + m.core_off + m.marks.slot[CBW_TAG_TREES][0], 0);
	CHECK(expect(&b, "cbm.trees.dimension"));

	/* float borders out of order */
	b.len = 0;
	cbw_put(&b, m.file.p, m.file.len);
	size_t borders = vector_at(&m, CBW_TAG_FLOAT0, 3);
	float big = 100.0f;
	memcpy(b.p + borders + 4, &big, 4);
	CHECK(expect(&b, "cbm.features.borders"));

	/* duplicated FlatIndex, bad NanValueTreatment */
	b.len = 0;
	cbw_put(&b, m.file.p, m.file.len);
	wr32(b.p + m.core_off + m.marks.slot[CBW_TAG_FLOAT0][2], 2);
	b.p[m.core_off + m.marks.slot[CBW_TAG_FLOAT0][5]] = 7;
	CHECK(expect(&b, "cbm.features.flat_index"));
	CHECK(expect(&b, "cbm.features.enum"));

	/* FormatVersion */
	b.len = 0;
	cbw_put(&b, m.file.p, m.file.len);
	size_t fv = vector_at(&m, CBW_TAG_CORE, 0);
	b.p[fv + 4] = 'X';
	CHECK(expect(&b, "cbm.format_version"));
	cbw_free(&b);
	cbw_free(&m.file);

	/* depth above 16, and too few leaf values for it */
	s.depth = 17;
	s.n_trees = 1;
	s.n_float = 1;
	cbw_model(&s, &m);
	CHECK(expect(&m.file, "cbm.trees.depth"));
	cbw_free(&m.file);
}

static void test_non_symmetric_violations(void)
{
	cbw_spec s;
	cbw_spec_default(&s);
	s.non_symmetric = true;
	s.depth = 2;
	cbw_model_out m;
	cbw_model(&s, &m);
	CHECK(expect(&m.file, NULL));
	size_t steps = vector_at(&m, CBW_TAG_TREES, 10), leaves = vector_at(&m, CBW_TAG_TREES, 11);
	cbw_buf b = { 0 };
	cbw_put(&b, m.file.p, m.file.len);
	wr16(b.p + steps + 4 + 4 * 7 + 2, 60); /* tree 1's root: right child far outside */
	CHECK(expect(&b, "cbm.nonsym.node_range"));
	ms_report *r = validate_bytes(b.p, b.len, NULL);
	CHECK(r && r->count >= 1);
	CHECK_EQ_STR(r->items[0].where, "tree 1");
	ms_report_free(r);

	b.len = 0;
	cbw_put(&b, m.file.p, m.file.len);
	wr32(b.p + leaves + 4 + 4 * 2, 0xFFFFFFFFu); /* tree 0's first leaf (node 2) loses its id */
	CHECK(expect(&b, "cbm.nonsym.leaf_id"));

	b.len = 0;
	cbw_put(&b, m.file.p, m.file.len);
	wr32(b.p + leaves + 4 + 4 * 2, 9999);
	CHECK(expect(&b, "cbm.nonsym.leaf_id"));
	cbw_free(&b);
	cbw_free(&m.file);
}

/* ---- hostile FlatBuffers ---------------------------------------------- */

static void test_hostile_flatbuffers(void)
{
	cbw_spec s;
	cbw_spec_default(&s);
	s.n_cat = 1;
	s.n_ctr = 1;
	s.ctr_part = true;
	cbw_model_out m;
	cbw_model(&s, &m);
	uint8_t *core = m.file.p + m.core_off;
	cbw_buf b = { 0 };
	size_t co = m.core_off;
	uint32_t trees_vt = m.marks.vtable[CBW_TAG_TREES], trees = m.marks.table[CBW_TAG_TREES];
	MSI_UNUSED(core);
	struct {
		const char *what;
		size_t at;
		int width;
		uint32_t value;
		const char *code;
	} cases[] = {
		{ "vtable size huge", co + trees_vt, 2, 0xFFFE, "cbm.flatbuffers.invalid" },
		{ "vtable size odd", co + trees_vt, 2, 7, "cbm.flatbuffers.invalid" },
		{ "table size beyond the buffer", co + trees_vt + 2, 2, 0xFFF0, "cbm.flatbuffers.invalid" },
		{ "field offset beyond the table", co + trees_vt + 4 + 2 * 8, 2, 0x7FF0, "cbm.flatbuffers.invalid" },
		{ "field offset inside the soffset", co + trees_vt + 4 + 2 * 1, 2, 2, "cbm.flatbuffers.invalid" },
		{ "soffset: vtable outside", co + trees, 4, 0x7FFFFFF0u, "cbm.flatbuffers.invalid" },
		{ "soffset 0: the table is its own vtable", co + trees, 4, 0, "cbm.flatbuffers.invalid" },
		{ "root offset outside", co, 4, 0x00FFFFFFu, "cbm.flatbuffers.invalid" },
		{ "root offset 0 (loops to itself)", co, 4, 0, "cbm.flatbuffers.invalid" },
		{ "ModelTrees offset 0 (self loop)", co + m.marks.slot[CBW_TAG_CORE][1], 4, 0, "cbm.flatbuffers.invalid" },
		{ "ModelTrees offset backwards (-4)", co + m.marks.slot[CBW_TAG_CORE][1], 4, 0xFFFFFFFCu,
		  "cbm.flatbuffers.invalid" },
		{ "ModelTrees offset misaligned", co + m.marks.slot[CBW_TAG_CORE][1], 4, 6, "cbm.flatbuffers.invalid" },
		{ "LeafValues count overflows", vector_at(&m, CBW_TAG_TREES, 8), 4, 0xFFFFFFFFu, "cbm.flatbuffers.invalid" },
		{ "TreeSplits count 2^30", vector_at(&m, CBW_TAG_TREES, 1), 4, 0x40000000u, "cbm.flatbuffers.invalid" },
		{ "FormatVersion without NUL", vector_at(&m, CBW_TAG_CORE, 0) + 4 + 16, 4, 0x58585858u, "cbm.flatbuffers.invalid" },
		{ "InfoMap key missing", co + m.marks.vtable[CBW_TAG_INFO0] + 4, 2, 0, "cbm.flatbuffers.invalid" },
		{ "core size 0", 4, 4, 0, "cbm.core.size" },
		{ "core size beyond the file", 4, 4, 0x7FFFFFF0u, "cbm.core.size" },
		{ "core size escape, then a huge u64", 4, 4, 0xFFFFFFFFu, "cbm.core.size" },
		{ "CTR table count huge", co + m.core_len, 4, 0x10000000u, "cbm.part.truncated" },
		{ "CTR table size huge", co + m.core_len + 4, 4, 0x10000000u, "cbm.part.truncated" },
		{ "CTR table root outside", co + m.core_len + 8, 4, 0xFFFFu, "cbm.ctr.invalid" },
	};
	for (size_t i = 0; i < MSI_ARRAY_LEN(cases); i++) {
		b.len = 0;
		cbw_put(&b, m.file.p, m.file.len);
		if (cases[i].width == 2)
			wr16(b.p + cases[i].at, (uint16_t)cases[i].value);
		else
			wr32(b.p + cases[i].at, cases[i].value);
		if (!expect(&b, cases[i].code)) {
			fprintf(stderr, "  case: %s\n", cases[i].what);
			CHECK(false);
		}
		int rc;
		msi_jval *root = inspect_bytes(b.p, b.len, NULL, &rc);
		CHECK(root); /* JSON even when the model cannot be read */
		bool structural = strcmp(cases[i].code, "cbm.ctr.invalid") != 0;
		if (structural && rc != MS_EFORMAT && rc != MS_ELIMIT) {
			fprintf(stderr, "  case: %s: inspect returned %d\n", cases[i].what, rc);
			CHECK(false);
		}
		if (structural)
			CHECK(jstr(root, "error"));
		msi_jval_free(root);
	}
	cbw_free(&b);
	cbw_free(&m.file);
}

static void test_truncations(void)
{
	cbw_spec s;
	cbw_spec_default(&s);
	s.n_cat = 2;
	s.n_ctr = 2;
	s.ctr_part = true;
	cbw_model_out m;
	cbw_model(&s, &m);
	for (size_t n = 0; n < m.file.len; n++) {
		ms_report *r = validate_bytes(m.file.p, n, "cbm");
		CHECK(r);
		if (errors(r) == 0) {
			fprintf(stderr, "  a cut at %zu of %zu bytes validates\n", n, m.file.len);
			dump(r);
			ms_report_free(r);
			CHECK(false);
		}
		ms_report_free(r);
		int rc;
		msi_jval *root = inspect_bytes(m.file.p, n, "cbm", &rc);
		CHECK(root);
		if (rc != MS_EFORMAT) {
			fprintf(stderr, "  a cut at %zu: inspect returned %d\n", n, rc);
			CHECK(false);
		}
		msi_jval_free(root);
	}
	cbw_free(&m.file);
}

static void test_bit_flips(void)
{
	cbw_spec s;
	cbw_spec_default(&s);
	s.n_cat = 1;
	s.n_ctr = 1;
	s.ctr_part = true;
	s.non_symmetric = true;
	s.depth = 2;
	s.n_trees = 2;
	cbw_model_out m;
	cbw_model(&s, &m);
	uint8_t *copy = malloc(m.file.len);
	CHECK(copy);
	size_t runs = 0;
	for (size_t i = 0; i < m.file.len; i++)
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(copy, m.file.p, m.file.len);
			copy[i] ^= (uint8_t)(1u << bit);
			ms_report *r = validate_bytes(copy, m.file.len, "cbm");
			CHECK(r); /* a report, whatever the bytes */
			ms_report_free(r);
			int rc;
			msi_jval *root = inspect_bytes(copy, m.file.len, "cbm", &rc);
			CHECK(root);
			msi_jval_free(root);
			runs++;
		}
	free(copy);
	CHECK(runs > 1000);
	cbw_free(&m.file);
}

/* ---- the verifier's caps ---------------------------------------------- */

/* root table {0: [table x n]} where every element is one shared table
 * {0: [ubyte x m]}. */
static void shared_dag(cbw_buf *b, uint32_t n, uint32_t m)
{
	b->len = 0;
	cbw_put_u32(b, 12);                 /* root at 12 */
	cbw_put(b, "\x06\x00\x08\x00\x04\x00", 6); /* vtable at 4: size 6, table 8, field 0 at +4 */
	cbw_put(b, "\x00\x00", 2);
	cbw_put_u32(b, 8);                  /* table at 12: vtable at 4 */
	cbw_put_u32(b, 4);                  /* field at 16 -> vector at 20 */
	cbw_put_u32(b, n);                  /* vector at 20 */
	size_t slots = b->len;
	cbw_put(b, NULL, (size_t)n * 4);
	size_t vt = b->len;                 /* shared table's vtable */
	cbw_put(b, "\x06\x00\x08\x00\x04\x00\x00\x00", 8);
	size_t t = b->len;
	cbw_put_u32(b, (uint32_t)(t - vt));
	cbw_put_u32(b, 4);                  /* -> bytes vector right after */
	cbw_put_u32(b, m);
	cbw_put(b, NULL, m + 1);
	for (uint32_t i = 0; i < n; i++) {
		size_t at = slots + 4 * (size_t)i;
		wr32(b->p + at, (uint32_t)(t - at));
	}
}

static void test_verifier_caps(void)
{
	cbw_buf b = { 0 };
	msi_fb fb;
	msi_fb_table root, child;
	msi_fb_vec v, bytes;
	/* small: every element verifies */
	shared_dag(&b, 4, 16);
	msi_fb_init(&fb, b.p, b.len, 0, 0, 0);
	CHECK_EQ_INT(msi_fb_root(&fb, &root), 1);
	CHECK_EQ_INT(msi_fb_vector(&fb, &root, 0, 4, &v), 1);
	CHECK_EQ_INT(v.count, 4);
	for (uint32_t i = 0; i < v.count; i++) {
		CHECK_EQ_INT(msi_fb_vec_table(&fb, &v, i, &child), 1);
		CHECK_EQ_INT(msi_fb_vector(&fb, &child, 0, 1, &bytes), 1);
		CHECK_EQ_INT(bytes.count, 16);
	}
	CHECK_EQ_INT(msi_fb_vector(&fb, &root, 1, 4, &v), 0); /* absent slot */
	/* amplification: 100000 references to one table holding 100000 bytes */
	shared_dag(&b, 100000, 100000);
	msi_fb_init(&fb, b.p, b.len, 0, 0, 0);
	CHECK_EQ_INT(msi_fb_root(&fb, &root), 1);
	CHECK_EQ_INT(msi_fb_vector(&fb, &root, 0, 4, &v), 1);
	int rc = 1;
	uint32_t i;
	for (i = 0; i < v.count && rc == 1; i++) {
		rc = msi_fb_vec_table(&fb, &v, i, &child);
		if (rc == 1)
			rc = msi_fb_vector(&fb, &child, 0, 1, &bytes);
	}
	CHECK_EQ_INT(rc, -1);
	CHECK_EQ_INT(fb.error, MSI_FB_LIMIT);
	CHECK(i < 1000);
	/* table cap and depth cap */
	shared_dag(&b, 10, 4);
	msi_fb_init(&fb, b.p, b.len, 0, 5, 0);
	CHECK_EQ_INT(msi_fb_root(&fb, &root), 1);
	CHECK_EQ_INT(msi_fb_vector(&fb, &root, 0, 4, &v), 1);
	rc = 1;
	for (i = 0; i < v.count && rc == 1; i++)
		rc = msi_fb_vec_table(&fb, &v, i, &child);
	CHECK_EQ_INT(rc, -1);
	CHECK_EQ_INT(fb.error, MSI_FB_LIMIT);
	msi_fb_init(&fb, b.p, b.len, 1, 0, 0);
	CHECK_EQ_INT(msi_fb_root(&fb, &root), 1);
	CHECK_EQ_INT(msi_fb_vector(&fb, &root, 0, 4, &v), 1);
	CHECK_EQ_INT(msi_fb_vec_table(&fb, &v, 0, &child), -1); /* depth 2 > 1 */
	CHECK_EQ_INT(fb.error, MSI_FB_LIMIT);
	CHECK(strstr(fb.message, "deeper"));
	/* sticky: later calls fail too */
	CHECK_EQ_INT(msi_fb_root(&fb, &root), -1);
	/* a buffer too short for the root offset */
	msi_fb_init(&fb, b.p, 3, 0, 0, 0);
	CHECK_EQ_INT(msi_fb_root(&fb, &root), -1);
	CHECK_EQ_INT(fb.error, MSI_FB_INVALID);
	cbw_free(&b);
}

static void test_limits(void)
{
	cbw_spec s;
	cbw_spec_default(&s);
	cbw_model_out m;
	cbw_model(&s, &m);
	ms_open_options o = MS_OPEN_OPTIONS_INIT;
	o.max_metadata = 64; /* the core is larger */
	ms_artifact *a;
	CHECK_EQ_INT(ms_artifact_open_buffer(&a, m.file.p, m.file.len, &o), MS_OK);
	ms_report *r;
	CHECK_EQ_INT(ms_artifact_validate(a, NULL, &r), MS_OK);
	CHECK(has_code(r, "cbm.core.too_large"));
	ms_report_free(r);
	char *json;
	CHECK_EQ_INT(ms_artifact_inspect(a, NULL, &json, NULL), MS_ELIMIT);
	CHECK(strstr(json, "\"error\""));
	ms_free(json);
	ms_artifact_free(a);
	cbw_free(&m.file);
}

/* ---- quantized pools -------------------------------------------------- */

static void test_pool_valid(void)
{
	cbw_pool_spec s = { 100, 3, 40, false };
	cbw_pool_out p;
	cbw_pool(&s, &p);
	ms_report *r = validate_bytes(p.file.p, p.file.len, NULL);
	CHECK(r);
	if (r->count)
		dump(r);
	CHECK_EQ_INT(r->count, 0);
	ms_report_free(r);
	int rc;
	msi_jval *root = inspect_bytes(p.file.p, p.file.len, NULL, &rc);
	CHECK_EQ_INT(rc, MS_OK);
	const msi_jval *mo = model_of(root);
	CHECK_EQ_INT(jnum(mo, "version", 0), 1);
	CHECK_EQ_INT(jnum(mo, "document_count", 0), 100);
	CHECK_EQ_INT(jnum(mo, "column_count", 0), 4);
	CHECK_EQ_INT(jnum(mo, "feature_count", 0), 4);
	CHECK_EQ_INT(jnum(mo, "chunk_count", 0), 12);
	const msi_jval *types = msi_jval_get(mo, "column_types");
	CHECK(types && types->kind == MSI_JOBJECT);
	CHECK_EQ_STR(jstr(types, "0"), "LABEL");
	CHECK_EQ_STR(jstr(types, "3"), "NUMERIC");
	const msi_jval *cn = msi_jval_get(mo, "class_names");
	CHECK(cn && cn->count == 1);
	msi_jval_free(root);

	const char *path = msi_write_temp("pool.qbin", p.file.p, p.file.len);
	ms_artifact *a;
	CHECK_EQ_INT(ms_artifact_open_path(&a, path, NULL), MS_OK);
	CHECK_EQ_INT(ms_artifact_validate(a, NULL, &r), MS_OK);
	CHECK_EQ_INT(errors(r), 0);
	ms_report_free(r);
	ms_artifact_free(a);
	cbw_free(&p.file);
}

static void test_pool_violations(void)
{
	cbw_pool_spec s = { 100, 2, 40, false };
	cbw_pool_out p;
	cbw_pool(&s, &p);
	cbw_buf b = { 0 };

	cbw_put(&b, p.file.p, p.file.len);
	b.p[b.len - 3] = 'x';
	CHECK(expect(&b, "pool.tail_magic"));

	b.len = 0;
	cbw_put(&b, p.file.p, p.file.len);
	b.p[22] = 2;
	CHECK(expect(&b, "pool.version"));

	b.len = 0;
	cbw_put(&b, p.file.p, p.file.len);
	wr32(b.p + p.first_chunk_entry + 4, 0x7FFFFFF0u); /* column 1 chunk 0 offset */
	CHECK(expect(&b, "pool.chunk.out_of_bounds"));

	b.len = 0;
	cbw_put(&b, p.file.p, p.file.len);
	wr32(b.p + p.first_chunk_entry + 4, (uint32_t)p.chunks); /* onto column 0's first chunk */
	CHECK(expect(&b, "pool.chunk.overlap"));

	b.len = 0;
	cbw_put(&b, p.file.p, p.file.len);
	wr32(b.p + p.first_chunk_entry + 16, 39); /* DocumentsInChunk 40 -> 39: gap and quant count */
	CHECK(expect(&b, "pool.chunk.coverage"));
	CHECK(expect(&b, "pool.chunk.invalid"));

	b.len = 0;
	cbw_put(&b, p.file.p, p.file.len);
	wr32(b.p + b.len - 57 + 8, (uint32_t)p.q + 1); /* metainfo offset after the schema */
	CHECK(expect(&b, "pool.offsets"));

	b.len = 0;
	cbw_put(&b, p.file.p, p.file.len);
	wr32(b.p + p.p, 0x100000); /* metainfo size past the schema */
	CHECK(expect(&b, "pool.section.size"));

	b.len = 0;
	cbw_put(&b, p.file.p, p.file.len);
	b.p[p.p + 4] = 0x0F; /* a group tag: malformed protobuf */
	CHECK(expect(&b, "pool.metainfo.invalid"));
	cbw_free(&p.file);

	s.unsorted_columns = true;
	cbw_pool(&s, &p);
	CHECK(expect(&p.file, "pool.table.invalid"));
	cbw_free(&p.file);
	cbw_free(&b);
}

static void test_pool_truncations_and_flips(void)
{
	cbw_pool_spec s = { 20, 2, 8, false };
	cbw_pool_out p;
	cbw_pool(&s, &p);
	for (size_t n = 0; n < p.file.len; n++) {
		ms_report *r = validate_bytes(p.file.p, n, "catboost_quantized_pool");
		CHECK(r);
		if (errors(r) == 0) {
			fprintf(stderr, "  a cut at %zu of %zu bytes validates\n", n, p.file.len);
			ms_report_free(r);
			CHECK(false);
		}
		ms_report_free(r);
		int rc;
		msi_jval *root = inspect_bytes(p.file.p, n, "catboost_quantized_pool", &rc);
		CHECK(root);
		CHECK(rc == MS_EFORMAT);
		msi_jval_free(root);
	}
	uint8_t *copy = malloc(p.file.len);
	CHECK(copy);
	for (size_t i = 0; i < p.file.len; i++)
		for (int bit = 0; bit < 8; bit += 2) {
			memcpy(copy, p.file.p, p.file.len);
			copy[i] ^= (uint8_t)(1u << bit);
			ms_report *r = validate_bytes(copy, p.file.len, "catboost_quantized_pool");
			CHECK(r);
			ms_report_free(r);
			int rc;
			msi_jval *root = inspect_bytes(copy, p.file.len, "catboost_quantized_pool", &rc);
			CHECK(root);
			msi_jval_free(root);
		}
	free(copy);
	cbw_free(&p.file);
}

static const msi_test_case cases[] = {
	{ "symmetric_valid", test_symmetric_valid },
	{ "non_symmetric_valid", test_non_symmetric_valid },
	{ "ctr_model", test_ctr_model },
	{ "ctr_parts", test_ctr_parts },
	{ "info_and_classes", test_info_and_classes },
	{ "parts_and_trailing", test_parts_and_trailing },
	{ "tree_violations", test_tree_violations },
	{ "non_symmetric_violations", test_non_symmetric_violations },
	{ "hostile_flatbuffers", test_hostile_flatbuffers },
	{ "truncations", test_truncations },
	{ "bit_flips", test_bit_flips },
	{ "verifier_caps", test_verifier_caps },
	{ "limits", test_limits },
	{ "pool_valid", test_pool_valid },
	{ "pool_violations", test_pool_violations },
	{ "pool_truncations_and_flips", test_pool_truncations_and_flips },
};

MSI_TEST_MAIN(cases)
