/*
 * The pickle engine off its fast path (pickle_vm_impl.h): findings, the
 * memory budget and arena chunks, the file window and text lines, the
 * memo, and the opcodes whose work is too rare or too large to inline.
 */
#include <stdio.h>

#include "pickle_text.h"
#include "pickle_vm_impl.h"

/* File windows: 64 KiB, reused read after read (larger only for a payload
 * or line that needs it). Doubling them to 1 MiB while reads ran on saved
 * a few preads but touched fresh memory for each size, ~2 us a page here:
 * 240 faults on a 650 KB pickle, against 6 more syscalls. */
#define WINDOW_MIN (64u << 10)
#define WINDOW_MAX (64u << 10)

static const char *const finding_code[F_COUNT] = {
	"pickle.truncated",      "pickle.opcode.unknown", "pickle.opcode.invalid", "pickle.stack.underflow",
	"pickle.stack.type",     "pickle.mark.unbalanced", "pickle.memo.missing",  "pickle.memo.expansion",
	"pickle.limit",          "pickle.trailing_data",  "pickle.stack.leftover",
};

/* pickletools' names; NULL for bytes that are no opcode */
static const char *const opnames[256] = {
	['('] = "MARK",          ['.'] = "STOP",            ['0'] = "POP",            ['1'] = "POP_MARK",
	['2'] = "DUP",           ['F'] = "FLOAT",           ['I'] = "INT",            ['J'] = "BININT",
	['K'] = "BININT1",       ['L'] = "LONG",            ['M'] = "BININT2",        ['N'] = "NONE",
	['P'] = "PERSID",        ['Q'] = "BINPERSID",       ['R'] = "REDUCE",         ['S'] = "STRING",
	['T'] = "BINSTRING",     ['U'] = "SHORT_BINSTRING", ['V'] = "UNICODE",        ['X'] = "BINUNICODE",
	['a'] = "APPEND",        ['b'] = "BUILD",           ['c'] = "GLOBAL",         ['d'] = "DICT",
	['}'] = "EMPTY_DICT",    ['e'] = "APPENDS",         ['g'] = "GET",            ['h'] = "BINGET",
	['i'] = "INST",          ['j'] = "LONG_BINGET",     ['l'] = "LIST",           [']'] = "EMPTY_LIST",
	['o'] = "OBJ",           ['p'] = "PUT",             ['q'] = "BINPUT",         ['r'] = "LONG_BINPUT",
	['s'] = "SETITEM",       ['t'] = "TUPLE",           [')'] = "EMPTY_TUPLE",    ['u'] = "SETITEMS",
	['G'] = "BINFLOAT",      [0x80] = "PROTO",          [0x81] = "NEWOBJ",        [0x82] = "EXT1",
	[0x83] = "EXT2",         [0x84] = "EXT4",           [0x85] = "TUPLE1",        [0x86] = "TUPLE2",
	[0x87] = "TUPLE3",       [0x88] = "NEWTRUE",        [0x89] = "NEWFALSE",      [0x8a] = "LONG1",
	[0x8b] = "LONG4",        ['B'] = "BINBYTES",        ['C'] = "SHORT_BINBYTES", [0x8c] = "SHORT_BINUNICODE",
	[0x8d] = "BINUNICODE8",  [0x8e] = "BINBYTES8",      [0x8f] = "EMPTY_SET",     [0x90] = "ADDITEMS",
	[0x91] = "FROZENSET",    [0x92] = "NEWOBJ_EX",      [0x93] = "STACK_GLOBAL",  [0x94] = "MEMOIZE",
	[0x95] = "FRAME",        [0x96] = "BYTEARRAY8",     [0x97] = "NEXT_BUFFER",   [0x98] = "READONLY_BUFFER",
};

/* msi_pv_kind's names in messages */
static const char *const kind_names[] = {
	"None",    "a bool",  "an int", "an int",     "a float",  "a str",    "a bytes object", "a bytearray", "a buffer",
	"a tuple", "a list",  "a dict", "a set",      "a frozenset", "a global", "an object",   "a persistent id",
	"an extension object",
};

/* ---- findings ---- */

