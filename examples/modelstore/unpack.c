/* modelstore unpack [--force] [--no-verify] [--fsync] [--json] STREAM DEST */
#include <getopt.h>
#include <string.h>

#include "cli.h"

int cmd_unpack(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'F' },
		{ "no-verify", no_argument, NULL, 'N' },
		{ "fsync", no_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	ms_unpack_options uo = MS_UNPACK_OPTIONS_INIT;
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'F': uo.flags |= MS_UNPACK_OVERWRITE; break;
		case 'N': uo.flags |= MS_UNPACK_NO_VERIFY; break;
		case 'S': uo.flags |= MS_UNPACK_FSYNC; break;
		case 'j': json = true; break;
		case 'h': cli_usage(stdout); return EXIT_OK;
		default: cli_usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "modelstore unpack: give exactly STREAM and DEST\n");
		cli_usage(stderr);
		return EXIT_USAGE;
	}
	const char *stream = argv[optind], *dest = argv[optind + 1];
	cli_open o = { NULL, stream };
	ms_artifact *a = cli_open_artifact(&o);
	if (!a)
		return EXIT_USAGE;
	char *name = NULL;
	int rc = ms_artifact_unpack(a, dest, &uo, &name);
	int status = EXIT_OK;
	if (rc != MS_OK) {
		fprintf(stderr, "modelstore unpack: %s: %s\n", stream, ms_error_last());
		status = rc == MS_EFORMAT || rc == MS_EUNSUPPORTED || rc == MS_ELIMIT || rc == MS_ECHANGED ? EXIT_INVALID
		                                                                                            : EXIT_USAGE;
	} else if (json) {
		/* {"path": DEST/NAME, "name": NAME, "format": F}; the names are ours
		 * (ASCII), DEST is the caller's */
		fputs("{\"path\":\"", stdout);
		for (const char *p = dest; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', stdout);
			if ((unsigned char)*p < 0x20)
				printf("\\u%04x", *p);
			else
				fputc(*p, stdout);
		}
		printf("/%s\",\"name\":\"%s\",\"format\":\"%s\"}\n", name, name, ms_artifact_format(a) ? ms_artifact_format(a) : "");
	} else {
		printf("%s/%s\n", dest, name);
	}
	ms_free(name);
	ms_artifact_free(a);
	return status;
}
