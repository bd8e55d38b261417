/*
 * Dense storage: what libhdf5 uses (with libver='latest') for a group of
 * more than 8 links and for attributes that do not fit the object header
 * (over 64 KiB) or are too many. A v2 B-tree indexes records by name hash;
 * each record holds a fractal heap ID; the heap object is the link or
 * attribute message itself.
 *
 * Fractal heap: objects live in direct blocks reached from the root through
 * indirect blocks laid out as a doubling table (HDF5 specification III.G).
 * Objects too big for a direct block ("huge", e.g. any attribute over 4 KiB
 * in the heap libhdf5 makes for attributes) are stored on their own and
 * found through a second v2 B-tree by ID; "tiny" objects sit in the ID.
 * Every block is checked (signature, owner, offset, lookup3 checksum);
 * descent strictly shrinks the row count, so it ends.
 */
#include <stdlib.h>
#include <string.h>

#include "h5_int.h"

/* ---- v2 B-tree ---- */

typedef int (*bt2_fn)(void *user, const uint8_t *rec, size_t rec_size);

typedef struct bt2 {
	msi_h5 *h;
	const char *where;
	uint64_t addr;
	uint8_t type;
	uint32_t node_size;
	uint16_t rec_size;
	uint16_t depth;
	uint64_t root;
	uint16_t root_nrec;
	unsigned nrec_size;                         /* bytes of a child's record count */
	uint64_t max_nrec[H5_MAX_BTREE_DEPTH + 1];  /* per depth (0 = leaf) */
	uint64_t cum_max[H5_MAX_BTREE_DEPTH + 1];
	unsigned cum_size[H5_MAX_BTREE_DEPTH + 1];  /* bytes of a child's total record count */
	h5_addrset nodes;
	size_t nnodes;
	bt2_fn fn;
	void *user;
} bt2;

#define BT2_MAX_NODE (1u << 20)

static int bt2_bad(bt2 *t, uint64_t addr, const char *what)
{
	h5_finding(t->h, "hdf5.btree.invalid", t->where, "v2 B-tree (header at 0x%llx), node at 0x%llx: %s",
	           (unsigned long long)t->addr, (unsigned long long)addr, what);
	return MS_EFORMAT;
}

static int bt2_open(msi_h5 *h, uint64_t addr, uint8_t want_type, const char *where, bt2 *t)
{
	memset(t, 0, sizeof *t);
	t->h = h;
	t->where = where;
	t->addr = addr;
	uint8_t b[64];
	size_t n = 16 + h->so + 2 + h->sl;
	int rc = h5_read(h, addr, b, n + 4, "v2 B-tree header", where);
	if (rc != MS_OK)
		return rc;
	if (memcmp(b, "BTHD", 4) != 0 || b[4] != 0)
		return bt2_bad(t, addr, "no BTHD version 0 signature");
	if (!h5_checksum_ok(h, b, n, "v2 B-tree header", addr, where))
		return MS_EFORMAT;
	t->type = b[5];
	t->node_size = msi_le32(b + 6);
	t->rec_size = msi_le16(b + 10);
	t->depth = msi_le16(b + 12);
	t->root = h5_addr(h, b + 16);
	t->root_nrec = msi_le16(b + 16 + h->so);
	if (t->type != want_type)
		return bt2_bad(t, addr, want_type == 5 ? "not a link name index (type 5)"
		                      : want_type == 8 ? "not an attribute name index (type 8)"
		                                       : "not a huge object index (type 1)");
	if (t->rec_size == 0 || t->node_size <= 10u + t->rec_size || t->node_size > BT2_MAX_NODE ||
	    t->depth > H5_MAX_BTREE_DEPTH)
		return bt2_bad(t, addr, "node size, record size or depth out of range");
	/* the widths of the record counts in internal nodes, as libhdf5
	 * derives them from the node size (H5B2__hdr_init) */
	t->max_nrec[0] = (t->node_size - 10) / t->rec_size;
	t->cum_max[0] = t->max_nrec[0];
	t->cum_size[0] = 0;
	t->nrec_size = h5_enc_size(t->max_nrec[0]);
	for (unsigned d = 1; d <= t->depth; d++) {
		uint64_t ptr = h->so + t->nrec_size + t->cum_size[d - 1];
		if (t->node_size < 10 + ptr + t->rec_size + ptr)
			return bt2_bad(t, addr, "internal nodes cannot hold a record");
		t->max_nrec[d] = (t->node_size - (10 + ptr)) / (t->rec_size + ptr);
		uint64_t cum;
		if (!msi_mul_u64(t->max_nrec[d] + 1, t->cum_max[d - 1], &cum) || !msi_add_u64(cum, t->max_nrec[d], &cum))
			cum = UINT64_MAX;
		t->cum_max[d] = cum;
		t->cum_size[d] = h5_enc_size(cum);
	}
	return MS_OK;
}

