/*
 * Directory container: a model saved as a folder (TF SavedModel, TF
 * checkpoint, ONNX with external data). The tree is walked from one
 * O_DIRECTORY root descriptor with openat/fdopendir/fstatat, never by
 * building path strings and reopening them, and symlinks are never
 * followed: they are listed, and their targets are resolved only to say
 * whether they stay inside. Files are opened later, one at a time, through
 * msi_open_beneath (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so a
 * tree that changes under us cannot redirect a read outside the root.
 *
 * The listing is sorted bytewise by relative path: inspect.c's directory
 * digest depends on that order.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../containers/container.h"
#include "path.h"

typedef struct dir_impl {
	int root_fd;
} dir_impl;

typedef struct frame {
	DIR *d;
	size_t prefix_len; /* length of this folder's relative path in `rel` */
} frame;

typedef struct walker {
	msi_container *c;
	const msi_limits *limits;
	int root_fd;
	size_t cap;
	msi_buf rel;  /* relative path of the entry at hand */
	bool stopped; /* too many members: the listing is incomplete */
} walker;

static void free_impl(void *impl)
{
	dir_impl *d = impl;
	if (!d)
		return;
	if (d->root_fd >= 0)
		close(d->root_fd);
	msi_free(d);
}

/* msi_path_readlink_fn over the real tree. `path` has no symlink among its
 * prefixes (msi_path_resolve replaced them), so opening it beneath the root
 * with symlinks refused names exactly that place; O_PATH|O_NOFOLLOW hands
 * back the final symlink itself. Missing or unreadable: "not a link". */
static int tree_readlink(void *user, const char *path, msi_buf *target)
{
	const walker *w = user;
	int fd;
	if (msi_open_beneath(w->root_fd, path, O_PATH | O_NOFOLLOW, &fd) != MS_OK)
		return 0;
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
		char buf[PATH_MAX];
		ssize_t n = readlinkat(fd, "", buf, sizeof buf);
		if (n >= 0 && (size_t)n < sizeof buf) {
			msi_buf_append(target, buf, (size_t)n);
			r = 1;
		}
	}
	close(fd);
	return r;
}

static int add_entry(walker *w, msi_entry_type type, uint64_t size, msi_entry **out)
{
	msi_container *c = w->c;
	if (c->count == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 32;
		msi_entry *ne = msi_reallocarray(c->entries, ncap, sizeof *ne);
		if (!ne)
			return msi_error(MS_ENOMEM, "out of memory");
		c->entries = ne;
		w->cap = ncap;
	}
	char *name = msi_strdup(w->rel.data);
	if (!name)
		return msi_error(MS_ENOMEM, "out of memory");
	msi_entry *e = &c->entries[c->count++];
	memset(e, 0, sizeof *e);
	e->name = name;
	e->type = type;
	e->size = size;
	e->csize = size;
	*out = e;
	return MS_OK;
}

/* Lists a symlink found in `dir_fd` as `name` (w->rel is its path). */
static int add_symlink(walker *w, int dir_fd, const char *name, size_t prefix_len)
{
	msi_container *c = w->c;
	const char *rel = w->rel.data;
	char buf[PATH_MAX];
	ssize_t n = readlinkat(dir_fd, name, buf, sizeof buf);
	if (n < 0 || (size_t)n >= sizeof buf) {
		msi_container_finding(c, "dir.unreadable", rel, "cannot read the symlink '%.200s'", rel);
		n = 0;
	}
	msi_entry *e;
	int rc = add_entry(w, MSI_ENTRY_SYMLINK, 0, &e);
	if (rc != MS_OK)
		return rc;
	e->link_target = msi_strndup(buf, (size_t)n);
	if (!e->link_target)
		return msi_error(MS_ENOMEM, "out of memory");
	/* Resolve "<folder of the link>/<target>" from the root. */
	msi_buf path = MSI_BUF_INIT;
	if (n == 0 || buf[0] != '/') {
		msi_buf_append(&path, rel, prefix_len);
		if (prefix_len)
			msi_buf_putc(&path, '/');
	}
	msi_buf_append(&path, buf, (size_t)n);
	if (path.failed) {
		msi_buf_free(&path);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	msi_link_verdict v = MSI_LINK_INSIDE;
	rc = msi_path_resolve(path.data ? path.data : "", path.len, true, tree_readlink, w, &v);
	msi_buf_free(&path);
	if (rc != MS_OK)
		return rc;
	if (v == MSI_LINK_OUTSIDE) {
		msi_container_finding(c, "dir.symlink.escape", e->name,
		                      "the symlink '%.200s' -> '%.200s' leads outside the directory", e->name,
		                      e->link_target);
		e->unsafe = true;
	} else {
		msi_container_finding(c, "dir.symlink", e->name, "the symlink '%.200s' -> '%.200s' is not followed%s",
		                      e->name, e->link_target,
		                      v == MSI_LINK_LOOP ? " (it does not resolve: a symlink loop)" : "");
	}
	return MS_OK;
}

/* Opens the sub-folder `name` of `dir_fd`, checking that it is still the
 * folder fstatat saw (not swapped for a link in between). */
static DIR *open_subdir(walker *w, int dir_fd, const char *name, const struct stat *seen)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_dev != seen->st_dev || st.st_ino != seen->st_ino)) {
		close(fd);
		fd = -1;
		errno = ESTALE;
	}
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		msi_container_finding(w->c, "dir.unreadable", w->rel.data, "cannot open the folder '%.200s': %s",
		                      w->rel.data, strerror(e));
	}
	return d;
}

