/*
 * The TF table reader (tf_table.c): a LevelDB-layout SSTable as TensorFlow
 * writes `<prefix>.index` files (FORMATS.md §7.3). Internal to the
 * tensor-bundle code; tf_bundle.h is the API the formats use.
 */
#ifndef MSI_FORMATS_TF_TABLE_H
#define MSI_FORMATS_TF_TABLE_H

#include "../format.h"

#define TF_TABLE_FOOTER 48u
#define TF_TABLE_MAGIC UINT64_C(0xdb4775248b80fb57)

/* Called for each entry of the data blocks, in table order; keys are
 * strictly increasing (out-of-order entries are reported and skipped).
 * `key` and `val` point into a block buffer that lives for the call only.
 * A non-zero return stops the walk and is returned by tf_table_read. */
typedef int (*tf_table_entry_fn)(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                                 void *user);

/* Walks the table in `src`. Findings (`tf.table.*`) go to `r` (may be
 * NULL), located at `where` (the file name). Returns MS_OK when the footer
 * is there (whatever else is broken), MS_EFORMAT when there is no table
 * footer magic or its index handle is unusable (a tf.table.footer finding
 * is added too), or the callback's
 * / an I/O error. Blocks larger than `limits->max_metadata` are not read
 * (tf.bundle.limit). */
int tf_table_read(msi_source *src, const msi_limits *limits, ms_report *r, const char *where,
                  tf_table_entry_fn fn, void *user);

/* msi_report_add that accepts a NULL report (facts-only readers). */
void tf_finding(ms_report *r, const char *code, const char *where, const char *fmt, ...) MSI_PRINTF(4, 5);

#endif
