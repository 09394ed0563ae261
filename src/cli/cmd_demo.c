/* cmd_demo.c - demo: the classic example of three memcached servers.
 *
 * Three servers, unweighted and then weighted 1, 2, 1: where a few keys go,
 * each server's exact share of the key space next to its weight share, and
 * what moves when one server is removed.  It only computes; no network. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char demo_help[] =
    "usage: hash-ring [--dialect NAME] [--json] demo\n"
    "The classic example: servers 192.168.0.246:11212, 192.168.0.247:11212 and\n"
    "192.168.0.249:11212, first unweighted, then with weights 1, 2, 1.  For each\n"
    "ring: where keys key0..key7 go, and each server's exact share of the key\n"
    "space next to its weight share; then what moves when 192.168.0.249:11212 is\n"
    "removed from each ring.  It computes only: no network traffic.  It uses its\n"
    "own servers, so --node and --nodes-file are refused.\n";

#define DEMO_SERVERS 3
#define DEMO_KEYS 8
#define DEMO_RINGS 2

static const char *const demo_servers[DEMO_SERVERS] = {
    "192.168.0.246:11212", "192.168.0.247:11212", "192.168.0.249:11212"};
static const uint32_t demo_weights[DEMO_RINGS][DEMO_SERVERS] = {{1, 1, 1}, {1, 2, 1}};
static const char *const demo_ring_names[DEMO_RINGS] = {"unweighted", "weighted"};
static const char *const demo_removed = "192.168.0.249:11212";

typedef struct demo_ring {
    hash_ring_t *ring, *smaller;             /* full, and without demo_removed */
    hash_ring_snapshot_t *snap, *snap_small; /* their snapshots */
    const char *owner[DEMO_KEYS];            /* placement in the full ring */
    const char *owner_small[DEMO_KEYS];      /* placement once removed */
    uint32_t weight[DEMO_SERVERS];
    size_t points[DEMO_SERVERS];
    uint64_t share[DEMO_SERVERS];
    uint64_t total_weight;
    cli_movement mv;
} demo_ring;

static int demo_build(hash_ring_dialect_t d, const uint32_t *weights, demo_ring *r)
{
    char key[16];
    int rc = hash_ring_create(&r->ring, d);
    if (rc == HASH_RING_OK)
        rc = hash_ring_create(&r->smaller, d);
    for (size_t i = 0; rc == HASH_RING_OK && i < DEMO_SERVERS; i++) {
        rc = hash_ring_add_node(r->ring, demo_servers[i], strlen(demo_servers[i]), weights[i]);
        if (rc == HASH_RING_OK && strcmp(demo_servers[i], demo_removed) != 0)
            rc = hash_ring_add_node(r->smaller, demo_servers[i], strlen(demo_servers[i]),
                                    weights[i]);
    }
    if (rc == HASH_RING_OK)
        rc = hash_ring_snapshot_acquire(r->ring, &r->snap);
    if (rc == HASH_RING_OK)
        rc = hash_ring_snapshot_acquire(r->smaller, &r->snap_small);
    for (size_t k = 0; rc == HASH_RING_OK && k < DEMO_KEYS; k++) {
        int len = snprintf(key, sizeof key, "key%zu", k);
        rc = hash_ring_snapshot_get_node(r->snap, key, (size_t)len, &r->owner[k], NULL);
        if (rc == HASH_RING_OK)
            rc = hash_ring_snapshot_get_node(r->snap_small, key, (size_t)len,
                                             &r->owner_small[k], NULL);
    }
    r->total_weight = 0;
    for (size_t i = 0; rc == HASH_RING_OK && i < DEMO_SERVERS; i++) {
        rc = hash_ring_snapshot_node(r->snap, i, NULL, NULL, &r->weight[i], &r->points[i],
                                     &r->share[i]);
        r->total_weight += r->weight[i];
    }
    if (rc == HASH_RING_OK)
        rc = cli_movement_compute(r->snap, r->snap_small, &r->mv);
    return rc;
}

static void demo_free(demo_ring *r)
{
    cli_movement_free(&r->mv);
    hash_ring_snapshot_release(r->snap);
    hash_ring_snapshot_release(r->snap_small);
    hash_ring_destroy(r->ring);
    hash_ring_destroy(r->smaller);
}

static void demo_json_str(const char *s)
{
    cli_json_string(stdout, s, strlen(s));
}

