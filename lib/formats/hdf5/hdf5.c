/*
 * HDF5 file that is not a Keras model: sniff, inspect (root attributes and
 * every object h5py's visititems lists, with shapes, dtypes, chunking and
 * compression) and validate (every object header, attribute, heap
 * reference and contiguous data range), all through the bounded reader of
 * h5.h: only metadata is read, never dataset payloads.
 *
 * An HDF5 file is recognised by its 8-byte signature at offset 0 or at a
 * power of two from 512 on (a user block may precede the superblock,
 * FORMATS.md §6.3). Keras' legacy .h5 files are HDF5 too: the tf_keras
 * format claims them with a higher score when Keras' root attributes are
 * there, so this format only gets plain HDF5 data files, which are no model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5_int.h"
#include "hdf5.h"

static const uint8_t signature[8] = { 0x89, 'H', 'D', 'F', 0x0D, 0x0A, 0x1A, 0x0A };

#define MAX_OBJECTS_LISTED 10000   /* inspect's objects list; object_count counts them all */
#define MAX_LIST_VALUES 1000       /* elements of a 1-D attribute written as a list */
#define MAX_STRING_VALUE 65536     /* bytes of one string attribute value written */
#define MAX_STRINGS_TOTAL (16u << 20)
#define MAX_CHUNK_NODES 100000     /* chunk B-tree nodes validate reads per dataset */

int64_t msi_hdf5_signature(const msi_view *v)
{
	if (!v->src)
		return -1;
	for (uint64_t off = 0; off < v->size && off <= (UINT64_C(1) << 50); off = off ? off * 2 : 512) {
		uint8_t b[9];
		if (msi_view_read(v, off, b, sizeof b) != sizeof b)
			return -1;
		/* superblock versions 0..3 are the ones HDF5 1.8-1.14 write */
		if (memcmp(b, signature, 8) == 0 && b[8] <= 3)
			return (int64_t)off;
	}
	return -1;
}

/* ---- Keras markers ---- */

/* true when the name at p[i..i+nl) is the name of an HDF5 attribute
 * message: preceded by the message header of version 1, 2 or 3 whose name
 * size (which counts the NUL) matches, and followed by the NUL. This keeps
 * a word inside some dataset's bytes from counting as an attribute. */
static bool attribute_name_at(const uint8_t *p, size_t n, size_t i, size_t nl)
{
	if (i + nl >= n || p[i + nl] != 0)
		return false;
	if (i >= 8) {
		const uint8_t *h = p + i - 8;
		if (h[0] == 1 && h[1] == 0 && msi_le16(h + 2) == nl + 1)
			return true;
		if (h[0] == 2 && (h[1] & ~3u) == 0 && msi_le16(h + 2) == nl + 1)
			return true;
	}
	if (i >= 9) {
		const uint8_t *h = p + i - 9;
		if (h[0] == 3 && (h[1] & ~3u) == 0 && msi_le16(h + 2) == nl + 1 && h[8] <= 1)
			return true;
	}
	return false;
}

static const struct {
	const char *name;
	unsigned bit;
} keras_markers[] = {
	{ "model_config", MSI_KERAS_MODEL_CONFIG },
	{ "keras_version", MSI_KERAS_KERAS_VERSION },
	{ "layer_names", MSI_KERAS_LAYER_NAMES },
	{ "backend", MSI_KERAS_BACKEND },
	{ "training_config", MSI_KERAS_TRAINING_CONFIG },
};

static unsigned scan_window(const uint8_t *p, size_t n)
{
	unsigned found = 0;
	for (size_t k = 0; k < MSI_ARRAY_LEN(keras_markers); k++) {
		size_t nl = strlen(keras_markers[k].name);
		size_t from = 0;
		const uint8_t *hit;
		while (from < n && (hit = msi_find(p + from, n - from, keras_markers[k].name, nl)) != NULL) {
			size_t i = (size_t)(hit - p);
			if (attribute_name_at(p, n, i, nl)) {
				found |= keras_markers[k].bit;
				break;
			}
			from = i + 1;
		}
	}
	return found;
}

