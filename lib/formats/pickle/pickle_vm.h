/*
 * The pickle engine: a symbolic pickle machine for protocols 0-5 that builds
 * an inert tree of what a pickle *would* build, and never imports or calls
 * anything. GLOBAL names stay strings, REDUCE/NEWOBJ/INST/OBJ become "call"
 * nodes, persistent ids become "persid" nodes. Consumers (PyTorch, plain
 * pickles) walk the tree for facts and judge the globals against an
 * allowlist (pickle_allow.h).
 *
 * Everything is bounded: the stream is read through a window over a source
 * (big BINBYTES/BINUNICODE payloads are recorded by offset, never copied),
 * and the stack, memo, node count, nesting depth and arena bytes are capped.
 * Memo and DUP references share nodes (the tree is a DAG, and may even be
 * cyclic: `l = []; l.append(l)`), so every node carries a saturating
 * estimate of its size once expanded, which exposes memo bombs. None, True,
 * False, BININT1's small ints and EMPTY_TUPLE's () are immutable and shared
 * too: one node each per stream.
 *
 * Problems with the stream itself are added to a report under pickle.* codes
 * with the caller's `where` (e.g. the archive member). Judging globals is
 * not the engine's business: it only records them.
 */
#ifndef MSI_FORMATS_PICKLE_VM_H
#define MSI_FORMATS_PICKLE_VM_H

#include <stddef.h>

#include "../format.h"

typedef enum msi_pv_kind {
	MSI_PV_NONE,
	MSI_PV_BOOL,
	MSI_PV_INT,      /* fits int64: u.i */
	MSI_PV_BIGINT,   /* LONG1/LONG4/LONG text beyond int64: u.str holds the raw little-endian bytes
	                  * (two's complement; the shortest form for text, whose data is NULL
	                  * with MSI_PV_STR_LARGE beyond 4,300 digits, Python's own limit) */
	MSI_PV_FLOAT,    /* u.f */
	MSI_PV_STR,      /* unicode: u.str (UTF-8 as found, not validated; UNICODE text decoded) */
	MSI_PV_BYTES,    /* bytes (and protocol 0-2 STRING/BINSTRING): u.str */
	MSI_PV_BYTEARRAY,/* BYTEARRAY8: u.str */
	MSI_PV_BUFFER,   /* NEXT_BUFFER / READONLY_BUFFER: out-of-band, no data */
	MSI_PV_TUPLE,    /* items */
	MSI_PV_LIST,     /* items */
	MSI_PV_DICT,     /* pairs */
	MSI_PV_SET,      /* items */
	MSI_PV_FROZENSET,/* items */
	MSI_PV_GLOBAL,   /* u.global (this kind and those after it are the ones BUILD applies to: msi_pv_bytes) */
	MSI_PV_CALL,     /* u.call: REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ; may gain items/pairs/state */
	MSI_PV_PERSID,   /* u.persid: PERSID / BINPERSID */
	MSI_PV_EXT,      /* EXT1/2/4: u.ext (the extension registry code) */
} msi_pv_kind;

/* msi_pickle_global.targeted */
#define MSI_PG_ITEMS 0x1u
#define MSI_PG_PAIRS 0x2u

