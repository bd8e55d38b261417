/*
 * ONNX ModelProto (protobuf): detection here; reading in onnx_read.c, facts
 * in onnx_facts.c, checks in onnx_check.c and onnx_external.c.
 *
 * ONNX has no magic number, so detection walks the top-level fields of the
 * whole file (FORMATS.md §8.1): every tag must be a ModelProto field with the
 * wire type that field has, every length must stay inside the file, and the
 * walk must land exactly on the end. Only a few bytes are read per field (the
 * graph, which is nearly the whole file, is skipped by its length), so this
 * stays cheap for large models. Random bytes, text and the other formats fail
 * on their first or second byte.
 */
#include <string.h>

#include <stdio.h>

#include "onnx_ir.h"

/* Caps that keep a sniff bounded whatever the file says. */
#define ONNX_MAX_FIELDS 100000u /* top-level fields walked */
#define ONNX_MAX_NAME 4096u     /* producer_name/producer_version/domain */

/* Where the walk reads from: a payload (with its head window, so small
 * models cost no I/O) or a container entry (no window). */
typedef struct onnx_src {
	const msi_source *src;
	const uint8_t *head;
	size_t head_len;
	uint64_t size;
} onnx_src;

static size_t src_read(const onnx_src *s, uint64_t off, void *dst, size_t len)
{
	if (off < s->head_len && len <= s->head_len - off) {
		memcpy(dst, s->head + off, len);
		return len;
	}
	return msi_source_read_some(s->src, off, dst, len);
}

/* The wire type of each ModelProto field, -1 for numbers ONNX does not
 * define (being strict here is what keeps other protobufs out). */
static int model_field_wire(uint64_t field)
{
	switch (field) {
	case 1: /* ir_version */
	case 5: /* model_version */
		return 0;
	case 2: case 3: case 4: /* producer_name, producer_version, domain */
	case 6:                 /* doc_string */
	case 7:                 /* graph */
	case 8:                 /* opset_import */
	case 14:                /* metadata_props */
	case 20:                /* training_info */
	case 25:                /* functions */
	case 26:                /* configuration */
		return 2;
	default:
		return -1;
	}
}

/* GraphProto fields are all length-delimited (§8.1). */
static bool graph_field_ok(uint64_t tag)
{
	if ((tag & 7) != 2)
		return false;
	switch (tag >> 3) {
	case 1: case 2: case 5: case 10: case 11: case 12: case 13: case 14: case 15: case 16:
		return true;
	default:
		return false;
	}
}

typedef struct onnx_walk {
	unsigned fields;        /* complete top-level fields */
	bool complete;          /* the walk ended exactly at the end of the file */
	bool truncated;         /* the last field runs past the end */
	bool bad;               /* a field that ModelProto cannot have */
	bool capped;            /* stopped at ONNX_MAX_FIELDS */
	bool first_is_ir;
	bool has_ir, has_graph, has_opset;
	uint64_t ir_version;
	uint64_t stop;          /* offset of the field where the walk stopped */
} onnx_walk;


/* Checks the first bytes of a length-delimited value whose field number is
 * known: names must be short text (SavedModel's saved_model.pb also starts
 * `08 01 12`, but its field 2 is a MetaGraphDef, which is not text), a graph
 * must start with a GraphProto field, an opset id with domain or version.
 * `avail` bytes of the value are in `p` (fewer than `len` when truncated). */
static bool value_plausible(uint64_t field, uint64_t len, const uint8_t *p, size_t avail)
{
	switch (field) {
	case 2: case 3: case 4:
		return len <= ONNX_MAX_NAME && msi_is_text(p, avail);
	case 7: {
		if (len == 0 || avail == 0)
			return true;
		msi_cursor c = msi_cursor_make(p, avail);
		uint64_t tag = msi_cursor_varint(&c);
		return c.failed ? avail < 10 : graph_field_ok(tag);
	}
	case 8:
		return len == 0 || avail == 0 || p[0] == 0x0A || p[0] == 0x10;
	case 14:
		return len == 0 || avail == 0 || p[0] == 0x0A || p[0] == 0x12;
	default:
		return true;
	}
}

/* A varint that did not decode: cut by the end of the file (fewer than ten
 * bytes were left), or malformed. */
static void varint_failed(onnx_walk *w, bool at_end, size_t left_before)
{
	if (at_end && left_before < 10)
		w->truncated = true;
	else
		w->bad = true;
}

