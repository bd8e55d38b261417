/*
 * Keras models in HDF5 files (FORMATS.md §6.2): what Keras 2's
 * model.save('x.h5') and save_weights() write, and Keras 3's legacy path;
 * plus the model.weights.h5 of a .keras archive (§6.1), which lays weights
 * out by object path instead.
 *
 * Legacy layout: root attributes keras_version, backend, model_config (JSON)
 * and training_config (JSON); group model_weights with attribute
 * layer_names, one group per layer with attribute weight_names naming its
 * datasets (paths relative to the layer group); optimizer_weights likewise.
 * A weights-only file has layer_names on the root and no model_config.
 * Keras splits an attribute over 64 KiB into name0, name1, ... .
 *
 * Everything goes through the bounded HDF5 reader (../hdf5/h5.h): only
 * object headers, heaps and B-tree nodes are read, never weight payloads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keras.h"

/* ---- small shared helpers ---- */

bool keras_strs_push(keras_doc *d, keras_strs *s, const char *text, size_t len)
{
	char **items = msi_grow(s->items, &s->cap, s->count, sizeof *items, 8);
	if (!items)
		goto oom;
	s->items = items;
	char *copy = msi_strndup(text, len);
	if (!copy)
		goto oom;
	s->items[s->count++] = copy;
	return true;
oom:
	d->failed = true;
	return false;
}

