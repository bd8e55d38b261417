/* The model resource (include/modelstore/model.h) and the table of the data
 * formats serialzy packs as models. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../artifact/artifact.h"
#include "package.h"

/* ---- formats ---- */

/* SERIALZY.md section 3: the model serializers, their meta key, and the file
 * names of unpack_model. The default type is the class serialzy's
 * deserializer hands back (or the base class it instantiates). */
static const msi_pack_format pack_formats[] = {
	{ "cbm", "catboost", "catboost.core.CatBoost", false, "model.cbm" },
	{ "catboost_quantized_pool", "catboost", "catboost.core.Pool", false, "model.bin" },
	{ "tf_keras", "keras", "keras.engine.training.Model", true, "model.savedmodel" },
	{ "tf_pure", "tensorflow", "tensorflow.python.module.module.Module", true, "model.savedmodel" },
	{ "lgbm", "lightgbm", "lightgbm.basic.Booster", false, "model" },
	{ "xgb", "xgboost", "xgboost.core.Booster", false, "model" },
	{ "pt", "torch", "torch.jit._script.RecursiveScriptModule", false, "model.pt" },
	{ "onnx", "onnx", "onnx.onnx_ml_pb2.ModelProto", false, "model.onnx" },
	{ "skl", "sklearn", "sklearn.base.BaseEstimator", false, "model.pickle" },
};

/* Every data_format serialzy 1.5.1 (and lzy's raw_file) can read back. */
static const char *const serialzy_formats[] = {
	"primitive_type", "proto", "pickle", "serialzy_sequence_stable", "serialzy_sequence_unstable",
	"serialzy_union_stable", "serialzy_union_unstable", "serialzy_python_ellipsis", "raw_file",
};

const msi_pack_format *msi_pack_format_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < MSI_ARRAY_LEN(pack_formats); i++)
		if (strcmp(pack_formats[i].name, name) == 0)
			return &pack_formats[i];
	return NULL;
}

bool msi_serialzy_format_known(const char *name)
{
	if (msi_pack_format_by_name(name))
		return true;
	for (size_t i = 0; i < MSI_ARRAY_LEN(serialzy_formats); i++)
		if (strcmp(serialzy_formats[i], name) == 0)
			return true;
	return false;
}

MS_EXTERN size_t ms_pack_format_count(void)
{
	return MSI_ARRAY_LEN(pack_formats);
}

MS_EXTERN int ms_pack_format_get(size_t index, const char **name, const char **framework, const char **default_type,
                                 int *is_directory)
{
	if (index >= MSI_ARRAY_LEN(pack_formats))
		return msi_error(MS_ENOTFOUND, "pack format %zu does not exist", index);
	const msi_pack_format *f = &pack_formats[index];
	if (name)
		*name = f->name;
	if (framework)
		*framework = f->framework;
	if (default_type)
		*default_type = f->default_type;
	if (is_directory)
		*is_directory = f->directory;
	return MS_OK;
}

/* ---- fields ---- */

static const char *const text_keys[MSI_MODEL_NTEXT] = {
	"name", "notebook", "variable", "user", "created_at", "sha256", "description",
};

static int text_index(const char *field)
{
	if (!field)
		return -1;
	for (int i = 0; i < MSI_MODEL_NTEXT; i++)
		if (strcmp(text_keys[i], field) == 0)
			return i;
	return -1;
}

static int set_text(msi_text *t, const char *s, size_t len)
{
	char *copy = NULL;
	if (s) {
		if (len == SIZE_MAX || !(copy = msi_malloc(len + 1)))
			return msi_error(MS_ENOMEM, "out of memory");
		memcpy(copy, s, len);
		copy[len] = '\0';
	}
	msi_free(t->s);
	t->s = copy;
	t->len = s ? len : 0;
	return MS_OK;
}

MS_EXTERN int ms_model_new(ms_model **out)
{
	if (!out)
		return msi_error(MS_EINVAL, "out must not be NULL");
	msi_mark_used();
	*out = msi_calloc(1, sizeof **out);
	return *out ? MS_OK : msi_error(MS_ENOMEM, "out of memory");
}

