/*
 * Attribute values: numbers decoded from their stored byte order, fixed
 * strings trimmed as numpy does, and variable-length strings read from
 * global heap collections. A collection is at least 4 KiB and can be far
 * larger (one big string grows it), so only its first window is kept in
 * memory with the position of every object; an object beyond the window is
 * read on its own, and only as many bytes as the element asks for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5_int.h"

/* ---- global heap ---- */

static void gcol_reset(h5_gcol *g)
{
	msi_free(g->win);
	msi_free(g->objs);
	memset(g, 0, sizeof *g);
	g->addr = MSI_H5_UNDEF;
}

void h5_gcol_clear(msi_h5 *h)
{
	for (size_t i = 0; i < MSI_ARRAY_LEN(h->gcol); i++)
		gcol_reset(&h->gcol[i]);
}

/* The header of the object at `pos` of the collection: from the window
 * when it is there, else read. */
static int gcol_objhdr(msi_h5 *h, h5_gcol *g, uint64_t pos, uint8_t *hdr, size_t n, const char *where)
{
	if (pos + n <= g->wlen) {
		memcpy(hdr, g->win + pos, n);
		return MS_OK;
	}
	return h5_read(h, g->addr + pos, hdr, n, "global heap object", where);
}

static int gcol_scan(msi_h5 *h, h5_gcol *g, const char *where)
{
	/* index, refcount, reserved, size; libhdf5 pads this header and the
	 * collection's to 8 bytes (H5HG_ALIGN), which matters when lengths
	 * are not 8 bytes */
	size_t fields = 8 + h->sl, hsize = (fields + 7) & ~(size_t)7;
	uint64_t pos = hsize;
	size_t cap = 0, steps = 0;
	while (g->size - pos >= fields) {
		if (++steps > H5_MAX_GCOL_STEPS) {
			h5_finding(h, "hdf5.heap.invalid", where, "global heap collection at 0x%llx: more than %u records",
			           (unsigned long long)g->addr, H5_MAX_GCOL_STEPS);
			return MS_EFORMAT;
		}
		uint8_t hdr[16];
		int rc = gcol_objhdr(h, g, pos, hdr, fields, where);
		if (rc != MS_OK)
			return rc;
		uint16_t index = msi_le16(hdr);
		uint64_t osize = h5_uint(hdr + 8, h->sl);
		uint64_t need;
		if (index == 0) {
			need = osize; /* free space: its size counts its header */
			if (need < hsize)
				break;
		} else if (!msi_add_u64(osize, 7, &need)) {
			need = UINT64_MAX;
		} else {
			need = hsize + (need & ~UINT64_C(7));
			if (need < hsize)
				need = UINT64_MAX;
		}
		if (need > g->size - pos) {
			h5_finding(h, "hdf5.heap.invalid", where,
			           "global heap collection at 0x%llx: object %u of %llu bytes runs past the %llu-byte collection",
			           (unsigned long long)g->addr, index, (unsigned long long)osize, (unsigned long long)g->size);
			return MS_EFORMAT;
		}
		if (index != 0) {
			if (g->nobjs == 65536) {
				h5_finding(h, "hdf5.heap.invalid", where, "global heap collection at 0x%llx holds over 65535 objects",
				           (unsigned long long)g->addr);
				return MS_EFORMAT;
			}
			if (g->nobjs == cap) {
				cap = cap ? cap * 2 : 32;
				h5_gcol_obj *n = msi_reallocarray(g->objs, cap, sizeof *n);
				if (!n)
					return msi_error(MS_ENOMEM, "out of memory");
				g->objs = n;
			}
			g->objs[g->nobjs].index = index;
			g->objs[g->nobjs].off = pos + hsize;
			g->objs[g->nobjs].size = osize;
			g->nobjs++;
		}
		pos += need;
	}
	return MS_OK;
}

static int gcol_load(msi_h5 *h, h5_gcol *g, uint64_t addr, const char *where);