void keras_strs_free(keras_strs *s)
{
	for (size_t i = 0; i < s->count; i++)
		msi_free(s->items[i]);
	msi_free(s->items);
	memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void keras_strs_sort(keras_strs *s)
{
	if (s->count > 1)
		qsort(s->items, s->count, sizeof *s->items, cmp_str);
}

void keras_check_config(keras_doc *d, const char *json, size_t len, const char *where, bool is_model)
{
	msi_json_limits lim = { d->v->limits->max_depth, 1000000 };
	if (is_model) {
		msi_keras_facts_free(&d->cfg);
		if (msi_keras_config_check(json, len, where, &lim, d->r, &d->cfg) != MS_OK)
			d->failed = true;
		return;
	}
	msi_keras_facts scratch;
	memset(&scratch, 0, sizeof scratch);
	if (msi_keras_config_check(json, len, where, &lim, d->r, &scratch) != MS_OK)
		d->failed = true;
	msi_keras_facts_free(&scratch);
}

/* ---- attributes ---- */

/* Decoding every element of a string attribute into a list. `spent`
 * is shared by every attribute of one pass, so that thousands of chunks
 * (or of empty strings) cannot add up past the cap: each string costs its
 * bytes plus its slot. */
typedef struct strs_sink {
	keras_doc *d;
	keras_strs *out;
	uint64_t cap;
	uint64_t *spent;
} strs_sink;

static int take_string(void *user, size_t index, const char *s, size_t len)
{
	(void)index;
	strs_sink *k = user;
	uint64_t cost = (uint64_t)len + sizeof(char *) + 1;
	if (*k->spent + cost > k->cap)
		return MS_ELIMIT;
	*k->spent += cost;
	return keras_strs_push(k->d, k->out, s, len) ? 0 : MS_ENOMEM;
}

/* Reader results that are findings already (the reader said why):
 * broken structures and caps. Memory and I/O failures go up. */
static int soft(int rc)
{
	return rc == MS_EFORMAT || rc == MS_ELIMIT ? MS_OK : rc;
}

/* What one pass over an object's attributes collects. `want` names the
 * Keras string attributes of interest; the list attributes Keras splits
 * past 64 KiB (layer_names, weight_names: `chunked`) arrive as want0,
 * want1, ... and are joined in order, as load_attributes_from_hdf5_group
 * does. */
enum { MAX_WANTED = 6, MAX_CHUNKS = 65536 };

typedef struct attr_pass {
	keras_doc *d;
	const char *where;
	const char *want[MAX_WANTED];
	size_t nwant;
	keras_strs values[MAX_WANTED];      /* the whole attribute */
	bool found[MAX_WANTED];
	bool bad[MAX_WANTED];               /* present but not strings */
	bool chunked[MAX_WANTED];           /* may be split into want0, want1, ... */
	bool over_cap;                      /* a string cap was reached (one finding) */
	uint64_t spent;                     /* bytes and slots taken by this pass */
	struct attr_chunk {
		keras_strs strings;
		bool present;
	} *chunks[MAX_WANTED];              /* split parts by chunk number */
	size_t nchunks[MAX_WANTED];
	keras_strs *names;                  /* every attribute name, or NULL */
	char dtype_attr[32];                /* a weight's "dtype" attribute, a str (bfloat16) */
} attr_pass;

static bool all_digits(const char *s, size_t n)
{
	if (n == 0 || n > 9)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A decimal index as Python's str(i) writes it: no sign, no leading zero. */
static bool decimal_index(const char *s, size_t n, uint64_t *out)
{
	if (!all_digits(s, n) || (n > 1 && s[0] == '0'))
		return false;
	*out = strtoull(s, NULL, 10);
	return true;
}

static int read_strings(attr_pass *p, msi_h5 *h, const msi_h5_attr *a, keras_strs *into, size_t w)
{
	/* Keras 2 writes a layer without weights as np.asarray([]): an empty
	 * float64 array, not strings */
	if (a->space.kind == MSI_H5_NULL || (a->space.kind == MSI_H5_SIMPLE && a->space.elements == 0))
		return 0;
	if (a->type.cls != MSI_H5_STRING && !(a->type.cls == MSI_H5_VLEN && a->type.vlen_string)) {
		p->bad[w] = true;
		return 0;
	}
	strs_sink k = { p->d, into, p->d->v->limits->max_metadata, &p->spent };
	int rc = msi_h5_attr_strings(h, a, k.cap, take_string, &k);
	if (rc == MS_ELIMIT) {
		if (!p->over_cap)
			msi_report_add(p->d->r, "keras.config.limit", p->where,
			               "the string attributes of this object ('%s' and its kin) hold more than %llu bytes; "
			               "the rest is not read", p->want[w], (unsigned long long)k.cap);
		p->over_cap = true;
		return 0;
	}
	if (rc == MS_EFORMAT)
		p->bad[w] = true; /* the reader's finding says why */
	return rc == MS_EFORMAT ? 0 : rc;
}

static int on_attr(void *user, msi_h5 *h, const msi_h5_attr *a)
{
	attr_pass *p = user;
	if (p->names && !keras_strs_push(p->d, p->names, a->name, a->name_len))
		return MS_ENOMEM;
	if (a->name_len == 5 && memcmp(a->name, "dtype", 5) == 0 && a->space.elements == 1 &&
	    a->type.cls == MSI_H5_VLEN && a->type.vlen_string) {
		/* Keras 3 stores bfloat16 as 2-byte values with dtype="bfloat16", a
		 * str: it compares with ==, which bytes never equal */
		keras_strs tmp = { 0 };
		uint64_t spent = 0;
		strs_sink k = { p->d, &tmp, 64, &spent };
		int rc = msi_h5_attr_strings(h, a, 64, take_string, &k);
		if (rc == MS_OK && tmp.count == 1 && strlen(tmp.items[0]) < sizeof p->dtype_attr)
			strcpy(p->dtype_attr, tmp.items[0]);
		keras_strs_free(&tmp);
		if (rc == MS_ENOMEM || rc == MS_EIO || rc == MS_ECHANGED)
			return rc;
	}
	for (size_t w = 0; w < p->nwant; w++) {
		size_t wl = strlen(p->want[w]);
		if (a->name_len < wl || memcmp(a->name, p->want[w], wl) != 0)
			continue;
		if (a->name_len == wl) {
			keras_strs_free(&p->values[w]);
			p->found[w] = true;
			return read_strings(p, h, a, &p->values[w], w);
		}
		uint64_t chunk;
		if (!p->chunked[w] || !decimal_index(a->name + wl, a->name_len - wl, &chunk))
			continue;
		if (chunk >= MAX_CHUNKS) {
			if (!p->over_cap)
				msi_report_add(p->d->r, "keras.config.limit", p->where,
				               "attribute '%.*s': '%s' split into more than %d chunks; the rest is not read",
				               (int)MSI_MIN(a->name_len, 64), a->name, p->want[w], MAX_CHUNKS);
			p->over_cap = true;
			return 0;
		}
		if (chunk >= p->nchunks[w]) {
			size_t n = MSI_MAX((size_t)chunk + 1, p->nchunks[w] * 2);
			struct attr_chunk *grown = msi_reallocarray(p->chunks[w], n, sizeof *grown);
			if (!grown)
				return MS_ENOMEM;
			memset(grown + p->nchunks[w], 0, (n - p->nchunks[w]) * sizeof *grown);
			p->chunks[w] = grown;
			p->nchunks[w] = n;
		}
		keras_strs_free(&p->chunks[w][chunk].strings);
		p->chunks[w][chunk].present = true;
		return read_strings(p, h, a, &p->chunks[w][chunk].strings, w);
	}
	return 0;
}

/* Joins want0, want1, ... (contiguous from 0, as Keras reads them) when
 * the plain attribute is absent. */
static bool join_chunks(attr_pass *p, size_t w)
{
	if (p->found[w] || p->nchunks[w] == 0)
		return true;
	for (size_t c = 0; c < p->nchunks[w]; c++) {
		if (!p->chunks[w][c].present)
			break; /* a gap ends the list, as in Keras */
		keras_strs *part = &p->chunks[w][c].strings;
		p->found[w] = true;
		for (size_t i = 0; i < part->count; i++)
			if (!keras_strs_push(p->d, &p->values[w], part->items[i], strlen(part->items[i])))
				return false;
	}
	return true;
}

static void attr_pass_free(attr_pass *p)
{
	for (size_t w = 0; w < MAX_WANTED; w++) {
		keras_strs_free(&p->values[w]);
		for (size_t c = 0; c < p->nchunks[w]; c++)
			keras_strs_free(&p->chunks[w][c].strings);
		msi_free(p->chunks[w]);
	}
}

static int run_attr_pass(attr_pass *p, msi_h5 *h, const msi_h5_obj *o)
{
	int rc = soft(msi_h5_obj_attrs(h, o, on_attr, p));
	if (rc != MS_OK)
		return rc;
	for (size_t w = 0; w < p->nwant; w++) {
		if (!join_chunks(p, w))
			return MS_ENOMEM;
		if (p->bad[w])
			msi_report_add(p->d->r, "keras.attribute.invalid", p->where,
			               "attribute '%s' is not a string or an array of strings", p->want[w]);
	}
	return MS_OK;
}

/* ---- weights ---- */

static bool numeric_type(const msi_h5_type *t)
{
	return t->cls == MSI_H5_INTEGER || t->cls == MSI_H5_FLOAT || t->is_bool || t->is_complex;
}

bool keras_weight_add(keras_doc *d, msi_h5 *h, const msi_h5_obj *o, const char *name, size_t name_len,
		      const char *where)
{
	msi_h5_dataset ds;
	if (msi_h5_obj_dataset(h, o, &ds) != MS_OK)
		return true; /* the reader said why */
	attr_pass p;
	memset(&p, 0, sizeof p);
	p.d = d;
	p.where = where;
	if (msi_h5_obj_attrs(h, o, on_attr, &p) == MS_ENOMEM) {
		attr_pass_free(&p);
		d->failed = true;
		return false;
	}
	attr_pass_free(&p);
	/* h5py reads an external or virtual dataset from other files: Keras
	 * (safe_get_h5_dataset) refuses them, older Keras loaded the host's
	 * bytes as weights */
	if (ds.external || ds.layout == MSI_H5_LAYOUT_VIRTUAL)
		msi_report_add(d->r, "keras.weights.external", where, "weight '%.*s' is %s: its bytes come from other files",
		               (int)name_len, name, ds.external ? "stored in external files" : "a virtual dataset");
	bool bfloat16 = d->container == KERAS_CONTAINER_V3 && strcmp(p.dtype_attr, "bfloat16") == 0 &&
	                ds.type.size == 2 &&
	                (ds.type.cls == MSI_H5_OPAQUE || ds.type.cls == MSI_H5_INTEGER);
	if (!numeric_type(&ds.type) && !bfloat16) {
		char tn[32];
		msi_report_add(d->r, "keras.weights.dtype", where, "weight '%.*s' has type %s, not a numeric array",
		               (int)name_len, name, msi_h5_type_name(&ds.type, tn, sizeof tn));
	}
	char dtype[32];
	if (bfloat16)
		strcpy(dtype, "bfloat16");
	else
		msi_h5_type_name(&ds.type, dtype, sizeof dtype);
	return keras_weight_push(d, name, name_len, dtype, ds.space.rank, ds.space.dims,
	                         ds.space.elements_overflow ? UINT64_MAX : ds.space.elements);
}

bool keras_weight_push(keras_doc *d, const char *name, size_t name_len, const char *dtype, unsigned rank,
		       const uint64_t *dims, uint64_t elements)
{
	keras_weight *grown = msi_grow(d->weights, &d->wcap, d->nweights, sizeof *grown, 32);
	if (!grown)
		goto oom;
	d->weights = grown;
	keras_weight *w = &d->weights[d->nweights];
	memset(w, 0, sizeof *w);
	w->name = msi_strndup(name, name_len);
	w->dims = msi_calloc(rank ? rank : 1, sizeof *w->dims);
	if (!w->name || !w->dims) {
		msi_free(w->name);
		msi_free(w->dims);
		goto oom;
	}
	w->rank = rank;
	if (rank)
		memcpy(w->dims, dims, rank * sizeof *w->dims);
	w->elements = elements;
	snprintf(w->dtype, sizeof w->dtype, "%s", dtype);
	d->parameters = msi_sat_add_u64(d->parameters, elements);
	d->nweights++;
	return true;
oom:
	d->failed = true;
	return false;
}

/* Keras turns layer names into HDF5 paths (and, in other savers, file
 * names): anything beyond a plain identifier is suspicious. */
static bool plain_layer_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 255 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* The links of one group, sorted by name: legacy weights groups hold one
 * group per layer (thousands in big models), and looking each layer up on
 * its own would walk the group's B-tree or heap once per layer. */
typedef struct link_entry {
	char *name;
	uint64_t target;
} link_entry;

typedef struct link_index {
	keras_doc *d;
	link_entry *items;
	size_t count, cap;
} link_index;

static int on_index_link(void *user, const char *name, size_t len, msi_h5_link_type type, uint64_t target)
{
	link_index *x = user;
	if (type != MSI_H5_LINK_HARD)
		return 0;
	link_entry *grown = msi_grow(x->items, &x->cap, x->count, sizeof *grown, 64);
	if (!grown)
		return MS_ENOMEM;
	x->items = grown;
	char *copy = msi_strndup(name, len);
	if (!copy)
		return MS_ENOMEM;
	x->items[x->count].name = copy;
	x->items[x->count].target = target;
	x->count++;
	return 0;
}

static int cmp_link(const void *a, const void *b)
{
	return strcmp(((const link_entry *)a)->name, ((const link_entry *)b)->name);
}

static void link_index_free(link_index *x)
{
	for (size_t i = 0; i < x->count; i++)
		msi_free(x->items[i].name);
	msi_free(x->items);
}

/* Group listings, kept for the few groups a legacy file's lookups keep
 * returning to (the weights group, an optimizer's per-layer groups):
 * each is listed once and searched by bsearch, so thousands of names cost
 * n log n, never a walk of the group per name. */
#define LINK_CACHE_SLOTS 8

typedef struct link_cache {
	struct {
		uint64_t addr;
		link_index x;
		bool complete;   /* false when the listing was cut short (the reader said why) */
		uint64_t used;
	} slot[LINK_CACHE_SLOTS];
	size_t nslots;
	uint64_t clock;
} link_cache;

static void link_cache_free(link_cache *c)
{
	for (size_t i = 0; i < c->nslots; i++)
		link_index_free(&c->slot[i].x);
	memset(c, 0, sizeof *c);
}

static int link_cache_get(link_cache *c, keras_doc *d, msi_h5 *h, uint64_t addr, size_t *slot)
{
	size_t victim = 0;
	for (size_t i = 0; i < c->nslots; i++) {
		if (c->slot[i].addr == addr) {
			c->slot[i].used = ++c->clock;
			*slot = i;
			return MS_OK;
		}
		if (c->slot[i].used < c->slot[victim].used)
			victim = i;
	}
	if (c->nslots < LINK_CACHE_SLOTS)
		victim = c->nslots++;
	else
		link_index_free(&c->slot[victim].x);
	link_index *x = &c->slot[victim].x;
	memset(x, 0, sizeof *x);
	x->d = d;
	c->slot[victim].addr = addr;
	c->slot[victim].used = ++c->clock;
	c->slot[victim].complete = false;
	*slot = victim;
	msi_h5_obj *g = NULL;
	int rc = msi_h5_obj_load(h, addr, NULL, &g);
	if (rc == MS_OK) {
		rc = msi_h5_group_links(h, g, on_index_link, x);
		c->slot[victim].complete = rc == MS_OK;
		msi_h5_obj_free(g);
	}
	/* the reader lists links in name order already; a name cut at an
	 * embedded NUL could still break strcmp's order, and bsearch needs it */
	for (size_t i = 1; i < x->count; i++) {
		if (cmp_link(&x->items[i - 1], &x->items[i]) > 0) {
			qsort(x->items, x->count, sizeof *x->items, cmp_link);
			break;
		}
	}
	return soft(rc);
}

/* Resolves a '/'-separated path below the group at `base`, component by
 * component, as Keras' h5py lookups do. MS_OK with *addr, 1 when it does
 * not exist, 2 when the path has an empty component (Keras refuses those),
 * MS_EFORMAT when a listing on the way was cut short, or a failure. */
static int link_cache_resolve(link_cache *c, keras_doc *d, msi_h5 *h, uint64_t base, const char *path,
			      uint64_t *addr)
{
	if (!*path)
		return 2;
	uint64_t at = base;
	for (const char *p = path;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		char key[1024];
		if (n == 0)
			return 2;
		if (n >= sizeof key)
			return 1;
		memcpy(key, p, n);
		key[n] = 0;
		size_t slot;
		int rc = link_cache_get(c, d, h, at, &slot);
		if (rc != MS_OK)
			return rc;
		const link_index *x = &c->slot[slot].x;
		link_entry probe_key = { key, 0 };
		const link_entry *hit =
			x->count ? bsearch(&probe_key, x->items, x->count, sizeof *x->items, cmp_link) : NULL;
		if (!hit)
			return c->slot[slot].complete ? 1 : MS_EFORMAT;
		at = hit->target;
		if (!slash) {
			*addr = at;
			return MS_OK;
		}
		p = slash + 1;
	}
}

/* One layer group of a legacy weights group: its weight_names, each a
 * dataset path relative to the group (Keras 2: "dense/kernel:0"). */
static int read_layer_weights(keras_doc *d, msi_h5 *h, link_cache *lc, uint64_t group_addr, const char *layer,
			      bool optimizer)
{
	char where[512];
	snprintf(where, sizeof where, "%s%s", optimizer ? "" : "layer ", layer);
	msi_h5_obj *g = NULL;
	int rc = msi_h5_obj_load(h, group_addr, layer, &g);
	if (rc != MS_OK)
		return soft(rc);
	attr_pass p;
	memset(&p, 0, sizeof p);
	p.d = d;
	p.where = where;
	p.want[0] = "weight_names";
	p.chunked[0] = true;
	p.nwant = 1;
	rc = run_attr_pass(&p, h, g);
	msi_h5_obj_free(g);
	keras_strs *names = &p.values[0];
	if (optimizer)
		d->optimizer_weights += names->count;
	/* inspect only counts the optimizer's weights */
	if (rc != MS_OK || names->count == 0 || (optimizer && !d->validating)) {
		attr_pass_free(&p);
		return rc;
	}
	for (size_t i = 0; i < names->count && rc == MS_OK; i++) {
		const char *wn = names->items[i];
		uint64_t addr;
		int found = link_cache_resolve(lc, d, h, group_addr, wn, &addr);
		if (found == 2) {
			msi_report_add(d->r, "keras.weights.mismatch", where,
			               "weight_names lists '%s', a path with an empty component", wn);
			continue;
		}
		if (found == 1) {
			msi_report_add(d->r, "keras.weights.mismatch", where,
			               "weight_names lists '%s', but there is no such dataset", wn);
			continue;
		}
		if (found != MS_OK) {
			rc = soft(found);
			continue;
		}
		msi_h5_obj *ds = NULL;
		int lrc = msi_h5_obj_load(h, addr, wn, &ds);
		if (lrc != MS_OK) {
			rc = soft(lrc);
			continue;
		}
		if (!msi_h5_obj_is_dataset(ds)) {
			msi_report_add(d->r, "keras.weights.mismatch", where, "weight '%s' is not a dataset", wn);
		} else if (!optimizer) {
			size_t ln = strlen(layer), wl = strlen(wn);
			char *full = msi_malloc(ln + wl + 2);
			if (!full) {
				rc = MS_ENOMEM;
			} else {
				memcpy(full, layer, ln);
				full[ln] = '/';
				memcpy(full + ln + 1, wn, wl + 1);
				if (!keras_weight_add(d, h, ds, full, ln + wl + 1, where))
					rc = MS_ENOMEM;
				msi_free(full);
			}
		}
		msi_h5_obj_free(ds);
	}
	attr_pass_free(&p);
	return rc;
}

/* The weights group's layer_names (already read) → each layer group. */
static int read_weight_groups(keras_doc *d, msi_h5 *h, link_cache *lc, uint64_t wg_addr)
{
	int rc = MS_OK;
	for (size_t i = 0; i < d->layer_names.count && rc == MS_OK; i++) {
		const char *layer = d->layer_names.items[i];
		if (!plain_layer_name(layer))
			msi_report_add(d->r, "keras.layer_name.invalid", "layer_names",
			               "layer name '%s' is not a plain identifier ([A-Za-z0-9_.-])", layer);
		uint64_t addr;
		int found = link_cache_resolve(lc, d, h, wg_addr, layer, &addr);
		if (found == 1 || found == 2) {
			msi_report_add(d->r, "keras.weights.mismatch", "layer_names",
			               "layer '%s' is listed, but there is no group of that name", layer);
			continue;
		}
		if (found != MS_OK) {
			rc = soft(found);
			continue;
		}
		rc = read_layer_weights(d, h, lc, addr, layer, false);
	}
	return rc;
}

/* Names of the root's child groups (manifests list them; a weights-only
 * file has one per layer). */
typedef struct group_names {
	keras_doc *d;
	msi_h5 *h;
	uint64_t model_weights, optimizer_weights; /* their addresses, or MSI_H5_UNDEF */
} group_names;

static int on_root_link(void *user, const char *name, size_t len, msi_h5_link_type type, uint64_t target)
{
	group_names *g = user;
	if (type != MSI_H5_LINK_HARD)
		return 0;
	msi_h5_obj *o = NULL;
	int rc = msi_h5_obj_load(g->h, target, NULL, &o);
	if (rc != MS_OK)
		return soft(rc);
	bool group = msi_h5_obj_is_group(o);
	msi_h5_obj_free(o);
	if (!group)
		return 0;
	if (len == 13 && memcmp(name, "model_weights", 13) == 0)
		g->model_weights = target;
	if (len == 17 && memcmp(name, "optimizer_weights", 17) == 0)
		g->optimizer_weights = target;
	return keras_strs_push(g->d, &g->d->root_groups, name, len) ? 0 : MS_ENOMEM;
}

static char *first_string(keras_doc *d, keras_strs *s, const char *what, const char *where)
{
	if (s->count == 0)
		return NULL;
	if (s->count > 1)
		msi_report_add(d->r, "keras.attribute.invalid", where, "attribute '%s' holds %zu strings, not one",
		               what, s->count);
	char *v = s->items[0];
	s->items[0] = NULL;
	return v;
}

enum { W_KERAS_VERSION, W_BACKEND, W_MODEL_CONFIG, W_TRAINING_CONFIG, W_LAYER_NAMES };

int keras_h5_load(keras_doc *d, msi_source *src, uint64_t sig_offset)
{
	d->container = KERAS_CONTAINER_H5;
	msi_h5 *h = NULL;
	int rc = msi_h5_open(src, sig_offset, d->v->limits, d->validating ? d->r : NULL, &h);
	if (rc != MS_OK)
		return soft(rc);
	msi_h5_obj *root = NULL;
	rc = msi_h5_obj_load(h, msi_h5_root_address(h), "/", &root);
	if (rc != MS_OK) {
		msi_h5_close(h);
		return soft(rc);
	}
	attr_pass p;
	memset(&p, 0, sizeof p);
	p.d = d;
	p.where = "/";
	p.want[W_KERAS_VERSION] = "keras_version";
	p.want[W_BACKEND] = "backend";
	p.want[W_MODEL_CONFIG] = "model_config";
	p.want[W_TRAINING_CONFIG] = "training_config";
	p.want[W_LAYER_NAMES] = "layer_names";
	p.chunked[W_LAYER_NAMES] = true;
	p.nwant = 5;
	p.names = &d->root_attributes;
	rc = run_attr_pass(&p, h, root);
	if (rc == MS_OK) {
		keras_strs_sort(&d->root_attributes);
		d->keras_version = first_string(d, &p.values[W_KERAS_VERSION], "keras_version", "/");
		d->backend = first_string(d, &p.values[W_BACKEND], "backend", "/");
		d->weights_only = !p.found[W_MODEL_CONFIG];
		d->has_training_config = p.found[W_TRAINING_CONFIG];
		keras_strs *mc = &p.values[W_MODEL_CONFIG];
		if (mc->count == 1)
			keras_check_config(d, mc->items[0], strlen(mc->items[0]), "model_config", true);
		else if (p.found[W_MODEL_CONFIG])
			msi_report_add(d->r, "keras.config.invalid", "model_config",
			               "model_config holds %zu strings, not one JSON text", mc->count);
		keras_strs *tc = &p.values[W_TRAINING_CONFIG];
		if (d->validating && tc->count == 1)
			keras_check_config(d, tc->items[0], strlen(tc->items[0]), "training_config", false);
		if (d->weights_only && !p.found[W_LAYER_NAMES])
			msi_report_add(d->r, "keras.config.invalid", "/", "the file has neither a model_config nor a "
			               "layer_names attribute: it is no Keras model or weights file");
		else if (d->weights_only)
			msi_report_add(d->r, "keras.weights_only", NULL,
			               "no model_config: the file holds weights only (save_weights)");
	}
	group_names g = { d, h, MSI_H5_UNDEF, MSI_H5_UNDEF };
	link_cache lc;
	memset(&lc, 0, sizeof lc);
	if (rc == MS_OK) {
		rc = msi_h5_group_links(h, root, on_root_link, &g);
		if (rc == MS_EFORMAT)
			rc = MS_OK;
		keras_strs_sort(&d->root_groups);
	}
	/* the weights group: model_weights for full models, the root for
	 * save_weights() files */
	uint64_t wg = MSI_H5_UNDEF;
	if (rc == MS_OK) {
		if (!d->weights_only && g.model_weights != MSI_H5_UNDEF) {
			wg = g.model_weights;
			msi_h5_obj *mw = NULL;
			int lrc = msi_h5_obj_load(h, wg, "model_weights", &mw);
			if (lrc == MS_OK) {
				attr_pass q;
				memset(&q, 0, sizeof q);
				q.d = d;
				q.where = "model_weights";
				q.want[0] = "layer_names";
				q.chunked[0] = true;
				q.nwant = 1;
				rc = run_attr_pass(&q, h, mw);
				if (rc == MS_OK) {
					d->layer_names = q.values[0];
					memset(&q.values[0], 0, sizeof q.values[0]);
				}
				attr_pass_free(&q);
				msi_h5_obj_free(mw);
			} else if (lrc != MS_EFORMAT) {
				rc = lrc;
			}
		} else if (d->weights_only) {
			wg = msi_h5_root_address(h);
			d->layer_names = p.values[W_LAYER_NAMES];
			memset(&p.values[W_LAYER_NAMES], 0, sizeof p.values[W_LAYER_NAMES]);
		} else {
			msi_report_add(d->r, "keras.weights.mismatch", "/", "the model has no model_weights group");
		}
	}
	if (rc == MS_OK && wg != MSI_H5_UNDEF)
		rc = read_weight_groups(d, h, &lc, wg);
	if (rc == MS_OK && g.optimizer_weights != MSI_H5_UNDEF)
		rc = read_layer_weights(d, h, &lc, g.optimizer_weights, "optimizer_weights", true);
	link_cache_free(&lc);
	attr_pass_free(&p);
	msi_h5_obj_free(root);
	msi_h5_close(h);
	if (rc == MS_EFORMAT)
		rc = MS_OK;
	return d->failed && rc == MS_OK ? MS_ENOMEM : rc;
}

/* ---- v3 model.weights.h5 ---- */

typedef struct v3_walk {
	keras_doc *d;
	const char *where;
	uint64_t seq;         /* walk order of the weights */
} v3_walk;

/* The vars group of a weight: its name up to the last '/'. */
static size_t parent_len(const char *name)
{
	const char *slash = strrchr(name, '/');
	return slash ? (size_t)(slash - name) : 0;
}

static int cmp_parent_index(const void *a, const void *b)
{
	const keras_weight *x = a, *y = b;
	size_t xl = parent_len(x->name), yl = parent_len(y->name);
	int c = memcmp(x->name, y->name, MSI_MIN(xl, yl));
	if (c == 0 && xl != yl)
		c = xl < yl ? -1 : 1;
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_rank_index(const void *a, const void *b)
{
	const keras_weight *x = a, *y = b;
	if (x->group_seq != y->group_seq)
		return x->group_seq < y->group_seq ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* After the walk: each vars group's indices must be 0..n-1, each once
 * (Keras reads them back by counting), wherever in the walk its datasets
 * came (a subgroup inside vars splits the run); then the weights are
 * ordered group by group, in the order the walk first met each group,
 * with indices in numeric order ("10" after "9"). */
static void finish_vars_groups(keras_doc *d, size_t first, const char *where)
{
	size_t n = d->nweights - first;
	if (n == 0)
		return; /* d->weights may still be NULL */
	keras_weight *ws = d->weights + first;
	qsort(ws, n, sizeof *ws, cmp_parent_index);
	for (size_t i = 0; i < n;) {
		size_t pl = parent_len(ws[i].name), j = i;
		uint64_t rank = ws[i].group_seq;
		while (j < n && parent_len(ws[j].name) == pl && memcmp(ws[j].name, ws[i].name, pl) == 0) {
			rank = MSI_MIN(rank, ws[j].group_seq);
			j++;
		}
		for (size_t k = i; k < j; k++) {
			if (ws[k].index != k - i) {
				msi_report_add(d->r, "keras.weights.mismatch", where,
				               "group '%.*s' has variables %s%llu where %zu was expected (indices must be 0..%zu)",
				               (int)pl, ws[i].name, k > i && ws[k].index == ws[k - 1].index ? "a second " : "",
				               (unsigned long long)ws[k].index, k - i, j - i - 1);
				break;
			}
		}
		for (size_t k = i; k < j; k++)
			ws[k].group_seq = rank;
		i = j;
	}
	qsort(ws, n, sizeof *ws, cmp_rank_index);
}

static int on_v3_object(void *user, msi_h5 *h, const char *path, size_t len, const msi_h5_obj *o)
{
	v3_walk *w = user;
	if (!msi_h5_obj_is_dataset(o))
		return 0;
	if ((len >= 10 && memcmp(path, "optimizer/", 10) == 0)) {
		w->d->optimizer_weights++;
		return 0;
	}
	const char *slash = NULL;
	for (size_t i = len; i > 0 && !slash; i--)
		if (path[i - 1] == '/')
			slash = path + i - 1;
	size_t plen = slash ? (size_t)(slash - path) : 0;
	const char *leaf = slash ? slash + 1 : path;
	size_t leaf_len = len - (size_t)(leaf - path);
	bool in_vars = plen >= 4 && memcmp(path + plen - 4, "vars", 4) == 0 && (plen == 4 || path[plen - 5] == '/');
	if (!in_vars)
		return 0;
	uint64_t index;
	if (!decimal_index(leaf, leaf_len, &index)) {
		msi_report_add(w->d->r, "keras.weights.mismatch", w->where,
		               "dataset '%.*s' in a vars group is not named by a decimal index", (int)len, path);
		return 0;
	}
	size_t before = w->d->nweights;
	if (!keras_weight_add(w->d, h, o, path, len, w->where))
		return MS_ENOMEM;
	if (w->d->nweights > before) {
		w->d->weights[before].group_seq = w->seq++;
		w->d->weights[before].index = index;
	}
	return 0;
}

int keras_h5_load_v3_weights(keras_doc *d, msi_source *src, const char *where)
{
	msi_h5 *h = NULL;
	int rc = msi_h5_open(src, 0, d->v->limits, d->validating ? d->r : NULL, &h);
	if (rc != MS_OK)
		return soft(rc);
	v3_walk w = { d, where, 0 };
	size_t first = d->nweights;
	rc = soft(msi_h5_walk(h, msi_h5_root_address(h), on_v3_object, &w));
	if (rc == MS_OK)
		finish_vars_groups(d, first, where);
	msi_h5_close(h);
	return d->failed && rc == MS_OK ? MS_ENOMEM : rc;
}
