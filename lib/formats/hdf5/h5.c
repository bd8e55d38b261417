/*
 * The HDF5 reader's base: bounded reads that turn bad addresses into
 * findings, the superblock, and object headers with their continuation
 * blocks (FORMATS.md §6.3). Messages are decoded in h5_msg.c, values and
 * the global heap in h5_value.c, groups in h5_group.c, dense storage in
 * h5_dense.c.
 */
#include <stdio.h>
#include <string.h>

#include "h5_int.h"

static const uint8_t h5_signature[8] = { 0x89, 'H', 'D', 'F', 0x0D, 0x0A, 0x1A, 0x0A };

/* ---- findings ---- */

void h5_finding(msi_h5 *h, const char *code, const char *where, const char *fmt, ...)
{
	if (!h->errors) {
		const msi_code_info *ci = msi_code_lookup(code);
		h->errors = !ci || ci->severity != MS_SEVERITY_INFO;
	}
	if (!h->r)
		return;
	/* a hostile file can repeat one defect a million times: the first few
	 * hundred say all there is to say, and formatting the rest costs time.
	 * Caps that were reached are always said (each is reported once or a
	 * few times), so that a truncated reading never looks complete. */
	bool limit = strcmp(code, "hdf5.limit") == 0;
	if (limit && h->nlimits < H5_MAX_LIMIT_FINDINGS) {
		h->nlimits++;
	} else if (h->nfindings >= H5_MAX_FINDINGS) {
		if (h->nfindings++ == H5_MAX_FINDINGS)
			msi_report_add(h->r, "hdf5.limit", "", "more than %u HDF5 findings; the rest are not listed",
			               H5_MAX_FINDINGS);
		return;
	} else {
		h->nfindings++;
	}
	va_list ap;
	va_start(ap, fmt);
	msi_report_addv(h->r, code, where ? where : "", fmt, ap);
	va_end(ap);
}

bool msi_h5_had_errors(const msi_h5 *h)
{
	return h->errors;
}

/* ---- small helpers ---- */

uint64_t h5_uint(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint64_t h5_addr(const msi_h5 *h, const uint8_t *p)
{
	uint64_t v = h5_uint(p, h->so);
	uint64_t ones = h->so >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * h->so)) - 1;
	return v == ones ? MSI_H5_UNDEF : v;
}

uint64_t h5_cursor_addr(const msi_h5 *h, msi_cursor *c)
{
	const uint8_t *p = msi_cursor_bytes(c, h->so);
	return p ? h5_addr(h, p) : MSI_H5_UNDEF;
}

uint64_t h5_cursor_len(const msi_h5 *h, msi_cursor *c)
{
	const uint8_t *p = msi_cursor_bytes(c, h->sl);
	return p ? h5_uint(p, h->sl) : 0;
}

unsigned h5_log2(uint64_t v)
{
	return v ? 63u - (unsigned)__builtin_clzll(v) : 0;
}

unsigned h5_enc_size(uint64_t v)
{
	return h5_log2(v) / 8 + 1;
}

/* Bob Jenkins' lookup3 hashlittle, byte by byte as HDF5's H5checksum.c
 * computes it (the metadata checksum of every v2 structure). */
