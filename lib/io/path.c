/* Path containment: see path.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define MSI_HAVE_OPENAT2_H 1
#endif
#endif

#include "path.h"

#ifndef MSI_HAVE_OPENAT2_H
/* Kernel ABI (include/uapi/linux/openat2.h), stable since Linux 5.6. */
struct open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#endif

#if !defined(SYS_openat2) && defined(__linux__)
#define SYS_openat2 437 /* the same number on every architecture */
#endif

/* The kernel gives up after 40 symlinks in one lookup; so do we. */
#define MAX_LINK_HOPS 40
/* A resolution that grows its pending path beyond this is treated as a
 * loop: no real lookup survives it (PATH_MAX is 4096). */
#define MAX_PENDING (1u << 20)

msi_path_problem msi_path_check(const char *path, size_t len)
{
	if (!path || len == 0)
		return MSI_PATH_EMPTY;
	if (memchr(path, '\0', len))
		return MSI_PATH_NUL;
	if (path[0] == '/' || path[0] == '\\' || (len >= 2 && path[1] == ':'))
		return MSI_PATH_ABSOLUTE;
	if (memchr(path, '\\', len))
		return MSI_PATH_BACKSLASH;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && path[j] != '/')
			j++;
		if (j - i == 2 && path[i] == '.' && path[i + 1] == '.')
			return MSI_PATH_DOTDOT;
		i = j + 1;
	}
	return MSI_PATH_OK;
}

const char *msi_path_problem_str(msi_path_problem p)
{
	switch (p) {
	case MSI_PATH_OK: return "is contained";
	case MSI_PATH_EMPTY: return "is empty";
	case MSI_PATH_NUL: return "contains a NUL byte";
	case MSI_PATH_ABSOLUTE: return "is an absolute path";
	case MSI_PATH_BACKSLASH: return "contains a backslash";
	case MSI_PATH_DOTDOT: return "has a '..' component";
	}
	return "is invalid";
}

/* The kernel-facing rules are looser than msi_path_check: a backslash is a
 * plain byte in a Linux file name, so a directory may legitimately hold one. */
static int check_relpath(const char *relpath)
{
	if (!relpath || !*relpath)
		return msi_error(MS_EINVAL, "empty path");
	if (relpath[0] == '/')
		return msi_error(MS_EINVAL, "'%.200s' is absolute", relpath);
	for (const char *p = relpath; *p;) {
		const char *e = strchrnul(p, '/');
		if (e - p == 2 && p[0] == '.' && p[1] == '.')
			return msi_error(MS_EINVAL, "'%.200s' has a '..' component", relpath);
		p = *e ? e + 1 : e;
	}
	return MS_OK;
}

static int open_failed(int err, const char *relpath)
{
	if (err == ELOOP)
		return msi_error(MS_EIO, "refused to open '%.200s': a symlink is on the way", relpath);
	if (err == EXDEV)
		return msi_error(MS_EIO, "refused to open '%.200s': it leads outside the directory", relpath);
	return msi_error_errno(MS_EIO, err, "cannot open '%.200s'", relpath);
}

int msi_open_beneath_walk(int root_fd, const char *relpath, int flags, int *out_fd)
{
	*out_fd = -1;
	int rc = check_relpath(relpath);
	if (rc != MS_OK)
		return rc;
	int cur = root_fd;
	const char *p = relpath;
	char comp[NAME_MAX + 1];
	/* "dir/" must name a directory, as the kernel's own lookup demands */
	if (relpath[strlen(relpath) - 1] == '/')
		flags |= O_DIRECTORY;
	for (;;) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		const char *rest = e;
		while (*rest == '/')
			rest++;
		bool last = *rest == '\0';
		if (n == 0) {
			/* "a/" or "a/." at the end: reopen the directory itself */
			n = 1;
			p = ".";
			last = true;
		}
		if (n > NAME_MAX) {
			if (cur != root_fd)
				close(cur);
			return open_failed(ENAMETOOLONG, relpath);
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (strcmp(comp, ".") == 0 && !last) {
			p = rest;
			continue;
		}
		int fd;
		if (last)
			fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC);
		else
			fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int err = errno;
		if (fd < 0 && !last && err == ENOTDIR) {
			/* O_PATH|O_NOFOLLOW opens a symlink as itself, and
			 * O_DIRECTORY then says ENOTDIR: name the real reason. */
			struct stat st;
			if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				err = ELOOP;
		}
		if (cur != root_fd)
			close(cur);
		if (fd < 0)
			return open_failed(err, relpath);
		if (last) {
			/* O_PATH|O_NOFOLLOW hands back the link itself on purpose;
			 * anything else that is a link must not get through. */
			struct stat st;
			if (!(flags & O_PATH) && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
				close(fd);
				return open_failed(ELOOP, relpath);
			}
			*out_fd = fd;
			return MS_OK;
		}
		cur = fd;
		p = rest;
	}
}

