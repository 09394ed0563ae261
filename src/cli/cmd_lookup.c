/* cmd_lookup.c - get, map and replicas: where keys live. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static const char get_help[] =
    "usage: hash-ring [RING OPTIONS] get [--] KEY...\n"
    "Prints KEY<TAB>NODE for each KEY: the node that owns it.  With --json:\n"
    "[{\"key\": KEY, \"node\": NODE}, ...].  Put -- before keys that start with '-'\n"
    "(an argument starting with '-' is otherwise refused as a misplaced option).\n";

static const char map_help[] =
    "usage: hash-ring [RING OPTIONS] map [--strip-cr] < KEYS\n"
    "Reads keys from stdin, one per line (any bytes but newline, up to 1048576\n"
    "bytes a line; a last line without newline is a key too) and prints\n"
    "KEY<TAB>NODE for each, streaming (memory does not grow with the input).\n"
    "A trailing \\r is part of the key unless --strip-cr is given (then one\n"
    "\\r before the newline is dropped: CRLF input).  With --json: one JSON\n"
    "array, written as it goes.  A read error, a line longer than 1048576 bytes\n"
    "or a write error mid-stream stops it with a message and exit status 2; the\n"
    "output is then truncated (with --json, not a complete array).\n";

static const char replicas_help[] =
    "usage: hash-ring [RING OPTIONS] replicas N [--] KEY...\n"
    "Prints KEY<TAB>NODE1<TAB>NODE2... for each KEY: the first N distinct nodes in\n"
    "ring order from the key's position (the replica and fail-over order; NODE1\n"
    "is what get prints).  Fewer than N when fewer nodes own points.  N >= 1.\n"
    "With --json: [{\"key\": KEY, \"nodes\": [NODE1, ...]}, ...].  Put -- before keys\n"
    "that start with '-'.\n";

/* One placement line (or JSON array element). */
static void cli_print_place(const cli_opts *o, const char *key, size_t klen, const char *node,
                            size_t nlen, int first)
{
    if (o->json) {
        fputs(first ? "\n  {\"key\": " : ",\n  {\"key\": ", stdout);
        cli_json_string(stdout, key, klen);
        fputs(", \"node\": ", stdout);
        cli_json_string(stdout, node, nlen);
        fputc('}', stdout);
    } else {
        cli_text(stdout, key, klen);
        fputc('\t', stdout);
        cli_text(stdout, node, nlen);
        fputc('\n', stdout);
    }
}

/* Looks up and prints n keys with one batch call (one membership). */
static int cli_place_keys(cli_opts *o, const void *const *keys, const size_t *lens, size_t n,
                          int first)
{
    enum { MAX = 256 };
    const char *nodes[MAX];
    size_t nlens[MAX];
    for (size_t at = 0; at < n; at += MAX) {
        size_t k = n - at < MAX ? n - at : MAX;
        int rc = hash_ring_get_node_batch(o->ring, keys + at, lens + at, k, nodes, nlens);
        if (rc != HASH_RING_OK)
            return rc;
        for (size_t i = 0; i < k; i++)
            cli_print_place(o, keys[at + i], lens[at + i], nodes[i], nlens[i],
                            first && at + i == 0);
    }
    return HASH_RING_OK;
}

/* Keys of map waiting for their batch: up to MAP_BLOCK_KEYS keys copied
 * into MAP_BLOCK_BYTES of arena (a longer key goes alone). */
enum { MAP_BLOCK_KEYS = 256, MAP_BLOCK_BYTES = 64 * 1024 };
typedef struct map_block {
    char *arena;
    size_t used, n;
    const void *keys[MAP_BLOCK_KEYS];
    size_t lens[MAP_BLOCK_KEYS];
} map_block;

static int map_flush(cli_opts *o, map_block *b, int *first)
{
    int rc = cli_place_keys(o, b->keys, b->lens, b->n, *first);
    if (b->n > 0)
        *first = 0;
    b->n = b->used = 0;
    return rc;
}