static void sniff_walk(const onnx_src *s, onnx_walk *w)
{
	memset(w, 0, sizeof *w);
	uint64_t off = 0;
	for (unsigned iter = 0;; iter++) {
		w->stop = off;
		if (off == s->size) {
			w->complete = true;
			return;
		}
		if (iter >= ONNX_MAX_FIELDS) {
			w->capped = true;
			return;
		}
		/* A tag and a length are at most 20 bytes; the first bytes of a
		 * name are read too, to check that they are text. */
		uint8_t buf[96];
		size_t got = src_read(s, off, buf, sizeof buf);
		bool at_end = s->size - off == got;
		if (got == 0) {
			w->bad = true; /* unreadable */
			return;
		}
		msi_cursor c = msi_cursor_make(buf, got);
		uint64_t tag = msi_cursor_varint(&c);
		if (c.failed) {
			varint_failed(w, at_end, got);
			return;
		}
		uint64_t field = tag >> 3;
		int wire = (int)(tag & 7);
		if (model_field_wire(field) != wire) {
			w->bad = true;
			return;
		}
		if (wire == 0) {
			size_t before = msi_cursor_left(&c);
			uint64_t v = msi_cursor_varint(&c);
			if (c.failed) {
				varint_failed(w, at_end, before);
				return;
			}
			if (field == 1) {
				/* int64 in the schema; a negative ir_version is no model */
				if (v > INT32_MAX) {
					w->bad = true;
					return;
				}
				w->has_ir = true;
				w->ir_version = v;
				if (w->fields == 0)
					w->first_is_ir = true;
			}
			off += c.pos;
			w->fields++;
			continue;
		}
		size_t before = msi_cursor_left(&c);
		uint64_t len = msi_cursor_varint(&c);
		if (c.failed) {
			varint_failed(w, at_end, before);
			return;
		}
		uint64_t content = off + c.pos;
		uint64_t left = s->size - content; /* content <= size: c.pos <= got */
		size_t avail = got - c.pos;
		if (avail > len)
			avail = (size_t)len;
		if (!value_plausible(field, len, buf + c.pos, avail)) {
			w->bad = true;
			return;
		}
		if (len > left) {
			w->truncated = true;
			return;
		}
		if (field == 7)
			w->has_graph = true;
		if (field == 8)
			w->has_opset = true;
		off = content + len;
		w->fields++;
	}
}

/* How sure a walk makes us; see the score scale in format.h. Without magic,
 * a complete walk over a graph is "plausible structure". A file cut short
 * (a failed download, a truncated copy) is still ONNX when it starts the way
 * every exporter starts, with ir_version, so that validate can say it is
 * truncated instead of "unknown format". */
static int walk_score(const onnx_walk *w)
{
	if (w->bad)
		return 0;
	if (w->complete || w->capped) {
		if (w->has_graph && (w->has_ir || w->has_opset))
			return 80;
		if (w->has_graph)
			return 70;
		if (w->has_ir && w->fields >= 2)
			return 60;
		return 0;
	}
	if (w->truncated && ((w->first_is_ir && w->ir_version <= 64) || w->has_graph))
		return 50;
	return 0;
}

/* A directory (or a tar of one) holding one .onnx file next to its
 * external data files (FORMATS.md §8.2). Returns the entry index or -1. */
static ssize_t listing_model_entry(const msi_container *c)
{
	if (!c || (strcmp(c->kind, "directory") != 0 && strcmp(c->kind, "tar") != 0))
		return -1;
	ssize_t found = -1;
	for (size_t i = 0; i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type != MSI_ENTRY_FILE || !msi_name_has_ext(e->name, ".onnx"))
			continue;
		if (strchr(msi_entry_strip_dot(e->name), '/'))
			continue; /* only the model at the root */
		if (found >= 0)
			return -1; /* two models: not one artifact */
		found = (ssize_t)i;
	}
	return found;
}

/* Opens the listing's model file; NULL when there is none or it cannot be
 * opened (a sniff treats that as "not ONNX"). */
static msi_source *open_listing_model(const msi_view *v, ssize_t *index)
{
	*index = listing_model_entry(v->container);
	msi_container *c = v->container;
	if (*index < 0 || !c->ops || !c->ops->open_entry || c->entries[*index].unsafe)
		return NULL;
	msi_source *s;
	if (c->ops->open_entry(c, (size_t)*index, UINT64_MAX, &s) != MS_OK)
		return NULL;
	return s;
}

static int sniff(const msi_view *v)
{
	if (v->container) {
		ssize_t idx;
		msi_source *s = open_listing_model(v, &idx);
		if (!s)
			return 0;
		onnx_src os = { s, NULL, 0, s->size };
		onnx_walk w;
		sniff_walk(&os, &w);
		msi_source_release(s);
		/* a listing needs a complete model: its other files are data */
		int score = walk_score(&w);
		return score >= 60 ? score - 10 : 0;
	}
	if (!v->src || v->size == 0)
		return 0;
	/* A SavedModel's graph file also starts `08 01 12`; it has its own format. */
	if (v->name && strcmp(v->name, "saved_model.pb") == 0)
		return 0;
	onnx_src os = { v->src, v->head, v->head_len, v->size };
	onnx_walk w;
	sniff_walk(&os, &w);
	return walk_score(&w);
}

/* ---- inspect and validate: the whole model, through onnx_read.c ---- */

/* Reads the model the view holds: the payload itself, or the one .onnx
 * file of a directory or tar listing. `base` says where its external data
 * would be. MS_OK with *m NULL when there is nothing to read. */