static int marker_attr(void *user, msi_h5 *h, const msi_h5_attr *a)
{
	MSI_UNUSED(h);
	unsigned *found = user;
	for (size_t k = 0; k < MSI_ARRAY_LEN(keras_markers); k++) {
		size_t nl = strlen(keras_markers[k].name);
		/* Keras splits attributes over 64 KiB into name0, name1, ... */
		if (a->name_len >= nl && memcmp(a->name, keras_markers[k].name, nl) == 0 &&
		    (a->name_len == nl || (a->name_len == nl + 1 && a->name[nl] == '0')))
			*found |= keras_markers[k].bit;
	}
	return 0;
}

/*
 * The root group's attribute names, read through the HDF5 reader (a few
 * small reads: superblock, root object header and its continuation
 * blocks). When the reader cannot get there (a damaged file), a bounded
 * scan of the head and tail windows for attribute messages with those
 * names stands in, so that a damaged Keras file is still recognised as one.
 */
unsigned msi_hdf5_keras_markers(const msi_view *v)
{
	int64_t off = msi_hdf5_signature(v);
	static const msi_limits defaults = { 100000, 0, 16u << 20, 64, 64u << 20 };
	msi_h5 *h = NULL;
	if (off >= 0 && msi_h5_open(v->src, (uint64_t)off, v->limits ? v->limits : &defaults, NULL, &h) == MS_OK) {
		msi_h5_obj *root = NULL;
		unsigned found = 0;
		int rc = msi_h5_obj_load(h, msi_h5_root_address(h), "/", &root);
		if (rc == MS_OK)
			rc = msi_h5_obj_attrs(h, root, marker_attr, &found);
		msi_h5_obj_free(root);
		msi_h5_close(h);
		if (rc == MS_OK)
			return found;
	}
	unsigned found = scan_window(v->head, v->head_len);
	if (v->size > v->head_len)
		found |= scan_window(v->tail, v->tail_len);
	return found;
}

static int sniff(const msi_view *v)
{
	if (v->container)
		return 0;
	/* a generic container format: any model format that also matches wins */
	return msi_hdf5_signature(v) >= 0 ? 50 : 0;
}

/* ---- inspect ---- */

typedef struct str_out {
	msi_json *j;
	bool list;
} str_out;

static int write_string(void *user, size_t index, const char *s, size_t len)
{
	str_out *o = user;
	if (o->list && index >= MAX_LIST_VALUES)
		return 1;
	msi_json_stringn(o->j, s, MSI_MIN(len, MAX_STRING_VALUE));
	return 0;
}

static void write_number(msi_json *j, const msi_h5_attr *a, uint64_t i)
{
	uint64_t bits;
	bool neg;
	double d;
	if (a->type.cls == MSI_H5_ENUM && a->type.is_bool && msi_h5_attr_integer(a, i, &bits, &neg))
		msi_json_bool(j, bits != 0);
	else if (msi_h5_attr_integer(a, i, &bits, &neg))
		neg || a->type.is_signed ? msi_json_int(j, (int64_t)bits) : msi_json_uint(j, bits);
	else if (msi_h5_attr_number(a, i, &d))
		msi_json_double(j, d);
	else
		msi_json_null(j);
}

/* name -> value: strings as strings, numbers as numbers, 1-D arrays as
 * lists (capped), anything else as its dtype name; h5py.Empty as null. */
