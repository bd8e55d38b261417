/*
 * The pickle opcode scanner (pickle_scan.h). It follows CPython's
 * Lib/pickletools.py opcode table as documented in FORMATS.md §5.3: each
 * opcode's argument is decoded and bounds-checked, and the stack is tracked
 * only as far as needed to catch what random bytes and text do (pop from an
 * empty stack, close a MARK that was never opened). Strings pushed by the
 * stream are remembered (pointer and length into the window) so that
 * STACK_GLOBAL's module and name can be reported, also through the memo.
 */
#include <string.h>

#include "pickle_scan.h"

#define STACK_CAP 512     /* nesting this deep stops the scan, inconclusive */
#define MEMO_CAP 256      /* memo slots remembered; later ones push unknowns */
#define MAX_OPS 1000000u  /* bounded work even for a 64 KiB window of 1-byte ops */

enum { SLOT_MARK = 1, SLOT_OBJ, SLOT_STR };

typedef struct slot {
	uint8_t kind;
	const uint8_t *s; /* SLOT_STR: bytes inside the window */
	size_t len;
} slot;

typedef struct scan {
	const uint8_t *p;
	size_t n, pos;
	slot st[STACK_CAP];
	size_t depth;
	size_t marks[STACK_CAP]; /* stack indices of the MARKs, so that finding
	                          * the topmost one costs nothing */
	size_t nmarks;
	slot memo[MEMO_CAP];
	uint64_t memo_next; /* MEMOIZE's next index */
	msi_pickle_info *info;
} scan;

typedef enum { STEP_OK, STEP_STOP, STEP_ERROR, STEP_SHORT } step;

/* Objects above the topmost MARK (pops never reach below it). */
static size_t above_mark(const scan *s)
{
	return s->nmarks ? s->depth - s->marks[s->nmarks - 1] - 1 : s->depth;
}

static step push(scan *s, uint8_t kind, const uint8_t *str, size_t len)
{
	if (s->depth >= STACK_CAP)
		return STEP_SHORT; /* deeper than we track: no verdict */
	if (kind == SLOT_MARK)
		s->marks[s->nmarks++] = s->depth;
	slot sl = { kind, str, len };
	s->st[s->depth++] = sl;
	return STEP_OK;
}

/* Pops `k` objects that sit above the topmost MARK. */
static bool pop(scan *s, size_t k)
{
	if (above_mark(s) < k)
		return false;
	s->depth -= k;
	return true;
}

/* Pops everything above the topmost MARK and the MARK itself; returns the
 * count of objects popped, or -1 without a MARK. */
static long pop_mark(scan *s)
{
	if (!s->nmarks)
		return -1;
	size_t k = above_mark(s);
	s->depth = s->marks[--s->nmarks];
	return (long)k;
}

/* Argument of `len` bytes at the current position. */
static const uint8_t *arg(scan *s, size_t len)
{
	if (s->n - s->pos < len)
		return NULL;
	const uint8_t *a = s->p + s->pos;
	s->pos += len;
	return a;
}

/* A text-protocol argument: the bytes up to '\n' (which is consumed). */
static const uint8_t *line(scan *s, size_t *len)
{
	const uint8_t *start = s->p + s->pos;
	const uint8_t *nl = memchr(start, '\n', s->n - s->pos);
	if (!nl)
		return NULL;
	*len = (size_t)(nl - start);
	s->pos += *len + 1;
	return start;
}

static bool all_of(const uint8_t *p, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!p[i] || !strchr(set, p[i]))
			return false;
	return true;
}

/* A dotted Python identifier, as GLOBAL's module and name lines hold. */
static bool ident_ok(const uint8_t *p, size_t n)
{
	if (n == 0 || n > 1024)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '.'))
			return false;
	}
	return !(p[0] >= '0' && p[0] <= '9');
}

static bool int_line_ok(const uint8_t *p, size_t n, bool long_suffix)
{
	if (long_suffix && n > 0 && p[n - 1] == 'L')
		n--;
	if (n > 0 && (p[0] == '-' || p[0] == '+')) {
		p++;
		n--;
	}
	return n > 0 && all_of(p, n, "0123456789");
}

