/*
 * External data of ONNX tensors (FORMATS.md §8.2 and §8.3 item 12): the
 * `external_data` key/value entries, the string rules a `location` must
 * obey, and where it leads: a file beneath the model's directory (opened
 * with msi_open_beneath, which lets nothing follow a symlink or climb out),
 * or a member of the tar listing the model came in. The data itself is
 * never read: only names, types, link counts and sizes are looked at.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/report.h"
#include "../../io/path.h"
#include "onnx_ir.h"

/* ---- the key/value entries ---- */

enum ext_key { KEY_LOCATION, KEY_OFFSET, KEY_LENGTH, KEY_CHECKSUM, KEY_BASEPATH, KEY_COUNT };

static const char *const key_names[KEY_COUNT] = { "location", "offset", "length", "checksum", "basepath" };

/* onnx_ext_info plus what the messages need. */
typedef struct ext_detail {
	onnx_ext_info info;
	const char *offset_text, *length_text; /* the values as written */
	const char *repeated;                  /* the first key seen twice */
	size_t repeats;                        /* how often that key appears */
	size_t unknown_keys;
} ext_detail;

/*
 * A non-negative decimal integer that fits int64: ASCII digits only,
 * leading zeros allowed. onnx's ExternalDataInfo (external_data_helper.py)
 * converts a value with Python's int() only when the string is non-empty:
 * int() also takes surrounding whitespace, a '+' or '-' sign, '_' between
 * digits and non-ASCII digits, and has no upper bound; an empty string
 * counts as absent (offset 0, the rest of the file); a negative offset
 * makes seek() fail and a negative length reads the rest of the file.
 * onnxruntime and other C++ readers parse into 64-bit integers with their
 * own rules. Only the form onnx writes (str() of a non-negative int) means
 * the same to all of them, so that form alone is accepted.
 */
static bool parse_decimal(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (!msi_mul_u64(v, 10, &v) || !msi_add_u64(v, (uint64_t)(*s - '0'), &v) || v > INT64_MAX)
			return false;
	}
	*out = v;
	return true;
}

static int key_index(const char *key)
{
	for (int k = 0; k < KEY_COUNT; k++)
		if (strcmp(key, key_names[k]) == 0)
			return k;
	return -1;
}

/* Every reader (onnx's setattr loop, onnxruntime's loop over the entries)
 * keeps the last value of a repeated key, and so do we. A NULL key or
 * value (absent in the message) reads as "", as protobuf's own API gives it. */
static void parse_detail(const onnx_tensor *t, ext_detail *d)
{
	memset(d, 0, sizeof *d);
	size_t seen[KEY_COUNT] = { 0 };
	const Onnx__TensorProto *pb = t->pb;
	for (size_t i = 0; pb && i < pb->n_external_data; i++) {
		const Onnx__StringStringEntryProto *e = pb->external_data[i];
		if (!e)
			continue;
		const char *key = onnx_str(e->key);
		const char *value = onnx_str(e->value);
		int k = key_index(key);
		if (k < 0) {
			if (d->unknown_keys++ == 0)
				d->info.unknown_key = key;
			continue;
		}
		if (++seen[k] == 2 && !d->repeated)
			d->repeated = key_names[k];
		switch (k) {
		case KEY_LOCATION: d->info.location = e->value; break;
		case KEY_OFFSET: d->offset_text = value; break;
		case KEY_LENGTH: d->length_text = value; break;
		default: break;
		}
	}
	if (d->repeated)
		d->repeats = seen[key_index(d->repeated)];
	d->info.repeated_key = d->repeated != NULL;
	if (d->offset_text)
		d->info.bad_offset = !parse_decimal(d->offset_text, &d->info.offset);
	if (d->length_text) {
		d->info.has_length = true;
		d->info.bad_length = !parse_decimal(d->length_text, &d->info.length);
	}
	if (d->info.bad_offset)
		d->info.offset = 0;
	if (d->info.bad_length)
		d->info.length = 0;
}

