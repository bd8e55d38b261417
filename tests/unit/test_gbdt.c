/*
 * XGBoost and LightGBM readers and validators, and the JSON/UBJSON pull
 * reader under them. The fixtures come from tests/fixtures/gen_xgboost.py
 * (xgboost 1.7 models with the facts xgboost reports, our LightGBM writer,
 * and mutated negatives with the codes they must raise).
 */
#include <math.h>
#include <stdio.h>

#include "core/pull.h"
#include "harness.h"
#include "testutil.h"

/* ---- pull reader --------------------------------------------------------- */

static msi_source *mem(const void *p, size_t n)
{
	msi_source *s = NULL;
	msi_source_from_memory(p, n, false, &s);
	return s;
}

static void pull_json_tokens(void)
{
	const char *doc = " {\"a\": [1, -2.5e1, NaN, -Infinity, true, null, \"x\\u00e9\"], \"b\": {}} ";
	msi_source *s = mem(doc, strlen(doc));
	msi_pull p;
	CHECK_EQ_INT(msi_pull_open(&p, s, 0, s->size, false, NULL), MS_OK);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_OBJECT);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_KEY);
	CHECK(p.len == 1 && p.str[0] == 'a');
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_ARRAY);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_INT);
	CHECK_EQ_INT(p.ival, 1);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_DOUBLE);
	CHECK(p.dval == -25.0);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_DOUBLE);
	CHECK(isnan(p.dval));
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_DOUBLE);
	CHECK(isinf(p.dval) && p.dval < 0);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_BOOL);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_NULL);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_STRING);
	CHECK(p.len == 3 && memcmp(p.str, "x\xc3\xa9", 3) == 0);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_ARRAY_END);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_KEY);
	msi_pull_tok t = msi_pull_next(&p);
	CHECK_EQ_INT(t, MSI_PULL_OBJECT);
	CHECK_EQ_INT(msi_pull_skip(&p, t), MS_OK);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_OBJECT_END);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_EOF);
	msi_pull_close(&p);
	msi_source_release(s);
}

static int pull_all(const char *doc, size_t n, bool ub, msi_pull *out)
{
	msi_source *s = mem(doc, n);
	msi_pull_limits lim = { 8, 1000, 1000 };
	msi_pull_open(out, s, 0, n, ub, &lim);
	msi_pull_tok t;
	while ((t = msi_pull_next(out)) > MSI_PULL_EOF)
		;
	int rc = out->rc;
	msi_pull_close(out);
	msi_source_release(s);
	return rc;
}

static void pull_json_errors(void)
{
	msi_pull p;
	static const char *const bad[] = { "[1,]", "{\"a\" 1}", "[1 2]", "[01]", "\"a", "[1.]", "{\"a\":1}x",
		                           "[[[[[[[[[[]]]]]]]]]]", "[\"\x01\"]", "[tru]", "-NaN" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = pull_all(bad[i], strlen(bad[i]), false, &p);
		if (rc == MS_OK)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK(rc != MS_OK);
	}
	CHECK_EQ_INT(pull_all("[1, 2", 5, false, &p), MS_EFORMAT);
	CHECK(p.truncated);
	CHECK_EQ_INT(pull_all("[[[[[[[[[[]]]]]]]]]]", 20, false, &p), MS_ELIMIT);
	CHECK_EQ_INT(pull_all("[1e400, 0.1, 5E-1]", 18, false, &p), MS_OK);
}

static void pull_ubjson(void)
{
	/* {"k": [$l#i 3 <1,2,-1>], "s": "ab", "f": d 1.5} */
	static const unsigned char doc[] = { '{', 'i', 1, 'k', '[', '$', 'l', '#', 'i', 3, 0, 0, 0, 1, 0, 0, 0, 2,
		                             0xFF, 0xFF, 0xFF, 0xFF, 'i', 1, 's', 'S', 'i', 2, 'a', 'b', 'i', 1, 'f',
		                             'd', 0x3F, 0xC0, 0, 0, '}' };
	msi_source *s = mem(doc, sizeof doc);
	msi_pull p;
	CHECK_EQ_INT(msi_pull_open(&p, s, 0, s->size, true, NULL), MS_OK);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_OBJECT);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_KEY);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_ARRAY);
	msi_i64vec v = { 0 };
	size_t bad;
	CHECK_EQ_INT(msi_pull_ints(&p, &v, &bad), MS_OK);
	CHECK(v.len == 3 && v.v[0] == 1 && v.v[1] == 2 && v.v[2] == -1 && bad == 0);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_KEY);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_STRING);
	CHECK(p.len == 2 && memcmp(p.str, "ab", 2) == 0);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_KEY);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_DOUBLE);
	CHECK(p.dval == 1.5);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_OBJECT_END);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_EOF);
	msi_pull_close(&p);
	msi_i64vec_free(&v);
	msi_source_release(s);
	/* every cut is an error, never a crash */
	for (size_t n = 0; n < sizeof doc; n++)
		CHECK(pull_all((const char *)doc, n, true, &p) != MS_OK);
	/* a count larger than the data */
	static const unsigned char huge[] = { '[', '$', 'd', '#', 'L', 0x10, 0, 0, 0, 0, 0, 0, 0 };
	CHECK_EQ_INT(pull_all((const char *)huge, sizeof huge, true, &p), MS_EFORMAT);
}

