/*
 * Opening an artifact: peel the containers, then let every format sniff the
 * bytes. Detection reads the first and last 64 KiB of the payload plus the
 * container directories; content decides, and a file name's extension only
 * breaks a tie between equal scores.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

#include "artifact.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

MS_EXTERN int ms_open_options_init(ms_open_options *opts, unsigned int version)
{
	if (!opts)
		return msi_error(MS_EINVAL, "opts is NULL");
	if (version < 1 || version > MS_OPEN_OPTIONS_VERSION)
		return msi_error(MS_EVERSION, "ms_open_options version %u is not supported", version);
	ms_open_options init = MS_OPEN_OPTIONS_INIT;
	*opts = init;
	opts->version = version;
	return MS_OK;
}

static int apply_options(ms_artifact *a, const ms_open_options *o, const char **forced)
{
	a->limits.max_members = 100000;
	a->limits.max_member_size = 16 * GiB;
	a->limits.max_header_size = 16 * MiB;
	a->limits.max_depth = 64;
	a->limits.max_metadata = 256 * MiB;
	*forced = NULL;
	if (!o)
		return MS_OK;
	if (o->version < 1 || o->version > MS_OPEN_OPTIONS_VERSION)
		return msi_error(MS_EVERSION, "ms_open_options version %u is not supported (this library knows up to %u)",
		                 o->version, MS_OPEN_OPTIONS_VERSION);
	if (o->max_members)
		a->limits.max_members = o->max_members;
	if (o->max_member_size)
		a->limits.max_member_size = o->max_member_size;
	if (o->max_header_size)
		a->limits.max_header_size = o->max_header_size;
	if (o->max_depth)
		a->limits.max_depth = o->max_depth > 128 ? 128 : o->max_depth;
	if (o->max_metadata)
		a->limits.max_metadata = o->max_metadata;
	if (o->format) {
		if (!msi_format_by_name(o->format))
			return msi_error(MS_EINVAL, "unknown data format '%s' (see ms_format_get)", o->format);
		*forced = o->format;
	}
	return MS_OK;
}

static ms_artifact *new_artifact(const char *path)
{
	ms_artifact *a = msi_calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->dir_fd = -1;
	a->path = msi_strdup(path);
	a->findings = msi_report_new(path, NULL);
	if (path) {
		const char *slash = strrchr(path, '/');
		a->base_name = msi_strdup(slash ? slash + 1 : path);
	}
	if (!a->path || !a->findings || (path && !a->base_name)) {
		ms_artifact_free(a);
		return NULL;
	}
	return a;
}

static void push_container(ms_artifact *a, const char *kind)
{
	if (a->ncontainers < MSI_MAX_CONTAINERS)
		a->containers[a->ncontainers++] = kind;
}

/* Reads the first and last window of the payload for the sniffers. */
static int read_windows(ms_artifact *a)
{
	msi_source *s = a->payload;
	size_t n = s->size < MSI_SNIFF_WINDOW ? (size_t)s->size : MSI_SNIFF_WINDOW;
	msi_free(a->head);
	msi_free(a->tail);
	a->head = msi_malloc(n ? n : 1);
	a->tail = msi_malloc(n ? n : 1);
	if (!a->head || !a->tail)
		return msi_error(MS_ENOMEM, "out of memory");
	int rc = msi_source_read(s, 0, a->head, n);
	if (rc == MS_OK)
		rc = msi_source_read(s, s->size - n, a->tail, n);
	a->head_len = a->tail_len = n;
	return rc;
}

static int detect_format(ms_artifact *a, const char *forced)
{
	msi_view *v = &a->view;
	v->name = a->base_name;
	v->src = a->payload;
	v->size = a->payload ? a->payload->size : a->size;
	v->head = a->head;
	v->head_len = a->head_len;
	v->tail = a->tail;
	v->tail_len = a->tail_len;
	v->container = a->container;
	v->hint = a->serialzy ? a->serialzy->data_format : NULL;
	v->limits = &a->limits;
	v->dir_fd = a->dir_fd;
	v->cache = &a->cache;

	if (forced) {
		a->format = msi_format_by_name(forced);
		a->format_forced = true;
		msi_report_add(a->findings, "artifact.format.forced", "", "the format '%s' was given, not detected",
		               forced);
		return MS_OK;
	}
	int best = 0;
	bool best_ext = false, best_hint = false;
	for (size_t i = 0; i < msi_format_count(); i++) {
		const msi_format *f = msi_format_at(i);
		int score = f->sniff ? f->sniff(v) : 0;
		if (score <= 0)
			continue;
		if (score > 100)
			score = 100;
		/* Ties: the serialzy header's data_format, then the extension. */
		bool hint = v->hint && strcmp(v->hint, f->name) == 0;
		bool ext = false;
		static const struct { const char *ext, *format; } exts[] = {
			{ ".onnx", "onnx" }, { ".pt", "pt" }, { ".pth", "pt" }, { ".ptl", "pt" },
			{ ".json", "xgb" }, { ".ubj", "xgb" }, { ".model", "xgb" }, { ".txt", "lgbm" },
			{ ".cbm", "cbm" }, { ".qbin", "catboost_quantized_pool" }, { ".keras", "tf_keras" },
			{ ".h5", "tf_keras" }, { ".hdf5", "hdf5" }, { ".index", "tf_checkpoint" },
			{ ".pkl", "pickle" }, { ".pickle", "pickle" },
		};
		for (size_t k = 0; k < MSI_ARRAY_LEN(exts); k++)
			if (strcmp(exts[k].format, f->name) == 0 && msi_name_has_ext(a->base_name, exts[k].ext))
				ext = true;
		if (score > best || (score == best && (hint > best_hint || (hint == best_hint && ext > best_ext)))) {
			best = score;
			best_hint = hint;
			best_ext = ext;
			a->format = f;
		}
	}
	return MS_OK;
}

