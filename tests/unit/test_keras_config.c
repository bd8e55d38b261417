/*
 * Unit tests: the Keras config checker and the npz weights checker
 * (lib/formats/keras/keras_config.c, keras_npz.c).
 *
 * Each rule has a config that triggers it and near misses that must not,
 * written here as C strings; then the data-driven part reads what
 * tests/fixtures/gen_keras_configs.py wrote: synthetic configs modelled on
 * Keras 2 and 3 output, the real configs of ../shared/corpus (when it is
 * there), and npz files written by numpy, with the finding codes and facts
 * Python computed. Every case asserts the exact set of codes.
 */
#include "harness.h"
#include "testutil.h"

#include "formats/keras/keras_config.h"

static const msi_json_limits limits64 = { 64, 1000000 };

static void dump(const ms_report *r)
{
	for (size_t i = 0; i < r->count; i++)
		fprintf(stderr, "    [%d] %s at '%s': %s\n", (int)r->items[i].severity, r->items[i].code,
		        r->items[i].where, r->items[i].message);
}

static size_t count_code(const ms_report *r, const char *code)
{
	size_t n = 0;
	for (size_t i = 0; i < r->count; i++)
		n += strcmp(r->items[i].code, code) == 0;
	return n;
}

/* The distinct codes of `r` are exactly the NULL-terminated list. */
static bool codes_are(const ms_report *r, const char *const *want)
{
	bool ok = true;
	for (size_t k = 0; want[k]; k++)
		if (!has_code(r, want[k])) {
			fprintf(stderr, "  expected %s, missing\n", want[k]);
			ok = false;
		}
	for (size_t i = 0; i < r->count; i++) {
		bool listed = false;
		for (size_t k = 0; want[k]; k++)
			listed |= strcmp(want[k], r->items[i].code) == 0;
		if (!listed) {
			fprintf(stderr, "  unexpected %s\n", r->items[i].code);
			ok = false;
		}
	}
	if (!ok)
		dump(r);
	return ok;
}

/* Checks `json` and compares the codes with the NULL-terminated list. */
#define EXPECT(json, ...)                                                                          \
	do {                                                                                       \
		static const char *const want_[] = { __VA_ARGS__, NULL };                          \
		ms_report *r_ = msi_report_new("t", NULL);                                         \
		CHECK(r_);                                                                         \
		const char *j_ = (json);                                                           \
		int rc_ = msi_keras_config_check(j_, strlen(j_), "config.json", &limits64, r_, NULL); \
		bool ok_ = rc_ == MS_OK && codes_are(r_, want_);                                   \
		if (!ok_)                                                                          \
			fprintf(stderr, "  for config: %.300s\n", j_);                             \
		ms_report_free(r_);                                                        \
		CHECK(ok_);                                                                        \
	} while (0)
#define CLEAN(json) EXPECT(json, NULL)

static ms_report *check(const char *json, msi_keras_facts *facts)
{
	ms_report *r = msi_report_new("t", NULL);
	if (r && msi_keras_config_check(json, strlen(json), "config.json", &limits64, r, facts) != MS_OK) {
		ms_report_free(r);
		return NULL;
	}
	return r;
}

/* A layer list around one layer object, Keras 3 style. */
#define SEQ(layer) "{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": [" layer "]}}"
#define DENSE_WITH(key, value) "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"" key "\": " value "}}"

/* ---- allocation failures ---- */

/* A hook that fails the n-th allocation from when it is armed; installed
 * by the first case, before anything else uses the library. */
static size_t live, allocs, fail_at;

static void *hook_malloc(size_t size, void *user)
{
	(void)user;
	if (fail_at && ++allocs == fail_at)
		return NULL;
	size_t *p = malloc(size + 16);
	if (!p)
		return NULL;
	live++;
	return (char *)p + 16;
}

static void *hook_realloc(void *ptr, size_t size, void *user)
{
	if (!ptr)
		return hook_malloc(size, user);
	if (fail_at && ++allocs == fail_at)
		return NULL;
	char *p = realloc((char *)ptr - 16, size + 16);
	return p ? p + 16 : NULL;
}

static void hook_free(void *ptr, void *user)
{
	(void)user;
	if (ptr) {
		live--;
		free((char *)ptr - 16);
	}
}

static const char oom_config[] =
	"{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
	"{\"module\": \"keras.layers\", \"class_name\": \"Lambda\", \"config\": {\"name\": \"a b\"}}, "
	"{\"module\": null, \"class_name\": \"C\", \"config\": {\"name\": \"c\"}, \"registered_name\": \"P>C\"}, "
	"{\"module\": \"os\", \"class_name\": \"function\", \"config\": \"system\"}]}, "
	"\"build_config\": {}, \"registered_name\": null}";

