/* tar container: STUB, to be written. */
#include <string.h>

#include "container.h"

int msi_tar_open(msi_source *src, const msi_limits *limits, msi_container **out)
{
	MSI_UNUSED(src);
	MSI_UNUSED(limits);
	*out = NULL;
	return msi_error(MS_EUNSUPPORTED, "tar reading is not written yet");
}

bool msi_tar_looks_like(const uint8_t *head, size_t head_len)
{
	return head_len >= 512 && memcmp(head + 257, "ustar", 5) == 0;
}
