/* libFuzzer target: the pickle engine (pickle_vm.h) on raw bytes, from
 * memory and from a file descriptor (the windowed reader), which must agree;
 * a bounded walk of the tree through the msi_pv helpers, checking what the
 * header promises (NUL-terminated strings, arrays as long as their counts);
 * and the allowlists under every policy. The first byte picks the limits, so
 * the caps and the large-payload paths are reached with small inputs. */
#define _GNU_SOURCE /* memfd_create */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/report.h"
#include "formats/pickle/pickle_allow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                           \
	do {                               \
		if (!(c))                  \
			__builtin_trap();  \
	} while (0)

static uint64_t mix(uint64_t h, uint64_t x)
{
	return (h ^ x) * 0x100000001b3ull;
}

/* A digest of what the walk reaches, visiting at most *budget nodes. */
static uint64_t walk(const msi_pv *v, int depth, size_t *budget)
{
	if (!v || depth > 40 || *budget == 0)
		return 1;
	(*budget)--;
	CHECK(v->kind <= MSI_PV_EXT && v->size >= 1);
	uint64_t h = mix(0xcbf29ce484222325ull, v->kind);
	h = mix(h, v->opcode);
	switch (v->kind) {
	case MSI_PV_BOOL: h = mix(h, v->u.b); break;
	case MSI_PV_INT: h = mix(h, (uint64_t)v->u.i); break;
	case MSI_PV_FLOAT: {
		uint64_t bits;
		memcpy(&bits, &v->u.f, sizeof bits);
		h = mix(h, bits);
		break;
	}
	case MSI_PV_BIGINT:
	case MSI_PV_STR:
	case MSI_PV_BYTES:
	case MSI_PV_BYTEARRAY:
		h = mix(h, v->u.str.len);
		h = mix(h, v->u.str.offset);
		if (v->flags & MSI_PV_STR_LARGE) {
			CHECK(!v->u.str.data);
		} else {
			CHECK(v->u.str.data && v->u.str.data[v->u.str.len] == '\0');
			for (uint64_t i = 0; i < v->u.str.len; i++)
				h = mix(h, (uint8_t)v->u.str.data[i]);
		}
		break;
	case MSI_PV_GLOBAL:
		CHECK(v->u.global.module && v->u.global.name);
		h = mix(h, strlen(v->u.global.module) * 31 + strlen(v->u.global.name));
		break;
	case MSI_PV_CALL: {
		CHECK(v->u.call.callable);
		const char *m, *n;
		if (msi_pv_call_target(v, &m, &n))
			h = mix(h, msi_pv_is_global(v, m, n));
		h = mix(h, walk(v->u.call.callable, depth + 1, budget));
		h = mix(h, walk(v->u.call.args, depth + 1, budget));
		h = mix(h, walk(v->u.call.kwargs, depth + 1, budget));
		break;
	}
	case MSI_PV_PERSID:
		CHECK(v->u.persid);
		h = mix(h, walk(v->u.persid, depth + 1, budget));
		break;
	case MSI_PV_EXT: h = mix(h, v->u.ext); break;
	default: break;
	}
	CHECK(!v->nitems || v->items);
	CHECK(!v->npairs || v->pairs);
	for (uint32_t i = 0; i < v->nitems && *budget; i++) {
		CHECK(msi_pv_item(v, i) == ((v->kind == MSI_PV_TUPLE || v->kind == MSI_PV_LIST) ? v->items[i] : NULL));
		h = mix(h, walk(v->items[i], depth + 1, budget));
	}
	for (uint32_t i = 0; i < 2 * v->npairs && *budget; i++)
		h = mix(h, walk(v->pairs[i], depth + 1, budget));
	const msi_pv *k0 = v->npairs ? v->pairs[0] : NULL;
	if (k0 && k0->kind == MSI_PV_STR && k0->u.str.data && strlen(k0->u.str.data) == k0->u.str.len)
		CHECK(msi_pv_dict_get(v, k0->u.str.data) != NULL);
	if (msi_pv_state(v))
		h = mix(h, walk(msi_pv_state(v), depth + 1, budget));
	return h;
}

static uint64_t digest(const msi_pickle *pk, const ms_report *r)
{
	uint64_t h = mix(pk->complete, pk->failed);
	h = mix(h, pk->end);
	h = mix(h, pk->ops);
	h = mix(h, pk->nglobals);
	size_t budget = 20000;
	h = mix(h, walk(pk->root, 0, &budget));
	for (size_t i = 0; i < r->count; i++) {
		h = mix(h, strlen(r->items[i].code));
		h = mix(h, strlen(r->items[i].message));
	}
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	msi_pickle_limits lim = { 0 };
	uint8_t mode = data[0];
	data++;
	size--;
	if (mode & 1)
		lim.max_copy = 1u << (mode >> 4); /* 1 .. 32 KiB: large payloads and lines */
	if (mode & 2) {
		lim.max_nodes = 500;
		lim.max_depth = 20;
		lim.max_memo = 50;
		lim.max_stack = 100;
	}
	if (mode & 4)
		lim.max_arena = 200000;
	bool trailing = mode & 8;

	msi_source *mem;
	if (msi_source_from_memory(data, size, false, &mem) != MS_OK)
		return 0;
	ms_report *r = msi_report_new("fuzz", NULL);
	msi_pickle *pk = NULL;
	int rc = msi_pickle_run(mem, 0, size, &lim, trailing, r, "data.pkl", &pk);
	CHECK(rc == MS_OK || rc == MS_ENOMEM);
	if (rc == MS_OK) {
		CHECK(!pk->complete || pk->root);
		CHECK(pk->end <= size);
		uint64_t want = digest(pk, r);

		/* the same bytes through the file window must read the same */
		int fd = memfd_create("pickle", 0);
		if (fd >= 0 && write(fd, data, size) == (ssize_t)size) {
			msi_source *file;
			if (msi_source_from_fd(fd, true, &file) == MS_OK) {
				fd = -1;
				ms_report *r2 = msi_report_new("fuzz", NULL);
				msi_pickle *pk2 = NULL;
				if (msi_pickle_run(file, 0, size, &lim, trailing, r2, "data.pkl", &pk2) == MS_OK)
					CHECK(digest(pk2, r2) == want);
				msi_pickle_free(pk2);
				ms_report_free(r2);
				msi_source_release(file);
			}
		}
		if (fd >= 0)
			close(fd);

		static const char *const patterns[] = { "os.*", "mymodel.*", "numpy.*", "collections.OrderedDict" };
		msi_allow_extra extra = { patterns, 4 };
		for (int p = MSI_PICKLE_TORCH; p <= MSI_PICKLE_PLAIN; p++) {
			size_t bad = msi_pickle_check_globals(pk, (msi_pickle_policy)p, p == 1 ? &extra : NULL, r, "data.pkl");
			CHECK(bad <= pk->nglobals);
		}
		for (size_t i = 0; i < pk->nglobals && i < 64; i++)
			(void)msi_pickle_judge(MSI_PICKLE_PLAIN, pk->globals[i].module, pk->globals[i].name, &extra);
	}
	msi_pickle_free(pk);
	ms_report_free(r);
	msi_source_release(mem);
	return 0;
}
