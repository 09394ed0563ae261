/* find_shared_points.c - precomputes the INPUTS of the shared-point tests.
 *
 * Not part of the test run (it takes minutes): it was run once and its
 * output, trimmed, is committed as tests/peers/shared_points.tsv.  It only
 * finds candidates (names whose ketama points coincide, and keys that hash
 * exactly onto such a point); which node owns those keys is decided by the
 * live peers and the by-hand models at test time, never here.
 *
 *   cc -O2 -pthread find_shared_points.c -lcrypto -o fsp && ./fsp > out.tsv
 *
 * Families (every name hashed as NAME-j, j = 0..39, as a 2-node equal ring
 * does in every dialect):
 *   x   names "x<i>", i < 20000; points at digest offsets 0..3.
 *   t   "127.0.<a>.<b>" (a memcached on port 11211, hashed without the port)
 *       against "127.0.0.1:<port>" (hashed with it), cross pairs only.
 * Output lines:
 *   pair FAMILY POINT NAME_A J_A K_A NAME_B J_B K_B
 *   hit POINT KEY            (u32le(md5(KEY), 0) == POINT)
 */
#define _POSIX_C_SOURCE 200809L
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pt {
    uint32_t value;
    uint32_t name;  /* index into the family's name list */
    uint8_t j, k, side;
} pt;

static uint32_t u32le(const unsigned char *d)
{
    return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

static int cmp_pt(const void *a, const void *b)
{
    const pt *x = a, *y = b;
    return x->value < y->value ? -1 : x->value > y->value;
}

static char **names;
static size_t nnames;
static uint32_t *targets;
static size_t ntargets, cap_targets;

static void add_name(const char *s)
{
    names = realloc(names, (nnames + 1) * sizeof *names);
    names[nnames++] = strdup(s);
}

static void add_target(uint32_t v)
{
    if (ntargets == cap_targets) {
        cap_targets = cap_targets ? cap_targets * 2 : 256;
        targets = realloc(targets, cap_targets * sizeof *targets);
    }
    targets[ntargets++] = v;
}

/* Points of names [from, to) with `side` tag, appended to *v. */
static void points(size_t from, size_t to, uint8_t side, pt **v, size_t *n)
{
    *v = realloc(*v, (*n + (to - from) * 160) * sizeof **v);
    for (size_t i = from; i < to; i++) {
        for (unsigned j = 0; j < 40; j++) {
            char buf[128];
            int len = snprintf(buf, sizeof buf, "%s-%u", names[i], j);
            unsigned char d[16];
            MD5((const unsigned char *)buf, (size_t)len, d);
            for (unsigned k = 0; k < 4; k++)
                (*v)[(*n)++] = (pt){u32le(d + 4 * k), (uint32_t)i, (uint8_t)j, (uint8_t)k, side};
        }
    }
}

static void report(const char *fam, pt *v, size_t n, int cross_only)
{
    qsort(v, n, sizeof *v, cmp_pt);
    for (size_t i = 0; i + 1 < n; i++) {
        if (v[i].value != v[i + 1].value || v[i].name == v[i + 1].name)
            continue;
        if (cross_only && v[i].side == v[i + 1].side)
            continue;
        printf("pair\t%s\t%u\t%s\t%u\t%u\t%s\t%u\t%u\n", fam, v[i].value, names[v[i].name],
               v[i].j, v[i].k, names[v[i + 1].name], v[i + 1].j, v[i + 1].k);
        add_target(v[i].value);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct range {
    uint64_t from, to;
} range;

/* Keys "h<i>" for i in [from, to). */
static void *sweep(void *arg)
{
    const range *r = arg;
    char key[32];
    for (uint64_t i = r->from; i < r->to; i++) {
        int len = snprintf(key, sizeof key, "h%llu", (unsigned long long)i);
        unsigned char d[16];
        MD5((const unsigned char *)key, (size_t)len, d);
        uint32_t pos = u32le(d);
        if (bsearch(&pos, targets, ntargets, sizeof *targets, cmp_u32) != NULL) {
            pthread_mutex_lock(&out_lock);
            printf("hit\t%u\t%s\n", pos, key);
            fflush(stdout);
            pthread_mutex_unlock(&out_lock);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t limit = argc > 1 ? strtoull(argv[1], NULL, 10) : (1ull << 32);
    unsigned nthreads = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
    char buf[64];

    pt *v = NULL;
    size_t n = 0;
    for (unsigned i = 0; i < 20000; i++) {
        snprintf(buf, sizeof buf, "x%u", i);
        add_name(buf);
    }
    points(0, nnames, 0, &v, &n);
    report("x", v, n, 0);

    size_t base = nnames;
    n = 0;
    for (unsigned a = 0; a < 64; a++)
        for (unsigned b = 1; b < 255; b++) {
            snprintf(buf, sizeof buf, "127.0.%u.%u", a, b);
            add_name(buf);
        }
    size_t mid = nnames;
    for (unsigned p = 20000; p < 30000; p++) {
        snprintf(buf, sizeof buf, "127.0.0.1:%u", p);
        add_name(buf);
    }
    points(base, mid, 0, &v, &n);
    points(mid, nnames, 1, &v, &n);
    report("t", v, n, 1);
    free(v);
    fflush(stdout);

    qsort(targets, ntargets, sizeof *targets, cmp_u32);
    pthread_t th[16];
    range rs[16];
    if (nthreads < 1 || nthreads > 16)
        nthreads = 2;
    for (unsigned t = 0; t < nthreads; t++) {
        rs[t].from = limit * t / nthreads;
        rs[t].to = limit * (t + 1) / nthreads;
        pthread_create(&th[t], NULL, sweep, &rs[t]);
    }
    for (unsigned t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    return 0;
}
