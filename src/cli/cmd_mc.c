/* cmd_mc.c - hash-ring mc: the memcached client from the command line.
 *
 * The ring's nodes (--node / --nodes-file) are the servers; a key goes to
 * the server the ring names, or to the next live one (see
 * hash_ring_memcache.h, FAIL-OVER). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash_ring_memcache.h"

static const char mc_help[] =
    "usage: hash-ring [RING OPTIONS] mc [MC OPTIONS] COMMAND ARGS...\n"
    "Talks to memcached servers: the ring's nodes, each named HOST:PORT,\n"
    "[IPV6]:PORT or a unix socket path (/path or unix:/path).  Keys go to the\n"
    "server the ring names for them, or to the next live one in ring order.\n"
    "\n"
    "commands:\n"
    "  set [--ttl S] [--flags N] [--] KEY VALUE   store VALUE\n"
    "  set [--ttl S] [--flags N] --stdin [--] KEY  store standard input's bytes\n"
    "                   (up to --max-value; not with --nodes-file -)\n"
    "  get [--] KEY...  one key: its value and a newline; several keys:\n"
    "                   KEY<TAB>VALUE per key found (one round trip per server);\n"
    "                   exit 1 if any key is missing.  --json: {KEY: VALUE|null}\n"
    "  delete [--] KEY  exit 1 if the key was not there\n"
    "  incr KEY N       add N, print the new value (exit 1 if the key is missing)\n"
    "  decr KEY N       subtract N (stops at 0), print the new value\n"
    "  stats            SERVER<TAB>up<TAB>curr_items=N<TAB>total_items=N, or\n"
    "                   SERVER<TAB>down<TAB>REASON, per server in ring order;\n"
    "                   exit 1 if any server is down.  --json: a list of objects\n"
    "\n"
    "mc options (before COMMAND):\n"
    "  --timeout MS          connect and I/O timeout (default 1000)\n"
    "  --no-failover         a key only ever goes to its own server\n"
    "  --max-value BYTES     largest value sent or read (default 1048576, as\n"
    "                        memcached's -I; a larger stored value fails its key)\n"
    "  --address NAME=ADDR   connect to ADDR for the node NAME (placement still\n"
    "                        uses NAME); repeatable\n"
    "\n"
    "RING OPTIONS, --json among them, come before 'mc'.  'mc COMMAND --help'\n"
    "prints this; '--' before a key lets it start with '-'.  Errors (a server\n"
    "failure, a bad key or value) are one line on stderr, exit status 2; exit 1\n"
    "only where said above (get: a miss; delete, incr, decr: not found; stats:\n"
    "a server down).\n";

static int mc_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* The status's text, then what the client last saw go wrong when that
 * says more (the detail may already start with the status's text). */
static int mc_fail_rc(hash_ring_mc_t *mc, const char *cmd, int rc)
{
    const char *text = hash_ring_mc_strerror(rc), *detail = hash_ring_mc_last_error(mc);
    size_t tl = strlen(text);
    if (detail[0] == '\0' || strcmp(detail, text) == 0)
        return cli_fail("mc %s: %s", cmd, text);
    if (strncmp(detail, text, tl) == 0)
        return cli_fail("mc %s: %s", cmd, detail);
    return cli_fail("mc %s: %s (%s)", cmd, text, detail);
}

/* The client's maximum value size (--max-value): mc set --stdin reads no
 * more than one byte past it. */
static size_t mc_max_value = 1048576;

