/* hash_ring_bench.c - speed and memory of hash_ring, side by side with its
 * floor (bare libcrypto MD5) and its peer (libmemcached KETAMA_WEIGHTED).
 *
 * Every figure is the median of several repetitions and is reported as a
 * ratio against a baseline measured in the same run (this machine is noisy;
 * ratios taken seconds apart are not), with both absolute numbers beside it.
 * Repetitions of the cases that are compared with one another are
 * interleaved (rep 1 of every case, then rep 2 of every case, ...) so a slow
 * spell of the machine hits all of them alike.
 *
 *   hash_ring_bench [--json] [--smoke] [--reps N] [--lookups N] [--keys N]
 *                   [--max-nodes N] [--thread-ms N] [--mc-ops N] [--only SECTION,...]
 *
 * Sections: lookup, build, threads, memory, memcache.  --smoke runs every
 * section on tiny sizes in a second or two (registered with ctest).  The
 * memcache section starts three memcached daemons on 127.0.0.1 itself and
 * is skipped, with the reason printed, when memcached is not installed.
 * Exit status: 0 when the run completed (a missed target is a result, not a
 * failure), 1 on a usage error or a failed call. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "hash_ring.h"
#include "hash_ring_memcache.h"
#include "mc_testlib.h"

#include <libmemcached/memcached.h>
#include <openssl/md5.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

/* ---- Options ---------------------------------------------------------- */

typedef struct bench_opts {
    int json;
    int smoke;
    unsigned reps;       /* repetitions of each measurement (median reported) */
    size_t lookups;      /* lookups per timed lookup measurement */
    size_t keys;         /* distinct keys in the pool */
    size_t max_nodes;    /* largest ring built */
    unsigned thread_ms;  /* duration of one thread measurement */
    int wall;            /* time single-threaded cases by the wall clock */
    size_t mc_ops;       /* memcache: single-key operations per client per rep */
    char only[128];      /* comma-separated sections, empty = all */
} bench_opts;

static bench_opts g_opt = {0, 0, 5, 500000, 100000, 100000, 300, 0, 3000, ""};

/* Results of calls that must not be optimized away end up here. */
static volatile uint64_t g_sink;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hash_ring_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* The 1-minute load average (a busy machine makes every figure noisier). */
static double loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

static double g_load[2];

static void check_hr(int rc, const char *what)
{
    if (rc != HASH_RING_OK)
        die("%s: %s", what, hash_ring_strerror(rc));
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        die("out of memory (%zu bytes)", n);
    return p;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The clock of the single-threaded cases: by default the CPU time of this
 * thread (user + system, so page faults count), which leaves out the time
 * the thread waited for a CPU on a busy machine; --wall for the wall clock.
 * The thread section always uses the wall clock. */
static double clock_sec(void)
{
    struct timespec ts;
    clock_gettime(g_opt.wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int section_on(const char *name)
{
    if (g_opt.only[0] == '\0')
        return 1;
    size_t len = strlen(name);
    for (const char *p = g_opt.only; *p != '\0';) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == len && memcmp(p, name, n) == 0)
            return 1;
        p += n + (e != NULL);
    }
    return 0;
}

/* ---- Results ---------------------------------------------------------- */

enum { T_NONE, T_LE, T_LT, T_GE };

typedef struct row {
    char section[16];
    char name[64];
    double value;      /* median */
    double lo, hi;     /* min and max over the repetitions */
    const char *unit;
    char base[64];     /* baseline's name, empty when there is none */
    double base_value; /* baseline's median, same unit */
    double ratio;      /* value / baseline; see set_base */
    int paired;        /* ratio is the median of per-repetition ratios */
    size_t n;          /* repetitions */
    double samples[64];
    int target_op;
    double target;
    char note[160];
    /* memcache section: throughput and client CPU beside the latency */
    int mc;
    double ops_s, cpu_us;          /* this case */
    double tput_ratio, cpu_ratio;  /* time ratios against the baseline, paired */
} row;

static row g_rows[128];
static size_t g_nrows;

static row *add_row(const char *section, const char *name, const double *v, size_t n,
                    const char *unit)
{
    if (g_nrows == sizeof g_rows / sizeof g_rows[0])
        die("too many result rows");
    row *r = &g_rows[g_nrows++];
    memset(r, 0, sizeof *r);
    snprintf(r->section, sizeof r->section, "%s", section);
    snprintf(r->name, sizeof r->name, "%s", name);
    if (n > 64)
        die("too many repetitions");
    r->n = n;
    memcpy(r->samples, v, n * sizeof *v);
    double *tmp = xmalloc(n * sizeof *tmp);
    memcpy(tmp, v, n * sizeof *tmp);
    r->value = median(tmp, n);
    r->lo = tmp[0];
    r->hi = tmp[n - 1];
    free(tmp);
    r->unit = unit;
    return r;
}

/* The ratio against a baseline.  When the two were measured in the same
 * loop (repetition i of one right after repetition i of the other), the
 * ratio is the median of the per-repetition ratios: each pair ran under the
 * same conditions, which cancels most of the machine's drift.  Otherwise it
 * is the ratio of the medians. */
static void set_base_how(row *r, const row *b, int paired)
{
    snprintf(r->base, sizeof r->base, "%s", b->name);
    r->base_value = b->value;
    r->ratio = b->value > 0 ? r->value / b->value : 0;
    r->paired = 0;
    if (paired && r->n == b->n) {
        double q[64];
        for (size_t i = 0; i < r->n; i++)
            q[i] = b->samples[i] > 0 ? r->samples[i] / b->samples[i] : 0;
        r->ratio = median(q, r->n);
        r->paired = 1;
    }
}

static void set_base(row *r, const row *b)
{
    set_base_how(r, b, 1);
}

static void set_target(row *r, int op, double t)
{
    r->target_op = op;
    r->target = t;
}

static int row_met(const row *r)
{
    switch (r->target_op) {
    case T_LE:
        return r->ratio <= r->target;
    case T_LT:
        return r->ratio < r->target;
    case T_GE:
        return r->ratio >= r->target;
    default:
        return -1;
    }
}

static const char *op_str(int op)
{
    return op == T_LE ? "<=" : op == T_LT ? "<" : op == T_GE ? ">=" : "";
}

static void print_table(void)
{
    printf("%-9s %-40s %12s %-9s %-38s %11s %8s %8s %s\n", "section", "case", "median", "unit",
           "baseline (same run)", "base median", "ratio", "target", "status");
    for (size_t i = 0; i < g_nrows; i++) {
        const row *r = &g_rows[i];
        char ratio[24] = "", target[24] = "", base[24] = "";
        if (r->base[0] != '\0') {
            snprintf(ratio, sizeof ratio, "%.3fx", r->ratio);
            snprintf(base, sizeof base, "%.4g", r->base_value);
        }
        if (r->target_op != T_NONE)
            snprintf(target, sizeof target, "%s%g", op_str(r->target_op), r->target);
        int met = row_met(r);
        char value[24] = "-";
        if (r->unit != NULL)
            snprintf(value, sizeof value, "%.4g", r->value);
        printf("%-9s %-40s %12s %-9s %-38s %11s %8s %8s %s%s%s\n", r->section, r->name,
               value, r->unit ? r->unit : "", r->base, base, ratio, target,
               met < 0 ? "" : met ? "MET" : "NOT MET", r->note[0] ? "  " : "", r->note);
    }
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

static void print_json(void)
{
    printf("{\n  \"library_version\": ");
    json_str(hash_ring_version_string());
    printf(",\n  \"libmemcached_version\": ");
    json_str(memcached_lib_version());
    printf(",\n  \"online_cpus\": %ld,\n", sysconf(_SC_NPROCESSORS_ONLN));
    printf("  \"loadavg_1min\": {\"start\": %.2f, \"end\": %.2f},\n", g_load[0], g_load[1]);
    printf("  \"options\": {\"reps\": %u, \"lookups\": %zu, \"keys\": %zu, \"max_nodes\": %zu, "
           "\"thread_ms\": %u, \"mc_ops\": %zu, \"smoke\": %s, \"clock\": \"%s\"},\n",
           g_opt.reps, g_opt.lookups, g_opt.keys, g_opt.max_nodes, g_opt.thread_ms,
           g_opt.mc_ops, g_opt.smoke ? "true" : "false", g_opt.wall ? "wall" : "thread-cpu");
    printf("  \"results\": [\n");
    for (size_t i = 0; i < g_nrows; i++) {
        const row *r = &g_rows[i];
        printf("    {\"section\": ");
        json_str(r->section);
        printf(", \"case\": ");
        json_str(r->name);
        if (r->unit == NULL) {
            printf(", \"measured\": false");
        } else {
            printf(", \"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"unit\": ", r->value,
                   r->lo, r->hi);
            json_str(r->unit);
        }
        if (r->base[0] != '\0') {
            printf(", \"baseline\": ");
            json_str(r->base);
            printf(", \"baseline_median\": %.6g, \"ratio\": %.6g, \"ratio_of\": \"%s\"",
                   r->base_value, r->ratio,
                   r->paired ? "median of per-repetition ratios" : "ratio of medians");
        }
        if (r->target_op != T_NONE) {
            printf(", \"target\": \"%s%g\", \"met\": %s", op_str(r->target_op), r->target,
                   row_met(r) ? "true" : "false");
        }
        if (r->mc) {
            printf(", \"ops_per_s\": %.6g, \"client_cpu_us_per_op\": %.6g", r->ops_s,
                   r->cpu_us);
            if (r->base[0] != '\0')
                printf(", \"throughput_time_ratio\": %.6g, \"client_cpu_ratio\": %.6g",
                       r->tput_ratio, r->cpu_ratio);
        }
        if (r->note[0] != '\0') {
            printf(", \"note\": ");
            json_str(r->note);
        }
        printf("}%s\n", i + 1 < g_nrows ? "," : "");
    }
    printf("  ]\n}\n");
}

/* ---- Inputs: keys and node names -------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* A pool of distinct keys, 8 to 40 bytes, valid memcached keys:
 * "k" + base-36 index + ":" + random filler. */
typedef struct keypool {
    size_t n;
    char *buf;
    size_t *off;
    size_t *len;
    const void **ptr; /* buf + off[i], as the batch calls take keys */
} keypool;

static void keypool_make(keypool *kp, size_t n)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t s = 0x9e3779b97f4a7c15ull;
    kp->n = n;
    kp->buf = xmalloc(n * 41);
    kp->off = xmalloc(n * sizeof *kp->off);
    kp->len = xmalloc(n * sizeof *kp->len);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        char *k = kp->buf + pos;
        size_t want = 8 + (size_t)(rnd(&s) % 33), l = 0;
        char tmp[16];
        size_t t = 0, v = i;
        do {
            tmp[t++] = alpha[v % 36];
            v /= 36;
        } while (v != 0);
        k[l++] = 'k';
        while (t > 0)
            k[l++] = tmp[--t];
        k[l++] = ':';
        while (l < want)
            k[l++] = alpha[rnd(&s) % 36];
        kp->off[i] = pos;
        kp->len[i] = l;
        pos += l;
    }
    kp->ptr = xmalloc(n * sizeof *kp->ptr);
    for (size_t i = 0; i < n; i++)
        kp->ptr[i] = kp->buf + kp->off[i];
}

