/*
 * A minimal unit-test harness: each test file lists its cases and ends with
 * MSI_TEST_MAIN(cases). A case fails on the first CHECK that does not hold;
 * the program prints one line per case and exits non-zero on any failure.
 * Fixture files made by the generators in tests/fixtures are found under
 * $FIXTURES.
 */
#ifndef MSI_TEST_HARNESS_H
#define MSI_TEST_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct msi_test_case {
	const char *name;
	void (*fn)(void);
} msi_test_case;

extern int msi_test_failed_checks;

#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			msi_test_failed_checks++;                                           \
			return;                                                             \
		}                                                                           \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                  \
	do {                                                                                \
		long long _a = (long long)(a), _b = (long long)(b);                         \
		if (_a != _b) {                                                             \
			fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__,   \
			        __LINE__, #a, #b, _a, _b);                                  \
			msi_test_failed_checks++;                                           \
			return;                                                             \
		}                                                                           \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                                  \
	do {                                                                                \
		const char *_a = (a), *_b = (b);                                            \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                    \
			fprintf(stderr, "  %s:%d: %s == %s failed: '%s' != '%s'\n", __FILE__,   \
			        __LINE__, #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");  \
			msi_test_failed_checks++;                                           \
			return;                                                             \
		}                                                                           \
	} while (0)

/* Path of a fixture: $FIXTURES/<rel>. Returns a static buffer. */
const char *msi_fixture(const char *rel);
/* Reads a whole (small) file into a malloc'd buffer; NULL on error. */
unsigned char *msi_read_file(const char *path, size_t *len);
/* Writes bytes to a new file under $TMPDIR (or /tmp); returns its path
 * (static buffer, overwritten by the next call). */
const char *msi_write_temp(const char *name, const void *data, size_t len);

int msi_test_run(const msi_test_case *cases, size_t n, int argc, char **argv);

#define MSI_TEST_MAIN(cases)                                                          \
	int main(int argc, char **argv)                                               \
	{                                                                             \
		return msi_test_run(cases, sizeof(cases) / sizeof((cases)[0]), argc, argv); \
	}

#endif