void onnx_ext_info_parse(const onnx_tensor *t, onnx_ext_info *out)
{
	ext_detail d;
	parse_detail(t, &d);
	*out = d.info;
}

/* ---- string rules for a location ---- */

static bool is_sep(char c)
{
	return c == '/' || c == '\\';
}

/* '/' or '\' first (POSIX root, Windows root of the current drive, UNC
 * "\\server\share" or "//server"), or a drive letter ("C:x" is relative to
 * drive C's current directory: it leaves the model directory too). */
static const char *absolute_kind(const char *loc)
{
	if (loc[0] == '/')
		return loc[1] == '/' ? "a UNC path" : "an absolute path";
	if (loc[0] == '\\')
		return loc[1] == '\\' ? "a UNC path" : "an absolute Windows path";
	if (((loc[0] >= 'a' && loc[0] <= 'z') || (loc[0] >= 'A' && loc[0] <= 'Z')) && loc[1] == ':')
		return "a path with a Windows drive letter";
	return NULL;
}

/* Adds a path_traversal finding when `loc` has a '..' component ('/' or
 * '\' separated) or a backslash. The '..' rule is on the components as
 * written, not after normalisation: onnx before 1.16 checked only the
 * start of the location and normalised afterwards, so 'a/../../x' got
 * through as '../x' (CVE-2024-27318); and 'a/../x' stays inside lexically
 * but not when 'a' is a symlinked directory. Returns true when it added. */
static bool check_traversal(ms_report *r, const char *where, const char *tname, const char *what, const char *loc)
{
	bool backslash = strchr(loc, '\\') != NULL;
	bool dotdot = false;
	long depth = 0, lowest = 0;
	for (const char *p = loc; *p;) {
		const char *e = p;
		while (*e && !is_sep(*e))
			e++;
		size_t n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			dotdot = true;
			if (--depth < lowest)
				lowest = depth;
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p = *e ? e + 1 : e;
	}
	if (!dotdot && !backslash)
		return false;
	char why[160];
	if (dotdot && lowest < 0)
		snprintf(why, sizeof why, "has a '..' component and climbs %ld level(s) above the model directory", -lowest);
	else if (dotdot)
		snprintf(why, sizeof why, "has a '..' component (it stays inside only if no directory before it is a "
		         "symlink)");
	else
		why[0] = '\0';
	msi_report_add(r, "onnx.external.path_traversal", where, "tensor '%.200s': %s '%.200s' %s%s%s", tname, what, loc,
	               why, dotdot && backslash ? ", and " : "",
	               backslash ? "contains a backslash, a path separator on Windows" : "");
	return true;
}

/* ---- the model's directory ---- */

static const char *file_type_str(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISREG(m))
		return "a regular file";
	return "of an unknown file type";
}

/* The target of the symlink `name` under `dir_fd` ("" for the fd itself),
 * for messages; "?" when it cannot be read. */
static void link_target(int dir_fd, const char *name, char *buf, size_t cap)
{
	ssize_t n = readlinkat(dir_fd, name, buf, cap - 1);
	if (n < 0) {
		snprintf(buf, cap, "?");
		return;
	}
	buf[n] = '\0';
}

/* msi_open_beneath refused `loc`: find out why, one component at a time,
 * with fstatat(AT_SYMLINK_NOFOLLOW) and directories opened O_PATH with
 * O_NOFOLLOW, so nothing is followed and no file is opened for reading.
 * `os_reason` is what the open said, for the cases the walk cannot name. */