static void write_attr_value(msi_h5 *h, msi_json *j, const msi_h5_attr *a)
{
	char tn[40];
	const msi_h5_type *t = &a->type;
	bool is_str = t->cls == MSI_H5_STRING || (t->cls == MSI_H5_VLEN && t->vlen_string);
	bool is_num = t->cls == MSI_H5_INTEGER || t->cls == MSI_H5_ENUM ||
	              (t->cls == MSI_H5_FLOAT && (t->size == 2 || t->size == 4 || t->size == 8));
	if (a->space.kind == MSI_H5_NULL) {
		msi_json_null(j);
	} else if ((!is_str && !is_num) || a->space.rank > 1) {
		msi_json_string(j, msi_h5_type_name(t, tn, sizeof tn));
	} else if (is_str) {
		str_out o = { j, a->space.rank == 1 };
		size_t mark = j->out->len;
		msi_json w = *j;
		if (o.list)
			msi_json_array_begin(j);
		int rc = msi_h5_attr_strings(h, a, MAX_STRINGS_TOTAL, write_string, &o);
		if (rc < 0) {
			/* a broken heap reference: the value is unknown, not partial */
			j->out->len = mark;
			*j = w;
			msi_json_null(j);
		} else if (o.list) {
			msi_json_array_end(j);
		}
	} else if (a->space.rank == 0) {
		write_number(j, a, 0);
	} else {
		msi_json_array_begin(j);
		for (uint64_t i = 0; i < a->space.elements && i < MAX_LIST_VALUES; i++)
			write_number(j, a, i);
		msi_json_array_end(j);
	}
}

static int root_attr(void *user, msi_h5 *h, const msi_h5_attr *a)
{
	msi_json *j = user;
	msi_json_keyn(j, a->name, a->name_len);
	write_attr_value(h, j, a);
	return 0;
}

typedef struct name_list {
	char **names;
	size_t count, cap;
	bool oom;
} name_list;

