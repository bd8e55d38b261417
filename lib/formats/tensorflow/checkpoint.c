/*
 * TensorFlow checkpoint bundle (.index + .data shards, FORMATS.md §7.3).
 *
 * A checkpoint is a directory holding `<prefix>.index` and
 * `<prefix>.data-SSSSS-of-NNNNN` shards, optionally the `checkpoint` state
 * file and a `<prefix>.meta` graph. The .index file alone is recognised by
 * the table footer's magic number and inspected as a table (no shards). A
 * SavedModel has the same files under variables/: that is the SavedModel's,
 * not a checkpoint.
 *
 * The table and bundle reading is tf_table.c / tf_bundle.c; this file picks
 * the bundle in a listing, reads the `checkpoint` state file and writes the
 * facts. Container findings (tar.*, dir.*) are added by the artifact layer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf.h"
#include "tf_bundle.h"
#include "tf_table.h"

#define STATE_MAX (64u * 1024u) /* a CheckpointState is a few lines */
#define PATH_MAX_LEN 1024u

static const msi_limits default_limits = { 100000, 0, 16u << 20, 64, 64u << 20 };

static const msi_limits *limits_of(const msi_view *v)
{
	return v->limits ? v->limits : &default_limits;
}

/* "<prefix>.data-DDDDD-of-DDDDD": the length of <prefix>, or 0. */
static size_t data_shard_prefix(const char *name)
{
	size_t n = strlen(name);
	static const char tail[] = ".data-00000-of-00000";
	size_t tl = sizeof tail - 1;
	if (n <= tl)
		return 0;
	const char *t = name + n - tl;
	for (size_t i = 0; i < tl; i++) {
		if (tail[i] == '0' ? !(t[i] >= '0' && t[i] <= '9') : t[i] != tail[i])
			return 0;
	}
	return n - tl;
}

typedef struct ckpt_dir {
	bool found;
	const char *index;   /* entry name of the .index file */
	size_t prefix_len;   /* of the checkpoint prefix in that name */
	unsigned shards;
	bool state_file, meta;
} ckpt_dir;

/* Root-level files of a listing that form a checkpoint bundle. */
static void probe_dir(const msi_container *c, ckpt_dir *d)
{
	memset(d, 0, sizeof *d);
	for (size_t i = 0; i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type != MSI_ENTRY_FILE)
			continue;
		const char *n = msi_entry_strip_dot(e->name);
		if (strchr(n, '/'))
			continue;
		if (strcmp(n, "saved_model.pb") == 0 || strcmp(n, "saved_model.pbtxt") == 0) {
			d->found = false; /* a SavedModel directory */
			return;
		}
		if (strcmp(n, "checkpoint") == 0)
			d->state_file = true;
		size_t nl = strlen(n);
		if (!d->index && nl > 6 && msi_name_has_ext(n, ".index")) {
			d->index = n;
			d->prefix_len = nl - 6;
		}
	}
	if (!d->index)
		return;
	for (size_t i = 0; i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type != MSI_ENTRY_FILE)
			continue;
		const char *n = msi_entry_strip_dot(e->name);
		if (strchr(n, '/') || strncmp(n, d->index, d->prefix_len) != 0)
			continue;
		if (data_shard_prefix(n) == d->prefix_len)
			d->shards++;
		else if (strcmp(n + d->prefix_len, ".meta") == 0)
			d->meta = true;
	}
	d->found = d->shards > 0;
}

/* The last 48 bytes of a TF table (a LevelDB SSTable): two block handles
 * of varint64 pairs, zero padding, and the magic. Both blocks must lie
 * before the footer. */
static bool table_footer_ok(const msi_view *v)
{
	if (!v->src || v->size < TF_TABLE_FOOTER || v->tail_len < TF_TABLE_FOOTER)
		return false;
	const uint8_t *f = v->tail + v->tail_len - TF_TABLE_FOOTER;
	if (msi_le64(f + 40) != TF_TABLE_MAGIC)
		return false;
	msi_cursor c = msi_cursor_make(f, 40);
	uint64_t limit = v->size - TF_TABLE_FOOTER;
	for (int k = 0; k < 2; k++) {
		uint64_t off = msi_cursor_varint(&c), len = msi_cursor_varint(&c);
		/* each block is followed by its 5-byte trailer */
		if (c.failed || !msi_range_ok(off, len, limit) || limit - off - len < 5)
			return false;
	}
	while (msi_cursor_left(&c) > 0)
		if (msi_cursor_u8(&c) != 0)
			return false;
	return true;
}

