/* modelstore validate [--json] [--quick] [--strict] [--format F] [--allow-global P]... PATH... */
#include <getopt.h>
#include <string.h>

#include "cli.h"

static void print_human(const char *path, const ms_artifact *a, const ms_report *r, bool strict)
{
	size_t n = ms_report_count(r), errors = 0, warnings = 0;
	for (size_t i = 0; i < n; i++) {
		ms_severity s;
		ms_report_get(r, i, &s, NULL, NULL, NULL);
		errors += s == MS_SEVERITY_ERROR;
		warnings += s == MS_SEVERITY_WARNING;
	}
	const char *fmt = ms_artifact_format(a);
	bool ok = strict ? ms_report_clean(r) : ms_report_valid(r);
	printf("%s: %s (%s) — %zu error%s, %zu warning%s\n", path, ok ? "valid" : "INVALID",
	       fmt ? fmt : "unknown format", errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		ms_severity s;
		const char *code, *where, *message;
		ms_report_get(r, i, &s, &code, &where, &message);
		printf("  %-7s %s%s%s%s: %s\n", ms_severity_name(s), code, where[0] ? " [" : "", where,
		       where[0] ? "]" : "", message);
	}
}

int cmd_validate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "strict", no_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "allow-global", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, quick = false, strict = false;
	const char *format = NULL;
	const char *allow[64];
	size_t nallow = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+jqsf:a:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (nallow == sizeof allow / sizeof allow[0]) {
				fprintf(stderr, "modelstore validate: at most 64 --allow-global patterns\n");
				return EXIT_USAGE;
			}
			allow[nallow++] = optarg;
			break;
		case 'j': json = true; break;
		case 'q': quick = true; break;
		case 's': strict = true; break;
		case 'f': format = optarg; break;
		case 'h': cli_usage(stdout); return EXIT_OK;
		default: cli_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "modelstore validate: no PATH given\n");
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
		if (nallow && ms_artifact_allow_globals(a, allow, nallow) != MS_OK) {
			fprintf(stderr, "modelstore validate: %s\n", ms_error_last());
			ms_artifact_free(a);
			return EXIT_USAGE;
		}
		ms_validate_options opts = MS_VALIDATE_OPTIONS_INIT;
		if (quick)
			opts.flags |= MS_VALIDATE_QUICK;
		ms_report *r = NULL;
		int rc = ms_artifact_validate(a, &opts, &r);
		if (rc != MS_OK) {
			fprintf(stderr, "modelstore: %s: %s\n", argv[i], ms_error_last());
			status = cli_worst(status, EXIT_USAGE);
			ms_artifact_free(a);
			continue;
		}
		if (json) {
			char *text = NULL;
			size_t len = 0;
			if (ms_report_json(r, &text, &len) == MS_OK) {
				fwrite(text, 1, len, stdout);
				fputc('\n', stdout);
				ms_free(text);
			} else {
				fprintf(stderr, "modelstore: %s: %s\n", argv[i], ms_error_last());
				status = cli_worst(status, EXIT_USAGE);
			}
		} else {
			print_human(argv[i], a, r, strict);
		}
		bool ok = strict ? ms_report_clean(r) : ms_report_valid(r);
		if (!ok)
			status = cli_worst(status, EXIT_INVALID);
		ms_report_free(r);
		ms_artifact_free(a);
	}
	return status;
}
