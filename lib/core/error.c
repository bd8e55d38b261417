/* Per-thread last error, versions, error names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Fixed-size per-thread storage: recording an error never allocates, so an
 * out-of-memory error can always be reported. */
static _Thread_local char t_message[1024];
static _Thread_local int t_code;

static int set_v(int code, int errnum, const char *fmt, va_list ap)
{
	int n = vsnprintf(t_message, sizeof t_message, fmt, ap);
	if (errnum != 0 && n >= 0 && (size_t)n < sizeof t_message)
		snprintf(t_message + n, sizeof t_message - (size_t)n, ": %s", strerror(errnum));
	t_code = code;
	return code;
}

int msi_error(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_v(code, 0, fmt, ap);
	va_end(ap);
	return code;
}

int msi_error_errno(int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_v(code, errnum, fmt, ap);
	va_end(ap);
	return code;
}

MS_EXTERN const char *ms_error_last(void)
{
	return t_message;
}

MS_EXTERN int ms_error_last_code(void)
{
	return t_code;
}

MS_EXTERN void ms_error_clear(void)
{
	t_message[0] = '\0';
	t_code = MS_OK;
}

MS_EXTERN const char *ms_strerror(int code)
{
	switch (code) {
	case MS_OK: return "success";
	case MS_ERROR: return "error";
	case MS_ENOMEM: return "out of memory";
	case MS_EINVAL: return "invalid argument";
	case MS_EIO: return "input/output error";
	case MS_EFORMAT: return "malformed or unrecognised input";
	case MS_ELIMIT: return "limit exceeded";
	case MS_ECANCELLED: return "cancelled";
	case MS_EUNSUPPORTED: return "unsupported feature";
	case MS_EMISUSE: return "library misuse";
	case MS_ENOTFOUND: return "not found";
	case MS_EVERSION: return "unsupported options version";
	case MS_ECHANGED: return "file changed while being read";
	default: return "unknown error code";
	}
}

MS_EXTERN int ms_version(void)
{
	return MS_VERSION_NUMBER;
}

MS_EXTERN const char *ms_version_string(void)
{
	return MS_VERSION_STRING;
}
