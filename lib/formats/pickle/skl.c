/* scikit-learn ensemble model as a Python pickle: sniff (inspect and validate come with the format's own issue). */
#include "../format.h"

static int sniff(const msi_view *v)
{
	MSI_UNUSED(v);
	return 0;
}

const msi_format msi_format_skl = {
	.name = "skl",
	.description = "scikit-learn ensemble model as a Python pickle",
	.is_model = true,
	.sniff = sniff,
	.inspect = NULL,
	.validate = NULL,
};