#define ROT(x, k) (((x) << (k)) ^ ((x) >> (32 - (k))))
uint32_t h5_lookup3(const void *key, size_t length, uint32_t initval)
{
	const uint8_t *k = key;
	uint32_t a, b, c;
	a = b = c = 0xdeadbeefu + (uint32_t)length + initval;
	while (length > 12) {
		a += k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 24;
		b += k[4] | (uint32_t)k[5] << 8 | (uint32_t)k[6] << 16 | (uint32_t)k[7] << 24;
		c += k[8] | (uint32_t)k[9] << 8 | (uint32_t)k[10] << 16 | (uint32_t)k[11] << 24;
		a -= c; a ^= ROT(c, 4); c += b;
		b -= a; b ^= ROT(a, 6); a += c;
		c -= b; c ^= ROT(b, 8); b += a;
		a -= c; a ^= ROT(c, 16); c += b;
		b -= a; b ^= ROT(a, 19); a += c;
		c -= b; c ^= ROT(b, 4); b += a;
		length -= 12;
		k += 12;
	}
	switch (length) {
	case 12: c += (uint32_t)k[11] << 24; /* fall through */
	case 11: c += (uint32_t)k[10] << 16; /* fall through */
	case 10: c += (uint32_t)k[9] << 8; /* fall through */
	case 9: c += k[8]; /* fall through */
	case 8: b += (uint32_t)k[7] << 24; /* fall through */
	case 7: b += (uint32_t)k[6] << 16; /* fall through */
	case 6: b += (uint32_t)k[5] << 8; /* fall through */
	case 5: b += k[4]; /* fall through */
	case 4: a += (uint32_t)k[3] << 24; /* fall through */
	case 3: a += (uint32_t)k[2] << 16; /* fall through */
	case 2: a += (uint32_t)k[1] << 8; /* fall through */
	case 1: a += k[0]; break;
	case 0: return c;
	}
	c ^= b; c -= ROT(b, 14);
	a ^= c; a -= ROT(c, 11);
	b ^= a; b -= ROT(a, 25);
	c ^= b; c -= ROT(b, 16);
	a ^= c; a -= ROT(c, 4);
	b ^= a; b -= ROT(a, 14);
	c ^= b; c -= ROT(b, 24);
	return c;
}
#undef ROT

bool h5_checksum_ok(msi_h5 *h, const uint8_t *p, size_t n, const char *what, uint64_t addr, const char *where)
{
	uint32_t stored = msi_le32(p + n), computed = h5_lookup3(p, n, 0);
	if (stored == computed)
		return true;
	h5_finding(h, "hdf5.checksum", where, "%s at 0x%llx: stored checksum 0x%08x, computed 0x%08x", what,
	           (unsigned long long)addr, stored, computed);
	return false;
}

/* ---- address sets ---- */

bool h5_addrset_add(h5_addrset *s, uint64_t addr, bool *oom)
{
	uint64_t key = addr + 1; /* 0 marks an empty slot; UINT64_MAX+1 wraps to 0 */
	if (key == 0)
		key = UINT64_MAX;
	if (s->count * 2 >= s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		uint64_t *slots = msi_calloc(ncap, sizeof *slots);
		if (!slots) {
			*oom = true;
			return false;
		}
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slots[i])
				continue;
			size_t j = (size_t)((s->slots[i] * 0x9E3779B97F4A7C15ull) >> 20) & (ncap - 1);
			while (slots[j])
				j = (j + 1) & (ncap - 1);
			slots[j] = s->slots[i];
		}
		msi_free(s->slots);
		s->slots = slots;
		s->cap = ncap;
	}
	size_t j = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (s->cap - 1);
	while (s->slots[j]) {
		if (s->slots[j] == key)
			return false;
		j = (j + 1) & (s->cap - 1);
	}
	s->slots[j] = key;
	s->count++;
	return true;
}

void h5_addrset_free(h5_addrset *s)
{
	msi_free(s->slots);
	s->slots = NULL;
	s->cap = s->count = 0;
}

/* ---- reads ---- */

int h5_range(msi_h5 *h, uint64_t addr, uint64_t len, const char *what, const char *where)
{
	if (addr == MSI_H5_UNDEF) {
		h5_finding(h, "hdf5.address.invalid", where, "%s is at the undefined address", what);
		return MS_EFORMAT;
	}
	if (!msi_range_ok(addr, len, h->eoa)) {
		h5_finding(h, "hdf5.address.invalid", where,
		           "%s at 0x%llx (%llu bytes) lies past the end-of-file address 0x%llx", what,
		           (unsigned long long)addr, (unsigned long long)len, (unsigned long long)h->eoa);
		return MS_EFORMAT;
	}
	if (!msi_range_ok(addr, len, h->avail)) {
		h5_finding(h, "hdf5.truncated", where, "%s at 0x%llx (%llu bytes) lies past the end of the file (%llu bytes)",
		           what, (unsigned long long)addr, (unsigned long long)len, (unsigned long long)h->avail);
		return MS_EFORMAT;
	}
	return MS_OK;
}

/* Structures that overlap (a thousand object headers or B-tree nodes on
 * the same bytes, heap IDs that all name one big object) could make a small
 * file cost terabytes of reads and copies; real files read each metadata
 * byte a few times at most. Every read and every copy out of a cached
 * block is charged here. */
