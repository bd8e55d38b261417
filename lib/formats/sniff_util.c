#define _GNU_SOURCE
/* Small helpers shared by the sniffers. */
#include <ctype.h>
#include <string.h>

#include "format.h"

bool msi_has_prefix(const uint8_t *p, size_t n, const void *prefix, size_t plen)
{
	return n >= plen && memcmp(p, prefix, plen) == 0;
}

const uint8_t *msi_find(const uint8_t *hay, size_t n, const void *needle, size_t nlen)
{
	if (nlen == 0 || n < nlen)
		return NULL;
	return memmem(hay, n, needle, nlen);
}

bool msi_name_has_ext(const char *name, const char *ext)
{
	if (!name)
		return false;
	size_t nl = strlen(name), el = strlen(ext);
	if (nl < el)
		return false;
	for (size_t i = 0; i < el; i++)
		if (tolower((unsigned char)name[nl - el + i]) != tolower((unsigned char)ext[i]))
			return false;
	return true;
}

size_t msi_source_read_some(const msi_source *s, uint64_t off, void *dst, size_t len)
{
	if (!s || off >= s->size || len == 0)
		return 0;
	int64_t got = msi_source_read_upto(s, off, dst, len);
	return got > 0 ? (size_t)got : 0;
}

size_t msi_view_read(const msi_view *v, uint64_t off, void *dst, size_t len)
{
	if (off < v->head_len && len <= v->head_len - off) {
		memcpy(dst, v->head + off, len);
		return len;
	}
	return msi_source_read_some(v->src, off, dst, len);
}

bool msi_is_text(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return false;
			if (c == 0x7F)
				return false;
			i++;
			continue;
		}
		size_t need;
		if (c >= 0xC2 && c <= 0xDF)
			need = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			need = 2;
		else if (c >= 0xF0 && c <= 0xF4)
			need = 3;
		else
			return false;
		for (size_t k = 1; k <= need; k++) {
			if (i + k >= n)
				return true; /* cut by the end of the window */
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
		}
		i += need + 1;
	}
	return true;
}

size_t msi_zip_scan_local_names(const uint8_t *head, size_t n, msi_zip_name_fn fn, void *user)
{
	static const uint8_t sig[4] = { 'P', 'K', 3, 4 };
	size_t pos = 0, seen = 0;
	while (seen < 4096 && n - pos >= 30 && memcmp(head + pos, sig, 4) == 0) {
		msi_cursor c = msi_cursor_make(head + pos, n - pos);
		msi_cursor_skip(&c, 6);
		uint16_t flags = msi_cursor_le16(&c);
		msi_cursor_skip(&c, 10);
		uint32_t csize = msi_cursor_le32(&c);
		msi_cursor_skip(&c, 4);
		uint16_t nlen = msi_cursor_le16(&c);
		uint16_t xlen = msi_cursor_le16(&c);
		const uint8_t *name = msi_cursor_bytes(&c, nlen);
		if (!name)
			break; /* the window ends inside the name */
		seen++;
		if (!fn((const char *)name, nlen, user))
			break;
		size_t data = pos + 30 + (size_t)nlen;
		if (n - data < xlen)
			break;
		data += xlen;
		size_t next = SIZE_MAX;
		/* Sizes in the local header are only meaningful without a data
		 * descriptor, and 0xFFFFFFFF defers them to a ZIP64 extra field. */
		if (!(flags & 8) && csize != 0xFFFFFFFFu && csize <= n - data)
			next = data + csize;
		if (next != SIZE_MAX && n - next >= 4 && memcmp(head + next, sig, 4) == 0) {
			pos = next;
			continue;
		}
		const uint8_t *hit = msi_find(head + data, n - data, sig, 4);
		if (!hit)
			break;
		pos = (size_t)(hit - head);
	}
	return seen;
}

const char *msi_entry_base(const char *name)
{
	const char *slash = strrchr(name, '/');
	return slash ? slash + 1 : name;
}

const char *msi_entry_strip_dot(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	return name;
}

int msi_container_read_window(msi_container *c, size_t index, bool tail, uint8_t *dst, size_t cap, size_t *got)
{
	*got = 0;
	if (!c || !c->ops || !c->ops->open_entry || index >= c->count)
		return MS_EFORMAT;
	const msi_entry *e = &c->entries[index];
	if (e->unsafe || e->type != MSI_ENTRY_FILE)
		return MS_EFORMAT;
	msi_source *s;
	int rc = c->ops->open_entry(c, index, 16u << 20, &s);
	if (rc != MS_OK)
		return rc;
	uint64_t off = tail && s->size > cap ? s->size - cap : 0;
	*got = msi_source_read_some(s, off, dst, cap);
	msi_source_release(s);
	return MS_OK;
}
