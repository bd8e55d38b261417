/*
 * TensorFlow checkpoint bundle (.index + .data shards): sniff and a cheap
 * inspect (the table reader and validate come with the format's own issue).
 *
 * A checkpoint is a directory holding `<prefix>.index` and
 * `<prefix>.data-SSSSS-of-NNNNN` shards, optionally the `checkpoint` state
 * file and a `<prefix>.meta` graph (FORMATS.md §7.3). The .index file alone
 * is recognised by the table footer's magic number. A SavedModel has the
 * same files under variables/: that is the SavedModel's, not a checkpoint.
 */
#include <string.h>

#include "tf.h"

#define TABLE_FOOTER 48u
#define TABLE_MAGIC UINT64_C(0xdb4775248b80fb57)

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
	if (!v->src || v->size < TABLE_FOOTER || v->tail_len < TABLE_FOOTER)
		return false;
	const uint8_t *f = v->tail + v->tail_len - TABLE_FOOTER;
	if (msi_le64(f + 40) != TABLE_MAGIC)
		return false;
	msi_cursor c = msi_cursor_make(f, 40);
	uint64_t limit = v->size - TABLE_FOOTER;
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

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	if (!v->container) {
		if (!table_footer_ok(v))
			return MS_OK;
		msi_json_key(out->model, "kind");
		msi_json_string(out->model, "index_file");
		return MS_OK;
	}
	ckpt_dir d;
	probe_dir(v->container, &d);
	if (!d.found)
		return MS_OK;
	msi_json_key(out->model, "kind");
	msi_json_string(out->model, "bundle");
	msi_json_key(out->model, "prefix");
	msi_json_stringn(out->model, d.index, d.prefix_len);
	msi_json_key(out->model, "data_shards");
	msi_json_uint(out->model, d.shards);
	msi_json_key(out->model, "has_state_file");
	msi_json_bool(out->model, d.state_file);
	msi_json_key(out->model, "has_meta_graph");
	msi_json_bool(out->model, d.meta);
	return MS_OK;
}

const msi_format msi_format_tf_checkpoint = {
	.name = "tf_checkpoint",
	.description = "TensorFlow checkpoint bundle (.index + .data shards)",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = NULL,
};