int h5_charge(msi_h5 *h, uint64_t n, const char *where)
{
	h->read_total = msi_sat_add_u64(h->read_total, n);
	if (h->read_total <= h->read_budget)
		return MS_OK;
	if (!h->budget_reported)
		h5_finding(h, "hdf5.limit", where,
		           "more than %llu bytes of metadata read from a %llu-byte file: structures overlap; the rest is not read",
		           (unsigned long long)h->read_budget, (unsigned long long)h->avail);
	h->budget_reported = true;
	return MS_ELIMIT;
}

/* The page holding absolute offset `start` (page aligned), read on a miss;
 * NULL when it cannot be read (the caller then reads directly, which gives
 * the source's own error). */
static const h5_page *page_get(msi_h5 *h, uint64_t start)
{
	h5_page *victim = &h->pages[0];
	for (size_t i = 0; i < H5_PAGES; i++) {
		h5_page *p = &h->pages[i];
		if (p->bytes && p->start == start) {
			p->used = ++h->page_clock;
			return p;
		}
		if (!p->bytes || p->used < victim->used)
			victim = p;
		if (!p->bytes)
			break;
	}
	if (!victim->bytes && !(victim->bytes = msi_malloc(H5_PAGE_SIZE)))
		return NULL;
	int64_t got = msi_source_read_upto(h->src, start, victim->bytes, H5_PAGE_SIZE);
	if (got <= 0) {
		victim->start = UINT64_MAX;
		victim->len = 0;
		victim->used = 0;
		return NULL;
	}
	victim->start = start;
	victim->len = (size_t)got;
	victim->used = ++h->page_clock;
	return victim;
}

/* Small reads through the pages, when every byte is there. */
static bool paged_read(msi_h5 *h, uint64_t abs, uint8_t *dst, size_t len)
{
	if (len > H5_PAGE_SIZE)
		return false;
	while (len) {
		uint64_t start = abs - abs % H5_PAGE_SIZE;
		const h5_page *p = page_get(h, start);
		size_t off = (size_t)(abs - start);
		if (!p || off >= p->len)
			return false;
		size_t n = MSI_MIN(len, p->len - off);
		memcpy(dst, p->bytes + off, n);
		dst += n;
		abs += n;
		len -= n;
	}
	return true;
}

int h5_read(msi_h5 *h, uint64_t addr, void *dst, size_t len, const char *what, const char *where)
{
	int rc = h5_range(h, addr, len, what, where);
	if (rc != MS_OK || len == 0)
		return rc;
	if ((rc = h5_charge(h, len, where)) != MS_OK)
		return rc;
	if (paged_read(h, h->base + addr, dst, len))
		return MS_OK;
	return msi_source_read(h->src, h->base + addr, dst, len);
}

int h5_read_alloc(msi_h5 *h, uint64_t addr, size_t len, const char *what, const char *where, uint8_t **out)
{
	*out = NULL;
	/* check the range before allocating: a lying size must not cost memory */
	int rc = h5_range(h, addr, len, what, where);
	if (rc != MS_OK)
		return rc;
	uint8_t *b = msi_malloc(len ? len : 1);
	if (!b)
		return msi_error(MS_ENOMEM, "out of memory reading HDF5 %s", what);
	rc = h5_read(h, addr, b, len, what, where);
	if (rc != MS_OK) {
		msi_free(b);
		return rc;
	}
	*out = b;
	return MS_OK;
}

/* ---- superblock ---- */

static bool size_ok(unsigned n)
{
	return n == 2 || n == 4 || n == 8;
}

