/* Human-readable output: JSON re-indented, two spaces a level. */
#include <stdio.h>

#include "pretty.h"

void pretty_print_json(FILE *to, const char *s, size_t len)
{
	int depth = 0;
	bool in_string = false, escaped = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_string) {
			fputc(c, to);
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			fputc(c, to);
			break;
		case '{':
		case '[':
			/* keep empty containers on one line */
			if (i + 1 < len && (s[i + 1] == '}' || s[i + 1] == ']')) {
				fputc(c, to);
				fputc(s[++i], to);
				break;
			}
			fputc(c, to);
			fprintf(to, "\n%*s", 2 * ++depth, "");
			break;
		case '}':
		case ']':
			fprintf(to, "\n%*s%c", 2 * (depth > 0 ? --depth : 0), "", c);
			break;
		case ',':
			fprintf(to, ",\n%*s", 2 * depth, "");
			break;
		case ':':
			fputs(": ", to);
			break;
		default:
			fputc(c, to);
		}
	}
	fputc('\n', to);
}
