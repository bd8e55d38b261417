/*
 * What the TensorFlow formats and Keras share for detection: finding a
 * SavedModel in a listing (or as a lone graph file) and telling a Keras 2
 * SavedModel from a plain one (FORMATS.md §6.4, §7.1).
 */
#ifndef MSI_FORMATS_TF_H
#define MSI_FORMATS_TF_H

#include "../format.h"

typedef struct msi_tf_savedmodel {
	bool found;          /* a SavedModel graph file was found */
	bool lone_file;      /* the payload itself is saved_model.pb (no listing) */
	ssize_t graph;       /* its entry in the listing, -1 for a lone file */
	bool pbtxt;          /* saved_model.pbtxt (text format) */
	bool keras_metadata; /* keras_metadata.pb next to it */
	bool keras_ids;      /* `_tf_keras_` object identifiers in the graph file */
	bool variables;      /* variables/variables.index next to it */
	bool fingerprint;    /* fingerprint.pb next to it */
	int schema_version;  /* saved_model_schema_version when the graph file starts with it, else -1 */
	/* no graph file, but what a SavedModel folder holds besides it
	 * (variables/variables.index with fingerprint.pb, keras_metadata.pb or
	 * a chunked saved_model.cpb): a SavedModel that lost its graph */
	bool graph_missing;
	bool chunked;        /* saved_model.cpb (TF 2.15+ proto splitter) */
} msi_tf_savedmodel;

/* Looks for a SavedModel in the view: in a directory or tar listing at the
 * root (or under one top folder), or as a lone binary saved_model.pb whose
 * first fields are a SavedModel's. Reads at most the first and last 64 KiB
 * of the graph file. */
void msi_tf_savedmodel_probe(const msi_view *v, msi_tf_savedmodel *out);

static inline bool msi_tf_savedmodel_is_keras(const msi_tf_savedmodel *sm)
{
	return sm->found && (sm->keras_metadata || sm->keras_ids);
}

#endif
