/*
 * TensorFlow tensor bundles: the `<prefix>.index` table and its
 * `<prefix>.data-SSSSS-of-NNNNN` shards (FORMATS.md §7.3). Used by the
 * checkpoint format and by SavedModels (variables/variables.*).
 *
 * tf_table.c reads the table (a LevelDB SSTable without filter blocks):
 * footer, index block, data blocks with their masked CRC-32C trailers,
 * restart arrays, prefix-compressed keys. tf_bundle.c turns its entries
 * into a header and a sorted list of tensor entries, and checks them
 * against the shards.
 */
#ifndef MSI_FORMATS_TF_BUNDLE_H
#define MSI_FORMATS_TF_BUNDLE_H

#include "../format.h"

/* The key a tf.train.Checkpoint stores its TrackableObjectGraph under. */
#define TF_OBJECT_GRAPH_KEY "_CHECKPOINTABLE_OBJECT_GRAPH"

typedef struct tf_bundle_entry {
	const char *key;      /* NUL-terminated copy of the table key */
	size_t key_len;       /* (a key with a NUL byte is flagged and cut there) */
	int dtype;            /* TF DataType number (1 float, 3 int32, 7 string, ...) */
	int64_t *dims;        /* NULL for a scalar; -1 for an unknown dimension */
	uint32_t rank;
	bool unknown_rank;
	int32_t shard_id;
	uint64_t offset, size; /* bytes in the shard */
	uint32_t crc32c;      /* masked, as stored; valid when has_crc */
	bool has_crc;
	uint32_t n_slices;    /* partitioned variables (slices) */
	uint64_t numel;       /* product of dims (saturating), 1 for a scalar */
	bool invalid;         /* reported by tf_bundle_read (bad dtype, negative values, shard_id
	                       * out of range): listed, but skipped by the shard checks */
} tf_bundle_entry;

typedef struct tf_bundle {
	bool has_header;       /* the "" key with a BundleHeaderProto */
	int32_t num_shards;
	int32_t endianness;    /* 0 little, 1 big */
	int32_t producer;      /* header VersionDef.producer, -1 when absent */
	tf_bundle_entry *entries; /* every key but "", in table (bytewise) order */
	size_t count;
	uint64_t total_bytes;  /* sum of entry sizes */
	void *impl;            /* arena and such, freed with the bundle */
} tf_bundle;

/* Reads the index table from `index` (the whole .index file). Structural
 * problems become findings in `findings` (codes `tf.table.*`,
 * `tf.bundle.*`; may be NULL when the caller only wants facts) and what
 * could be read is kept: a corrupt block loses its own entries, not the
 * others. Returns MS_OK with a bundle (possibly empty), MS_EFORMAT when the
 * bytes are not a TF table at all (no footer magic, or footer handles that
 * reach nothing), or MS_ENOMEM /
 * MS_EIO. Memory is bounded by `limits->max_metadata` and the entry count
 * by `limits->max_members` (NULL limits: the library's defaults). */
int tf_bundle_read(msi_source *index, const msi_limits *limits, ms_report *findings, tf_bundle **out);
/* The same with the findings located at `where` (the index file's name).
 * On MS_EFORMAT (no footer magic, or footer handles outside the file) a
 * tf.table.footer finding has been added to `findings` already. */
int tf_bundle_read_at(msi_source *index, const char *where, const msi_limits *limits, ms_report *findings,
                      tf_bundle **out);

/* The entry with exactly this key, or NULL (binary search). */
const tf_bundle_entry *tf_bundle_find(const tf_bundle *b, const char *key);

/* Checks the bundle against its shards in a listing: `prefix` is the
 * entry-name prefix of the bundle inside `c` (e.g. "variables/variables"
 * or "./ckpt"), shards are "<prefix>.data-%05d-of-%05d". Adds findings for
 * missing or extra shards, entries past a shard's end, overlapping
 * entries, sizes that disagree with numel × dtype size, and — unless
 * `quick` — entry CRC-32Cs (streamed through bounded reads). */
int tf_bundle_check_shards(const tf_bundle *b, msi_container *c, const char *prefix, bool quick, ms_report *r,
                           msi_progress *progress);

/* The serialized TrackableObjectGraph stored under TF_OBJECT_GRAPH_KEY:
 * read from its shard into a fresh buffer (caller frees with msi_free).
 * MS_EFORMAT when the entry is absent or not a scalar string. */
int tf_bundle_read_object_graph(const tf_bundle *b, msi_container *c, const char *prefix, uint8_t **out,
                                size_t *out_len);

/* Checks a serialized TrackableObjectGraph against the bundle: it parses,
 * child and slot-variable node ids are in range, and every attribute's
 * checkpoint_key is a bundle key (tf.checkpoint.object_graph findings at
 * `where`). *nodes_out (may be NULL) gets the node count. */
int tf_object_graph_check(const tf_bundle *b, const uint8_t *data, size_t len, ms_report *r, const char *where,
                          uint64_t *nodes_out);

void tf_bundle_free(tf_bundle *b);

/* DataType helpers shared by the TensorFlow readers: lower-case name
 * ("float", "int64", "string", "resource", ... as tf.dtypes names them;
 * "float_ref" for reference types), NULL when unknown; element size in
 * bytes, 0 for variable-size types (string, resource, variant) and unknown
 * ones. */
const char *tf_dtype_name(int dtype);
unsigned tf_dtype_size(int dtype);

#endif
