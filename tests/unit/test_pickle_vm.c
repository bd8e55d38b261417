/* The pickle engine (lib/formats/pickle/pickle_vm.h) and its allowlists
 * (pickle_allow.h). Ground truth for well-formed streams is CPython: the
 * cases of pickle_cases.inc are what pickle.dumps writes, each with the tree
 * CPython's own unpickler builds from those bytes (gen_pickle_cases.py).
 * Hostile streams check that every problem is a finding, never a crash, a
 * loop or an allocation the stream asked for. Every allocation goes through
 * a counting allocator: leaks fail, and allocation failures are injected. */
#include "harness.h"

#include <unistd.h>

#include "core/report.h"
#include "formats/pickle/pickle_allow.h"
#include "formats/pickle/pickle_vm.h"

typedef struct pickle_case {
	const char *name;
	const char *data;
	size_t len;
	const char *want; /* the rendering, or NULL when long (then its length and hash) */
	size_t want_len;
	unsigned long long want_hash;
} pickle_case;

#include "pickle_cases.inc"

/* ---- a counting allocator, installed before main ---- */

static long live;          /* blocks allocated and not freed */
static size_t peak, bytes; /* bytes live, and their peak */
static long fail_at = -1;  /* fail the allocation with this number (from 0) */
static long allocations;

typedef struct { size_t size; size_t pad; } block;

static void *t_malloc(size_t size, void *user)
{
	(void)user;
	if (fail_at >= 0 && allocations++ == fail_at)
		return NULL;
	block *b = malloc(sizeof *b + size);
	if (!b)
		return NULL;
	b->size = size;
	live++;
	bytes += size;
	if (bytes > peak)
		peak = bytes;
	return b + 1;
}

static void t_free(void *p, void *user)
{
	(void)user;
	if (!p)
		return;
	block *b = (block *)p - 1;
	live--;
	bytes -= b->size;
	free(b);
}

static void *t_realloc(void *p, size_t size, void *user)
{
	if (!p)
		return t_malloc(size, user);
	if (fail_at >= 0 && allocations++ == fail_at)
		return NULL;
	block *b = (block *)p - 1;
	size_t old = b->size;
	block *n = realloc(b, sizeof *n + size);
	if (!n)
		return NULL;
	n->size = size;
	bytes = bytes - old + size;
	if (bytes > peak)
		peak = bytes;
	return n + 1;
}

__attribute__((constructor)) static void install_allocator(void)
{
	static const ms_allocator a = { MS_ALLOCATOR_VERSION, t_malloc, t_realloc, t_free, NULL };
	if (ms_config_allocator(&a) != MS_OK)
		abort();
}

/* ---- rendering a tree as gen_pickle_cases.py renders Python objects ---- */

static void render(msi_buf *b, const msi_pv *v, const msi_pv **path, int depth);

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void put_hex(msi_buf *b, const char *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		msi_buf_printf(b, "%02x", (unsigned char)p[i]);
}

static void render_seq(msi_buf *b, msi_pv *const *items, size_t n, bool sorted, const msi_pv **path, int depth)
{
	char **parts = sorted ? calloc(n + 1, sizeof *parts) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (!sorted) {
			render(b, items[i], path, depth);
			msi_buf_putc(b, ',');
			continue;
		}
		msi_buf t = MSI_BUF_INIT;
		render(&t, items[i], path, depth);
		parts[i] = msi_buf_detach(&t, NULL);
	}
	if (!sorted)
		return;
	qsort(parts, n, sizeof *parts, cmp_str);
	for (size_t i = 0; i < n; i++) {
		msi_buf_puts(b, parts[i] ? parts[i] : "");
		msi_buf_putc(b, ',');
		msi_free(parts[i]);
	}
	free(parts);
}

static void render_pairs(msi_buf *b, msi_pv *const *pairs, size_t n, const msi_pv **path, int depth)
{
	for (size_t i = 0; i < n; i++) {
		render(b, pairs[2 * i], path, depth);
		msi_buf_putc(b, ':');
		render(b, pairs[2 * i + 1], path, depth);
		msi_buf_putc(b, ',');
	}
}

static void render(msi_buf *b, const msi_pv *v, const msi_pv **path, int depth)
{
	for (int i = 0; i < depth; i++)
		if (path[i] == v) {
			msi_buf_puts(b, "<cycle>");
			return;
		}
	if (depth >= 60) {
		msi_buf_puts(b, "<deep>");
		return;
	}
	path[depth] = v;
	switch (v->kind) {
	case MSI_PV_NONE: msi_buf_putc(b, 'N'); break;
	case MSI_PV_BOOL: msi_buf_putc(b, v->u.b ? 'T' : 'F'); break;
	case MSI_PV_INT: msi_buf_printf(b, "i:%lld", (long long)v->u.i); break;
	case MSI_PV_BIGINT:
		msi_buf_puts(b, "L:");
		put_hex(b, v->u.str.data, v->u.str.len);
		break;
	case MSI_PV_FLOAT: {
		unsigned long long u;
		memcpy(&u, &v->u.f, sizeof u);
		msi_buf_printf(b, "f:%016llx", u);
		break;
	}
	case MSI_PV_STR:
	case MSI_PV_BYTES:
	case MSI_PV_BYTEARRAY:
		msi_buf_puts(b, v->kind == MSI_PV_STR ? "s:" : v->kind == MSI_PV_BYTES ? "b:" : "ba:");
		if (v->flags & MSI_PV_STR_LARGE)
			msi_buf_printf(b, "<large %llu>", (unsigned long long)v->u.str.len);
		else
			put_hex(b, v->u.str.data, v->u.str.len);
		break;
	case MSI_PV_BUFFER: msi_buf_puts(b, "buf"); break;
	case MSI_PV_TUPLE:
	case MSI_PV_LIST:
		msi_buf_putc(b, v->kind == MSI_PV_TUPLE ? '(' : '[');
		render_seq(b, v->items, v->nitems, false, path, depth + 1);
		msi_buf_putc(b, v->kind == MSI_PV_TUPLE ? ')' : ']');
		break;
	case MSI_PV_SET:
	case MSI_PV_FROZENSET:
		msi_buf_puts(b, v->kind == MSI_PV_SET ? "set(" : "fs(");
		render_seq(b, v->items, v->nitems, true, path, depth + 1);
		msi_buf_putc(b, ')');
		break;
	case MSI_PV_DICT:
		msi_buf_putc(b, '{');
		render_pairs(b, v->pairs, v->npairs, path, depth + 1);
		msi_buf_putc(b, '}');
		break;
	case MSI_PV_GLOBAL: msi_buf_printf(b, "g:%s.%s", v->u.global.module, v->u.global.name); break;
	case MSI_PV_CALL:
		msi_buf_puts(b, "call(");
		render(b, v->u.call.callable, path, depth + 1);
		msi_buf_putc(b, ';');
		if (v->u.call.args)
			render(b, v->u.call.args, path, depth + 1);
		else
			msi_buf_puts(b, "()");
		if (v->u.call.kwargs) {
			msi_buf_putc(b, ';');
			render(b, v->u.call.kwargs, path, depth + 1);
		}
		msi_buf_putc(b, ')');
		if (v->nitems) {
			msi_buf_puts(b, "+[");
			render_seq(b, v->items, v->nitems, false, path, depth + 1);
			msi_buf_putc(b, ']');
		}
		if (v->npairs) {
			msi_buf_puts(b, "+{");
			render_pairs(b, v->pairs, v->npairs, path, depth + 1);
			msi_buf_putc(b, '}');
		}
		if (v->state) {
			msi_buf_puts(b, "+state:");
			render(b, v->state, path, depth + 1);
		}
		break;
	case MSI_PV_PERSID:
		msi_buf_puts(b, "pid(");
		render(b, v->u.persid, path, depth + 1);
		msi_buf_putc(b, ')');
		break;
	case MSI_PV_EXT: msi_buf_printf(b, "ext:%u", v->u.ext); break;
	default: msi_buf_putc(b, '?');
	}
}

