/*
 * Groups: the links of a group, whichever way it stores them (a symbol
 * table: v1 B-tree of SNOD nodes naming a local heap; link messages in the
 * header; a link-info message pointing at dense storage, h5_dense.c), then
 * path lookup and the depth-first walk h5py's visititems does.
 *
 * Every list is sorted by name before use: h5py lists links in name order,
 * and a hostile B-tree may not be sorted. Names holding '/' or empty are
 * findings and are dropped (HDF5 could never resolve them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5_int.h"

/* ---- link lists ---- */

bool h5_links_keep(h5_links *l, uint8_t *buf)
{
	uint8_t **bufs = msi_grow(l->bufs, &l->bufcap, l->nbufs, sizeof *bufs, 4);
	if (!bufs) {
		msi_free(buf);
		l->oom = true;
		return false;
	}
	l->bufs = bufs;
	l->bufs[l->nbufs++] = buf;
	return true;
}

void h5_links_free(h5_links *l)
{
	for (size_t i = 0; i < l->count; i++)
		msi_free(l->items[i].ext);
	for (size_t i = 0; i < l->nbufs; i++)
		msi_free(l->bufs[i]);
	msi_free(l->items);
	msi_free(l->bufs);
	memset(l, 0, sizeof *l);
}

static int links_add(msi_h5 *h, h5_links *l, const char *where, const char *name, size_t len, msi_h5_link_type type,
                     uint64_t target, char *ext)
{
	if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len)) {
		h5_finding(h, "hdf5.link.invalid", where, "link name '%.*s' (%zu bytes) is empty or holds '/' or NUL",
		           (int)MSI_MIN(len, 200), name, len);
		msi_free(ext);
		return MS_EFORMAT;
	}
	if (l->count >= H5_MAX_LINKS) {
		msi_free(ext);
		h5_finding(h, "hdf5.limit", where, "the group has more than %u links; the rest are not read", H5_MAX_LINKS);
		return MS_ELIMIT;
	}
	h5_link *items = msi_grow(l->items, &l->cap, l->count, sizeof *items, 16);
	if (!items) {
		msi_free(ext);
		l->oom = true;
		return msi_error(MS_ENOMEM, "out of memory");
	}
	l->items = items;
	h5_link *k = &l->items[l->count++];
	k->name = name;
	k->name_len = len;
	k->type = type;
	k->target = target;
	k->ext = ext;
	return MS_OK;
}

int h5_link_decode(msi_h5 *h, const uint8_t *p, size_t n, const char *where, h5_links *l)
{
	msi_cursor c = msi_cursor_make(p, n);
	uint8_t version = msi_cursor_u8(&c), flags = msi_cursor_u8(&c);
	if (c.failed || version != 1 || (flags & 0xE0)) {
		h5_finding(h, "hdf5.link.invalid", where, "link message: version %u, flags 0x%02x (version 1 is known)",
		           version, flags);
		return MS_EFORMAT;
	}
	uint8_t type = (flags & 0x08) ? msi_cursor_u8(&c) : 0;
	if (flags & 0x04)
		msi_cursor_skip(&c, 8); /* creation order */
	if (flags & 0x10)
		msi_cursor_skip(&c, 1); /* name charset */
	unsigned width = 1u << (flags & 3);
	const uint8_t *lp = msi_cursor_bytes(&c, width);
	uint64_t name_len = lp ? h5_uint(lp, width) : 0;
	const char *name = name_len <= msi_cursor_left(&c) ? (const char *)msi_cursor_bytes(&c, (size_t)name_len) : NULL;
	if (c.failed || !name) {
		h5_finding(h, "hdf5.link.invalid", where, "link message of %zu bytes: its name runs past the end", n);
		return MS_EFORMAT;
	}
	char lw[300];
	snprintf(lw, sizeof lw, "%s: link '%.*s'", where, (int)MSI_MIN(name_len, 200), name);
	if (type == 0) {
		uint64_t target = h5_cursor_addr(h, &c);
		if (c.failed) {
			h5_finding(h, "hdf5.link.invalid", lw, "hard link message is too short for its address");
			return MS_EFORMAT;
		}
		return links_add(h, l, where, name, (size_t)name_len, MSI_H5_LINK_HARD, target, NULL);
	}
	uint16_t vlen = msi_cursor_le16(&c);
	const uint8_t *v = msi_cursor_bytes(&c, vlen);
	if (!v) {
		h5_finding(h, "hdf5.link.invalid", lw, "the link value (%u bytes) runs past the message", vlen);
		return MS_EFORMAT;
	}
	if (type == 1)
		return links_add(h, l, where, name, (size_t)name_len, MSI_H5_LINK_SOFT, MSI_H5_UNDEF, NULL);
	if (type == 64) {
		/* flags byte, then "file\0object\0" */
		const uint8_t *file = vlen ? v + 1 : v;
		size_t rest = vlen ? vlen - 1u : 0;
		const uint8_t *nul = rest ? memchr(file, 0, rest) : NULL;
		if (!nul) {
			h5_finding(h, "hdf5.link.invalid", lw, "external link value is not 'file\\0path\\0'");
			return MS_EFORMAT;
		}
		size_t fl = (size_t)(nul - file);
		const uint8_t *obj = nul + 1;
		size_t ol = rest - fl - 1;
		const uint8_t *onul = ol ? memchr(obj, 0, ol) : NULL;
		if (onul)
			ol = (size_t)(onul - obj);
		char buf[600];
		snprintf(buf, sizeof buf, "%.*s:%.*s", (int)MSI_MIN(fl, 280), (const char *)file, (int)MSI_MIN(ol, 280),
		         (const char *)obj);
		char *ext = msi_strdup(buf);
		if (!ext)
			return msi_error(MS_ENOMEM, "out of memory");
		return links_add(h, l, where, name, (size_t)name_len, MSI_H5_LINK_EXTERNAL, MSI_H5_UNDEF, ext);
	}
	h5_finding(h, "hdf5.unsupported", lw, "user-defined link type %u is not followed", type);
	return MS_OK;
}