/* Every allocation of a check fails in turn: the result is MS_OK or
 * MS_ENOMEM, and nothing leaks. */
static void test_oom(void)
{
	ms_allocator a = { MS_ALLOCATOR_VERSION, hook_malloc, hook_realloc, hook_free, NULL };
	if (ms_config_allocator(&a) != MS_OK) {
		printf("SKIP oom: the library was used before this case (run it first)\n");
		return;
	}
	size_t n, enomem = 0;
	for (n = 1; n < 10000; n++) {
		size_t before = live;
		ms_report *r = msi_report_new("t", NULL);
		CHECK(r);
		msi_keras_facts f;
		allocs = 0;
		fail_at = n;
		int rc = msi_keras_config_check(oom_config, strlen(oom_config), "config.json", NULL, r, &f);
		fail_at = 0;
		bool done = allocs < n;
		CHECK(rc == MS_OK || rc == MS_ENOMEM);
		enomem += rc == MS_ENOMEM;
		if (rc == MS_ENOMEM)
			CHECK(!f.class_name && !f.layers && f.layer_count == 0);
		msi_keras_facts_free(&f);
		ms_report_free(r);
		CHECK_EQ_INT(live, before);
		if (done)
			break;
	}
	CHECK(n > 10 && n < 10000 && enomem > 0);
	printf("oom: the config check survives a failure at each of its %zu allocations\n", n - 1);

	size_t len;
	unsigned char *bytes = msi_read_file(msi_fixture("keras_configs/npz/compressed.npz"), &len);
	if (!bytes) {
		printf("SKIP oom npz: no fixtures\n");
		return;
	}
	msi_limits lim = default_limits();
	for (n = 1; n < 10000; n++) {
		size_t before = live;
		msi_source *src = NULL;
		ms_report *r = msi_report_new("t", NULL);
		CHECK(r);
		CHECK_EQ_INT(msi_source_from_memory(bytes, len, false, &src), MS_OK);
		allocs = 0;
		fail_at = n;
		int rc = msi_keras_npz_check(src, &lim, "w", r, NULL, NULL);
		fail_at = 0;
		bool done = allocs < n;
		CHECK(rc == MS_OK || rc == MS_ENOMEM);
		msi_source_release(src);
		ms_report_free(r);
		CHECK_EQ_INT(live, before);
		if (done)
			break;
	}
	free(bytes);
	CHECK(n > 3 && n < 10000);
	printf("oom: the npz check survives a failure at each of its %zu allocations\n", n - 1);
}

/* ---- rules ---- */

static void test_lambda(void)
{
	EXPECT(SEQ("{\"class_name\": \"Lambda\", \"config\": {\"name\": \"l\", \"function\": [\"4wEA\", null, null]}}"),
	       "keras.lambda");
	/* __lambda__ anywhere, even under a key no layer uses */
	EXPECT("{\"class_name\": \"X\", \"config\": {\"deep\": [{\"x\": {\"class_name\": \"__lambda__\", \"config\": {}}}]}}",
	       "keras.lambda");
	/* the Lambda layer and its bytecode are two objects: two findings */
	ms_report *r = check(SEQ("{\"module\": \"keras.layers\", \"class_name\": \"Lambda\", \"config\": {\"name\": "
	                         "\"l\", \"function\": {\"class_name\": \"__lambda__\", \"config\": {\"code\": \"x\"}}}}"),
	                     NULL);
	CHECK(r);
	CHECK_EQ_INT(count_code(r, "keras.lambda"), 2);
	CHECK_EQ_INT(r->count, 2);
	ms_report_free(r);
	/* near misses: other spellings, a layer merely named lambda, the
	 * marker as a string value, a NUL inside the class name */
	CLEAN(SEQ("{\"class_name\": \"lambda\", \"config\": {\"name\": \"lambda\"}}"));
	CLEAN(SEQ("{\"class_name\": \"LambdaCallback\", \"config\": {\"name\": \"lambda_1\"}}"));
	CLEAN("{\"class_name\": \"X\", \"config\": {\"note\": \"__lambda__\", \"class\": \"Lambda\"}}");
	CLEAN(SEQ("{\"class_name\": \"Lambda\\u0000\", \"config\": {\"name\": \"l\"}}"));
	EXPECT(SEQ("{\"module\": \"keras.layers\", \"class_name\": \"TorchModuleWrapper\", \"config\": {\"name\": \"t\", "
	           "\"module\": \"gASV\"}}"),
	       "keras.lambda");
}

