/*
 * What the HDF5 and Keras formats share for detection: finding the HDF5
 * signature and spotting Keras' root attributes by name.
 */
#ifndef MSI_FORMATS_HDF5_H
#define MSI_FORMATS_HDF5_H

#include "../format.h"

/* Keras attribute names found by msi_hdf5_keras_markers (a bit mask). */
enum {
	MSI_KERAS_MODEL_CONFIG = 1u << 0,
	MSI_KERAS_KERAS_VERSION = 1u << 1,
	MSI_KERAS_LAYER_NAMES = 1u << 2,
	MSI_KERAS_BACKEND = 1u << 3,
	MSI_KERAS_TRAINING_CONFIG = 1u << 4,
};

/* Offset of the HDF5 signature (0, 512, 1024, 2048, ... as the user block
 * allows) followed by a known superblock version, or -1. */
int64_t msi_hdf5_signature(const msi_view *v);

/* Which Keras attribute names appear as HDF5 attribute messages in the head
 * and tail windows. */
unsigned msi_hdf5_keras_markers(const msi_view *v);

/* true when the markers make a Keras model or weights file (legacy h5). */
static inline bool msi_hdf5_is_keras(unsigned markers)
{
	return (markers & (MSI_KERAS_MODEL_CONFIG | MSI_KERAS_KERAS_VERSION)) ||
	       ((markers & MSI_KERAS_LAYER_NAMES) && (markers & MSI_KERAS_BACKEND));
}

#endif