/* ---- symbol tables ---- */

typedef struct st_ctx {
	msi_h5 *h;
	const char *where;
	h5_links *l;
	const uint8_t *heap; /* the local heap's data segment */
	uint64_t heap_size;
	h5_addrset nodes;
	size_t nnodes;
} st_ctx;

static int load_local_heap(msi_h5 *h, uint64_t addr, const char *where, uint8_t **data, uint64_t *size)
{
	uint8_t b[32 + 8];
	size_t n = 8 + 2 * (size_t)h->sl + h->so;
	int rc = h5_read(h, addr, b, n, "local heap", where);
	if (rc != MS_OK)
		return rc;
	if (memcmp(b, "HEAP", 4) != 0 || b[4] != 0) {
		h5_finding(h, "hdf5.group.invalid", where, "no local heap (HEAP version 0) at 0x%llx", (unsigned long long)addr);
		return MS_EFORMAT;
	}
	uint64_t dsize = h5_uint(b + 8, h->sl);
	uint64_t daddr = h5_addr(h, b + 8 + 2 * h->sl);
	if (dsize > h->limits.max_header_size) {
		h5_finding(h, "hdf5.limit", where, "local heap at 0x%llx: %llu bytes of names is above the %llu-byte cap",
		           (unsigned long long)addr, (unsigned long long)dsize,
		           (unsigned long long)h->limits.max_header_size);
		return MS_EFORMAT;
	}
	*size = dsize;
	return h5_read_alloc(h, daddr, (size_t)dsize, "local heap data", where, data);
}

static int snod_read(st_ctx *s, uint64_t addr)
{
	msi_h5 *h = s->h;
	size_t esize = (size_t)h->sl + h->so + 24; /* name offset (a length), header address, cache */
	uint8_t hdr[8];
	int rc = h5_read(h, addr, hdr, 8, "symbol table node", s->where);
	if (rc != MS_OK)
		return rc;
	uint16_t count = msi_le16(hdr + 6);
	if (memcmp(hdr, "SNOD", 4) != 0 || hdr[4] != 1 || count > 2 * (unsigned)h->leaf_k) {
		h5_finding(h, "hdf5.group.invalid", s->where,
		           "no symbol table node (SNOD version 1, at most %u entries) at 0x%llx", 2 * (unsigned)h->leaf_k,
		           (unsigned long long)addr);
		return MS_EFORMAT;
	}
	uint8_t *b;
	if ((rc = h5_read_alloc(h, addr + 8, count * esize, "symbol table node", s->where, &b)) != MS_OK)
		return rc;
	for (unsigned i = 0; i < count && rc != MS_ENOMEM && rc != MS_ELIMIT; i++) {
		const uint8_t *e = b + i * esize;
		uint64_t off = h5_uint(e, h->sl), target = h5_addr(h, e + h->sl);
		uint32_t cache = msi_le32(e + h->sl + h->so);
		const uint8_t *nul = off < s->heap_size ? memchr(s->heap + off, 0, (size_t)(s->heap_size - off)) : NULL;
		if (!nul) {
			h5_finding(h, "hdf5.group.invalid", s->where,
			           "symbol table entry %u at 0x%llx: name offset %llu is not a NUL-terminated name in the %llu-byte local heap",
			           i, (unsigned long long)addr, (unsigned long long)off, (unsigned long long)s->heap_size);
			continue;
		}
		const char *name = (const char *)s->heap + off;
		rc = links_add(h, s->l, s->where, name, (size_t)((const uint8_t *)nul - s->heap - off),
		               cache == 2 ? MSI_H5_LINK_SOFT : MSI_H5_LINK_HARD, cache == 2 ? MSI_H5_UNDEF : target, NULL);
	}
	msi_free(b);
	return rc == MS_EFORMAT ? MS_OK : rc;
}