static int bt2_node(bt2 *t, uint64_t addr, uint64_t nrec, unsigned depth)
{
	msi_h5 *h = t->h;
	bool oom = false;
	if (addr == MSI_H5_UNDEF)
		return nrec ? bt2_bad(t, addr, "a child with records has no address") : MS_OK;
	if (!h5_addrset_add(&t->nodes, addr, &oom)) {
		if (oom)
			return msi_error(MS_ENOMEM, "out of memory");
		h5_finding(h, "hdf5.loop", t->where, "v2 B-tree (header at 0x%llx) reaches the node at 0x%llx twice",
		           (unsigned long long)t->addr, (unsigned long long)addr);
		return MS_EFORMAT;
	}
	if (++t->nnodes > H5_MAX_BTREE_NODES) {
		h5_finding(h, "hdf5.limit", t->where, "the v2 B-tree has more than %u nodes", H5_MAX_BTREE_NODES);
		return MS_ELIMIT;
	}
	if (nrec > t->max_nrec[depth])
		return bt2_bad(t, addr, "more records than a node can hold");
	size_t ptr = depth ? h->so + t->nrec_size + (depth > 1 ? t->cum_size[depth - 1] : 0) : 0;
	size_t used = 6 + (size_t)nrec * t->rec_size + (depth ? ((size_t)nrec + 1) * ptr : 0);
	uint8_t *b;
	int rc = h5_read_alloc(h, addr, used + 4, "v2 B-tree node", t->where, &b);
	if (rc != MS_OK)
		return rc;
	if (memcmp(b, depth ? "BTIN" : "BTLF", 4) != 0 || b[4] != 0 || b[5] != t->type) {
		msi_free(b);
		return bt2_bad(t, addr, depth ? "no BTIN node of the tree's type" : "no BTLF node of the tree's type");
	}
	if (!h5_checksum_ok(h, b, used, "v2 B-tree node", addr, t->where)) {
		msi_free(b);
		return MS_EFORMAT;
	}
	const uint8_t *recs = b + 6;
	for (uint64_t i = 0; i < nrec && rc == MS_OK; i++)
		rc = t->fn(t->user, recs + i * t->rec_size, t->rec_size);
	if (depth) {
		const uint8_t *p = recs + nrec * t->rec_size;
		for (uint64_t i = 0; i <= nrec && (rc == MS_OK || rc == MS_EFORMAT); i++, p += ptr) {
			uint64_t child = h5_addr(h, p);
			uint64_t cn = h5_uint(p + h->so, t->nrec_size);
			rc = bt2_node(t, child, cn, depth - 1);
		}
	}
	msi_free(b);
	return rc;
}

/* Calls fn for every record of the tree at `addr` (in no particular order). */
static int bt2_iterate(msi_h5 *h, uint64_t addr, uint8_t type, const char *where, bt2_fn fn, void *user,
                       uint16_t *rec_size)
{
	bt2 t;
	int rc = bt2_open(h, addr, type, where, &t);
	if (rc != MS_OK)
		return rc;
	if (rec_size)
		*rec_size = t.rec_size;
	t.fn = fn;
	t.user = user;
	rc = bt2_node(&t, t.root, t.root_nrec, t.depth);
	h5_addrset_free(&t.nodes);
	return rc;
}

/* ---- fractal heap ---- */

#define FH_CACHE 4

typedef struct fh_block {
	uint64_t addr;
	uint8_t *buf;    /* NULL: the block is broken (reported once) */
	size_t len;
	bool used;
} fh_block;

typedef struct h5_fheap {
	msi_h5 *h;
	const char *where;
	uint64_t addr;
	uint16_t id_len;
	uint16_t filter_len;
	uint8_t flags;
	uint32_t max_man;
	uint64_t huge_btree;
	uint16_t width;
	uint64_t start_block, max_direct, sw;
	uint16_t max_heap_bits;
	uint64_t root;
	uint16_t cur_rows;
	unsigned off_size, len_size, max_direct_rows;
	bool huge_direct;
	unsigned huge_id_size;
	fh_block cache[FH_CACHE];
	unsigned next;
} h5_fheap;

