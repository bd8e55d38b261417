/*
 * ZIP container: our own structural pass over untrusted bytes.
 *
 * The end-of-central-directory record (EOCD) is looked for in the last
 * 65535 + 22 bytes, the ZIP64 locator and record are followed when present,
 * the central directory (CD) is walked entry by entry and every local header
 * is read and compared with its CD entry. Sizes come from the CD (PyTorch
 * sets flag bit 3 and writes zeros in local headers; ZIP64 extra 0x0001
 * carries the real values when a 32-bit field is 0xFFFFFFFF). Everything is
 * read with pread through one 256 KiB window (or straight from memory), so
 * memory grows with the number of entries, never with the file size; the
 * listing stops at limits->max_members entries or limits->max_metadata
 * bytes of names (an artifact.limit finding).
 *
 * Every problem is a finding in container->findings; an entry whose name or
 * structure cannot be trusted is marked `unsafe` and never opened. When the
 * bytes start like a zip but no usable EOCD exists (a truncated download),
 * a forward walk over local headers lists what it can still prove.
 *
 * The policy on declared fields (methods, encryption, sizes, bombs) and
 * member data (open_entry, verify, libzip's opinion) are in zip_verify.c.
 */
#include <string.h>

#include "container.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define SIG_DESC 0x08074b50u

#define EOCD_LEN 22u
#define EOCD64_LEN 56u
#define LOC64_LEN 20u
#define CEN_LEN 46u
#define LOC_LEN 30u
#define MAX_COMMENT 65535u
#define WIN_CAP (256u * 1024u) /* > 46 + 3 * 65535: one CD record always fits */

#define FLAG_DESCRIPTOR 0x0008u

/* c->impl: one byte per entry (the same values are defined in zip_verify.c). */
#define ZENT_SKIP 0x01u

/*
 * Local headers are read through the window. When the next members' headers
 * are near (small members, as in a PyTorch archive of thousands of tensors),
 * one read covers all those within WIN_CAP instead of one pread each; a
 * header's name and extra field are assumed to fit in HEADER_ROOM bytes (a
 * longer one is simply read again). SPAN_SCAN bounds the look-ahead work.
 */
#define HEADER_ROOM 512u
#define SPAN_SCAN 8192u

/* Entry names are carved from one block of at most this many bytes (one
 * allocation instead of one per member); names past it, rare, are
 * allocated one by one. Bounded so a directory that merely claims to be
 * huge does not reserve that much. */
#define NAME_BLOCK_MAX (16u * 1024u * 1024u)

/* Member policy, member data and the ops table live in zip_verify.c; no
 * header of their own because only this file uses them. */
extern const msi_container_ops msi_zip_ops;
uint8_t *msi_zip_impl_new(msi_container *c);
bool msi_zip_check_member(ms_report *r, msi_entry *e, const msi_limits *lim);
int msi_zip_check_duplicates(msi_container *c, const uint32_t *hashes);

/* Per-entry facts the parse needs beyond msi_entry. */
typedef struct zaux {
	uint64_t local_off; /* absolute offset of the local header */
	uint64_t end;       /* end of the member's data */
	uint32_t name_len;  /* raw CD name length (the copy may be cut at a NUL) */
	bool placed;        /* local_off and end are known and inside the file */
	bool skip;          /* verify must not stream it (unsafe, too large, bomb) */
} zaux;

/* A read window over the source: memory-backed sources are used in place. */
typedef struct zwin {
	const msi_source *src;
	const uint8_t *mem;
	uint8_t *buf;
	uint64_t off;
	size_t len;
} zwin;

typedef struct zparse {
	msi_container *c;
	const msi_limits *lim;
	zwin w;
	uint64_t size;
	zaux *aux;
	uint32_t *hash;  /* of each entry's name (as a C string), for duplicates */
	size_t cap;      /* entries, aux and hash all hold this many */
	size_t aux_cap, hash_cap; /* each array's own: they differ after a failed growth */
	char *names;     /* c->name_block: entry names are carved from it */
	size_t names_len, names_used;
	uint64_t name_bytes;
	bool limit_hit;
	bool incomplete; /* the CD could not be walked to its end */
	bool disks_reported;
} zparse;

/* zwin_get's read: the bytes are not in the window (kept out of line so
 * the common case, a hit, stays small enough to inline). */
static const uint8_t *zwin_fill(zwin *w, uint64_t off, size_t len, size_t ahead, int *rc)
{
	if (len > WIN_CAP) {
		*rc = msi_error(MS_ERROR, "zip: internal read of %zu bytes exceeds the window", len);
		return NULL;
	}
	if (!w->buf) {
		w->buf = msi_big_alloc(WIN_CAP);
		if (!w->buf) {
			*rc = msi_error(MS_ENOMEM, "out of memory");
			return NULL;
		}
	}
	size_t want = MSI_MAX(len, MSI_MIN(ahead, (size_t)WIN_CAP));
	if (want > w->src->size - off)
		want = (size_t)(w->src->size - off);
	w->len = 0;
	*rc = msi_source_read(w->src, off, w->buf, want);
	if (*rc != MS_OK)
		return NULL;
	w->off = off;
	w->len = want;
	return w->buf;
}

/* Bytes [off, off+len) with `ahead` more read when possible. NULL with
 * *rc = MS_EFORMAT when the range is outside the source, or another error
 * from the read. The pointer is valid until the next call. */
