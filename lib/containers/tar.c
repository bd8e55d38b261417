/*
 * tar container: ustar, pax extended headers (x and g), GNU long names and
 * links (L/K), old v7 headers. Headers are read one 512-byte block at a time
 * with pread (msi_source_read), so memory holds the listing, never the
 * archive. Member data is never read here: open_entry hands out a slice.
 *
 * Where readers disagree, this one follows Python's tarfile (serialzy and
 * most model tooling write and read tars with it): which extension header
 * wins, which types carry data blocks, when the prefix field applies. The
 * disagreements that let one archive look different to different
 * extractors are reported as findings.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/path.h"
#include "container.h"

#define BLOCK 512u

/* ustar header layout (POSIX.1-1988), offsets and widths */
#define H_NAME 0
#define H_MODE 100
#define H_SIZE 124
#define H_MTIME 136
#define H_CHKSUM 148
#define H_TYPE 156
#define H_LINK 157
#define H_MAGIC 257
#define H_PREFIX 345
#define H_SPARSE_EXT 482 /* old GNU sparse: "more sparse blocks follow" */

/* Long names and links apply to the next member; the first extension
 * header of a chain wins, as in Python's tarfile. */
typedef struct ext_state {
	char *name, *link;
	size_t name_len, link_len;
	bool has_name, has_link, has_size, sparse, pending;
	uint64_t size;
} ext_state;

typedef struct parser {
	msi_container *c;
	const msi_limits *limits;
	uint64_t size;       /* of the source */
	size_t cap;          /* entries allocated */
	uint64_t name_bytes; /* names and targets kept, against max_metadata */
	ext_state ext;
	ext_state global; /* path and linkpath of g headers: apply to every later member */
} parser;

static void ext_clear(ext_state *e)
{
	msi_free(e->name);
	msi_free(e->link);
	memset(e, 0, sizeof *e);
}

/* Moves what `from` sets into `to`: for a global header every field it
 * has (the latest g wins); otherwise only the fields `to` lacks (the first
 * extension header of a chain wins, as in Python's tarfile). */
