/*
 * The pickle engine's machine state, shared by pickle_vm.c (the opcode
 * loop) and pickle_vm_core.c (everything off its fast path). Private to
 * those two files. The fast-path helpers are inline here: the loop calls
 * them for nearly every opcode.
 */
#ifndef MSI_FORMATS_PICKLE_VM_IMPL_H
#define MSI_FORMATS_PICKLE_VM_IMPL_H

#include <string.h>

#include "pickle_vm.h"

/* inlined even at several call sites: the opcode loop's hottest helpers */
#if defined(__GNUC__)
#define MSI_PVM_HOT __attribute__((always_inline))
#else
#define MSI_PVM_HOT
#endif

#define FINDINGS_PER_CODE 20  /* a hostile stream repeats one mistake millions of times */
#define CHUNK_MIN (64u << 10) /* arena chunks double from the first one */
#define CHUNK_MAX (8u << 20)

enum {
	F_TRUNCATED,
	F_UNKNOWN,
	F_INVALID,
	F_UNDERFLOW,
	F_TYPE,
	F_MARK,
	F_MEMO,
	F_EXPANSION,
	F_LIMIT,
	F_TRAILING,
	F_LEFTOVER,
	F_COUNT
};

typedef unsigned long long ull;
typedef struct msi_pvm vm;

typedef struct pvm_chunk {
	struct pvm_chunk *next;
	size_t bytes; /* the whole block, this header included (msi_big_free needs it) */
	_Alignas(16) unsigned char data[];
} pvm_chunk;

typedef struct pv_arena {
	pvm_chunk *head;
	size_t next; /* size of the next regular pvm_chunk */
} pv_arena;

typedef struct memo_slot {
	uint64_t key;
	uintptr_t val; /* node | MEMO_OVERWRITTEN; 0 = empty */
} memo_slot;

#define MEMO_OVERWRITTEN ((uintptr_t)1) /* nodes are 8-aligned: bit 0 is free */

struct msi_pvm {
	/* input: stream bytes [0, len) are src bytes [base, base + len) */
	const msi_source *src; /* NULL when the stream is in memory */
	uint64_t base, len;
	const uint8_t *buf, *cur, *wend; /* window: stream bytes from buf_off on */
	uint64_t buf_off;
	uint8_t *win; /* file sources: the window's memory */
	size_t win_cap, win_next;
	uint64_t frame_end;
	bool in_frame;
	uint64_t at;         /* the offset of the opcode being run, for messages */

	/* machine */
	msi_pv **stack;
	size_t sp, floor, stack_cap; /* floor: where the topmost MARK frame starts */
	size_t *marks;
	size_t nmarks, marks_cap;
	uintptr_t *dense; /* memo slots [0, dense_cap): node | MEMO_OVERWRITTEN, 0 = empty */
	size_t dense_cap;
	/* Slots from dense_init on are empty without having been written: they
	 * are zeroed a page's worth at a time as keys reach them (dense_at in
	 * pickle_vm_core.c), not the whole new half each time the array
	 * doubles. The fast paths test keys against dense_init, not dense_cap. */
	size_t dense_init;
	memo_slot *memo; /* other memo slots */
	size_t memo_cap, memo_hashed, memo_count;
	size_t globals_cap;
	uint64_t nodes_left; /* max_nodes less the nodes made */
	msi_pv *shared_int[256], *shared_none, *shared_bool[2], *shared_tuple; /* see shared() */

	pv_arena *ar;
	unsigned char *bump, *bump_end; /* the open chunk's free bytes */
	uint64_t bytes;                 /* arena + stack + marks + memo + globals (not the window) */
	msi_pickle_limits lim;
	msi_pickle *out;
	ms_report *r;
	const char *where;
	unsigned nfound[F_COUNT];
	void *locale; /* "C" locale for FLOAT text (pickle_text.c) */
	int rc;       /* MS_ENOMEM or a read error: no result */
	bool stop;    /* leave the loop */
	bool halted;  /* ... because of a stream error or a limit */
};

typedef enum { LINE_OK, LINE_LARGE, LINE_SHORT } line_rc;

/* ---- pickle_vm_core.c ---- */

/* Findings, capped per code (msi_pvm_halt also ends the run), and the
 * common messages. msi_pvm_fail_rc ends the run without a result. */