static void diagnose(ms_report *r, const char *where, const char *tname, const char *loc, int dir_fd,
                     const char *os_reason)
{
	int cur = dir_fd;
	char comp[NAME_MAX + 1];
	char target[256];
	const char *p = loc;
	for (;;) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		const char *rest = e;
		while (*rest == '/')
			rest++;
		bool last = *rest == '\0';
		int prefix = (int)(e - loc);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			if (last) { /* "a/" or "a/.": what failed is "a" itself, named by os_reason */
				msi_report_add(r, "onnx.external.missing_file", where,
				               "tensor '%.200s': external data '%.200s' cannot be opened (%.300s)", tname, loc,
				               os_reason);
				break;
			}
			p = rest;
			continue;
		}
		if (n > NAME_MAX) {
			msi_report_add(r, "onnx.external.missing_file", where,
			               "tensor '%.200s': external data '%.200s' has a component of %zu bytes, longer than "
			               "a file name can be", tname, loc, n);
			break;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		struct stat st;
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			int err = errno;
			if (err == ENOENT)
				msi_report_add(r, "onnx.external.missing_file", where,
				               "tensor '%.200s': external data file '%.200s' does not exist (no '%.*s' in "
				               "the model directory)", tname, loc, prefix, loc);
			else
				msi_report_add(r, "onnx.external.missing_file", where,
				               "tensor '%.200s': external data file '%.200s' cannot be opened ('%.*s': %s)",
				               tname, loc, prefix, loc, strerror(err));
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			link_target(cur, comp, target, sizeof target);
			if (last)
				msi_report_add(r, "onnx.external.symlink", where,
				               "tensor '%.200s': external data file '%.200s' is a symbolic link (to '%s'); "
				               "it is not followed", tname, loc, target);
			else
				msi_report_add(r, "onnx.external.symlink", where,
				               "tensor '%.200s': the directory '%.*s' on the way to external data file "
				               "'%.200s' is a symbolic link (to '%s'); it is not followed",
				               tname, prefix, loc, loc, target);
			break;
		}
		if (last) {
			if (!S_ISREG(st.st_mode))
				msi_report_add(r, "onnx.external.not_regular", where,
				               "tensor '%.200s': external data location '%.200s' is %s, not a regular file",
				               tname, loc, file_type_str(st.st_mode));
			else
				msi_report_add(r, "onnx.external.missing_file", where,
				               "tensor '%.200s': external data file '%.200s' cannot be opened (%.300s)",
				               tname, loc, os_reason);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			msi_report_add(r, "onnx.external.missing_file", where,
			               "tensor '%.200s': external data file '%.200s' does not exist ('%.*s' is %s, not a "
			               "directory)", tname, loc, prefix, loc, file_type_str(st.st_mode));
			break;
		}
		int next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			msi_report_add(r, "onnx.external.missing_file", where,
			               "tensor '%.200s': external data file '%.200s' cannot be opened ('%.*s': %s)", tname,
			               loc, prefix, loc, strerror(errno));
			break;
		}
		if (cur != dir_fd)
			close(cur);
		cur = next;
		p = rest;
	}
	if (cur != dir_fd)
		close(cur);
}

/* Looks `loc` up beneath `dir_fd`. Returns true with the file's size when
 * it is a regular file that can be opened for reading (a hard link gives
 * its finding and still counts: its size is known). */
