/*
 * Packaging: the model resource (model.c), serialzy stream writing
 * (stream.c), the reproducible tar writer (tar_write.c) and unpacking
 * (unpack.c). Public side: include/modelstore/model.h and stream.h.
 */
#ifndef MSI_PACKAGE_PACKAGE_H
#define MSI_PACKAGE_PACKAGE_H

#include "../core/json.h"
#include "../core/report.h"
#include "../io/source.h"

/* ---- the data formats serialzy packs as models ---- */
typedef struct msi_pack_format {
	const char *name;         /* data_format */
	const char *framework;    /* meta key, e.g. "xgboost" */
	const char *default_type; /* "module.Class" */
	bool directory;           /* payload is a tar of a directory */
	const char *unpack_name;  /* serialzy's unpack_model file name */
} msi_pack_format;

const msi_pack_format *msi_pack_format_by_name(const char *name);
/* serialzy's own data formats (models and the rest), for header checks. */
bool msi_serialzy_format_known(const char *name);

/* ---- model resource ---- */
enum {
	MSI_MODEL_NAME,
	MSI_MODEL_NOTEBOOK,
	MSI_MODEL_VARIABLE,
	MSI_MODEL_USER,
	MSI_MODEL_CREATED_AT,
	MSI_MODEL_SHA256,
	MSI_MODEL_DESCRIPTION,
	MSI_MODEL_NTEXT
};

typedef struct msi_text {
	char *s; /* NULL: null */
	size_t len;
} msi_text;

struct ms_model {
	msi_text text[MSI_MODEL_NTEXT];
	bool has_size;
	uint64_t size;
	msi_text *tags;
	size_t ntags, cap_tags;
};

#define MSI_MODEL_NAME_MAX 255

/* Writes the resource as json.dumps() would (MSI_JSON_PYTHON). When
 * `sha_off` is not NULL it gets the offset in `out` of the first hex digit
 * of the sha256 value (SIZE_MAX when sha256 is null). MS_EFORMAT when a text
 * is not valid UTF-8. */
int msi_model_write(const ms_model *m, msi_buf *out, size_t *sha_off);
/* Reads a resource from a parsed JSON object. With `r` NULL, strict:
 * MS_EFORMAT for unknown keys or wrong types. With `r`, lenient: those
 * become findings (model.key.unknown, model.field.type, model.key.missing)
 * with `where` prefixed by `where`, and the fields that can be read are. */
int msi_model_from_jval(const msi_jval *v, ms_report *r, const char *where, ms_model **out);
/* Adds the field findings of ms_model_validate to `r`. */
void msi_model_check(const ms_model *m, ms_report *r, const char *where);
/* true when a user-meta object looks like a model resource (it has name,
 * size and sha256, which ms_pack_path always writes). */
bool msi_model_jval_is_resource(const msi_jval *v);
/* "YYYY-MM-DDTHH:MM:SSZ" naming a real time? */
bool msi_model_time_valid(const char *s, size_t len);
bool msi_model_sha_valid(const char *s, size_t len);

/* The model resource of a serialzy stream (meta["user-meta"]): its fields,
 * and its size and sha256 against the payload (not with ctx->quick). Adds
 * findings to ctx->report; returns MS_OK or MS_ENOMEM/MS_ECANCELLED/... */
struct ms_artifact;
struct msi_validate_ctx;
int msi_model_check_stream(struct ms_artifact *a, struct msi_validate_ctx *ctx);

/* ---- output sink: where payload bytes go ---- */
typedef int (*msi_sink_fn)(void *user, const void *data, size_t len);

/* Reads exactly `len` bytes at `off` into `dst` (MS_OK or a negative code). */
typedef int (*msi_read_fn)(void *user, uint64_t off, void *dst, size_t len);
/* Copies [off, off+len) read through `read` to `out_fd` (or nowhere when it
 * is -1), adding the bytes to `hash` (may be NULL) on a second thread for
 * large copies, and to `progress`. */
int msi_copy_hashed(msi_read_fn read, void *read_user, uint64_t off, uint64_t len, int out_fd, msi_sha256 *hash,
                    msi_progress *progress);
int msi_read_source(void *source, uint64_t off, void *dst, size_t len); /* msi_read_fn over an msi_source */

/* ---- reproducible tar of a directory ---- */
typedef struct msi_tar_plan msi_tar_plan;
/* Lists the directory `root_fd` in Python's tarfile order. Symlinks,
 * special files, names too long for ustar or more than `max_entries`
 * entries make it fail (MS_EUNSUPPORTED, MS_ELIMIT). */
int msi_tar_plan_dir(int root_fd, uint64_t max_entries, msi_tar_plan **out);
/* The exact size of the tar the plan writes. */
uint64_t msi_tar_plan_size(const msi_tar_plan *p);
/* Writes the tar to `sink`; MS_ECHANGED when a file changed since the plan
 * was made. `mtime` goes into every header. */
int msi_tar_plan_write(const msi_tar_plan *p, int root_fd, uint64_t mtime, msi_sink_fn sink, void *user);
void msi_tar_plan_free(msi_tar_plan *p);
/* $SOURCE_DATE_EPOCH (decimal seconds) or 0; MS_EINVAL when malformed. */
int msi_source_date_epoch(uint64_t *out);

/* ---- file system helpers (unpack.c) ---- */
/* Creates a new file or directory under a random name ".<base>.XXXXXX"
 * beneath `dir_fd`. Files: returns a writable fd (O_EXCL); directories:
 * *fd_out is an O_DIRECTORY fd. The name goes to `name` (cap >= strlen(base)
 * + 16). */
int msi_create_temp(int dir_fd, const char *base, bool directory, char *name, size_t cap, int *fd_out);
/* Removes `name` beneath `dir_fd` and everything below it, never
 * following a symlink. Errors are ignored (best effort cleanup). */
void msi_remove_tree(int dir_fd, const char *name, int depth);
/* rename without replacing (renameat2 RENAME_NOREPLACE, falling back to
 * link+unlink for files); with `replace` an ordinary renameat. */
int msi_rename(int dir_fd, const char *from, const char *to, bool replace);
/* write(2) all of it, retrying on EINTR and short writes. */
int msi_write_all(int fd, const void *data, size_t len);

#endif