static int gcol_obj_cmp(const void *a, const void *b)
{
	const h5_gcol_obj *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int gcol_get(msi_h5 *h, uint64_t addr, const char *where, h5_gcol **out)
{
	for (size_t i = 0; i < MSI_ARRAY_LEN(h->gcol); i++)
		if (h->gcol[i].addr == addr && addr != MSI_H5_UNDEF) {
			*out = &h->gcol[i];
			return h->gcol[i].unusable ? MS_EFORMAT : MS_OK;
		}
	h5_gcol *g = &h->gcol[h->gcol_next];
	h->gcol_next = (h->gcol_next + 1) % MSI_ARRAY_LEN(h->gcol);
	gcol_reset(g);
	int rc = gcol_load(h, g, addr, where);
	if (rc == MS_EFORMAT) {
		/* remembered, so that the strings that share it are not each reported */
		gcol_reset(g);
		g->addr = addr;
		g->unusable = true;
	} else if (rc != MS_OK) {
		gcol_reset(g);
	}
	*out = g;
	return rc;
}

static int gcol_load(msi_h5 *h, h5_gcol *g, uint64_t addr, const char *where)
{
	uint8_t hdr[16];
	size_t hsize = 8 + h->sl;
	int rc = h5_read(h, addr, hdr, hsize, "global heap collection", where);
	if (rc != MS_OK)
		return rc;
	if (memcmp(hdr, "GCOL", 4) != 0 || hdr[4] != 1) {
		h5_finding(h, "hdf5.heap.invalid", where, "no global heap collection (GCOL version 1) at 0x%llx",
		           (unsigned long long)addr);
		return MS_EFORMAT;
	}
	uint64_t size = h5_uint(hdr + 8, h->sl);
	if (size < hsize) {
		h5_finding(h, "hdf5.heap.invalid", where, "global heap collection at 0x%llx: size %llu is below its header",
		           (unsigned long long)addr, (unsigned long long)size);
		return MS_EFORMAT;
	}
	if ((rc = h5_range(h, addr, size, "global heap collection", where)) != MS_OK)
		return rc;
	g->wlen = (size_t)MSI_MIN(size, H5_WINDOW);
	if ((rc = h5_read_alloc(h, addr, g->wlen, "global heap collection", where, &g->win)) != MS_OK)
		return rc;
	g->addr = addr;
	g->size = size;
	rc = gcol_scan(h, g, where);
	if (rc == MS_EFORMAT) {
		g->broken = true; /* the objects before the break stay usable */
		rc = MS_OK;
	}
	/* by index, for lookups (libhdf5 numbers them 1, 2, ... in file order
	 * until objects are freed) */
	if (rc == MS_OK && g->nobjs > 1)
		qsort(g->objs, g->nobjs, sizeof *g->objs, gcol_obj_cmp);
	return rc;
}

/* `len` bytes of object `index` of the collection at `addr`, which must
 * hold at least that many. The pointer lasts until the next call. */
static int gheap_bytes(msi_h5 *h, uint64_t addr, uint32_t index, uint64_t len, const char *where,
                       const uint8_t **out)
{
	h5_gcol *g;
	int rc = gcol_get(h, addr, where, &g);
	if (rc != MS_OK)
		return rc;
	const h5_gcol_obj *o = NULL;
	if (index >= 1 && index <= g->nobjs && g->objs[index - 1].index == index) {
		o = &g->objs[index - 1];
	} else if (index <= UINT16_MAX && g->nobjs > 0) {
		h5_gcol_obj key = { .index = (uint16_t)index };
		o = bsearch(&key, g->objs, g->nobjs, sizeof *g->objs, gcol_obj_cmp);
	}
	if (!o) {
		h5_finding(h, "hdf5.heap.invalid", where, "global heap collection at 0x%llx has no object %u",
		           (unsigned long long)addr, index);
		return MS_EFORMAT;
	}
	if (len > o->size) {
		h5_finding(h, "hdf5.heap.invalid", where,
		           "a variable-length value of %llu bytes refers to global heap object %u at 0x%llx, which has %llu",
		           (unsigned long long)len, index, (unsigned long long)addr, (unsigned long long)o->size);
		return MS_EFORMAT;
	}
	if (o->off + len <= g->wlen) {
		*out = g->win + o->off;
		return h5_charge(h, len, where);
	}
	if (len > h->scratch_cap) {
		uint8_t *n = msi_realloc(h->scratch, (size_t)len);
		if (!n)
			return msi_error(MS_ENOMEM, "out of memory");
		h->scratch = n;
		h->scratch_cap = (size_t)len;
	}
	rc = h5_read(h, g->addr + o->off, h->scratch, (size_t)len, "global heap object", where);
	*out = h->scratch;
	return rc;
}

/* ---- strings ---- */

int msi_h5_attr_strings(msi_h5 *h, const msi_h5_attr *a, uint64_t max_total, msi_h5_str_fn fn, void *user)
{
	char where[300];
	snprintf(where, sizeof where, "attribute '%.*s'", (int)MSI_MIN(a->name_len, 200), a->name);
	const msi_h5_type *t = &a->type;
	bool fixed = t->cls == MSI_H5_STRING;
	if (!fixed && !(t->cls == MSI_H5_VLEN && t->vlen_string)) {
		char tn[32];
		h5_finding(h, "hdf5.attribute.invalid", where, "the value is %s, not a string",
		           msi_h5_type_name(t, tn, sizeof tn));
		return MS_EFORMAT;
	}
	uint64_t total = 0;
	for (uint64_t i = 0; i < a->space.elements; i++) {
		const uint8_t *e = a->data + i * t->size; /* elements * size <= data_len: checked at decode */
		const char *s = "";
		size_t len;
		if (fixed) {
			len = t->size;
			if (t->pad == 0) {
				const uint8_t *nul = memchr(e, 0, len);
				if (nul)
					len = (size_t)(nul - e);
			} else {
				/* numpy drops trailing NULs of 'S' values; space padding is cut too */
				char padc = t->pad == 2 ? ' ' : '\0';
				while (len && e[len - 1] == (uint8_t)padc)
					len--;
			}
			s = (const char *)e;
		} else {
			uint32_t n = msi_le32(e);
			uint64_t coll = h5_addr(h, e + 4);
			uint32_t index = msi_le32(e + 4 + h->so);
			len = n;
			if (n && (uint64_t)n * (t->base_size ? t->base_size : 1) != n) {
				h5_finding(h, "hdf5.attribute.invalid", where, "variable-length string of %u-byte characters",
				           t->base_size);
				return MS_EFORMAT;
			}
			if (msi_sat_add_u64(total, n) > max_total) {
				h5_finding(h, "hdf5.limit", where, "the strings exceed %llu bytes; not read",
				           (unsigned long long)max_total);
				return MS_ELIMIT;
			}
			if (n) {
				const uint8_t *p = NULL;
				int rc = gheap_bytes(h, coll, index, n, where, &p);
				if (rc != MS_OK)
					return rc;
				s = (const char *)p;
			}
		}
		total = msi_sat_add_u64(total, len);
		if (total > max_total) {
			h5_finding(h, "hdf5.limit", where, "the strings exceed %llu bytes; not read", (unsigned long long)max_total);
			return MS_ELIMIT;
		}
		int rc = fn(user, (size_t)i, s, len);
		if (rc != 0)
			return rc;
	}
	return MS_OK;
}

/* ---- numbers ---- */

static uint64_t load_uint(const uint8_t *p, unsigned size, bool big_endian)
{
	uint64_t v = 0;
	for (unsigned k = 0; k < size; k++)
		v |= (uint64_t)p[big_endian ? size - 1 - k : k] << (8 * k);
	return v;
}

bool msi_h5_attr_integer(const msi_h5_attr *a, uint64_t i, uint64_t *bits, bool *negative)
{
	const msi_h5_type *t = &a->type;
	bool ok = t->cls == MSI_H5_INTEGER || (t->cls == MSI_H5_ENUM && t->base_cls == MSI_H5_INTEGER);
	unsigned size = t->size;
	if (!ok || (size != 1 && size != 2 && size != 4 && size != 8) || i >= a->space.elements ||
	    (i + 1) * size > a->data_len)
		return false;
	uint64_t v = load_uint(a->data + i * size, size, t->big_endian);
	bool neg = false;
	if (t->is_signed && size < 8 && (v >> (size * 8 - 1)) & 1) {
		v |= ~UINT64_C(0) << (size * 8);
		neg = true;
	} else if (t->is_signed && size == 8 && (v >> 63)) {
		neg = true;
	}
	*bits = v;
	*negative = neg;
	return true;
}

static double half_to_double(uint16_t x)
{
	unsigned e = (x >> 10) & 0x1F, m = x & 0x3FF;
	uint64_t sign = (uint64_t)(x >> 15) << 63, bits;
	double d;
	if (e == 0) {
		d = (double)m * 5.9604644775390625e-08; /* m * 2^-24 */
		memcpy(&bits, &d, 8);
		bits |= sign;
	} else if (e == 31) {
		bits = sign | (UINT64_C(0x7FF) << 52) | ((uint64_t)m << 42);
	} else {
		bits = sign | ((uint64_t)(e - 15 + 1023) << 52) | ((uint64_t)m << 42);
	}
	memcpy(&d, &bits, 8);
	return d;
}

bool msi_h5_attr_number(const msi_h5_attr *a, uint64_t i, double *out)
{
	const msi_h5_type *t = &a->type;
	if (t->cls == MSI_H5_FLOAT) {
		unsigned size = t->size;
		if ((size != 2 && size != 4 && size != 8) || i >= a->space.elements || (i + 1) * size > a->data_len)
			return false;
		uint64_t v = load_uint(a->data + i * size, size, t->big_endian);
		if (size == 2) {
			*out = half_to_double((uint16_t)v);
		} else if (size == 4) {
			uint32_t u = (uint32_t)v;
			float f;
			memcpy(&f, &u, 4);
			*out = f;
		} else {
			memcpy(out, &v, 8);
		}
		return true;
	}
	uint64_t bits;
	bool neg;
	if (!msi_h5_attr_integer(a, i, &bits, &neg))
		return false;
	*out = neg || (t->is_signed && t->size == 8) ? (double)(int64_t)bits : (double)bits;
	return true;
}
