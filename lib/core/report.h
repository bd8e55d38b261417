/* Building validation reports (the public side is include/modelstore/report.h). */
#ifndef MSI_CORE_REPORT_H
#define MSI_CORE_REPORT_H

#include "internal.h"

typedef struct msi_finding {
	ms_severity severity;
	const char *code; /* static string from the code table */
	char *where;
	char *message;
} msi_finding;

struct ms_report {
	char *path;
	char *format;
	msi_finding *items;
	size_t count, cap;
	size_t max_findings; /* further findings are counted, not stored */
	size_t dropped;
	bool failed; /* an allocation failed */
};

ms_report *msi_report_new(const char *path, const char *format);
/* Adds a finding. `code` must be listed in codes.c: its severity comes from
 * the table, so a code always has one severity. `where` may be NULL. */
void msi_report_add(ms_report *r, const char *code, const char *where, const char *fmt, ...)
	MSI_PRINTF(4, 5);
/* The same with a va_list, for the formats' own finding helpers (which
 * count or cap findings before adding them). */
void msi_report_addv(ms_report *r, const char *code, const char *where, const char *fmt, va_list ap);
void msi_report_set_format(ms_report *r, const char *format);
/* Gives the findings stored from index `from` on the location `where`: for
 * a check that reports before its caller knows whether a location worth
 * formatting is needed (ONNX writes a node's location only on a finding). */
void msi_report_set_where(ms_report *r, size_t from, const char *where);
/* Number of findings of at least this severity. */
size_t msi_report_count_at_least(const ms_report *r, ms_severity s);

/* The table (codes.c). Returns the entry index or -1. */
typedef struct msi_code_info {
	const char *code;
	ms_severity severity;
	const char *meaning;
} msi_code_info;
const msi_code_info *msi_code_lookup(const char *code);
extern const msi_code_info msi_codes[];
extern const size_t msi_code_count;

#endif
