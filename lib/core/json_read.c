/* Bounded JSON reader: see json.h. Recursive descent with an explicit depth
 * cap (the caller's, never more than MSI_JSON_MAX_DEPTH) and a node budget. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

typedef struct parser {
	const char *s;
	size_t len, pos;
	size_t depth, max_depth;
	size_t nodes, max_nodes;
	int err;
} parser;

static int fail(parser *p, int code, const char *what)
{
	if (p->err == MS_OK)
		p->err = msi_error(code, "JSON: %s at byte %zu", what, p->pos);
	return p->err;
}

static void skip_ws(parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static msi_jval *new_node(parser *p, msi_jkind kind)
{
	if (++p->nodes > p->max_nodes) {
		fail(p, MS_ELIMIT, "too many values");
		return NULL;
	}
	msi_jval *v = msi_calloc(1, sizeof *v);
	if (!v) {
		fail(p, MS_ENOMEM, "out of memory");
		return NULL;
	}
	v->kind = kind;
	return v;
}

static bool match(parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos >= n && memcmp(p->s + p->pos, word, n) == 0) {
		p->pos += n;
		return true;
	}
	return false;
}

static int hex4(parser *p, uint32_t *out)
{
	if (p->len - p->pos < 4)
		return fail(p, MS_EFORMAT, "truncated \\u escape");
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p->s[p->pos++];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
		else return fail(p, MS_EFORMAT, "bad \\u escape");
	}
	*out = v;
	return MS_OK;
}

static void put_utf8(msi_buf *b, uint32_t cp)
{
	char t[4];
	if (cp < 0x80) {
		t[0] = (char)cp;
		msi_buf_append(b, t, 1);
	} else if (cp < 0x800) {
		t[0] = (char)(0xC0 | (cp >> 6));
		t[1] = (char)(0x80 | (cp & 0x3F));
		msi_buf_append(b, t, 2);
	} else if (cp < 0x10000) {
		t[0] = (char)(0xE0 | (cp >> 12));
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		t[2] = (char)(0x80 | (cp & 0x3F));
		msi_buf_append(b, t, 3);
	} else {
		t[0] = (char)(0xF0 | (cp >> 18));
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		t[3] = (char)(0x80 | (cp & 0x3F));
		msi_buf_append(b, t, 4);
	}
}

/* Reads a string body after the opening quote into a new heap string. */
static int parse_string(parser *p, char **out, size_t *out_len)
{
	msi_buf b = MSI_BUF_INIT;
	for (;;) {
		size_t run = p->pos;
		while (run < p->len && p->s[run] != '"' && p->s[run] != '\\' && (unsigned char)p->s[run] >= 0x20)
			run++;
		msi_buf_append(&b, p->s + p->pos, run - p->pos);
		p->pos = run;
		if (p->pos >= p->len) {
			msi_buf_free(&b);
			return fail(p, MS_EFORMAT, "unterminated string");
		}
		char c = p->s[p->pos++];
		if (c == '"')
			break;
		if (c != '\\') {
			msi_buf_free(&b);
			p->pos--;
			return fail(p, MS_EFORMAT, "control character in string");
		}
		if (p->pos >= p->len) {
			msi_buf_free(&b);
			return fail(p, MS_EFORMAT, "unterminated escape");
		}
		char e = p->s[p->pos++];
		switch (e) {
		case '"': msi_buf_putc(&b, '"'); break;
		case '\\': msi_buf_putc(&b, '\\'); break;
		case '/': msi_buf_putc(&b, '/'); break;
		case 'b': msi_buf_putc(&b, '\b'); break;
		case 'f': msi_buf_putc(&b, '\f'); break;
		case 'n': msi_buf_putc(&b, '\n'); break;
		case 'r': msi_buf_putc(&b, '\r'); break;
		case 't': msi_buf_putc(&b, '\t'); break;
		case 'u': {
			uint32_t cp;
			if (hex4(p, &cp) != MS_OK) {
				msi_buf_free(&b);
				return p->err;
			}
			if (cp >= 0xD800 && cp <= 0xDBFF && p->len - p->pos >= 6 && p->s[p->pos] == '\\' &&
			    p->s[p->pos + 1] == 'u') {
				size_t save = p->pos;
				uint32_t lo;
				p->pos += 2;
				if (hex4(p, &lo) != MS_OK) {
					msi_buf_free(&b);
					return p->err;
				}
				if (lo >= 0xDC00 && lo <= 0xDFFF)
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				else
					p->pos = save; /* lone high surrogate */
			}
			if (cp >= 0xD800 && cp <= 0xDFFF)
				cp = 0xFFFD; /* lone surrogates cannot be UTF-8 */
			put_utf8(&b, cp);
			break;
		}
		default:
			msi_buf_free(&b);
			return fail(p, MS_EFORMAT, "bad escape");
		}
	}
	if (b.failed) {
		msi_buf_free(&b);
		return fail(p, MS_ENOMEM, "out of memory");
	}
	if (!b.data) {
		b.data = msi_strdup("");
		if (!b.data)
			return fail(p, MS_ENOMEM, "out of memory");
	}
	*out = b.data;
	*out_len = b.len;
	return MS_OK;
}

