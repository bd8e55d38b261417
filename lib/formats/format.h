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

#endif