static int mc_cmd_set(cli_opts *o, hash_ring_mc_t *mc, int argc, char **argv)
{
    const char *key = NULL, *value = NULL;
    uint64_t ttl = 0, flags = 0;
    int pos = 0, options = 1, from_stdin = 0;
    for (int i = 0; i < argc; i++) {
        if (options && strcmp(argv[i], "--") == 0) {
            options = 0; /* KEY and VALUE may start with '-' after "--" */
        } else if (options && strcmp(argv[i], "--stdin") == 0) {
            from_stdin = 1;
        } else if (options && (strcmp(argv[i], "--ttl") == 0 || strcmp(argv[i], "--flags") == 0)) {
            uint64_t *dst = argv[i][2] == 't' ? &ttl : &flags;
            if (i + 1 >= argc || mc_parse_u64(argv[i + 1], UINT32_MAX, dst) != 0)
                return cli_fail("mc set: %s needs a number 0..4294967295", argv[i]);
            i++;
        } else if (pos == 0) {
            if (options && argv[i][0] == '-' && argv[i][1] != '\0')
                return cli_fail("mc set: unknown option '%s' (put -- before a key that starts "
                                "with '-')",
                                argv[i]);
            key = argv[i];
            pos++;
        } else if (pos == 1 && !from_stdin) {
            value = argv[i];
            pos++;
        } else {
            return cli_fail("mc set: unexpected argument '%s' (usage: set [--ttl S] [--flags N] "
                            "[--] KEY VALUE, or --stdin [--] KEY)",
                            argv[i]);
        }
    }
    if (pos != (from_stdin ? 1 : 2))
        return cli_fail("mc set: usage: set [--ttl S] [--flags N] [--] KEY VALUE, or --stdin "
                        "[--] KEY");
    size_t vlen = value ? strlen(value) : 0;
    char *buf = NULL;
    if (from_stdin && o->stdin_used)
        return cli_fail("mc set: --stdin and --nodes-file - both read standard input");
    if (from_stdin) {
        /* every byte of stdin (NULs too), up to one past the maximum: the
         * client then says the value is too large */
        size_t cap = 0;
        while (vlen <= mc_max_value) {
            if (vlen == cap) {
                size_t nc = cap ? cap * 2 : 65536;
                if (nc > mc_max_value + 1)
                    nc = mc_max_value + 1;
                char *b = realloc(buf, nc);
                if (b == NULL) {
                    free(buf);
                    return cli_fail("mc set: out of memory");
                }
                buf = b;
                cap = nc;
            }
            size_t n = fread(buf + vlen, 1, cap - vlen, stdin);
            vlen += n;
            if (n == 0)
                break;
        }
        if (ferror(stdin)) {
            free(buf);
            return cli_fail("mc set: error reading standard input");
        }
        value = buf ? buf : "";
    }
    int rc = hash_ring_mc_set(mc, key, strlen(key), value, vlen, (uint32_t)flags, (uint32_t)ttl);
    free(buf);
    if (rc != HASH_RING_OK)
        return mc_fail_rc(mc, "set", rc);
    return CLI_EXIT_OK;
}

