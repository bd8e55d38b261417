/*
 * modelstore — inspect and validate model artifacts from the shell.
 * Built on the public API only, as a program of your own would be.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_usage(FILE *to)
{
	fputs("usage: modelstore <command> [options] [PATH...]\n"
	      "\n"
	      "commands:\n"
	      "  inspect [--json] [--hash] [--format F] PATH...   describe model artifacts\n"
	      "  validate [--json] [--quick] [--strict] [--format F] [--allow-global MODULE.NAME]... PATH...\n"
	      "                                                   check model artifacts\n"
	      "  pack --format F [--name N] [--notebook NB] [--variable V] [--user U]\n"
	      "       [--created-at T] [--description D] [--tag T]... [--type module.Class]\n"
	      "       [--framework-version X] [--force] [--fsync] [--json] SOURCE OUT\n"
	      "                                                   write a serialzy stream\n"
	      "  unpack [--force] [--no-verify] [--fsync] [--json] STREAM DEST\n"
	      "                                                   write a stream's model into DEST\n"
	      "  formats [--json]                                 list the data formats\n"
	      "  codes [--json]                                   list every finding code\n"
	      "  version                                          print the library version\n"
	      "\n"
	      "PATH '-' reads standard input. With --json, one JSON object per line.\n"
	      "exit status: 0 success or valid; 1 invalid, unrecognised or unparseable model;\n"
	      "             2 usage or I/O error\n",
	      to);
}

int cli_worst(int a, int b)
{
	return a > b ? a : b;
}

bool cli_out_failed(void)
{
	return ferror(stdout) != 0;
}

ms_artifact *cli_open_artifact(const cli_open *o)
{
	ms_open_options opts = MS_OPEN_OPTIONS_INIT;
	opts.format = o->format;
	ms_artifact *a = NULL;
	int rc;
	if (strcmp(o->path, "-") == 0) {
		FILE *tmp = tmpfile();
		if (!tmp) {
			fprintf(stderr, "modelstore: cannot create a temporary file for standard input: %s\n",
			        strerror(errno));
			return NULL;
		}
		char buf[1 << 16];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
			if (fwrite(buf, 1, n, tmp) != n) {
				fprintf(stderr, "modelstore: cannot spool standard input: %s\n", strerror(errno));
				fclose(tmp);
				return NULL;
			}
		}
		if (ferror(stdin) || fflush(tmp) != 0) {
			fprintf(stderr, "modelstore: cannot read standard input: %s\n", strerror(errno));
			fclose(tmp);
			return NULL;
		}
		opts.display_path = "-";
		rc = ms_artifact_open_fd(&a, fileno(tmp), &opts);
		fclose(tmp); /* the library holds its own duplicate */
	} else {
		rc = ms_artifact_open_path(&a, o->path, &opts);
	}
	if (rc != MS_OK) {
		fprintf(stderr, "modelstore: %s: %s\n", o->path, ms_error_last());
		return NULL;
	}
	return a;
}

int main(int argc, char **argv)
{
	/* A closed output pipe must give exit status 2, never a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		cli_usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	int rc;
	if (strcmp(cmd, "inspect") == 0)
		rc = cmd_inspect(argc - 1, argv + 1);
	else if (strcmp(cmd, "validate") == 0)
		rc = cmd_validate(argc - 1, argv + 1);
	else if (strcmp(cmd, "pack") == 0)
		rc = cmd_pack(argc - 1, argv + 1);
	else if (strcmp(cmd, "unpack") == 0)
		rc = cmd_unpack(argc - 1, argv + 1);
	else if (strcmp(cmd, "formats") == 0)
		rc = cmd_formats(argc - 1, argv + 1);
	else if (strcmp(cmd, "codes") == 0)
		rc = cmd_codes(argc - 1, argv + 1);
	else if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
		rc = cmd_version(argc - 1, argv + 1);
	else if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		cli_usage(stdout);
		rc = EXIT_OK;
	} else {
		fprintf(stderr, "modelstore: unknown command '%s'\n", cmd);
		cli_usage(stderr);
		rc = EXIT_USAGE;
	}
	if (fflush(stdout) != 0 || cli_out_failed()) {
		fprintf(stderr, "modelstore: cannot write output: %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	return rc;
}
