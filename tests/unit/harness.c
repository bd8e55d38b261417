/* The unit-test harness: see harness.h. */
#include "harness.h"

#include <errno.h>
#include <unistd.h>

int msi_test_failed_checks;

const char *msi_fixture(const char *rel)
{
	static char path[4096];
	const char *root = getenv("FIXTURES");
	snprintf(path, sizeof path, "%s/%s", root ? root : "tests/fixtures/out", rel);
	return path;
}

unsigned char *msi_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	unsigned char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			unsigned char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			} else {
				buf = nb;
			}
		}
	}
	fclose(f);
	if (len)
		*len = n;
	return buf;
}

const char *msi_write_temp(const char *name, const void *data, size_t len)
{
	static char path[4096];
	const char *dir = getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/msi-test-%d-%s", dir ? dir : "/tmp", (int)getpid(), name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	return path;
}

int msi_test_run(const msi_test_case *cases, size_t n, int argc, char **argv)
{
	size_t passed = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strstr(cases[i].name, argv[1]) == NULL)
			continue;
		int before = msi_test_failed_checks;
		cases[i].fn();
		if (msi_test_failed_checks == before) {
			printf("ok   %s\n", cases[i].name);
			passed++;
		} else {
			printf("FAIL %s\n", cases[i].name);
			failed++;
		}
		fflush(stdout);
	}
	printf("%zu passed, %zu failed\n", passed, failed);
	return failed ? 1 : 0;
}