/* Peels serialzy, zip and tar around a byte source, then detects. */
static int open_source(ms_artifact *a, msi_source *src, const char *forced)
{
	a->root = src;
	a->payload = msi_source_ref(src);
	a->size = src->size;
	if (src->size == 0) {
		push_container(a, "file");
		msi_report_add(a->findings, "artifact.empty", "", "the file is empty (0 bytes)");
		return detect_format(a, forced);
	}
	int rc = read_windows(a);
	if (rc != MS_OK)
		return rc;
	if (msi_serialzy_looks_like(a->head, a->head_len)) {
		rc = msi_serialzy_open(src, &a->limits, &a->serialzy);
		if (rc != MS_OK)
			return rc;
		push_container(a, "serialzy");
		if (!a->serialzy->header_whole)
			return detect_format(a, forced); /* no payload can be found */
		msi_source *payload;
		rc = msi_source_slice(src, a->serialzy->payload_offset, src->size - a->serialzy->payload_offset,
		                      &payload);
		if (rc != MS_OK)
			return rc;
		msi_source_release(a->payload);
		a->payload = payload;
		if (payload->size == 0) {
			a->head_len = a->tail_len = 0;
			return detect_format(a, forced);
		}
		rc = read_windows(a);
		if (rc != MS_OK)
			return rc;
	}
	if (msi_zip_looks_like(a->head, a->head_len, a->tail, a->tail_len)) {
		rc = msi_zip_open(a->payload, &a->limits, &a->container);
		if (rc == MS_OK)
			push_container(a, "zip");
		else if (rc != MS_EFORMAT && rc != MS_EUNSUPPORTED)
			return rc;
	} else if (msi_tar_looks_like(a->head, a->head_len)) {
		rc = msi_tar_open(a->payload, &a->limits, &a->container);
		if (rc == MS_OK)
			push_container(a, "tar");
		else if (rc != MS_EFORMAT && rc != MS_EUNSUPPORTED)
			return rc;
	}
	if (a->ncontainers == 0)
		push_container(a, "file");
	return detect_format(a, forced);
}

/* What every ms_artifact_open_* does first: a handle named after the
 * caller's display path (or `fallback_name`), with the options applied. */
static int begin_open(const ms_open_options *opts, const char *fallback_name, ms_artifact **a,
                      const char **forced)
{
	const char *name = opts && opts->version >= 1 && opts->display_path ? opts->display_path : fallback_name;
	*forced = NULL;
	*a = new_artifact(name);
	if (!*a)
		return msi_error(MS_ENOMEM, "out of memory");
	return apply_options(*a, opts, forced);
}

/* ... and last: hand the handle over, or free it and pass the error on. */
static int finish_open(ms_artifact *a, int rc, ms_artifact **out)
{
	if (!a)
		return rc;
	if (rc == MS_OK && a->findings->failed)
		rc = msi_error(MS_ENOMEM, "out of memory");
	if (rc != MS_OK) {
		ms_artifact_free(a);
		return rc;
	}
	msi_report_set_format(a->findings, a->format ? a->format->name : NULL);
	*out = a;
	return MS_OK;
}

static int open_path(ms_artifact *a, const char *path, const char *forced)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return msi_error_errno(MS_EIO, errno, "cannot open '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		a->dir_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		int rc = msi_dir_open(path, &a->limits, &a->container);
		if (rc != MS_OK)
			return rc;
		push_container(a, "directory");
		a->size = a->container->total_size;
		return detect_format(a, forced);
	}
	if (!S_ISREG(st.st_mode))
		return msi_error(MS_EIO, "'%s' is neither a regular file nor a directory", path);
	msi_source *src;
	int rc = msi_source_open_file(path, &src);
	if (rc != MS_OK)
		return rc;
	/* The parent directory, held from now on, so that files the model names
	 * beside it are looked up where the model was, not where a renamed
	 * path points later. */
	char *dir = msi_strdup(path);
	if (dir) {
		char *slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
		a->dir_fd = open(slash ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		msi_free(dir);
	}
	return open_source(a, src, forced);
}

