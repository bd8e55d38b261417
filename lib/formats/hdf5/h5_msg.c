/*
 * HDF5 header messages: dataspace, datatype (numpy names as h5py maps
 * them), layout, filter pipeline and attribute messages, and the dataset
 * and attribute views of h5.h built from them. Every field is read through
 * a bounded cursor; sizes that disagree with the message are findings.
 */
#include <stdio.h>
#include <string.h>

#include "h5_int.h"

/* ---- dataspace ---- */

int h5_parse_space(msi_h5 *h, const uint8_t *p, size_t n, const char *where, msi_h5_space *s)
{
	memset(s, 0, sizeof *s);
	msi_cursor c = msi_cursor_make(p, n);
	uint8_t version = msi_cursor_u8(&c), rank = msi_cursor_u8(&c), flags = msi_cursor_u8(&c);
	uint8_t kind = 1;
	if (version == 1) {
		msi_cursor_skip(&c, 5);
		kind = rank ? MSI_H5_SIMPLE : MSI_H5_SCALAR;
	} else if (version == 2) {
		kind = msi_cursor_u8(&c);
	} else if (!c.failed) {
		h5_finding(h, "hdf5.dataspace.invalid", where, "dataspace message version %u is not 1 or 2", version);
		return MS_EFORMAT;
	}
	if (c.failed) {
		h5_finding(h, "hdf5.dataspace.invalid", where, "dataspace message is %zu bytes, too short", n);
		return MS_EFORMAT;
	}
	if (kind > MSI_H5_NULL || (kind != MSI_H5_SIMPLE && rank != 0)) {
		h5_finding(h, "hdf5.dataspace.invalid", where, "dataspace type %u with rank %u", kind, rank);
		return MS_EFORMAT;
	}
	if (rank > MSI_H5_MAX_RANK) {
		h5_finding(h, "hdf5.dataspace.invalid", where, "dataspace rank %u is above HDF5's limit of %d", rank,
		           MSI_H5_MAX_RANK);
		return MS_EFORMAT;
	}
	s->kind = (msi_h5_space_kind)kind;
	s->rank = rank;
	for (unsigned i = 0; i < rank; i++)
		s->dims[i] = h5_cursor_len(h, &c);
	uint64_t unlimited = h->sl >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * h->sl)) - 1;
	if (flags & 1) {
		for (unsigned i = 0; i < rank && !c.failed; i++) {
			uint64_t max = h5_cursor_len(h, &c);
			if (!c.failed && max != unlimited && s->dims[i] > max) {
				h5_finding(h, "hdf5.dataspace.invalid", where, "dimension %u is %llu, above its maximum %llu", i,
				           (unsigned long long)s->dims[i], (unsigned long long)max);
				return MS_EFORMAT;
			}
		}
	}
	if (c.failed) {
		h5_finding(h, "hdf5.dataspace.invalid", where, "dataspace message (rank %u) is %zu bytes, too short", rank, n);
		return MS_EFORMAT;
	}
	if (kind == MSI_H5_NULL) {
		s->elements = 0;
		return MS_OK;
	}
	uint64_t e = 1;
	for (unsigned i = 0; i < rank; i++) {
		if (!msi_mul_u64(e, s->dims[i], &e)) {
			s->elements_overflow = true;
			s->elements = UINT64_MAX;
			h5_finding(h, "hdf5.dataspace.invalid", where, "the product of the %u dimensions overflows 64 bits", rank);
			return MS_OK;
		}
	}
	s->elements = e;
	return MS_OK;
}

/* ---- datatype ---- */

static const char *const class_names[] = { "integer", "float", "time", "string", "bitfield", "opaque",
                                           "compound", "reference", "enum", "vlen", "array" };