static inline const uint8_t *zwin_get(zwin *w, uint64_t off, size_t len, size_t ahead, int *rc)
{
	if (!msi_range_ok(off, len, w->src->size)) {
		*rc = MS_EFORMAT;
		return NULL;
	}
	*rc = MS_OK;
	if (w->mem)
		return w->mem + off;
	if (w->buf && off >= w->off && off - w->off + len <= w->len)
		return w->buf + (off - w->off);
	return zwin_fill(w, off, len, ahead, rc);
}

/* The value of the ZIP64 extra field (id 0x0001) for each 32-bit field that
 * holds the escape value, in the order the format fixes. Returns false when
 * a needed value is missing. */
static bool read_zip64_extra(const uint8_t *extra, size_t len, uint64_t *usize, uint64_t *csize,
                             uint64_t *off, bool need_u, bool need_c, bool need_o, bool *seen)
{
	msi_cursor cur = msi_cursor_make(extra, len);
	*seen = false;
	while (msi_cursor_left(&cur) >= 4) {
		uint16_t id = msi_cursor_le16(&cur);
		uint16_t n = msi_cursor_le16(&cur);
		const uint8_t *body = msi_cursor_bytes(&cur, n);
		if (!body)
			return !(need_u || need_c || need_o);
		if (id != 0x0001)
			continue;
		*seen = true;
		msi_cursor f = msi_cursor_make(body, n);
		if (need_u)
			*usize = msi_cursor_le64(&f);
		if (need_c)
			*csize = msi_cursor_le64(&f);
		if (need_o)
			*off = msi_cursor_le64(&f);
		return !f.failed;
	}
	return !(need_u || need_c || need_o);
}

/* Grows the listing's arrays to hold `ncap` entries. They are msi_big_*
 * blocks: an archive of thousands of members lists ~1 MB, which the next
 * archive opened reuses instead of faulting in fresh pages. */
static int reserve_entries(zparse *p, size_t ncap)
{
	msi_container *c = p->c;
	if (ncap <= p->cap)
		return MS_OK;
	if (ncap > SIZE_MAX / sizeof(msi_entry))
		return msi_error(MS_ENOMEM, "out of memory");
	msi_entry *e = msi_big_realloc(c->entries, c->entries_bytes, ncap * sizeof *e);
	if (!e)
		return msi_error(MS_ENOMEM, "out of memory");
	c->entries = e;
	c->entries_bytes = ncap * sizeof *e;
	zaux *a = msi_big_realloc(p->aux, p->aux_cap * sizeof *a, ncap * sizeof *a);
	if (!a)
		return msi_error(MS_ENOMEM, "out of memory");
	p->aux = a;
	p->aux_cap = ncap;
	uint32_t *h = msi_big_realloc(p->hash, p->hash_cap * sizeof *h, ncap * sizeof *h);
	if (!h)
		return msi_error(MS_ENOMEM, "out of memory");
	p->hash = h;
	p->hash_cap = ncap;
	p->cap = ncap;
	return MS_OK;
}

/*
 * Hashes `n` name bytes eight at a time, and tells whether any of them is
 * NUL, a backslash or '.': a name without those that neither starts with
 * '/' nor has ':' second breaks no rule of msi_name_check, so the common
 * name costs one pass instead of the rule-by-rule check.
 */
static uint32_t scan_name(const uint8_t *s, size_t n, bool *special)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, any = 0;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t w;
		if (n - i >= 8) {
			memcpy(&w, s + i, 8);
		} else {
			/* 'a' pads the tail (not special); shifted in by hand
			 * because a short memcpy becomes a library call */
			w = 0x6161616161616161ull << (8 * (n - i));
			for (size_t k = i; k < n; k++)
				w |= (uint64_t)s[k] << (8 * (k - i));
		}
		any |= msi_zero_bytes(w) | msi_zero_bytes(w ^ (MSI_BYTES_01 * '\\')) |
		       msi_zero_bytes(w ^ (MSI_BYTES_01 * '.'));
		h = (h ^ w) * 0x9fb21c651e98df25ull;
		h ^= h >> 29;
	}
	*special = any != 0;
	h *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(h ^ (h >> 32));
}

/* A new zeroed entry at the end of the listing; NULL (and the limit
 * finding) once max_members is reached, NULL with *rc on OOM. */
static msi_entry *add_entry(zparse *p, const uint8_t *name, size_t name_len, int *rc)
{
	msi_container *c = p->c;
	*rc = MS_OK;
	if (c->count >= p->lim->max_members ||
	    p->name_bytes + name_len > p->lim->max_metadata) {
		if (!p->limit_hit)
			msi_container_finding(c, "artifact.limit", "",
			                      "the zip lists more members (or longer names) than the limits "
			                      "allow; only the first %zu are checked", c->count);
		p->limit_hit = true;
		return NULL;
	}
	if (c->count == p->cap && (*rc = reserve_entries(p, p->cap ? p->cap * 2 : 16)) != MS_OK)
		return NULL;
	msi_entry *e = &c->entries[c->count];
	memset(e, 0, sizeof *e);
	memset(&p->aux[c->count], 0, sizeof p->aux[0]);
	/* A raw copy: an embedded NUL cuts the C string, the bytes stay for
	 * the local-header comparison. Names come from one block when it has
	 * room (one allocation, not one per member). */
	if (p->names && p->names_len - p->names_used > name_len) {
		e->name = p->names + p->names_used;
		memcpy(e->name, name, name_len);
		e->name[name_len] = '\0';
		p->names_used += name_len + 1;
	} else {
		e->name = msi_strndup((const char *)name, name_len);
	}
	if (!e->name) {
		*rc = msi_error(MS_ENOMEM, "out of memory");
		return NULL;
	}
	bool special;
	uint32_t h = scan_name(name, name_len, &special);
	p->aux[c->count].name_len = (uint32_t)name_len;
	p->name_bytes += name_len;
	c->count++;
	e->type = name_len && name[name_len - 1] == '/' ? MSI_ENTRY_DIR : MSI_ENTRY_FILE;
	if (!special && name_len && name[0] != '/' && !(name_len >= 2 && name[1] == ':')) {
		p->hash[c->count - 1] = h;
		return e;
	}
	/* duplicates compare C strings: hash what a NUL leaves of the name */
	p->hash[c->count - 1] = scan_name((const uint8_t *)e->name, strlen(e->name), &special);
	if (!msi_name_check(c->findings, "zip", e->name, name_len))
		e->unsafe = true;
	return e;
}