MS_EXTERN void ms_model_free(ms_model *m)
{
	if (!m)
		return;
	for (int i = 0; i < MSI_MODEL_NTEXT; i++)
		msi_free(m->text[i].s);
	for (size_t i = 0; i < m->ntags; i++)
		msi_free(m->tags[i].s);
	msi_free(m->tags);
	msi_free(m);
}

static int add_tag(ms_model *m, const char *tag, size_t len)
{
	if (m->ntags == m->cap_tags) {
		size_t ncap = m->cap_tags ? m->cap_tags * 2 : 4;
		msi_text *nt = msi_reallocarray(m->tags, ncap, sizeof *nt);
		if (!nt)
			return msi_error(MS_ENOMEM, "out of memory");
		m->tags = nt;
		m->cap_tags = ncap;
	}
	msi_text *t = &m->tags[m->ntags];
	memset(t, 0, sizeof *t);
	int rc = set_text(t, tag, len);
	if (rc == MS_OK)
		m->ntags++;
	return rc;
}

MS_EXTERN int ms_model_dup(ms_model **out, const ms_model *m)
{
	if (!out || !m)
		return msi_error(MS_EINVAL, "out and model must not be NULL");
	*out = NULL;
	ms_model *c;
	int rc = ms_model_new(&c);
	if (rc != MS_OK)
		return rc;
	for (int i = 0; i < MSI_MODEL_NTEXT && rc == MS_OK; i++)
		rc = set_text(&c->text[i], m->text[i].s, m->text[i].len);
	for (size_t i = 0; i < m->ntags && rc == MS_OK; i++)
		rc = add_tag(c, m->tags[i].s, m->tags[i].len);
	c->has_size = m->has_size;
	c->size = m->size;
	if (rc != MS_OK) {
		ms_model_free(c);
		return rc;
	}
	*out = c;
	return MS_OK;
}

MS_EXTERN int ms_model_set(ms_model *m, const char *field, const char *value)
{
	if (!m || !field)
		return msi_error(MS_EINVAL, "model and field must not be NULL");
	int i = text_index(field);
	if (i < 0)
		return msi_error(MS_ENOTFOUND, "'%.64s' is not a text field of a model resource", field);
	return set_text(&m->text[i], value, value ? strlen(value) : 0);
}

MS_EXTERN int ms_model_get(const ms_model *m, const char *field, const char **value_out, size_t *len_out)
{
	if (!m || !field || !value_out)
		return msi_error(MS_EINVAL, "model, field and value_out must not be NULL");
	int i = text_index(field);
	if (i < 0)
		return msi_error(MS_ENOTFOUND, "'%.64s' is not a text field of a model resource", field);
	*value_out = m->text[i].s;
	if (len_out)
		*len_out = m->text[i].len;
	return MS_OK;
}