static int read_superblock(msi_h5 *h)
{
	char where[64];
	snprintf(where, sizeof where, "superblock at %llu", (unsigned long long)h->base);
	uint8_t b[128];
	uint64_t size = h->src->size - h->base;
	size_t got = (size_t)MSI_MIN(size, sizeof b);
	int rc = msi_source_read(h->src, h->base, b, got);
	if (rc != MS_OK)
		return rc;
	if (got < 16 || memcmp(b, h5_signature, 8) != 0) {
		h5_finding(h, got < 16 ? "hdf5.truncated" : "hdf5.superblock.invalid", where,
		           "no HDF5 superblock (signature and version) at offset %llu", (unsigned long long)h->base);
		return MS_EFORMAT;
	}
	h->sb_version = b[8];
	size_t need;
	const uint8_t *p;
	if (h->sb_version <= 1) {
		h->so = b[13];
		h->sl = b[14];
		if (!size_ok(h->so) || !size_ok(h->sl)) {
			h5_finding(h, "hdf5.superblock.invalid", where,
			           "size of offsets %u / size of lengths %u: HDF5 allows only 2, 4 and 8", h->so, h->sl);
			return MS_EFORMAT;
		}
		h->leaf_k = msi_le16(b + 16);
		h->node_k = msi_le16(b + 18);
		size_t fixed = h->sb_version == 1 ? 28 : 24;
		/* four addresses, then the root symbol table entry (its name
		 * offset is a length, its header address an offset) */
		need = fixed + 5 * (size_t)h->so + h->sl + 24;
		if (got < need) {
			h5_finding(h, "hdf5.truncated", where, "the version %d superblock needs %zu bytes; the file has %zu",
			           h->sb_version, need, got);
			return MS_EFORMAT;
		}
		if (h->leaf_k == 0 || h->node_k == 0) {
			h5_finding(h, "hdf5.superblock.invalid", where, "group B-tree K values %u/%u must be positive",
			           h->leaf_k, h->node_k);
			return MS_EFORMAT;
		}
		p = b + fixed;
		/* the base address is where the superblock is, whatever the field
		 * says (libhdf5 moves it with the superblock the same way) */
		h->eoa = h5_addr(h, p + 2 * h->so);
		h->root = h5_addr(h, p + 4 * h->so + h->sl);
	} else if (h->sb_version <= 3) {
		h->so = b[9];
		h->sl = b[10];
		if (!size_ok(h->so) || !size_ok(h->sl)) {
			h5_finding(h, "hdf5.superblock.invalid", where,
			           "size of offsets %u / size of lengths %u: HDF5 allows only 2, 4 and 8", h->so, h->sl);
			return MS_EFORMAT;
		}
		need = 12 + 4 * (size_t)h->so;
		if (got < need + 4) {
			h5_finding(h, "hdf5.truncated", where, "the version %d superblock needs %zu bytes; the file has %zu",
			           h->sb_version, need + 4, got);
			return MS_EFORMAT;
		}
		if (!h5_checksum_ok(h, b, need, "superblock", 0, where))
			return MS_EFORMAT;
		p = b + 12;
		uint64_t ext = h5_addr(h, p + h->so);
		h->eoa = h5_addr(h, p + 2 * h->so);
		h->root = h5_addr(h, p + 3 * h->so);
		if (ext != MSI_H5_UNDEF)
			h5_finding(h, "hdf5.unsupported", where,
			           "the superblock extension at 0x%llx (shared message table, file space settings) is not read",
			           (unsigned long long)ext);
	} else {
		h5_finding(h, "hdf5.superblock.invalid", where, "superblock version %d is not one of 0-3", h->sb_version);
		return MS_EFORMAT;
	}
	h->avail = size;
	h->read_budget = msi_sat_add_u64(256u << 20, size > UINT64_MAX / 4 ? UINT64_MAX : size * 4);
	/* the end-of-file address counts from the start of the file, user
	 * block included (libhdf5 compares it with the size plus the base) */
	if (h->eoa != MSI_H5_UNDEF && h->eoa >= h->base)
		h->eoa -= h->base;
	else
		h->eoa = 0;
	if (h->eoa < need) {
		h5_finding(h, "hdf5.superblock.invalid", where, "end-of-file address 0x%llx is not past the superblock",
		           (unsigned long long)h->eoa);
		return MS_EFORMAT;
	}
	if (h->eoa > h->avail)
		h5_finding(h, "hdf5.truncated", where,
		           "the superblock says the file ends at %llu bytes past the superblock; it has %llu (truncated)",
		           (unsigned long long)h->eoa, (unsigned long long)h->avail);
	if (h->root == MSI_H5_UNDEF || h->root >= h->eoa) {
		h5_finding(h, "hdf5.address.invalid", where, "the root group's object header address 0x%llx lies outside the file",
		           (unsigned long long)h->root);
		return MS_EFORMAT;
	}
	return MS_OK;
}