static int mc_cmd_get(cli_opts *o, hash_ring_mc_t *mc, int argc, char **argv)
{
    int krc = cli_keys("mc get", &argc, &argv);
    if (krc != 0)
        return krc;
    if (argc <= 0)
        return cli_fail("mc get: no keys given");
    if (argc == 1 && !o->json) {
        /* one key: a plain get, whose failure comes with its detail */
        const void *v;
        size_t vl;
        int rc = hash_ring_mc_get(mc, argv[0], strlen(argv[0]), &v, &vl, NULL);
        if (rc == HASH_RING_EMISS) {
            fprintf(stderr, "hash-ring: mc get: %s: not found\n", argv[0]);
            return CLI_EXIT_MISS;
        }
        if (rc != HASH_RING_OK) {
            char what[300];
            snprintf(what, sizeof what, "get: %s", argv[0]);
            return mc_fail_rc(mc, what, rc);
        }
        fwrite(v, 1, vl, stdout);
        fputc('\n', stdout);
        return CLI_EXIT_OK;
    }
    const void **keys = calloc((size_t)argc, sizeof *keys);
    size_t *lens = calloc((size_t)argc, sizeof *lens);
    if (keys == NULL || lens == NULL) {
        free(keys);
        free(lens);
        return cli_fail("out of memory");
    }
    for (int i = 0; i < argc; i++) {
        keys[i] = argv[i];
        lens[i] = strlen(argv[i]);
    }
    hash_ring_mc_result_t *res = NULL;
    int rc = hash_ring_mc_get_multi(mc, keys, lens, (size_t)argc, &res);
    free(keys);
    free(lens);
    if (rc != HASH_RING_OK)
        return mc_fail_rc(mc, "get", rc);
    /* Everything that can fail is known before the first byte is printed. */
    int missing = 0;
    for (int i = 0; i < argc; i++) {
        int st = hash_ring_mc_result_item(res, (size_t)i, NULL, NULL, NULL, NULL);
        if (st == HASH_RING_EMISS) {
            missing = 1;
        } else if (st != HASH_RING_OK) {
            hash_ring_mc_result_free(res);
            if (st == HASH_RING_EPROTO) /* a multi-get item has no detail */
                return cli_fail("mc get: %s: %s (or a value above the maximum: see "
                                "--max-value)",
                                argv[i], hash_ring_mc_strerror(st));
            char what[300];
            snprintf(what, sizeof what, "get: %s", argv[i]);
            return mc_fail_rc(mc, what, st);
        }
    }
    if (o->json)
        fputc('{', stdout);
    for (int i = 0; i < argc; i++) {
        const void *v;
        size_t vl;
        int st = hash_ring_mc_result_item(res, (size_t)i, &v, &vl, NULL, NULL);
        if (o->json) {
            fputs(i == 0 ? "\n  " : ",\n  ", stdout);
            cli_json_string(stdout, argv[i], strlen(argv[i]));
            fputs(": ", stdout);
            if (st == HASH_RING_OK)
                cli_json_string(stdout, v, vl);
            else
                fputs("null", stdout);
        } else if (st == HASH_RING_OK) {
            if (argc > 1) {
                fputs(argv[i], stdout);
                fputc('\t', stdout);
            }
            fwrite(v, 1, vl, stdout);
            fputc('\n', stdout);
        } else {
            fprintf(stderr, "hash-ring: mc get: %s: not found\n", argv[i]);
        }
    }
    if (o->json)
        fputs(argc > 0 ? "\n}\n" : "}\n", stdout);
    hash_ring_mc_result_free(res);
    return missing ? CLI_EXIT_MISS : CLI_EXIT_OK;
}

static int mc_cmd_delete(hash_ring_mc_t *mc, int argc, char **argv)
{
    int krc = cli_keys("mc delete", &argc, &argv);
    if (krc != 0)
        return krc;
    if (argc != 1)
        return cli_fail("mc delete: usage: delete KEY");
    int rc = hash_ring_mc_delete(mc, argv[0], strlen(argv[0]));
    if (rc == HASH_RING_EMISS) {
        fprintf(stderr, "hash-ring: mc delete: %s: not found\n", argv[0]);
        return CLI_EXIT_MISS;
    }
    if (rc != HASH_RING_OK)
        return mc_fail_rc(mc, "delete", rc);
    return CLI_EXIT_OK;
}

static int mc_cmd_arith(hash_ring_mc_t *mc, int decr, int argc, char **argv)
{
    const char *name = decr ? "decr" : "incr";
    uint64_t n, nv = 0;
    /* only the key is checked for a misplaced option (N is a number): a
     * view of the first argument, or of "--" and the key */
    int nk = argc > 0 && strcmp(argv[0], "--") == 0 ? 2 : 1;
    if (nk > argc)
        nk = argc;
    char **kv = argv;
    int krc = cli_keys(decr ? "mc decr" : "mc incr", &nk, &kv);
    if (krc != 0)
        return krc;
    argc -= (int)(kv - argv);
    argv = kv;
    if (argc != 2 || mc_parse_u64(argv[1], UINT64_MAX, &n) != 0)
        return cli_fail("mc %s: usage: %s KEY N (N a number 0..18446744073709551615)", name,
                        name);
    int rc = decr ? hash_ring_mc_decr(mc, argv[0], strlen(argv[0]), n, &nv)
                  : hash_ring_mc_incr(mc, argv[0], strlen(argv[0]), n, &nv);
    if (rc == HASH_RING_EMISS) {
        fprintf(stderr, "hash-ring: mc %s: %s: not found\n", name, argv[0]);
        return CLI_EXIT_MISS;
    }
    if (rc != HASH_RING_OK)
        return mc_fail_rc(mc, name, rc);
    printf("%llu\n", (unsigned long long)nv);
    return CLI_EXIT_OK;
}

