/*
 * PyTorch: TorchScript or torch.save archive, or legacy torch.save pickle.
 *
 * The archives are zips whose members sit under one top folder of any name
 * (FORMATS.md §5.1): `data.pkl` is what makes a zip PyTorch's, and
 * `constants.pkl` or `code/` make it TorchScript. The member names come from
 * the zip listing; when there is none (the archive is cut short, so its
 * central directory is gone) they come from the local headers in the head
 * window, so a truncated download is still recognised and can be reported
 * as truncated rather than as an unknown file.
 *
 * Inspect and validate read the archive once (doc_load): the small records,
 * every pickle through the symbolic engine (pickle_vm.h, nothing is ever
 * imported or called), tensors rebuilt from the trees (pt_tensors.c) and,
 * for TorchScript, which attributes are parameters (pt_archive.c). The zip
 * layer itself (names, sizes, CRC-32) is checked by the container.
 * Validation is default-deny: every global any pickle names must be on the
 * allowlist (pickle_allow.h), and pickles are found by content as well as
 * by name, including pickles passed as bytes inside other pickles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt.h"

/* torch.save's legacy MAGIC_NUMBER as a pickled LONG1 after PROTO 2. */
static const uint8_t legacy_magic[] = { 0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C,
                                        0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19 };

static const char *const kind_names[] = { NULL, "torch_save_zip", "torchscript", "torch_package",
                                          "torch_save_legacy" };

#define PT_PREFIX_MAX 256

typedef struct pt_probe {
	pt_kind kind;
	bool from_local_headers;   /* names read from local headers, not the listing */
	char prefix[PT_PREFIX_MAX]; /* the archive's top folder, without '/' */
	char first[PT_PREFIX_MAX];  /* the first member's top folder (torch.package has no data.pkl) */
	bool have_first;
	/* name accumulation */
	bool data_pkl, constants_pkl, code_dir, extern_modules;
} pt_probe;

/* Position of `leaf` in `name` when `name` is `leaf` or `<one folder>/leaf`
 * (the top folder PyTorch adds), else -1. */
static long top_level_pos(const char *name, size_t len, const char *leaf)
{
	size_t ll = strlen(leaf);
	if (len == ll && memcmp(name, leaf, ll) == 0)
		return 0;
	if (len <= ll || name[len - ll - 1] != '/' || memcmp(name + len - ll, leaf, ll) != 0)
		return -1;
	if (memchr(name, '/', len - ll - 1))
		return -1; /* deeper than one folder */
	return (long)(len - ll);
}

/* true when `name` is `dir...` or `<one folder>/dir...` ("code/"). */
static bool under_top(const char *name, size_t len, const char *dir)
{
	size_t dl = strlen(dir);
	if (len >= dl && memcmp(name, dir, dl) == 0)
		return true;
	const char *slash = memchr(name, '/', len);
	if (!slash)
		return false;
	size_t rest = len - (size_t)(slash + 1 - name);
	return rest >= dl && memcmp(slash + 1, dir, dl) == 0;
}

static bool take_name(const char *name, size_t len, void *user)
{
	pt_probe *p = user;
	if (!p->have_first) {
		const char *slash = memchr(name, '/', len);
		size_t fl = slash ? (size_t)(slash - name) : 0;
		if (fl >= PT_PREFIX_MAX)
			fl = PT_PREFIX_MAX - 1;
		memcpy(p->first, name, fl);
		p->first[fl] = '\0';
		p->have_first = true;
	}
	/* thousands of data/<key> names: only names ending in 'l' (.pkl) or
	 * 's' (extern_modules) can be the records that decide the kind */
	char last = len ? name[len - 1] : '\0';
	if (!p->code_dir && under_top(name, len, "code/"))
		p->code_dir = true;
	if (last != 'l' && last != 's')
		return true;
	long pos = top_level_pos(name, len, "data.pkl");
	if (pos >= 0 && !p->data_pkl) {
		p->data_pkl = true;
		size_t pl = pos > 0 ? (size_t)pos - 1 : 0;
		if (pl >= PT_PREFIX_MAX)
			pl = PT_PREFIX_MAX - 1;
		memcpy(p->prefix, name, pl);
		p->prefix[pl] = '\0';
	}
	if (top_level_pos(name, len, "constants.pkl") >= 0 || top_level_pos(name, len, "bytecode.pkl") >= 0)
		p->constants_pkl = true;
	if (top_level_pos(name, len, ".data/extern_modules") >= 0)
		p->extern_modules = true;
	return true;
}

static void decide(pt_probe *p)
{
	if (p->data_pkl)
		p->kind = p->constants_pkl || p->code_dir ? PT_TORCHSCRIPT : PT_TORCH_ZIP;
	else if (p->extern_modules) {
		p->kind = PT_PACKAGE;
		memcpy(p->prefix, p->first, sizeof p->prefix);
	}
	else
		p->kind = PT_NONE;
}

