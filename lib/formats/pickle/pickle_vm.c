/*
 * The pickle engine (pickle_vm.h): CPython's unpickler (Lib/pickle.py,
 * Modules/_pickle.c; opcodes as Lib/pickletools.py lists them) run as a
 * symbolic machine. It has the unpickler's stack, MARK frames and memo, and
 * builds inert nodes where Python would import, call or construct.
 *
 * What stops the machine and what does not: where the unpicklers refuse a
 * stream and the machine's state would be undefined after it (a pop below a
 * MARK, an unknown opcode, a negative length), the engine reports and
 * stops. Where the state stays well defined (APPEND to a dict, BUILD on an
 * int, a GET of an empty memo slot, PROTO 6), it reports and goes on: a
 * validator wants every problem. Findings are capped per code.
 *
 * Speed: one switch per opcode over a window of the stream (the memory
 * itself for memory-backed sources); nodes bump-allocated in an arena;
 * strings copied once; item arrays grown geometrically in the arena (their
 * capacity is implied by their length, see cap_of). No allocation per
 * opcode outside the arena.
 *
 * Bounds: each length is checked against the bytes left before anything is
 * read or allocated, so a BINBYTES8 that declares 2^63 bytes is a
 * truncation, not an allocation; payloads over max_copy are skipped, never
 * read; the stack, MARK nesting, object nesting, memo entries, nodes and
 * bytes (arena, stack, memo and globals together, against max_arena) are
 * capped. The file window is bounded by max_copy.
 * Memo indices come from the stream: the memo's size follows the number of
 * entries, never an index value (see memo_slot_of).
 */
#include <string.h>

#include "pickle_text.h"
#include "pickle_vm_impl.h"

#define DEF_MAX_NODES 4000000u
#define DEF_MAX_ARENA (256ull << 20)
#define DEF_MAX_DEPTH 10000u
#define DEF_MAX_MEMO 4000000u
#define DEF_MAX_COPY (1ull << 20)
#define DEF_MAX_EXPANSION 10000000u
#define DEF_MAX_STACK 1000000u
#define STACK_INITIAL 256u

/* A text argument read, or the run halted. */
#define LINE(op)                                      \
	do {                                          \
		lr = msi_pvm_line(v, &p, &n, &start); \
		cur = v->cur;                         \
		if (lr == LINE_SHORT) {               \
			msi_pvm_truncated(v, op, at); \
			goto next;                    \
		}                                     \
	} while (0)

/* `len` argument bytes at p; `cur` is run()'s copy of v->cur, kept in a
 * register (v->cur is written, never read back, on the fast path: a load
 * after a store per opcode would chain every opcode to the last one). */
#define TAKE(len)                                             \
	do {                                                  \
		if ((size_t)(v->wend - cur) >= (len)) {       \
			p = cur;                              \
			cur += (len);                         \
			v->cur = cur;                         \
		} else {                                      \
			p = msi_pvm_take_slow(v, (len));      \
			cur = v->cur;                         \
			if (!p) {                             \
				msi_pvm_truncated(v, op, at); \
				goto next;                    \
			}                                     \
		}                                             \
	} while (0)

#define NEED(k)                                            \
	do {                                               \
		if (v->sp - v->floor < (k)) {              \
			msi_pvm_underflow(v, op, at, (k)); \
			goto next;                         \
		}                                          \
	} while (0)

