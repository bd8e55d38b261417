/*
 * Unit tests: the directory container and msi_open_beneath. Fixture trees
 * and their expectations come from tests/fixtures/gen_tar.py
 * (tar/manifest.json "dirs"); every test that opens files runs twice, with
 * openat2 and with the openat walk it falls back to. The public corpus
 * ($CORPUS/public/manifest.json, `kind: directory`) is checked as well.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "containers/container.h"
#include "core/json.h"
#include "core/report.h"
#include "io/path.h"

#define GiB (1024ull * 1024 * 1024)

/* inspect.c: the directory digest, reached through the artifact */
int msi_artifact_sha256(ms_artifact *a, msi_progress *progress, char hex[65]);

static msi_jval *manifest;

static const msi_jval *fixture_dirs(void)
{
	if (!manifest)
		manifest = load_json(msi_fixture("tar/manifest.json"));
	return manifest ? msi_jval_get(manifest, "dirs") : NULL;
}

static void use_openat2(bool on)
{
	if (on)
		unsetenv("MODELSTORE_NO_OPENAT2");
	else
		setenv("MODELSTORE_NO_OPENAT2", "1", 1);
}

/* Reads a whole opened entry into memory. */
static unsigned char *slurp(msi_source *s, size_t *len)
{
	unsigned char *d = malloc(s->size ? (size_t)s->size : 1);
	if (d && msi_source_read(s, 0, d, (size_t)s->size) != MS_OK) {
		free(d);
		return NULL;
	}
	*len = (size_t)s->size;
	return d;
}

/* Compares each regular file, as open_entry gives it, with the file's bytes
 * read by path, and with its SHA-256 (when `files` lists it); folds the
 * directory digest "<relpath>\0<hex>\n" on the way. */
static bool check_contents(msi_container *c, const char *root, const msi_jval *files, char digest_hex[65])
{
	bool ok = true;
	size_t fi = 0;
	msi_sha256 *dig = msi_sha256_new();
	for (size_t i = 0; i < c->count && ok; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type != MSI_ENTRY_FILE)
			continue;
		msi_source *s = NULL;
		int rc = c->ops->open_entry(c, i, UINT64_MAX, &s);
		if (rc != MS_OK) {
			fprintf(stderr, "  open_entry('%s') failed: %s\n", e->name, ms_error_last());
			ok = false;
			break;
		}
		size_t n = 0, m = 0;
		unsigned char *got = slurp(s, &n);
		msi_source_release(s);
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", root, e->name);
		unsigned char *want = msi_read_file(path, &m);
		if (!got || !want || n != m || n != e->size || memcmp(got, want, n) != 0) {
			fprintf(stderr, "  content of '%s' differs from the file\n", e->name);
			ok = false;
		}
		uint8_t d[32];
		char hex[65];
		msi_sha256 *h = msi_sha256_new();
		msi_sha256_update(h, got, n);
		msi_sha256_final(h, d);
		msi_hex(d, 32, hex);
		free(got);
		free(want);
		if (files) {
			const msi_jval *f = fi < files->count ? files->items[fi] : NULL;
			fi++;
			if (!f || strcmp(jstr(f, "path"), e->name) != 0 || jnum(f, "size", 0) != e->size ||
			    strcmp(jstr(f, "sha256"), hex) != 0) {
				fprintf(stderr, "  file '%s' (%llu bytes, %s) is not the expected '%s'\n", e->name,
				        (unsigned long long)e->size, hex, f ? jstr(f, "path") : "(none)");
				ok = false;
			}
		}
		msi_sha256_update(dig, e->name, strlen(e->name) + 1);
		msi_sha256_update(dig, hex, 64);
		msi_sha256_update(dig, "\n", 1);
	}
	if (ok && files && fi != files->count) {
		fprintf(stderr, "  %zu files listed, %zu expected\n", fi, files->count);
		ok = false;
	}
	uint8_t d[32];
	msi_sha256_final(dig, d);
	msi_hex(d, 32, digest_hex);
	return ok;
}

