/* Unit tests: the ONNX operator-schema table and node check
 * (lib/formats/onnx/onnx_schema.c). Ground truth is onnx itself:
 * tests/fixtures/gen_onnx_schema.py writes $FIXTURES/onnx_schema/cases.txt
 * from onnx.defs.get_schema and onnx.checker.check_node (format described
 * there); the hand-written cases cover what onnx cannot tell us (messages,
 * opsets newer than the table, reporting every problem). */
#include "harness.h"

#include "core/report.h"
#include "formats/onnx/onnx_schema.h"

#define MAX_TOKENS 512
#define MAX_NAMES 64

/* ---- the fixture ---- */

static char *cases_text;
static bool cases_loaded, cases_skipped;

/* The fixture, or NULL; says why when it is absent. Outside CI a fixture
 * that says SKIP (no onnx where it was generated) skips the data-driven
 * cases, visibly; in CI it fails them. */
static char *load_cases(void)
{
	if (cases_loaded)
		return cases_skipped ? NULL : cases_text;
	cases_loaded = true;
	size_t len;
	unsigned char *data = msi_read_file(msi_fixture("onnx_schema/cases.txt"), &len);
	if (!data) {
		fprintf(stderr, "  %s missing\n", msi_fixture("onnx_schema/cases.txt"));
		return NULL;
	}
	char *text = realloc(data, len + 1);
	if (!text) {
		free(data);
		return NULL;
	}
	text[len] = '\0';
	if (strncmp(text, "SKIP", 4) == 0) {
		printf("SKIP data-driven onnx schema cases: %.*s\n", (int)strcspn(text, "\n"), text);
		free(text);
		cases_skipped = true;
		return NULL;
	}
	cases_text = text;
	return text;
}

/* Each data-driven case: true when it may go on (fixture present), false
 * after a visible skip; a missing fixture (or a skip in CI) fails. */
#define NEED_CASES(text)                                                   \
	char *text = load_cases();                                         \
	if (!text) {                                                       \
		CHECK(cases_skipped && !getenv("CI"));                     \
		return;                                                    \
	}

/* Splits `line` (modified) at spaces; "-" stands for "". */
static size_t split(char *line, char **tok, size_t cap)
{
	size_t n = 0;
	for (char *p = strtok(line, " "); p && n < cap; p = strtok(NULL, " "))
		tok[n++] = strcmp(p, "-") == 0 ? "" : p;
	return n;
}

/* Calls fn on a private copy of each line of the fixture that starts with `kind `. */
static size_t for_lines(const char *text, char kind, bool (*fn)(char **tok, size_t n, size_t lineno),
                        size_t *bad)
{
	size_t seen = 0, lineno = 0;
	const char *stop = text + strlen(text);
	for (const char *p = text; p < stop;) {
		/* memchr, not strchr: ASan's strict_string_checks would scan the
		 * rest of the file at every line */
		const char *end = memchr(p, '\n', (size_t)(stop - p));
		size_t len = end ? (size_t)(end - p) : (size_t)(stop - p);
		lineno++;
		if (len > 2 && p[0] == kind && p[1] == ' ') {
			char *copy = malloc(len + 1);
			if (!copy)
				return seen;
			memcpy(copy, p, len);
			copy[len] = '\0';
			char *tok[MAX_TOKENS];
			size_t n = split(copy, tok, MAX_TOKENS);
			seen++;
			if (!fn(tok, n, lineno))
				(*bad)++;
			free(copy);
		}
		p += len + (end ? 1 : 0);
	}
	return seen;
}

/* ---- M and V lines: newest opsets ---- */

static bool check_max_line(char **tok, size_t n, size_t lineno)
{
	if (n != 3)
		return false;
	int64_t got = msi_onnx_schema_max_opset(tok[1]), want = strtoll(tok[2], NULL, 10);
	if (got != want)
		fprintf(stderr, "  line %zu: max opset of '%s' is %lld, onnx says %lld\n", lineno, tok[1],
		        (long long)got, (long long)want);
	return got == want;
}