static void test_function(void)
{
	const char *fn = SEQ(DENSE_WITH("kernel_initializer", "{\"module\": \"builtins\", \"class_name\": \"function\", "
	                                "\"config\": \"random_kernel\", \"registered_name\": \"function\"}"));
	/* one finding, keras.function rather than keras.module.unsafe */
	ms_report *r = check(fn, NULL);
	CHECK(r);
	CHECK_EQ_INT(r->count, 1);
	CHECK_EQ_STR(r->items[0].code, "keras.function");
	CHECK_EQ_STR(r->items[0].where, "config.json:/config/layers/0/config/kernel_initializer");
	ms_report_free(r);
	EXPECT(SEQ(DENSE_WITH("activation", "{\"module\": \"os\", \"class_name\": \"function\", \"config\": \"system\"}")),
	       "keras.function");
	/* near misses: Keras' own functions, and Keras 2 function names */
	CLEAN(SEQ(DENSE_WITH("activation", "{\"module\": \"keras.activations\", \"class_name\": \"function\", "
	                     "\"config\": \"relu\", \"registered_name\": null}")));
	CLEAN(SEQ(DENSE_WITH("activation", "\"relu\"")));
	CLEAN(SEQ(DENSE_WITH("kernel_initializer", "\"random_kernel\"")));
	CLEAN(SEQ(DENSE_WITH("activation", "{\"class_name\": \"function\", \"config\": \"relu\"}")));
}

static void test_module(void)
{
	EXPECT(SEQ("{\"module\": \"os\", \"class_name\": \"Dense\", \"config\": {\"name\": \"d\"}}"),
	       "keras.module.unsafe");
	EXPECT(SEQ("{\"module\": \"kerasx.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"d\"}}"),
	       "keras.module.unsafe");
	EXPECT(SEQ("{\"module\": \"keras\\u0000os\", \"class_name\": \"Dense\", \"config\": {\"name\": \"d\"}}"),
	       "keras.module.unsafe");
	/* Keras imports only what the object names: deep inside compile_config too */
	EXPECT("{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"layers\": []}, "
	       "\"compile_config\": {\"optimizer\": {\"module\": \"evil\", \"class_name\": \"Adam\", \"config\": {}}}}",
	       "keras.module.unsafe");
	/* Keras' extension packages: a warning (Keras 3.9+ imports them for presets) */
	EXPECT(SEQ("{\"module\": \"keras_hub.src.models\", \"class_name\": \"Backbone\", \"config\": {\"name\": \"b\"}}"),
	       "keras.module.extension");
	EXPECT(SEQ("{\"module\": \"keras_cv\", \"class_name\": \"RandAugment\", \"config\": {\"name\": \"r\"}}"),
	       "keras.module.extension");
	EXPECT(SEQ("{\"module\": \"keras_hubx.models\", \"class_name\": \"Backbone\", \"config\": {\"name\": \"b\"}}"),
	       "keras.module.unsafe");
	/* near misses */
	CLEAN(SEQ("{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"d\"}}"));
	CLEAN("{\"module\": \"keras.src.models.functional\", \"class_name\": \"Functional\", \"config\": {\"layers\": []}}");
	CLEAN(SEQ("{\"module\": null, \"class_name\": \"Dense\", \"config\": {\"name\": \"d\"}, \"registered_name\": null}"));
	CLEAN(SEQ("{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\"}}"));
	/* a "module" key that belongs to a layer's own config, not an object */
	CLEAN(SEQ(DENSE_WITH("module", "\"os\"")));
	CLEAN(SEQ(DENSE_WITH("x", "{\"module\": \"os\", \"value\": 1}")));
}