static int parse_value(parser *p, msi_jval **out);

static int add_item(parser *p, msi_jval *parent, msi_jval *item, char *key, size_t key_len, size_t *cap)
{
	if (parent->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		msi_jval **items = msi_reallocarray(parent->items, ncap, sizeof *items);
		if (!items)
			return fail(p, MS_ENOMEM, "out of memory");
		parent->items = items;
		if (parent->kind == MSI_JOBJECT) {
			char **keys = msi_reallocarray(parent->keys, ncap, sizeof *keys);
			if (!keys)
				return fail(p, MS_ENOMEM, "out of memory");
			parent->keys = keys;
			size_t *lens = msi_reallocarray(parent->key_lens, ncap, sizeof *lens);
			if (!lens)
				return fail(p, MS_ENOMEM, "out of memory");
			parent->key_lens = lens;
		}
		*cap = ncap;
	}
	parent->items[parent->count] = item;
	if (parent->kind == MSI_JOBJECT) {
		parent->keys[parent->count] = key;
		parent->key_lens[parent->count] = key_len;
	}
	parent->count++;
	return MS_OK;
}

static int parse_container(parser *p, msi_jval *v, char close)
{
	size_t cap = 0;
	if (++p->depth > p->max_depth)
		return fail(p, MS_ELIMIT, "nesting too deep");
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		p->depth--;
		return MS_OK;
	}
	for (;;) {
		char *key = NULL;
		size_t key_len = 0;
		skip_ws(p);
		if (v->kind == MSI_JOBJECT) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return fail(p, MS_EFORMAT, "expected a string key");
			p->pos++;
			if (parse_string(p, &key, &key_len) != MS_OK)
				return p->err;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				msi_free(key);
				return fail(p, MS_EFORMAT, "expected ':'");
			}
			p->pos++;
		}
		msi_jval *item = NULL;
		if (parse_value(p, &item) != MS_OK) {
			msi_free(key);
			return p->err;
		}
		if (add_item(p, v, item, key, key_len, &cap) != MS_OK) {
			msi_free(key);
			msi_jval_free(item);
			return p->err;
		}
		skip_ws(p);
		if (p->pos >= p->len)
			return fail(p, MS_EFORMAT, "unexpected end of input");
		char c = p->s[p->pos++];
		if (c == close)
			break;
		if (c != ',') {
			p->pos--;
			return fail(p, MS_EFORMAT, "expected ',' or a closing bracket");
		}
	}
	p->depth--;
	return MS_OK;
}

