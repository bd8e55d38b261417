#ifndef MODELSTORE_CLI_PRETTY_H
#define MODELSTORE_CLI_PRETTY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
void pretty_print_json(FILE *to, const char *json, size_t len);
#endif