static void check_dir_fixture(const msi_jval *fx, bool openat2)
{
	use_openat2(openat2);
	const char *rel = jstr(fx, "dir");
	char root[4096];
	snprintf(root, sizeof root, "%s", msi_fixture("tar/"));
	strncat(root, rel, sizeof root - strlen(root) - 1);
	msi_limits lim = default_limits();
	const msi_jval *l = msi_jval_get(fx, "limits");
	lim.max_members = jnum(l, "max_members", lim.max_members);
	lim.max_depth = (uint32_t)jnum(l, "max_depth", lim.max_depth);
	msi_container *c = NULL;
	int rc = msi_dir_open(root, &lim, &c);
	CHECK_EQ_INT(rc, MS_OK);
	CHECK_EQ_STR(c->kind, "directory");
	bool ok = codes_match(c->findings, msi_jval_get(fx, "codes"), rel);
	for (size_t i = 1; i < c->count; i++)
		if (strcmp(c->entries[i - 1].name, c->entries[i].name) >= 0)
			ok = false; /* sorted bytewise, no repeats */
	const msi_jval *entries = msi_jval_get(fx, "entries");
	if (jbool(fx, "complete")) {
		if (entries->count != c->count) {
			fprintf(stderr, "  %s: %zu entries, expected %zu\n", rel, c->count, entries->count);
			ok = false;
		}
		for (size_t i = 0; ok && i < c->count; i++) {
			const msi_jval *w = entries->items[i];
			const msi_entry *e = &c->entries[i];
			if (strcmp(e->name, jstr(w, "name")) || strcmp(type_name(e->type), jstr(w, "type")) ||
			    e->unsafe != jbool(w, "unsafe")) {
				fprintf(stderr, "  %s: entry %zu is '%s' %s%s, expected '%s' %s%s\n", rel, i, e->name,
				        type_name(e->type), e->unsafe ? " unsafe" : "", jstr(w, "name"), jstr(w, "type"),
				        jbool(w, "unsafe") ? " unsafe" : "");
				ok = false;
			}
		}
		char digest[65];
		ok = ok && check_contents(c, root, msi_jval_get(fx, "files"), digest);
		if (ok && (c->total_size != jnum(fx, "size", 0) || strcmp(digest, jstr(fx, "sha256")) != 0)) {
			fprintf(stderr, "  %s: size %llu digest %s, expected %llu %s\n", rel,
			        (unsigned long long)c->total_size, digest, (unsigned long long)jnum(fx, "size", 0),
			        jstr(fx, "sha256"));
			ok = false;
		}
	} else {
		/* cut short by a limit: what is listed is real and within it */
		ok = ok && c->count <= lim.max_members;
		for (size_t i = 0; ok && i < c->count; i++) {
			const char *name = c->entries[i].name;
			size_t depth = 1;
			for (const char *p = name; *p; p++)
				depth += *p == '/';
			bool known = false;
			for (size_t k = 0; k < entries->count; k++)
				known |= strcmp(jstr(entries->items[k], "name"), name) == 0;
			if (!known || depth > lim.max_depth) {
				fprintf(stderr, "  %s: unexpected entry '%s'\n", rel, name);
				ok = false;
			}
		}
	}
	msi_container_free(c);
	use_openat2(true);
	CHECK(ok);
}

static void run_fixtures(bool openat2)
{
	const msi_jval *dirs = fixture_dirs();
	CHECK(dirs && dirs->count >= 6);
	int before_all = msi_test_failed_checks;
	for (size_t i = 0; i < dirs->count; i++) {
		int before = msi_test_failed_checks;
		check_dir_fixture(dirs->items[i], openat2);
		if (msi_test_failed_checks != before)
			fprintf(stderr, "  ^ fixture %s (%s)\n", jstr(dirs->items[i], "dir"),
			        openat2 ? "openat2" : "fallback");
	}
	CHECK(msi_test_failed_checks == before_all);
}

/* Open descriptors of this process: the container must not leak any. */
static int count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

static int fds_at_start = -1;

static void test_fixtures_openat2(void)
{
	fds_at_start = count_fds();
	run_fixtures(true);
}
static void test_fixtures_fallback(void) { run_fixtures(false); }

typedef int (*open_fn)(int, const char *, int, int *);

/* Opens through one implementation; returns the fd's first byte or a
 * negative code. */