static step global(scan *s, const uint8_t *m, size_t ml, const uint8_t *nm, size_t nl, msi_pickle_global_fn fn,
                   void *user)
{
	if (fn && !fn(m, ml, nm, nl, user)) {
		s->info->aborted = true;
		return STEP_STOP;
	}
	return STEP_OK;
}

static step memo_put(scan *s, uint64_t idx)
{
	if (above_mark(s) < 1)
		return STEP_ERROR;
	if (idx < MEMO_CAP)
		s->memo[idx] = s->st[s->depth - 1];
	return STEP_OK;
}

static step memo_get(scan *s, uint64_t idx)
{
	if (idx < MEMO_CAP && s->memo[idx].kind)
		return push(s, s->memo[idx].kind, s->memo[idx].s, s->memo[idx].len);
	return push(s, SLOT_OBJ, NULL, 0); /* unknown to us, maybe valid */
}

/* A length-prefixed argument of `width` bytes (1, 4 or 8, little-endian). */
static step counted(scan *s, size_t width, bool is_signed, uint8_t kind)
{
	const uint8_t *a = arg(s, width);
	if (!a)
		return STEP_SHORT;
	uint64_t len = width == 1 ? a[0] : width == 4 ? msi_le32(a) : msi_le64(a);
	if (is_signed && width == 4 && len > INT32_MAX)
		return STEP_ERROR;
	const uint8_t *data = len <= s->n - s->pos ? arg(s, (size_t)len) : NULL;
	if (!data)
		return STEP_SHORT;
	return push(s, kind, kind == SLOT_STR ? data : NULL, kind == SLOT_STR ? (size_t)len : 0);
}

