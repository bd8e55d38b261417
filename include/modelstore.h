/*
 * libmodelstore — package, inspect and validate machine-learning model
 * artifacts. This umbrella header includes every public header.
 *
 * Quick start:
 *
 *     ms_artifact *a;
 *     char *json;
 *     if (ms_artifact_open_path(&a, "model.onnx", NULL) != MS_OK) {
 *         fprintf(stderr, "%s\n", ms_error_last());
 *         return 1;
 *     }
 *     if (ms_artifact_inspect(a, NULL, &json, NULL) >= MS_EFORMAT) ...
 *     puts(json);
 *     ms_free(json);
 *     ms_artifact_free(a);
 */
#ifndef MODELSTORE_H
#define MODELSTORE_H

#include "modelstore/common.h"
#include "modelstore/report.h"
#include "modelstore/artifact.h"
#include "modelstore/formats.h"
#include "modelstore/model.h"
#include "modelstore/stream.h"

#endif
