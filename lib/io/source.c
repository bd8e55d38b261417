/* Sources: see source.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source.h"

/* Streaming granularity. File reads go through a buffer small enough to
 * stay in L2 while the consumer (SHA-256, CRC-32) reads it back: with 1 MiB
 * buffers hashing ran 40% slower than with 64 KiB ones here. Memory-backed
 * sources need no copy and hand out larger pieces. */
#define FILE_CHUNK (64u * 1024u)
#define MEMORY_CHUNK (1u << 20)

static msi_source *new_source(msi_source_kind kind)
{
	msi_source *s = msi_calloc(1, sizeof *s);
	if (!s) {
		msi_error(MS_ENOMEM, "out of memory");
		return NULL;
	}
	s->kind = kind;
	s->refs = 1;
	s->fd = -1;
	return s;
}

int msi_source_from_fd(int fd, bool owns, msi_source **out)
{
	struct stat st;
	*out = NULL;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		if (owns)
			close(fd);
		return msi_error_errno(MS_EIO, e, "cannot stat file descriptor %d", fd);
	}
	if (!S_ISREG(st.st_mode)) {
		if (owns)
			close(fd);
		return msi_error(MS_EIO, "file descriptor %d is not a regular file", fd);
	}
	msi_source *s = new_source(MSI_SOURCE_FILE);
	if (!s) {
		if (owns)
			close(fd);
		return MS_ENOMEM;
	}
	if (!owns) {
		s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (s->fd < 0) {
			int e = errno;
			msi_free(s);
			return msi_error_errno(MS_EIO, e, "cannot duplicate file descriptor %d", fd);
		}
	} else {
		s->fd = fd;
	}
	s->size = (uint64_t)st.st_size;
	/* Sequential reads dominate (hashing, CRCs); metadata reads are few. */
	(void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	*out = s;
	return MS_OK;
}

int msi_source_open_file(const char *path, msi_source **out)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return msi_error_errno(MS_EIO, errno, "cannot open '%s'", path);
	/* O_NONBLOCK only so that opening a FIFO cannot hang; reads of regular
	 * files ignore it. */
	int rc = msi_source_from_fd(fd, true, out);
	if (rc != MS_OK && rc == MS_EIO)
		return msi_error(MS_EIO, "'%s' is not a regular file or directory", path);
	return rc;
}

int msi_source_from_memory(const void *data, size_t len, bool take, msi_source **out)
{
	*out = NULL;
	if (!data && len)
		return msi_error(MS_EINVAL, "NULL buffer with a non-zero length");
	msi_source *s = new_source(MSI_SOURCE_MEMORY);
	if (!s)
		return MS_ENOMEM;
	s->mem = data ? data : (const uint8_t *)"";
	s->size = len;
	s->owned = take ? (void *)data : NULL;
	*out = s;
	return MS_OK;
}

int msi_source_from_big(void *data, size_t len, size_t block, msi_source **out)
{
	int rc = msi_source_from_memory(data, len, true, out);
	if (rc != MS_OK)
		msi_big_free(data, block);
	else
		(*out)->owned_big = block;
	return rc;
}

int msi_source_slice(msi_source *parent, uint64_t off, uint64_t len, msi_source **out)
{
	*out = NULL;
	if (!msi_range_ok(off, len, parent->size))
		return msi_error(MS_EFORMAT, "slice [%llu, +%llu) lies outside a source of %llu bytes",
		                 (unsigned long long)off, (unsigned long long)len,
		                 (unsigned long long)parent->size);
	msi_source *s = new_source(MSI_SOURCE_SLICE);
	if (!s)
		return MS_ENOMEM;
	/* Flatten slices of slices: reads go straight to the root. */
	if (parent->kind == MSI_SOURCE_SLICE) {
		off += parent->base;
		parent = parent->parent;
	}
	s->parent = msi_source_ref(parent);
	s->base = off;
	s->size = len;
	*out = s;
	return MS_OK;
}

msi_source *msi_source_ref(msi_source *s)
{
	if (s)
		s->refs++;
	return s;
}

void msi_source_release(msi_source *s)
{
	if (!s || --s->refs > 0)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->owned_big)
		msi_big_free(s->owned, s->owned_big);
	else
		msi_free(s->owned);
	msi_source_release(s->parent);
	msi_free(s);
}