static int try_open(open_fn fn, int root, const char *rel, int flags)
{
	int fd = -1;
	int rc = fn(root, rel, flags, &fd);
	if (rc != MS_OK)
		return rc;
	char ch = 0;
	int r = (flags & O_PATH) ? 0 : (read(fd, &ch, 1) == 1 ? (unsigned char)ch : -100);
	close(fd);
	return r;
}

static int open_auto_fallback(int root, const char *rel, int flags, int *fd)
{
	use_openat2(false);
	int rc = msi_open_beneath(root, rel, flags, fd);
	use_openat2(true);
	return rc;
}

static void test_open_beneath(void)
{
	char root[4096];
	snprintf(root, sizeof root, "%s", msi_fixture("tar/dirs/hostile"));
	int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(rfd >= 0);
	/* Say which path msi_open_beneath takes by default on this machine. */
	uint64_t how[3] = { O_RDONLY | O_CLOEXEC, 0, 0x08 /* RESOLVE_BENEATH */ };
	long probe = syscall(SYS_openat2, rfd, "sub/file", how, sizeof how);
	printf("openat2 %s on this kernel\n", probe >= 0 ? "works" : strerror(errno));
	if (probe >= 0)
		close((int)probe);
	static const open_fn fns[] = { msi_open_beneath, open_auto_fallback, msi_open_beneath_walk };
	static const struct { const char *rel; int want; } cases[] = {
		{ "sub/file", 'i' },      { "./sub//file", 'i' },  { "ok", MS_EIO },
		{ "passwd", MS_EIO },     { "via/sub/file", MS_EIO }, { "subdir_link/file", MS_EIO },
		{ "../hostile/sub/file", MS_EINVAL }, { "sub/../sub/file", MS_EINVAL },
		{ "/etc/passwd", MS_EINVAL }, { "", MS_EINVAL }, { "missing", MS_EIO },
		{ "up/x", MS_EIO },       { "sub/file/", MS_EIO },
	};
	bool ok = true;
	for (size_t f = 0; f < MSI_ARRAY_LEN(fns); f++)
		for (size_t i = 0; i < MSI_ARRAY_LEN(cases); i++) {
			int got = try_open(fns[f], rfd, cases[i].rel, O_RDONLY | O_NONBLOCK);
			if (got != cases[i].want) {
				fprintf(stderr, "  open #%zu of '%s' gave %d, want %d\n", f, cases[i].rel, got, cases[i].want);
				ok = false;
			}
		}
	/* O_PATH|O_NOFOLLOW on a final symlink opens the link itself, both ways */
	for (size_t f = 0; f < MSI_ARRAY_LEN(fns); f++) {
		int fd = -1;
		struct stat st;
		if (fns[f](rfd, "passwd", O_PATH | O_NOFOLLOW, &fd) != MS_OK || fstat(fd, &st) != 0 ||
		    !S_ISLNK(st.st_mode))
			ok = false;
		if (fd >= 0)
			close(fd);
	}
	close(rfd);
	CHECK(ok);
}

/* Makes openat2 fail with `err` in this process, as a container's seccomp
 * profile that predates it does. */
static bool deny_openat2(int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)MSI_ARRAY_LEN(f), f };
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	       syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
}

/* The real trigger of the fallback: openat2 refused with ENOSYS or EPERM
 * (in a child process, which keeps the filter to itself). */
