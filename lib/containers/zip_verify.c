/*
 * ZIP members: the policy on declared fields (methods, encryption, sizes,
 * zip bombs), opening one member (zero copy when stored, inflated into
 * bounded memory when deflated), verifying every member's CRC-32 and size
 * by streaming, and libzip's consistency check as a second opinion. The
 * structure itself (end records, directory, local headers) is parsed in
 * zip.c, which fills the ZENT_* flags of c->impl (a zimpl) for each entry.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <zip.h>
#include <zlib.h>

#include "container.h"

#define IO_CHUNK (256u * 1024u) /* inflate input and output windows */

#define FLAG_ENCRYPTED 0x0001u

/* Per-entry flags (ZENT_SKIP is also defined in zip.c). */
#define ZENT_SKIP 0x01u     /* verify must not stream it: unsafe, too large or a bomb */
#define ZENT_VERIFIED 0x02u /* inflated whole once with size and CRC-32 right */

/*
 * Validation verifies the container first and lets the format read members
 * afterwards, so a deflated member the format reads (a TorchScript code
 * file, a pickle) would be inflated twice. Verify therefore inflates small
 * deflated members whole and keeps the result for open_entry, which hands
 * it over once (the copy then belongs to the source it returns). Bounded:
 * members up to HOLD_MEMBER_MAX, HOLD_BUDGET bytes in all.
 */
#define HOLD_MEMBER_MAX (4u * 1024u * 1024u)
#define HOLD_BUDGET (16u * 1024u * 1024u)

/* c->impl of a zip container. */
typedef struct zimpl {
	size_t count;
	struct zheld {
		uint8_t *buf;   /* verify's inflated copy of the entry (a msi_big_* block), or NULL */
		size_t block;   /* its block size */
	} *held;            /* one per entry (allocated with the first copy) */
	size_t held_bytes;
	uint8_t flags[];    /* ZENT_* per entry */
} zimpl;

/*
 * Whole members are inflated with zlib, not libdeflate, though libdeflate
 * is ~2.5x faster: by design it accepts some streams zlib rejects (invalid
 * symbols remapped, some malformed headers let through), so a crafted
 * member that decodes that way to its declared size and CRC-32 would lose
 * the zip.member.inflate finding that Python's zipfile and torch would
 * give it.
 */

/*
 * Zip-bomb rule. Deflate cannot expand more than 1032:1 (its longest match,
 * 258 bytes, costs at least two bits), so a deflated member that declares
 * more than 1032 times its compressed size lies about its size: that is the
 * tell of a declared-size bomb. Members under 1 MiB are spared because they
 * cannot hurt. The real-world zip_bomb.pt declares 1 GiB for ~9 KiB.
 */
#define RATIO_MAX 1032u
#define RATIO_MIN_SIZE (1024u * 1024u)

/* Used by zip.c (no header: only it calls these). */
extern const msi_container_ops msi_zip_ops;
uint8_t *msi_zip_impl_new(msi_container *c);
bool msi_zip_check_member(ms_report *r, msi_entry *e, const msi_limits *lim);
int msi_zip_check_duplicates(msi_container *c, const uint32_t *hashes);

/* Findings on an entry's declared fields; marks what must never be opened
 * unsafe, and returns true when verify must not stream the member. */
bool msi_zip_check_member(ms_report *r, msi_entry *e, const msi_limits *lim)
{
	bool skip = false;
	if (e->flags & FLAG_ENCRYPTED) {
		msi_report_add(r, "zip.member.encrypted", e->name, "member '%.200s' is encrypted", e->name);
		e->unsafe = true;
	}
	if (e->method != 0 && e->method != 8) {
		msi_report_add(r, "zip.member.method", e->name, "member '%.200s' uses compression method %u (only "
		               "0 stored and 8 deflate are allowed)", e->name, e->method);
		e->unsafe = true;
	}
	if (e->size > lim->max_member_size) {
		msi_report_add(r, "zip.member.too_large", e->name, "member '%.200s' declares %llu bytes, above the "
		               "limit of %llu", e->name, (unsigned long long)e->size,
		               (unsigned long long)lim->max_member_size);
		skip = true;
	}
	if (e->method == 8 && e->size > RATIO_MIN_SIZE && (e->csize == 0 || e->size / e->csize > RATIO_MAX)) {
		msi_report_add(r, "zip.member.ratio", e->name, "member '%.200s' declares %llu bytes from %llu "
		               "compressed bytes, more than deflate can produce (%u:1)", e->name,
		               (unsigned long long)e->size, (unsigned long long)e->csize, RATIO_MAX);
		skip = true;
	}
	if (e->method == 0 && e->size != e->csize) {
		msi_report_add(r, "zip.member.stored_size", e->name, "stored member '%.200s' declares %llu bytes "
		               "but holds %llu", e->name, (unsigned long long)e->size, (unsigned long long)e->csize);
		e->unsafe = true;
	}
	return skip;
}