static int parse_number(parser *p, msi_jval *v)
{
	size_t start = p->pos;
	if (p->pos < p->len && (p->s[p->pos] == '-' || p->s[p->pos] == '+'))
		p->pos++;
	if (match(p, "Infinity")) {
		v->number = (p->s[start] == '-') ? -INFINITY : INFINITY;
	} else if (match(p, "NaN")) {
		v->number = NAN;
	} else {
		size_t digits = p->pos;
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
		if (p->pos == digits)
			return fail(p, MS_EFORMAT, "invalid number");
		if (p->pos < p->len && p->s[p->pos] == '.') {
			p->pos++;
			size_t frac = p->pos;
			while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
				p->pos++;
			if (p->pos == frac)
				return fail(p, MS_EFORMAT, "invalid number");
		}
		if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
			p->pos++;
			if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
				p->pos++;
			size_t exp = p->pos;
			while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
				p->pos++;
			if (p->pos == exp)
				return fail(p, MS_EFORMAT, "invalid number");
		}
	}
	v->text = msi_strndup(p->s + start, p->pos - start);
	if (!v->text)
		return fail(p, MS_ENOMEM, "out of memory");
	v->text_len = p->pos - start;
	if (isnan(v->number) || isinf(v->number))
		return MS_OK;
	v->number = strtod(v->text, NULL);
	return MS_OK;
}

static int parse_value(parser *p, msi_jval **out)
{
	skip_ws(p);
	if (p->pos >= p->len)
		return fail(p, MS_EFORMAT, "unexpected end of input");
	char c = p->s[p->pos];
	msi_jval *v;
	int rc = MS_OK;
	if (c == '{' || c == '[') {
		p->pos++;
		v = new_node(p, c == '{' ? MSI_JOBJECT : MSI_JARRAY);
		if (!v)
			return p->err;
		rc = parse_container(p, v, c == '{' ? '}' : ']');
	} else if (c == '"') {
		p->pos++;
		v = new_node(p, MSI_JSTRING);
		if (!v)
			return p->err;
		rc = parse_string(p, &v->text, &v->text_len);
	} else if (c == '-' || c == '+' || (c >= '0' && c <= '9') || c == 'N' || c == 'I') {
		v = new_node(p, MSI_JNUMBER);
		if (!v)
			return p->err;
		rc = parse_number(p, v);
	} else if (match(p, "true") || match(p, "false")) {
		v = new_node(p, MSI_JBOOL);
		if (!v)
			return p->err;
		v->boolean = (c == 't');
	} else if (match(p, "null")) {
		v = new_node(p, MSI_JNULL);
		if (!v)
			return p->err;
	} else {
		return fail(p, MS_EFORMAT, "unexpected character");
	}
	if (rc != MS_OK) {
		msi_jval_free(v);
		return rc;
	}
	*out = v;
	return MS_OK;
}

int msi_json_parse(const char *text, size_t len, const msi_json_limits *limits, msi_jval **out)
{
	parser p = { text, len, 0, 0, 64, 0, 1000000, MS_OK };
	if (limits) {
		if (limits->max_depth)
			p.max_depth = limits->max_depth;
		if (limits->max_nodes)
			p.max_nodes = limits->max_nodes;
	}
	if (p.max_depth > MSI_JSON_MAX_DEPTH)
		p.max_depth = MSI_JSON_MAX_DEPTH;
	*out = NULL;
	msi_jval *v = NULL;
	if (parse_value(&p, &v) != MS_OK)
		return p.err;
	skip_ws(&p);
	if (p.pos != p.len) {
		msi_jval_free(v);
		return fail(&p, MS_EFORMAT, "trailing characters after the value");
	}
	*out = v;
	return MS_OK;
}

void msi_jval_free(msi_jval *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->count; i++) {
		msi_jval_free(v->items[i]);
		if (v->keys)
			msi_free(v->keys[i]);
	}
	msi_free(v->items);
	msi_free(v->keys);
	msi_free(v->key_lens);
	msi_free(v->text);
	msi_free(v);
}

const msi_jval *msi_jval_get(const msi_jval *obj, const char *key)
{
	if (!obj || obj->kind != MSI_JOBJECT)
		return NULL;
	size_t n = strlen(key);
	for (size_t i = obj->count; i-- > 0;)
		if (obj->key_lens[i] == n && memcmp(obj->keys[i], key, n) == 0)
			return obj->items[i];
	return NULL;
}
