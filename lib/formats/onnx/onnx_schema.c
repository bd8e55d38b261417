/*
 * The ONNX operator-schema table and onnx.checker's node check (onnx 1.12
 * checker.cc check_node, defs/schema.cc OpSchema::Verify).
 *
 * Verify's rules, as mirrored here:
 *   - the input (output) count must lie in [min, max] of the schema, where a
 *     trailing variadic parameter makes max unlimited and adds its min_arity
 *     to min, and trailing optional parameters may be left out; a few schemas
 *     further restrict the count to a set (NumInputs/NumOutputs({1, 5}));
 *   - a name given as "" is an absent value, which only an Optional or
 *     Variadic formal parameter may be; positions past the last formal belong
 *     to the variadic one;
 *   - every attribute must be declared (unless the schema allows unchecked
 *     attributes or the name starts with "__"), its type must equal the
 *     declared type (also for a ref_attr_name reference, which is checked for
 *     type only), and a tensor, graph, type-proto or list attribute must hold
 *     a value (sparse-tensor lists excepted, as in onnx);
 *   - every required attribute must be present.
 * onnx stops at the first failure; we report every one. Differences, by
 * choice: a node in ai.onnx at an opset newer than the table is only warned
 * about (the operator may have changed), and an operator onnx.checker calls
 * experimental is warned about in any domain, then left alone, as onnx does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "onnx_schema.h"

enum { MSI_ONNX_SINGLE, MSI_ONNX_OPTIONAL, MSI_ONNX_VARIADIC };
#define MSI_ONNX_UNBOUNDED 255u /* a count with no upper limit (onnx: INT_MAX) */

enum {
	SCHEMA_DEPRECATED = 1,
	SCHEMA_EXPERIMENTAL = 2,     /* support_level EXPERIMENTAL */
	SCHEMA_UNCHECKED_ATTRS = 4,  /* AllowUncheckedAttributes() */
};

typedef struct msi_onnx_domain_row {
	const char *name;
	uint8_t max_opset;
	uint16_t first_op, n_ops;
} msi_onnx_domain_row;

typedef struct msi_onnx_op_row {
	uint16_t name;         /* offset in schema_names */
	uint16_t first, count; /* its versions in schema_versions, oldest first */
} msi_onnx_op_row;

struct msi_onnx_op_schema {
	uint16_t op;
	uint8_t since;
	uint8_t flags;
	uint8_t min_in, max_in, min_out, max_out;
	uint8_t n_in, n_out, n_attrs;
	uint16_t formals, attrs;
	uint16_t in_allowed, out_allowed; /* bit n: count n allowed; 0: any in range */
};

typedef struct msi_onnx_formal_row {
	uint16_t name;
	uint8_t option;
} msi_onnx_formal_row;

typedef struct msi_onnx_attr_row {
	uint16_t name;
	uint8_t type;     /* AttributeProto.AttributeType */
	uint8_t required;
} msi_onnx_attr_row;

#include "onnx_schemas.inc"

#define NAME(off) (schema_names + (off))

/* ---- lookup ---- */

static const msi_onnx_domain_row *find_domain(const char *domain)
{
	if (!domain || strcmp(domain, "ai.onnx") == 0)
		domain = "";
	for (size_t i = 0; i < MSI_ARRAY_LEN(schema_domains); i++)
		if (strcmp(schema_domains[i].name, domain) == 0)
			return &schema_domains[i];
	return NULL;
}

