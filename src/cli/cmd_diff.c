/* cmd_diff.c - diff: the exact share of the key space that changes owner.
 *
 * Exactness: take the union U of both continuums' point positions.  Between
 * two consecutive positions of U no ring has a point, so every position
 * strictly inside such a gap has one owner in the old ring and one in the
 * new (the owner of the next point, in either lookup rule).  The positions
 * of U themselves can differ from their gap (a '>' dialect sends a key equal
 * to a point onward), so each is evaluated alone.  The gap after the largest
 * position wraps around through 2^32 - 1 and 0 to the smallest.  Summing
 * the gap lengths and the |U| single positions covers all 2^32 positions
 * exactly once. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char diff_help[] =
    "usage: hash-ring [RING OPTIONS] diff [--add NAME[=WEIGHT]]... [--remove NAME]...\n"
    "                                     [--reweight NAME=WEIGHT]...\n"
    "Compares the ring given by the ring options with the ring after the changes\n"
    "(applied in the order given; --add appends at the end of the membership\n"
    "order) and prints the exact share of the 2^32 key positions that changes\n"
    "owner, then each FROM -> TO pair's share, largest first:\n"
    "  moved<TAB>SHARE<TAB>POSITIONS\n"
    "  FROM<TAB>TO<TAB>SHARE<TAB>POSITIONS\n"
    "SHARE is exact (at most 32 decimals); POSITIONS is the exact count.\n"
    "With --json: {\"moved\": {\"share\", \"positions\"}, \"pairs\": [{\"from\",\n"
    "\"to\", \"share\", \"positions\"}...], \"total_positions\": 4294967296}.\n";

/* ---- name -> member index, by binary search over sorted names ---------- */

typedef struct name_index {
    const hash_ring_snapshot_t *snap;
    size_t n;
    size_t *order; /* member indices sorted by name bytes */
    const char **names;
    size_t *lens;
} name_index;

static int cli_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static const name_index *sort_ctx; /* qsort has no context argument in C11 */

static int cli_order_cmp(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    return cli_name_cmp(sort_ctx->names[a], sort_ctx->lens[a], sort_ctx->names[b],
                        sort_ctx->lens[b]);
}

static int name_index_build(name_index *x, const hash_ring_snapshot_t *snap)
{
    memset(x, 0, sizeof *x);
    x->snap = snap;
    x->n = hash_ring_snapshot_node_count(snap);
    x->order = calloc(x->n + 1, sizeof *x->order);
    x->names = calloc(x->n + 1, sizeof *x->names);
    x->lens = calloc(x->n + 1, sizeof *x->lens);
    if (x->order == NULL || x->names == NULL || x->lens == NULL)
        return HASH_RING_ENOMEM;
    for (size_t i = 0; i < x->n; i++) {
        int rc = hash_ring_snapshot_node(snap, i, &x->names[i], &x->lens[i], NULL, NULL, NULL);
        if (rc != HASH_RING_OK)
            return rc;
        x->order[i] = i;
    }
    sort_ctx = x;
    qsort(x->order, x->n, sizeof *x->order, cli_order_cmp);
    sort_ctx = NULL;
    return HASH_RING_OK;
}

static void name_index_free(name_index *x)
{
    free(x->order);
    free(x->names);
    free(x->lens);
}

static size_t name_index_find(const name_index *x, const char *name, size_t len)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, m = x->order[mid];
        int c = cli_name_cmp(x->names[m], x->lens[m], name, len);
        if (c == 0)
            return m;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX; /* cannot happen: owners are members */
}

/* ---- the movement ------------------------------------------------------ */

typedef struct move_rec {
    size_t from, to; /* member indices in before / after */
    uint64_t positions;
} move_rec;

typedef struct move_acc {
    move_rec *recs;
    size_t n, cap;
} move_acc;

static int cli_u32_cmp(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    return a < b ? -1 : a > b;
}

