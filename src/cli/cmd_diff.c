/* cmd_diff.c - diff: the exact share of the key space that changes owner.
 *
 * Exactness: take the union U of both continuums' point positions.  Between
 * two consecutive positions of U no ring has a point, so every position
 * strictly inside such a gap has one owner in the old ring and one in the
 * new: the owner of the ring's next point after the gap's start, in either
 * lookup rule.  The positions of U themselves can differ from their gap (a
 * '>' dialect sends a key equal to a point onward), so each is evaluated
 * alone.  The gap after the largest position wraps around through 2^32 - 1
 * and 0 to the smallest.  Summing the gap lengths and the |U| single
 * positions covers all 2^32 positions exactly once.
 *
 * Both continuums are walked once, in step, with no copy of either: the
 * cost is one pass over their points.  The walk applies the '>=' rule (a
 * key equal to a point goes to it).  A '>' dialect gives position x the
 * owner '>=' gives x + 1 (mod 2^32) in both rings alike, so its movement is
 * the same map shifted by one position: the same counts for every pair. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char diff_help[] =
    "usage: hash-ring [RING OPTIONS] diff [--add NAME[=WEIGHT]]... [--remove NAME]...\n"
    "                                     [--reweight NAME=WEIGHT]...\n"
    "       hash-ring [--dialect NAME] diff --from FILE --to FILE\n"
    "       hash-ring [--dialect NAME] diff --from FILE CHANGES...\n"
    "Compares the ring given by the ring options (or by the nodes file --from)\n"
    "with the ring after the changes (applied in the order given; --add appends\n"
    "at the end of the membership order), or with the ring of the nodes file\n"
    "--to, and prints the exact share of the 2^32 key positions that changes\n"
    "owner, then each FROM -> TO pair's share, largest first:\n"
    "  moved<TAB>SHARE<TAB>POSITIONS\n"
    "  FROM<TAB>TO<TAB>SHARE<TAB>POSITIONS\n"
    "SHARE is a percentage with 4 decimals (\"2.2660%\"); POSITIONS is the exact\n"
    "count.  --from and --to read nodes files as --nodes-file does.  With\n"
    "--json, exact: {\"moved\": {\"share\", \"positions\"}, \"pairs\": [{\"from\",\n"
    "\"to\", \"share\", \"positions\"}...], \"total_positions\": 4294967296},\n"
    "each share written in full (at most 32 decimals).\n";

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

/* A walk over a continuum's distinct positions: at each, the point listed
 * first (the one lookups find). */
typedef struct cli_walk {
    const hash_ring_snapshot_t *snap;
    size_t n;    /* points */
    size_t i;    /* first point of the current position; n at the end */
    uint32_t pos;
    const char *owner;
    size_t olen;
    uint32_t pos0; /* the first position, for wrapping */
    const char *owner0;
    size_t olen0;
} cli_walk;

static int cli_walk_at(cli_walk *w, size_t i)
{
    w->i = i;
    if (i >= w->n)
        return HASH_RING_OK;
    return hash_ring_snapshot_point(w->snap, i, &w->pos, &w->owner, &w->olen);
}

/* To the next distinct position (one library call a point: reading a
 * point costs a search of the bucket table). */
static int cli_walk_next(cli_walk *w)
{
    uint32_t p = w->pos;
    size_t i = w->i;
    while (++i < w->n) {
        uint32_t q;
        const char *o;
        size_t ol;
        int rc = hash_ring_snapshot_point(w->snap, i, &q, &o, &ol);
        if (rc != HASH_RING_OK)
            return rc;
        if (q != p) {
            w->i = i;
            w->pos = q;
            w->owner = o;
            w->olen = ol;
            return HASH_RING_OK;
        }
    }
    w->i = w->n;
    return HASH_RING_OK;
}

static int cli_same(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (a == b || memcmp(a, b, alen) == 0);
}

static int cli_walk_init(cli_walk *w, const hash_ring_snapshot_t *snap)
{
    memset(w, 0, sizeof *w);
    w->snap = snap;
    w->n = hash_ring_snapshot_point_count(snap);
    int rc = cli_walk_at(w, 0);
    w->pos0 = w->pos;
    w->owner0 = w->owner;
    w->olen0 = w->olen;
    return rc;
}

/* Records count positions owned by a before and b after, if they differ. */
static int cli_eval(const name_index *xa, const name_index *xb, const char *a, size_t alen,
                    const char *b, size_t blen, uint64_t count, move_acc *acc, uint64_t *moved)
{
    if (count == 0 || cli_same(a, alen, b, blen))
        return HASH_RING_OK;
    *moved += count;
    return move_acc_add(acc, name_index_find(xa, a, alen), name_index_find(xb, b, blen), count);
}

