/*
 * Legacy torch.save (before 1.6, or _use_new_zipfile_serialization=False),
 * FORMATS.md §5.5: five pickles back to back,
 *
 *   MAGIC_NUMBER (a LONG1), PROTOCOL_VERSION 1001, sys_info {protocol_version,
 *   little_endian, type_sizes}, the object (storages as persistent ids
 *   ('storage', class, key, location, numel, view)), the sorted storage keys,
 *
 * then for each key in that order an int64 element count and the raw bytes.
 * The object is walked like a zip torch.save's; the storage records are only
 * stepped over (8-byte reads), never read.
 */
#include <string.h>

#include "../pickle/pickle_scan.h"
#include "pt.h"

#define LEGACY_PROTOCOL 1001
#define FINDINGS_PER_RULE 20

static const uint8_t magic_le[10] = { 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19 };

typedef struct legacy {
	const msi_view *v;
	ms_report *r;
	bool validating;
	msi_pickle *pk[5];
	uint64_t end;         /* after the last pickle: the storage records */
	pt_tensors tensors;
	bool little_endian;
	bool sys_info_ok;
	int protocol;
	size_t nkeys;
} legacy;

static const char *const part_names[5] = { "magic number", "protocol version", "sys_info", "object",
                                           "storage keys" };

static void legacy_free(legacy *l)
{
	for (size_t i = 0; i < 5; i++)
		msi_pickle_free(l->pk[i]);
	pt_tensors_free(&l->tensors);
}

static int legacy_load(legacy *l)
{
	msi_pickle_limits lim = { 0 };
	lim.max_arena = l->v->limits->max_metadata;
	uint64_t off = 0;
	l->little_endian = true;
	pt_tensors_init(&l->tensors, l->validating ? l->r : NULL, "object pickle");
	for (size_t i = 0; i < 5; i++) {
		int rc = msi_pickle_run(l->v->src, off, l->v->size - off, &lim, false, l->r, part_names[i], &l->pk[i]);
		if (rc != MS_OK)
			return rc;
		if (!l->pk[i]->complete)
			return MS_OK; /* the stream's findings say why */
		off += l->pk[i]->end;
	}
	l->end = off;
	l->protocol = l->pk[0]->protocol;
	const msi_pv *sys = l->pk[2]->root;
	const msi_pv *le = msi_pv_dict_get(sys, "little_endian");
	if (le && le->kind == MSI_PV_BOOL) {
		l->little_endian = le->u.b;
		l->sys_info_ok = true;
	}
	l->tensors.budget = 4 * l->pk[3]->nodes + 1024; /* shared nodes: see pytorch.c */
	pt_tensors_collect(&l->tensors, l->pk[3]->root, true, false);
	const msi_pv *keys = l->pk[4]->root;
	l->nkeys = keys && keys->kind == MSI_PV_LIST ? keys->nitems : 0;
	return l->tensors.failed ? MS_ENOMEM : MS_OK;
}

int pt_legacy_inspect(const msi_view *v, msi_inspect_out *out)
{
	legacy l = { 0 };
	l.v = v;
	int rc = legacy_load(&l); /* l.r NULL: inspect keeps no findings */
	msi_json *j = out->model;
	if (rc == MS_OK) {
		msi_json_key(j, "pickle_protocol");
		msi_json_int(j, l.pk[0] ? l.pk[0]->protocol : 0);
		msi_json_key(j, "byteorder");
		msi_json_string(j, l.sys_info_ok ? (l.little_endian ? "little" : "big") : NULL);
		if (l.end) {
			msi_json_key(j, "storages");
			msi_json_uint(j, l.nkeys);
			pt_write_top_level(l.pk[3]->root, j);
			pt_write_tensors(&l.tensors, j);
			rc = msi_pickle_write_globals(j, (const msi_pickle *const *)l.pk, 5);
			msi_json_key(out->root, "parameters");
			msi_json_uint(out->root, pt_tensors_total_elements(&l.tensors));
		}
	}
	legacy_free(&l);
	return rc;
}

/* Steps over the storage records: each key's count must be the one its
 * persistent id declared, and the bytes must fit in the file. */