int64_t msi_source_read_upto(const msi_source *s, uint64_t off, void *dst, size_t len)
{
	if (off >= s->size || len == 0)
		return 0;
	if (len > s->size - off)
		len = (size_t)(s->size - off);
	switch (s->kind) {
	case MSI_SOURCE_MEMORY:
		memcpy(dst, s->mem + off, len);
		return (int64_t)len;
	case MSI_SOURCE_SLICE:
		return msi_source_read_upto(s->parent, s->base + off, dst, len);
	case MSI_SOURCE_FILE: {
		size_t got = 0;
		while (got < len) {
			ssize_t n = pread(s->fd, (uint8_t *)dst + got, len - got, (off_t)(off + got));
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return msi_error_errno(MS_EIO, errno, "read failed at offset %llu",
				                       (unsigned long long)(off + got));
			}
			if (n == 0)
				return msi_error(MS_ECHANGED,
				                 "the file shrank while being read: expected %llu bytes, "
				                 "it ends at %llu",
				                 (unsigned long long)s->size, (unsigned long long)(off + got));
			got += (size_t)n;
		}
		return (int64_t)got;
	}
	}
	return msi_error(MS_ERROR, "bad source kind");
}

int msi_source_read(const msi_source *s, uint64_t off, void *dst, size_t len)
{
	if (!msi_range_ok(off, len, s->size))
		return msi_error(MS_EFORMAT, "read of %zu bytes at offset %llu runs past the end (%llu bytes)",
		                 len, (unsigned long long)off, (unsigned long long)s->size);
	int64_t n = msi_source_read_upto(s, off, dst, len);
	if (n < 0)
		return (int)n;
	return MS_OK;
}

const uint8_t *msi_source_memory(const msi_source *s)
{
	if (s->kind == MSI_SOURCE_MEMORY)
		return s->mem;
	if (s->kind == MSI_SOURCE_SLICE) {
		const uint8_t *m = msi_source_memory(s->parent);
		return m ? m + s->base : NULL;
	}
	return NULL;
}

const uint8_t *msi_source_peek(const msi_source *s, uint64_t off, size_t len, void *scratch, int *rc)
{
	if (!msi_range_ok(off, len, s->size)) {
		*rc = msi_error(MS_EFORMAT, "read of %zu bytes at offset %llu runs past the end (%llu bytes)",
		                len, (unsigned long long)off, (unsigned long long)s->size);
		return NULL;
	}
	const uint8_t *m = msi_source_memory(s);
	if (m) {
		*rc = MS_OK;
		return m + off;
	}
	*rc = msi_source_read(s, off, scratch, len);
	return *rc == MS_OK ? scratch : NULL;
}

int msi_progress_add(msi_progress *p, uint64_t n)
{
	if (!p)
		return MS_OK;
	p->done += n;
	/* A validation may read some bytes twice (a payload hashed and then
	 * checked): what a caller sees never passes the total it was given. */
	uint64_t shown = p->total && p->done > p->total ? p->total : p->done;
	if (p->fn && p->fn(shown, p->total, p->user) != 0)
		return msi_error(MS_ECANCELLED, "cancelled by the progress callback");
	return MS_OK;
}

int msi_source_stream(const msi_source *s, uint64_t off, uint64_t len, msi_chunk_fn fn, void *user,
                      msi_progress *progress)
{
	if (!msi_range_ok(off, len, s->size))
		return msi_error(MS_EFORMAT, "range [%llu, +%llu) runs past the end (%llu bytes)",
		                 (unsigned long long)off, (unsigned long long)len, (unsigned long long)s->size);
	const uint8_t *m = msi_source_memory(s);
	uint8_t *buf = NULL;
	if (!m) {
		buf = msi_malloc(len < FILE_CHUNK ? (size_t)(len ? len : 1) : FILE_CHUNK);
		if (!buf)
			return msi_error(MS_ENOMEM, "out of memory");
	}
	int rc = MS_OK;
	while (len > 0) {
		size_t chunk = m ? MEMORY_CHUNK : FILE_CHUNK;
		size_t n = len < chunk ? (size_t)len : chunk;
		const uint8_t *p;
		if (m) {
			p = m + off;
		} else {
			rc = msi_source_read(s, off, buf, n);
			if (rc != MS_OK)
				break;
			p = buf;
		}
		rc = fn(p, n, user);
		if (rc != MS_OK)
			break;
		rc = msi_progress_add(progress, n);
		if (rc != MS_OK)
			break;
		off += n;
		len -= n;
	}
	msi_free(buf);
	return rc;
}