static void keypool_free(keypool *kp)
{
    free(kp->buf);
    free(kp->off);
    free(kp->len);
    free(kp->ptr);
}

/* Node names "node-0" ... (NUL-terminated, for libmemcached's hostnames too). */
typedef struct names {
    size_t n;
    char *buf;
    const void **ptr;
    size_t *len;
} names;

static void names_make(names *nm, size_t n, const char *prefix)
{
    nm->n = n;
    nm->buf = xmalloc(n * 32);
    nm->ptr = xmalloc(n * sizeof *nm->ptr);
    nm->len = xmalloc(n * sizeof *nm->len);
    for (size_t i = 0; i < n; i++) {
        char *p = nm->buf + i * 32;
        int l = snprintf(p, 32, "%s%zu", prefix, i);
        nm->ptr[i] = p;
        nm->len[i] = (size_t)l;
    }
}

static void names_free(names *nm)
{
    free(nm->buf);
    free((void *)nm->ptr);
    free(nm->len);
}

static hash_ring_t *ring_of(const names *nm, size_t n, hash_ring_dialect_t d)
{
    hash_ring_t *r;
    check_hr(hash_ring_create(&r, d), "hash_ring_create");
    check_hr(hash_ring_add_nodes(r, nm->ptr, nm->len, NULL, n), "hash_ring_add_nodes");
    return r;
}

static memcached_st *mc_of(const names *nm, size_t n, int one_at_a_time)
{
    (void)one_at_a_time;
    memcached_st *mc = memcached_create(NULL);
    if (mc == NULL)
        die("memcached_create failed");
    if (memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) != MEMCACHED_SUCCESS ||
        memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_HASH, MEMCACHED_HASH_MD5) !=
            MEMCACHED_SUCCESS)
        die("memcached_behavior_set failed");
    for (size_t i = 0; i < n; i++)
        if (memcached_server_add_with_weight(mc, (const char *)nm->ptr[i], 11211, 1) !=
            MEMCACHED_SUCCESS)
            die("memcached_server_add_with_weight failed");
    return mc;
}

/* ---- 1. Lookups ------------------------------------------------------- */

enum { L_MD5, L_MD5_IUF, L_RING, L_SNAP, L_MC, L_FLOOR, L_BATCH, L_NODES3 };

/* Keys per call in the batch rows. */
#define BATCH_KEYS 1000

typedef struct lookup_case {
    const char *name;
    int kind;
    size_t nodes;
    uint32_t *arr; /* L_FLOOR: an array of as many words as the ring has points */
    size_t narr;
    hash_ring_t *ring;
    hash_ring_snapshot_t *snap;
    memcached_st *mc;
    double ns[64];
    const char *dialect; /* L_RING of a dialect other than python: its name */
    size_t base;         /* L_NODES3 of such a dialect: its L_RING case */
} lookup_case;

/* Seconds for `count` lookups walking the key pool from `start`. */
static double run_lookups(lookup_case *c, const keypool *kp, size_t count, size_t start)
{
    uint64_t acc = 0;
    size_t i = start % kp->n;
    if (c->kind == L_BATCH) {
        /* BATCH_KEYS consecutive keys of the pool a call (the pool holds
         * many more: kp->n is a multiple of nothing in particular, so a
         * call never wraps) */
        const char *nodes[BATCH_KEYS];
        i = i > kp->n - BATCH_KEYS ? 0 : i;
        double t0 = clock_sec();
        for (size_t done = 0; done < count; done += BATCH_KEYS) {
            if (hash_ring_get_node_batch(c->ring, kp->ptr + i, kp->len + i, BATCH_KEYS, nodes,
                                         NULL) != HASH_RING_OK)
                die("hash_ring_get_node_batch failed");
            acc += (uintptr_t)nodes[BATCH_KEYS - 1];
            i += BATCH_KEYS;
            if (i > kp->n - BATCH_KEYS)
                i = 0;
        }
        double t = clock_sec() - t0;
        g_sink += acc;
        return t * (double)count / (double)((count + BATCH_KEYS - 1) / BATCH_KEYS * BATCH_KEYS);
    }
    double t0 = clock_sec();
    for (size_t done = 0; done < count; done++) {
        const char *k = kp->buf + kp->off[i];
        size_t kl = kp->len[i];
        if (++i == kp->n)
            i = 0;
        switch (c->kind) {
        case L_MD5: {
            unsigned char d[16];
            MD5((const unsigned char *)k, kl, d);
            acc += d[0];
            break;
        }
        case L_MD5_IUF: {
            unsigned char d[16];
            MD5_CTX ctx;
            MD5_Init(&ctx);
            MD5_Update(&ctx, k, kl);
            MD5_Final(d, &ctx);
            acc += d[0];
            break;
        }
        case L_RING: {
            const char *node;
            if (hash_ring_get_node(c->ring, k, kl, &node, NULL) != HASH_RING_OK)
                die("hash_ring_get_node failed");
            acc += (uintptr_t)node;
            break;
        }
        case L_NODES3: {
            const char *nodes[3];
            size_t got;
            if (hash_ring_get_nodes(c->ring, k, kl, nodes, NULL, 3, &got) != HASH_RING_OK)
                die("hash_ring_get_nodes failed");
            acc += (uintptr_t)nodes[got - 1];
            break;
        }
        case L_SNAP: {
            const char *node;
            if (hash_ring_snapshot_get_node(c->snap, k, kl, &node, NULL) != HASH_RING_OK)
                die("hash_ring_snapshot_get_node failed");
            acc += (uintptr_t)node;
            break;
        }
        case L_FLOOR: {
            /* the physical floor of a large ring's lookup: the key's MD5,
             * then one dependent read at a random place of an array as big
             * as the ring's entries (one cache miss, and its TLB miss) */
            unsigned char d[16];
            MD5((const unsigned char *)k, kl, d);
            uint32_t pos = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
                           (uint32_t)d[3] << 24;
            acc += c->arr[(size_t)(((uint64_t)pos * c->narr) >> 32)];
            break;
        }
        default: {
            memcached_return_t rc;
            const memcached_instance_st *s = memcached_server_by_key(c->mc, k, kl, &rc);
            if (s == NULL)
                die("memcached_server_by_key failed");
            acc += (uintptr_t)s;
            break;
        }
        }
    }
    double t = clock_sec() - t0;
    g_sink += acc;
    return t;
}

/* libmemcached's ring and ours (dialect libmemcached) must agree on every
 * key, or the comparison would not be like for like. */
static size_t mc_agreement(memcached_st *mc, const names *nm, size_t n, const keypool *kp)
{
    hash_ring_t *r = ring_of(nm, n, HASH_RING_DIALECT_LIBMEMCACHED);
    size_t same = 0;
    for (size_t i = 0; i < kp->n; i++) {
        const char *k = kp->buf + kp->off[i], *node;
        memcached_return_t rc;
        const memcached_instance_st *s = memcached_server_by_key(mc, k, kp->len[i], &rc);
        check_hr(hash_ring_get_node(r, k, kp->len[i], &node, NULL), "hash_ring_get_node");
        same += s != NULL && strcmp(memcached_server_name(s), node) == 0;
    }
    hash_ring_destroy(r);
    return same;
}