int msi_h5_open(msi_source *src, uint64_t sig_offset, const msi_limits *limits, ms_report *findings,
		msi_h5 **out)
{
	*out = NULL;
	if (!src || sig_offset >= src->size)
		return msi_error(MS_EFORMAT, "no HDF5 signature at offset %llu", (unsigned long long)sig_offset);
	msi_h5 *h = msi_calloc(1, sizeof *h);
	if (!h)
		return msi_error(MS_ENOMEM, "out of memory");
	static const msi_limits defaults = { 100000, 0, 16u << 20, 64, 256u << 20 };
	h->src = msi_source_ref(src);
	h->r = findings;
	h->limits = limits ? *limits : defaults;
	if (h->limits.max_depth == 0)
		h->limits.max_depth = 64;
	if (h->limits.max_members == 0)
		h->limits.max_members = 100000;
	if (h->limits.max_header_size == 0)
		h->limits.max_header_size = 16u << 20;
	if (h->limits.max_metadata == 0)
		h->limits.max_metadata = 256u << 20;
	h->base = sig_offset;
	for (size_t i = 0; i < MSI_ARRAY_LEN(h->gcol); i++)
		h->gcol[i].addr = MSI_H5_UNDEF;
	int rc = read_superblock(h);
	if (rc != MS_OK) {
		msi_h5_close(h);
		return rc == MS_EFORMAT ? msi_error(MS_EFORMAT, "unusable HDF5 superblock") : rc;
	}
	*out = h;
	return MS_OK;
}

void msi_h5_close(msi_h5 *h)
{
	if (!h)
		return;
	h5_gcol_clear(h);
	msi_free(h->scratch);
	for (size_t i = 0; i < H5_PAGES; i++)
		msi_free(h->pages[i].bytes);
	msi_source_release(h->src);
	msi_free(h);
}

int msi_h5_superblock_version(const msi_h5 *h)
{
	return h->sb_version;
}

uint64_t msi_h5_root_address(const msi_h5 *h)
{
	return h->root;
}

/* ---- object headers ---- */

typedef struct h5_pending {
	uint64_t addr, len;
} h5_pending;

typedef struct obj_load {
	msi_h5 *h;
	msi_h5_obj *o;
	size_t msgcap;
	uint64_t total;          /* header bytes read */
	h5_pending *todo;        /* continuation blocks not read yet */
	size_t ntodo, todocap;
	uint64_t *seen;          /* blocks read (chunk 0 included) */
	size_t nseen;
	bool creation_order;     /* v2: messages carry a creation order */
	bool too_many;           /* the continuation block cap was reported */
} obj_load;

static int add_msg(obj_load *L, const h5_msg *m)
{
	msi_h5_obj *o = L->o;
	if (o->nmsgs >= H5_MAX_MESSAGES) {
		h5_finding(L->h, "hdf5.limit", o->where, "the object header holds more than %u messages; the rest are not read",
		           H5_MAX_MESSAGES);
		return MS_ELIMIT;
	}
	h5_msg *n = msi_grow(o->msgs, &L->msgcap, o->nmsgs, sizeof *n, 16);
	if (!n)
		return msi_error(MS_ENOMEM, "out of memory");
	o->msgs = n;
	o->msgs[o->nmsgs++] = *m;
	return MS_OK;
}

/* A continuation message: queue the block it names (read after the
 * current one), unless it was read already (a cycle). */
