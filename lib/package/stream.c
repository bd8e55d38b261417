/*
 * Writing serialzy streams (include/modelstore/stream.h).
 *
 * The header is json.dumps() of the schema with the model resource as
 * meta["user-meta"]. Its length is known before the payload is read: the
 * payload size comes from the file (or the tar plan) and the SHA-256 is
 * always 64 hex digits, which JSON escaping leaves alone. So the header is
 * written with zeros where the digest goes, the payload is hashed while it
 * is copied, and the digest is written into its place at the end (pwrite):
 * one pass over the payload, memory independent of its size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../containers/container.h"
#include "package.h"

#define COPY_CHUNK (256u * 1024u)
#define STAGE_SIZE (64u * 1024u)

struct ms_stream {
	int fd;
	int dir_fd;           /* path mode: the directory of the output */
	char tmp_name[300];   /* path mode: the temporary file beneath dir_fd */
	char *final_name;     /* path mode: the name it is renamed to */
	bool path_mode, replace, fsync_it;
	bool seekable;
	uint64_t start;       /* offset of the stream in fd */
	uint64_t payload_size, written;
	bool has_slot;        /* digest to fill in at sha_pos */
	uint64_t sha_pos;
	bool has_expected;    /* the model declared a digest: check it */
	char expected[65];
	msi_sha256 *hash;
	ms_model *model;
	msi_progress progress;
	uint8_t *stage;
	size_t stage_len;
	int state;            /* 0 open, 1 finished, -1 failed */
};

MS_EXTERN int ms_pack_options_init(ms_pack_options *opts, unsigned int version)
{
	if (!opts)
		return msi_error(MS_EINVAL, "opts is NULL");
	if (version < 1 || version > MS_PACK_OPTIONS_VERSION)
		return msi_error(MS_EVERSION, "ms_pack_options version %u is not supported", version);
	ms_pack_options init = MS_PACK_OPTIONS_INIT;
	*opts = init;
	opts->version = version;
	return MS_OK;
}

static int check_options(const ms_pack_options *o, const msi_pack_format **pf)
{
	if (!o)
		return msi_error(MS_EINVAL, "pack options are required (at least the data format)");
	if (o->version < 1 || o->version > MS_PACK_OPTIONS_VERSION)
		return msi_error(MS_EVERSION, "ms_pack_options version %u is not supported (this library knows up to %u)",
		                 o->version, MS_PACK_OPTIONS_VERSION);
	if (!o->format)
		return msi_error(MS_EINVAL, "the data format is required (one of cbm, catboost_quantized_pool, "
		                            "tf_keras, tf_pure, lgbm, xgb, pt, onnx, skl)");
	*pf = msi_pack_format_by_name(o->format);
	if (!*pf)
		return msi_error(MS_EINVAL, "'%.100s' is not a data format serialzy packs as a model (one of cbm, "
		                            "catboost_quantized_pool, tf_keras, tf_pure, lgbm, xgb, pt, onnx, skl)",
		                 o->format);
	return MS_OK;
}

/* Builds magic + length + header JSON into `out`. *sha_off (when not NULL)
 * gets the offset in `out` of the model's sha256 digits inside the header,
 * or SIZE_MAX when the header holds none. */