static void bench_lookup(const keypool *kp, const names *nm)
{
    static const size_t sizes[] = {10, 100, 1000, 10000, 100000};
    static char labels[8][48];
    lookup_case cases[32];
    size_t nc = 0, i100 = 0;
    memset(cases, 0, sizeof cases);
    cases[nc].name = "MD5() of the key (floor)";
    cases[nc++].kind = L_MD5;
    cases[nc].name = "MD5_Init/Update/Final of the key";
    cases[nc++].kind = L_MD5_IUF;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        if (sizes[s] > g_opt.max_nodes)
            continue;
        snprintf(labels[s], sizeof labels[s], "hash_ring_get_node, %zu nodes", sizes[s]);
        cases[nc].name = labels[s];
        cases[nc].kind = L_RING;
        cases[nc].nodes = sizes[s];
        cases[nc].ring = ring_of(nm, sizes[s], HASH_RING_DIALECT_PYTHON);
        if (sizes[s] == 100)
            i100 = nc;
        nc++;
    }
    size_t nring = nc;
    for (size_t c = 2; c < nring && kp->n >= BATCH_KEYS; c++) {
        static char blabels[8][64];
        size_t n = cases[c].nodes;
        if (cases[c].kind != L_RING || (n != 100 && n != 10000 && n != 100000))
            continue;
        char *l = blabels[c % 8];
        snprintf(l, sizeof blabels[0], "hash_ring_get_node_batch (%d keys), %zu nodes",
                 BATCH_KEYS, n);
        cases[nc].name = l;
        cases[nc].kind = L_BATCH;
        cases[nc].nodes = n;
        cases[nc].ring = cases[c].ring; /* shared: destroyed once, below */
        nc++;
    }
    size_t floor_of[8] = {0};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        static char flabels[8][64];
        size_t ring = 0;
        for (size_t c = 0; c < nc; c++)
            if (cases[c].kind == L_RING && cases[c].nodes == sizes[s])
                ring = c;
        if (sizes[s] < 10000 || ring == 0)
            continue;
        hash_ring_snapshot_t *sn;
        check_hr(hash_ring_snapshot_acquire(cases[ring].ring, &sn), "snapshot");
        size_t np = hash_ring_snapshot_point_count(sn);
        hash_ring_snapshot_release(sn);
        void *mem = NULL;
        /* allocated as the library allocates its entries (mem.c) */
        if (posix_memalign(&mem, 2u << 20, np * sizeof(uint32_t)) != 0)
            die("out of memory");
#ifdef MADV_HUGEPAGE
        (void)madvise(mem, np * sizeof(uint32_t) & ~(size_t)((2u << 20) - 1), MADV_HUGEPAGE);
#endif
        cases[nc].arr = mem;
        cases[nc].narr = np;
        for (size_t i = 0; i < np; i++)
            cases[nc].arr[i] = (uint32_t)i;
        snprintf(flabels[s], sizeof flabels[s], "floor: MD5 + 1 random read of %.0f MB",
                 (double)np * 4 / 1e6);
        cases[nc].name = flabels[s];
        cases[nc].kind = L_FLOOR;
        cases[nc].nodes = sizes[s];
        floor_of[s] = nc++;
    }
    size_t isnap = 0, imc10 = 0, imc100 = 0, inodes3 = 0;
    if (i100 != 0) {
        inodes3 = nc;
        cases[nc].name = "hash_ring_get_nodes(3), 100 nodes";
        cases[nc].kind = L_NODES3;
        cases[nc].nodes = 100;
        cases[nc].ring = ring_of(nm, 100, HASH_RING_DIALECT_PYTHON);
        nc++;
        isnap = nc;
        cases[nc].name = "hash_ring_snapshot_get_node, 100 nodes";
        cases[nc].kind = L_SNAP;
        cases[nc].nodes = 100;
        check_hr(hash_ring_snapshot_acquire(cases[i100].ring, &cases[nc].snap), "snapshot");
        nc++;
    }
    /* 100 nodes in other dialects: an MD5 client dialect and the CRC-32
     * ones (Dalli: points from SHA-1, pecl memcache: bucket positions) */
    static const hash_ring_dialect_t others[] = {
        HASH_RING_DIALECT_LIBMEMCACHED, HASH_RING_DIALECT_SPYMEMCACHED, HASH_RING_DIALECT_NGINX,
        HASH_RING_DIALECT_DALLI, HASH_RING_DIALECT_PECL_MEMCACHE};
    static char dlabels[8][64], d3labels[8][64];
    for (size_t k = 0; i100 != 0 && k < sizeof others / sizeof others[0]; k++) {
        snprintf(dlabels[k], sizeof dlabels[k], "hash_ring_get_node, 100 nodes, %s",
                 hash_ring_dialect_name(others[k]));
        cases[nc].name = dlabels[k];
        cases[nc].kind = L_RING;
        cases[nc].nodes = 100;
        cases[nc].dialect = hash_ring_dialect_name(others[k]);
        cases[nc].ring = ring_of(nm, 100, others[k]);
        nc++;
        if (others[k] == HASH_RING_DIALECT_LIBMEMCACHED || others[k] == HASH_RING_DIALECT_SPYMEMCACHED)
            continue;
        /* replicas where the key hash is cheap: the scan weighs more */
        snprintf(d3labels[k], sizeof d3labels[k], "hash_ring_get_nodes(3), 100 nodes, %s",
                 hash_ring_dialect_name(others[k]));
        cases[nc].name = d3labels[k];
        cases[nc].kind = L_NODES3;
        cases[nc].nodes = 100;
        cases[nc].dialect = cases[nc - 1].dialect;
        cases[nc].ring = ring_of(nm, 100, others[k]);
        cases[nc].base = nc - 1;
        nc++;
    }
    size_t agree[2] = {0, 0};
    for (size_t m = 0; m < 2; m++) {
        size_t n = m == 0 ? 10 : 100;
        if (n > g_opt.max_nodes)
            continue;
        cases[nc].name = m == 0 ? "memcached_server_by_key, 10 servers"
                                : "memcached_server_by_key, 100 servers";
        cases[nc].kind = L_MC;
        cases[nc].nodes = n;
        cases[nc].mc = mc_of(nm, n, 0);
        agree[m] = mc_agreement(cases[nc].mc, nm, n, kp);
        *(m == 0 ? &imc10 : &imc100) = nc;
        nc++;
    }

    /* Warm-up: one pass over the pool each (faults in every ring's pages). */
    for (size_t c = 0; c < nc; c++)
        run_lookups(&cases[c], kp, kp->n, 0);
    /* Fine interleaving: each repetition is 3 rounds over all the cases of
     * a third of the lookups each; a case's time is the sum of its rounds. */
    size_t part = g_opt.lookups / 3 ? g_opt.lookups / 3 : 1;
    for (unsigned rep = 0; rep < g_opt.reps; rep++) {
        double t[32] = {0};
        for (int round = 0; round < 3; round++)
            for (size_t c = 0; c < nc; c++)
                t[c] += run_lookups(&cases[c], kp, part, (rep * 3 + (unsigned)round) * 7919);
        for (size_t c = 0; c < nc; c++)
            cases[c].ns[rep] = t[c] * 1e9 / (double)(3 * part);
    }

    row *rows[32] = {NULL};
    for (size_t c = 0; c < nc; c++)
        rows[c] = add_row("lookup", cases[c].name, cases[c].ns, g_opt.reps, "ns/op");
    set_base(rows[1], rows[0]);
    for (size_t c = 2; c < nc; c++) {
        if (cases[c].kind == L_MC) {
            set_base(rows[c], rows[0]);
            size_t m = c == imc10 ? 0 : 1;
            snprintf(rows[c]->note, sizeof rows[c]->note,
                     "ring agrees with dialect libmemcached on %zu/%zu keys", agree[m], kp->n);
            continue;
        }
        if (cases[c].kind == L_BATCH && i100 != 0) {
            /* per key, against one key at a time on the 100-node ring */
            set_base(rows[c], rows[i100]);
            set_target(rows[c], T_LE,
                       cases[c].nodes == 100 ? 1.0 : cases[c].nodes == 10000 ? 1.15 : 1.3);
            continue;
        }
        if (cases[c].kind == L_FLOOR) {
            set_base(rows[c], i100 ? rows[i100] : rows[0]);
            snprintf(rows[c]->note, sizeof rows[c]->note,
                     "the best a %zu-node lookup can do here (its entries: the same size)",
                     cases[c].nodes);
            continue;
        }
        if (cases[c].kind == L_NODES3) {
            /* three replicas against one: the scan past the first point */
            set_base(rows[c], rows[cases[c].base ? cases[c].base : i100]);
            set_target(rows[c], T_LE, 1.3);
            continue;
        }
        if (cases[c].dialect != NULL) {
            /* against the python 100-node lookup, run interleaved with it */
            set_base(rows[c], rows[i100]);
            continue;
        }
        if (cases[c].kind == L_SNAP || cases[c].nodes <= 1000 || i100 == 0)
            set_base(rows[c], rows[0]);
        else
            set_base(rows[c], rows[i100]);
    }
    if (i100 != 0) {
        set_target(rows[i100], T_LE, 1.15);
        if (imc100 != 0) {
            /* The same 100-node lookup, against libmemcached's. */
            row *r = add_row("lookup", "hash_ring_get_node, 100 nodes", cases[i100].ns,
                             g_opt.reps, "ns/op");
            set_base(r, rows[imc100]);
            set_target(r, T_LT, 1.0);
        }
        for (size_t c = 2; c < nc; c++) {
            if (cases[c].kind != L_RING || cases[c].dialect != NULL)
                continue;
            if (cases[c].nodes == 10000)
                set_target(rows[c], T_LE, 1.3);
            if (cases[c].nodes == 100000)
                set_target(rows[c], T_LE, 2.0);
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
                if (floor_of[s] != 0 && cases[floor_of[s]].nodes == cases[c].nodes)
                    snprintf(rows[c]->note, sizeof rows[c]->note,
                             "%.2fx the floor (MD5 + 1 random read of as many bytes)",
                             rows[c]->value / rows[floor_of[s]]->value);
        }
    }
    (void)isnap;
    (void)inodes3;
    for (size_t c = 0; c < nc; c++) {
        hash_ring_snapshot_release(cases[c].snap);
        if (cases[c].kind != L_BATCH)
            hash_ring_destroy(cases[c].ring);
        if (cases[c].mc)
            memcached_free(cases[c].mc);
        free(cases[c].arr);
    }
}

