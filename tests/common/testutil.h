/* testutil.h - small helpers shared by the test programs. */
#ifndef HR_TESTUTIL_H
#define HR_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "hash_ring.h"

/* A TSV file split into lines and tab-separated fields (owned by the table). */
typedef struct tu_tsv {
    size_t nlines;
    char ***fields;   /* fields[i][k], NULL-terminated per line */
    size_t *nfields;
    char *buf;
} tu_tsv;

/* Reads path; returns 0 on success, -1 if the file does not exist. Lines
 * starting with '#' are skipped. */
int tu_tsv_read(const char *path, tu_tsv *t);
void tu_tsv_free(tu_tsv *t);

/* Builds a ring of `dialect` from a vectors folder's nodes.tsv.  Asserts. */
hash_ring_t *tu_ring_from_nodes(const char *dir, hash_ring_dialect_t dialect);

/* Portable xorshift64* generator for property tests (seeded explicitly). */
uint64_t tu_rand(uint64_t *state);

#endif
