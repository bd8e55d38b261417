/*
 * A bounded pickle opcode scanner for detection: it checks that bytes are a
 * plausible pickle stream (known opcodes, arguments inside the window, no
 * stack underflow, MARKs balanced) and reports the GLOBAL / STACK_GLOBAL
 * names it meets. It builds nothing and never imports or calls anything:
 * names are only byte ranges handed to a callback.
 */
#ifndef MSI_FORMATS_PICKLE_SCAN_H
#define MSI_FORMATS_PICKLE_SCAN_H

#include "../format.h"

typedef struct msi_pickle_info {
	int protocol;      /* PROTO's argument, or 0 when the stream has none */
	size_t ops;        /* opcodes read */
	size_t end;        /* offset just after STOP, when stopped */
	bool stopped;      /* STOP reached with an object to return */
	bool error;        /* an opcode that no pickle can have there */
	bool incomplete;   /* the bytes ran out (or a cap was hit) before STOP */
	bool aborted;      /* the callback asked to stop */
} msi_pickle_info;

/* Called for each GLOBAL, INST or STACK_GLOBAL whose module and name are
 * strings of the stream (not memo lookups the scanner cannot resolve).
 * Returning false stops the scan. */
typedef bool (*msi_pickle_global_fn)(const uint8_t *module, size_t mlen, const uint8_t *name, size_t nlen,
                                     void *user);

/* Scans the first pickle in p[0..n). `fn` may be NULL. */
void msi_pickle_scan(const uint8_t *p, size_t n, msi_pickle_global_fn fn, void *user, msi_pickle_info *out);

/* The pickle format's sniff score for a view (pickle.c): shared with the
 * scikit-learn format, which is a pickle naming particular classes. */
int msi_pickle_score(const msi_view *v, msi_pickle_info *info);

/* The plain-pickle side of the `pickle` and `skl` formats (pickle.c): the
 * engine's run over the whole file, its globals judged by the wider
 * MSI_PICKLE_PLAIN allowlist (validate), or listed (inspect: "globals"). */
int msi_pickle_validate_plain(const msi_view *v, msi_validate_ctx *ctx);
int msi_pickle_inspect_globals(const msi_view *v, msi_json *model);
/* "globals": the sorted unique module.name of resolved globals over the
 * pickles given (NULL entries skipped). */
struct msi_pickle;
int msi_pickle_write_globals(msi_json *j, const struct msi_pickle *const *pks, size_t count);

#endif