/* The walk over U: at each position u of U, its own owner and its gap's
 * owner in each ring ('>='), then on to the next position of U. */
static int cli_walk_both(cli_walk *wa, cli_walk *wb, const name_index *xa, const name_index *xb,
                         move_acc *acc, uint64_t *moved, uint64_t *covered)
{
    uint32_t first = wa->pos0 < wb->pos0 ? wa->pos0 : wb->pos0;
    int rc = HASH_RING_OK;
    while (rc == HASH_RING_OK && (wa->i < wa->n || wb->i < wb->n)) {
        uint32_t u = wa->i >= wa->n   ? wb->pos
                     : wb->i >= wb->n ? wa->pos
                     : wa->pos < wb->pos ? wa->pos
                                         : wb->pos;
        cli_walk *w[2] = {wa, wb};
        const char *at[2], *gap[2];
        size_t atl[2], gapl[2];
        for (int k = 0; k < 2 && rc == HASH_RING_OK; k++) {
            int hit = w[k]->i < w[k]->n && w[k]->pos == u;
            const char *cur = w[k]->i < w[k]->n ? w[k]->owner : w[k]->owner0;
            size_t curl = w[k]->i < w[k]->n ? w[k]->olen : w[k]->olen0;
            if (hit)
                rc = cli_walk_next(w[k]);
            /* the first point after u, wrapping */
            gap[k] = w[k]->i < w[k]->n ? w[k]->owner : w[k]->owner0;
            gapl[k] = w[k]->i < w[k]->n ? w[k]->olen : w[k]->olen0;
            at[k] = hit ? cur : gap[k];
            atl[k] = hit ? curl : gapl[k];
        }
        if (rc != HASH_RING_OK)
            break;
        uint64_t g;
        if (wa->i < wa->n || wb->i < wb->n) {
            uint32_t v = wa->i >= wa->n   ? wb->pos
                         : wb->i >= wb->n ? wa->pos
                         : wa->pos < wb->pos ? wa->pos
                                             : wb->pos;
            g = (uint64_t)v - u - 1;
        } else {
            g = (UINT64_C(0xffffffff) - u) + first;
        }
        rc = cli_eval(xa, xb, at[0], atl[0], at[1], atl[1], 1, acc, moved);
        if (rc == HASH_RING_OK)
            rc = cli_eval(xa, xb, gap[0], gapl[0], gap[1], gapl[1], g, acc, moved);
        *covered += 1 + g;
    }
    return rc;
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
    name_index xa, xb;
    cli_walk wa, wb;
    move_acc acc = {NULL, 0, 0};
    uint64_t moved = 0, covered = 0;
    int rc = name_index_build(&xa, before);
    if (rc == HASH_RING_OK)
        rc = name_index_build(&xb, after);
    if (rc == HASH_RING_OK)
        rc = cli_walk_init(&wa, before);
    if (rc == HASH_RING_OK)
        rc = cli_walk_init(&wb, after);
    if (rc == HASH_RING_OK && (wa.n == 0 || wb.n == 0))
        rc = HASH_RING_EEMPTY;
    if (rc == HASH_RING_OK)
        rc = cli_walk_both(&wa, &wb, &xa, &xb, &acc, &moved, &covered);
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

/* A ring of o's dialect from a nodes file.  0 or an error printed (2). */
static int cli_ring_from_file(cli_opts *o, const char *path, hash_ring_t **out)
{
    cli_nodes l;
    memset(&l, 0, sizeof l);
    int rc = hash_ring_create(out, o->dialect);
    if (rc != HASH_RING_OK)
        return cli_fail("diff: cannot create ring: %s", hash_ring_strerror(rc));
    rc = cli_nodes_load_file(&l, path);
    if (rc == 0 && l.n == 0)
        rc = cli_fail("diff: no nodes in '%s'", path);
    if (rc == 0)
        rc = cli_nodes_commit(&l, *out);
    cli_nodes_free(&l);
    return rc;
}

int cli_cmd_diff(cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv, diff_help))
        return CLI_EXIT_OK;
    hash_ring_snapshot_t *before = NULL, *after = NULL;
    hash_ring_t *from = NULL, *changed = NULL;
    cli_movement mv = {0, NULL, 0};
    int status = CLI_EXIT_OK, nchanges = 0, rc;
    const char *from_path = NULL, *to_path = NULL;
    /* --from and --to first: they say where the rings come from */
    for (int i = 0; i < argc; i++) {
        size_t alen = strcspn(argv[i], "=");
        int is_from = alen == 6 && strncmp(argv[i], "--from", 6) == 0;
        int is_to = alen == 4 && strncmp(argv[i], "--to", 4) == 0;
        const char *val = argv[i][alen] == '=' ? argv[i] + alen + 1
                          : i + 1 < argc       ? argv[i + 1]
                                               : NULL;
        if (!is_from && !is_to)
            continue;
        if (val == NULL)
            return cli_fail("diff: %s needs a nodes file", is_from ? "--from" : "--to");
        if ((is_from ? from_path : to_path) != NULL)
            return cli_fail("diff: %s given twice", is_from ? "--from" : "--to");
        if (strcmp(val, "-") == 0 && o->stdin_used)
            return cli_fail("diff: standard input can be read once");
        *(is_from ? &from_path : &to_path) = val;
    }
    if (from_path != NULL && o->nodes_given)
        return cli_fail("diff: --from gives the first ring: no --node or --nodes-file with it");
    if (to_path != NULL && from_path == NULL && !o->nodes_given)
        return cli_fail("diff: --to needs a first ring: --from FILE, or --node / --nodes-file");
    if (from_path != NULL && to_path != NULL && strcmp(from_path, "-") == 0 &&
        strcmp(to_path, "-") == 0)
        return cli_fail("diff: --from - and --to -: standard input can be read once");
    if (from_path == NULL && !o->have_nodes)
        return cli_fail("no nodes: give --node NAME[=WEIGHT] or --nodes-file FILE (or diff "
                        "--from FILE)");
    if (from_path != NULL && (status = cli_ring_from_file(o, from_path, &from)) != 0)
        goto out;
    hash_ring_t *base = from != NULL ? from : o->ring;
    if ((rc = cli_check_ring(base)) != 0) {
        status = rc;
        goto out;
    }
    if ((rc = hash_ring_snapshot_acquire(base, &before)) != HASH_RING_OK) {
        status = cli_fail("diff: %s", hash_ring_strerror(rc));
        goto out;
    }
    /* The changes go to the ring itself: the snapshot keeps the continuum
     * as it was (no copy of the ring to build). */
    hash_ring_t *target = o->ring;
    if (to_path != NULL) {
        if ((status = cli_ring_from_file(o, to_path, &changed)) != 0)
            goto out;
        target = changed;
    } else if (from != NULL) {
        target = from;
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val;
        const char *eq = strchr(a, '=');
        size_t alen = eq && a[0] == '-' ? (size_t)(eq - a) : strlen(a);
        char opt[16];
        if ((alen == 6 && strncmp(a, "--from", 6) == 0) ||
            (alen == 4 && strncmp(a, "--to", 4) == 0)) {
            i += eq == NULL; /* checked above */
            continue;
        }
        if (alen >= sizeof opt ||
            !((alen == 5 && strncmp(a, "--add", 5) == 0) ||
              (alen == 8 && strncmp(a, "--remove", 8) == 0) ||
              (alen == 10 && strncmp(a, "--reweight", 10) == 0))) {
            status = cli_fail("diff: unknown argument '%s' (want --add, --remove, --reweight, "
                              "--from, --to)",
                              a);
            goto out;
        }
        if (to_path != NULL) {
            status = cli_fail("diff: --to gives the second ring: no %.*s with it", (int)alen, a);
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
        if ((status = cli_apply(target, opt, val)) != 0)
            goto out;
        nchanges++;
    }
    if (nchanges == 0 && to_path == NULL) {
        status = cli_fail("diff: no change given (--add, --remove, --reweight, or --to FILE)");
        goto out;
    }
    {
        const char *node;
        rc = hash_ring_get_node(target, "", 0, &node, NULL);
        if (rc == HASH_RING_EEMPTY) {
            status = cli_fail("diff: no node owns any point after the changes");
            goto out;
        }
    }
    if ((rc = hash_ring_snapshot_acquire(target, &after)) != HASH_RING_OK ||
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
        cli_print_percent32(stdout, mv.moved);
        printf("\t%llu\n", (unsigned long long)mv.moved);
        for (size_t i = 0; i < mv.npairs; i++) {
            const cli_move *p = &mv.pairs[i];
            cli_text(stdout, p->from, p->from_len);
            fputc('\t', stdout);
            cli_text(stdout, p->to, p->to_len);
            fputc('\t', stdout);
            cli_print_percent32(stdout, p->positions);
            printf("\t%llu\n", (unsigned long long)p->positions);
        }
    }
out:
    cli_movement_free(&mv);
    hash_ring_snapshot_release(before);
    hash_ring_snapshot_release(after);
    hash_ring_destroy(changed);
    hash_ring_destroy(from);
    return status;
}
