/*
 * scikit-learn ensemble model as a Python pickle: sniff, inspect, and the
 * plain-pickle validation that `pickle` does (pickle.c).
 *
 * serialzy's `skl` serializer takes exactly six sklearn.ensemble classes
 * (SERIALZY.md §3) and pickles them, so the root object's class, the first
 * GLOBAL / STACK_GLOBAL of the stream, names one of them. Any other pickle
 * is the `pickle` format. Only names are compared; nothing is imported.
 */
#include <string.h>

#include "pickle_scan.h"

/* Modules since scikit-learn 0.22 (private) and before (public). */
static const char *const modules[] = {
	"sklearn.ensemble._gb",
	"sklearn.ensemble._iforest",
	"sklearn.ensemble._forest",
	"sklearn.ensemble.gradient_boosting",
	"sklearn.ensemble.iforest",
	"sklearn.ensemble.forest",
};

static const char *const classes[] = {
	"GradientBoostingClassifier",
	"GradientBoostingRegressor",
	"IsolationForest",
	"RandomForestRegressor",
	"ExtraTreesClassifier",
	"ExtraTreesRegressor",
};

static bool name_in(const uint8_t *s, size_t n, const char *const *set, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(set[i]) == n && memcmp(set[i], s, n) == 0)
			return true;
	return false;
}

typedef struct root_class {
	bool seen;
	bool match;
	const uint8_t *module, *name;
	size_t mlen, nlen;
} root_class;

/* Protocols 0 and 1 build objects through copyreg's helpers: the class
 * that matters is the GLOBAL after them. */
static bool is_copyreg_helper(const uint8_t *m, size_t ml, const uint8_t *n, size_t nl)
{
	bool mod = (ml == 7 && memcmp(m, "copyreg", 7) == 0) || (ml == 8 && memcmp(m, "copy_reg", 8) == 0);
	return mod && ((nl == 14 && memcmp(n, "_reconstructor", 14) == 0) ||
	               (nl == 9 && memcmp(n, "__newobj__", 9) == 0) ||
	               (nl == 13 && memcmp(n, "__newobj_ex__", 13) == 0));
}

static bool on_global(const uint8_t *module, size_t mlen, const uint8_t *name, size_t nlen, void *user)
{
	root_class *r = user;
	if (is_copyreg_helper(module, mlen, name, nlen))
		return true;
	r->seen = true;
	r->module = module;
	r->mlen = mlen;
	r->name = name;
	r->nlen = nlen;
	r->match = name_in(module, mlen, modules, MSI_ARRAY_LEN(modules)) &&
	           name_in(name, nlen, classes, MSI_ARRAY_LEN(classes));
	return false;
}

static void find_root_class(const msi_view *v, root_class *r, msi_pickle_info *info)
{
	memset(r, 0, sizeof *r);
	msi_pickle_scan(v->head, v->head_len, on_global, r, info);
}

static int sniff(const msi_view *v)
{
	msi_pickle_info info;
	int score = msi_pickle_score(v, &info);
	/* A PROTO stream may score 0 only because the window ended early or
	 * the stream breaks later (joblib's raw arrays): its root class, which
	 * comes first, still decides. */
	bool proto = v->src && !v->container && v->head_len >= 2 && v->head[0] == 0x80 && v->head[1] >= 2 &&
	             v->head[1] <= 5;
	if (score == 0 && !proto)
		return 0;
	root_class r;
	find_root_class(v, &r, &info);
	if (r.match)
		return 95; /* above pickle's 90: the more specific reading */
	if (score > 0 && v->hint && strcmp(v->hint, "skl") == 0)
		return 95; /* the serialzy header says skl and the payload is a pickle */
	return 0;
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	if (!v->src || v->head_len == 0)
		return MS_OK;
	root_class r;
	msi_pickle_info info;
	find_root_class(v, &r, &info);
	msi_json_key(out->model, "pickle_protocol");
	msi_json_int(out->model, info.protocol);
	if (r.seen) {
		msi_json_key(out->model, "module");
		msi_json_stringn(out->model, (const char *)r.module, r.mlen);
		msi_json_key(out->model, "class_name");
		msi_json_stringn(out->model, (const char *)r.name, r.nlen);
	}
	return msi_pickle_inspect_globals(v, out->model);
}

const msi_format msi_format_skl = {
	.name = "skl",
	.description = "scikit-learn ensemble model as a Python pickle",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = msi_pickle_validate_plain,
};
