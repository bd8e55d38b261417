/*
 * TensorFlow's table format (tensorflow/core/lib/io/format.h; LevelDB's
 * SSTable without filter blocks), as the `.index` file of a tensor bundle.
 *
 *   [data block + trailer]* [metaindex block + trailer] [index block + trailer] [footer]
 *
 * The 48-byte footer holds the metaindex and index BlockHandles (varint64
 * offset, size), zero padding and the magic. The index block maps a
 * separator key per data block to that block's handle. A trailer is a
 * compression type byte and the masked CRC-32C of the block plus that byte.
 * A block is prefix-compressed entries followed by a restart array; TF
 * 1.x wrote snappy-compressed blocks (type 1), which are uncompressed here.
 *
 * Nothing is trusted: handles must lie before the footer and data blocks
 * must come in file order without overlapping (so a hostile index cannot
 * make us read a block twice: total work is bounded by the file size), every
 * entry must fit its block, and each block is read on its own through a
 * bounded read, never the whole file.
 */
#include <stdio.h>
#include <string.h>

#include "tf_table.h"

#define TRAILER 5u
#define MAX_FINDINGS_PER_CODE 20u

void tf_finding(ms_report *r, const char *code, const char *where, const char *fmt, ...)
{
	if (!r)
		return;
	va_list ap;
	va_start(ap, fmt);
	msi_report_addv(r, code, where, fmt, ap);
	va_end(ap);
}

typedef struct table_rd {
	msi_source *src;
	const msi_limits *limits;
	ms_report *r;
	const char *where;
	uint64_t body_end;     /* where the footer starts: blocks end before it */
	uint8_t *buf;          /* current block + trailer */
	size_t buf_cap;
	uint8_t *raw;          /* a snappy block's uncompressed bytes */
	size_t raw_cap;
	const uint8_t *block;  /* the block to walk: buf or raw */
	size_t block_len;
	uint8_t *prev;         /* last key handed out (strict order across blocks) */
	size_t prev_len, prev_cap;
	bool have_prev;
	unsigned n_block, n_crc, n_order; /* findings per code, capped */
	tf_table_entry_fn fn;
	void *user;
} table_rd;

static bool capped(unsigned *n)
{
	return (*n)++ < MAX_FINDINGS_PER_CODE;
}

static bool decode_handle(msi_cursor *c, uint64_t *off, uint64_t *size)
{
	*off = msi_cursor_varint(c);
	*size = msi_cursor_varint(c);
	return !c->failed;
}

/* Snappy (the raw format, as LevelDB and TF 1.x tables compress blocks):
 * a varint32 uncompressed length, then literals and back-references.
 * Every length and offset is checked against what is left of the input
 * and of the declared output, which is capped before anything is
 * allocated. Returns false when the data is not valid snappy. */
static bool snappy_length(const uint8_t *in, size_t n, uint64_t *out)
{
	msi_cursor c = msi_cursor_make(in, n);
	uint64_t v = msi_cursor_varint(&c);
	if (c.failed || c.pos > 5 || v > UINT32_MAX)
		return false;
	*out = v;
	return true;
}

static bool snappy_decode(const uint8_t *in, size_t n, uint8_t *out, size_t out_len)
{
	msi_cursor c = msi_cursor_make(in, n);
	(void)msi_cursor_varint(&c);
	size_t o = 0;
	while (!c.failed && msi_cursor_left(&c) > 0) {
		uint8_t tag = msi_cursor_u8(&c);
		size_t len, off = 0;
		switch (tag & 3) {
		case 0: {
			len = (size_t)(tag >> 2);
			if (len >= 60) {
				unsigned nb = (unsigned)len - 59;
				const uint8_t *p = msi_cursor_bytes(&c, nb);
				if (!p)
					return false;
				len = 0;
				for (unsigned k = 0; k < nb; k++)
					len |= (size_t)p[k] << (8 * k);
			}
			len += 1;
			const uint8_t *lit = len <= msi_cursor_left(&c) ? msi_cursor_bytes(&c, len) : NULL;
			if (!lit || len > out_len - o)
				return false;
			memcpy(out + o, lit, len);
			o += len;
			continue;
		}
		case 1:
			len = 4 + ((tag >> 2) & 7);
			off = (size_t)(tag >> 5) << 8 | msi_cursor_u8(&c);
			break;
		case 2:
			len = 1 + (size_t)(tag >> 2);
			off = msi_cursor_le16(&c);
			break;
		default:
			len = 1 + (size_t)(tag >> 2);
			off = msi_cursor_le32(&c);
			break;
		}
		if (c.failed || off == 0 || off > o || len > out_len - o)
			return false;
		/* byte by byte: a copy may overlap its own output (runs) */
		for (size_t k = 0; k < len; k++, o++)
			out[o] = out[o - off];
	}
	return !c.failed && o == out_len;
}