/* ---- 2. Build --------------------------------------------------------- */

/* The strings a python-dialect ring of equal weights hashes: for each node,
 * "name-0" ... "name-39". */
typedef struct strtab {
    size_t n;
    char *buf;
    size_t *off; /* n + 1 entries */
} strtab;

static void strtab_make(strtab *t, const names *nm, size_t nodes)
{
    t->n = nodes * 40;
    t->buf = xmalloc(t->n * 40);
    t->off = xmalloc((t->n + 1) * sizeof *t->off);
    size_t pos = 0, k = 0;
    for (size_t i = 0; i < nodes; i++)
        for (int j = 0; j < 40; j++) {
            t->off[k++] = pos;
            pos += (size_t)sprintf(t->buf + pos, "%s-%d", (const char *)nm->ptr[i], j);
        }
    t->off[k] = pos;
}

static double md5_strings(const strtab *t, size_t count)
{
    uint64_t acc = 0;
    double t0 = clock_sec();
    for (size_t i = 0; i < count; i++) {
        unsigned char d[16];
        MD5((const unsigned char *)t->buf + t->off[i], t->off[i + 1] - t->off[i], d);
        acc += d[0];
    }
    double s = clock_sec() - t0;
    g_sink += acc;
    return s;
}

static double build_batch(const names *nm, size_t n)
{
    hash_ring_t *r;
    check_hr(hash_ring_create(&r, HASH_RING_DIALECT_PYTHON), "hash_ring_create");
    double t0 = clock_sec();
    check_hr(hash_ring_add_nodes(r, nm->ptr, nm->len, NULL, n), "hash_ring_add_nodes");
    double s = clock_sec() - t0;
    hash_ring_destroy(r);
    return s;
}

static double build_one_at_a_time(const names *nm, size_t n)
{
    hash_ring_t *r;
    check_hr(hash_ring_create(&r, HASH_RING_DIALECT_PYTHON), "hash_ring_create");
    double t0 = clock_sec();
    for (size_t i = 0; i < n; i++)
        check_hr(hash_ring_add_node(r, nm->ptr[i], nm->len[i], 1), "hash_ring_add_node");
    double s = clock_sec() - t0;
    hash_ring_destroy(r);
    return s;
}

static double mc_one_at_a_time(const names *nm, size_t n)
{
    double t0 = clock_sec();
    memcached_st *mc = mc_of(nm, n, 1);
    double s = clock_sec() - t0;
    memcached_free(mc);
    return s;
}

static void bench_build(const names *nm)
{
    static const size_t sizes[] = {100, 1000, 10000, 100000};
    size_t nsizes = 0, maxn = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        if (sizes[s] <= g_opt.max_nodes) {
            nsizes++;
            maxn = sizes[s];
        }
    if (nsizes == 0)
        return;
    strtab st;
    strtab_make(&st, nm, maxn);
    /* Builds of 100,000 nodes take seconds each: at most 3 repetitions. */
    double md5t[4][64], bt[4][64];
    unsigned reps[4];
    for (size_t s = 0; s < nsizes; s++)
        reps[s] = sizes[s] >= 100000 && g_opt.reps > 3 ? 3 : g_opt.reps;
    for (unsigned rep = 0; rep < g_opt.reps; rep++)
        for (size_t s = 0; s < nsizes; s++) {
            if (rep >= reps[s])
                continue;
            md5t[s][rep] = md5_strings(&st, sizes[s] * 40) * 1e3;
            bt[s][rep] = build_batch(nm, sizes[s]) * 1e3;
        }
    free(st.buf);
    free(st.off);
    row *full10k = NULL;
    for (size_t s = 0; s < nsizes; s++) {
        char a[64], b[64];
        snprintf(a, sizeof a, "MD5() of %zu x 40 \"name-j\"", sizes[s]);
        snprintf(b, sizeof b, "batch build, %zu nodes", sizes[s]);
        row *ra = add_row("build", a, md5t[s], reps[s], "ms");
        row *rb = add_row("build", b, bt[s], reps[s], "ms");
        set_base(rb, ra);
        if (sizes[s] == 1000)
            set_target(rb, T_LE, 1.5);
        if (sizes[s] == 10000)
            full10k = rb;
    }

    /* 100 nodes one at a time, ours and libmemcached's (interleaved). */
    size_t n1 = g_opt.max_nodes < 100 ? g_opt.max_nodes : 100;
    if (g_opt.smoke)
        n1 = 20; /* libmemcached rebuilds on every add: quadratic */
    double ours[64], theirs[64];
    for (unsigned rep = 0; rep < g_opt.reps; rep++) {
        ours[rep] = build_one_at_a_time(nm, n1) * 1e3;
        theirs[rep] = mc_one_at_a_time(nm, n1) * 1e3;
    }
    char a[64], b[64];
    snprintf(a, sizeof a, "libmemcached: add %zu servers one by one", n1);
    snprintf(b, sizeof b, "hash_ring: add %zu nodes one by one", n1);
    row *ra = add_row("build", a, theirs, g_opt.reps, "ms");
    row *rb = add_row("build", b, ours, g_opt.reps, "ms");
    set_base(rb, ra);
    if (n1 == 100) /* the target is defined for 100 nodes */
        set_target(rb, T_LE, 0.05);
    snprintf(rb->note, sizeof rb->note, "%.1fx faster than libmemcached%s",
             rb->ratio > 0 ? 1 / rb->ratio : 0, n1 == 100 ? " (target >= 20x)" : "");

    /* One node added to / removed from a 10,000-node ring. */
    if (full10k != NULL) {
        hash_ring_t *r = ring_of(nm, 10000, HASH_RING_DIALECT_PYTHON);
        double add[64], rem[64];
        static const char extra[] = "extra-node";
        for (unsigned rep = 0; rep < g_opt.reps; rep++) {
            double t0 = clock_sec();
            check_hr(hash_ring_add_node(r, extra, sizeof extra - 1, 1), "hash_ring_add_node");
            double t1 = clock_sec();
            check_hr(hash_ring_remove_node(r, extra, sizeof extra - 1), "hash_ring_remove_node");
            double t2 = clock_sec();
            add[rep] = (t1 - t0) * 1e3;
            rem[rep] = (t2 - t1) * 1e3;
        }
        hash_ring_destroy(r);
        row *x = add_row("build", "add 1 node to a 10,000-node ring", add, g_opt.reps, "ms");
        set_base_how(x, full10k, 0);
        set_target(x, T_LE, 0.20);
        x = add_row("build", "remove 1 node from a 10,000-node ring", rem, g_opt.reps, "ms");
        set_base_how(x, full10k, 0);
        set_target(x, T_LE, 0.20);
    }

    /* A configuration reload: set_nodes replacing 100 of 10,000 nodes
     * (the first 100 out, 100 new ones in at the end), and back. */
    if (full10k != NULL && nm->n >= 10100) {
        hash_ring_t *r = ring_of(nm, 10000, HASH_RING_DIALECT_PYTHON);
        double set[64];
        for (unsigned rep = 0; rep < g_opt.reps; rep++) {
            size_t from = rep % 2 ? 0 : 100;
            double t0 = clock_sec();
            check_hr(hash_ring_set_nodes(r, nm->ptr + from, nm->len + from, NULL, 10000),
                     "hash_ring_set_nodes");
            set[rep] = (clock_sec() - t0) * 1e3;
        }
        hash_ring_destroy(r);
        row *x = add_row("build", "set_nodes: 100 of a 10,000-node ring replaced", set,
                         g_opt.reps, "ms");
        set_base_how(x, full10k, 0);
        set_target(x, T_LE, 0.20);
    }

    /* Draining: 20,000 of 25,000 nodes removed in one call. */
    if (full10k != NULL && nm->n >= 25000) {
        double rm[64];
        unsigned nrm = g_opt.reps < 3 ? g_opt.reps : 3;
        for (unsigned rep = 0; rep < nrm; rep++) {
            hash_ring_t *r = ring_of(nm, 25000, HASH_RING_DIALECT_PYTHON);
            double t0 = clock_sec();
            check_hr(hash_ring_remove_nodes(r, nm->ptr + 5000, nm->len + 5000, 20000),
                     "hash_ring_remove_nodes");
            rm[rep] = (clock_sec() - t0) * 1e3;
            hash_ring_destroy(r);
        }
        row *x = add_row("build", "remove_nodes: 20,000 of 25,000 in one call", rm, nrm,
                         "ms");
        set_base_how(x, full10k, 0);
    }
}

/* ---- 3. Threads ------------------------------------------------------- */