/* Two members of one name: tools disagree on which one counts (Python
 * takes the last, others the first), so every copy is unsafe. `hashes`
 * holds each name's hash (zip.c computes it while copying the name), so
 * names are compared only when their hashes are equal. */
int msi_zip_check_duplicates(msi_container *c, const uint32_t *hashes)
{
	if (c->count < 2)
		return MS_OK;
	if (c->count > UINT32_MAX / 4)
		return msi_error(MS_ELIMIT, "zip: too many members to check for duplicates");
	size_t slots = 16;
	while (slots < c->count * 2)
		slots *= 2;
	uint32_t *table = msi_calloc(slots, sizeof *table); /* entry index + 1 */
	if (!table)
		return msi_error(MS_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->count; i++) {
		msi_entry *e = &c->entries[i];
		size_t s = hashes[i] & (slots - 1);
		while (table[s] && (hashes[table[s] - 1] != hashes[i] ||
		                    strcmp(c->entries[table[s] - 1].name, e->name) != 0))
			s = (s + 1) & (slots - 1);
		if (!table[s]) {
			table[s] = (uint32_t)(i + 1);
			continue;
		}
		msi_entry *first = &c->entries[table[s] - 1];
		msi_container_finding(c, "zip.member.duplicate", e->name, "member name '%.200s' appears more than once",
		                      e->name);
		first->unsafe = e->unsafe = true;
	}
	msi_free(table);
	return MS_OK;
}

/* zlib allocates through the library's allocator too. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	MSI_UNUSED(opaque);
	return msi_reallocarray(NULL, items, size);
}

static void z_free(voidpf opaque, voidpf ptr)
{
	MSI_UNUSED(opaque);
	msi_free(ptr);
}

/* Compressed input of one member, read in IO_CHUNK pieces (or handed out
 * in place for memory-backed sources). */
typedef struct zin {
	const msi_source *src;
	const uint8_t *mem;
	uint8_t *buf;
	uint64_t off, left;
} zin;

/* Refills zs when it ran dry; *n is the number of new bytes (0 at the end). */
static int zin_fill(zin *in, z_stream *zs, size_t *n)
{
	*n = 0;
	if (zs->avail_in > 0 || in->left == 0)
		return MS_OK;
	size_t len = (size_t)MSI_MIN(in->left, (uint64_t)IO_CHUNK);
	if (in->mem) {
		zs->next_in = (Bytef *)(uintptr_t)(in->mem + in->off);
	} else {
		int rc = msi_source_read(in->src, in->off, in->buf, len);
		if (rc != MS_OK)
			return rc;
		zs->next_in = in->buf;
	}
	zs->avail_in = (uInt)len;
	in->off += len;
	in->left -= len;
	*n = len;
	return MS_OK;
}

static int zin_init(zin *in, const msi_container *c, const msi_entry *e, z_stream *zs)
{
	memset(zs, 0, sizeof *zs);
	zs->zalloc = z_alloc;
	zs->zfree = z_free;
	in->src = c->src;
	in->mem = msi_source_memory(c->src);
	in->off = e->data_offset;
	in->left = e->csize;
	in->buf = NULL;
	if (!in->mem && !(in->buf = msi_malloc(IO_CHUNK)))
		return msi_error(MS_ENOMEM, "out of memory");
	if (inflateInit2(zs, -MAX_WBITS) != Z_OK) {
		msi_free(in->buf);
		return msi_error(MS_ENOMEM, "out of memory (inflateInit2)");
	}
	return MS_OK;
}

static void zin_end(zin *in, z_stream *zs)
{
	inflateEnd(zs);
	msi_free(in->buf);
}

/* Inflates member `e` whole into `buf` (e->size + 1 bytes: the extra byte
 * shows a stream longer than declared) and checks size and CRC-32. MS_OK
 * only when both are right. `quiet` leaves the error message alone (verify
 * tries this first and words its own findings when it fails). */
