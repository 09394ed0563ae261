#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

int tu_tsv_read(const char *path, tu_tsv *t)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    t->buf = malloc((size_t)sz + 1);
    assert_non_null(t->buf);
    assert_int_equal(fread(t->buf, 1, (size_t)sz, f), (size_t)sz);
    t->buf[sz] = '\0';
    fclose(f);
    size_t cap = 0;
    for (long i = 0; i < sz; i++)
        cap += t->buf[i] == '\n';
    cap++;
    t->fields = calloc(cap, sizeof *t->fields);
    t->nfields = calloc(cap, sizeof *t->nfields);
    char *p = t->buf;
    while (*p) {
        char *eol = strchr(p, '\n');
        if (eol)
            *eol = '\0';
        if (*p != '#' && *p != '\0') {
            size_t nf = 1;
            for (char *q = p; *q; q++)
                nf += *q == '\t';
            char **fl = calloc(nf + 1, sizeof *fl);
            size_t k = 0;
            fl[k++] = p;
            for (char *q = p; *q; q++)
                if (*q == '\t') {
                    *q = '\0';
                    fl[k++] = q + 1;
                }
            t->fields[t->nlines] = fl;
            t->nfields[t->nlines] = nf;
            t->nlines++;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return 0;
}

void tu_tsv_free(tu_tsv *t)
{
    for (size_t i = 0; i < t->nlines; i++)
        free(t->fields[i]);
    free(t->fields);
    free(t->nfields);
    free(t->buf);
    memset(t, 0, sizeof *t);
}

hash_ring_t *tu_ring_from_nodes(const char *dir, hash_ring_dialect_t dialect)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/nodes.tsv", dir);
    tu_tsv t;
    assert_int_equal(tu_tsv_read(path, &t), 0);
    hash_ring_t *r = NULL;
    assert_int_equal(hash_ring_create(&r, dialect), HASH_RING_OK);
    if (t.nlines > 100) {
        /* large pools in one batch */
        const void **names = calloc(t.nlines, sizeof *names);
        size_t *lens = calloc(t.nlines, sizeof *lens);
        uint32_t *ws = calloc(t.nlines, sizeof *ws);
        for (size_t i = 0; i < t.nlines; i++) {
            names[i] = t.fields[i][0];
            lens[i] = strlen(t.fields[i][0]);
            ws[i] = (uint32_t)strtoul(t.fields[i][1], NULL, 10);
        }
        assert_int_equal(hash_ring_add_nodes(r, names, lens, ws, t.nlines), HASH_RING_OK);
        free(names);
        free(lens);
        free(ws);
    }
    for (size_t i = 0; t.nlines <= 100 && i < t.nlines; i++) {
        const char *name = t.fields[i][0];
        uint32_t w = (uint32_t)strtoul(t.fields[i][1], NULL, 10);
        assert_int_equal(hash_ring_add_node(r, name, strlen(name), w), HASH_RING_OK);
    }
    tu_tsv_free(&t);
    return r;
}

uint64_t tu_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}