static int collect_name(void *user, msi_h5 *h, const msi_h5_attr *a)
{
	MSI_UNUSED(h);
	name_list *l = user;
	char **n = msi_grow(l->names, &l->cap, l->count, sizeof *n, 8);
	if (!n) {
		l->oom = true;
		return MS_ENOMEM;
	}
	l->names = n;
	char *s = msi_strndup(a->name, a->name_len);
	if (!s) {
		l->oom = true;
		return MS_ENOMEM;
	}
	l->names[l->count++] = s;
	return 0;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void name_list_free(name_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		msi_free(l->names[i]);
	msi_free(l->names);
}

static void write_dims(msi_json *j, const uint64_t *dims, unsigned rank)
{
	msi_json_array_begin(j);
	for (unsigned i = 0; i < rank; i++)
		msi_json_uint(j, dims[i]);
	msi_json_array_end(j);
}

static const char *compression_name(const msi_h5_dataset *d)
{
	/* h5py's Dataset.compression: the first of these in the pipeline */
	static const struct {
		uint16_t id;
		const char *name;
	} known[] = { { 1, "gzip" }, { 32000, "lzf" }, { 4, "szip" } };
	for (size_t k = 0; k < MSI_ARRAY_LEN(known); k++)
		for (unsigned i = 0; i < d->filter_count && i < MSI_ARRAY_LEN(d->filters); i++)
			if (d->filters[i] == known[k].id)
				return known[k].name;
	return NULL;
}

typedef struct inspect_ctx {
	msi_json *j;
	uint64_t count;
	bool oom;
} inspect_ctx;

static int inspect_object(void *user, msi_h5 *h, const char *path, size_t path_len, const msi_h5_obj *o)
{
	inspect_ctx *c = user;
	if (c->count++ >= MAX_OBJECTS_LISTED)
		return 0;
	msi_json *j = c->j;
	msi_json_object_begin(j);
	msi_json_key(j, "name");
	msi_json_stringn(j, path, path_len);
	msi_json_key(j, "type");
	bool dataset = msi_h5_obj_is_dataset(o);
	msi_json_string(j, msi_h5_obj_is_group(o) ? "group" : dataset ? "dataset" : "datatype");
	msi_h5_dataset d;
	if (dataset && msi_h5_obj_dataset(h, o, &d) == MS_OK) {
		char tn[40];
		msi_json_key(j, "shape");
		if (d.space.kind == MSI_H5_NULL)
			msi_json_null(j);
		else
			write_dims(j, d.space.dims, d.space.rank);
		msi_json_key(j, "dtype");
		msi_json_string(j, msi_h5_type_name(&d.type, tn, sizeof tn));
		msi_json_key(j, "chunks");
		if (d.layout == MSI_H5_LAYOUT_CHUNKED)
			write_dims(j, d.chunk_dims, d.chunk_rank);
		else
			msi_json_null(j);
		msi_json_key(j, "compression");
		msi_json_string(j, compression_name(&d));
	}
	name_list names = { 0 };
	int rc = msi_h5_obj_attrs(h, o, collect_name, &names);
	if (names.count > 1)
		qsort(names.names, names.count, sizeof *names.names, strp_cmp);
	msi_json_key(j, "attrs");
	msi_json_array_begin(j);
	for (size_t i = 0; i < names.count; i++)
		msi_json_string(j, names.names[i]);
	msi_json_array_end(j);
	msi_json_object_end(j);
	name_list_free(&names);
	if (names.oom)
		c->oom = true;
	return rc == MS_ENOMEM || rc == MS_EIO || rc == MS_ECHANGED ? rc : 0;
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	int64_t off = msi_hdf5_signature(v);
	if (off < 0)
		return MS_OK;
	uint8_t b[9];
	if (msi_view_read(v, (uint64_t)off, b, sizeof b) != sizeof b)
		return MS_OK;
	msi_json *j = out->model;
	msi_json_key(j, "superblock_version");
	msi_json_int(j, b[8]);
	msi_json_key(j, "user_block_size");
	msi_json_int(j, off);
	msi_h5 *h;
	int rc = msi_h5_open(v->src, (uint64_t)off, v->limits, NULL, &h);
	if (rc != MS_OK)
		return rc == MS_EFORMAT ? MS_OK : rc;
	msi_h5_obj *root;
	rc = msi_h5_obj_load(h, msi_h5_root_address(h), "/", &root);
	if (rc == MS_OK) {
		msi_json_key(j, "root_attributes");
		msi_json_object_begin(j);
		rc = msi_h5_obj_attrs(h, root, root_attr, j);
		msi_json_object_end(j);
	}
	if (root && (rc == MS_OK || rc == MS_EFORMAT || rc == MS_ELIMIT)) {
		inspect_ctx c = { .j = j };
		msi_json_key(j, "objects");
		msi_json_array_begin(j);
		rc = h5_walk_obj(h, root, inspect_object, &c);
		msi_json_array_end(j);
		if (c.count > MAX_OBJECTS_LISTED) {
			msi_json_key(j, "objects_truncated");
			msi_json_bool(j, true);
		}
		msi_json_key(j, "object_count");
		msi_json_uint(j, c.count);
		if (c.oom)
			rc = MS_ENOMEM;
	}
	msi_h5_obj_free(root);
	msi_h5_close(h);
	return rc == MS_EFORMAT || rc == MS_ELIMIT ? MS_OK : rc;
}

/* ---- validate ---- */

static int drop_string(void *user, size_t index, const char *s, size_t len)
{
	MSI_UNUSED(user);
	MSI_UNUSED(index);
	MSI_UNUSED(s);
	MSI_UNUSED(len);
	return 0;
}

/* Every attribute decodes (h5_attr_decode checks the value's length) and
 * every variable-length string resolves in its global heap. */
static int check_attr(void *user, msi_h5 *h, const msi_h5_attr *a)
{
	MSI_UNUSED(user);
	const msi_h5_type *t = &a->type;
	if (t->cls == MSI_H5_STRING || (t->cls == MSI_H5_VLEN && t->vlen_string)) {
		int rc = msi_h5_attr_strings(h, a, h->limits.max_metadata, drop_string, NULL);
		if (rc == MS_ENOMEM || rc == MS_EIO || rc == MS_ECHANGED)
			return rc;
	}
	return 0;
}

/* A v1 B-tree of chunks (type 1): every node well-formed and reached once,
 * every chunk inside the file. */
typedef struct chunk_walk {
	msi_h5 *h;
	const char *where;
	unsigned rank;   /* dataset rank + 1 offsets in each key */
	h5_addrset nodes;
	size_t nnodes;
	bool reported;
} chunk_walk;

static int chunk_node(chunk_walk *w, uint64_t addr, int level, unsigned depth)
{
	msi_h5 *h = w->h;
	bool oom = false;
	if (!h5_addrset_add(&w->nodes, addr, &oom)) {
		if (oom)
			return msi_error(MS_ENOMEM, "out of memory");
		h5_finding(h, "hdf5.loop", w->where, "the chunk B-tree reaches the node at 0x%llx twice",
		           (unsigned long long)addr);
		return MS_EFORMAT;
	}
	if (++w->nnodes > MAX_CHUNK_NODES) {
		if (!w->reported)
			h5_finding(h, "hdf5.limit", w->where, "the chunk B-tree has more than %u nodes; the rest are not checked",
			           MAX_CHUNK_NODES);
		w->reported = true;
		return MS_ELIMIT;
	}
	size_t hsize = 8 + 2 * (size_t)h->so;
	uint8_t hdr[24];
	int rc = h5_read(h, addr, hdr, hsize, "chunk B-tree node", w->where);
	if (rc != MS_OK)
		return rc;
	uint8_t node_level = hdr[5];
	uint16_t entries = msi_le16(hdr + 6);
	if (memcmp(hdr, "TREE", 4) != 0 || hdr[4] != 1 || (depth > 0 && node_level != level - 1) ||
	    node_level >= H5_MAX_BTREE_DEPTH) {
		h5_finding(h, "hdf5.btree.invalid", w->where,
		           "no chunk B-tree node (TREE of type 1 at level %d) at 0x%llx", depth ? level - 1 : -1,
		           (unsigned long long)addr);
		return MS_EFORMAT;
	}
	size_t ksize = 8 + 8 * (size_t)w->rank;
	size_t n = ((size_t)entries + 1) * ksize + (size_t)entries * h->so;
	uint8_t *b;
	if ((rc = h5_read_alloc(h, addr + hsize, n, "chunk B-tree node", w->where, &b)) != MS_OK)
		return rc;
	for (unsigned i = 0; i < entries && (rc == MS_OK || rc == MS_EFORMAT); i++) {
		const uint8_t *key = b + (size_t)i * (ksize + h->so);
		uint64_t child = h5_addr(h, key + ksize);
		if (node_level == 0) {
			uint32_t size = msi_le32(key);
			uint64_t end;
			if (child == MSI_H5_UNDEF || !msi_add_u64(child, size, &end) || end > h->eoa) {
				h5_finding(h, "hdf5.layout.invalid", w->where,
				           "chunk %u of the B-tree node at 0x%llx (0x%llx, %u bytes) lies outside the file", i,
				           (unsigned long long)addr, (unsigned long long)child, size);
				rc = MS_EFORMAT;
			} else if (end > h->avail) {
				h5_finding(h, "hdf5.truncated", w->where,
				           "chunk %u (0x%llx, %u bytes) lies past the end of the file", i,
				           (unsigned long long)child, size);
				rc = MS_EFORMAT;
			}
		} else {
			rc = chunk_node(w, child, node_level, depth + 1);
		}
	}
	msi_free(b);
	return rc;
}

static int check_dataset(msi_h5 *h, const msi_h5_obj *o, const char *where)
{
	msi_h5_dataset d;
	int rc = msi_h5_obj_dataset(h, o, &d);
	if (rc != MS_OK)
		return rc;
	if (d.space.elements_overflow)
		return MS_OK; /* the dataspace finding says it */
	uint64_t need;
	bool fits = msi_mul_u64(d.space.elements, d.type.size, &need);
	if (d.layout == MSI_H5_LAYOUT_CONTIGUOUS && d.data_address != MSI_H5_UNDEF && !d.external) {
		uint64_t end;
		if (!fits || d.data_size < need)
			h5_finding(h, "hdf5.layout.invalid", where,
			           "contiguous data of %llu bytes is smaller than %llu elements of %u bytes",
			           (unsigned long long)d.data_size, (unsigned long long)d.space.elements, d.type.size);
		else if (!msi_add_u64(d.data_address, d.data_size, &end) || end > h->eoa)
			h5_finding(h, "hdf5.layout.invalid", where,
			           "contiguous data at 0x%llx (%llu bytes) lies past the end-of-file address 0x%llx",
			           (unsigned long long)d.data_address, (unsigned long long)d.data_size,
			           (unsigned long long)h->eoa);
		else if (end > h->avail)
			h5_finding(h, "hdf5.truncated", where,
			           "contiguous data at 0x%llx (%llu bytes) lies past the end of the file (%llu bytes)",
			           (unsigned long long)d.data_address, (unsigned long long)d.data_size,
			           (unsigned long long)h->avail);
	} else if (d.layout == MSI_H5_LAYOUT_COMPACT) {
		if (!fits || d.data_size < need)
			h5_finding(h, "hdf5.layout.invalid", where,
			           "compact data of %llu bytes is smaller than %llu elements of %u bytes",
			           (unsigned long long)d.data_size, (unsigned long long)d.space.elements, d.type.size);
	} else if (d.layout == MSI_H5_LAYOUT_CHUNKED && d.chunk_address != MSI_H5_UNDEF) {
		if (d.chunk_index == 0) {
			chunk_walk w = { .h = h, .where = where, .rank = d.chunk_rank + 1 };
			rc = chunk_node(&w, d.chunk_address, 0, 0);
			h5_addrset_free(&w.nodes);
			if (rc == MS_EFORMAT || rc == MS_ELIMIT)
				rc = MS_OK;
		} else if (d.chunk_index == 1) {
			uint64_t size = d.data_size, cb = d.type.size;
			for (unsigned i = 0; !size && i < d.chunk_rank; i++)
				if (!msi_mul_u64(cb, d.chunk_dims[i], &cb))
					cb = UINT64_MAX;
			if (!size)
				size = cb;
			uint64_t end;
			if (!msi_add_u64(d.chunk_address, size, &end) || end > h->eoa)
				h5_finding(h, "hdf5.layout.invalid", where, "the single chunk at 0x%llx (%llu bytes) lies outside the file",
				           (unsigned long long)d.chunk_address, (unsigned long long)size);
			else if (end > h->avail)
				h5_finding(h, "hdf5.truncated", where, "the single chunk at 0x%llx lies past the end of the file",
				           (unsigned long long)d.chunk_address);
		}
	}
	return rc;
}

static int validate_object(void *user, msi_h5 *h, const char *path, size_t path_len, const msi_h5_obj *o)
{
	MSI_UNUSED(user);
	MSI_UNUSED(path);
	MSI_UNUSED(path_len);
	int rc = msi_h5_obj_attrs(h, o, check_attr, NULL);
	if (rc == MS_ENOMEM || rc == MS_EIO || rc == MS_ECHANGED)
		return rc;
	rc = msi_h5_obj_is_dataset(o) ? check_dataset(h, o, o->where) : MS_OK;
	return rc == MS_ENOMEM || rc == MS_EIO || rc == MS_ECHANGED ? rc : 0;
}

static int validate(const msi_view *v, msi_validate_ctx *ctx)
{
	int64_t off = msi_hdf5_signature(v);
	if (off < 0) {
		msi_report_add(ctx->report, "hdf5.superblock.invalid", "", "no HDF5 signature (at 0, 512, 1024, ...)");
		return MS_OK;
	}
	msi_h5 *h;
	int rc = msi_h5_open(v->src, (uint64_t)off, v->limits, ctx->report, &h);
	if (rc != MS_OK)
		return rc == MS_EFORMAT ? MS_OK : rc;
	msi_h5_obj *root;
	rc = msi_h5_obj_load(h, msi_h5_root_address(h), "/", &root);
	if (rc == MS_OK) {
		rc = validate_object(NULL, h, "", 0, root);
		if (rc == MS_OK || rc == MS_EFORMAT || rc == MS_ELIMIT)
			rc = h5_walk_obj(h, root, validate_object, NULL);
		msi_h5_obj_free(root);
	}
	msi_h5_close(h);
	return rc == MS_EFORMAT || rc == MS_ELIMIT ? MS_OK : rc;
}

const msi_format msi_format_hdf5 = {
	.name = "hdf5",
	.description = "HDF5 file that is not a Keras model",
	.is_model = false,
	.sniff = sniff,
	.inspect = inspect,
	.validate = validate,
};