void msi_pvm_finding(vm *v, int f, const char *fmt, ...) MSI_PRINTF(3, 4);
void msi_pvm_halt(vm *v, int f, const char *fmt, ...) MSI_PRINTF(3, 4);
void msi_pvm_fail_rc(vm *v, int rc);
const char *msi_pvm_opname(uint8_t op);
const char *msi_pvm_kind_name(const msi_pv *n); /* "an int", "a dict", "None" */
const char *msi_pvm_excerpt(const uint8_t *p, size_t n, char *buf, size_t cap);
void msi_pvm_truncated(vm *v, uint8_t op, uint64_t at);
void msi_pvm_underflow(vm *v, uint8_t op, uint64_t at, size_t need);

/* Memory: everything counts against max_arena. */
bool msi_pvm_budget(vm *v, uint64_t add);
void *msi_pvm_alloc_slow(vm *v, size_t size);
bool msi_pvm_grow_array(vm *v, void **arr, size_t *cap, size_t need, size_t elem, size_t limit, const char *what,
			const char *lname);

/* Input beyond the window, and text lines. */
void msi_pvm_seek(vm *v, uint64_t pos);
const uint8_t *msi_pvm_take_slow(vm *v, size_t n);
line_rc msi_pvm_line(vm *v, const uint8_t **p, uint64_t *n, uint64_t *start);

/* The memo off its fast path (new slots, overwrites, misses, text indices). */
void msi_pvm_memo_put(vm *v, uint8_t op, uint64_t at, uint64_t key);
void msi_pvm_memo_get(vm *v, uint8_t op, uint64_t at, uint64_t key, bool known);
bool msi_pvm_memo_index(vm *v, uint8_t op, uint64_t at, uint64_t *key, bool *known);

/* Nodes and opcodes too rare or too large to inline. */
bool msi_pvm_append_ptrs(vm *v, msi_pv ***arr, uint32_t *len, uint32_t mult, msi_pv *const *items, size_t n);
msi_pv *msi_pvm_large_node(vm *v, uint8_t kind, uint8_t op, uint64_t n, uint64_t offset);
msi_pv *msi_pvm_long_node(vm *v, uint8_t op, const uint8_t *b, size_t n, uint64_t offset);
void msi_pvm_int_text(vm *v, uint8_t op, uint64_t at, const uint8_t *p, size_t n, uint64_t offset);
void msi_pvm_check_keys(vm *v, uint8_t op, uint64_t at, msi_pv *const *items, size_t n, size_t step);
void msi_pvm_attach_items(vm *v, uint8_t op, uint64_t at, msi_pv *t, msi_pv *const *items, size_t n);
void msi_pvm_attach_pairs(vm *v, uint8_t op, uint64_t at, msi_pv *t, msi_pv *const *items, size_t n);
bool msi_pvm_record_global(vm *v, uint8_t op, uint64_t at, const char *module, const char *name, bool unresolved);
msi_pv *msi_pvm_global_node(vm *v, uint8_t op, uint64_t at, const char *module, const char *name, bool unresolved);
bool msi_pvm_global_lines(vm *v, uint8_t op, uint64_t at, const char **module, const char **name, bool *odd);
const char *msi_pvm_static_name(const msi_pv *s, bool *unresolved);
void msi_pvm_stop(vm *v, uint64_t at, bool trailing_is_error);
/* Adds one finding per code whose cap held findings back. */
void msi_pvm_finish(vm *v);

/* ---- fast paths ---- */

/* The read position, a stream offset. */
static inline uint64_t pos_of(const vm *v)
{
	return v->buf_off + (uint64_t)(v->cur - v->buf);
}

/* Bump allocation; sizes are rounded to 8, so every block is 8-aligned. */
static inline void *alloc(vm *v, size_t size)
{
	size = (size + 7) & ~(size_t)7;
	if ((size_t)(v->bump_end - v->bump) >= size) {
		void *p = v->bump;
		v->bump += size;
		return p;
	}
	return msi_pvm_alloc_slow(v, size);
}

static inline const uint8_t *take(vm *v, size_t n)
{
	if ((size_t)(v->wend - v->cur) >= n) {
		const uint8_t *p = v->cur;
		v->cur += n;
		return p;
	}
	return msi_pvm_take_slow(v, n);
}