/* The rendering of a tree (caller frees with msi_free). */
static char *rendered(const msi_pv *v)
{
	const msi_pv *path[64];
	msi_buf b = MSI_BUF_INIT;
	if (v)
		render(&b, v, path, 0);
	else
		msi_buf_puts(&b, "NULL");
	return msi_buf_detach(&b, NULL);
}

static unsigned long long fnv(const char *s)
{
	unsigned long long h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* ---- running a pickle ---- */

typedef struct run {
	msi_source *src;
	ms_report *r;
	msi_pickle *pk;
	int rc;
} run;

static run run_bytes_lim(const void *data, size_t len, const msi_pickle_limits *lim, bool trailing)
{
	run x = { 0 };
	if (msi_source_from_memory(data, len, false, &x.src) != MS_OK)
		abort();
	x.r = msi_report_new("test", NULL);
	x.rc = msi_pickle_run(x.src, 0, len, lim, trailing, x.r, "member", &x.pk);
	return x;
}

static run run_bytes(const void *data, size_t len)
{
	return run_bytes_lim(data, len, NULL, true);
}

#define RUN(lit) run_bytes(lit, sizeof lit - 1)

static void done(run *x)
{
	msi_pickle_free(x->pk);
	ms_report_free(x->r);
	msi_source_release(x->src);
	memset(x, 0, sizeof *x);
}

static size_t count_code(const ms_report *r, const char *code)
{
	size_t n = 0;
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->items[i].code, code) == 0)
			n++;
	return n;
}

static const char *message_of(const ms_report *r, const char *code)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->items[i].code, code) == 0)
			return r->items[i].message;
	return "";
}

static void dump_findings(const ms_report *r)
{
	for (size_t i = 0; i < r->count; i++)
		fprintf(stderr, "    %s: %s\n", r->items[i].code, r->items[i].message);
}

/* ---- well-formed streams: the tree CPython builds ---- */

