/*
 * The ONNX model as the reader leaves it for inspect and validate.
 *
 * onnx_read.c walks the protobuf wire format of the whole file itself
 * (bounded window, depth and lengths checked, tensor payloads skipped) and
 * hands protobuf-c only small messages: every AttributeProto, ValueInfoProto,
 * TensorProto *header*, FunctionProto header and the ModelProto header are
 * decoded by protobuf-c from a filtered copy in which the heavy or recursive
 * fields are replaced by empty placeholders (an attribute's subgraph `g`
 * becomes an empty GraphProto). A node's own fields are plain strings, which
 * the reader copies itself.
 * The placeholders keep presence and counts exactly as in the file; the
 * real content sits next to the message, index for index:
 *
 *   onnx_node.attrs[k]      what attribute k's placeholders stand for
 *   onnx_tensor.{raw,counts} the data fields, as offsets and counts only
 *
 * Everything lives in one arena (protobuf-c allocates from it too), capped
 * by the artifact's max_metadata limit, and is freed at once.
 */
#ifndef MSI_FORMATS_ONNX_IR_H
#define MSI_FORMATS_ONNX_IR_H

#include "onnx-ir.pb-c.h"

#include "../format.h"
#include "../../core/arena.h"

/* protobuf's own default nesting limit; each If/Loop level costs three
 * (graph -> node -> attribute). */
#define ONNX_MAX_DEPTH 100u

/* The typed data fields of a TensorProto, in the order of their bits. */
enum onnx_data_field {
	ONNX_DATA_FLOAT,  /* float_data 4 */
	ONNX_DATA_INT32,  /* int32_data 5 */
	ONNX_DATA_STRING, /* string_data 6 */
	ONNX_DATA_INT64,  /* int64_data 7 */
	ONNX_DATA_RAW,    /* raw_data 9 */
	ONNX_DATA_DOUBLE, /* double_data 10 */
	ONNX_DATA_UINT64, /* uint64_data 11 */
	ONNX_DATA_FIELDS
};

typedef struct onnx_tensor {
	Onnx__TensorProto *pb;        /* header: no data fields */
	uint64_t msg_off, msg_len;    /* the whole TensorProto in the payload */
	uint64_t raw_off, raw_len;    /* raw_data, when ONNX_DATA_RAW is present */
	uint64_t counts[ONNX_DATA_FIELDS]; /* values per typed field (bytes for raw) */
	unsigned present;             /* bit (1u << onnx_data_field) per field seen */
	bool external_nul;            /* an external_data key or value holds a NUL byte (protobuf-c's
	                               * C strings would hide what follows it) */
} onnx_tensor;

typedef struct onnx_sparse {
	onnx_tensor *values;          /* NULL when absent */
	onnx_tensor *indices;
	int64_t *dims;
	size_t n_dims;
	uint64_t msg_off;
} onnx_sparse;

typedef struct onnx_graph onnx_graph;

/* What an attribute's placeholders stand for (see the top comment). */
typedef struct onnx_attr_ext {
	onnx_tensor *t;
	onnx_graph *g;
	onnx_sparse *sparse_tensor;
	onnx_tensor **tensors;
	size_t n_tensors;
	onnx_graph **graphs;
	size_t n_graphs;
	onnx_sparse **sparse_tensors;
	size_t n_sparse_tensors;
	uint64_t s_len;               /* a large `s` is replaced too; its length */
	bool s_elided;
} onnx_attr_ext;

/* A node: its strings as the reader copied them (onnx_read.c walk_node),
 * its attributes as protobuf-c decoded them. Names are NULL when absent. */
typedef struct onnx_node {
	const char *name, *op_type, *domain, *overload;
	const char **input, **output;
	/* onnx_str_hash of input[0..n_input) then output[0..n_output), worked
	 * out as the reader copied them (the SSA check looks each one up);
	 * NULL when the node has neither */
	const uint32_t *io_hash;
	Onnx__AttributeProto **attribute;
	onnx_attr_ext *attrs;         /* n_attribute entries, index for index */
	uint32_t n_input, n_output, n_attribute;
} onnx_node;

struct onnx_graph {
	const char *name;             /* NULL when absent */
	bool has_name;
	onnx_node *nodes;
	size_t n_nodes;
	Onnx__ValueInfoProto **inputs, **outputs, **value_infos;
	size_t n_inputs, n_outputs, n_value_infos;
	onnx_tensor **initializers;
	size_t n_initializers;
	onnx_sparse **sparse_initializers;
	size_t n_sparse_initializers;
	Onnx__StringStringEntryProto **metadata_props;
	size_t n_metadata_props;
	uint64_t msg_off;
};

typedef struct onnx_function {
	Onnx__FunctionProto *pb;      /* header without nodes; attribute_proto filtered like a node's */
	onnx_node *nodes;
	size_t n_nodes;
	onnx_attr_ext *attribute_proto_ext; /* pb->n_attribute_proto entries */
} onnx_function;

typedef struct onnx_training {
	onnx_graph *initialization;   /* NULL when absent */
	onnx_graph *algorithm;
} onnx_training;

/* Why a read stopped (the first wire problem met). */
typedef struct onnx_read_error {
	const char *code;             /* a finding code: onnx.wire.*, onnx.limit; NULL when fine */
	uint64_t offset;              /* in the payload */
	char message[256];
} onnx_read_error;

