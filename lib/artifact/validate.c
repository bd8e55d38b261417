/* ms_artifact_validate: container checks, then the format's own. */
#include <string.h>

#include "../package/package.h"
#include "artifact.h"

MS_EXTERN int ms_validate_options_init(ms_validate_options *opts, unsigned int version)
{
	if (!opts)
		return msi_error(MS_EINVAL, "opts is NULL");
	if (version < 1 || version > MS_VALIDATE_OPTIONS_VERSION)
		return msi_error(MS_EVERSION, "ms_validate_options version %u is not supported", version);
	ms_validate_options init = MS_VALIDATE_OPTIONS_INIT;
	*opts = init;
	opts->version = version;
	return MS_OK;
}

static void copy_findings(ms_report *to, const ms_report *from)
{
	if (!from)
		return;
	for (size_t i = 0; i < from->count; i++)
		msi_report_add(to, from->items[i].code, from->items[i].where, "%s", from->items[i].message);
	if (from->failed)
		to->failed = true;
}

/* Validation errors that stop the run (I/O, the file changed, a limit) are
 * findings too, so the caller always gets a report; only memory exhaustion
 * and cancellation fail the call. */
static int as_finding(ms_report *r, int rc)
{
	if (rc == MS_OK || rc == MS_ENOMEM || rc == MS_ECANCELLED)
		return rc;
	if (rc == MS_ELIMIT)
		msi_report_add(r, "artifact.limit", "", "%s", ms_error_last());
	else
		msi_report_add(r, "artifact.read_error", "", "%s", ms_error_last());
	return MS_OK;
}

/* The frame's own findings, its data_format against the payload's, and the
 * model resource it carries (package/check.c). */
static int check_serialzy(ms_artifact *a, msi_validate_ctx *ctx)
{
	ms_report *r = ctx->report;
	copy_findings(r, a->serialzy->findings);
	const char *df = a->serialzy->data_format;
	if (df && !msi_format_by_name(df))
		msi_report_add(r, "serialzy.format.unknown", "serialzy header: data_format",
		               "data_format '%.100s' is not a format this library knows", df);
	else if (df && a->format && !a->format_forced && strcmp(df, a->format->name) != 0)
		msi_report_add(r, "serialzy.format.mismatch", "serialzy header: data_format",
		               "the header says '%.100s' but the payload is %s", df, a->format->name);
	return as_finding(r, msi_model_check_stream(a, ctx));
}

MS_EXTERN int ms_artifact_validate(ms_artifact *a, const ms_validate_options *opts, ms_report **report_out)
{
	if (!a || !report_out)
		return msi_error(MS_EINVAL, "artifact and report_out must not be NULL");
	*report_out = NULL;
	msi_validate_ctx ctx = { 0 };
	msi_progress progress = { 0 };
	if (opts) {
		if (opts->version < 1 || opts->version > MS_VALIDATE_OPTIONS_VERSION)
			return msi_error(MS_EVERSION, "ms_validate_options version %u is not supported", opts->version);
		ctx.quick = (opts->flags & MS_VALIDATE_QUICK) != 0;
		progress.fn = opts->progress;
		progress.user = opts->progress_user;
	}
	progress.total = a->size;
	ms_report *r = msi_report_new(a->path, a->format ? a->format->name : NULL);
	if (!r)
		return msi_error(MS_ENOMEM, "out of memory");
	ctx.report = r;
	ctx.progress = &progress;

	copy_findings(r, a->findings);
	int rc = a->serialzy ? check_serialzy(a, &ctx) : MS_OK;
	if (rc == MS_OK && a->container) {
		copy_findings(r, a->container->findings);
		if (!ctx.quick && a->container->ops && a->container->ops->verify)
			rc = as_finding(r, a->container->ops->verify(a->container, r, &progress));
	}
	if (rc == MS_OK) {
		if (!a->format) {
			if (!(a->root && a->root->size == 0))
				msi_report_add(r, "artifact.format.unknown", "",
				               "no known model format was recognised (containers: %s%s%s)",
				               a->ncontainers ? a->containers[0] : "none",
				               a->ncontainers > 1 ? ", " : "", a->ncontainers > 1 ? a->containers[1] : "");
		} else {
			if (!a->format->is_model)
				msi_report_add(r, "artifact.format.not_model", "",
				               "the artifact is a %s file (%s), not a model", a->format->name,
				               a->format->description);
			if (a->format->validate)
				rc = as_finding(r, a->format->validate(&a->view, &ctx));
		}
	}
	/* Not every byte is streamed (headers are parsed, quick mode skips
	 * payloads): a finished validation ends at the total all the same. */
	if (rc == MS_OK && progress.done < progress.total)
		rc = msi_progress_add(&progress, progress.total - progress.done);
	if (rc == MS_OK && r->failed)
		rc = msi_error(MS_ENOMEM, "out of memory");
	if (rc != MS_OK) {
		ms_report_free(r);
		return rc;
	}
	*report_out = r;
	return MS_OK;
}
