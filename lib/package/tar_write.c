/*
 * A reproducible tar of a directory, byte for byte what Python's tarfile
 * writes for shutil.make_archive(base, "tar", root) (serialzy's
 * serialize_to_dir) in USTAR_FORMAT with a filter that zeroes mtime, uid and
 * gid and blanks uname and gname:
 *
 *  - members in tarfile.add's order: the root "." first, then
 *    sorted(os.listdir()) of each directory, depth first;
 *  - names "./<relpath>", directories with a trailing '/', split into the
 *    ustar prefix and name fields as tarfile._posix_split_name does;
 *  - numeric fields as tarfile.itn: zero-padded octal and a NUL (sizes of
 *    8 GiB and more in GNU base-256, which ustar cannot hold);
 *  - the checksum as "%06o\0 ", the magic "ustar\0" "00";
 *  - two zero blocks, then zeros up to a multiple of 20 blocks (10,240).
 *
 * The listing is made first (so the total size is known before the stream
 * header is written); file contents are streamed through a fixed buffer.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "package.h"

#define BLOCK 512u
#define RECORD (20u * BLOCK)
#define COPY_CHUNK (256u * 1024u)
#define MAX_DEPTH 64

typedef struct plan_entry {
	char *name; /* relative, '/'-separated, "" for the root */
	bool dir;
	uint32_t mode;
	uint64_t size;
} plan_entry;

struct msi_tar_plan {
	plan_entry *e;
	size_t n, cap;
	uint64_t total;
	uint64_t max_entries;
};

int msi_source_date_epoch(uint64_t *out)
{
	*out = 0;
	const char *s = getenv("SOURCE_DATE_EPOCH");
	if (!s || !*s)
		return MS_OK;
	uint64_t v = 0;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9' || !msi_mul_u64(v, 10, &v) || !msi_add_u64(v, (uint64_t)(*p - '0'), &v))
			return msi_error(MS_EINVAL, "SOURCE_DATE_EPOCH='%.40s' is not a number of seconds", s);
	if (v >= (1ull << 33)) /* 11 octal digits */
		return msi_error(MS_EINVAL, "SOURCE_DATE_EPOCH=%.40s does not fit a tar header", s);
	*out = v;
	return MS_OK;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The full member name "./<rel>" (+ '/' for directories). */
static void full_name(const plan_entry *e, msi_buf *b)
{
	b->len = 0;
	msi_buf_puts(b, ".");
	if (e->name[0]) {
		msi_buf_putc(b, '/');
		msi_buf_puts(b, e->name);
	}
	if (e->dir)
		msi_buf_putc(b, '/');
	msi_buf_putc(b, '\0');
	b->len--;
}

/* tarfile._posix_split_name for names longer than 100 bytes: the first
 * split at a '/' that leaves prefix <= 155 and name <= 100 bytes. */
static bool split_name(const char *full, size_t len, size_t *prefix_len, const char **name)
{
	if (len <= 100) {
		*prefix_len = 0;
		*name = full;
		return true;
	}
	for (size_t i = 0; i < len; i++) {
		if (full[i] != '/')
			continue;
		if (i <= 155 && len - i - 1 <= 100) {
			*prefix_len = i;
			*name = full + i + 1;
			return true;
		}
		if (i > 155)
			break;
	}
	return false;
}

static int add(msi_tar_plan *p, char *name, bool dir, uint32_t mode, uint64_t size)
{
	if (p->n >= p->max_entries) {
		msi_free(name);
		return msi_error(MS_ELIMIT, "the directory holds more than %llu entries",
		                 (unsigned long long)p->max_entries);
	}
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 32;
		plan_entry *ne = msi_reallocarray(p->e, ncap, sizeof *ne);
		if (!ne) {
			msi_free(name);
			return msi_error(MS_ENOMEM, "out of memory");
		}
		p->e = ne;
		p->cap = ncap;
	}
	plan_entry *e = &p->e[p->n++];
	e->name = name;
	e->dir = dir;
	e->mode = dir || (mode & 0111) ? 0755 : 0644;
	e->size = dir ? 0 : size;
	/* header + data rounded up to blocks */
	uint64_t blocks = e->size / BLOCK + (e->size % BLOCK != 0);
	uint64_t bytes;
	if (!msi_mul_u64(blocks + 1, BLOCK, &bytes) || !msi_add_u64(p->total, bytes, &p->total))
		return msi_error(MS_ELIMIT, "the directory is too large for a tar");
	/* the name must fit ustar */
	msi_buf b = MSI_BUF_INIT;
	full_name(e, &b);
	size_t pl;
	const char *nm;
	bool ok = !b.failed && split_name(b.data, b.len, &pl, &nm);
	msi_buf_free(&b);
	if (!ok)
		return msi_error(MS_EUNSUPPORTED, "the name '%.200s' is too long for a ustar header", e->name);
	return MS_OK;
}

static char *join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *s = msi_malloc(dl + nl + 2);
	if (!s)
		return NULL;
	memcpy(s, dir, dl);
	size_t k = dl;
	if (dl)
		s[k++] = '/';
	memcpy(s + k, name, nl + 1);
	return s;
}