const char *msi_h5_type_name(const msi_h5_type *t, char *buf, size_t cap)
{
	const char *name = NULL;
	switch (t->cls) {
	case MSI_H5_INTEGER:
		if (t->size == 1 || t->size == 2 || t->size == 4 || t->size == 8)
			snprintf(buf, cap, "%s%u", t->is_signed ? "int" : "uint", t->size * 8);
		else
			name = "integer";
		break;
	case MSI_H5_FLOAT:
		if (t->size == 2 || t->size == 4 || t->size == 8 || t->size == 16)
			snprintf(buf, cap, "float%u", t->size * 8);
		else
			name = "float";
		break;
	case MSI_H5_STRING:
		snprintf(buf, cap, "|S%u", t->size);
		break;
	case MSI_H5_VLEN:
		name = "object";
		break;
	case MSI_H5_ENUM:
		/* h5py reads an enum as its base integer (with the names as
		 * metadata); numpy bool is the enum h5py writes for it */
		if (t->is_bool)
			name = "bool";
		else if (t->base_cls == MSI_H5_INTEGER &&
		         (t->base_size == 1 || t->base_size == 2 || t->base_size == 4 || t->base_size == 8))
			snprintf(buf, cap, "%s%u", t->is_signed ? "int" : "uint", t->base_size * 8);
		else
			name = "enum";
		break;
	case MSI_H5_COMPOUND:
		if (t->is_complex)
			snprintf(buf, cap, "complex%u", t->size * 8);
		else
			name = "compound";
		break;
	default:
		name = (unsigned)t->cls < MSI_ARRAY_LEN(class_names) ? class_names[t->cls] : "unknown";
	}
	if (name)
		snprintf(buf, cap, "%s", name);
	return buf;
}

/* A NUL-terminated name at the cursor; `pad8` skips the padding to a
 * multiple of 8 bytes that versions 1 and 2 of compound and enum types add. */
static const char *type_name_field(msi_cursor *c, bool pad8, size_t *len)
{
	size_t left = msi_cursor_left(c);
	const uint8_t *p = c->data + c->pos;
	const uint8_t *nul = left ? memchr(p, 0, left) : NULL;
	if (!nul) {
		c->failed = true;
		return NULL;
	}
	*len = (size_t)(nul - p);
	size_t used = *len + 1;
	if (pad8)
		used = (used + 7) & ~(size_t)7;
	msi_cursor_skip(c, used);
	return c->failed ? NULL : (const char *)p;
}

static int type_bad(msi_h5 *h, const char *where, const char *what, unsigned cls)
{
	h5_finding(h, "hdf5.datatype.invalid", where, "%s datatype: %s", (unsigned)cls < MSI_ARRAY_LEN(class_names)
	           ? class_names[cls] : "unknown", what);
	return MS_EFORMAT;
}

static int parse_compound(msi_h5 *h, msi_cursor *c, const char *where, msi_h5_type *t, unsigned nmembers,
                          int depth)
{
	if (nmembers == 0 || nmembers > H5_MAX_COMPOUND_MEMBERS)
		return type_bad(h, where, "member count out of range", t->cls);
	unsigned offset_bytes = h5_enc_size(t->size);
	if (offset_bytes > 4)
		offset_bytes = 4;
	bool complex = nmembers == 2;
	for (unsigned i = 0; i < nmembers; i++) {
		size_t nl;
		const char *name = type_name_field(c, t->version < 3, &nl);
		uint64_t off;
		if (t->version < 3) {
			off = msi_cursor_le32(c);
		} else {
			const uint8_t *ob = msi_cursor_bytes(c, offset_bytes);
			off = ob ? h5_uint(ob, offset_bytes) : 0;
		}
		uint64_t count = 1;
		if (t->version == 1) {
			uint8_t nd = msi_cursor_u8(c);
			msi_cursor_skip(c, 3 + 4 + 4);
			for (unsigned k = 0; k < 4; k++) {
				uint32_t d = msi_cursor_le32(c);
				if (k < nd)
					count *= d ? d : 1;
			}
			if (nd > 4)
				return type_bad(h, where, "a version 1 member has more than 4 dimensions", t->cls);
		}
		if (c->failed || !name)
			return type_bad(h, where, "member list runs past the message", t->cls);
		msi_h5_type m;
		int rc = h5_parse_type(h, c, where, &m, depth + 1);
		if (rc != MS_OK)
			return rc;
		uint64_t msize;
		if (!msi_mul_u64(m.size, count, &msize) || !msi_range_ok(off, msize, t->size)) {
			h5_finding(h, "hdf5.datatype.invalid", where,
			           "compound member '%.*s' (offset %llu, %llu bytes) lies outside the %u-byte compound",
			           (int)MSI_MIN(nl, 200), name, (unsigned long long)off, (unsigned long long)msize, t->size);
			return MS_EFORMAT;
		}
		/* h5py's complex: {r: float, i: float} with i right after r */
		if (complex) {
			const char *want = i == 0 ? "r" : "i";
			if (nl != 1 || name[0] != want[0] || m.cls != MSI_H5_FLOAT || m.size * 2 != t->size ||
			    off != (uint64_t)i * m.size || count != 1)
				complex = false;
		}
	}
	t->is_complex = complex;
	return MS_OK;
}

