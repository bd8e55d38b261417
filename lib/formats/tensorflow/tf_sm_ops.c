/*
 * The op rules of a SavedModel (issue 7): a SavedModel is a program, and
 * some ops touch files, run Python, talk to the network or dump tensors
 * to debug URLs when it runs. Each family is one table entry with its
 * reason; a few ops are dangerous only through an attribute (PrintV2's
 * output_stream, Copy's debug_ops_spec, DecodeProtoV2's descriptor_source).
 * The checkpoint ops are the saver's own job: they are reported only
 * outside the saver (TF1 save/ scopes, TF2 traced save/restore functions
 * and what they call).
 */
#include <string.h>

#include "tf_sm_check.h"

/* ---- op families (one table, one comment each) ---- */

typedef struct op_rule {
	const char *name;
	bool prefix;       /* matches every op starting with `name` */
	const char *code;
	const char *why;
} op_rule;

static const op_rule OP_RULES[] = {
	/* Files: read, write or list paths given as tensors (TensorAbuse's
	 * file family). ImmutableConst memory-maps a file named by an attr. */
	{ "ReadFile", false, "tf.op.file_io", "reads a file" },
	{ "WriteFile", false, "tf.op.file_io", "writes a file" },
	{ "MatchingFiles", false, "tf.op.file_io", "lists files" },
	{ "ImmutableConst", false, "tf.op.file_io", "maps a file into memory" },
	{ "WholeFileReader", true, "tf.op.file_io", "reads files" },
	{ "TextLineReader", true, "tf.op.file_io", "reads files" },
	{ "TFRecordReader", true, "tf.op.file_io", "reads files" },
	{ "FixedLengthRecordReader", true, "tf.op.file_io", "reads files" },
	{ "LMDBReader", false, "tf.op.file_io", "reads files" },
	{ "TextLineDataset", false, "tf.op.file_io", "reads files" },
	{ "TFRecordDataset", true, "tf.op.file_io", "reads files" },
	{ "FixedLengthRecordDataset", true, "tf.op.file_io", "reads files" },
	{ "LMDBDataset", false, "tf.op.file_io", "reads files" },
	{ "ExperimentalLMDBDataset", false, "tf.op.file_io", "reads files" },
	{ "SaveDataset", true, "tf.op.file_io", "writes files" },
	{ "ExperimentalSaveDataset", false, "tf.op.file_io", "writes files" },
	{ "LoadDataset", false, "tf.op.file_io", "reads files" },
	{ "SnapshotDataset", true, "tf.op.file_io", "writes and reads files" },
	{ "DatasetToTFRecord", false, "tf.op.file_io", "writes a file" },
	{ "ExperimentalDatasetToTFRecord", false, "tf.op.file_io", "writes a file" },
	{ "CreateSummaryFileWriter", false, "tf.op.file_io", "writes event files" },
	{ "CreateSummaryDbWriter", false, "tf.op.file_io", "writes a database file" },
	{ "CSVDataset", true, "tf.op.file_io", "reads files" },
	{ "ExperimentalCSVDataset", false, "tf.op.file_io", "reads files" },
	{ "SqlDataset", false, "tf.op.file_io", "reads a database file" },
	{ "ExperimentalSqlDataset", false, "tf.op.file_io", "reads a database file" },
	{ "LoadAndRemapMatrix", false, "tf.op.file_io", "reads a checkpoint" },
	{ "GenerateVocabRemapping", false, "tf.op.file_io", "reads vocabulary files" },
	/* Checkpoint ops: the saver's own job; anywhere else they read or
	 * write arbitrary checkpoint paths (see in_saver). */
	{ "Save", false, "tf.op.file_io", "writes a checkpoint" },
	{ "SaveV2", false, "tf.op.file_io", "writes a checkpoint" },
	{ "SaveSlices", false, "tf.op.file_io", "writes a checkpoint" },
	{ "Restore", false, "tf.op.file_io", "reads a checkpoint" },
	{ "RestoreV2", false, "tf.op.file_io", "reads a checkpoint" },
	{ "RestoreSlice", false, "tf.op.file_io", "reads a checkpoint" },
	{ "MergeV2Checkpoints", false, "tf.op.file_io", "moves and deletes checkpoint files" },
	/* Python: the op calls back into the Python interpreter that loaded
	 * the graph (the function is looked up by token at run time). */
	{ "PyFunc", false, "tf.op.python", "runs Python code" },
	{ "PyFuncStateless", false, "tf.op.python", "runs Python code" },
	{ "EagerPyFunc", false, "tf.op.python", "runs Python code" },
	/* Network: RPC clients and servers, the tf.data service, BigQuery. */
	{ "Rpc", true, "tf.op.network", "makes or serves RPC calls" },
	{ "TryRpc", false, "tf.op.network", "makes RPC calls" },
	{ "DeleteRpcFutureResource", false, "tf.op.network", "makes RPC calls" },
	{ "DataServiceDataset", true, "tf.op.network", "reads from a tf.data service over the network" },
	{ "RegisterDataset", true, "tf.op.network", "registers with a tf.data service over the network" },
	{ "BigQueryReader", false, "tf.op.network", "reads from BigQuery" },
	{ "GenerateBigQueryReaderPartitions", false, "tf.op.network", "talks to BigQuery" },
	/* Debug: tensors dumped to debug URLs (file:// or grpc://). */
	{ "DebugIdentity", true, "tf.op.debug", "writes tensors to debug URLs" },
	{ "DebugNanCount", false, "tf.op.debug", "writes tensors to debug URLs" },
	{ "DebugNumericSummary", true, "tf.op.debug", "writes tensors to debug URLs" },
};