static int sniff(const msi_view *v)
{
	if (v->container) {
		if (strcmp(v->container->kind, "zip") == 0)
			return 0;
		ckpt_dir d;
		probe_dir(v->container, &d);
		return d.found ? 90 : 0;
	}
	/* The magic is LevelDB's table magic too, so a lone table is
	 * "magic plus structure" but not unmistakably TensorFlow's. */
	return table_footer_ok(v) ? 70 : 0;
}

/* ---- the `checkpoint` state file (CheckpointState in text format) ---- */

typedef struct ckpt_state {
	bool present;
	bool parsed;           /* every line parsed */
	char latest[PATH_MAX_LEN]; /* model_checkpoint_path, "" when absent */
	bool has_latest;
	char problem[200];
} ckpt_state;

static bool is_ident(char ch, bool first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || (!first && ch >= '0' && ch <= '9');
}

/* One text-format string literal at *p (double or single quotes, C
 * escapes), decoded into out (cut at cap - 1). */
static bool parse_quoted(const char **pp, const char *end, char *out, size_t cap)
{
	const char *p = *pp;
	char q = *p++;
	size_t o = 0;
	while (p < end && *p != q) {
		char ch = *p++;
		if (ch == '\\') {
			if (p >= end)
				return false;
			char e = *p++;
			switch (e) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case '\\': case '\'': case '"': ch = e; break;
			default:
				if (e >= '0' && e <= '7') { /* up to three octal digits */
					int val = e - '0';
					for (int k = 0; k < 2 && p < end && *p >= '0' && *p <= '7'; k++)
						val = val * 8 + (*p++ - '0');
					ch = (char)val;
				} else {
					return false;
				}
			}
		} else if (ch == '\n') {
			return false;
		}
		if (o + 1 < cap)
			out[o++] = ch;
	}
	if (p >= end)
		return false;
	out[o] = 0;
	*pp = p + 1;
	return true;
}

static void parse_state(const char *text, size_t len, ckpt_state *st)
{
	st->parsed = true;
	if (!msi_is_text((const uint8_t *)text, len) || memchr(text, 0, len)) {
		st->parsed = false;
		snprintf(st->problem, sizeof st->problem, "it is not text");
		return;
	}
	const char *p = text, *end = text + len;
	unsigned line = 1;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
			line += *p == '\n';
			p++;
		}
		if (p >= end)
			break;
		if (*p == '#') {
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		const char *k = p;
		while (p < end && is_ident(*p, p == k))
			p++;
		size_t klen = (size_t)(p - k);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (klen == 0 || p >= end || *p != ':') {
			st->parsed = false;
			snprintf(st->problem, sizeof st->problem, "line %u is not `field: value`", line);
			return;
		}
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		bool is_path = (klen == 21 && memcmp(k, "model_checkpoint_path", 21) == 0) ||
		               (klen == 26 && memcmp(k, "all_model_checkpoint_paths", 26) == 0);
		bool is_time = (klen == 31 && memcmp(k, "all_model_checkpoint_timestamps", 31) == 0) ||
		               (klen == 24 && memcmp(k, "last_preserved_timestamp", 24) == 0);
		if (!is_path && !is_time) {
			st->parsed = false;
			snprintf(st->problem, sizeof st->problem, "line %u: unknown field '%.*s'", line,
			         (int)MSI_MIN(klen, 60), k);
			return;
		}
		if (is_path) {
			char buf[PATH_MAX_LEN];
			if (p >= end || (*p != '"' && *p != '\'') || !parse_quoted(&p, end, buf, sizeof buf)) {
				st->parsed = false;
				snprintf(st->problem, sizeof st->problem, "line %u: the path is not a quoted string", line);
				return;
			}
			if (k[0] == 'm') {
				memcpy(st->latest, buf, sizeof buf);
				st->has_latest = true;
			}
		} else {
			const char *n = p;
			while (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '+' || *p == 'e' ||
			                   *p == 'E'))
				p++;
			if (p == n) {
				st->parsed = false;
				snprintf(st->problem, sizeof st->problem, "line %u: the timestamp is not a number", line);
				return;
			}
		}
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p < end && *p != '\n') {
			st->parsed = false;
			snprintf(st->problem, sizeof st->problem, "line %u has more after the value", line);
			return;
		}
	}
}

static ssize_t find_stripped(const msi_container *c, const char *name)
{
	for (size_t i = 0; i < c->count; i++)
		if (c->entries[i].type == MSI_ENTRY_FILE && strcmp(msi_entry_strip_dot(c->entries[i].name), name) == 0)
			return (ssize_t)i;
	return -1;
}