static void python_reference_cases(void)
{
	long live0 = live;
	size_t bad = 0;
	for (size_t i = 0; i < sizeof pickle_cases / sizeof pickle_cases[0]; i++) {
		const pickle_case *c = &pickle_cases[i];
		run x = run_bytes(c->data, c->len);
		char *got = x.rc == MS_OK ? rendered(x.pk->root) : NULL;
		bool ok = got && x.pk->complete && !x.pk->failed && x.r->count == 0 && x.pk->end == c->len &&
		          (c->want ? strcmp(got, c->want) == 0 : strlen(got) == c->want_len && fnv(got) == c->want_hash);
		if (!ok && bad++ < 10) {
			fprintf(stderr, "  %s: rc %d\n    want %.300s\n    got  %.300s\n", c->name, x.rc,
			        c->want ? c->want : "(long)", got ? got : "");
			dump_findings(x.r);
		}
		msi_free(got);
		done(&x);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(live, live0);
}

/* The same streams read from a file, through the engine's window rather
 * than from memory: the same trees, the same (absent) findings. */
static void file_window_matches_memory(void)
{
	long live0 = live;
	size_t bad = 0;
	for (size_t i = 0; i < sizeof pickle_cases / sizeof pickle_cases[0]; i++) {
		const pickle_case *c = &pickle_cases[i];
		const char *path = msi_write_temp("window.pkl", c->data, c->len);
		CHECK(path);
		msi_source *src;
		CHECK_EQ_INT(msi_source_open_file(path, &src), MS_OK);
		ms_report *r = msi_report_new("t", NULL);
		msi_pickle *pk = NULL;
		int rc = msi_pickle_run(src, 0, c->len, NULL, true, r, "m", &pk);
		char *got = rc == MS_OK ? rendered(pk->root) : NULL;
		if (!got || (c->want ? strcmp(got, c->want) != 0 : fnv(got) != c->want_hash) || r->count) {
			if (bad++ < 5)
				fprintf(stderr, "  %s (file): %.200s\n", c->name, got ? got : "rc");
		}
		msi_free(got);
		msi_pickle_free(pk);
		ms_report_free(r);
		msi_source_release(src);
		unlink(path);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(live, live0);
}

/* A stream larger than several windows, with text lines and payloads that
 * straddle window ends, and payloads and lines over max_copy. */
static void large_stream_through_file(void)
{
	long live0 = live;
	msi_buf b = MSI_BUF_INIT;
	msi_buf_puts(&b, "(lp0\n");
	for (int i = 0; i < 3000; i++) {
		msi_buf_printf(&b, "V%0*d\na", 1 + i % 97, i);       /* UNICODE lines of many lengths */
		msi_buf_printf(&b, "S'%0*d'\na", 1 + i % 53, i);     /* STRING */
		msi_buf_printf(&b, "L%d%0*dL\na", i + 1, 30, 0);     /* LONG beyond int64 */
	}
	msi_buf_puts(&b, "V");
	for (int i = 0; i < 5000; i++)
		msi_buf_putc(&b, 'x'); /* a line longer than max_copy below */
	msi_buf_append(&b, "\na\200\002B\020\047\000\000", 9); /* PROTO, then BINBYTES of 10000 bytes */
	for (int i = 0; i < 10000; i++)
		msi_buf_putc(&b, 'y');
	msi_buf_puts(&b, "a.");
	size_t len;
	char *data = msi_buf_detach(&b, &len);
	CHECK(data);
	msi_pickle_limits lim = { 0 };
	lim.max_copy = 4096;
	run mem = run_bytes_lim(data, len, &lim, true);
	CHECK_EQ_INT(mem.rc, MS_OK);
	if (!mem.pk->complete)
		dump_findings(mem.r);
	CHECK(mem.pk->complete);
	CHECK_EQ_INT(mem.r->count, 0);
	const msi_pv *list = mem.pk->root;
	CHECK_EQ_INT(list->kind, MSI_PV_LIST);
	CHECK_EQ_INT(list->nitems, 9002);
	const msi_pv *big_line = list->items[9000], *big_bytes = list->items[9001];
	CHECK(big_line->kind == MSI_PV_STR && (big_line->flags & MSI_PV_STR_LARGE) && big_line->u.str.len == 5000);
	CHECK(big_bytes->kind == MSI_PV_BYTES && (big_bytes->flags & MSI_PV_STR_LARGE) && !big_bytes->u.str.data);
	CHECK_EQ_INT(big_bytes->u.str.len, 10000);
	CHECK_EQ_INT(big_bytes->u.str.offset, len - 2 - 10000);
	char *want = rendered(mem.pk->root);

	const char *path = msi_write_temp("large.pkl", data, len);
	CHECK(path);
	msi_source *src;
	CHECK_EQ_INT(msi_source_open_file(path, &src), MS_OK);
	ms_report *r = msi_report_new("t", NULL);
	msi_pickle *pk;
	CHECK_EQ_INT(msi_pickle_run(src, 0, len, &lim, true, r, "m", &pk), MS_OK);
	char *got = rendered(pk->root);
	CHECK(pk->complete && r->count == 0);
	CHECK(strcmp(got, want) == 0);
	/* the same stream inside a larger file, at an offset */
	msi_pickle_free(pk);
	msi_source_release(src);
	unlink(path);
	char *framed = msi_malloc(len + 100);
	memset(framed, 'z', len + 100);
	memcpy(framed + 37, data, len);
	path = msi_write_temp("framed.pkl", framed, len + 100);
	CHECK_EQ_INT(msi_source_open_file(path, &src), MS_OK);
	CHECK_EQ_INT(msi_pickle_run(src, 37, len, &lim, true, r, "m", &pk), MS_OK);
	char *again = rendered(pk->root);
	CHECK(strcmp(again, want) == 0 && r->count == 0);
	unlink(path);
	msi_free(again);
	msi_free(framed);
	msi_free(got);
	msi_free(want);
	msi_pickle_free(pk);
	ms_report_free(r);
	msi_source_release(src);
	msi_free(data);
	done(&mem);
	CHECK_EQ_INT(live, live0);
}

/* ---- the tree as consumers read it ---- */

/* data.pkl of torch.save(nn.Linear(3, 2).state_dict()), torch 1.13. */
static const char torch_sd[] =
	"\200\002ccollections\012OrderedDict\012q\000)Rq\001(X\006\000\000\000weightq\002ctorch._utils\012_re"
	"build_tensor_v2\012q\003((X\007\000\000\000storageq\004ctorch\012FloatStorage\012q\005X\001\000\000\000"
	"0q\006X\003\000\000\000cpuq\007K\006tq\010QK\000K\002K\003\206q\011K\003K\001\206q\012\211h\000)Rq\013"
	"tq\014Rq\015X\004\000\000\000biasq\016h\003((h\004h\005X\001\000\000\0001q\017h\007K\002tq\020QK\000"
	"K\002\205q\021K\001\205q\022\211h\000)Rq\023tq\024Rq\025u}q\026X\011\000\000\000_metadataq\027h\000)"
	"Rq\030X\000\000\000\000q\031}q\032X\007\000\000\000versionq\033K\001sssb.";

static void torch_state_dict_tree(void)
{
	long live0 = live;
	run x = run_bytes(torch_sd, sizeof torch_sd - 1);
	CHECK_EQ_INT(x.rc, MS_OK);
	if (x.r->count)
		dump_findings(x.r);
	CHECK(x.pk->complete && !x.pk->failed && x.r->count == 0);
	CHECK_EQ_INT(x.pk->protocol, 2);
	CHECK_EQ_INT(x.pk->end, sizeof torch_sd - 1);
	const msi_pv *root = x.pk->root;
	CHECK(msi_pv_is_global(root, "collections", "OrderedDict"));
	const char *m, *n;
	CHECK(msi_pv_call_target(root, &m, &n));
	CHECK_EQ_STR(m, "collections");
	CHECK_EQ_STR(n, "OrderedDict");
	CHECK_EQ_INT(root->npairs, 2);
	const msi_pv *w = msi_pv_dict_get(root, "weight"), *bias = msi_pv_dict_get(root, "bias");
	CHECK(w && bias && msi_pv_is_global(w, "torch._utils", "_rebuild_tensor_v2"));
	CHECK(w->u.call.callable == bias->u.call.callable); /* one GLOBAL, through the memo */
	CHECK(!msi_pv_dict_get(root, "other"));
	const msi_pv *args = w->u.call.args;
	CHECK_EQ_INT(args->kind, MSI_PV_TUPLE);
	CHECK_EQ_INT(args->nitems, 6);
	const msi_pv *pid = msi_pv_item(args, 0);
	CHECK_EQ_INT(pid->kind, MSI_PV_PERSID);
	const msi_pv *id = pid->u.persid;
	CHECK_EQ_STR(msi_pv_item(id, 0)->u.str.data, "storage");
	CHECK(msi_pv_is_global(msi_pv_item(id, 1), "torch", "FloatStorage"));
	CHECK_EQ_STR(msi_pv_item(id, 2)->u.str.data, "0");
	CHECK_EQ_STR(msi_pv_item(id, 3)->u.str.data, "cpu");
	CHECK_EQ_INT(msi_pv_item(id, 4)->u.i, 6);
	const msi_pv *size = msi_pv_item(args, 2);
	CHECK(size->kind == MSI_PV_TUPLE && size->nitems == 2 && size->items[0]->u.i == 2 && size->items[1]->u.i == 3);
	CHECK(msi_pv_item(args, 4)->kind == MSI_PV_BOOL && !msi_pv_item(args, 4)->u.b);
	CHECK(!msi_pv_item(args, 6));
	CHECK(!msi_pv_item(root, 0)); /* a call is no tuple */
	/* _metadata, set by BUILD */
	CHECK_EQ_INT(root->builds, 1);
	const msi_pv *meta = msi_pv_dict_get(root->state, "_metadata");
	CHECK(meta && msi_pv_is_global(meta, "collections", "OrderedDict"));
	CHECK_EQ_INT(msi_pv_dict_get(msi_pv_dict_get(meta, ""), "version")->u.i, 1);
	CHECK_EQ_INT(x.pk->nglobals, 3);
	CHECK_EQ_STR(x.pk->globals[1].module, "torch._utils");
	CHECK_EQ_STR(x.pk->globals[1].name, "_rebuild_tensor_v2");
	CHECK_EQ_INT(x.pk->globals[1].opcode, 'c');
	CHECK_EQ_INT(x.pk->globals[1].offset, 47);
	CHECK(msi_pickle_saw(x.pk, 'Q') && msi_pickle_saw(x.pk, 0x80) && !msi_pickle_saw(x.pk, 'i'));
	/* which globals' calls received items: OrderedDict's SETITEMS */
	CHECK_EQ_INT(x.pk->globals[0].targeted, MSI_PG_PAIRS);
	CHECK_EQ_INT(x.pk->globals[1].targeted, 0);
	CHECK(!x.pk->call_target_unknown);
	CHECK_EQ_INT(msi_pickle_check_globals(x.pk, MSI_PICKLE_TORCH, NULL, x.r, "member"), 0);
	CHECK_EQ_INT(x.r->count, 0);
	CHECK(root->size > 30 && root->size < 200);
	done(&x);
	CHECK_EQ_INT(live, live0);
}

static void text_protocol_forms(void)
{
	long live0 = live;
	/* I01/I00 are booleans; INST and OBJ are calls with the MARK's objects */
	run x = RUN("(I01\nI00\nI7\n(i__main__\nOld\n(c__main__\nC\nI1\no(Pid7\ntl.");
	CHECK_EQ_INT(x.rc, MS_OK);
	CHECK(x.pk->complete);
	const msi_pv *l = x.pk->root;
	CHECK_EQ_INT(l->nitems, 6);
	CHECK(l->items[0]->kind == MSI_PV_BOOL && l->items[0]->u.b && l->items[0]->opcode == 'I');
	CHECK(l->items[1]->kind == MSI_PV_BOOL && !l->items[1]->u.b);
	CHECK(l->items[2]->kind == MSI_PV_INT && l->items[2]->u.i == 7);
	const msi_pv *inst = l->items[3];
	CHECK(inst->kind == MSI_PV_CALL && inst->opcode == 'i' && !inst->u.call.args);
	CHECK(msi_pv_is_global(inst, "__main__", "Old"));
	const msi_pv *obj = l->items[4];
	CHECK(obj->kind == MSI_PV_CALL && obj->opcode == 'o' && obj->u.call.args->nitems == 1);
	CHECK(l->items[5]->kind == MSI_PV_TUPLE && l->items[5]->items[0]->kind == MSI_PV_PERSID);
	CHECK_EQ_STR(l->items[5]->items[0]->u.persid->u.str.data, "id7");
	CHECK_EQ_INT(x.pk->nglobals, 2);
	CHECK_EQ_INT(x.pk->globals[0].opcode, 'i');
	CHECK_EQ_INT(x.pk->protocol, 0);
	done(&x);
	/* torch's legacy magic number: LONG1 beyond int64 keeps its raw bytes */
	x = RUN("\200\002\212\012\154\374\234\106\371\040\152\250\120\031.");
	CHECK(x.pk->root->kind == MSI_PV_BIGINT && x.pk->root->u.str.len == 10);
	CHECK(memcmp(x.pk->root->u.str.data, "\154\374\234\106\371\040\152\250\120\031", 10) == 0);
	done(&x);
	/* a LONG1 of 9 bytes that fits int64 is an INT */
	x = RUN("\200\002\212\011\377\377\377\377\377\377\377\377\377.");
	CHECK(x.pk->root->kind == MSI_PV_INT && x.pk->root->u.i == -1);
	done(&x);
	/* bad text: an int that is none, an unquoted STRING, a bad float */
	const char *bad[] = { "Ixyz\n.", "I010\n.", "S'abc\n.", "Fnope\n.", "F0x1p3\n.", "L12L3\n.", "p-1\n." };
	for (size_t i = 0; i < MSI_ARRAY_LEN(bad); i++) {
		x = run_bytes(bad[i], strlen(bad[i]));
		CHECK_EQ_INT(x.rc, MS_OK);
		CHECK(x.pk->failed && !x.pk->root);
		CHECK_EQ_INT(count_code(x.r, "pickle.opcode.invalid"), 1);
		done(&x);
	}
	/* escapes pickle refuses, reported, the run going on */
	x = RUN("S'\\x4'\n.");
	CHECK(x.pk->complete && count_code(x.r, "pickle.opcode.invalid") == 1);
	done(&x);
	x = RUN("V\\U00110000\n.");
	CHECK(x.pk->complete && count_code(x.r, "pickle.opcode.invalid") == 1);
	done(&x);
	CHECK_EQ_INT(live, live0);
}

/* ---- hostile streams ---- */

/* Every prefix of every case: no crash, no leak, never complete, always a
 * finding. */
static void truncated_at_every_offset(void)
{
	long live0 = live;
	size_t bad = 0;
	for (size_t i = 0; i < sizeof pickle_cases / sizeof pickle_cases[0]; i++) {
		const pickle_case *c = &pickle_cases[i];
		if (c->len > 3000)
			continue; /* quadratic: the short ones cover every opcode */
		for (size_t cut = 0; cut < c->len; cut++) {
			run x = run_bytes(c->data, cut);
			bool ok = x.rc == MS_OK && !x.pk->complete && x.r->count > 0;
			if (!ok && bad++ < 5)
				fprintf(stderr, "  %s cut at %zu: rc %d complete %d findings %zu\n", c->name, cut, x.rc,
				        x.rc ? 0 : x.pk->complete, x.r->count);
			done(&x);
		}
	}
	CHECK_EQ_INT(bad, 0);
	run x = RUN("\200\002X\005\000\000\000ab");
	CHECK_EQ_INT(count_code(x.r, "pickle.truncated"), 1);
	CHECK_EQ_STR(message_of(x.r, "pickle.truncated"),
	             "the stream ends at offset 9 inside BINUNICODE at offset 2, before STOP");
	CHECK(x.pk->failed && !x.pk->root);
	done(&x);
	x = RUN("");
	CHECK_EQ_INT(count_code(x.r, "pickle.truncated"), 1);
	done(&x);
	CHECK_EQ_INT(live, live0);
}

static void huge_declared_lengths(void)
{
	long live0 = live;
	/* BINUNICODE8 and BINBYTES8 of 2^63 and 2^64-1 bytes, LONG4 of 2^31-1:
	 * truncations, with nothing allocated for them */
	static const char *const streams[] = {
		"\200\004\215\000\000\000\000\000\000\000\200abc.",
		"\200\004\216\377\377\377\377\377\377\377\377abc.",
		"\200\005\226\000\000\000\000\000\000\000\200abc.",
		"\200\002\213\377\377\377\177abc.",
		"\200\004\225\377\377\377\377\377\377\377\377N.",
	};
	static const size_t lens[] = { 15, 15, 15, 10, 12 };
	for (size_t i = 0; i < MSI_ARRAY_LEN(streams); i++) {
		peak = bytes;
		size_t before = bytes;
		run x = run_bytes(streams[i], lens[i]);
		CHECK_EQ_INT(x.rc, MS_OK);
		CHECK_EQ_INT(count_code(x.r, "pickle.truncated"), 1);
		CHECK(x.pk->failed);
		CHECK(peak - before < (1u << 20)); /* the first chunk and the stack, nothing sized by the stream */
		done(&x);
	}
	/* negative lengths are no truncation but an invalid argument */
	run x = RUN("\200\002T\377\377\377\377.");
	CHECK_EQ_INT(count_code(x.r, "pickle.opcode.invalid"), 1);
	done(&x);
	x = RUN("\200\002\213\000\000\000\200.");
	CHECK_EQ_INT(count_code(x.r, "pickle.opcode.invalid"), 1);
	done(&x);
	CHECK_EQ_INT(live, live0);
}

static void stack_and_mark_errors(void)
{
	long live0 = live;
	run x = RUN("\200\002a.");
	CHECK_EQ_INT(count_code(x.r, "pickle.stack.underflow"), 1);
	CHECK_EQ_STR(message_of(x.r, "pickle.stack.underflow"),
	             "APPEND at offset 2 needs 2 objects above the stack bottom, which holds 0");
	CHECK(x.pk->failed);
	done(&x);
	/* objects below a MARK are out of reach */
	x = RUN("\200\002]N(a.");
	CHECK_EQ_INT(count_code(x.r, "pickle.stack.underflow"), 1);
	done(&x);
	x = RUN("\200\002t.");
	CHECK_EQ_INT(count_code(x.r, "pickle.mark.unbalanced"), 1);
	CHECK_EQ_STR(message_of(x.r, "pickle.mark.unbalanced"), "TUPLE at offset 2 closes a MARK that was never opened");
	done(&x);
	/* MARK left open at STOP: Python returns the top object anyway */
	x = RUN("\200\002(N.");
	CHECK_EQ_INT(count_code(x.r, "pickle.mark.unbalanced"), 1);
	CHECK(x.pk->root && !x.pk->complete && !x.pk->failed);
	done(&x);
	x = RUN("\200\002NN.");
	CHECK_EQ_INT(count_code(x.r, "pickle.stack.leftover"), 1);
	CHECK(x.pk->root && !x.pk->complete);
	done(&x);
	/* POP of an empty frame pops its MARK, as pickle.py does */
	x = RUN("\200\002N(0.");
	CHECK(x.pk->complete && x.r->count == 0);
	done(&x);
	x = RUN("\200\002(K\001K\002K\003d.");
	CHECK_EQ_INT(count_code(x.r, "pickle.stack.underflow"), 1);
	done(&x);
	x = RUN("\200\002\377");
	CHECK_EQ_INT(count_code(x.r, "pickle.opcode.unknown"), 1);
	CHECK_EQ_STR(message_of(x.r, "pickle.opcode.unknown"), "opcode 0xff at offset 2 is not a pickle opcode");
	CHECK_EQ_INT(x.pk->ops, 1);
	done(&x);
	x = RUN("\200\007N.");
	CHECK_EQ_INT(count_code(x.r, "pickle.opcode.invalid"), 1);
	CHECK(x.pk->complete);
	done(&x);
	CHECK_EQ_INT(live, live0);
}

static void type_errors_go_on(void)
{
	long live0 = live;
	/* APPEND to a dict, SETITEM to a list, ADDITEMS to a list, BUILD on an
	 * int, REDUCE of a str, NEWOBJ with a list of args, STACK_GLOBAL of
	 * ints, a list as a dict key: each reported, the run completes */
	run x = RUN("\200\004}N\141]K\001K\002\163\135(N\220K\001N\142\214\001fN\122\135\135\201"
	            "K\001K\002\223}\135N\163(NNNNNNNN\141.");
	CHECK_EQ_INT(x.rc, MS_OK);
	CHECK(!x.pk->failed);
	CHECK(count_code(x.r, "pickle.stack.type") >= 7);
	done(&x);
	/* a call result takes anything, as an object of any class may */
	x = RUN("\200\002cm\nC\n)\201N\141K\001K\002\163(N\220N\142.");
	CHECK(x.pk->complete && x.r->count == 0);
	CHECK_EQ_INT(x.pk->root->nitems, 2);
	CHECK_EQ_INT(x.pk->root->npairs, 1);
	CHECK_EQ_INT(x.pk->root->builds, 1);
	done(&x);
	/* capped per code, then counted once */
	msi_buf b = MSI_BUF_INIT;
	msi_buf_puts(&b, "\200\002}");
	for (int i = 0; i < 1000; i++)
		msi_buf_puts(&b, "Na");
	msi_buf_puts(&b, ".");
	size_t len;
	char *data = msi_buf_detach(&b, &len);
	x = run_bytes(data, len);
	CHECK_EQ_INT(count_code(x.r, "pickle.stack.type"), 21);
	CHECK(strstr(x.r->items[20].message, "980 more"));
	done(&x);
	msi_free(data);
	CHECK_EQ_INT(live, live0);
}

static void memo_errors(void)
{
	long live0 = live;
	run x = RUN("\200\002h\005.");
	CHECK_EQ_INT(count_code(x.r, "pickle.memo.missing"), 1);
	CHECK(x.pk->complete && x.pk->root->kind == MSI_PV_NONE);
	done(&x);
	x = RUN("\200\002j\377\377\377\377.");
	CHECK_EQ_INT(count_code(x.r, "pickle.memo.missing"), 1);
	done(&x);
	/* sparse and huge indices: memory follows the entries */
	peak = bytes;
	size_t before = bytes;
	x = RUN("\200\002(Nr\000\000\000\200r\377\377\377\377r\001\000\000\000p4000000000\nj\377\377\377\377"
	        "g4000000000\nj\001\000\000\000\224h\004t.");
	CHECK_EQ_INT(x.rc, MS_OK);
	CHECK(x.r->count == 0 && x.pk->complete);
	CHECK(peak - before < (1u << 20));
	done(&x);
	/* PUT with no object */
	x = RUN("\200\002q\000.");
	CHECK_EQ_INT(count_code(x.r, "pickle.stack.underflow"), 1);
	done(&x);
	CHECK_EQ_INT(live, live0);
}

static void memo_bombs(void)
{
	long live0 = live;
	/* l = []; l.append(l) seventy times, by DUP and APPEND: each doubles the
	 * expanded size */
	msi_buf b = MSI_BUF_INIT;
	msi_buf_puts(&b, "\200\002]");
	for (int i = 0; i < 70; i++)
		msi_buf_puts(&b, "2a");
	msi_buf_puts(&b, ".");
	size_t len;
	char *data = msi_buf_detach(&b, &len);
	run x = run_bytes(data, len);
	CHECK_EQ_INT(count_code(x.r, "pickle.memo.expansion"), 1);
	CHECK(x.pk->root->size == UINT64_MAX);
	CHECK(x.pk->nodes < 10);
	done(&x);
	msi_free(data);
	/* the billion laughs: each list holds the previous one ten times */
	b = (msi_buf)MSI_BUF_INIT;
	msi_buf_append(&b, "\200\002]q\000", 5);
	for (int i = 0; i < 9; i++) {
		msi_buf_putc(&b, '(');
		for (int k = 0; k < 10; k++) {
			msi_buf_putc(&b, 'h');
			msi_buf_putc(&b, (char)i);
		}
		msi_buf_puts(&b, "lq");
		msi_buf_putc(&b, (char)(i + 1));
	}
	msi_buf_puts(&b, ".");
	data = msi_buf_detach(&b, &len);
	peak = bytes;
	size_t before = bytes;
	x = run_bytes(data, len);
	CHECK_EQ_INT(count_code(x.r, "pickle.memo.expansion"), 1);
	CHECK(strstr(message_of(x.r, "pickle.memo.expansion"), "memo bomb"));
	CHECK(x.pk->root->size > 1000000000);
	CHECK(peak - before < (1u << 20));
	done(&x);
	msi_free(data);
	/* legitimate sharing stays far below */
	x = RUN("\200\002]q\0000(h\000h\000h\000l.");
	CHECK_EQ_INT(x.r->count, 0);
	CHECK_EQ_INT(x.pk->root->size, 4);
	done(&x);
	CHECK_EQ_INT(live, live0);
}

static void limits(void)
{
	long live0 = live;
	/* 100,000 nested EMPTY_LIST + MARK: MARK nesting stops at max_depth */
	msi_buf b = MSI_BUF_INIT;
	for (int i = 0; i < 100000; i++)
		msi_buf_puts(&b, "](");
	size_t len;
	char *data = msi_buf_detach(&b, &len);
	peak = bytes;
	size_t before = bytes;
	run x = run_bytes(data, len);
	CHECK_EQ_INT(count_code(x.r, "pickle.limit"), 1);
	CHECK(strstr(message_of(x.r, "pickle.limit"), "max_depth"));
	CHECK(x.pk->failed);
	CHECK(peak - before < (8u << 20));
	done(&x);
	msi_free(data);
	/* a 1-tuple nested 200,000 times: no MARK, a stack of one, but a
	 * tree deeper than max_depth */
	b = (msi_buf)MSI_BUF_INIT;
	msi_buf_puts(&b, "\200\002N");
	for (int i = 0; i < 200000; i++)
		msi_buf_putc(&b, (char)0x85);
	msi_buf_putc(&b, '.');
	data = msi_buf_detach(&b, &len);
	x = run_bytes(data, len);
	CHECK_EQ_INT(count_code(x.r, "pickle.limit"), 1);
	CHECK_EQ_STR(message_of(x.r, "pickle.limit"), "objects nested deeper than 10000 at offset 10002 (max_depth)");
	CHECK(x.pk->failed && !x.pk->root);
	done(&x);
	msi_free(data);
	/* max_stack, max_nodes, max_memo and max_arena */
	b = (msi_buf)MSI_BUF_INIT;
	for (int i = 0; i < 5000; i++)
		msi_buf_puts(&b, "\x88\x94");
	data = msi_buf_detach(&b, &len);
	msi_pickle_limits lim = { 0 };
	lim.max_stack = 100;
	x = run_bytes_lim(data, len, &lim, true);
	CHECK(strstr(message_of(x.r, "pickle.limit"), "max_stack"));
	done(&x);
	lim = (msi_pickle_limits){ 0 };
	lim.max_memo = 1000;
	x = run_bytes_lim(data, len, &lim, true);
	CHECK(strstr(message_of(x.r, "pickle.limit"), "max_memo"));
	done(&x);
	msi_free(data);
	b = (msi_buf)MSI_BUF_INIT;
	for (int i = 0; i < 5000; i++)
		msi_buf_puts(&b, "]0");
	data = msi_buf_detach(&b, &len);
	lim = (msi_pickle_limits){ 0 };
	lim.max_nodes = 1000;
	x = run_bytes_lim(data, len, &lim, true);
	CHECK(strstr(message_of(x.r, "pickle.limit"), "max_nodes"));
	done(&x);
	lim = (msi_pickle_limits){ 0 };
	lim.max_arena = 200000;
	x = run_bytes_lim(data, len, &lim, true);
	CHECK_EQ_INT(x.rc, MS_OK);
	CHECK(strstr(message_of(x.r, "pickle.limit"), "max_arena"));
	done(&x);
	msi_free(data);
	CHECK_EQ_INT(live, live0);
}

static void trailing_and_frames(void)
{
	long live0 = live;
	run x = run_bytes_lim("\200\002N.junk", 8, NULL, true);
	CHECK_EQ_INT(count_code(x.r, "pickle.trailing_data"), 1);
	CHECK_EQ_STR(message_of(x.r, "pickle.trailing_data"), "4 bytes follow STOP at offset 3");
	CHECK(x.pk->complete && x.pk->end == 4);
	done(&x);
	x = run_bytes_lim("\200\002N.junk", 8, NULL, false);
	CHECK_EQ_INT(x.r->count, 0);
	CHECK_EQ_INT(x.pk->end, 4);
	done(&x);
	/* an opcode across a frame's end, and a frame inside a frame */
	x = RUN("\200\004\225\002\000\000\000\000\000\000\000\214\003abc.");
	CHECK_EQ_INT(count_code(x.r, "pickle.opcode.invalid"), 1);
	CHECK(strstr(message_of(x.r, "pickle.opcode.invalid"), "past the end of its frame"));
	done(&x);
	x = RUN("\200\004\225\012\000\000\000\000\000\000\000\225\001\000\000\000\000\000\000\000N.");
	CHECK(strstr(message_of(x.r, "pickle.opcode.invalid"), "inside the frame"));
	done(&x);
	CHECK_EQ_INT(live, live0);
}

/* ---- globals and the allowlists ---- */

static void computed_and_overwritten_globals(void)
{
	long live0 = live;
	/* STACK_GLOBAL of a computed module name: unresolved, "?" */
	run x = RUN("\200\004\214\010builtins\214\003str\223\214\002os\205R\214\006system\223.");
	CHECK_EQ_INT(x.rc, MS_OK);
	CHECK_EQ_INT(x.pk->nglobals, 2);
	CHECK(!x.pk->globals[0].unresolved);
	CHECK(x.pk->globals[1].unresolved);
	CHECK_EQ_STR(x.pk->globals[1].module, "?");
	CHECK_EQ_STR(x.pk->globals[1].name, "system");
	CHECK(x.pk->root->kind == MSI_PV_GLOBAL && (x.pk->root->flags & MSI_PV_GLOBAL_UNRESOLVED));
	CHECK_EQ_INT(count_code(x.r, "pickle.stack.type"), 1);
	ms_report *r = msi_report_new("t", NULL);
	CHECK_EQ_INT(msi_pickle_check_globals(x.pk, MSI_PICKLE_TORCH, NULL, r, "m"), 2);
	CHECK_EQ_INT(count_code(r, "pickle.global.unresolved"), 1);
	CHECK_EQ_INT(count_code(r, "pickle.global.unsafe"), 1); /* builtins.str: fine in plain pickles only */
	ms_report_free(r);
	done(&x);
	/* a memo slot written twice: "torch" then "os" in slot 0 */
	x = RUN("\200\004\214\005torch\224\060\214\002os\161\000\060h\000\214\006system\223.");
	CHECK_EQ_INT(x.rc, MS_OK);
	CHECK(x.pk->complete);
	CHECK_EQ_INT(x.pk->nglobals, 1);
	CHECK(x.pk->globals[0].unresolved);
	CHECK_EQ_STR(x.pk->globals[0].module, "os"); /* the value seen, flagged */
	r = msi_report_new("t", NULL);
	CHECK_EQ_INT(msi_pickle_check_globals(x.pk, MSI_PICKLE_TORCH, NULL, r, "m"), 1);
	CHECK_EQ_INT(count_code(r, "pickle.global.unresolved"), 1);
	CHECK_EQ_INT(count_code(r, "pickle.global.unsafe"), 1);
	CHECK(strstr(message_of(r, "pickle.global.unsafe"), "runs code"));
	ms_report_free(r);
	done(&x);
	/* EXT: a global only the loading process's registry knows */
	x = RUN("\200\002\202\001.");
	CHECK(x.pk->root->kind == MSI_PV_EXT && x.pk->root->u.ext == 1);
	CHECK(x.pk->nglobals == 1 && x.pk->globals[0].unresolved);
	r = msi_report_new("t", NULL);
	CHECK_EQ_INT(msi_pickle_check_globals(x.pk, MSI_PICKLE_TORCH, NULL, r, "m"), 1);
	CHECK(strstr(message_of(r, "pickle.global.unresolved"), "EXT1 at offset 2"));
	ms_report_free(r);
	done(&x);
	CHECK_EQ_INT(live, live0);
}

static void verdicts(void)
{
	static const char *const extra_os[] = { "os.*", "builtins.eval", "mypkg.*", "sklearn.utils._testing.helper" };
	msi_allow_extra ex = { extra_os, 4 };
	static const struct {
		msi_pickle_policy policy;
		const char *module, *name;
		bool extra;
		msi_global_verdict want;
	} cases[] = {
		/* torch weights-only */
		{ MSI_PICKLE_TORCH, "torch._utils", "_rebuild_tensor_v2", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "torch._utils", "_rebuild_parameter_with_state", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "torch._tensor", "_rebuild_from_type_v2", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "collections", "OrderedDict", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "torch", "FloatStorage", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "torch.storage", "UntypedStorage", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "torch", "float8_e4m3fn", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "torch", "bfloat16", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "torch.cuda", "HalfTensor", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "torch", "per_channel_affine", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "__builtin__", "set", false, MSI_GLOBAL_ALLOWED }, /* protocol 2's name */
		{ MSI_PICKLE_TORCH, "_codecs", "encode", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "torch.nn.modules.linear", "Linear", false, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_TORCH, "numpy.core.multiarray", "_reconstruct", false, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_TORCH, "__torch__.m", "Net", false, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_TORCH, "torch", "load", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_TORCH, "torch", "float", false, MSI_GLOBAL_UNSAFE }, /* str(dtype) never writes the alias */
		/* TorchScript */
		{ MSI_PICKLE_TORCHSCRIPT, "__torch__.torch.nn.modules.linear", "Linear", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCHSCRIPT, "torch.jit._pickle", "build_intlist", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCHSCRIPT, "torch._utils", "_rebuild_tensor_v2", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCHSCRIPT, "__torch__", "A.__init__.__globals__", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_TORCHSCRIPT, "__torchx__", "A", false, MSI_GLOBAL_UNSAFE },
		/* plain pickles */
		{ MSI_PICKLE_PLAIN, "sklearn.ensemble._forest", "RandomForestClassifier", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_PLAIN, "sklearn.tree._tree", "Tree", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_PLAIN, "numpy.core.multiarray", "_reconstruct", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_PLAIN, "numpy._core.multiarray", "scalar", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_PLAIN, "numpy.random._pickle", "__randomstate_ctor", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_PLAIN, "numpy.core._multiarray_umath", "log1p", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_PLAIN, "numpy", "true_divide", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_PLAIN, "numpy.core._multiarray_umath", "fromfile", false, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_PLAIN, "numpy.core._multiarray_umath", "_vec_string", false, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_PLAIN, "scipy.sparse", "save_npz", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "scipy.sparse._csr", "csr_matrix", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_PLAIN, "copy_reg", "_reconstructor", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_PLAIN, "__builtin__", "object", false, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_PLAIN, "sklearn.utils._testing", "assert_run_python_script", false, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_PLAIN, "sklearn.datasets._base", "load_iris", false, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_PLAIN, "sklearn.linear_model.tests.test_x", "f", false, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_PLAIN, "sklearn.base", "BaseEstimator.__init__.__globals__", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "sklearn.base", "os.system", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "sklearn", "base.os.system", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "sklearn", "base.subprocess.Popen.x", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "sklearn.base", "BaseEstimator.get_params", false, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_PLAIN, "numpy", "load", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "numpy.f2py.crackfortran", "getlincoef", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "numpy.testing._private.utils", "runstring", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "builtins", "getattr", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "__builtin__", "eval", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "builtins", "type", false, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_PLAIN, "cPickle", "loads", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "commands", "getoutput", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "subprocess", "Popen", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "operator", "attrgetter", false, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_PLAIN, "osx", "system", false, MSI_GLOBAL_UNSAFE }, /* not a submodule of os */
		/* a caller's patterns never admit code execution */
		{ MSI_PICKLE_TORCH, "os", "system", true, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_TORCH, "posix", "system", true, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_TORCH, "builtins", "eval", true, MSI_GLOBAL_CODE_EXEC },
		{ MSI_PICKLE_TORCH, "mypkg", "Model", true, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "mypkg.sub.deep", "Model", true, MSI_GLOBAL_ALLOWED },
		{ MSI_PICKLE_TORCH, "mypkg.sub", "Model.method", true, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_TORCH, "mypkg.tests", "Model", true, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_TORCH, "mypkgx", "Model", true, MSI_GLOBAL_UNSAFE },
		{ MSI_PICKLE_PLAIN, "sklearn.utils._testing", "helper", true, MSI_GLOBAL_ALLOWED }, /* named exactly */
	};
	for (size_t i = 0; i < MSI_ARRAY_LEN(cases); i++) {
		msi_global_verdict got = msi_pickle_judge(cases[i].policy, cases[i].module, cases[i].name,
		                                          cases[i].extra ? &ex : NULL);
		if (got != cases[i].want)
			fprintf(stderr, "  %s.%s (policy %d): verdict %d, want %d\n", cases[i].module, cases[i].name,
			        cases[i].policy, got, cases[i].want);
		CHECK_EQ_INT(got, cases[i].want);
	}
	/* the lists as data */
	CHECK_EQ_STR(msi_pickle_allowlist_at(MSI_PICKLE_TORCH, 0), "collections.OrderedDict");
	size_t n_torch = 0, n_ts = 0;
	while (msi_pickle_allowlist_at(MSI_PICKLE_TORCH, n_torch))
		n_torch++;
	while (msi_pickle_allowlist_at(MSI_PICKLE_TORCHSCRIPT, n_ts))
		n_ts++;
	CHECK_EQ_INT(n_ts, n_torch + 2);
	CHECK_EQ_STR(msi_pickle_allowlist_at(MSI_PICKLE_TORCHSCRIPT, n_torch), "__torch__.*");
	CHECK(msi_pickle_codeexec_at(0) && !msi_pickle_codeexec_at(100000));
	bool has_os = false;
	for (size_t i = 0; msi_pickle_codeexec_at(i); i++)
		has_os |= strcmp(msi_pickle_codeexec_at(i), "os.*") == 0;
	CHECK(has_os);
}

static void check_globals_reports_once(void)
{
	long live0 = live;
	/* os.system three times, numpy once, an allowed global: two findings */
	run x = RUN("\200\002cos\nsystem\n0cos\nsystem\n0cnumpy\nndarray\n0ccollections\nOrderedDict\n0cos\nsystem\n.");
	CHECK_EQ_INT(x.rc, MS_OK);
	CHECK_EQ_INT(x.pk->nglobals, 5);
	ms_report *r = msi_report_new("t", NULL);
	CHECK_EQ_INT(msi_pickle_check_globals(x.pk, MSI_PICKLE_TORCH, NULL, r, "archive/data.pkl"), 2);
	CHECK_EQ_INT(r->count, 2);
	CHECK_EQ_STR(r->items[0].code, "pickle.global.unsafe");
	CHECK_EQ_STR(r->items[0].where, "archive/data.pkl");
	CHECK_EQ_STR(r->items[0].message,
	             "global os.system at offset 2, 3 times (runs code; it runs shell commands and touches files): "
	             "no allowlist admits it");
	CHECK_EQ_STR(r->items[1].message, "global numpy.ndarray at offset 26 is not on the torch weights-only allowlist");
	ms_report_free(r);
	/* without a report, only the count */
	CHECK_EQ_INT(msi_pickle_check_globals(x.pk, MSI_PICKLE_PLAIN, NULL, NULL, NULL), 1);
	done(&x);
	CHECK_EQ_INT(live, live0);
}

/* ---- allocation failures ---- */

static void allocation_failures(void)
{
	long live0 = live;
	/* every allocation of a run, failed in turn: MS_ENOMEM (or success
	 * when the failure falls on a path that survives it), never a leak */
	msi_source *src;
	CHECK_EQ_INT(msi_source_from_memory(torch_sd, sizeof torch_sd - 1, false, &src), MS_OK);
	size_t enomem = 0;
	for (long n = 0; n < 200; n++) {
		long base_live = live;
		fail_at = n;
		allocations = 0;
		msi_pickle *pk = NULL;
		int rc = msi_pickle_run(src, 0, sizeof torch_sd - 1, NULL, true, NULL, NULL, &pk);
		long used = allocations;
		fail_at = -1;
		if (rc == MS_ENOMEM) {
			CHECK(pk == NULL);
			enomem++;
		} else {
			CHECK_EQ_INT(rc, MS_OK);
			ms_report *r = msi_report_new("t", NULL);
			CHECK(r);
			fail_at = 0;
			allocations = 0;
			msi_pickle_check_globals(pk, MSI_PICKLE_PLAIN, NULL, r, "m"); /* falls back, leaks nothing */
			fail_at = -1;
			ms_report_free(r);
			msi_pickle_free(pk);
		}
		CHECK_EQ_INT(live, base_live);
		if (used <= n)
			break; /* the run needed fewer allocations: each was failed once */
	}
	CHECK(enomem >= 3);
	msi_source_release(src);
	CHECK_EQ_INT(live, live0);
}

/* Nodes are as long as their kind needs (msi_pv_bytes), EMPTY_TUPLE's ()
 * is one shared node, and the dense memo array is zeroed only as far as
 * the keys reach. */
static void node_layout_and_sharing(void)
{
	long live0 = live;
	CHECK(msi_pv_bytes(MSI_PV_INT) < msi_pv_bytes(MSI_PV_DICT));
	CHECK(msi_pv_bytes(MSI_PV_DICT) < sizeof(msi_pv));
	CHECK_EQ_INT(msi_pv_bytes(MSI_PV_CALL), sizeof(msi_pv));
	CHECK_EQ_INT(msi_pv_bytes(MSI_PV_GLOBAL), sizeof(msi_pv));
	CHECK_EQ_INT(msi_pv_bytes(MSI_PV_PERSID), sizeof(msi_pv));
	CHECK_EQ_INT(msi_pv_bytes(MSI_PV_EXT), sizeof(msi_pv));

	/* ((), ()): one node */
	run x = RUN("\200\002))\206.");
	CHECK(x.pk->complete && x.r->count == 0);
	const msi_pv *t = x.pk->root;
	CHECK(t->kind == MSI_PV_TUPLE && t->nitems == 2 && t->items[0] == t->items[1]);
	CHECK(t->items[0]->kind == MSI_PV_TUPLE && t->items[0]->nitems == 0 && t->items[0]->opcode == ')');
	CHECK_EQ_INT(x.pk->nodes, 2);
	CHECK(!msi_pv_state(t));
	done(&x);
	/* () from a memo slot written twice is flagged on a copy, not on every () */
	x = RUN("\200\002)q\000q\000h\000\206.");
	CHECK_EQ_INT(x.r->count, 0);
	t = x.pk->root;
	CHECK(t->kind == MSI_PV_TUPLE && t->nitems == 2 && t->items[0] != t->items[1]);
	CHECK(t->items[0]->flags == 0 && (t->items[1]->flags & MSI_PV_FROM_OVERWRITTEN_MEMO));
	CHECK(t->items[1]->kind == MSI_PV_TUPLE && t->items[1]->nitems == 0);
	done(&x);
	/* BUILD state, through msi_pv_state */
	x = RUN("\200\002cm\nC\n)R}\214\001aK\001sb.");
	CHECK_EQ_INT(x.r->count, 0);
	const msi_pv *state = msi_pv_state(x.pk->root);
	CHECK(state && state == x.pk->root->state && state->kind == MSI_PV_DICT);
	CHECK_EQ_INT(msi_pv_dict_get(state, "a")->u.i, 1);
	CHECK_EQ_INT(x.pk->root->builds, 1);
	done(&x);

	/* 1,101 memo keys in order, then a GET and a PUT past the slots zeroed
	 * so far (the dense array holds 2,048 by then, 1,536 of them zeroed) */
	msi_buf b = MSI_BUF_INIT;
	msi_buf_puts(&b, "\200\002");
	char op[5];
	for (uint32_t i = 0; i <= 1100; i++) {
		msi_buf_puts(&b, "K\007r");
		op[0] = (char)(i & 0xff), op[1] = (char)(i >> 8), op[2] = op[3] = 0;
		msi_buf_append(&b, op, 4);
		msi_buf_putc(&b, '0');
	}
	msi_buf_append(&b, "j\010\007\000\0000", 6);      /* GET 1800: never written */
	msi_buf_append(&b, "K\011r\244\006\000\0000", 8); /* PUT 1700 */
	msi_buf_append(&b, "j\244\006\000\000j\005\000\000\000\206.", 12);
	size_t len;
	char *data = msi_buf_detach(&b, &len);
	x = run_bytes(data, len);
	CHECK_EQ_INT(x.rc, MS_OK);
	CHECK_EQ_INT(count_code(x.r, "pickle.memo.missing"), 1);
	CHECK(strstr(message_of(x.r, "pickle.memo.missing"), "slot 1800"));
	CHECK_EQ_INT(x.r->count, 1);
	t = x.pk->root;
	CHECK(t && t->kind == MSI_PV_TUPLE && t->nitems == 2);
	CHECK(t && t->items[0]->u.i == 9 && t->items[1]->u.i == 7);
	done(&x);
	msi_free(data);
	CHECK_EQ_INT(live, live0);
}

static const msi_test_case cases[] = {
	{ "python_reference_cases", python_reference_cases },
	{ "file_window_matches_memory", file_window_matches_memory },
	{ "large_stream_through_file", large_stream_through_file },
	{ "torch_state_dict_tree", torch_state_dict_tree },
	{ "text_protocol_forms", text_protocol_forms },
	{ "truncated_at_every_offset", truncated_at_every_offset },
	{ "huge_declared_lengths", huge_declared_lengths },
	{ "stack_and_mark_errors", stack_and_mark_errors },
	{ "type_errors_go_on", type_errors_go_on },
	{ "memo_errors", memo_errors },
	{ "memo_bombs", memo_bombs },
	{ "limits", limits },
	{ "trailing_and_frames", trailing_and_frames },
	{ "computed_and_overwritten_globals", computed_and_overwritten_globals },
	{ "verdicts", verdicts },
	{ "check_globals_reports_once", check_globals_reports_once },
	{ "allocation_failures", allocation_failures },
	{ "node_layout_and_sharing", node_layout_and_sharing },
};

MSI_TEST_MAIN(cases)
