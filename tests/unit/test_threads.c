/* Distinct handles used from distinct threads at once must give the same
 * results as one thread alone (run under ThreadSanitizer by run_all.sh). */
#include "harness.h"

#include <dirent.h>
#include <pthread.h>

#include "modelstore.h"

#define MAX_INPUTS 64
#define THREADS 8
#define ROUNDS 5

static char *paths[MAX_INPUTS];
static char *expected[MAX_INPUTS];
static size_t ninputs;

/* inspect (with hash) + validate JSON of one path, as one string */
static char *describe(const char *path)
{
	ms_artifact *a;
	if (ms_artifact_open_path(&a, path, NULL) != MS_OK)
		return strdup(ms_error_last());
	ms_inspect_options io = MS_INSPECT_OPTIONS_INIT;
	io.flags = MS_INSPECT_HASH;
	char *ins = NULL, *rep = NULL;
	ms_report *r = NULL;
	ms_artifact_inspect(a, &io, &ins, NULL);
	if (ms_artifact_validate(a, NULL, &r) == MS_OK)
		ms_report_json(r, &rep, NULL);
	size_t n = (ins ? strlen(ins) : 0) + (rep ? strlen(rep) : 0) + 2;
	char *out = malloc(n);
	snprintf(out, n, "%s\n%s", ins ? ins : "", rep ? rep : "");
	ms_free(ins);
	ms_free(rep);
	ms_report_free(r);
	ms_artifact_free(a);
	return out;
}

static void *worker(void *arg)
{
	size_t id = (size_t)arg;
	long bad = 0;
	for (int round = 0; round < ROUNDS; round++) {
		for (size_t k = 0; k < ninputs; k++) {
			size_t i = (k + id * 7 + (size_t)round) % ninputs; /* each thread its own order */
			char *got = describe(paths[i]);
			if (strcmp(got, expected[i]) != 0)
				bad++;
			free(got);
		}
	}
	return (void *)bad;
}

static void add_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && ninputs < MAX_INPUTS) {
		if (e->d_name[0] == '.' || strstr(e->d_name, ".stamp") || strstr(e->d_name, ".json"))
			continue;
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		paths[ninputs++] = strdup(p);
	}
	closedir(d);
}

static void threads_agree_with_sequential(void)
{
	add_dir(msi_fixture("models"));
	add_dir(msi_fixture("zip"));
	add_dir(msi_fixture("tar"));
	if (ninputs < MAX_INPUTS) {
		/* inputs of our own, so the test runs even without fixtures */
		static const char stream[] = "serialzy\x11\0\0\0\0\0\0\0{\"data_format\": 1}binf";
		const char *p = msi_write_temp("threads-serialzy", stream, sizeof stream - 1);
		if (p)
			paths[ninputs++] = strdup(p);
	}
	CHECK(ninputs > 0);
	printf("# %zu inputs, %d threads x %d rounds\n", ninputs, THREADS, ROUNDS);
	for (size_t i = 0; i < ninputs; i++)
		expected[i] = describe(paths[i]);
	pthread_t t[THREADS];
	for (size_t i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
	long bad = 0;
	for (size_t i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	CHECK_EQ_INT(bad, 0);
	for (size_t i = 0; i < ninputs; i++) {
		free(paths[i]);
		free(expected[i]);
	}
}

static const msi_test_case cases[] = {
	{ "threads_agree_with_sequential", threads_agree_with_sequential },
};

MSI_TEST_MAIN(cases)