static int queue_block(obj_load *L, const h5_msg *m)
{
	msi_h5 *h = L->h;
	msi_cursor c = msi_cursor_make(m->data, m->size);
	uint64_t addr = h5_cursor_addr(h, &c), len = h5_cursor_len(h, &c);
	if (c.failed) {
		h5_finding(h, "hdf5.message.invalid", L->o->where, "continuation message at 0x%llx is %u bytes, too short",
		           (unsigned long long)m->addr, (unsigned)m->size);
		return MS_EFORMAT;
	}
	/* checked first: a header of nothing but continuation messages must not
	 * make the cycle checks below quadratic */
	if (L->nseen + L->ntodo >= H5_MAX_CHUNKS) {
		if (!L->too_many)
			h5_finding(h, "hdf5.limit", L->o->where, "more than %u continuation blocks; the rest are not read",
			           H5_MAX_CHUNKS);
		L->too_many = true;
		return MS_EFORMAT;
	}
	for (size_t i = 0; i < L->nseen; i++)
		if (L->seen[i] == addr) {
			h5_finding(h, "hdf5.loop", L->o->where, "a continuation message points back to the header block at 0x%llx",
			           (unsigned long long)addr);
			return MS_EFORMAT;
		}
	for (size_t i = 0; i < L->ntodo; i++)
		if (L->todo[i].addr == addr) {
			h5_finding(h, "hdf5.loop", L->o->where, "two continuation messages name the block at 0x%llx",
			           (unsigned long long)addr);
			return MS_EFORMAT;
		}
	h5_pending *n = msi_grow(L->todo, &L->todocap, L->ntodo, sizeof *n, 4);
	if (!n)
		return msi_error(MS_ENOMEM, "out of memory");
	L->todo = n;
	L->todo[L->ntodo].addr = addr;
	L->todo[L->ntodo].len = len;
	L->ntodo++;
	return MS_OK;
}

/* Splits one block of messages (v1: 8-byte headers, v2: 4 or 6) into the
 * message list. `data` stays owned by the object. */
static int parse_messages(obj_load *L, const uint8_t *data, size_t len, uint64_t addr)
{
	msi_h5 *h = L->h;
	msi_h5_obj *o = L->o;
	size_t hdr = o->version == 1 ? 8 : (L->creation_order ? 6 : 4);
	size_t pos = 0;
	while (len - pos >= hdr) {
		h5_msg m;
		const uint8_t *p = data + pos;
		if (o->version == 1) {
			m.type = msi_le16(p);
			m.size = msi_le16(p + 2);
			m.flags = p[4];
		} else {
			m.type = p[0];
			m.size = msi_le16(p + 1);
			m.flags = p[3];
		}
		if (m.size > len - pos - hdr) {
			h5_finding(h, "hdf5.object_header.invalid", o->where,
			           "message of type 0x%x at 0x%llx: size %u runs past its header block (%zu bytes left)",
			           (unsigned)m.type, (unsigned long long)(addr + pos), (unsigned)m.size, len - pos - hdr);
			return MS_EFORMAT;
		}
		m.data = p + hdr;
		m.addr = addr + pos + hdr;
		pos += hdr + m.size;
		if (m.type == H5_MSG_NIL)
			continue;
		int rc = m.type == H5_MSG_CONTINUATION ? queue_block(L, &m) : MS_OK;
		if (rc == MS_EFORMAT)
			continue; /* the finding is made; the other messages still count */
		if (rc == MS_OK)
			rc = add_msg(L, &m);
		if (rc != MS_OK)
			return rc;
	}
	/* v2 leaves a gap smaller than a message header; v1 blocks are filled */
	return MS_OK;
}