/* Reads block [off, off+size) and its trailer into rd->buf and checks the
 * trailer. Returns MS_OK with *ok true when the block can be parsed, MS_OK
 * with *ok false when it was reported and must be skipped, or an error. */
static int load_block(table_rd *rd, const char *what, uint64_t off, uint64_t size, bool *ok)
{
	*ok = false;
	uint64_t with_trailer;
	if (!msi_add_u64(size, TRAILER, &with_trailer) || !msi_range_ok(off, with_trailer, rd->body_end)) {
		if (capped(&rd->n_block))
			tf_finding(rd->r, "tf.table.block", rd->where,
			           "%s at offset %llu (%llu bytes + 5-byte trailer) lies outside the table body "
			           "(%llu bytes before the footer)",
			           what, (unsigned long long)off, (unsigned long long)size,
			           (unsigned long long)rd->body_end);
		return MS_OK;
	}
	if (size > rd->limits->max_metadata || with_trailer > SIZE_MAX) {
		tf_finding(rd->r, "tf.bundle.limit", rd->where, "%s at offset %llu is %llu bytes, over max_metadata",
		           what, (unsigned long long)off, (unsigned long long)size);
		return MS_OK;
	}
	if (with_trailer > rd->buf_cap) {
		uint8_t *nb = msi_realloc(rd->buf, (size_t)with_trailer);
		if (!nb)
			return msi_error(MS_ENOMEM, "out of memory");
		rd->buf = nb;
		rd->buf_cap = (size_t)with_trailer;
	}
	int rc = msi_source_read(rd->src, off, rd->buf, (size_t)with_trailer);
	if (rc != MS_OK)
		return rc;
	uint8_t type = rd->buf[size];
	uint32_t stored = msi_le32(rd->buf + size + 1);
	uint32_t actual = msi_crc32c_mask(msi_crc32c(0, rd->buf, (size_t)size + 1));
	if (stored != actual) {
		/* The block is still parsed (every read is bounded): a flipped
		 * bit costs its own finding, not every entry of the block. */
		if (capped(&rd->n_crc))
			tf_finding(rd->r, "tf.table.crc", rd->where,
			           "%s at offset %llu: masked CRC-32C 0x%08x stored, 0x%08x computed", what,
			           (unsigned long long)off, stored, actual);
	}
	rd->block = rd->buf;
	rd->block_len = (size_t)size;
	if (type == 1) {
		uint64_t raw_len;
		bool good = snappy_length(rd->buf, (size_t)size, &raw_len);
		if (good && raw_len > rd->limits->max_metadata) {
			tf_finding(rd->r, "tf.bundle.limit", rd->where,
			           "%s at offset %llu uncompresses to %llu bytes, over max_metadata", what,
			           (unsigned long long)off, (unsigned long long)raw_len);
			return MS_OK;
		}
		if (good && raw_len > rd->raw_cap) {
			uint8_t *nb = msi_realloc(rd->raw, (size_t)raw_len);
			if (!nb)
				return msi_error(MS_ENOMEM, "out of memory");
			rd->raw = nb;
			rd->raw_cap = (size_t)raw_len;
		}
		if (!good || !snappy_decode(rd->buf, (size_t)size, rd->raw, (size_t)raw_len)) {
			if (capped(&rd->n_block))
				tf_finding(rd->r, "tf.table.block", rd->where,
				           "%s at offset %llu: the snappy-compressed bytes do not uncompress", what,
				           (unsigned long long)off);
			return MS_OK;
		}
		rd->block = rd->raw;
		rd->block_len = (size_t)raw_len;
	} else if (type != 0) {
		tf_finding(rd->r, "tf.table.compressed", rd->where,
		           "%s at offset %llu is compressed with an unknown method (type %u): its entries are not read",
		           what, (unsigned long long)off, type);
		return MS_OK;
	}
	*ok = true;
	return MS_OK;
}