static int parse_enum(msi_h5 *h, msi_cursor *c, const char *where, msi_h5_type *t, unsigned nmembers, int depth)
{
	msi_h5_type base;
	int rc = h5_parse_type(h, c, where, &base, depth + 1);
	if (rc != MS_OK)
		return rc;
	if (base.cls != MSI_H5_INTEGER || base.size != t->size)
		return type_bad(h, where, "the base type is not an integer of the enum's size", t->cls);
	t->base_cls = base.cls;
	t->base_size = base.size;
	t->is_signed = base.is_signed;
	t->big_endian = base.big_endian;
	if (nmembers > 65535)
		return type_bad(h, where, "member count out of range", t->cls);
	const char *names[2] = { NULL, NULL };
	size_t lens[2] = { 0, 0 };
	for (unsigned i = 0; i < nmembers; i++) {
		size_t nl;
		const char *name = type_name_field(c, t->version < 3, &nl);
		if (!name)
			return type_bad(h, where, "member names run past the message", t->cls);
		if (i < 2) {
			names[i] = name;
			lens[i] = nl;
		}
	}
	const uint8_t *values = msi_cursor_bytes(c, (size_t)nmembers * base.size);
	if (!values)
		return type_bad(h, where, "member values run past the message", t->cls);
	/* numpy bool as h5py writes it: an enum over a 1-byte integer with
	 * exactly FALSE = 0 and TRUE = 1 */
	if (nmembers == 2 && base.size == 1) {
		int f = -1, tr = -1;
		for (int i = 0; i < 2; i++) {
			if (lens[i] == 5 && memcmp(names[i], "FALSE", 5) == 0)
				f = i;
			else if (lens[i] == 4 && memcmp(names[i], "TRUE", 4) == 0)
				tr = i;
		}
		t->is_bool = f >= 0 && tr >= 0 && values[f] == 0 && values[tr] == 1;
	}
	return MS_OK;
}

static int parse_array(msi_h5 *h, msi_cursor *c, const char *where, msi_h5_type *t, int depth)
{
	uint8_t nd = msi_cursor_u8(c);
	if (t->version < 3)
		msi_cursor_skip(c, 3);
	if (c->failed || nd == 0 || nd > MSI_H5_MAX_RANK)
		return type_bad(h, where, "dimensionality out of range", t->cls);
	uint64_t count = 1;
	for (unsigned i = 0; i < nd; i++) {
		uint32_t d = msi_cursor_le32(c);
		if (!msi_mul_u64(count, d, &count))
			return type_bad(h, where, "the dimensions overflow", t->cls);
	}
	if (t->version < 3)
		msi_cursor_skip(c, 4 * (size_t)nd); /* permutation, never used */
	if (c->failed)
		return type_bad(h, where, "dimensions run past the message", t->cls);
	msi_h5_type base;
	int rc = h5_parse_type(h, c, where, &base, depth + 1);
	if (rc != MS_OK)
		return rc;
	uint64_t total;
	if (!msi_mul_u64(count, base.size, &total) || total != t->size)
		return type_bad(h, where, "size differs from elements x base size", t->cls);
	t->base_cls = base.cls;
	t->base_size = base.size;
	return MS_OK;
}

