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

/* One placement line (or JSON array element) for key. */
static int cli_place(cli_opts *o, const char *key, size_t klen, int first)
{
    const char *node;
    size_t nlen;
    int rc = hash_ring_get_node(o->ring, key, klen, &node, &nlen);
    if (rc != HASH_RING_OK)
        return rc;
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
    if (o->json)
        fputc('[', stdout);
    for (int i = 0; i < argc; i++) {
        rc = cli_place(o, argv[i], strlen(argv[i]), i == 0);
        if (rc != HASH_RING_OK)
            return cli_fail("get: %s", hash_ring_strerror(rc));
    }
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
    if (line == NULL)
        return cli_fail("map: out of memory");
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
        rc = cli_place(o, line, len, first);
        if (rc != HASH_RING_OK) {
            status = cli_fail("map: %s", hash_ring_strerror(rc));
            break;
        }
        first = 0;
        if (ferror(stdout))
            break; /* reported by main */
    }
    if (status == CLI_EXIT_OK && o->json)
        fputs(first ? "]\n" : "\n]\n", stdout);
    free(line);
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
