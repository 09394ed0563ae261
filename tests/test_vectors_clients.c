/* test_vectors_clients.c - placements computed by seven more real clients
 * (tests/vectors/clients, see its README): every key must go where the
 * client put it.  Each folder is named after the dialect that matches it. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash_ring.h"

#ifndef HR_VECTORS_DIR
#error "HR_VECTORS_DIR must be defined"
#endif

/* .shared. rings whose two nodes share a point in their dialect */
#define SHARED_RINGS 44

static const char *const folders[] = {"spymemcached", "spymemcached-weighted", "uhashring",
                                      "node-memcached", "nginx", "dalli", "pecl-memcache"};

/* The file's lines, each NUL-terminated in place (the last '\n' optional). */
typedef struct lines {
    char *buf;
    char **line;
    size_t n;
} lines;

static void read_lines(const char *path, lines *l)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    l->buf = malloc((size_t)size + 1);
    assert_non_null(l->buf);
    assert_int_equal(fread(l->buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    l->buf[size] = '\0';
    l->n = 0;
    l->line = malloc(((size_t)size + 1) * sizeof *l->line);
    assert_non_null(l->line);
    for (char *p = l->buf; *p != '\0';) {
        char *nl = strchr(p, '\n');
        l->line[l->n++] = p;
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
}

static void free_lines(lines *l)
{
    free(l->line);
    free(l->buf);
}

/* A ring from a nodes file: '#' lines are comments, NAME<TAB>WEIGHT. */
static hash_ring_t *ring_of(const char *path, hash_ring_dialect_t d, size_t *nnodes)
{
    lines l;
    hash_ring_t *r = NULL;
    read_lines(path, &l);
    assert_int_equal(hash_ring_create(&r, d), HASH_RING_OK);
    *nnodes = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (l.line[i][0] == '#' || l.line[i][0] == '\0')
            continue;
        char *tab = strrchr(l.line[i], '\t');
        assert_non_null(tab);
        char *end;
        unsigned long w = strtoul(tab + 1, &end, 10);
        assert_true(*end == '\0' && end != tab + 1);
        assert_int_equal(hash_ring_add_node(r, l.line[i], (size_t)(tab - l.line[i]),
                                            (uint32_t)w),
                         HASH_RING_OK);
        ++*nnodes;
    }
    free_lines(&l);
    return r;
}

/* Whether the ring has two points at the same position (the tie rule is
 * exercised), and whether some key of the file sits
 * exactly on a point (MD5 dialects: > and >= differ there). */
static int ring_has_shared_point(const hash_ring_t *r)
{
    hash_ring_snapshot_t *s = NULL;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    int shared = 0;
    size_t n = hash_ring_snapshot_point_count(s);
    uint32_t prev = 0;
    for (size_t i = 0; i < n && !shared; i++) {
        uint32_t p;
        assert_int_equal(hash_ring_snapshot_point(s, i, &p, NULL, NULL), HASH_RING_OK);
        /* python-like dialects report the winner for both points, so
         * the owners are not compared: of two nodes' 320 points, a node
         * repeating its own position is a 2^-20 event */
        shared = i > 0 && p == prev;
        prev = p;
    }
    hash_ring_snapshot_release(s);
    return shared;
}

static int key_on_point(const hash_ring_t *r, const char *key)
{
    uint32_t pos;
    assert_int_equal(hash_ring_position(key, strlen(key), &pos), HASH_RING_OK);
    hash_ring_snapshot_t *s = NULL;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    int hit = 0;
    for (size_t i = 0; i < hash_ring_snapshot_point_count(s) && !hit; i++) {
        uint32_t p;
        assert_int_equal(hash_ring_snapshot_point(s, i, &p, NULL, NULL), HASH_RING_OK);
        hit = p == pos;
    }
    hash_ring_snapshot_release(s);
    return hit;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Every KEY<TAB>SERVER of every MODE.POOL.keys.tsv. */
static void test_clients(void **state)
{
    (void)state;
    size_t files = 0, keys = 0, edge_hits = 0, shared_rings = 0;
    for (size_t f = 0; f < sizeof folders / sizeof *folders; f++) {
        hash_ring_dialect_t d;
        assert_int_equal(hash_ring_dialect_from_name(folders[f], &d), HASH_RING_OK);
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/clients/%s", HR_VECTORS_DIR, folders[f]);
        DIR *dp = opendir(dir);
        assert_non_null(dp);
        size_t folder_files = 0;
        struct dirent *e;
        while ((e = readdir(dp)) != NULL) {
            if (!ends_with(e->d_name, ".nodes.tsv"))
                continue;
            char npath[8192], kpath[8192];
            snprintf(npath, sizeof npath, "%s/%s", dir, e->d_name);
            snprintf(kpath, sizeof kpath, "%s/%.*s.keys.tsv", dir,
                     (int)(strlen(e->d_name) - strlen(".nodes.tsv")), e->d_name);
            size_t nnodes;
            hash_ring_t *r = ring_of(npath, d, &nnodes);
            lines l;
            read_lines(kpath, &l);
            size_t bad = 0, n = 0;
            int is_edge = strstr(e->d_name, ".edge.") != NULL;
            int is_shared = strstr(e->d_name, ".shared.") != NULL;
            for (size_t i = 0; i < l.n; i++) {
                if (l.line[i][0] == '\0')
                    continue;
                char *tab = strrchr(l.line[i], '\t');
                assert_non_null(tab);
                *tab = '\0';
                const char *key = l.line[i], *want = tab + 1, *node = NULL;
                size_t len = 0;
                assert_int_equal(hash_ring_get_node(r, key, strlen(key), &node, &len),
                                 HASH_RING_OK);
                if (len != strlen(want) || memcmp(node, want, len) != 0) {
                    if (bad++ < 5)
                        print_error("%s: key %s: got %.*s, client %s\n", kpath, key, (int)len,
                                    node, want);
                }
                if ((is_edge || is_shared) && key_on_point(r, key))
                    edge_hits++;
                n++;
            }
            assert_int_equal(bad, 0);
            assert_true(n > 0);
            /* the batch lookup gives the same answers */
            const void **keys = malloc(l.n * sizeof *keys);
            size_t *klen = malloc(l.n * sizeof *klen);
            const char **got = malloc(l.n * sizeof *got);
            assert_true(keys && klen && got);
            size_t nk = 0;
            for (size_t i = 0; i < l.n; i++) {
                if (l.line[i][0] == '\0')
                    continue;
                keys[nk] = l.line[i]; /* the tab was cut above */
                klen[nk++] = strlen(l.line[i]);
            }
            assert_int_equal(hash_ring_get_node_batch(r, keys, klen, nk, got, NULL), HASH_RING_OK);
            for (size_t i = 0, k = 0; i < l.n; i++) {
                if (l.line[i][0] == '\0')
                    continue;
                assert_string_equal(got[k++], l.line[i] + strlen(l.line[i]) + 1);
            }
            free(keys);
            free(klen);
            free(got);
            if (is_shared) {
                /* the case the file is about: a point of two nodes (the
                 * ".t." rings share one only where ":11211" is dropped
                 * from the hashed name, as node-memcached does) */
                assert_int_equal(nnodes, 2);
                if (ring_has_shared_point(r))
                    shared_rings++;
                else if (strstr(e->d_name, ".t.") == NULL)
                    fail_msg("%s: no shared point", npath);
            }
            keys += n;
            folder_files++;
            free_lines(&l);
            hash_ring_destroy(r);
        }
        closedir(dp);
        assert_true(folder_files >= 6); /* three pools at least */
        files += folder_files;
    }
    /* every pool file of tests/vectors/clients */
    assert_int_equal(files, 82);
    assert_int_equal(shared_rings, SHARED_RINGS);
    assert_true(edge_hits > 0);
    print_message("clients: %zu files, %zu keys, %zu shared-point rings, %zu exact hits\n",
                  files, keys, shared_rings, edge_hits);
}

/* The names parse and print back; the seven are the values after 1.0's. */
static void test_names(void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof folders / sizeof *folders; f++) {
        hash_ring_dialect_t d;
        assert_int_equal(hash_ring_dialect_from_name(folders[f], &d), HASH_RING_OK);
        assert_int_equal((int)d, 7 + (int)f);
        assert_string_equal(hash_ring_dialect_name(d), folders[f]);
        hash_ring_t *r = NULL;
        assert_int_equal(hash_ring_create(&r, d), HASH_RING_OK);
        hash_ring_dialect_t back;
        assert_int_equal(hash_ring_get_dialect(r, &back), HASH_RING_OK);
        assert_int_equal(back, d);
        hash_ring_destroy(r);
    }
    hash_ring_dialect_t d;
    assert_int_equal(hash_ring_dialect_from_name("Dalli", &d), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_dialect_from_name("pecl_memcache", &d), HASH_RING_EINVAL);
    assert_null(hash_ring_dialect_name((hash_ring_dialect_t)14));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clients),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
