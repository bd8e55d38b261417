/*
 * The table of data formats. Adding a format: a folder under lib/formats/
 * that defines one msi_format, and one line in each list below.
 */
#include <string.h>

#include "format.h"

extern const msi_format msi_format_onnx, msi_format_pt, msi_format_xgb, msi_format_lgbm, msi_format_cbm,
	msi_format_catboost_quantized_pool, msi_format_tf_keras, msi_format_tf_pure, msi_format_tf_checkpoint,
	msi_format_skl, msi_format_pickle, msi_format_hdf5;

/* Order matters only for equal sniff scores of equal extension fit: the
 * more specific format comes first. */
static const msi_format *const formats[] = {
	&msi_format_onnx,
	&msi_format_pt,
	&msi_format_xgb,
	&msi_format_lgbm,
	&msi_format_cbm,
	&msi_format_catboost_quantized_pool,
	&msi_format_tf_keras,
	&msi_format_tf_pure,
	&msi_format_tf_checkpoint,
	&msi_format_skl,
	&msi_format_pickle,
	&msi_format_hdf5,
};

size_t msi_format_count(void)
{
	return MSI_ARRAY_LEN(formats);
}

const msi_format *msi_format_at(size_t i)
{
	return i < MSI_ARRAY_LEN(formats) ? formats[i] : NULL;
}

const msi_format *msi_format_by_name(const char *name)
{
	for (size_t i = 0; i < MSI_ARRAY_LEN(formats); i++)
		if (strcmp(formats[i]->name, name) == 0)
			return formats[i];
	return NULL;
}

MS_EXTERN size_t ms_format_count(void)
{
	return MSI_ARRAY_LEN(formats);
}

MS_EXTERN int ms_format_get(size_t index, const char **name, const char **description, int *is_model)
{
	if (index >= MSI_ARRAY_LEN(formats))
		return msi_error(MS_ENOTFOUND, "format %zu does not exist", index);
	if (name)
		*name = formats[index]->name;
	if (description)
		*description = formats[index]->description;
	if (is_model)
		*is_model = formats[index]->is_model;
	return MS_OK;
}
