/* libFuzzer target: the serialzy stream paths fuzz_artifact does not reach —
 * the model resource in user-meta (ms_model_from_artifact, its validation
 * and its json.dumps text read back), and ms_artifact_unpack, which writes
 * a payload or extracts a tar beneath a scratch directory. After each
 * input the scratch directory must hold at most the one name unpack_model
 * gives, and nothing may appear beside it (a member escaping DEST). */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "modelstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[256], dest[300];

static void rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		while (d && (de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			char sub[4096];
			snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
			rm_tree(sub);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static int count(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!root[0]) {
		snprintf(root, sizeof root, "%s/fuzz_unpack.%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		         (int)getpid());
		mkdir(root, 0777);
		snprintf(dest, sizeof dest, "%s/dest", root);
	}
	ms_artifact *a = NULL;
	ms_open_options o = MS_OPEN_OPTIONS_INIT;
	o.max_members = 64;
	o.max_member_size = 1 << 20;
	o.max_depth = 16;
	if (ms_artifact_open_buffer(&a, data, size, &o) != MS_OK)
		return 0;
	ms_model *m = NULL;
	if (ms_model_from_artifact(&m, a) == MS_OK) {
		ms_report *r = NULL;
		if (ms_model_validate(m, &r) == MS_OK)
			ms_report_free(r);
		char *json = NULL;
		size_t len = 0;
		if (ms_model_to_json(m, &json, &len) == MS_OK) {
			ms_model *back = NULL;
			if (ms_model_from_json(&back, json, len) != MS_OK)
				abort(); /* what we write must read back */
			ms_model_free(back);
			ms_free(json);
		}
		ms_model_free(m);
	}
	char *name = NULL;
	if (ms_artifact_unpack(a, dest, NULL, &name) != MS_OK && count(dest) != 0)
		abort(); /* a failed unpack left something behind */
	if (count(root) > 1 || count(dest) > 1)
		abort(); /* something escaped DEST, or more than one name */
	ms_free(name);
	rm_tree(dest);
	ms_artifact_free(a);
	return 0;
}