static int read_state(msi_container *c, ckpt_state *st)
{
	memset(st, 0, sizeof *st);
	ssize_t idx = find_stripped(c, "checkpoint");
	if (idx < 0)
		return MS_OK;
	st->present = true;
	if (c->entries[idx].size > STATE_MAX) {
		snprintf(st->problem, sizeof st->problem, "it is %llu bytes (a CheckpointState is a few lines)",
		         (unsigned long long)c->entries[idx].size);
		return MS_OK;
	}
	char *buf = msi_malloc(STATE_MAX);
	if (!buf)
		return msi_error(MS_ENOMEM, "out of memory");
	size_t got = 0;
	int rc = msi_container_read_window(c, (size_t)idx, false, (uint8_t *)buf, STATE_MAX, &got);
	if (rc == MS_ENOMEM) {
		msi_free(buf);
		return rc;
	}
	if (rc != MS_OK)
		snprintf(st->problem, sizeof st->problem, "it cannot be read (%s)", ms_error_last());
	else
		parse_state(buf, got, st);
	msi_free(buf);
	return MS_OK;
}

/* The prefix the state file names, as a listing name: relative paths are
 * relative to the checkpoint directory; absolute ones (older TF wrote
 * them) are matched by their base name. */
static const char *state_prefix(const ckpt_state *st)
{
	const char *p = st->latest;
	if (p[0] == '/')
		return msi_entry_base(p);
	return msi_entry_strip_dot(p);
}

/* ---- the bundle in a listing ---- */

typedef struct ckpt {
	char prefix[PATH_MAX_LEN];
	ssize_t index;         /* listing entry of <prefix>.index, -1 for a lone file */
	char **shards;         /* data shard names of this prefix, sorted */
	size_t nshards;
	bool meta;
	ckpt_state state;
} ckpt;

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void ckpt_free(ckpt *k)
{
	for (size_t i = 0; i < k->nshards; i++)
		msi_free(k->shards[i]);
	msi_free(k->shards);
}

/* Picks the bundle: the prefix the state file names when its .index is in
 * the listing, else the first .index at the root. */
static int ckpt_probe(msi_container *c, ckpt *k)
{
	memset(k, 0, sizeof *k);
	k->index = -1;
	ckpt_dir d;
	probe_dir(c, &d);
	if (!d.index)
		return MS_OK;
	int rc = read_state(c, &k->state);
	if (rc != MS_OK)
		return rc;
	if (k->state.has_latest) {
		char want[PATH_MAX_LEN + 8];
		snprintf(want, sizeof want, "%s.index", state_prefix(&k->state));
		ssize_t idx = find_stripped(c, want);
		if (idx >= 0 && !strchr(want, '/')) {
			snprintf(k->prefix, sizeof k->prefix, "%s", state_prefix(&k->state));
			k->index = idx;
		}
	}
	if (k->index < 0) {
		snprintf(k->prefix, sizeof k->prefix, "%.*s", (int)d.prefix_len, d.index);
		char want[PATH_MAX_LEN + 8];
		snprintf(want, sizeof want, "%s.index", k->prefix);
		k->index = find_stripped(c, want);
	}
	size_t plen = strlen(k->prefix);
	for (size_t i = 0; i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type != MSI_ENTRY_FILE)
			continue;
		const char *n = msi_entry_strip_dot(e->name);
		if (strchr(n, '/') || strncmp(n, k->prefix, plen) != 0)
			continue;
		if (strcmp(n + plen, ".meta") == 0)
			k->meta = true;
		if (data_shard_prefix(n) != plen)
			continue;
		char **grown = msi_reallocarray(k->shards, k->nshards + 1, sizeof *grown);
		if (!grown)
			return msi_error(MS_ENOMEM, "out of memory");
		k->shards = grown;
		if (!(k->shards[k->nshards] = msi_strdup(n)))
			return msi_error(MS_ENOMEM, "out of memory");
		k->nshards++;
	}
	if (k->nshards > 1)
		qsort(k->shards, k->nshards, sizeof *k->shards, name_cmp);
	return MS_OK;
}

/* Reads the bundle of `k` (or of the lone index file). */
static int read_bundle(const msi_view *v, const ckpt *k, const char *where, ms_report *r, tf_bundle **out)
{
	*out = NULL;
	msi_source *src = NULL;
	if (k->index >= 0) {
		int rc = v->container->ops->open_entry(v->container, (size_t)k->index, limits_of(v)->max_metadata, &src);
		if (rc != MS_OK)
			return rc;
	} else {
		src = msi_source_ref(v->src);
	}
	int rc = tf_bundle_read_at(src, where, limits_of(v), r, out);
	msi_source_release(src);
	return rc;
}

