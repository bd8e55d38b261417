/* libFuzzer target: the FlatBuffers verifier (flatbuf.c) and the CatBoost
 * model reader. The first byte picks the mode:
 *   even  the rest is a CatBoost model body: "CBM1" and its core size are
 *         put in front (so the fuzzer need not find them) and the artifact
 *         is inspected and validated as "cbm";
 *   odd   the rest is a bare FlatBuffer walked without a schema: every
 *         field of every table is tried as a table, a vector (of 1, 4, 8
 *         byte elements or of tables/strings) or a string, as chosen by the
 *         first byte, to a small depth. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/catboost/flatbuf.h"
#include "modelstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(msi_fb *fb, const msi_fb_table *t, unsigned choice, int depth)
{
	unsigned slots = (t->vt_len - 4u) / 2u;
	if (slots > 24)
		slots = 24;
	for (unsigned s = 0; s < slots && !fb->error; s++) {
		unsigned how = (choice >> (s % 8)) & 7u;
		msi_fb_table child;
		msi_fb_vec v;
		const char *str;
		uint32_t len;
		int32_t i32;
		double f64;
		switch (how) {
		case 0:
			if (depth < 6 && msi_fb_table_field(fb, t, s, &child) == 1)
				walk(fb, &child, choice * 31u + s, depth + 1);
			break;
		case 1: msi_fb_string(fb, t, s, &str, &len); break;
		case 2:
			if (msi_fb_vector(fb, t, s, 4, &v) == 1)
				for (uint32_t k = 0; k < v.count && k < 64 && !fb->error; k++)
					if (depth < 6 && msi_fb_vec_table(fb, &v, k, &child) == 1)
						walk(fb, &child, choice + k, depth + 1);
			break;
		case 3:
			if (msi_fb_vector(fb, t, s, 4, &v) == 1)
				for (uint32_t k = 0; k < v.count && k < 64; k++)
					msi_fb_vec_string(fb, &v, k, &str, &len);
			break;
		case 4:
			if (msi_fb_vector(fb, t, s, 8, &v) == 1 && v.count)
				(void)msi_fb_vec_f64(fb, &v, v.count - 1);
			break;
		case 5: msi_fb_vector(fb, t, s, 1, &v); break;
		case 6: msi_fb_i32(fb, t, s, 0, &i32); break;
		default: msi_fb_f64(fb, t, s, 0, &f64); break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	if (mode & 1) {
		msi_fb fb;
		msi_fb_table root;
		msi_fb_init(&fb, data, size, 16, 100000, 0);
		if (msi_fb_root(&fb, &root) == 1)
			walk(&fb, &root, mode, 1);
		return 0;
	}
	uint8_t *buf = malloc(size + 8);
	if (!buf)
		return 0;
	memcpy(buf, "CBM1", 4);
	uint32_t n = (uint32_t)size;
	if (mode & 2) /* sometimes a lying size */
		n = size ? (uint32_t)(size / 2 + (mode >> 2)) : 0;
	for (int i = 0; i < 4; i++)
		buf[4 + i] = (uint8_t)(n >> (8 * i));
	if (size)
		memcpy(buf + 8, data, size);
	ms_open_options o = MS_OPEN_OPTIONS_INIT;
	o.format = "cbm";
	ms_artifact *a = NULL;
	if (ms_artifact_open_buffer(&a, buf, size + 8, &o) == MS_OK) {
		char *json = NULL;
		ms_artifact_inspect(a, NULL, &json, NULL);
		ms_free(json);
		ms_report *r = NULL;
		if (ms_artifact_validate(a, NULL, &r) == MS_OK)
			ms_report_free(r);
		ms_artifact_free(a);
	}
	free(buf);
	return 0;
}