static void max_opset_matches_onnx(void)
{
	NEED_CASES(text);
	size_t bad = 0;
	size_t seen = for_lines(text, 'M', check_max_line, &bad);
	CHECK_EQ_INT(seen, 4); /* ai.onnx, ai.onnx.ml, ai.onnx.training, ai.onnx.preview.training */
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(msi_onnx_schema_max_opset("ai.onnx"), msi_onnx_schema_max_opset(""));
	CHECK_EQ_INT(msi_onnx_schema_max_opset("com.microsoft"), 0);
	CHECK_EQ_INT(msi_onnx_schema_max_opset("ai.onnx.mlx"), 0);
	/* the fixture's onnx is the table's (else onnx_schema_table fails too) */
	CHECK(strncmp(text, "V ", 2) == 0);
	CHECK(strncmp(text + 2, msi_onnx_schema_table_version(), strlen(msi_onnx_schema_table_version())) == 0);
}

/* ---- L lines: schema resolution ---- */

static bool check_lookup_line(char **tok, size_t n, size_t lineno)
{
	if (n != 5)
		return false;
	int64_t opset = strtoll(tok[3], NULL, 10);
	const struct msi_onnx_op_schema *s = msi_onnx_schema_find(tok[1], tok[2], opset);
	int got = msi_onnx_schema_since(s), want = atoi(tok[4]);
	if (got != want || (s && strcmp(msi_onnx_schema_name(s), tok[2]) != 0)) {
		fprintf(stderr, "  line %zu: %s:%s at opset %lld resolves to version %d, onnx says %d\n",
		        lineno, tok[1], tok[2], (long long)opset, got, want);
		return false;
	}
	/* "ai.onnx" is the default domain */
	if (tok[1][0] == '\0' && msi_onnx_schema_find("ai.onnx", tok[2], opset) != s)
		return false;
	return true;
}

static void lookup_matches_onnx(void)
{
	NEED_CASES(text);
	size_t bad = 0;
	size_t seen = for_lines(text, 'L', check_lookup_line, &bad);
	CHECK(seen > 3000);
	CHECK_EQ_INT(bad, 0);
}

/* ---- N lines: onnx.checker's verdict on a node ---- */

static size_t errors_of(const ms_report *r)
{
	return msi_report_count_at_least(r, MS_SEVERITY_ERROR);
}

static void dump_findings(const ms_report *r)
{
	for (size_t i = 0; i < r->count; i++)
		fprintf(stderr, "      %s: %s\n", r->items[i].code, r->items[i].message);
}

/* true when the comma-separated `list` ("" for none) names exactly the
 * codes of severity `sev` in r (each at least once, nothing else). */
static bool codes_are(const ms_report *r, ms_severity sev, const char *list)
{
	for (size_t i = 0; i < r->count; i++) {
		if (r->items[i].severity != sev)
			continue;
		const char *c = r->items[i].code, *hit = strstr(list, c);
		size_t len = strlen(c);
		if (!hit || (hit != list && hit[-1] != ',') || (hit[len] != '\0' && hit[len] != ','))
			return false;
	}
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		bool found = false;
		for (size_t i = 0; i < r->count && !found; i++)
			found = r->items[i].severity == sev && strlen(r->items[i].code) == len &&
			        strncmp(r->items[i].code, p, len) == 0;
		if (!found)
			return false;
		p += len + (p[len] == ',');
	}
	return true;
}

static size_t node_cases_by_kind[2];

