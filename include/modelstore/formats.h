/*
 * libmodelstore — the data formats the library knows.
 */
#ifndef MODELSTORE_FORMATS_H
#define MODELSTORE_FORMATS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of known data formats. */
MS_EXTERN size_t ms_format_count(void);
/* Format number `index`: its name (e.g. "onnx"), a one-line description and
 * whether it is a model format (1) or another kind of file such as a plain
 * HDF5 file (0). Any out pointer may be NULL. */
MS_EXTERN int ms_format_get(size_t index, const char **name, const char **description,
                            int *is_model);

#ifdef __cplusplus
}
#endif
#endif