static void test_api(void)
{
	EXPECT(SEQ(DENSE_WITH("activation", "{\"module\": \"keras.config\", \"class_name\": \"function\", "
	                      "\"config\": \"enable_unsafe_deserialization\", \"registered_name\": \"function\"}")),
	       "keras.api.unsafe");
	EXPECT(SEQ(DENSE_WITH("activation", "{\"module\": \"keras.utils\", \"class_name\": \"function\", "
	                      "\"config\": \"get_file\"}")),
	       "keras.api.unsafe");
	EXPECT(SEQ("{\"module\": \"keras.saving\", \"class_name\": \"load_model\", \"config\": {\"name\": \"x\"}}"),
	       "keras.api.unsafe");
	EXPECT(SEQ("{\"module\": \"keras.models\", \"class_name\": \"load_model\", \"config\": {\"name\": \"x\"}}"),
	       "keras.api.unsafe");
	EXPECT(SEQ(DENSE_WITH("activation", "{\"module\": \"keras.src.saving.saving_api\", \"class_name\": \"function\", "
	                      "\"config\": \"load_weights\"}")),
	       "keras.api.unsafe");
	EXPECT(SEQ(DENSE_WITH("activation", "{\"module\": \"keras.src.backend.common.global_state\", \"class_name\": "
	                      "\"function\", \"config\": \"set_global_attribute\"}")),
	       "keras.api.unsafe");
	/* the function name through registered_name */
	EXPECT(SEQ(DENSE_WITH("activation", "{\"module\": \"keras.utils\", \"class_name\": \"function\", "
	                      "\"config\": 3, \"registered_name\": \"get_file\"}")),
	       "keras.api.unsafe");
	EXPECT(SEQ("{\"module\": \"keras.layers\", \"class_name\": \"StringLookup\", \"config\": {\"name\": \"s\", "
	           "\"vocabulary\": \"gs://bucket/vocab.txt\"}}"),
	       "keras.api.unsafe");
	EXPECT(SEQ("{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"tf.io.gfile.remove\", \"function\": "
	           "\"io.gfile.remove\"}}"),
	       "keras.api.unsafe");
	EXPECT(SEQ("{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"tf.compat.v1.py_func\", \"function\": "
	           "\"compat.v1.py_func\"}}"),
	       "keras.api.unsafe");
	EXPECT(SEQ("{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"tf.raw_ops.WriteFile\", \"function\": "
	           "\"raw_ops.WriteFile\"}}"),
	       "keras.api.unsafe");
	EXPECT(SEQ("{\"class_name\": \"ClassMethod\", \"config\": {\"name\": \"tf.io.gfile.GFile.write\", "
	           "\"cls_symbol\": \"io.gfile.GFile\", \"method_name\": \"write\"}}"),
	       "keras.api.unsafe");
	CLEAN(SEQ("{\"class_name\": \"ClassMethod\", \"config\": {\"name\": \"tf.RaggedTensor.from_row_lengths\", "
	          "\"cls_symbol\": \"RaggedTensor\", \"method_name\": \"from_row_lengths\"}}"));
	/* near misses: model parts in the same modules, and names as data */
	CLEAN(SEQ("{\"module\": \"keras.models\", \"class_name\": \"Sequential\", \"config\": {\"name\": \"inner\", "
	          "\"layers\": []}}"));
	CLEAN(SEQ("{\"module\": \"keras.utils\", \"class_name\": \"FeatureSpace\", \"config\": {\"name\": \"fs\"}}"));
	CLEAN(SEQ("{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"get_file\", "
	          "\"note\": \"keras.config.enable_unsafe_deserialization\"}}"));
	CLEAN(SEQ("{\"module\": \"keras.layers\", \"class_name\": \"StringLookup\", \"config\": {\"name\": \"s\", "
	          "\"vocabulary\": [\"a\", \"b\"]}}"));
	CLEAN(SEQ("{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"tf.io.decode_raw\", \"function\": "
	          "\"io.decode_raw\"}}"));
	CLEAN(SEQ("{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"tf.math.add\", \"function\": \"math.add\"}}"));
	CLEAN(SEQ("{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"tf.dataset_ops\", \"function\": "
	          "\"database.add\"}}"));
}

static void test_tfsmlayer(void)
{
	EXPECT(SEQ("{\"module\": \"keras.layers\", \"class_name\": \"TFSMLayer\", \"config\": {\"name\": \"t\", "
	           "\"filepath\": \"/models/x\"}}"),
	       "keras.tfsmlayer");
	/* even from another module, one finding and this code */
	EXPECT(SEQ("{\"module\": \"keras.src.export.tfsm_layer\", \"class_name\": \"TFSMLayer\", \"config\": {\"name\": \"t\"}}"),
	       "keras.tfsmlayer");
	CLEAN(SEQ("{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"t\", "
	          "\"filepath\": \"/models/x\"}}"));
}