MS_EXTERN int ms_model_set_created_at(ms_model *m, int64_t t)
{
	if (!m)
		return msi_error(MS_EINVAL, "model must not be NULL");
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[64];
	if ((int64_t)tt != t || !gmtime_r(&tt, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return msi_error(MS_EINVAL, "time %lld is outside the years 0000-9999", (long long)t);
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec);
	return set_text(&m->text[MSI_MODEL_CREATED_AT], buf, strlen(buf));
}

MS_EXTERN int ms_model_set_size(ms_model *m, uint64_t size)
{
	if (!m)
		return msi_error(MS_EINVAL, "model must not be NULL");
	m->has_size = true;
	m->size = size;
	return MS_OK;
}

MS_EXTERN int ms_model_get_size(const ms_model *m, uint64_t *size_out)
{
	if (!m || !size_out)
		return msi_error(MS_EINVAL, "model and size_out must not be NULL");
	if (!m->has_size)
		return msi_error(MS_ENOTFOUND, "the model resource has no size");
	*size_out = m->size;
	return MS_OK;
}

MS_EXTERN int ms_model_unset(ms_model *m, const char *field)
{
	if (!m || !field)
		return msi_error(MS_EINVAL, "model and field must not be NULL");
	if (strcmp(field, "size") == 0) {
		m->has_size = false;
		m->size = 0;
		return MS_OK;
	}
	if (strcmp(field, "tags") == 0) {
		for (size_t i = 0; i < m->ntags; i++)
			msi_free(m->tags[i].s);
		m->ntags = 0;
		return MS_OK;
	}
	int i = text_index(field);
	if (i < 0)
		return msi_error(MS_ENOTFOUND, "'%.64s' is not a field of a model resource", field);
	return set_text(&m->text[i], NULL, 0);
}

MS_EXTERN int ms_model_add_tag(ms_model *m, const char *tag)
{
	if (!m || !tag)
		return msi_error(MS_EINVAL, "model and tag must not be NULL");
	return add_tag(m, tag, strlen(tag));
}

MS_EXTERN size_t ms_model_tag_count(const ms_model *m)
{
	return m ? m->ntags : 0;
}

MS_EXTERN int ms_model_tag_get(const ms_model *m, size_t index, const char **tag_out, size_t *len_out)
{
	if (!m || !tag_out)
		return msi_error(MS_EINVAL, "model and tag_out must not be NULL");
	if (index >= m->ntags)
		return msi_error(MS_ENOTFOUND, "tag %zu does not exist (%zu tags)", index, m->ntags);
	*tag_out = m->tags[index].s;
	if (len_out)
		*len_out = m->tags[index].len;
	return MS_OK;
}

/* ---- JSON ---- */

static void write_text(msi_json *j, const msi_text *t)
{
	if (t->s)
		msi_json_stringn(j, t->s, t->len);
	else
		msi_json_null(j);
}

int msi_model_write(const ms_model *m, msi_buf *out, size_t *sha_off)
{
	for (int i = 0; i < MSI_MODEL_NTEXT; i++)
		if (m->text[i].s && !msi_utf8_valid(m->text[i].s, m->text[i].len))
			return msi_error(MS_EFORMAT, "the model's %s is not valid UTF-8", text_keys[i]);
	for (size_t i = 0; i < m->ntags; i++)
		if (!msi_utf8_valid(m->tags[i].s, m->tags[i].len))
			return msi_error(MS_EFORMAT, "tag %zu of the model is not valid UTF-8", i);
	msi_json j;
	msi_json_init(&j, out, MSI_JSON_PYTHON);
	msi_json_object_begin(&j);
	static const int before_size[] = { MSI_MODEL_NAME, MSI_MODEL_NOTEBOOK, MSI_MODEL_VARIABLE, MSI_MODEL_USER,
		                           MSI_MODEL_CREATED_AT };
	for (size_t i = 0; i < MSI_ARRAY_LEN(before_size); i++) {
		msi_json_key(&j, text_keys[before_size[i]]);
		write_text(&j, &m->text[before_size[i]]);
	}
	msi_json_key(&j, "size");
	if (m->has_size)
		msi_json_uint(&j, m->size);
	else
		msi_json_null(&j);
	msi_json_key(&j, "sha256");
	if (sha_off)
		*sha_off = m->text[MSI_MODEL_SHA256].s ? out->len + 1 : SIZE_MAX; /* after the quote */
	write_text(&j, &m->text[MSI_MODEL_SHA256]);
	msi_json_key(&j, "description");
	write_text(&j, &m->text[MSI_MODEL_DESCRIPTION]);
	msi_json_key(&j, "tags");
	msi_json_array_begin(&j);
	for (size_t i = 0; i < m->ntags; i++)
		write_text(&j, &m->tags[i]);
	msi_json_array_end(&j);
	msi_json_object_end(&j);
	return out->failed ? msi_error(MS_ENOMEM, "out of memory") : MS_OK;
}

MS_EXTERN int ms_model_to_json(const ms_model *m, char **json_out, size_t *len_out)
{
	if (!m || !json_out)
		return msi_error(MS_EINVAL, "model and json_out must not be NULL");
	*json_out = NULL;
	msi_buf b = MSI_BUF_INIT;
	int rc = msi_model_write(m, &b, NULL);
	if (rc != MS_OK) {
		msi_buf_free(&b);
		return rc;
	}
	*json_out = msi_buf_detach(&b, len_out);
	return *json_out ? MS_OK : msi_error(MS_ENOMEM, "out of memory");
}

/* A JSON number that is a non-negative integer, exactly. */
static bool parse_u64(const msi_jval *v, uint64_t *out)
{
	if (v->kind != MSI_JNUMBER || !v->text || v->text_len == 0 || v->text_len > 20)
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < v->text_len; i++) {
		char c = v->text[i];
		if (c < '0' || c > '9' || !msi_mul_u64(n, 10, &n) || !msi_add_u64(n, (uint64_t)(c - '0'), &n))
			return false;
	}
	*out = n;
	return true;
}