void msi_pvm_finding(vm *v, int f, const char *fmt, ...)
{
	if (v->nfound[f]++ >= FINDINGS_PER_CODE || !v->r)
		return;
	va_list ap;
	va_start(ap, fmt);
	msi_report_addv(v->r, finding_code[f], v->where, fmt, ap);
	va_end(ap);
}

void msi_pvm_halt(vm *v, int f, const char *fmt, ...)
{
	if (v->nfound[f]++ < FINDINGS_PER_CODE && v->r) {
		va_list ap;
		va_start(ap, fmt);
		msi_report_addv(v->r, finding_code[f], v->where, fmt, ap);
		va_end(ap);
	}
	v->stop = v->halted = true;
}

void msi_pvm_fail_rc(vm *v, int rc)
{
	if (!v->rc)
		v->rc = rc;
	v->stop = v->halted = true;
}

const char *msi_pvm_opname(uint8_t op)
{
	return opnames[op] ? opnames[op] : "?";
}

const char *msi_pvm_kind_name(const msi_pv *n)
{
	return n->kind < MSI_ARRAY_LEN(kind_names) ? kind_names[n->kind] : "?";
}

/* Printable excerpt of stream text for a message. */
const char *msi_pvm_excerpt(const uint8_t *p, size_t n, char *buf, size_t cap)
{
	size_t m = 0, i = 0;
	for (; i < n && m + 8 < cap; i++) { /* room for one escape, "..." and the NUL */
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			buf[m++] = (char)p[i];
		} else {
			snprintf(buf + m, cap - m, "\\x%02x", p[i]);
			m += 4;
		}
	}
	if (i < n) {
		memcpy(buf + m, "...", 3);
		m += 3;
	}
	buf[m] = '\0';
	return buf;
}

void msi_pvm_truncated(vm *v, uint8_t op, uint64_t at)
{
	if (!v->rc)
		msi_pvm_halt(v, F_TRUNCATED, "the stream ends at offset %llu inside %s at offset %llu, before STOP",
			     (ull)v->len, msi_pvm_opname(op), (ull)at);
}

void msi_pvm_underflow(vm *v, uint8_t op, uint64_t at, size_t need)
{
	msi_pvm_halt(v, F_UNDERFLOW, "%s at offset %llu needs %zu object%s above the %s, which holds %zu",
		     msi_pvm_opname(op), (ull)at, need, need == 1 ? "" : "s",
		     v->nmarks ? "topmost MARK" : "stack bottom", v->sp - v->floor);
}

/* ---- memory: one budget (max_arena) for everything the run holds ---- */

bool msi_pvm_budget(vm *v, uint64_t add)
{
	if (add > v->lim.max_arena || v->bytes > v->lim.max_arena - add) {
		msi_pvm_halt(v, F_LIMIT,
			     "the pickle needs more than the %llu bytes of memory allowed (max_arena) at offset %llu",
			     (ull)v->lim.max_arena, (ull)v->at);
		return false;
	}
	v->bytes += add;
	return true;
}

/* A new chunk for `size` bytes: the next regular chunk, or one of its own
 * for a block too big to share one (linked behind the open chunk, which
 * stays open for small blocks). */
void *msi_pvm_alloc_slow(vm *v, size_t size)
{
	pv_arena *a = v->ar;
	/* regular chunks are a->next bytes with their header, so the big ones
	 * fill whole huge pages */
	bool big = size > a->next / 4;
	size_t want = big ? size : a->next - sizeof(pvm_chunk);
	if (size > SIZE_MAX / 2) {
		msi_pvm_halt(v, F_LIMIT, "a block of %zu bytes at offset %llu is more than memory holds", size,
			     (ull)v->at);
		return NULL;
	}
	if (!msi_pvm_budget(v, want))
		return NULL;
	pvm_chunk *n = msi_big_alloc(sizeof *n + want);
	if (!n) {
		msi_pvm_fail_rc(v, MS_ENOMEM);
		return NULL;
	}
	n->bytes = sizeof *n + want;
	if (big && a->head) {
		n->next = a->head->next;
		a->head->next = n;
		return n->data;
	}
	if (!big && a->next < CHUNK_MAX)
		a->next *= 2;
	n->next = a->head;
	a->head = n;
	v->bump = n->data + size;
	v->bump_end = n->data + want;
	return n->data;
}

