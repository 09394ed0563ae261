/* main.c - hash-ring: global options, building the ring, dispatch.
 *
 * hash-ring [--dialect NAME] [--node NAME[=WEIGHT]]... [--nodes-file FILE]
 *           [--json] COMMAND ARGS... */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: hash-ring [--dialect NAME] [--node NAME[=WEIGHT]]... [--nodes-file FILE]\n"
    "                 [--json] COMMAND ARGS...\n"
    "\n"
    "Places keys on nodes exactly as Python hash_ring (default) or another ketama\n"
    "dialect does, and measures how the key space is shared and how it moves.\n"
    "\n"
    "options:\n"
    "  --dialect NAME      python (default), node, libketama, libmemcached,\n"
    "                      twemproxy, hashring, hashring-python, spymemcached,\n"
    "                      spymemcached-weighted, uhashring, node-memcached,\n"
    "                      nginx, dalli, pecl-memcache (any case)\n"
    "  --node NAME[=W]     add a node (weight W, default 1); repeatable; the name\n"
    "                      ends at the last '='\n"
    "  --nodes-file FILE   add nodes from FILE, one per line: 'NAME', 'NAME WEIGHT'\n"
    "                      (libketama, libmemcached), 'HOST:PORT:WEIGHT [NAME]'\n"
    "                      (twemproxy; the node is NAME, else HOST:PORT); fields\n"
    "                      blank-separated, # comments; lines up to 4096 bytes,\n"
    "                      files up to 64 MiB; '-' = stdin (once, and not with\n"
    "                      map, which reads its keys there)\n"
    "  --json              print JSON instead of tab-separated text\n"
    "  --help, --version\n"
    "Options may come before or after COMMAND (up to a '--' argument).  Nodes\n"
    "are added in order: every --node first, then each --nodes-file.\n"
    "\n"
    "commands:\n"
    "  get KEY...          KEY<TAB>NODE per key\n"
    "  map                 the same for keys read from stdin, one per line (up to\n"
    "                      1048576 bytes a line; --strip-cr for CRLF input)\n"
    "  replicas N KEY...   KEY<TAB>NODE1<TAB>...: the first N distinct nodes\n"
    "  continuum           POINT<TAB>NODE for every point, in ring order\n"
    "  stats               each node's exact share of the key space\n"
    "  diff CHANGES...     exact share of the key space that moves when nodes are\n"
    "                      added (--add), removed (--remove), reweighted (--reweight),\n"
    "                      or between two nodes files (--from FILE --to FILE)\n"
    "  demo                the classic three-server example (no network)\n"
    "  mc ...              talk to memcached servers placed on the ring\n"
    "\n"
    "Text output escapes keys, names and values: backslash as \\\\, tab, newline,\n"
    "CR as \\t \\n \\r, other control bytes and non-UTF-8 bytes as \\xHH.\n"
    "'hash-ring COMMAND --help' describes a command; see also hash-ring(1).\n"
    "Exit status: 0 success, 1 (mc only) a key not found or a server down,\n"
    "2 usage or input error (one line on stderr, nothing on stdout; map, which\n"
    "streams, may have printed part of its output).\n";

typedef struct cli_command {
    const char *name;
    int (*run)(cli_opts *o, int argc, char **argv);
    int needs_nodes;
    /* the command's own options that take their value as the next
     * argument: that argument is never taken for a ring option */
    const char *const *valued;
} cli_command;

static const char *const diff_valued[] = {"--add", "--remove", "--reweight", "--from", "--to",
                                          NULL};
static const char *const mc_valued[] = {"--timeout", "--max-value", "--address", "--ttl",
                                        "--flags", NULL};

static const cli_command commands[] = {
    {"get", cli_cmd_get, 1, NULL},
    {"map", cli_cmd_map, 1, NULL},
    {"replicas", cli_cmd_replicas, 1, NULL},
    {"continuum", cli_cmd_continuum, 1, NULL},
    {"stats", cli_cmd_stats, 1, NULL},
    {"diff", cli_cmd_diff, 0, diff_valued}, /* --from needs no ring options */
    {"demo", cli_cmd_demo, 0, NULL},
    {"mc", cli_cmd_mc, 1, mc_valued},
};

static int cli_valued(const cli_command *cmd, const char *a)
{
    for (const char *const *v = cmd->valued; v != NULL && *v != NULL; v++)
        if (strcmp(a, *v) == 0)
            return 1;
    return 0;
}