/* Does the folder hold anything? Used only past the depth limit, so that
 * an empty folder at the limit is not reported. */
static bool has_children(DIR *d)
{
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			return true;
	return false;
}

/* Handles one name read from the folder on top of the stack. May push a
 * frame for a sub-folder. */
static int visit(walker *w, frame *frames, size_t *nframes, const char *name)
{
	msi_container *c = w->c;
	frame *f = &frames[*nframes - 1];
	int dir_fd = dirfd(f->d);
	w->rel.len = f->prefix_len;
	if (f->prefix_len)
		msi_buf_putc(&w->rel, '/');
	msi_buf_puts(&w->rel, name);
	if (w->rel.failed)
		return msi_error(MS_ENOMEM, "out of memory");
	const char *rel = w->rel.data;

	struct stat st;
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT) /* gone since readdir: nothing to list */
			msi_container_finding(c, "dir.unreadable", rel, "cannot stat '%.200s': %s", rel,
			                      strerror(errno));
		return MS_OK;
	}
	if (c->count >= w->limits->max_members) {
		msi_container_finding(c, "dir.too_many_members", rel,
		                      "the directory holds more than %llu entries; the rest is not listed",
		                      (unsigned long long)w->limits->max_members);
		w->stopped = true;
		return MS_OK;
	}
	msi_entry *e;
	int rc;
	if (S_ISREG(st.st_mode)) {
		rc = add_entry(w, MSI_ENTRY_FILE, (uint64_t)st.st_size, &e);
		if (rc == MS_OK && !msi_add_u64(c->total_size, (uint64_t)st.st_size, &c->total_size))
			c->total_size = UINT64_MAX;
		return rc;
	}
	if (S_ISLNK(st.st_mode))
		return add_symlink(w, dir_fd, name, f->prefix_len);
	if (!S_ISDIR(st.st_mode)) {
		rc = add_entry(w, MSI_ENTRY_OTHER, 0, &e);
		if (rc != MS_OK)
			return rc;
		e->unsafe = true;
		msi_container_finding(c, "dir.special_file", e->name, "'%.200s' is a %s; it is not read", e->name,
		                      S_ISFIFO(st.st_mode) ? "FIFO" : S_ISSOCK(st.st_mode) ? "socket"
		                      : S_ISCHR(st.st_mode) ? "character device" : "block device");
		return MS_OK;
	}
	rc = add_entry(w, MSI_ENTRY_DIR, 0, &e);
	if (rc != MS_OK)
		return rc;
	DIR *d = open_subdir(w, dir_fd, name, &st);
	if (!d)
		return MS_OK;
	/* Entries of the new folder would have *nframes + 1 components. */
	if (*nframes + 1 > w->limits->max_depth) {
		if (has_children(d))
			msi_container_finding(c, "dir.too_deep", e->name,
			                      "'%.200s' nests deeper than %u levels; its content is not listed", e->name,
			                      (unsigned)w->limits->max_depth);
		closedir(d);
		return MS_OK;
	}
	frames[*nframes].d = d;
	frames[*nframes].prefix_len = w->rel.len;
	(*nframes)++;
	return MS_OK;
}