/* A node of its kind's size (msi_pv_bytes), followed by `extra` bytes of
 * its own (a container's items). */
static inline msi_pv *node_with(vm *v, uint8_t kind, uint8_t op, size_t extra)
{
	if (!v->nodes_left) {
		msi_pvm_halt(v, F_LIMIT, "more than %llu objects at offset %llu (max_nodes)", (ull)v->lim.max_nodes,
			     (ull)v->at);
		return NULL;
	}
	size_t bytes = msi_pv_bytes(kind);
	msi_pv *n = alloc(v, bytes + extra);
	if (!n)
		return NULL;
	memset(n, 0, bytes);
	n->kind = kind;
	n->opcode = op;
	n->size = 1;
	n->depth = 1;
	v->nodes_left--;
	return n;
}

static inline msi_pv *node(vm *v, uint8_t kind, uint8_t op)
{
	return node_with(v, kind, op, 0);
}

/* None, True, False, BININT1's 0..255 and EMPTY_TUPLE's () are immutable:
 * one node each serves every occurrence (a state dict's offsets, strides
 * and flags are mostly these, and every OrderedDict() and backward-hooks
 * call takes its arguments as ()). Only memo_get would change one, and
 * copies it first. */
static inline msi_pv *shared(vm *v, msi_pv **slot, uint8_t kind, uint8_t op, int64_t value)
{
	if (!*slot && (*slot = node(v, kind, op))) {
		if (kind == MSI_PV_BOOL)
			(*slot)->u.b = value != 0;
		else if (kind == MSI_PV_INT)
			(*slot)->u.i = value;
	}
	return *slot;
}

/* t gains child c: its expanded size, and its depth, which may not pass
 * max_depth (a 1-tuple nested 200,000 times is a short stream). */
static inline bool add_child(vm *v, msi_pv *t, const msi_pv *c)
{
	uint64_t s = t->size + c->size;
	t->size = s < t->size ? UINT64_MAX : s;
	if (c->depth >= t->depth) {
		if (c->depth >= v->lim.max_depth) {
			msi_pvm_halt(v, F_LIMIT, "objects nested deeper than %u at offset %llu (max_depth)",
				     v->lim.max_depth, (ull)v->at);
			return false;
		}
		t->depth = c->depth + 1;
	}
	return true;
}

static inline bool push(vm *v, msi_pv *n)
{
	if (!n)
		return false;
	if (v->sp == v->stack_cap &&
	    !msi_pvm_grow_array(v, (void **)&v->stack, &v->stack_cap, v->sp + 1, sizeof *v->stack,
				(size_t)v->lim.max_stack, "objects on the stack", "max_stack"))
		return false;
	v->stack[v->sp++] = n;
	return true;
}

/* Capacity of a growable item array of length n: arrays are allocated at
 * this size, so it never needs storing. */
static inline uint64_t cap_of(uint64_t n)
{
	if (n == 0)
		return 0;
	uint64_t c = 4;
	while (c < n)
		c *= 2;
	return c;
}

/* A TUPLE, LIST, SET, FROZENSET or DICT of stack items, its item array
 * allocated with it. */
static inline MSI_PVM_HOT msi_pv *container(vm *v, uint8_t kind, uint8_t op, msi_pv *const *items, size_t n)
{
	bool growable = kind != MSI_PV_TUPLE && kind != MSI_PV_FROZENSET;
	size_t want = growable ? (size_t)cap_of(n) : n;
	msi_pv *c = node_with(v, kind, op, want * sizeof(msi_pv *));
	if (!c || !n)
		return c;
	msi_pv **arr = (msi_pv **)((unsigned char *)c + msi_pv_bytes(kind));
	uint64_t size = 1;
	uint32_t depth = 0;
	for (size_t i = 0; i < n; i++) {
		arr[i] = items[i];
		uint64_t t = size + items[i]->size;
		size = t < size ? UINT64_MAX : t;
		depth = items[i]->depth > depth ? items[i]->depth : depth;
	}
	if (depth >= v->lim.max_depth) {
		msi_pvm_halt(v, F_LIMIT, "objects nested deeper than %u at offset %llu (max_depth)", v->lim.max_depth,
			     (ull)v->at);
		return NULL;
	}
	c->size = size;
	c->depth = depth + 1;
	if (kind == MSI_PV_DICT) {
		c->pairs = arr;
		c->npairs = (uint32_t)(n / 2);
	} else {
		c->items = arr;
		c->nitems = (uint32_t)n;
	}
	return c;
}