/* Grows a malloc'd array of `*cap` elements to at least `need`, within
 * `limit` elements (the limit `lname`) and the byte budget. */
bool msi_pvm_grow_array(vm *v, void **arr, size_t *cap, size_t need, size_t elem, size_t limit, const char *what,
			const char *lname)
{
	if (need > limit) {
		msi_pvm_halt(v, F_LIMIT, "more than %zu %s at offset %llu (%s)", limit, what, (ull)v->at, lname);
		return false;
	}
	size_t nc = *cap ? *cap : 16;
	while (nc < need)
		nc = nc > SIZE_MAX / 4 ? need : nc * 2;
	if (nc > limit)
		nc = limit;
	if (!msi_pvm_budget(v, (uint64_t)(nc - *cap) * elem))
		return false;
	void *p = msi_reallocarray(*arr, nc, elem);
	if (!p) {
		msi_pvm_fail_rc(v, MS_ENOMEM);
		return false;
	}
	*arr = p;
	*cap = nc;
	return true;
}

/* Moves the read position to `pos` (inside the stream); a file window that
 * does not cover it is dropped, to be refilled at the next read. */
void msi_pvm_seek(vm *v, uint64_t pos)
{
	if (pos >= v->buf_off && pos - v->buf_off <= (uint64_t)(v->wend - v->buf)) {
		v->cur = v->buf + (pos - v->buf_off);
		return;
	}
	v->buf_off = pos;
	v->buf = v->cur = v->wend = v->win;
}

/* Makes stream bytes [pos, pos + n) readable in the window (file sources;
 * the caller has checked they lie inside the stream). */
static bool refill(vm *v, size_t n)
{
	uint64_t pos = pos_of(v);
	/* reads grow while the stream is read straight on, and start small again
	 * after a skipped payload */
	bool sequential = v->win_next && v->buf != v->wend;
	v->win_next = !sequential ? WINDOW_MIN : v->win_next < WINDOW_MAX ? v->win_next * 2 : WINDOW_MAX;
	size_t want = n > v->win_next ? n : v->win_next;
	if (want > v->len - pos)
		want = (size_t)(v->len - pos);
	if (want > v->win_cap) {
		/* not charged to max_arena: the window is bounded by max_copy, and
		 * a run must not depend on whether its bytes are in memory. The old
		 * bytes are read again if needed: a fresh block, not a realloc
		 * that copies them. */
		msi_free(v->win);
		v->win_cap = 0;
		uint8_t *w = v->win = msi_malloc(want);
		if (!w) {
			msi_pvm_fail_rc(v, MS_ENOMEM);
			return false;
		}
		v->win = w;
		v->win_cap = want;
	}
	int64_t got = msi_source_read_upto(v->src, v->base + pos, v->win, want);
	if (got >= 0 && (size_t)got < n)
		got = msi_error(MS_ECHANGED, "the pickle's bytes changed while being read");
	if (got < 0) {
		msi_pvm_fail_rc(v, (int)got);
		return false;
	}
	v->buf = v->cur = v->win;
	v->wend = v->win + got;
	v->buf_off = pos;
	return true;
}

/* `n` bytes at the read position, advancing past them; NULL when the
 * stream ends first (v->rc set on a read error). The pointer is valid
 * until the next read. */
const uint8_t *msi_pvm_take_slow(vm *v, size_t n)
{
	if (n > v->len - pos_of(v) || v->src == NULL)
		return NULL;
	if (!refill(v, n))
		return NULL;
	v->cur += n;
	return v->buf;
}

/* Stream offset of the first '\n' at or after `from`, or UINT64_MAX. A
 * file is read a window at a time; nothing is kept. */
static uint64_t find_newline(vm *v, uint64_t from)
{
	if (v->src == NULL) {
		const uint8_t *nl = memchr(v->buf + from, '\n', (size_t)(v->len - from));
		return nl ? (uint64_t)(nl - v->buf) : UINT64_MAX;
	}
	while (from < v->len) {
		msi_pvm_seek(v, from);
		v->win_next = 0;
		if (!refill(v, 1))
			return UINT64_MAX;
		const uint8_t *nl = memchr(v->buf, '\n', (size_t)(v->wend - v->buf));
		if (nl)
			return from + (uint64_t)(nl - v->buf);
		from += (uint64_t)(v->wend - v->buf);
	}
	return UINT64_MAX;
}

