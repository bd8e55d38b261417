/* File system helpers for writing outputs safely: temporary names created
 * with O_EXCL beside the target, rename without replacing, removal of a
 * half-written tree without following symlinks. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "package.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

int msi_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return msi_error_errno(MS_EIO, errno, "write failed");
		}
		p += n;
		len -= (size_t)n;
	}
	return MS_OK;
}

static uint64_t random_u64(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_sec;
	}
	return v;
}

int msi_create_temp(int dir_fd, const char *base, bool directory, char *name, size_t cap, int *fd_out)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	*fd_out = -1;
	for (int attempt = 0; attempt < 100; attempt++) {
		uint64_t r = random_u64();
		char suffix[7];
		for (int i = 0; i < 6; i++) {
			suffix[i] = alphabet[r % 36];
			r /= 36;
		}
		suffix[6] = '\0';
		int n = snprintf(name, cap, ".%.200s.%s.tmp", base, suffix);
		if (n < 0 || (size_t)n >= cap)
			return msi_error(MS_EINVAL, "temporary name too long");
		if (directory) {
			if (mkdirat(dir_fd, name, 0777) != 0) {
				if (errno == EEXIST)
					continue;
				return msi_error_errno(MS_EIO, errno, "cannot create the directory '%s'", name);
			}
			int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				int err = errno;
				unlinkat(dir_fd, name, AT_REMOVEDIR);
				return msi_error_errno(MS_EIO, err, "cannot open the directory '%s'", name);
			}
			*fd_out = fd;
			return MS_OK;
		}
		int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			return msi_error_errno(MS_EIO, errno, "cannot create '%s'", name);
		}
		*fd_out = fd;
		return MS_OK;
	}
	return msi_error(MS_EIO, "cannot find a free temporary name for '%s'", base);
}

void msi_remove_tree(int dir_fd, const char *name, int depth)
{
	if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT)
		return;
	if (depth > 128)
		return;
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	/* Passes until one removes nothing: entries removed while readdir runs
	 * may make it skip others. */
	bool removed = true;
	while (removed) {
		removed = false;
		rewinddir(d);
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			struct stat st;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			if (S_ISDIR(st.st_mode)) {
				msi_remove_tree(dirfd(d), de->d_name, depth + 1);
				removed |= fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0;
			} else {
				removed |= unlinkat(dirfd(d), de->d_name, 0) == 0;
			}
		}
	}
	closedir(d);
	unlinkat(dir_fd, name, AT_REMOVEDIR);
}

int msi_rename(int dir_fd, const char *from, const char *to, bool replace)
{
	if (replace) {
		if (renameat(dir_fd, from, dir_fd, to) != 0)
			return msi_error_errno(MS_EIO, errno, "cannot rename '%s' to '%s'", from, to);
		return MS_OK;
	}
	if (syscall(SYS_renameat2, dir_fd, from, dir_fd, to, RENAME_NOREPLACE) == 0)
		return MS_OK;
	int err = errno;
	if (err == EEXIST)
		return msi_error(MS_EIO, "'%s' already exists", to);
	if (err != EINVAL && err != ENOSYS && err != EPERM)
		return msi_error_errno(MS_EIO, err, "cannot rename '%s' to '%s'", from, to);
	/* no renameat2 here: link() refuses to replace, for files */
	struct stat st;
	if (fstatat(dir_fd, from, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		if (fstatat(dir_fd, to, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return msi_error(MS_EIO, "'%s' already exists", to);
		if (renameat(dir_fd, from, dir_fd, to) != 0)
			return msi_error_errno(MS_EIO, errno, "cannot rename '%s' to '%s'", from, to);
		return MS_OK;
	}
	if (linkat(dir_fd, from, dir_fd, to, 0) != 0) {
		err = errno;
		if (err == EEXIST)
			return msi_error(MS_EIO, "'%s' already exists", to);
		return msi_error_errno(MS_EIO, err, "cannot rename '%s' to '%s'", from, to);
	}
	unlinkat(dir_fd, from, 0);
	return MS_OK;
}
