/* The FlatBuffers verifier/reader (see flatbuf.h). */
#include "flatbuf.h"

#include <stdio.h>
#include <string.h>

void msi_fb_init(msi_fb *fb, const uint8_t *buf, size_t len, uint32_t max_depth, uint64_t max_tables,
                 uint64_t budget)
{
	memset(fb, 0, sizeof *fb);
	fb->buf = buf;
	fb->len = len > MSI_FB_MAX_BUFFER ? MSI_FB_MAX_BUFFER : (uint32_t)len;
	fb->max_depth = max_depth ? max_depth : MSI_FB_DEFAULT_DEPTH;
	fb->max_tables = max_tables ? max_tables : MSI_FB_DEFAULT_TABLES;
	fb->budget = budget ? budget : 16u * (uint64_t)fb->len + (1u << 20);
	if (len > MSI_FB_MAX_BUFFER) {
		fb->error = MSI_FB_LIMIT;
		snprintf(fb->message, sizeof fb->message, "the buffer (%zu bytes) is not below the 2 GiB FlatBuffers maximum",
		         len);
	}
}

MSI_PRINTF(4, 5)
static int fail(msi_fb *fb, msi_fb_error kind, uint64_t at, const char *fmt, ...)
{
	if (fb->error == MSI_FB_OK) {
		fb->error = kind;
		fb->error_at = at > UINT32_MAX ? UINT32_MAX : (uint32_t)at;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(fb->message, sizeof fb->message, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool spend(msi_fb *fb, uint64_t bytes, uint64_t at)
{
	if (bytes > fb->budget) {
		fail(fb, MSI_FB_LIMIT, at,
		     "verification work exceeds its budget (shared sub-objects referenced too many times)");
		return false;
	}
	fb->budget -= bytes;
	return true;
}

static int verify_table(msi_fb *fb, uint64_t pos, uint32_t depth, msi_fb_table *out)
{
	if (depth > fb->max_depth)
		return fail(fb, MSI_FB_LIMIT, pos, "tables nest deeper than %u", fb->max_depth);
	if (++fb->tables > fb->max_tables)
		return fail(fb, MSI_FB_LIMIT, pos, "more than %llu tables", (unsigned long long)fb->max_tables);
	if (pos % 4 != 0)
		return fail(fb, MSI_FB_INVALID, pos, "table at %llu is not 4-aligned", (unsigned long long)pos);
	if (!msi_range_ok(pos, 4, fb->len))
		return fail(fb, MSI_FB_INVALID, pos, "table at %llu lies outside the buffer (%u bytes)",
		            (unsigned long long)pos, fb->len);
	int64_t vt = (int64_t)pos - (int64_t)(int32_t)msi_le32(fb->buf + pos);
	if (vt < 0 || !msi_range_ok((uint64_t)vt, 4, fb->len))
		return fail(fb, MSI_FB_INVALID, pos, "the vtable of the table at %llu lies outside the buffer",
		            (unsigned long long)pos);
	if (vt % 2 != 0)
		return fail(fb, MSI_FB_INVALID, pos, "the vtable of the table at %llu is not 2-aligned",
		            (unsigned long long)pos);
	uint16_t vt_len = msi_le16(fb->buf + vt);
	uint16_t size = msi_le16(fb->buf + vt + 2);
	if (vt_len < 4 || vt_len % 2 != 0 || !msi_range_ok((uint64_t)vt, vt_len, fb->len))
		return fail(fb, MSI_FB_INVALID, pos, "the vtable of the table at %llu declares a bad size %u",
		            (unsigned long long)pos, vt_len);
	if (size < 4 || !msi_range_ok(pos, size, fb->len))
		return fail(fb, MSI_FB_INVALID, pos, "the table at %llu declares an inline size %u %s",
		            (unsigned long long)pos, size, size < 4 ? "below 4" : "that runs past the buffer");
	if (!spend(fb, (uint64_t)vt_len + size, pos))
		return -1;
	out->pos = (uint32_t)pos;
	out->vt = (uint32_t)vt;
	out->vt_len = vt_len;
	out->size = size;
	out->depth = depth;
	return 1;
}

int msi_fb_root(msi_fb *fb, msi_fb_table *out)
{
	if (fb->error)
		return -1;
	if (fb->len < 4)
		return fail(fb, MSI_FB_INVALID, 0, "the buffer (%u bytes) is too short for a root offset", fb->len);
	uint32_t root = msi_le32(fb->buf);
	if (root == 0 || root >= fb->len)
		return fail(fb, MSI_FB_INVALID, 0, "the root offset %u points outside the buffer (%u bytes)", root,
		            fb->len);
	return verify_table(fb, root, 1, out);
}

/* Position of a verified field of `size` bytes, 0 when absent, -1 invalid. */
static int64_t field_pos(msi_fb *fb, const msi_fb_table *t, unsigned slot, uint32_t size, uint32_t align)
{
	if (fb->error)
		return -1;
	uint16_t off = msi_fb_field_offset(fb, t, slot);
	if (off == 0)
		return 0;
	if (off < 4 || (uint32_t)off + size > t->size)
		return fail(fb, MSI_FB_INVALID, t->pos,
		            "field %u of the table at %u has offset %u outside the table's %u bytes", slot, t->pos, off,
		            t->size);
	uint32_t p = t->pos + off;
	if (align > 1 && p % align != 0)
		return fail(fb, MSI_FB_INVALID, p, "field %u of the table at %u is not %u-aligned", slot, t->pos, align);
	return p;
}

int msi_fb_inline(msi_fb *fb, const msi_fb_table *t, unsigned slot, uint32_t size, uint32_t align,
                  const uint8_t **p)
{
	int64_t at = field_pos(fb, t, slot, size, align);
	if (at <= 0)
		return (int)at;
	*p = fb->buf + at;
	return 1;
}

int msi_fb_u8(msi_fb *fb, const msi_fb_table *t, unsigned slot, uint8_t dflt, uint8_t *out)
{
	const uint8_t *p = NULL;
	int rc = msi_fb_inline(fb, t, slot, 1, 1, &p);
	*out = rc == 1 ? p[0] : dflt;
	return rc;
}

int msi_fb_i32(msi_fb *fb, const msi_fb_table *t, unsigned slot, int32_t dflt, int32_t *out)
{
	const uint8_t *p = NULL;
	int rc = msi_fb_inline(fb, t, slot, 4, 4, &p);
	*out = rc == 1 ? (int32_t)msi_le32(p) : dflt;
	return rc;
}

float msi_fb_load_f32(const uint8_t *p)
{
	uint32_t u = msi_le32(p);
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

double msi_fb_load_f64(const uint8_t *p)
{
	uint64_t u = msi_le64(p);
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

int msi_fb_f32(msi_fb *fb, const msi_fb_table *t, unsigned slot, float dflt, float *out)
{
	const uint8_t *p = NULL;
	int rc = msi_fb_inline(fb, t, slot, 4, 4, &p);
	*out = rc == 1 ? msi_fb_load_f32(p) : dflt;
	return rc;
}

int msi_fb_f64(msi_fb *fb, const msi_fb_table *t, unsigned slot, double dflt, double *out)
{
	const uint8_t *p = NULL;
	int rc = msi_fb_inline(fb, t, slot, 8, 8, &p);
	*out = rc == 1 ? msi_fb_load_f64(p) : dflt;
	return rc;
}

/* Follows the u32 offset stored at `at` (4-aligned, inside the buffer). */
static int64_t follow(msi_fb *fb, uint64_t at)
{
	if (at % 4 != 0)
		return fail(fb, MSI_FB_INVALID, at, "the offset at %llu is not 4-aligned", (unsigned long long)at);
	if (!msi_range_ok(at, 4, fb->len))
		return fail(fb, MSI_FB_INVALID, at, "the offset at %llu lies outside the buffer", (unsigned long long)at);
	uint32_t o = msi_le32(fb->buf + at);
	if (o == 0 || o > 0x7FFFFFFFu || at + o >= fb->len)
		return fail(fb, MSI_FB_INVALID, at, "the offset %u at %llu points outside the buffer (%u bytes)", o,
		            (unsigned long long)at, fb->len);
	return (int64_t)(at + o);
}

int msi_fb_table_field(msi_fb *fb, const msi_fb_table *t, unsigned slot, msi_fb_table *out)
{
	int64_t at = field_pos(fb, t, slot, 4, 4);
	if (at <= 0)
		return (int)at;
	int64_t target = follow(fb, (uint64_t)at);
	if (target < 0)
		return -1;
	return verify_table(fb, (uint64_t)target, t->depth + 1, out);
}

static int verify_vector(msi_fb *fb, uint64_t vp, uint32_t elem, uint32_t depth, msi_fb_vec *out)
{
	if (vp % 4 != 0)
		return fail(fb, MSI_FB_INVALID, vp, "the vector at %llu is not 4-aligned", (unsigned long long)vp);
	if (!msi_range_ok(vp, 4, fb->len))
		return fail(fb, MSI_FB_INVALID, vp, "the vector at %llu lies outside the buffer", (unsigned long long)vp);
	uint32_t count = msi_le32(fb->buf + vp);
	uint64_t bytes = (uint64_t)count * elem; /* < 2^32 * 2^32: no overflow */
	if (!msi_range_ok(vp + 4, bytes, fb->len))
		return fail(fb, MSI_FB_INVALID, vp, "the vector of %u x %u bytes at %llu runs past the buffer (%u bytes)",
		            count, elem, (unsigned long long)vp, fb->len);
	if (!spend(fb, 4 + bytes, vp))
		return -1;
	out->pos = (uint32_t)(vp + 4);
	out->count = count;
	out->elem = elem;
	out->depth = depth;
	return 1;
}

int msi_fb_vector(msi_fb *fb, const msi_fb_table *t, unsigned slot, uint32_t elem_size, msi_fb_vec *out)
{
	int64_t at = field_pos(fb, t, slot, 4, 4);
	if (at <= 0)
		return (int)at;
	int64_t target = follow(fb, (uint64_t)at);
	if (target < 0)
		return -1;
	return verify_vector(fb, (uint64_t)target, elem_size, t->depth, out);
}

static int verify_string(msi_fb *fb, uint64_t sp, const char **s, uint32_t *len)
{
	msi_fb_vec v;
	if (verify_vector(fb, sp, 1, 0, &v) < 0)
		return -1;
	if (v.pos + (uint64_t)v.count >= fb->len || fb->buf[v.pos + v.count] != 0)
		return fail(fb, MSI_FB_INVALID, sp, "the string of %u bytes at %llu lacks its terminating NUL", v.count,
		            (unsigned long long)sp);
	*s = (const char *)fb->buf + v.pos;
	*len = v.count;
	return 1;
}

int msi_fb_string(msi_fb *fb, const msi_fb_table *t, unsigned slot, const char **s, uint32_t *len)
{
	int64_t at = field_pos(fb, t, slot, 4, 4);
	if (at <= 0)
		return (int)at;
	int64_t target = follow(fb, (uint64_t)at);
	if (target < 0)
		return -1;
	return verify_string(fb, (uint64_t)target, s, len);
}

int msi_fb_vec_table(msi_fb *fb, const msi_fb_vec *v, uint32_t i, msi_fb_table *out)
{
	if (fb->error)
		return -1;
	int64_t target = follow(fb, (uint64_t)v->pos + 4u * (uint64_t)i);
	if (target < 0)
		return -1;
	return verify_table(fb, (uint64_t)target, v->depth + 1, out);
}

int msi_fb_vec_string(msi_fb *fb, const msi_fb_vec *v, uint32_t i, const char **s, uint32_t *len)
{
	if (fb->error)
		return -1;
	int64_t target = follow(fb, (uint64_t)v->pos + 4u * (uint64_t)i);
	if (target < 0)
		return -1;
	return verify_string(fb, (uint64_t)target, s, len);
}

float msi_fb_vec_f32(const msi_fb *fb, const msi_fb_vec *v, uint32_t i)
{
	return msi_fb_load_f32(msi_fb_vec_at(fb, v, i));
}

double msi_fb_vec_f64(const msi_fb *fb, const msi_fb_vec *v, uint32_t i)
{
	return msi_fb_load_f64(msi_fb_vec_at(fb, v, i));
}
