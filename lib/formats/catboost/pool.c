/* CatBoost quantized pool: sniff (inspect and validate come with the format's own issue). */
#include "../format.h"

static int sniff(const msi_view *v)
{
	MSI_UNUSED(v);
	return 0;
}

const msi_format msi_format_catboost_quantized_pool = {
	.name = "catboost_quantized_pool",
	.description = "CatBoost quantized pool",
	.is_model = true,
	.sniff = sniff,
	.inspect = NULL,
	.validate = NULL,
};