/* One CD record at `pos` (at most `left` bytes of CD remain). Returns the
 * record length, 0 when the CD is broken there (finding added), or a
 * negative error. */
static int64_t parse_central(zparse *p, uint64_t pos, uint64_t left, uint64_t base)
{
	msi_container *c = p->c;
	int rc;
	if (left < CEN_LEN) {
		msi_container_finding(c, "zip.cd.invalid", "central directory",
		                      "the central directory ends inside a record at offset %llu",
		                      (unsigned long long)pos);
		return 0;
	}
	const uint8_t *h = zwin_get(&p->w, pos, CEN_LEN, WIN_CAP, &rc);
	if (!h)
		return rc;
	if (msi_le32(h) != SIG_CENTRAL) {
		msi_container_finding(c, "zip.cd.invalid", "central directory",
		                      "no central directory signature at offset %llu", (unsigned long long)pos);
		return 0;
	}
	size_t n = msi_le16(h + 28), m = msi_le16(h + 30), k = msi_le16(h + 32);
	size_t total = CEN_LEN + n + m + k;
	if (left < total) {
		msi_container_finding(c, "zip.cd.invalid", "central directory",
		                      "a central directory record at offset %llu runs past the directory's end",
		                      (unsigned long long)pos);
		return 0;
	}
	h = zwin_get(&p->w, pos, total, WIN_CAP, &rc);
	if (!h)
		return rc;
	msi_entry *e = add_entry(p, h + CEN_LEN, n, &rc);
	if (!e)
		return rc ? rc : 0; /* 0: the member limit ends the walk */
	zaux *a = &p->aux[c->count - 1];
	e->flags = msi_le16(h + 8);
	e->method = msi_le16(h + 10);
	e->crc32 = msi_le32(h + 16);
	e->csize = msi_le32(h + 20);
	e->size = msi_le32(h + 24);
	uint16_t disk = msi_le16(h + 34);
	uint64_t off = msi_le32(h + 42);
	bool need_u = e->size == 0xFFFFFFFFu, need_c = e->csize == 0xFFFFFFFFu, need_o = off == 0xFFFFFFFFu;
	bool seen, ok = read_zip64_extra(h + CEN_LEN + n, m, &e->size, &e->csize, &off, need_u, need_c,
	                                 need_o, &seen);
	bool placed = true;
	if (!ok) {
		msi_container_finding(c, "zip.zip64.invalid", e->name,
		                      "member '%.200s' has 0xFFFFFFFF sizes or offset but no ZIP64 value for them",
		                      e->name);
		e->unsafe = true;
		placed = false;
	} else if (e->size > INT64_MAX || e->csize > INT64_MAX || off > INT64_MAX) {
		/* No file can be that large: a wrapped (negative) 64-bit value. */
		msi_container_finding(c, "zip.zip64.invalid", e->name,
		                      "member '%.200s' has a ZIP64 size or offset that wraps (%llu, %llu, %llu)",
		                      e->name, (unsigned long long)e->size, (unsigned long long)e->csize,
		                      (unsigned long long)off);
		e->unsafe = true;
		placed = false;
	}
	if (disk != 0 && disk != 0xFFFFu && !p->disks_reported) {
		msi_container_finding(c, "zip.eocd.multiple_disks", e->name,
		                      "member '%.200s' starts on disk %u", e->name, disk);
		p->disks_reported = true;
	}
	if (placed && !msi_add_u64(off, base, &a->local_off)) {
		placed = false;
		e->unsafe = true;
	}
	a->placed = placed;
	if (ok)
		a->skip |= msi_zip_check_member(c->findings, e, p->lim);
	return (int64_t)total;
}

/* How much to read at entry i's local header: up to the last of the next
 * members' headers (in listing order, which is normally file order) that
 * fit in the window, or 4096 bytes when the next member is far. */
static size_t header_span(const zparse *p, size_t i)
{
	uint64_t start = p->aux[i].local_off, reach = start + 4096;
	size_t last = MSI_MIN(p->c->count, i + 1 + SPAN_SCAN);
	for (size_t j = i + 1; j < last; j++) {
		const zaux *a = &p->aux[j];
		if (!a->placed)
			continue;
		if (a->local_off < start || a->local_off - start > WIN_CAP - HEADER_ROOM)
			break;
		reach = MSI_MAX(reach, a->local_off + HEADER_ROOM);
	}
	return (size_t)(reach - start);
}