static void probe(const msi_view *v, pt_probe *p)
{
	memset(p, 0, sizeof *p);
	if (!v->src)
		return; /* a directory is no PyTorch artifact */
	if (msi_has_prefix(v->head, v->head_len, legacy_magic, sizeof legacy_magic)) {
		p->kind = PT_LEGACY;
		return;
	}
	const msi_container *c = v->container;
	if (c && strcmp(c->kind, "zip") == 0) {
		for (size_t i = 0; i < c->count; i++) {
			const msi_entry *e = &c->entries[i];
			if (e->type == MSI_ENTRY_FILE)
				take_name(e->name, strlen(e->name), p);
		}
		decide(p);
		if (p->kind != PT_NONE)
			return;
	}
	if (c && strcmp(c->kind, "zip") != 0)
		return; /* a tar is never PyTorch's */
	static const uint8_t local_sig[4] = { 'P', 'K', 3, 4 };
	if (!msi_has_prefix(v->head, v->head_len, local_sig, 4))
		return;
	pt_probe local;
	memset(&local, 0, sizeof local);
	msi_zip_scan_local_names(v->head, v->head_len, take_name, &local);
	decide(&local);
	if (local.kind != PT_NONE) {
		*p = local;
		p->from_local_headers = true;
	}
}

static int sniff(const msi_view *v)
{
	pt_probe p;
	probe(v, &p);
	switch (p.kind) {
	case PT_LEGACY: return 100;
	case PT_TORCHSCRIPT: return p.from_local_headers ? 80 : 95;
	case PT_TORCH_ZIP: return p.from_local_headers ? 80 : 90;
	case PT_PACKAGE: return p.from_local_headers ? 60 : 80;
	default: return 0;
	}
}

/* ---- the archive read once for inspect or validate ---- */

#define PICKLE_NEST_MAX 3      /* pickles inside pickles' bytes, inside ... */
#define SMALL_RECORD 64        /* version and byteorder records */
#define FINDINGS_PER_RULE 20   /* then one summary */

typedef struct strset {
	char **items;
	size_t count, cap;
	bool failed;
} strset;

typedef struct pt_doc {
	const msi_view *v;
	msi_container *c;
	pt_probe p;
	ms_report *r;             /* the validation report; NULL for inspect (every use checks validating) */
	bool validating;
	msi_pickle_policy policy;
	msi_allow_extra extra;
	size_t plen;              /* prefix length, 0 when none */
	size_t outside_prefix;    /* members not under the prefix */
	ssize_t rec_data, rec_constants, rec_version, rec_byteorder;
	const char *version_name; /* "version" or ".data/version" */
	char version_text[SMALL_RECORD + 1];
	int64_t version;          /* -1 when absent or not decimal */
	char byteorder[SMALL_RECORD + 1];
	bool has_byteorder;
	msi_pickle *data, *constants;
	pt_tensors tensors;
	pt_class_lists *lists;
	strset globals;
	const char **rec_names;   /* per entry: its record name (rec_name), worked out once */
	size_t *rec_index;        /* hash of record names -> entry index + 1 */
	uint32_t *rec_hashes;     /* per entry: the hash of its record name, compared before the names */
	size_t rec_cap;
	uint8_t *referenced;      /* per entry: a storage names it */
	size_t storage_records;
	bool failed;              /* out of memory */
} pt_doc;

/* Adds "a.b", or "a" when b is NULL. */
static void strset_add(strset *s, const char *a, const char *b_)
{
	if (s->failed)
		return;
	msi_buf b = MSI_BUF_INIT;
	msi_buf_puts(&b, a);
	if (b_) {
		msi_buf_putc(&b, '.');
		msi_buf_puts(&b, b_);
	}
	char *str = msi_buf_detach(&b, NULL);
	if (!str || (s->count == s->cap && !(s->cap = s->cap ? s->cap * 2 : 16,
	                                     s->items = msi_reallocarray(s->items, s->cap, sizeof *s->items)))) {
		msi_free(str);
		s->failed = true;
		return;
	}
	s->items[s->count++] = str;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and drops duplicates. */
static void strset_finish(strset *s)
{
	if (s->count == 0)
		return;
	qsort(s->items, s->count, sizeof *s->items, cmp_str);
	size_t w = 1;
	for (size_t i = 1; i < s->count; i++) {
		if (strcmp(s->items[i], s->items[w - 1]) == 0)
			msi_free(s->items[i]);
		else
			s->items[w++] = s->items[i];
	}
	s->count = w;
}

static void strset_free(strset *s)
{
	for (size_t i = 0; i < s->count; i++)
		msi_free(s->items[i]);
	msi_free(s->items);
	memset(s, 0, sizeof *s);
}

/* The record name of an entry: its name without the "<prefix>/", or NULL
 * when it is not under the prefix (or is no regular file). */
static const char *rec_name_of(const pt_doc *d, const msi_entry *e)
{
	if (e->type != MSI_ENTRY_FILE)
		return NULL;
	if (d->plen == 0)
		return e->name;
	if (strncmp(e->name, d->p.prefix, d->plen) != 0 || e->name[d->plen] != '/')
		return NULL;
	return e->name + d->plen + 1;
}

/* Every walk over the members asks for record names, several times each:
 * they are worked out once, with their hashes, when the index is built. */
static const char *rec_name(const pt_doc *d, const msi_entry *e)
{
	return d->rec_names ? d->rec_names[e - d->c->entries] : rec_name_of(d, e);
}

static bool build_rec_index(pt_doc *d)
{
	size_t cap = 16;
	while (cap < d->c->count * 2 + 2)
		cap *= 2;
	/* 16,384 slots for a 6,000-member archive: a msi_big_* block */
	d->rec_index = msi_big_alloc(cap * sizeof *d->rec_index);
	if (d->rec_index) {
		memset(d->rec_index, 0, cap * sizeof *d->rec_index);
		d->rec_cap = cap; /* doc_free frees it by this size */
	}
	d->referenced = msi_calloc(d->c->count + 1, 1);
	d->rec_names = msi_calloc(d->c->count + 1, sizeof *d->rec_names);
	d->rec_hashes = msi_calloc(d->c->count + 1, sizeof *d->rec_hashes);
	if (!d->rec_index || !d->referenced || !d->rec_names || !d->rec_hashes)
		return false;
	for (size_t i = 0; i < d->c->count; i++) {
		const char *n = rec_name_of(d, &d->c->entries[i]);
		d->rec_names[i] = n;
		if (!n)
			continue;
		uint64_t h = msi_fnv1a_str(MSI_FNV_OFFSET, n);
		d->rec_hashes[i] = (uint32_t)(h >> 32);
		size_t j = (size_t)h & (cap - 1);
		while (d->rec_index[j])
			j = (j + 1) & (cap - 1);
		d->rec_index[j] = i + 1;
	}
	return true;
}

/* Entry index of record `name` (first of duplicates), or -1. */
static ssize_t find_rec(const pt_doc *d, const char *name)
{
	if (!d->rec_cap)
		return -1;
	uint64_t h = msi_fnv1a_str(MSI_FNV_OFFSET, name);
	size_t j = (size_t)h & (d->rec_cap - 1);
	ssize_t found = -1;
	while (d->rec_index[j]) {
		size_t i = d->rec_index[j] - 1;
		const char *n = d->rec_names[i];
		if (d->rec_hashes[i] == (uint32_t)(h >> 32) && n && strcmp(n, name) == 0 &&
		    (found < 0 || (ssize_t)i < found))
			found = (ssize_t)i;
		j = (j + 1) & (d->rec_cap - 1);
	}
	return found;
}

static bool ends_with_n(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	return ends_with_n(s, strlen(s), suffix);
}

/* Reads a small text record (trailing newline and spaces dropped). */
static bool read_small(pt_doc *d, ssize_t idx, char *out)
{
	size_t got = 0;
	out[0] = '\0';
	if (idx < 0 || msi_container_read_window(d->c, (size_t)idx, false, (uint8_t *)out, SMALL_RECORD, &got) != MS_OK)
		return false;
	while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == '\r' || out[got - 1] == ' '))
		got--;
	out[got] = '\0';
	return true;
}

