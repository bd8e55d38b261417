/*
 * ms_artifact_unpack: serialzy's unpack_model, safely.
 *
 * The payload goes to a temporary name beneath DEST (created with O_EXCL,
 * or a fresh directory for a tar) and is renamed to serialzy's name at the
 * end; on any failure the temporary is removed. Tars are extracted only
 * when the reader (containers/tar.c) found no error and flagged no member
 * unsafe; every file is created with openat() beneath the temporary
 * directory one component at a time with O_NOFOLLOW, so neither a name
 * nor a symlink planted in DEST can lead outside it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../artifact/artifact.h"
#include "package.h"

#define COPY_CHUNK (256u * 1024u)

MS_EXTERN int ms_unpack_options_init(ms_unpack_options *opts, unsigned int version)
{
	if (!opts)
		return msi_error(MS_EINVAL, "opts is NULL");
	if (version < 1 || version > MS_UNPACK_OPTIONS_VERSION)
		return msi_error(MS_EVERSION, "ms_unpack_options version %u is not supported", version);
	ms_unpack_options init = MS_UNPACK_OPTIONS_INIT;
	*opts = init;
	opts->version = version;
	return MS_OK;
}

typedef struct copy_ctx {
	int fd;
	msi_sha256 *hash; /* NULL: no check */
} copy_ctx;

/* The header must be one serialzy itself would read, with a payload, and
 * pass every check of containers/serialzy.c (a pickled or impossible schema
 * type is refused too: validate calls it an error). */
static int check_stream(const ms_artifact *a, const msi_pack_format **pf)
{
	const msi_serialzy *s = a->serialzy;
	if (!s)
		return msi_error(MS_EFORMAT, "'%.200s' is not a serialzy stream (no 'serialzy' magic)", a->path);
	for (size_t i = 0; i < s->findings->count; i++) {
		const msi_finding *f = &s->findings->items[i];
		if (f->severity != MS_SEVERITY_ERROR)
			continue;
		return msi_error(MS_EFORMAT, "the serialzy stream cannot be unpacked: %s (%s)", f->message, f->code);
	}
	if (!s->data_format)
		return msi_error(MS_EFORMAT, "the serialzy header has no data_format");
	*pf = msi_pack_format_by_name(s->data_format);
	if (!*pf)
		return msi_error(MS_EUNSUPPORTED, "serialzy's unpack_model does not write the data format '%.100s'",
		                 s->data_format);
	return MS_OK;
}

/* The model resource's size and digest, when the stream carries one. */
static int expected_digest(const ms_artifact *a, uint64_t payload_size, bool *check, char hex[65])
{
	*check = false;
	const msi_jval *um = a->serialzy->user_meta;
	if (!msi_model_jval_is_resource(um))
		return MS_OK;
	const msi_jval *size = msi_jval_get(um, "size");
	const msi_jval *sha = msi_jval_get(um, "sha256");
	if (size->kind == MSI_JNUMBER) {
		uint64_t n = 0;
		bool ok = size->text_len > 0 && size->text_len <= 20;
		for (size_t i = 0; ok && i < size->text_len; i++)
			ok = size->text[i] >= '0' && size->text[i] <= '9' && msi_mul_u64(n, 10, &n) &&
			     msi_add_u64(n, (uint64_t)(size->text[i] - '0'), &n);
		if (!ok || n != payload_size)
			return msi_error(MS_EFORMAT, "the payload has %llu bytes, the model resource says %s",
			                 (unsigned long long)payload_size, size->text);
	}
	if (sha->kind == MSI_JSTRING) {
		if (!msi_model_sha_valid(sha->text, sha->text_len))
			return msi_error(MS_EFORMAT, "the model resource's sha256 '%.80s' is not a SHA-256", sha->text);
		memcpy(hex, sha->text, 65);
		*check = true;
	}
	return MS_OK;
}

