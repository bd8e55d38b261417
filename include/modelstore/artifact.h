/*
 * libmodelstore — model artifacts: open, detect, inspect, validate.
 *
 * An ms_artifact is one model artifact: a file, a directory, a memory buffer
 * or an open file descriptor. Opening it peels the containers it arrives in
 * (serialzy frame, zip, tar, directory) and detects the data format
 * ("onnx", "pt", "xgb", ...). Files are read through bounded windows with
 * pread(): memory use does not grow with the file, and a file that shrinks
 * while it is read gives MS_ECHANGED, never SIGBUS.
 *
 * Thread safety: the library keeps no hidden global state besides the
 * allocator hook. Distinct handles may be used from distinct threads at
 * once; one handle must not be used by two threads at the same time.
 */
#ifndef MODELSTORE_ARTIFACT_H
#define MODELSTORE_ARTIFACT_H

#include "common.h"
#include "report.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_artifact ms_artifact;

/* Limits that protect against hostile input. A field left 0 takes the
 * default shown in brackets. */
typedef struct ms_open_options {
	unsigned int version;       /* MS_OPEN_OPTIONS_VERSION */
	const char *format;         /* force this data format, NULL = detect */
	const char *display_path;   /* the "path" reported for buffers and fds */
	uint64_t max_members;       /* members of a zip/tar/directory [100000] */
	uint64_t max_member_size;   /* declared uncompressed member size [16 GiB] */
	uint64_t max_header_size;   /* serialzy JSON header [16 MiB] */
	uint32_t max_depth;         /* nested containers and JSON depth [64] */
	uint64_t max_metadata;      /* heap for metadata of one call [256 MiB] */
} ms_open_options;

#define MS_OPEN_OPTIONS_VERSION 1
#define MS_OPEN_OPTIONS_INIT { MS_OPEN_OPTIONS_VERSION, NULL, NULL, 0, 0, 0, 0, 0 }
MS_EXTERN int ms_open_options_init(ms_open_options *opts, unsigned int version);

/* Opens a file or a directory. */
MS_EXTERN int ms_artifact_open_path(ms_artifact **out, const char *path,
                                    const ms_open_options *opts);
/* Opens bytes in memory. The buffer is not copied: it must stay valid and
 * unchanged until ms_artifact_free(). */
MS_EXTERN int ms_artifact_open_buffer(ms_artifact **out, const void *data, size_t len,
                                      const ms_open_options *opts);
/* Opens an open file descriptor (a regular file). The descriptor is
 * duplicated; the caller keeps ownership of `fd`. */
MS_EXTERN int ms_artifact_open_fd(ms_artifact **out, int fd, const ms_open_options *opts);
MS_EXTERN void ms_artifact_free(ms_artifact *artifact);

/* The detected (or forced) data format, e.g. "onnx", or NULL when the bytes
 * are of no known format. */
MS_EXTERN const char *ms_artifact_format(const ms_artifact *artifact);
/* The outermost container: "file", "directory", "zip", "tar" or "serialzy". */
MS_EXTERN const char *ms_artifact_container(const ms_artifact *artifact);
/* The size in bytes (a directory: the sum of its regular files). */
MS_EXTERN uint64_t ms_artifact_size(const ms_artifact *artifact);

/* Adds globals that pickles in this artifact may name (PyTorch archives,
 * plain pickles) to the built-in allowlists used by validation: each
 * pattern is "module.name" exactly, or "module.*" for a module and its
 * submodules. The well-known code-execution globals (os.system,
 * builtins.eval, subprocess.*, ...) stay errors whatever is added. The
 * strings are copied; calls add up. MS_EINVAL for a pattern that is not of
 * those forms. */
MS_EXTERN int ms_artifact_allow_globals(ms_artifact *artifact, const char *const *patterns, size_t count);

/* ---- Inspect ---------------------------------------------------------- */

#define MS_INSPECT_HASH 0x1u /* add "sha256" of the whole artifact */

typedef struct ms_inspect_options {
	unsigned int version;   /* MS_INSPECT_OPTIONS_VERSION */
	unsigned int flags;     /* MS_INSPECT_* */
	ms_progress_fn progress;
	void *progress_user;
} ms_inspect_options;

#define MS_INSPECT_OPTIONS_VERSION 1
#define MS_INSPECT_OPTIONS_INIT { MS_INSPECT_OPTIONS_VERSION, 0, NULL, NULL }
MS_EXTERN int ms_inspect_options_init(ms_inspect_options *opts, unsigned int version);

/* Describes the artifact as one JSON object (UTF-8, NUL-terminated), stored
 * in *json_out (release it with ms_free()); *len_out, when not NULL, gets its
 * length. Root keys: schema_version, path, format, container, containers,
 * size, sha256 (with MS_INSPECT_HASH), serialzy (when framed), model, and,
 * where the format knows them, inputs, outputs, parameters, buffers.
 *
 * The JSON is produced even for a model that cannot be parsed to the end:
 * then the call returns MS_EFORMAT and the JSON holds what could be read,
 * with an "error" key. */
MS_EXTERN int ms_artifact_inspect(ms_artifact *artifact, const ms_inspect_options *opts,
                                  char **json_out, size_t *len_out);

/* ---- Validate --------------------------------------------------------- */

#define MS_VALIDATE_QUICK 0x1u /* skip checksums over payloads */

typedef struct ms_validate_options {
	unsigned int version;   /* MS_VALIDATE_OPTIONS_VERSION */
	unsigned int flags;     /* MS_VALIDATE_* */
	ms_progress_fn progress;
	void *progress_user;
} ms_validate_options;

#define MS_VALIDATE_OPTIONS_VERSION 1
#define MS_VALIDATE_OPTIONS_INIT { MS_VALIDATE_OPTIONS_VERSION, 0, NULL, NULL }
MS_EXTERN int ms_validate_options_init(ms_validate_options *opts, unsigned int version);

/* Checks the artifact and stores the findings in a new report. Returns MS_OK
 * whenever the report was produced, valid or not; a negative code only when
 * validation itself could not run (no memory, I/O error, cancelled).
 *
 * A handle may keep what its first inspect or validate parsed (an ONNX
 * model's metadata, within max_metadata) until ms_artifact_free(), so that
 * the other verb does not read the file again; the result of each verb is
 * the same as on a fresh handle. */
MS_EXTERN int ms_artifact_validate(ms_artifact *artifact, const ms_validate_options *opts,
                                   ms_report **report_out);

#ifdef __cplusplus
}
#endif
#endif