static void test_layer_names(void)
{
	static const char *const good[] = { "dense_1", "tf.math.add", "tf.__operators__.add", "a-b.c",
		                            "input_layer", "tf.compat.v1.transpose", "A9" };
	static const char *const bad[] = { "", ".", "..", "a/b", "a:b", "a b", "caf\\u00e9", "a\\u0000", "../x" };
	char json[1024];
	for (size_t i = 0; i < MSI_ARRAY_LEN(good); i++) {
		snprintf(json, sizeof json, SEQ("{\"class_name\": \"Dense\", \"config\": {\"name\": \"%s\"}}"), good[i]);
		CLEAN(json);
	}
	for (size_t i = 0; i < MSI_ARRAY_LEN(bad); i++) {
		snprintf(json, sizeof json, SEQ("{\"class_name\": \"Dense\", \"config\": {\"name\": \"%s\"}}"), bad[i]);
		EXPECT(json, "keras.layer_name.invalid");
	}
	EXPECT(SEQ("{\"class_name\": \"Dense\", \"config\": {\"name\": 5}}"), "keras.layer_name.invalid");
	/* 255 bytes pass, 256 do not */
	char name[300];
	memset(name, 'a', 256);
	name[255] = '\0';
	snprintf(json, sizeof json, SEQ("{\"class_name\": \"Dense\", \"config\": {\"name\": \"%s\"}}"), name);
	CLEAN(json);
	name[255] = 'a';
	name[256] = '\0';
	snprintf(json, sizeof json, SEQ("{\"class_name\": \"Dense\", \"config\": {\"name\": \"%s\"}}"), name);
	EXPECT(json, "keras.layer_name.invalid");
	/* the root model, nested models' layers, wrapped layers and cells */
	EXPECT("{\"class_name\": \"Sequential\", \"config\": {\"name\": \"a/b\", \"layers\": []}}",
	       "keras.layer_name.invalid");
	EXPECT(SEQ("{\"class_name\": \"Sequential\", \"config\": {\"name\": \"inner\", \"layers\": [{\"class_name\": "
	           "\"Dense\", \"config\": {\"name\": \"x y\"}}]}}"),
	       "keras.layer_name.invalid");
	EXPECT(SEQ("{\"class_name\": \"Bidirectional\", \"config\": {\"name\": \"bi\", \"layer\": {\"class_name\": "
	           "\"LSTM\", \"config\": {\"name\": \"..\"}}}}"),
	       "keras.layer_name.invalid");
	EXPECT(SEQ("{\"class_name\": \"RNN\", \"config\": {\"name\": \"rnn\", \"cell\": {\"class_name\": "
	           "\"StackedRNNCells\", \"config\": {\"name\": \"s\", \"cells\": [{\"class_name\": \"GRUCell\", "
	           "\"config\": {\"name\": \"/abs\"}}]}}}}"),
	       "keras.layer_name.invalid");
	/* Keras 2.0: the Sequential's config is the list */
	EXPECT("{\"class_name\": \"Sequential\", \"config\": [{\"class_name\": \"Dense\", \"config\": {\"name\": \"a:0\"}}]}",
	       "keras.layer_name.invalid");
	/* names of things that are not layers are not checked */
	CLEAN(SEQ(DENSE_WITH("kernel_initializer", "{\"class_name\": \"Zeros\", \"config\": {\"name\": \"a b\"}}")));
	CLEAN("{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": []}, \"compile_config\": "
	      "{\"optimizer\": {\"class_name\": \"Adam\", \"config\": {\"name\": \"Adam optimizer\"}}}}");
	/* where: the name itself */
	ms_report *r = check(SEQ("{\"class_name\": \"Dense\", \"config\": {\"name\": \"a/b\"}}"), NULL);
	CHECK(r && r->count == 1);
	CHECK_EQ_STR(r->items[0].where, "config.json:/config/layers/0/config/name");
	ms_report_free(r);
}

static void test_custom_object(void)
{
	const char *two_same = SEQ("{\"module\": null, \"class_name\": \"A\", \"config\": {\"name\": \"a\"}, "
	                           "\"registered_name\": \"Pkg>A\"}, {\"module\": null, \"class_name\": \"A\", "
	                           "\"config\": {\"name\": \"a_1\"}, \"registered_name\": \"Pkg>A\"}, {\"module\": "
	                           "null, \"class_name\": \"B\", \"config\": {\"name\": \"b\"}, \"registered_name\": "
	                           "\"Pkg>B\"}");
	ms_report *r = check(two_same, NULL);
	CHECK(r);
	CHECK_EQ_INT(count_code(r, "keras.custom_object"), 2);
	CHECK_EQ_INT(r->count, 2);
	CHECK(r->items[0].severity == MS_SEVERITY_WARNING);
	ms_report_free(r);
	/* near misses: no registered name, no module key */
	CLEAN(SEQ("{\"module\": null, \"class_name\": \"A\", \"config\": {\"name\": \"a\"}, \"registered_name\": null}"));
	CLEAN(SEQ("{\"class_name\": \"A\", \"config\": {\"name\": \"a\"}, \"registered_name\": \"Pkg>A\"}"));
}

static void test_where(void)
{
	/* RFC 6901 escapes and the prefix; no prefix gives the pointer only */
	const char *json = "{\"class_name\": \"X\", \"config\": {\"a/b\": {\"m~n\": {\"module\": \"os\", "
	                   "\"class_name\": \"Y\", \"config\": {}}}}}";
	ms_report *r = check(json, NULL);
	CHECK(r && r->count == 1);
	CHECK_EQ_STR(r->items[0].where, "config.json:/config/a~1b/m~0n");
	ms_report_free(r);
	r = msi_report_new("t", NULL);
	CHECK(r);
	CHECK_EQ_INT(msi_keras_config_check(json, strlen(json), NULL, NULL, r, NULL), MS_OK);
	CHECK(r->count == 1);
	CHECK_EQ_STR(r->items[0].where, "/config/a~1b/m~0n");
	ms_report_free(r);
	/* a root-level finding is located at the prefix */
	r = check("{\"module\": \"os\", \"class_name\": \"X\", \"config\": {}}", NULL);
	CHECK(r && r->count == 1);
	CHECK_EQ_STR(r->items[0].where, "config.json");
	ms_report_free(r);
}