static void check_records(legacy *l)
{
	const msi_pv *keys = l->pk[4]->root;
	if (!keys || keys->kind != MSI_PV_LIST) {
		msi_report_add(l->r, "pt.legacy.keys", "storage keys", "the storage key pickle is not a list");
		return;
	}
	uint64_t off = l->end;
	size_t problems = 0;
	for (uint32_t i = 0; i < keys->nitems; i++) {
		const msi_pv *k = keys->items[i];
		const char *key = k && k->kind == MSI_PV_STR ? k->u.str.data : NULL;
		const pt_storage *s = key ? pt_tensors_find_storage(&l->tensors, key, false) : NULL;
		if (!s) {
			if (problems++ < FINDINGS_PER_RULE)
				msi_report_add(l->r, "pt.legacy.keys", "storage keys", "key %u ('%.60s') names no storage of the "
				               "object pickle", (unsigned)i, key ? key : "?");
			return; /* its record size is unknown: the rest cannot be found */
		}
		uint8_t b[8];
		if (msi_view_read(l->v, off, b, 8) != 8) {
			msi_report_add(l->r, "pt.legacy.truncated", s->key, "the file ends before storage '%.60s' (record "
			               "at offset %llu)", s->key, (unsigned long long)off);
			return;
		}
		uint64_t count = l->little_endian ? msi_le64(b) : msi_be64(b);
		uint64_t bytes = 0;
		if (s->elem_size && (count > UINT64_MAX / s->elem_size || (bytes = count * s->elem_size) > l->v->size)) {
			msi_report_add(l->r, "pt.legacy.truncated", s->key, "storage '%.60s' declares %llu elements, beyond "
			               "the file", s->key, (unsigned long long)count);
			return;
		}
		if (s->numel_known && count != s->numel && problems++ < FINDINGS_PER_RULE)
			msi_report_add(l->r, "pt.storage.too_small", s->key, "storage '%.60s' record holds %llu elements, "
			               "its persistent id says %llu", s->key, (unsigned long long)count,
			               (unsigned long long)s->numel);
		off += 8;
		if (bytes > l->v->size - off) {
			msi_report_add(l->r, "pt.legacy.truncated", s->key, "storage '%.60s' needs %llu bytes at offset %llu "
			               "but the file has %llu", s->key, (unsigned long long)bytes, (unsigned long long)off,
			               (unsigned long long)l->v->size);
			return;
		}
		off += bytes;
	}
	if (keys->nitems != l->tensors.nstorages)
		msi_report_add(l->r, "pt.legacy.keys", "storage keys", "the key list has %u keys but the object names %zu "
		               "storages", (unsigned)keys->nitems, l->tensors.nstorages);
	if (off != l->v->size)
		msi_report_add(l->r, "pickle.trailing_data", NULL, "%llu bytes follow the last storage record",
		               (unsigned long long)(l->v->size - off));
}

int pt_legacy_validate(const msi_view *v, msi_validate_ctx *ctx)
{
	legacy l = { 0 };
	l.v = v;
	l.r = ctx->report;
	l.validating = true;
	int rc = legacy_load(&l);
	if (rc == MS_OK) {
		msi_allow_extra extra = { v->allow_globals, v->allow_globals_count };
		for (size_t i = 0; i < 5; i++)
			if (l.pk[i])
				msi_pickle_check_globals(l.pk[i], MSI_PICKLE_TORCH, &extra, l.r, part_names[i]);
		if (l.end) {
			const msi_pv *m = l.pk[0]->root;
			if (!m || m->kind != MSI_PV_BIGINT || m->u.str.len != sizeof magic_le || !m->u.str.data ||
			    memcmp(m->u.str.data, magic_le, sizeof magic_le) != 0)
				msi_report_add(l.r, "pt.legacy.magic", part_names[0], "the first pickle is not torch's magic "
				               "number");
			const msi_pv *p = l.pk[1]->root;
			if (!p || p->kind != MSI_PV_INT || p->u.i != LEGACY_PROTOCOL)
				msi_report_add(l.r, "pt.legacy.protocol", part_names[1], "the protocol version is not %d",
				               LEGACY_PROTOCOL);
			if (!l.sys_info_ok)
				msi_report_add(l.r, "pt.legacy.sys_info", part_names[2], "sys_info is not a dict with a "
				               "little_endian flag");
			check_records(&l);
		}
	}
	legacy_free(&l);
	return rc;
}