static const char *const all_keys[] = { "name", "notebook", "variable", "user", "created_at",
	                                "size", "sha256", "description", "tags" };

bool msi_model_jval_is_resource(const msi_jval *v)
{
	return v && v->kind == MSI_JOBJECT && msi_jval_get(v, "name") && msi_jval_get(v, "size") &&
	       msi_jval_get(v, "sha256");
}

int msi_model_from_jval(const msi_jval *v, ms_report *r, const char *where, ms_model **out)
{
	*out = NULL;
	if (!v || v->kind != MSI_JOBJECT)
		return msi_error(MS_EFORMAT, "a model resource must be a JSON object");
	ms_model *m;
	int rc = ms_model_new(&m);
	if (rc != MS_OK)
		return rc;
	char w[160];
	for (size_t i = 0; i < v->count && rc == MS_OK; i++) {
		const char *key = v->keys[i];
		const msi_jval *val = v->items[i];
		snprintf(w, sizeof w, "%s%.64s", where ? where : "", key);
		int ti = strlen(key) == v->key_lens[i] ? text_index(key) : -1;
		bool bad_type = false;
		if (ti >= 0) {
			if (val->kind == MSI_JSTRING)
				rc = set_text(&m->text[ti], val->text, val->text_len);
			else if (val->kind == MSI_JNULL)
				rc = set_text(&m->text[ti], NULL, 0);
			else
				bad_type = true;
		} else if (strcmp(key, "size") == 0) {
			if (val->kind == MSI_JNULL)
				m->has_size = false;
			else if (parse_u64(val, &m->size))
				m->has_size = true;
			else
				bad_type = true;
		} else if (strcmp(key, "tags") == 0) {
			if (val->kind == MSI_JARRAY) {
				for (size_t k = 0; k < m->ntags; k++)
					msi_free(m->tags[k].s);
				m->ntags = 0;
				for (size_t k = 0; k < val->count && rc == MS_OK; k++) {
					if (val->items[k]->kind == MSI_JSTRING)
						rc = add_tag(m, val->items[k]->text, val->items[k]->text_len);
					else
						bad_type = true;
				}
			} else if (val->kind != MSI_JNULL) {
				bad_type = true;
			}
		} else {
			if (!r) {
				rc = msi_error(MS_EFORMAT, "'%.64s' is not a key of a model resource", key);
				break;
			}
			msi_report_add(r, "model.key.unknown", w, "user-meta key '%.64s' is not part of the model resource",
			               key);
			continue;
		}
		if (bad_type) {
			if (!r) {
				rc = msi_error(MS_EFORMAT, "the model resource's '%.64s' has the wrong JSON type", key);
				break;
			}
			msi_report_add(r, "model.field.type", w, "'%.64s' must be %s", key,
			               strcmp(key, "size") == 0   ? "a non-negative integer or null"
			               : strcmp(key, "tags") == 0 ? "a list of strings"
			                                          : "a string or null");
		}
	}
	if (r && rc == MS_OK) {
		for (size_t k = 0; k < MSI_ARRAY_LEN(all_keys); k++) {
			if (!msi_jval_get(v, all_keys[k])) {
				snprintf(w, sizeof w, "%s%s", where ? where : "", all_keys[k]);
				msi_report_add(r, "model.key.missing", w, "the model resource has no '%s' key", all_keys[k]);
			}
		}
	}
	if (rc != MS_OK) {
		ms_model_free(m);
		return rc;
	}
	*out = m;
	return MS_OK;
}

MS_EXTERN int ms_model_from_json(ms_model **out, const char *json, size_t len)
{
	if (!out || (!json && len))
		return msi_error(MS_EINVAL, "out must not be NULL, nor json when len > 0");
	*out = NULL;
	msi_json_limits jl = { 64, 1000000 };
	msi_jval *v = NULL;
	int rc = msi_json_parse(json ? json : "", len, &jl, &v);
	if (rc == MS_OK)
		rc = msi_model_from_jval(v, NULL, NULL, out);
	msi_jval_free(v);
	return rc;
}