static int cli_rec_cmp(const void *pa, const void *pb)
{
    const move_rec *a = pa, *b = pb;
    if (a->from != b->from)
        return a->from < b->from ? -1 : 1;
    if (a->to != b->to)
        return a->to < b->to ? -1 : 1;
    return 0;
}

/* Appends count positions owned by `from` before and `to` after (merged
 * with the previous record when it is the same pair: runs are common). */
static int move_acc_add(move_acc *acc, size_t from, size_t to, uint64_t count)
{
    if (acc->n > 0 && acc->recs[acc->n - 1].from == from && acc->recs[acc->n - 1].to == to) {
        acc->recs[acc->n - 1].positions += count;
        return HASH_RING_OK;
    }
    if (acc->n == acc->cap) {
        size_t cap = acc->cap ? acc->cap * 2 : 256;
        move_rec *r = realloc(acc->recs, cap * sizeof *r);
        if (r == NULL)
            return HASH_RING_ENOMEM;
        acc->recs = r;
        acc->cap = cap;
    }
    acc->recs[acc->n++] = (move_rec){from, to, count};
    return HASH_RING_OK;
}

static int cli_points(const hash_ring_snapshot_t *s, uint32_t *dst, size_t *n)
{
    *n = hash_ring_snapshot_point_count(s);
    for (size_t i = 0; i < *n; i++) {
        int rc = hash_ring_snapshot_point(s, i, &dst[i], NULL, NULL);
        if (rc != HASH_RING_OK)
            return rc;
    }
    return HASH_RING_OK;
}

/* Evaluates one position standing for `count` positions. */
static int cli_eval(const hash_ring_snapshot_t *before, const hash_ring_snapshot_t *after,
                    const name_index *xa, const name_index *xb, uint32_t pos, uint64_t count,
                    move_acc *acc, uint64_t *moved)
{
    const char *a, *b;
    size_t alen, blen;
    int rc = hash_ring_snapshot_get_node_at(before, pos, &a, &alen);
    if (rc == HASH_RING_OK)
        rc = hash_ring_snapshot_get_node_at(after, pos, &b, &blen);
    if (rc != HASH_RING_OK)
        return rc;
    if (alen == blen && memcmp(a, b, alen) == 0)
        return HASH_RING_OK;
    *moved += count;
    return move_acc_add(acc, name_index_find(xa, a, alen), name_index_find(xb, b, blen), count);
}

static int cli_pair_cmp(const void *pa, const void *pb)
{
    const cli_move *a = pa, *b = pb;
    if (a->positions != b->positions)
        return a->positions > b->positions ? -1 : 1;
    int c = cli_name_cmp(a->from, a->from_len, b->from, b->from_len);
    return c != 0 ? c : cli_name_cmp(a->to, a->to_len, b->to, b->to_len);
}