int h5_parse_type(msi_h5 *h, msi_cursor *c, const char *where, msi_h5_type *t, int depth)
{
	memset(t, 0, sizeof *t);
	if (depth > H5_MAX_TYPE_DEPTH) {
		h5_finding(h, "hdf5.datatype.invalid", where, "datatypes nested deeper than %d levels", H5_MAX_TYPE_DEPTH);
		return MS_EFORMAT;
	}
	uint8_t b0 = msi_cursor_u8(c);
	const uint8_t *fl = msi_cursor_bytes(c, 3);
	uint32_t size = msi_cursor_le32(c);
	if (c->failed || !fl) {
		h5_finding(h, "hdf5.datatype.invalid", where, "datatype runs past its message");
		return MS_EFORMAT;
	}
	unsigned cls = b0 & 0x0F;
	t->version = b0 >> 4;
	t->cls = (msi_h5_class)cls;
	t->size = size;
	if (cls > MSI_H5_ARRAY) {
		h5_finding(h, "hdf5.datatype.invalid", where, "datatype class %u is not one of HDF5's 0-10", cls);
		return MS_EFORMAT;
	}
	if (t->version < 1 || t->version > 4)
		return type_bad(h, where, "version out of range 1-4", cls);
	if (size == 0)
		return type_bad(h, where, "element size 0", cls);
	unsigned nmembers = fl[0] | (unsigned)fl[1] << 8;
	switch (cls) {
	case MSI_H5_INTEGER:
	case MSI_H5_BITFIELD: {
		t->big_endian = fl[0] & 1;
		t->is_signed = cls == MSI_H5_INTEGER && (fl[0] & 8);
		uint16_t off = msi_cursor_le16(c), prec = msi_cursor_le16(c);
		if (c->failed)
			return type_bad(h, where, "properties run past the message", cls);
		if (prec == 0 || (uint32_t)off + prec > (uint64_t)size * 8)
			return type_bad(h, where, "bit offset and precision do not fit the element size", cls);
		break;
	}
	case MSI_H5_FLOAT: {
		/* bit 6 with bit 0 is VAX order: a name is still given, values not */
		t->big_endian = (fl[0] & 1) && !(fl[0] & 0x40);
		uint16_t off = msi_cursor_le16(c), prec = msi_cursor_le16(c);
		uint8_t eloc = msi_cursor_u8(c), esize = msi_cursor_u8(c), mloc = msi_cursor_u8(c), msize = msi_cursor_u8(c);
		msi_cursor_skip(c, 4);
		if (c->failed)
			return type_bad(h, where, "properties run past the message", cls);
		if (prec == 0 || (uint32_t)off + prec > (uint64_t)size * 8 || (uint32_t)eloc + esize > prec ||
		    (uint32_t)mloc + msize > prec)
			return type_bad(h, where, "bit fields do not fit the element size", cls);
		break;
	}
	case MSI_H5_TIME:
		t->big_endian = fl[0] & 1;
		msi_cursor_skip(c, 2);
		break;
	case MSI_H5_STRING:
		t->pad = fl[0] & 0x0F;
		t->charset = fl[0] >> 4;
		break;
	case MSI_H5_OPAQUE:
		msi_cursor_skip(c, fl[0]); /* the tag, padded to 8 */
		break;
	case MSI_H5_COMPOUND: {
		int rc = parse_compound(h, c, where, t, nmembers, depth);
		if (rc != MS_OK)
			return rc;
		break;
	}
	case MSI_H5_REFERENCE:
		break;
	case MSI_H5_ENUM: {
		int rc = parse_enum(h, c, where, t, nmembers, depth);
		if (rc != MS_OK)
			return rc;
		break;
	}
	case MSI_H5_VLEN: {
		t->vlen_string = (fl[0] & 0x0F) == 1;
		t->pad = fl[0] >> 4;
		t->charset = fl[1] & 0x0F;
		msi_h5_type base;
		int rc = h5_parse_type(h, c, where, &base, depth + 1);
		if (rc != MS_OK)
			return rc;
		t->base_cls = base.cls;
		t->base_size = base.size;
		/* in the file: u32 length, then the global heap id (address, index) */
		if (size != 4 + h->so + 4)
			return type_bad(h, where, "element size is not that of a global heap reference", cls);
		break;
	}
	case MSI_H5_ARRAY: {
		if (t->version < 2)
			return type_bad(h, where, "version 1 cannot hold an array", cls);
		int rc = parse_array(h, c, where, t, depth);
		if (rc != MS_OK)
			return rc;
		break;
	}
	}
	if (c->failed)
		return type_bad(h, where, "properties run past the message", cls);
	return MS_OK;
}

/* A committed datatype (h5py: a named type in the file) is a shared
 * message naming the object header that holds the real one. */
