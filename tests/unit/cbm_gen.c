/*
 * Writes a CatBoost model made by the test writer, for benchmarks:
 *
 *   cbm_gen OUT TREES DEPTH [DIM [nonsym]]
 *
 * Symmetric trees of DEPTH over 50 float features (32 borders each), two
 * CTR features with their CTR part, ApproxDimension DIM (default 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbm_writer.h"

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: cbm_gen OUT TREES DEPTH [DIM [nonsym]]\n");
		return 2;
	}
	cbw_spec s;
	cbw_spec_default(&s);
	s.n_trees = (uint32_t)strtoul(argv[2], NULL, 10);
	s.depth = atoi(argv[3]);
	s.dim = argc > 4 ? atoi(argv[4]) : 1;
	s.non_symmetric = argc > 5 && strcmp(argv[5], "nonsym") == 0;
	s.n_float = 50;
	s.borders = 32;
	s.n_cat = 2;
	s.n_ctr = 2;
	s.ctr_part = true;
	s.leaf_weights = true;
	cbw_model_out m;
	cbw_model(&s, &m);
	FILE *f = fopen(argv[1], "wb");
	if (!f || fwrite(m.file.p, 1, m.file.len, f) != m.file.len || fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	printf("%zu\n", m.file.len);
	cbw_free(&m.file);
	return 0;
}
