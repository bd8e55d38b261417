#define _GNU_SOURCE
/* Small helpers shared by the sniffers. */
#include <ctype.h>
#include <string.h>

#include "format.h"

bool msi_has_prefix(const uint8_t *p, size_t n, const void *prefix, size_t plen)
{
	return n >= plen && memcmp(p, prefix, plen) == 0;
}

const uint8_t *msi_find(const uint8_t *hay, size_t n, const void *needle, size_t nlen)
{
	if (nlen == 0 || n < nlen)
		return NULL;
	return memmem(hay, n, needle, nlen);
}

bool msi_name_has_ext(const char *name, const char *ext)
{
	if (!name)
		return false;
	size_t nl = strlen(name), el = strlen(ext);
	if (nl < el)
		return false;
	for (size_t i = 0; i < el; i++)
		if (tolower((unsigned char)name[nl - el + i]) != tolower((unsigned char)ext[i]))
			return false;
	return true;
}
