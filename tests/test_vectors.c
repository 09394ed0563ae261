/* test_vectors.c - placements computed by the original programs and peers
 * (tests/vectors, see its README) must be reproduced exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "testutil.h"

#ifndef HR_VECTORS_DIR
#error "HR_VECTORS_DIR must be defined"
#endif

static const char *const cases[] = {"seed3",   "seed3-weighted", "uneven-3",   "uneven-5",
                                    "uneven-7", "equal-7",       "equal-25",   "equal-61",
                                    "nodes-2000", "zero-weight",  "utf8"};

static const hash_ring_dialect_t dialects[] = {
    HASH_RING_DIALECT_PYTHON,       HASH_RING_DIALECT_NODE,      HASH_RING_DIALECT_LIBKETAMA,
    HASH_RING_DIALECT_LIBMEMCACHED, HASH_RING_DIALECT_HASHRING, HASH_RING_DIALECT_HASHRING_PYTHON};

static void path_of(char *buf, size_t n, const char *c, hash_ring_dialect_t d, const char *kind)
{
    snprintf(buf, n, "%s/%s/%s.%s.tsv", HR_VECTORS_DIR, c, hash_ring_dialect_name(d), kind);
}

/* Every key of every DIALECT.get.tsv goes to the peer's node. */
static void test_get(void **state)
{
    (void)state;
    size_t files = 0, keys = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        for (size_t d = 0; d < sizeof dialects / sizeof *dialects; d++) {
            char path[4096], dir[4096];
            tu_tsv t;
            path_of(path, sizeof path, cases[c], dialects[d], "get");
            if (tu_tsv_read(path, &t) != 0)
                continue;
            snprintf(dir, sizeof dir, "%s/%s", HR_VECTORS_DIR, cases[c]);
            hash_ring_t *r = tu_ring_from_nodes(dir, dialects[d]);
            size_t bad = 0;
            for (size_t i = 0; i < t.nlines; i++) {
                const char *node = NULL;
                size_t len = 0;
                const char *key = t.fields[i][0];
                assert_int_equal(hash_ring_get_node(r, key, strlen(key), &node, &len),
                                 HASH_RING_OK);
                if (strcmp(node, t.fields[i][1]) != 0 || len != strlen(node)) {
                    if (bad++ < 5)
                        print_error("%s: key %s: got %s, peer %s\n", path, key, node,
                                    t.fields[i][1]);
                }
            }
            assert_int_equal(bad, 0);
            keys += t.nlines;
            files++;
            hash_ring_destroy(r);
            tu_tsv_free(&t);
        }
    }
    /* every .get.tsv in tests/vectors */
    assert_int_equal(files, 58);
    print_message("get: %zu files, %zu keys\n", files, keys);
}

/* python.replicas.tsv: every distinct node in ring order from the key. */
static void test_replicas(void **state)
{
    (void)state;
    size_t files = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char path[4096], dir[4096];
        tu_tsv t;
        path_of(path, sizeof path, cases[c], HASH_RING_DIALECT_PYTHON, "replicas");
        if (tu_tsv_read(path, &t) != 0)
            continue;
        snprintf(dir, sizeof dir, "%s/%s", HR_VECTORS_DIR, cases[c]);
        hash_ring_t *r = tu_ring_from_nodes(dir, HASH_RING_DIALECT_PYTHON);
        for (size_t i = 0; i < t.nlines; i++) {
            const char *nodes[16];
            size_t lens[16], count = 99;
            const char *key = t.fields[i][0];
            assert_int_equal(hash_ring_get_nodes(r, key, strlen(key), nodes, lens, 16, &count),
                             HASH_RING_OK);
            assert_int_equal(count, t.nfields[i] - 1);
            for (size_t k = 0; k < count; k++) {
                assert_string_equal(nodes[k], t.fields[i][k + 1]);
                assert_int_equal(lens[k], strlen(nodes[k]));
            }
            /* a shorter max gives the prefix */
            assert_int_equal(hash_ring_get_nodes(r, key, strlen(key), nodes, NULL, 1, &count),
                             HASH_RING_OK);
            assert_int_equal(count, 1);
            assert_string_equal(nodes[0], t.fields[i][1]);
        }
        files++;
        hash_ring_destroy(r);
        tu_tsv_free(&t);
    }
    assert_int_equal(files, 2);
}

static void check_continuum(const char *c, hash_ring_dialect_t d, const char *file, int sampled)
{
    char path[4096], dir[4096];
    tu_tsv t;
    snprintf(path, sizeof path, "%s/%s/%s", HR_VECTORS_DIR, c, file);
    assert_int_equal(tu_tsv_read(path, &t), 0);
    snprintf(dir, sizeof dir, "%s/%s", HR_VECTORS_DIR, c);
    hash_ring_t *r = tu_ring_from_nodes(dir, d);
    hash_ring_snapshot_t *s = NULL;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    size_t total = t.nlines;
    if (sampled) {
        /* first line of the sample: "# total N" is a comment; recount */
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        assert_int_equal(fscanf(f, "# total\t%zu", &total), 1);
        fclose(f);
    }
    assert_int_equal(hash_ring_snapshot_point_count(s), total);
    for (size_t i = 0; i < t.nlines; i++) {
        size_t idx = sampled ? strtoull(t.fields[i][0], NULL, 10) : i;
        const char *want_pt = t.fields[i][sampled ? 1 : 0];
        const char *want_owner = t.fields[i][sampled ? 2 : 1];
        uint32_t pt;
        const char *owner;
        assert_int_equal(hash_ring_snapshot_point(s, idx, &pt, &owner, NULL), HASH_RING_OK);
        assert_int_equal(pt, strtoull(want_pt, NULL, 10));
        assert_string_equal(owner, want_owner);
    }
    hash_ring_snapshot_release(s);
    hash_ring_destroy(r);
    tu_tsv_free(&t);
}

/* DIALECT.continuum.tsv: every point, shared ones included, with its owner. */
static void test_continuum(void **state)
{
    (void)state;
    size_t files = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        for (size_t d = 0; d < sizeof dialects / sizeof *dialects; d++) {
            char path[4096];
            path_of(path, sizeof path, cases[c], dialects[d], "continuum");
            FILE *f = fopen(path, "r");
            if (f == NULL)
                continue;
            fclose(f);
            char file[256];
            snprintf(file, sizeof file, "%s.continuum.tsv", hash_ring_dialect_name(dialects[d]));
            check_continuum(cases[c], dialects[d], file, 0);
            files++;
        }
    }
    assert_int_equal(files, 12);
}

/* nodes-2000: four points shared by two nodes; the node added last owns them. */
static void test_continuum_collisions(void **state)
{
    (void)state;
    check_continuum("nodes-2000", HASH_RING_DIALECT_PYTHON, "python.continuum-sample.tsv", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_replicas),
        cmocka_unit_test(test_continuum),
        cmocka_unit_test(test_continuum_collisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
