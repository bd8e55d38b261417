/* TensorFlow SavedModel (tf.Module, tf.train.Checkpoint): sniff (inspect and validate come with the format's own issue). */
#include "../format.h"

static int sniff(const msi_view *v)
{
	MSI_UNUSED(v);
	return 0;
}

const msi_format msi_format_tf_pure = {
	.name = "tf_pure",
	.description = "TensorFlow SavedModel (tf.Module, tf.train.Checkpoint)",
	.is_model = true,
	.sniff = sniff,
	.inspect = NULL,
	.validate = NULL,
};