typedef struct mc_srv_stat {
    const char *name;
    size_t name_len;
    int up;
    char reason[256];
    char items[32], total[32];
} mc_srv_stat;

static int mc_cmd_stats(cli_opts *o, hash_ring_mc_t *mc, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return cli_fail("mc stats: takes no arguments");
    hash_ring_snapshot_t *snap;
    int rc = hash_ring_snapshot_acquire(o->ring, &snap);
    if (rc != HASH_RING_OK)
        return cli_fail("mc stats: %s", hash_ring_mc_strerror(rc));
    size_t n = hash_ring_snapshot_node_count(snap);
    mc_srv_stat *s = calloc(n ? n : 1, sizeof *s);
    if (s == NULL) {
        hash_ring_snapshot_release(snap);
        return cli_fail("out of memory");
    }
    int any_down = 0;
    for (size_t i = 0; i < n; i++) {
        hash_ring_snapshot_node(snap, i, &s[i].name, &s[i].name_len, NULL, NULL, NULL);
        hash_ring_mc_stats_t *st = NULL;
        rc = hash_ring_mc_stats(mc, s[i].name, s[i].name_len, NULL, &st);
        if (rc == HASH_RING_OK) {
            const char *a = hash_ring_mc_stats_find(st, "curr_items");
            const char *b = hash_ring_mc_stats_find(st, "total_items");
            snprintf(s[i].items, sizeof s[i].items, "%s", a ? a : "?");
            snprintf(s[i].total, sizeof s[i].total, "%s", b ? b : "?");
            s[i].up = 1;
        } else {
            snprintf(s[i].reason, sizeof s[i].reason, "%s", hash_ring_mc_last_error(mc));
            any_down = 1;
        }
        hash_ring_mc_stats_free(st);
    }
    if (o->json)
        fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        if (o->json) {
            fputs(i == 0 ? "\n  {\"server\": " : ",\n  {\"server\": ", stdout);
            cli_json_string(stdout, s[i].name, s[i].name_len);
            if (s[i].up) {
                fputs(", \"up\": true, \"curr_items\": ", stdout);
                cli_json_string(stdout, s[i].items, strlen(s[i].items));
                fputs(", \"total_items\": ", stdout);
                cli_json_string(stdout, s[i].total, strlen(s[i].total));
            } else {
                fputs(", \"up\": false, \"error\": ", stdout);
                cli_json_string(stdout, s[i].reason, strlen(s[i].reason));
            }
            fputc('}', stdout);
        } else if (s[i].up) {
            printf("%.*s\tup\tcurr_items=%s\ttotal_items=%s\n", (int)s[i].name_len, s[i].name,
                   s[i].items, s[i].total);
        } else {
            printf("%.*s\tdown\t%s\n", (int)s[i].name_len, s[i].name, s[i].reason);
        }
    }
    if (o->json)
        fputs(n > 0 ? "\n]\n" : "]\n", stdout);
    free(s);
    hash_ring_snapshot_release(snap);
    return any_down ? CLI_EXIT_MISS : CLI_EXIT_OK;
}

/* The commands, all called the same way. */
static int mc_run_set(cli_opts *o, hash_ring_mc_t *mc, int argc, char **argv)
{
    return mc_cmd_set(o, mc, argc, argv);
}

static int mc_run_delete(cli_opts *o, hash_ring_mc_t *mc, int argc, char **argv)
{
    (void)o;
    return mc_cmd_delete(mc, argc, argv);
}

static int mc_run_incr(cli_opts *o, hash_ring_mc_t *mc, int argc, char **argv)
{
    (void)o;
    return mc_cmd_arith(mc, 0, argc, argv);
}

static int mc_run_decr(cli_opts *o, hash_ring_mc_t *mc, int argc, char **argv)
{
    (void)o;
    return mc_cmd_arith(mc, 1, argc, argv);
}

