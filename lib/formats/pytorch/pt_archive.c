/*
 * TorchScript's parameter and buffer lists. A scripted module's pickle says
 * only "attribute weight is this tensor"; whether that tensor is a parameter
 * or a buffer is in the class's source under code/, which TorchScript
 * writes as
 *
 *   class Linear(Module):
 *     __parameters__ = ["weight", "bias", ]
 *     __buffers__ = []
 *
 * in code/__torch__/torch/nn/modules/linear.py for the class
 * __torch__.torch.nn.modules.linear.Linear. The source is only scanned for
 * those two lines: it is never evaluated.
 */
#include <string.h>

#include "pt.h"

struct pt_class {
	char *qualname;
	char *params;  /* "\0"-separated names, ending with an empty name */
	char *buffers;
};

struct pt_class_lists {
	pt_class *classes;
	size_t count, cap;
	size_t *index; /* open addressing over qualname: class index + 1 */
	size_t index_cap;
};

#define LINE_MAX_SCAN 65536 /* longer lines are skipped, not read */

pt_class_lists *pt_class_lists_new(void)
{
	return msi_calloc(1, sizeof(pt_class_lists));
}

void pt_class_lists_free(pt_class_lists *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++) {
		msi_free(l->classes[i].qualname);
		msi_free(l->classes[i].params);
		msi_free(l->classes[i].buffers);
	}
	msi_free(l->classes);
	msi_free(l->index);
	msi_free(l);
}

static bool rehash(pt_class_lists *l)
{
	size_t cap = l->index_cap ? l->index_cap * 2 : 64;
	size_t *idx = msi_calloc(cap, sizeof *idx);
	if (!idx)
		return false;
	for (size_t i = 0; i < l->count; i++) {
		size_t j = (size_t)msi_fnv1a_str(MSI_FNV_OFFSET, l->classes[i].qualname) & (cap - 1);
		while (idx[j])
			j = (j + 1) & (cap - 1);
		idx[j] = i + 1;
	}
	msi_free(l->index);
	l->index = idx;
	l->index_cap = cap;
	return true;
}

static const pt_class *find_class(const pt_class_lists *l, const char *qualname)
{
	if (!l || !l->index_cap)
		return NULL;
	size_t j = (size_t)msi_fnv1a_str(MSI_FNV_OFFSET, qualname) & (l->index_cap - 1);
	while (l->index[j]) {
		const pt_class *c = &l->classes[l->index[j] - 1];
		if (strcmp(c->qualname, qualname) == 0)
			return c;
		j = (j + 1) & (l->index_cap - 1);
	}
	return NULL;
}

/* The quoted names of a `[ "a", "b", ]` list as "a\0b\0\0". */
static char *parse_names(const char *p, const char *end)
{
	char *out = msi_malloc((size_t)(end - p) + 2);
	if (!out)
		return NULL;
	size_t n = 0;
	while (p < end) {
		if (*p != '"' && *p != '\'') {
			p++;
			continue;
		}
		char q = *p++;
		const char *s = p;
		while (p < end && *p != q)
			p++;
		if (p >= end)
			break;
		memcpy(out + n, s, (size_t)(p - s));
		n += (size_t)(p - s);
		out[n++] = '\0';
		p++;
	}
	out[n++] = '\0';
	return out;
}

static bool starts(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

static int add_class(pt_class_lists *l, const char *module, const char *name, size_t nlen, pt_class **out)
{
	if ((l->count + 1) * 2 > l->index_cap && !rehash(l))
		return MS_ENOMEM;
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		pt_class *c = msi_reallocarray(l->classes, cap, sizeof *c);
		if (!c)
			return MS_ENOMEM;
		l->classes = c;
		l->cap = cap;
	}
	msi_buf b = MSI_BUF_INIT;
	msi_buf_puts(&b, module);
	msi_buf_putc(&b, '.');
	msi_buf_append(&b, name, nlen);
	char *q = msi_buf_detach(&b, NULL);
	if (!q)
		return MS_ENOMEM;
	if (find_class(l, q)) {
		msi_free(q); /* the same class twice: the first one counts */
		*out = NULL;
		return MS_OK;
	}
	pt_class *c = &l->classes[l->count];
	memset(c, 0, sizeof *c);
	c->qualname = q;
	size_t j = (size_t)msi_fnv1a_str(MSI_FNV_OFFSET, q) & (l->index_cap - 1);
	while (l->index[j])
		j = (j + 1) & (l->index_cap - 1);
	l->index[j] = ++l->count;
	*out = c;
	return MS_OK;
}

int pt_class_lists_add_source(pt_class_lists *l, const char *module, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	pt_class *cur = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if ((size_t)(le - p) <= LINE_MAX_SCAN) {
			if (starts(p, le, "class ")) {
				const char *s = p + 6, *e = s;
				while (e < le && *e != '(' && *e != ':' && *e != ' ')
					e++;
				cur = NULL;
				if (e > s) {
					int rc = add_class(l, module, s, (size_t)(e - s), &cur);
					if (rc)
						return rc;
				}
			} else if (p < le && *p != ' ' && *p != '\t') {
				cur = NULL; /* a top-level statement ends the class */
			} else if (cur) {
				const char *s = p;
				while (s < le && (*s == ' ' || *s == '\t'))
					s++;
				char **slot = NULL;
				if (starts(s, le, "__parameters__ = ["))
					slot = &cur->params;
				else if (starts(s, le, "__buffers__ = ["))
					slot = &cur->buffers;
				if (slot && !*slot) {
					*slot = parse_names(s, le);
					if (!*slot)
						return MS_ENOMEM;
				}
			}
		}
		p = nl ? nl + 1 : end;
	}
	return MS_OK;
}

static bool in_names(const char *names, const char *attr)
{
	for (const char *n = names; n && *n; n += strlen(n) + 1)
		if (strcmp(n, attr) == 0)
			return true;
	return false;
}

const pt_class *pt_class_lists_find(const pt_class_lists *l, const char *module, const char *name)
{
	char q[512];
	size_t ml = strlen(module), nl = strlen(name);
	if (ml + nl + 2 > sizeof q)
		return NULL;
	memcpy(q, module, ml);
	q[ml] = '.';
	memcpy(q + ml + 1, name, nl + 1);
	return find_class(l, q);
}

int pt_class_attr_kind(const pt_class *c, const char *attr)
{
	if (!c)
		return -1;
	if (in_names(c->params, attr))
		return 1;
	if (in_names(c->buffers, attr))
		return 2;
	return 0;
}