/* msi_pv.flags */
#define MSI_PV_FROM_OVERWRITTEN_MEMO 0x1u /* fetched from a memo slot written more than once */
#define MSI_PV_STR_LARGE 0x2u             /* u.str.data is NULL: payload too big to copy, see offset
                                          * (a text line's len is its raw length, escapes undecoded) */
#define MSI_PV_GLOBAL_UNRESOLVED 0x4u     /* GLOBAL node whose module or name was not a plain string */

typedef struct msi_pv msi_pv;

/* A node is allocated only as far as its kind uses (msi_pv_bytes): most
 * nodes (scalars, strings, tuples, lists, sets) end after `items`, a DICT
 * after `pairs`, and only the kinds BUILD can apply to (GLOBAL, CALL,
 * PERSID, EXT) have `state` and `builds`. A state dict's tree is mostly
 * small nodes, and every byte of it is fresh memory. So: read `pairs` only
 * while npairs says there are some, and `state` through msi_pv_state(). */
struct msi_pv {
	uint8_t kind;   /* msi_pv_kind */
	uint8_t opcode; /* the opcode that made the node (REDUCE 'R', NEWOBJ 0x81, ...) */
	uint16_t flags; /* MSI_PV_* */
	uint32_t nitems, npairs;
	uint32_t depth; /* levels of nesting, this node included (1 for a leaf), as its children stood
	                 * when attached: at most max_depth, so a walk that follows no cycle and
	                 * no later mutation recurses no deeper */
	uint64_t size;  /* nodes in the fully expanded tree, saturating at UINT64_MAX */
	union {
		bool b;
		int64_t i;
		double f;
		struct {
			const char *data; /* NUL-terminated copy in the arena, or NULL when MSI_PV_STR_LARGE */
			uint64_t len;
			uint64_t offset;  /* where the payload starts in the stream */
		} str;
		struct {
			const char *module, *name; /* NUL-terminated; "?" when unresolved */
			uint32_t index;            /* into msi_pickle.globals */
		} global;
		struct {
			msi_pv *callable; /* usually a GLOBAL node (the class or function) */
			msi_pv *args;     /* usually a TUPLE; NULL for OBJ/INST with no args */
			msi_pv *kwargs;   /* NEWOBJ_EX only */
		} call;
		msi_pv *persid;       /* the persistent id object */
		uint32_t ext;
	} u;
	msi_pv **items;  /* TUPLE/LIST/SET/FROZENSET members; APPEND(S)/ADDITEMS targets (also on CALL) */
	/* DICT and the callable kinds only: */
	msi_pv **pairs;  /* DICT and SETITEM(S) targets: key0, value0, key1, value1, ... (2 * npairs) */
	/* GLOBAL, CALL, PERSID and EXT only: */
	msi_pv *state;   /* the last BUILD state applied to this node, or NULL */
	uint32_t builds; /* how many BUILDs were applied */
};

/* The bytes a node of `kind` has (see above). */
static inline size_t msi_pv_bytes(uint8_t kind)
{
	return kind >= MSI_PV_GLOBAL ? sizeof(msi_pv)
	       : kind == MSI_PV_DICT ? offsetof(msi_pv, state)
				     : offsetof(msi_pv, pairs);
}

/* The last BUILD state applied to v, or NULL. */
static inline const msi_pv *msi_pv_state(const msi_pv *v)
{
	return v->kind >= MSI_PV_GLOBAL ? v->state : NULL;
}

/* One GLOBAL, STACK_GLOBAL or INST occurrence, in stream order. */
typedef struct msi_pickle_global {
	const char *module, *name; /* NUL-terminated arena copies; "?" when unresolved */
	uint64_t offset;           /* opcode's offset in the stream */
	uint8_t opcode;            /* 'c' GLOBAL, 0x93 STACK_GLOBAL, 'i' INST; 0x82-0x84 EXT1/2/4 (a
	                            * copyreg registry code: "?" and "?", unresolved) */
	bool unresolved;           /* module or name not a string known statically
	                            * (computed, or from an overwritten memo slot) */
	uint8_t targeted;          /* MSI_PG_ITEMS / MSI_PG_PAIRS: a call of this global received
	                            * APPEND(S)/ADDITEMS or SETITEM(S), so consumers can judge
	                            * the targets without walking the tree */
} msi_pickle_global;

typedef struct msi_pickle_limits {
	uint64_t max_nodes;      /* tree nodes [4,000,000] */
	uint64_t max_arena;      /* arena bytes, copied strings included, and the stack and memo [256 MiB] */
	uint32_t max_depth;      /* MARK nesting, and objects nested in objects [10,000] */
	uint64_t max_memo;       /* memo slots [4,000,000] */
	uint64_t max_copy;       /* str/bytes payloads longer than this are not copied [1 MiB] */
	uint64_t max_expansion;  /* root's expanded size above max(this, 64 x stream bytes)
	                          * is a memo bomb [10,000,000] */
	uint64_t max_stack;      /* objects on the stack, all MARK frames together [1,000,000]:
	                          * a tuple is built on the stack, so a 50,000-item tuple needs
	                          * 50,000 entries while its MARK nesting is 1 */
} msi_pickle_limits;

typedef struct msi_pickle {
	msi_pv *root;          /* the object STOP returned; NULL when the stream never got there */
	int protocol;          /* PROTO's argument, 0 without PROTO */
	uint64_t end;          /* offset just after STOP (relative to the stream start) */
	uint64_t ops;          /* opcodes executed */
	uint64_t nodes;        /* nodes made */
	msi_pickle_global *globals;
	size_t nglobals;
	uint8_t opcodes_seen[32]; /* bitmap: bit (op & 7) of byte op >> 3 */
	bool call_target_unknown; /* items went to a call whose callable is no GLOBAL node */
	bool complete;         /* reached STOP with exactly one object on an empty MARK stack */
	bool failed;           /* stopped early: a stream error or a limit (findings say which) */
	void *arena_;          /* private */
} msi_pickle;

/* Runs the pickle that starts at `off` in `src` and may extend to
 * `off + len` (the member or file end). Reads through a window: a large
 * stream is never held whole. Findings (codes in codes.c):
 *   pickle.truncated        the bytes end before STOP
 *   pickle.opcode.unknown   a byte that is no opcode
 *   pickle.opcode.invalid   an argument that cannot be (bad text int/float/
 *                           string literal, negative length, proto > 5 ...)
 *   pickle.stack.underflow  pop from an empty stack or below the MARK
 *   pickle.stack.type       an opcode applied to the wrong kind of object
 *                           (APPEND to a non-list, SETITEM to a non-dict
 *                           other than a call result, STACK_GLOBAL ... )
 *   pickle.mark.unbalanced  MARK without its closing opcode, or the reverse
 *   pickle.memo.missing     GET of a memo slot never PUT
 *   pickle.memo.expansion   the expanded tree far beyond the stream's size
 *   pickle.limit            a cap of `limits` was hit (says which)
 *   pickle.trailing_data    bytes after STOP (only when `trailing_is_error`;
 *                           legacy torch.save concatenates pickles)
 *   pickle.stack.leftover   objects other than the result left on the stack
 *                           at STOP (pickle ignores them, pickletools refuses)
 * Returns MS_OK with *out set whenever the stream could be read (even with
 * findings: out->complete says whether it ended well), MS_ENOMEM or MS_EIO
 * otherwise. `limits` may be NULL for the defaults; fields left 0 take the
 * default. */
int msi_pickle_run(const msi_source *src, uint64_t off, uint64_t len, const msi_pickle_limits *limits,
                   bool trailing_is_error, ms_report *r, const char *where, msi_pickle **out);
void msi_pickle_free(msi_pickle *p);

/* True when bit `op` is set in p->opcodes_seen. */
static inline bool msi_pickle_saw(const msi_pickle *p, uint8_t op)
{
	return (p->opcodes_seen[op >> 3] >> (op & 7)) & 1u;
}

/* Small tree helpers for consumers (the two a tensor walk calls per tensor
 * inline). */
/* The GLOBAL a CALL node calls ("module", "name" out), false when the
 * callable is not a GLOBAL node. */
static inline bool msi_pv_call_target(const msi_pv *v, const char **module, const char **name)
{
	if (!v || v->kind != MSI_PV_CALL || !v->u.call.callable || v->u.call.callable->kind != MSI_PV_GLOBAL)
		return false;
	*module = v->u.call.callable->u.global.module;
	*name = v->u.call.callable->u.global.name;
	return true;
}
/* true when v is a GLOBAL or a CALL of a GLOBAL named module.name */
bool msi_pv_is_global(const msi_pv *v, const char *module, const char *name);
/* The i-th item of a TUPLE/LIST, or NULL. */
static inline const msi_pv *msi_pv_item(const msi_pv *v, size_t i)
{
	if (!v || (v->kind != MSI_PV_TUPLE && v->kind != MSI_PV_LIST) || i >= v->nitems)
		return NULL;
	return v->items[i];
}
/* The value for a STR key in a DICT or a CALL's pairs, or NULL. */
const msi_pv *msi_pv_dict_get(const msi_pv *v, const char *key);

#endif