/* Appends key bytes with the previous key's shared prefix into `key`. */
static bool key_reserve(uint8_t **key, size_t *cap, size_t need)
{
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	uint8_t *n = msi_realloc(*key, ncap);
	if (!n)
		return false;
	*key = n;
	*cap = ncap;
	return true;
}

typedef int (*block_entry_fn)(table_rd *rd, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                              void *user);

/* Walks the entries of the block loaded last (rd->block). */
static int walk_block(table_rd *rd, const char *what, uint64_t off, block_entry_fn fn, void *user)
{
	const uint8_t *b = rd->block;
	size_t size = rd->block_len;
	if (size < 4) {
		if (capped(&rd->n_block))
			tf_finding(rd->r, "tf.table.block", rd->where, "%s at offset %llu is %zu bytes: too short for a restart count",
			           what, (unsigned long long)off, size);
		return MS_OK;
	}
	uint32_t nrestarts = msi_le32(b + size - 4);
	uint64_t restart_bytes = (uint64_t)nrestarts * 4 + 4;
	if (restart_bytes > size || (nrestarts == 0 && size > 4)) {
		if (capped(&rd->n_block))
			tf_finding(rd->r, "tf.table.block", rd->where,
			           "%s at offset %llu: restart array of %u entries does not fit its %zu bytes", what,
			           (unsigned long long)off, nrestarts, size);
		return MS_OK;
	}
	size_t data_end = size - (size_t)restart_bytes;
	for (uint32_t i = 0; i < nrestarts; i++) {
		uint32_t ro = msi_le32(b + data_end + (size_t)i * 4);
		if ((ro >= data_end && !(ro == 0 && data_end == 0)) ||
		    (i > 0 && ro <= msi_le32(b + data_end + (size_t)(i - 1) * 4))) {
			if (capped(&rd->n_block))
				tf_finding(rd->r, "tf.table.block", rd->where,
				           "%s at offset %llu: restart point %u (%u) is out of range or out of order", what,
				           (unsigned long long)off, i, ro);
			return MS_OK;
		}
	}
	uint8_t *key = NULL;
	size_t key_len = 0, key_cap = 0;
	msi_cursor c = msi_cursor_make(b, data_end);
	int rc = MS_OK;
	while (rc == MS_OK && msi_cursor_left(&c) > 0) {
		size_t at = c.pos;
		uint64_t shared = msi_cursor_varint(&c), non_shared = msi_cursor_varint(&c),
		         vlen = msi_cursor_varint(&c);
		const uint8_t *suffix = NULL, *val = NULL;
		if (!c.failed && shared <= key_len && non_shared <= msi_cursor_left(&c)) {
			suffix = msi_cursor_bytes(&c, (size_t)non_shared);
			if (vlen <= msi_cursor_left(&c))
				val = msi_cursor_bytes(&c, (size_t)vlen);
		}
		if (!val) {
			if (capped(&rd->n_block))
				tf_finding(rd->r, "tf.table.block", rd->where,
				           "%s at offset %llu: the entry at byte %zu overruns the block (shared %llu of a "
				           "%zu-byte key, %llu key bytes, %llu value bytes)",
				           what, (unsigned long long)off, at, (unsigned long long)shared, key_len,
				           (unsigned long long)non_shared, (unsigned long long)vlen);
			break;
		}
		if (!key_reserve(&key, &key_cap, (size_t)shared + (size_t)non_shared + 1)) {
			rc = msi_error(MS_ENOMEM, "out of memory");
			break;
		}
		if (non_shared)
			memcpy(key + shared, suffix, (size_t)non_shared);
		key_len = (size_t)shared + (size_t)non_shared;
		rc = fn(rd, key, key_len, val, (size_t)vlen, user);
	}
	msi_free(key);
	return rc;
}