MS_EXTERN int ms_model_from_artifact(ms_model **out, const ms_artifact *a)
{
	if (!out || !a)
		return msi_error(MS_EINVAL, "out and artifact must not be NULL");
	*out = NULL;
	if (!a->serialzy)
		return msi_error(MS_ENOTFOUND, "the artifact is not a serialzy stream");
	const msi_jval *meta = a->serialzy->header ? msi_jval_get(a->serialzy->header, "meta") : NULL;
	const msi_jval *um = meta && meta->kind == MSI_JOBJECT ? msi_jval_get(meta, "user-meta") : NULL;
	if (!um)
		return msi_error(MS_ENOTFOUND, "the serialzy header has no user-meta");
	if (!a->serialzy->user_meta)
		return msi_error(MS_EFORMAT, "the serialzy header's user-meta is not a JSON object");
	return msi_model_from_jval(a->serialzy->user_meta, NULL, NULL, out);
}

/* ---- validation ---- */

static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

bool msi_model_time_valid(const char *s, size_t len)
{
	/* YYYY-MM-DDTHH:MM:SSZ */
	if (!s || len != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
	    s[19] != 'Z')
		return false;
	int y, mo, d, h, mi, se;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) ||
	    !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
		return false;
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[mo - 1] + (mo == 2 && leap);
}

bool msi_model_sha_valid(const char *s, size_t len)
{
	if (!s || len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

void msi_model_check(const ms_model *m, ms_report *r, const char *where)
{
	char w[128];
#define WHERE(key) (snprintf(w, sizeof w, "%s%s", where ? where : "", key), w)
	const msi_text *name = &m->text[MSI_MODEL_NAME];
	if (!name->s)
		msi_report_add(r, "model.name.missing", WHERE("name"), "the model resource has no name");
	else if (name->len == 0)
		msi_report_add(r, "model.name.empty", WHERE("name"), "the model's name is empty");
	else if (msi_utf8_valid(name->s, name->len) && msi_utf8_count(name->s, name->len) > MSI_MODEL_NAME_MAX)
		msi_report_add(r, "model.name.too_long", WHERE("name"), "the model's name has %zu characters (at most %d)",
		               msi_utf8_count(name->s, name->len), MSI_MODEL_NAME_MAX);
	for (int i = 0; i < MSI_MODEL_NTEXT; i++)
		if (m->text[i].s && !msi_utf8_valid(m->text[i].s, m->text[i].len))
			msi_report_add(r, "model.text.utf8", WHERE(text_keys[i]), "the model's %s is not valid UTF-8",
			               text_keys[i]);
	for (size_t i = 0; i < m->ntags; i++)
		if (!msi_utf8_valid(m->tags[i].s, m->tags[i].len))
			msi_report_add(r, "model.text.utf8", WHERE("tags"), "tag %zu is not valid UTF-8", i);
	const msi_text *ca = &m->text[MSI_MODEL_CREATED_AT];
	if (ca->s && !msi_model_time_valid(ca->s, ca->len))
		msi_report_add(r, "model.created_at.format", WHERE("created_at"),
		               "created_at '%.40s' is not a UTC time written YYYY-MM-DDTHH:MM:SSZ", ca->s);
	const msi_text *sha = &m->text[MSI_MODEL_SHA256];
	if (sha->s && !msi_model_sha_valid(sha->s, sha->len))
		msi_report_add(r, "model.sha256.format", WHERE("sha256"),
		               "sha256 '%.80s' is not 64 lowercase hexadecimal digits", sha->s);
#undef WHERE
}

MS_EXTERN int ms_model_validate(const ms_model *m, ms_report **report_out)
{
	if (!m || !report_out)
		return msi_error(MS_EINVAL, "model and report_out must not be NULL");
	*report_out = NULL;
	ms_report *r = msi_report_new(m->text[MSI_MODEL_NAME].s ? m->text[MSI_MODEL_NAME].s : "", NULL);
	if (!r)
		return msi_error(MS_ENOMEM, "out of memory");
	msi_model_check(m, r, NULL);
	if (r->failed) {
		ms_report_free(r);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	*report_out = r;
	return MS_OK;
}