int h5_msg_type(msi_h5 *h, const h5_msg *m, const char *where, msi_h5_type *t)
{
	if (!(m->flags & H5_MSGFLAG_SHARED)) {
		msi_cursor c = msi_cursor_make(m->data, m->size);
		return h5_parse_type(h, &c, where, t, 0);
	}
	msi_cursor c = msi_cursor_make(m->data, m->size);
	uint8_t version = msi_cursor_u8(&c), type = msi_cursor_u8(&c);
	if (version == 1)
		msi_cursor_skip(&c, 6);
	if (version < 1 || version > 3 || (version == 3 && type != 2)) {
		if (!c.failed && version == 3 && type == 1) {
			h5_finding(h, "hdf5.unsupported", where, "the datatype is kept in the shared message heap (not read)");
			return MS_EFORMAT;
		}
		h5_finding(h, "hdf5.message.invalid", where, "shared datatype message version %u, type %u", version, type);
		return MS_EFORMAT;
	}
	uint64_t addr = h5_cursor_addr(h, &c);
	if (c.failed) {
		h5_finding(h, "hdf5.message.invalid", where, "shared datatype message is %u bytes, too short", (unsigned)m->size);
		return MS_EFORMAT;
	}
	msi_h5_obj *o;
	int rc = msi_h5_obj_load(h, addr, NULL, &o);
	if (rc != MS_OK)
		return rc;
	const h5_msg *dm = h5_obj_find(o, H5_MSG_DATATYPE);
	if (!dm || (dm->flags & H5_MSGFLAG_SHARED)) {
		h5_finding(h, "hdf5.message.invalid", where, "the committed datatype at 0x%llx holds no datatype message",
		           (unsigned long long)addr);
		rc = MS_EFORMAT;
	} else {
		msi_cursor tc = msi_cursor_make(dm->data, dm->size);
		rc = h5_parse_type(h, &tc, where, t, 0);
	}
	msi_h5_obj_free(o);
	return rc;
}

/* ---- layout and filters ---- */

static int layout_bad(msi_h5 *h, const char *where, const h5_msg *m, const char *what)
{
	h5_finding(h, "hdf5.layout.invalid", where, "layout message at 0x%llx: %s", (unsigned long long)m->addr, what);
	return MS_EFORMAT;
}

/* Chunk dimensions: the message lists rank + 1 of them, the last being the
 * element size. */
static int take_chunk_dims(msi_h5 *h, const char *where, const h5_msg *m, msi_h5_dataset *d, const uint64_t *dims,
                           unsigned nd)
{
	if (nd < 2 || nd - 1 != d->space.rank)
		return layout_bad(h, where, m, "the chunk rank differs from the dataspace rank");
	d->chunk_rank = nd - 1;
	for (unsigned i = 0; i < nd; i++) {
		if (dims[i] == 0)
			return layout_bad(h, where, m, "a chunk dimension is 0");
		if (i < nd - 1)
			d->chunk_dims[i] = dims[i];
	}
	return MS_OK;
}