static int inflate_whole(const msi_container *c, const msi_entry *e, uint8_t *buf, bool quiet)
{
	size_t cap = (size_t)e->size + 1;
	z_stream zs;
	zin in;
	int rc = zin_init(&in, c, e, &zs);
	if (rc != MS_OK)
		return rc;
	size_t done = 0;
	int zr = Z_OK;
	bool out_full = false; /* inflate may hold output back: call it again */
	while (zr != Z_STREAM_END && done < cap) {
		size_t got;
		rc = zin_fill(&in, &zs, &got);
		if (rc != MS_OK)
			break;
		if (zs.avail_in == 0 && !out_full) {
			rc = quiet ? MS_EFORMAT
			           : msi_error(MS_EFORMAT, "zip member '%.200s': the deflate stream is truncated", e->name);
			break;
		}
		uint8_t *start = buf + done;
		zs.next_out = start;
		zs.avail_out = (uInt)MSI_MIN(cap - done, (size_t)UINT_MAX);
		zr = inflate(&zs, Z_NO_FLUSH);
		out_full = zs.avail_out == 0;
		done += (size_t)(zs.next_out - start);
		if (zr == Z_MEM_ERROR) {
			rc = quiet ? MS_ENOMEM : msi_error(MS_ENOMEM, "out of memory while inflating '%.200s'", e->name);
			break;
		}
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			rc = quiet ? MS_EFORMAT
			           : msi_error(MS_EFORMAT, "zip member '%.200s': corrupt deflate data (%s)", e->name,
			                       zs.msg ? zs.msg : "inflate failed");
			break;
		}
	}
	zin_end(&in, &zs);
	if (rc == MS_OK && done != e->size)
		rc = quiet ? MS_EFORMAT
		           : msi_error(MS_EFORMAT, "zip member '%.200s' inflates to %s%zu bytes, but declares %llu",
		                       e->name, done > e->size ? "more than " : "",
		                       done > e->size ? (size_t)e->size : done, (unsigned long long)e->size);
	if (rc == MS_OK && msi_crc32(0, buf, done) != e->crc32)
		rc = quiet ? MS_EFORMAT
		           : msi_error(MS_EFORMAT, "zip member '%.200s': CRC-32 mismatch (the data is corrupt)", e->name);
	return rc;
}

/* Inflates a member into memory: declared size at most max_size, output
 * capped at declared size + 1 so a lying header cannot make us inflate
 * (or allocate) more. */
static int inflate_member(msi_container *c, const msi_entry *e, uint64_t max_size, msi_source **out)
{
	if (e->size > max_size || e->size >= SIZE_MAX)
		return msi_error(MS_ELIMIT, "zip member '%.200s' declares %llu bytes, above the limit of %llu",
		                 e->name, (unsigned long long)e->size, (unsigned long long)max_size);
	zimpl *z = c->impl;
	size_t index = (size_t)(e - c->entries);
	if (z->held && z->held[index].buf) {
		/* verify inflated and checked it: hand its copy over */
		struct zheld h = z->held[index];
		z->held[index].buf = NULL;
		z->held_bytes -= (size_t)e->size;
		return msi_source_from_big(h.buf, (size_t)e->size, h.block, out);
	}
	uint8_t *buf = msi_malloc((size_t)e->size + 1);
	if (!buf)
		return msi_error(MS_ENOMEM, "out of memory for zip member '%.200s' (%llu bytes)", e->name,
		                 (unsigned long long)e->size);
	int rc = inflate_whole(c, e, buf, false);
	if (rc == MS_OK)
		rc = msi_source_from_memory(buf, (size_t)e->size, true, out);
	if (rc != MS_OK)
		msi_free(buf);
	return rc;
}

static int zip_open_entry(msi_container *c, size_t index, uint64_t max_size, msi_source **out)
{
	*out = NULL;
	if (index >= c->count)
		return msi_error(MS_EINVAL, "zip member index %zu is out of range (%zu members)", index, c->count);
	const msi_entry *e = &c->entries[index];
	if (e->unsafe)
		return msi_error(MS_EFORMAT, "zip member '%.200s' is unsafe or broken and is never opened", e->name);
	if (e->method == 0)
		return msi_source_slice(c->src, e->data_offset, e->csize, out);
	if (e->method == 8) {
		int rc = inflate_member(c, e, max_size, out);
		/* Size and CRC-32 were checked on the whole member: verify need
		 * not inflate it a second time. */
		if (rc == MS_OK)
			((zimpl *)c->impl)->flags[index] |= ZENT_VERIFIED;
		return rc;
	}
	return msi_error(MS_EUNSUPPORTED, "zip member '%.200s' uses compression method %u", e->name, e->method);
}