static int64_t parse_decimal(const char *s)
{
	if (!*s || strlen(s) > 18)
		return -1;
	int64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

static msi_pickle_limits pickle_limits(const pt_doc *d)
{
	msi_pickle_limits lim = { 0 };
	lim.max_arena = d->v->limits->max_metadata;
	return lim;
}

/* Torch's own unpicklers know no INST, OBJ or EXT: a torch pickle that has
 * them was not written by torch. */
static void check_torch_opcodes(pt_doc *d, const msi_pickle *pk, const char *where)
{
	static const struct { uint8_t op; const char *name; } odd[] = {
		{ 'i', "INST" }, { 'o', "OBJ" }, { 0x82, "EXT1" }, { 0x83, "EXT2" }, { 0x84, "EXT4" },
	};
	for (size_t i = 0; i < MSI_ARRAY_LEN(odd); i++)
		if (msi_pickle_saw(pk, odd[i].op))
			msi_report_add(d->r, "pt.pickle.opcode", where, "the pickle uses %s, which torch never writes "
			               "and its loaders refuse", odd[i].name);
}

typedef struct tree_scan {
	pt_doc *d;
	const msi_source *src; /* the stream the tree came from */
	uint64_t src_off;
	const char *where;
	int nest;
	uint64_t budget;
	size_t type_findings;
	bool check_targets;    /* judge call targets node by node (the engine could not by global) */
} tree_scan;

/* msi_pv.flags bit the engine leaves alone: set on the containers scan_tree
 * has been through. */
#define PT_PV_SCANNED 0x8000u

static int check_pickle(pt_doc *d, const msi_source *src, uint64_t off, uint64_t len, const char *where,
                        int nest, msi_pickle **keep);

static bool list_like(const char *m, const char *n)
{
	return strcmp(m, "builtins") == 0 && (strcmp(n, "list") == 0 || strcmp(n, "set") == 0);
}

/* Walks a tree for what the weights-only loader refuses beyond globals
 * (SETITEM on objects that are no dicts, APPEND on objects that are no
 * lists: CVE-2026-24747) and for pickles hidden in bytes values. */
static void scan_tree(tree_scan *s, const msi_pv *v, int depth)
{
	if (!v || depth > 200 || s->budget == 0 || s->d->failed)
		return;
	s->budget--;
	if (v->kind == MSI_PV_BYTES || v->kind == MSI_PV_BYTEARRAY) {
		bool big = (v->flags & MSI_PV_STR_LARGE) != 0;
		uint8_t h[2] = { 0, 0 };
		if (v->u.str.len >= 2) {
			if (!big)
				memcpy(h, v->u.str.data, 2);
			else
				msi_source_read_some(s->src, s->src_off + v->u.str.offset, h, 2);
		}
		if (h[0] == 0x80 && h[1] >= 2 && h[1] <= 5 && s->nest < PICKLE_NEST_MAX) {
			msi_source *inner = NULL;
			int rc = big ? msi_source_slice((msi_source *)s->src, s->src_off + v->u.str.offset, v->u.str.len, &inner)
			             : msi_source_from_memory(v->u.str.data, v->u.str.len, false, &inner);
			if (rc == MS_OK) {
				char where[300];
				snprintf(where, sizeof where, "%.200s (pickle in bytes at %llu)", s->where,
				         (unsigned long long)v->u.str.offset);
				if (check_pickle(s->d, inner, 0, v->u.str.len, where, s->nest + 1, NULL) == MS_ENOMEM)
					s->d->failed = true;
				msi_source_release(inner);
			} else if (rc == MS_ENOMEM) {
				s->d->failed = true;
			}
		}
		return;
	}
	if (v->nitems == 0 && v->npairs == 0 && v->kind != MSI_PV_CALL && v->kind != MSI_PV_PERSID)
		return;
	/* each container once: shared nodes are many, cycles possible. The
	 * pickle is this walk's own, so the mark goes on the node itself. */
	if (v->flags & PT_PV_SCANNED)
		return;
	((msi_pv *)v)->flags |= PT_PV_SCANNED;
	const char *m, *n;
	if (s->check_targets && v->kind == MSI_PV_CALL && msi_pv_call_target(v, &m, &n) && s->d->validating &&
	    s->type_findings < FINDINGS_PER_RULE) {
		if (v->npairs && !pt_dict_like(m, n)) {
			s->type_findings++;
			msi_report_add(s->d->r, "pt.pickle.setitem_target", s->where, "SETITEM on an object of %.100s.%.100s, "
			               "which is no dict (torch's weights-only loader refuses it)", m, n);
		}
		if (v->nitems && !list_like(m, n) && !pt_dict_like(m, n)) {
			s->type_findings++;
			msi_report_add(s->d->r, "pt.pickle.setitem_target", s->where, "APPEND on an object of %.100s.%.100s, "
			               "which is no list (torch's weights-only loader refuses it)", m, n);
		}
	}
	for (uint32_t i = 0; i < v->nitems; i++)
		scan_tree(s, v->items[i], depth + 1);
	for (uint32_t i = 0; i < 2 * v->npairs; i++)
		scan_tree(s, v->pairs[i], depth + 1);
	if (v->kind == MSI_PV_CALL) {
		scan_tree(s, v->u.call.args, depth + 1);
		scan_tree(s, v->u.call.kwargs, depth + 1);
	}
	if (v->kind == MSI_PV_PERSID)
		scan_tree(s, v->u.persid, depth + 1);
	scan_tree(s, msi_pv_state(v), depth + 1);
}

/* SETITEM/APPEND on calls, judged by the global called: the weights-only
 * loader takes items only into dicts and lists (CVE-2026-24747). */
static void check_call_targets(pt_doc *d, const msi_pickle *pk, const char *where)
{
	size_t found = 0;
	for (size_t i = 0; i < pk->nglobals && found < FINDINGS_PER_RULE; i++) {
		const msi_pickle_global *g = &pk->globals[i];
		if ((g->targeted & MSI_PG_PAIRS) && !pt_dict_like(g->module, g->name)) {
			found++;
			msi_report_add(d->r, "pt.pickle.setitem_target", where, "SETITEM on an object of %.100s.%.100s, "
			               "which is no dict (torch's weights-only loader refuses it)", g->module, g->name);
		}
		if ((g->targeted & MSI_PG_ITEMS) && !list_like(g->module, g->name) && !pt_dict_like(g->module, g->name)) {
			found++;
			msi_report_add(d->r, "pt.pickle.setitem_target", where, "APPEND on an object of %.100s.%.100s, "
			               "which is no list (torch's weights-only loader refuses it)", g->module, g->name);
		}
	}
}

/* Runs one pickle: stream findings, globals against the policy, the tree's
 * types, nested pickles. Keeps the pickle in *keep when asked. */
static int check_pickle(pt_doc *d, const msi_source *src, uint64_t off, uint64_t len, const char *where,
                        int nest, msi_pickle **keep)
{
	msi_pickle_limits lim = pickle_limits(d);
	msi_pickle *pk = NULL;
	int rc = msi_pickle_run(src, off, len, &lim, true, d->r, where, &pk);
	if (rc != MS_OK)
		return rc;
	for (size_t i = 0; i < pk->nglobals; i++)
		if (!pk->globals[i].unresolved)
			strset_add(&d->globals, pk->globals[i].module, pk->globals[i].name);
	if (d->validating) {
		msi_pickle_check_globals(pk, d->policy, &d->extra, d->r, where);
		check_torch_opcodes(d, pk, where);
		check_call_targets(d, pk, where);
		/* the tree is walked only for what the engine's summary cannot
		 * tell: pickles inside bytes values, and calls of calls that
		 * received items */
		bool bytes = false;
		static const uint8_t bytes_ops[] = { 'B', 'C', 0x8e, 0x96, 'T', 'U', 'S' };
		for (size_t i = 0; i < sizeof bytes_ops; i++)
			bytes = bytes || msi_pickle_saw(pk, bytes_ops[i]);
		if (bytes || pk->call_target_unknown) {
			tree_scan s = { d, src, off, where, nest, 4u * (pk->nodes + 16), 0, pk->call_target_unknown };
			scan_tree(&s, pk->root, 0);
		}
	}
	if (keep)
		*keep = pk;
	else
		msi_pickle_free(pk);
	return d->globals.failed ? MS_ENOMEM : MS_OK;
}

/* Opens record `idx` and runs its pickle. */
/* Opens record `idx` once and runs its pickle. With `if_pickle`, a record
 * found by content rather than by name: it is run only when it starts as a
 * pickle of protocol 2-5 does, and one that cannot be opened is left to the
 * zip layer's findings. */
static int run_record_pickle(pt_doc *d, size_t idx, bool if_pickle, msi_pickle **keep)
{
	const msi_entry *e = &d->c->entries[idx];
	if (e->unsafe)
		return MS_OK; /* the zip layer reported it */
	msi_source *src;
	int rc = d->c->ops->open_entry(d->c, idx, d->v->limits->max_metadata, &src);
	if (rc == MS_ENOMEM)
		return rc;
	if (rc != MS_OK) {
		if (d->validating && !if_pickle)
			msi_report_add(d->r, "pt.record.unreadable", rec_name(d, e), "cannot read the pickle: %s",
			               ms_error_last());
		return MS_OK;
	}
	uint8_t h[2] = { 0, 0 };
	if (if_pickle && (msi_source_read_some(src, 0, h, 2) < 2 || h[0] != 0x80 || h[1] < 2 || h[1] > 5)) {
		msi_source_release(src);
		return MS_OK;
	}
	rc = check_pickle(d, src, 0, src->size, rec_name(d, e), 0, keep);
	msi_source_release(src);
	return rc;
}

/* TorchScript's code/: the class lists (never evaluated). */
static int read_code_lists(pt_doc *d)
{
	d->lists = pt_class_lists_new();
	if (!d->lists)
		return MS_ENOMEM;
	for (size_t i = 0; i < d->c->count; i++) {
		const msi_entry *e = &d->c->entries[i];
		const char *n = rec_name(d, e);
		if (!n || e->unsafe || strncmp(n, "code/", 5) != 0 || !ends_with(n, ".py"))
			continue;
		msi_source *src;
		int rc = d->c->ops->open_entry(d->c, i, d->v->limits->max_metadata, &src);
		if (rc == MS_ENOMEM)
			return rc;
		if (rc != MS_OK)
			continue;
		/* the size comes from the archive: a stored member can claim the
		 * whole file, so it is read only within max_metadata */
		if (src->size > d->v->limits->max_metadata) {
			if (d->validating)
				msi_report_add(d->r, "pt.record.unreadable", n, "code file of %llu bytes is larger than "
				               "max_metadata; its parameter lists were not read",
				               (unsigned long long)src->size);
			msi_source_release(src);
			continue;
		}
		/* "code/__torch__/a/b.py" is module "__torch__.a.b" */
		msi_buf mod = MSI_BUF_INIT;
		msi_buf_append(&mod, n + 5, strlen(n) - 5 - 3);
		char *module = msi_buf_detach(&mod, NULL);
		if (module)
			for (char *p = module; *p; p++)
				if (*p == '/')
					*p = '.';
		/* an inflated member is already in memory: no copy */
		const uint8_t *text = msi_source_memory(src);
		uint8_t *copy = NULL;
		rc = module ? MS_OK : MS_ENOMEM;
		if (rc == MS_OK && !text) {
			copy = msi_malloc((size_t)src->size + 1);
			rc = copy ? msi_source_read(src, 0, copy, (size_t)src->size) : MS_ENOMEM;
			text = copy;
		}
		if (rc == MS_OK)
			rc = pt_class_lists_add_source(d->lists, module, (const char *)text, (size_t)src->size);
		msi_free(copy);
		msi_free(module);
		msi_source_release(src);
		if (rc == MS_ENOMEM)
			return rc;
	}
	return MS_OK;
}

static void doc_free(pt_doc *d)
{
	msi_pickle_free(d->data);
	msi_pickle_free(d->constants);
	pt_tensors_free(&d->tensors);
	pt_class_lists_free(d->lists);
	strset_free(&d->globals);
	msi_big_free(d->rec_index, d->rec_cap * sizeof *d->rec_index);
	msi_free(d->rec_names);
	msi_free(d->rec_hashes);
	msi_free(d->referenced);
}

/* Reads the archive: records, version, byteorder, every pickle, tensors. */
static int doc_load(pt_doc *d)
{
	const msi_view *v = d->v;
	d->c = v->container;
	d->version = -1;
	d->rec_data = d->rec_constants = d->rec_version = d->rec_byteorder = -1;
	d->policy = d->p.kind == PT_TORCHSCRIPT ? MSI_PICKLE_TORCHSCRIPT : MSI_PICKLE_TORCH;
	d->extra.patterns = v->allow_globals;
	d->extra.count = v->allow_globals_count;
	pt_tensors_init(&d->tensors, d->validating ? d->r : NULL, "data.pkl");
	if (!d->c || strcmp(d->c->kind, "zip") != 0)
		return MS_OK; /* a zip cut short: only the sniff's names are known */
	d->plen = strlen(d->p.prefix);
	if (!build_rec_index(d))
		return MS_ENOMEM;
	for (size_t i = 0; i < d->c->count; i++) {
		const msi_entry *e = &d->c->entries[i];
		if (e->type != MSI_ENTRY_FILE)
			continue;
		const char *n = rec_name(d, e);
		if (!n) {
			if (d->validating && d->outside_prefix++ < FINDINGS_PER_RULE)
				msi_report_add(d->r, "pt.archive.prefix", e->name, "member '%.200s' is not under the "
				               "archive's folder '%.200s/' (torch reads only that folder)", e->name, d->p.prefix);
			continue;
		}
		if (strncmp(n, "data/", 5) == 0)
			d->storage_records++;
	}
	d->rec_data = find_rec(d, "data.pkl");
	d->rec_constants = find_rec(d, "constants.pkl");
	d->rec_version = find_rec(d, ".data/version");
	d->version_name = ".data/version";
	if (d->rec_version < 0) {
		d->rec_version = find_rec(d, "version");
		d->version_name = "version";
	}
	d->rec_byteorder = find_rec(d, "byteorder");
	if (d->rec_version >= 0 && read_small(d, d->rec_version, d->version_text))
		d->version = parse_decimal(d->version_text);
	if (d->rec_byteorder >= 0 && read_small(d, d->rec_byteorder, d->byteorder))
		d->has_byteorder = true;

	int rc = MS_OK;
	if (d->rec_data >= 0)
		rc = run_record_pickle(d, (size_t)d->rec_data, false, &d->data);
	if (rc == MS_OK && d->rec_constants >= 0)
		rc = run_record_pickle(d, (size_t)d->rec_constants, false, &d->constants);
	/* every other pickle: by name (.pkl, .debug_pkl) or, outside the
	 * storages, by content */
	for (size_t i = 0; rc == MS_OK && i < d->c->count; i++) {
		const msi_entry *e = &d->c->entries[i];
		const char *n = rec_name(d, e);
		if (!n || (ssize_t)i == d->rec_data || (ssize_t)i == d->rec_constants || e->unsafe)
			continue;
		size_t len = strlen(n);
		bool by_name = ends_with_n(n, len, ".pkl") || ends_with_n(n, len, ".debug_pkl");
		/* storages are raw tensor bytes; code/ is TorchScript source, compiled
		 * by torch and never unpickled */
		bool storage = strncmp(n, "data/", 5) == 0 || strncmp(n, "constants/", 10) == 0 ||
		               (strncmp(n, "code/", 5) == 0 && ends_with_n(n, len, ".py"));
		if (by_name || (!storage && d->validating))
			rc = run_record_pickle(d, i, !by_name, NULL);
	}
	if (rc != MS_OK)
		return rc;
	/* a walk visits a shared node once per path to it: bound it by the
	 * trees' own sizes, so a memo bomb costs no more than its bytes */
	uint64_t nodes = (d->data ? d->data->nodes : 0) + (d->constants ? d->constants->nodes : 0);
	d->tensors.budget = 4 * nodes + 1024;
	if (!pt_tensors_reserve(&d->tensors, d->storage_records))
		return MS_ENOMEM;
	if (d->p.kind == PT_TORCHSCRIPT) {
		rc = read_code_lists(d);
		if (rc != MS_OK)
			return rc;
		if (d->data)
			pt_tensors_collect_module(&d->tensors, d->data->root, d->lists);
		if (d->constants) {
			d->tensors.where = "constants.pkl";
			pt_tensors_collect(&d->tensors, d->constants->root, false, true);
			d->tensors.where = "data.pkl";
		}
	} else if (d->data) {
		pt_tensors_collect(&d->tensors, d->data->root, false, false);
	}
	strset_finish(&d->globals);
	if (d->tensors.failed || d->globals.failed || d->failed)
		return MS_ENOMEM;
	return MS_OK;
}

/* ---- inspect ---- */

static bool same_view(const pt_tensor *a, const pt_tensor *b)
{
	if (a->node == b->node)
		return true;
	if (a->storage != b->storage || a->storage == SIZE_MAX || a->offset != b->offset || a->rank != b->rank ||
	    !a->shape_ok || !b->shape_ok)
		return false;
	return memcmp(a->shape, b->shape, 2u * a->rank * sizeof *a->shape) == 0;
}

/* Elements of unique tensors marked `parameter` (or `buffer`): tied weights
 * count once. Unique by node, or by storage, offset, shape and stride. */
static uint64_t unique_elements(const pt_tensors *t, bool buffers)
{
	uint64_t total = 0;
	/* hash by storage index: tensors of one storage are compared */
	size_t cap = 16;
	while (cap < t->ntensors * 2 + 2)
		cap *= 2;
	size_t *slots = msi_calloc(cap, sizeof *slots);
	for (size_t i = 0; i < t->ntensors; i++) {
		const pt_tensor *x = &t->tensors[i];
		if (buffers ? !x->buffer : !x->parameter)
			continue;
		bool dup = false;
		if (slots) {
			size_t j = (size_t)((x->storage * 0x9e3779b97f4a7c15u) >> 7) & (cap - 1);
			while (slots[j]) {
				if (same_view(&t->tensors[slots[j] - 1], x)) {
					dup = true;
					break;
				}
				j = (j + 1) & (cap - 1);
			}
			if (!dup)
				slots[j] = i + 1;
		}
		if (!dup)
			total = msi_sat_add_u64(total, x->numel);
	}
	msi_free(slots);
	return total;
}

static void write_records(pt_doc *d, msi_json *j)
{
	strset recs = { 0 }, code = { 0 };
	for (size_t i = 0; i < d->c->count; i++) {
		const char *n = rec_name(d, &d->c->entries[i]);
		if (!n)
			continue;
		strset_add(&recs, n, NULL);
		if (strncmp(n, "code/", 5) == 0 && ends_with(n, ".py"))
			strset_add(&code, n, NULL);
	}
	strset_finish(&recs);
	strset_finish(&code);
	msi_json_key(j, "records");
	msi_json_array_begin(j);
	for (size_t i = 0; i < recs.count; i++)
		msi_json_string(j, recs.items[i]);
	msi_json_array_end(j);
	if (d->p.kind == PT_TORCHSCRIPT) {
		msi_json_key(j, "code_files");
		msi_json_array_begin(j);
		for (size_t i = 0; i < code.count; i++)
			msi_json_string(j, code.items[i]);
		msi_json_array_end(j);
		msi_json_key(j, "extra_files");
		msi_json_object_begin(j);
		for (size_t i = 0; i < d->c->count; i++) {
			const char *n = rec_name(d, &d->c->entries[i]);
			if (n && strncmp(n, "extra/", 6) == 0) {
				msi_json_key(j, n + 6);
				msi_json_uint(j, d->c->entries[i].size);
			}
		}
		msi_json_object_end(j);
	}
	if (recs.failed || code.failed)
		d->failed = true;
	strset_free(&recs);
	strset_free(&code);
}

static void write_globals(const strset *g, msi_json *j)
{
	msi_json_key(j, "globals");
	msi_json_array_begin(j);
	for (size_t i = 0; i < g->count; i++)
		msi_json_string(j, g->items[i]);
	msi_json_array_end(j);
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	pt_doc d = { 0 };
	d.v = v;
	probe(v, &d.p);
	if (d.p.kind == PT_NONE)
		return MS_OK;
	msi_json *j = out->model;
	msi_json_key(j, "kind");
	msi_json_string(j, kind_names[d.p.kind]);
	if (d.p.kind == PT_LEGACY)
		return pt_legacy_inspect(v, out);
	if (d.p.data_pkl || d.p.kind == PT_PACKAGE) {
		msi_json_key(j, "archive_prefix");
		msi_json_string(j, d.p.prefix);
	}
	if (d.p.from_local_headers || !v->container || strcmp(v->container->kind, "zip") != 0) {
		/* no central directory: what is known came from local headers */
		msi_json_key(j, "listing");
		msi_json_string(j, "local_headers");
		return MS_OK;
	}
	int rc = doc_load(&d); /* d.r NULL: inspect keeps no findings */
	if (rc == MS_OK) {
		write_records(&d, j);
		msi_json_key(j, "version");
		if (d.version >= 0)
			msi_json_int(j, d.version);
		else if (d.rec_version >= 0)
			msi_json_string(j, d.version_text);
		else
			msi_json_null(j);
		msi_json_key(j, "byteorder");
		msi_json_string(j, d.has_byteorder ? d.byteorder : NULL);
		msi_json_key(j, "storages");
		msi_json_uint(j, d.storage_records);
		const msi_pv *root = d.data ? d.data->root : NULL;
		if (d.p.kind == PT_TORCHSCRIPT) {
			char buf[300];
			msi_json_key(j, "top_level_type");
			msi_json_string(j, root ? pt_top_level_type(root, buf, sizeof buf) : NULL);
		} else if (d.p.kind == PT_TORCH_ZIP) {
			pt_write_top_level(root, j);
			pt_write_tensors(&d.tensors, j);
		}
		write_globals(&d.globals, j);
		if (d.p.kind == PT_TORCHSCRIPT) {
			msi_json_key(out->root, "parameters");
			msi_json_uint(out->root, unique_elements(&d.tensors, false));
			msi_json_key(out->root, "buffers");
			msi_json_uint(out->root, unique_elements(&d.tensors, true));
		} else if (d.p.kind == PT_TORCH_ZIP) {
			msi_json_key(out->root, "parameters");
			msi_json_uint(out->root, pt_tensors_total_elements(&d.tensors));
		}
		if (d.failed)
			rc = MS_ENOMEM;
	}
	doc_free(&d);
	return rc;
}

/* ---- validate ---- */

/* Every storage a pickle names exists and holds numel x element size
 * bytes; every tensor view fits its storage; data/ records nobody names. */
static void check_storages(pt_doc *d)
{
	pt_tensors *t = &d->tensors;
	size_t missing = 0, small = 0;
	char name[300];
	/* torch writes storages as records in the order their keys were made:
	 * the member after the last one found is tried first, which spares
	 * a hash lookup (a cache miss or three) per storage. Only a member
	 * that is not unsafe is taken so: every copy of a duplicated name is,
	 * so the guess finds what find_rec would. */
	size_t guess = SIZE_MAX;
	for (size_t i = 0; i < t->nstorages; i++) {
		const pt_storage *s = &t->storages[i];
		const char *dir = s->constants ? "constants/" : "data/";
		size_t dl = strlen(dir), kl = strlen(s->key);
		if (kl > 200)
			kl = 200;
		memcpy(name, dir, dl);
		memcpy(name + dl, s->key, kl);
		name[dl + kl] = '\0';
		ssize_t idx;
		if (d->rec_names && guess < d->c->count && d->rec_names[guess] && !d->c->entries[guess].unsafe &&
		    strcmp(d->rec_names[guess], name) == 0)
			idx = (ssize_t)guess;
		else
			idx = find_rec(d, name);
		guess = idx >= 0 ? (size_t)idx + 1 : SIZE_MAX;
		if (idx < 0) {
			if (missing++ < FINDINGS_PER_RULE)
				msi_report_add(d->r, "pt.storage.missing", name, "storage '%.200s' is named by the pickle but "
				               "the archive has no record '%s'", s->key, name);
			continue;
		}
		d->referenced[idx] = 1;
		const msi_entry *e = &d->c->entries[idx];
		uint64_t need;
		if (s->elem_size && s->numel_known) {
			if (!msi_mul_u64(s->numel, s->elem_size, &need) || e->size < need) {
				if (small++ < FINDINGS_PER_RULE)
					msi_report_add(d->r, "pt.storage.too_small", name, "storage '%.200s' declares %llu "
					               "elements of %u bytes but its record holds %llu bytes", s->key,
					               (unsigned long long)s->numel, s->elem_size, (unsigned long long)e->size);
			} else if (e->size > need) {
				msi_report_add(d->r, "pt.storage.size_mismatch", name, "storage '%.200s' declares %llu bytes "
				               "but its record holds %llu", s->key, (unsigned long long)need,
				               (unsigned long long)e->size);
			}
		}
		if (e->method != 0)
			msi_report_add(d->r, "pt.storage.compressed", name, "storage record is compressed (method %u): "
			               "torch writes storages stored so that they can be mapped", e->method);
		else if (e->data_offset % 64 != 0)
			msi_report_add(d->r, "pt.storage.unaligned", name, "storage data starts at offset %llu, not on "
			               "the 64-byte boundary torch writes", (unsigned long long)e->data_offset);
	}
	size_t oob = 0;
	for (size_t i = 0; i < t->ntensors; i++) {
		const pt_tensor *x = &t->tensors[i];
		if (!x->shape_ok || x->storage == SIZE_MAX || x->numel == 0 || !x->elem_size)
			continue;
		const pt_storage *s = &t->storages[x->storage];
		uint64_t bytes;
		if (!s->numel_known || !s->elem_size || !msi_mul_u64(s->numel, s->elem_size, &bytes))
			continue;
		uint64_t capacity = bytes / x->elem_size, last = x->offset, step;
		bool ok = true;
		for (uint32_t k = 0; ok && k < x->rank; k++) {
			ok = msi_mul_u64((uint64_t)(x->shape[k] - 1), (uint64_t)x->stride[k], &step) &&
			     msi_add_u64(last, step, &last);
		}
		if ((!ok || last >= capacity) && oob++ < FINDINGS_PER_RULE)
			msi_report_add(d->r, "pt.tensor.out_of_bounds", x->key, "tensor '%.200s' reads element %llu of "
			               "storage '%.100s', which has %llu", x->key, ok ? (unsigned long long)last : ~0ull,
			               s->key, (unsigned long long)capacity);
	}
	size_t unref = 0;
	for (size_t i = 0; i < d->c->count; i++) {
		const char *n = rec_name(d, &d->c->entries[i]);
		if (n && strncmp(n, "data/", 5) == 0 && !d->referenced[i] && unref++ < FINDINGS_PER_RULE)
			msi_report_add(d->r, "pt.storage.unreferenced", n, "record '%.200s' is a storage no pickle names",
			               n);
	}
}

static void check_records(pt_doc *d)
{
	if (d->rec_data < 0 && d->p.kind != PT_PACKAGE)
		msi_report_add(d->r, "pt.record.missing", "data.pkl", "the archive has no data.pkl");
	if (d->p.kind == PT_TORCHSCRIPT && d->rec_constants < 0)
		msi_report_add(d->r, "pt.record.missing", "constants.pkl", "a TorchScript archive without constants.pkl");
	if (d->p.kind == PT_PACKAGE)
		msi_report_add(d->r, "pt.package.code", NULL, "a torch.package archive: loading it imports the Python "
		               "modules it carries");
	if (d->rec_version < 0) {
		msi_report_add(d->r, "pt.version.missing", "version", "the archive has no version record (version or "
		               ".data/version)");
	} else if (d->version < 0) {
		msi_report_add(d->r, "pt.version.invalid", d->version_name, "the version record '%.40s' is not a "
		               "decimal number", d->version_text);
	} else if (d->version < 1 || d->version > 10) {
		msi_report_add(d->r, "pt.version.unsupported", d->version_name, "file format version %lld is outside "
		               "the 1..10 torch reads", (long long)d->version);
	}
	if (d->has_byteorder && strcmp(d->byteorder, "little") != 0 && strcmp(d->byteorder, "big") != 0)
		msi_report_add(d->r, "pt.byteorder.invalid", "byteorder", "byteorder record is '%.40s', not little "
		               "or big", d->byteorder);
}

static int validate(const msi_view *v, msi_validate_ctx *ctx)
{
	pt_doc d = { 0 };
	d.v = v;
	d.r = ctx->report;
	d.validating = true;
	probe(v, &d.p);
	if (d.p.kind == PT_NONE)
		return MS_OK;
	if (d.p.kind == PT_LEGACY)
		return pt_legacy_validate(v, ctx);
	if (!v->container || strcmp(v->container->kind, "zip") != 0) {
		msi_report_add(d.r, "pt.archive.unreadable", NULL, "the zip archive has no readable central directory "
		               "(cut short?): nothing inside can be checked");
		return MS_OK;
	}
	int rc = doc_load(&d);
	if (rc == MS_OK) {
		check_records(&d);
		check_storages(&d);
		if (d.failed)
			rc = MS_ENOMEM;
	}
	doc_free(&d);
	return rc;
}

const msi_format msi_format_pt = {
	.name = "pt",
	.description = "PyTorch: TorchScript or torch.save archive, or legacy torch.save pickle",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = validate,
};