/* The checkpoint ops the saver may hold. */
static bool is_saver_op(const char *op)
{
	static const char *const ops[] = { "Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2", "RestoreSlice",
		                           "MergeV2Checkpoints" };
	for (size_t i = 0; i < MSI_ARRAY_LEN(ops); i++)
		if (strcmp(op, ops[i]) == 0)
			return true;
	return false;
}

static const op_rule *op_rule_of(const char *op)
{
	for (size_t i = 0; i < MSI_ARRAY_LEN(OP_RULES); i++) {
		const op_rule *r = &OP_RULES[i];
		if (r->prefix ? strncmp(op, r->name, strlen(r->name)) == 0 : strcmp(op, r->name) == 0)
			return r;
	}
	return NULL;
}

/* A TF1 saver scope: "save/…" or "save_<n>/…", or the scope of the
 * SaverDef's restore op. */
static bool in_saver_scope(const tf_meta_graph *mg, const char *name)
{
	if (strncmp(name, "save/", 5) == 0)
		return true;
	if (strncmp(name, "save_", 5) == 0) {
		const char *p = name + 5;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p > name + 5 && *p == '/')
			return true;
	}
	const char *ro = mg->saver && mg->saver->restore_op_name ? mg->saver->restore_op_name : NULL;
	const char *slash = ro ? strchr(ro, '/') : NULL;
	return slash && strncmp(name, ro, (size_t)(slash - ro) + 1) == 0;
}