static int build_header(const ms_model *m, const ms_pack_options *o, const msi_pack_format *pf, msi_buf *out,
                        size_t *sha_off)
{
	if (sha_off)
		*sha_off = SIZE_MAX;
	const char *type = o->type ? o->type : pf->default_type;
	const char *dot = strrchr(type, '.');
	if (!dot || dot == type || !dot[1] || !msi_utf8_valid(type, strlen(type)))
		return msi_error(MS_EINVAL, "type '%.200s' is not 'module.Class' in UTF-8", type);
	if (o->framework_version && !msi_utf8_valid(o->framework_version, strlen(o->framework_version)))
		return msi_error(MS_EINVAL, "the framework version is not valid UTF-8");

	msi_buf sc = MSI_BUF_INIT, inner = MSI_BUF_INIT, esc = MSI_BUF_INIT;
	msi_json j;
	msi_json_init(&j, &sc, MSI_JSON_PYTHON);
	msi_json_object_begin(&j);
	msi_json_key(&j, "module");
	msi_json_stringn(&j, type, (size_t)(dot - type));
	msi_json_key(&j, "name");
	msi_json_string(&j, dot + 1);
	msi_json_object_end(&j);

	int rc = MS_OK;
	size_t inner_sha = SIZE_MAX;
	bool user_meta = !(o->flags & MS_PACK_NO_USER_META);
	if (user_meta)
		rc = msi_model_write(m, &inner, &inner_sha);

	if (rc == MS_OK) {
		msi_buf_append(out, "serialzy\0\0\0\0\0\0\0\0", 16); /* length set below */
		msi_json_init(&j, out, MSI_JSON_PYTHON);
		msi_json_object_begin(&j);
		msi_json_key(&j, "data_format");
		msi_json_string(&j, pf->name);
		msi_json_key(&j, "schema_format");
		msi_json_string(&j, "serialzy_python_type_reference");
		msi_json_key(&j, "schema_content");
		msi_json_stringn(&j, sc.data ? sc.data : "", sc.len);
		msi_json_key(&j, "meta");
		msi_json_object_begin(&j);
		if (o->framework_version) {
			msi_json_key(&j, pf->framework);
			msi_json_string(&j, o->framework_version);
		}
		if (user_meta) {
			msi_json_key(&j, "user-meta");
			size_t base = out->len + 1; /* after the opening quote */
			msi_json_stringn(&j, inner.data, inner.len);
			if (inner_sha != SIZE_MAX && sha_off) {
				msi_json_escape(&esc, inner.data, inner_sha, true);
				*sha_off = base + esc.len;
			}
		}
		msi_json_object_end(&j);
		msi_json_object_end(&j);
		if (out->failed || sc.failed || esc.failed)
			rc = msi_error(MS_ENOMEM, "out of memory");
	}
	if (rc == MS_OK) {
		memcpy(out->data, "serialzy", 8);
		uint64_t n = out->len - 16;
		for (int i = 0; i < 8; i++)
			out->data[8 + i] = (char)(n >> (8 * i));
	}
	msi_buf_free(&sc);
	msi_buf_free(&inner);
	msi_buf_free(&esc);
	return rc;
}

MS_EXTERN int ms_stream_header(const ms_model *model, const ms_pack_options *opts, char **bytes_out, size_t *len_out)
{
	if (!bytes_out)
		return msi_error(MS_EINVAL, "bytes_out must not be NULL");
	*bytes_out = NULL;
	if (len_out)
		*len_out = 0;
	const msi_pack_format *pf;
	int rc = check_options(opts, &pf);
	if (rc != MS_OK)
		return rc;
	ms_model empty;
	memset(&empty, 0, sizeof empty);
	msi_buf b = MSI_BUF_INIT;
	rc = build_header(model ? model : &empty, opts, pf, &b, NULL);
	if (rc != MS_OK) {
		msi_buf_free(&b);
		return rc;
	}
	size_t len = b.len;
	*bytes_out = msi_buf_detach(&b, NULL);
	if (!*bytes_out)
		return msi_error(MS_ENOMEM, "out of memory");
	if (len_out)
		*len_out = len;
	return MS_OK;
}

/* The resource to write: the caller's, with the payload size, created_at
 * defaulting to now, and (when null) a placeholder digest. Refused with
 * MS_EINVAL when it is not valid. */