int cli_movement_compute(const hash_ring_snapshot_t *before, const hash_ring_snapshot_t *after,
                         cli_movement *out)
{
    size_t na = hash_ring_snapshot_point_count(before);
    size_t nb = hash_ring_snapshot_point_count(after);
    uint32_t *u = malloc((na + nb + 1) * sizeof *u);
    name_index xa, xb;
    move_acc acc = {NULL, 0, 0};
    uint64_t moved = 0, covered = 0;
    int rc = name_index_build(&xa, before);
    if (rc == HASH_RING_OK)
        rc = name_index_build(&xb, after);
    if (rc == HASH_RING_OK && u == NULL)
        rc = HASH_RING_ENOMEM;
    size_t nu = 0;
    if (rc == HASH_RING_OK)
        rc = cli_points(before, u, &na);
    if (rc == HASH_RING_OK)
        rc = cli_points(after, u + na, &nb);
    if (rc == HASH_RING_OK && na + nb == 0)
        rc = HASH_RING_EEMPTY;
    if (rc == HASH_RING_OK) {
        qsort(u, na + nb, sizeof *u, cli_u32_cmp);
        for (size_t i = 0; i < na + nb; i++)
            if (nu == 0 || u[nu - 1] != u[i])
                u[nu++] = u[i];
    }
    for (size_t k = 0; rc == HASH_RING_OK && k < nu; k++) {
        rc = cli_eval(before, after, &xa, &xb, u[k], 1, &acc, &moved);
        covered += 1;
        /* The gap after u[k]: up to u[k+1], or wrapping to u[0]. */
        uint64_t gap;
        if (k + 1 < nu)
            gap = (uint64_t)u[k + 1] - u[k] - 1;
        else
            gap = (UINT64_C(0xffffffff) - u[k]) + u[0];
        if (rc == HASH_RING_OK && gap > 0)
            rc = cli_eval(before, after, &xa, &xb, u[k] == UINT32_MAX ? 0 : u[k] + 1, gap,
                          &acc, &moved);
        covered += gap;
    }
    if (rc == HASH_RING_OK && covered != UINT64_C(1) << 32)
        rc = HASH_RING_EINVAL; /* cannot happen; guards the arithmetic */
    /* Merge the records by pair. */
    cli_move *pairs = NULL;
    size_t np = 0;
    if (rc == HASH_RING_OK && acc.n > 0) {
        qsort(acc.recs, acc.n, sizeof *acc.recs, cli_rec_cmp);
        pairs = calloc(acc.n, sizeof *pairs);
        if (pairs == NULL)
            rc = HASH_RING_ENOMEM;
        for (size_t i = 0; rc == HASH_RING_OK && i < acc.n; i++) {
            const move_rec *r = &acc.recs[i];
            if (np > 0 && i > 0 && cli_rec_cmp(r, &acc.recs[i - 1]) == 0) {
                pairs[np - 1].positions += r->positions;
                continue;
            }
            pairs[np++] = (cli_move){xa.names[r->from], xa.lens[r->from], xb.names[r->to],
                                     xb.lens[r->to], r->positions};
        }
        if (rc == HASH_RING_OK)
            qsort(pairs, np, sizeof *pairs, cli_pair_cmp);
    }
    free(u);
    free(acc.recs);
    name_index_free(&xa);
    name_index_free(&xb);
    if (rc != HASH_RING_OK) {
        free(pairs);
        return rc;
    }
    out->moved = moved;
    out->pairs = pairs;
    out->npairs = np;
    return HASH_RING_OK;
}

void cli_movement_free(cli_movement *m)
{
    if (m != NULL) {
        free(m->pairs);
        m->pairs = NULL;
        m->npairs = 0;
    }
}

/* ---- the command ------------------------------------------------------- */

/* Applies one change to ring; 0 or an error printed (2). */
static int cli_apply(hash_ring_t *ring, const char *opt, const char *val)
{
    size_t len;
    uint32_t w;
    int rc;
    if (strcmp(opt, "--add") == 0) {
        if ((rc = cli_parse_node_spec(val, "diff --add", &len, &w)) != 0)
            return rc;
        rc = hash_ring_add_node(ring, val, len, w);
        if (rc == HASH_RING_EEXIST)
            return cli_fail("diff: --add '%.*s': already in the ring", (int)len, val);
    } else if (strcmp(opt, "--remove") == 0) {
        len = strlen(val);
        if (len == 0)
            return cli_fail("diff: --remove needs a node name");
        rc = hash_ring_remove_node(ring, val, len);
        if (rc == HASH_RING_ENOTFOUND)
            return cli_fail("diff: --remove '%s': no such node", val);
    } else {
        if (strrchr(val, '=') == NULL)
            return cli_fail("diff: --reweight '%s': want NAME=WEIGHT", val);
        if ((rc = cli_parse_node_spec(val, "diff --reweight", &len, &w)) != 0)
            return rc;
        rc = hash_ring_set_weight(ring, val, len, w);
        if (rc == HASH_RING_ENOTFOUND)
            return cli_fail("diff: --reweight '%.*s': no such node", (int)len, val);
    }
    if (rc != HASH_RING_OK)
        return cli_fail("diff: %s '%s': %s", opt, val, hash_ring_strerror(rc));
    return 0;
}

