/* The smallest useful program: print the JSON description of one artifact.
 * Build it against an installed libmodelstore with
 *   cc inspect_min.c $(pkg-config --cflags --libs modelstore)          */
#include <stdio.h>

#include <modelstore.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH\n", argv[0]);
		return 2;
	}
	ms_artifact *artifact;
	if (ms_artifact_open_path(&artifact, argv[1], NULL) != MS_OK) {
		fprintf(stderr, "%s\n", ms_error_last());
		return 2;
	}
	char *json;
	int rc = ms_artifact_inspect(artifact, NULL, &json, NULL);
	if (json) {
		puts(json);
		ms_free(json);
	}
	ms_artifact_free(artifact);
	return rc == MS_OK ? 0 : 1;
}