static int finish_digest(msi_sha256 *h, const char *want)
{
	uint8_t d[32];
	char hex[65];
	msi_sha256_final(h, d);
	msi_hex(d, 32, hex);
	if (strcmp(hex, want) != 0)
		return msi_error(MS_EFORMAT, "the payload's sha256 is %s, the model resource says %s", hex, want);
	return MS_OK;
}

/* ---- a single file ---- */

static int unpack_file(ms_artifact *a, int dfd, const char *name, bool check, const char *want, bool do_fsync,
                       bool replace, msi_progress *progress)
{
	char tmp[300];
	copy_ctx c = { -1, NULL };
	int rc = msi_create_temp(dfd, name, false, tmp, sizeof tmp, &c.fd);
	if (rc != MS_OK)
		return rc;
	if (check && !(c.hash = msi_sha256_new()))
		rc = msi_error(MS_ENOMEM, "out of memory");
	if (rc == MS_OK)
		rc = msi_copy_hashed(msi_read_source, a->payload, 0, a->payload->size, c.fd, c.hash, progress);
	if (c.hash) {
		if (rc == MS_OK)
			rc = finish_digest(c.hash, want);
		else
			msi_sha256_abort(c.hash);
	}
	if (rc == MS_OK && do_fsync && fsync(c.fd) != 0)
		rc = msi_error_errno(MS_EIO, errno, "fsync failed");
	if (close(c.fd) != 0 && rc == MS_OK)
		rc = msi_error_errno(MS_EIO, errno, "closing '%s' failed", tmp);
	if (rc == MS_OK)
		rc = msi_rename(dfd, tmp, name, replace);
	if (rc != MS_OK)
		unlinkat(dfd, tmp, 0);
	return rc;
}

/* ---- a tar ---- */

/* Opens (creating with `create`) the directory `path` (n bytes, '/'
 * separated, relative) beneath `root`, one component at a time without
 * following symlinks. Returns a new fd (O_PATH) or a negative code. */
static int walk_dirs(int root, const char *path, size_t n, bool create, int *out)
{
	int cur = root;
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && path[j] != '/')
			j++;
		size_t cl = j - i;
		if (cl == 0 || (cl == 1 && path[i] == '.')) {
			i = j + 1;
			continue;
		}
		char comp[256];
		if (cl >= sizeof comp || (cl == 2 && path[i] == '.' && path[i + 1] == '.')) {
			if (cur != root)
				close(cur);
			return msi_error(MS_EFORMAT, "member path '%.200s' cannot be extracted", path);
		}
		memcpy(comp, path + i, cl);
		comp[cl] = '\0';
		if (create && mkdirat(cur, comp, 0777) != 0 && errno != EEXIST) {
			int err = errno;
			if (cur != root)
				close(cur);
			return msi_error_errno(MS_EIO, err, "cannot create the directory '%.200s'", path);
		}
		int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int err = errno;
		if (cur != root)
			close(cur);
		if (fd < 0)
			return msi_error_errno(MS_EIO, err, "cannot open the directory '%.200s'", path);
		cur = fd;
		i = j + 1;
	}
	*out = cur == root ? fcntl(root, F_DUPFD_CLOEXEC, 0) : cur;
	return *out < 0 ? msi_error_errno(MS_EIO, errno, "dup failed") : MS_OK;
}

/* The parent directory of a member (created) and its last component. */
static int member_parent(int root, const char *name, int *pfd, const char **base)
{
	const char *slash = strrchr(name, '/');
	*base = slash ? slash + 1 : name;
	if (!**base || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0)
		return msi_error(MS_EFORMAT, "member '%.200s' has no file name", name);
	return walk_dirs(root, name, slash ? (size_t)(slash - name) : 0, true, pfd);
}

