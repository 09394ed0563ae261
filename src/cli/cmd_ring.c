/* cmd_ring.c - continuum and stats: the ring itself. */
#include "cli.h"

#include <stdlib.h>

static const char continuum_help[] =
    "usage: hash-ring [RING OPTIONS] continuum\n"
    "Prints POINT<TAB>NODE for every continuum point in ring order (POINT in\n"
    "decimal, 0..4294967295).  A position produced by two nodes is listed once\n"
    "per node, the one that wins lookups first.  With --json:\n"
    "[{\"point\": POINT, \"node\": NODE}, ...].\n";

static const char stats_help[] =
    "usage: hash-ring [RING OPTIONS] stats\n"
    "Prints NODE<TAB>WEIGHT<TAB>POINTS<TAB>POSITIONS<TAB>SHARE<TAB>WEIGHT_SHARE\n"
    "per node in membership order, then max_ratio<TAB>RATIO<TAB>NODE: the\n"
    "largest SHARE/WEIGHT_SHARE over nodes of nonzero weight.  POSITIONS is the\n"
    "exact number of the 2^32 key positions the node owns (they sum to\n"
    "4294967296); SHARE is POSITIONS / 2^32 and WEIGHT_SHARE is WEIGHT over the\n"
    "total weight, both as percentages with 4 decimals (\"22.2668%\").  With\n"
    "--json, exact: SHARE in full (at most 32 decimals, summing to exactly 1):\n"
    "{\"nodes\": [{\"node\",\n"
    "\"weight\", \"points\", \"positions\" (exact integer count), \"share\",\n"
    "\"weight_share\"}...], \"total_positions\": 4294967296, \"total_weight\",\n"
    "\"max_ratio\": {\"node\", \"ratio\"}}.\n";

int cli_cmd_continuum(cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv, continuum_help))
        return CLI_EXIT_OK;
    if (argc > 0)
        return cli_fail("continuum: unexpected argument '%s'", argv[0]);
    hash_ring_snapshot_t *snap = NULL;
    int rc = cli_ring_snapshot(o->ring, "continuum", &snap);
    if (rc != 0)
        return rc;
    size_t n = hash_ring_snapshot_point_count(snap);
    if (o->json)
        fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        uint32_t point;
        const char *owner;
        size_t olen;
        /* Cannot fail: i < point_count of an immutable snapshot. */
        if (hash_ring_snapshot_point(snap, i, &point, &owner, &olen) != HASH_RING_OK)
            break;
        if (o->json) {
            printf("%s{\"point\": %lu, \"node\": ", i == 0 ? "\n  " : ",\n  ",
                   (unsigned long)point);
            cli_json_string(stdout, owner, olen);
            fputc('}', stdout);
        } else {
            printf("%lu\t", (unsigned long)point);
            cli_text(stdout, owner, olen);
            fputc('\n', stdout);
        }
    }
    if (o->json)
        fputs(n > 0 ? "\n]\n" : "]\n", stdout);
    hash_ring_snapshot_release(snap);
    return CLI_EXIT_OK;
}

typedef struct stat_row {
    const char *name;
    size_t len;
    uint32_t weight;
    size_t points;
    uint64_t share;
} stat_row;

int cli_cmd_stats(cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv, stats_help))
        return CLI_EXIT_OK;
    if (argc > 0)
        return cli_fail("stats: unexpected argument '%s'", argv[0]);
    hash_ring_snapshot_t *snap = NULL;
    int rc = cli_ring_snapshot(o->ring, "stats", &snap);
    if (rc != 0)
        return rc;
    size_t n = hash_ring_snapshot_node_count(snap);
    stat_row *rows = calloc(n + 1, sizeof *rows);
    int status = CLI_EXIT_OK;
    if (rows == NULL) {
        status = cli_fail("stats: out of memory");
        goto out;
    }
    uint64_t total_weight = 0, total_share = 0;
    for (size_t i = 0; i < n; i++) {
        stat_row *r = &rows[i];
        rc = hash_ring_snapshot_node(snap, i, &r->name, &r->len, &r->weight, &r->points,
                                     &r->share);
        if (rc != HASH_RING_OK) {
            status = cli_fail("stats: %s", hash_ring_strerror(rc));
            goto out;
        }
        total_weight += r->weight;
        total_share += r->share;
    }
    if (total_share != UINT64_C(1) << 32) {
        status = cli_fail("stats: internal error: shares sum to %llu positions, not 2^32",
                          (unsigned long long)total_share);
        goto out;
    }
    /* The largest share / weight share, over nodes of nonzero weight. */
    long double best = -1.0L;
    size_t best_i = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].weight == 0 || total_weight == 0)
            continue;
        long double ratio = ((long double)rows[i].share * (long double)total_weight) /
                            ((long double)rows[i].weight * 4294967296.0L);
        if (ratio > best) {
            best = ratio;
            best_i = i;
        }
    }
    if (o->json)
        fputs("{\"nodes\": [", stdout);
    for (size_t i = 0; i < n; i++) {
        const stat_row *r = &rows[i];
        double wshare = total_weight ? (double)r->weight / (double)total_weight : 0.0;
        if (o->json) {
            fputs(i == 0 ? "\n  {\"node\": " : ",\n  {\"node\": ", stdout);
            cli_json_string(stdout, r->name, r->len);
            printf(", \"weight\": %lu, \"points\": %zu, \"positions\": %llu, \"share\": ",
                   (unsigned long)r->weight, r->points, (unsigned long long)r->share);
            cli_print_fraction32(stdout, r->share);
            printf(", \"weight_share\": %.17g}", wshare);
        } else {
            cli_text(stdout, r->name, r->len);
            printf("\t%lu\t%zu\t%llu\t", (unsigned long)r->weight, r->points,
                   (unsigned long long)r->share);
            cli_print_percent32(stdout, r->share);
            printf("\t%.4f%%\n", wshare * 100.0);
        }
    }
    if (o->json) {
        printf("\n], \"total_positions\": 4294967296, \"total_weight\": %llu, \"max_ratio\": ",
               (unsigned long long)total_weight);
        if (best < 0) {
            fputs("null}\n", stdout);
        } else {
            fputs("{\"node\": ", stdout);
            cli_json_string(stdout, rows[best_i].name, rows[best_i].len);
            printf(", \"ratio\": %.17g}}\n", (double)best);
        }
    } else if (best >= 0) {
        printf("max_ratio\t%.6f\t", (double)best);
        cli_text(stdout, rows[best_i].name, rows[best_i].len);
        fputc('\n', stdout);
    }
out:
    free(rows);
    hash_ring_snapshot_release(snap);
    return status;
}