/* A text argument: the bytes from the read position up to '\n', which is
 * consumed. LINE_OK: *p and *n are the line (valid until the next read).
 * LINE_LARGE: longer than max_copy, skipped; *n is its length. LINE_SHORT:
 * the stream ends first, or a read failed (v->rc). *start is where the
 * line begins. */
line_rc msi_pvm_line(vm *v, const uint8_t **p, uint64_t *n, uint64_t *start)
{
	uint64_t cap = v->lim.max_copy + 1; /* bytes searched before a line counts as large */
	*start = pos_of(v);
	for (;;) {
		size_t have = (size_t)(v->wend - v->cur);
		size_t look = have < cap ? have : (size_t)cap;
		const uint8_t *nl = look ? memchr(v->cur, '\n', look) : NULL;
		if (nl) {
			*p = v->cur;
			*n = (uint64_t)(nl - v->cur);
			v->cur = nl + 1;
			return LINE_OK;
		}
		if (have >= cap)
			break; /* no newline in max_copy bytes: a large line */
		uint64_t left = v->len - pos_of(v);
		if (have >= left)
			return LINE_SHORT; /* no newline before the end */
		if (!refill(v, (size_t)(left < cap ? left : cap)))
			return LINE_SHORT;
	}
	uint64_t nl = find_newline(v, *start + cap);
	if (nl == UINT64_MAX)
		return LINE_SHORT;
	*n = nl - *start;
	msi_pvm_seek(v, nl + 1);
	return LINE_LARGE;
}

