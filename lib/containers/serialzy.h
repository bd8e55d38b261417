/*
 * The serialzy frame: "serialzy", u64 little-endian header length, a JSON
 * header {data_format, schema_format, schema_content, meta}, then the
 * payload to the end of the stream (../shared/spec/SERIALZY.md).
 */
#ifndef MSI_CONTAINERS_SERIALZY_H
#define MSI_CONTAINERS_SERIALZY_H

#include "../core/json.h"
#include "container.h"

#define MSI_SERIALZY_MAGIC "serialzy"
#define MSI_SERIALZY_MAGIC_LEN 8

typedef struct msi_serialzy {
	uint64_t header_len;     /* as declared */
	uint64_t payload_offset; /* 16 + header_len when the header is whole */
	bool header_whole;       /* the declared header fits in the stream */
	msi_jval *header;        /* parsed header, NULL when it did not parse */
	msi_jval *user_meta;     /* meta["user-meta"] parsed, or NULL */
	const char *data_format; /* header's data_format (inside `header`), or NULL */
	msi_jval *schema;        /* schema_content parsed, when it is JSON, or NULL */
	uint64_t stream_size;    /* the whole stream, header included */
	ms_report *findings;
} msi_serialzy;

bool msi_serialzy_looks_like(const uint8_t *head, size_t head_len);
/* Parses the frame at the start of `src`. MS_OK with findings for a broken
 * header; MS_EFORMAT when there is no magic; other errors for I/O/memory. */
int msi_serialzy_open(msi_source *src, const msi_limits *limits, msi_serialzy **out);
/* Writes the "serialzy" value of inspect: the header object with
 * schema_content and meta["user-meta"] replaced by their parsed values when
 * they parse, then header_length, payload_offset and payload_size. */
void msi_serialzy_write_json(const msi_serialzy *s, msi_json *j);
void msi_serialzy_free(msi_serialzy *s);

#endif
