/*
 * libmodelstore — the model resource: the metadata a packed model carries.
 *
 * A model resource names a trained variable saved as a model: its name, the
 * notebook and variable it came from, the user who created it, the UTC
 * creation time, the size and SHA-256 of the payload, a description and
 * tags. ms_pack_path() (stream.h) stores it in the serialzy header as
 * meta["user-meta"], the JSON text of json.dumps() of an object with
 * exactly these keys, in this order, null where unknown:
 *
 *     name, notebook, variable, user, created_at, size, sha256,
 *     description, tags
 *
 * `created_at` is "YYYY-MM-DDTHH:MM:SSZ" (UTC), `size` a number of bytes,
 * `sha256` 64 lowercase hex digits and `tags` a list of strings.
 *
 * Setters store what they are given; ms_model_validate() says what is
 * wrong with it (and ms_pack_path() refuses a model that is not valid).
 */
#ifndef MODELSTORE_MODEL_H
#define MODELSTORE_MODEL_H

#include "common.h"
#include "report.h"
#include "artifact.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_model ms_model;

/* A new model resource with every field null and no tags. */
MS_EXTERN int ms_model_new(ms_model **out);
/* A copy of `model`. */
MS_EXTERN int ms_model_dup(ms_model **out, const ms_model *model);
/* Releases a model resource; NULL is ignored. */
MS_EXTERN void ms_model_free(ms_model *model);

/* Sets a text field: "name", "notebook", "variable", "user", "created_at",
 * "sha256" or "description" (the JSON key). `value` is copied; NULL makes
 * the field null. MS_ENOTFOUND for another field name ("size" and "tags"
 * have their own functions). */
MS_EXTERN int ms_model_set(ms_model *model, const char *field, const char *value);
/* Gets a text field: *value_out is the NUL-terminated value, or NULL when
 * the field is null; *len_out (when not NULL) its length in bytes (a value
 * read from JSON may hold "\u0000"). The pointer lives until the field is
 * changed or the model freed. MS_ENOTFOUND for an unknown field name. */
MS_EXTERN int ms_model_get(const ms_model *model, const char *field, const char **value_out,
                           size_t *len_out);
/* Sets "created_at" from a POSIX time (seconds since 1970, UTC). */
MS_EXTERN int ms_model_set_created_at(ms_model *model, int64_t unix_seconds);
/* Sets "size", the payload's size in bytes. */
MS_EXTERN int ms_model_set_size(ms_model *model, uint64_t size);
/* Gets "size": MS_OK with *size_out, or MS_ENOTFOUND when it is null. */
MS_EXTERN int ms_model_get_size(const ms_model *model, uint64_t *size_out);
/* Makes any field null again ("tags": the empty list). MS_ENOTFOUND for an
 * unknown field name. */
MS_EXTERN int ms_model_unset(ms_model *model, const char *field);
/* Appends a tag (copied). */
MS_EXTERN int ms_model_add_tag(ms_model *model, const char *tag);
/* Number of tags. */
MS_EXTERN size_t ms_model_tag_count(const ms_model *model);
/* Tag number `index` (MS_ENOTFOUND past the end); *len_out may be NULL. */
MS_EXTERN int ms_model_tag_get(const ms_model *model, size_t index, const char **tag_out,
                               size_t *len_out);

/* The model resource as the JSON text of Python's json.dumps(): keys in
 * the order above, ", " and ": " separators, non-ASCII as \uXXXX. This is
 * the exact meta["user-meta"] string of a packed stream. Release with
 * ms_free(). MS_EFORMAT when a text field is not valid UTF-8 (json.dumps
 * could not have written it). */
MS_EXTERN int ms_model_to_json(const ms_model *model, char **json_out, size_t *len_out);
/* Reads a model resource from JSON text (an object). Missing keys stay
 * null; MS_EFORMAT for text that is not a JSON object, a key that is not
 * one of the nine, or a value of the wrong type. */
MS_EXTERN int ms_model_from_json(ms_model **out, const char *json, size_t len);
/* The model resource of a serialzy stream: its meta["user-meta"] read as
 * above. MS_ENOTFOUND when the artifact is not a serialzy stream or has no
 * user-meta; MS_EFORMAT when the user-meta is not a model resource. */
MS_EXTERN int ms_model_from_artifact(ms_model **out, const ms_artifact *artifact);

/* Checks the fields: name present, non-empty and at most 255 characters,
 * every text valid UTF-8, created_at "YYYY-MM-DDTHH:MM:SSZ" naming a real
 * UTC time, sha256 64 lowercase hex digits. Findings have codes "model.*"
 * (ms_finding_code_get lists them). The report is produced whether the
 * model is valid or not (ms_report_valid says which). Checking size and
 * sha256 against a payload is done by ms_artifact_validate() on the
 * stream that carries the model. */
MS_EXTERN int ms_model_validate(const ms_model *model, ms_report **report_out);

#ifdef __cplusplus
}
#endif
#endif
