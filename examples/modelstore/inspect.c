/* modelstore inspect [--json] [--hash] [--format F] PATH... */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "pretty.h"

int cmd_inspect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "hash", no_argument, NULL, 'H' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, hash = false;
	const char *format = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+jHf:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'H': hash = true; break;
		case 'f': format = optarg; break;
		case 'h': cli_usage(stdout); return EXIT_OK;
		default: cli_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "modelstore inspect: no PATH given\n");
		return EXIT_USAGE;
	}
	int status = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		cli_open o = { format, argv[i] };
		ms_artifact *a = cli_open_artifact(&o);
		if (!a) {
			status = cli_worst(status, EXIT_USAGE);
			continue;
		}
		ms_inspect_options opts = MS_INSPECT_OPTIONS_INIT;
		if (hash)
			opts.flags |= MS_INSPECT_HASH;
		char *text = NULL;
		size_t len = 0;
		int rc = ms_artifact_inspect(a, &opts, &text, &len);
		if (text) {
			if (json) {
				fwrite(text, 1, len, stdout);
				fputc('\n', stdout);
			} else {
				pretty_print_json(stdout, text, len);
			}
		}
		if (rc == MS_EFORMAT || (rc == MS_OK && !ms_artifact_format(a))) {
			if (rc == MS_EFORMAT)
				fprintf(stderr, "modelstore: %s: %s\n", argv[i], ms_error_last());
			else
				fprintf(stderr, "modelstore: %s: no known model format\n", argv[i]);
			status = cli_worst(status, EXIT_INVALID);
		} else if (rc != MS_OK) {
			fprintf(stderr, "modelstore: %s: %s\n", argv[i], ms_error_last());
			status = cli_worst(status, EXIT_USAGE);
		}
		ms_free(text);
		ms_artifact_free(a);
	}
	return status;
}
