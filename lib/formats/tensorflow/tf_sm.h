/*
 * The TensorFlow SavedModel as the reader leaves it for inspect and
 * validate (FORMATS.md §7).
 *
 * tf_sm_read.c walks the wire format of saved_model.pb itself (bounded
 * window, every tag, wire type and length checked, nesting capped, tensor
 * payloads skipped unread) and keeps what the facts and checks need:
 *
 *   graphs and function bodies  node names, ops, inputs, the function names
 *                               their attributes call, and the few attribute
 *                               values the checks read (PrintV2's
 *                               output_stream, Debug ops' debug_urls, Copy's
 *                               debug_ops_spec, DecodeProtoV2's
 *                               descriptor_source, the string values of
 *                               string Consts, the `dtypes` of Save/Restore
 *                               ops, the `shape` of variables)
 *   small messages              SignatureDef, SaverDef, AssetFileDef,
 *                               SavedObject, SavedConcreteFunction entries:
 *                               checked first, then decoded by protobuf-c
 *                               through a capped arena
 *
 * protobuf-c never sees the whole file: it has no recursion limit and copies
 * every bytes field. Everything lives in one arena capped by max_metadata.
 * A message field that comes twice merges as protobuf merges it (a second
 * graph_def's nodes follow the first's); a file cut short keeps what
 * precedes the cut, with the error recorded.
 */
#ifndef MSI_FORMATS_TF_SM_H
#define MSI_FORMATS_TF_SM_H

#include "tf-savedmodel.pb-c.h"

#include "../../core/arena.h"
#include "tf.h"
#include "tf_bundle.h"

/* protobuf's own default nesting limit */
#define TF_MAX_DEPTH 100u

typedef struct tf_node {
	const char *name, *op, *device; /* "" when absent */
	const char **inputs;            /* as written: "n", "n:1", "n:out:0", "^n" */
	uint32_t n_inputs;
	const char **calls;             /* function names its attributes name (f, body, branches, ...) */
	uint32_t n_calls;
	const char *output_stream;      /* attr output_stream (PrintV2), NULL when absent */
	const char *descriptor_source;  /* attr descriptor_source (DecodeProtoV2, EncodeProto), NULL when absent */
	const char **debug_urls;        /* attr debug_urls (Debug* ops) and debug_ops_spec (Copy, CopyHost) */
	uint32_t n_debug_urls;
	const char **strings;           /* string_val of the attr `value` tensor (string Consts only) */
	uint32_t n_strings;
	bool strings_elided;            /* a string Const too large to keep */
	int32_t *dtypes;                /* attr dtypes (SaveV2/RestoreV2) */
	uint32_t n_dtypes;
	int32_t dtype;                  /* attr dtype, -1 when absent */
	bool has_shape;                 /* attr shape (variables, placeholders) */
	bool shape_unknown_rank;
	int64_t *shape;                 /* its dims (-1 unknown) */
	uint32_t shape_rank;
	uint64_t off;                   /* of the NodeDef in the file */
} tf_node;

typedef struct tf_function {
	const char *name;               /* signature.name, "" when absent */
	const char **args;              /* signature input_arg names */
	uint32_t n_args;
	tf_node *nodes;
	size_t n_nodes;
	const char **rets;              /* ret map values ("node:out:0") */
	uint32_t n_rets;
	uint64_t off;
} tf_function;

typedef struct tf_meta_graph {
	bool has_meta_info;
	const char **tags;
	size_t n_tags;
	const char *tf_version, *tf_git_version; /* NULL when absent */
	bool has_op_list;
	const char **op_list;           /* stripped_op_list OpDef names */
	size_t n_op_list;
	bool has_graph;
	tf_node *nodes;
	size_t n_nodes;
	tf_function *functions;
	size_t n_functions;
	int32_t producer;               /* GraphDef versions.producer, -1 when absent */
	Tfsm__SaverDef *saver;          /* NULL when absent */
	Tfsm__MetaGraphDef__SignatureDefEntry **signatures;
	size_t n_signatures;
	Tfsm__AssetFileDef **assets;
	size_t n_assets;
	size_t n_collections;
	bool has_object_graph;
	Tfsm__SavedObject **objects;
	size_t n_objects;
	Tfsm__SavedObjectGraph__ConcreteFunctionsEntry **concrete;
	size_t n_concrete;
	uint64_t off;
	/* array capacities while reading (fields that come twice merge) */
	size_t cap_signatures, cap_assets, cap_objects, cap_concrete;
} tf_meta_graph;

typedef struct tf_read_error {
	const char *code;               /* tf.proto.invalid / .depth / .limit; NULL when fine */
	uint64_t offset;
	char message[256];
} tf_read_error;

