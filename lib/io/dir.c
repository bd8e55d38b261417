/* Directory container: STUB, to be written. */
#include "../containers/container.h"

int msi_dir_open(const char *path, const msi_limits *limits, msi_container **out)
{
	MSI_UNUSED(path);
	MSI_UNUSED(limits);
	*out = NULL;
	return msi_error(MS_EUNSUPPORTED, "directory reading is not written yet");
}