static int extract_tar(ms_artifact *a, msi_container *c, int root, bool do_fsync, msi_progress *progress)
{
	/* Refuse the whole archive before writing anything. */
	for (size_t i = 0; i < c->findings->count; i++) {
		const msi_finding *f = &c->findings->items[i];
		if (f->severity == MS_SEVERITY_ERROR)
			return msi_error(MS_EFORMAT, "the tar payload is refused: %s (%s)", f->message, f->code);
	}
	for (size_t i = 0; i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->unsafe)
			return msi_error(MS_EFORMAT, "tar member '%.200s' would be written outside the destination",
			                 e->name);
		if (e->type == MSI_ENTRY_SYMLINK)
			return msi_error(MS_EUNSUPPORTED, "tar member '%.200s' is a symlink, which is not extracted",
			                 e->name);
		if (e->type == MSI_ENTRY_OTHER)
			return msi_error(MS_EUNSUPPORTED, "tar member '%.200s' is not a file or directory", e->name);
		size_t depth = 1;
		for (const char *p = e->name; *p; p++)
			depth += *p == '/';
		if (depth > a->limits.max_depth)
			return msi_error(MS_ELIMIT, "tar member '%.200s' nests deeper than %u levels", e->name,
			                 a->limits.max_depth);
	}
	int rc = MS_OK;
	for (size_t i = 0; i < c->count && rc == MS_OK; i++) {
		const msi_entry *e = &c->entries[i];
		int pfd;
		if (e->type == MSI_ENTRY_DIR) {
			rc = walk_dirs(root, e->name, strlen(e->name), true, &pfd);
			if (rc == MS_OK)
				close(pfd);
			continue;
		}
		const char *base;
		rc = member_parent(root, e->name, &pfd, &base);
		if (rc != MS_OK)
			break;
		/* a repeated name: the later member wins, as on extraction */
		if (unlinkat(pfd, base, 0) != 0 && errno != ENOENT) {
			rc = msi_error_errno(MS_EIO, errno, "cannot replace '%.200s'", e->name);
			close(pfd);
			break;
		}
		if (e->type == MSI_ENTRY_HARDLINK) {
			int tfd;
			const char *tbase;
			rc = member_parent(root, e->link_target, &tfd, &tbase);
			if (rc == MS_OK) {
				if (linkat(tfd, tbase, pfd, base, 0) != 0)
					rc = msi_error_errno(MS_EFORMAT, errno, "hard link '%.200s' -> '%.200s' cannot be made",
					                     e->name, e->link_target);
				close(tfd);
			}
			close(pfd);
			continue;
		}
		copy_ctx cc = { -1, NULL };
		cc.fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		int err = errno;
		close(pfd);
		if (cc.fd < 0) {
			rc = msi_error_errno(MS_EIO, err, "cannot create '%.200s'", e->name);
			break;
		}
		msi_source *src;
		rc = c->ops->open_entry(c, i, UINT64_MAX, &src);
		if (rc == MS_OK) {
			rc = msi_copy_hashed(msi_read_source, src, 0, src->size, cc.fd, NULL, progress);
			msi_source_release(src);
		}
		if (rc == MS_OK && do_fsync && fsync(cc.fd) != 0)
			rc = msi_error_errno(MS_EIO, errno, "fsync failed");
		if (close(cc.fd) != 0 && rc == MS_OK)
			rc = msi_error_errno(MS_EIO, errno, "closing '%.200s' failed", e->name);
	}
	return rc;
}