/* Adds the children of the directory `fd` (named `rel`), in sorted order,
 * depth first. */
static int walk(msi_tar_plan *p, int fd, const char *rel, int depth)
{
	if (depth > MAX_DEPTH)
		return msi_error(MS_ELIMIT, "the directory nests deeper than %d levels at '%.200s'", MAX_DEPTH, rel);
	int dfd = dup(fd);
	if (dfd < 0)
		return msi_error_errno(MS_EIO, errno, "cannot read the directory '%.200s'", rel);
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return msi_error_errno(MS_EIO, errno, "cannot read the directory '%.200s'", rel);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = MS_OK;
	struct dirent *de;
	errno = 0;
	while (rc == MS_OK && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = msi_reallocarray(names, ncap, sizeof *nn);
			if (!nn) {
				rc = msi_error(MS_ENOMEM, "out of memory");
				break;
			}
			names = nn;
			cap = ncap;
		}
		if (!(names[n] = msi_strdup(de->d_name)))
			rc = msi_error(MS_ENOMEM, "out of memory");
		else
			n++;
		if (n > p->max_entries)
			rc = msi_error(MS_ELIMIT, "the directory holds more than %llu entries",
			               (unsigned long long)p->max_entries);
		errno = 0;
	}
	if (rc == MS_OK && errno != 0)
		rc = msi_error_errno(MS_EIO, errno, "cannot list the directory '%.200s'", rel);
	closedir(d);
	if (rc == MS_OK && n > 1)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n && rc == MS_OK; i++) {
		struct stat st;
		char *path = join(rel, names[i]);
		if (!path) {
			rc = msi_error(MS_ENOMEM, "out of memory");
			break;
		}
		if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = msi_error_errno(MS_EIO, errno, "cannot stat '%.200s'", path);
			msi_free(path);
			break;
		}
		if (S_ISREG(st.st_mode)) {
			rc = add(p, path, false, st.st_mode, (uint64_t)st.st_size);
		} else if (S_ISDIR(st.st_mode)) {
			int cfd = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				rc = msi_error_errno(MS_EIO, errno, "cannot open the directory '%.200s'", path);
				msi_free(path);
				break;
			}
			rc = add(p, path, true, st.st_mode, 0);
			if (rc == MS_OK)
				rc = walk(p, cfd, p->e[p->n - 1].name, depth + 1);
			close(cfd);
		} else {
			rc = msi_error(MS_EUNSUPPORTED, "'%.200s' is a %s: only regular files and directories are packed",
			               path, S_ISLNK(st.st_mode) ? "symlink" : "special file");
			msi_free(path);
		}
	}
	for (size_t i = 0; i < n; i++)
		msi_free(names[i]);
	msi_free(names);
	return rc;
}

void msi_tar_plan_free(msi_tar_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		msi_free(p->e[i].name);
	msi_free(p->e);
	msi_free(p);
}

int msi_tar_plan_dir(int root_fd, uint64_t max_entries, msi_tar_plan **out)
{
	*out = NULL;
	msi_tar_plan *p = msi_calloc(1, sizeof *p);
	if (!p)
		return msi_error(MS_ENOMEM, "out of memory");
	p->max_entries = max_entries ? max_entries : 100000;
	struct stat st;
	int rc;
	char *root = msi_strdup("");
	if (fstat(root_fd, &st) != 0)
		rc = msi_error_errno(MS_EIO, errno, "cannot stat the directory");
	else if (!root)
		rc = msi_error(MS_ENOMEM, "out of memory");
	else {
		rc = add(p, root, true, st.st_mode, 0);
		root = NULL;
	}
	msi_free(root);
	if (rc == MS_OK)
		rc = walk(p, root_fd, "", 1);
	/* end of archive, then the record padding */
	if (rc == MS_OK && !msi_add_u64(p->total, 2 * BLOCK, &p->total))
		rc = msi_error(MS_ELIMIT, "the directory is too large for a tar");
	if (rc == MS_OK && p->total % RECORD && !msi_add_u64(p->total, RECORD - p->total % RECORD, &p->total))
		rc = msi_error(MS_ELIMIT, "the directory is too large for a tar");
	if (rc != MS_OK) {
		msi_tar_plan_free(p);
		return rc;
	}
	*out = p;
	return MS_OK;
}

uint64_t msi_tar_plan_size(const msi_tar_plan *p)
{
	return p->total;
}

