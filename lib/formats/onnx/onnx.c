/*
 * ONNX ModelProto (protobuf): sniff and a cheap inspect of the top-level
 * fields (the full graph walk and validate come with the format's own issue).
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

#include "../format.h"

/* Caps that keep a sniff bounded whatever the file says. */
#define ONNX_MAX_FIELDS 100000u /* top-level fields walked */
#define ONNX_MAX_NAME 4096u     /* producer_name/producer_version/domain */
#define ONNX_MAX_OPSET 4096u    /* one OperatorSetIdProto read for inspect */

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

/* Called for each complete field: a varint value, or the offset and length
 * of a length-delimited value. */
typedef void (*onnx_field_fn)(const onnx_src *s, uint64_t field, uint64_t value, uint64_t off, void *user);

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

static void walk_model(const onnx_src *s, onnx_walk *w, onnx_field_fn fn, void *user)
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
			if (fn)
				fn(s, field, v, 0, user);
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
		if (fn)
			fn(s, field, len, content, user);
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
		walk_model(&os, &w, NULL, NULL);
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
	walk_model(&os, &w, NULL, NULL);
	return walk_score(&w);
}

/* ---- inspect: the top-level scalars and the opset imports ---- */

typedef struct onnx_facts {
	msi_json *j;
	bool opsets; /* second pass: opset_import entries only */
} onnx_facts;

static void write_string_field(const onnx_src *s, msi_json *j, const char *key, uint64_t off, uint64_t len)
{
	uint8_t buf[ONNX_MAX_NAME];
	if (len > sizeof buf)
		return;
	size_t got = src_read(s, off, buf, (size_t)len);
	if (got != len)
		return;
	msi_json_key(j, key);
	msi_json_stringn(j, (const char *)buf, got);
}

static void write_opset(const onnx_src *s, msi_json *j, uint64_t off, uint64_t len)
{
	uint8_t buf[ONNX_MAX_OPSET];
	if (len > sizeof buf || src_read(s, off, buf, (size_t)len) != len)
		return;
	const uint8_t *domain = (const uint8_t *)"";
	size_t domain_len = 0;
	uint64_t version = 0;
	bool have_version = false;
	msi_cursor c = msi_cursor_make(buf, (size_t)len);
	while (msi_cursor_left(&c) > 0) {
		uint64_t tag = msi_cursor_varint(&c);
		if (tag == 0x0A) {
			uint64_t n = msi_cursor_varint(&c);
			if (n > msi_cursor_left(&c))
				return;
			domain_len = (size_t)n;
			domain = msi_cursor_bytes(&c, domain_len);
		} else if (tag == 0x10) {
			version = msi_cursor_varint(&c);
			have_version = true;
		} else {
			return; /* not worth more than a cheap read */
		}
		if (c.failed || !domain)
			return;
	}
	msi_json_keyn(j, (const char *)domain, domain_len);
	if (have_version)
		msi_json_int(j, (int64_t)version);
	else
		msi_json_null(j);
}

static void on_field(const onnx_src *s, uint64_t field, uint64_t value, uint64_t off, void *user)
{
	onnx_facts *f = user;
	if (f->opsets) {
		if (field == 8)
			write_opset(s, f->j, off, value);
		return;
	}
	switch (field) {
	case 1:
		msi_json_key(f->j, "ir_version");
		msi_json_uint(f->j, value);
		break;
	case 2:
		write_string_field(s, f->j, "producer_name", off, value);
		break;
	case 3:
		write_string_field(s, f->j, "producer_version", off, value);
		break;
	case 4:
		write_string_field(s, f->j, "domain", off, value);
		break;
	case 5:
		msi_json_key(f->j, "model_version");
		msi_json_int(f->j, (int64_t)value);
		break;
	default:
		break;
	}
}

static int inspect_source(const onnx_src *os, msi_inspect_out *out)
{
	onnx_facts f = { out->model, false };
	onnx_walk w;
	walk_model(os, &w, on_field, &f);
	if (w.has_opset) {
		msi_json_key(out->model, "opset_import");
		msi_json_object_begin(out->model);
		f.opsets = true;
		walk_model(os, &w, on_field, &f);
		msi_json_object_end(out->model);
	}
	if (w.truncated) {
		msi_json_key(out->model, "truncated");
		msi_json_bool(out->model, true);
		/* what was read is in the JSON; the caller learns it is partial */
		return msi_error(MS_EFORMAT, "the ONNX model is cut short: the field at offset %llu runs past the end "
		                 "of the %llu bytes", (unsigned long long)w.stop, (unsigned long long)os->size);
	}
	return MS_OK;
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	if (!v->container) {
		if (!v->src)
			return MS_OK;
		onnx_src os = { v->src, v->head, v->head_len, v->size };
		return inspect_source(&os, out);
	}
	ssize_t idx;
	msi_source *s = open_listing_model(v, &idx);
	if (!s)
		return MS_OK;
	msi_json_key(out->model, "model_file");
	msi_json_string(out->model, msi_entry_strip_dot(v->container->entries[idx].name));
	onnx_src os = { s, NULL, 0, s->size };
	int rc = inspect_source(&os, out);
	msi_source_release(s);
	return rc;
}

const msi_format msi_format_onnx = {
	.name = "onnx",
	.description = "ONNX ModelProto (protobuf)",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = NULL,
};
