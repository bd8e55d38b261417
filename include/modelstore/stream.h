/*
 * libmodelstore — writing and unpacking serialzy streams.
 *
 * A serialzy stream is what serialzy's Serializer.serialize() writes: the
 * magic "serialzy", the header length as a u64 little-endian, the JSON
 * header made by Python's json.dumps() (keys data_format, schema_format,
 * schema_content, meta), then the payload to the end. ms_pack_path() writes
 * the exact bytes serialzy writes for a model, with the model resource
 * (model.h) as meta["user-meta"], so that serialzy reads what this library
 * writes and the other way round.
 *
 *   ms_model *m;
 *   ms_model_new(&m);
 *   ms_model_set(m, "name", "churn");
 *   ms_pack_options po = MS_PACK_OPTIONS_INIT;
 *   po.format = "xgb";
 *   po.type = "xgboost.sklearn.XGBClassifier";
 *   po.framework_version = "1.7.4";
 *   if (ms_pack_path("model.ubj", "churn.serialzy", m, &po, NULL) != MS_OK)
 *       fprintf(stderr, "%s\n", ms_error_last());
 *
 * Writing streams: memory stays flat whatever the payload size, and the
 * payload's SHA-256 is computed while it is copied (one pass over the
 * payload: the header is written with room for the digest, which is filled
 * in at the end). Output files are written under a temporary name beside
 * the target (O_CREAT|O_EXCL) and renamed into place only when complete: a
 * failed or cancelled call leaves nothing behind.
 *
 * A directory (a TensorFlow SavedModel, formats tf_keras and tf_pure)
 * becomes an uncompressed tar as serialzy's shutil.make_archive makes it,
 * but reproducible: ustar headers, entries in Python's order (names sorted
 * within each directory, depth first, the "./" root entry first), names
 * prefixed "./", mtime $SOURCE_DATE_EPOCH or 0, uid and gid 0, no user or
 * group names, modes 0755 (directories and executables) or 0644, padded
 * to a multiple of 10,240 bytes. Symlinks and special files are refused.
 */
#ifndef MODELSTORE_STREAM_H
#define MODELSTORE_STREAM_H

#include "common.h"
#include "artifact.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Writing ---------------------------------------------------------- */

#define MS_PACK_NO_USER_META 0x1u /* meta holds only the framework version: no model resource */
#define MS_PACK_FSYNC 0x2u        /* fsync the output before renaming it into place */
#define MS_PACK_OVERWRITE 0x4u    /* replace an existing output file */

typedef struct ms_pack_options {
	unsigned int version;          /* MS_PACK_OPTIONS_VERSION */
	unsigned int flags;            /* MS_PACK_* */
	const char *format;            /* serialzy data format, e.g. "xgb" (required) */
	const char *type;              /* "module.Class" of schema_content, NULL: the format's default */
	const char *framework_version; /* meta[<framework>], NULL: left out (serialzy only warns) */
	ms_progress_fn progress;       /* payload bytes written / total */
	void *progress_user;
} ms_pack_options;

#define MS_PACK_OPTIONS_VERSION 1
#define MS_PACK_OPTIONS_INIT { MS_PACK_OPTIONS_VERSION, 0, NULL, NULL, NULL, NULL, NULL }
MS_EXTERN int ms_pack_options_init(ms_pack_options *opts, unsigned int version);

/* Number of data formats ms_pack_path() writes (serialzy's model formats). */
MS_EXTERN size_t ms_pack_format_count(void);
/* Pack format number `index`: its name ("cbm", ...), the meta key of its
 * framework ("catboost", ...), the default "module.Class" of its
 * schema_content, and whether its payload is a directory (1: tf_keras,
 * tf_pure) or a file (0). Any out pointer may be NULL. */
MS_EXTERN int ms_pack_format_get(size_t index, const char **name, const char **framework,
                                 const char **default_type, int *is_directory);

/* Packs `source` (a file, or for tf_keras/tf_pure a SavedModel directory or
 * an existing tar of one) into a new serialzy stream at `out_path`.
 * `model` (may be NULL) supplies the model resource; its size and sha256
 * are those of the payload (a sha256 already set must match it, else
 * MS_EFORMAT), created_at is the current UTC time when null. The resource
 * written is returned in *model_out when not NULL (free with
 * ms_model_free). Fails with MS_EIO when `out_path` exists (unless
 * MS_PACK_OVERWRITE), MS_EINVAL for bad options or an invalid model
 * resource (see ms_model_validate), MS_ECHANGED when the source changes
 * while it is read, MS_ECANCELLED when the progress callback says stop. */