typedef struct mc_command {
    const char *name;
    int (*run)(cli_opts *o, hash_ring_mc_t *mc, int argc, char **argv);
} mc_command;

static const mc_command mc_commands[] = {
    {"set", mc_run_set},   {"get", mc_cmd_get},   {"delete", mc_run_delete},
    {"incr", mc_run_incr}, {"decr", mc_run_decr}, {"stats", mc_cmd_stats},
};

int cli_cmd_mc(cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv, mc_help))
        return CLI_EXIT_OK;
    hash_ring_mc_t *mc = NULL;
    int rc = hash_ring_mc_create_with_ring(&mc, o->ring);
    if (rc != HASH_RING_OK)
        return cli_fail("mc: %s", hash_ring_mc_strerror(rc));
    (void)hash_ring_mc_set_connect_timeout(mc, 1000);
    (void)hash_ring_mc_set_io_timeout(mc, 1000);
    int i = 0;
    rc = -1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0 && rc == -1; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            fputs(mc_help, stdout);
            rc = CLI_EXIT_OK;
        } else if (strcmp(a, "--no-failover") == 0) {
            (void)hash_ring_mc_set_failover(mc, 0);
        } else if (strcmp(a, "--timeout") == 0) {
            uint64_t ms;
            if (i + 1 >= argc || mc_parse_u64(argv[i + 1], 3600000, &ms) != 0 || ms == 0)
                rc = cli_fail("mc: --timeout needs milliseconds, 1..3600000");
            else {
                (void)hash_ring_mc_set_connect_timeout(mc, (unsigned)ms);
                (void)hash_ring_mc_set_io_timeout(mc, (unsigned)ms);
                i++;
            }
        } else if (strcmp(a, "--max-value") == 0) {
            uint64_t b;
            if (i + 1 >= argc || mc_parse_u64(argv[i + 1], 1073741824, &b) != 0 || b == 0)
                rc = cli_fail("mc: --max-value needs bytes, 1..1073741824");
            else {
                (void)hash_ring_mc_set_max_value(mc, (size_t)b);
                mc_max_value = (size_t)b;
                i++;
            }
        } else if (strcmp(a, "--address") == 0) {
            const char *spec = i + 1 < argc ? argv[i + 1] : NULL;
            const char *eq = spec ? strrchr(spec, '=') : NULL;
            if (eq == NULL || eq == spec || eq[1] == '\0') {
                rc = cli_fail("mc: --address needs NAME=ADDRESS");
            } else if (hash_ring_mc_set_address(mc, spec, (size_t)(eq - spec), eq + 1,
                                                strlen(eq + 1)) != HASH_RING_OK) {
                rc = cli_fail("mc: --address %s: %s", spec, hash_ring_mc_last_error(mc));
            } else {
                i++;
            }
        } else {
            rc = cli_fail("mc: unknown option '%s' (see hash-ring mc --help)", a);
        }
    }
    if (rc != -1) {
        hash_ring_mc_destroy(mc);
        return rc;
    }
    if (i >= argc) {
        hash_ring_mc_destroy(mc);
        return cli_fail("mc: no command (set, get, delete, incr, decr, stats; see mc --help)");
    }
    const char *cmd = argv[i];
    int n = argc - i - 1;
    char **args = argv + i + 1;
    const mc_command *c = NULL;
    for (size_t k = 0; k < sizeof mc_commands / sizeof *mc_commands; k++)
        if (strcmp(cmd, mc_commands[k].name) == 0)
            c = &mc_commands[k];
    if (c == NULL) {
        rc = cli_fail("mc: unknown command '%s' (set, get, delete, incr, decr, stats)", cmd);
    } else if (n == 1 && strcmp(args[0], "--help") == 0) {
        /* COMMAND --help alone; a key named "--help" follows "--" */
        fputs(mc_help, stdout);
        rc = CLI_EXIT_OK;
    } else {
        rc = c->run(o, mc, n, args);
    }
    hash_ring_mc_destroy(mc);
    return rc;
}
