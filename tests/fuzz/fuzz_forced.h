/* The body shared by the fuzz targets that force one data format, so that
 * every input reaches that format's reader: open from memory with small
 * limits, inspect, validate, free. */
#ifndef FUZZ_FORCED_H
#define FUZZ_FORCED_H

#include <stddef.h>
#include <stdint.h>

#include "modelstore.h"

static inline int fuzz_forced_format(const char *format, const uint8_t *data, size_t size)
{
	ms_artifact *a = NULL;
	ms_open_options o = MS_OPEN_OPTIONS_INIT;
	o.format = format;
	o.max_metadata = 1 << 20;
	o.max_depth = 16;
	if (ms_artifact_open_buffer(&a, data, size, &o) != MS_OK)
		return 0;
	char *json = NULL;
	ms_artifact_inspect(a, NULL, &json, NULL);
	ms_free(json);
	ms_report *r = NULL;
	if (ms_artifact_validate(a, NULL, &r) == MS_OK)
		ms_report_free(r);
	ms_artifact_free(a);
	return 0;
}

#endif