typedef struct reader_arg {
    _Alignas(64) const hash_ring_t *ring;
    const keypool *kp;
    size_t start;
    uint64_t count;
    uint64_t acc;
    double cpu; /* thread CPU seconds while measuring */
} reader_arg;

typedef struct writer_arg {
    hash_ring_t *ring;
    uint64_t ops;
} writer_arg;

static atomic_int g_go, g_stop;

static double thread_cpu_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *reader_main(void *p)
{
    reader_arg *a = p;
    const keypool *kp = a->kp;
    size_t i = a->start % kp->n;
    uint64_t count = 0, acc = 0;
    while (!atomic_load_explicit(&g_go, memory_order_acquire))
        ;
    double c0 = thread_cpu_sec();
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        for (int b = 0; b < 64; b++) {
            const char *node;
            if (hash_ring_get_node(a->ring, kp->buf + kp->off[i], kp->len[i], &node, NULL) !=
                HASH_RING_OK)
                die("hash_ring_get_node failed");
            acc += (uintptr_t)node;
            if (++i == kp->n)
                i = 0;
        }
        count += 64;
    }
    a->cpu = thread_cpu_sec() - c0;
    a->count = count;
    a->acc = acc;
    return NULL;
}

static void *writer_main(void *p)
{
    writer_arg *w = p;
    static const char name[] = "writer-node";
    struct timespec next;
    int present = 0;
    while (!atomic_load_explicit(&g_go, memory_order_acquire))
        ;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        if (present)
            check_hr(hash_ring_remove_node(w->ring, name, sizeof name - 1), "remove_node");
        else
            check_hr(hash_ring_add_node(w->ring, name, sizeof name - 1, 1), "add_node");
        present = !present;
        w->ops++;
        next.tv_nsec += 1000000;
        if (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
    }
    if (present)
        check_hr(hash_ring_remove_node(w->ring, name, sizeof name - 1), "remove_node");
    return NULL;
}

/* Lookups per second (all readers together) over thread_ms; *wops gets the
 * writer's membership changes per second, *oncpu the share of the wall time
 * the readers were actually running (below 1: the machine was busy). */
static double run_threads(hash_ring_t *ring, const keypool *kp, int readers, int writer,
                          double *wops, double *oncpu)
{
    pthread_t th[8], wt;
    reader_arg ra[8];
    writer_arg wa = {ring, 0};
    atomic_store(&g_go, 0);
    atomic_store(&g_stop, 0);
    for (int t = 0; t < readers; t++) {
        memset(&ra[t], 0, sizeof ra[t]);
        ra[t].ring = ring;
        ra[t].kp = kp;
        ra[t].start = (size_t)t * (kp->n / 2 + 1);
        if (pthread_create(&th[t], NULL, reader_main, &ra[t]) != 0)
            die("pthread_create failed");
    }
    if (writer && pthread_create(&wt, NULL, writer_main, &wa) != 0)
        die("pthread_create failed");
    struct timespec d = {(time_t)(g_opt.thread_ms / 1000),
                         (long)(g_opt.thread_ms % 1000) * 1000000L};
    double t0 = now_sec();
    atomic_store_explicit(&g_go, 1, memory_order_release);
    while (nanosleep(&d, &d) != 0 && errno == EINTR)
        ;
    atomic_store_explicit(&g_stop, 1, memory_order_relaxed);
    double el = now_sec() - t0; /* readers stop within a 64-lookup batch */
    uint64_t total = 0;
    double cpu = 0;
    for (int t = 0; t < readers; t++) {
        pthread_join(th[t], NULL);
        total += ra[t].count;
        cpu += ra[t].cpu;
        g_sink += ra[t].acc;
    }
    if (oncpu) {
        oncpu[0] = cpu / (el * readers);
        oncpu[1] = cpu > 0 ? (double)total / cpu : 0;
    }
    if (writer)
        pthread_join(wt, NULL);
    if (wops)
        *wops = (double)wa.ops / el;
    return (double)total / el;
}

static void bench_threads(const keypool *kp, const names *nm)
{
    size_t n = g_opt.max_nodes < 100 ? g_opt.max_nodes : 100;
    hash_ring_t *ring = ring_of(nm, n, HASH_RING_DIALECT_PYTHON);
    double r1[64], r2[64], r1w[64], r2w[64], w1[64], w2[64], cpu[4][64], pc[4][64], x[2];
    run_threads(ring, kp, 1, 0, NULL, NULL); /* warm-up */
    for (unsigned rep = 0; rep < g_opt.reps; rep++) {
        r1[rep] = run_threads(ring, kp, 1, 0, NULL, x) / 1e6;
        cpu[0][rep] = x[0];
        pc[0][rep] = x[1] / 1e6;
        r2[rep] = run_threads(ring, kp, 2, 0, NULL, x) / 1e6;
        cpu[1][rep] = x[0];
        pc[1][rep] = x[1] / 1e6;
        r1w[rep] = run_threads(ring, kp, 1, 1, &w1[rep], x) / 1e6;
        cpu[2][rep] = x[0];
        pc[2][rep] = x[1] / 1e6;
        r2w[rep] = run_threads(ring, kp, 2, 1, &w2[rep], x) / 1e6;
        cpu[3][rep] = x[0];
        pc[3][rep] = x[1] / 1e6;
    }
    double oc[4];
    for (int k = 0; k < 4; k++)
        oc[k] = median(cpu[k], g_opt.reps) * 100;
    hash_ring_destroy(ring);
    char l[4][64];
    snprintf(l[0], sizeof l[0], "1 reader, %zu nodes", n);
    snprintf(l[1], sizeof l[1], "2 readers, %zu nodes", n);
    snprintf(l[2], sizeof l[2], "1 reader + writer (1/ms), %zu nodes", n);
    snprintf(l[3], sizeof l[3], "2 readers + writer (1/ms), %zu nodes", n);
    row *a = add_row("threads", l[0], r1, g_opt.reps, "Mlookup/s");
    snprintf(a->note, sizeof a->note, "reader on CPU %.0f%% of the time", oc[0]);
    row *b = add_row("threads", l[1], r2, g_opt.reps, "Mlookup/s");
    snprintf(b->note, sizeof b->note, "readers on CPU %.0f%% of the time", oc[1]);
    set_base(b, a);
    row *c = add_row("threads", l[2], r1w, g_opt.reps, "Mlookup/s");
    set_base(c, a);
    row *e = add_row("threads", l[3], r2w, g_opt.reps, "Mlookup/s");
    set_base(e, c);
    set_target(e, T_GE, 1.8);
    /* Per CPU-second of the readers: independent of how busy the machine
     * is; ~1.00 means concurrent lookups do not slow one another. */
    row *f = add_row("threads", "1 reader + writer, per reader CPU-second", pc[2], g_opt.reps,
                     "Mlookup/s");
    row *g = add_row("threads", "2 readers + writer, per reader CPU-second", pc[3], g_opt.reps,
                     "Mlookup/s");
    set_base(g, f);
    double wm1 = median(w1, g_opt.reps), wm2 = median(w2, g_opt.reps);
    snprintf(c->note, sizeof c->note, "writer did %.0f changes/s; reader on CPU %.0f%%", wm1,
             oc[2]);
    snprintf(e->note, sizeof e->note,
             "writer did %.0f changes/s; readers on CPU %.0f%%; %ld CPUs online", wm2, oc[3],
             sysconf(_SC_NPROCESSORS_ONLN));
}

/* ---- 4. Memory -------------------------------------------------------- */

/* VmRSS and VmHWM of this process, in bytes. */
static void read_rss(uint64_t *rss, uint64_t *hwm)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    *rss = *hwm = 0;
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f)) {
        unsigned long long kb;
        if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
            *rss = kb * 1024;
        else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
            *hwm = kb * 1024;
    }
    fclose(f);
}

typedef struct mem_result {
    uint64_t peak;   /* VmHWM after the build minus VmRSS before it */
    uint64_t steady; /* VmRSS after the build minus VmRSS before it */
    uint64_t points;
    int ok;
} mem_result;

/* Builds a ring of n nodes (weight `w` each) in a fresh child process, whose
 * VmHWM starts at its current RSS (Linux sets it at fork), and reports the
 * RSS it gained.  A child keeps each measurement clean of the heap that
 * earlier sections left behind. */
static mem_result measure_ring_memory(const names *nm, size_t n, uint32_t w)
{
    mem_result res = {0, 0, 0, 0};
    int fd[2];
    if (pipe(fd) != 0)
        die("pipe failed");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        close(fd[0]);
        uint32_t *weights = malloc(n * sizeof *weights);
        for (size_t i = 0; weights && i < n; i++)
            weights[i] = w;
        /* The empty ring is created before the baseline is read: creating
         * it initializes libcrypto, whose memory is not the ring's. */
        hash_ring_t *r = NULL;
        mem_result out = {0, 0, 0, 0};
        uint64_t rss0, hwm0, rss1, hwm1;
        int ok = weights != NULL && hash_ring_create(&r, HASH_RING_DIALECT_PYTHON) == HASH_RING_OK;
        FILE *f = fopen("/proc/self/clear_refs", "w");
        if (f != NULL) { /* resets VmHWM to VmRSS (Linux >= 4.0) */
            fputs("5", f);
            fclose(f);
        }
        read_rss(&rss0, &hwm0);
        if (ok && hash_ring_add_nodes(r, nm->ptr, nm->len, weights, n) == HASH_RING_OK) {
            read_rss(&rss1, &hwm1);
            hash_ring_snapshot_t *s;
            if (hash_ring_snapshot_acquire(r, &s) == HASH_RING_OK) {
                out.points = hash_ring_snapshot_point_count(s);
                hash_ring_snapshot_release(s);
                out.peak = hwm1 - (hwm0 > rss0 ? rss0 : hwm0);
                out.steady = rss1 - rss0;
                out.ok = 1;
            }
        }
        ssize_t wr = write(fd[1], &out, sizeof out);
        _exit(wr == (ssize_t)sizeof out ? 0 : 1);
    }
    close(fd[1]);
    ssize_t rd = read(fd[0], &res, sizeof res);
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (rd != (ssize_t)sizeof res || !res.ok)
        die("memory measurement child failed");
    return res;
}