static int bt1_group(st_ctx *s, uint64_t addr, int level, unsigned depth)
{
	msi_h5 *h = s->h;
	bool oom = false;
	if (!h5_addrset_add(&s->nodes, addr, &oom)) {
		if (oom)
			return msi_error(MS_ENOMEM, "out of memory");
		h5_finding(h, "hdf5.loop", s->where, "the group's B-tree reaches the node at 0x%llx twice",
		           (unsigned long long)addr);
		return MS_EFORMAT;
	}
	if (++s->nnodes > H5_MAX_BTREE_NODES) {
		h5_finding(h, "hdf5.limit", s->where, "the group's B-tree has more than %u nodes", H5_MAX_BTREE_NODES);
		return MS_ELIMIT;
	}
	if (level == 0 && depth > 0)
		return snod_read(s, addr);
	size_t hsize = 8 + 2 * (size_t)h->so;
	uint8_t hdr[24];
	int rc = h5_read(h, addr, hdr, hsize, "group B-tree node", s->where);
	if (rc != MS_OK)
		return rc;
	uint8_t node_level = hdr[5];
	uint16_t entries = msi_le16(hdr + 6);
	if (memcmp(hdr, "TREE", 4) != 0 || hdr[4] != 0) {
		h5_finding(h, "hdf5.btree.invalid", s->where, "no group B-tree node (TREE of type 0) at 0x%llx",
		           (unsigned long long)addr);
		return MS_EFORMAT;
	}
	if ((depth > 0 && node_level != level - 1) || node_level >= H5_MAX_BTREE_DEPTH ||
	    entries > 2 * (unsigned)h->node_k) {
		h5_finding(h, "hdf5.btree.invalid", s->where,
		           "group B-tree node at 0x%llx: level %u (expected %d), %u entries (at most %u)",
		           (unsigned long long)addr, node_level, depth > 0 ? level - 1 : node_level, entries,
		           2 * (unsigned)h->node_k);
		return MS_EFORMAT;
	}
	size_t n = ((size_t)entries + 1) * h->sl + (size_t)entries * h->so;
	uint8_t *b;
	if ((rc = h5_read_alloc(h, addr + hsize, n, "group B-tree node", s->where, &b)) != MS_OK)
		return rc;
	for (unsigned i = 0; i < entries; i++) {
		uint64_t child = h5_addr(h, b + (size_t)(i + 1) * h->sl + (size_t)i * h->so);
		/* a level 0 node's children are symbol table nodes, also guarded */
		rc = bt1_group(s, child, node_level, depth + 1);
		if (rc != MS_OK && rc != MS_EFORMAT)
			break;
		rc = MS_OK;
	}
	msi_free(b);
	return rc;
}

static int symbol_table_links(msi_h5 *h, const h5_msg *m, const char *where, h5_links *l)
{
	msi_cursor c = msi_cursor_make(m->data, m->size);
	uint64_t btree = h5_cursor_addr(h, &c), heap = h5_cursor_addr(h, &c);
	if (c.failed) {
		h5_finding(h, "hdf5.group.invalid", where, "symbol table message is %u bytes, too short", (unsigned)m->size);
		return MS_EFORMAT;
	}
	uint8_t *data = NULL;
	uint64_t size = 0;
	int rc = load_local_heap(h, heap, where, &data, &size);
	if (rc != MS_OK)
		return rc;
	if (!h5_links_keep(l, data))
		return msi_error(MS_ENOMEM, "out of memory");
	st_ctx s = { .h = h, .where = where, .l = l, .heap = data, .heap_size = size };
	rc = bt1_group(&s, btree, 0, 0);
	h5_addrset_free(&s.nodes);
	return rc;
}

