/* Keras model: .keras v3 zip, legacy HDF5 or Keras 2 SavedModel: sniff (inspect and validate come with the format's own issue). */
#include "../format.h"

static int sniff(const msi_view *v)
{
	MSI_UNUSED(v);
	return 0;
}

const msi_format msi_format_tf_keras = {
	.name = "tf_keras",
	.description = "Keras model: .keras v3 zip, legacy HDF5 or Keras 2 SavedModel",
	.is_model = true,
	.sniff = sniff,
	.inspect = NULL,
	.validate = NULL,
};