/* A NUL-terminated arena copy. */
static inline char *copy_str(vm *v, const uint8_t *p, size_t n)
{
	char *d = alloc(v, n + 1);
	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

static inline msi_pv *str_node(vm *v, uint8_t kind, uint8_t op, const uint8_t *p, size_t n, uint64_t offset)
{
	msi_pv *s = node(v, kind, op);
	if (!s)
		return NULL;
	if (!(s->u.str.data = copy_str(v, p, n)))
		return NULL;
	s->u.str.len = n;
	s->u.str.offset = offset;
	return s;
}

/* BINBYTES, BINUNICODE, ...: a payload of n bytes at pos. */
static inline void payload(vm *v, uint8_t op, uint64_t at, uint64_t n, uint8_t kind)
{
	uint64_t off = pos_of(v);
	if (n > v->len - off) {
		msi_pvm_truncated(v, op, at);
		return;
	}
	if (n > v->lim.max_copy) {
		msi_pvm_seek(v, off + n); /* not read */
		push(v, msi_pvm_large_node(v, kind, op, n, off));
		return;
	}
	const uint8_t *p = take(v, (size_t)n);
	if (!p) {
		msi_pvm_truncated(v, op, at);
		return;
	}
	push(v, str_node(v, kind, op, p, (size_t)n, off));
}

/* Closes the topmost MARK: the objects that were above it are
 * items[0..*n), valid until the next push. NULL without a MARK. */
static inline msi_pv **pop_mark(vm *v, uint8_t op, uint64_t at, size_t *n)
{
	if (!v->nmarks) {
		msi_pvm_halt(v, F_MARK, "%s at offset %llu closes a MARK that was never opened", msi_pvm_opname(op),
			     (ull)at);
		return NULL;
	}
	size_t m = v->marks[--v->nmarks];
	*n = v->sp - m;
	v->sp = m;
	v->floor = v->nmarks ? v->marks[v->nmarks - 1] : 0;
	return v->stack + m;
}

/* Python objects the engine knows nothing about: they may be anything. */
static inline bool opaque(const msi_pv *n)
{
	return n->kind == MSI_PV_CALL || n->kind == MSI_PV_PERSID || n->kind == MSI_PV_EXT;
}

static inline bool callable_kind(const msi_pv *n)
{
	return n->kind == MSI_PV_GLOBAL || opaque(n);
}

static inline msi_pv *call_node(vm *v, uint8_t op, msi_pv *callable, msi_pv *args, msi_pv *kwargs)
{
	msi_pv *c = node(v, MSI_PV_CALL, op);
	if (!c)
		return NULL;
	c->u.call.callable = callable;
	c->u.call.args = args;
	c->u.call.kwargs = kwargs;
	if (!add_child(v, c, callable) || (args && !add_child(v, c, args)) || (kwargs && !add_child(v, c, kwargs)))
		return NULL;
	return c;
}

/* REDUCE, NEWOBJ, NEWOBJ_EX: what _pickle.c insists on. */
static inline void check_call(vm *v, uint8_t op, uint64_t at, const msi_pv *callable, const msi_pv *args,
			      const msi_pv *kwargs)
{
	if (!callable_kind(callable))
		msi_pvm_finding(v, F_TYPE, "%s at offset %llu calls %s", msi_pvm_opname(op), (ull)at,
				msi_pvm_kind_name(callable));
	if (args && args->kind != MSI_PV_TUPLE && !opaque(args))
		msi_pvm_finding(v, F_TYPE, "%s at offset %llu passes %s as the argument tuple", msi_pvm_opname(op),
				(ull)at, msi_pvm_kind_name(args));
	if (kwargs && kwargs->kind != MSI_PV_DICT && !opaque(kwargs))
		msi_pvm_finding(v, F_TYPE, "%s at offset %llu passes %s as keyword arguments", msi_pvm_opname(op),
				(ull)at, msi_pvm_kind_name(kwargs));
}

#endif