static bool check_node_line(char **tok, size_t n, size_t lineno)
{
	/* N expect warnings domain op opset n_in in... n_out out... n_attr attr... */
	const char *in[MAX_NAMES], *out[MAX_NAMES], *an[MAX_NAMES];
	int at[MAX_NAMES];
	bool ref[MAX_NAMES], val[MAX_NAMES];
	char names[MAX_NAMES][128];
	if (n < 9)
		return false;
	const char *expect = tok[1], *warnings = tok[2];
	size_t k = 6, n_in = strtoul(tok[k++], NULL, 10);
	if (n_in > MAX_NAMES || k + n_in >= n)
		return false;
	for (size_t i = 0; i < n_in; i++)
		in[i] = tok[k++];
	size_t n_out = strtoul(tok[k++], NULL, 10);
	if (n_out > MAX_NAMES || k + n_out >= n)
		return false;
	for (size_t i = 0; i < n_out; i++)
		out[i] = tok[k++];
	size_t n_attr = strtoul(tok[k++], NULL, 10);
	if (n_attr > MAX_NAMES || k + n_attr != n)
		return false;
	for (size_t i = 0; i < n_attr; i++) {
		const char *t = tok[k++], *c1 = strchr(t, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || (size_t)(c1 - t) >= sizeof names[i])
			return false;
		memcpy(names[i], t, (size_t)(c1 - t));
		names[i][c1 - t] = '\0';
		an[i] = names[i];
		at[i] = atoi(c1 + 1);
		ref[i] = strchr(c2, 'r') != NULL;
		val[i] = strchr(c2, 'v') != NULL;
	}
	msi_onnx_node_sig sig = {
		.op_type = tok[4], .domain = tok[3],
		.n_inputs = n_in, .inputs = in, .n_outputs = n_out, .outputs = out,
		.n_attrs = n_attr, .attr_names = an, .attr_types = at, .attr_is_ref = ref,
		.attr_has_value = val,
	};
	ms_report *r = msi_report_new("cases.txt", "onnx");
	if (!r)
		return false;
	char where[32];
	snprintf(where, sizeof where, "line %zu", lineno);
	int ret = msi_onnx_check_node_schema(r, where, &sig, strtoll(tok[5], NULL, 10));
	bool ok = (size_t)ret == errors_of(r) &&
	          codes_are(r, MS_SEVERITY_ERROR, strcmp(expect, "ok") == 0 ? "" : expect) &&
	          codes_are(r, MS_SEVERITY_WARNING, warnings);
	for (size_t i = 0; ok && i < r->count; i++)
		ok = r->items[i].where && strcmp(r->items[i].where, where) == 0 && r->items[i].message[0];
	if (!ok) {
		fprintf(stderr, "  line %zu: %s %s opset %s: onnx says %s (warnings: %s), we return %d and say:\n",
		        lineno, tok[3][0] ? tok[3] : "ai.onnx", tok[4], tok[5], expect,
		        warnings[0] ? warnings : "none", ret);
		dump_findings(r);
	}
	node_cases_by_kind[strcmp(expect, "ok") != 0]++;
	ms_report_free(r);
	return ok;
}

static void node_check_matches_onnx(void)
{
	NEED_CASES(text);
	size_t bad = 0;
	size_t seen = for_lines(text, 'N', check_node_line, &bad);
	printf("  %zu node cases (%zu accepted by onnx, %zu rejected), %zu disagree\n", seen,
	       node_cases_by_kind[0], node_cases_by_kind[1], bad);
	CHECK(seen > 5000);
	CHECK(node_cases_by_kind[0] > 1000 && node_cases_by_kind[1] > 1000);
	CHECK_EQ_INT(bad, 0);
}

/* ---- hand-written cases ---- */

static size_t count_code(const ms_report *r, const char *code)
{
	size_t n = 0;
	for (size_t i = 0; i < r->count; i++)
		n += strcmp(r->items[i].code, code) == 0;
	return n;
}

