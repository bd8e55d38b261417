/* zip container: STUB, to be written. */
#include "container.h"

int msi_zip_open(msi_source *src, const msi_limits *limits, msi_container **out)
{
	MSI_UNUSED(src);
	MSI_UNUSED(limits);
	*out = NULL;
	return msi_error(MS_EUNSUPPORTED, "zip reading is not written yet");
}

bool msi_zip_looks_like(const uint8_t *head, size_t head_len, const uint8_t *tail, size_t tail_len)
{
	MSI_UNUSED(tail);
	MSI_UNUSED(tail_len);
	return head_len >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
}