static int parse_layout(msi_h5 *h, const h5_msg *m, const char *where, msi_h5_dataset *d)
{
	msi_cursor c = msi_cursor_make(m->data, m->size);
	uint8_t version = msi_cursor_u8(&c);
	uint64_t dims[MSI_H5_MAX_RANK + 1];
	d->data_address = MSI_H5_UNDEF;
	d->chunk_address = MSI_H5_UNDEF;
	if (version == 1 || version == 2) {
		uint8_t nd = msi_cursor_u8(&c), cls = msi_cursor_u8(&c);
		msi_cursor_skip(&c, 5);
		if (cls > 2)
			return layout_bad(h, where, m, "layout class above 2 in a version 1/2 message");
		d->layout = (msi_h5_layout_class)cls;
		if (nd > MSI_H5_MAX_RANK + 1)
			return layout_bad(h, where, m, "dimensionality above 33");
		uint64_t addr = cls != 0 ? h5_cursor_addr(h, &c) : MSI_H5_UNDEF;
		uint64_t product = 1;
		for (unsigned i = 0; i < nd; i++) {
			dims[i] = msi_cursor_le32(&c);
			if (!msi_mul_u64(product, dims[i], &product))
				return layout_bad(h, where, m, "the dimensions overflow");
		}
		if (c.failed)
			return layout_bad(h, where, m, "the message is too short");
		if (cls == 0) {
			d->data_size = msi_cursor_le32(&c);
			if (c.failed || d->data_size > msi_cursor_left(&c))
				return layout_bad(h, where, m, "compact data runs past the message");
		} else if (cls == 1) {
			d->data_address = addr;
			d->data_size = product;
		} else {
			d->chunk_address = addr;
			return take_chunk_dims(h, where, m, d, dims, nd);
		}
		return MS_OK;
	}
	if (version < 3 || version > 5) {
		if (c.failed)
			return layout_bad(h, where, m, "the message is empty");
		h5_finding(h, "hdf5.unsupported", where, "layout message version %u is not read", version);
		return MS_EFORMAT;
	}
	uint8_t cls = msi_cursor_u8(&c);
	switch (cls) {
	case 0:
		d->layout = MSI_H5_LAYOUT_COMPACT;
		d->data_size = msi_cursor_le16(&c);
		if (c.failed || d->data_size > msi_cursor_left(&c))
			return layout_bad(h, where, m, "compact data runs past the message");
		return MS_OK;
	case 1:
		d->layout = MSI_H5_LAYOUT_CONTIGUOUS;
		d->data_address = h5_cursor_addr(h, &c);
		d->data_size = h5_cursor_len(h, &c);
		return c.failed ? layout_bad(h, where, m, "the message is too short") : MS_OK;
	case 2:
		break;
	case 3:
		d->layout = MSI_H5_LAYOUT_VIRTUAL;
		h5_finding(h, "hdf5.unsupported", where, "virtual dataset (its sources are not read)");
		return MS_OK;
	default:
		return layout_bad(h, where, m, "layout class is not 0-3");
	}
	d->layout = MSI_H5_LAYOUT_CHUNKED;
	if (version == 3) {
		uint8_t nd = msi_cursor_u8(&c);
		if (nd > MSI_H5_MAX_RANK + 1)
			return layout_bad(h, where, m, "dimensionality above 33");
		d->chunk_address = h5_cursor_addr(h, &c);
		for (unsigned i = 0; i < nd; i++)
			dims[i] = msi_cursor_le32(&c);
		if (c.failed)
			return layout_bad(h, where, m, "the message is too short");
		d->chunk_index = 0;
		return take_chunk_dims(h, where, m, d, dims, nd);
	}
	/* version 4 (libver='latest'): flags, dims of a stated width, then the
	 * chunk index type with its parameters and address */
	uint8_t flags = msi_cursor_u8(&c), nd = msi_cursor_u8(&c), width = msi_cursor_u8(&c);
	if (nd > MSI_H5_MAX_RANK + 1 || width < 1 || width > 8)
		return layout_bad(h, where, m, "dimensionality or dimension width out of range");
	for (unsigned i = 0; i < nd; i++) {
		const uint8_t *p = msi_cursor_bytes(&c, width);
		dims[i] = p ? h5_uint(p, width) : 0;
	}
	uint8_t index = msi_cursor_u8(&c);
	switch (index) {
	case 1: /* single chunk */
		if (flags & 2) {
			d->data_size = h5_cursor_len(h, &c); /* the filtered chunk's size */
			msi_cursor_skip(&c, 4);
		}
		break;
	case 2: break;                          /* implicit */
	case 3: msi_cursor_skip(&c, 1); break;  /* fixed array: page bits */
	case 4: msi_cursor_skip(&c, 5); break;  /* extensible array parameters */
	case 5: msi_cursor_skip(&c, 6); break;  /* v2 B-tree: node size, split, merge */
	default:
		if (c.failed)
			return layout_bad(h, where, m, "the message is too short");
		h5_finding(h, "hdf5.unsupported", where, "chunk index type %u is not known", index);
		return MS_EFORMAT;
	}
	d->chunk_index = index;
	d->chunk_address = h5_cursor_addr(h, &c);
	if (c.failed)
		return layout_bad(h, where, m, "the message is too short");
	return take_chunk_dims(h, where, m, d, dims, nd);
}