typedef struct tf_savedmodel {
	bool has_schema_version;
	int64_t schema_version;
	tf_meta_graph *metas;
	size_t n_metas;
	uint64_t size;
	tf_read_error error;
	msi_arena *arena;
} tf_savedmodel;

/* Reads the SavedModel in `src`. MS_OK with *out set even when the bytes
 * are broken (out->error says how; what was read before stays); MS_ENOMEM,
 * MS_EIO or MS_ECHANGED when reading failed. */
int tf_sm_read(const msi_source *src, const msi_limits *limits, tf_savedmodel **out);
void tf_sm_free(tf_savedmodel *m);

/* Decodes a small message (fingerprint.pb, keras_metadata.pb pieces) after
 * a bounded wire check, into `arena`-free memory the caller releases with
 * protobuf_c_message_free_unpacked(msg, NULL). NULL when it does not parse
 * or is nested deeper than TF_MAX_DEPTH. */
ProtobufCMessage *tf_sm_decode_small(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n);

/* ---- the SavedModel with its directory (tf_sm_facts.c) ---- */

typedef struct tf_keras_meta {
	bool present, parsed;           /* keras_metadata.pb exists; it parsed */
	size_t nodes;                   /* SavedMetadata nodes */
	char *class_name;               /* the root node's metadata class_name */
	char *keras_version;            /* ... and its keras_version */
	char *error;                    /* why it did not parse */
} tf_keras_meta;

typedef struct tf_sm_doc {
	const msi_view *v;
	msi_tf_savedmodel probe;
	const char *graph_name;         /* entry name (raw) or the lone file's name */
	char *dir;                      /* raw entry-name prefix of the SavedModel's folder ("", "./", "m/") */
	bool both_files;                /* saved_model.pb and .pbtxt side by side */
	bool chunked;                   /* saved_model.cpb present */
	tf_savedmodel *sm;              /* NULL for pbtxt or when unreadable */
	char *pbtxt_tags;               /* pbtxt: tags seen by a line scan (tf_sm_facts.c) */
	size_t pbtxt_metas;             /* pbtxt: top-level `meta_graphs {` lines */
	char *pbtxt_tf_version;         /* pbtxt: the first tensorflow_version */
	tf_bundle *bundle;              /* variables/variables.index, when present and readable */
	ms_report *bundle_findings;     /* what reading the index found */
	char *bundle_prefix;            /* raw entry prefix "…variables/variables" */
	Tfsm__FingerprintDef *fingerprint;
	bool fingerprint_bad;
	tf_keras_meta keras;
	int rc;
} tf_sm_doc;

/* Loads the SavedModel of the view (directory, tar or lone graph file).
 * Problems that are findings stay in the doc; returns MS_OK, MS_ENOMEM,
 * MS_EIO or MS_ECHANGED. `validating` also reads keras_metadata.pb in full. */
int tf_sm_load(const msi_view *v, tf_sm_doc *d);
void tf_sm_doc_free(tf_sm_doc *d);

/* Writes the model keys of FORMATS.md §7.4 (tf_plan: kind and the rest). */
int tf_sm_write_facts(const tf_sm_doc *d, const char *kind, msi_inspect_out *out);

/* tf_sm_check.c: the invariants of FORMATS.md §7.5 and the op rules. */
int tf_sm_check(const tf_sm_doc *d, msi_validate_ctx *ctx);

/* inspect and validate of a view, load and free included: the saved_model
 * format and tf_keras's Keras 2 SavedModels (kind "keras_saved_model") share
 * them. */
int tf_sm_inspect(const msi_view *v, const char *kind, msi_inspect_out *out);
int tf_sm_validate(const msi_view *v, msi_validate_ctx *ctx);

/* keras_metadata.pb in memory: the facts (node count, the root's
 * class_name and keras_version; sets k->parsed or k->error), and the checks
 * (tf.keras_metadata.invalid, and the Keras config walk over each node's
 * metadata JSON). The check returns MS_OK or MS_ENOMEM. */
void tf_keras_metadata_facts(tf_keras_meta *k, const uint8_t *p, size_t n);
int tf_keras_metadata_check(const uint8_t *buf, size_t n, ms_report *r);

/* helpers shared by facts and checks */
const char *tf_sm_dtype_name(int dtype, char buf[24]);
/* the serving_default signature of the first meta graph, or NULL */
const Tfsm__SignatureDef *tf_sm_serving_default(const tf_savedmodel *m);
/* The node name of an input or tensor reference ("^a", "a:0", "a:out:0"
 * → "a"), as a length into `ref`. */
size_t tf_ref_node_len(const char *ref, const char **start);

#endif