/* tarfile.itn for USTAR, with GNU base-256 past the octal range. */
static void put_number(uint8_t *f, size_t width, uint64_t v)
{
	if (v < (1ull << (3 * (width - 1)))) {
		for (size_t i = width - 1; i-- > 0;) {
			f[i] = (uint8_t)('0' + (v & 7));
			v >>= 3;
		}
		f[width - 1] = 0;
		return;
	}
	f[0] = 0x80;
	for (size_t i = width - 1; i >= 1; i--) {
		f[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static void make_header(uint8_t h[BLOCK], const plan_entry *e, const char *full, size_t len, uint64_t mtime)
{
	memset(h, 0, BLOCK);
	size_t pl = 0;
	const char *nm = full;
	split_name(full, len, &pl, &nm); /* checked when planned */
	memcpy(h, nm, len - (size_t)(nm - full));
	put_number(h + 100, 8, e->mode);
	put_number(h + 108, 8, 0); /* uid */
	put_number(h + 116, 8, 0); /* gid */
	put_number(h + 124, 12, e->size);
	put_number(h + 136, 12, mtime);
	memset(h + 148, ' ', 8);
	h[156] = e->dir ? '5' : '0';
	memcpy(h + 257, "ustar\0" "00", 8);
	/* devmajor, devminor: NUL for anything but a device (as tarfile) */
	memcpy(h + 345, full, pl);
	unsigned sum = 0;
	for (size_t i = 0; i < BLOCK; i++)
		sum += h[i];
	char ck[8];
	snprintf(ck, sizeof ck, "%06o", sum & 0777777);
	memcpy(h + 148, ck, 6);
	h[154] = 0;
	h[155] = ' ';
}

static int open_member(int root_fd, const char *name, int *fd_out)
{
	/* openat with O_NOFOLLOW on every component: the planned names hold no
	 * symlink, and one appearing since must not be followed. */
	int cur = root_fd;
	const char *p = name;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		char comp[256];
		if (n == 0 || n >= sizeof comp) {
			if (cur != root_fd)
				close(cur);
			return msi_error(MS_EIO, "bad member name '%.200s'", name);
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		int flags = slash ? (O_PATH | O_DIRECTORY) : O_RDONLY;
		int fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC);
		int err = errno;
		if (cur != root_fd)
			close(cur);
		if (fd < 0)
			return msi_error_errno(err == ELOOP ? MS_ECHANGED : MS_EIO, err, "cannot open '%.200s'", name);
		if (!slash) {
			*fd_out = fd;
			return MS_OK;
		}
		cur = fd;
		p = slash + 1;
	}
}

static int copy_file(int fd, const plan_entry *e, uint8_t *buf, msi_sink_fn sink, void *user)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return msi_error_errno(MS_EIO, errno, "cannot stat '%.200s'", e->name);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size)
		return msi_error(MS_ECHANGED, "'%.200s' changed while the directory was packed", e->name);
	uint64_t off = 0;
	while (off < e->size) {
		size_t want = e->size - off < COPY_CHUNK ? (size_t)(e->size - off) : COPY_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return msi_error_errno(MS_EIO, errno, "cannot read '%.200s'", e->name);
		}
		if (n == 0)
			return msi_error(MS_ECHANGED, "'%.200s' shrank while the directory was packed", e->name);
		int rc = sink(user, buf, (size_t)n);
		if (rc != MS_OK)
			return rc;
		off += (uint64_t)n;
	}
	/* grew? */
	uint8_t extra;
	ssize_t n = pread(fd, &extra, 1, (off_t)off);
	if (n > 0)
		return msi_error(MS_ECHANGED, "'%.200s' grew while the directory was packed", e->name);
	size_t pad = (size_t)((BLOCK - e->size % BLOCK) % BLOCK);
	if (pad) {
		memset(buf, 0, pad);
		return sink(user, buf, pad);
	}
	return MS_OK;
}

int msi_tar_plan_write(const msi_tar_plan *p, int root_fd, uint64_t mtime, msi_sink_fn sink, void *user)
{
	uint8_t *buf = msi_malloc(COPY_CHUNK);
	if (!buf)
		return msi_error(MS_ENOMEM, "out of memory");
	msi_buf name = MSI_BUF_INIT;
	uint64_t written = 0;
	int rc = MS_OK;
	for (size_t i = 0; i < p->n && rc == MS_OK; i++) {
		const plan_entry *e = &p->e[i];
		full_name(e, &name);
		if (name.failed) {
			rc = msi_error(MS_ENOMEM, "out of memory");
			break;
		}
		uint8_t h[BLOCK];
		make_header(h, e, name.data, name.len, mtime);
		rc = sink(user, h, BLOCK);
		if (rc != MS_OK || e->dir)
			continue;
		int fd = -1;
		rc = open_member(root_fd, e->name, &fd);
		if (rc != MS_OK)
			break;
		rc = copy_file(fd, e, buf, sink, user);
		close(fd);
		written += e->size;
	}
	if (rc == MS_OK) {
		/* the end: two zero blocks and the record padding */
		uint64_t body = 0;
		for (size_t i = 0; i < p->n; i++)
			body += BLOCK + (p->e[i].size + BLOCK - 1) / BLOCK * BLOCK;
		uint64_t tail = p->total - body;
		memset(buf, 0, COPY_CHUNK < tail ? COPY_CHUNK : (size_t)tail);
		while (tail > 0 && rc == MS_OK) {
			size_t n = tail < COPY_CHUNK ? (size_t)tail : COPY_CHUNK;
			rc = sink(user, buf, n);
			tail -= n;
		}
	}
	MSI_UNUSED(written);
	msi_buf_free(&name);
	msi_free(buf);
	return rc;
}
