/* modelstore formats | codes | version */
#include <string.h>

#include "cli.h"

static bool want_json(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			return true;
	return false;
}

/* JSON string body for our own static texts (ASCII, may hold quotes). */
static void put_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

int cmd_formats(int argc, char **argv)
{
	bool json = want_json(argc, argv);
	size_t n = ms_format_count();
	if (json)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		const char *name, *desc;
		int is_model;
		ms_format_get(i, &name, &desc, &is_model);
		if (json) {
			printf("%s{\"name\":", i ? "," : "");
			put_json_string(name);
			printf(",\"description\":");
			put_json_string(desc);
			printf(",\"model\":%s}", is_model ? "true" : "false");
		} else {
			printf("%-24s %s%s\n", name, desc, is_model ? "" : " (not a model)");
		}
	}
	if (json)
		puts("]");
	return EXIT_OK;
}

int cmd_codes(int argc, char **argv)
{
	bool json = want_json(argc, argv);
	size_t n = ms_finding_code_count();
	if (json)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		const char *code, *meaning;
		ms_severity s;
		ms_finding_code_get(i, &code, &s, &meaning);
		if (json) {
			printf("%s{\"code\":", i ? "," : "");
			put_json_string(code);
			printf(",\"severity\":\"%s\",\"meaning\":", ms_severity_name(s));
			put_json_string(meaning);
			putchar('}');
		} else {
			printf("%-32s %-7s %s\n", code, ms_severity_name(s), meaning);
		}
	}
	if (json)
		puts("]");
	return EXIT_OK;
}

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("modelstore %s (library %s, ABI %d)\n", MS_VERSION_STRING, ms_version_string(), ms_version());
	return EXIT_OK;
}