static int crc_chunk(const uint8_t *data, size_t len, void *user)
{
	uint32_t *crc = user;
	*crc = msi_crc32(*crc, data, len);
	return MS_OK;
}

/* Streams one deflated member through `out` (IO_CHUNK bytes): memory is
 * O(1) in the member size, and inflating stops one window past the
 * declared size. */
static int verify_deflate(msi_container *c, const msi_entry *e, uint8_t *out, ms_report *r,
                          msi_progress *progress)
{
	z_stream zs;
	zin in;
	int rc = zin_init(&in, c, e, &zs);
	if (rc != MS_OK)
		return rc;
	uint64_t total = 0;
	uint32_t crc = 0;
	int zr = Z_OK;
	const char *problem = NULL;
	bool out_full = false; /* inflate may hold output back: call it again */
	while (zr != Z_STREAM_END) {
		size_t got;
		rc = zin_fill(&in, &zs, &got);
		if (rc == MS_OK)
			rc = msi_progress_add(progress, got);
		if (rc != MS_OK)
			break;
		if (zs.avail_in == 0 && !out_full) {
			problem = "the deflate stream ends before its end marker (truncated)";
			break;
		}
		zs.next_out = out;
		zs.avail_out = IO_CHUNK;
		zr = inflate(&zs, Z_NO_FLUSH);
		out_full = zs.avail_out == 0;
		size_t n = IO_CHUNK - zs.avail_out;
		crc = msi_crc32(crc, out, n);
		total += n;
		if (zr == Z_MEM_ERROR) {
			rc = msi_error(MS_ENOMEM, "out of memory while inflating '%.200s'", e->name);
			break;
		}
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			problem = zs.msg ? zs.msg : "inflate failed";
			break;
		}
		if (total > e->size)
			break;
	}
	zin_end(&in, &zs);
	if (rc != MS_OK)
		return rc;
	if (problem)
		msi_report_add(r, "zip.member.inflate", e->name, "member '%.200s': corrupt deflate data (%s)", e->name,
		               problem);
	else if (total != e->size)
		msi_report_add(r, "zip.member.size_mismatch", e->name, "member '%.200s' inflates to %s%llu bytes, "
		               "but declares %llu", e->name, total > e->size ? "more than " : "",
		               (unsigned long long)(total > e->size ? e->size : total), (unsigned long long)e->size);
	else if (crc != e->crc32)
		msi_report_add(r, "zip.member.crc", e->name, "member '%.200s': CRC-32 is %08x, the archive says %08x",
		               e->name, crc, e->crc32);
	return MS_OK;
}

/* libzip reads through this callback, so files, memory and slices (a zip
 * inside a serialzy frame) look the same to it and nothing is copied whole. */
typedef struct lz_src {
	const msi_source *src;
	uint64_t pos;
	zip_error_t err;
} lz_src;

static zip_int64_t lz_callback(void *user, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	lz_src *s = user;
	switch (cmd) {
	case ZIP_SOURCE_OPEN:
		s->pos = 0;
		return 0;
	case ZIP_SOURCE_READ: {
		uint64_t n = s->pos < s->src->size ? MSI_MIN(len, s->src->size - s->pos) : 0;
		if (n > INT64_MAX || n > SIZE_MAX)
			n = (uint64_t)MSI_MIN((uint64_t)INT64_MAX, (uint64_t)SIZE_MAX);
		if (n && msi_source_read(s->src, s->pos, data, (size_t)n) != MS_OK) {
			zip_error_set(&s->err, ZIP_ER_READ, EIO);
			return -1;
		}
		s->pos += n;
		return (zip_int64_t)n;
	}
	case ZIP_SOURCE_CLOSE:
	case ZIP_SOURCE_FREE:
		return 0;
	case ZIP_SOURCE_STAT: {
		if (len < sizeof(zip_stat_t)) {
			zip_error_set(&s->err, ZIP_ER_INVAL, 0);
			return -1;
		}
		zip_stat_t *st = data;
		zip_stat_init(st);
		st->size = s->src->size;
		st->valid |= ZIP_STAT_SIZE;
		return sizeof(zip_stat_t);
	}
	case ZIP_SOURCE_ERROR:
		return zip_error_to_data(&s->err, data, len);
	case ZIP_SOURCE_SEEK: {
		zip_int64_t pos = zip_source_seek_compute_offset(s->pos, s->src->size, data, len, &s->err);
		if (pos < 0)
			return -1;
		s->pos = (uint64_t)pos;
		return 0;
	}
	case ZIP_SOURCE_TELL:
		return (zip_int64_t)s->pos;
	case ZIP_SOURCE_SUPPORTS:
		return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
		                                      ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
		                                      ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL, ZIP_SOURCE_SUPPORTS, -1);
	default:
		zip_error_set(&s->err, ZIP_ER_OPNOTSUPP, 0);
		return -1;
	}
}