static void messages_name_the_range(void)
{
	const char *in[] = { "x", "pads", "value", "extra" }, *out[] = { "y" };
	msi_onnx_node_sig sig = { .op_type = "Pad", .domain = "", .n_inputs = 4, .inputs = in,
	                          .n_outputs = 1, .outputs = out };
	ms_report *r = msi_report_new("m.onnx", "onnx");
	CHECK(r);
	int errors = msi_onnx_check_node_schema(r, "graph 'main' node 0 'pad' (Pad)", &sig, 11);
	CHECK_EQ_INT(errors, 1);
	CHECK_EQ_INT(r->count, 1);
	CHECK_EQ_STR(r->items[0].code, "onnx.node.input_count");
	CHECK_EQ_STR(r->items[0].where, "graph 'main' node 0 'pad' (Pad)");
	CHECK_EQ_STR(r->items[0].message, "Pad has 4 inputs; opset 11 allows 2 to 3");
	ms_report_free(r);

	/* a count set, and a domain other than the default */
	const char *bn_out[] = { "y", "m" }, *bn_in[] = { "x", "s", "b", "m", "v" };
	msi_onnx_node_sig bn = { .op_type = "BatchNormalization", .n_inputs = 5, .inputs = bn_in,
	                         .n_outputs = 2, .outputs = bn_out };
	r = msi_report_new("m.onnx", "onnx");
	CHECK(r);
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, NULL, &bn, 9), 1);
	CHECK_EQ_STR(r->items[0].message, "BatchNormalization has 2 outputs; opset 9 allows 1 or 5");
	ms_report_free(r);

	const char *x[] = { "x" }, *y[] = { "y" };
	msi_onnx_node_sig imp = { .op_type = "Imputer", .domain = "ai.onnx.ml", .n_inputs = 1,
	                          .inputs = x, .n_outputs = 0, .outputs = y };
	r = msi_report_new("m.onnx", "onnx");
	CHECK(r);
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, NULL, &imp, 3), 1);
	CHECK_EQ_STR(r->items[0].message, "Imputer has 0 outputs; ai.onnx.ml opset 3 allows 1");
	ms_report_free(r);
}

static void every_problem_is_reported(void)
{
	/* Cast-13: input "" (required), two outputs (allows 1), an unknown
	 * attribute, a mistyped one, and its required 'to' missing. */
	const char *in[] = { "" }, *out[] = { "y", "z" };
	const char *an[] = { "bogus", "__internal", "saturate_not" };
	int at[] = { 2, 2, 2 };
	msi_onnx_node_sig sig = { .op_type = "Cast", .domain = "ai.onnx", .n_inputs = 1, .inputs = in,
	                          .n_outputs = 2, .outputs = out, .n_attrs = 3, .attr_names = an,
	                          .attr_types = at };
	ms_report *r = msi_report_new("m.onnx", "onnx");
	CHECK(r);
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &sig, 13), 5);
	CHECK_EQ_INT(count_code(r, "onnx.node.output_count"), 1);
	CHECK_EQ_INT(count_code(r, "onnx.node.required_input_empty"), 1);
	CHECK_EQ_INT(count_code(r, "onnx.node.attribute_unknown"), 2);
	CHECK_EQ_INT(count_code(r, "onnx.node.attribute_missing"), 1);
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->items[i].code, "onnx.node.attribute_missing") == 0)
			CHECK_EQ_STR(r->items[i].message, "Cast (opset 13) requires attribute 'to' (INT)");
		else if (strcmp(r->items[i].code, "onnx.node.required_input_empty") == 0)
			CHECK_EQ_STR(r->items[i].message, "Cast input 0 ('input') is required, but its name is empty");
	ms_report_free(r);

	/* an attribute of the wrong type, named with both types */
	const char *cn[] = { "x", "w" }, *co[] = { "y" }, *kn[] = { "kernel_shape" };
	int kt[] = { 2 };
	msi_onnx_node_sig conv = { .op_type = "Conv", .n_inputs = 2, .inputs = cn, .n_outputs = 1,
	                           .outputs = co, .n_attrs = 1, .attr_names = kn, .attr_types = kt };
	r = msi_report_new("m.onnx", "onnx");
	CHECK(r);
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &conv, 11), 1);
	CHECK_EQ_STR(r->items[0].code, "onnx.node.attribute_type");
	CHECK_EQ_STR(r->items[0].message, "attribute 'kernel_shape' of Conv is INT; opset 11 declares it INTS");
	ms_report_free(r);
}

