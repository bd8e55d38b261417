/*
 * Unit tests: format detection. Every rule of the sniffers gets a small
 * buffer built here (no fixture files), plus near-misses that must not
 * match. Buffers go through ms_artifact_open_buffer, the public path;
 * directory and tar listings are faked (an msi_container over memory) and
 * handed to the sniffers directly, so these tests do not depend on the
 * directory walker or the tar reader.
 */
#include "harness.h"

#include <stdint.h>

#include "artifact/artifact.h"
#include "formats/format.h"

/* ---- helpers ---------------------------------------------------------- */

typedef struct bytes {
	uint8_t *p;
	size_t len, cap;
} bytes;

static void put(bytes *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *np = realloc(b->p, cap);
		if (!np)
			abort();
		b->p = np;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void puts_(bytes *b, const char *s) { put(b, s, strlen(s)); }
/* string literals that hold NUL bytes */
#define PUT_LIT(b, s) put((b), (s), sizeof(s) - 1)
#define LIT(s) (s), sizeof(s) - 1
static void put8(bytes *b, uint8_t v) { put(b, &v, 1); }
static void put16(bytes *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	put(b, x, 2);
}
static void put32(bytes *b, uint32_t v)
{
	put16(b, (uint16_t)v);
	put16(b, (uint16_t)(v >> 16));
}
static void put64(bytes *b, uint64_t v)
{
	put32(b, (uint32_t)v);
	put32(b, (uint32_t)(v >> 32));
}
static void put64be(bytes *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--)
		put8(b, (uint8_t)(v >> (8 * i)));
}
static void zeros(bytes *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(b, 0);
}
static void varint(bytes *b, uint64_t v)
{
	while (v >= 0x80) {
		put8(b, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	put8(b, (uint8_t)v);
}
/* protobuf length-delimited field */
static void pb_bytes(bytes *b, unsigned field, const void *data, size_t n)
{
	varint(b, (uint64_t)field << 3 | 2);
	varint(b, n);
	put(b, data, n);
}
static void pb_varint(bytes *b, unsigned field, uint64_t v)
{
	varint(b, (uint64_t)field << 3);
	varint(b, v);
}

/* The detected format of a buffer (NULL: none), opened under `name`. */
static char detected[64];
static const char *detect_named(const void *data, size_t len, const char *name)
{
	ms_open_options o = MS_OPEN_OPTIONS_INIT;
	o.display_path = name;
	ms_artifact *a = NULL;
	if (ms_artifact_open_buffer(&a, data, len, &o) != MS_OK)
		return "(open failed)";
	const char *f = ms_artifact_format(a);
	if (f)
		snprintf(detected, sizeof detected, "%s", f);
	ms_artifact_free(a);
	return f ? detected : NULL;
}
static const char *detect(const bytes *b) { return detect_named(b->p, b->len, "<memory>"); }

#define CHECK_FORMAT(got, want)                                                                 \
	do {                                                                                    \
		const char *_g = (got), *_w = (want);                                           \
		if (!((_g == NULL && _w == NULL) || (_g && _w && strcmp(_g, _w) == 0))) {        \
			fprintf(stderr, "  %s:%d: detected %s, expected %s\n", __FILE__, __LINE__, \
			        _g ? _g : "(none)", _w ? _w : "(none)");                        \
			msi_test_failed_checks++;                                               \
			return;                                                                 \
		}                                                                               \
	} while (0)

/* Deterministic noise (xorshift). */
static void noise(bytes *b, size_t n, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		put8(b, (uint8_t)x);
	}
}

/* ---- a small zip writer (stored members) --------------------------------- */

typedef struct zip_member {
	const char *name;
	const char *data;
} zip_member;

/* With `data_descriptor`, local headers carry flag bit 3 and zero sizes, as
 * PyTorch writes them. With `central` false the archive stops after the
 * local entries, like a download cut short. */
static void zip_build(bytes *b, const zip_member *m, size_t n, bool data_descriptor, bool central)
{
	uint32_t offsets[32];
	for (size_t i = 0; i < n; i++) {
		size_t dl = strlen(m[i].data);
		uint32_t crc = msi_crc32(0, m[i].data, dl);
		offsets[i] = (uint32_t)b->len;
		put32(b, 0x04034b50);
		put16(b, 20);
		put16(b, data_descriptor ? 8 : 0);
		put16(b, 0); /* stored */
		put32(b, 0); /* time, date */
		put32(b, data_descriptor ? 0 : crc);
		put32(b, data_descriptor ? 0 : (uint32_t)dl);
		put32(b, data_descriptor ? 0 : (uint32_t)dl);
		put16(b, (uint16_t)strlen(m[i].name));
		put16(b, 0);
		puts_(b, m[i].name);
		put(b, m[i].data, dl);
		if (data_descriptor) {
			put32(b, 0x08074b50);
			put32(b, crc);
			put32(b, (uint32_t)dl);
			put32(b, (uint32_t)dl);
		}
	}
	if (!central)
		return;
	uint32_t cd = (uint32_t)b->len;
	for (size_t i = 0; i < n; i++) {
		size_t dl = strlen(m[i].data);
		put32(b, 0x02014b50);
		put16(b, 20);
		put16(b, 20);
		put16(b, data_descriptor ? 8 : 0);
		put16(b, 0);
		put32(b, 0);
		put32(b, msi_crc32(0, m[i].data, dl));
		put32(b, (uint32_t)dl);
		put32(b, (uint32_t)dl);
		put16(b, (uint16_t)strlen(m[i].name));
		put16(b, 0);
		put16(b, 0);
		put16(b, 0);
		put16(b, 0);
		put32(b, 0);
		put32(b, offsets[i]);
		puts_(b, m[i].name);
	}
	uint32_t cd_size = (uint32_t)b->len - cd;
	put32(b, 0x06054b50);
	put16(b, 0);
	put16(b, 0);
	put16(b, (uint16_t)n);
	put16(b, (uint16_t)n);
	put32(b, cd_size);
	put32(b, cd);
	put16(b, 0);
}

/* ---- fake listings ------------------------------------------------------- */

typedef struct fake_file {
	const char *name;
	const void *data;
	size_t len;
} fake_file;

typedef struct fake {
	msi_container c;
	msi_entry entries[16];
	const fake_file *files;
	msi_limits limits;
	msi_view v;
} fake;

static int fake_open_entry(msi_container *c, size_t index, uint64_t max_size, msi_source **out)
{
	MSI_UNUSED(max_size);
	const fake *f = c->impl;
	return msi_source_from_memory(f->files[index].data, f->files[index].len, false, out);
}

static const msi_container_ops fake_ops = { fake_open_entry, NULL, NULL };

/* A directory ("directory", no payload) or a tar ("tar", `payload` set)
 * listing of `n` files. */
static void fake_init(fake *f, const char *kind, const fake_file *files, size_t n, msi_source *payload)
{
	memset(f, 0, sizeof *f);
	f->files = files;
	for (size_t i = 0; i < n && i < 16; i++) {
		f->entries[i].name = (char *)files[i].name;
		f->entries[i].type = MSI_ENTRY_FILE;
		f->entries[i].size = files[i].len;
	}
	f->c.kind = kind;
	f->c.entries = f->entries;
	f->c.count = n;
	f->c.ops = &fake_ops;
	f->c.impl = f;
	f->limits.max_members = 1000;
	f->limits.max_member_size = 1u << 30;
	f->v.name = "model";
	f->v.src = payload;
	f->v.size = payload ? payload->size : 0;
	f->v.container = &f->c;
	f->v.limits = &f->limits;
}

/* The best-scoring format of a view, as detection picks it (no ties in
 * these tests). */
static const char *detect_view(const msi_view *v)
{
	int best = 0;
	const char *name = NULL;
	for (size_t i = 0; i < msi_format_count(); i++) {
		const msi_format *f = msi_format_at(i);
		int s = f->sniff(v);
		if (s > best) {
			best = s;
			name = f->name;
		}
	}
	return name;
}

/* ---- model builders ------------------------------------------------------- */

/* A small but complete ONNX ModelProto: ir_version, producer, a graph with
 * one Relu node and its input/output, an opset import. */
static void onnx_model(bytes *b, uint64_t ir)
{
	bytes node = { 0 }, graph = { 0 }, opset = { 0 }, vi = { 0 };
	pb_bytes(&node, 1, "x", 1);
	pb_bytes(&node, 2, "y", 1);
	pb_bytes(&node, 4, "Relu", 4);
	pb_bytes(&graph, 1, node.p, node.len);
	pb_bytes(&graph, 2, "g", 1);
	pb_bytes(&vi, 1, "x", 1);
	pb_bytes(&graph, 11, vi.p, vi.len);
	vi.len = 0;
	pb_bytes(&vi, 1, "y", 1);
	pb_bytes(&graph, 12, vi.p, vi.len);
	pb_bytes(&opset, 1, "", 0);
	pb_varint(&opset, 2, 13);
	pb_varint(b, 1, ir);
	pb_bytes(b, 2, "pytorch", 7);
	pb_bytes(b, 3, "1.13.0", 6);
	pb_bytes(b, 7, graph.p, graph.len);
	pb_bytes(b, 8, opset.p, opset.len);
	free(node.p);
	free(graph.p);
	free(opset.p);
	free(vi.p);
}

/* A SavedModel graph file: schema version 1 and one MetaGraphDef with a
 * MetaInfoDef (tags "serve") and, optionally, a Keras object identifier. */
static void saved_model_pb(bytes *b, bool keras)
{
	bytes info = { 0 }, meta = { 0 }, objgraph = { 0 }, obj = { 0 }, user = { 0 };
	pb_bytes(&info, 4, "serve", 5);
	pb_bytes(&meta, 1, info.p, info.len);
	if (keras) {
		pb_bytes(&user, 1, "_tf_keras_model", 15);
		pb_bytes(&obj, 4, user.p, user.len);
		pb_bytes(&objgraph, 1, obj.p, obj.len);
		pb_bytes(&meta, 7, objgraph.p, objgraph.len);
	}
	pb_varint(b, 1, 1);
	pb_bytes(b, 2, meta.p, meta.len);
	free(info.p);
	free(meta.p);
	free(objgraph.p);
	free(obj.p);
	free(user.p);
}

/* The legacy XGBoost binary: optional "binf", the 136-byte parameter
 * block, objective and booster names. */
static void xgb_binary(bytes *b, bool binf, const char *objective, const char *booster)
{
	if (binf)
		puts_(b, "binf");
	put32(b, 0x3f000000); /* base_score 0.5 */
	put32(b, 4);          /* num_feature */
	put32(b, 0);          /* num_class */
	zeros(b, 8);
	put32(b, 1);          /* major */
	put32(b, 7);          /* minor */
	zeros(b, 136 - 28);
	put64(b, strlen(objective));
	puts_(b, objective);
	put64(b, strlen(booster));
	puts_(b, booster);
	zeros(b, 160); /* GBTreeModelParam */
}

/* An HDF5 superblock v0 at `at` (after a user block), then an attribute
 * message v1 named `attr` when not NULL, or the bare word when `bare`. */
static void hdf5_file(bytes *b, size_t at, const char *attr, bool bare)
{
	static const uint8_t sig[8] = { 0x89, 'H', 'D', 'F', 0x0D, 0x0A, 0x1A, 0x0A };
	zeros(b, at);
	put(b, sig, 8);
	put8(b, 0); /* superblock version 0 */
	zeros(b, 200 - 9);
	if (attr) {
		size_t nl = strlen(attr) + 1;
		if (!bare) {
			put8(b, 1);
			put8(b, 0);
			put16(b, (uint16_t)nl);
			put16(b, 20);
			put16(b, 8);
		} else {
			zeros(b, 8);
		}
		put(b, attr, nl);
		zeros(b, (8 - nl % 8) % 8);
		zeros(b, 28);
	}
	zeros(b, 512);
}

/* ---- cases ---------------------------------------------------------------- */

static void test_non_models(void)
{
	bytes b = { 0 };
	CHECK_FORMAT(detect_named("", 0, "empty.bin"), NULL);
	noise(&b, 4096, 7);
	CHECK_FORMAT(detect(&b), NULL);
	for (uint32_t seed = 1; seed < 200; seed++) {
		b.len = 0;
		noise(&b, 64 + seed * 13, seed);
		CHECK_FORMAT(detect(&b), NULL);
	}
	const char *json = "{\n  \"name\": \"not a model\",\n  \"values\": [1, 2, 3]\n}\n";
	CHECK_FORMAT(detect_named(json, strlen(json), "not_a_model.json"), NULL);
	const char *text = "hello world\nthis is text, not a model\n";
	CHECK_FORMAT(detect_named(text, strlen(text), "notes.txt"), NULL);
	/* raw little-endian floats, like an ONNX external-data file */
	b.len = 0;
	for (int i = 0; i < 256; i++)
		put32(&b, 0x3f800000u + (uint32_t)i * 0x1234u);
	CHECK_FORMAT(detect_named(b.p, b.len, "weights.bin"), NULL);
	free(b.p);
}

static void test_extension_alone_gives_nothing(void)
{
	const char *text = "not really\n";
	static const char *const names[] = { "m.onnx", "m.pt", "m.json", "m.ubj", "m.model", "m.txt",
		                             "m.cbm", "m.qbin", "m.keras", "m.h5", "m.hdf5", "m.index",
		                             "m.pkl", "saved_model.pb" };
	for (size_t i = 0; i < MSI_ARRAY_LEN(names); i++)
		CHECK_FORMAT(detect_named(text, strlen(text), names[i]), NULL);
}

static void test_cbm(void)
{
	bytes b = { 0 };
	puts_(&b, "CBM1");
	put32(&b, 64);
	zeros(&b, 16);
	puts_(&b, "FlabuffersModel_v1");
	zeros(&b, 64);
	CHECK_FORMAT(detect(&b), "cbm");
	b.len = 0;
	puts_(&b, "CBM1");
	put32(&b, 16);
	zeros(&b, 16);
	CHECK_FORMAT(detect(&b), "cbm"); /* no format version in sight: lower score, still cbm */
	b.len = 0;
	puts_(&b, "CBM2");
	put32(&b, 16);
	zeros(&b, 16);
	CHECK_FORMAT(detect(&b), NULL);
	CHECK_FORMAT(detect_named("CBM", 3, "m.cbm"), NULL);
	free(b.p);
}

static void test_quantized_pool(void)
{
	bytes b = { 0 };
	put(&b, "CatboostQuantizedPool", 22); /* with its NUL */
	put32(&b, 1);
	put32(&b, 0x62BAF5A0u);
	zeros(&b, 64);
	put(&b, "CatboostQuantizedPoolEnd", 25);
	CHECK_FORMAT(detect(&b), "catboost_quantized_pool");
	/* the older per-part files have another magic */
	b.len = 0;
	puts_(&b, "CatboostQuantizedPoolPart");
	zeros(&b, 64);
	CHECK_FORMAT(detect(&b), NULL);
	free(b.p);
}

static void test_lightgbm(void)
{
	const char *v4 = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n"
	                 "max_feature_idx=1\nobjective=binary sigmoid:1\nfeature_names=a b\n"
	                 "feature_infos=[0:1] [0:1]\ntree_sizes=100\n\nTree=0\nnum_leaves=1\n";
	CHECK_FORMAT(detect_named(v4, strlen(v4), "model"), "lgbm");
	const char *crlf = "tree\r\nversion=v3\r\nnum_class=1\r\nmax_feature_idx=0\r\n";
	CHECK_FORMAT(detect_named(crlf, strlen(crlf), "model"), "lgbm");
	/* pre-v2: no version line */
	const char *old = "tree\nnum_class=3\nnum_tree_per_iteration=3\nlabel_index=0\nmax_feature_idx=3\n";
	CHECK_FORMAT(detect_named(old, strlen(old), "model"), "lgbm");
	/* near-misses */
	const char *word = "tree\nhello\nworld\n";
	CHECK_FORMAT(detect_named(word, strlen(word), "m.txt"), NULL);
	const char *fragment = "Tree=0\nnum_leaves=1\nnum_cat=0\nleaf_value=0.5\n";
	CHECK_FORMAT(detect_named(fragment, strlen(fragment), "m.txt"), NULL);
	const char *gbdt = "gbdt\nnum_class=1\nlabel_index=0\nmax_feature_idx=27\n";
	CHECK_FORMAT(detect_named(gbdt, strlen(gbdt), "m.txt"), NULL);
	const char *trees = "trees\nversion=v3\nnum_class=1\nmax_feature_idx=0\n";
	CHECK_FORMAT(detect_named(trees, strlen(trees), "m.txt"), NULL);
}

static void test_xgboost_json(void)
{
	const char *j = "{\"learner\":{\"attributes\":{},\"gradient_booster\":{\"name\":\"gbtree\"}},"
	                "\"version\":[1,7,4]}";
	CHECK_FORMAT(detect_named(j, strlen(j), "model"), "xgb");
	const char *spaced = "  {\n  \"version\": [2, 0, 0],\n  \"learner\" : {\"attributes\": {}}}";
	CHECK_FORMAT(detect_named(spaced, strlen(spaced), "model"), "xgb");
	/* cut in the middle, as a truncated download */
	const char *cut = "{\"learner\":{\"attributes\":{\"best_iteration\":\"4\",\"best_nt";
	CHECK_FORMAT(detect_named(cut, strlen(cut), "model"), "xgb");
	/* near-misses: learner nested (a pickled Booster's config), not an
	 * object, inside a string, or absent */
	const char *nested = "{\"Model\":{\"learner\":{\"attributes\":{}}},\"Config\":{}}";
	CHECK_FORMAT(detect_named(nested, strlen(nested), "m.json"), NULL);
	const char *scalar = "{\"learner\":1}";
	CHECK_FORMAT(detect_named(scalar, strlen(scalar), "m.json"), NULL);
	const char *instr = "{\"a\":\"\\\"learner\\\":{\"}";
	CHECK_FORMAT(detect_named(instr, strlen(instr), "m.json"), NULL);
	const char *catboost = "{\"model_info\":{},\"oblivious_trees\":[]}";
	CHECK_FORMAT(detect_named(catboost, strlen(catboost), "m.json"), NULL);
}

static void test_xgboost_ubjson(void)
{
	bytes b = { 0 };
	put8(&b, '{');
	put8(&b, 'L');
	put64be(&b, 7);
	puts_(&b, "learner");
	put8(&b, '{');
	put8(&b, 'L');
	put64be(&b, 10);
	puts_(&b, "attributes");
	puts_(&b, "{}}");
	CHECK_FORMAT(detect(&b), "xgb");
	/* another integer marker for the key length */
	b.len = 0;
	put8(&b, '{');
	put8(&b, 'U');
	put8(&b, 7);
	puts_(&b, "learner{}}");
	CHECK_FORMAT(detect(&b), "xgb");
	/* near-misses: another first key, a wrong length, no object value */
	b.len = 0;
	put8(&b, '{');
	put8(&b, 'L');
	put64be(&b, 7);
	puts_(&b, "leaner_{}}");
	CHECK_FORMAT(detect(&b), NULL);
	b.len = 0;
	put8(&b, '{');
	put8(&b, 'L');
	put64be(&b, 8);
	puts_(&b, "learner{}}");
	CHECK_FORMAT(detect(&b), NULL);
	b.len = 0;
	put8(&b, '{');
	put8(&b, 'L');
	put64be(&b, 7);
	puts_(&b, "learnerZ}");
	CHECK_FORMAT(detect(&b), NULL);
	free(b.p);
}

static void test_xgboost_binary(void)
{
	bytes b = { 0 };
	xgb_binary(&b, true, "binary:logistic", "gbtree");
	CHECK_FORMAT(detect(&b), "xgb");
	/* truncated inside the parameter block: the magic still says xgb */
	CHECK_FORMAT(detect_named(b.p, 40, "model"), "xgb");
	/* very old files without "binf" */
	b.len = 0;
	xgb_binary(&b, false, "multi:softmax", "gblinear");
	CHECK_FORMAT(detect(&b), "xgb");
	b.len = 0;
	xgb_binary(&b, false, "reg:squarederror", "dart");
	CHECK_FORMAT(detect(&b), "xgb");
	/* near-misses: unknown booster, objective without a family, "bs64" */
	b.len = 0;
	xgb_binary(&b, false, "binary:logistic", "gbforest");
	CHECK_FORMAT(detect_named(b.p, b.len, "m.model"), NULL);
	b.len = 0;
	xgb_binary(&b, false, "logistic", "gbtree");
	CHECK_FORMAT(detect_named(b.p, b.len, "m.model"), NULL);
	b.len = 0;
	puts_(&b, "bs64");
	zeros(&b, 300);
	CHECK_FORMAT(detect_named(b.p, b.len, "m.model"), NULL);
	free(b.p);
}

static void test_onnx(void)
{
	bytes b = { 0 };
	onnx_model(&b, 7);
	CHECK_FORMAT(detect_named(b.p, b.len, "model"), "onnx");
	/* truncated anywhere after the first bytes: still onnx */
	static const size_t cuts[] = { 10, 14, 20, 30 };
	for (size_t i = 0; i < MSI_ARRAY_LEN(cuts); i++)
		CHECK_FORMAT(detect_named(b.p, cuts[i], "model"), "onnx");
	CHECK_FORMAT(detect_named(b.p, b.len - 1, "model"), "onnx");
	/* the corpus' 10-byte cut: 08 06 12 07 "pytorc" */
	static const uint8_t ten[] = { 0x08, 0x06, 0x12, 0x07, 'p', 'y', 't', 'o', 'r', 'c' };
	CHECK_FORMAT(detect_named(ten, sizeof ten, "model"), "onnx");
	/* ir_version 0 is a broken model, still ONNX */
	b.len = 0;
	onnx_model(&b, 0);
	CHECK_FORMAT(detect_named(b.p, b.len, "model"), "onnx");
	/* fields in another order, no ir_version: the graph decides */
	b.len = 0;
	{
		bytes g = { 0 };
		pb_bytes(&g, 2, "g", 1);
		pb_bytes(&b, 2, "x", 1);
		pb_bytes(&b, 7, g.p, g.len);
		free(g.p);
	}
	CHECK_FORMAT(detect_named(b.p, b.len, "model"), "onnx");
	free(b.p);
}

static void test_onnx_near_misses(void)
{
	bytes b = { 0 };
	/* only an ir_version: no evidence of a model */
	static const uint8_t two[] = { 0x08, 0x07 };
	CHECK_FORMAT(detect_named(two, sizeof two, "m.onnx"), NULL);
	/* a field number ModelProto does not have (9) */
	onnx_model(&b, 7);
	pb_bytes(&b, 9, "zz", 2);
	CHECK_FORMAT(detect_named(b.p, b.len, "m.onnx"), NULL);
	/* graph as a varint: wrong wire type */
	b.len = 0;
	pb_varint(&b, 1, 7);
	pb_varint(&b, 7, 5);
	CHECK_FORMAT(detect_named(b.p, b.len, "m.onnx"), NULL);
	/* trailing garbage after complete fields (a cut multi-byte tag such
	 * as FF FF would read as truncation, so the garbage is a whole tag) */
	b.len = 0;
	onnx_model(&b, 7);
	put8(&b, 0x00);
	put8(&b, 0x00);
	CHECK_FORMAT(detect_named(b.p, b.len, "m.onnx"), NULL);
	/* producer_name that is not text */
	b.len = 0;
	pb_varint(&b, 1, 7);
	pb_bytes(&b, 2, "\x01\x02\x03", 3);
	pb_bytes(&b, 7, "\x12\x01g", 3);
	CHECK_FORMAT(detect_named(b.p, b.len, "m.onnx"), NULL);
	/* a graph whose first field GraphProto does not have */
	b.len = 0;
	pb_varint(&b, 1, 7);
	pb_bytes(&b, 7, "\x08\x01", 2);
	CHECK_FORMAT(detect_named(b.p, b.len, "m.onnx"), NULL);
	/* a truncated stream that does not start with ir_version */
	static const uint8_t cut[] = { 0x12, 0x07, 'p', 'y', 't' };
	CHECK_FORMAT(detect_named(cut, sizeof cut, "m.onnx"), NULL);
	free(b.p);
}

static void test_saved_model_pb_is_not_onnx(void)
{
	bytes b = { 0 };
	saved_model_pb(&b, false);
	CHECK(b.p[0] == 0x08 && b.p[1] == 0x01 && b.p[2] == 0x12);
	CHECK_FORMAT(detect_named(b.p, b.len, "saved_model.pb"), "tf_pure");
	/* under another name its MetaGraphDef (not text) still keeps ONNX off */
	const char *f = detect_named(b.p, b.len, "graph.pb");
	CHECK(f == NULL || strcmp(f, "onnx") != 0);
	b.len = 0;
	saved_model_pb(&b, true);
	CHECK_FORMAT(detect_named(b.p, b.len, "saved_model.pb"), "tf_keras");
	free(b.p);
}

static void test_pytorch_legacy(void)
{
	static const uint8_t magic[] = { 0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46,
		                         0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E };
	bytes b = { 0 };
	put(&b, magic, sizeof magic);
	put8(&b, 0x80);
	put8(&b, 0x02);
	puts_(&b, "M\xe9\x03.");
	CHECK_FORMAT(detect_named(b.p, b.len, "model"), "pt");
	/* one byte of the magic number wrong: a plain pickle */
	b.p[9] ^= 1;
	CHECK_FORMAT(detect_named(b.p, b.len, "model"), "pickle");
	free(b.p);
}

static void test_pytorch_zip(void)
{
	bytes b = { 0 };
	static const zip_member torch_save[] = {
		{ "archive/data.pkl", "\x80\x02}q\x00." },
		{ "archive/data/0", "0123456789abcdef" },
		{ "archive/version", "3\n" },
	};
	zip_build(&b, torch_save, 3, true, true);
	CHECK_FORMAT(detect(&b), "pt");
	/* TorchScript: data.pkl + constants.pkl + code/ */
	b.len = 0;
	static const zip_member script[] = {
		{ "m/data/0", "0123456789abcdef" },
		{ "m/data.pkl", "\x80\x02}q\x00." },
		{ "m/code/__torch__.py", "def forward(self):\n  pass\n" },
		{ "m/constants.pkl", "\x80\x02)." },
		{ "m/version", "3\n" },
	};
	zip_build(&b, script, 5, true, true);
	CHECK_FORMAT(detect(&b), "pt");
	/* cut before the central directory: the local headers still say pt */
	b.len = 0;
	zip_build(&b, script, 5, true, false);
	CHECK_FORMAT(detect(&b), "pt");
	/* near-misses: data.pkl too deep, or no data.pkl at all */
	b.len = 0;
	static const zip_member deep[] = {
		{ "a/b/data.pkl", "\x80\x02}q\x00." },
		{ "a/b/version", "3\n" },
	};
	zip_build(&b, deep, 2, false, true);
	CHECK_FORMAT(detect_named(b.p, b.len, "m.pt"), NULL);
	b.len = 0;
	static const zip_member plain[] = { { "readme.txt", "hello\n" } };
	zip_build(&b, plain, 1, false, true);
	CHECK_FORMAT(detect_named(b.p, b.len, "m.pt"), NULL);
	free(b.p);
}

static void test_keras_v3_zip(void)
{
	bytes b = { 0 };
	static const zip_member keras[] = {
		{ "metadata.json", "{\"keras_version\": \"3.8.0\", \"date_saved\": \"2025-02-02@03:32:53\"}" },
		{ "config.json", "{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {}}" },
		{ "model.weights.h5", "\x89HDF\r\n\x1a\n" },
	};
	zip_build(&b, keras, 3, false, true);
	CHECK_FORMAT(detect(&b), "tf_keras");
	b.len = 0;
	zip_build(&b, keras, 3, false, false);
	CHECK_FORMAT(detect(&b), "tf_keras");
	/* config.json alone is not enough */
	b.len = 0;
	zip_build(&b, keras + 1, 1, false, true);
	CHECK_FORMAT(detect_named(b.p, b.len, "m.keras"), NULL);
	free(b.p);
}

static void test_hdf5_and_keras_h5(void)
{
	bytes b = { 0 };
	hdf5_file(&b, 0, NULL, false);
	CHECK_FORMAT(detect_named(b.p, b.len, "m.h5"), "hdf5");
	b.len = 0;
	hdf5_file(&b, 0, "model_config", false);
	CHECK_FORMAT(detect_named(b.p, b.len, "m.hdf5"), "tf_keras");
	b.len = 0;
	hdf5_file(&b, 0, "keras_version", false);
	CHECK_FORMAT(detect(&b), "tf_keras");
	/* a bare word in data is no attribute */
	b.len = 0;
	hdf5_file(&b, 0, "model_config", true);
	CHECK_FORMAT(detect(&b), "hdf5");
	/* "backend" alone is too common a name */
	b.len = 0;
	hdf5_file(&b, 0, "backend", false);
	CHECK_FORMAT(detect(&b), "hdf5");
	/* signature after a 512-byte user block */
	b.len = 0;
	hdf5_file(&b, 512, NULL, false);
	CHECK_FORMAT(detect(&b), "hdf5");
	/* at an offset HDF5 never uses */
	b.len = 0;
	hdf5_file(&b, 100, NULL, false);
	CHECK_FORMAT(detect(&b), NULL);
	/* unknown superblock version */
	b.len = 0;
	hdf5_file(&b, 0, NULL, false);
	b.p[8] = 9;
	CHECK_FORMAT(detect(&b), NULL);
	free(b.p);
}

static void test_savedmodel_listing(void)
{
	bytes pb = { 0 }, kpb = { 0 };
	saved_model_pb(&pb, false);
	saved_model_pb(&kpb, true);
	fake f;
	fake_file plain[] = {
		{ "saved_model.pb", pb.p, pb.len },
		{ "variables/variables.data-00000-of-00001", "0123", 4 },
		{ "variables/variables.index", "", 0 },
	};
	fake_init(&f, "directory", plain, 3, NULL);
	CHECK_FORMAT(detect_view(&f.v), "tf_pure");
	/* Keras 2: keras_metadata.pb next to it */
	fake_file km[] = {
		{ "saved_model.pb", pb.p, pb.len },
		{ "keras_metadata.pb", "\x0a\x00", 2 },
		{ "variables/variables.index", "", 0 },
	};
	fake_init(&f, "directory", km, 3, NULL);
	CHECK_FORMAT(detect_view(&f.v), "tf_keras");
	/* before TF 2.5: only `_tf_keras_` identifiers in the object graph */
	fake_file ids[] = { { "saved_model.pb", kpb.p, kpb.len } };
	fake_init(&f, "directory", ids, 1, NULL);
	CHECK_FORMAT(detect_view(&f.v), "tf_keras");
	/* a tar made by shutil.make_archive: "./" names; text format */
	static const char pbtxt[] = "saved_model_schema_version: 1\nmeta_graphs {\n}\n";
	fake_file tar[] = {
		{ "./", "", 0 },
		{ "./saved_model.pbtxt", pbtxt, sizeof pbtxt - 1 },
		{ "./variables/variables.index", "", 0 },
	};
	msi_source *payload;
	CHECK(msi_source_from_memory("x", 1, false, &payload) == MS_OK);
	fake_init(&f, "tar", tar, 3, payload);
	f.entries[0].type = MSI_ENTRY_DIR;
	const char *got = detect_view(&f.v);
	msi_source_release(payload);
	CHECK_FORMAT(got, "tf_pure");
	/* near-miss: saved_model.pb two folders down */
	fake_file deep[] = { { "a/b/saved_model.pb", pb.p, pb.len } };
	fake_init(&f, "directory", deep, 1, NULL);
	CHECK_FORMAT(detect_view(&f.v), NULL);
	free(pb.p);
	free(kpb.p);
}

/* A TF table footer: metaindex and index block handles, padding, magic. */
static void table_index(bytes *b)
{
	zeros(b, 100); /* blocks */
	size_t start = b->len;
	varint(b, 0);
	varint(b, 40); /* metaindex block [0, 40) */
	varint(b, 45);
	varint(b, 50); /* index block [45, 95) */
	zeros(b, 40 - (b->len - start));
	put64(b, UINT64_C(0xdb4775248b80fb57));
}

static void test_checkpoint(void)
{
	bytes idx = { 0 };
	table_index(&idx);
	CHECK_FORMAT(detect_named(idx.p, idx.len, "ckpt.index"), "tf_checkpoint");
	/* a block handle outside the file */
	bytes bad = { 0 };
	zeros(&bad, 10);
	varint(&bad, 0);
	varint(&bad, 4000);
	varint(&bad, 0);
	varint(&bad, 4);
	zeros(&bad, 40 - 6);
	put64(&bad, UINT64_C(0xdb4775248b80fb57));
	CHECK_FORMAT(detect_named(bad.p, bad.len, "ckpt.index"), NULL);
	/* a wrong magic */
	idx.p[idx.len - 1] ^= 0x40;
	CHECK_FORMAT(detect_named(idx.p, idx.len, "ckpt.index"), NULL);
	idx.p[idx.len - 1] ^= 0x40;

	fake f;
	fake_file bundle[] = {
		{ "checkpoint", "model_checkpoint_path: \"ckpt\"\n", 30 },
		{ "ckpt.data-00000-of-00002", "0123", 4 },
		{ "ckpt.data-00001-of-00002", "4567", 4 },
		{ "ckpt.index", idx.p, idx.len },
	};
	fake_init(&f, "directory", bundle, 4, NULL);
	CHECK_FORMAT(detect_view(&f.v), "tf_checkpoint");
	/* an index without shards, or shards of another prefix */
	fake_file lonely[] = {
		{ "ckpt.index", idx.p, idx.len },
		{ "other.data-00000-of-00001", "0123", 4 },
	};
	fake_init(&f, "directory", lonely, 2, NULL);
	CHECK_FORMAT(detect_view(&f.v), NULL);
	/* variables of a SavedModel are the SavedModel's */
	bytes pb = { 0 };
	saved_model_pb(&pb, false);
	fake_file sm[] = {
		{ "saved_model.pb", pb.p, pb.len },
		{ "variables.data-00000-of-00001", "0123", 4 },
		{ "variables.index", idx.p, idx.len },
	};
	fake_init(&f, "directory", sm, 3, NULL);
	CHECK_FORMAT(detect_view(&f.v), "tf_pure");
	free(pb.p);
	free(idx.p);
	free(bad.p);
}

static void test_onnx_directory(void)
{
	bytes m = { 0 };
	onnx_model(&m, 9);
	fake f;
	fake_file ext[] = {
		{ "model.onnx", m.p, m.len },
		{ "model.bin", "\x00\x00\x80\x3f", 4 },
	};
	fake_init(&f, "directory", ext, 2, NULL);
	CHECK_FORMAT(detect_view(&f.v), "onnx");
	/* the same directory as a tar (serialzy wraps directories in tars) */
	fake_file tarred[] = {
		{ "./model.onnx", m.p, m.len },
		{ "./model.bin", "\x00\x00\x80\x3f", 4 },
	};
	msi_source *payload;
	CHECK(msi_source_from_memory("x", 1, false, &payload) == MS_OK);
	fake_init(&f, "tar", tarred, 2, payload);
	const char *got = detect_view(&f.v);
	msi_source_release(payload);
	CHECK_FORMAT(got, "onnx");
	/* a model under a folder does not make the listing a model */
	fake_file nested[] = { { "sub/model.onnx", m.p, m.len } };
	fake_init(&f, "directory", nested, 1, NULL);
	CHECK_FORMAT(detect_view(&f.v), NULL);
	/* a truncated model in a listing is not enough */
	fake_file cut[] = { { "model.onnx", m.p, 12 } };
	fake_init(&f, "directory", cut, 1, NULL);
	CHECK_FORMAT(detect_view(&f.v), NULL);
	/* two models: not one artifact */
	fake_file two[] = {
		{ "a.onnx", m.p, m.len },
		{ "b.onnx", m.p, m.len },
	};
	fake_init(&f, "directory", two, 2, NULL);
	CHECK_FORMAT(detect_view(&f.v), NULL);
	/* a .onnx name over bytes that are not ONNX */
	fake_file fakeonnx[] = { { "model.onnx", "hello\n", 6 } };
	fake_init(&f, "directory", fakeonnx, 1, NULL);
	CHECK_FORMAT(detect_view(&f.v), NULL);
	free(m.p);
}

/* A protocol-4 pickle of `module.name()` with an empty state dict, the way
 * pickle.dump writes an estimator (STACK_GLOBAL, NEWOBJ, BUILD). */
static void pickle_object4(bytes *b, const char *module, const char *name)
{
	put8(b, 0x80);
	put8(b, 4);
	put8(b, 0x95);
	put64(b, 0);
	put8(b, 0x8C);
	put8(b, (uint8_t)strlen(module));
	puts_(b, module);
	put8(b, 0x94);
	put8(b, 0x8C);
	put8(b, (uint8_t)strlen(name));
	puts_(b, name);
	put8(b, 0x94);
	put8(b, 0x93); /* STACK_GLOBAL */
	put8(b, 0x94);
	put8(b, ')');
	put8(b, 0x81); /* NEWOBJ */
	put8(b, 0x94);
	put8(b, '}');
	put8(b, 0x94);
	put8(b, 0x8C);
	put8(b, 12);
	puts_(b, "n_estimators");
	put8(b, 0x94);
	put8(b, 'K');
	put8(b, 100);
	put8(b, 's'); /* SETITEM */
	put8(b, 'b'); /* BUILD */
	put8(b, '.');
}

static void test_sklearn(void)
{
	bytes b = { 0 };
	pickle_object4(&b, "sklearn.ensemble._forest", "RandomForestRegressor");
	CHECK_FORMAT(detect_named(b.p, b.len, "model.pickle"), "skl");
	b.len = 0;
	pickle_object4(&b, "sklearn.ensemble._gb", "GradientBoostingClassifier");
	CHECK_FORMAT(detect(&b), "skl");
	b.len = 0;
	pickle_object4(&b, "sklearn.ensemble.iforest", "IsolationForest");
	CHECK_FORMAT(detect(&b), "skl");
	/* protocol 2 with GLOBAL */
	b.len = 0;
	PUT_LIT(&b, "\x80\x02" "csklearn.ensemble._forest\nExtraTreesRegressor\nq\x00)\x81q\x01}q\x02" "b.");
	CHECK_FORMAT(detect(&b), "skl");
	/* protocol 0: copyreg helper first, then the class */
	b.len = 0;
	puts_(&b, "ccopy_reg\n_reconstructor\np0\n(csklearn.ensemble._forest\nExtraTreesClassifier\np1\n"
	          "c__builtin__\nobject\np2\nNtp3\nRp4\n(dp5\nb.");
	CHECK_FORMAT(detect(&b), "skl");
	/* near-misses: another sklearn class, another module, a forest that is
	 * not the root object's class */
	b.len = 0;
	pickle_object4(&b, "sklearn.linear_model._logistic", "LogisticRegression");
	CHECK_FORMAT(detect_named(b.p, b.len, "model.pkl"), "pickle");
	b.len = 0;
	pickle_object4(&b, "sklearn.ensemble._forest", "RandomForestClassifier");
	CHECK_FORMAT(detect(&b), "pickle");
	b.len = 0;
	pickle_object4(&b, "mylib.ensemble._forest", "RandomForestRegressor");
	CHECK_FORMAT(detect(&b), "pickle");
	free(b.p);
}

static void test_sklearn_serialzy_hint(void)
{
	/* serialzy says skl and the payload is a pickle: skl, whatever its class
	 * (a subclass, or one the scanner cannot see) */
	const char *header = "{\"data_format\": \"skl\", \"schema_format\": \"serialzy_python_type_reference\", "
	                     "\"schema_content\": \"{\\\"module\\\": \\\"sklearn.ensemble._forest\\\", "
	                     "\\\"name\\\": \\\"RandomForestRegressor\\\"}\", \"meta\": {\"sklearn\": \"1.2.1\"}}";
	bytes b = { 0 };
	puts_(&b, "serialzy");
	put64(&b, strlen(header));
	puts_(&b, header);
	pickle_object4(&b, "mymodels", "MyForest");
	CHECK_FORMAT(detect(&b), "skl");
	/* the same header over bytes that are no pickle */
	b.len = 0;
	puts_(&b, "serialzy");
	put64(&b, strlen(header));
	puts_(&b, header);
	puts_(&b, "hello, not a pickle\n");
	CHECK_FORMAT(detect(&b), NULL);
	free(b.p);
}

static void test_pickle(void)
{
	/* protocol 5, as cloudpickle writes: {"a": 1} */
	bytes b = { 0 };
	put8(&b, 0x80);
	put8(&b, 5);
	put8(&b, 0x95);
	put64(&b, 10);
	PUT_LIT(&b, "}\x94\x8c\x01" "a\x94K\x01s.");
	CHECK_FORMAT(detect(&b), "pickle");
	/* protocol 0 text pickle: {'a': 1} */
	const char *p0 = "(dp0\nS'a'\np1\nI1\ns.";
	CHECK_FORMAT(detect_named(p0, strlen(p0), "x"), "pickle");
	/* protocol 1: [None, 2] */
	static const char p1[] = "]q\x00(NK\x02" "e.";
	CHECK_FORMAT(detect_named(LIT(p1), "x"), "pickle");
	/* a pickle cut short (PROTO header and valid opcodes up to the end) */
	b.len = 0;
	pickle_object4(&b, "collections", "OrderedDict");
	CHECK_FORMAT(detect_named(b.p, b.len - 4, "x"), "pickle");
	/* near-misses: junk after a protocol 0 stream, stack underflow, an
	 * unknown opcode after PROTO, PROTO 6, tiny streams */
	char junk[64];
	snprintf(junk, sizeof junk, "%s trailing", p0);
	CHECK_FORMAT(detect_named(junk, strlen(junk), "x.pkl"), NULL);
	const char *under = "\x80\x02s.";
	CHECK_FORMAT(detect_named(under, 4, "x.pkl"), NULL);
	const char *unknown = "\x80\x04\xff\xff\xff\xff";
	CHECK_FORMAT(detect_named(unknown, 6, "x.pkl"), NULL);
	const char *p6 = "\x80\x06}.";
	CHECK_FORMAT(detect_named(p6, 4, "x.pkl"), NULL);
	CHECK_FORMAT(detect_named("N.", 2, "x.pkl"), NULL);
	const char *tuple = "tree\nversion=v4\n";
	CHECK_FORMAT(detect_named(tuple, strlen(tuple), "x.pkl"), NULL);
	free(b.p);
}

/* The JSON of ms_artifact_inspect for a buffer (static, truncated). */
static char inspected[4096];
static const char *inspect_json(const void *data, size_t len)
{
	inspected[0] = '\0';
	ms_artifact *a = NULL;
	if (ms_artifact_open_buffer(&a, data, len, NULL) != MS_OK)
		return inspected;
	char *json = NULL;
	/* MS_EFORMAT still hands over the JSON read so far */
	ms_artifact_inspect(a, NULL, &json, NULL);
	if (json)
		snprintf(inspected, sizeof inspected, "%s", json);
	ms_free(json);
	ms_artifact_free(a);
	return inspected;
}

static void test_cheap_inspect(void)
{
	bytes b = { 0 };
	onnx_model(&b, 8);
	const char *j = inspect_json(b.p, b.len);
	CHECK(strstr(j, "\"ir_version\":8"));
	CHECK(strstr(j, "\"producer_name\":\"pytorch\""));
	CHECK(strstr(j, "\"producer_version\":\"1.13.0\""));
	CHECK(strstr(j, "\"opset_import\":{\"\":13}"));
	CHECK(!strstr(j, "\"error\""));
	/* cut short: still ONNX, and an error saying where it breaks */
	j = inspect_json(b.p, 12);
	CHECK(strstr(j, "\"format\":\"onnx\""));
	CHECK(strstr(j, "\"error\":\"the ONNX model does not parse"));
	CHECK(strstr(j, "end of its message"));

	b.len = 0;
	xgb_binary(&b, true, "multi:softmax", "gbtree");
	j = inspect_json(b.p, b.len);
	CHECK(strstr(j, "\"encoding\":\"binary\""));
	CHECK(strstr(j, "\"objective\":\"multi:softmax\""));
	CHECK(strstr(j, "\"version\":[1,7]"));

	b.len = 0;
	put8(&b, '{');
	put8(&b, 'L');
	put64be(&b, 7);
	puts_(&b, "learner{}");
	put8(&b, 'L');
	put64be(&b, 7);
	puts_(&b, "version[#L");
	put64be(&b, 3);
	PUT_LIT(&b, "i\x02i\x01U\x03}");
	j = inspect_json(b.p, b.len);
	CHECK(strstr(j, "\"encoding\":\"ubjson\""));
	CHECK(strstr(j, "\"version\":[2,1,3]"));

	const char *lg = "tree\nversion=v3\nnum_class=3\nobjective=multiclass num_class:3\ntree_sizes=10 20 30\n";
	j = inspect_json(lg, strlen(lg));
	CHECK(strstr(j, "\"version\":\"v3\""));
	CHECK(strstr(j, "\"num_class\":3"));
	CHECK(strstr(j, "\"num_trees\":3"));

	b.len = 0;
	static const zip_member script[] = {
		{ "m/data.pkl", "\x80\x02}q\x00." },
		{ "m/constants.pkl", "\x80\x02)." },
	};
	zip_build(&b, script, 2, true, true);
	j = inspect_json(b.p, b.len);
	CHECK(strstr(j, "\"kind\":\"torchscript\""));
	CHECK(strstr(j, "\"archive_prefix\":\"m\""));

	b.len = 0;
	pickle_object4(&b, "sklearn.ensemble._gb", "GradientBoostingRegressor");
	j = inspect_json(b.p, b.len);
	CHECK(strstr(j, "\"format\":\"skl\""));
	CHECK(strstr(j, "\"class_name\":\"GradientBoostingRegressor\""));
	free(b.p);
}

static const msi_test_case cases[] = {
	{ "non_models", test_non_models },
	{ "extension_alone_gives_nothing", test_extension_alone_gives_nothing },
	{ "cbm", test_cbm },
	{ "quantized_pool", test_quantized_pool },
	{ "lightgbm", test_lightgbm },
	{ "xgboost_json", test_xgboost_json },
	{ "xgboost_ubjson", test_xgboost_ubjson },
	{ "xgboost_binary", test_xgboost_binary },
	{ "onnx", test_onnx },
	{ "onnx_near_misses", test_onnx_near_misses },
	{ "saved_model_pb_is_not_onnx", test_saved_model_pb_is_not_onnx },
	{ "pytorch_legacy", test_pytorch_legacy },
	{ "pytorch_zip", test_pytorch_zip },
	{ "keras_v3_zip", test_keras_v3_zip },
	{ "hdf5_and_keras_h5", test_hdf5_and_keras_h5 },
	{ "savedmodel_listing", test_savedmodel_listing },
	{ "checkpoint", test_checkpoint },
	{ "onnx_directory", test_onnx_directory },
	{ "sklearn", test_sklearn },
	{ "sklearn_serialzy_hint", test_sklearn_serialzy_hint },
	{ "pickle", test_pickle },
	{ "cheap_inspect", test_cheap_inspect },
};

MSI_TEST_MAIN(cases)
