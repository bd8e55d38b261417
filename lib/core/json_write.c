/* JSON writer: see json.h. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

void msi_json_init(msi_json *j, msi_buf *out, unsigned flags)
{
	memset(j, 0, sizeof *j);
	j->out = out;
	j->flags = flags;
}

static void before_value(msi_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->need_comma[j->depth])
		msi_buf_puts(j->out, (j->flags & MSI_JSON_PYTHON) ? ", " : ",");
	j->need_comma[j->depth] = true;
}

static void open_container(msi_json *j, char c)
{
	before_value(j);
	msi_buf_putc(j->out, c);
	if (j->depth >= MSI_JSON_MAX_DEPTH) {
		j->overflow = true;
		j->out->failed = true;
		return;
	}
	j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_container(msi_json *j, char c)
{
	msi_buf_putc(j->out, c);
	if (j->depth > 0)
		j->depth--;
}

void msi_json_object_begin(msi_json *j) { open_container(j, '{'); }
void msi_json_object_end(msi_json *j) { close_container(j, '}'); }
void msi_json_array_begin(msi_json *j) { open_container(j, '['); }
void msi_json_array_end(msi_json *j) { close_container(j, ']'); }

/* Decodes one UTF-8 sequence; returns its length, or 0 if invalid (then
 * *cp is U+FFFD and one byte is consumed by the caller). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		len = 2; v = c & 0x1F; min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3; v = c & 0x0F; min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4; v = c & 0x07; min = 0x10000;
	} else {
		goto bad;
	}
	if (len > n)
		goto bad;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			goto bad;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		goto bad;
	*cp = v;
	return len;
bad:
	*cp = 0xFFFD;
	return 0;
}

void msi_json_escape(msi_buf *out, const char *str, size_t len, bool ascii)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		size_t run = i;
		/* json.dumps(ensure_ascii=True) escapes everything outside ' '..'~' */
		unsigned char top = ascii ? 0x7F : 0x80;
		while (run < len && s[run] >= 0x20 && s[run] < top && s[run] != '"' && s[run] != '\\')
			run++;
		msi_buf_append(out, s + i, run - i);
		i = run;
		if (i >= len)
			break;
		unsigned char c = s[i];
		if (c < 0x80) {
			switch (c) {
			case '"': msi_buf_puts(out, "\\\""); break;
			case '\\': msi_buf_puts(out, "\\\\"); break;
			case '\n': msi_buf_puts(out, "\\n"); break;
			case '\r': msi_buf_puts(out, "\\r"); break;
			case '\t': msi_buf_puts(out, "\\t"); break;
			case '\b': msi_buf_puts(out, "\\b"); break;
			case '\f': msi_buf_puts(out, "\\f"); break;
			default: msi_buf_printf(out, "\\u%04x", c); break;
			}
			i++;
			continue;
		}
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			n = 1; /* invalid byte: written as U+FFFD */
		if (!ascii && cp != 0xFFFD) {
			msi_buf_append(out, s + i, n);
		} else if (cp >= 0x10000) {
			uint32_t v = cp - 0x10000;
			msi_buf_printf(out, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
		} else {
			msi_buf_printf(out, "\\u%04x", cp);
		}
		i += n;
	}
}

bool msi_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

size_t msi_utf8_count(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += (s[i] & 0xC0) != 0x80;
	return n;
}

void msi_json_keyn(msi_json *j, const char *key, size_t len)
{
	before_value(j);
	msi_buf_putc(j->out, '"');
	msi_json_escape(j->out, key, len, (j->flags & MSI_JSON_PYTHON) != 0);
	msi_buf_puts(j->out, (j->flags & MSI_JSON_PYTHON) ? "\": " : "\":");
	j->after_key = true;
}

void msi_json_key(msi_json *j, const char *key)
{
	msi_json_keyn(j, key, strlen(key));
}

void msi_json_stringn(msi_json *j, const char *s, size_t len)
{
	before_value(j);
	msi_buf_putc(j->out, '"');
	msi_json_escape(j->out, s, len, (j->flags & MSI_JSON_PYTHON) != 0);
	msi_buf_putc(j->out, '"');
}

void msi_json_string(msi_json *j, const char *s)
{
	if (!s)
		msi_json_null(j);
	else
		msi_json_stringn(j, s, strlen(s));
}

void msi_json_int(msi_json *j, int64_t v)
{
	before_value(j);
	msi_buf_printf(j->out, "%lld", (long long)v);
}

void msi_json_uint(msi_json *j, uint64_t v)
{
	before_value(j);
	msi_buf_printf(j->out, "%llu", (unsigned long long)v);
}

void msi_json_double(msi_json *j, double v)
{
	if (!isfinite(v)) {
		msi_json_null(j);
		return;
	}
	before_value(j);
	/* shortest text that reads back to the same double */
	char tmp[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	msi_buf_puts(j->out, tmp);
	/* keep it a number that reads as a float in Python too */
	if (!strpbrk(tmp, ".eEn"))
		msi_buf_puts(j->out, ".0");
}

void msi_json_bool(msi_json *j, bool v)
{
	before_value(j);
	msi_buf_puts(j->out, v ? "true" : "false");
}

void msi_json_null(msi_json *j)
{
	before_value(j);
	msi_buf_puts(j->out, "null");
}

void msi_json_raw(msi_json *j, const char *text, size_t len)
{
	before_value(j);
	msi_buf_append(j->out, text, len);
}

void msi_jval_write(msi_json *j, const msi_jval *v)
{
	switch (v->kind) {
	case MSI_JNULL: msi_json_null(j); break;
	case MSI_JBOOL: msi_json_bool(j, v->boolean); break;
	case MSI_JNUMBER:
		if (isfinite(v->number))
			msi_json_raw(j, v->text, v->text_len);
		else
			msi_json_null(j);
		break;
	case MSI_JSTRING: msi_json_stringn(j, v->text, v->text_len); break;
	case MSI_JARRAY:
		msi_json_array_begin(j);
		for (size_t i = 0; i < v->count; i++)
			msi_jval_write(j, v->items[i]);
		msi_json_array_end(j);
		break;
	case MSI_JOBJECT:
		msi_json_object_begin(j);
		for (size_t i = 0; i < v->count; i++) {
			msi_json_keyn(j, v->keys[i], v->key_lens[i]);
			msi_jval_write(j, v->items[i]);
		}
		msi_json_object_end(j);
		break;
	}
}