/* Queues one key (flushing the block when it is full); a key bigger than
 * the arena is placed at once, after the keys before it. */
static int map_add(cli_opts *o, map_block *b, const char *key, size_t len, int *first)
{
    int rc = HASH_RING_OK;
    if (b->n == MAP_BLOCK_KEYS || len > MAP_BLOCK_BYTES - b->used)
        rc = map_flush(o, b, first);
    if (rc != HASH_RING_OK)
        return rc;
    if (len > MAP_BLOCK_BYTES) {
        const void *k = key;
        rc = cli_place_keys(o, &k, &len, 1, *first);
        *first = 0;
        return rc;
    }
    memcpy(b->arena + b->used, key, len);
    b->keys[b->n] = b->arena + b->used;
    b->lens[b->n++] = len;
    b->used += len;
    return HASH_RING_OK;
}

int cli_cmd_get(cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv, get_help))
        return CLI_EXIT_OK;
    int rc = cli_keys("get", &argc, &argv);
    if (rc != 0)
        return rc;
    if (argc == 0)
        return cli_fail("get: no keys given");
    rc = cli_check_ring(o->ring);
    if (rc != 0)
        return rc;
    const void **keys = calloc((size_t)argc, sizeof *keys);
    size_t *lens = calloc((size_t)argc, sizeof *lens);
    if (keys == NULL || lens == NULL) {
        free(keys);
        free(lens);
        return cli_fail("get: out of memory");
    }
    for (int i = 0; i < argc; i++) {
        keys[i] = argv[i];
        lens[i] = strlen(argv[i]);
    }
    if (o->json)
        fputc('[', stdout);
    rc = cli_place_keys(o, keys, lens, (size_t)argc, 1);
    free(keys);
    free(lens);
    if (rc != HASH_RING_OK)
        return cli_fail("get: %s", hash_ring_strerror(rc));
    if (o->json)
        fputs(argc > 0 ? "\n]\n" : "]\n", stdout);
    return CLI_EXIT_OK;
}

int cli_cmd_map(cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv, map_help))
        return CLI_EXIT_OK;
    int strip_cr = 0;
    if (argc > 0 && strcmp(argv[0], "--strip-cr") == 0) {
        strip_cr = 1;
        argc--;
        argv++;
    }
    if (argc > 0)
        return cli_fail("map: unexpected argument '%s' (keys come from stdin)", argv[0]);
    if (o->stdin_used)
        return cli_fail("map reads its keys from standard input: give the nodes with --node "
                        "or a --nodes-file other than -");
    int rc = cli_check_ring(o->ring);
    if (rc != 0)
        return rc;
    /* One buffer of the bound, taken before any output: memory never
     * follows the input, and no allocation can fail mid-stream. */
    char *line = malloc(CLI_MAP_LINE_MAX + 1);
    map_block *block = malloc(sizeof *block);
    char *arena = malloc(MAP_BLOCK_BYTES);
    if (line == NULL || block == NULL || arena == NULL) {
        free(line);
        free(block);
        free(arena);
        return cli_fail("map: out of memory");
    }
    block->arena = arena;
    block->used = block->n = 0;
    /* Big blocks to a pipe or file; a terminal keeps its line buffering. */
    static char outbuf[1 << 16];
    if (!isatty(fileno(stdout)))
        setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    size_t len, lineno = 0;
    int first = 1, status = CLI_EXIT_OK, r;
    if (o->json)
        fputc('[', stdout);
    errno = 0;
    while ((r = cli_read_line(stdin, line, CLI_MAP_LINE_MAX + 1, &len)) != 0) {
        lineno++;
        if (r == -1) {
            status = cli_fail("map: error reading standard input (line %zu): %s", lineno,
                              strerror(errno != 0 ? errno : EIO));
            break;
        }
        if (r == -2) {
            status = cli_fail("map: line %zu is longer than %d bytes", lineno,
                              CLI_MAP_LINE_MAX);
            break;
        }
        if (strip_cr && len > 0 && line[len - 1] == '\r')
            len--;
        rc = map_add(o, block, line, len, &first);
        if (rc != HASH_RING_OK) {
            status = cli_fail("map: %s", hash_ring_strerror(rc));
            break;
        }
        if (ferror(stdout))
            break; /* reported by main */
    }
    /* the keys read before an error are placed too, as a key-at-a-time
     * loop would have done */
    rc = map_flush(o, block, &first);
    if (rc != HASH_RING_OK && status == CLI_EXIT_OK)
        status = cli_fail("map: %s", hash_ring_strerror(rc));
    if (status == CLI_EXIT_OK && o->json)
        fputs(first ? "]\n" : "\n]\n", stdout);
    free(line);
    free(block);
    free(arena);
    fflush(stdout);
    /* outbuf is static, so it is still valid when exit() flushes again. */
    return status;
}