static void test_invalid_and_limits(void)
{
	ms_report *r = check("{\"class_name\": \"X\", \"config\": [1, 2,]}", NULL);
	CHECK(r && r->count == 1);
	CHECK_EQ_STR(r->items[0].code, "keras.config.invalid");
	CHECK(strstr(r->items[0].message, "byte"));
	ms_report_free(r);
	EXPECT("", "keras.config.invalid");
	EXPECT("\"Sequential\"", "keras.config.invalid");
	EXPECT("null", "keras.config.invalid");
	/* an object without a class name is no finding (a training_config) */
	CLEAN("{\"class_name\": 3}");
	CLEAN("{\"loss\": \"mse\"}");
	/* Python's json writes NaN: fine */
	CLEAN("{\"class_name\": \"X\", \"config\": {\"v\": NaN, \"w\": -Infinity}}");

	char deep[400];
	size_t n = 0;
	for (int i = 0; i < 70; i++)
		deep[n++] = '[';
	for (int i = 0; i < 70; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	EXPECT(deep, "keras.config.limit");
	/* the caller's node cap */
	r = msi_report_new("t", NULL);
	CHECK(r);
	msi_json_limits small = { 64, 10 };
	const char *many = "{\"class_name\": \"X\", \"config\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]}";
	CHECK_EQ_INT(msi_keras_config_check(many, strlen(many), "c", &small, r, NULL), MS_OK);
	CHECK(r->count == 1);
	CHECK_EQ_STR(r->items[0].code, "keras.config.limit");
	ms_report_free(r);
}

/* Configs of many layers: the findings and facts caps. */
static void test_caps(void)
{
	msi_buf b = MSI_BUF_INIT;
	msi_buf_puts(&b, "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": [");
	for (size_t i = 0; i < 2500; i++)
		msi_buf_printf(&b, "%s{\"class_name\": \"Lambda\", \"config\": {\"name\": \"l%zu\"}}", i ? ", " : "", i);
	msi_buf_puts(&b, "]}}");
	CHECK(!b.failed);
	msi_keras_facts f;
	ms_report *r = check(b.data, &f);
	msi_buf_free(&b);
	CHECK(r);
	CHECK_EQ_INT(r->count, 1000);
	CHECK_EQ_INT(r->dropped, 1500);
	CHECK_EQ_INT(f.layer_count, 2500);
	CHECK_EQ_STR(f.layers[2499], "Lambda");
	msi_keras_facts_free(&f);
	ms_report_free(r);

	msi_buf_puts(&b, "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": [");
	for (size_t i = 0; i < MSI_KERAS_MAX_LAYERS + 5; i++)
		msi_buf_puts(&b, i ? ", {\"class_name\": \"D\"}" : "{\"class_name\": \"D\"}");
	msi_buf_puts(&b, "]}}");
	CHECK(!b.failed);
	r = check(b.data, &f);
	msi_buf_free(&b);
	CHECK(r);
	CHECK_EQ_INT(r->count, 0);
	CHECK_EQ_INT(f.layer_count, MSI_KERAS_MAX_LAYERS);
	CHECK_EQ_INT(f.layers_total, MSI_KERAS_MAX_LAYERS + 5);
	msi_keras_facts_free(&f);
	ms_report_free(r);
}

static void test_facts(void)
{
	msi_keras_facts f;
	ms_report *r = check("{\"module\": null, \"class_name\": \"TestModel\", \"config\": {\"name\": \"t\"}, "
	                     "\"registered_name\": \"KerasTest>TestModel\", \"build_config\": {\"input_shape\": [1]}, "
	                     "\"compile_config\": null}", &f);
	CHECK(r);
	CHECK(f.is_object && f.has_module && !f.module);
	CHECK_EQ_STR(f.class_name, "TestModel");
	CHECK_EQ_STR(f.registered_name, "KerasTest>TestModel");
	CHECK(f.has_build_config && !f.has_compile_config);
	CHECK_EQ_INT(f.layer_count, 0);
	msi_keras_facts_free(&f);
	ms_report_free(r);

	r = check("{\"class_name\": \"Functional\", \"config\": {\"layers\": [{\"class_name\": \"InputLayer\"}, "
	          "{\"class_name\": 7}, 3, {\"class_name\": \"Dense\"}]}}", &f);
	CHECK(r);
	CHECK(f.is_object && !f.has_module && !f.module && !f.registered_name);
	CHECK_EQ_INT(f.layer_count, 4);
	CHECK_EQ_STR(f.layers[0], "InputLayer");
	CHECK_EQ_STR(f.layers[1], "");
	CHECK_EQ_STR(f.layers[2], "");
	CHECK_EQ_STR(f.layers[3], "Dense");
	msi_keras_facts_free(&f);
	ms_report_free(r);

	r = check("[1]", &f);
	CHECK(r);
	CHECK(!f.is_object && !f.class_name && f.layer_count == 0);
	msi_keras_facts_free(&f);
	ms_report_free(r);
}

/* ---- data-driven: configs and npz files from the generator ---- */

static msi_jval *manifest;

static const msi_jval *fixtures(const char *key)
{
	if (!manifest)
		manifest = load_json(msi_fixture("keras_configs/manifest.json"));
	return msi_jval_get(manifest, key);
}

static bool jbool_or(const msi_jval *o, const char *key, bool dflt)
{
	const msi_jval *v = msi_jval_get(o, key);
	return v && v->kind == MSI_JBOOL ? v->boolean : dflt;
}

static bool same_str(const char *got, const msi_jval *want)
{
	if (!want || want->kind == MSI_JNULL)
		return got == NULL;
	return got && want->kind == MSI_JSTRING && strcmp(got, want->text) == 0;
}

static bool facts_match(const msi_keras_facts *f, const msi_jval *want, const char *name)
{
	bool ok = f->is_object == jbool_or(want, "is_object", false);
	if (f->is_object) {
		ok &= same_str(f->class_name, msi_jval_get(want, "class_name"));
		ok &= same_str(f->module, msi_jval_get(want, "module"));
		ok &= same_str(f->registered_name, msi_jval_get(want, "registered_name"));
		ok &= f->has_module == jbool(want, "has_module");
		ok &= f->has_build_config == jbool(want, "has_build_config");
		ok &= f->has_compile_config == jbool(want, "has_compile_config");
		const msi_jval *layers = msi_jval_get(want, "layers");
		ok &= layers && layers->count == f->layer_count && f->layers_total == f->layer_count;
		for (size_t i = 0; ok && i < f->layer_count; i++)
			ok &= same_str(f->layers[i], layers->items[i]);
	}
	if (!ok)
		fprintf(stderr, "  %s: the facts differ from the generator's\n", name);
	return ok;
}

static void test_configs(void)
{
	const msi_jval *list = fixtures("configs");
	CHECK(list && list->kind == MSI_JARRAY && list->count > 20);
	size_t failed = 0, corpus = 0;
	for (size_t i = 0; i < list->count; i++) {
		const msi_jval *c = list->items[i];
		char path[512];
		snprintf(path, sizeof path, "keras_configs/%s", jstr(c, "file"));
		size_t len;
		unsigned char *text = msi_read_file(msi_fixture(path), &len);
		CHECK(text);
		ms_report *r = msi_report_new("t", NULL);
		msi_keras_facts f;
		CHECK(r);
		CHECK_EQ_INT(msi_keras_config_check((const char *)text, len, "config.json", &limits64, r, &f), MS_OK);
		bool ok = codes_match(r, msi_jval_get(c, "codes"), jstr(c, "name"));
		ok &= facts_match(&f, msi_jval_get(c, "facts"), jstr(c, "name"));
		/* every finding is located inside config.json */
		for (size_t k = 0; k < r->count; k++)
			ok &= strncmp(r->items[k].where, "config.json", 11) == 0;
		failed += !ok;
		corpus += strncmp(jstr(c, "source"), "corpus:", 7) == 0;
		msi_keras_facts_free(&f);
		ms_report_free(r);
		free(text);
	}
	CHECK_EQ_INT(failed, 0);
	const char *state = jstr(manifest, "corpus");
	if (state && strcmp(state, "present") == 0) {
		printf("configs: %zu checked, %zu from the corpus\n", list->count, corpus);
		CHECK(corpus >= 15);
	} else {
		printf("SKIP corpus configs: ../shared/corpus absent when the fixtures were generated (%zu synthetic "
		       "checked)\n", list->count);
	}
}

typedef struct got_arrays {
	msi_buf text; /* "name dtype [d0,d1] count\n" per array */
	int stop_after;
	int seen;
} got_arrays;

static int take_array(void *user, const char *name, size_t name_len, const char *dtype, unsigned rank,
                      const uint64_t *dims, uint64_t elements)
{
	got_arrays *g = user;
	msi_buf_printf(&g->text, "%.*s %s [", (int)name_len, name, dtype);
	for (unsigned i = 0; i < rank; i++)
		msi_buf_printf(&g->text, "%s%llu", i ? "," : "", (unsigned long long)dims[i]);
	msi_buf_printf(&g->text, "] %llu\n", (unsigned long long)elements);
	return ++g->seen == g->stop_after ? 42 : 0;
}

static void expected_arrays(const msi_jval *arrays, msi_buf *out)
{
	for (size_t i = 0; arrays && i < arrays->count; i++) {
		const msi_jval *a = arrays->items[i];
		msi_buf_printf(out, "%s %s [", jstr(a, "name"), jstr(a, "dtype"));
		const msi_jval *shape = msi_jval_get(a, "shape");
		for (size_t k = 0; shape && k < shape->count; k++)
			msi_buf_printf(out, "%s%s", k ? "," : "", shape->items[k]->text);
		msi_buf_printf(out, "] %llu\n", (unsigned long long)jnum(a, "count", 0));
	}
}

static void test_npz(void)
{
	const msi_jval *list = fixtures("npz");
	CHECK(list && list->kind == MSI_JARRAY && list->count > 20);
	msi_limits lim = default_limits();
	size_t failed = 0;
	for (size_t i = 0; i < list->count; i++) {
		const msi_jval *c = list->items[i];
		char rel[512];
		snprintf(rel, sizeof rel, "keras_configs/%s", jstr(c, "file"));
		size_t len;
		unsigned char *bytes = msi_read_file(msi_fixture(rel), &len);
		CHECK(bytes);
		/* from a file (pread) and from memory */
		for (int via = 0; via < 2; via++) {
			msi_source *src = NULL;
			int rc = via == 0 ? msi_source_open_file(msi_fixture(rel), &src)
			                  : msi_source_from_memory(bytes, len, false, &src);
			CHECK_EQ_INT(rc, MS_OK);
			ms_report *r = msi_report_new("t", NULL);
			got_arrays g = { MSI_BUF_INIT, 0, 0 };
			CHECK(r);
			rc = msi_keras_npz_check(src, &lim, "model.weights.npz", r, take_array, &g);
			msi_buf want = MSI_BUF_INIT;
			expected_arrays(msi_jval_get(c, "arrays"), &want);
			bool ok = rc == MS_OK && codes_match(r, msi_jval_get(c, "codes"), jstr(c, "name"));
			const char *got_text = g.text.data ? g.text.data : "", *want_text = want.data ? want.data : "";
			if (strcmp(got_text, want_text) != 0) {
				fprintf(stderr, "  %s: arrays\n%s  expected\n%s", jstr(c, "name"), got_text, want_text);
				ok = false;
			}
			for (size_t k = 0; k < r->count; k++)
				ok &= strncmp(r->items[k].where, "model.weights.npz", 17) == 0;
			failed += !ok;
			msi_buf_free(&want);
			msi_buf_free(&g.text);
			ms_report_free(r);
			msi_source_release(src);
		}
		free(bytes);
	}
	CHECK_EQ_INT(failed, 0);
	printf("npz: %zu files checked twice\n", list->count);
}

/* The callback's non-zero return stops the check and comes back. */
static void test_npz_stop(void)
{
	const char *path = msi_fixture("keras_configs/npz/numeric.npz");
	msi_source *src = NULL;
	CHECK_EQ_INT(msi_source_open_file(path, &src), MS_OK);
	msi_limits lim = default_limits();
	ms_report *r = msi_report_new("t", NULL);
	got_arrays g = { MSI_BUF_INIT, 2, 0 };
	CHECK(r);
	CHECK_EQ_INT(msi_keras_npz_check(src, &lim, NULL, r, take_array, &g), 42);
	CHECK_EQ_INT(g.seen, 2);
	/* and no callback at all */
	CHECK_EQ_INT(msi_keras_npz_check(src, &lim, NULL, r, NULL, NULL), MS_OK);
	CHECK_EQ_INT(r->count, 0);
	msi_buf_free(&g.text);
	ms_report_free(r);
	msi_source_release(src);
}

static const msi_test_case cases[] = {
	{ "oom", test_oom }, /* first: it installs the allocator hook */
	{ "lambda", test_lambda },
	{ "function", test_function },
	{ "module", test_module },
	{ "api", test_api },
	{ "tfsmlayer", test_tfsmlayer },
	{ "layer_names", test_layer_names },
	{ "custom_object", test_custom_object },
	{ "where", test_where },
	{ "invalid_and_limits", test_invalid_and_limits },
	{ "caps", test_caps },
	{ "facts", test_facts },
	{ "configs", test_configs },
	{ "npz", test_npz },
	{ "npz_stop", test_npz_stop },
};

MSI_TEST_MAIN(cases)
