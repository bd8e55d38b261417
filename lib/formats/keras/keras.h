/*
 * What the Keras readers share: the facts one load gathers (for inspect)
 * while adding findings (for validate), whichever container the model came
 * in. keras.c picks the container; keras_h5.c reads legacy HDF5 models and
 * weights files; keras_v3.c reads .keras archives; keras_config.c checks the
 * config JSON both carry; keras_npz.c the .npz weights a v3 archive may hold.
 */
#ifndef MSI_FORMATS_KERAS_H
#define MSI_FORMATS_KERAS_H

#include "../format.h"
#include "../hdf5/h5.h"
#include "keras_config.h"

typedef enum keras_container {
	KERAS_CONTAINER_V3,   /* .keras zip: config.json, metadata.json, model.weights.{h5,npz} */
	KERAS_CONTAINER_H5,   /* legacy HDF5: model_config and model_weights, or save_weights() */
} keras_container;

/* A growable list of owned strings. */
typedef struct keras_strs {
	char **items;
	size_t count, cap;
} keras_strs;

typedef struct keras_weight {
	char *name;          /* path of the dataset (see keras_h5.c and keras_v3.c) */
	char dtype[32];      /* numpy spelling, or the "dtype" attribute (bfloat16) */
	unsigned rank;
	uint64_t *dims;
	uint64_t elements;   /* saturated at UINT64_MAX */
	uint64_t group_seq;  /* v3: walk order, then the rank of its vars group */
	uint64_t index;      /* v3: the dataset's index in its vars group */
} keras_weight;

typedef struct keras_doc {
	const msi_view *v;
	ms_report *r;          /* findings: the validation report, or a scratch one for inspect */
	bool validating;       /* validate: check everything, not only what inspect shows */
	keras_container container;
	char *keras_version, *backend, *date_saved;
	msi_keras_facts cfg;   /* the root object of the config (cfg.is_object: there is one) */
	keras_weight *weights;
	size_t nweights, wcap;
	uint64_t parameters;   /* saturating sum of the weights' elements */
	uint64_t optimizer_weights;
	/* legacy HDF5 */
	bool weights_only, has_training_config;
	keras_strs root_attributes, root_groups, layer_names;
	/* v3 */
	const char *weights_file;
	bool failed;           /* an allocation failed */
} keras_doc;

/* Loaders: fill the facts, add findings to d->r. They return MS_OK unless
 * memory ran out or the source could not be read (MS_EIO/MS_ECHANGED);
 * broken content is findings, never a failure. */
int keras_h5_load(keras_doc *d, msi_source *src, uint64_t sig_offset);
int keras_v3_load(keras_doc *d);

/* Reads the model weights of a v3 model.weights.h5 (every dataset in a
 * "vars" group outside the optimizer) into d->weights. */
int keras_h5_load_v3_weights(keras_doc *d, msi_source *src, const char *where);

/* Shared helpers (keras_h5.c). */
bool keras_strs_push(keras_doc *d, keras_strs *s, const char *text, size_t len);
void keras_strs_free(keras_strs *s);
/* Adds a weight from a dataset; checks its dtype is numeric
 * (keras.weights.dtype). Returns false on allocation failure. */
bool keras_weight_add(keras_doc *d, msi_h5 *h, const msi_h5_obj *o, const char *name, size_t name_len,
		      const char *where);
/* Adds a weight from its facts (npz arrays). */
bool keras_weight_push(keras_doc *d, const char *name, size_t name_len, const char *dtype, unsigned rank,
		       const uint64_t *dims, uint64_t elements);
/* Runs the config checker on config text and keeps the facts of the model's
 * config (is_model) or only the findings (training_config). */
void keras_check_config(keras_doc *d, const char *json, size_t len, const char *where, bool is_model);

#endif