static void references_are_checked_for_type_only(void)
{
	const char *cn[] = { "x", "w" }, *co[] = { "y" }, *kn[] = { "kernel_shape" };
	int kt[] = { 7 };
	bool is_ref[] = { true }, has_value[] = { false };
	msi_onnx_node_sig conv = { .op_type = "Conv", .n_inputs = 2, .inputs = cn, .n_outputs = 1,
	                           .outputs = co, .n_attrs = 1, .attr_names = kn, .attr_types = kt,
	                           .attr_is_ref = is_ref, .attr_has_value = has_value };
	ms_report *r = msi_report_new("m.onnx", "onnx");
	CHECK(r);
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &conv, 11), 0);
	CHECK_EQ_INT(r->count, 0);
	/* the same without the reference holds no value: an error */
	is_ref[0] = false;
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &conv, 11), 1);
	CHECK_EQ_STR(r->items[0].code, "onnx.attribute.value");
	/* without attr_has_value, presence is not checked */
	conv.attr_has_value = NULL;
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &conv, 11), 0);
	/* a reference of the wrong type */
	is_ref[0] = true;
	kt[0] = 6;
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &conv, 11), 1);
	CHECK_EQ_STR(r->items[1].code, "onnx.node.attribute_type");
	ms_report_free(r);
}

static void newer_than_table_only_warns(void)
{
	int64_t max = msi_onnx_schema_max_opset("");
	CHECK(max >= 17);
	/* an operator the table does not have (CenterCropPad came in opset 18) */
	const char *x[] = { "x", "shape" }, *y[] = { "y" };
	msi_onnx_node_sig ccp = { .op_type = "CenterCropPad", .n_inputs = 2, .inputs = x,
	                          .n_outputs = 1, .outputs = y };
	ms_report *r = msi_report_new("m.onnx", "onnx");
	CHECK(r);
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &ccp, max + 1), 0);
	CHECK_EQ_INT(r->count, 1);
	CHECK_EQ_STR(r->items[0].code, "onnx.node.op_newer_than_table");
	CHECK(strstr(r->items[0].message, "CenterCropPad") != NULL);
	/* ... which at an opset the table covers is unknown */
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &ccp, max), 1);
	CHECK_EQ_STR(r->items[1].code, "onnx.node.unknown_op");
	ms_report_free(r);

	/* a known operator, broken by the old schema's rules: not enforced */
	const char *an[] = { "no_such_attribute" };
	int at[] = { 1 };
	msi_onnx_node_sig conv = { .op_type = "Conv", .n_inputs = 0, .n_outputs = 3, .outputs = (const char *[]){ "", "", "" },
	                           .n_attrs = 1, .attr_names = an, .attr_types = at };
	r = msi_report_new("m.onnx", "onnx");
	CHECK(r);
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &conv, max + 5), 0);
	CHECK_EQ_INT(r->count, 1);
	CHECK_EQ_STR(r->items[0].code, "onnx.node.op_newer_than_table");
	CHECK(msi_onnx_check_node_schema(r, "n", &conv, max) > 0);
	ms_report_free(r);

	/* deprecated stays deprecated; other domains have their own newest */
	msi_onnx_node_sig up = { .op_type = "Upsample", .n_inputs = 2, .inputs = x, .n_outputs = 1, .outputs = y };
	r = msi_report_new("m.onnx", "onnx");
	CHECK(r);
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &up, max + 1), 1);
	CHECK_EQ_STR(r->items[0].code, "onnx.node.deprecated_op");
	msi_onnx_node_sig imp = { .op_type = "Imputer", .domain = "ai.onnx.ml", .n_inputs = 1, .inputs = x,
	                          .n_outputs = 1, .outputs = y };
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &imp, msi_onnx_schema_max_opset("ai.onnx.ml") + 1), 0);
	CHECK_EQ_STR(r->items[1].code, "onnx.node.op_newer_than_table");
	ms_report_free(r);
}