/* Reads the local header of entry i and fills data_offset and the data end. */
static int check_local(zparse *p, size_t i)
{
	msi_container *c = p->c;
	msi_entry *e = &c->entries[i];
	zaux *a = &p->aux[i];
	int rc;
	const zwin *w = &p->w;
	bool in_window = w->mem || (w->buf && a->local_off >= w->off && a->local_off - w->off + LOC_LEN <= w->len);
	const uint8_t *h = zwin_get(&p->w, a->local_off, LOC_LEN, in_window ? 0 : header_span(p, i), &rc);
	if (!h && rc != MS_EFORMAT)
		return rc;
	if (!h) {
		msi_container_finding(c, "zip.member.out_of_bounds", e->name,
		                      "member '%.200s': local header offset %llu is outside the file", e->name,
		                      (unsigned long long)a->local_off);
		goto bad;
	}
	if (msi_le32(h) != SIG_LOCAL) {
		msi_container_finding(c, "zip.local.invalid", e->name,
		                      "member '%.200s': no local header signature at offset %llu", e->name,
		                      (unsigned long long)a->local_off);
		goto bad;
	}
	uint16_t flags = msi_le16(h + 6), method = msi_le16(h + 8);
	uint32_t crc = msi_le32(h + 14);
	uint64_t csize = msi_le32(h + 18), usize = msi_le32(h + 22);
	size_t n = msi_le16(h + 26), m = msi_le16(h + 28);
	h = zwin_get(&p->w, a->local_off, LOC_LEN + n + m, 0, &rc);
	if (!h && rc != MS_EFORMAT)
		return rc;
	if (!h) {
		msi_container_finding(c, "zip.local.invalid", e->name,
		                      "member '%.200s': the local header runs past the end of the file", e->name);
		goto bad;
	}
	if (n != a->name_len || memcmp(h + LOC_LEN, e->name, n) != 0) {
		msi_container_finding(c, "zip.local.name_mismatch", e->name,
		                      "member '%.200s': the local header names it '%.*s'", e->name,
		                      (int)MSI_MIN(n, 200u), (const char *)(h + LOC_LEN));
		e->unsafe = true;
	}
	e->data_offset = a->local_off + LOC_LEN + n + m;
	if (!msi_range_ok(e->data_offset, e->csize, p->size)) {
		msi_container_finding(c, "zip.member.out_of_bounds", e->name,
		                      "member '%.200s': %llu bytes of data at offset %llu run past the end of the "
		                      "file (%llu bytes)", e->name, (unsigned long long)e->csize,
		                      (unsigned long long)e->data_offset, (unsigned long long)p->size);
		goto bad;
	}
	a->end = e->data_offset + e->csize;
	/* A data descriptor leaves zeros here; otherwise the local copy of the
	 * sizes must agree, or a streaming extractor sees other bytes. */
	bool seen = false;
	bool ok = read_zip64_extra(h + LOC_LEN + n, m, &usize, &csize, &(uint64_t){ 0 }, usize == 0xFFFFFFFFu,
	                           csize == 0xFFFFFFFFu, false, &seen);
	bool sizes_known = !(flags & FLAG_DESCRIPTOR) && ok;
	if (seen && sizes_known && (usize || csize) && (usize != e->size || csize != e->csize))
		msi_container_finding(c, "zip.zip64.invalid", e->name,
		                      "member '%.200s': the local ZIP64 sizes (%llu, %llu) disagree with the "
		                      "central directory's (%llu, %llu)", e->name, (unsigned long long)usize,
		                      (unsigned long long)csize, (unsigned long long)e->size,
		                      (unsigned long long)e->csize);
	else if (method != e->method || flags != e->flags ||
	         (sizes_known && (crc != e->crc32 || usize != e->size || csize != e->csize)))
		msi_container_finding(c, "zip.local.field_mismatch", e->name,
		                      "member '%.200s': the local header's method, flags, CRC or sizes differ "
		                      "from the central directory's", e->name);
	return MS_OK;
bad:
	e->unsafe = true;
	a->placed = false;
	return MS_OK;
}

/* Heap sort of entry indices by local header offset (qsort may call the
 * C allocator, which the library must not). */
static void sift(size_t *idx, const zaux *aux, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && aux[idx[child + 1]].local_off > aux[idx[child]].local_off)
			child++;
		if (aux[idx[root]].local_off >= aux[idx[child]].local_off)
			return;
		size_t t = idx[root];
		idx[root] = idx[child];
		idx[child] = t;
		root = child;
	}
}

static void sort_by_offset(size_t *idx, const zaux *aux, size_t n)
{
	/* writers list members in file order: most listings are sorted already */
	size_t k = 1;
	while (k < n && aux[idx[k - 1]].local_off <= aux[idx[k]].local_off)
		k++;
	if (k >= n)
		return;
	for (size_t i = n / 2; i-- > 0;)
		sift(idx, aux, i, n);
	for (size_t end = n; end-- > 1;) {
		size_t t = idx[0];
		idx[0] = idx[end];
		idx[end] = t;
		sift(idx, aux, 0, end);
	}
}

/* True when `gap` bytes after a member are its data descriptor: 12 or 20
 * bytes, 16 or 24 with the optional signature. */
static bool descriptor_gap(const msi_entry *e, uint64_t gap)
{
	return (e->flags & FLAG_DESCRIPTOR) && (gap == 12 || gap == 16 || gap == 20 || gap == 24);
}