static int prepare_model(const ms_model *in, uint64_t payload_size, bool check, ms_model **out, bool *has_sha)
{
	ms_model *m;
	int rc = in ? ms_model_dup(&m, in) : ms_model_new(&m);
	if (rc != MS_OK)
		return rc;
	if (m->has_size && m->size != payload_size) {
		ms_model_free(m);
		return msi_error(MS_EINVAL, "the model's size %llu differs from the payload's %llu bytes",
		                 (unsigned long long)m->size, (unsigned long long)payload_size);
	}
	m->has_size = true;
	m->size = payload_size;
	if (!m->text[MSI_MODEL_CREATED_AT].s)
		rc = ms_model_set_created_at(m, (int64_t)time(NULL));
	*has_sha = m->text[MSI_MODEL_SHA256].s != NULL;
	if (rc == MS_OK && !*has_sha)
		rc = ms_model_set(m, "sha256", "0000000000000000000000000000000000000000000000000000000000000000");
	ms_report *r = rc == MS_OK ? msi_report_new(NULL, NULL) : NULL;
	if (rc == MS_OK && !r)
		rc = msi_error(MS_ENOMEM, "out of memory");
	if (rc == MS_OK && check) {
		msi_model_check(m, r, NULL);
		for (size_t i = 0; i < r->count; i++) {
			if (r->items[i].severity == MS_SEVERITY_ERROR) {
				rc = msi_error(MS_EINVAL, "invalid model resource: %s (%s)", r->items[i].message,
				               r->items[i].code);
				break;
			}
		}
		if (rc == MS_OK && r->failed)
			rc = msi_error(MS_ENOMEM, "out of memory");
	}
	ms_report_free(r);
	if (rc != MS_OK) {
		ms_model_free(m);
		return rc;
	}
	*out = m;
	return MS_OK;
}

static int stream_begin(ms_stream *s, const ms_model *model, uint64_t payload_size, const ms_pack_options *o)
{
	const msi_pack_format *pf;
	int rc = check_options(o, &pf);
	if (rc != MS_OK)
		return rc;
	bool has_sha = false;
	rc = prepare_model(model, payload_size, !(o->flags & MS_PACK_NO_USER_META), &s->model, &has_sha);
	if (rc != MS_OK)
		return rc;
	s->payload_size = payload_size;
	s->fsync_it = (o->flags & MS_PACK_FSYNC) != 0;
	s->progress.fn = o->progress;
	s->progress.user = o->progress_user;
	s->progress.total = payload_size;
	if (has_sha) {
		s->has_expected = true;
		memcpy(s->expected, s->model->text[MSI_MODEL_SHA256].s, 65);
	}
	s->hash = msi_sha256_new();
	s->stage = msi_malloc(STAGE_SIZE);
	if (!s->hash || !s->stage)
		return msi_error(MS_ENOMEM, "out of memory");
	msi_buf h = MSI_BUF_INIT;
	size_t sha_off;
	rc = build_header(s->model, o, pf, &h, &sha_off);
	if (rc == MS_OK && !has_sha && sha_off != SIZE_MAX) {
		if (!s->seekable)
			rc = msi_error(MS_EINVAL, "the output cannot seek: the model must carry the payload's sha256");
		s->has_slot = true;
		s->sha_pos = s->start + sha_off;
	}
	if (rc == MS_OK)
		rc = msi_write_all(s->fd, h.data, h.len);
	msi_buf_free(&h);
	return rc;
}

static int flush_stage(ms_stream *s)
{
	if (!s->stage_len)
		return MS_OK;
	int rc = msi_write_all(s->fd, s->stage, s->stage_len);
	s->stage_len = 0;
	return rc;
}

static int stream_sink(void *user, const void *data, size_t len)
{
	ms_stream *s = user;
	if (s->state != 0)
		return msi_error(MS_EMISUSE, "the stream is %s", s->state > 0 ? "finished" : "failed");
	uint64_t end;
	if (!msi_add_u64(s->written, len, &end) || end > s->payload_size) {
		s->state = -1;
		return msi_error(MS_EINVAL, "writing %zu more bytes goes past the declared payload size %llu", len,
		                 (unsigned long long)s->payload_size);
	}
	msi_sha256_update(s->hash, data, len);
	int rc;
	if (len < STAGE_SIZE / 2) {
		rc = MS_OK;
		if (s->stage_len + len > STAGE_SIZE)
			rc = flush_stage(s);
		if (rc == MS_OK) {
			memcpy(s->stage + s->stage_len, data, len);
			s->stage_len += len;
		}
	} else {
		rc = flush_stage(s);
		if (rc == MS_OK)
			rc = msi_write_all(s->fd, data, len);
	}
	if (rc == MS_OK) {
		s->written = end;
		rc = msi_progress_add(&s->progress, len);
	}
	if (rc != MS_OK)
		s->state = -1;
	return rc;
}