static int walk(walker *w)
{
	size_t max_frames = (size_t)w->limits->max_depth + 1;
	frame *frames = msi_calloc(max_frames, sizeof *frames);
	if (!frames)
		return msi_error(MS_ENOMEM, "out of memory");
	int fd = fcntl(w->root_fd, F_DUPFD_CLOEXEC, 0);
	DIR *root = fd >= 0 ? fdopendir(fd) : NULL;
	if (!root) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		msi_free(frames);
		return msi_error_errno(MS_EIO, e, "cannot read the directory");
	}
	frames[0].d = root;
	size_t nframes = 1;
	int rc = MS_OK;
	while (nframes > 0 && rc == MS_OK && !w->stopped) {
		frame *f = &frames[nframes - 1];
		errno = 0;
		struct dirent *de = readdir(f->d);
		if (!de) {
			if (errno) {
				w->rel.len = f->prefix_len;
				if (w->rel.data)
					w->rel.data[w->rel.len] = '\0';
				msi_container_finding(w->c, "dir.unreadable", w->rel.data ? w->rel.data : "",
				                      "cannot list the folder '%.200s': %s",
				                      w->rel.len ? w->rel.data : ".", strerror(errno));
			}
			closedir(f->d);
			nframes--;
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = visit(w, frames, &nframes, de->d_name);
	}
	while (nframes > 0)
		closedir(frames[--nframes].d);
	msi_free(frames);
	return rc;
}

static int cmp_entry(const void *a, const void *b)
{
	/* strcmp compares as unsigned char: bytewise order */
	return strcmp(((const msi_entry *)a)->name, ((const msi_entry *)b)->name);
}

static int dir_open_entry(msi_container *c, size_t index, uint64_t max_size, msi_source **out)
{
	MSI_UNUSED(max_size); /* files are read in place, never loaded whole */
	*out = NULL;
	if (index >= c->count)
		return msi_error(MS_EINVAL, "directory entry %zu does not exist", index);
	const msi_entry *e = &c->entries[index];
	if (e->unsafe || e->type != MSI_ENTRY_FILE)
		return msi_error(MS_EINVAL, "'%.200s' is not a regular file of the directory", e->name);
	const dir_impl *d = c->impl;
	int fd;
	/* O_NONBLOCK: a file swapped for a FIFO must not hang the open. */
	int rc = msi_open_beneath(d->root_fd, e->name, O_RDONLY | O_NOCTTY | O_NONBLOCK, &fd);
	if (rc != MS_OK)
		return rc;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return msi_error(MS_ECHANGED, "'%.200s' is no longer a regular file", e->name);
	}
	if ((uint64_t)st.st_size != e->size) {
		close(fd);
		return msi_error(MS_ECHANGED, "'%.200s' changed size since it was listed (%llu, now %llu bytes)",
		                 e->name, (unsigned long long)e->size, (unsigned long long)st.st_size);
	}
	return msi_source_from_fd(fd, true, out);
}

static const msi_container_ops dir_ops = { dir_open_entry, NULL, free_impl };

int msi_dir_open(const char *path, const msi_limits *limits, msi_container **out)
{
	*out = NULL;
	if (!path)
		return msi_error(MS_EINVAL, "path is NULL");
	int root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return msi_error_errno(MS_EIO, errno, "cannot open the directory '%s'", path);
	msi_container *c = msi_calloc(1, sizeof *c);
	dir_impl *impl = msi_calloc(1, sizeof *impl);
	if (!c || !impl || !(c->findings = msi_report_new(NULL, NULL))) {
		close(root_fd);
		msi_free(impl);
		msi_free(c);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	impl->root_fd = root_fd;
	c->kind = "directory";
	c->ops = &dir_ops;
	c->impl = impl;
	walker w;
	memset(&w, 0, sizeof w);
	w.c = c;
	w.limits = limits;
	w.root_fd = root_fd;
	int rc = walk(&w);
	msi_buf_free(&w.rel);
	if (rc == MS_OK && c->findings->failed)
		rc = msi_error(MS_ENOMEM, "out of memory");
	if (rc != MS_OK) {
		msi_container_free(c);
		return rc;
	}
	if (c->count > 1)
		qsort(c->entries, c->count, sizeof *c->entries, cmp_entry);
	*out = c;
	return MS_OK;
}