static int keep_chunk(obj_load *L, uint8_t *buf)
{
	msi_h5_obj *o = L->o;
	uint8_t **n = msi_reallocarray(o->chunks, o->nchunks + 1, sizeof *n);
	if (!n) {
		msi_free(buf);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	o->chunks = n;
	o->chunks[o->nchunks++] = buf;
	uint64_t *s = msi_reallocarray(L->seen, L->nseen + 1, sizeof *s);
	if (!s)
		return msi_error(MS_ENOMEM, "out of memory");
	L->seen = s;
	return MS_OK;
}

static int account(obj_load *L, uint64_t len)
{
	L->total = msi_sat_add_u64(L->total, len);
	if (L->total > L->h->limits.max_header_size) {
		h5_finding(L->h, "hdf5.limit", L->o->where, "the object header is larger than %llu bytes; the rest is not read",
		           (unsigned long long)L->h->limits.max_header_size);
		return MS_ELIMIT;
	}
	return MS_OK;
}

static int load_v1(obj_load *L)
{
	msi_h5 *h = L->h;
	msi_h5_obj *o = L->o;
	uint8_t pfx[16];
	int rc = h5_read(h, o->addr, pfx, sizeof pfx, "object header", o->where);
	if (rc != MS_OK)
		return rc;
	if (pfx[1] != 0) {
		h5_finding(h, "hdf5.object_header.invalid", o->where, "version 1 object header at 0x%llx: reserved byte is %u",
		           (unsigned long long)o->addr, pfx[1]);
		return MS_EFORMAT;
	}
	uint32_t size = msi_le32(pfx + 8);
	if ((rc = h5_range(h, o->addr + 16, size, "object header messages", o->where)) != MS_OK)
		return rc;
	if ((rc = account(L, (uint64_t)size + 16)) != MS_OK)
		return MS_EFORMAT; /* the finding says why */
	uint8_t *buf;
	rc = h5_read_alloc(h, o->addr + 16, size, "object header messages", o->where, &buf);
	if (rc != MS_OK)
		return rc;
	if ((rc = keep_chunk(L, buf)) != MS_OK)
		return rc;
	L->seen[L->nseen++] = o->addr;
	return parse_messages(L, buf, size, o->addr + 16);
}

static int load_v2(obj_load *L)
{
	msi_h5 *h = L->h;
	msi_h5_obj *o = L->o;
	uint8_t pfx[40];
	int rc = h5_read(h, o->addr, pfx, 6, "object header", o->where);
	if (rc != MS_OK)
		return rc;
	if (pfx[4] != 2) {
		h5_finding(h, "hdf5.object_header.invalid", o->where, "OHDR object header at 0x%llx has version %u, not 2",
		           (unsigned long long)o->addr, pfx[4]);
		return MS_EFORMAT;
	}
	uint8_t flags = pfx[5];
	if (flags & 0xC0) {
		h5_finding(h, "hdf5.object_header.invalid", o->where, "OHDR object header at 0x%llx has unknown flags 0x%02x",
		           (unsigned long long)o->addr, flags);
		return MS_EFORMAT;
	}
	L->creation_order = (flags & 0x04) != 0;
	size_t pl = 6 + ((flags & 0x20) ? 16 : 0) + ((flags & 0x10) ? 4 : 0);
	unsigned width = 1u << (flags & 3);
	if ((rc = h5_read(h, o->addr, pfx, pl + width, "object header", o->where)) != MS_OK)
		return rc;
	uint64_t size0 = h5_uint(pfx + pl, width);
	pl += width;
	uint64_t total = msi_sat_add_u64(size0, pl + 4);
	if ((rc = h5_range(h, o->addr, total, "object header", o->where)) != MS_OK)
		return rc;
	if ((rc = account(L, total)) != MS_OK)
		return MS_EFORMAT; /* the finding says why */
	uint8_t *buf;
	rc = h5_read_alloc(h, o->addr, (size_t)total, "object header", o->where, &buf);
	if (rc != MS_OK)
		return rc;
	if ((rc = keep_chunk(L, buf)) != MS_OK)
		return rc;
	L->seen[L->nseen++] = o->addr;
	if (!h5_checksum_ok(h, buf, (size_t)total - 4, "object header", o->addr, o->where))
		return MS_EFORMAT;
	return parse_messages(L, buf + pl, (size_t)size0, o->addr + pl);
}

/* Continuation blocks, in the order they were found. */
static int load_blocks(obj_load *L)
{
	msi_h5 *h = L->h;
	msi_h5_obj *o = L->o;
	for (size_t i = 0; i < L->ntodo; i++) {
		uint64_t addr = L->todo[i].addr, len = L->todo[i].len;
		if (o->nchunks >= H5_MAX_CHUNKS)
			break; /* queue_block keeps the queue below this (and said so) */
		size_t min = o->version == 1 ? 0 : 8;
		if (len < min) {
			h5_finding(h, "hdf5.object_header.invalid", o->where, "continuation block at 0x%llx is %llu bytes, too short",
			           (unsigned long long)addr, (unsigned long long)len);
			continue;
		}
		int rc = h5_range(h, addr, len, "object header continuation block", o->where);
		if (rc == MS_EFORMAT)
			continue;
		if ((rc = account(L, len)) != MS_OK)
			return rc;
		uint8_t *buf;
		rc = h5_read_alloc(h, addr, (size_t)len, "object header continuation block", o->where, &buf);
		if (rc == MS_EFORMAT)
			continue;
		if (rc != MS_OK)
			return rc;
		if ((rc = keep_chunk(L, buf)) != MS_OK)
			return rc;
		L->seen[L->nseen++] = addr;
		if (o->version == 1) {
			rc = parse_messages(L, buf, (size_t)len, addr);
		} else {
			if (memcmp(buf, "OCHK", 4) != 0) {
				h5_finding(h, "hdf5.object_header.invalid", o->where,
				           "continuation block at 0x%llx lacks its OCHK signature", (unsigned long long)addr);
				continue;
			}
			if (!h5_checksum_ok(h, buf, (size_t)len - 4, "object header continuation block", addr, o->where))
				continue;
			rc = parse_messages(L, buf + 4, (size_t)len - 8, addr + 4);
		}
		if (rc != MS_OK && rc != MS_EFORMAT)
			return rc;
	}
	return MS_OK;
}

int msi_h5_obj_load(msi_h5 *h, uint64_t addr, const char *path, msi_h5_obj **out)
{
	*out = NULL;
	msi_h5_obj *o = msi_calloc(1, sizeof *o);
	if (!o)
		return msi_error(MS_ENOMEM, "out of memory");
	o->addr = addr;
	if (path && *path) {
		o->where = msi_strdup(path);
	} else {
		char w[64];
		snprintf(w, sizeof w, "object header at 0x%llx", (unsigned long long)addr);
		o->where = msi_strdup(w);
	}
	if (!o->where) {
		msi_free(o);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	obj_load L = { .h = h, .o = o };
	uint8_t sig[4];
	int rc = h5_read(h, addr, sig, 4, "object header", o->where);
	if (rc == MS_OK) {
		if (memcmp(sig, "OHDR", 4) == 0) {
			o->version = 2;
			rc = load_v2(&L);
		} else if (sig[0] == 1) {
			o->version = 1;
			rc = load_v1(&L);
		} else {
			h5_finding(h, "hdf5.object_header.invalid", o->where,
			           "no object header at 0x%llx (neither OHDR nor version 1: first byte 0x%02x)",
			           (unsigned long long)addr, sig[0]);
			rc = MS_EFORMAT;
		}
	}
	if (rc == MS_OK || rc == MS_EFORMAT || rc == MS_ELIMIT) {
		/* blocks are read even when chunk 0 had a bad message: the other
		 * messages are still worth reporting on */
		int brc = rc == MS_ELIMIT ? MS_OK : load_blocks(&L);
		if (brc != MS_OK && brc != MS_EFORMAT && brc != MS_ELIMIT) {
			rc = brc;
		} else if (o->nmsgs > 0) {
			rc = MS_OK; /* findings say what was cut; use what was read */
		} else {
			if (rc == MS_OK)
				h5_finding(h, "hdf5.object_header.invalid", o->where, "the object header at 0x%llx holds no messages",
				           (unsigned long long)addr);
			rc = MS_EFORMAT;
		}
	}
	msi_free(L.todo);
	msi_free(L.seen);
	if (rc != MS_OK) {
		msi_h5_obj_free(o);
		return rc;
	}
	*out = o;
	return MS_OK;
}

void msi_h5_obj_free(msi_h5_obj *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nchunks; i++)
		msi_free(o->chunks[i]);
	msi_free(o->chunks);
	msi_free(o->msgs);
	msi_free(o->where);
	msi_free(o);
}

uint64_t msi_h5_obj_address(const msi_h5_obj *o)
{
	return o->addr;
}

const h5_msg *h5_obj_find(const msi_h5_obj *o, uint16_t type)
{
	for (size_t i = 0; i < o->nmsgs; i++)
		if (o->msgs[i].type == type)
			return &o->msgs[i];
	return NULL;
}

bool msi_h5_obj_is_group(const msi_h5_obj *o)
{
	return h5_obj_find(o, H5_MSG_SYMBOL_TABLE) || h5_obj_find(o, H5_MSG_LINK) || h5_obj_find(o, H5_MSG_LINK_INFO);
}

bool msi_h5_obj_is_dataset(const msi_h5_obj *o)
{
	return !msi_h5_obj_is_group(o) && h5_obj_find(o, H5_MSG_DATATYPE) && h5_obj_find(o, H5_MSG_DATASPACE);
}
