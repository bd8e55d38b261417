/* PyTorch: TorchScript or torch.save archive, or legacy torch.save pickle: sniff (inspect and validate come with the format's own issue). */
#include "../format.h"

static int sniff(const msi_view *v)
{
	MSI_UNUSED(v);
	return 0;
}

const msi_format msi_format_pt = {
	.name = "pt",
	.description = "PyTorch: TorchScript or torch.save archive, or legacy torch.save pickle",
	.is_model = true,
	.sniff = sniff,
	.inspect = NULL,
	.validate = NULL,
};
