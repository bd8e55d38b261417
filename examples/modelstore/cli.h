/* The modelstore command-line tool: one file per verb, sharing this header. */
#ifndef MODELSTORE_CLI_H
#define MODELSTORE_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <modelstore.h>

/* Exit codes: other tools depend on them. */
enum {
	EXIT_OK = 0,      /* success / valid */
	EXIT_INVALID = 1, /* invalid, unrecognised or unparseable model */
	EXIT_USAGE = 2,   /* usage or I/O error */
};

typedef struct cli_open {
	const char *format; /* --format */
	const char *path;   /* "-" is standard input */
} cli_open;

/* Opens a path, or standard input (spooled to an unlinked temporary file so
 * memory stays bounded). Prints the error and returns NULL on failure. */
ms_artifact *cli_open_artifact(const cli_open *o);
int cli_worst(int a, int b);
void cli_usage(FILE *to);
/* printf-like output on stdout that notices a closed pipe */
bool cli_out_failed(void);

int cmd_inspect(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_formats(int argc, char **argv);
int cmd_codes(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_unpack(int argc, char **argv);

#endif
