/* HDF5 file that is not a Keras model: sniff (inspect and validate come with the format's own issue). */
#include "../format.h"

static int sniff(const msi_view *v)
{
	MSI_UNUSED(v);
	return 0;
}

const msi_format msi_format_hdf5 = {
	.name = "hdf5",
	.description = "HDF5 file that is not a Keras model",
	.is_model = false,
	.sniff = sniff,
	.inspect = NULL,
	.validate = NULL,
};
