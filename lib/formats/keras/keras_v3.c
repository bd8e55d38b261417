/*
 * .keras v3 archives (FORMATS.md §6.1): a zip of metadata.json,
 * config.json, one weights file (model.weights.h5 or model.weights.npz) and
 * optional assets/. The zip layer (our own structural pass) has already
 * listed the members and kept its findings; this file reads the members a
 * model needs. Keras writes them stored, so the weights file is read in
 * place through a slice of the archive, never copied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keras.h"

/* Keras' own zip-bomb rule (saving_lib): a member above 4 GiB may not be
 * more than 100 times its compressed size. */
#define KERAS_BOMB_FLOOR (UINT64_C(4) << 30)
#define KERAS_BOMB_RATIO 100

static void check_member_sizes(keras_doc *d)
{
	const msi_container *c = d->v->container;
	for (size_t i = 0; i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		uint64_t limit;
		if (e->type != MSI_ENTRY_FILE || e->size <= KERAS_BOMB_FLOOR)
			continue;
		if (msi_mul_u64(e->csize, KERAS_BOMB_RATIO, &limit) && e->size > limit)
			msi_report_add(d->r, "keras.member.too_large", e->name,
			               "member '%s' declares %llu bytes from %llu compressed (Keras refuses more than "
			               "%dx above 4 GiB)", e->name, (unsigned long long)e->size,
			               (unsigned long long)e->csize, KERAS_BOMB_RATIO);
	}
}

/* The whole of the small member `name` (a JSON document), at most the
 * metadata cap. MS_OK with *out (NUL-terminated), or with NULL when the
 * member is absent, unsafe, too large or unreadable: a finding with `code`
 * (or keras.member.too_large) says which. */
