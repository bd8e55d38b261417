/*
 * PyTorch: TorchScript or torch.save archive, or legacy torch.save pickle:
 * sniff and a cheap inspect (the pickle walk and validate come with the
 * format's own issue).
 *
 * The archives are zips whose members sit under one top folder of any name
 * (FORMATS.md §5.1): `data.pkl` is what makes a zip PyTorch's, and
 * `constants.pkl` or `code/` make it TorchScript. The member names come from
 * the zip listing; when there is none (the archive is cut short, so its
 * central directory is gone) they come from the local headers in the head
 * window, so a truncated download is still recognised and can be reported
 * as truncated rather than as an unknown file.
 */
#include <string.h>

#include "../format.h"

/* torch.save's legacy MAGIC_NUMBER as a pickled LONG1 after PROTO 2. */
static const uint8_t legacy_magic[] = { 0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C,
                                        0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19 };

typedef enum pt_kind {
	PT_NONE,
	PT_TORCH_ZIP,   /* torch.save >= 1.6 */
	PT_TORCHSCRIPT, /* torch.jit.save */
	PT_PACKAGE,     /* torch.package: .data/extern_modules, pickles anywhere */
	PT_LEGACY,      /* torch.save before 1.6 */
} pt_kind;

static const char *const kind_names[] = { NULL, "torch_zip", "torchscript", "torch_package", "legacy_pickle" };

#define PT_PREFIX_MAX 256

typedef struct pt_probe {
	pt_kind kind;
	bool from_local_headers;   /* names read from local headers, not the listing */
	char prefix[PT_PREFIX_MAX]; /* the archive's top folder, without '/' */
	/* name accumulation */
	bool data_pkl, constants_pkl, code_dir, extern_modules;
} pt_probe;

/* Position of `leaf` in `name` when `name` is `leaf` or `<one folder>/leaf`
 * (the top folder PyTorch adds), else -1. */
static long top_level_pos(const char *name, size_t len, const char *leaf)
{
	size_t ll = strlen(leaf);
	if (len == ll && memcmp(name, leaf, ll) == 0)
		return 0;
	if (len <= ll || name[len - ll - 1] != '/' || memcmp(name + len - ll, leaf, ll) != 0)
		return -1;
	if (memchr(name, '/', len - ll - 1))
		return -1; /* deeper than one folder */
	return (long)(len - ll);
}

/* true when `name` is `dir...` or `<one folder>/dir...` ("code/"). */
static bool under_top(const char *name, size_t len, const char *dir)
{
	size_t dl = strlen(dir);
	if (len >= dl && memcmp(name, dir, dl) == 0)
		return true;
	const char *slash = memchr(name, '/', len);
	if (!slash)
		return false;
	size_t rest = len - (size_t)(slash + 1 - name);
	return rest >= dl && memcmp(slash + 1, dir, dl) == 0;
}

static bool take_name(const char *name, size_t len, void *user)
{
	pt_probe *p = user;
	long pos = top_level_pos(name, len, "data.pkl");
	if (pos >= 0 && !p->data_pkl) {
		p->data_pkl = true;
		size_t pl = pos > 0 ? (size_t)pos - 1 : 0;
		if (pl >= PT_PREFIX_MAX)
			pl = PT_PREFIX_MAX - 1;
		memcpy(p->prefix, name, pl);
		p->prefix[pl] = '\0';
	}
	if (top_level_pos(name, len, "constants.pkl") >= 0 || top_level_pos(name, len, "bytecode.pkl") >= 0)
		p->constants_pkl = true;
	if (under_top(name, len, "code/"))
		p->code_dir = true;
	if (top_level_pos(name, len, ".data/extern_modules") >= 0)
		p->extern_modules = true;
	return true;
}

static void decide(pt_probe *p)
{
	if (p->data_pkl)
		p->kind = p->constants_pkl || p->code_dir ? PT_TORCHSCRIPT : PT_TORCH_ZIP;
	else if (p->extern_modules)
		p->kind = PT_PACKAGE;
	else
		p->kind = PT_NONE;
}

static void probe(const msi_view *v, pt_probe *p)
{
	memset(p, 0, sizeof *p);
	if (!v->src)
		return; /* a directory is no PyTorch artifact */
	if (msi_has_prefix(v->head, v->head_len, legacy_magic, sizeof legacy_magic)) {
		p->kind = PT_LEGACY;
		return;
	}
	const msi_container *c = v->container;
	if (c && strcmp(c->kind, "zip") == 0) {
		for (size_t i = 0; i < c->count; i++) {
			const msi_entry *e = &c->entries[i];
			if (e->type == MSI_ENTRY_FILE)
				take_name(e->name, strlen(e->name), p);
		}
		decide(p);
		if (p->kind != PT_NONE)
			return;
	}
	if (c && strcmp(c->kind, "zip") != 0)
		return; /* a tar is never PyTorch's */
	static const uint8_t local_sig[4] = { 'P', 'K', 3, 4 };
	if (!msi_has_prefix(v->head, v->head_len, local_sig, 4))
		return;
	pt_probe local;
	memset(&local, 0, sizeof local);
	msi_zip_scan_local_names(v->head, v->head_len, take_name, &local);
	decide(&local);
	if (local.kind != PT_NONE) {
		*p = local;
		p->from_local_headers = true;
	}
}

static int sniff(const msi_view *v)
{
	pt_probe p;
	probe(v, &p);
	switch (p.kind) {
	case PT_LEGACY: return 100;
	case PT_TORCHSCRIPT: return p.from_local_headers ? 80 : 95;
	case PT_TORCH_ZIP: return p.from_local_headers ? 80 : 90;
	case PT_PACKAGE: return p.from_local_headers ? 60 : 80;
	default: return 0;
	}
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	pt_probe p;
	probe(v, &p);
	if (p.kind == PT_NONE)
		return MS_OK;
	msi_json_key(out->model, "kind");
	msi_json_string(out->model, kind_names[p.kind]);
	if (p.kind == PT_LEGACY) {
		msi_json_key(out->model, "pickle_protocol");
		msi_json_int(out->model, 2);
		return MS_OK;
	}
	if (p.data_pkl) {
		msi_json_key(out->model, "archive_prefix");
		msi_json_string(out->model, p.prefix);
	}
	if (p.from_local_headers) {
		/* no central directory: what is known came from local headers */
		msi_json_key(out->model, "listing");
		msi_json_string(out->model, "local_headers");
	}
	return MS_OK;
}

const msi_format msi_format_pt = {
	.name = "pt",
	.description = "PyTorch: TorchScript or torch.save archive, or legacy torch.save pickle",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = NULL,
};
