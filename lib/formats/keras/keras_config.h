/*
 * Keras safety checks that do not depend on the container: the model
 * config (a .keras archive's config.json, a legacy HDF5 file's model_config
 * attribute) and the .npz weights file (model.weights.npz). keras.c calls
 * them; they only read the bytes given and add findings (FORMATS.md §6).
 *
 *   keras_config.c  the config walk: objects Keras would import, call or
 *                   unpickle when loading, layer names, the model's facts
 *   keras_npz.c     model.weights.npz: a zip of .npy arrays (np.savez)
 *
 * Locations ("where") are the caller's prefix, a colon, then a JSON
 * pointer into the config ("config.json:/config/layers/3/config/function")
 * or the npz member name ("model.weights.npz:layers/dense.npy"); with a
 * NULL or empty prefix only the pointer or member name.
 */
#ifndef MSI_FORMATS_KERAS_CONFIG_H
#define MSI_FORMATS_KERAS_CONFIG_H

#include "../../containers/container.h"
#include "../../core/json.h"
#include "../../core/report.h"

/* Layer class names kept in the facts; more layers are counted only. */
#define MSI_KERAS_MAX_LAYERS 100000u

/* What the config says about the model. Strings are copies (NUL-terminated,
 * cut at an embedded NUL); free with msi_keras_facts_free. */
typedef struct msi_keras_facts {
	bool is_object;        /* the bytes parsed as a JSON object (else nothing below is set) */
	char *class_name;      /* root object; NULL when absent or not a string */
	bool has_module;       /* the root has a "module" key (Keras 2 writes none) */
	char *module;          /* NULL when absent, null or not a string */
	char *registered_name; /* NULL when absent or null */
	char **layers;         /* class names of the model's layers, in file order ("" when not a string) */
	size_t layer_count;    /* entries in `layers` */
	size_t layers_total;   /* layers in the config (more than layer_count past the cap) */
	bool has_build_config, has_compile_config; /* present and not null */
} msi_keras_facts;

/* Parses `len` bytes of config JSON and checks every object in it, at any
 * depth (layers, nested models, initializers, optimizers in compile_config,
 * inbound_nodes), adding keras.* findings to `r`. `limits` NULL means 64
 * levels and 1,000,000 values. `facts` may be NULL; when given it is filled
 * (zeroed first) whenever the bytes parse as a JSON object. Returns MS_OK
 * (findings may have been added; a config that is not JSON or too big is a
 * finding, not an error) or MS_ENOMEM. A root object without a class_name
 * is no finding (training_config has none): facts->class_name says so. */
int msi_keras_config_check(const char *json, size_t len, const char *where_prefix,
                           const msi_json_limits *limits, ms_report *r, msi_keras_facts *facts);
void msi_keras_facts_free(msi_keras_facts *f);

/* Called for each valid numeric array of an npz with the member name
 * without ".npy" (not NUL-terminated), numpy's dtype name ("float32",
 * "int64", "bool", "complex64", ...), the shape and the element count (1
 * for a 0-d array). A non-zero return stops the check and is returned by
 * msi_keras_npz_check. */
typedef int (*msi_npz_array_fn)(void *user, const char *name, size_t name_len, const char *dtype, unsigned rank,
                                const uint64_t *dims, uint64_t elements);

/* Checks `src` (with the container limits `limits`, not NULL) as an npz
 * file: a zip (its structural findings are copied
 * into `r`) whose members are .npy arrays of plain numeric dtypes, each
 * holding exactly shape product x item size bytes. Object arrays give
 * keras.npz.pickle (numpy unpickles them), anything else that numpy would
 * not read as a plain array keras.npz.invalid. Only the first bytes of a
 * deflated member are inflated: its data length is the declared size, which
 * the zip container's verify checks. `fn` may be NULL. Returns MS_OK
 * (findings may have been added), MS_ENOMEM, MS_EIO, MS_ECHANGED, or what
 * `fn` returned. */
int msi_keras_npz_check(msi_source *src, const msi_limits *limits, const char *where_prefix, ms_report *r,
                        msi_npz_array_fn fn, void *user);

#endif