/* Members in file order: prefix bytes, overlaps, gaps, the CD boundary. */
static int check_layout(zparse *p, uint64_t cd_start)
{
	msi_container *c = p->c;
	size_t n = 0;
	size_t *idx = msi_reallocarray(NULL, c->count ? c->count : 1, sizeof *idx);
	if (!idx)
		return msi_error(MS_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->count; i++)
		if (p->aux[i].placed)
			idx[n++] = i;
	/* With members missing from the listing, gaps are expected. */
	bool complete = n == c->count && !p->incomplete;
	sort_by_offset(idx, p->aux, n);
	uint64_t first = n ? p->aux[idx[0]].local_off : cd_start;
	if (first > 0)
		msi_container_finding(c, "zip.prefix_data", "",
		                      "%llu bytes precede the first local header: another file with a zip "
		                      "appended (a polyglot, e.g. pickle + zip)", (unsigned long long)first);
	for (size_t k = 0; k < n; k++) {
		const msi_entry *e = &c->entries[idx[k]];
		const zaux *a = &p->aux[idx[k]];
		uint64_t next = k + 1 < n ? p->aux[idx[k + 1]].local_off : cd_start;
		const char *what = k + 1 < n ? c->entries[idx[k + 1]].name : "the central directory";
		if (a->end > next)
			msi_container_finding(c, "zip.member.overlap", e->name,
			                      "member '%.200s' (bytes %llu to %llu) overlaps %.200s at %llu", e->name,
			                      (unsigned long long)a->local_off, (unsigned long long)a->end, what,
			                      (unsigned long long)next);
		else if (complete && a->end < next && !descriptor_gap(e, next - a->end))
			msi_container_finding(c, "zip.gap", e->name, "%llu unaccounted bytes follow member '%.200s'",
			                      (unsigned long long)(next - a->end), e->name);
	}
	msi_free(idx);
	return MS_OK;
}

/* Looks for the data descriptor that ends a flag-bit-3 member starting at
 * `data`: a signature followed by a CRC and a compressed size equal to the
 * distance covered, which data rarely fakes by chance. */
static int find_descriptor(zparse *p, uint64_t data, msi_entry *e, uint64_t *desc_len, bool *found)
{
	*found = false;
	uint64_t q = data;
	while (q < p->size) {
		size_t len = (size_t)MSI_MIN(p->size - q, (uint64_t)WIN_CAP);
		int rc;
		const uint8_t *b = zwin_get(&p->w, q, len, WIN_CAP, &rc);
		if (!b)
			return rc;
		for (size_t i = 0; i + 16 <= len; i++) {
			if (b[i] != 'P' || msi_le32(b + i) != SIG_DESC)
				continue;
			/* 32- or 64-bit sizes: a ZIP64 descriptor also matches the
			 * 32-bit reading, so the one a header follows wins. */
			uint64_t dist = q + i - data;
			size_t best = 0;
			for (size_t w = 4; w <= 8 && i + 8 + 2 * w <= len; w += 4) {
				uint64_t cs = w == 4 ? msi_le32(b + i + 8) : msi_le64(b + i + 8);
				uint64_t us = w == 4 ? msi_le32(b + i + 12) : msi_le64(b + i + 16);
				size_t next = i + 8 + 2 * w;
				bool header = next + 4 <= len && (msi_le32(b + next) == SIG_LOCAL ||
				                                  msi_le32(b + next) == SIG_CENTRAL);
				if (cs == dist && (e->method != 0 || us == dist) && (!best || header))
					best = w;
			}
			if (best) {
				e->crc32 = msi_le32(b + i + 4);
				e->csize = dist;
				e->size = best == 4 ? msi_le32(b + i + 12) : msi_le64(b + i + 16);
				*desc_len = 8 + 2 * best;
				*found = true;
				return MS_OK;
			}
		}
		if (len < WIN_CAP)
			break;
		q += len - 23; /* overlap so a descriptor across windows is seen */
	}
	return MS_OK;
}

/* No usable central directory: list local headers from offset 0 for as
 * long as each member's extent is known (sizes in the header, or a
 * matching data descriptor). A member whose extent is unknown is listed
 * (sniffers need its name) but unsafe. */
static int forward_scan(zparse *p)
{
	msi_container *c = p->c;
	uint64_t pos = 0;
	for (;;) {
		int rc;
		const uint8_t *h = zwin_get(&p->w, pos, LOC_LEN, 4096, &rc);
		if (!h)
			return rc == MS_EFORMAT ? MS_OK : rc;
		if (msi_le32(h) != SIG_LOCAL)
			return MS_OK;
		uint16_t flags = msi_le16(h + 6), method = msi_le16(h + 8);
		uint32_t crc = msi_le32(h + 14);
		uint64_t csize = msi_le32(h + 18), usize = msi_le32(h + 22);
		size_t n = msi_le16(h + 26), m = msi_le16(h + 28);
		h = zwin_get(&p->w, pos, LOC_LEN + n + m, 0, &rc);
		if (!h)
			return rc == MS_EFORMAT ? MS_OK : rc;
		bool seen;
		bool ok = read_zip64_extra(h + LOC_LEN + n, m, &usize, &csize, &(uint64_t){ 0 },
		                           usize == 0xFFFFFFFFu, csize == 0xFFFFFFFFu, false, &seen);
		msi_entry *e = add_entry(p, h + LOC_LEN, n, &rc);
		if (!e)
			return rc;
		zaux *a = &p->aux[c->count - 1];
		e->flags = flags;
		e->method = method;
		e->crc32 = crc;
		e->csize = csize;
		e->size = usize;
		e->data_offset = pos + LOC_LEN + n + m;
		uint64_t desc_len = 0;
		bool known = ok && csize <= INT64_MAX && usize <= INT64_MAX;
		if (known && (flags & FLAG_DESCRIPTOR)) {
			rc = find_descriptor(p, e->data_offset, e, &desc_len, &known);
			if (rc != MS_OK)
				return rc;
		}
		if (!known || !msi_range_ok(e->data_offset, e->csize, p->size)) {
			e->size = e->csize = 0; /* unknown: never opened */
			e->unsafe = true;
			a->skip = true;
			return MS_OK;
		}
		a->local_off = pos;
		a->end = e->data_offset + e->csize;
		a->skip |= msi_zip_check_member(c->findings, e, p->lim);
		if (!msi_add_u64(a->end, desc_len, &pos))
			return MS_OK;
	}
}