/* Dialect names in any case. */
static int cli_dialect(const char *val, hash_ring_dialect_t *d)
{
    char lower[32];
    size_t n = strlen(val);
    if (n >= sizeof lower)
        return -1;
    for (size_t k = 0; k <= n; k++)
        lower[k] = (char)tolower((unsigned char)val[k]);
    return hash_ring_dialect_from_name(lower, d) == HASH_RING_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    cli_opts o = {HASH_RING_DIALECT_PYTHON, 0, NULL, 0, 0, 0};
    const char **node_specs = calloc((size_t)argc + 1, sizeof *node_specs);
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    char **args = calloc((size_t)argc + 1, sizeof *args); /* the command's */
    size_t nspecs = 0, nfiles = 0;
    int nargs = 0;
    const cli_command *cmd = NULL;
    cli_nodes nodes;
    memset(&nodes, 0, sizeof nodes);
    int rc = CLI_EXIT_USAGE;
    if (node_specs == NULL || files == NULL || args == NULL) {
        rc = cli_fail("out of memory");
        goto out;
    }
    /* Ring options anywhere before "--"; after the command, everything
     * else (and everything from "--" on) is the command's. */
    for (int i = 1, done = 0; i < argc; i++) {
        const char *a = argv[i];
        if (done || a[0] != '-' || a[1] == '\0') {
            if (cmd == NULL) {
                for (size_t k = 0; k < sizeof commands / sizeof *commands; k++)
                    if (strcmp(a, commands[k].name) == 0)
                        cmd = &commands[k];
                if (cmd == NULL) {
                    rc = cli_fail("unknown command '%s' (see hash-ring --help)", a);
                    goto out;
                }
            } else {
                args[nargs++] = argv[i];
            }
            continue;
        }
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        size_t alen = eq ? (size_t)(eq - a) : strlen(a);
#define OPT(s) (alen == strlen(s) && strncmp(a, s, alen) == 0)
        if (cmd != NULL && strcmp(a, "--") == 0) {
            done = 1;
            args[nargs++] = argv[i];
            continue;
        }
        if (cmd != NULL && !(OPT("--json") || OPT("--dialect") || OPT("--node") ||
                             OPT("--nodes-file"))) {
            /* the command's option (its value too, which may start with '-') */
            args[nargs++] = argv[i];
            if (cli_valued(cmd, a) && i + 1 < argc)
                args[nargs++] = argv[++i];
            continue;
        }
        if ((OPT("--help") || OPT("-h") || OPT("--version")) && eq != NULL) {
            rc = cli_fail("option %.*s takes no value", (int)alen, a);
            goto out;
        }
        if (OPT("--help") || OPT("-h") || OPT("--version")) {
            if (OPT("--version"))
                printf("hash-ring %s\n", hash_ring_version_string());
            else
                fputs(usage, stdout);
            rc = CLI_EXIT_OK;
            goto written;
        }
        if (OPT("--json")) {
            if (eq != NULL) {
                rc = cli_fail("option --json takes no value");
                goto out;
            }
            o.json = 1;
            continue;
        }
        if (OPT("--dialect") || OPT("--node") || OPT("--nodes-file")) {
            if (eq != NULL)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else {
                rc = cli_fail("option %s needs a value", a);
                goto out;
            }
        } else {
            rc = cli_fail("unknown option '%s' (see hash-ring --help)", a);
            goto out;
        }
        if (OPT("--dialect")) {
            if (cli_dialect(val, &o.dialect) != 0) {
                rc = cli_fail("unknown dialect '%s' (python, node, libketama, libmemcached, "
                              "twemproxy, hashring, hashring-python, spymemcached, "
                              "spymemcached-weighted, uhashring, node-memcached, nginx, "
                              "dalli, pecl-memcache)",
                              val);
                goto out;
            }
        } else if (OPT("--node")) {
            node_specs[nspecs++] = val;
        } else {
            files[nfiles++] = val;
        }
#undef OPT
    }
    if (cmd == NULL) {
        rc = cli_fail("no command (see hash-ring --help)");
        goto out;
    }
    /* stdin can be read once: by one nodes file, or by map's keys */
    size_t from_stdin = 0;
    for (size_t k = 0; k < nfiles; k++)
        from_stdin += strcmp(files[k], "-") == 0;
    if (from_stdin > 1) {
        rc = cli_fail("--nodes-file - given %zu times (standard input can be read once)",
                      from_stdin);
        goto out;
    }
    /* COMMAND --help, and mc COMMAND --help, need no nodes */
    int help = 0;
    for (int k = 0; k < nargs && k <= (strcmp(cmd->name, "mc") == 0 ? 1 : 0); k++)
        help |= strcmp(args[k], "--help") == 0 || strcmp(args[k], "-h") == 0;
    o.stdin_used = from_stdin > 0; /* map and mc set --stdin refuse it */
    int crc = hash_ring_create(&o.ring, o.dialect);
    if (crc != HASH_RING_OK) {
        rc = cli_fail("cannot create ring: %s", hash_ring_strerror(crc));
        goto out;
    }
    for (size_t k = 0; k < nspecs; k++)
        if ((rc = cli_nodes_add_spec(&nodes, node_specs[k])) != 0)
            goto out;
    for (size_t k = 0; k < nfiles; k++)
        if ((rc = cli_nodes_load_file(&nodes, files[k])) != 0)
            goto out;
    /* nodes files may hold only comments: what counts is nodes given */
    o.have_nodes = nodes.n > 0;
    o.nodes_given = nspecs > 0 || nfiles > 0;
    if ((rc = cli_nodes_commit(&nodes, o.ring)) != 0)
        goto out;
    if (!help && cmd->needs_nodes && !o.have_nodes) {
        rc = cli_fail("no nodes: give --node NAME[=WEIGHT] or --nodes-file FILE");
        goto out;
    }
    rc = cmd->run(&o, nargs, args);
written:
    /* A write error (full disk, closed pipe with SIGPIPE ignored) must pass
     * neither as success nor as a miss (exit 1): the output is lost. */
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = cli_fail("error writing to standard output");
out:
    hash_ring_destroy(o.ring);
    cli_nodes_free(&nodes);
    free(node_specs);
    free(files);
    free(args);
    return rc;
}