static inline size_t memo_hash(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static memo_slot *hash_find(const vm *v, uint64_t key)
{
	if (!v->memo_cap)
		return NULL;
	for (size_t i = memo_hash(key, v->memo_cap);; i = (i + 1) & (v->memo_cap - 1)) {
		memo_slot *s = &v->memo[i];
		if (!s->val || s->key == key)
			return s;
	}
}

/* The dense slot of `key` (< dense_cap), zeroing the slots up to it first
 * when they were never written: a page's worth at a time, as a stream's
 * keys usually count up. */
static uintptr_t *dense_at(vm *v, uint64_t key)
{
	if (key >= v->dense_init) {
		size_t to = ((size_t)key + 512) & ~(size_t)511;
		if (to > v->dense_cap)
			to = v->dense_cap;
		memset(v->dense + v->dense_init, 0, (to - v->dense_init) * sizeof *v->dense);
		v->dense_init = to;
	}
	return &v->dense[key];
}

/* Rebuilds the hash table at `nc` slots, moving the entries now covered
 * by the dense array there. */
static bool hash_rebuild(vm *v, size_t nc)
{
	if (!msi_pvm_budget(v, (uint64_t)nc * sizeof(memo_slot)))
		return false;
	memo_slot *old = v->memo, *n = msi_calloc(nc, sizeof *n);
	if (!n) {
		msi_pvm_fail_rc(v, MS_ENOMEM);
		return false;
	}
	size_t oc = v->memo_cap;
	v->memo = n;
	v->memo_cap = nc;
	v->memo_hashed = 0;
	for (size_t i = 0; i < oc; i++) {
		if (!old[i].val)
			continue;
		if (old[i].key < v->dense_cap) {
			*dense_at(v, old[i].key) = old[i].val;
		} else {
			*hash_find(v, old[i].key) = old[i];
			v->memo_hashed++;
		}
	}
	msi_free(old);
	v->bytes -= (uint64_t)oc * sizeof(memo_slot);
	return true;
}

static uintptr_t *memo_slot_of(vm *v, uint64_t key, bool create)
{
	if (key < v->dense_cap)
		return dense_at(v, key);
	if (create && key < 2 * ((uint64_t)v->memo_count + 128)) {
		size_t nc = v->dense_cap ? v->dense_cap * 2 : 256;
		while (nc <= key)
			nc *= 2;
		if (!msi_pvm_budget(v, (uint64_t)(nc - v->dense_cap) * sizeof *v->dense))
			return NULL;
		/* a msi_big_* block: a state dict's memo is ~0.5 MB, reused by the
		 * next run instead of faulted in afresh */
		uintptr_t *d = nc <= SIZE_MAX / sizeof *d
		               ? msi_big_realloc(v->dense, v->dense_cap * sizeof *d, nc * sizeof *d) : NULL;
		if (!d) {
			msi_pvm_fail_rc(v, MS_ENOMEM);
			return NULL;
		}
		v->dense = d; /* its new slots are zeroed as keys reach them (dense_at) */
		v->dense_cap = nc;
		if (v->memo_cap && !hash_rebuild(v, v->memo_cap))
			return NULL;
		return dense_at(v, key);
	}
	memo_slot *s = hash_find(v, key);
	if (s && s->val)
		return &s->val;
	if (!create)
		return NULL;
	if ((v->memo_hashed + 1) * 2 > v->memo_cap) {
		if (!hash_rebuild(v, v->memo_cap ? v->memo_cap * 2 : 1024))
			return NULL;
		s = hash_find(v, key);
	}
	s->key = key;
	v->memo_hashed++;
	return &s->val;
}

void msi_pvm_memo_put(vm *v, uint8_t op, uint64_t at, uint64_t key)
{
	if (v->sp == v->floor) {
		msi_pvm_underflow(v, op, at, 1);
		return;
	}
	uintptr_t top = (uintptr_t)v->stack[v->sp - 1];
	uintptr_t *slot = key < v->dense_cap ? dense_at(v, key) : memo_slot_of(v, key, false);
	if (slot && *slot) {
		/* a slot written twice: what a GET returns depends on the order of
		 * opcodes, which scanners that read names statically get wrong */
		*slot = top | MEMO_OVERWRITTEN;
		return;
	}
	if (v->memo_count >= v->lim.max_memo) {
		msi_pvm_halt(v, F_LIMIT, "%s at offset %llu: more than %llu memo entries (max_memo)",
			     msi_pvm_opname(op), (ull)at, (ull)v->lim.max_memo);
		return;
	}
	if (!slot && !(slot = memo_slot_of(v, key, true)))
		return;
	*slot = top;
	v->memo_count++;
}

static bool is_shared(const vm *v, const msi_pv *n)
{
	return (n->kind == MSI_PV_INT && n->opcode == 'K' && v->shared_int[n->u.i & 0xff] == n) ||
	       n == v->shared_none || n == v->shared_bool[0] || n == v->shared_bool[1] || n == v->shared_tuple;
}

void msi_pvm_memo_get(vm *v, uint8_t op, uint64_t at, uint64_t key, bool known)
{
	uintptr_t *s = !known ? NULL : key < v->dense_cap ? dense_at(v, key) : memo_slot_of(v, key, false);
	if (!s || !*s) {
		msi_pvm_finding(v, F_MEMO, "%s at offset %llu reads memo slot %llu, which was never written",
				msi_pvm_opname(op), (ull)at, (ull)key);
		push(v, node(v, MSI_PV_NONE, op)); /* a stand-in, so the rest can still be checked */
		return;
	}
	msi_pv *n = (msi_pv *)(*s & ~MEMO_OVERWRITTEN);
	if (*s & MEMO_OVERWRITTEN) {
		if (is_shared(v, n)) { /* flag a copy, not every None of the stream */
			msi_pv *c = node(v, n->kind, n->opcode);
			if (!c)
				return;
			memcpy(c, n, msi_pv_bytes(n->kind)); /* a small node: no more */
			n = c;
			*s = (uintptr_t)c | MEMO_OVERWRITTEN;
		}
		n->flags |= MSI_PV_FROM_OVERWRITTEN_MEMO;
	}
	push(v, n);
}

/* PUT and GET text: int(line), a memo index. */
bool msi_pvm_memo_index(vm *v, uint8_t op, uint64_t at, uint64_t *key, bool *known)
{
	const uint8_t *p;
	uint64_t n, start;
	line_rc lr = msi_pvm_line(v, &p, &n, &start);
	if (lr == LINE_SHORT) {
		msi_pvm_truncated(v, op, at);
		return false;
	}
	msi_pt_int pi;
	if (lr == LINE_LARGE || !msi_pt_parse_int(p, (size_t)n, false, &pi)) {
		msi_pvm_halt(v, F_INVALID, "%s at offset %llu: the memo index is not an integer", msi_pvm_opname(op),
			     (ull)at);
		return false;
	}
	*known = pi.fits && pi.value >= 0;
	*key = (uint64_t)pi.value;
	if (!*known && op == 'p') {
		msi_pvm_halt(v, F_INVALID, "PUT at offset %llu: memo index out of range", (ull)at);
		return false;
	}
	return true;
}

/* ---- nodes ---- */

/* Appends n pointers to a growable array of length *len. */
bool msi_pvm_append_ptrs(vm *v, msi_pv ***arr, uint32_t *len, uint32_t mult, msi_pv *const *items, size_t n)
{
	if (n == 0)
		return true;
	uint64_t have = (uint64_t)*len * mult, total = have + n;
	if (total / mult > UINT32_MAX) {
		msi_pvm_halt(v, F_LIMIT, "a container with more than %u items at offset %llu", UINT32_MAX,
			     (ull)v->at);
		return false;
	}
	if (total > cap_of(have)) {
		uint64_t nc = cap_of(total);
		msi_pv **na = alloc(v, (size_t)nc * sizeof *na);
		if (!na)
			return false;
		if (have)
			memcpy(na, *arr, (size_t)have * sizeof *na);
		*arr = na;
	}
	memcpy(*arr + have, items, n * sizeof *items);
	*len = (uint32_t)(total / mult);
	return true;
}

msi_pv *msi_pvm_large_node(vm *v, uint8_t kind, uint8_t op, uint64_t n, uint64_t offset)
{
	msi_pv *s = node(v, kind, op);
	if (s) {
		s->flags |= MSI_PV_STR_LARGE;
		s->u.str.len = n;
		s->u.str.offset = offset;
	}
	return s;
}

/* LONG1 / LONG4 bytes: two's complement, little-endian. */
msi_pv *msi_pvm_long_node(vm *v, uint8_t op, const uint8_t *b, size_t n, uint64_t offset)
{
	bool neg = n && (b[n - 1] & 0x80);
	bool fits = true;
	for (size_t i = 8; i < n && fits; i++)
		fits = b[i] == (neg ? 0xff : 0x00);
	if (n > 8 && fits)
		fits = ((b[7] & 0x80) != 0) == neg;
	if (!fits) {
		msi_pv *s = str_node(v, MSI_PV_BIGINT, op, b, n, offset);
		return s;
	}
	uint64_t u = neg ? UINT64_MAX : 0;
	for (size_t i = 0; i < n && i < 8; i++) {
		u &= ~((uint64_t)0xff << (8 * i));
		u |= (uint64_t)b[i] << (8 * i);
	}
	msi_pv *s = node(v, MSI_PV_INT, op);
	if (s)
		s->u.i = (int64_t)u;
	return s;
}

/* INT and LONG text, already past an 'L' suffix. */
void msi_pvm_int_text(vm *v, uint8_t op, uint64_t at, const uint8_t *p, size_t n, uint64_t offset)
{
	msi_pt_int pi;
	if (!msi_pt_parse_int(p, n, true, &pi)) {
		char text[64];
		msi_pvm_halt(v, F_INVALID, "%s at offset %llu: '%s' is not an integer", msi_pvm_opname(op), (ull)at,
			     msi_pvm_excerpt(p, n, text, sizeof text));
		return;
	}
	if (pi.fits) {
		msi_pv *s = node(v, MSI_PV_INT, op);
		if (s)
			s->u.i = pi.value;
		push(v, s);
		return;
	}
	if (pi.ndigits > MSI_PT_INT_MAX_DIGITS) {
		push(v, msi_pvm_large_node(v, MSI_PV_BIGINT, op, n, offset));
		return;
	}
	size_t bound = msi_pt_int_bytes_bound(&pi);
	uint32_t *limbs = alloc(v, (bound / 4 + 1) * sizeof *limbs);
	uint8_t *bytes = limbs ? alloc(v, bound + 1) : NULL;
	msi_pv *s = bytes ? node(v, MSI_PV_BIGINT, op) : NULL;
	if (!s)
		return;
	size_t nb = msi_pt_int_bytes(&pi, limbs, bytes);
	bytes[nb] = 0;
	s->u.str.data = (const char *)bytes;
	s->u.str.len = nb;
	s->u.str.offset = offset;
	push(v, s);
}

/* ---- opcodes off the fast path ---- */

/* dict keys and set members must hash: Python's mutable containers do not */
void msi_pvm_check_keys(vm *v, uint8_t op, uint64_t at, msi_pv *const *items, size_t n, size_t step)
{
	for (size_t i = 0; i < n; i += step) {
		uint8_t k = items[i]->kind;
		if (k == MSI_PV_LIST || k == MSI_PV_DICT || k == MSI_PV_SET || k == MSI_PV_BYTEARRAY) {
			msi_pvm_finding(v, F_TYPE,
					"%s at offset %llu uses %s as a key or set member, which cannot be hashed",
					msi_pvm_opname(op), (ull)at, msi_pvm_kind_name(items[i]));
			return;
		}
	}
}

/* Notes which global's call received items, for msi_pickle_global.targeted. */
static void note_call_target(vm *v, const msi_pv *t, uint8_t bit)
{
	const msi_pv *c = t->u.call.callable;
	if (c && c->kind == MSI_PV_GLOBAL && c->u.global.index < v->out->nglobals)
		v->out->globals[c->u.global.index].targeted |= bit;
	else
		v->out->call_target_unknown = true;
}

/* APPEND(S) and ADDITEMS: items into a list, set or object. */
void msi_pvm_attach_items(vm *v, uint8_t op, uint64_t at, msi_pv *t, msi_pv *const *items, size_t n)
{
	bool additems = op == 0x90;
	if (t->kind != (additems ? MSI_PV_SET : MSI_PV_LIST) && t->kind != MSI_PV_CALL) {
		msi_pvm_finding(v, F_TYPE, "%s at offset %llu adds to %s, not a %s", msi_pvm_opname(op), (ull)at,
				msi_pvm_kind_name(t), additems ? "set" : "list");
		return;
	}
	if (additems && t->kind == MSI_PV_SET)
		msi_pvm_check_keys(v, op, at, items, n, 1);
	if (t->kind == MSI_PV_CALL)
		note_call_target(v, t, MSI_PG_ITEMS);
	if (!msi_pvm_append_ptrs(v, &t->items, &t->nitems, 1, items, n))
		return;
	for (size_t i = 0; i < n; i++)
		if (!add_child(v, t, items[i]))
			return;
}

/* SETITEM(S): key, value pairs into a dict or object. */
void msi_pvm_attach_pairs(vm *v, uint8_t op, uint64_t at, msi_pv *t, msi_pv *const *items, size_t n)
{
	if (t->kind != MSI_PV_DICT && t->kind != MSI_PV_CALL) {
		msi_pvm_finding(v, F_TYPE, "%s at offset %llu sets items of %s, not a dict", msi_pvm_opname(op),
				(ull)at, msi_pvm_kind_name(t));
		return;
	}
	if (t->kind == MSI_PV_DICT)
		msi_pvm_check_keys(v, op, at, items, n, 2);
	if (t->kind == MSI_PV_CALL)
		note_call_target(v, t, MSI_PG_PAIRS);
	if (!msi_pvm_append_ptrs(v, &t->pairs, &t->npairs, 2, items, n))
		return;
	for (size_t i = 0; i < n; i++)
		if (!add_child(v, t, items[i]))
			return;
}

bool msi_pvm_record_global(vm *v, uint8_t op, uint64_t at, const char *module, const char *name, bool unresolved)
{
	msi_pickle *o = v->out;
	if (o->nglobals == v->globals_cap &&
	    !msi_pvm_grow_array(v, (void **)&o->globals, &v->globals_cap, o->nglobals + 1, sizeof *o->globals,
				(size_t)MSI_MIN(v->lim.max_nodes, UINT32_MAX), "globals", "max_nodes"))
		return false;
	msi_pickle_global *g = &o->globals[o->nglobals++];
	g->module = module;
	g->name = name;
	g->offset = at;
	g->opcode = op;
	g->unresolved = unresolved;
	g->targeted = 0;
	return true;
}

msi_pv *msi_pvm_global_node(vm *v, uint8_t op, uint64_t at, const char *module, const char *name, bool unresolved)
{
	msi_pv *g = node(v, MSI_PV_GLOBAL, op);
	if (!g || !msi_pvm_record_global(v, op, at, module, name, unresolved))
		return NULL;
	g->u.global.module = module;
	g->u.global.name = name;
	g->u.global.index = (uint32_t)(v->out->nglobals - 1);
	if (unresolved)
		g->flags |= MSI_PV_GLOBAL_UNRESOLVED;
	return g;
}

/* GLOBAL and INST: the module and name lines, copied. `odd` is set for a
 * name with a NUL, which a C string would cut short. */
bool msi_pvm_global_lines(vm *v, uint8_t op, uint64_t at, const char **module, const char **name, bool *odd)
{
	const char *got[2];
	for (int i = 0; i < 2; i++) {
		const uint8_t *p;
		uint64_t n, start;
		line_rc lr = msi_pvm_line(v, &p, &n, &start);
		if (lr == LINE_SHORT) {
			msi_pvm_truncated(v, op, at);
			return false;
		}
		if (lr == LINE_LARGE) {
			msi_pvm_halt(v, F_LIMIT, "%s at offset %llu: a %s name of %llu bytes, more than max_copy",
				     msi_pvm_opname(op), (ull)at, i ? "global" : "module", (ull)n);
			return false;
		}
		if (memchr(p, '\0', (size_t)n))
			*odd = true;
		if (!(got[i] = copy_str(v, p, (size_t)n)))
			return false;
	}
	*module = got[0];
	*name = got[1];
	return true;
}

/* STACK_GLOBAL's operands: a str known when the stream was written; "?"
 * (or the value seen, flagged unresolved) otherwise. */
const char *msi_pvm_static_name(const msi_pv *s, bool *unresolved)
{
	if (s->kind != MSI_PV_STR || !s->u.str.data) {
		*unresolved = true;
		return "?";
	}
	if ((s->flags & MSI_PV_FROM_OVERWRITTEN_MEMO) || memchr(s->u.str.data, '\0', (size_t)s->u.str.len))
		*unresolved = true;
	return s->u.str.data;
}

void msi_pvm_stop(vm *v, uint64_t at, bool trailing_is_error)
{
	msi_pickle *o = v->out;
	if (v->sp == v->floor) {
		msi_pvm_underflow(v, '.', at, 1);
		return;
	}
	o->root = v->stack[v->sp - 1];
	o->end = pos_of(v);
	o->complete = v->sp == 1 && v->nmarks == 0;
	v->stop = true;
	if (v->nmarks)
		msi_pvm_finding(v, F_MARK, "%zu MARK%s still open at STOP (offset %llu)", v->nmarks,
				v->nmarks == 1 ? " is" : "s are", (ull)at);
	if (v->sp > 1)
		msi_pvm_finding(v, F_LEFTOVER,
				"%zu object%s left on the stack besides the result at STOP (offset %llu)", v->sp - 1,
				v->sp == 2 ? "" : "s", (ull)at);
	/* a pickle's objects are about its bytes: memo references can make its
	 * expanded tree exponentially larger, and a consumer that walks it
	 * would never end */
	uint64_t limit;
	if (!msi_mul_u64(o->end, 64, &limit))
		limit = UINT64_MAX;
	if (limit < v->lim.max_expansion)
		limit = v->lim.max_expansion;
	if (o->root->size > limit)
		msi_pvm_finding(v, F_EXPANSION,
				"the result expands to %s%llu objects from %llu bytes (more than %llu): memo "
				"references multiply it, as a memo bomb does",
				o->root->size == UINT64_MAX ? "at least " : "", (ull)o->root->size, (ull)o->end,
				(ull)limit);
	if (trailing_is_error && o->end < v->len)
		msi_pvm_finding(v, F_TRAILING, "%llu bytes follow STOP at offset %llu", (ull)(v->len - o->end),
				(ull)at);
}

void msi_pvm_finish(vm *v)
{
	for (int f = 0; f < F_COUNT && v->r; f++)
		if (v->nfound[f] > FINDINGS_PER_CODE)
			msi_report_add(v->r, finding_code[f], v->where,
				       "%u more %s findings in this stream are not listed",
				       v->nfound[f] - FINDINGS_PER_CODE, finding_code[f]);
}