/* The central directory's place and size, from the EOCD and ZIP64 records. */
typedef struct zdir {
	uint64_t count, cd_size, cd_off;
	uint64_t dir_end;  /* where the CD must end: the ZIP64 record or the EOCD */
	uint64_t cd_start; /* absolute, once resolved */
	uint64_t base;     /* added to every offset: bytes prepended to the zip */
} zdir;

/* The last EOCD signature in the tail whose 22 bytes fit, preferring one
 * whose comment ends exactly at the end of the file. */
static int find_eocd(zparse *p, uint64_t *pos, bool *found, bool *exact)
{
	*found = *exact = false;
	size_t n = (size_t)MSI_MIN(p->size, (uint64_t)(EOCD_LEN + MAX_COMMENT));
	if (n < EOCD_LEN)
		return MS_OK;
	int rc;
	const uint8_t *b = zwin_get(&p->w, p->size - n, n, 0, &rc);
	if (!b)
		return rc;
	for (size_t i = n - EOCD_LEN + 1; i-- > 0;) {
		if (b[i] != 'P' || msi_le32(b + i) != SIG_EOCD)
			continue;
		if (i + EOCD_LEN + msi_le16(b + i + 20) == n) {
			*pos = p->size - n + i;
			*found = *exact = true;
			return MS_OK;
		}
		if (!*found) {
			*pos = p->size - n + i;
			*found = true;
		}
	}
	return MS_OK;
}

/* A 32-bit EOCD field must be the escape value or equal the ZIP64 one. */
static void check_agree(zparse *p, const char *what, uint64_t v32, uint64_t esc, uint64_t v64)
{
	if (v32 != esc && v32 != v64)
		msi_container_finding(p->c, "zip.zip64.invalid", "end of central directory",
		                      "the EOCD says %s is %llu, the ZIP64 record %llu", what, (unsigned long long)v32,
		                      (unsigned long long)v64);
}

/* Reads the EOCD at `e` and the ZIP64 records into `d` (but cd_start),
 * adding findings. Fails only on a read error. */
static int read_eocd(zparse *p, uint64_t e, zdir *d)
{
	msi_container *c = p->c;
	uint8_t rec[EOCD64_LEN];
	int rc;
	const uint8_t *b = msi_source_peek(p->w.src, e, EOCD_LEN, rec, &rc);
	if (!b)
		return rc;
	uint16_t disk = msi_le16(b + 4), cd_disk = msi_le16(b + 6);
	uint64_t n_disk = msi_le16(b + 8), n_total = msi_le16(b + 10);
	uint64_t cd_size = msi_le32(b + 12), cd_off = msi_le32(b + 16);
	uint64_t end = e + EOCD_LEN + msi_le16(b + 20);
	if (end > p->size)
		msi_container_finding(c, "zip.eocd.invalid", "end of central directory",
		                      "the archive comment runs %llu bytes past the end of the file",
		                      (unsigned long long)(end - p->size));
	else if (end < p->size)
		msi_container_finding(c, "zip.trailing_data", "end of central directory",
		                      "%llu bytes follow the end-of-central-directory record",
		                      (unsigned long long)(p->size - end));
	bool disks = disk || cd_disk; /* reported once, below */
	d->count = n_total;
	d->cd_size = cd_size;
	d->cd_off = cd_off;
	d->dir_end = e;
	d->base = 0;
	bool z64 = false;
	if (e >= LOC64_LEN) {
		b = msi_source_peek(p->w.src, e - LOC64_LEN, LOC64_LEN, rec, &rc);
		if (!b)
			return rc;
		z64 = msi_le32(b) == SIG_LOC64;
	}
	if (z64) {
		uint64_t off = msi_le64(b + 8);
		disks |= msi_le32(b + 4) != 0 || msi_le32(b + 16) > 1;
		/* Where the record is when it has no extensible data: a zip
		 * appended to other bytes keeps offsets relative to its start. */
		uint64_t expect = e >= LOC64_LEN + EOCD64_LEN ? e - LOC64_LEN - EOCD64_LEN : UINT64_MAX;
		uint64_t at = UINT64_MAX;
		b = msi_source_peek(p->w.src, off, EOCD64_LEN, rec, &rc);
		if (!b && rc != MS_EFORMAT)
			return rc;
		if (b && msi_le32(b) == SIG_EOCD64 && off < e) {
			at = off;
		} else if (expect != UINT64_MAX && expect > off) {
			b = msi_source_peek(p->w.src, expect, EOCD64_LEN, rec, &rc);
			if (!b)
				return rc;
			if (msi_le32(b) == SIG_EOCD64)
				at = expect;
		}
		if (at == UINT64_MAX) {
			msi_container_finding(c, "zip.zip64.invalid", "end of central directory",
			                      "the ZIP64 locator points to offset %llu, where no ZIP64 record is",
			                      (unsigned long long)off);
		} else {
			uint64_t rsize = msi_le64(b + 4);
			uint64_t n64 = msi_le64(b + 24), t64 = msi_le64(b + 32);
			uint64_t s64 = msi_le64(b + 40), o64 = msi_le64(b + 48);
			if (rsize < EOCD64_LEN - 12 || n64 != t64 || s64 > INT64_MAX || o64 > INT64_MAX ||
			    t64 > INT64_MAX)
				msi_container_finding(c, "zip.zip64.invalid", "end of central directory",
				                      "the ZIP64 end record is inconsistent (record size %llu, "
				                      "entries %llu/%llu)", (unsigned long long)rsize,
				                      (unsigned long long)n64, (unsigned long long)t64);
			disks |= msi_le32(b + 16) || msi_le32(b + 20);
			check_agree(p, "the entry count", n_total, 0xFFFFu, t64);
			check_agree(p, "the directory size", cd_size, 0xFFFFFFFFu, s64);
			check_agree(p, "the directory offset", cd_off, 0xFFFFFFFFu, o64);
			if (at > off)
				d->base = at - off;
			d->count = t64;
			d->cd_size = s64;
			d->cd_off = o64;
			d->dir_end = at;
			n_disk = n64;
			n_total = t64;
		}
	} else if (cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
		msi_container_finding(c, "zip.zip64.invalid", "end of central directory",
		                      "the EOCD holds ZIP64 escape values but no ZIP64 locator precedes it");
	}
	if (disks) {
		msi_container_finding(c, "zip.eocd.multiple_disks", "end of central directory",
		                      "the end records claim a multi-disk archive (disk %u, directory on %u)", disk,
		                      cd_disk);
		p->disks_reported = true;
	}
	if (n_disk != n_total)
		msi_container_finding(c, "zip.eocd.invalid", "end of central directory",
		                      "the EOCD counts %llu entries on this disk but %llu in total",
		                      (unsigned long long)n_disk, (unsigned long long)n_total);
	return MS_OK;
}