static void experimental_and_custom(void)
{
	CHECK(msi_onnx_op_is_experimental("ATen"));
	CHECK(msi_onnx_op_is_experimental("ScaledTanh"));
	CHECK(msi_onnx_op_is_experimental("Affine"));
	CHECK(!msi_onnx_op_is_experimental("Conv"));
	CHECK(!msi_onnx_op_is_experimental("Upsample"));
	CHECK(!msi_onnx_op_is_experimental(""));
	CHECK(!msi_onnx_op_is_experimental(NULL));
	const char *x[] = { "x" };
	msi_onnx_node_sig aten = { .op_type = "ATen", .domain = "ai.onnx.ml", .n_inputs = 1, .inputs = x };
	ms_report *r = msi_report_new("m.onnx", "onnx");
	CHECK(r);
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &aten, 1), 0);
	CHECK_EQ_INT(r->count, 1);
	CHECK_EQ_STR(r->items[0].code, "onnx.node.experimental_op");
	/* a custom domain has no table: nothing is said */
	msi_onnx_node_sig custom = { .op_type = "FusedConv", .domain = "com.microsoft", .n_inputs = 1, .inputs = x };
	CHECK_EQ_INT(msi_onnx_check_node_schema(r, "n", &custom, 1), 0);
	CHECK_EQ_INT(r->count, 1);
	ms_report_free(r);
}

static void versions_resolve(void)
{
	/* Add: 1, 6, 7, 13, 14 */
	CHECK_EQ_INT(msi_onnx_schema_since(msi_onnx_schema_find("", "Add", 7)), 7);
	CHECK_EQ_INT(msi_onnx_schema_since(msi_onnx_schema_find("", "Add", 12)), 7);
	CHECK(msi_onnx_schema_find("", "Add", 8) == msi_onnx_schema_find("ai.onnx", "Add", 12));
	CHECK(msi_onnx_schema_find("", "Add", 12) != msi_onnx_schema_find("", "Add", 13));
	CHECK_EQ_INT(msi_onnx_schema_since(msi_onnx_schema_find("", "Add", 100)), 14);
	CHECK(msi_onnx_schema_find("", "Add", 0) == NULL);
	CHECK(msi_onnx_schema_find("", "Add", -5) == NULL);
	CHECK(msi_onnx_schema_find("", NULL, 13) == NULL);
	CHECK(msi_onnx_schema_find("com.microsoft", "Add", 13) == NULL);
	CHECK(msi_onnx_schema_find("", "add", 13) == NULL); /* names are case-sensitive */
	CHECK(msi_onnx_schema_find("ai.onnx.ml", "Add", 3) == NULL);
	CHECK_EQ_INT(msi_onnx_schema_since(msi_onnx_schema_find("ai.onnx.ml", "TreeEnsembleClassifier", 3)), 3);
	CHECK_EQ_STR(msi_onnx_schema_name(msi_onnx_schema_find("", "Zeros", 13)), "");
	CHECK_EQ_STR(msi_onnx_schema_name(msi_onnx_schema_find("", "Xor", 13)), "Xor");
	CHECK_EQ_STR(msi_onnx_schema_name(msi_onnx_schema_find("", "Abs", 13)), "Abs");
	CHECK_EQ_INT(msi_onnx_schema_since(NULL), 0);
	CHECK_EQ_INT(msi_onnx_check_node_schema(NULL, "n", NULL, 13), 0);
}

static const msi_test_case cases[] = {
	{ "max_opset_matches_onnx", max_opset_matches_onnx },
	{ "lookup_matches_onnx", lookup_matches_onnx },
	{ "node_check_matches_onnx", node_check_matches_onnx },
	{ "messages_name_the_range", messages_name_the_range },
	{ "every_problem_is_reported", every_problem_is_reported },
	{ "references_are_checked_for_type_only", references_are_checked_for_type_only },
	{ "newer_than_table_only_warns", newer_than_table_only_warns },
	{ "experimental_and_custom", experimental_and_custom },
	{ "versions_resolve", versions_resolve },
};

MSI_TEST_MAIN(cases)