/* JSON through a file source: windows, a string longer than the window,
 * numbers cut by the window end. */
static void pull_json_file_windows(void)
{
	msi_buf b = MSI_BUF_INIT;
	msi_buf_puts(&b, "{\"long\":\"");
	for (int i = 0; i < 600000; i++)
		msi_buf_putc(&b, (char)('a' + i % 26));
	msi_buf_puts(&b, "\",\"n\":[");
	for (int i = 0; i < 200000; i++)
		msi_buf_printf(&b, "%s%d.%04dE-1", i ? "," : "", i, i % 10000);
	msi_buf_puts(&b, "]}");
	const char *path = msi_write_temp("pull_windows.json", b.data, b.len);
	msi_source *s = NULL;
	CHECK_EQ_INT(msi_source_open_file(path, &s), MS_OK);
	msi_pull p;
	CHECK_EQ_INT(msi_pull_open(&p, s, 0, s->size, false, NULL), MS_OK);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_OBJECT);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_KEY);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_STRING);
	CHECK_EQ_INT(p.len, 600000);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_KEY);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_ARRAY);
	size_t count, nf, bad;
	double first;
	CHECK_EQ_INT(msi_pull_floats(&p, &count, &nf, &bad, NULL, &first), MS_OK);
	CHECK_EQ_INT(count, 200000);
	CHECK(nf == 0 && bad == 0 && first == 0.0);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_OBJECT_END);
	CHECK_EQ_INT(msi_pull_next(&p), MSI_PULL_EOF);
	msi_pull_close(&p);
	msi_source_release(s);
	msi_buf_free(&b);
}

/* ---- fixtures ------------------------------------------------------------ */

static char *inspect_file(const char *path, int *rc)
{
	ms_artifact *a;
	if (ms_artifact_open_path(&a, path, NULL) != MS_OK)
		return NULL;
	char *json = NULL;
	*rc = ms_artifact_inspect(a, NULL, &json, NULL);
	ms_artifact_free(a);
	return json;
}

static ms_report *validate_file(const char *path)
{
	ms_artifact *a;
	if (ms_artifact_open_path(&a, path, NULL) != MS_OK)
		return NULL;
	ms_report *r = NULL;
	ms_artifact_validate(a, NULL, &r);
	ms_artifact_free(a);
	return r;
}

static size_t errors_of(const ms_report *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->count; i++)
		if (r->items[i].severity == MS_SEVERITY_ERROR) {
			if (n++ < 3)
				fprintf(stderr, "    %s at %s: %s\n", r->items[i].code, r->items[i].where, r->items[i].message);
		}
	return n;
}

/* A model fact equals the manifest's (numbers, strings, null, arrays). */
static bool fact_equal(const msi_jval *model, const msi_jval *facts, const char *key, const char *mkey)
{
	const msi_jval *want = msi_jval_get(facts, key), *got = msi_jval_get(model, mkey ? mkey : key);
	if (!want)
		return true;
	msi_buf a = MSI_BUF_INIT, b = MSI_BUF_INIT;
	msi_json ja, jb;
	msi_json_init(&ja, &a, MSI_JSON_COMPACT);
	msi_json_init(&jb, &b, MSI_JSON_COMPACT);
	msi_jval_write(&ja, want);
	if (got)
		msi_jval_write(&jb, got);
	msi_buf_putc(&a, 0);
	msi_buf_putc(&b, 0);
	bool eq = got && strcmp(a.data, b.data) == 0;
	if (!eq && want->kind == MSI_JNUMBER && got && got->kind == MSI_JNUMBER)
		eq = fabs(want->number - got->number) < 1e-6;
	if (!eq)
		fprintf(stderr, "    %s: model %s, manifest %s\n", key, got ? b.data : "(absent)", a.data);
	msi_buf_free(&a);
	msi_buf_free(&b);
	return eq;
}