void tf_ck_ops(ck *c, mg_ctx *m, const tf_function *fn, bool saver_fn, const tf_node *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const tf_node *nd = &nodes[i];
		const op_rule *rule = op_rule_of(nd->op);
		if (strcmp(nd->op, "PrintV2") == 0) {
			/* the default stream is stderr; file://… appends to a file */
			if (nd->output_stream && strncmp(nd->output_stream, "file://", 7) == 0)
				tf_ck_add(c, "tf.op.file_io", m->where, "op PrintV2 (node '%s' in %s) appends to the file '%s'",
				          nd->name, fn_label(fn), nd->output_stream + 7);
			continue;
		}
		if ((strcmp(nd->op, "Copy") == 0 || strcmp(nd->op, "CopyHost") == 0) && nd->n_debug_urls) {
			/* debug_ops_spec "DebugIdentity;file:///dir;0": the copy
			 * dumps the tensor through a debug op */
			tf_ck_add(c, "tf.op.debug", m->where, "op %s (node '%s' in %s) runs debug ops that write to debug URLs "
			          "('%s')", nd->op, nd->name, fn_label(fn), nd->debug_urls[0]);
			continue;
		}
		if ((strcmp(nd->op, "DecodeProtoV2") == 0 || strcmp(nd->op, "EncodeProto") == 0) &&
		    nd->descriptor_source && *nd->descriptor_source && strcmp(nd->descriptor_source, "local://") != 0 &&
		    strncmp(nd->descriptor_source, "bytes://", 8) != 0) {
			/* anything else is a path to a FileDescriptorSet */
			tf_ck_add(c, "tf.op.file_io", m->where, "op %s (node '%s' in %s) reads the descriptor file '%s'", nd->op,
			          nd->name, fn_label(fn), nd->descriptor_source);
			continue;
		}
		if (!rule)
			continue;
		if (is_saver_op(nd->op) && (fn ? saver_fn : in_saver_scope(m->mg, nd->name)))
			continue;
		if (strcmp(rule->code, "tf.op.debug") == 0 && nd->n_debug_urls)
			tf_ck_add(c, rule->code, m->where, "op %s (node '%s' in %s) %s, e.g. '%s'", nd->op, nd->name, fn_label(fn),
			          rule->why, nd->debug_urls[0]);
		else
			tf_ck_add(c, rule->code, m->where, "op %s (node '%s' in %s) %s when the graph runs%s", nd->op, nd->name,
			          fn_label(fn), rule->why, is_saver_op(nd->op) ? ", outside the saver" : "");
	}
}

/* TF2's saver: the traced save/restore functions, the functions the
 * object graph names as save/restore functions of saveable objects, and
 * everything they call. */
void tf_ck_mark_saver_functions(const mg_ctx *m, bool *saver)
{
	const tf_meta_graph *mg = m->mg;
	size_t nf = mg->n_functions;
	size_t *stack = nf ? msi_reallocarray(NULL, nf, sizeof *stack) : NULL;
	size_t top = 0;
	for (size_t i = 0; i < nf; i++) {
		const char *n = mg->functions[i].name;
		if (strncmp(n, "__inference__traced_save_", 25) == 0 || strncmp(n, "__inference__traced_restore_", 28) == 0 ||
		    strncmp(n, "__inference_save_fn_", 20) == 0 || strncmp(n, "__inference_restore_fn_", 23) == 0)
			saver[i] = true;
	}
	for (size_t o = 0; o < mg->n_objects; o++) {
		const Tfsm__SavedObject *obj = mg->objects[o];
		for (size_t s = 0; s < obj->n_saveable_objects; s++) {
			const Tfsm__SaveableObject *so = obj->saveable_objects[s]->value;
			int32_t ids[2] = { so && so->has_save_function ? so->save_function : -1,
				           so && so->has_restore_function ? so->restore_function : -1 };
			for (int k = 0; k < 2; k++) {
				if (ids[k] < 0 || (size_t)ids[k] >= mg->n_objects)
					continue;
				const Tfsm__SavedObject *fo = mg->objects[ids[k]];
				if (fo->kind_case != TFSM__SAVED_OBJECT__KIND_FUNCTION)
					continue;
				for (size_t q = 0; q < fo->function->n_concrete_functions; q++) {
					ssize_t fi = tf_name_ix_find(m->fns, mg->n_functions, fo->function->concrete_functions[q]);
					if (fi >= 0)
						saver[fi] = true;
				}
			}
		}
	}
	if (!stack)
		return;
	for (size_t i = 0; i < nf; i++)
		if (saver[i])
			stack[top++] = i;
	while (top) {
		const tf_function *f = &mg->functions[stack[--top]];
		for (size_t k = 0; k < f->n_nodes; k++) {
			const tf_node *nd = &f->nodes[k];
			for (uint32_t q = 0; q < nd->n_calls; q++) {
				ssize_t fi = tf_name_ix_find(m->fns, mg->n_functions, nd->calls[q]);
				if (fi >= 0 && !saver[fi]) {
					saver[fi] = true;
					stack[top++] = (size_t)fi;
				}
			}
		}
	}
	msi_free(stack);
}
