/*
 * Helpers shared by the container unit tests: manifests written by the
 * fixture generators (JSON), finding checks, digests of sources.
 */
#ifndef MSI_TEST_UTIL_H
#define MSI_TEST_UTIL_H

#include "containers/container.h"
#include "core/json.h"
#include "core/report.h"

/* The library's default limits (ms_open_options with every field 0). */
msi_limits default_limits(void);
/* Parses a JSON file (NULL when missing or malformed); free with msi_jval_free. */
msi_jval *load_json(const char *path);
/* Typed members of a JSON object, with a default when absent. */
const char *jstr(const msi_jval *o, const char *key);
uint64_t jnum(const msi_jval *o, const char *key, uint64_t dflt);
bool jbool(const msi_jval *o, const char *key);
/* "file", "dir", "symlink", "hardlink" or "other", as the generators write. */
const char *type_name(msi_entry_type t);
bool has_code(const ms_report *r, const char *code);
/* The distinct codes of `r` must be exactly the strings of `want`; prints
 * what differs, prefixed by `what`. */
bool codes_match(const ms_report *r, const msi_jval *want, const char *what);
/* Lowercase hex SHA-256 of a whole source. */
bool source_sha256(msi_source *s, char hex[65]);

#endif
