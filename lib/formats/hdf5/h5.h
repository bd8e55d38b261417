/*
 * A bounded reader for the subset of HDF5 that h5py writes (FORMATS.md
 * §6.3): superblocks v0-v3, object headers v1/v2 with continuations,
 * groups as symbol tables (B-tree v1 + local heap) or link messages
 * (compact) or a link-info message (dense: fractal heap + v2 B-tree),
 * attributes (compact and dense), dataspace/datatype/layout messages and
 * variable-length strings in global heap collections.
 *
 * Hostile input is normal input: every address, length and count is checked
 * against the file before use; every structure is read through a bounded
 * pread window (never the whole file); object headers, heaps and B-trees
 * that point back at themselves are cut; recursion and counts are capped.
 * Problems become findings with "hdf5.*" codes on the report given to
 * msi_h5_open; features outside the subset become `hdf5.unsupported` (info),
 * never a crash.
 *
 * Addresses below are as stored in the file (relative to the superblock's
 * base address); the reader adds the base.
 */
#ifndef MSI_FORMATS_HDF5_H5_H
#define MSI_FORMATS_HDF5_H5_H

#include "../../containers/container.h"

#define MSI_H5_UNDEF UINT64_MAX  /* HDF5's "undefined address" (all bits set) */
#define MSI_H5_MAX_RANK 32       /* HDF5's own limit (H5S_MAX_RANK) */

typedef struct msi_h5 msi_h5;

/* Opens the HDF5 file whose signature is at `sig_offset` of `src` (see
 * msi_hdf5_signature). Holds a reference to `src`. Findings go to
 * `findings` (may be NULL: then they are dropped, as for a cheap inspect).
 * Returns MS_OK; MS_EFORMAT when the superblock is unusable (a finding says
 * why); MS_ENOMEM, MS_EIO, MS_ECHANGED. */
int msi_h5_open(msi_source *src, uint64_t sig_offset, const msi_limits *limits, ms_report *findings,
		msi_h5 **out);
void msi_h5_close(msi_h5 *h);

int msi_h5_superblock_version(const msi_h5 *h);
uint64_t msi_h5_root_address(const msi_h5 *h);
/* Structural findings were added (error or warning) since open. */
bool msi_h5_had_errors(const msi_h5 *h);

/* ---- types and shapes ---- */

typedef enum msi_h5_class {
	MSI_H5_INTEGER = 0,
	MSI_H5_FLOAT = 1,
	MSI_H5_TIME = 2,
	MSI_H5_STRING = 3,   /* fixed-length string */
	MSI_H5_BITFIELD = 4,
	MSI_H5_OPAQUE = 5,
	MSI_H5_COMPOUND = 6,
	MSI_H5_REFERENCE = 7,
	MSI_H5_ENUM = 8,
	MSI_H5_VLEN = 9,     /* sequence or string (vlen_string) */
	MSI_H5_ARRAY = 10,
} msi_h5_class;

typedef struct msi_h5_type {
	msi_h5_class cls;
	uint8_t version;
	uint32_t size;          /* bytes per element */
	bool is_signed;         /* integer (and an enum's base) */
	bool big_endian;
	bool vlen_string;       /* VLEN of kind string */
	bool is_bool;           /* an enum over a 1-byte integer with members FALSE=0, TRUE=1
	                         * (what h5py writes for numpy bool) */
	bool is_complex;        /* a compound of two equal floats named r and i (h5py's complex) */
	uint8_t charset;        /* strings: 0 ASCII, 1 UTF-8 */
	uint8_t pad;            /* fixed strings: 0 NUL-terminated, 1 NUL-padded, 2 space-padded */
	msi_h5_class base_cls;  /* VLEN, ENUM, ARRAY: the base type's class */
	uint32_t base_size;     /* and its element size */
} msi_h5_type;

/* numpy's spelling of the type, as h5py maps it: "float32", "int64",
 * "uint8", "bool", "complex64", "object" (variable-length strings and
 * sequences), "|S12" (fixed strings), or the class name ("compound",
 * "opaque", "reference", "array", "bitfield", "time", "enum") when numpy has
 * no plain name for it. Writes into `buf` (>= 32 bytes) and returns it. */
const char *msi_h5_type_name(const msi_h5_type *t, char *buf, size_t cap);

typedef enum msi_h5_space_kind {
	MSI_H5_SCALAR = 0,
	MSI_H5_SIMPLE = 1,
	MSI_H5_NULL = 2,
} msi_h5_space_kind;

typedef struct msi_h5_space {
	msi_h5_space_kind kind;
	unsigned rank;                    /* 0 for scalar and null */
	uint64_t dims[MSI_H5_MAX_RANK];
	uint64_t elements;                /* product of dims (1 for scalar, 0 for null) */
	bool elements_overflow;           /* the product does not fit 64 bits (elements is then UINT64_MAX) */
} msi_h5_space;

/* ---- objects ---- */

/* A loaded object header: its messages, read through bounded windows and
 * kept until msi_h5_obj_free. Opaque outside the reader. */
typedef struct msi_h5_obj msi_h5_obj;

/* Loads the object header at `addr`. `path` names the object in findings
 * (may be NULL). MS_EFORMAT (finding added) when the header is unusable. */
int msi_h5_obj_load(msi_h5 *h, uint64_t addr, const char *path, msi_h5_obj **out);
void msi_h5_obj_free(msi_h5_obj *o);

uint64_t msi_h5_obj_address(const msi_h5_obj *o);
bool msi_h5_obj_is_group(const msi_h5_obj *o);    /* symbol table, link or link-info message */
bool msi_h5_obj_is_dataset(const msi_h5_obj *o);  /* datatype + dataspace (+ layout) messages */