static int read_member(keras_doc *d, const char *name, const char *code_missing, char **out, size_t *len)
{
	msi_container *c = d->v->container;
	ssize_t idx = msi_container_find(c, name);
	*out = NULL;
	*len = 0;
	if (idx < 0) {
		msi_report_add(d->r, code_missing, NULL, "the archive has no %s", name);
		return MS_OK;
	}
	if (c->entries[idx].unsafe) {
		msi_report_add(d->r, code_missing, c->entries[idx].name,
		               "member '%s' breaks the archive's rules (see the zip findings) and is not read",
		               c->entries[idx].name);
		return MS_OK;
	}
	uint64_t cap = d->v->limits->max_metadata;
	const msi_entry *e = &c->entries[idx];
	if (e->size > cap) {
		msi_report_add(d->r, "keras.member.too_large", e->name,
		               "member '%s' declares %llu bytes; the reader's cap for it is %llu", e->name,
		               (unsigned long long)e->size, (unsigned long long)cap);
		return MS_OK;
	}
	msi_source *src = NULL;
	int rc = c->ops->open_entry(c, (size_t)idx, cap, &src);
	if (rc != MS_OK) {
		if (rc == MS_ENOMEM)
			return rc;
		msi_report_add(d->r, code_missing, e->name, "member '%s' cannot be read: %s", e->name, ms_error_last());
		return MS_OK;
	}
	char *buf = msi_malloc((size_t)src->size + 1);
	if (!buf) {
		msi_source_release(src);
		return MS_ENOMEM;
	}
	rc = msi_source_read(src, 0, buf, (size_t)src->size);
	size_t n = (size_t)src->size;
	msi_source_release(src);
	if (rc != MS_OK) {
		msi_free(buf);
		if (rc == MS_ENOMEM)
			return rc;
		msi_report_add(d->r, code_missing, e->name, "member '%s' cannot be read: %s", e->name, ms_error_last());
		return MS_OK;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return MS_OK;
}

static int read_metadata(keras_doc *d)
{
	char *text;
	size_t len;
	int rc = read_member(d, "metadata.json", "keras.metadata.invalid", &text, &len);
	if (rc != MS_OK || !text)
		return rc;
	msi_json_limits lim = { 16, 4096 };
	msi_jval *doc = NULL;
	rc = msi_json_parse(text, len, &lim, &doc);
	msi_free(text);
	if (rc == MS_ENOMEM)
		return rc;
	if (rc != MS_OK || doc->kind != MSI_JOBJECT) {
		msi_report_add(d->r, "keras.metadata.invalid", "metadata.json", "metadata.json is not a JSON object%s%s",
		               rc != MS_OK ? ": " : "", rc != MS_OK ? ms_error_last() : "");
		msi_jval_free(doc);
		return MS_OK;
	}
	const msi_jval *kv = msi_jval_get(doc, "keras_version");
	if (kv && kv->kind == MSI_JSTRING) {
		d->keras_version = msi_strndup(kv->text, kv->text_len);
	} else {
		msi_report_add(d->r, "keras.metadata.invalid", "metadata.json",
		               "metadata.json has no keras_version string");
	}
	const msi_jval *ds = msi_jval_get(doc, "date_saved");
	if (ds && ds->kind == MSI_JSTRING)
		d->date_saved = msi_strndup(ds->text, ds->text_len);
	bool oom = (kv && kv->kind == MSI_JSTRING && !d->keras_version) ||
	           (ds && ds->kind == MSI_JSTRING && !d->date_saved);
	msi_jval_free(doc);
	return oom ? MS_ENOMEM : MS_OK;
}

static int read_config(keras_doc *d)
{
	char *text;
	size_t len;
	int rc = read_member(d, "config.json", "keras.config.invalid", &text, &len);
	if (rc != MS_OK || !text)
		return rc;
	keras_check_config(d, text, len, "config.json", true);
	msi_free(text);
	return d->failed ? MS_ENOMEM : MS_OK;
}

/* ---- weights ---- */

static int add_npz_array(void *user, const char *name, size_t name_len, const char *dtype, unsigned rank,
			 const uint64_t *dims, uint64_t elements)
{
	keras_doc *d = user;
	if (name_len >= 9 && memcmp(name, "optimizer", 9) == 0) {
		d->optimizer_weights++;
		return 0;
	}
	return keras_weight_push(d, name, name_len, dtype, rank, dims, elements) ? 0 : MS_ENOMEM;
}

/* Keras names a layer's weights group after its class (to_snake_case of
 * the class name, then _1, _2, ... for repeats, saving_lib's container
 * walk): every layers/<name> group must belong to a layer in the config. */
static size_t snake_case(const char *cls, char *out, size_t cap)
{
	char a[256], b[300];
	size_t n = 0;
	for (const char *p = cls; *p && n + 1 < sizeof a; p++) /* drop \W */
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
			a[n++] = *p;
	a[n] = 0;
	/* (.)([A-Z][a-z]+) -> \1_\2 */
	size_t m = 0;
	for (size_t i = 0; i < n && m + 3 < sizeof b;) {
		if (i + 2 < n && a[i + 1] >= 'A' && a[i + 1] <= 'Z' && a[i + 2] >= 'a' && a[i + 2] <= 'z') {
			b[m++] = a[i];
			b[m++] = '_';
			b[m++] = a[i + 1];
			i += 2;
			while (i < n && a[i] >= 'a' && a[i] <= 'z' && m + 1 < sizeof b)
				b[m++] = a[i++];
		} else {
			b[m++] = a[i++];
		}
	}
	/* ([a-z])([A-Z]) -> \1_\2, then lower case */
	size_t k = 0;
	for (size_t i = 0; i < m && k + 3 < cap;) {
		char c = b[i];
		if (c >= 'a' && c <= 'z' && i + 1 < m && b[i + 1] >= 'A' && b[i + 1] <= 'Z') {
			out[k++] = c;
			out[k++] = '_';
			out[k++] = (char)(b[i + 1] - 'A' + 'a');
			i += 2;
		} else {
			out[k++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
			i++;
		}
	}
	out[k] = 0;
	return k;
}

typedef struct snake_name {
	char name[300];
	size_t order;       /* the layer's place in the config */
} snake_name;

static int cmp_snake(const void *a, const void *b)
{
	const snake_name *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorting keeps this n log n: a config may list 100,000 layers. */
static void check_layer_groups(keras_doc *d)
{
	const msi_keras_facts *f = &d->cfg;
	/* past the facts' layer cap the config's layers are not all known */
	if (!d->validating || !d->cfg.is_object || f->layer_count == 0 || f->layers_total > f->layer_count ||
	    d->nweights == 0)
		return;
	snake_name *names = msi_calloc(f->layer_count, sizeof *names);
	keras_strs expected = { 0 };
	if (!names) {
		d->failed = true;
		return;
	}
	for (size_t i = 0; i < f->layer_count; i++) {
		snake_case(f->layers[i] ? f->layers[i] : "", names[i].name, sizeof names[i].name);
		names[i].order = i;
	}
	qsort(names, f->layer_count, sizeof *names, cmp_snake);
	/* the k-th layer of a name in config order is <name>_k (k > 0) */
	for (size_t i = 0, k = 0; i < f->layer_count; i++) {
		k = i && strcmp(names[i].name, names[i - 1].name) == 0 ? k + 1 : 0;
		char full[340];
		if (k)
			snprintf(full, sizeof full, "%s_%zu", names[i].name, k);
		else
			snprintf(full, sizeof full, "%s", names[i].name);
		if (!keras_strs_push(d, &expected, full, strlen(full)))
			goto done;
	}
	qsort(expected.items, expected.count, sizeof *expected.items, cmp_cstr);
	const char *reported = NULL;
	size_t reported_len = 0;
	for (size_t i = 0; i < d->nweights; i++) {
		const char *n = d->weights[i].name;
		if (strncmp(n, "layers/", 7) != 0)
			continue;
		const char *g = n + 7, *end = strchr(g, '/');
		size_t gl = end ? (size_t)(end - g) : strlen(g);
		if (reported && reported_len == gl && memcmp(reported, g, gl) == 0)
			continue;
		reported = g;
		reported_len = gl;
		char key[340];
		if (gl >= sizeof key)
			gl = sizeof key - 1;
		memcpy(key, g, gl);
		key[gl] = 0;
		const char *kp = key;
		if (!bsearch(&kp, expected.items, expected.count, sizeof *expected.items, cmp_cstr))
			msi_report_add(d->r, "keras.weights.mismatch", "model.weights.h5",
			               "weights of 'layers/%s' belong to no layer of the config", key);
	}
done:
	msi_free(names);
	keras_strs_free(&expected);
}

static int read_weights(keras_doc *d)
{
	msi_container *c = d->v->container;
	ssize_t h5 = msi_container_find(c, "model.weights.h5");
	ssize_t npz = msi_container_find(c, "model.weights.npz");
	if (h5 >= 0 && npz >= 0)
		msi_report_add(d->r, "keras.weights.multiple", NULL,
		               "the archive has both model.weights.h5 and model.weights.npz");
	if (h5 < 0 && npz < 0) {
		msi_report_add(d->r, "keras.weights.missing", NULL,
		               "the archive has neither model.weights.h5 nor model.weights.npz");
		return MS_OK;
	}
	ssize_t idx = h5 >= 0 ? h5 : npz;
	const msi_entry *e = &c->entries[idx];
	d->weights_file = h5 >= 0 ? "model.weights.h5" : "model.weights.npz";
	if (e->unsafe)
		return MS_OK;
	/* stored (as Keras writes it): a slice, read in place; deflated: inflated
	 * up to the metadata cap */
	uint64_t cap = e->method == 0 ? UINT64_MAX : d->v->limits->max_metadata;
	if (e->method != 0 && e->size > cap) {
		msi_report_add(d->r, "keras.member.too_large", e->name,
		               "compressed weights file '%s' declares %llu bytes; the reader inflates at most %llu",
		               e->name, (unsigned long long)e->size, (unsigned long long)cap);
		return MS_OK;
	}
	msi_source *src = NULL;
	int rc = c->ops->open_entry(c, (size_t)idx, cap, &src);
	if (rc != MS_OK) {
		if (rc == MS_ENOMEM)
			return rc;
		msi_report_add(d->r, "keras.weights.missing", e->name, "the weights file cannot be read: %s",
		               ms_error_last());
		return MS_OK;
	}
	if (h5 >= 0)
		rc = keras_h5_load_v3_weights(d, src, "model.weights.h5");
	else
		rc = msi_keras_npz_check(src, d->v->limits, "model.weights.npz", d->r, add_npz_array, d);
	msi_source_release(src);
	if (rc == MS_OK && h5 >= 0)
		check_layer_groups(d);
	return rc == MS_EFORMAT ? MS_OK : rc;
}

int keras_v3_load(keras_doc *d)
{
	d->container = KERAS_CONTAINER_V3;
	check_member_sizes(d);
	int rc = read_metadata(d);
	if (rc == MS_OK)
		rc = read_config(d);
	if (rc == MS_OK)
		rc = read_weights(d);
	return d->failed && rc == MS_OK ? MS_ENOMEM : rc;
}
