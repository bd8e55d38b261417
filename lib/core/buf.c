/* Growable byte buffer. A failed allocation sets `failed` and turns later
 * appends into no-ops, so callers check once at the end. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

bool msi_buf_reserve(msi_buf *b, size_t extra)
{
	if (b->failed)
		return false;
	size_t need;
	if (__builtin_add_overflow(b->len, extra, &need) || __builtin_add_overflow(need, 1, &need)) {
		b->failed = true;
		return false;
	}
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	char *p = msi_realloc(b->data, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void msi_buf_append(msi_buf *b, const void *data, size_t len)
{
	if (len == 0 || !msi_buf_reserve(b, len))
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void msi_buf_puts(msi_buf *b, const char *s)
{
	msi_buf_append(b, s, strlen(s));
}

void msi_buf_putc(msi_buf *b, char c)
{
	msi_buf_append(b, &c, 1);
}

void msi_buf_printf(msi_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < sizeof small) {
		msi_buf_append(b, small, (size_t)n);
		return;
	}
	if (!msi_buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *msi_buf_detach(msi_buf *b, size_t *len_out)
{
	if (b->failed || !msi_buf_reserve(b, 0)) {
		msi_buf_free(b);
		return NULL;
	}
	b->data[b->len] = '\0';
	char *d = b->data;
	if (len_out)
		*len_out = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

void msi_buf_free(msi_buf *b)
{
	msi_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}