static bool check_in_dir(ms_report *r, const char *where, const char *tname, const char *loc, int dir_fd,
                         uint64_t *size)
{
	/* O_PATH: opening has no effect on a FIFO or a device, needs no
	 * permission on the file, and hands back a final symlink as itself. */
	int fd;
	if (msi_open_beneath(dir_fd, loc, O_PATH, &fd) != MS_OK) {
		char reason[400];
		snprintf(reason, sizeof reason, "%s", ms_error_last());
		diagnose(r, where, tname, loc, dir_fd, reason);
		return false;
	}
	struct stat st;
	bool ok = false;
	char target[256];
	if (fstat(fd, &st) != 0) {
		msi_report_add(r, "onnx.external.missing_file", where,
		               "tensor '%.200s': external data file '%.200s' cannot be examined: %s", tname, loc,
		               strerror(errno));
	} else if (S_ISLNK(st.st_mode)) {
		link_target(fd, "", target, sizeof target);
		msi_report_add(r, "onnx.external.symlink", where,
		               "tensor '%.200s': external data file '%.200s' is a symbolic link (to '%s'); it is not "
		               "followed", tname, loc, target);
	} else if (!S_ISREG(st.st_mode)) {
		msi_report_add(r, "onnx.external.not_regular", where,
		               "tensor '%.200s': external data location '%.200s' is %s, not a regular file", tname, loc,
		               file_type_str(st.st_mode));
	} else {
		ok = true;
		*size = (uint64_t)st.st_size;
		if (st.st_nlink > 1)
			msi_report_add(r, "onnx.external.hardlink", where,
			               "tensor '%.200s': external data file '%.200s' has %ju hard links; its bytes may be "
			               "those of a file outside the model directory", tname, loc, (uintmax_t)st.st_nlink);
	}
	close(fd);
	if (!ok)
		return false;
	/* Readable? Opened again beneath the directory (a swap to a FIFO in
	 * between cannot block: O_NONBLOCK), and closed without a read. */
	if (msi_open_beneath(dir_fd, loc, O_RDONLY | O_NONBLOCK, &fd) != MS_OK) {
		msi_report_add(r, "onnx.external.missing_file", where,
		               "tensor '%.200s': external data file '%.200s' cannot be opened for reading (%.300s)", tname,
		               loc, ms_error_last());
		return false;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		*size = (uint64_t)st.st_size;
	close(fd);
	return true;
}

/* ---- a tar (or other) listing, read without a file system ---- */

/* Next component of the path [*p, end), skipping empty and '.'
 * components; false at the end. */
static bool next_component(const char **p, const char *end, const char **c, size_t *n)
{
	for (;;) {
		while (*p < end && **p == '/')
			(*p)++;
		if (*p >= end)
			return false;
		const char *e = *p;
		while (e < end && *e != '/')
			e++;
		*c = *p;
		*n = (size_t)(e - *p);
		*p = e;
		if (!(*n == 1 && (*c)[0] == '.'))
			return true;
	}
}

/* Whether two '/'-separated names, `a` and the first `blen` bytes of `b`,
 * name the same place: a leading "./", repeated slashes, '.' components
 * and a trailing '/' (tar directories) do not count. */
static bool same_place(const char *a, const char *b, size_t blen)
{
	const char *ae = a + strlen(a), *be = b + blen, *ac, *bc;
	size_t an, bn;
	for (;;) {
		bool more_a = next_component(&a, ae, &ac, &an);
		bool more_b = next_component(&b, be, &bc, &bn);
		if (!more_a || !more_b)
			return more_a == more_b;
		if (an != bn || memcmp(ac, bc, an) != 0)
			return false;
	}
}

/* The last entry naming that place (extraction keeps the last), or -1. */
static ssize_t find_last(const msi_container *c, const char *path, size_t len)
{
	for (size_t i = c->count; i-- > 0;)
		if (same_place(c->entries[i].name, path, len))
			return (ssize_t)i;
	return -1;
}

/* Looks `loc` up in the listing, under `entry_dir`. Returns true with the
 * member's size when it is a regular file (or a hard link to one). */
static bool check_in_listing(ms_report *r, const char *where, const char *tname, const char *loc,
                             const onnx_ext_base *base, uint64_t *size)
{
	const msi_container *c = base->listing;
	const char *kind = c->kind ? c->kind : "listing";
	msi_buf path = MSI_BUF_INIT;
	const char *parts[2] = { base->entry_dir ? base->entry_dir : "", loc };
	for (int k = 0; k < 2; k++) {
		const char *p = parts[k], *pe = p + strlen(p), *comp;
		size_t n;
		while (next_component(&p, pe, &comp, &n)) {
			if (path.len)
				msi_buf_putc(&path, '/');
			msi_buf_append(&path, comp, n);
		}
	}
	msi_buf_putc(&path, '\0');
	if (path.failed) {
		msi_buf_free(&path);
		msi_report_add(r, "onnx.external.missing_file", where,
		               "tensor '%.200s': external data '%.200s' could not be looked up (out of memory)", tname, loc);
		return false;
	}
	const char *full = path.data;
	size_t full_len = strlen(full);
	bool ok = false;
	/* every directory on the way: a symlink member would redirect the rest */
	for (size_t i = 0; i < full_len; i++) {
		if (full[i] != '/')
			continue;
		ssize_t k = find_last(c, full, i);
		if (k < 0 || c->entries[k].type == MSI_ENTRY_DIR)
			continue; /* tars need not list their directories */
		const msi_entry *e = &c->entries[k];
		if (e->type == MSI_ENTRY_SYMLINK)
			msi_report_add(r, "onnx.external.symlink", where,
			               "tensor '%.200s': the directory '%.*s' on the way to external data file '%.200s' is a "
			               "symlink member of the %s (to '%.200s')", tname, (int)i, full, loc, kind,
			               onnx_str(e->link_target));
		else
			msi_report_add(r, "onnx.external.missing_file", where,
			               "tensor '%.200s': external data file '%.200s' is not in the %s ('%.*s' is a member "
			               "that is not a directory)", tname, loc, kind, (int)i, full);
		goto out;
	}
	ssize_t k = find_last(c, full, full_len);
	if (k < 0) {
		msi_report_add(r, "onnx.external.missing_file", where,
		               "tensor '%.200s': external data file '%.200s' is not in the %s (no member '%.200s')", tname,
		               loc, kind, full);
		goto out;
	}
	const msi_entry *e = &c->entries[k];
	switch (e->type) {
	case MSI_ENTRY_SYMLINK:
		msi_report_add(r, "onnx.external.symlink", where,
		               "tensor '%.200s': external data file '%.200s' is a symlink member of the %s (to '%.200s')",
		               tname, loc, kind, onnx_str(e->link_target));
		goto out;
	case MSI_ENTRY_DIR:
	case MSI_ENTRY_OTHER:
		msi_report_add(r, "onnx.external.not_regular", where,
		               "tensor '%.200s': external data location '%.200s' is a %s member that is %s, not a regular "
		               "file", tname, loc, kind,
		               e->type == MSI_ENTRY_DIR ? "a directory" : "a device, FIFO or socket");
		goto out;
	case MSI_ENTRY_HARDLINK: {
		/* It reads as the latest earlier member of the target's name. */
		const char *to = onnx_str(e->link_target);
		msi_report_add(r, "onnx.external.hardlink", where,
		               "tensor '%.200s': external data file '%.200s' is a hard link member of the %s (to '%.200s')",
		               tname, loc, kind, msi_entry_strip_dot(to));
		for (size_t i = (size_t)k; i-- > 0;) {
			if (same_place(c->entries[i].name, to, strlen(to))) {
				if (c->entries[i].type == MSI_ENTRY_FILE) {
					*size = c->entries[i].size;
					ok = true;
				}
				break;
			}
		}
		goto out;
	}
	case MSI_ENTRY_FILE:
		break;
	}
	/* A regular member that later hard link members point at has more
	 * than one name once extracted. */
	size_t links = 0;
	const char *other = NULL;
	for (size_t i = 0; i < c->count; i++) {
		const msi_entry *h = &c->entries[i];
		if (h->type != MSI_ENTRY_HARDLINK || !h->link_target)
			continue;
		if (same_place(h->link_target, full, full_len)) {
			links++;
			if (!other)
				other = msi_entry_strip_dot(h->name);
		}
	}
	if (links)
		msi_report_add(r, "onnx.external.hardlink", where,
		               "tensor '%.200s': external data file '%.200s' has %zu hard link member(s) in the %s "
		               "(the first '%.200s')", tname, loc, links, kind, other);
	*size = e->size;
	ok = true;
out:
	msi_buf_free(&path);
	return ok;
}

/* ---- one tensor ---- */

void onnx_check_external(ms_report *r, const char *where, const onnx_tensor *t, const onnx_ext_base *base,
                         bool *len_known, uint64_t *len_out)
{
	bool known = false;
	uint64_t len = 0;
	ext_detail d;
	parse_detail(t, &d);
	const onnx_ext_info *x = &d.info;
	const char *tname = onnx_str(t->pb ? t->pb->name : NULL);

	if (x->unknown_key) {
		if (d.unknown_keys > 1)
			msi_report_add(r, "onnx.external.unknown_key", where,
			               "tensor '%.200s': external_data key '%.100s' and %zu more are not location, offset, "
			               "length, checksum or basepath (onnx ignores them; older onnx set them as attributes "
			               "of its ExternalDataInfo)", tname, x->unknown_key, d.unknown_keys - 1);
		else
			msi_report_add(r, "onnx.external.unknown_key", where,
			               "tensor '%.200s': external_data key '%.100s' is not location, offset, length, "
			               "checksum or basepath (onnx ignores it; older onnx set it as an attribute of its "
			               "ExternalDataInfo)", tname, x->unknown_key);
	}
	if (d.repeated)
		msi_report_add(r, "onnx.external.invalid_field", where,
		               "tensor '%.200s': external_data key '%s' appears %zu times (readers keep the last one)",
		               tname, d.repeated, d.repeats);
	if (x->bad_offset)
		msi_report_add(r, "onnx.external.invalid_field", where,
		               "tensor '%.200s': external data offset '%.60s' is not a non-negative decimal integer "
		               "that fits int64", tname, d.offset_text);
	if (x->bad_length)
		msi_report_add(r, "onnx.external.invalid_field", where,
		               "tensor '%.200s': external data length '%.60s' is not a non-negative decimal integer "
		               "that fits int64", tname, d.length_text);
	/* An explicit length is what the tensor's bytes must add up to,
	 * wherever (and whether) its file is found. */
	if (x->has_length && !x->bad_length) {
		known = true;
		len = x->length;
	}

	const char *loc = x->location;
	/* protobuf-c hands strings over NUL-terminated and keeps no length: a
	 * NUL inside the location's bytes cuts it here, and only the part
	 * before it is checked. Only the wire reader sees the real length. */
	if (!loc || !*loc) {
		msi_report_add(r, "onnx.external.location_missing", where,
		               "tensor '%.200s' keeps its data externally but has %s location", tname,
		               loc ? "an empty" : "no");
		goto done;
	}
	if (loc[0] == '#') {
		msi_report_add(r, "onnx.external.in_memory", where,
		               "tensor '%.200s': external data location '%.200s' names an in-memory buffer (onnx's "
		               "ModelContainer), which no file resolves", tname, loc);
		goto done;
	}
	const char *abs = absolute_kind(loc);
	if (abs) {
		msi_report_add(r, "onnx.external.path_absolute", where,
		               "tensor '%.200s': external data location '%.200s' is %s, outside the model directory",
		               tname, loc, abs);
		goto done;
	}
	if (check_traversal(r, where, tname, "external data location", loc))
		goto done;

	uint64_t size = 0;
	bool found;
	if (base && base->dir_fd >= 0) {
		found = check_in_dir(r, where, tname, loc, base->dir_fd, &size);
	} else if (base && base->listing) {
		found = check_in_listing(r, where, tname, loc, base, &size);
	} else {
		msi_report_add(r, "onnx.external.unresolved", where,
		               "tensor '%.200s': external data file '%.200s' was not checked: the model was read from "
		               "memory or a file descriptor, with no directory to look it up in", tname, loc);
		goto done;
	}
	if (!found || x->bad_offset || x->bad_length)
		goto done;
	uint64_t end;
	if (x->has_length) {
		if (!msi_add_u64(x->offset, x->length, &end) || end > size)
			msi_report_add(r, "onnx.external.out_of_range", where,
			               "tensor '%.200s': offset %llu + length %llu = %llu is past the end of '%.200s' (%llu "
			               "bytes)", tname, (unsigned long long)x->offset, (unsigned long long)x->length,
			               (unsigned long long)(x->offset + x->length), loc, (unsigned long long)size);
	} else if (x->offset > size) {
		msi_report_add(r, "onnx.external.out_of_range", where,
		               "tensor '%.200s': offset %llu is past the end of '%.200s' (%llu bytes)", tname,
		               (unsigned long long)x->offset, loc, (unsigned long long)size);
	} else {
		known = true;
		len = size - x->offset;
	}
done:
	if (len_known)
		*len_known = known;
	if (len_out)
		*len_out = known ? len : 0;
}