static void bench_memory(const names *nm)
{
    size_t n = g_opt.max_nodes;
    unsigned reps = g_opt.reps < 3 ? g_opt.reps : 3; /* deterministic up to page noise */
    double peak[64], steady[64], names_only[64], raw_names = 0;
    uint64_t points = 0;
    for (size_t i = 0; i < n; i++)
        raw_names += (double)nm->len[i] + 1;
    for (unsigned rep = 0; rep < reps; rep++) {
        /* The names and per-node records alone: the same nodes at weight 0
         * own no points (python dialect). */
        mem_result z = measure_ring_memory(nm, n, 0);
        mem_result m = measure_ring_memory(nm, n, 1);
        points = m.points;
        names_only[rep] = (double)z.steady;
        peak[rep] = ((double)m.peak - (double)z.steady) / (double)m.points;
        steady[rep] = ((double)m.steady - (double)z.steady) / (double)m.points;
    }
    char l[96];
    snprintf(l, sizeof l, "names+nodes of %zu-node ring (weight 0)", n);
    row *z = add_row("memory", l, names_only, reps, "bytes");
    snprintf(z->note, sizeof z->note, "%.0f bytes/node; the raw names are %.0f bytes",
             z->value / (double)n, raw_names);
    snprintf(l, sizeof l, "peak RSS per point, %zu nodes, - names", n);
    row *p = add_row("memory", l, peak, reps, "B/point");
    if (n == 100000) { /* the target is defined for 100,000 nodes */
        p->target_op = T_LE;
        p->target = 8;
        p->ratio = p->value; /* compared with the target directly */
    }
    snprintf(p->note, sizeof p->note, "%llu points; VmHWM delta during the build",
             (unsigned long long)points);
    snprintf(l, sizeof l, "resident per point, %zu nodes, - names", n);
    row *s = add_row("memory", l, steady, reps, "B/point");
    snprintf(s->note, sizeof s->note, "VmRSS delta once built (what the ring keeps)");
}

/* ---- 5. memcached client ---------------------------------------------- */

/* Three memcached daemons on 127.0.0.1 free ports, started by the bench and
 * killed when it exits (normally, through die(), or on SIGINT / SIGTERM /
 * SIGHUP; PR_SET_PDEATHSIG covers a SIGKILL of the bench on Linux).  Both
 * clients talk to the same daemons: this library's (dialect libmemcached,
 * servers named "127.0.0.1:PORT") and libmemcached (KETAMA_WEIGHTED, MD5,
 * text protocol, otherwise its default behaviors). */

#define MC_DAEMONS 3
#define MC_MULTI 100 /* keys per multi-get */
#define MC_XKEYS 30  /* keys libmemcached writes for the cross check */

static volatile sig_atomic_t g_dpid[MC_DAEMONS]; /* read by the signal handler */
static int g_dport[MC_DAEMONS];
static pid_t g_bench_pid;

static void daemons_kill(void)
{
    if (getpid() != g_bench_pid) /* a forked child (memory section) */
        return;
    for (int i = 0; i < MC_DAEMONS; i++) {
        pid_t p = (pid_t)g_dpid[i];
        if (p > 0) {
            kill(p, SIGKILL);
            waitpid(p, NULL, 0);
            g_dpid[i] = 0;
        }
    }
}

static void daemons_on_signal(int sig)
{
    for (int i = 0; i < MC_DAEMONS; i++)
        if (g_dpid[i] > 0)
            kill((pid_t)g_dpid[i], SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Starts daemon i through the test suite's helper (tests/memcache/
 * mc_testlib.c): memcached -l 127.0.0.1 -p PORT -U 0 -t 1 -m 64 on a port
 * that was free a moment before, ready once it answers "stats" with its own
 * pid, killed with the bench (PR_SET_PDEATHSIG).  0 or -1. */
static int daemon_start(int i)
{
    static const char *const extra[] = {"-m", "64", NULL}; /* the later -m wins */
    tl_daemon d;
    if (tl_daemon_start_args(&d, 0, NULL, extra) != 0)
        return -1;
    g_dpid[i] = d.pid;
    g_dport[i] = d.port;
    return 0;
}

enum { MC_GET, MC_SET32, MC_SET4K, MC_MGET, MC_NCASES };

static const char *const mc_case_ours[MC_NCASES] = {
    "hash_ring_mc_get, 1 key (32 B hit)",
    "hash_ring_mc_set, 1 key, 32 B",
    "hash_ring_mc_set, 1 key, 4 KB",
    "hash_ring_mc_get_multi, 100 keys (32 B)",
};
static const char *const mc_case_lm[MC_NCASES] = {
    "libmemcached: memcached_get, 1 key",
    "libmemcached: memcached_set, 32 B",
    "libmemcached: memcached_set, 4 KB",
    "libmemcached: mget+fetch_result, 100 keys",
};

typedef struct mc_bench {
    hash_ring_mc_t *hr;
    memcached_st *lm;
    memcached_result_st *res;
    memcached_result_st res_st; /* caller-owned: fetch_result frees an allocated one at END */
    char mkeybuf[MC_MULTI][32];
    const void *mkeys[MC_MULTI];
    const char *mkeys_lm[MC_MULTI];
    size_t mlens[MC_MULTI];
    char val32[33];
    char *val4k;
    uint64_t acc;
} mc_bench;

static const char k_get[] = "bench:get";
static const char k_set32[] = "bench:set32";
static const char k_set4k[] = "bench:set4k";
#define VAL4K 4096

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void check_lm(memcached_st *lm, memcached_return_t rc, const char *what)
{
    if (rc != MEMCACHED_SUCCESS)
        die("%s: %s", what, memcached_strerror(lm, rc));
}

static void check_mc(hash_ring_mc_t *mc, int rc, const char *what)
{
    if (rc != HASH_RING_OK)
        die("%s: %s (%s)", what, hash_ring_strerror(rc), hash_ring_mc_last_error(mc));
}

/* One operation of case `kind` by this library (lm == 0) or libmemcached;
 * any failure or wrong answer ends the run. */
static void mc_op(mc_bench *b, int lm, int kind)
{
    memcached_return_t rc;
    switch (kind) {
    case MC_GET:
        if (!lm) {
            const void *v;
            size_t vl;
            check_mc(b->hr, hash_ring_mc_get(b->hr, k_get, sizeof k_get - 1, &v, &vl, NULL),
                     "hash_ring_mc_get");
            if (vl != 32)
                die("hash_ring_mc_get: %zu bytes, expected 32", vl);
            b->acc += *(const unsigned char *)v;
        } else {
            size_t vl;
            uint32_t fl;
            char *v = memcached_get(b->lm, k_get, sizeof k_get - 1, &vl, &fl, &rc);
            check_lm(b->lm, rc, "memcached_get");
            if (v == NULL || vl != 32)
                die("memcached_get: %zu bytes, expected 32", vl);
            b->acc += (unsigned char)v[0];
            free(v);
        }
        break;
    case MC_SET32:
    case MC_SET4K: {
        const char *k = kind == MC_SET32 ? k_set32 : k_set4k;
        size_t kl = strlen(k);
        const char *v = kind == MC_SET32 ? b->val32 : b->val4k;
        size_t vl = kind == MC_SET32 ? 32 : VAL4K;
        if (!lm)
            check_mc(b->hr, hash_ring_mc_set(b->hr, k, kl, v, vl, 0, 0), "hash_ring_mc_set");
        else
            check_lm(b->lm, memcached_set(b->lm, k, kl, v, vl, 0, 0), "memcached_set");
        break;
    }
    default:
        if (!lm) {
            hash_ring_mc_result_t *res;
            check_mc(b->hr, hash_ring_mc_get_multi(b->hr, b->mkeys, b->mlens, MC_MULTI, &res),
                     "hash_ring_mc_get_multi");
            for (size_t i = 0; i < MC_MULTI; i++) {
                const void *v;
                size_t vl;
                int st = hash_ring_mc_result_item(res, i, &v, &vl, NULL, NULL);
                if (st != HASH_RING_OK || vl != 32)
                    die("hash_ring_mc_get_multi: key %zu: %s", i, hash_ring_strerror(st));
                b->acc += *(const unsigned char *)v;
            }
            hash_ring_mc_result_free(res);
        } else {
            check_lm(b->lm, memcached_mget(b->lm, b->mkeys_lm, b->mlens, MC_MULTI),
                     "memcached_mget");
            size_t got = 0;
            memcached_result_st *r;
            while ((r = memcached_fetch_result(b->lm, b->res, &rc)) != NULL) {
                check_lm(b->lm, rc, "memcached_fetch_result");
                if (memcached_result_length(r) != 32)
                    die("memcached_fetch_result: wrong value length");
                b->acc += (unsigned char)memcached_result_value(r)[0];
                got++;
            }
            if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS)
                check_lm(b->lm, rc, "memcached_fetch_result");
            if (got != MC_MULTI)
                die("libmemcached mget: %zu of %d keys", got, MC_MULTI);
        }
        break;
    }
}

