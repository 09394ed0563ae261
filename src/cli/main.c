/* main.c - hash-ring: global options, building the ring, dispatch.
 *
 * hash-ring [--dialect NAME] [--node NAME[=WEIGHT]]... [--nodes-file FILE]
 *           [--json] COMMAND ARGS... */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hash-ring: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

static int cli_parse_weight(const char *s, uint32_t *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int cli_add(hash_ring_t *ring, const char *name, size_t len, uint32_t w)
{
    int rc = hash_ring_add_node(ring, name, len, w);
    if (rc == HASH_RING_EEXIST)
        return cli_fail("duplicate node '%.*s'", (int)len, name);
    if (rc != HASH_RING_OK)
        return cli_fail("cannot add node '%.*s': %s", (int)len, name, hash_ring_strerror(rc));
    return 0;
}

int cli_add_node_spec(hash_ring_t *ring, const char *spec)
{
    const char *eq = strrchr(spec, '=');
    uint32_t w = 1;
    size_t len = eq ? (size_t)(eq - spec) : strlen(spec);
    if (eq != NULL && cli_parse_weight(eq + 1, &w) != 0)
        return cli_fail("bad weight in --node '%s' (want NAME or NAME=WEIGHT, 0..4294967295)",
                        spec);
    if (len == 0)
        return cli_fail("empty node name in --node '%s'", spec);
    return cli_add(ring, spec, len, w);
}

/* Lines "NAME" or "NAME<whitespace>WEIGHT"; blank lines and #-comments skipped. */
static int cli_load_nodes_file(hash_ring_t *ring, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL)
        return cli_fail("cannot read nodes file '%s': %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        char *name = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        size_t len = (size_t)(p - name);
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        uint32_t w = 1;
        if (*p != '\0') {
            char *end = p + strlen(p);
            while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
                *--end = '\0';
            if (cli_parse_weight(p, &w) != 0) {
                rc = cli_fail("%s:%zu: bad weight '%s'", path, lineno, p);
                break;
            }
        }
        rc = cli_add(ring, name, len, w);
    }
    if (rc == 0 && ferror(f))
        rc = cli_fail("cannot read nodes file '%s': %s", path, strerror(errno));
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

static const char usage[] =
    "usage: hash-ring [--dialect NAME] [--node NAME[=WEIGHT]]... [--nodes-file FILE]\n"
    "                 [--json] COMMAND ARGS...\n"
    "\n"
    "Places keys on nodes exactly as Python hash_ring (default) or another ketama\n"
    "dialect does.\n"
    "\n"
    "options:\n"
    "  --dialect NAME      python (default), node, libketama, libmemcached,\n"
    "                      twemproxy, hashring, hashring-python\n"
    "  --node NAME[=W]     add a node (weight W, default 1); repeatable\n"
    "  --nodes-file FILE   add nodes from FILE: 'NAME' or 'NAME WEIGHT' per line\n"
    "  --json              print JSON instead of tab-separated text\n"
    "  --help, --version\n"
    "\n"
    "commands:\n"
    "  get KEY...          KEY<TAB>NODE per key\n"
    "  map                 the same for keys read from stdin, one per line\n";

typedef struct cli_command {
    const char *name;
    int (*run)(cli_opts *o, int argc, char **argv);
    int needs_nodes;
} cli_command;

static const cli_command commands[] = {
    {"get", cli_cmd_get, 1},
    {"map", cli_cmd_map, 1},
    {"mc", cli_cmd_mc, 1},
};

int main(int argc, char **argv)
{
    cli_opts o = {HASH_RING_DIALECT_PYTHON, 0, NULL};
    const char **node_specs = calloc((size_t)argc + 1, sizeof *node_specs);
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t nspecs = 0, nfiles = 0;
    int i = 1, rc = CLI_EXIT_USAGE;
    if (node_specs == NULL || files == NULL) {
        rc = cli_fail("out of memory");
        goto out;
    }
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        size_t alen = eq ? (size_t)(eq - a) : strlen(a);
#define OPT(s) (alen == strlen(s) && strncmp(a, s, alen) == 0)
        if (OPT("--help")) {
            fputs(usage, stdout);
            rc = CLI_EXIT_OK;
            goto out;
        }
        if (OPT("--version")) {
            printf("hash-ring %s\n", hash_ring_version_string());
            rc = CLI_EXIT_OK;
            goto out;
        }
        if (OPT("--json")) {
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
            if (hash_ring_dialect_from_name(val, &o.dialect) != HASH_RING_OK) {
                rc = cli_fail("unknown dialect '%s' (python, node, libketama, libmemcached, "
                              "twemproxy, hashring, hashring-python)", val);
                goto out;
            }
        } else if (OPT("--node")) {
            node_specs[nspecs++] = val;
        } else {
            files[nfiles++] = val;
        }
#undef OPT
    }
    if (i >= argc) {
        rc = cli_fail("no command (see hash-ring --help)");
        goto out;
    }
    const cli_command *cmd = NULL;
    for (size_t k = 0; k < sizeof commands / sizeof *commands; k++)
        if (strcmp(argv[i], commands[k].name) == 0)
            cmd = &commands[k];
    if (cmd == NULL) {
        rc = cli_fail("unknown command '%s' (see hash-ring --help)", argv[i]);
        goto out;
    }
    int crc = hash_ring_create(&o.ring, o.dialect);
    if (crc != HASH_RING_OK) {
        rc = cli_fail("cannot create ring: %s", hash_ring_strerror(crc));
        goto out;
    }
    for (size_t k = 0; k < nspecs; k++)
        if ((rc = cli_add_node_spec(o.ring, node_specs[k])) != 0)
            goto out;
    for (size_t k = 0; k < nfiles; k++)
        if ((rc = cli_load_nodes_file(o.ring, files[k])) != 0)
            goto out;
    if (cmd->needs_nodes && nspecs == 0 && nfiles == 0) {
        rc = cli_fail("no nodes: give --node NAME[=WEIGHT] or --nodes-file FILE");
        goto out;
    }
    rc = cmd->run(&o, argc - i - 1, argv + i + 1);
out:
    hash_ring_destroy(o.ring);
    free(node_specs);
    free(files);
    return rc;
}
