/* Validation of the model resource a serialzy stream carries (called by
 * ms_artifact_validate, artifact/validate.c). */
#include <string.h>

#include "../artifact/artifact.h"
#include "package.h"

static int hash_chunk(const uint8_t *data, size_t len, void *user)
{
	msi_sha256_update(user, data, len);
	return MS_OK;
}

/* ms_artifact_validate's check of a serialzy stream's model resource in meta["user-meta"] (as ms_pack_path writes it):
 * its fields, and its size and sha256 against the payload. */
int msi_model_check_stream(ms_artifact *a, msi_validate_ctx *ctx)
{
	ms_report *r = ctx->report;
	bool quick = ctx->quick;
	msi_progress *progress = ctx->progress;
	const msi_jval *um = a->serialzy->user_meta;
	if (!msi_model_jval_is_resource(um))
		return MS_OK;
	static const char where[] = "serialzy header: meta.user-meta.";
	ms_model *m;
	int rc = msi_model_from_jval(um, r, where, &m);
	if (rc != MS_OK)
		return rc == MS_ENOMEM ? rc : MS_OK;
	msi_model_check(m, r, where);
	if (a->serialzy->header_whole && a->payload != a->root) {
		uint64_t size = a->payload->size;
		if (m->has_size && m->size != size)
			msi_report_add(r, "model.size.mismatch", "serialzy header: meta.user-meta.size",
			               "the model resource says %llu bytes, the payload has %llu",
			               (unsigned long long)m->size, (unsigned long long)size);
		const msi_text *sha = &m->text[MSI_MODEL_SHA256];
		if (!quick && sha->s && msi_model_sha_valid(sha->s, sha->len)) {
			msi_sha256 *h = msi_sha256_new();
			if (!h) {
				ms_model_free(m);
				return msi_error(MS_ENOMEM, "out of memory");
			}
			rc = msi_source_stream(a->payload, 0, size, hash_chunk, h, progress);
			if (rc == MS_OK) {
				uint8_t d[32];
				char hex[65];
				msi_sha256_final(h, d);
				msi_hex(d, 32, hex);
				if (strcmp(hex, sha->s) != 0)
					msi_report_add(r, "model.sha256.mismatch", "serialzy header: meta.user-meta.sha256",
					               "the model resource says %s, the payload's SHA-256 is %s", sha->s, hex);
			} else {
				msi_sha256_abort(h);
			}
		}
	}
	ms_model_free(m);
	return rc;
}

