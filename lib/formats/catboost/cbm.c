/* CatBoost binary model (CBM1, FlatBuffers): sniff (inspect and validate come with the format's own issue). */
#include "../format.h"

static int sniff(const msi_view *v)
{
	MSI_UNUSED(v);
	return 0;
}

const msi_format msi_format_cbm = {
	.name = "cbm",
	.description = "CatBoost binary model (CBM1, FlatBuffers)",
	.is_model = true,
	.sniff = sniff,
	.inspect = NULL,
	.validate = NULL,
};