/* libzip allocates with the C allocator (it has no hook): it is used only
 * here, opened and discarded within this call. */
static void libzip_opinion(const msi_container *c, ms_report *r)
{
	lz_src s = { .src = c->src };
	zip_error_t err;
	zip_error_init(&s.err);
	zip_error_init(&err);
	zip_source_t *zs = zip_source_function_create(lz_callback, &s, &err);
	if (zs) {
		zip_t *za = zip_open_from_source(zs, ZIP_RDONLY | ZIP_CHECKCONS, &err);
		if (za) {
			zip_discard(za);
		} else {
			msi_report_add(r, "zip.libzip.rejected", "", "libzip refuses the archive: %s",
			               zip_error_strerror(&err));
			zip_source_free(zs);
		}
	}
	zip_error_fini(&err);
	zip_error_fini(&s.err);
}

/*
 * Small stored members (a TorchScript archive of 3,000 layers has 6,000 of
 * a few dozen bytes each) are checked from one read-ahead window instead of
 * a read each: members are laid out in order, so a window read once serves
 * hundreds of them.
 */
#define SMALL_MEMBER (64u * 1024u)
#define WINDOW_SIZE (256u * 1024u)

typedef struct small_window {
	uint8_t *buf;
	uint64_t off;
	size_t len;
} small_window;

static int small_member_crc(const msi_container *c, small_window *w, const msi_entry *e, uint32_t *crc,
                            msi_progress *progress)
{
	size_t n = (size_t)e->csize;
	if (e->data_offset < w->off || e->data_offset - w->off > w->len || w->len - (e->data_offset - w->off) < n) {
		if (!w->buf && !(w->buf = msi_big_alloc(WINDOW_SIZE)))
			return msi_error(MS_ENOMEM, "out of memory");
		int64_t got = msi_source_read_upto(c->src, e->data_offset, w->buf, WINDOW_SIZE);
		if (got < 0)
			return (int)got;
		w->off = e->data_offset;
		w->len = (size_t)got;
		if (w->len < n)
			return msi_error(MS_ECHANGED, "member '%.200s' runs past the end of the file", e->name);
	}
	*crc = msi_crc32(0, w->buf + (e->data_offset - w->off), n);
	return msi_progress_add(progress, n);
}

/*
 * libzip's ZIP_CHECKCONS open costs ~10,000 instructions and two stat()s per
 * member (it converts every DOS time with mktime(), which re-reads the time
 * zone file when TZ is unset): 15 ms for a 6,000-member TorchScript archive,
 * more than everything else validation does. Our own pass already checks
 * what it checks, so beyond this many members the second opinion is skipped
 * and the report says so.
 */
#define LIBZIP_MEMBERS_MAX 1000u

/* Counts a member's compressed bytes as verify_deflate would have read
 * them, for a member checked without it. */
static int progress_member(msi_progress *progress, const msi_entry *e)
{
	int rc = MS_OK;
	for (uint64_t left = e->csize; left > 0 && rc == MS_OK;) {
		uint64_t n = MSI_MIN(left, (uint64_t)IO_CHUNK);
		rc = msi_progress_add(progress, n);
		left -= n;
	}
	return rc;
}

/* Inflates a small deflated member whole and keeps the copy for
 * open_entry, within the budget. *done is false when this did not
 * settle the member (bad data, no memory for the copy, a read error):
 * verify_deflate then checks it as before and words the findings. */
