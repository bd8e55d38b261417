/* libFuzzer target: the Keras config checker and, when the first byte is
 * odd, the npz weights checker on the rest of the input (from memory). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "formats/keras/keras_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int take_array(void *user, const char *name, size_t name_len, const char *dtype, unsigned rank,
                      const uint64_t *dims, uint64_t elements)
{
	/* touch everything the checker hands out */
	size_t *sum = user;
	*sum += name_len + strlen(dtype) + (size_t)elements;
	for (unsigned i = 0; i < rank; i++)
		*sum += (size_t)dims[i];
	if (name_len)
		*sum += (unsigned char)name[name_len - 1];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool npz = data[0] & 1;
	data++;
	size--;
	ms_report *r = msi_report_new("fuzz", NULL);
	if (!r)
		return 0;
	if (npz) {
		msi_source *src = NULL;
		msi_limits lim = { 1000, 1u << 24, 1u << 20, 16, 1u << 20 };
		size_t sum = 0;
		if (msi_source_from_memory(data, size, false, &src) == MS_OK) {
			msi_keras_npz_check(src, &lim, "model.weights.npz", r, take_array, &sum);
			msi_source_release(src);
		}
	} else {
		msi_json_limits lim = { 64, 100000 };
		msi_keras_facts f;
		if (msi_keras_config_check((const char *)data, size, "config.json", &lim, r, &f) == MS_OK) {
			size_t sum = 0;
			for (size_t i = 0; i < f.layer_count; i++)
				sum += strlen(f.layers[i]);
			if (f.class_name)
				sum += strlen(f.class_name);
			if (f.layer_count > f.layers_total || (f.layer_count && sum == 0 && f.layers[0][0]))
				__builtin_trap();
			msi_keras_facts_free(&f);
		}
	}
	/* every finding has a code from the table and a location string */
	for (size_t i = 0; i < r->count; i++)
		if (!msi_code_lookup(r->items[i].code) || !r->items[i].where)
			__builtin_trap();
	ms_report_free(r);
	return 0;
}