static bool openat2_disabled(void)
{
	const char *v = getenv("MODELSTORE_NO_OPENAT2");
	return v && v[0] && strcmp(v, "0") != 0;
}

int msi_open_beneath(int root_fd, const char *relpath, int flags, int *out_fd)
{
	*out_fd = -1;
	int rc = check_relpath(relpath);
	if (rc != MS_OK)
		return rc;
#ifdef SYS_openat2
	if (!openat2_disabled()) {
		struct open_how how;
		memset(&how, 0, sizeof how);
		how.flags = (uint64_t)(unsigned)(flags | O_NOFOLLOW | O_CLOEXEC);
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
		long fd;
		do
			fd = syscall(SYS_openat2, root_fd, relpath, &how, sizeof how);
		while (fd < 0 && errno == EINTR);
		if (fd >= 0) {
			*out_fd = (int)fd;
			return MS_OK;
		}
		int err = errno;
		/* ENOSYS: kernel < 5.6; EPERM: a seccomp filter (containers)
		 * that does not know the call; E2BIG: a kernel that wants a
		 * smaller struct. Anything else is the real answer. */
		if (err != ENOSYS && err != EPERM && err != E2BIG)
			return open_failed(err, relpath);
	}
#endif
	return msi_open_beneath_walk(root_fd, relpath, flags, out_fd);
}

/* ---- lexical resolution ---- */

/* Drops the last component of a resolved path ("a/b" -> "a", "a" -> ""). */
static void pop_component(msi_buf *cur)
{
	size_t i = cur->len;
	while (i > 0 && cur->data[i - 1] != '/')
		i--;
	cur->len = i ? i - 1 : 0;
	if (cur->data)
		cur->data[cur->len] = '\0';
}

int msi_path_resolve(const char *path, size_t len, bool follow_last, msi_path_readlink_fn readlink_fn, void *user,
                     msi_link_verdict *verdict)
{
	*verdict = MSI_LINK_INSIDE;
	if (len > 0 && path[0] == '/') {
		*verdict = MSI_LINK_OUTSIDE;
		return MS_OK;
	}
	msi_buf todo = MSI_BUF_INIT, cur = MSI_BUF_INIT, target = MSI_BUF_INIT;
	msi_buf_append(&todo, path, len);
	size_t pos = 0;
	int hops = 0, rc = MS_OK;
	while (!todo.failed && !cur.failed) {
		while (pos < todo.len && todo.data[pos] == '/')
			pos++;
		if (pos >= todo.len)
			break;
		size_t end = pos;
		while (end < todo.len && todo.data[end] != '/')
			end++;
		const char *c = todo.data + pos;
		size_t n = end - pos;
		size_t next = end;
		while (next < todo.len && todo.data[next] == '/')
			next++;
		bool last = next >= todo.len;
		pos = end;
		if (n == 1 && c[0] == '.')
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			if (cur.len == 0) {
				*verdict = MSI_LINK_OUTSIDE;
				break;
			}
			pop_component(&cur);
			continue;
		}
		if (cur.len)
			msi_buf_putc(&cur, '/');
		msi_buf_append(&cur, c, n);
		if ((last && !follow_last) || !readlink_fn || cur.failed)
			continue;
		target.len = 0;
		int r = readlink_fn(user, cur.data, &target);
		if (r < 0) {
			rc = r;
			break;
		}
		if (r == 0)
			continue;
		if (target.failed)
			break;
		if (++hops > MAX_LINK_HOPS) {
			*verdict = MSI_LINK_LOOP;
			break;
		}
		pop_component(&cur);
		if (target.len > 0 && target.data[0] == '/') {
			*verdict = MSI_LINK_OUTSIDE;
			break;
		}
		/* The rest of the path now follows the link's target. */
		msi_buf spliced = MSI_BUF_INIT;
		msi_buf_append(&spliced, target.data, target.len);
		msi_buf_putc(&spliced, '/');
		msi_buf_append(&spliced, todo.data + pos, todo.len - pos);
		msi_buf_free(&todo);
		todo = spliced;
		pos = 0;
		if (todo.len > MAX_PENDING) {
			*verdict = MSI_LINK_LOOP;
			break;
		}
	}
	if (rc == MS_OK && (todo.failed || cur.failed || target.failed))
		rc = msi_error(MS_ENOMEM, "out of memory");
	msi_buf_free(&todo);
	msi_buf_free(&cur);
	msi_buf_free(&target);
	return rc;
}