static int parse_pipeline(msi_h5 *h, const h5_msg *m, const char *where, msi_h5_dataset *d)
{
	msi_cursor c = msi_cursor_make(m->data, m->size);
	uint8_t version = msi_cursor_u8(&c), n = msi_cursor_u8(&c);
	if (version == 1)
		msi_cursor_skip(&c, 6);
	if (c.failed || version < 1 || version > 2 || n > 32) {
		h5_finding(h, "hdf5.message.invalid", where, "filter pipeline message: version %u with %u filters", version, n);
		return MS_EFORMAT;
	}
	for (unsigned i = 0; i < n; i++) {
		uint16_t id = msi_cursor_le16(&c);
		uint16_t name_len = version == 1 || id >= 256 ? msi_cursor_le16(&c) : 0;
		msi_cursor_skip(&c, 2); /* flags */
		uint16_t nvalues = msi_cursor_le16(&c);
		if (version == 1)
			msi_cursor_skip(&c, ((size_t)name_len + 7) & ~(size_t)7);
		else
			msi_cursor_skip(&c, name_len);
		msi_cursor_skip(&c, 4 * (size_t)nvalues + (version == 1 && (nvalues & 1) ? 4 : 0));
		if (c.failed) {
			h5_finding(h, "hdf5.message.invalid", where, "filter pipeline message: filter %u runs past the message", i);
			return MS_EFORMAT;
		}
		if (d->filter_count < MSI_ARRAY_LEN(d->filters))
			d->filters[d->filter_count] = id;
		d->filter_count++;
	}
	return MS_OK;
}

int msi_h5_obj_dataset(msi_h5 *h, const msi_h5_obj *o, msi_h5_dataset *out)
{
	memset(out, 0, sizeof *out);
	out->layout = MSI_H5_LAYOUT_NONE;
	out->data_address = MSI_H5_UNDEF;
	out->chunk_address = MSI_H5_UNDEF;
	const h5_msg *tm = h5_obj_find(o, H5_MSG_DATATYPE), *sm = h5_obj_find(o, H5_MSG_DATASPACE);
	if (!tm || !sm) {
		h5_finding(h, "hdf5.message.invalid", o->where, "the dataset has no %s message", tm ? "dataspace" : "datatype");
		return MS_EFORMAT;
	}
	int rc = h5_msg_type(h, tm, o->where, &out->type);
	if (rc != MS_OK)
		return rc;
	if (sm->flags & H5_MSGFLAG_SHARED) {
		h5_finding(h, "hdf5.unsupported", o->where, "a shared dataspace message is not read");
		return MS_EFORMAT;
	}
	if ((rc = h5_parse_space(h, sm->data, sm->size, o->where, &out->space)) != MS_OK)
		return rc;
	const h5_msg *lm = h5_obj_find(o, H5_MSG_LAYOUT);
	if (lm && (rc = parse_layout(h, lm, o->where, out)) != MS_OK)
		return rc;
	const h5_msg *pm = h5_obj_find(o, H5_MSG_PIPELINE);
	if (pm && (rc = parse_pipeline(h, pm, o->where, out)) != MS_OK)
		return rc;
	out->external = h5_obj_find(o, H5_MSG_EXTERNAL_FILES) != NULL;
	return MS_OK;
}

/* ---- attributes ---- */

/* Bytes of padding after n bytes in a message that pads fields to 8 (pad 7) or not (pad 0). */
static size_t pad_after(size_t n, size_t pad)
{
	return ((n + pad) & ~pad) - n;
}