static const msi_onnx_op_row *find_op(const msi_onnx_domain_row *d, const char *op_type)
{
	size_t lo = d->first_op, hi = (size_t)d->first_op + d->n_ops;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(NAME(schema_ops[mid].name), op_type);
		if (c == 0)
			return &schema_ops[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct msi_onnx_op_schema *version_at(const msi_onnx_op_row *op, int64_t opset)
{
	for (size_t i = op->count; i > 0; i--) {
		const struct msi_onnx_op_schema *s = &schema_versions[op->first + i - 1];
		if (s->since <= opset)
			return s;
	}
	return NULL;
}

const char *msi_onnx_schema_table_version(void)
{
	return MSI_ONNX_TABLE_ONNX_VERSION;
}

int64_t msi_onnx_schema_max_opset(const char *domain)
{
	const msi_onnx_domain_row *d = find_domain(domain);
	return d ? d->max_opset : 0;
}

const struct msi_onnx_op_schema *msi_onnx_schema_find(const char *domain, const char *op_type, int64_t opset)
{
	const msi_onnx_domain_row *d = find_domain(domain);
	const msi_onnx_op_row *op = d && op_type ? find_op(d, op_type) : NULL;
	return op ? version_at(op, opset) : NULL;
}

int msi_onnx_schema_since(const struct msi_onnx_op_schema *s)
{
	return s ? s->since : 0;
}

const char *msi_onnx_schema_name(const struct msi_onnx_op_schema *s)
{
	return s ? NAME(schema_ops[s->op].name) : "";
}

bool msi_onnx_op_is_experimental(const char *op_type)
{
	if (!op_type)
		return false;
	size_t lo = 0, hi = MSI_ARRAY_LEN(schema_experimental);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(NAME(schema_experimental[mid]), op_type);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static const msi_onnx_attr_row *find_attr(const struct msi_onnx_op_schema *s, const char *name)
{
	size_t lo = s->attrs, hi = (size_t)s->attrs + s->n_attrs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(NAME(schema_attrs[mid].name), name);
		if (c == 0)
			return &schema_attrs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- the node check ---- */

/* What a finding needs to name the node's operator and opset. */
typedef struct node_ctx {
	ms_report *r;
	const char *where;
	const char *op;
	const char *domain; /* "" for ai.onnx */
	int64_t opset;
	char label[96];       /* "opset 11" or "ai.onnx.ml opset 3", made on first use */
	int errors;
} node_ctx;

/* Formatted only when a finding needs it: a clean node costs no printf. */
static const char *opset_label(node_ctx *c)
{
	if (!c->label[0]) {
		if (c->domain && c->domain[0])
			snprintf(c->label, sizeof c->label, "%s opset %" PRId64, c->domain, c->opset);
		else
			snprintf(c->label, sizeof c->label, "opset %" PRId64, c->opset);
	}
	return c->label;
}

static void add_error(node_ctx *c, const char *code, const char *fmt, ...) MSI_PRINTF(3, 4);
static void add_error(node_ctx *c, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	msi_report_addv(c->r, code, c->where, fmt, ap);
	va_end(ap);
	c->errors++;
}

static const char *attr_type_name(int type, char *buf, size_t n)
{
	static const char *const names[] = {
		"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS",
		"STRINGS", "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO",
		"TYPE_PROTOS",
	};
	if (type >= 0 && (size_t)type < MSI_ARRAY_LEN(names))
		return names[type];
	snprintf(buf, n, "type %d", type);
	return buf;
}

/* Verify asks for a value of these types (not of the scalars, which proto
 * may leave at their default, nor of SPARSE_TENSORS, an onnx exception). */
static bool type_needs_value(int type)
{
	switch (type) {
	case 4: case 5: case 6: case 7: case 8: case 9: case 10: case 11: case 13: case 14:
		return true;
	default:
		return false;
	}
}

/* "2 to 3", "at least 1", "1", or from a set: "1 or 5". */
static void describe_allowed(char *buf, size_t n, unsigned lo, unsigned hi, unsigned mask)
{
	if (mask) {
		size_t len = 0;
		unsigned left = 0;
		for (unsigned k = 0; k < 16; k++)
			left += (mask >> k) & 1u;
		buf[0] = '\0';
		for (unsigned k = 0; k < 16 && len < n; k++) {
			if (!((mask >> k) & 1u))
				continue;
			left--;
			int w = snprintf(buf + len, n - len, "%u%s", k,
			                 left == 0 ? "" : left == 1 ? " or " : ", ");
			if (w < 0)
				break;
			len += (size_t)w;
		}
	} else if (hi == MSI_ONNX_UNBOUNDED) {
		snprintf(buf, n, "at least %u", lo);
	} else if (lo == 0 && hi == 0) {
		snprintf(buf, n, "none");
	} else if (lo == hi) {
		snprintf(buf, n, "%u", lo);
	} else {
		snprintf(buf, n, "%u to %u", lo, hi);
	}
}

static void check_count(node_ctx *c, const char *code, const char *what, size_t count,
                        unsigned lo, unsigned hi, unsigned mask)
{
	bool ok = count >= lo && (hi == MSI_ONNX_UNBOUNDED || count <= hi);
	if (ok && mask)
		ok = count < 16 && ((mask >> count) & 1u);
	if (ok)
		return;
	char allowed[64];
	describe_allowed(allowed, sizeof allowed, lo, hi, mask);
	add_error(c, code, "%s has %zu %s%s; %s allows %s", c->op, count, what,
	          count == 1 ? "" : "s", opset_label(c), allowed);
}

/* Empty names at positions whose formal parameter is Single. */
static void check_empty_names(node_ctx *c, const struct msi_onnx_op_schema *s, bool outputs,
                              size_t count, const char *const *names)
{
	size_t n_formal = outputs ? s->n_out : s->n_in;
	const msi_onnx_formal_row *formal = &schema_formals[s->formals + (outputs ? s->n_in : 0)];
	if (!names)
		return;
	for (size_t i = 0; i < count && i < n_formal; i++) {
		if (formal[i].option == MSI_ONNX_VARIADIC)
			break; /* the rest belong to it, and a variadic value may be absent */
		if (formal[i].option == MSI_ONNX_SINGLE && (!names[i] || !names[i][0]))
			add_error(c, "onnx.node.required_input_empty",
			          "%s %s %zu ('%s') is required, but its name is empty", c->op,
			          outputs ? "output" : "input", i, NAME(formal[i].name));
	}
}

static void check_attributes(node_ctx *c, const struct msi_onnx_op_schema *s, const msi_onnx_node_sig *n)
{
	char b1[32], b2[32];
	const char *const *names = n->attr_names;
	for (size_t i = 0; names && i < n->n_attrs; i++) {
		const char *name = names[i] ? names[i] : "";
		const msi_onnx_attr_row *a = find_attr(s, name);
		if (!a) {
			/* "__" names are implementation details onnx does not check */
			if ((s->flags & SCHEMA_UNCHECKED_ATTRS) || (name[0] == '_' && name[1] == '_'))
				continue;
			add_error(c, "onnx.node.attribute_unknown", "%s (%s) has no attribute '%s'",
			          c->op, opset_label(c), name);
			continue;
		}
		int type = n->attr_types ? n->attr_types[i] : 0;
		if (type != a->type) {
			if (type == 0)
				add_error(c, "onnx.node.attribute_type",
				          "attribute '%s' of %s has no type; %s declares it %s", name, c->op,
				          opset_label(c), attr_type_name(a->type, b1, sizeof b1));
			else
				add_error(c, "onnx.node.attribute_type",
				          "attribute '%s' of %s is %s; %s declares it %s", name, c->op,
				          attr_type_name(type, b2, sizeof b2), opset_label(c),
				          attr_type_name(a->type, b1, sizeof b1));
			continue;
		}
		bool is_ref = n->attr_is_ref && n->attr_is_ref[i];
		if (!is_ref && n->attr_has_value && !n->attr_has_value[i] && type_needs_value(type))
			add_error(c, "onnx.attribute.value", "attribute '%s' of %s is %s but holds no value",
			          name, c->op, attr_type_name(type, b1, sizeof b1));
	}
	for (size_t k = 0; k < s->n_attrs; k++) {
		const msi_onnx_attr_row *a = &schema_attrs[s->attrs + k];
		if (!a->required)
			continue;
		bool seen = false;
		for (size_t i = 0; names && i < n->n_attrs && !seen; i++)
			seen = names[i] && strcmp(names[i], NAME(a->name)) == 0;
		if (!seen)
			add_error(c, "onnx.node.attribute_missing", "%s (%s) requires attribute '%s' (%s)",
			          c->op, opset_label(c), NAME(a->name), attr_type_name(a->type, b1, sizeof b1));
	}
}

/* A node of a domain at an opset newer than the table: only what cannot
 * change is reported. */
static void check_newer_than_table(node_ctx *c, const msi_onnx_domain_row *d)
{
	const char *dom = d->name[0] ? d->name : "ai.onnx";
	const msi_onnx_op_row *op = find_op(d, c->op);
	const struct msi_onnx_op_schema *s = op ? version_at(op, c->opset) : NULL;
	if (s && (s->flags & SCHEMA_DEPRECATED)) {
		add_error(c, "onnx.node.deprecated_op", "%s was deprecated in %s opset %u (imported: %" PRId64 ")",
		          c->op, dom, s->since, c->opset);
		return;
	}
	if (s)
		msi_report_add(c->r, "onnx.node.op_newer_than_table", c->where,
		               "%s opset %" PRId64 " is newer than the operator table (onnx %s, up to opset %u); "
		               "%s may have changed after its opset %u version, so it was not checked",
		               dom, c->opset, MSI_ONNX_TABLE_ONNX_VERSION, d->max_opset, c->op, s->since);
	else
		msi_report_add(c->r, "onnx.node.op_newer_than_table", c->where,
		               "%s is not in the operator table (onnx %s, %s up to opset %u); it may be an "
		               "operator of %s opset %" PRId64 ", so it was not checked",
		               c->op, MSI_ONNX_TABLE_ONNX_VERSION, dom, d->max_opset, dom, c->opset);
}

/* Where a node's lookups end: what the check needs besides the node. */
typedef struct resolved {
	bool experimental;
	const msi_onnx_domain_row *d;
	const msi_onnx_op_row *op;
	const struct msi_onnx_op_schema *s;
} resolved;

static void resolve(const char *domain, const char *op_type, int64_t opset, resolved *out)
{
	memset(out, 0, sizeof *out);
	out->experimental = msi_onnx_op_is_experimental(op_type);
	if (out->experimental)
		return;
	out->d = find_domain(domain);
	if (!out->d || opset > out->d->max_opset)
		return;
	out->op = find_op(out->d, op_type);
	out->s = out->op ? version_at(out->op, opset) : NULL;
}

static int check_resolved(ms_report *r, const char *where, const msi_onnx_node_sig *node, int64_t opset,
                          const resolved *v)
{
	/* set field by field: an initializer would clear all of `label` for
	 * every node, and most nodes never need it */
	node_ctx c;
	c.r = r;
	c.where = where;
	c.op = node->op_type ? node->op_type : "";
	c.domain = NULL;
	c.opset = opset;
	c.label[0] = '\0';
	c.errors = 0;
	if (v->experimental) {
		msi_report_add(r, "onnx.node.experimental_op", where,
		               "%s is an experimental operator; onnx.checker does not check it", c.op);
		return 0;
	}
	const msi_onnx_domain_row *d = v->d;
	if (!d)
		return 0; /* a custom domain: nothing to check it against */
	c.domain = d->name;
	if (opset > d->max_opset) {
		check_newer_than_table(&c, d);
		return c.errors;
	}

	const msi_onnx_op_row *op = v->op;
	const struct msi_onnx_op_schema *s = v->s;
	if (!s) {
		/* onnx.checker leaves unknown ops of the preview domain alone */
		if (strcmp(d->name, "ai.onnx.preview.training") == 0)
			return 0;
		const char *dom = d->name[0] ? d->name : "ai.onnx";
		if (op)
			add_error(&c, "onnx.node.unknown_op", "%s is not in %s opset %" PRId64 " (its first version is opset %u)",
			          c.op, dom, opset, schema_versions[op->first].since);
		else
			add_error(&c, "onnx.node.unknown_op", "%s has no operator '%s' (imported opset %" PRId64 ")",
			          dom, c.op, opset);
		return c.errors;
	}
	if (s->flags & SCHEMA_DEPRECATED) {
		add_error(&c, "onnx.node.deprecated_op", "%s was deprecated in %s opset %u (imported: %" PRId64 ")",
		          c.op, d->name[0] ? d->name : "ai.onnx", s->since, opset);
		return c.errors;
	}
	if (s->flags & SCHEMA_EXPERIMENTAL)
		msi_report_add(r, "onnx.node.experimental_op", where,
		               "%s's opset %u version, in force at %s, is experimental", c.op, s->since,
		               opset_label(&c));

	check_count(&c, "onnx.node.input_count", "input", node->n_inputs, s->min_in, s->max_in, s->in_allowed);
	check_count(&c, "onnx.node.output_count", "output", node->n_outputs, s->min_out, s->max_out, s->out_allowed);
	check_empty_names(&c, s, false, node->n_inputs, node->inputs);
	check_empty_names(&c, s, true, node->n_outputs, node->outputs);
	check_attributes(&c, s, node);
	return c.errors;
}

int msi_onnx_check_node_schema(ms_report *r, const char *where, const msi_onnx_node_sig *node, int64_t opset)
{
	if (!r || !node)
		return 0;
	resolved v;
	resolve(node->domain, node->op_type ? node->op_type : "", opset, &v);
	return check_resolved(r, where, node, opset, &v);
}

/* The cache: direct-mapped on a hash of (domain, op_type, opset), behind a
 * smaller one on the callers' pointers, which spares hashing and comparing
 * the strings for every node of a graph whose reader shares them. */
struct msi_onnx_schema_cache {
	struct {
		char *op_type, *domain;
		int64_t opset;
		uint32_t hash;
		resolved v;
	} slot[256];
	struct {
		const char *op_type, *domain; /* the caller's pointers, NULL when empty */
		int64_t opset;
		resolved v;
	} by_ptr[64];
};

msi_onnx_schema_cache *msi_onnx_schema_cache_new(void)
{
	return msi_calloc(1, sizeof(msi_onnx_schema_cache));
}

void msi_onnx_schema_cache_free(msi_onnx_schema_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < MSI_ARRAY_LEN(cache->slot); i++) {
		msi_free(cache->slot[i].op_type);
		msi_free(cache->slot[i].domain);
	}
	msi_free(cache);
}

int msi_onnx_check_node_schema_cached(ms_report *r, const char *where, const msi_onnx_node_sig *node,
                                      int64_t opset, msi_onnx_schema_cache *cache)
{
	if (!r || !node)
		return 0;
	if (!cache)
		return msi_onnx_check_node_schema(r, where, node, opset);
	const char *op = node->op_type ? node->op_type : "";
	const char *dom = node->domain ? node->domain : "";
	uintptr_t ph = ((uintptr_t)op >> 3) ^ ((uintptr_t)dom >> 5) ^ (uintptr_t)opset * 0x9E3779B1u;
	__typeof__(cache->by_ptr[0]) *f = &cache->by_ptr[(ph ^ (ph >> 7)) % MSI_ARRAY_LEN(cache->by_ptr)];
	if (f->op_type == op && f->domain == dom && f->opset == opset)
		return check_resolved(r, where, node, opset, &f->v);
	uint32_t h = 2166136261u;
	for (const char *p = op; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (const char *p = dom; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h ^= (uint32_t)opset * 2654435761u;
	__typeof__(cache->slot[0]) *e = &cache->slot[h % MSI_ARRAY_LEN(cache->slot)];
	if (!e->op_type || e->hash != h || e->opset != opset || strcmp(e->op_type, op) != 0 ||
	    strcmp(e->domain, dom) != 0) {
		char *o = msi_strdup(op), *d = msi_strdup(dom);
		if (!o || !d) {
			msi_free(o);
			msi_free(d);
			return msi_onnx_check_node_schema(r, where, node, opset);
		}
		msi_free(e->op_type);
		msi_free(e->domain);
		e->op_type = o;
		e->domain = d;
		e->opset = opset;
		e->hash = h;
		resolve(dom, op, opset, &e->v);
	}
	f->op_type = op;
	f->domain = dom;
	f->opset = opset;
	f->v = e->v;
	return check_resolved(r, where, node, opset, &e->v);
}