static void run(vm *v, bool trailing_is_error)
{
	msi_pickle *o = v->out;
	bool proto_seen = false;
	uint64_t ops = 0;
	uint8_t seen[256] = { 0 };
	const uint8_t *cur = v->cur;
	while (!v->stop) {
		const uint8_t *p;
		if (cur < v->wend) {
			p = cur++;
			v->cur = cur;
		} else if (pos_of(v) >= v->len) {
			msi_pvm_halt(v, F_TRUNCATED, "the stream ends at offset %llu before STOP", (ull)v->len);
			break;
		} else if (!(p = msi_pvm_take_slow(v, 1))) {
			msi_pvm_fail_rc(v, v->rc ? v->rc : MS_EIO);
			break;
		} else {
			cur = v->cur;
		}
		uint64_t at = v->buf_off + (uint64_t)(cur - v->buf) - 1;
		v->at = at;
		uint8_t op = *p;
		seen[op] = 1;
		ops++;
		/* Memo traffic is a third to a half of a protocol 2 stream's opcodes:
		 * its usual cases go here, on conditional branches that predict well,
		 * rather than through the switch's indirect jump (outside frames,
		 * whose end is checked after the switch). */
		if (op == 'r' && v->wend - cur >= 4 && !v->in_frame) {
			uint64_t key = msi_le32(cur);
			if (key < v->dense_init && !v->dense[key] && v->sp > v->floor && v->memo_count < v->lim.max_memo) {
				v->dense[key] = (uintptr_t)v->stack[v->sp - 1];
				v->memo_count++;
				cur += 4;
				v->cur = cur;
				continue;
			}
		} else if (op == 'h' && cur < v->wend && !v->in_frame) {
			uintptr_t slot = cur[0] < v->dense_init ? v->dense[cur[0]] : 0;
			if (slot && !(slot & MEMO_OVERWRITTEN) && v->sp < v->stack_cap) {
				v->stack[v->sp++] = (msi_pv *)slot;
				cur++;
				v->cur = cur;
				continue;
			}
		}

		uint64_t n, start;
		line_rc lr;
		msi_pv *x, *y, *z, **items;
		size_t k;
		switch (op) {
		/* ---- control ---- */
		case '(': /* MARK */
			if (v->nmarks >= v->lim.max_depth) {
				msi_pvm_halt(v, F_LIMIT, "MARK at offset %llu nests deeper than %u (max_depth)",
					     (ull)at, v->lim.max_depth);
				break;
			}
			if (v->nmarks == v->marks_cap &&
			    !msi_pvm_grow_array(v, (void **)&v->marks, &v->marks_cap, v->nmarks + 1, sizeof *v->marks,
						v->lim.max_depth, "MARKs", "max_depth"))
				break;
			v->marks[v->nmarks++] = v->sp;
			v->floor = v->sp;
			break;
		case '.': /* STOP */
			msi_pvm_stop(v, at, trailing_is_error);
			break;
		case '0': /* POP: pickle.py pops the MARK itself when its frame is empty */
			if (v->sp > v->floor)
				v->sp--;
			else if (v->nmarks)
				pop_mark(v, op, at, &k);
			else
				msi_pvm_underflow(v, op, at, 1);
			break;
		case '1': /* POP_MARK */
			pop_mark(v, op, at, &k);
			break;
		case '2': /* DUP */
			NEED(1);
			push(v, v->stack[v->sp - 1]);
			break;
		case 0x80: /* PROTO */
			TAKE(1);
			if (p[0] > 5)
				msi_pvm_finding(v, F_INVALID,
						"PROTO at offset %llu asks for protocol %u; pickle knows 0 to 5",
						(ull)at, p[0]);
			if (!proto_seen)
				o->protocol = p[0];
			proto_seen = true;
			break;
		case 0x95: /* FRAME: a length hint, checked as pickle.py does */
			TAKE(8);
			n = msi_le64(p);
			if (v->in_frame)
				msi_pvm_finding(v, F_INVALID,
						"FRAME at offset %llu starts inside the frame that ends at offset %llu",
						(ull)at, (ull)v->frame_end);
			start = pos_of(v);
			if (n > v->len - start) {
				msi_pvm_halt(v, F_TRUNCATED,
					     "FRAME at offset %llu announces %llu bytes; the stream has %llu left",
					     (ull)at, (ull)n, (ull)(v->len - start));
				break;
			}
			v->frame_end = start + n;
			v->in_frame = n > 0;
			break;

		/* ---- scalars ---- */
		case 'N': /* NONE */
			push(v, shared(v, &v->shared_none, MSI_PV_NONE, op, 0));
			break;
		case 0x88: /* NEWTRUE */
		case 0x89: /* NEWFALSE */
			push(v, shared(v, &v->shared_bool[op == 0x88], MSI_PV_BOOL, op, op == 0x88));
			break;
		case 'J': /* BININT */
			TAKE(4);
			if ((x = node(v, MSI_PV_INT, op)))
				x->u.i = (int32_t)msi_le32(p);
			push(v, x);
			break;
		case 'K': /* BININT1 */
			TAKE(1);
			push(v, shared(v, &v->shared_int[p[0]], MSI_PV_INT, op, p[0]));
			break;
		case 'M': /* BININT2 */
			TAKE(2);
			if ((x = node(v, MSI_PV_INT, op)))
				x->u.i = msi_le16(p);
			push(v, x);
			break;
		case 'G': { /* BINFLOAT: big-endian */
			TAKE(8);
			uint64_t bits = msi_be64(p);
			if ((x = node(v, MSI_PV_FLOAT, op)))
				memcpy(&x->u.f, &bits, sizeof bits);
			push(v, x);
			break;
		}
		case 'I': /* INT: "I01\n" and "I00\n" are True and False */
			LINE(op);
			if (lr == LINE_LARGE) {
				push(v, msi_pvm_large_node(v, MSI_PV_BIGINT, op, n, start));
			} else if (n == 2 && p[0] == '0' && (p[1] == '0' || p[1] == '1')) {
				if ((x = node(v, MSI_PV_BOOL, op)))
					x->u.b = p[1] == '1';
				push(v, x);
			} else {
				msi_pvm_int_text(v, op, at, p, (size_t)n, start);
			}
			break;
		case 'L': /* LONG */
			LINE(op);
			if (lr == LINE_LARGE) {
				push(v, msi_pvm_large_node(v, MSI_PV_BIGINT, op, n, start));
				break;
			}
			if (n && p[n - 1] == 'L')
				n--;
			msi_pvm_int_text(v, op, at, p, (size_t)n, start);
			break;
		case 0x8a: /* LONG1 */
			TAKE(1);
			n = p[0];
			start = pos_of(v);
			TAKE((size_t)n);
			push(v, msi_pvm_long_node(v, op, p, (size_t)n, start));
			break;
		case 0x8b: { /* LONG4 */
			TAKE(4);
			int32_t len = (int32_t)msi_le32(p);
			if (len < 0) {
				msi_pvm_halt(v, F_INVALID, "LONG4 at offset %llu declares a negative length (%d)",
					     (ull)at, len);
				break;
			}
			start = pos_of(v);
			if ((uint64_t)len > v->len - start) {
				msi_pvm_truncated(v, op, at);
			} else if ((uint64_t)len > v->lim.max_copy) {
				msi_pvm_seek(v, start + (uint64_t)len);
				cur = v->cur;
				push(v, msi_pvm_large_node(v, MSI_PV_BIGINT, op, (uint64_t)len, start));
			} else {
				TAKE((size_t)len);
				push(v, msi_pvm_long_node(v, op, p, (size_t)len, start));
			}
			break;
		}
		case 'F': { /* FLOAT */
			LINE(op);
			double d;
			if (lr == LINE_LARGE || !msi_pt_parse_float(p, (size_t)n, &v->locale, &d)) {
				char text[64];
				msi_pvm_halt(v, F_INVALID, "FLOAT at offset %llu: '%s' is not a float", (ull)at,
					     lr == LINE_LARGE ? "(too long)"
							      : msi_pvm_excerpt(p, (size_t)n, text, sizeof text));
				break;
			}
			if ((x = node(v, MSI_PV_FLOAT, op)))
				x->u.f = d;
			push(v, x);
			break;
		}

		/* ---- strings and bytes ---- */
		case 'S': { /* STRING: a quoted repr */
			LINE(op);
			if (lr == LINE_LARGE) {
				push(v, msi_pvm_large_node(v, MSI_PV_BYTES, op, n, start));
				break;
			}
			if (n < 2 || p[0] != p[n - 1] || (p[0] != '\'' && p[0] != '"')) {
				msi_pvm_halt(v, F_INVALID, "STRING at offset %llu: the argument is not quoted",
					     (ull)at);
				break;
			}
			bool ok;
			uint8_t *d = alloc(v, (size_t)n - 1);
			if (!d || !(x = node(v, MSI_PV_BYTES, op)))
				break;
			size_t m = msi_pt_unescape(p + 1, (size_t)n - 2, d, &ok);
			if (!ok)
				msi_pvm_finding(v, F_INVALID,
						"STRING at offset %llu: a bad \\x escape or a trailing backslash",
						(ull)at);
			d[m] = '\0';
			x->u.str.data = (const char *)d;
			x->u.str.len = m;
			x->u.str.offset = start;
			push(v, x);
			break;
		}
		case 'V': { /* UNICODE: raw-unicode-escape */
			LINE(op);
			if (lr == LINE_LARGE) {
				push(v, msi_pvm_large_node(v, MSI_PV_STR, op, n, start));
				break;
			}
			bool ok;
			uint8_t *d = alloc(v, 2 * (size_t)n + 1);
			if (!d || !(x = node(v, MSI_PV_STR, op)))
				break;
			size_t m = msi_pt_raw_unicode(p, (size_t)n, d, &ok);
			if (!ok)
				msi_pvm_finding(v, F_INVALID,
						"UNICODE at offset %llu: a truncated or out-of-range \\u escape",
						(ull)at);
			d[m] = '\0';
			x->u.str.data = (const char *)d;
			x->u.str.len = m;
			x->u.str.offset = start;
			push(v, x);
			break;
		}
		case 'T': { /* BINSTRING: a signed length */
			TAKE(4);
			int32_t len = (int32_t)msi_le32(p);
			if (len < 0) {
				msi_pvm_halt(v, F_INVALID, "BINSTRING at offset %llu declares a negative length (%d)",
					     (ull)at, len);
				break;
			}
			payload(v, op, at, (uint64_t)len, MSI_PV_BYTES);
			cur = v->cur;
			break;
		}
		case 'U': /* SHORT_BINSTRING */
		case 'C': /* SHORT_BINBYTES */
			TAKE(1);
			payload(v, op, at, p[0], MSI_PV_BYTES);
			cur = v->cur;
			break;
		case 'B': /* BINBYTES */
			TAKE(4);
			payload(v, op, at, msi_le32(p), MSI_PV_BYTES);
			cur = v->cur;
			break;
		case 0x8e: /* BINBYTES8 */
			TAKE(8);
			payload(v, op, at, msi_le64(p), MSI_PV_BYTES);
			cur = v->cur;
			break;
		case 0x8c: /* SHORT_BINUNICODE */
			TAKE(1);
			payload(v, op, at, p[0], MSI_PV_STR);
			cur = v->cur;
			break;
		case 'X': /* BINUNICODE */
			TAKE(4);
			payload(v, op, at, msi_le32(p), MSI_PV_STR);
			cur = v->cur;
			break;
		case 0x8d: /* BINUNICODE8 */
			TAKE(8);
			payload(v, op, at, msi_le64(p), MSI_PV_STR);
			cur = v->cur;
			break;
		case 0x96: /* BYTEARRAY8 */
			TAKE(8);
			payload(v, op, at, msi_le64(p), MSI_PV_BYTEARRAY);
			cur = v->cur;
			break;
		case 0x97: /* NEXT_BUFFER */
			push(v, node(v, MSI_PV_BUFFER, op));
			break;
		case 0x98: /* READONLY_BUFFER */
			NEED(1);
			x = v->stack[v->sp - 1];
			if (x->kind != MSI_PV_BUFFER && x->kind != MSI_PV_BYTES && x->kind != MSI_PV_BYTEARRAY &&
			    !opaque(x))
				msi_pvm_finding(v, F_TYPE,
						"READONLY_BUFFER at offset %llu applied to %s, which has no buffer",
						(ull)at, msi_pvm_kind_name(x));
			break;

		/* ---- containers ---- */
		case ']': /* EMPTY_LIST */
			push(v, node(v, MSI_PV_LIST, op));
			break;
		case ')': /* EMPTY_TUPLE */
			push(v, shared(v, &v->shared_tuple, MSI_PV_TUPLE, op, 0));
			break;
		case '}': /* EMPTY_DICT */
			push(v, node(v, MSI_PV_DICT, op));
			break;
		case 0x8f: /* EMPTY_SET */
			push(v, node(v, MSI_PV_SET, op));
			break;
		case 'l':  /* LIST */
		case 't':  /* TUPLE */
		case 0x91: /* FROZENSET */
			if (!(items = pop_mark(v, op, at, &k)))
				break;
			if (op == 0x91)
				msi_pvm_check_keys(v, op, at, items, k, 1);
			push(v, container(v,
					  op == 'l'   ? MSI_PV_LIST
					  : op == 't' ? MSI_PV_TUPLE
						      : MSI_PV_FROZENSET,
					  op, items, k));
			break;
		case 0x85: /* TUPLE1 */
		case 0x86: /* TUPLE2 */
		case 0x87: /* TUPLE3 */
			k = (size_t)(op - 0x84);
			NEED(k);
			v->sp -= k;
			push(v, container(v, MSI_PV_TUPLE, op, v->stack + v->sp, k));
			break;
		case 'd': /* DICT */
			if (!(items = pop_mark(v, op, at, &k)))
				break;
			if (k & 1) {
				msi_pvm_halt(v, F_UNDERFLOW,
					     "DICT at offset %llu finds an odd number (%zu) of objects above its MARK",
					     (ull)at, k);
				break;
			}
			msi_pvm_check_keys(v, op, at, items, k, 2);
			push(v, container(v, MSI_PV_DICT, op, items, k));
			break;
		case 'a': /* APPEND */
			NEED(2);
			v->sp--;
			msi_pvm_attach_items(v, op, at, v->stack[v->sp - 1], v->stack + v->sp, 1);
			break;
		case 'e':  /* APPENDS */
		case 0x90: /* ADDITEMS */
			if (!(items = pop_mark(v, op, at, &k)))
				break;
			NEED(1);
			msi_pvm_attach_items(v, op, at, v->stack[v->sp - 1], items, k);
			break;
		case 's': /* SETITEM */
			NEED(3);
			v->sp -= 2;
			msi_pvm_attach_pairs(v, op, at, v->stack[v->sp - 1], v->stack + v->sp, 2);
			break;
		case 'u': /* SETITEMS */
			if (!(items = pop_mark(v, op, at, &k)))
				break;
			if (k & 1) {
				msi_pvm_halt(
					v, F_UNDERFLOW,
					"SETITEMS at offset %llu finds an odd number (%zu) of objects above its MARK",
					(ull)at, k);
				break;
			}
			NEED(1);
			msi_pvm_attach_pairs(v, op, at, v->stack[v->sp - 1], items, k);
			break;

		/* ---- objects ---- */
		case 'c': { /* GLOBAL */
			const char *module, *name;
			bool odd = false;
			bool got = msi_pvm_global_lines(v, op, at, &module, &name, &odd);
			cur = v->cur;
			if (got)
				push(v, msi_pvm_global_node(v, op, at, module, name, odd));
			break;
		}
		case 0x93: { /* STACK_GLOBAL */
			NEED(2);
			y = v->stack[--v->sp];
			x = v->stack[--v->sp];
			if (x->kind != MSI_PV_STR || y->kind != MSI_PV_STR)
				msi_pvm_finding(v, F_TYPE, "STACK_GLOBAL at offset %llu needs two str, finds %s and %s",
						(ull)at, msi_pvm_kind_name(x), msi_pvm_kind_name(y));
			bool unresolved = false;
			const char *module = msi_pvm_static_name(x, &unresolved),
				   *name = msi_pvm_static_name(y, &unresolved);
			push(v, msi_pvm_global_node(v, op, at, module, name, unresolved));
			break;
		}
		case 'i': { /* INST: a GLOBAL, then a call with the MARK's objects */
			const char *module, *name;
			bool odd = false;
			bool got = msi_pvm_global_lines(v, op, at, &module, &name, &odd);
			cur = v->cur;
			if (!got || !(x = msi_pvm_global_node(v, op, at, module, name, odd)) ||
			    !(items = pop_mark(v, op, at, &k)))
				break;
			y = k ? container(v, MSI_PV_TUPLE, op, items, k) : NULL;
			if (!k || y)
				push(v, call_node(v, op, x, y, NULL));
			break;
		}
		case 'o': /* OBJ: the class and its arguments above a MARK */
			if (!(items = pop_mark(v, op, at, &k)))
				break;
			if (k == 0) {
				msi_pvm_halt(v, F_UNDERFLOW, "OBJ at offset %llu finds no class above its MARK",
					     (ull)at);
				break;
			}
			x = items[0];
			check_call(v, op, at, x, NULL, NULL);
			y = k > 1 ? container(v, MSI_PV_TUPLE, op, items + 1, k - 1) : NULL;
			if (k == 1 || y)
				push(v, call_node(v, op, x, y, NULL));
			break;
		case 'R':  /* REDUCE */
		case 0x81: /* NEWOBJ */
			NEED(2);
			y = v->stack[--v->sp];
			x = v->stack[--v->sp];
			check_call(v, op, at, x, y, NULL);
			push(v, call_node(v, op, x, y, NULL));
			break;
		case 0x92: /* NEWOBJ_EX */
			NEED(3);
			z = v->stack[--v->sp];
			y = v->stack[--v->sp];
			x = v->stack[--v->sp];
			check_call(v, op, at, x, y, z);
			push(v, call_node(v, op, x, y, z));
			break;
		case 'b': /* BUILD: state for an object (a global's attributes, at worst) */
			NEED(2);
			y = v->stack[--v->sp];
			x = v->stack[v->sp - 1];
			if (!callable_kind(x)) {
				msi_pvm_finding(v, F_TYPE,
						"BUILD at offset %llu sets the state of %s, not of an object", (ull)at,
						msi_pvm_kind_name(x));
				break;
			}
			x->state = y;
			x->builds++;
			add_child(v, x, y);
			break;
		case 'P': { /* PERSID: an ASCII line */
			LINE(op);
			if (lr == LINE_LARGE) {
				y = msi_pvm_large_node(v, MSI_PV_STR, op, n, start);
			} else {
				for (uint64_t i = 0; i < n; i++)
					if (p[i] >= 0x80) {
						msi_pvm_finding(v, F_INVALID,
								"PERSID at offset %llu: the id is not ASCII", (ull)at);
						break;
					}
				y = str_node(v, MSI_PV_STR, op, p, (size_t)n, start);
			}
			if (y && (x = node(v, MSI_PV_PERSID, op))) {
				x->u.persid = y;
				if (add_child(v, x, y))
					push(v, x);
			}
			break;
		}
		case 'Q': /* BINPERSID */
			NEED(1);
			y = v->stack[--v->sp];
			if ((x = node(v, MSI_PV_PERSID, op))) {
				x->u.persid = y;
				if (add_child(v, x, y))
					push(v, x);
			}
			break;
		case 0x82:   /* EXT1 */
		case 0x83:   /* EXT2 */
		case 0x84: { /* EXT4: a global from the loading process's copyreg registry */
			size_t w = op == 0x82 ? 1 : op == 0x83 ? 2 : 4;
			TAKE(w);
			int64_t code = w == 1 ? p[0] : w == 2 ? msi_le16(p) : (int32_t)msi_le32(p);
			if (code <= 0)
				msi_pvm_finding(v, F_INVALID,
						"%s at offset %llu names extension code %lld, which is not positive",
						msi_pvm_opname(op), (ull)at, (long long)code);
			if (!msi_pvm_record_global(v, op, at, "?", "?", true) || !(x = node(v, MSI_PV_EXT, op)))
				break;
			x->u.ext = (uint32_t)code;
			push(v, x);
			break;
		}

		/* ---- memo ---- */
		case 'p': { /* PUT */
			uint64_t key;
			bool known;
			bool got = msi_pvm_memo_index(v, op, at, &key, &known);
			cur = v->cur;
			if (got)
				msi_pvm_memo_put(v, op, at, key);
			break;
		}
		case 'q': /* BINPUT */
		case 'r': /* LONG_BINPUT */
			TAKE(op == 'q' ? 1 : 4);
			n = op == 'q' ? p[0] : msi_le32(p);
			/* the usual case inline: a new slot of the dense array */
			if (n < v->dense_init && !v->dense[n] && v->sp > v->floor && v->memo_count < v->lim.max_memo) {
				v->dense[n] = (uintptr_t)v->stack[v->sp - 1];
				v->memo_count++;
			} else {
				msi_pvm_memo_put(v, op, at, n);
			}
			break;
		case 0x94: /* MEMOIZE: the next index is the memo's length */
			msi_pvm_memo_put(v, op, at, v->memo_count);
			break;
		case 'g': { /* GET */
			uint64_t key;
			bool known;
			bool got = msi_pvm_memo_index(v, op, at, &key, &known);
			cur = v->cur;
			if (got)
				msi_pvm_memo_get(v, op, at, key, known);
			break;
		}
		case 'h': /* BINGET */
		case 'j': /* LONG_BINGET */
			TAKE(op == 'h' ? 1 : 4);
			n = op == 'h' ? p[0] : msi_le32(p);
			if (n < v->dense_init && v->dense[n] && !(v->dense[n] & MEMO_OVERWRITTEN))
				push(v, (msi_pv *)v->dense[n]);
			else
				msi_pvm_memo_get(v, op, at, n, true);
			break;
		default: /* not counted as executed */
			seen[op] = 0;
			ops--;
			msi_pvm_halt(v, F_UNKNOWN, "opcode 0x%02x at offset %llu is not a pickle opcode", op, (ull)at);
			break;
		}
next:
		/* pickle.py refuses an opcode that runs past the end of its frame */
		if (v->in_frame && pos_of(v) >= v->frame_end) {
			if (pos_of(v) > v->frame_end && at < v->frame_end && !v->stop)
				msi_pvm_finding(v, F_INVALID,
						"%s at offset %llu runs past the end of its frame at offset %llu",
						msi_pvm_opname(op), (ull)at, (ull)v->frame_end);
			v->in_frame = false;
		}
	}
	o->ops = ops;
	for (unsigned op = 0; op < 256; op++)
		if (seen[op])
			o->opcodes_seen[op >> 3] |= (uint8_t)(1u << (op & 7));
}

