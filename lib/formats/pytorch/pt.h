/*
 * PyTorch archives inside: the pieces shared by the format's files.
 *
 *   pytorch.c    sniff, the format table, inspect and validate
 *   pt_archive.c the zip seen as PyTorch records: common prefix, small
 *                records (version, byteorder), running the pickles,
 *                TorchScript's __parameters__/__buffers__ lists from code/
 *   pt_tensors.c tensors and storages rebuilt from a pickle's inert tree
 *   pt_legacy.c  torch.save before 1.6: a run of pickles, then storages
 */
#ifndef MSI_FORMATS_PYTORCH_PT_H
#define MSI_FORMATS_PYTORCH_PT_H

#include "../pickle/pickle_allow.h"
#include "../pickle/pickle_vm.h"

typedef enum pt_kind {
	PT_NONE,
	PT_TORCH_ZIP,   /* torch.save >= 1.6 */
	PT_TORCHSCRIPT, /* torch.jit.save */
	PT_PACKAGE,     /* torch.package: .data/extern_modules, pickles anywhere */
	PT_LEGACY,      /* torch.save before 1.6 */
} pt_kind;

/* One storage as a persistent id names it. */
typedef struct pt_storage {
	const char *key;       /* "0", "1", ... (arena of the pickle that named it) */
	const char *type_name; /* "FloatStorage", ..., or the dtype's for v3 */
	const char *dtype;     /* "float32", ... or NULL when unknown */
	uint32_t elem_size;    /* 0 when unknown */
	uint64_t numel;        /* as declared in the id */
	bool numel_known;
	const char *location;
	bool constants;        /* named by constants.pkl: record constants/<key> */
	uint32_t hash;         /* high half of its key's hash: compared before the keys */
	bool conflict_reported;
} pt_storage;

/* One tensor rebuilt by a _rebuild_tensor* call. */
typedef struct pt_tensor {
	char *key;             /* dotted path (torch.save) or attribute path (TorchScript) */
	const msi_pv *node;    /* the rebuild call, for identity (tied weights) */
	size_t storage;        /* index into pt_tensors.storages */
	const char *dtype;
	uint32_t elem_size;
	uint64_t offset;
	uint32_t rank;
	int64_t *shape, *stride;
	uint64_t numel;        /* product of shape, saturating */
	bool shape_ok;         /* every size/stride/offset read as an int */
	bool parameter, buffer;/* TorchScript's lists said so */
} pt_tensor;

/* What a pickle's tree says about tensors (pt_tensors.c). */
typedef struct pt_tensors {
	pt_storage *storages;
	size_t nstorages, cap_storages;
	size_t *index;         /* open-addressing hash of storages by key: index + 1, 0 = empty */
	size_t index_cap;
	pt_tensor *tensors;
	size_t ntensors, cap_tensors;
	bool failed;           /* out of memory */
	uint64_t budget;       /* nodes left to visit */
	struct pt_chunk *chunks; /* keys and shapes */
	const msi_pv *fn_node;   /* last GLOBAL node found to be a plain rebuild function */
	const char *fn_name;
	const msi_pv *module_node;     /* last module class node (TorchScript), with its lists */
	const struct pt_class *module_class;
	const msi_pv *class_node;/* last storage class node, with its dtype */
	const char *class_dtype;
	uint32_t class_size;
	ms_report *report;     /* findings on ids and tensors, or NULL (inspect) */
	const char *where;
} pt_tensors;

/* TorchScript: which attributes of a class are parameters and buffers. */
typedef struct pt_class_lists pt_class_lists;

void pt_tensors_init(pt_tensors *t, ms_report *r, const char *where);
void pt_tensors_free(pt_tensors *t);
/* Room for about `storages` storages and tensors up front (an archive says
 * how many data/ records it has): thousands of tensors then cost no
 * doubling copies. Only a hint: the arrays still grow past it, and a false
 * return (out of memory) leaves them to grow as before. */
bool pt_tensors_reserve(pt_tensors *t, size_t storages);
/* Walks a torch.save object (dicts, lists, tuples, objects' state) and
 * collects its tensors under dotted keys. `legacy` takes the 6-tuple ids of
 * the legacy format. */
void pt_tensors_collect(pt_tensors *t, const msi_pv *root, bool legacy, bool constants);
/* The storage named `key` (in constants/ when `constants`), or NULL. */
const pt_storage *pt_tensors_find_storage(const pt_tensors *t, const char *key, bool constants);
/* Walks a TorchScript module tree, marking tensors as parameters or buffers
 * by the classes' lists. */
void pt_tensors_collect_module(pt_tensors *t, const msi_pv *root, const pt_class_lists *lists);
/* Type name of a torch.save root: "OrderedDict", "dict", "list", "tuple",
 * "Tensor", "Parameter", the class of an object, or the node kind. */
const char *pt_top_level_type(const msi_pv *root, char *buf, size_t cap);
/* dtype name and element size for a storage class name ("FloatStorage"), or
 * for a dtype global name ("float32"); false when unknown. */
bool pt_dtype_of_storage(const char *type_name, const char **dtype, uint32_t *elem_size);
bool pt_dtype_of_name(const char *name, const char **dtype, uint32_t *elem_size);

/* collections.OrderedDict/Counter/defaultdict or builtins.dict: what may
 * take SETITEM, and whose keys a torch.save root lists. */
bool pt_dict_like(const char *module, const char *name);
/* "top_level_type" and, for a dict root, "top_level_keys" (in order). */
void pt_write_top_level(const msi_pv *root, msi_json *j);
/* Elements of every tensor collected (saturating): torch.save's "parameters". */
uint64_t pt_tensors_total_elements(const pt_tensors *t);
/* "tensors": dotted key -> {dtype, shape, storage}. */
void pt_write_tensors(const pt_tensors *t, msi_json *j);

/* ---- legacy torch.save (pt_legacy.c) ---- */
int pt_legacy_inspect(const msi_view *v, msi_inspect_out *out);
int pt_legacy_validate(const msi_view *v, msi_validate_ctx *ctx);

/* ---- TorchScript class lists (pt_archive.c) ---- */
pt_class_lists *pt_class_lists_new(void);
void pt_class_lists_free(pt_class_lists *l);
/* Reads `class X(...):` blocks and their __parameters__/__buffers__ lists
 * from one code file, qualified by `module` ("__torch__.a.b"). */
int pt_class_lists_add_source(pt_class_lists *l, const char *module, const char *text, size_t len);
/* The class named module.name, or NULL when code/ does not define it. */
typedef struct pt_class pt_class;
const pt_class *pt_class_lists_find(const pt_class_lists *l, const char *module, const char *name);
/* Whether `attr` of class `c` is listed as parameter (1), buffer (2), or
 * neither (0); -1 when `c` is NULL. */
int pt_class_attr_kind(const pt_class *c, const char *attr);

#endif