int cli_cmd_diff(cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv, diff_help))
        return CLI_EXIT_OK;
    int rc = cli_check_ring(o->ring);
    if (rc != 0)
        return rc;
    hash_ring_snapshot_t *before = NULL, *after = NULL;
    hash_ring_t *changed = NULL;
    cli_movement mv = {0, NULL, 0};
    int status = CLI_EXIT_OK, nchanges = 0;
    if ((rc = hash_ring_snapshot_acquire(o->ring, &before)) != HASH_RING_OK) {
        status = cli_fail("diff: %s", hash_ring_strerror(rc));
        goto out;
    }
    if ((status = cli_copy_ring(before, &changed)) != 0)
        goto out;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val;
        const char *eq = strchr(a, '=');
        size_t alen = eq && a[0] == '-' ? (size_t)(eq - a) : strlen(a);
        char opt[16];
        if (alen >= sizeof opt ||
            !((alen == 5 && strncmp(a, "--add", 5) == 0) ||
              (alen == 8 && strncmp(a, "--remove", 8) == 0) ||
              (alen == 10 && strncmp(a, "--reweight", 10) == 0))) {
            status = cli_fail("diff: unknown argument '%s' (want --add, --remove, --reweight)",
                              a);
            goto out;
        }
        memcpy(opt, a, alen);
        opt[alen] = '\0';
        if (eq != NULL)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else {
            status = cli_fail("diff: %s needs a value", opt);
            goto out;
        }
        if ((status = cli_apply(changed, opt, val)) != 0)
            goto out;
        nchanges++;
    }
    if (nchanges == 0) {
        status = cli_fail("diff: no change given (--add, --remove or --reweight)");
        goto out;
    }
    {
        const char *node;
        rc = hash_ring_get_node(changed, "", 0, &node, NULL);
        if (rc == HASH_RING_EEMPTY) {
            status = cli_fail("diff: no node owns any point after the changes");
            goto out;
        }
    }
    if ((rc = hash_ring_snapshot_acquire(changed, &after)) != HASH_RING_OK ||
        (rc = cli_movement_compute(before, after, &mv)) != HASH_RING_OK) {
        status = cli_fail("diff: %s", hash_ring_strerror(rc));
        goto out;
    }
    if (o->json) {
        printf("{\"moved\": {\"share\": ");
        cli_print_fraction32(stdout, mv.moved);
        printf(", \"positions\": %llu}, \"pairs\": [", (unsigned long long)mv.moved);
        for (size_t i = 0; i < mv.npairs; i++) {
            const cli_move *p = &mv.pairs[i];
            fputs(i == 0 ? "\n  {\"from\": " : ",\n  {\"from\": ", stdout);
            cli_json_string(stdout, p->from, p->from_len);
            fputs(", \"to\": ", stdout);
            cli_json_string(stdout, p->to, p->to_len);
            fputs(", \"share\": ", stdout);
            cli_print_fraction32(stdout, p->positions);
            printf(", \"positions\": %llu}", (unsigned long long)p->positions);
        }
        printf("%s], \"total_positions\": 4294967296}\n", mv.npairs ? "\n" : "");
    } else {
        fputs("moved\t", stdout);
        cli_print_fraction32(stdout, mv.moved);
        printf("\t%llu\n", (unsigned long long)mv.moved);
        for (size_t i = 0; i < mv.npairs; i++) {
            const cli_move *p = &mv.pairs[i];
            fwrite(p->from, 1, p->from_len, stdout);
            fputc('\t', stdout);
            fwrite(p->to, 1, p->to_len, stdout);
            fputc('\t', stdout);
            cli_print_fraction32(stdout, p->positions);
            printf("\t%llu\n", (unsigned long long)p->positions);
        }
    }
out:
    cli_movement_free(&mv);
    hash_ring_snapshot_release(before);
    hash_ring_snapshot_release(after);
    hash_ring_destroy(changed);
    return status;
}