MS_EXTERN int ms_pack_path(const char *source, const char *out_path, const ms_model *model,
                           const ms_pack_options *opts, ms_model **model_out);
/* The same, written to an open descriptor from its current offset. A
 * descriptor that cannot seek (a pipe) costs a second read of the source:
 * the digest must be known before the header is written. */
MS_EXTERN int ms_pack_fd(const char *source, int out_fd, const ms_model *model,
                         const ms_pack_options *opts, ms_model **model_out);

/* The 16 bytes of framing plus the JSON header that ms_pack_path() would
 * write for `model` (whose size and sha256 are written as they are set).
 * Release with ms_free(). */
MS_EXTERN int ms_stream_header(const ms_model *model, const ms_pack_options *opts, char **bytes_out,
                               size_t *len_out);

/* An incremental stream writer, for payloads that are not files: declare
 * the payload size, write exactly that many bytes, finish. */
typedef struct ms_stream ms_stream;

/* Starts a stream in a temporary file beside `out_path`, renamed to it by
 * ms_stream_finish(). */
MS_EXTERN int ms_stream_create(ms_stream **out, const char *out_path, const ms_model *model,
                               uint64_t payload_size, const ms_pack_options *opts);
/* Starts a stream on an open descriptor (from its current offset; the
 * caller keeps ownership). When the descriptor cannot seek, the model must
 * carry the payload's sha256 (MS_EINVAL otherwise): it is checked by
 * ms_stream_finish(). */
MS_EXTERN int ms_stream_create_fd(ms_stream **out, int fd, const ms_model *model,
                                  uint64_t payload_size, const ms_pack_options *opts);
/* Appends payload bytes. MS_EINVAL when they go past the declared size. */
MS_EXTERN int ms_stream_write(ms_stream *stream, const void *data, size_t len);
/* Completes the stream: checks the size, fills in the digest, renames the
 * file into place. *model_out (when not NULL) gets the model resource
 * written. The stream must still be freed. */
MS_EXTERN int ms_stream_finish(ms_stream *stream, ms_model **model_out);
/* Releases a stream; an unfinished one is abandoned (its temporary file is
 * removed). NULL is ignored. */
MS_EXTERN void ms_stream_free(ms_stream *stream);

/* ---- Unpacking -------------------------------------------------------- */

#define MS_UNPACK_OVERWRITE 0x1u /* replace an existing model file or directory in DEST */
#define MS_UNPACK_NO_VERIFY 0x2u /* skip checking size and sha256 against the model resource */
#define MS_UNPACK_FSYNC 0x4u     /* fsync what is written before renaming it into place */

typedef struct ms_unpack_options {
	unsigned int version; /* MS_UNPACK_OPTIONS_VERSION */
	unsigned int flags;   /* MS_UNPACK_* */
	ms_progress_fn progress;
	void *progress_user;
} ms_unpack_options;

#define MS_UNPACK_OPTIONS_VERSION 1
#define MS_UNPACK_OPTIONS_INIT { MS_UNPACK_OPTIONS_VERSION, 0, NULL, NULL }
MS_EXTERN int ms_unpack_options_init(ms_unpack_options *opts, unsigned int version);

/* Writes the payload of a serialzy stream into the directory `dest_dir`
 * (created when missing) under the name serialzy's unpack_model gives it:
 * "model.cbm" (cbm), "model.bin" (catboost_quantized_pool), "model" (lgbm,
 * xgb), "model.pt" (pt), "model.onnx" (onnx), "model.pickle" (skl), or the
 * extracted directory "model.savedmodel" (tf_keras, tf_pure). *name_out
 * (when not NULL) gets that name (ms_free).
 *
 * The header is checked first: a header serialzy would refuse, an empty
 * payload or a data format unpack_model does not write fails with
 * MS_EFORMAT or MS_EUNSUPPORTED. When the stream carries a model resource,
 * the payload must have its size and sha256 (unless MS_UNPACK_NO_VERIFY).
 * A tar is extracted only when every member is safe (no absolute path,
 * '..', link leaving the root or special file): nothing is written outside
 * `dest_dir`, no symlink inside it is followed, and everything goes to a
 * temporary name renamed at the end, so a failure leaves nothing behind.
 * MS_EIO when the name already exists (unless MS_UNPACK_OVERWRITE). */
MS_EXTERN int ms_artifact_unpack(ms_artifact *artifact, const char *dest_dir,
                                 const ms_unpack_options *opts, char **name_out);

#ifdef __cplusplus
}
#endif
#endif
