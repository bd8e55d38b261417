/*
 * Path containment: the rules and helpers that keep every name an artifact
 * carries (a directory entry, a tar member, an ONNX external-data
 * `location`, a symlink target) inside the root it belongs to.
 *
 * Three kinds of help:
 *  - pure string checks (msi_path_check, msi_path_is_contained), for names
 *    that come from untrusted bytes before anything touches the file system;
 *  - msi_open_beneath, which opens a relative path under a directory fd and
 *    lets the kernel refuse symlinks and '..' (openat2 RESOLVE_BENEATH |
 *    RESOLVE_NO_SYMLINKS), with a component-by-component fallback where
 *    openat2 is missing or filtered by seccomp;
 *  - msi_path_resolve, which follows symlinks lexically (through a callback
 *    that says what is a symlink) to decide whether a link escapes a root,
 *    for tar listings and directory walks alike.
 */
#ifndef MSI_IO_PATH_H
#define MSI_IO_PATH_H

#include "../core/internal.h"

/* Why a relative path is refused by msi_path_check. */
typedef enum msi_path_problem {
	MSI_PATH_OK = 0,
	MSI_PATH_EMPTY,     /* "" */
	MSI_PATH_NUL,       /* a NUL byte inside the first `len` bytes */
	MSI_PATH_ABSOLUTE,  /* starts with '/', or a drive letter "C:" */
	MSI_PATH_BACKSLASH, /* contains '\\' (a separator on Windows) */
	MSI_PATH_DOTDOT     /* a '..' component ('/' or '\\' separated) */
} msi_path_problem;

/* Checks a relative path taken from untrusted bytes (an ONNX external-data
 * `location`, a member name) against the containment rules: not empty, no
 * NUL, not absolute, no backslash, no '..' component. `.` components and
 * repeated slashes are allowed: they cannot leave the root. Checks are on
 * the first `len` bytes (pass strlen for C strings). The first problem met
 * is returned, in the order of the enum. */
msi_path_problem msi_path_check(const char *path, size_t len);

/* true when msi_path_check finds no problem: joining `path` to a root
 * directory names something beneath it, as long as no symlink in the tree
 * redirects it (msi_open_beneath guards against that at open time). */
static inline bool msi_path_is_contained(const char *path, size_t len)
{
	return msi_path_check(path, len) == MSI_PATH_OK;
}

/* A short English phrase for a problem ("is an absolute path", ...). */
const char *msi_path_problem_str(msi_path_problem p);

/* Opens `relpath` beneath the directory `root_fd` with open(2) `flags`
 * (O_CLOEXEC and O_NOFOLLOW are added). No symlink is followed on the way,
 * the final component included (with O_PATH|O_NOFOLLOW the link itself is
 * opened, as openat2 does), and '..' or an absolute path is refused.
 *
 * Uses openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS); when the kernel lacks
 * it (ENOSYS), seccomp denies it (EPERM) or the struct is refused (E2BIG),
 * or when the environment has MODELSTORE_NO_OPENAT2=1 (read at each call, so
 * tests can force it), falls back to msi_open_beneath_walk.
 *
 * Returns MS_OK with *out_fd, MS_EINVAL for a relpath that breaks the rules
 * (empty, absolute, or with a '..' component), or MS_EIO with the OS's reason
 * (ELOOP: a symlink on the way; ENOENT, EACCES, ...). `relpath` may contain
 * backslashes: on Linux they are ordinary name bytes. */
int msi_open_beneath(int root_fd, const char *relpath, int flags, int *out_fd);

/* The fallback on its own: an openat() walk, one component at a time, with
 * O_NOFOLLOW on every step (directories with O_PATH|O_DIRECTORY), refusing
 * '..' and absolute paths. Exposed so tests run it on any kernel. */
int msi_open_beneath_walk(int root_fd, const char *relpath, int flags, int *out_fd);

/* ---- where does a link lead? ---- */

typedef enum msi_link_verdict {
	MSI_LINK_INSIDE,  /* resolves to a place beneath the root (or to nothing there) */
	MSI_LINK_OUTSIDE, /* climbs above the root, or reaches an absolute target */
	MSI_LINK_LOOP     /* more than 40 symlinks on the way (the kernel's ELOOP limit) */
} msi_link_verdict;

/* Says whether `path` (relative to the root) is a symlink. Returns 1 and
 * appends its target to `target` when it is, 0 when it is not (or does not
 * exist: the rest of the path is then resolved lexically), or a negative
 * MS_E* code to abort. `path` names components already resolved, so none of
 * its prefixes is a symlink. */
typedef int (*msi_path_readlink_fn)(void *user, const char *path, msi_buf *target);

/* Resolves the '/'-separated `path` (relative to a root; absolute means
 * OUTSIDE) as the kernel would, asking `readlink_fn` about each component
 * (which may be NULL: purely lexical) and splicing symlink targets in. With
 * `follow_last` false the final component is not looked up (hard links,
 * a member's own name). To resolve a symlink's target, pass
 * "<dir of the link>/<target>". Returns MS_OK with *verdict, MS_ENOMEM, or
 * whatever negative code the callback returned. */
int msi_path_resolve(const char *path, size_t len, bool follow_last, msi_path_readlink_fn readlink_fn, void *user,
                     msi_link_verdict *verdict);

#endif
