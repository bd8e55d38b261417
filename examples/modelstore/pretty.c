/* Human-readable output: JSON re-indented, two spaces a level. The text is
 * built in memory and written once (a 6,000-tensor inspect is ~400 KB of
 * JSON: a stdio call per character or per token cost more than reading the
 * model); where memory runs out it falls back to writing as it goes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pretty.h"

typedef struct out {
	FILE *to;
	char *buf;
	size_t len, cap;
} out;

static void put(out *o, const char *p, size_t n)
{
	if (o->buf && o->cap - o->len < n) {
		size_t cap = o->cap * 2 > o->len + n ? o->cap * 2 : o->len + n;
		char *b = realloc(o->buf, cap);
		if (!b) {
			fwrite(o->buf, 1, o->len, o->to);
			free(o->buf);
			o->buf = NULL;
		} else {
			o->buf = b;
			o->cap = cap;
		}
	}
	if (o->buf) {
		memcpy(o->buf + o->len, p, n);
		o->len += n;
	} else {
		fwrite(p, 1, n, o->to);
	}
}

static void newline_indent(out *o, int depth)
{
	static const char spaces[] = "\n                                                                ";
	size_t n = 2u * (size_t)depth + 1;
	put(o, spaces, n < sizeof spaces - 1 ? n : sizeof spaces - 1);
	for (n = n < sizeof spaces - 1 ? 0 : n - (sizeof spaces - 1); n > 0;) {
		size_t k = n < sizeof spaces - 2 ? n : sizeof spaces - 2;
		put(o, spaces + 1, k);
		n -= k;
	}
}

void pretty_print_json(FILE *to, const char *s, size_t len)
{
	out o = { to, malloc(len + len / 2 + 64), 0, len + len / 2 + 64 };
	int depth = 0;
	size_t run = 0; /* start of the pending plain run */
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '"') {
			/* a string, escapes included, joins the run */
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			continue;
		}
		if (c != '{' && c != '[' && c != '}' && c != ']' && c != ',' && c != ':')
			continue;
		put(&o, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '{':
		case '[':
			/* keep empty containers on one line */
			if (i + 1 < len && (s[i + 1] == '}' || s[i + 1] == ']')) {
				put(&o, s + i, 2);
				run = ++i + 1;
				break;
			}
			put(&o, &c, 1);
			newline_indent(&o, ++depth);
			break;
		case '}':
		case ']':
			newline_indent(&o, depth > 0 ? --depth : 0);
			put(&o, &c, 1);
			break;
		case ',':
			put(&o, ",", 1);
			newline_indent(&o, depth);
			break;
		default: /* ':' */
			put(&o, ": ", 2);
		}
	}
	if (run < len)
		put(&o, s + run, len - run);
	put(&o, "\n", 1);
	if (o.buf) {
		fwrite(o.buf, 1, o.len, to);
		free(o.buf);
	}
}
