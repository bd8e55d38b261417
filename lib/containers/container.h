/*
 * Containers: what a model arrives in. A zip, a tar or a directory is parsed
 * once into a listing of entries, and the structural problems met while
 * parsing are kept as findings (container->findings), so that inspection and
 * validation share one parse. The serialzy frame is not a listing container:
 * it only narrows the source to its payload (serialzy.h).
 *
 * Entry names are '/'-separated and relative. Names that break the rules
 * (absolute, '..', backslash, NUL) stay in the listing, so formats can
 * still see them, but are flagged with `unsafe` and never opened.
 */
#ifndef MSI_CONTAINERS_CONTAINER_H
#define MSI_CONTAINERS_CONTAINER_H

#include <sys/types.h>

#include "../core/report.h"
#include "../io/source.h"

typedef enum msi_entry_type {
	MSI_ENTRY_FILE,
	MSI_ENTRY_DIR,
	MSI_ENTRY_SYMLINK,
	MSI_ENTRY_HARDLINK,
	MSI_ENTRY_OTHER /* device, FIFO, socket, unknown type flag */
} msi_entry_type;

typedef struct msi_entry {
	char *name;            /* NUL-terminated; a name with an embedded NUL is cut there and unsafe */
	msi_entry_type type;
	uint64_t size;         /* uncompressed size as declared */
	uint64_t data_offset;  /* zip/tar: where the (compressed) data starts in the source */
	uint64_t csize;        /* zip: compressed size; tar: = size */
	uint16_t method;       /* zip: 0 stored, 8 deflate */
	uint16_t flags;        /* zip: general purpose flags */
	uint32_t crc32;        /* zip: declared CRC-32 */
	char *link_target;     /* symlinks and hard links */
	bool unsafe;           /* a name or target rule was broken: never opened */
} msi_entry;

typedef struct msi_container msi_container;

typedef struct msi_container_ops {
	/* Opens entry `index` as a source. Stored data is a slice of the
	 * container's source (zero copy); deflated data is inflated into memory
	 * when its declared size is at most `max_size` (MS_ELIMIT otherwise). */
	int (*open_entry)(msi_container *c, size_t index, uint64_t max_size, msi_source **out);
	/* Verifies every checksum the container carries (zip CRC-32s), adding
	 * findings to `r`. Streams: memory does not grow with the entries. */
	int (*verify)(msi_container *c, ms_report *r, msi_progress *progress);
	void (*free_impl)(void *impl);
} msi_container_ops;

struct msi_container {
	const char *kind;      /* "zip", "tar" or "directory" */
	msi_entry *entries;
	size_t count;
	ms_report *findings;   /* structural findings from parsing */
	msi_source *src;       /* zip, tar: the bytes (a reference is held) */
	char *name_block;      /* zip: one msi_big_* block holding entry names (not freed one by one) */
	size_t name_block_len;
	size_t entries_bytes;  /* zip: entries is a msi_big_* block of this size; 0: msi_malloc'd */
	uint64_t total_size;   /* directory: sum of regular file sizes */
	const msi_container_ops *ops;
	void *impl;
};

/* Limits for parsing (from ms_open_options, defaults applied). */
typedef struct msi_limits {
	uint64_t max_members;
	uint64_t max_member_size;
	uint64_t max_header_size;
	uint32_t max_depth;
	uint64_t max_metadata;
} msi_limits;

/* Parsers. Each returns MS_OK with a container whenever the bytes are
 * recognisably of that kind (even if broken: the breakage is in
 * `findings`), MS_EFORMAT when they are not that kind at all, or another
 * negative code (MS_ENOMEM, MS_EIO, MS_ECHANGED) when parsing failed. */
int msi_zip_open(msi_source *src, const msi_limits *limits, msi_container **out);
int msi_tar_open(msi_source *src, const msi_limits *limits, msi_container **out);
int msi_dir_open(const char *path, const msi_limits *limits, msi_container **out);

/* Quick tests on the first bytes, used by detection before parsing. */
bool msi_zip_looks_like(const uint8_t *head, size_t head_len, const uint8_t *tail, size_t tail_len);
bool msi_tar_looks_like(const uint8_t *head, size_t head_len);

void msi_container_free(msi_container *c);
/* Index of the entry named exactly `name`, or -1. */
ssize_t msi_container_find(const msi_container *c, const char *name);
/* Index of the first file entry whose name is `suffix` or ends in
 * "/" + `suffix` (PyTorch archives sit under a random top folder), or -1. */
ssize_t msi_container_find_suffix(const msi_container *c, const char *suffix);

/* Shared member-name rules for zip and tar (names.c). Adds findings with
 * codes "<prefix>.member.absolute_path", ".path_traversal", ".backslash",
 * ".empty_name" and returns false when the name is unsafe. `len` is the raw
 * length (a NUL inside makes it unsafe; zip reports ".nul"). */
bool msi_name_check(ms_report *r, const char *prefix, const char *name, size_t len);

/* Adds a finding to a container's findings list (and marks it failed on OOM). */
#define msi_container_finding(c, ...) msi_report_add((c)->findings, __VA_ARGS__)

#endif