static void demo_print_json(hash_ring_dialect_t d, const demo_ring *rings)
{
    printf("{\"dialect\": \"%s\", \"rings\": [", hash_ring_dialect_name(d));
    for (size_t r = 0; r < DEMO_RINGS; r++) {
        const demo_ring *x = &rings[r];
        printf("%s\n  {\"name\": \"%s\", \"nodes\": [", r ? "," : "", demo_ring_names[r]);
        for (size_t i = 0; i < DEMO_SERVERS; i++) {
            printf("%s\n    {\"node\": ", i ? "," : "");
            demo_json_str(demo_servers[i]);
            printf(", \"weight\": %lu, \"points\": %zu, \"positions\": %llu, \"share\": ",
                   (unsigned long)x->weight[i], x->points[i], (unsigned long long)x->share[i]);
            cli_print_fraction32(stdout, x->share[i]);
            printf(", \"weight_share\": %.17g}",
                   x->total_weight ? (double)x->weight[i] / (double)x->total_weight : 0.0);
        }
        fputs("],\n   \"placements\": [", stdout);
        for (size_t k = 0; k < DEMO_KEYS; k++) {
            printf("%s\n    {\"key\": \"key%zu\", \"node\": ", k ? "," : "", k);
            demo_json_str(x->owner[k]);
            fputc('}', stdout);
        }
        fputs("],\n   \"remove\": {\"node\": ", stdout);
        demo_json_str(demo_removed);
        fputs(", \"moved\": {\"share\": ", stdout);
        cli_print_fraction32(stdout, x->mv.moved);
        printf(", \"positions\": %llu}, \"pairs\": [", (unsigned long long)x->mv.moved);
        for (size_t i = 0; i < x->mv.npairs; i++) {
            const cli_move *p = &x->mv.pairs[i];
            fputs(i ? ",\n     {\"from\": " : "\n     {\"from\": ", stdout);
            cli_json_string(stdout, p->from, p->from_len);
            fputs(", \"to\": ", stdout);
            cli_json_string(stdout, p->to, p->to_len);
            fputs(", \"share\": ", stdout);
            cli_print_fraction32(stdout, p->positions);
            printf(", \"positions\": %llu}", (unsigned long long)p->positions);
        }
        fputs("],\n    \"keys_moved\": [", stdout);
        int first = 1;
        for (size_t k = 0; k < DEMO_KEYS; k++) {
            if (strcmp(x->owner[k], x->owner_small[k]) == 0)
                continue;
            printf("%s{\"key\": \"key%zu\", \"from\": ", first ? "" : ", ", k);
            demo_json_str(x->owner[k]);
            fputs(", \"to\": ", stdout);
            demo_json_str(x->owner_small[k]);
            fputc('}', stdout);
            first = 0;
        }
        fputs("]}}", stdout);
    }
    fputs("\n]}\n", stdout);
}

static void demo_print_text(hash_ring_dialect_t d, const demo_ring *rings)
{
    for (size_t r = 0; r < DEMO_RINGS; r++) {
        const demo_ring *x = &rings[r];
        printf("%s# Ring %zu (%s, dialect %s): weights", r ? "\n" : "", r + 1,
               demo_ring_names[r], hash_ring_dialect_name(d));
        for (size_t i = 0; i < DEMO_SERVERS; i++)
            printf(" %lu", (unsigned long)x->weight[i]);
        fputs("\n# key\tnode\n", stdout);
        for (size_t k = 0; k < DEMO_KEYS; k++)
            printf("key%zu\t%s\n", k, x->owner[k]);
        fputs("# node\tweight\tpoints\tpositions\tshare\tweight_share\n", stdout);
        for (size_t i = 0; i < DEMO_SERVERS; i++) {
            printf("%s\t%lu\t%zu\t%llu\t", demo_servers[i], (unsigned long)x->weight[i],
                   x->points[i], (unsigned long long)x->share[i]);
            cli_print_percent32(stdout, x->share[i]);
            printf("\t%.4f%%\n", x->total_weight ? 100.0 * (double)x->weight[i] /
                                                        (double)x->total_weight
                                                  : 0.0);
        }
        printf("# removing %s moves this share of the key space:\nmoved\t", demo_removed);
        cli_print_percent32(stdout, x->mv.moved);
        printf("\t%llu\n", (unsigned long long)x->mv.moved);
        fputs("# from\tto\tshare\tpositions\n", stdout);
        for (size_t i = 0; i < x->mv.npairs; i++) {
            const cli_move *p = &x->mv.pairs[i];
            cli_text(stdout, p->from, p->from_len);
            fputc('\t', stdout);
            cli_text(stdout, p->to, p->to_len);
            fputc('\t', stdout);
            cli_print_percent32(stdout, p->positions);
            printf("\t%llu\n", (unsigned long long)p->positions);
        }
        fputs("# keys that move: key\tfrom\tto\n", stdout);
        for (size_t k = 0; k < DEMO_KEYS; k++)
            if (strcmp(x->owner[k], x->owner_small[k]) != 0)
                printf("key%zu\t%s\t%s\n", k, x->owner[k], x->owner_small[k]);
    }
}

int cli_cmd_demo(cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv, demo_help))
        return CLI_EXIT_OK;
    if (argc > 0)
        return cli_fail("demo: unexpected argument '%s'", argv[0]);
    if (o->nodes_given)
        return cli_fail("demo: uses its own three servers; drop --node and --nodes-file");
    demo_ring rings[DEMO_RINGS];
    memset(rings, 0, sizeof rings);
    int rc = HASH_RING_OK, status = CLI_EXIT_OK;
    for (size_t r = 0; rc == HASH_RING_OK && r < DEMO_RINGS; r++)
        rc = demo_build(o->dialect, demo_weights[r], &rings[r]);
    if (rc != HASH_RING_OK)
        status = cli_fail("demo: %s", hash_ring_strerror(rc));
    else if (o->json)
        demo_print_json(o->dialect, rings);
    else
        demo_print_text(o->dialect, rings);
    for (size_t r = 0; r < DEMO_RINGS; r++)
        demo_free(&rings[r]);
    return status;
}