int cli_cmd_replicas(cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv, replicas_help))
        return CLI_EXIT_OK;
    if (argc == 0)
        return cli_fail("replicas: missing N (usage: replicas N KEY...)");
    const char *ns = argv[0];
    uint32_t n32;
    if (cli_parse_weight(ns, &n32) != 0 || n32 == 0)
        return cli_fail("replicas: bad N '%s' (want an integer 1..4294967295)", ns);
    argc--;
    argv++;
    int rc = cli_keys("replicas", &argc, &argv);
    if (rc != 0)
        return rc;
    if (argc == 0)
        return cli_fail("replicas: no keys given");
    hash_ring_snapshot_t *snap = NULL;
    rc = cli_ring_snapshot(o->ring, "replicas", &snap);
    if (rc != 0)
        return rc;
    size_t members = hash_ring_snapshot_node_count(snap);
    size_t max = n32 < members ? n32 : members;
    size_t *counts = calloc((size_t)argc, sizeof *counts);
    const char **all = NULL;
    size_t *all_lens = NULL;
    int status = CLI_EXIT_OK;
    if (counts == NULL) {
        status = cli_fail("replicas: out of memory");
        goto out;
    }
    /* Look every key up first: an error must leave stdout empty. */
    if ((size_t)argc <= SIZE_MAX / (max + 1)) {
        all = calloc((size_t)argc * (max + 1), sizeof *all);
        all_lens = calloc((size_t)argc * (max + 1), sizeof *all_lens);
    }
    if (all == NULL || all_lens == NULL) {
        status = cli_fail("replicas: out of memory");
        goto out;
    }
    for (int i = 0; i < argc; i++) {
        size_t off = (size_t)i * (max + 1);
        rc = hash_ring_snapshot_get_nodes(snap, argv[i], strlen(argv[i]), all + off,
                                          all_lens + off, max, &counts[i]);
        if (rc != HASH_RING_OK) {
            status = cli_fail("replicas: %s", hash_ring_strerror(rc));
            goto out;
        }
    }
    if (o->json)
        fputc('[', stdout);
    for (int i = 0; i < argc; i++) {
        size_t off = (size_t)i * (max + 1);
        size_t klen = strlen(argv[i]);
        if (o->json) {
            fputs(i == 0 ? "\n  {\"key\": " : ",\n  {\"key\": ", stdout);
            cli_json_string(stdout, argv[i], klen);
            fputs(", \"nodes\": [", stdout);
            for (size_t k = 0; k < counts[i]; k++) {
                if (k > 0)
                    fputs(", ", stdout);
                cli_json_string(stdout, all[off + k], all_lens[off + k]);
            }
            fputs("]}", stdout);
        } else {
            cli_text(stdout, argv[i], klen);
            for (size_t k = 0; k < counts[i]; k++) {
                fputc('\t', stdout);
                cli_text(stdout, all[off + k], all_lens[off + k]);
            }
            fputc('\n', stdout);
        }
    }
    if (o->json)
        fputs("\n]\n", stdout);
out:
    free(all);
    free(all_lens);
    free(counts);
    hash_ring_snapshot_release(snap);
    return status;
}
