/* The ms_artifact handle: one opened artifact with its containers peeled and
 * its format detected (open.c), described (inspect.c) and checked
 * (validate.c). */
#ifndef MSI_ARTIFACT_ARTIFACT_H
#define MSI_ARTIFACT_ARTIFACT_H

#include "../containers/serialzy.h"
#include "../formats/format.h"

#define MSI_MAX_CONTAINERS 4

struct ms_artifact {
	char *path;               /* as given, or the display path */
	char *base_name;          /* for extension tie-breaks */
	msi_limits limits;
	msi_source *root;         /* the whole file or buffer; NULL for a directory */
	msi_source *payload;      /* root, or the serialzy payload */
	msi_serialzy *serialzy;
	msi_container *container; /* zip, tar or directory */
	const char *containers[MSI_MAX_CONTAINERS];
	size_t ncontainers;
	const msi_format *format;
	bool format_forced;
	uint64_t size;
	uint8_t *head;            /* first bytes of the payload (MSI_SNIFF_WINDOW) */
	size_t head_len;
	uint8_t *tail;            /* last bytes of the payload */
	size_t tail_len;
	msi_view view;
	msi_format_cache cache;   /* the format's parsed model, shared by inspect and validate */
	ms_report *findings;      /* found while opening (empty file, ...) */
	int dir_fd;               /* the directory the file sits in (or the directory itself), or -1 */
	char **allow_globals;     /* ms_artifact_allow_globals patterns (view points here) */
	size_t allow_globals_count;
};

#endif