static int unpack_tar(ms_artifact *a, int dfd, const char *name, bool check, const char *want, bool do_fsync,
                      bool replace, msi_progress *progress)
{
	int rc = MS_OK;
	if (check) {
		/* the digest covers the whole tar: one pass before extracting */
		copy_ctx c = { -1, msi_sha256_new() };
		if (!c.hash)
			return msi_error(MS_ENOMEM, "out of memory");
		rc = msi_copy_hashed(msi_read_source, a->payload, 0, a->payload->size, -1, c.hash, NULL);
		if (rc == MS_OK)
			rc = finish_digest(c.hash, want);
		else
			msi_sha256_abort(c.hash);
		if (rc != MS_OK)
			return rc;
	}
	msi_container *c = a->container && strcmp(a->container->kind, "tar") == 0 ? a->container : NULL;
	msi_container *own = NULL;
	if (!c) {
		rc = msi_tar_open(a->payload, &a->limits, &own);
		if (rc == MS_EFORMAT)
			return msi_error(MS_EFORMAT, "the %s payload is not a tar archive", a->serialzy->data_format);
		if (rc != MS_OK)
			return rc;
		c = own;
	}
	char tmp[300];
	int root;
	rc = msi_create_temp(dfd, name, true, tmp, sizeof tmp, &root);
	if (rc == MS_OK) {
		rc = extract_tar(a, c, root, do_fsync, progress);
		if (rc == MS_OK && do_fsync)
			fsync(root);
		close(root);
		if (rc == MS_OK && replace) {
			/* move the old one aside first: a directory cannot be
			 * replaced by rename() unless it is empty */
			struct stat st;
			char old[300];
			int ofd;
			if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
				rc = msi_create_temp(dfd, name, true, old, sizeof old, &ofd);
				if (rc == MS_OK) {
					close(ofd);
					rc = msi_rename(dfd, name, old, true);
					if (rc == MS_OK)
						rc = msi_rename(dfd, tmp, name, false);
					if (rc != MS_OK)
						renameat(dfd, old, dfd, name);
					msi_remove_tree(dfd, old, 0);
				}
			} else {
				rc = msi_rename(dfd, tmp, name, true);
			}
		} else if (rc == MS_OK) {
			rc = msi_rename(dfd, tmp, name, false);
		}
		if (rc != MS_OK)
			msi_remove_tree(dfd, tmp, 0);
	}
	msi_container_free(own);
	return rc;
}

MS_EXTERN int ms_artifact_unpack(ms_artifact *a, const char *dest_dir, const ms_unpack_options *opts, char **name_out)
{
	if (!a || !dest_dir)
		return msi_error(MS_EINVAL, "artifact and dest_dir must not be NULL");
	if (name_out)
		*name_out = NULL;
	unsigned flags = 0;
	msi_progress progress = { 0 };
	if (opts) {
		if (opts->version < 1 || opts->version > MS_UNPACK_OPTIONS_VERSION)
			return msi_error(MS_EVERSION, "ms_unpack_options version %u is not supported", opts->version);
		flags = opts->flags;
		progress.fn = opts->progress;
		progress.user = opts->progress_user;
	}
	const msi_pack_format *pf;
	int rc = check_stream(a, &pf);
	if (rc != MS_OK)
		return rc;
	progress.total = a->payload->size;
	bool check = false;
	char want[65] = "";
	if (!(flags & MS_UNPACK_NO_VERIFY)) {
		rc = expected_digest(a, a->payload->size, &check, want);
		if (rc != MS_OK)
			return rc;
	}
	if (mkdir(dest_dir, 0777) != 0 && errno != EEXIST)
		return msi_error_errno(MS_EIO, errno, "cannot create the directory '%.200s'", dest_dir);
	int dfd = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return msi_error_errno(MS_EIO, errno, "cannot open the directory '%.200s'", dest_dir);
	bool replace = (flags & MS_UNPACK_OVERWRITE) != 0;
	struct stat st;
	if (fstatat(dfd, pf->unpack_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!replace)
			rc = msi_error(MS_EIO, "'%.200s/%s' already exists", dest_dir, pf->unpack_name);
		else if (S_ISDIR(st.st_mode) != pf->directory)
			rc = msi_error(MS_EIO, "'%.200s/%s' exists and is %s", dest_dir, pf->unpack_name,
			               S_ISDIR(st.st_mode) ? "a directory" : "not a directory");
	}
	bool do_fsync = (flags & MS_UNPACK_FSYNC) != 0;
	if (rc == MS_OK) {
		if (pf->directory)
			rc = unpack_tar(a, dfd, pf->unpack_name, check, want, do_fsync, replace, &progress);
		else
			rc = unpack_file(a, dfd, pf->unpack_name, check, want, do_fsync, replace, &progress);
	}
	if (rc == MS_OK && do_fsync)
		fsync(dfd);
	close(dfd);
	if (rc == MS_OK && name_out && !(*name_out = msi_strdup(pf->unpack_name)))
		rc = msi_error(MS_ENOMEM, "out of memory");
	return rc;
}