static void test_seccomp_fallback(void)
{
	static const int errs[] = { ENOSYS, EPERM };
	char root[4096];
	snprintf(root, sizeof root, "%s", msi_fixture("tar/dirs/hostile"));
	for (size_t i = 0; i < MSI_ARRAY_LEN(errs); i++) {
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			uint64_t how[3] = { O_RDONLY, 0, 0 };
			if (rfd < 0 || !deny_openat2(errs[i]))
				_exit(2);
			if (syscall(SYS_openat2, rfd, "sub/file", how, sizeof how) >= 0 || errno != errs[i])
				_exit(3); /* the filter is not in force */
			bool ok = try_open(msi_open_beneath, rfd, "sub/file", O_RDONLY) == 'i' &&
			          try_open(msi_open_beneath, rfd, "ok", O_RDONLY) == MS_EIO &&
			          try_open(msi_open_beneath, rfd, "via/sub/file", O_RDONLY) == MS_EIO &&
			          try_open(msi_open_beneath, rfd, "../x", O_RDONLY) == MS_EINVAL;
			_exit(ok ? 0 : 1);
		}
		int status = 0;
		CHECK(waitpid(pid, &status, 0) == pid);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
			printf("SKIP: no seccomp filter can be installed here\n");
			return;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fprintf(stderr, "  seccomp child (errno %d) ended with status 0x%x\n", errs[i], status);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

static char tmp_root[4096];

static bool write_file(const char *rel, const char *data)
{
	char p[4200];
	snprintf(p, sizeof p, "%s/%s", tmp_root, rel);
	FILE *f = fopen(p, "wb");
	if (!f)
		return false;
	bool ok = fwrite(data, 1, strlen(data), f) == strlen(data);
	return fclose(f) == 0 && ok;
}

/* The tree changes after listing: a file swapped for a symlink to outside
 * must not be read; a file that changed size is reported as changed. */
static void run_swap(bool openat2)
{
	use_openat2(openat2);
	const char *t = getenv("TMPDIR");
	snprintf(tmp_root, sizeof tmp_root, "%s/msi-dir-XXXXXX", t ? t : "/tmp");
	CHECK(mkdtemp(tmp_root) != NULL);
	char sub[4200], p[4300];
	snprintf(sub, sizeof sub, "%s/sub", tmp_root);
	CHECK(mkdir(sub, 0755) == 0);
	CHECK(write_file("sub/a.bin", "aaaa"));
	CHECK(write_file("b.bin", "bbbb"));
	msi_limits lim = default_limits();
	msi_container *c = NULL;
	CHECK_EQ_INT(msi_dir_open(tmp_root, &lim, &c), MS_OK);
	CHECK_EQ_INT(c->count, 3);
	CHECK_EQ_STR(c->entries[0].name, "b.bin");
	CHECK_EQ_STR(c->entries[2].name, "sub/a.bin");
	CHECK_EQ_INT(c->total_size, 8);
	/* b.bin -> /etc/passwd; sub -> a folder outside with a.bin in it */
	snprintf(p, sizeof p, "%s/b.bin", tmp_root);
	unlink(p);
	CHECK(symlink("/etc/passwd", p) == 0);
	char moved[4300];
	snprintf(moved, sizeof moved, "%s-moved", tmp_root);
	CHECK(rename(sub, moved) == 0);
	CHECK(symlink(moved, sub) == 0);
	msi_source *s = NULL;
	int rc0 = c->ops->open_entry(c, 0, UINT64_MAX, &s);
	int rc2 = c->ops->open_entry(c, 2, UINT64_MAX, &s);
	/* size change */
	unlink(sub);
	CHECK(rename(moved, sub) == 0);
	snprintf(p, sizeof p, "%s/a.bin", sub);
	CHECK(write_file("sub/a.bin", "aaaaaaaa"));
	int rc3 = c->ops->open_entry(c, 2, UINT64_MAX, &s);
	msi_container_free(c);
	use_openat2(true);
	unlink(p);
	rmdir(sub);
	snprintf(p, sizeof p, "%s/b.bin", tmp_root);
	unlink(p);
	rmdir(tmp_root);
	CHECK(s == NULL);
	CHECK_EQ_INT(rc0, MS_EIO);
	CHECK_EQ_INT(rc2, MS_EIO);
	CHECK_EQ_INT(rc3, MS_ECHANGED);
}

static void test_swap_openat2(void) { run_swap(true); }
static void test_swap_fallback(void) { run_swap(false); }

static void test_not_a_directory(void)
{
	msi_limits lim = default_limits();
	msi_container *c = (msi_container *)1;
	CHECK_EQ_INT(msi_dir_open(msi_fixture("tar/ustar.tar"), &lim, &c), MS_EIO);
	CHECK(c == NULL);
	CHECK_EQ_INT(msi_dir_open(msi_fixture("tar/no such folder"), &lim, &c), MS_EIO);
}

/* Through the public API: the artifact is the directory, its size the sum
 * of its files, its digest the manifest's rule. */
static void test_artifact_digest(void)
{
	const msi_jval *dirs = fixture_dirs();
	CHECK(dirs && dirs->count > 0);
	const msi_jval *fx = dirs->items[0];
	char root[4096];
	snprintf(root, sizeof root, "%s", msi_fixture("tar/"));
	strncat(root, jstr(fx, "dir"), sizeof root - strlen(root) - 1);
	ms_artifact *a = NULL;
	CHECK_EQ_INT(ms_artifact_open_path(&a, root, NULL), MS_OK);
	char hex[65] = "";
	int rc = msi_artifact_sha256(a, NULL, hex);
	const char *kind = ms_artifact_container(a);
	uint64_t size = ms_artifact_size(a);
	bool is_dir = kind && strcmp(kind, "directory") == 0;
	ms_artifact_free(a);
	CHECK_EQ_INT(rc, MS_OK);
	CHECK(is_dir);
	CHECK_EQ_INT(size, jnum(fx, "size", 0));
	CHECK_EQ_STR(hex, jstr(fx, "sha256"));
}

/* Every directory artifact of the public corpus: exactly its files, with
 * their sizes and bytes, and the manifest's total size and digest. */
static void test_corpus(void)
{
	const char *corpus = getenv("CORPUS");
	char path[4096];
	snprintf(path, sizeof path, "%s/public/manifest.json", corpus ? corpus : "");
	struct stat st;
	if (!corpus || stat(path, &st) != 0) {
		printf("SKIP: corpus absent (%s)\n", corpus ? path : "CORPUS unset");
		return;
	}
	msi_jval *m = load_json(path);
	CHECK(m != NULL);
	const msi_jval *entries = msi_jval_get(m, "entries");
	size_t checked = 0;
	bool ok = entries != NULL;
	for (size_t i = 0; ok && i < entries->count; i++) {
		const msi_jval *e = entries->items[i];
		if (!jstr(e, "kind") || strcmp(jstr(e, "kind"), "directory") != 0)
			continue;
		for (int mode = 0; mode < 2 && ok; mode++) {
			use_openat2(mode == 0);
			char root[4096];
			snprintf(root, sizeof root, "%s/public/%s", corpus, jstr(e, "path"));
			msi_limits lim = default_limits();
			msi_container *c = NULL;
			if (msi_dir_open(root, &lim, &c) != MS_OK) {
				fprintf(stderr, "  corpus %s: %s\n", root, ms_error_last());
				ok = false;
				break;
			}
			/* the manifest's files, sorted as the listing is */
			const msi_jval *files = msi_jval_get(e, "files");
			size_t nfiles = 0;
			for (size_t k = 0; k < c->count; k++)
				nfiles += c->entries[k].type == MSI_ENTRY_FILE;
			ok = files && files->count == nfiles && c->findings->count == 0;
			for (size_t k = 0; ok && k < c->count; k++) {
				const msi_entry *ce = &c->entries[k];
				if (ce->type != MSI_ENTRY_FILE)
					continue;
				bool found = false;
				for (size_t f = 0; f < files->count; f++)
					if (strcmp(jstr(files->items[f], "path"), ce->name) == 0) {
						found = jnum(files->items[f], "size", UINT64_MAX) == ce->size;
						break;
					}
				ok = found;
			}
			char digest[65];
			ok = ok && check_contents(c, root, NULL, digest);
			ok = ok && c->total_size == jnum(e, "size", 0) && strcmp(digest, jstr(e, "sha256")) == 0;
			if (!ok)
				fprintf(stderr, "  corpus %s does not match its manifest entry\n", jstr(e, "path"));
			msi_container_free(c);
		}
		checked++;
	}
	use_openat2(true);
	msi_jval_free(m);
	CHECK(ok);
	printf("corpus: %zu directories checked\n", checked);
	CHECK(checked > 0);
}

static void test_cleanup(void)
{
	msi_jval_free(manifest);
	manifest = NULL;
	CHECK(fds_at_start < 0 || count_fds() == fds_at_start);
}

static const msi_test_case cases[] = {
	{ "fixtures_openat2", test_fixtures_openat2 },
	{ "fixtures_fallback", test_fixtures_fallback },
	{ "open_beneath", test_open_beneath },
	{ "seccomp_fallback", test_seccomp_fallback },
	{ "swap_openat2", test_swap_openat2 },
	{ "swap_fallback", test_swap_fallback },
	{ "not_a_directory", test_not_a_directory },
	{ "artifact_digest", test_artifact_digest },
	{ "corpus", test_corpus },
	{ "cleanup", test_cleanup },
};

MSI_TEST_MAIN(cases)