typedef enum msi_h5_layout_class {
	MSI_H5_LAYOUT_COMPACT = 0,
	MSI_H5_LAYOUT_CONTIGUOUS = 1,
	MSI_H5_LAYOUT_CHUNKED = 2,
	MSI_H5_LAYOUT_VIRTUAL = 3,
	MSI_H5_LAYOUT_NONE = -1, /* no layout message */
} msi_h5_layout_class;

typedef struct msi_h5_dataset {
	msi_h5_type type;
	msi_h5_space space;
	msi_h5_layout_class layout;
	uint64_t data_address;   /* contiguous: where the data is (MSI_H5_UNDEF when not written) */
	uint64_t data_size;      /* contiguous: its size; compact: size of the inline data */
	unsigned chunk_rank;     /* chunked: chunk dims (without the element-size dim) */
	uint64_t chunk_dims[MSI_H5_MAX_RANK];
	unsigned filter_count;   /* filter pipeline message */
	uint16_t filters[8];     /* filter ids (1 deflate, 2 shuffle, 3 fletcher32, 4 szip, ...) */
	/* chunked: how the chunks are indexed: 0 a v1 B-tree (layout v1-v3), 1 a
	 * single chunk, 2 implicit, 3 fixed array, 4 extensible array, 5 a v2
	 * B-tree (layout v4); and where the index (or the single chunk) is. */
	uint8_t chunk_index;
	uint64_t chunk_address;
	bool external;           /* the raw data is in external files (message 0x07) */
} msi_h5_dataset;

/* Type, shape and layout of a dataset. MS_EFORMAT (finding added) when a
 * message is malformed or missing. */
int msi_h5_obj_dataset(msi_h5 *h, const msi_h5_obj *o, msi_h5_dataset *out);

/* ---- attributes ---- */

typedef struct msi_h5_attr {
	const char *name;        /* not NUL-terminated */
	size_t name_len;
	msi_h5_type type;
	msi_h5_space space;
	const uint8_t *data;     /* the raw value bytes (valid while the object, or the callback, lasts) */
	size_t data_len;         /* checked: >= elements * type.size */
} msi_h5_attr;

/* Calls fn for every attribute of the object (compact ones in header order,
 * then dense ones in name order). A non-zero return from fn stops the walk
 * and is returned. Malformed attributes are findings and are skipped. */
typedef int (*msi_h5_attr_fn)(void *user, msi_h5 *h, const msi_h5_attr *a);
int msi_h5_obj_attrs(msi_h5 *h, const msi_h5_obj *o, msi_h5_attr_fn fn, void *user);

/* The string elements of a string attribute: fixed-length (padding and the
 * NUL terminator removed) or variable-length (read from the global heap).
 * Scalar = one element. fn gets each element in order; the bytes are valid
 * during the call. `max_total` caps the sum of element lengths (a larger
 * value is a `hdf5.limit` finding and MS_ELIMIT). MS_EFORMAT when the
 * attribute is not a string or a heap reference is broken (finding added). */
typedef int (*msi_h5_str_fn)(void *user, size_t index, const char *s, size_t len);
int msi_h5_attr_strings(msi_h5 *h, const msi_h5_attr *a, uint64_t max_total, msi_h5_str_fn fn, void *user);

/* Element i of a numeric attribute (integer, float, bool enum) as a double;
 * false when it is not numeric or i is out of range. */
bool msi_h5_attr_number(const msi_h5_attr *a, uint64_t i, double *out);
/* Element i of an integer attribute (integer, integer enum, bool) exactly:
 * the value is (int64_t)*bits when *negative, else *bits; false when it is
 * not an integer of 1, 2, 4 or 8 bytes or i is out of range. */
bool msi_h5_attr_integer(const msi_h5_attr *a, uint64_t i, uint64_t *bits, bool *negative);

/* ---- groups ---- */

typedef enum msi_h5_link_type {
	MSI_H5_LINK_HARD = 0,
	MSI_H5_LINK_SOFT = 1,
	MSI_H5_LINK_EXTERNAL = 64,
} msi_h5_link_type;

/* Calls fn for every link of a group, in name order (byte-wise, as h5py
 * lists them). `target` is the object address of a hard link, MSI_H5_UNDEF
 * for soft and external links (which are never followed). A non-zero return
 * from fn stops the walk and is returned. */
typedef int (*msi_h5_link_fn)(void *user, const char *name, size_t name_len, msi_h5_link_type type,
			      uint64_t target);
int msi_h5_group_links(msi_h5 *h, const msi_h5_obj *group, msi_h5_link_fn fn, void *user);

/* Follows the '/'-separated `path` (hard links only) from the object at
 * `from`. Returns MS_OK with the address, 1 when a component does not exist,
 * or a negative code. */
int msi_h5_lookup(msi_h5 *h, uint64_t from, const char *path, size_t path_len, uint64_t *addr);

/* Depth-first walk below the group at `start` in name order, as h5py's
 * visititems: every object reachable by hard links, each once (a second link
 * to a visited object, or a cycle, is not entered again), depth capped by
 * limits->max_depth and the object count by limits->max_members (a
 * `hdf5.limit` finding). fn gets the path relative to `start` ("a/b") and
 * the loaded object; a non-zero return stops the walk and is returned. */
typedef int (*msi_h5_visit_fn)(void *user, msi_h5 *h, const char *path, size_t path_len, const msi_h5_obj *o);
int msi_h5_walk(msi_h5 *h, uint64_t start, msi_h5_visit_fn fn, void *user);

#endif