static void fixtures(const char *want_format)
{
	msi_jval *man = load_json(msi_fixture("xgboost/manifest.json"));
	CHECK(man);
	const msi_jval *files = msi_jval_get(man, "files");
	CHECK(files && files->count > 0);
	size_t checked = 0, failed = 0;
	for (size_t i = 0; i < files->count; i++) {
		const msi_jval *e = files->items[i];
		if (strcmp(jstr(e, "format"), want_format) != 0)
			continue;
		char path[512];
		snprintf(path, sizeof path, "xgboost/%s", jstr(e, "path"));
		const char *full = msi_fixture(path);
		bool valid = jbool(e, "expected_valid");
		ms_report *r = validate_file(full);
		int rc = MS_OK;
		char *json = inspect_file(full, &rc);
		bool ok = r && json;
		if (ok && valid) {
			ok = errors_of(r) == 0 && rc == MS_OK;
			msi_jval *doc = NULL;
			msi_json_limits lim = { 64, 1000000 };
			ok = ok && msi_json_parse(json, strlen(json), &lim, &doc) == MS_OK;
			const msi_jval *model = doc ? msi_jval_get(doc, "model") : NULL, *facts = msi_jval_get(e, "facts");
			static const char *const keys[] = { "encoding", "num_feature", "num_class", "objective", "booster",
				                            "num_boosted_rounds", "num_trees", "base_score", "feature_names",
				                            "feature_types", "version", "num_tree_per_iteration", "linear_trees",
				                            "average_output", "boosting", "pandas_categorical" };
			for (size_t k = 0; ok && model && k < sizeof keys / sizeof keys[0]; k++)
				ok = fact_equal(model, facts, keys[k], NULL);
			ok = ok && (!msi_jval_get(facts, "attribute_names") ||
			            fact_equal(model, facts, "attribute_names", "attributes"));
			msi_jval_free(doc);
		} else if (ok) {
			const msi_jval *codes = msi_jval_get(e, "codes");
			for (size_t k = 0; codes && k < codes->count; k++)
				if (!has_code(r, codes->items[k]->text)) {
					fprintf(stderr, "    missing %s\n", codes->items[k]->text);
					ok = false;
				}
			ok = ok && !ms_report_valid(r);
			/* a cut file: inspect says so, with the facts read so far */
			if (strstr(jstr(e, "kind"), "truncated"))
				ok = ok && rc == MS_EFORMAT && strstr(json, "\"error\":");
		}
		if (!ok) {
			fprintf(stderr, "  %s: wrong\n", jstr(e, "path"));
			failed++;
		}
		checked++;
		ms_report_free(r);
		ms_free(json);
	}
	msi_jval_free(man);
	fprintf(stderr, "  %zu %s fixtures checked\n", checked, want_format);
	CHECK(checked >= 20);
	CHECK_EQ_INT(failed, 0);
}

static void xgboost_fixtures(void) { fixtures("xgb"); }
static void lightgbm_fixtures(void) { fixtures("lgbm"); }

/* Every prefix and every single-bit flip of a small model: a report, never
 * a crash or a hang (ASan/UBSan builds run this too). */
static void hostile_mutations(void)
{
	static const char *const names[] = { "xgboost/xgb_clf_binary.json", "xgboost/xgb_clf_binary.ubj",
		                             "xgboost/xgb_clf_binary.model", "xgboost/lgbm_categorical.txt",
		                             "xgboost/lgbm_linear.txt" };
	for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
		size_t len;
		unsigned char *data = msi_read_file(msi_fixture(names[f]), &len);
		CHECK(data);
		size_t step = len / 300 + 1;
		for (size_t cut = 0; cut < len; cut += step) {
			for (int flip = -1; flip < 8; flip += 4) {
				unsigned char *copy = malloc(len);
				memcpy(copy, data, len);
				if (flip >= 0)
					copy[cut] ^= (unsigned char)(1u << flip);
				size_t n = flip >= 0 ? len : cut;
				ms_artifact *a;
				if (ms_artifact_open_buffer(&a, copy, n, NULL) == MS_OK) {
					char *json = NULL;
					ms_artifact_inspect(a, NULL, &json, NULL);
					ms_free(json);
					ms_report *r = NULL;
					CHECK_EQ_INT(ms_artifact_validate(a, NULL, &r), MS_OK);
					ms_report_free(r);
					ms_artifact_free(a);
				}
				free(copy);
			}
		}
		free(data);
	}
}

static const msi_test_case cases[] = {
	{ "pull_json_tokens", pull_json_tokens },
	{ "pull_json_errors", pull_json_errors },
	{ "pull_ubjson", pull_ubjson },
	{ "pull_json_file_windows", pull_json_file_windows },
	{ "xgboost_fixtures", xgboost_fixtures },
	{ "lightgbm_fixtures", lightgbm_fixtures },
	{ "hostile_mutations", hostile_mutations },
};

MSI_TEST_MAIN(cases)