static void ext_merge(ext_state *to, ext_state *from, bool global)
{
	if (from->has_name && (global || !to->has_name)) {
		msi_free(to->name);
		to->name = from->name, to->name_len = from->name_len, to->has_name = true;
		from->name = NULL;
	}
	if (from->has_link && (global || !to->has_link)) {
		msi_free(to->link);
		to->link = from->link, to->link_len = from->link_len, to->has_link = true;
		from->link = NULL;
	}
	if (global) /* a global size would desynchronise tarfile: never used */
		return;
	if (from->has_size && !to->has_size)
		to->size = from->size, to->has_size = true;
	to->sparse |= from->sparse;
	to->pending = true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* A numeric header field: octal digits, optionally surrounded by spaces and
 * ended by NUL (empty means 0), or GNU base-256 (first byte 0x80; 0xff marks
 * a negative number, which no field we use may hold). */
static bool parse_number(const uint8_t *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (f[0] == 0x80 || f[0] == 0xff) {
		if (f[0] == 0xff)
			return false;
		for (size_t i = 1; i < n; i++) {
			if (v >> 56)
				return false;
			v = v << 8 | f[i];
		}
		*out = v;
		return true;
	}
	size_t end = 0;
	while (end < n && f[end])
		end++;
	size_t i = 0;
	while (i < end && f[i] == ' ')
		i++;
	while (end > i && f[end - 1] == ' ')
		end--;
	for (; i < end; i++) {
		if (f[i] < '0' || f[i] > '7' || v >> 61)
			return false;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	*out = v;
	return true;
}

/* The checksum treats its own field as spaces; some old tars summed signed
 * chars, so either sum is accepted (as GNU tar and Python do). */
static bool checksum_ok(const uint8_t *h)
{
	uint64_t want;
	if (!parse_number(h + H_CHKSUM, 8, &want))
		return false;
	uint64_t usum = 8 * ' ';
	int64_t ssum = 8 * ' ';
	for (size_t i = 0; i < BLOCK; i++) {
		if (i >= H_CHKSUM && i < H_CHKSUM + 8)
			continue;
		usum += h[i];
		ssum += (int8_t)h[i];
	}
	return want == usum || (ssum >= 0 && want == (uint64_t)ssum);
}

static bool is_ustar(const uint8_t *h) { return memcmp(h + H_MAGIC, "ustar", 5) == 0; }
static bool is_gnu_magic(const uint8_t *h) { return memcmp(h + H_MAGIC, "ustar  \0", 8) == 0; }

/* An old-style (v7) header has no magic; recognise it by a correct checksum
 * and sane fields, which random bytes almost never have. */
static bool looks_like_v7(const uint8_t *h)
{
	uint64_t v;
	return h[0] != 0 && checksum_ok(h) && parse_number(h + H_MODE, 8, &v) && parse_number(h + H_SIZE, 12, &v) &&
	       parse_number(h + H_MTIME, 12, &v);
}

bool msi_tar_looks_like(const uint8_t *head, size_t head_len)
{
	return head_len >= BLOCK && (is_ustar(head) || looks_like_v7(head));
}

/* Offset of the header after `n` data bytes starting at `data`. */
static bool after_data(uint64_t data, uint64_t n, uint64_t *next)
{
	uint64_t padded;
	return msi_add_u64(n, (BLOCK - n % BLOCK) % BLOCK, &padded) && msi_add_u64(data, padded, next);
}

static void at(char *where, size_t cap, uint64_t off)
{
	snprintf(where, cap, "offset %llu", (unsigned long long)off);
}

/* Keeps the bytes of `v` in *dst (replacing it). */
static bool keep(char **dst, size_t *dst_len, const char *v, size_t n)
{
	char *s = msi_malloc(n + 1);
	if (!s)
		return false;
	memcpy(s, v, n);
	s[n] = '\0';
	msi_free(*dst);
	*dst = s;
	*dst_len = n;
	return true;
}

static bool key_is(const char *k, size_t kl, const char *want)
{
	return kl == strlen(want) && memcmp(k, want, kl) == 0;
}

/* Parses the records "<len> <keyword>=<value>\n" of a pax header. Within
 * one header the last record of a keyword wins; across a chain of headers
 * the first header wins (`ext` fields already set are kept). Returns
 * MS_OK, MS_EFORMAT for a malformed record, or MS_ENOMEM. */
static int parse_pax(parser *p, const char *buf, size_t n, bool global)
{
	ext_state x;
	memset(&x, 0, sizeof x);
	int rc = MS_OK;
	size_t pos = 0;
	while (pos < n && buf[pos] != '\0' && rc == MS_OK) {
		size_t i = pos;
		uint64_t len = 0;
		while (i < n && buf[i] >= '0' && buf[i] <= '9' && i - pos < 19)
			len = len * 10 + (uint64_t)(buf[i++] - '0');
		/* shortest record: "5 x=\n" */
		if (i == pos || i >= n || buf[i] != ' ' || len < 5 || len > n - pos || pos + len - 1 < i + 1 ||
		    buf[pos + len - 1] != '\n') {
			rc = MS_EFORMAT;
			break;
		}
		const char *kv = buf + i + 1;
		size_t kvlen = (size_t)(pos + len - 1 - (i + 1));
		const char *eq = memchr(kv, '=', kvlen);
		if (!eq || eq == kv) {
			rc = MS_EFORMAT;
			break;
		}
		size_t kl = (size_t)(eq - kv), vl = kvlen - kl - 1;
		const char *v = eq + 1;
		if (key_is(kv, kl, "path")) {
			x.has_name = true;
			if (!keep(&x.name, &x.name_len, v, vl))
				rc = MS_ENOMEM;
		} else if (key_is(kv, kl, "linkpath")) {
			x.has_link = true;
			if (!keep(&x.link, &x.link_len, v, vl))
				rc = MS_ENOMEM;
		} else if (key_is(kv, kl, "size")) {
			uint64_t s = 0;
			bool ok = vl > 0 && vl <= 20;
			for (size_t k = 0; ok && k < vl; k++)
				ok = v[k] >= '0' && v[k] <= '9' && msi_mul_u64(s, 10, &s) &&
				     msi_add_u64(s, (uint64_t)(v[k] - '0'), &s);
			if (!ok)
				rc = MS_EFORMAT;
			x.size = s;
			x.has_size = true;
		} else if (kl > 11 && memcmp(kv, "GNU.sparse.", 11) == 0) {
			/* GNU sparse 0.1/1.0: the header names a placeholder
			 * ("GNUSparseFile.<pid>/x"); the real name is here. */
			x.sparse = true;
			if (key_is(kv, kl, "GNU.sparse.name")) {
				x.has_name = true;
				if (!keep(&x.name, &x.name_len, v, vl))
					rc = MS_ENOMEM;
			}
		}
		pos += (size_t)len;
	}
	if (rc == MS_OK)
		ext_merge(global ? &p->global : &p->ext, &x, global);
	ext_clear(&x);
	return rc;
}

/* Reads an extension header's data (pax records, GNU long name) into
 * memory, capped by max_header_size. Returns MS_OK with *out (NUL-
 * terminated), MS_EFORMAT after adding a finding, or a read error. */
static int read_ext_data(parser *p, uint64_t off, uint64_t n, char **out)
{
	char where[48];
	at(where, sizeof where, off);
	*out = NULL;
	if (n > p->limits->max_header_size) {
		msi_container_finding(p->c, "tar.header.invalid", where,
		                      "an extension header holds %llu bytes, above the limit of %llu",
		                      (unsigned long long)n, (unsigned long long)p->limits->max_header_size);
		return MS_EFORMAT;
	}
	if (!msi_range_ok(off + BLOCK, n, p->size)) {
		msi_container_finding(p->c, "tar.truncated", where, "the archive ends inside an extension header");
		return MS_EFORMAT;
	}
	char *buf = msi_malloc((size_t)n + 1);
	if (!buf)
		return msi_error(MS_ENOMEM, "out of memory");
	int rc = msi_source_read(p->c->src, off + BLOCK, buf, (size_t)n);
	if (rc != MS_OK) {
		msi_free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	return MS_OK;
}

/* Adds an entry (taking `name` and `link`). */
static int add_entry(parser *p, char *name, char *link, msi_entry_type type, uint64_t size, uint64_t data)
{
	msi_container *c = p->c;
	if (c->count == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 32;
		msi_entry *ne = msi_reallocarray(c->entries, ncap, sizeof *ne);
		if (!ne) {
			msi_free(name);
			msi_free(link);
			return msi_error(MS_ENOMEM, "out of memory");
		}
		c->entries = ne;
		p->cap = ncap;
	}
	msi_entry *e = &c->entries[c->count++];
	memset(e, 0, sizeof *e);
	e->name = name;
	e->link_target = link;
	e->type = type;
	e->size = size;
	e->csize = size;
	e->data_offset = data;
	return MS_OK;
}

/* Strips leading "./" (serialzy's tars name "./saved_model.pb") and turns
 * "." into "". Does not touch other slashes: ".//etc" stays absolute. */
static void normalise(const char **s, size_t *n)
{
	while (*n >= 2 && (*s)[0] == '.' && (*s)[1] == '/')
		*s += 2, *n -= 2;
	if (*n == 1 && (*s)[0] == '.')
		*n = 0;
}

typedef enum { STEP_NEXT, STEP_STOP } step;

/* The data is all there; is the padding up to the next header too? */
static int padding_check(parser *p, const char *where, uint64_t next, step *st)
{
	*st = STEP_NEXT;
	if (next > p->size) {
		msi_container_finding(p->c, "tar.truncated", where, "the archive ends inside the padding of a member");
		*st = STEP_STOP;
	}
	return MS_OK;
}

/* Handles one member header at `off` (extension headers already folded
 * into p->ext). Sets *next to the following header. */
static int member(parser *p, const uint8_t *h, uint64_t off, uint64_t hsize, uint64_t *next, step *st)
{
	msi_container *c = p->c;
	char where[48];
	at(where, sizeof where, off);
	*st = STEP_STOP;
	uint8_t type = h[H_TYPE];
	uint64_t data = off + BLOCK;

	/* The name: long name or pax path, else global path, else the header
	 * (with the ustar prefix, which GNU headers use for other things). */
	char hname[256 + 1];
	const char *raw;
	size_t raw_len;
	if (p->ext.has_name) {
		raw = p->ext.name, raw_len = p->ext.name_len;
	} else if (p->global.has_name) {
		raw = p->global.name, raw_len = p->global.name_len;
	} else {
		size_t nl = strnlen((const char *)h + H_NAME, 100), pl = 0;
		if (!is_gnu_magic(h))
			pl = strnlen((const char *)h + H_PREFIX, 155);
		raw_len = 0;
		if (pl) {
			memcpy(hname, h + H_PREFIX, pl);
			hname[pl] = '/';
			raw_len = pl + 1;
		}
		memcpy(hname + raw_len, h + H_NAME, nl);
		raw_len += nl;
		hname[raw_len] = '\0';
		raw = hname;
	}
	char hlink[101];
	const char *rawlink;
	size_t rawlink_len;
	if (p->ext.has_link) {
		rawlink = p->ext.link, rawlink_len = p->ext.link_len;
	} else if (p->global.has_link) {
		rawlink = p->global.link, rawlink_len = p->global.link_len;
	} else {
		rawlink_len = strnlen((const char *)h + H_LINK, 100);
		memcpy(hlink, h + H_LINK, rawlink_len);
		hlink[rawlink_len] = '\0';
		rawlink = hlink;
	}
	uint64_t dsize = p->ext.has_size ? p->ext.size : hsize;

	msi_entry_type et = MSI_ENTRY_OTHER;
	bool has_data = false, device = false, unknown = false;
	switch (type) {
	case '0': case '7':
		et = MSI_ENTRY_FILE, has_data = true;
		break;
	case '\0': /* v7 marks directories with a trailing slash only */
		has_data = !(raw_len && raw[raw_len - 1] == '/');
		et = has_data ? MSI_ENTRY_FILE : MSI_ENTRY_DIR;
		break;
	case '1': et = MSI_ENTRY_HARDLINK; break;
	case '2': et = MSI_ENTRY_SYMLINK; break;
	case '3': case '4': case '6': device = true; break;
	case '5': et = MSI_ENTRY_DIR; break;
	default: unknown = true, has_data = true; break; /* Python reads these as files */
	}
	if (p->ext.sparse || type == 'S') {
		et = MSI_ENTRY_OTHER;
		unknown = true;
	}

	/* Old GNU sparse headers are followed by extra map blocks. */
	if (type == 'S') {
		uint8_t blk[BLOCK];
		bool more = h[H_SPARSE_EXT] != 0;
		while (more) {
			if (!msi_range_ok(data, BLOCK, p->size)) {
				msi_container_finding(c, "tar.truncated", where, "the archive ends inside a sparse map");
				return MS_OK;
			}
			int rc = msi_source_read(c->src, data, blk, BLOCK);
			if (rc != MS_OK)
				return rc;
			data += BLOCK;
			more = blk[504] != 0;
		}
	}

	const char *nm = raw;
	size_t nl = raw_len;
	normalise(&nm, &nl);
	if (et == MSI_ENTRY_DIR) /* "a/" is "a"; "/" stays, to be flagged */
		while (nl > 1 && nm[nl - 1] == '/')
			nl--;
	if (et == MSI_ENTRY_DIR && nl == 1 && nm[0] == '/' && raw_len > 1 && raw[0] == '.')
		nl = 0; /* ".//": the root again */
	if (!has_data && dsize > 0) {
		msi_container_finding(c, "tar.header.size_ignored", where,
		                      "the %s header declares %llu data bytes; this reader (like Python's tarfile) "
		                      "skips none, other tools may skip them",
		                      et == MSI_ENTRY_DIR ? "directory" : device ? "device" : "link",
		                      (unsigned long long)dsize);
	}
	if (!has_data)
		dsize = 0;
	if (!after_data(data, dsize, next)) {
		msi_container_finding(c, "tar.header.invalid", where, "the member size %llu overflows",
		                      (unsigned long long)dsize);
		return MS_OK;
	}

	/* The root itself ("./", "."): not a member of its own. */
	if (nl == 0 && raw_len > 0 && et == MSI_ENTRY_DIR)
		return padding_check(p, where, *next, st);

	if (c->count >= p->limits->max_members) {
		msi_container_finding(c, "tar.too_many_members", where,
		                      "the archive holds more than %llu members; the rest is not listed",
		                      (unsigned long long)p->limits->max_members);
		return MS_OK;
	}
	size_t kept_len = strnlen(nm, nl) + strnlen(rawlink, rawlink_len);
	if (!msi_add_u64(p->name_bytes, kept_len, &p->name_bytes) || p->name_bytes > p->limits->max_metadata) {
		msi_container_finding(c, "tar.too_many_members", where,
		                      "member names and link targets exceed %llu bytes; the rest is not listed",
		                      (unsigned long long)p->limits->max_metadata);
		return MS_OK;
	}
	char *name = msi_strndup(nm, nl);
	const char *ln = rawlink;
	size_t ll = rawlink_len;
	if (et == MSI_ENTRY_HARDLINK)
		normalise(&ln, &ll); /* hard links name members: "./a" is "a" */
	char *link = (et == MSI_ENTRY_HARDLINK || et == MSI_ENTRY_SYMLINK) ? msi_strndup(ln, ll) : NULL;
	if (!name || ((et == MSI_ENTRY_HARDLINK || et == MSI_ENTRY_SYMLINK) && !link)) {
		msi_free(name);
		msi_free(link);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	bool safe = msi_name_check(c->findings, "tar", nm, nl);
	int rc = add_entry(p, name, link, et, dsize, has_data ? data : 0);
	if (rc != MS_OK)
		return rc;
	msi_entry *e = &c->entries[c->count - 1];
	e->unsafe = !safe;
	if (device) {
		msi_container_finding(c, "tar.member.device", e->name, "member '%.200s' is a %s", e->name,
		                      type == '3' ? "character device" : type == '4' ? "block device" : "FIFO");
		e->unsafe = true;
	} else if (unknown) {
		if (type == 'S' || p->ext.sparse)
			msi_container_finding(c, "tar.member.type", e->name,
			                      "member '%.200s' is a GNU sparse file, which this reader does not expand",
			                      e->name);
		else
			msi_container_finding(c, "tar.member.type", e->name,
			                      "member '%.200s' has the unknown type flag 0x%02x (read as data)", e->name,
			                      type);
	}
	if (has_data && dsize > p->limits->max_member_size) {
		msi_container_finding(c, "tar.member.too_large", e->name,
		                      "member '%.200s' declares %llu bytes, above the limit of %llu", e->name,
		                      (unsigned long long)dsize, (unsigned long long)p->limits->max_member_size);
		e->unsafe = true;
	}
	if (has_data && !msi_range_ok(data, dsize, p->size)) {
		msi_container_finding(c, "tar.truncated", e->name,
		                      "the archive ends inside member '%.200s' (%llu bytes declared, %llu present)",
		                      e->name, (unsigned long long)dsize,
		                      (unsigned long long)(p->size > data ? p->size - data : 0));
		e->unsafe = true;
		return MS_OK;
	}
	return padding_check(p, where, *next, st);
}

/* Any non-zero byte in [off, end)? Streams, so memory stays flat. */
static int nonzero_cb(const uint8_t *d, size_t n, void *user)
{
	MSI_UNUSED(user);
	return all_zero(d, n) ? 0 : 1;
}

static int end_of_archive(parser *p, uint64_t off)
{
	char where[48];
	at(where, sizeof where, off);
	uint64_t rest = off + BLOCK;
	uint8_t blk[BLOCK];
	if (p->size - rest < BLOCK) {
		msi_container_finding(p->c, "tar.end.missing", where, "the archive ends after a single zero block");
	} else {
		int rc = msi_source_read(p->c->src, rest, blk, BLOCK);
		if (rc != MS_OK)
			return rc;
		if (all_zero(blk, BLOCK))
			rest += BLOCK;
		else
			msi_container_finding(p->c, "tar.end.missing", where,
			                      "a lone zero block is followed by more data");
	}
	int r = msi_source_stream(p->c->src, rest, p->size - rest, nonzero_cb, NULL, NULL);
	if (r < 0)
		return r;
	if (r > 0)
		msi_container_finding(p->c, "tar.trailing_data", where,
		                      "non-zero bytes follow the end of the archive (extractors ignore them)");
	return MS_OK;
}

/* Walks the headers. Returns MS_OK (breakage is in findings), MS_EFORMAT
 * when the first block is not a tar header, or a read/memory error. */
static int walk(parser *p)
{
	msi_container *c = p->c;
	uint8_t h[BLOCK];
	char where[48];
	uint64_t off = 0;
	for (;;) {
		at(where, sizeof where, off);
		if (off >= p->size) {
			if (off == 0)
				return msi_error(MS_EFORMAT, "not a tar archive (empty)");
			if (p->ext.pending)
				msi_container_finding(c, "tar.truncated", where,
				                      "the archive ends after an extension header, before its member");
			msi_container_finding(c, "tar.end.missing", where,
			                      "the archive ends without the two zero blocks that close it");
			return MS_OK;
		}
		if (p->size - off < BLOCK) {
			if (off == 0)
				return msi_error(MS_EFORMAT, "not a tar archive (shorter than one block)");
			msi_container_finding(c, "tar.truncated", where, "the archive ends inside a header");
			return MS_OK;
		}
		int rc = msi_source_read(c->src, off, h, BLOCK);
		if (rc != MS_OK)
			return rc;
		if (all_zero(h, BLOCK)) {
			if (off == 0) {
				/* Only an empty archive (two zero blocks, often a whole
				 * zero record) starts like this. */
				if (p->size < 2 * BLOCK)
					return msi_error(MS_EFORMAT, "not a tar archive (zero bytes)");
				uint8_t h2[BLOCK];
				rc = msi_source_read(c->src, BLOCK, h2, BLOCK);
				if (rc != MS_OK)
					return rc;
				if (!all_zero(h2, BLOCK))
					return msi_error(MS_EFORMAT, "not a tar archive (starts with a zero block)");
			}
			if (p->ext.pending)
				msi_container_finding(c, "tar.header.invalid", where,
				                      "an extension header is followed by the end of the archive");
			return end_of_archive(p, off);
		}
		if (!checksum_ok(h)) {
			if (off == 0 && !is_ustar(h))
				return msi_error(MS_EFORMAT, "not a tar archive (no ustar magic, bad checksum)");
			msi_container_finding(c, "tar.header.checksum", where,
			                      "the header checksum is wrong; the rest of the archive is not read");
			return MS_OK;
		}
		uint64_t hsize;
		if (!parse_number(h + H_SIZE, 12, &hsize)) {
			msi_container_finding(c, "tar.header.invalid", where,
			                      "the size field is not a number; the rest of the archive is not read");
			return MS_OK;
		}
		uint8_t type = h[H_TYPE];
		uint64_t next;
		if (!after_data(off + BLOCK, hsize, &next)) {
			msi_container_finding(c, "tar.header.invalid", where, "the size %llu overflows",
			                      (unsigned long long)hsize);
			return MS_OK;
		}
		if (type == 'x' || type == 'g' || type == 'X' || type == 'L' || type == 'K') {
			char *buf;
			rc = read_ext_data(p, off, hsize, &buf);
			if (rc == MS_EFORMAT)
				return MS_OK; /* finding added */
			if (rc != MS_OK)
				return rc;
			if (type == 'L' || type == 'K') {
				/* GNU long name/link: a NUL-terminated string */
				ext_state x;
				memset(&x, 0, sizeof x);
				if (type == 'L')
					x.name = buf, x.name_len = strlen(buf), x.has_name = true;
				else
					x.link = buf, x.link_len = strlen(buf), x.has_link = true;
				ext_merge(&p->ext, &x, false);
				ext_clear(&x);
			} else {
				rc = parse_pax(p, buf, (size_t)hsize, type == 'g');
				msi_free(buf);
				if (rc == MS_EFORMAT) {
					msi_container_finding(c, "tar.pax.invalid", where,
					                      "a pax record is malformed; the rest of the archive is not read");
					return MS_OK;
				}
				if (rc != MS_OK)
					return msi_error(rc, "out of memory");
			}
			if (next > p->size) {
				msi_container_finding(c, "tar.truncated", where,
				                      "the archive ends inside the padding of an extension header");
				return MS_OK;
			}
			off = next;
			continue;
		}
		step st;
		rc = member(p, h, off, hsize, &next, &st);
		ext_clear(&p->ext);
		if (rc != MS_OK || st == STEP_STOP)
			return rc;
		off = next;
	}
}

/* ---- after the walk: duplicates and links ---- */

typedef struct named {
	const char *name;
	size_t idx;
} named;

static int cmp_named(const void *a, const void *b)
{
	const named *x = a, *y = b;
	int r = strcmp(x->name, y->name);
	return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_name_only(const void *a, const void *b)
{
	return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

typedef struct link_table {
	const msi_container *c;
	named *links; /* symlink members, sorted by name then archive order */
	size_t n;
} link_table;

/* msi_path_readlink_fn over the archive's own symlinks: an extractor
 * creates them before later members, so paths run through them. */
static int table_readlink(void *user, const char *path, msi_buf *target)
{
	const link_table *t = user;
	if (t->n == 0) /* bsearch must not see a NULL array */
		return 0;
	named key = { path, 0 };
	const named *hit = bsearch(&key, t->links, t->n, sizeof key, cmp_name_only);
	if (!hit)
		return 0;
	while (hit + 1 < t->links + t->n && strcmp(hit[1].name, path) == 0)
		hit++; /* the last one wins on extraction */
	msi_buf_puts(target, t->c->entries[hit->idx].link_target);
	return 1;
}

static int check_links(msi_container *c)
{
	link_table t = { c, NULL, 0 };
	for (size_t i = 0; i < c->count; i++)
		t.n += c->entries[i].type == MSI_ENTRY_SYMLINK;
	if (t.n) {
		t.links = msi_calloc(t.n, sizeof *t.links);
		if (!t.links)
			return msi_error(MS_ENOMEM, "out of memory");
		size_t k = 0;
		for (size_t i = 0; i < c->count; i++)
			if (c->entries[i].type == MSI_ENTRY_SYMLINK)
				t.links[k++] = (named){ c->entries[i].name, i };
		qsort(t.links, t.n, sizeof *t.links, cmp_named);
	}
	int rc = MS_OK;
	msi_buf path = MSI_BUF_INIT;
	for (size_t i = 0; i < c->count && rc == MS_OK; i++) {
		msi_entry *e = &c->entries[i];
		msi_link_verdict v;
		/* A member whose parent is a symlink is written where it points. */
		if (t.n && !e->unsafe && strchr(e->name, '/')) {
			rc = msi_path_resolve(e->name, strlen(e->name), false, table_readlink, &t, &v);
			if (rc == MS_OK && v == MSI_LINK_OUTSIDE) {
				msi_container_finding(c, "tar.member.link_escape", e->name,
				                      "member '%.200s' lies under a symlink member that leads outside "
				                      "the archive root",
				                      e->name);
				e->unsafe = true;
			}
		}
		if (rc != MS_OK || (e->type != MSI_ENTRY_SYMLINK && e->type != MSI_ENTRY_HARDLINK))
			continue;
		bool sym = e->type == MSI_ENTRY_SYMLINK;
		path.len = 0;
		if (sym) {
			/* relative to the link's own directory */
			const char *slash = strrchr(e->name, '/');
			if (slash && e->link_target[0] != '/') {
				msi_buf_append(&path, e->name, (size_t)(slash - e->name));
				msi_buf_putc(&path, '/');
			}
		}
		msi_buf_puts(&path, e->link_target);
		if (path.failed) {
			rc = msi_error(MS_ENOMEM, "out of memory");
			break;
		}
		rc = msi_path_resolve(path.data ? path.data : "", path.len, sym, table_readlink, &t, &v);
		if (rc != MS_OK)
			break;
		const char *what = sym ? "symlink" : "hard link";
		if (v == MSI_LINK_OUTSIDE) {
			msi_container_finding(c, "tar.member.link_escape", e->name,
			                      "%s member '%.200s' points outside the archive root, to '%.200s'", what,
			                      e->name, e->link_target);
			e->unsafe = true;
		} else {
			msi_container_finding(c, "tar.member.link", e->name, "%s member '%.200s' -> '%.200s'%s", what,
			                      e->name, e->link_target,
			                      v == MSI_LINK_LOOP ? " (does not resolve: a symlink loop)" : "");
		}
	}
	msi_buf_free(&path);
	msi_free(t.links);
	return rc;
}

static int check_duplicates(msi_container *c)
{
	if (c->count < 2)
		return MS_OK;
	named *v = msi_calloc(c->count, sizeof *v);
	if (!v)
		return msi_error(MS_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->count; i++)
		v[i] = (named){ c->entries[i].name, i };
	qsort(v, c->count, sizeof *v, cmp_named);
	for (size_t i = 1; i < c->count; i++) {
		if (strcmp(v[i].name, v[i - 1].name) != 0)
			continue;
		size_t j = i;
		bool all_dirs = c->entries[v[i - 1].idx].type == MSI_ENTRY_DIR;
		while (j < c->count && strcmp(v[j].name, v[i - 1].name) == 0)
			all_dirs &= c->entries[v[j++].idx].type == MSI_ENTRY_DIR;
		/* Repeating a directory is harmless; anything else shadows. */
		if (!all_dirs)
			msi_container_finding(c, "tar.member.duplicate", v[i].name,
			                      "the name '%.200s' appears %zu times; extraction keeps the last one",
			                      v[i].name, j - i + 1);
		i = j - 1;
	}
	msi_free(v);
	return MS_OK;
}

static int tar_open_entry(msi_container *c, size_t index, uint64_t max_size, msi_source **out)
{
	/* Member data is stored: a slice costs no memory, so max_size (which
	 * bounds inflation) does not apply. */
	MSI_UNUSED(max_size);
	*out = NULL;
	if (index >= c->count)
		return msi_error(MS_EINVAL, "tar entry %zu does not exist", index);
	const msi_entry *e = &c->entries[index];
	if (e->unsafe)
		return msi_error(MS_EFORMAT, "tar member '%.200s' is unsafe and is not opened", e->name);
	if (e->type == MSI_ENTRY_HARDLINK) {
		/* A hard link reads as the latest earlier member of that name. */
		const msi_entry *t = NULL;
		for (size_t i = index; i-- > 0;)
			if (strcmp(c->entries[i].name, e->link_target) == 0) {
				t = &c->entries[i];
				break;
			}
		if (!t || t->type != MSI_ENTRY_FILE || t->unsafe)
			return msi_error(MS_ENOTFOUND, "hard link '%.200s' does not lead to a readable member",
			                 e->name);
		e = t;
	}
	if (e->type != MSI_ENTRY_FILE)
		return msi_error(MS_EINVAL, "tar member '%.200s' is not a regular file", e->name);
	return msi_source_slice(c->src, e->data_offset, e->size, out);
}

static const msi_container_ops tar_ops = { tar_open_entry, NULL, NULL };

int msi_tar_open(msi_source *src, const msi_limits *limits, msi_container **out)
{
	*out = NULL;
	msi_container *c = msi_calloc(1, sizeof *c);
	if (!c || !(c->findings = msi_report_new(NULL, NULL))) {
		msi_free(c);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	c->kind = "tar";
	c->ops = &tar_ops;
	c->src = msi_source_ref(src);
	parser p;
	memset(&p, 0, sizeof p);
	p.c = c;
	p.limits = limits;
	p.size = src->size;
	int rc = walk(&p);
	ext_clear(&p.ext);
	ext_clear(&p.global);
	if (rc == MS_OK)
		rc = check_duplicates(c);
	if (rc == MS_OK)
		rc = check_links(c);
	if (rc == MS_OK && c->findings->failed)
		rc = msi_error(MS_ENOMEM, "out of memory");
	if (rc != MS_OK) {
		msi_container_free(c);
		return rc;
	}
	*out = c;
	return MS_OK;
}
