/* ms_artifact_inspect: the JSON description of an artifact. */
#include <stdio.h>
#include <string.h>

#include "artifact.h"

MS_EXTERN int ms_inspect_options_init(ms_inspect_options *opts, unsigned int version)
{
	if (!opts)
		return msi_error(MS_EINVAL, "opts is NULL");
	if (version < 1 || version > MS_INSPECT_OPTIONS_VERSION)
		return msi_error(MS_EVERSION, "ms_inspect_options version %u is not supported", version);
	ms_inspect_options init = MS_INSPECT_OPTIONS_INIT;
	*opts = init;
	opts->version = version;
	return MS_OK;
}

static int hash_chunk(const uint8_t *data, size_t len, void *user)
{
	msi_sha256_update(user, data, len);
	return MS_OK;
}

static int sha256_source(const msi_source *s, msi_progress *progress, uint8_t digest[32])
{
	msi_sha256 *h = msi_sha256_new();
	if (!h)
		return msi_error(MS_ENOMEM, "out of memory");
	int rc = msi_source_stream(s, 0, s->size, hash_chunk, h, progress);
	if (rc != MS_OK) {
		msi_sha256_abort(h);
		return rc;
	}
	msi_sha256_final(h, digest);
	return MS_OK;
}

/* A directory's digest: SHA-256 over the lines "<relpath>\0<sha256 hex>\n"
 * of its regular files, in bytewise order of the relative paths (the
 * listing is sorted that way). */
static int sha256_directory(msi_container *c, msi_progress *progress, uint8_t digest[32])
{
	msi_sha256 *h = msi_sha256_new();
	if (!h)
		return msi_error(MS_ENOMEM, "out of memory");
	int rc = MS_OK;
	for (size_t i = 0; i < c->count && rc == MS_OK; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type != MSI_ENTRY_FILE || e->unsafe)
			continue;
		msi_source *s;
		rc = c->ops->open_entry(c, i, UINT64_MAX, &s);
		if (rc != MS_OK)
			break;
		uint8_t d[32];
		char hex[65];
		rc = sha256_source(s, progress, d);
		msi_source_release(s);
		if (rc != MS_OK)
			break;
		msi_hex(d, 32, hex);
		msi_sha256_update(h, e->name, strlen(e->name) + 1); /* with the NUL */
		msi_sha256_update(h, hex, 64);
		msi_sha256_update(h, "\n", 1);
	}
	if (rc != MS_OK) {
		msi_sha256_abort(h);
		return rc;
	}
	msi_sha256_final(h, digest);
	return MS_OK;
}

int msi_artifact_sha256(ms_artifact *a, msi_progress *progress, char hex[65]);
int msi_artifact_sha256(ms_artifact *a, msi_progress *progress, char hex[65])
{
	uint8_t d[32];
	int rc;
	if (a->root)
		rc = sha256_source(a->root, progress, d);
	else
		rc = sha256_directory(a->container, progress, d);
	if (rc == MS_OK)
		msi_hex(d, 32, hex);
	return rc;
}

/* Appends the keys of a finished object fragment "{...}" to the writer that
 * is inside the root object. */
static void splice_object(msi_json *root, const msi_buf *fragment)
{
	if (fragment->len <= 2)
		return;
	msi_json_raw(root, fragment->data + 1, fragment->len - 2);
}

MS_EXTERN int ms_artifact_inspect(ms_artifact *a, const ms_inspect_options *opts, char **json_out, size_t *len_out)
{
	if (!a || !json_out)
		return msi_error(MS_EINVAL, "artifact and json_out must not be NULL");
	*json_out = NULL;
	if (len_out)
		*len_out = 0;
	unsigned flags = 0;
	msi_progress progress = { 0 };
	if (opts) {
		if (opts->version < 1 || opts->version > MS_INSPECT_OPTIONS_VERSION)
			return msi_error(MS_EVERSION, "ms_inspect_options version %u is not supported", opts->version);
		flags = opts->flags;
		progress.fn = opts->progress;
		progress.user = opts->progress_user;
	}
	progress.total = a->size;

	char sha[65] = "";
	if (flags & MS_INSPECT_HASH) {
		int rc = msi_artifact_sha256(a, &progress, sha);
		if (rc != MS_OK)
			return rc;
	}

	msi_buf out = MSI_BUF_INIT, model = MSI_BUF_INIT, extra = MSI_BUF_INIT;
	msi_json j, jm, jx;
	msi_json_init(&j, &out, MSI_JSON_COMPACT);
	msi_json_init(&jm, &model, MSI_JSON_COMPACT);
	msi_json_init(&jx, &extra, MSI_JSON_COMPACT);

	int rc = MS_OK;
	char error[512] = "";
	msi_json_object_begin(&jm);
	msi_json_object_begin(&jx);
	if (a->format && a->format->inspect) {
		msi_inspect_out io = { &jm, &jx };
		rc = a->format->inspect(&a->view, &io);
		if (rc != MS_OK) {
			snprintf(error, sizeof error, "%s", ms_error_last());
			/* close whatever the format left open */
			while (jm.depth > 1) {
				msi_json_object_end(&jm);
			}
			while (jx.depth > 1)
				msi_json_object_end(&jx);
		}
	}
	msi_json_object_end(&jm);
	msi_json_object_end(&jx);

	msi_json_object_begin(&j);
	msi_json_key(&j, "schema_version");
	msi_json_int(&j, 1);
	msi_json_key(&j, "path");
	msi_json_string(&j, a->path);
	msi_json_key(&j, "format");
	msi_json_string(&j, a->format ? a->format->name : NULL);
	msi_json_key(&j, "container");
	msi_json_string(&j, a->ncontainers ? a->containers[0] : NULL);
	msi_json_key(&j, "containers");
	msi_json_array_begin(&j);
	for (size_t i = 0; i < a->ncontainers; i++)
		msi_json_string(&j, a->containers[i]);
	msi_json_array_end(&j);
	msi_json_key(&j, "size");
	msi_json_uint(&j, a->size);
	if (flags & MS_INSPECT_HASH) {
		msi_json_key(&j, "sha256");
		msi_json_string(&j, sha);
	}
	if (a->serialzy) {
		msi_json_key(&j, "serialzy");
		msi_serialzy_write_json(a->serialzy, &j);
	}
	if (a->container) {
		msi_json_key(&j, "members");
		msi_json_uint(&j, a->container->count);
	}
	msi_json_key(&j, "model");
	if (model.failed)
		msi_json_null(&j);
	else
		msi_json_raw(&j, model.data, model.len);
	if (!extra.failed)
		splice_object(&j, &extra);
	if (error[0]) {
		msi_json_key(&j, "error");
		msi_json_string(&j, error);
	}
	msi_json_object_end(&j);
	msi_buf_free(&model);
	msi_buf_free(&extra);
	char *text = msi_buf_detach(&out, len_out);
	if (!text)
		return msi_error(MS_ENOMEM, "out of memory writing JSON");
	*json_out = text;
	if (error[0])
		return msi_error(rc, "%s", error);
	return MS_OK;
}
