/*
 * The format table. A data format is one folder under lib/formats/ that
 * defines one `const msi_format` and is listed once in registry.c.
 *
 *   sniff     How sure (0..100) the bytes are of this format. Cheap: it sees
 *             only the first and last 64 KiB, the size, the member listing
 *             of a zip/tar/directory and the file name. 0 = not this format.
 *             Scores: 100 an unmistakable magic, 90 magic plus structure,
 *             60 a plausible structure without magic, 30 a weak hint.
 *   inspect   Writes facts: keys of the "model" object (already opened on
 *             out->model) and root keys such as inputs/outputs/parameters
 *             (out->root, an object already opened). May be NULL.
 *   validate  Adds findings to the report. May be NULL.
 */
#ifndef MSI_FORMATS_FORMAT_H
#define MSI_FORMATS_FORMAT_H

#include "../containers/container.h"
#include "../core/json.h"

/* What a format keeps on the artifact between calls: a parsed model that
 * inspect and validate both need is read once per handle. The format sets
 * all three fields; the artifact calls `free(state)` when it is freed. A
 * handle is never used by two threads at once (artifact.h), so no lock. */
typedef struct msi_format_cache {
	const void *owner;       /* the format that stored `state` (its msi_format) */
	void *state;
	void (*free)(void *state);
} msi_format_cache;

typedef struct msi_view {
	const char *name;        /* base name of the file, for tie-breaks; may be NULL */
	msi_source *src;         /* the payload bytes; NULL for a directory */
	uint64_t size;           /* of src, or a directory's total */
	const uint8_t *head;     /* first min(size, 64 KiB) bytes of src */
	size_t head_len;
	const uint8_t *tail;     /* last min(size, 64 KiB) bytes of src */
	size_t tail_len;
	msi_container *container; /* zip, tar or directory listing, or NULL */
	const char *hint;        /* data_format named by a serialzy header, or NULL */
	const msi_limits *limits;
	int dir_fd;              /* O_PATH descriptor of the directory holding the file opened by path
	                          * (or of the directory itself), for files a model names beside it
	                          * (ONNX external data); -1 for buffers and descriptors */
	const char *const *allow_globals; /* the caller's additions to the pickle allowlists */
	size_t allow_globals_count;      /* ("module.name" or "module.*", ms_artifact_allow_globals) */
	msi_format_cache *cache; /* the artifact's slot, or NULL: keep nothing */
} msi_view;

typedef struct msi_inspect_out {
	msi_json *model;         /* inside the "model" object */
	msi_json *root;          /* inside an object whose keys join the root */
} msi_inspect_out;

typedef struct msi_validate_ctx {
	ms_report *report;
	msi_progress *progress;
	bool quick;              /* MS_VALIDATE_QUICK: skip payload checksums */
} msi_validate_ctx;

typedef struct msi_format {
	const char *name;
	const char *description;
	bool is_model;
	int (*sniff)(const msi_view *v);
	int (*inspect)(const msi_view *v, msi_inspect_out *out);
	int (*validate)(const msi_view *v, msi_validate_ctx *ctx);
} msi_format;

#define MSI_SNIFF_WINDOW (64u * 1024u)

/* registry.c */
size_t msi_format_count(void);
const msi_format *msi_format_at(size_t i);
const msi_format *msi_format_by_name(const char *name);

/* Helpers shared by sniffers (sniff_util.c). */
bool msi_has_prefix(const uint8_t *p, size_t n, const void *prefix, size_t plen);
/* memmem over a window */
const uint8_t *msi_find(const uint8_t *hay, size_t n, const void *needle, size_t nlen);
/* true when `name` ends with `ext` (case-insensitive), e.g. ".onnx" */
bool msi_name_has_ext(const char *name, const char *ext);

/* Up to `len` bytes of the payload at `off`: from the head window when it
 * covers the range (no I/O), else through the source. Returns the count,
 * short at the end of the payload, 0 past it or on a read error (a sniffer
 * treats unreadable bytes as absent, never as a failure). */
size_t msi_view_read(const msi_view *v, uint64_t off, void *dst, size_t len);
/* Same for any source (a container entry). */
size_t msi_source_read_some(const msi_source *s, uint64_t off, void *dst, size_t len);

/* true when the bytes are text a human wrote: UTF-8 without C0 controls
 * other than tab, LF and CR. An empty run is text. A multi-byte character cut
 * by the end of the run is accepted (windows cut text anywhere). */
bool msi_is_text(const uint8_t *p, size_t n);

/* Walks the zip local file headers found from the start of a head window,
 * calling `fn` with each member name (not NUL-terminated) until it returns
 * false or the window ends. Used when no central directory can be read (a
 * truncated archive): members with a data descriptor (flag bit 3, sizes 0
 * in the local header, as PyTorch writes them) are stepped over by
 * searching for the next signature. At most 4096 headers. Returns the
 * number of names seen. */
typedef bool (*msi_zip_name_fn)(const char *name, size_t len, void *user);
size_t msi_zip_scan_local_names(const uint8_t *head, size_t n, msi_zip_name_fn fn, void *user);

/* An entry name without the leading "./" that tars made by
 * shutil.make_archive put before every member. */
const char *msi_entry_strip_dot(const char *name);
/* Base name (after the last '/') of an entry name. */
const char *msi_entry_base(const char *name);
/* The first (`tail` false) or last (`tail` true) min(size, cap) bytes of
 * container entry `index`, read into `dst`; deflated members larger than
 * 16 MiB are not inflated for a sniff (MS_ELIMIT). Unsafe entries are never
 * opened (MS_EFORMAT). */
int msi_container_read_window(msi_container *c, size_t index, bool tail, uint8_t *dst, size_t cap, size_t *got);

#endif