int h5_attr_decode(msi_h5 *h, const uint8_t *p, size_t n, const char *where, msi_h5_attr *a)
{
	memset(a, 0, sizeof *a);
	msi_cursor c = msi_cursor_make(p, n);
	uint8_t version = msi_cursor_u8(&c), flags = msi_cursor_u8(&c);
	uint16_t name_size = msi_cursor_le16(&c), type_size = msi_cursor_le16(&c), space_size = msi_cursor_le16(&c);
	if (version == 3)
		msi_cursor_skip(&c, 1); /* name charset */
	if (c.failed || version < 1 || version > 3 || (flags & ~3u)) {
		h5_finding(h, "hdf5.attribute.invalid", where,
		           "attribute message of %zu bytes: version %u, flags 0x%x (versions 1-3, flags 0-3 are known)", n,
		           version, flags);
		return MS_EFORMAT;
	}
	size_t pad = version == 1 ? 7 : 0;
	const char *name = (const char *)msi_cursor_bytes(&c, name_size);
	msi_cursor_skip(&c, pad_after(name_size, pad));
	if (!name || name_size == 0) {
		h5_finding(h, "hdf5.attribute.invalid", where,
		           "attribute name of %u bytes does not fit its %zu-byte message", name_size, n);
		return MS_EFORMAT;
	}
	a->name = name;
	const char *nul = memchr(name, 0, name_size);
	a->name_len = nul ? (size_t)(nul - name) : name_size;
	const uint8_t *tp = msi_cursor_bytes(&c, type_size);
	msi_cursor_skip(&c, pad_after(type_size, pad));
	const uint8_t *sp = msi_cursor_bytes(&c, space_size);
	msi_cursor_skip(&c, pad_after(space_size, pad));
	char w[300];
	snprintf(w, sizeof w, "%s: attribute '%.*s'", where, (int)MSI_MIN(a->name_len, 200), name);
	if (!tp || !sp) {
		h5_finding(h, "hdf5.attribute.invalid", w,
		           "datatype (%u bytes) or dataspace (%u bytes) runs past the %zu-byte message", type_size,
		           space_size, n);
		return MS_EFORMAT;
	}
	if (flags & 1) {
		h5_msg tm = { .type = H5_MSG_DATATYPE, .flags = H5_MSGFLAG_SHARED, .size = type_size, .data = tp };
		int rc = h5_msg_type(h, &tm, w, &a->type);
		if (rc != MS_OK)
			return rc;
	} else {
		msi_cursor tc = msi_cursor_make(tp, type_size);
		int rc = h5_parse_type(h, &tc, w, &a->type, 0);
		if (rc != MS_OK)
			return rc;
	}
	if (flags & 2) {
		h5_finding(h, "hdf5.unsupported", w, "a shared dataspace is not read");
		return MS_EFORMAT;
	}
	int rc = h5_parse_space(h, sp, space_size, w, &a->space);
	if (rc != MS_OK)
		return rc;
	if (a->space.elements_overflow)
		return MS_EFORMAT; /* the dataspace finding says why */
	a->data = c.data + c.pos;
	a->data_len = msi_cursor_left(&c);
	uint64_t need;
	if (!msi_mul_u64(a->space.elements, a->type.size, &need) || need > a->data_len) {
		h5_finding(h, "hdf5.attribute.invalid", w,
		           "the value is %zu bytes; %llu elements of %u bytes need %llu", a->data_len,
		           (unsigned long long)a->space.elements, a->type.size,
		           (unsigned long long)(need ? need : UINT64_MAX));
		return MS_EFORMAT;
	}
	return MS_OK;
}

int msi_h5_obj_attrs(msi_h5 *h, const msi_h5_obj *o, msi_h5_attr_fn fn, void *user)
{
	for (size_t i = 0; i < o->nmsgs; i++) {
		const h5_msg *m = &o->msgs[i];
		if (m->type != H5_MSG_ATTRIBUTE)
			continue;
		if (m->flags & H5_MSGFLAG_SHARED) {
			h5_finding(h, "hdf5.unsupported", o->where,
			           "an attribute kept in the shared message heap is not read (message at 0x%llx)",
			           (unsigned long long)m->addr);
			continue;
		}
		msi_h5_attr a;
		if (h5_attr_decode(h, m->data, m->size, o->where, &a) != MS_OK)
			continue;
		int rc = fn(user, h, &a);
		if (rc != 0)
			return rc;
	}
	const h5_msg *ai = h5_obj_find(o, H5_MSG_ATTRIBUTE_INFO);
	if (!ai)
		return MS_OK;
	h5_dense_attr *list = NULL;
	size_t count = 0;
	int rc = h5_dense_attrs(h, ai, o->where, &list, &count);
	if (rc == MS_EFORMAT)
		rc = MS_OK; /* findings made; the attributes that were read still count */
	for (size_t i = 0; i < count; i++) {
		if (rc == MS_OK)
			rc = fn(user, h, &list[i].a);
		msi_free(list[i].buf);
	}
	msi_free(list);
	return rc;
}