static void write_shape(msi_json *j, const tf_bundle_entry *e)
{
	if (e->unknown_rank) {
		msi_json_null(j);
		return;
	}
	msi_json_array_begin(j);
	for (uint32_t i = 0; i < e->rank; i++)
		msi_json_int(j, e->dims[i]);
	msi_json_array_end(j);
}

static void write_dtype(msi_json *j, int dtype)
{
	const char *n = tf_dtype_name(dtype);
	if (n) {
		msi_json_string(j, n);
	} else {
		char buf[32];
		snprintf(buf, sizeof buf, "dtype_%d", dtype);
		msi_json_string(j, buf);
	}
}

static void write_bundle_facts(msi_inspect_out *out, const tf_bundle *b)
{
	msi_json *m = out->model;
	msi_json_key(m, "endianness");
	msi_json_string(m, b->endianness == 1 ? "big" : "little");
	msi_json_key(m, "bundle_version");
	if (b->producer >= 0)
		msi_json_int(m, b->producer);
	else
		msi_json_null(m);
	uint64_t params = 0;
	bool object_based = false;
	msi_json_key(m, "variables");
	msi_json_array_begin(m);
	for (size_t i = 0; i < b->count; i++) {
		const tf_bundle_entry *e = &b->entries[i];
		if (strcmp(e->key, TF_OBJECT_GRAPH_KEY) == 0) {
			object_based = true;
			continue;
		}
		msi_json_object_begin(m);
		msi_json_key(m, "name");
		msi_json_stringn(m, e->key, e->key_len);
		msi_json_key(m, "dtype");
		write_dtype(m, e->dtype);
		msi_json_key(m, "shape");
		write_shape(m, e);
		msi_json_object_end(m);
		if (e->numel != UINT64_MAX)
			params = msi_sat_add_u64(params, e->numel);
	}
	msi_json_array_end(m);
	msi_json_key(m, "tensor_count");
	msi_json_uint(m, b->count);
	msi_json_key(m, "total_bytes");
	msi_json_uint(m, b->total_bytes);
	msi_json_key(m, "object_based");
	msi_json_bool(m, object_based);
	msi_json_key(out->root, "parameters");
	msi_json_uint(out->root, params);
}

static int inspect_lone(const msi_view *v, msi_inspect_out *out)
{
	if (!table_footer_ok(v))
		return MS_OK;
	const char *name = v->name ? v->name : "";
	size_t nl = strlen(name);
	size_t plen = nl > 6 && msi_name_has_ext(name, ".index") ? nl - 6 : nl;
	msi_json *m = out->model;
	msi_json_key(m, "kind");
	msi_json_string(m, "checkpoint");
	msi_json_key(m, "prefix");
	msi_json_stringn(m, name, plen);
	msi_json_key(m, "index_file");
	msi_json_string(m, name);
	msi_json_key(m, "data_shards");
	msi_json_uint(m, 0);
	msi_json_key(m, "shards");
	msi_json_array_begin(m);
	msi_json_array_end(m);
	msi_json_key(m, "has_state_file");
	msi_json_bool(m, false);
	msi_json_key(m, "has_meta_graph");
	msi_json_bool(m, false);
	ckpt k = { .index = -1 };
	tf_bundle *b = NULL;
	int rc = read_bundle(v, &k, name, NULL, &b);
	if (rc == MS_ENOMEM || rc == MS_ECANCELLED)
		return rc;
	if (rc == MS_OK)
		write_bundle_facts(out, b);
	tf_bundle_free(b);
	return rc == MS_OK || rc == MS_EFORMAT ? MS_OK : rc;
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	if (!v->container)
		return inspect_lone(v, out);
	ckpt k;
	int rc = ckpt_probe(v->container, &k);
	if (rc != MS_OK || k.index < 0) {
		ckpt_free(&k);
		return rc;
	}
	msi_json *m = out->model;
	msi_json_key(m, "kind");
	msi_json_string(m, "checkpoint");
	msi_json_key(m, "prefix");
	msi_json_string(m, k.prefix);
	msi_json_key(m, "index_file");
	msi_json_string(m, msi_entry_strip_dot(v->container->entries[k.index].name));
	msi_json_key(m, "data_shards");
	msi_json_uint(m, k.nshards);
	msi_json_key(m, "shards");
	msi_json_array_begin(m);
	for (size_t i = 0; i < k.nshards; i++)
		msi_json_string(m, k.shards[i]);
	msi_json_array_end(m);
	msi_json_key(m, "has_state_file");
	msi_json_bool(m, k.state.present);
	if (k.state.has_latest) {
		msi_json_key(m, "latest");
		msi_json_string(m, k.state.latest);
	}
	msi_json_key(m, "has_meta_graph");
	msi_json_bool(m, k.meta);
	tf_bundle *b = NULL;
	rc = read_bundle(v, &k, NULL, NULL, &b);
	if (rc == MS_OK)
		write_bundle_facts(out, b);
	tf_bundle_free(b);
	ckpt_free(&k);
	/* a broken index still leaves the listing's facts */
	return rc == MS_ENOMEM || rc == MS_ECANCELLED ? rc : MS_OK;
}

