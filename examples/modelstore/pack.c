/* modelstore pack --format F [--name N] [--notebook NB] [--variable V]
 *                 [--user U] [--created-at T] [--description D] [--tag T]...
 *                 [--type module.Class] [--framework-version X]
 *                 [--force] [--fsync] [--json] SOURCE OUT */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The last path component of SOURCE, the default model name. */
static char *base_name(const char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t start = n;
	while (start > 0 && path[start - 1] != '/')
		start--;
	char *s = malloc(n - start + 1);
	if (s) {
		memcpy(s, path + start, n - start);
		s[n - start] = '\0';
	}
	return s;
}

static int exit_for(int rc)
{
	return rc == MS_EFORMAT || rc == MS_ECHANGED ? EXIT_INVALID : EXIT_USAGE;
}

int cmd_pack(int argc, char **argv)
{
	enum { O_NAME = 256, O_NOTEBOOK, O_VARIABLE, O_USER, O_CREATED, O_DESC, O_TAG, O_TYPE, O_FWV, O_FORCE, O_FSYNC };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "name", required_argument, NULL, O_NAME },
		{ "notebook", required_argument, NULL, O_NOTEBOOK },
		{ "variable", required_argument, NULL, O_VARIABLE },
		{ "user", required_argument, NULL, O_USER },
		{ "created-at", required_argument, NULL, O_CREATED },
		{ "description", required_argument, NULL, O_DESC },
		{ "tag", required_argument, NULL, O_TAG },
		{ "type", required_argument, NULL, O_TYPE },
		{ "framework-version", required_argument, NULL, O_FWV },
		{ "force", no_argument, NULL, O_FORCE },
		{ "fsync", no_argument, NULL, O_FSYNC },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	ms_model *m = NULL;
	if (ms_model_new(&m) != MS_OK) {
		fprintf(stderr, "modelstore pack: %s\n", ms_error_last());
		return EXIT_USAGE;
	}
	ms_pack_options po = MS_PACK_OPTIONS_INIT;
	bool json = false, named = false;
	int c, status = EXIT_OK;
	optind = 1;
	while (status == EXIT_OK && (c = getopt_long(argc, argv, "+f:jh", longopts, NULL)) != -1) {
		int rc = MS_OK;
		switch (c) {
		case 'f': po.format = optarg; break;
		case O_NAME: rc = ms_model_set(m, "name", optarg); named = true; break;
		case O_NOTEBOOK: rc = ms_model_set(m, "notebook", optarg); break;
		case O_VARIABLE: rc = ms_model_set(m, "variable", optarg); break;
		case O_USER: rc = ms_model_set(m, "user", optarg); break;
		case O_CREATED: rc = ms_model_set(m, "created_at", optarg); break;
		case O_DESC: rc = ms_model_set(m, "description", optarg); break;
		case O_TAG: rc = ms_model_add_tag(m, optarg); break;
		case O_TYPE: po.type = optarg; break;
		case O_FWV: po.framework_version = optarg; break;
		case O_FORCE: po.flags |= MS_PACK_OVERWRITE; break;
		case O_FSYNC: po.flags |= MS_PACK_FSYNC; break;
		case 'j': json = true; break;
		case 'h': cli_usage(stdout); ms_model_free(m); return EXIT_OK;
		default: status = EXIT_USAGE; break;
		}
		if (rc != MS_OK) {
			fprintf(stderr, "modelstore pack: %s\n", ms_error_last());
			status = EXIT_USAGE;
		}
	}
	if (status == EXIT_OK && (!po.format || argc - optind != 2)) {
		fprintf(stderr, "modelstore pack: %s\n",
		        !po.format ? "--format F is required" : "give exactly SOURCE and OUT");
		status = EXIT_USAGE;
	}
	if (status != EXIT_OK) {
		cli_usage(stderr);
		ms_model_free(m);
		return status;
	}
	const char *source = argv[optind], *out = argv[optind + 1];
	if (!named) {
		char *b = base_name(source);
		if (!b || ms_model_set(m, "name", b) != MS_OK) {
			fprintf(stderr, "modelstore pack: out of memory\n");
			free(b);
			ms_model_free(m);
			return EXIT_USAGE;
		}
		free(b);
	}
	ms_model *written = NULL;
	int rc;
	bool to_stdout = strcmp(out, "-") == 0;
	if (to_stdout)
		rc = ms_pack_fd(source, STDOUT_FILENO, m, &po, &written);
	else
		rc = ms_pack_path(source, out, m, &po, &written);
	if (rc != MS_OK) {
		fprintf(stderr, "modelstore pack: %s: %s\n", source, ms_error_last());
		ms_model_free(m);
		return exit_for(rc);
	}
	if (!to_stdout) {
		char *text = NULL;
		size_t len = 0;
		if (json && ms_model_to_json(written, &text, &len) == MS_OK) {
			/* one object per line: {"path", "format", "model"} with the
			 * model resource as written into meta["user-meta"] */
			printf("{\"path\":");
			fputc('"', stdout);
			for (const char *p = out; *p; p++) {
				if (*p == '"' || *p == '\\')
					fputc('\\', stdout);
				if ((unsigned char)*p < 0x20)
					printf("\\u%04x", *p);
				else
					fputc(*p, stdout);
			}
			printf("\",\"format\":\"%s\",\"model\":", po.format);
			fwrite(text, 1, len, stdout);
			printf("}\n");
		} else if (!json) {
			const char *sha = NULL;
			uint64_t size = 0;
			ms_model_get(written, "sha256", &sha, NULL);
			ms_model_get_size(written, &size);
			printf("%s: %s, payload %llu bytes, sha256 %s\n", out, po.format, (unsigned long long)size,
			       sha ? sha : "");
		}
		ms_free(text);
	}
	ms_model_free(written);
	ms_model_free(m);
	return EXIT_OK;
}