typedef struct onnx_model {
	Onnx__ModelProto *pb;         /* header: no graph, training_info or functions */
	onnx_graph *graph;            /* NULL when absent */
	onnx_function *functions;
	size_t n_functions;
	onnx_training *training;
	size_t n_training;
	uint64_t size;                /* of the payload */
	/* Every tensor of the model in walk order (initializers, attribute
	 * tensors, sparse parts, subgraphs), for external-data and size checks. */
	onnx_tensor **tensors;
	size_t n_tensors;
	/* counts over the whole model */
	uint64_t nodes_total;         /* graphs, subgraphs and function bodies */
	uint64_t unknown_fields;      /* field numbers this IR does not define */
	uint64_t first_unknown_off;
	unsigned first_unknown_field;
	const char *first_unknown_msg;
	onnx_read_error error;
	msi_arena *arena;
} onnx_model;

/* Reads the ModelProto in `src`. Returns MS_OK with *out set even when the
 * bytes are broken (then out->error.code says how, and the model holds what
 * was read before); MS_ENOMEM, MS_EIO or MS_ECHANGED when reading failed. */
int onnx_model_read(const msi_source *src, const msi_limits *limits, onnx_model **out);
void onnx_model_free(onnx_model *m);

/* ---- helpers shared by the facts and the checks ---- */

/* Lower-case TensorProto.DataType name ("float", "int64", ...), or NULL for
 * a number this IR does not define. */
const char *onnx_dtype_name(int32_t data_type);
/* Bits per element (4 for INT4, 2 for INT2, 0 for STRING or unknown). */
unsigned onnx_dtype_bits(int32_t data_type);
/* A NULL protobuf-c string as "". */
static inline const char *onnx_str(const char *s) { return s ? s : ""; }
/* "" and "ai.onnx" are the same domain. */
static inline bool onnx_domain_is_default(const char *d)
{
	return !d || !*d || __builtin_strcmp(d, "ai.onnx") == 0;
}
/* Element count of a tensor: false when a dim is negative or the product
 * overflows. */
bool onnx_tensor_elements(const onnx_tensor *t, uint64_t *out);

/* A set of strings with a counter each (names for SSA, op histograms).
 * Keys are not copied: they must outlive the set. */
typedef struct onnx_strset_slot {
	const char *key;
	uint32_t hash;
	uint32_t val;
} onnx_strset_slot;
typedef struct onnx_strset {
	onnx_strset_slot *slots;
	size_t cap, n;
} onnx_strset;
/* Finds or adds `key`; *val points at its counter (0 when new). false on OOM. */
bool onnx_strset_put(onnx_strset *s, const char *key, uint32_t **val, bool *existed);
/* The counter of `key`, or NULL when absent. */
uint32_t *onnx_strset_get(const onnx_strset *s, const char *key);
/* The same with the key's onnx_str_hash worked out by the caller, who
 * can then onnx_strset_prefetch its slot ahead of time (the SSA walk of a
 * big graph probes a table far larger than the caches, in name order). */
uint32_t onnx_str_hash(const char *key);
bool onnx_strset_put_h(onnx_strset *s, const char *key, uint32_t hash, uint32_t **val, bool *existed);
uint32_t *onnx_strset_get_h(const onnx_strset *s, const char *key, uint32_t hash);
static inline void onnx_strset_prefetch(const onnx_strset *s, uint32_t hash)
{
	if (s->cap)
		__builtin_prefetch(&s->slots[hash & (s->cap - 1)]);
}
/* Sizes the set for `n` keys at once (no regrowth while they are added). */
bool onnx_strset_reserve(onnx_strset *s, size_t n);
void onnx_strset_free(onnx_strset *s);

/* onnx_facts.c */
int onnx_write_facts(const onnx_model *m, msi_inspect_out *out);

/* Where the model's external-data files are looked up. */
typedef struct onnx_ext_base {
	int dir_fd;                   /* the model file's directory, or -1 */
	const msi_container *listing; /* a directory or tar listing holding the model, or NULL */
	const char *entry_dir;        /* the model's folder in the listing ("" at its root) */
} onnx_ext_base;

/* onnx_check.c: every check of FORMATS.md §8.3 over a model read without
 * wire errors. */
void onnx_check_model(const onnx_model *m, const msi_source *src, const onnx_ext_base *base, msi_validate_ctx *ctx);

/* onnx_external.c: the location, offset and length of one external tensor.
 * Adds findings at `where`; sets *len_out to the length the entry selects
 * (the rest of the file when no length is given) when it could be found. */
void onnx_check_external(ms_report *r, const char *where, const onnx_tensor *t, const onnx_ext_base *base,
                         bool *len_known, uint64_t *len_out);
/* Parses external_data of `t`; false when a value is malformed. */
typedef struct onnx_ext_info {
	const char *location;         /* NULL when missing */
	uint64_t offset;
	uint64_t length;
	bool has_length;
	bool bad_offset, bad_length;  /* not a non-negative decimal integer */
	bool repeated_key;
	const char *unknown_key;      /* the first key onnx does not know */
} onnx_ext_info;
void onnx_ext_info_parse(const onnx_tensor *t, onnx_ext_info *out);

#endif