/* Proves both clients use the same three daemons with the same placement:
 * placement of every key compared, values written by one read by the other.
 * Writes the summary to note. */
static void mc_cross_check(mc_bench *b, char *note, size_t note_size)
{
    hash_ring_t *ring = hash_ring_mc_ring(b->hr);
    size_t agree = 0, total = 0, per[MC_DAEMONS] = {0};
    char xkey[MC_XKEYS][32], val[64];
    for (size_t i = 0; i < MC_MULTI + MC_XKEYS; i++) {
        const char *k;
        size_t kl;
        if (i < MC_MULTI) {
            k = b->mkeybuf[i];
            kl = b->mlens[i];
        } else {
            snprintf(xkey[i - MC_MULTI], sizeof xkey[0], "bench:x:%zu", i - MC_MULTI);
            k = xkey[i - MC_MULTI];
            kl = strlen(k);
        }
        const char *node;
        memcached_return_t rc;
        check_hr(hash_ring_get_node(ring, k, kl, &node, NULL), "hash_ring_get_node");
        const memcached_instance_st *s = memcached_server_by_key(b->lm, k, kl, &rc);
        char addr[64];
        if (s != NULL)
            snprintf(addr, sizeof addr, "%s:%u", memcached_server_name(s),
                     (unsigned)memcached_server_port(s));
        agree += s != NULL && strcmp(addr, node) == 0;
        total++;
        if (i < MC_MULTI)
            for (int d = 0; d < MC_DAEMONS; d++) {
                char a[32];
                snprintf(a, sizeof a, "127.0.0.1:%d", g_dport[d]);
                per[d] += strcmp(a, node) == 0;
            }
    }
    if (agree != total)
        die("libmemcached places %zu of %zu keys differently", total - agree, total);
    if (per[0] == 0 || per[1] == 0 || per[2] == 0)
        die("the multi-get keys do not reach all three servers");

    /* This library writes, libmemcached reads (mget + fetch). */
    for (size_t i = 0; i < MC_MULTI; i++) {
        int l = snprintf(val, sizeof val, "hr-%zu-", i);
        memset(val + l, 'v', 32 - (size_t)l);
        check_mc(b->hr, hash_ring_mc_set(b->hr, b->mkeys[i], b->mlens[i], val, 32, 7, 0),
                 "hash_ring_mc_set");
    }
    check_lm(b->lm, memcached_mget(b->lm, b->mkeys_lm, b->mlens, MC_MULTI), "memcached_mget");
    size_t seen_lm = 0;
    memcached_return_t rc;
    memcached_result_st *r;
    while ((r = memcached_fetch_result(b->lm, b->res, &rc)) != NULL) {
        check_lm(b->lm, rc, "memcached_fetch_result");
        char kbuf[64];
        size_t kl = memcached_result_key_length(r);
        snprintf(kbuf, sizeof kbuf, "%.*s", (int)(kl < 63 ? kl : 63),
                 memcached_result_key_value(r));
        size_t i = kl > 11 ? (size_t)strtoul(kbuf + 11, NULL, 10) : MC_MULTI;
        int l = snprintf(val, sizeof val, "hr-%zu-", i);
        memset(val + l, 'v', 32 - (size_t)l);
        if (i < MC_MULTI && memcached_result_length(r) == 32 &&
            memcmp(memcached_result_value(r), val, 32) == 0 && memcached_result_flags(r) == 7)
            seen_lm++;
    }
    /* libmemcached writes, this library reads (single gets and a multi-get). */
    const void *xk[MC_XKEYS];
    size_t xl[MC_XKEYS];
    for (size_t i = 0; i < MC_XKEYS; i++) {
        snprintf(val, sizeof val, "lm-%zu", i);
        xk[i] = xkey[i];
        xl[i] = strlen(xkey[i]);
        check_lm(b->lm, memcached_set(b->lm, xkey[i], xl[i], val, strlen(val), 0, 9),
                 "memcached_set");
    }
    size_t seen_hr = 0;
    hash_ring_mc_result_t *res;
    check_mc(b->hr, hash_ring_mc_get_multi(b->hr, xk, xl, MC_XKEYS, &res),
             "hash_ring_mc_get_multi");
    for (size_t i = 0; i < MC_XKEYS; i++) {
        const void *v, *v1;
        size_t vl, vl1;
        uint32_t fl, fl1;
        snprintf(val, sizeof val, "lm-%zu", i);
        int ok = hash_ring_mc_result_item(res, i, &v, &vl, &fl, NULL) == HASH_RING_OK &&
                 vl == strlen(val) && memcmp(v, val, vl) == 0 && fl == 9;
        ok = ok && hash_ring_mc_get(b->hr, xk[i], xl[i], &v1, &vl1, &fl1) == HASH_RING_OK &&
             vl1 == vl && memcmp(v1, val, vl) == 0 && fl1 == 9;
        seen_hr += ok != 0;

    }
    hash_ring_mc_result_free(res);
    if (seen_lm != MC_MULTI || seen_hr != MC_XKEYS)
        die("the clients do not see each other's values (%zu/%d, %zu/%d)", seen_lm, MC_MULTI,
            seen_hr, MC_XKEYS);
    snprintf(note, note_size,
             "placement agrees on %zu/%zu keys; each reads the other's values "
             "(%zu/%d, %zu/%d); mget keys/server %u/%u/%u",
             agree, total, seen_lm, MC_MULTI, seen_hr, MC_XKEYS, (unsigned)per[0], (unsigned)per[1],
             (unsigned)per[2]);
}

