/* TensorFlow checkpoint bundle (.index + .data shards): sniff (inspect and validate come with the format's own issue). */
#include "../format.h"

static int sniff(const msi_view *v)
{
	MSI_UNUSED(v);
	return 0;
}

const msi_format msi_format_tf_checkpoint = {
	.name = "tf_checkpoint",
	.description = "TensorFlow checkpoint bundle (.index + .data shards)",
	.is_model = true,
	.sniff = sniff,
	.inspect = NULL,
	.validate = NULL,
};
