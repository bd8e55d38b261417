/* Validation reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "report.h"

#define MSI_MAX_FINDINGS 10000

ms_report *msi_report_new(const char *path, const char *format)
{
	ms_report *r = msi_calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->path = msi_strdup(path ? path : "");
	r->format = format ? msi_strdup(format) : NULL;
	r->max_findings = MSI_MAX_FINDINGS;
	if (!r->path || (format && !r->format)) {
		ms_report_free(r);
		return NULL;
	}
	return r;
}

void msi_report_set_format(ms_report *r, const char *format)
{
	char *f = format ? msi_strdup(format) : NULL;
	if (format && !f) {
		r->failed = true;
		return;
	}
	msi_free(r->format);
	r->format = f;
}

static const msi_code_info unknown_code = { "internal.unknown_code", MS_SEVERITY_ERROR,
	                                    "the library emitted a code missing from its table (a bug)" };

void msi_report_addv(ms_report *r, const char *code, const char *where, const char *fmt, va_list ap)
{
	const msi_code_info *info = msi_code_lookup(code);
	if (!info) {
		/* Never silently emit an undocumented code. */
		info = &unknown_code;
	}
	if (r->count >= r->max_findings) {
		r->dropped++;
		return;
	}
	if (r->count == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 8;
		msi_finding *items = msi_reallocarray(r->items, ncap, sizeof *items);
		if (!items) {
			r->failed = true;
			return;
		}
		r->items = items;
		r->cap = ncap;
	}
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	msi_finding *f = &r->items[r->count];
	f->severity = info->severity;
	f->code = info->code;
	f->where = msi_strdup(where ? where : "");
	f->message = msi_strdup(msg);
	if (!f->where || !f->message) {
		msi_free(f->where);
		msi_free(f->message);
		r->failed = true;
		return;
	}
	r->count++;
}

void msi_report_add(ms_report *r, const char *code, const char *where, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	msi_report_addv(r, code, where, fmt, ap);
	va_end(ap);
}

size_t msi_report_count_at_least(const ms_report *r, ms_severity s)
{
	size_t n = 0;
	for (size_t i = 0; i < r->count; i++)
		n += r->items[i].severity >= s;
	return n;
}

MS_EXTERN const char *ms_severity_name(ms_severity severity)
{
	switch (severity) {
	case MS_SEVERITY_INFO: return "info";
	case MS_SEVERITY_WARNING: return "warning";
	case MS_SEVERITY_ERROR: return "error";
	}
	return "unknown";
}

MS_EXTERN int ms_report_valid(const ms_report *r)
{
	if (!r)
		return 0;
	return msi_report_count_at_least(r, MS_SEVERITY_ERROR) == 0;
}

MS_EXTERN int ms_report_clean(const ms_report *r)
{
	if (!r)
		return 0;
	return msi_report_count_at_least(r, MS_SEVERITY_WARNING) == 0;
}

MS_EXTERN size_t ms_report_count(const ms_report *r)
{
	return r ? r->count : 0;
}

MS_EXTERN int ms_report_get(const ms_report *r, size_t index, ms_severity *severity, const char **code,
                            const char **where, const char **message)
{
	if (!r)
		return msi_error(MS_EINVAL, "report is NULL");
	if (index >= r->count)
		return msi_error(MS_ENOTFOUND, "finding %zu does not exist (the report has %zu)", index, r->count);
	const msi_finding *f = &r->items[index];
	if (severity)
		*severity = f->severity;
	if (code)
		*code = f->code;
	if (where)
		*where = f->where;
	if (message)
		*message = f->message;
	return MS_OK;
}

MS_EXTERN int ms_report_json(const ms_report *r, char **json_out, size_t *len_out)
{
	if (!r || !json_out)
		return msi_error(MS_EINVAL, "report and json_out must not be NULL");
	*json_out = NULL;
	msi_buf b = MSI_BUF_INIT;
	msi_json j;
	msi_json_init(&j, &b, MSI_JSON_COMPACT);
	msi_json_object_begin(&j);
	msi_json_key(&j, "path");
	msi_json_string(&j, r->path);
	msi_json_key(&j, "format");
	msi_json_string(&j, r->format);
	msi_json_key(&j, "valid");
	msi_json_bool(&j, ms_report_valid(r));
	msi_json_key(&j, "findings");
	msi_json_array_begin(&j);
	for (size_t i = 0; i < r->count; i++) {
		const msi_finding *f = &r->items[i];
		msi_json_object_begin(&j);
		msi_json_key(&j, "severity");
		msi_json_string(&j, ms_severity_name(f->severity));
		msi_json_key(&j, "code");
		msi_json_string(&j, f->code);
		msi_json_key(&j, "where");
		msi_json_string(&j, f->where);
		msi_json_key(&j, "message");
		msi_json_string(&j, f->message);
		msi_json_object_end(&j);
	}
	msi_json_array_end(&j);
	if (r->dropped) {
		msi_json_key(&j, "findings_dropped");
		msi_json_uint(&j, r->dropped);
	}
	msi_json_object_end(&j);
	char *out = msi_buf_detach(&b, len_out);
	if (!out)
		return msi_error(MS_ENOMEM, "out of memory writing the report");
	*json_out = out;
	return MS_OK;
}

MS_EXTERN void ms_report_free(ms_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++) {
		msi_free(r->items[i].where);
		msi_free(r->items[i].message);
	}
	msi_free(r->items);
	msi_free(r->path);
	msi_free(r->format);
	msi_free(r);
}

const msi_code_info *msi_code_lookup(const char *code)
{
	/* A few hundred entries and findings are rare: a linear scan is enough. */
	for (size_t i = 0; i < msi_code_count; i++)
		if (strcmp(code, msi_codes[i].code) == 0)
			return &msi_codes[i];
	return NULL;
}

MS_EXTERN size_t ms_finding_code_count(void)
{
	return msi_code_count;
}

MS_EXTERN int ms_finding_code_get(size_t index, const char **code, ms_severity *severity, const char **meaning)
{
	if (index >= msi_code_count)
		return msi_error(MS_ENOTFOUND, "finding code %zu does not exist", index);
	if (code)
		*code = msi_codes[index].code;
	if (severity)
		*severity = msi_codes[index].severity;
	if (meaning)
		*meaning = msi_codes[index].meaning;
	return MS_OK;
}

void msi_report_set_where(ms_report *r, size_t from, const char *where)
{
	for (size_t i = from; i < r->count; i++) {
		char *w = msi_strdup(where ? where : "");
		if (!w) {
			r->failed = true;
			return;
		}
		msi_free(r->items[i].where);
		r->items[i].where = w;
	}
}
