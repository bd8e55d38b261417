/*
 * What the files of the HDF5 reader share (h5.c, h5_msg.c, h5_value.c,
 * h5_group.c, h5_dense.c); nothing here leaves lib/formats/hdf5.
 */
#ifndef MSI_FORMATS_HDF5_H5_INT_H
#define MSI_FORMATS_HDF5_H5_INT_H

#include "h5.h"

/* Message types (HDF5 file format specification, IV.A.2). */
enum {
	H5_MSG_NIL = 0x00,
	H5_MSG_DATASPACE = 0x01,
	H5_MSG_LINK_INFO = 0x02,
	H5_MSG_DATATYPE = 0x03,
	H5_MSG_FILL_OLD = 0x04,
	H5_MSG_FILL = 0x05,
	H5_MSG_LINK = 0x06,
	H5_MSG_EXTERNAL_FILES = 0x07,
	H5_MSG_LAYOUT = 0x08,
	H5_MSG_GROUP_INFO = 0x0A,
	H5_MSG_PIPELINE = 0x0B,
	H5_MSG_ATTRIBUTE = 0x0C,
	H5_MSG_CONTINUATION = 0x10,
	H5_MSG_SYMBOL_TABLE = 0x11,
	H5_MSG_ATTRIBUTE_INFO = 0x15,
};

#define H5_MSGFLAG_SHARED 0x02

/* Caps on what one hostile file can make the reader do. Real h5py files
 * stay far below each of them. */
#define H5_MAX_FINDINGS 500        /* then they are counted and dropped */
#define H5_MAX_LIMIT_FINDINGS 50   /* hdf5.limit findings, kept apart from the rest */
#define H5_MAX_CHUNKS 4096         /* continuation blocks of one object header */
#define H5_MAX_MESSAGES 65536      /* messages of one object header */
#define H5_MAX_TYPE_DEPTH 8        /* nested datatypes (compound in array in vlen ...) */
#define H5_MAX_COMPOUND_MEMBERS 4096
#define H5_MAX_BTREE_DEPTH 64      /* levels of a v1 or v2 B-tree */
#define H5_MAX_BTREE_NODES 1000000 /* nodes read for one tree */
#define H5_MAX_LINKS 1000000       /* links of one group */
#define H5_MAX_HEAP_LEVELS 64      /* indirect blocks on the way to a fractal heap object */
#define H5_WINDOW (64u * 1024u)    /* window of a global heap collection kept in memory */
#define H5_MAX_GCOL_STEPS 131072   /* objects and free-space records walked in one collection */

/* A small set of addresses (objects visited by the walk, B-tree nodes). */
typedef struct h5_addrset {
	uint64_t *slots; /* 0 = empty; addresses are stored + 1 */
	size_t cap, count;
} h5_addrset;

/* true when added, false when it was there; *oom on allocation failure. */
bool h5_addrset_add(h5_addrset *s, uint64_t addr, bool *oom);
void h5_addrset_free(h5_addrset *s);

/* A global heap collection: where its objects are (h5_value.c). */
typedef struct h5_gcol_obj {
	uint16_t index;
	uint64_t off;  /* of the data, from the collection start */
	uint64_t size;
} h5_gcol_obj;

typedef struct h5_gcol {
	uint64_t addr;   /* MSI_H5_UNDEF when the slot is empty */
	uint64_t size;
	uint8_t *win;    /* the first wlen bytes of the collection */
	size_t wlen;
	h5_gcol_obj *objs;
	size_t nobjs;
	bool broken;     /* the scan stopped early (reported); objects before it are usable */
	bool unusable;   /* no collection there (reported once) */
} h5_gcol;

/* A page of the file kept for small metadata reads: h5py scatters an
 * object's header, heap and B-tree node over a few KiB, and reading each
 * piece on its own costs a system call apiece (12,500 for a 256-layer
 * model). Eight 16 KiB pages bound the memory. */
#define H5_PAGE_SIZE 16384u
#define H5_PAGES 8
typedef struct h5_page {
	uint64_t start;      /* absolute offset in the source, a multiple of H5_PAGE_SIZE; UINT64_MAX = empty */
	size_t len;          /* bytes held (short at the end of the source) */
	uint64_t used;       /* clock of the last use, for eviction */
	uint8_t *bytes;
} h5_page;

struct msi_h5 {
	msi_source *src;
	ms_report *r;
	msi_limits limits;
	uint64_t base;       /* absolute offset of the superblock: addresses are relative to it */
	uint64_t eoa;        /* relative end-of-file address the superblock states */
	uint64_t avail;      /* bytes of the file from the base on */
	int sb_version;
	unsigned so, sl;     /* sizes of offsets and lengths */
	uint16_t leaf_k, node_k;
	uint64_t root;
	bool errors;
	size_t nfindings, nlimits;
	uint64_t read_total;  /* bytes read so far ... */
	uint64_t read_budget; /* ... and the most a file of this size may cost (overlapping structures) */
	bool budget_reported;
	h5_gcol gcol[2];     /* the last two global heap collections */
	unsigned gcol_next;
	uint8_t *scratch;    /* a global heap object outside the window */
	size_t scratch_cap;
	h5_page pages[H5_PAGES]; /* small reads (headers, heaps, B-tree nodes) share aligned pages */
	uint64_t page_clock;
};

