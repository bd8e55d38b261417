/*
 * Which globals a pickle may name: default deny. The allowlists are data
 * (pickle_allow.c), one per policy:
 *
 *   MSI_PICKLE_TORCH      what torch.load(weights_only=True) accepts: the
 *                         tensor rebuild functions, storage, dtype, layout,
 *                         memory-format and qscheme types, OrderedDict, ...
 *   MSI_PICKLE_TORCHSCRIPT the above plus what TorchScript's own unpickler
 *                         resolves without Python: `__torch__.*` classes and
 *                         `torch.jit._pickle.*` helpers
 *   MSI_PICKLE_PLAIN      serialzy's `skl` and `pickle`: the classes that
 *                         scikit-learn, numpy and scipy pickles name
 *                         (estimators, numpy.core.multiarray._reconstruct,
 *                         numpy.dtype, scipy.sparse matrices, ...), minus the
 *                         gadget modules (numpy.f2py, numpy.distutils,
 *                         numpy.testing, ...) which are denied even under an
 *                         allowed prefix
 *
 * A caller extends a policy with patterns: "module.name" exactly, or
 * "module.*" for every name in that module and its submodules. Patterns
 * never allow what the code-execution list names (os.system, builtins.eval,
 * subprocess.*, ...): those stay errors whatever the caller says.
 */
#ifndef MSI_FORMATS_PICKLE_ALLOW_H
#define MSI_FORMATS_PICKLE_ALLOW_H

#include "pickle_vm.h"

typedef enum msi_pickle_policy {
	MSI_PICKLE_TORCH,
	MSI_PICKLE_TORCHSCRIPT,
	MSI_PICKLE_PLAIN,
} msi_pickle_policy;

typedef enum msi_global_verdict {
	MSI_GLOBAL_ALLOWED,
	MSI_GLOBAL_UNSAFE,    /* not on the allowlist */
	MSI_GLOBAL_CODE_EXEC, /* a well-known way to run code (os.system, builtins.eval, ...) */
} msi_global_verdict;

typedef struct msi_allow_extra {
	const char *const *patterns; /* "module.name" or "module.*" */
	size_t count;
} msi_allow_extra;

msi_global_verdict msi_pickle_judge(msi_pickle_policy policy, const char *module, const char *name,
                                    const msi_allow_extra *extra);

/* Judges every global of `pk` (each distinct module.name once) and adds
 *   pickle.global.unsafe      naming it, "(runs code; it ...)" for CODE_EXEC
 *   pickle.global.unresolved  a global whose name is not a static string
 * to `r` with `where`. Returns the number of globals not allowed. */
size_t msi_pickle_check_globals(const msi_pickle *pk, msi_pickle_policy policy, const msi_allow_extra *extra,
                                ms_report *r, const char *where);

/* The policy's allowlist as data, for documentation and the CLI
 * (`modelstore allowlist`): entries are "module.name" or "module.*";
 * NULL past the end. */
const char *msi_pickle_allowlist_at(msi_pickle_policy policy, size_t i);
/* The code-execution list (always denied), the same way. */
const char *msi_pickle_codeexec_at(size_t i);

#endif