/* Finds the CD: at its declared offset, or shifted by the bytes that were
 * prepended to the zip (offsets relative to the zip's own start, as when a
 * zip is concatenated to another file). Adds findings; false when no CD. */
static int locate_cd(zparse *p, zdir *d, bool *ok)
{
	msi_container *c = p->c;
	uint8_t sig[4];
	int rc;
	*ok = false;
	uint64_t cd_end;
	if (d->cd_off > INT64_MAX || d->cd_size > INT64_MAX || !msi_add_u64(d->cd_off, d->cd_size, &cd_end) ||
	    !msi_add_u64(cd_end, d->base, &cd_end) || cd_end > d->dir_end) {
		msi_container_finding(c, "zip.cd.out_of_bounds", "central directory",
		                      "the central directory (%llu bytes at %llu) runs past the end records",
		                      (unsigned long long)d->cd_size, (unsigned long long)d->cd_off);
		return MS_OK;
	}
	uint64_t shift = d->dir_end - cd_end; /* bytes between the CD's declared end and the end records */
	uint64_t at[2] = { d->cd_off + d->base, d->cd_off + d->base + shift };
	if (d->cd_size == 0 && d->count == 0) { /* an empty archive */
		d->base += shift;
		d->cd_start = d->dir_end;
		*ok = true;
		return MS_OK;
	}
	for (int k = 0; k < (shift ? 2 : 1); k++) {
		const uint8_t *b = msi_source_peek(p->w.src, at[k], 4, sig, &rc);
		if (!b && rc != MS_EFORMAT)
			return rc;
		if (b && msi_le32(b) == SIG_CENTRAL) {
			if (k == 1)
				d->base += shift;
			else if (shift)
				msi_container_finding(c, "zip.gap", "central directory",
				                      "%llu unaccounted bytes follow the central directory",
				                      (unsigned long long)shift);
			d->cd_start = at[k];
			*ok = true;
			return MS_OK;
		}
	}
	msi_container_finding(c, "zip.cd.invalid", "central directory",
	                      "no central directory record at offset %llu", (unsigned long long)at[0]);
	return MS_OK;
}