typedef struct h5_msg {
	uint16_t type;
	uint8_t flags;
	uint32_t size;
	const uint8_t *data;
	uint64_t addr;       /* of the data in the file, for findings */
} h5_msg;

struct msi_h5_obj {
	uint64_t addr;
	int version;
	char *where;         /* the path, or "object header at 0x..." */
	uint8_t **chunks;
	size_t nchunks;
	h5_msg *msgs;
	size_t nmsgs;
};

/* ---- h5.c: reading and findings ---- */

void h5_finding(msi_h5 *h, const char *code, const char *where, const char *fmt, ...) MSI_PRINTF(4, 5);
/* Reads [addr, addr+len) (relative) into dst. An undefined address or one
 * past the end-of-file address is `hdf5.address.invalid`, bytes the file
 * does not have `hdf5.truncated` (finding added, MS_EFORMAT); I/O errors
 * pass through. `what` names the structure in the finding. */
int h5_range(msi_h5 *h, uint64_t addr, uint64_t len, const char *what, const char *where);
/* Counts n bytes of work against the file's read budget (MS_ELIMIT and one
 * `hdf5.limit` finding once it is spent). */
int h5_charge(msi_h5 *h, uint64_t n, const char *where);
int h5_read(msi_h5 *h, uint64_t addr, void *dst, size_t len, const char *what, const char *where);
/* The same into a fresh allocation (capped by the caller). */
int h5_read_alloc(msi_h5 *h, uint64_t addr, size_t len, const char *what, const char *where, uint8_t **out);
/* Little-endian unsigned of n (1..8) bytes. */
uint64_t h5_uint(const uint8_t *p, unsigned n);
/* An address of h->so bytes (all ones = MSI_H5_UNDEF). */
uint64_t h5_addr(const msi_h5 *h, const uint8_t *p);
uint64_t h5_cursor_addr(const msi_h5 *h, msi_cursor *c);
uint64_t h5_cursor_len(const msi_h5 *h, msi_cursor *c);
uint32_t h5_lookup3(const void *key, size_t length, uint32_t initval);
/* Compares the lookup3 of p[0..n) with the u32 at p+n; a finding if not. */
bool h5_checksum_ok(msi_h5 *h, const uint8_t *p, size_t n, const char *what, uint64_t addr, const char *where);
/* floor(log2(v)) for v > 0, 0 for 0. */
unsigned h5_log2(uint64_t v);
/* Bytes needed to encode v (HDF5's H5VM_limit_enc_size). */
unsigned h5_enc_size(uint64_t v);

const h5_msg *h5_obj_find(const msi_h5_obj *o, uint16_t type);

/* ---- h5_msg.c: datatype, dataspace, layout, filters, attributes ---- */

int h5_parse_space(msi_h5 *h, const uint8_t *p, size_t n, const char *where, msi_h5_space *s);
/* The datatype at the cursor (nested types read and checked up to
 * H5_MAX_TYPE_DEPTH). */
int h5_parse_type(msi_h5 *h, msi_cursor *c, const char *where, msi_h5_type *t, int depth);
/* A datatype message, shared (committed) or not. */
int h5_msg_type(msi_h5 *h, const h5_msg *m, const char *where, msi_h5_type *t);
/* An attribute message's bytes. */
int h5_attr_decode(msi_h5 *h, const uint8_t *p, size_t n, const char *where, msi_h5_attr *a);

/* ---- h5_value.c: global heap ---- */
void h5_gcol_clear(msi_h5 *h);

/* ---- h5_group.c ---- */

typedef struct h5_link {
	const char *name;    /* points into the owning buffer */
	size_t name_len;
	msi_h5_link_type type;
	uint64_t target;
	char *ext;           /* external links: "file:path" for the finding (owned) */
} h5_link;

typedef struct h5_links {
	h5_link *items;
	size_t count, cap;
	uint8_t **bufs;      /* buffers the names point into */
	size_t nbufs, bufcap;
	uint64_t bytes;      /* their total size (capped by max_metadata) */
	bool oom;
} h5_links;

/* Decodes a link message (compact or dense) into the list; the name points
 * into `p`, which the list must keep (h5_links_keep). */
int h5_link_decode(msi_h5 *h, const uint8_t *p, size_t n, const char *where, h5_links *l);
bool h5_links_keep(h5_links *l, uint8_t *buf);
void h5_links_free(h5_links *l);
/* Every link of a group object, sorted by name. */
int h5_group_collect(msi_h5 *h, const msi_h5_obj *o, h5_links *l);
/* msi_h5_walk below an object already loaded (not reported to fn). */
int h5_walk_obj(msi_h5 *h, const msi_h5_obj *start, msi_h5_visit_fn fn, void *user);

/* ---- h5_dense.c: fractal heap and v2 B-tree ---- */

/* Appends the links a link-info message points to. */
int h5_dense_links(msi_h5 *h, const h5_msg *linfo, const char *where, h5_links *l);

typedef struct h5_dense_attr {
	uint8_t *buf;        /* the heap object (owned) */
	msi_h5_attr a;
} h5_dense_attr;

/* The attributes an attribute-info message points to, sorted by name
 * (caller frees each buf and the array). */
int h5_dense_attrs(msi_h5 *h, const h5_msg *ainfo, const char *where, h5_dense_attr **out, size_t *count);

#endif