/* ---- every link of a group ---- */

static int link_cmp(const void *a, const void *b)
{
	const h5_link *x = a, *y = b;
	size_t n = MSI_MIN(x->name_len, y->name_len);
	int c = memcmp(x->name, y->name, n);
	if (c)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

int h5_group_collect(msi_h5 *h, const msi_h5_obj *o, h5_links *l)
{
	int rc = MS_OK;
	for (size_t i = 0; i < o->nmsgs && (rc == MS_OK || rc == MS_EFORMAT); i++) {
		const h5_msg *m = &o->msgs[i];
		if (m->type == H5_MSG_SYMBOL_TABLE)
			rc = symbol_table_links(h, m, o->where, l);
		else if (m->type == H5_MSG_LINK)
			rc = h5_link_decode(h, m->data, m->size, o->where, l);
		else if (m->type == H5_MSG_LINK_INFO)
			rc = h5_dense_links(h, m, o->where, l);
	}
	if (l->oom)
		rc = MS_ENOMEM;
	if (l->count > 1)
		qsort(l->items, l->count, sizeof *l->items, link_cmp);
	return rc;
}

int msi_h5_group_links(msi_h5 *h, const msi_h5_obj *group, msi_h5_link_fn fn, void *user)
{
	h5_links l = { 0 };
	int rc = h5_group_collect(h, group, &l);
	if (rc == MS_EFORMAT || rc == MS_ELIMIT)
		rc = MS_OK; /* findings made; the links read still count */
	for (size_t i = 0; rc == MS_OK && i < l.count; i++)
		rc = fn(user, l.items[i].name, l.items[i].name_len, l.items[i].type, l.items[i].target);
	h5_links_free(&l);
	return rc;
}

/* ---- lookup ---- */

int msi_h5_lookup(msi_h5 *h, uint64_t from, const char *path, size_t path_len, uint64_t *addr)
{
	uint64_t cur = from;
	size_t i = 0;
	unsigned hops = 0;
	while (i < path_len) {
		while (i < path_len && path[i] == '/')
			i++;
		size_t start = i;
		while (i < path_len && path[i] != '/')
			i++;
		if (i == start)
			break;
		if (++hops > h->limits.max_depth * 4u + 64) {
			h5_finding(h, "hdf5.limit", "", "the path '%.*s' has too many components", (int)MSI_MIN(path_len, 200),
			           path);
			return MS_ELIMIT;
		}
		if (i - start == 1 && path[start] == '.')
			continue;
		msi_h5_obj *o;
		int rc = msi_h5_obj_load(h, cur, NULL, &o);
		if (rc != MS_OK)
			return rc;
		if (!msi_h5_obj_is_group(o)) {
			msi_h5_obj_free(o);
			return 1;
		}
		h5_links l = { 0 };
		rc = h5_group_collect(h, o, &l);
		if (rc == MS_EFORMAT || rc == MS_ELIMIT)
			rc = MS_OK;
		h5_link key = { .name = path + start, .name_len = i - start };
		const h5_link *hit = rc == MS_OK && l.count ? bsearch(&key, l.items, l.count, sizeof *l.items, link_cmp)
		                                            : NULL;
		bool found = hit && hit->type == MSI_H5_LINK_HARD && hit->target != MSI_H5_UNDEF;
		if (found)
			cur = hit->target;
		h5_links_free(&l);
		msi_h5_obj_free(o);
		if (rc != MS_OK)
			return rc;
		if (!found)
			return 1;
	}
	*addr = cur;
	return MS_OK;
}

/* ---- walk ---- */

typedef struct walk_ctx {
	msi_h5 *h;
	msi_h5_visit_fn fn;
	void *user;
	h5_addrset visited;
	msi_buf path;      /* "/a/b": the callback gets it without the '/' */
	uint64_t count;
	bool stop;         /* the object cap was reached */
} walk_ctx;

static int walk_group(walk_ctx *w, const msi_h5_obj *g, unsigned depth);

static int visit_link(walk_ctx *w, const h5_link *k, unsigned depth)
{
	msi_h5 *h = w->h;
	const char *where = w->path.data;
	if (k->type == MSI_H5_LINK_EXTERNAL) {
		h5_finding(h, "hdf5.link.external", where, "external link to '%s' (file:object); it is not followed",
		           k->ext ? k->ext : "?");
		return MS_OK;
	}
	if (k->type != MSI_H5_LINK_HARD)
		return MS_OK; /* soft links are names, not objects */
	if (k->target == MSI_H5_UNDEF) {
		h5_finding(h, "hdf5.link.invalid", where, "hard link to the undefined address");
		return MS_OK;
	}
	bool oom = false;
	if (!h5_addrset_add(&w->visited, k->target, &oom))
		return oom ? msi_error(MS_ENOMEM, "out of memory") : MS_OK; /* seen: h5py lists an object once */
	if (w->count >= h->limits.max_members) {
		h5_finding(h, "hdf5.limit", where, "more than %llu objects; the rest are not listed",
		           (unsigned long long)h->limits.max_members);
		w->stop = true;
		return MS_OK;
	}
	w->count++;
	msi_h5_obj *o;
	int rc = msi_h5_obj_load(h, k->target, where, &o);
	if (rc == MS_EFORMAT || rc == MS_ELIMIT)
		return MS_OK;
	if (rc != MS_OK)
		return rc;
	rc = w->fn(w->user, h, w->path.data + 1, w->path.len - 1, o);
	if (rc == 0 && msi_h5_obj_is_group(o)) {
		if (depth + 1 > h->limits.max_depth) {
			h5_links l = { 0 };
			int crc = h5_group_collect(h, o, &l);
			if (l.count)
				h5_finding(h, "hdf5.limit", where, "groups nested deeper than %u levels are not read",
				           (unsigned)h->limits.max_depth);
			h5_links_free(&l);
			if (crc == MS_ENOMEM || crc == MS_EIO || crc == MS_ECHANGED)
				rc = crc;
		} else {
			rc = walk_group(w, o, depth + 1);
		}
	}
	msi_h5_obj_free(o);
	return rc;
}

static int walk_group(walk_ctx *w, const msi_h5_obj *g, unsigned depth)
{
	h5_links l = { 0 };
	int rc = h5_group_collect(w->h, g, &l);
	if (rc == MS_EFORMAT || rc == MS_ELIMIT)
		rc = MS_OK;
	size_t base = w->path.len;
	for (size_t i = 0; rc == MS_OK && !w->stop && i < l.count; i++) {
		w->path.len = base;
		if (base > 1)
			msi_buf_putc(&w->path, '/');
		msi_buf_append(&w->path, l.items[i].name, l.items[i].name_len);
		msi_buf_putc(&w->path, '\0');
		w->path.len--;
		if (w->path.failed) {
			rc = msi_error(MS_ENOMEM, "out of memory");
			break;
		}
		rc = visit_link(w, &l.items[i], depth);
	}
	w->path.len = base;
	if (w->path.data)
		w->path.data[base] = '\0';
	h5_links_free(&l);
	return rc;
}

int h5_walk_obj(msi_h5 *h, const msi_h5_obj *start, msi_h5_visit_fn fn, void *user)
{
	if (!msi_h5_obj_is_group(start))
		return MS_OK;
	walk_ctx w = { .h = h, .fn = fn, .user = user };
	bool oom = false;
	h5_addrset_add(&w.visited, start->addr, &oom);
	msi_buf_putc(&w.path, '/');
	msi_buf_putc(&w.path, '\0');
	w.path.len = 1;
	int rc = oom || w.path.failed ? msi_error(MS_ENOMEM, "out of memory") : walk_group(&w, start, 1);
	h5_addrset_free(&w.visited);
	msi_buf_free(&w.path);
	return rc == MS_EFORMAT ? MS_OK : rc;
}

int msi_h5_walk(msi_h5 *h, uint64_t start, msi_h5_visit_fn fn, void *user)
{
	msi_h5_obj *g;
	int rc = msi_h5_obj_load(h, start, start == h->root ? "/" : NULL, &g);
	if (rc != MS_OK)
		return rc == MS_EFORMAT ? MS_OK : rc;
	rc = h5_walk_obj(h, g, fn, user);
	msi_h5_obj_free(g);
	return rc;
}