static step one_op(scan *s, msi_pickle_global_fn fn, void *user)
{
	const uint8_t *a;
	size_t len, len2;
	long k;
	uint8_t op = s->p[s->pos++];
	/* Without a PROTO header only protocols 0 and 1 are possible, and their
	 * opcodes are all ASCII. */
	if (op >= 0x80 && s->info->protocol < 2 && !(op == 0x80 && s->info->ops == 0))
		return STEP_ERROR;
	switch (op) {
	case '(': return push(s, SLOT_MARK, NULL, 0);
	case '.':
		if (above_mark(s) < 1)
			return STEP_ERROR;
		return STEP_STOP;
	case '0':
		if (pop(s, 1))
			return STEP_OK;
		return pop_mark(s) == 0 ? STEP_OK : STEP_ERROR;
	case '1': return pop_mark(s) >= 0 ? STEP_OK : STEP_ERROR;
	case '2':
		if (above_mark(s) < 1)
			return STEP_ERROR;
		return push(s, s->st[s->depth - 1].kind, s->st[s->depth - 1].s, s->st[s->depth - 1].len);
	case 'F':
		if (!(a = line(s, &len)))
			return STEP_SHORT;
		if (len == 0 || !all_of(a, len, "0123456789+-.eEinfatyINFATY"))
			return STEP_ERROR;
		return push(s, SLOT_OBJ, NULL, 0);
	case 'I':
		if (!(a = line(s, &len)))
			return STEP_SHORT;
		if (!int_line_ok(a, len, false))
			return STEP_ERROR;
		return push(s, SLOT_OBJ, NULL, 0);
	case 'L':
		if (!(a = line(s, &len)))
			return STEP_SHORT;
		if (!int_line_ok(a, len, true))
			return STEP_ERROR;
		return push(s, SLOT_OBJ, NULL, 0);
	case 'J': return arg(s, 4) ? push(s, SLOT_OBJ, NULL, 0) : STEP_SHORT;
	case 'K': return arg(s, 1) ? push(s, SLOT_OBJ, NULL, 0) : STEP_SHORT;
	case 'M': return arg(s, 2) ? push(s, SLOT_OBJ, NULL, 0) : STEP_SHORT;
	case 'G': return arg(s, 8) ? push(s, SLOT_OBJ, NULL, 0) : STEP_SHORT;
	case 'N': return push(s, SLOT_OBJ, NULL, 0);
	case 'P':
		if (!(a = line(s, &len)))
			return STEP_SHORT;
		if (!msi_is_text(a, len))
			return STEP_ERROR;
		return push(s, SLOT_OBJ, NULL, 0);
	case 'Q': return pop(s, 1) ? push(s, SLOT_OBJ, NULL, 0) : STEP_ERROR;
	case 'R': return pop(s, 2) ? push(s, SLOT_OBJ, NULL, 0) : STEP_ERROR;
	case 'S':
		if (!(a = line(s, &len)))
			return STEP_SHORT;
		if (len < 2 || (a[0] != '\'' && a[0] != '"') || a[len - 1] != a[0])
			return STEP_ERROR;
		return push(s, SLOT_STR, a + 1, len - 2);
	case 'V':
		if (!(a = line(s, &len)))
			return STEP_SHORT;
		return push(s, SLOT_STR, a, len);
	case 'T': return counted(s, 4, true, SLOT_STR);
	case 'U': return counted(s, 1, false, SLOT_STR);
	case 'X': return counted(s, 4, false, SLOT_STR);
	case 'B': return counted(s, 4, false, SLOT_OBJ);
	case 'C': return counted(s, 1, false, SLOT_OBJ);
	case 'a': return above_mark(s) >= 2 && pop(s, 1) ? STEP_OK : STEP_ERROR;
	case 'b': return above_mark(s) >= 2 && pop(s, 1) ? STEP_OK : STEP_ERROR;
	case 's': return above_mark(s) >= 3 && pop(s, 2) ? STEP_OK : STEP_ERROR;
	case 'c':
	case 'i': {
		const uint8_t *m = line(s, &len);
		const uint8_t *nm = m ? line(s, &len2) : NULL;
		if (!nm)
			return STEP_SHORT;
		if (!ident_ok(m, len) || !ident_ok(nm, len2))
			return STEP_ERROR;
		if (op == 'i' && pop_mark(s) < 0)
			return STEP_ERROR;
		step r = global(s, m, len, nm, len2, fn, user);
		return r == STEP_OK ? push(s, SLOT_OBJ, NULL, 0) : r;
	}
	case 'd':
		k = pop_mark(s);
		if (k < 0 || k % 2)
			return STEP_ERROR;
		return push(s, SLOT_OBJ, NULL, 0);
	case 'l':
	case 't':
	case 0x91: /* FROZENSET */
		return pop_mark(s) >= 0 ? push(s, SLOT_OBJ, NULL, 0) : STEP_ERROR;
	case 'o':
		return pop_mark(s) >= 1 ? push(s, SLOT_OBJ, NULL, 0) : STEP_ERROR;
	case 'e':
	case 0x90: /* ADDITEMS */
		return pop_mark(s) >= 0 && above_mark(s) >= 1 ? STEP_OK : STEP_ERROR;
	case 'u':
		k = pop_mark(s);
		return k >= 0 && k % 2 == 0 && above_mark(s) >= 1 ? STEP_OK : STEP_ERROR;
	case '}':
	case ']':
	case ')':
	case 0x88: /* NEWTRUE */
	case 0x89: /* NEWFALSE */
	case 0x8F: /* EMPTY_SET */
	case 0x97: /* NEXT_BUFFER */
		return push(s, SLOT_OBJ, NULL, 0);
	case 'g':
	case 'p':
		if (!(a = line(s, &len)))
			return STEP_SHORT;
		if (len == 0 || len > 18 || !all_of(a, len, "0123456789"))
			return STEP_ERROR;
		{
			uint64_t idx = 0;
			for (size_t i = 0; i < len; i++)
				idx = idx * 10 + (uint64_t)(a[i] - '0');
			return op == 'g' ? memo_get(s, idx) : memo_put(s, idx);
		}
	case 'h': return (a = arg(s, 1)) ? memo_get(s, a[0]) : STEP_SHORT;
	case 'j': return (a = arg(s, 4)) ? memo_get(s, msi_le32(a)) : STEP_SHORT;
	case 'q': return (a = arg(s, 1)) ? memo_put(s, a[0]) : STEP_SHORT;
	case 'r': return (a = arg(s, 4)) ? memo_put(s, msi_le32(a)) : STEP_SHORT;
	case 0x80: /* PROTO */
		if (!(a = arg(s, 1)))
			return STEP_SHORT;
		if (a[0] > 5)
			return STEP_ERROR;
		if (s->info->ops == 0)
			s->info->protocol = a[0];
		return STEP_OK;
	case 0x81: return pop(s, 2) ? push(s, SLOT_OBJ, NULL, 0) : STEP_ERROR;      /* NEWOBJ */
	case 0x92: return pop(s, 3) ? push(s, SLOT_OBJ, NULL, 0) : STEP_ERROR;      /* NEWOBJ_EX */
	case 0x82: return arg(s, 1) ? push(s, SLOT_OBJ, NULL, 0) : STEP_SHORT;      /* EXT1 */
	case 0x83: return arg(s, 2) ? push(s, SLOT_OBJ, NULL, 0) : STEP_SHORT;      /* EXT2 */
	case 0x84: return arg(s, 4) ? push(s, SLOT_OBJ, NULL, 0) : STEP_SHORT;      /* EXT4 */
	case 0x85: return pop(s, 1) ? push(s, SLOT_OBJ, NULL, 0) : STEP_ERROR;      /* TUPLE1 */
	case 0x86: return pop(s, 2) ? push(s, SLOT_OBJ, NULL, 0) : STEP_ERROR;      /* TUPLE2 */
	case 0x87: return pop(s, 3) ? push(s, SLOT_OBJ, NULL, 0) : STEP_ERROR;      /* TUPLE3 */
	case 0x8A: return counted(s, 1, false, SLOT_OBJ);                           /* LONG1 */
	case 0x8B: return counted(s, 4, true, SLOT_OBJ);                            /* LONG4 */
	case 0x8C: return counted(s, 1, false, SLOT_STR);                           /* SHORT_BINUNICODE */
	case 0x8D: return counted(s, 8, false, SLOT_STR);                           /* BINUNICODE8 */
	case 0x8E: return counted(s, 8, false, SLOT_OBJ);                           /* BINBYTES8 */
	case 0x96: return counted(s, 8, false, SLOT_OBJ);                           /* BYTEARRAY8 */
	case 0x93: {                                                                /* STACK_GLOBAL */
		if (above_mark(s) < 2)
			return STEP_ERROR;
		slot m = s->st[s->depth - 2], nm = s->st[s->depth - 1];
		s->depth -= 2;
		if (m.kind == SLOT_STR && nm.kind == SLOT_STR) {
			step r = global(s, m.s, m.len, nm.s, nm.len, fn, user);
			if (r != STEP_OK)
				return r;
		}
		return push(s, SLOT_OBJ, NULL, 0);
	}
	case 0x94: /* MEMOIZE */
		return memo_put(s, s->memo_next++);
	case 0x95: /* FRAME: a length hint only */
		return arg(s, 8) ? STEP_OK : STEP_SHORT;
	case 0x98: /* READONLY_BUFFER */
		return above_mark(s) >= 1 ? STEP_OK : STEP_ERROR;
	default:
		return STEP_ERROR;
	}
}

void msi_pickle_scan(const uint8_t *p, size_t n, msi_pickle_global_fn fn, void *user, msi_pickle_info *out)
{
	memset(out, 0, sizeof *out);
	scan *s = msi_calloc(1, sizeof *s);
	if (!s) {
		out->incomplete = true; /* no verdict */
		return;
	}
	s->p = p;
	s->n = n;
	s->info = out;
	for (;;) {
		if (s->pos >= n || out->ops >= MAX_OPS) {
			out->incomplete = true;
			break;
		}
		step r = one_op(s, fn, user);
		if (r == STEP_SHORT) {
			out->incomplete = true;
			break;
		}
		if (r == STEP_ERROR) {
			out->error = true;
			break;
		}
		out->ops++;
		if (r == STEP_STOP) {
			if (!out->aborted) {
				out->stopped = true;
				out->end = s->pos;
			}
			break;
		}
	}
	msi_free(s);
}