static void bench_memcache(void)
{
    const char *bin = tl_memcached();
    if (bin == NULL) {
        const char *why = "skipped: memcached is not installed (Debian package memcached)";
        fprintf(stderr, "hash_ring_bench: memcache section %s\n", why);
        row *r = &g_rows[g_nrows++];
        memset(r, 0, sizeof *r);
        snprintf(r->section, sizeof r->section, "memcache");
        snprintf(r->name, sizeof r->name, "memcached client: not measured");
        snprintf(r->note, sizeof r->note, "%s", why);
        return;
    }
    g_bench_pid = getpid();
    atexit(daemons_kill);
    signal(SIGINT, daemons_on_signal);
    signal(SIGTERM, daemons_on_signal);
    signal(SIGHUP, daemons_on_signal);
    for (int i = 0; i < MC_DAEMONS; i++)
        if (daemon_start(i) != 0)
            die("could not start %s on a free 127.0.0.1 port", bin);

    static mc_bench b; /* static: zeroed, and too big for the stack */
    memset(&b, 0, sizeof b);
    check_hr(hash_ring_mc_create(&b.hr, HASH_RING_DIALECT_LIBMEMCACHED), "hash_ring_mc_create");
    b.lm = memcached_create(NULL);
    if (b.lm == NULL)
        die("memcached_create failed");
    check_lm(b.lm, memcached_behavior_set(b.lm, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1),
             "KETAMA_WEIGHTED");
    check_lm(b.lm, memcached_behavior_set(b.lm, MEMCACHED_BEHAVIOR_KETAMA_HASH, MEMCACHED_HASH_MD5),
             "KETAMA_HASH");
    for (int i = 0; i < MC_DAEMONS; i++) {
        char a[32];
        snprintf(a, sizeof a, "127.0.0.1:%d", g_dport[i]);
        check_mc(b.hr, hash_ring_mc_add_server(b.hr, a, strlen(a), 1), "hash_ring_mc_add_server");
        check_lm(b.lm, memcached_server_add_with_weight(b.lm, "127.0.0.1", (in_port_t)g_dport[i], 1),
                 "memcached_server_add_with_weight");
    }
    b.res = memcached_result_create(b.lm, &b.res_st);
    if (b.res == NULL)
        die("memcached_result_create failed");
    for (size_t i = 0; i < MC_MULTI; i++) {
        int l = snprintf(b.mkeybuf[i], sizeof b.mkeybuf[i], "bench:mget:%zu", i);
        b.mkeys[i] = b.mkeybuf[i];
        b.mkeys_lm[i] = b.mkeybuf[i];
        b.mlens[i] = (size_t)l;
    }
    memset(b.val32, 'a', 32);
    b.val4k = xmalloc(VAL4K);
    for (size_t i = 0; i < VAL4K; i++)
        b.val4k[i] = (char)('a' + i % 26);

    char check_note[160];
    mc_cross_check(&b, check_note, sizeof check_note);
    for (size_t i = 0; i < MC_MULTI; i++) /* the timed multi-get reads 32-byte values */
        check_mc(b.hr, hash_ring_mc_set(b.hr, b.mkeys[i], b.mlens[i], b.val32, 32, 0, 0),
                 "hash_ring_mc_set");
    check_mc(b.hr, hash_ring_mc_set(b.hr, k_get, sizeof k_get - 1, b.val32, 32, 0, 0),
             "hash_ring_mc_set");

    /* Warm-up: connections open, buffers grown, caches warm. */
    for (int kind = 0; kind < MC_NCASES; kind++)
        for (int lm = 0; lm < 2; lm++)
            for (int i = 0; i < 20; i++)
                mc_op(&b, lm, kind);

    /* Each repetition: for every case, 10 rounds of ops/10 operations per
     * client, alternating which client goes first.  Every operation is timed
     * on its own (wall clock: the latency includes the daemon and the
     * loopback); a round's wall time gives the throughput, its thread CPU
     * time the client's own cost (system calls included). */
    enum { ROUNDS = 10 };
    size_t ops[MC_NCASES];
    for (int k = 0; k < MC_NCASES; k++) {
        size_t n = k == MC_MGET ? g_opt.mc_ops / 10 : g_opt.mc_ops;
        n = (n + ROUNDS - 1) / ROUNDS * ROUNDS;
        ops[k] = n ? n : ROUNDS;
    }
    size_t maxops = g_opt.mc_ops + ROUNDS;
    double *lat = xmalloc(maxops * sizeof *lat);
    double med[MC_NCASES][2][64], wall[MC_NCASES][2][64], cpu[MC_NCASES][2][64];
    for (unsigned rep = 0; rep < g_opt.reps; rep++)
        for (int k = 0; k < MC_NCASES; k++) {
            size_t part = ops[k] / ROUNDS;
            double w[2] = {0, 0}, c[2] = {0, 0};
            double *l2[2];
            l2[0] = lat;
            l2[1] = xmalloc(ops[k] * sizeof *lat);
            size_t nl[2] = {0, 0};
            for (int round = 0; round < ROUNDS; round++)
                for (int j = 0; j < 2; j++) {
                    int lm = (round + (int)rep) % 2 ? 1 - j : j;
                    double c0 = thread_cpu_sec();
                    uint64_t w0 = now_ns(), t = w0;
                    for (size_t i = 0; i < part; i++) {
                        mc_op(&b, lm, k);
                        uint64_t t1 = now_ns();
                        l2[lm][nl[lm]++] = (double)(t1 - t) * 1e-3;
                        t = t1;
                    }
                    w[lm] += (double)(t - w0) * 1e-9;
                    c[lm] += thread_cpu_sec() - c0;
                }
            for (int lm = 0; lm < 2; lm++) {
                med[k][lm][rep] = median(l2[lm], nl[lm]);
                wall[k][lm][rep] = w[lm] * 1e6 / (double)nl[lm];
                cpu[k][lm][rep] = c[lm] * 1e6 / (double)nl[lm];
            }
            free(l2[1]);
        }
    free(lat);

    row *chk = add_row("memcache", "both clients on the same 3 daemons", &med[0][0][0], 1, NULL);
    chk->unit = NULL;
    snprintf(chk->note, sizeof chk->note, "%s", check_note);
    for (int k = 0; k < MC_NCASES; k++) {
        double tput[2][64];
        for (int lm = 0; lm < 2; lm++)
            for (unsigned rep = 0; rep < g_opt.reps; rep++)
                tput[lm][rep] = 1e6 / wall[k][lm][rep];
        row *rl = add_row("memcache", mc_case_lm[k], med[k][1], g_opt.reps, "us");
        row *ro = add_row("memcache", mc_case_ours[k], med[k][0], g_opt.reps, "us");
        set_base(ro, rl);
        /* Throughput and CPU, as paired time ratios too. */
        row tmp_o, tmp_l;
        double *pair[2][2] = {{wall[k][0], wall[k][1]}, {cpu[k][0], cpu[k][1]}};
        double ratios[2];
        for (int m = 0; m < 2; m++) {
            memset(&tmp_o, 0, sizeof tmp_o);
            memset(&tmp_l, 0, sizeof tmp_l);
            tmp_o.n = tmp_l.n = g_opt.reps;
            memcpy(tmp_o.samples, pair[m][0], g_opt.reps * sizeof(double));
            memcpy(tmp_l.samples, pair[m][1], g_opt.reps * sizeof(double));
            double t1[64], t2[64];
            memcpy(t1, pair[m][0], g_opt.reps * sizeof(double));
            memcpy(t2, pair[m][1], g_opt.reps * sizeof(double));
            tmp_o.value = median(t1, g_opt.reps);
            tmp_l.value = median(t2, g_opt.reps);
            set_base(&tmp_o, &tmp_l);
            ratios[m] = tmp_o.ratio;
        }
        for (int lm = 0; lm < 2; lm++) {
            row *r = lm ? rl : ro;
            double t[64];
            r->mc = 1;
            memcpy(t, tput[lm], g_opt.reps * sizeof(double));
            r->ops_s = median(t, g_opt.reps);
            memcpy(t, cpu[k][lm], g_opt.reps * sizeof(double));
            r->cpu_us = median(t, g_opt.reps);
        }
        ro->tput_ratio = ratios[0];
        ro->cpu_ratio = ratios[1];
        snprintf(rl->note, sizeof rl->note, "%.0f ops/s; client CPU %.2f us/op; %zu ops/rep",
                 rl->ops_s, rl->cpu_us, ops[k]);
        snprintf(ro->note, sizeof ro->note,
                 "%.0f ops/s (time %.3fx); client CPU %.2f us/op (%.3fx); %zu ops/rep",
                 ro->ops_s, ro->tput_ratio, ro->cpu_us, ro->cpu_ratio, ops[k]);
        if (k == MC_MGET)
            set_target(ro, T_LE, 1.0);
    }

    memcached_result_free(b.res);
    memcached_free(b.lm);
    hash_ring_mc_destroy(b.hr);
    free(b.val4k);
    daemons_kill();
}

/* ---- Main ------------------------------------------------------------- */

static size_t parse_size(const char *s, const char *opt)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v == 0)
        die("bad value for %s: %s", opt, s);
    return (size_t)v;
}

static void usage(void)
{
    puts("usage: hash_ring_bench [--json] [--smoke] [--wall] [--reps N] [--lookups N] [--keys N]\n"
         "                       [--max-nodes N] [--thread-ms N] [--mc-ops N] [--only SECTION,...]\n"
         "sections: lookup, build, threads, memory, memcache\n"
         "defaults: --reps 5 --lookups 500000 --keys 100000 --max-nodes 100000 --thread-ms 300\n"
         "          --mc-ops 3000 (memcache: single-key ops per client per rep; multi-gets: 1/10)");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            g_opt.json = 1;
        } else if (strcmp(a, "--wall") == 0) {
            g_opt.wall = 1;
        } else if (strcmp(a, "--smoke") == 0) {
            g_opt.smoke = 1;
            g_opt.reps = 2;
            g_opt.lookups = 20000;
            g_opt.keys = 2000;
            g_opt.max_nodes = 200;
            g_opt.thread_ms = 20;
            g_opt.mc_ops = 40;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        } else if (v == NULL) {
            usage();
            return 1;
        } else if (strcmp(a, "--reps") == 0) {
            g_opt.reps = (unsigned)parse_size(v, a);
            i++;
        } else if (strcmp(a, "--lookups") == 0) {
            g_opt.lookups = parse_size(v, a);
            i++;
        } else if (strcmp(a, "--keys") == 0) {
            g_opt.keys = parse_size(v, a);
            i++;
        } else if (strcmp(a, "--max-nodes") == 0) {
            g_opt.max_nodes = parse_size(v, a);
            i++;
        } else if (strcmp(a, "--thread-ms") == 0) {
            g_opt.thread_ms = (unsigned)parse_size(v, a);
            i++;
        } else if (strcmp(a, "--mc-ops") == 0) {
            g_opt.mc_ops = parse_size(v, a);
            i++;
        } else if (strcmp(a, "--only") == 0) {
            snprintf(g_opt.only, sizeof g_opt.only, "%s", v);
            i++;
        } else {
            usage();
            return 1;
        }
    }
    if (g_opt.reps > 64)
        die("--reps is at most 64");
    if (g_opt.mc_ops > 10000000)
        die("--mc-ops is at most 10000000");
    if (g_opt.max_nodes > 10000000)
        die("--max-nodes is at most 10000000");

    keypool kp;
    names nm;
    keypool_make(&kp, g_opt.keys);
    names_make(&nm, g_opt.max_nodes < 10000 ? 10000 : g_opt.max_nodes, "node-");

    g_load[0] = loadavg();
    double t0 = now_sec();
    /* Memory first: its children fork from a small parent. */
    if (section_on("memory"))
        bench_memory(&nm);
    if (section_on("lookup"))
        bench_lookup(&kp, &nm);
    if (section_on("build"))
        bench_build(&nm);
    if (section_on("threads"))
        bench_threads(&kp, &nm);
    if (section_on("memcache"))
        bench_memcache();
    double total = now_sec() - t0;
    g_load[1] = loadavg();

    if (g_opt.json) {
        print_json();
    } else {
        printf("hash_ring %s vs libmemcached %s, %ld CPUs; median of %u reps; %zu keys "
               "(8-40 bytes), %zu lookups per timing\n",
               hash_ring_version_string(), memcached_lib_version(),
               sysconf(_SC_NPROCESSORS_ONLN), g_opt.reps, g_opt.keys, g_opt.lookups);
        printf("single-threaded cases timed by %s\n",
               g_opt.wall ? "the wall clock" : "thread CPU time (user + system)");
        puts("ratio = this case / its baseline, the median of per-repetition ratios (each pair "
             "measured back to back), except add/remove 1 node (ratio of medians)");
        print_table();
        printf("total %.1f s; 1-minute load average %.2f at the start, %.2f at the end\n", total,
               g_load[0], g_load[1]);
    }
    keypool_free(&kp);
    names_free(&nm);
    return 0;
}
