/*
 * libmodelstore — validation reports and their findings.
 *
 * A finding has a severity, a stable dotted code (e.g.
 * "zip.member.path_traversal"), a location inside the artifact and a
 * message. Codes are part of the API: they never change meaning, and every
 * code the library can emit is listed by ms_finding_code_count() /
 * ms_finding_code_get() (and in the README).
 */
#ifndef MODELSTORE_REPORT_H
#define MODELSTORE_REPORT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_report ms_report;

typedef enum ms_severity {
	MS_SEVERITY_INFO = 0,
	MS_SEVERITY_WARNING = 1,
	MS_SEVERITY_ERROR = 2
} ms_severity;

/* "info", "warning" or "error". */
MS_EXTERN const char *ms_severity_name(ms_severity severity);

/* 1 when the report has no finding of severity error, else 0. */
MS_EXTERN int ms_report_valid(const ms_report *report);
/* 1 when the report has no finding of severity warning or error. */
MS_EXTERN int ms_report_clean(const ms_report *report);
MS_EXTERN size_t ms_report_count(const ms_report *report);
/* Finding number `index`. Any out pointer may be NULL. The strings live as
 * long as the report. */
MS_EXTERN int ms_report_get(const ms_report *report, size_t index, ms_severity *severity,
                            const char **code, const char **where, const char **message);
/* The report as JSON: {"path","format","valid","findings":[{"severity",
 * "code","where","message"}]}. Release with ms_free(). */
MS_EXTERN int ms_report_json(const ms_report *report, char **json_out, size_t *len_out);
MS_EXTERN void ms_report_free(ms_report *report);

/* The table of every finding code the library can emit. */
MS_EXTERN size_t ms_finding_code_count(void);
MS_EXTERN int ms_finding_code_get(size_t index, const char **code, ms_severity *severity,
                                  const char **meaning);

#ifdef __cplusplus
}
#endif
#endif