/* A printable, bounded rendering of a key for messages. */
static void key_text(const uint8_t *k, size_t n, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	/* room for one escape (4), the ellipsis (3) and the NUL */
	for (; i < n && o + 8 < cap; i++) {
		uint8_t ch = k[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			out[o++] = (char)ch;
		} else {
			snprintf(out + o, cap - o, "\\x%02x", ch);
			o += 4;
		}
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = 0;
}

static int data_entry(table_rd *rd, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *user)
{
	MSI_UNUSED(user);
	if (rd->have_prev) {
		size_t m = MSI_MIN(klen, rd->prev_len);
		int cmp = memcmp(key, rd->prev, m);
		if (cmp < 0 || (cmp == 0 && klen <= rd->prev_len)) {
			if (capped(&rd->n_order)) {
				char a[96], b[96];
				key_text(key, klen, a, sizeof a);
				key_text(rd->prev, rd->prev_len, b, sizeof b);
				tf_finding(rd->r, "tf.table.key_order", rd->where,
				           "key '%s' does not sort after the key before it ('%s'): entry skipped", a, b);
			}
			return MS_OK;
		}
	}
	if (!key_reserve(&rd->prev, &rd->prev_cap, klen + 1))
		return msi_error(MS_ENOMEM, "out of memory");
	if (klen)
		memcpy(rd->prev, key, klen);
	rd->prev_len = klen;
	rd->have_prev = true;
	return rd->fn(key, klen, val, vlen, rd->user);
}

/* The index block's entries, collected before any data block is read
 * (rd->buf is reused for each data block). */
typedef struct index_list {
	uint64_t *off, *size;
	size_t count, cap;
	bool bad;      /* a handle did not parse (reported) */
	uint8_t *prev; /* previous separator, for order */
	size_t prev_len, prev_cap;
	bool have_prev;
} index_list;

static int index_entry(table_rd *rd, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *user)
{
	index_list *il = user;
	msi_cursor c = msi_cursor_make(val, vlen);
	uint64_t off, size;
	if (!decode_handle(&c, &off, &size)) {
		if (capped(&rd->n_block))
			tf_finding(rd->r, "tf.table.block", rd->where, "index block entry %zu: the block handle does not parse",
			           il->count);
		return MS_OK;
	}
	if (il->have_prev) {
		size_t m = MSI_MIN(klen, il->prev_len);
		int cmp = memcmp(key, il->prev, m);
		if (cmp < 0 || (cmp == 0 && klen < il->prev_len)) {
			if (capped(&rd->n_order))
				tf_finding(rd->r, "tf.table.key_order", rd->where,
				           "index block entry %zu: separator keys are not in increasing order", il->count);
		}
	}
	if (!key_reserve(&il->prev, &il->prev_cap, klen + 1))
		return msi_error(MS_ENOMEM, "out of memory");
	if (klen)
		memcpy(il->prev, key, klen);
	il->prev_len = klen;
	il->have_prev = true;
	if (il->count >= rd->limits->max_members) {
		if (!il->bad)
			tf_finding(rd->r, "tf.bundle.limit", rd->where,
			           "the index block lists more than %llu data blocks (max_members)",
			           (unsigned long long)rd->limits->max_members);
		il->bad = true;
		return MS_OK;
	}
	if (il->count == il->cap) {
		size_t cap = il->cap;
		uint64_t *a = msi_grow(il->off, &cap, il->count, sizeof *a, 64);
		if (!a)
			return msi_error(MS_ENOMEM, "out of memory");
		il->off = a;
		cap = il->cap;
		uint64_t *s = msi_grow(il->size, &cap, il->count, sizeof *s, 64);
		if (!s)
			return msi_error(MS_ENOMEM, "out of memory");
		il->size = s;
		il->cap = cap;
	}
	il->off[il->count] = off;
	il->size[il->count] = size;
	il->count++;
	return MS_OK;
}

int tf_table_read(msi_source *src, const msi_limits *limits, ms_report *r, const char *where,
                  tf_table_entry_fn fn, void *user)
{
	uint8_t foot[TF_TABLE_FOOTER];
	if (src->size < TF_TABLE_FOOTER) {
		tf_finding(r, "tf.table.footer", where, "the file is %llu bytes: too short for the 48-byte table footer",
		           (unsigned long long)src->size);
		return msi_error(MS_EFORMAT, "not a TensorFlow table: too short");
	}
	int rc = msi_source_read(src, src->size - TF_TABLE_FOOTER, foot, sizeof foot);
	if (rc != MS_OK)
		return rc;
	if (msi_le64(foot + 40) != TF_TABLE_MAGIC) {
		tf_finding(r, "tf.table.footer", where, "no table magic 0xdb4775248b80fb57 at offset %llu",
		           (unsigned long long)(src->size - 8));
		return msi_error(MS_EFORMAT, "not a TensorFlow table: no footer magic");
	}
	table_rd rd = { .src = src, .limits = limits, .r = r, .where = where,
		        .body_end = src->size - TF_TABLE_FOOTER, .fn = fn, .user = user };
	msi_cursor c = msi_cursor_make(foot, 40);
	uint64_t moff, msize, ioff, isize;
	bool handles = decode_handle(&c, &moff, &msize) && decode_handle(&c, &ioff, &isize);
	bool pad_ok = true;
	while (handles && msi_cursor_left(&c) > 0)
		pad_ok &= msi_cursor_u8(&c) == 0;
	uint64_t end;
	if (!handles || !msi_add_u64(ioff, isize, &end) || !msi_add_u64(end, TRAILER, &end) ||
	    end > rd.body_end || !msi_range_ok(moff, msize, rd.body_end)) {
		tf_finding(r, "tf.table.footer", where,
		           "the footer's block handles do not parse or point outside the file (index block %llu+%llu, "
		           "table body %llu bytes)",
		           handles ? (unsigned long long)ioff : 0ull, handles ? (unsigned long long)isize : 0ull,
		           (unsigned long long)rd.body_end);
		/* nothing of the table can be reached */
		return msi_error(MS_EFORMAT, "the table footer's block handles are invalid");
	}
	if (!pad_ok)
		tf_finding(r, "tf.table.footer", where, "the footer padding after the block handles is not zero");

	index_list il = { 0 };
	bool ok;
	rc = load_block(&rd, "the index block", ioff, isize, &ok);
	if (rc == MS_OK && ok)
		rc = walk_block(&rd, "the index block", ioff, index_entry, &il);
	uint64_t next_free = 0;
	for (size_t i = 0; rc == MS_OK && i < il.count; i++) {
		char what[64];
		snprintf(what, sizeof what, "data block %zu", i);
		/* In file order and disjoint: bounds the reading to the file once. */
		if (il.off[i] < next_free) {
			if (capped(&rd.n_block))
				tf_finding(r, "tf.table.block", where,
				           "%s at offset %llu overlaps or precedes the block before it (which ends at %llu)",
				           what, (unsigned long long)il.off[i], (unsigned long long)next_free);
			continue;
		}
		rc = load_block(&rd, what, il.off[i], il.size[i], &ok);
		if (rc == MS_OK && ok) {
			next_free = il.off[i] + il.size[i] + TRAILER;
			rc = walk_block(&rd, what, il.off[i], data_entry, NULL);
		}
	}
	msi_free(il.off);
	msi_free(il.size);
	msi_free(il.prev);
	msi_free(rd.buf);
	msi_free(rd.raw);
	msi_free(rd.prev);
	return rc;
}
