/* Helpers shared by the container unit tests: see testutil.h. */
#include "harness.h"
#include "testutil.h"

msi_limits default_limits(void)
{
	msi_limits l = { 100000, 16ull << 30, 16u << 20, 64, 256u << 20 };
	return l;
}

msi_jval *load_json(const char *path)
{
	size_t len;
	unsigned char *text = msi_read_file(path, &len);
	if (!text)
		return NULL;
	msi_json_limits jl = { 64, 4000000 };
	msi_jval *v = NULL;
	if (msi_json_parse((const char *)text, len, &jl, &v) != MS_OK)
		v = NULL;
	free(text);
	return v;
}

const char *jstr(const msi_jval *o, const char *key)
{
	const msi_jval *v = msi_jval_get(o, key);
	return v && v->kind == MSI_JSTRING ? v->text : NULL;
}

uint64_t jnum(const msi_jval *o, const char *key, uint64_t dflt)
{
	const msi_jval *v = msi_jval_get(o, key);
	return v && v->kind == MSI_JNUMBER ? strtoull(v->text, NULL, 10) : dflt;
}

bool jbool(const msi_jval *o, const char *key)
{
	const msi_jval *v = msi_jval_get(o, key);
	return v && v->kind == MSI_JBOOL && v->boolean;
}

const char *type_name(msi_entry_type t)
{
	switch (t) {
	case MSI_ENTRY_FILE: return "file";
	case MSI_ENTRY_DIR: return "dir";
	case MSI_ENTRY_SYMLINK: return "symlink";
	case MSI_ENTRY_HARDLINK: return "hardlink";
	default: return "other";
	}
}

bool has_code(const ms_report *r, const char *code)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->items[i].code, code) == 0)
			return true;
	return false;
}

bool codes_match(const ms_report *r, const msi_jval *want, const char *what)
{
	bool ok = true;
	for (size_t i = 0; want && i < want->count; i++)
		if (!has_code(r, want->items[i]->text)) {
			fprintf(stderr, "  %s: expected finding %s is missing\n", what, want->items[i]->text);
			ok = false;
		}
	for (size_t i = 0; i < r->count; i++) {
		bool listed = false;
		for (size_t k = 0; want && k < want->count; k++)
			listed |= strcmp(want->items[k]->text, r->items[i].code) == 0;
		if (!listed) {
			fprintf(stderr, "  %s: unexpected finding %s at '%s': %s\n", what, r->items[i].code,
			        r->items[i].where, r->items[i].message);
			ok = false;
		}
	}
	return ok;
}

static int hash_chunk(const uint8_t *d, size_t n, void *user)
{
	msi_sha256_update(user, d, n);
	return MS_OK;
}

bool source_sha256(msi_source *s, char hex[65])
{
	msi_sha256 *h = msi_sha256_new();
	if (!h)
		return false;
	if (msi_source_stream(s, 0, s->size, hash_chunk, h, NULL) != MS_OK) {
		msi_sha256_abort(h);
		return false;
	}
	uint8_t d[32];
	msi_sha256_final(h, d);
	msi_hex(d, 32, hex);
	return true;
}