static int read_view(const msi_view *v, onnx_model **m, msi_source **src, onnx_ext_base *base,
                     const char **model_file)
{
	*m = NULL;
	*src = NULL;
	*model_file = NULL;
	base->dir_fd = v->dir_fd;
	base->listing = NULL;
	base->entry_dir = "";
	msi_source *s;
	if (!v->container) {
		if (!v->src)
			return MS_OK;
		s = msi_source_ref(v->src);
	} else {
		ssize_t idx;
		s = open_listing_model(v, &idx);
		if (!s)
			return MS_OK;
		*model_file = msi_entry_strip_dot(v->container->entries[idx].name);
		if (strcmp(v->container->kind, "directory") != 0) {
			base->dir_fd = -1;
			base->listing = v->container;
		}
	}
	int rc = onnx_model_read(s, v->limits, m);
	if (rc != MS_OK) {
		msi_source_release(s);
		return rc;
	}
	*src = s;
	return MS_OK;
}

extern const msi_format msi_format_onnx;

/* A read model with what its checks need beside it. */
typedef struct onnx_loaded {
	onnx_model *m;                /* NULL: the listing holds no single .onnx file */
	msi_source *src;
	onnx_ext_base base;
	const char *model_file;       /* the model's name in a listing, or NULL */
} onnx_loaded;

static void loaded_free(void *p)
{
	onnx_loaded *l = p;
	if (!l)
		return;
	onnx_model_free(l->m);
	msi_source_release(l->src);
	msi_free(l);
}

/* The view's model, read once per artifact: inspect and validate of one
 * handle (what a registry does with an upload, and what onnx.load followed
 * by check_model does) share one read. The model keeps the wire error it
 * met, so a broken file is not read twice either; a failed read (memory,
 * I/O) is not kept. *out belongs to the cache, or to the caller when the
 * view has no cache (then loaded_free it). */
static int load(const msi_view *v, onnx_loaded **out)
{
	*out = NULL;
	if (v->cache && v->cache->owner == &msi_format_onnx) {
		*out = v->cache->state;
		return MS_OK;
	}
	onnx_loaded *l = msi_calloc(1, sizeof *l);
	if (!l)
		return msi_error(MS_ENOMEM, "out of memory reading an ONNX model");
	int rc = read_view(v, &l->m, &l->src, &l->base, &l->model_file);
	if (rc != MS_OK) {
		msi_free(l);
		return rc;
	}
	if (v->cache && !v->cache->owner) {
		v->cache->owner = &msi_format_onnx;
		v->cache->state = l;
		v->cache->free = loaded_free;
	}
	*out = l;
	return MS_OK;
}

static void loaded_done(const msi_view *v, onnx_loaded *l)
{
	if (!v->cache || v->cache->state != l)
		loaded_free(l);
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	onnx_loaded *l;
	int rc = load(v, &l);
	if (rc != MS_OK)
		return rc;
	const onnx_model *m = l->m;
	if (m) {
		if (l->model_file) {
			msi_json_key(out->model, "model_file");
			msi_json_string(out->model, l->model_file);
		}
		if (m->error.code)
			rc = msi_error(MS_EFORMAT, "the ONNX model does not parse: %s", m->error.message);
		else
			rc = onnx_write_facts(m, out);
	}
	loaded_done(v, l);
	return rc;
}

static int validate(const msi_view *v, msi_validate_ctx *ctx)
{
	onnx_loaded *l;
	int rc = load(v, &l);
	if (rc != MS_OK)
		return rc;
	const onnx_model *m = l->m;
	if (!m) {
		msi_report_add(ctx->report, "onnx.graph.missing", "", "the listing holds no single .onnx model file");
		loaded_done(v, l);
		return MS_OK;
	}
	if (m->size >= 2147483648u)
		msi_report_add(ctx->report, "onnx.size.over_2gib", "", "the model is %llu bytes; protobuf cannot parse "
		               "a message of 2 GiB or more, so onnx.load fails (move tensors to external data)",
		               (unsigned long long)m->size);
	if (m->unknown_fields)
		msi_report_add(ctx->report, "onnx.wire.unknown_field", "",
		               "%llu field(s) this IR does not define, the first %s field %u at offset %llu "
		               "(onnx ignores them)", (unsigned long long)m->unknown_fields, m->first_unknown_msg,
		               m->first_unknown_field, (unsigned long long)m->first_unknown_off);
	if (m->error.code) {
		char where[48];
		snprintf(where, sizeof where, "offset %llu", (unsigned long long)m->error.offset);
		msi_report_add(ctx->report, m->error.code, where, "%s", m->error.message);
	} else {
		onnx_check_model(m, l->src, &l->base, ctx);
	}
	loaded_done(v, l);
	return MS_OK;
}

const msi_format msi_format_onnx = {
	.name = "onnx",
	.description = "ONNX ModelProto (protobuf)",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = validate,
};