/* Walks the CD, then every local header, then the layout. */
static int parse_directory(zparse *p, const zdir *d)
{
	msi_container *c = p->c;
	uint64_t pos = d->cd_start, end = d->cd_start + d->cd_size;
	uint64_t records = 0;
	bool broken = false;
	/* Size the listing once: no record is shorter than CEN_LEN, so the
	 * directory's size bounds the count whatever the end record claims.
	 * Likewise `want` records leave at most cd_size - CEN_LEN * want bytes
	 * of names, so one block of that plus the NULs holds every name (when
	 * the count lied low, the extra names are allocated one by one). */
	uint64_t want = MSI_MIN(MSI_MIN(d->count, d->cd_size / CEN_LEN), p->lim->max_members);
	int rc = reserve_entries(p, (size_t)MSI_MIN(want, (uint64_t)(SIZE_MAX / sizeof(msi_entry))));
	if (rc != MS_OK)
		return rc;
	uint64_t block = MSI_MIN(d->cd_size - (CEN_LEN - 1) * want, (uint64_t)NAME_BLOCK_MAX);
	if (p->lim->max_metadata < UINT64_MAX - want)
		block = MSI_MIN(block, p->lim->max_metadata + want);
	if (block > 0) {
		/* without it names are allocated one by one: no error here */
		p->names = msi_big_alloc((size_t)block);
		p->names_len = p->names ? (size_t)block : 0;
		c->name_block = p->names;
		c->name_block_len = p->names_len;
	}
	while (pos < end) {
		int64_t len = parse_central(p, pos, end - pos, d->base);
		if (len < 0)
			return (int)len;
		if (len == 0) {
			broken = true;
			break;
		}
		records++;
		pos += (uint64_t)len;
	}
	p->incomplete = broken || p->limit_hit;
	if (!p->incomplete && records != d->count)
		msi_container_finding(c, "zip.cd.count_mismatch", "central directory",
		                      "the end record counts %llu entries, the directory holds %llu",
		                      (unsigned long long)d->count, (unsigned long long)records);
	for (size_t i = 0; i < c->count; i++) {
		if (!p->aux[i].placed)
			continue;
		rc = check_local(p, i);
		if (rc != MS_OK)
			return rc;
	}
	rc = check_layout(p, d->cd_start);
	return rc == MS_OK ? msi_zip_check_duplicates(p->c, p->hash) : rc;
}

/* Parses into p->c; MS_EFORMAT when the bytes are not a zip at all. */
static int parse(zparse *p)
{
	uint8_t head[4] = { 0 };
	int rc = MS_OK;
	if (p->size >= 4 && (rc = msi_source_read(p->w.src, 0, head, 4)) != MS_OK)
		return rc;
	bool starts = p->size >= 4 && msi_le32(head) == SIG_LOCAL;
	bool empty_zip = p->size >= 4 && msi_le32(head) == SIG_EOCD;
	uint64_t e = 0;
	bool found, exact, ok = false;
	rc = find_eocd(p, &e, &found, &exact);
	if (rc != MS_OK)
		return rc;
	/* A zip found only by its tail must end exactly with its EOCD: a tar
	 * or other file merely holding a zip near its end is not a zip. */
	if (!starts && !empty_zip && !exact)
		return msi_error(MS_EFORMAT, "not a zip archive");
	zdir d = { 0 };
	if (found) {
		rc = read_eocd(p, e, &d);
		if (rc == MS_OK)
			rc = locate_cd(p, &d, &ok);
		if (rc != MS_OK)
			return rc;
	}
	if (!ok && !starts && !empty_zip)
		return msi_error(MS_EFORMAT, "not a zip archive (no usable central directory)");
	if (ok)
		return parse_directory(p, &d);
	if (!found)
		msi_container_finding(p->c, "zip.eocd.missing", "",
		                      "no end-of-central-directory record in the last %u bytes: the archive "
		                      "is truncated or not a zip", EOCD_LEN + MAX_COMMENT);
	rc = forward_scan(p);
	return rc == MS_OK ? msi_zip_check_duplicates(p->c, p->hash) : rc;
}

int msi_zip_open(msi_source *src, const msi_limits *limits, msi_container **out)
{
	*out = NULL;
	msi_container *c = msi_calloc(1, sizeof *c);
	if (!c)
		return msi_error(MS_ENOMEM, "out of memory");
	c->kind = "zip";
	c->ops = &msi_zip_ops;
	c->src = msi_source_ref(src);
	c->findings = msi_report_new(NULL, NULL);
	zparse p = { .c = c, .lim = limits, .size = src->size };
	p.w.src = src;
	p.w.mem = msi_source_memory(src);
	int rc = c->findings ? parse(&p) : msi_error(MS_ENOMEM, "out of memory");
	if (rc == MS_OK && c->findings->failed)
		rc = msi_error(MS_ENOMEM, "out of memory");
	/* The impl holds one byte of flags per entry: ZENT_SKIP when verify
	 * skips it (unsafe, too large or a declared-size bomb, all reported
	 * already). */
	uint8_t *flags = rc == MS_OK ? msi_zip_impl_new(c) : NULL;
	if (rc == MS_OK && !flags)
		rc = msi_error(MS_ENOMEM, "out of memory");
	for (size_t i = 0; rc == MS_OK && i < c->count; i++)
		flags[i] = p.aux[i].skip || c->entries[i].unsafe ? ZENT_SKIP : 0;
	msi_big_free(p.w.buf, WIN_CAP);
	msi_big_free(p.aux, p.aux_cap * sizeof *p.aux);
	msi_big_free(p.hash, p.hash_cap * sizeof *p.hash);
	if (rc != MS_OK) {
		msi_container_free(c);
		return rc;
	}
	*out = c;
	return MS_OK;
}

bool msi_zip_looks_like(const uint8_t *head, size_t head_len, const uint8_t *tail, size_t tail_len)
{
	if (head_len >= 4 && head[0] == 'P' && head[1] == 'K' &&
	    ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6)))
		return true;
	/* A zip appended to other bytes (a pickle/zip polyglot): its EOCD ends
	 * the file exactly (see parse()). */
	if (!tail || tail_len < EOCD_LEN)
		return false;
	for (size_t i = tail_len - EOCD_LEN + 1; i-- > 0;)
		if (tail[i] == 'P' && msi_le32(tail + i) == SIG_EOCD && i + EOCD_LEN + msi_le16(tail + i + 20) == tail_len)
			return true;
	return false;
}