MS_EXTERN int ms_artifact_open_path(ms_artifact **out, const char *path, const ms_open_options *opts)
{
	if (!out || !path)
		return msi_error(MS_EINVAL, "out and path must not be NULL");
	*out = NULL;
	ms_artifact *a;
	const char *forced;
	int rc = begin_open(opts, path, &a, &forced);
	if (rc == MS_OK)
		rc = open_path(a, path, forced);
	return finish_open(a, rc, out);
}

MS_EXTERN int ms_artifact_open_buffer(ms_artifact **out, const void *data, size_t len, const ms_open_options *opts)
{
	if (!out || (!data && len))
		return msi_error(MS_EINVAL, "out must not be NULL, nor data when len > 0");
	*out = NULL;
	ms_artifact *a;
	const char *forced;
	msi_source *src;
	int rc = begin_open(opts, "<memory>", &a, &forced);
	if (rc == MS_OK)
		rc = msi_source_from_memory(data, len, false, &src);
	if (rc == MS_OK)
		rc = open_source(a, src, forced);
	return finish_open(a, rc, out);
}

MS_EXTERN int ms_artifact_open_fd(ms_artifact **out, int fd, const ms_open_options *opts)
{
	if (!out || fd < 0)
		return msi_error(MS_EINVAL, "out must not be NULL and fd must be open");
	*out = NULL;
	ms_artifact *a;
	const char *forced;
	msi_source *src;
	int rc = begin_open(opts, "<fd>", &a, &forced);
	if (rc == MS_OK)
		rc = msi_source_from_fd(fd, false, &src);
	if (rc == MS_OK)
		rc = open_source(a, src, forced);
	return finish_open(a, rc, out);
}

MS_EXTERN void ms_artifact_free(ms_artifact *a)
{
	if (!a)
		return;
	if (a->cache.free)
		a->cache.free(a->cache.state);
	msi_container_free(a->container);
	msi_serialzy_free(a->serialzy);
	msi_source_release(a->payload);
	msi_source_release(a->root);
	ms_report_free(a->findings);
	msi_free(a->head);
	msi_free(a->tail);
	msi_free(a->path);
	msi_free(a->base_name);
	if (a->dir_fd >= 0)
		close(a->dir_fd);
	for (size_t i = 0; i < a->allow_globals_count; i++)
		msi_free(a->allow_globals[i]);
	msi_free(a->allow_globals);
	msi_free(a);
}

/* "module.name" or "module.*": dotted identifiers, nothing else (no
 * wildcard elsewhere, no empty part). */
static bool allow_pattern_ok(const char *p)
{
	size_t n = strlen(p);
	if (n < 3 || n > 512 || !strchr(p, '.'))
		return false;
	bool star = n >= 2 && strcmp(p + n - 2, ".*") == 0;
	size_t end = star ? n - 2 : n;
	bool part_start = true;
	for (size_t i = 0; i < end; i++) {
		char c = p[i];
		if (c == '.') {
			if (part_start)
				return false;
			part_start = true;
			continue;
		}
		bool ident = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!ident)
			return false;
		part_start = false;
	}
	return !part_start;
}

MS_EXTERN int ms_artifact_allow_globals(ms_artifact *a, const char *const *patterns, size_t count)
{
	if (!a || (count && !patterns))
		return msi_error(MS_EINVAL, "artifact and patterns must not be NULL");
	for (size_t i = 0; i < count; i++)
		if (!patterns[i] || !allow_pattern_ok(patterns[i]))
			return msi_error(MS_EINVAL, "allowlist pattern %zu ('%.100s') is not module.name or module.*", i,
			                 patterns[i] ? patterns[i] : "(null)");
	if (count > SIZE_MAX / sizeof(char *) - a->allow_globals_count)
		return msi_error(MS_EINVAL, "too many patterns");
	char **list = msi_reallocarray(a->allow_globals, a->allow_globals_count + count, sizeof *list);
	if (!list && a->allow_globals_count + count)
		return msi_error(MS_ENOMEM, "out of memory");
	a->allow_globals = list;
	for (size_t i = 0; i < count; i++) {
		size_t n = strlen(patterns[i]);
		char *copy = msi_malloc(n + 1);
		if (!copy)
			return msi_error(MS_ENOMEM, "out of memory");
		memcpy(copy, patterns[i], n + 1);
		a->allow_globals[a->allow_globals_count++] = copy;
	}
	a->view.allow_globals = (const char *const *)a->allow_globals;
	a->view.allow_globals_count = a->allow_globals_count;
	return MS_OK;
}

MS_EXTERN const char *ms_artifact_format(const ms_artifact *a)
{
	return a && a->format ? a->format->name : NULL;
}

MS_EXTERN const char *ms_artifact_container(const ms_artifact *a)
{
	return a && a->ncontainers ? a->containers[0] : NULL;
}

MS_EXTERN uint64_t ms_artifact_size(const ms_artifact *a)
{
	return a ? a->size : 0;
}