MS_EXTERN int ms_stream_write(ms_stream *s, const void *data, size_t len)
{
	if (!s || (!data && len))
		return msi_error(MS_EINVAL, "stream must not be NULL, nor data when len > 0");
	return stream_sink(s, data, len);
}

MS_EXTERN void ms_stream_free(ms_stream *s)
{
	if (!s)
		return;
	if (s->path_mode) {
		if (s->fd >= 0)
			close(s->fd);
		if (s->state != 1 && s->tmp_name[0])
			unlinkat(s->dir_fd, s->tmp_name, 0);
		if (s->dir_fd >= 0)
			close(s->dir_fd);
	}
	if (s->hash)
		msi_sha256_abort(s->hash);
	ms_model_free(s->model);
	msi_free(s->stage);
	msi_free(s->final_name);
	msi_free(s);
}

static ms_stream *stream_new(void)
{
	msi_mark_used();
	ms_stream *s = msi_calloc(1, sizeof *s);
	if (s) {
		s->fd = -1;
		s->dir_fd = -1;
	}
	return s;
}

/* Splits `path` into its directory (opened) and final name. */
static int open_parent(const char *path, int *dir_fd, char **base)
{
	size_t n = strlen(path);
	if (n == 0 || path[n - 1] == '/')
		return msi_error(MS_EINVAL, "'%.200s' does not name a file", path);
	const char *slash = strrchr(path, '/');
	const char *b = slash ? slash + 1 : path;
	if (strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
		return msi_error(MS_EINVAL, "'%.200s' does not name a file", path);
	char *dir = slash ? msi_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : msi_strdup(".");
	*base = msi_strdup(b);
	if (!dir || !*base) {
		msi_free(dir);
		msi_free(*base);
		*base = NULL;
		return msi_error(MS_ENOMEM, "out of memory");
	}
	*dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = errno;
	if (*dir_fd < 0) {
		int rc = msi_error_errno(MS_EIO, err, "cannot open the directory '%.200s'", dir);
		msi_free(dir);
		msi_free(*base);
		*base = NULL;
		return rc;
	}
	msi_free(dir);
	return MS_OK;
}

MS_EXTERN int ms_stream_create(ms_stream **out, const char *out_path, const ms_model *model, uint64_t payload_size,
                               const ms_pack_options *opts)
{
	if (!out || !out_path)
		return msi_error(MS_EINVAL, "out and out_path must not be NULL");
	*out = NULL;
	const msi_pack_format *pf;
	int rc = check_options(opts, &pf);
	if (rc != MS_OK)
		return rc;
	ms_stream *s = stream_new();
	if (!s)
		return msi_error(MS_ENOMEM, "out of memory");
	s->path_mode = true;
	s->replace = (opts->flags & MS_PACK_OVERWRITE) != 0;
	rc = open_parent(out_path, &s->dir_fd, &s->final_name);
	struct stat st;
	if (rc == MS_OK && fstatat(s->dir_fd, s->final_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			rc = msi_error(MS_EIO, "'%.200s' is a directory", out_path);
		else if (!s->replace)
			rc = msi_error(MS_EIO, "'%.200s' already exists", out_path);
	}
	if (rc == MS_OK)
		rc = msi_create_temp(s->dir_fd, s->final_name, false, s->tmp_name, sizeof s->tmp_name, &s->fd);
	s->seekable = true;
	if (rc == MS_OK)
		rc = stream_begin(s, model, payload_size, opts);
	if (rc != MS_OK) {
		ms_stream_free(s);
		return rc;
	}
	*out = s;
	return MS_OK;
}

MS_EXTERN int ms_stream_create_fd(ms_stream **out, int fd, const ms_model *model, uint64_t payload_size,
                                  const ms_pack_options *opts)
{
	if (!out || fd < 0)
		return msi_error(MS_EINVAL, "out must not be NULL and fd must be open");
	*out = NULL;
	ms_stream *s = stream_new();
	if (!s)
		return msi_error(MS_ENOMEM, "out of memory");
	s->fd = fd;
	off_t pos = lseek(fd, 0, SEEK_CUR);
	int fl = fcntl(fd, F_GETFL);
	struct stat st;
	s->seekable = pos >= 0 && fl >= 0 && !(fl & O_APPEND) && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	s->start = s->seekable ? (uint64_t)pos : 0;
	int rc = stream_begin(s, model, payload_size, opts);
	if (rc != MS_OK) {
		ms_stream_free(s);
		return rc;
	}
	*out = s;
	return MS_OK;
}

MS_EXTERN int ms_stream_finish(ms_stream *s, ms_model **model_out)
{
	if (!s)
		return msi_error(MS_EINVAL, "stream must not be NULL");
	if (model_out)
		*model_out = NULL;
	if (s->state != 0)
		return msi_error(MS_EMISUSE, "the stream is %s", s->state > 0 ? "already finished" : "failed");
	int rc = flush_stage(s);
	if (rc == MS_OK && s->written != s->payload_size)
		rc = msi_error(MS_EINVAL, "%llu payload bytes were written, %llu declared",
		               (unsigned long long)s->written, (unsigned long long)s->payload_size);
	if (rc != MS_OK) {
		s->state = -1;
		return rc;
	}
	uint8_t d[32];
	char hex[65];
	msi_sha256_final(s->hash, d);
	s->hash = NULL;
	msi_hex(d, 32, hex);
	if (s->has_expected && strcmp(hex, s->expected) != 0)
		rc = msi_error(MS_EFORMAT, "the payload's sha256 is %s, not %s as the model says", hex, s->expected);
	if (rc == MS_OK && s->has_slot) {
		ssize_t n = pwrite(s->fd, hex, 64, (off_t)s->sha_pos);
		if (n != 64)
			rc = msi_error_errno(MS_EIO, n < 0 ? errno : EIO, "cannot write the digest into the header");
	}
	if (rc == MS_OK && s->fsync_it && fsync(s->fd) != 0)
		rc = msi_error_errno(MS_EIO, errno, "fsync failed");
	if (rc == MS_OK && s->path_mode) {
		if (close(s->fd) != 0)
			rc = msi_error_errno(MS_EIO, errno, "closing the output failed");
		s->fd = -1;
		if (rc == MS_OK)
			rc = msi_rename(s->dir_fd, s->tmp_name, s->final_name, s->replace);
		if (rc == MS_OK && s->fsync_it)
			fsync(s->dir_fd);
	}
	if (rc == MS_OK)
		rc = ms_model_set(s->model, "sha256", hex);
	if (rc == MS_OK && model_out)
		rc = ms_model_dup(model_out, s->model);
	s->state = rc == MS_OK ? 1 : -1;
	if (rc != MS_OK && s->path_mode && s->state == -1) {
		struct stat st;
		/* renamed already? then it is complete: keep it */
		if (fstatat(s->dir_fd, s->tmp_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			s->state = 1;
	}
	return rc;
}

/* ---- packing a path ---- */

typedef struct pack_source {
	bool dir;
	int fd;
	msi_tar_plan *plan;
	uint64_t size;
	uint64_t mtime;
	const char *path;
} pack_source;

static void source_close(pack_source *ps)
{
	if (ps->fd >= 0)
		close(ps->fd);
	msi_tar_plan_free(ps->plan);
}

static int source_open(const char *path, const msi_pack_format *pf, pack_source *ps)
{
	memset(ps, 0, sizeof *ps);
	ps->fd = -1;
	ps->path = path;
	struct stat st;
	if (stat(path, &st) != 0)
		return msi_error_errno(MS_EIO, errno, "cannot open '%.200s'", path);
	if (S_ISDIR(st.st_mode)) {
		if (!pf->directory)
			return msi_error(MS_EINVAL, "'%.200s' is a directory; the format %s takes a file", path, pf->name);
		ps->dir = true;
		ps->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (ps->fd < 0)
			return msi_error_errno(MS_EIO, errno, "cannot open '%.200s'", path);
		int rc = msi_source_date_epoch(&ps->mtime);
		if (rc == MS_OK)
			rc = msi_tar_plan_dir(ps->fd, 0, &ps->plan);
		if (rc == MS_OK)
			ps->size = msi_tar_plan_size(ps->plan);
		return rc;
	}
	if (!S_ISREG(st.st_mode))
		return msi_error(MS_EINVAL, "'%.200s' is neither a regular file nor a directory", path);
	ps->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ps->fd < 0)
		return msi_error_errno(MS_EIO, errno, "cannot open '%.200s'", path);
	if (fstat(ps->fd, &st) != 0)
		return msi_error_errno(MS_EIO, errno, "cannot stat '%.200s'", path);
	ps->size = (uint64_t)st.st_size;
	if (pf->directory) {
		/* serialzy's payload for a SavedModel is a tar of it: a file is
		 * taken only when it is one (not a Keras .h5 or .keras file) */
		uint8_t head[512];
		ssize_t n = pread(ps->fd, head, sizeof head, 0);
		if (n != (ssize_t)sizeof head || !msi_tar_looks_like(head, sizeof head))
			return msi_error(MS_EINVAL, "'%.200s' is not a tar: the %s payload is a SavedModel directory "
			                            "(or a tar of one)", path, pf->name);
	}
	return MS_OK;
}

/* msi_read_fn over the source file: exactly `len` bytes or MS_ECHANGED. */
static int read_exact(void *user, uint64_t off, void *dst, size_t len)
{
	const pack_source *ps = user;
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(ps->fd, (char *)dst + got, len - got, (off_t)(off + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return msi_error_errno(MS_EIO, errno, "cannot read '%.200s'", ps->path);
		}
		if (n == 0)
			return msi_error(MS_ECHANGED, "'%.200s' shrank while it was packed", ps->path);
		got += (size_t)n;
	}
	return MS_OK;
}

/* The whole payload of a file source into the stream: read, written and
 * hashed in a pipeline (copy.c). */
static int stream_copy_file(ms_stream *s, const pack_source *ps)
{
	if (s->state != 0)
		return msi_error(MS_EMISUSE, "the stream is %s", s->state > 0 ? "finished" : "failed");
	if (ps->size > s->payload_size - s->written) {
		s->state = -1;
		return msi_error(MS_EINVAL, "the source is larger than the declared payload size");
	}
	int rc = flush_stage(s);
	if (rc == MS_OK)
		rc = msi_copy_hashed(read_exact, (void *)ps, 0, ps->size, s->fd, s->hash, &s->progress);
	if (rc == MS_OK) {
		s->written += ps->size;
		uint8_t extra;
		if (pread(ps->fd, &extra, 1, (off_t)ps->size) > 0)
			rc = msi_error(MS_ECHANGED, "'%.200s' grew while it was packed", ps->path);
	}
	if (rc != MS_OK)
		s->state = -1;
	return rc;
}

static int source_emit(const pack_source *ps, msi_sink_fn sink, void *user)
{
	if (ps->dir)
		return msi_tar_plan_write(ps->plan, ps->fd, ps->mtime, sink, user);
	uint8_t *buf = msi_malloc(COPY_CHUNK);
	if (!buf)
		return msi_error(MS_ENOMEM, "out of memory");
	int rc = MS_OK;
	uint64_t off = 0;
	while (off < ps->size && rc == MS_OK) {
		size_t want = ps->size - off < COPY_CHUNK ? (size_t)(ps->size - off) : COPY_CHUNK;
		ssize_t n = pread(ps->fd, buf, want, (off_t)off);
		if (n < 0) {
			if (errno != EINTR)
				rc = msi_error_errno(MS_EIO, errno, "cannot read '%.200s'", ps->path);
			continue;
		}
		if (n == 0) {
			rc = msi_error(MS_ECHANGED, "'%.200s' shrank while it was packed", ps->path);
			break;
		}
		rc = sink(user, buf, (size_t)n);
		off += (uint64_t)n;
	}
	if (rc == MS_OK && pread(ps->fd, buf, 1, (off_t)off) > 0)
		rc = msi_error(MS_ECHANGED, "'%.200s' grew while it was packed", ps->path);
	msi_free(buf);
	return rc;
}

static int hash_sink(void *user, const void *data, size_t len)
{
	msi_sha256_update(user, data, len);
	return MS_OK;
}

static int pack(const char *source, const char *out_path, int out_fd, const ms_model *model,
                const ms_pack_options *opts, ms_model **model_out)
{
	if (model_out)
		*model_out = NULL;
	if (!source || (!out_path && out_fd < 0))
		return msi_error(MS_EINVAL, "source and the output must be given");
	const msi_pack_format *pf;
	int rc = check_options(opts, &pf);
	if (rc != MS_OK)
		return rc;
	pack_source ps;
	rc = source_open(source, pf, &ps);
	ms_model *m = NULL;
	ms_stream *s = NULL;
	if (rc == MS_OK && out_path) {
		rc = ms_stream_create(&s, out_path, model, ps.size, opts);
	} else if (rc == MS_OK) {
		off_t pos = lseek(out_fd, 0, SEEK_CUR);
		int fl = fcntl(out_fd, F_GETFL);
		struct stat st;
		bool seekable = pos >= 0 && fl >= 0 && !(fl & O_APPEND) && fstat(out_fd, &st) == 0 && S_ISREG(st.st_mode);
		if (!seekable && !(model && model->text[MSI_MODEL_SHA256].s) && !(opts->flags & MS_PACK_NO_USER_META)) {
			/* the digest goes before the payload: a first pass for it */
			msi_sha256 *h = msi_sha256_new();
			if (!h)
				rc = msi_error(MS_ENOMEM, "out of memory");
			else
				rc = source_emit(&ps, hash_sink, h);
			if (rc == MS_OK) {
				uint8_t d[32];
				char hex[65];
				msi_sha256_final(h, d);
				msi_hex(d, 32, hex);
				rc = model ? ms_model_dup(&m, model) : ms_model_new(&m);
				if (rc == MS_OK)
					rc = ms_model_set(m, "sha256", hex);
			} else if (h) {
				msi_sha256_abort(h);
			}
		}
		if (rc == MS_OK)
			rc = ms_stream_create_fd(&s, out_fd, m ? m : model, ps.size, opts);
	}
	if (rc == MS_OK)
		rc = ps.dir ? source_emit(&ps, stream_sink, s) : stream_copy_file(s, &ps);
	if (rc == MS_OK)
		rc = ms_stream_finish(s, model_out);
	if (rc == MS_EFORMAT && m) /* the digest of the first pass no longer holds */
		rc = msi_error(MS_ECHANGED, "'%.200s' changed while it was packed: %s", source, ms_error_last());
	ms_stream_free(s);
	ms_model_free(m);
	source_close(&ps);
	return rc;
}

MS_EXTERN int ms_pack_path(const char *source, const char *out_path, const ms_model *model,
                           const ms_pack_options *opts, ms_model **model_out)
{
	if (!out_path)
		return msi_error(MS_EINVAL, "out_path must not be NULL");
	return pack(source, out_path, -1, model, opts, model_out);
}

MS_EXTERN int ms_pack_fd(const char *source, int out_fd, const ms_model *model, const ms_pack_options *opts,
                         ms_model **model_out)
{
	if (out_fd < 0)
		return msi_error(MS_EINVAL, "out_fd must be open");
	return pack(source, NULL, out_fd, model, opts, model_out);
}