static int verify_hold(msi_container *c, size_t i, msi_progress *progress, bool *done)
{
	zimpl *z = c->impl;
	const msi_entry *e = &c->entries[i];
	*done = false;
	/* past the budget, streaming touches less fresh memory */
	if (e->size > HOLD_MEMBER_MAX || z->held_bytes + e->size > HOLD_BUDGET)
		return MS_OK;
	if (!z->held && !(z->held = msi_calloc(z->count ? z->count : 1, sizeof *z->held)))
		return MS_OK;
	/* a msi_big_* block: a TorchScript archive's code file is ~0.5 MB */
	uint8_t *buf = msi_big_alloc((size_t)e->size + 1);
	if (!buf)
		return MS_OK;
	if (inflate_whole(c, e, buf, true) != MS_OK) {
		msi_big_free(buf, (size_t)e->size + 1);
		return MS_OK;
	}
	z->flags[i] |= ZENT_VERIFIED;
	if (!z->held[i].buf && z->held_bytes + e->size <= HOLD_BUDGET) {
		z->held[i].buf = buf;
		z->held[i].block = (size_t)e->size + 1;
		z->held_bytes += (size_t)e->size;
	} else {
		msi_big_free(buf, (size_t)e->size + 1);
	}
	*done = true;
	return progress_member(progress, e);
}

static int zip_verify(msi_container *c, ms_report *r, msi_progress *progress)
{
	const uint8_t *flags = ((const zimpl *)c->impl)->flags;
	if (msi_report_count_at_least(c->findings, MS_SEVERITY_ERROR) == 0) {
		if (c->count <= LIBZIP_MEMBERS_MAX)
			libzip_opinion(c, r);
		else
			msi_report_add(r, "zip.libzip.skipped", "", "libzip's second opinion was not asked: %zu members "
			               "(more than %u; the archive's own structure was checked member by member)",
			               c->count, LIBZIP_MEMBERS_MAX);
	}
	uint8_t *out = NULL;
	small_window w = { NULL, 0, 0 };
	bool in_memory = msi_source_memory(c->src) != NULL; /* once, not per member */
	int rc = MS_OK;
	for (size_t i = 0; i < c->count && rc == MS_OK; i++) {
		const msi_entry *e = &c->entries[i];
		if (flags[i] & ZENT_SKIP)
			continue; /* already reported: unsafe, broken, too large or a bomb */
		if (flags[i] & ZENT_VERIFIED) {
			/* Inflated and checked whole by open_entry (which only
			 * succeeds when verify would find nothing). */
			rc = progress_member(progress, e);
			continue;
		}
		if (e->method == 0) {
			uint32_t crc = 0;
			if (e->csize <= SMALL_MEMBER && !in_memory)
				rc = small_member_crc(c, &w, e, &crc, progress);
			else
				rc = msi_source_stream(c->src, e->data_offset, e->csize, crc_chunk, &crc, progress);
			if (rc == MS_OK && crc != e->crc32)
				msi_report_add(r, "zip.member.crc", e->name,
				               "member '%.200s': CRC-32 is %08x, the archive says %08x", e->name, crc,
				               e->crc32);
		} else if (e->method == 8) {
			bool done;
			rc = verify_hold(c, i, progress, &done);
			if (rc != MS_OK || done)
				continue;
			if (!out && !(out = msi_malloc(IO_CHUNK)))
				rc = msi_error(MS_ENOMEM, "out of memory");
			else
				rc = verify_deflate(c, e, out, r, progress);
		}
	}
	msi_free(out);
	msi_big_free(w.buf, WINDOW_SIZE);
	return rc;
}

/* Makes c->impl for c->count entries, flags zeroed; returns the flags or
 * NULL on OOM. */
uint8_t *msi_zip_impl_new(msi_container *c)
{
	zimpl *z = msi_calloc(1, sizeof *z + (c->count ? c->count : 1));
	if (!z)
		return NULL;
	z->count = c->count;
	c->impl = z;
	return z->flags;
}

static void zip_free_impl(void *impl)
{
	zimpl *z = impl;
	if (!z)
		return;
	if (z->held) {
		for (size_t i = 0; i < z->count; i++)
			msi_big_free(z->held[i].buf, z->held[i].block);
		msi_free(z->held);
	}
	msi_free(z);
}

const msi_container_ops msi_zip_ops = {
	.open_entry = zip_open_entry,
	.verify = zip_verify,
	.free_impl = zip_free_impl,
};