static int fh_bad(h5_fheap *fh, const char *what, uint64_t addr)
{
	h5_finding(fh->h, "hdf5.heap.invalid", fh->where, "fractal heap at 0x%llx: %s (at 0x%llx)",
	           (unsigned long long)fh->addr, what, (unsigned long long)addr);
	return MS_EFORMAT;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int fh_open(msi_h5 *h, uint64_t addr, const char *where, h5_fheap *fh)
{
	memset(fh, 0, sizeof *fh);
	fh->h = h;
	fh->where = where;
	fh->addr = addr;
	size_t n = 22 + 12 * (size_t)h->sl + 3 * (size_t)h->so;
	uint8_t b[22 + 12 * 8 + 3 * 8 + 4];
	int rc = h5_read(h, addr, b, n, "fractal heap header", where);
	if (rc != MS_OK)
		return rc;
	if (memcmp(b, "FRHP", 4) != 0 || b[4] != 0)
		return fh_bad(fh, "no FRHP version 0 header", addr);
	msi_cursor c = msi_cursor_make(b + 5, n - 5);
	fh->id_len = msi_cursor_le16(&c);
	fh->filter_len = msi_cursor_le16(&c);
	fh->flags = msi_cursor_u8(&c);
	fh->max_man = msi_cursor_le32(&c);
	h5_cursor_len(h, &c);                  /* next huge object ID */
	fh->huge_btree = h5_cursor_addr(h, &c);
	h5_cursor_len(h, &c);                  /* free space */
	h5_cursor_addr(h, &c);                 /* free space manager */
	for (int i = 0; i < 8; i++)
		h5_cursor_len(h, &c);              /* space and object statistics */
	fh->width = msi_cursor_le16(&c);
	fh->start_block = h5_cursor_len(h, &c);
	fh->max_direct = h5_cursor_len(h, &c);
	fh->max_heap_bits = msi_cursor_le16(&c);
	msi_cursor_le16(&c);                   /* starting rows of the root */
	fh->root = h5_cursor_addr(h, &c);
	fh->cur_rows = msi_cursor_le16(&c);
	if (c.failed)
		return fh_bad(fh, "header too short", addr);
	/* the checksum follows the optional I/O filter information */
	size_t total = n + (fh->filter_len ? h->sl + 4 + (size_t)fh->filter_len : 0);
	uint8_t *full;
	if ((rc = h5_read_alloc(h, addr, total + 4, "fractal heap header", where, &full)) != MS_OK)
		return rc;
	bool ok = h5_checksum_ok(h, full, total, "fractal heap header", addr, where);
	msi_free(full);
	if (!ok)
		return MS_EFORMAT;
	if (!pow2(fh->width) || !pow2(fh->start_block) || !pow2(fh->max_direct) || fh->max_direct < fh->start_block ||
	    fh->max_heap_bits == 0 || fh->max_heap_bits > 64 || fh->cur_rows > 64 ||
	    !msi_mul_u64(fh->start_block, fh->width, &fh->sw) || fh->start_block < 32)
		return fh_bad(fh, "doubling table parameters out of range", addr);
	if (fh->max_direct > h->limits.max_header_size) {
		h5_finding(h, "hdf5.limit", where, "fractal heap at 0x%llx: direct blocks of %llu bytes are above the cap",
		           (unsigned long long)addr, (unsigned long long)fh->max_direct);
		return MS_EFORMAT;
	}
	fh->off_size = (fh->max_heap_bits + 7u) / 8u;
	fh->len_size = MSI_MIN((h5_log2(fh->max_direct) + 7u) / 8u, h5_enc_size(fh->max_man));
	fh->max_direct_rows = h5_log2(fh->max_direct) - h5_log2(fh->start_block) + 2;
	if (fh->filter_len)
		fh->huge_direct = fh->id_len >= 1u + h->so + h->sl + 4 + h->sl;
	else
		fh->huge_direct = fh->id_len >= 1u + h->so + h->sl;
	fh->huge_id_size = fh->id_len > 1 ? MSI_MIN(fh->id_len - 1u, 8u) : 0;
	return MS_OK;
}

static void fh_close(h5_fheap *fh)
{
	for (unsigned i = 0; i < FH_CACHE; i++)
		msi_free(fh->cache[i].buf);
}

/* A block of the heap, read once and kept in a small cache. `check`
 * validates a freshly read block (it is not kept when it fails). */
typedef int (*fh_check_fn)(h5_fheap *fh, uint8_t *b, size_t len, uint64_t addr, uint64_t expect_off);

static int fh_block_get(h5_fheap *fh, uint64_t addr, size_t len, uint64_t expect_off, fh_check_fn check,
                        const uint8_t **out)
{
	for (unsigned i = 0; i < FH_CACHE; i++)
		if (fh->cache[i].used && fh->cache[i].addr == addr && fh->cache[i].len == len) {
			*out = fh->cache[i].buf;
			return *out ? MS_OK : MS_EFORMAT;
		}
	uint8_t *b;
	int rc = h5_read_alloc(fh->h, addr, len, "fractal heap block", fh->where, &b);
	if (rc == MS_OK && (rc = check(fh, b, len, addr, expect_off)) != MS_OK) {
		msi_free(b);
		b = NULL;
	}
	if (rc != MS_OK && rc != MS_EFORMAT)
		return rc;
	/* a broken block is remembered too: every object in it would repeat
	 * the same finding and the same checksum over the block */
	fh_block *slot = &fh->cache[fh->next];
	fh->next = (fh->next + 1) % FH_CACHE;
	msi_free(slot->buf);
	slot->addr = addr;
	slot->buf = b;
	slot->len = len;
	slot->used = true;
	*out = b;
	return rc;
}

static int check_block_head(h5_fheap *fh, const uint8_t *b, size_t len, uint64_t addr, uint64_t expect_off,
                            const char *sig)
{
	msi_h5 *h = fh->h;
	if (len < 5 + h->so + fh->off_size + 4u || memcmp(b, sig, 4) != 0 || b[4] != 0)
		return fh_bad(fh, sig[2] == 'D' ? "no FHDB direct block" : "no FHIB indirect block", addr);
	if (h5_addr(h, b + 5) != fh->addr)
		return fh_bad(fh, "a block names another heap", addr);
	if (h5_uint(b + 5 + h->so, fh->off_size) != expect_off)
		return fh_bad(fh, "a block's heap offset differs from its place in the table", addr);
	return MS_OK;
}

static int check_direct(h5_fheap *fh, uint8_t *b, size_t len, uint64_t addr, uint64_t expect_off)
{
	int rc = check_block_head(fh, b, len, addr, expect_off, "FHDB");
	if (rc != MS_OK || !(fh->flags & 2))
		return rc;
	/* the checksum covers the whole block with its own field zeroed */
	size_t at = 5 + fh->h->so + fh->off_size;
	uint32_t stored = msi_le32(b + at);
	memset(b + at, 0, 4);
	uint32_t computed = h5_lookup3(b, len, 0);
	b[at] = (uint8_t)stored;
	b[at + 1] = (uint8_t)(stored >> 8);
	b[at + 2] = (uint8_t)(stored >> 16);
	b[at + 3] = (uint8_t)(stored >> 24);
	if (stored != computed) {
		h5_finding(fh->h, "hdf5.checksum", fh->where,
		           "fractal heap direct block at 0x%llx: stored checksum 0x%08x, computed 0x%08x",
		           (unsigned long long)addr, stored, computed);
		return MS_EFORMAT;
	}
	return MS_OK;
}

static int check_indirect(h5_fheap *fh, uint8_t *b, size_t len, uint64_t addr, uint64_t expect_off)
{
	int rc = check_block_head(fh, b, len, addr, expect_off, "FHIB");
	if (rc != MS_OK)
		return rc;
	return h5_checksum_ok(fh->h, b, len - 4, "fractal heap indirect block", addr, fh->where) ? MS_OK : MS_EFORMAT;
}

static int fh_managed(h5_fheap *fh, uint64_t off, uint64_t len, uint8_t **out)
{
	msi_h5 *h = fh->h;
	if (fh->filter_len) {
		h5_finding(h, "hdf5.unsupported", fh->where, "fractal heap at 0x%llx has filtered (compressed) blocks",
		           (unsigned long long)fh->addr);
		return MS_EFORMAT;
	}
	if (len == 0 || len > fh->max_direct)
		return fh_bad(fh, "a managed object's length is 0 or above the direct block size", fh->addr);
	uint64_t baddr = fh->root, boff = 0, bsize = fh->start_block;
	if (fh->cur_rows) {
		uint64_t iaddr = fh->root, ioff = 0;
		unsigned nrows = fh->cur_rows;
		for (unsigned level = 0;; level++) {
			if (level >= H5_MAX_HEAP_LEVELS || nrows == 0)
				return fh_bad(fh, "indirect blocks nest too deep", iaddr);
			uint64_t rel = off - ioff, row_off, row_size;
			unsigned r;
			if (rel < fh->sw) {
				r = 0;
				row_off = 0;
				row_size = fh->start_block;
			} else {
				r = h5_log2(rel / fh->sw) + 1;
				row_off = fh->sw << (r - 1);
				row_size = fh->start_block << (r - 1);
			}
			uint64_t col = (rel - row_off) / row_size;
			if (r >= nrows)
				return fh_bad(fh, "an object offset lies past the rows of its indirect block", iaddr);
			unsigned ndirect = MSI_MIN(nrows, fh->max_direct_rows), nind = nrows - ndirect;
			size_t head = 5 + h->so + fh->off_size;
			size_t isize = head + ((size_t)ndirect + nind) * fh->width * h->so + 4;
			if (isize > h->limits.max_header_size)
				return fh_bad(fh, "an indirect block is too large", iaddr);
			const uint8_t *ib;
			int rc = fh_block_get(fh, iaddr, isize, ioff, check_indirect, &ib);
			if (rc != MS_OK)
				return rc;
			uint64_t child_off = ioff + row_off + col * row_size;
			if (r < fh->max_direct_rows) {
				baddr = h5_addr(h, ib + head + ((size_t)r * fh->width + col) * h->so);
				boff = child_off;
				bsize = row_size;
				break;
			}
			size_t e = (size_t)ndirect * fh->width + (size_t)(r - fh->max_direct_rows) * fh->width + col;
			iaddr = h5_addr(h, ib + head + e * h->so);
			unsigned child_rows = h5_log2(row_size) + 1 > h5_log2(fh->sw) ?
			                      h5_log2(row_size) - h5_log2(fh->sw) + 1 : 0;
			if (child_rows >= nrows)
				return fh_bad(fh, "an indirect block's child is not smaller than it", iaddr);
			if (iaddr == MSI_H5_UNDEF)
				return fh_bad(fh, "an object lies in a block that was never allocated", iaddr);
			ioff = child_off;
			nrows = child_rows;
		}
	}
	if (baddr == MSI_H5_UNDEF)
		return fh_bad(fh, "an object lies in a block that was never allocated", baddr);
	const uint8_t *db;
	int rc = fh_block_get(fh, baddr, (size_t)bsize, boff, check_direct, &db);
	if (rc != MS_OK)
		return rc;
	uint64_t rel = off - boff;
	size_t head = 5 + h->so + fh->off_size + ((fh->flags & 2) ? 4 : 0);
	if (rel < head || !msi_range_ok(rel, len, bsize))
		return fh_bad(fh, "an object runs outside its direct block", baddr);
	if ((rc = h5_charge(h, len, fh->where)) != MS_OK)
		return rc;
	uint8_t *copy = msi_malloc((size_t)len);
	if (!copy)
		return msi_error(MS_ENOMEM, "out of memory");
	memcpy(copy, db + rel, (size_t)len);
	*out = copy;
	return MS_OK;
}

typedef struct huge_find {
	msi_h5 *h;
	uint64_t id, addr, len;
	bool found;
} huge_find;

static int huge_rec(void *user, const uint8_t *rec, size_t rec_size)
{
	huge_find *f = user;
	msi_h5 *h = f->h;
	if (rec_size < (size_t)h->so + 2 * h->sl)
		return MS_OK;
	if (h5_uint(rec + h->so + h->sl, h->sl) == f->id) {
		f->addr = h5_addr(h, rec);
		f->len = h5_uint(rec + h->so, h->sl);
		f->found = true;
		return 1; /* stop */
	}
	return MS_OK;
}

static int fh_huge(h5_fheap *fh, const uint8_t *id, uint8_t **out, size_t *len)
{
	msi_h5 *h = fh->h;
	if (fh->filter_len) {
		h5_finding(h, "hdf5.unsupported", fh->where, "fractal heap at 0x%llx has filtered huge objects",
		           (unsigned long long)fh->addr);
		return MS_EFORMAT;
	}
	uint64_t addr, size;
	if (fh->huge_direct) {
		addr = h5_addr(h, id + 1);
		size = h5_uint(id + 1 + h->so, h->sl);
	} else {
		huge_find f = { .h = h, .id = h5_uint(id + 1, fh->huge_id_size) };
		int rc = bt2_iterate(h, fh->huge_btree, 1, fh->where, huge_rec, &f, NULL);
		if (rc < 0)
			return rc;
		if (!f.found)
			return fh_bad(fh, "a huge object ID is not in the heap's index", fh->huge_btree);
		addr = f.addr;
		size = f.len;
	}
	if (size > h->limits.max_metadata) {
		h5_finding(h, "hdf5.limit", fh->where, "a fractal heap object of %llu bytes is above the metadata cap",
		           (unsigned long long)size);
		return MS_EFORMAT;
	}
	*len = (size_t)size;
	return h5_read_alloc(h, addr, (size_t)size, "fractal heap huge object", fh->where, out);
}

/* The object a heap ID names, as a fresh allocation. */
static int fh_get(h5_fheap *fh, const uint8_t *id, size_t id_len, uint8_t **out, size_t *len)
{
	*out = NULL;
	if (id_len != fh->id_len || id_len < 2)
		return fh_bad(fh, "a heap ID's length differs from the heap's", fh->addr);
	if (id[0] & 0xC0)
		return fh_bad(fh, "a heap ID has an unknown version", fh->addr);
	switch ((id[0] >> 4) & 3) {
	case 0: {
		if (id_len < 1u + fh->off_size + fh->len_size)
			return fh_bad(fh, "heap IDs are too short for managed objects", fh->addr);
		uint64_t off = h5_uint(id + 1, fh->off_size), n = h5_uint(id + 1 + fh->off_size, fh->len_size);
		*len = (size_t)n;
		return fh_managed(fh, off, n, out);
	}
	case 1:
		if (id_len < 1u + (fh->huge_direct ? fh->h->so + fh->h->sl : fh->huge_id_size))
			return fh_bad(fh, "heap IDs are too short for huge objects", fh->addr);
		return fh_huge(fh, id, out, len);
	case 2: {
		/* tiny: the object is in the ID itself */
		bool extended = id_len > 17;
		size_t n = extended ? ((size_t)(id[0] & 0x0F) << 8 | id[1]) + 1 : (size_t)(id[0] & 0x0F) + 1;
		size_t at = extended ? 2 : 1;
		if (n > id_len - at)
			return fh_bad(fh, "a tiny object is longer than its ID", fh->addr);
		uint8_t *copy = msi_malloc(n);
		if (!copy)
			return msi_error(MS_ENOMEM, "out of memory");
		memcpy(copy, id + at, n);
		*out = copy;
		*len = n;
		return MS_OK;
	}
	default:
		return fh_bad(fh, "a heap ID has an unknown type", fh->addr);
	}
}

/* ---- dense links ---- */

typedef struct dense_ctx {
	msi_h5 *h;
	h5_fheap *fh;
	const char *where;
	h5_links *l;
	h5_dense_attr *attrs;
	size_t nattrs, cap;
	uint64_t bytes;
} dense_ctx;

static int link_rec(void *user, const uint8_t *rec, size_t rec_size)
{
	dense_ctx *d = user;
	if (rec_size != 4u + d->fh->id_len)
		return fh_bad(d->fh, "name index records do not hold the heap's IDs", d->fh->addr);
	uint8_t *buf;
	size_t len;
	int rc = fh_get(d->fh, rec + 4, rec_size - 4, &buf, &len);
	if (rc != MS_OK)
		return rc == MS_EFORMAT ? MS_OK : rc;
	d->l->bytes = msi_sat_add_u64(d->l->bytes, len);
	if (d->l->bytes > d->h->limits.max_metadata) {
		msi_free(buf);
		h5_finding(d->h, "hdf5.limit", d->where, "the group's links exceed %llu bytes; the rest are not read",
		           (unsigned long long)d->h->limits.max_metadata);
		return MS_ELIMIT;
	}
	if (!h5_links_keep(d->l, buf))
		return msi_error(MS_ENOMEM, "out of memory");
	rc = h5_link_decode(d->h, buf, len, d->where, d->l);
	return rc == MS_EFORMAT ? MS_OK : rc;
}

int h5_dense_links(msi_h5 *h, const h5_msg *linfo, const char *where, h5_links *l)
{
	msi_cursor c = msi_cursor_make(linfo->data, linfo->size);
	uint8_t version = msi_cursor_u8(&c), flags = msi_cursor_u8(&c);
	if (flags & 1)
		msi_cursor_skip(&c, 8); /* maximum creation index */
	uint64_t heap = h5_cursor_addr(h, &c), names = h5_cursor_addr(h, &c);
	if (c.failed || version != 0) {
		h5_finding(h, "hdf5.group.invalid", where, "link info message: version %u, %u bytes", version,
		           (unsigned)linfo->size);
		return MS_EFORMAT;
	}
	if (heap == MSI_H5_UNDEF)
		return MS_OK; /* compact: the links are messages of the header */
	h5_fheap fh;
	int rc = fh_open(h, heap, where, &fh);
	if (rc == MS_OK) {
		dense_ctx d = { .h = h, .fh = &fh, .where = where, .l = l };
		rc = bt2_iterate(h, names, 5, where, link_rec, &d, NULL);
	}
	fh_close(&fh);
	return rc;
}

/* ---- dense attributes ---- */

static int attr_rec(void *user, const uint8_t *rec, size_t rec_size)
{
	dense_ctx *d = user;
	msi_h5 *h = d->h;
	if (rec_size != 9u + d->fh->id_len)
		return fh_bad(d->fh, "name index records do not hold the heap's IDs", d->fh->addr);
	uint8_t mflags = rec[d->fh->id_len];
	if (mflags & H5_MSGFLAG_SHARED) {
		h5_finding(h, "hdf5.unsupported", d->where, "an attribute kept in the shared message heap is not read");
		return MS_OK;
	}
	uint8_t *buf;
	size_t len;
	int rc = fh_get(d->fh, rec, d->fh->id_len, &buf, &len);
	if (rc != MS_OK)
		return rc == MS_EFORMAT ? MS_OK : rc;
	d->bytes = msi_sat_add_u64(d->bytes, len);
	if (d->bytes > h->limits.max_metadata) {
		msi_free(buf);
		h5_finding(h, "hdf5.limit", d->where, "the attributes exceed %llu bytes; the rest are not read",
		           (unsigned long long)h->limits.max_metadata);
		return MS_ELIMIT;
	}
	msi_h5_attr a;
	if (h5_attr_decode(h, buf, len, d->where, &a) != MS_OK) {
		msi_free(buf);
		return MS_OK;
	}
	h5_dense_attr *attrs = msi_grow(d->attrs, &d->cap, d->nattrs, sizeof *attrs, 16);
	if (!attrs) {
		msi_free(buf);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	d->attrs = attrs;
	d->attrs[d->nattrs].buf = buf;
	d->attrs[d->nattrs].a = a;
	d->nattrs++;
	return MS_OK;
}

static int attr_cmp(const void *a, const void *b)
{
	const msi_h5_attr *x = &((const h5_dense_attr *)a)->a, *y = &((const h5_dense_attr *)b)->a;
	int c = memcmp(x->name, y->name, MSI_MIN(x->name_len, y->name_len));
	if (c)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

int h5_dense_attrs(msi_h5 *h, const h5_msg *ainfo, const char *where, h5_dense_attr **out, size_t *count)
{
	*out = NULL;
	*count = 0;
	msi_cursor c = msi_cursor_make(ainfo->data, ainfo->size);
	uint8_t version = msi_cursor_u8(&c), flags = msi_cursor_u8(&c);
	if (flags & 1)
		msi_cursor_skip(&c, 2); /* maximum creation index */
	uint64_t heap = h5_cursor_addr(h, &c), names = h5_cursor_addr(h, &c);
	if (c.failed || version != 0) {
		h5_finding(h, "hdf5.attribute.invalid", where, "attribute info message: version %u, %u bytes", version,
		           (unsigned)ainfo->size);
		return MS_EFORMAT;
	}
	if (heap == MSI_H5_UNDEF)
		return MS_OK; /* every attribute is a message of the header */
	h5_fheap fh;
	int rc = fh_open(h, heap, where, &fh);
	dense_ctx d = { .h = h, .fh = &fh, .where = where };
	if (rc == MS_OK)
		rc = bt2_iterate(h, names, 8, where, attr_rec, &d, NULL);
	fh_close(&fh);
	if (d.nattrs > 1)
		qsort(d.attrs, d.nattrs, sizeof *d.attrs, attr_cmp);
	*out = d.attrs;
	*count = d.nattrs;
	return rc;
}