/* ---- validate ---- */

static int check_object_graph(const msi_view *v, const ckpt *k, const tf_bundle *b, ms_report *r,
                              const char *where)
{
	const tf_bundle_entry *e = tf_bundle_find(b, TF_OBJECT_GRAPH_KEY);
	if (!e)
		return MS_OK;
	if (e->invalid || e->dtype != 7 || e->rank != 0 || e->unknown_rank) {
		msi_report_add(r, "tf.checkpoint.object_graph", where, "%s is not a scalar string entry",
		               TF_OBJECT_GRAPH_KEY);
		return MS_OK;
	}
	/* a missing shard or an entry past its end is reported by the shard
	 * checks already */
	char shard[PATH_MAX_LEN + 32];
	snprintf(shard, sizeof shard, "%s.data-%05d-of-%05d", k->prefix, e->shard_id, b->num_shards);
	ssize_t idx = find_stripped(v->container, shard);
	if (idx < 0 || !msi_range_ok(e->offset, e->size, v->container->entries[idx].size))
		return MS_OK;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = tf_bundle_read_object_graph(b, v->container, k->prefix, &data, &len);
	if (rc == MS_ENOMEM || rc == MS_ECANCELLED || rc == MS_EIO || rc == MS_ECHANGED)
		return rc;
	if (rc == MS_ELIMIT) {
		msi_report_add(r, "tf.bundle.limit", where, "%s", ms_error_last());
		return MS_OK;
	}
	if (rc != MS_OK) {
		msi_report_add(r, "tf.checkpoint.object_graph", where, "%s cannot be read: %s", TF_OBJECT_GRAPH_KEY,
		               ms_error_last());
		return MS_OK;
	}
	rc = tf_object_graph_check(b, data, len, r, where, NULL);
	msi_free(data);
	return rc;
}

static void check_state(const msi_view *v, const ckpt *k, ms_report *r)
{
	const ckpt_state *st = &k->state;
	if (!st->present)
		return;
	if (st->problem[0]) {
		msi_report_add(r, "tf.checkpoint.state", "checkpoint", "the `checkpoint` state file does not parse: %s",
		               st->problem);
		return;
	}
	if (!st->has_latest) {
		msi_report_add(r, "tf.checkpoint.state", "checkpoint",
		               "the `checkpoint` state file names no model_checkpoint_path");
		return;
	}
	char want[PATH_MAX_LEN + 8];
	snprintf(want, sizeof want, "%s.index", state_prefix(st));
	if (find_stripped(v->container, want) < 0)
		msi_report_add(r, "tf.checkpoint.state", "checkpoint",
		               "model_checkpoint_path '%.200s' names a checkpoint that is not here (no %.200s)", st->latest,
		               want);
}

static int validate(const msi_view *v, msi_validate_ctx *ctx)
{
	ms_report *r = ctx->report;
	tf_bundle *b = NULL;
	if (!v->container) {
		ckpt k = { .index = -1 };
		int rc = read_bundle(v, &k, v->name ? v->name : "", r, &b);
		tf_bundle_free(b);
		return rc == MS_EFORMAT ? MS_OK : rc;
	}
	ckpt k;
	int rc = ckpt_probe(v->container, &k);
	if (rc != MS_OK || k.index < 0) {
		ckpt_free(&k);
		return rc;
	}
	char where[PATH_MAX_LEN + 8];
	snprintf(where, sizeof where, "%s.index", k.prefix);
	check_state(v, &k, r);
	rc = read_bundle(v, &k, where, r, &b);
	if (rc == MS_OK) {
		rc = tf_bundle_check_shards(b, v->container, k.prefix, ctx->quick, r, ctx->progress);
		if (rc == MS_OK)
			rc = check_object_graph(v, &k, b, r, where);
	} else if (rc == MS_EFORMAT) {
		rc = MS_OK; /* tf.table.footer is in the report */
	}
	tf_bundle_free(b);
	ckpt_free(&k);
	return rc;
}

const msi_format msi_format_tf_checkpoint = {
	.name = "tf_checkpoint",
	.description = "TensorFlow checkpoint bundle (.index + .data shards)",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = validate,
};