#undef LINE
#undef TAKE
#undef NEED

static void free_arena(pv_arena *a)
{
	if (!a)
		return;
	pvm_chunk *c = a->head;
	while (c) {
		pvm_chunk *next = c->next;
		msi_big_free(c, c->bytes);
		c = next;
	}
	msi_free(a);
}

void msi_pickle_free(msi_pickle *p)
{
	if (!p)
		return;
	free_arena(p->arena_);
	msi_free(p->globals);
	msi_free(p);
}

int msi_pickle_run(const msi_source *src, uint64_t off, uint64_t len, const msi_pickle_limits *limits,
		   bool trailing_is_error, ms_report *r, const char *where, msi_pickle **out)
{
	*out = NULL;
	vm v;
	memset(&v, 0, sizeof v);
	msi_pickle_limits lim = { 0 };
	if (limits)
		lim = *limits;
	v.lim.max_nodes = lim.max_nodes ? lim.max_nodes : DEF_MAX_NODES;
	v.lim.max_arena = lim.max_arena ? lim.max_arena : DEF_MAX_ARENA;
	v.lim.max_depth = lim.max_depth ? lim.max_depth : DEF_MAX_DEPTH;
	v.lim.max_memo = lim.max_memo ? lim.max_memo : DEF_MAX_MEMO;
	v.lim.max_copy = lim.max_copy ? lim.max_copy : DEF_MAX_COPY;
	v.lim.max_expansion = lim.max_expansion ? lim.max_expansion : DEF_MAX_EXPANSION;
	v.lim.max_stack = lim.max_stack ? lim.max_stack : DEF_MAX_STACK;
	if (v.lim.max_copy > SIZE_MAX / 4)
		v.lim.max_copy = SIZE_MAX / 4;
	if (v.lim.max_stack > SIZE_MAX / sizeof(msi_pv *))
		v.lim.max_stack = SIZE_MAX / sizeof(msi_pv *);
	v.nodes_left = v.lim.max_nodes;
	v.r = r;
	v.where = where;

	/* the stream: the given range, cut at the source's end */
	if (off > src->size)
		off = src->size;
	if (len > src->size - off)
		len = src->size - off;
	v.base = off;
	v.len = len;
	const uint8_t *mem = msi_source_memory(src);
	if (mem && len <= SIZE_MAX) {
		v.buf = v.cur = mem + off;
		v.wend = v.buf + len;
	} else {
		v.src = src;
	}

	v.out = msi_calloc(1, sizeof *v.out);
	v.ar = msi_calloc(1, sizeof *v.ar);
	v.stack = msi_malloc(STACK_INITIAL * sizeof *v.stack);
	if (!v.out || !v.ar || !v.stack) {
		msi_free(v.out);
		msi_free(v.ar);
		msi_free(v.stack);
		return msi_error(MS_ENOMEM, "out of memory running a pickle");
	}
	v.out->arena_ = v.ar;
	v.stack_cap = STACK_INITIAL;
	/* The first chunk is sized by the stream (a torch state dict makes ~10
	 * bytes of tree per byte of pickle): one or two chunks, not twenty. Its
	 * pages are touched only as they fill. */
	uint64_t first = (len < CHUNK_MAX / 2 ? len : CHUNK_MAX / 2) * 8; /* at most 32 MiB */
	if (first > v.lim.max_arena / 4)
		first = v.lim.max_arena / 4;
	v.ar->next = first > CHUNK_MIN ? (size_t)first : CHUNK_MIN;
	v.bytes = STACK_INITIAL * sizeof *v.stack;

	run(&v, trailing_is_error);

	if (!v.rc)
		msi_pvm_finish(&v); /* what the caps held back */
	v.out->failed = v.halted;
	v.out->nodes = v.lim.max_nodes - v.nodes_left;
	msi_free(v.stack);
	msi_free(v.marks);
	msi_free(v.memo);
	msi_big_free(v.dense, v.dense_cap * sizeof *v.dense);
	msi_free(v.win);
	msi_pt_locale_free(v.locale);
	if (v.rc) {
		msi_pickle_free(v.out);
		return v.rc == MS_ENOMEM ? msi_error(MS_ENOMEM, "out of memory running a pickle") : v.rc;
	}
	*out = v.out;
	return MS_OK;
}

/* ---- tree helpers ---- */

bool msi_pv_is_global(const msi_pv *v, const char *module, const char *name)
{
	if (v && v->kind == MSI_PV_CALL)
		v = v->u.call.callable;
	return v && v->kind == MSI_PV_GLOBAL && strcmp(v->u.global.module, module) == 0 &&
	       strcmp(v->u.global.name, name) == 0;
}

const msi_pv *msi_pv_dict_get(const msi_pv *v, const char *key)
{
	if (!v || (v->kind != MSI_PV_DICT && v->kind != MSI_PV_CALL))
		return NULL;
	size_t klen = strlen(key);
	/* the last SETITEM of a key wins, as in Python */
	for (size_t i = v->npairs; i-- > 0;) {
		const msi_pv *k = v->pairs[2 * i];
		if (k->kind == MSI_PV_STR && k->u.str.data && k->u.str.len == klen &&
		    memcmp(k->u.str.data, key, klen) == 0)
			return v->pairs[2 * i + 1];
	}
	return NULL;
}
