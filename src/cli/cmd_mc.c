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
    "  get [--raw] [--] KEY...  one key: its value and a newline; several keys:\n"
    "                   KEY<TAB>VALUE per key found (one round trip per server);\n"
    "                   keys and values escaped as all text output is (below);\n"
    "                   --raw (one key): the value's bytes exactly, no newline.\n"
    "                   Exit 1 if any key is missing.  A key whose server failed\n"
    "                   is read from the next live server in ring order: stderr\n"
    "                   names the server that answered and why the key's own\n"
    "                   server did not.  --json: [{\"key\", \"value\" (null: a\n"
    "                   miss), \"server\" (who answered), \"owner\" (the key's\n"
    "                   server), \"failed\": [{\"server\", \"error\"}...]}...]\n"
    "  delete [--] KEY  exit 1 if the key was not there\n"
    "  incr KEY N       add N, print the new value (exit 1 if the key is missing)\n"
    "  decr KEY N       subtract N (stops at 0), print the new value\n"
    "  stats            SERVER<TAB>up<TAB>curr_items=N<TAB>total_items=N, or\n"
    "                   SERVER<TAB>down<TAB>REASON, per server in ring order;\n"
    "                   exit 1 if any server is down.  --json: a list of objects\n"
    "                   (a value of digits is a JSON number)\n"
    "\n"
    "mc options (anywhere before '--'):\n"
    "  --timeout MS          connect and I/O timeout (default 1000)\n"
    "  --no-failover         a key only ever goes to its own server\n"
    "  --max-value BYTES     largest value sent or read (default: send up to\n"
    "                        1048000 bytes, which a default memcached (-I 1m)\n"
    "                        stores with any key; read up to 1048576)\n"
    "  --address NAME=ADDR   connect to ADDR for the node NAME (placement still\n"
    "                        uses NAME); repeatable\n"
    "\n"
    "Text output escapes every byte from a server or the command line: '\\' as\n"
    "\\\\, tab, newline, CR as \\t \\n \\r, other control bytes and bytes that are\n"
    "not UTF-8 as \\xHH.  'mc COMMAND --help' prints this; '--' before a key\n"
    "lets it start with '-' (and ends the options).  Errors (a server failure,\n"
    "a bad key or value) are one line on stderr, exit status 2; exit 1 only\n"
    "where said above (get: a miss; delete, incr, decr: not found; stats: a\n"
    "server down).\n";

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

/* The largest value mc set sends (--max-value; mc set --stdin reads no
 * more than one byte past it).  memcached's default item limit (-I 1m)
 * counts the key and an item header too (59 bytes in 1.6), so the default
 * leaves room for a 250-byte key. */
#define MC_DEFAULT_SEND_MAX 1048000u
#define MC_DEFAULT_READ_MAX 1048576u
static size_t mc_max_value = MC_DEFAULT_SEND_MAX;
static int mc_failover_on = 1;
static size_t mc_read_max = MC_DEFAULT_READ_MAX;
static unsigned mc_timeout_ms = 1000;
/* the --address arguments (NAME=ADDR), for the one-server clients */
static char **mc_addresses;
static int mc_naddresses;

/* The main client's maximum: it both sends and reads. */
static size_t mc_client_max(void)
{
    return mc_read_max > mc_max_value ? mc_read_max : mc_max_value;
}

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
    if (vlen > mc_max_value) {
        free(buf);
        return cli_fail("mc set: value of %zu bytes: larger than the maximum of %zu bytes (see "
                        "--max-value)",
                        vlen, mc_max_value);
    }
    int rc = hash_ring_mc_set(mc, key, strlen(key), value, vlen, (uint32_t)flags, (uint32_t)ttl);
    free(buf);
    if (rc != HASH_RING_OK)
        return mc_fail_rc(mc, "set", rc);
    return CLI_EXIT_OK;
}

/* ---- get, with fail-over done here so the tool can say who answered ----
 *
 * The client is asked with its fail-over off: a key whose server fails then
 * comes back with that failure, and the tool asks the next servers in ring
 * order itself, each through a client of that one server.  (The client's
 * own fail-over does the same walk but does not tell which server
 * answered.) */

typedef struct mc_srv {
    hash_ring_mc_t *c; /* a client of this server alone, made on first use */
    int failed;
    char why[320];
} mc_srv;

typedef struct mc_item {
    int status;        /* HASH_RING_OK or HASH_RING_EMISS; else the error */
    const void *value; /* in the result or the client, or `copy` */
    size_t value_len;
    char *copy;
    const char *owner, *server; /* server: who answered (NULL: nobody) */
    size_t owner_len, server_len;
    size_t *failed; /* member indices of the servers that failed for it */
    size_t nfailed;
    char why[400]; /* a key error's message */
} mc_item;

typedef struct mc_get_ctx {
    hash_ring_snapshot_t *snap;
    size_t nmembers;
    mc_srv *srv;
    const char **names; /* candidate buffers, nmembers each */
    size_t *lens;
} mc_get_ctx;

static size_t mc_member(const mc_get_ctx *x, const char *name, size_t len)
{
    for (size_t i = 0; i < x->nmembers; i++) {
        const char *n;
        size_t l;
        if (hash_ring_snapshot_node(x->snap, i, &n, &l, NULL, NULL, NULL) == HASH_RING_OK &&
            l == len && memcmp(n, name, len) == 0)
            return i;
    }
    return SIZE_MAX;
}

/* The client of member m alone (NULL: why says why). */
static hash_ring_mc_t *mc_direct(mc_get_ctx *x, size_t m, char *why, size_t whysize)
{
    if (x->srv[m].c != NULL)
        return x->srv[m].c;
    const char *name;
    size_t len;
    hash_ring_mc_t *c = NULL;
    int rc = hash_ring_snapshot_node(x->snap, m, &name, &len, NULL, NULL, NULL);
    if (rc == HASH_RING_OK)
        rc = hash_ring_mc_create(&c, HASH_RING_DIALECT_PYTHON);
    for (int k = 0; rc == HASH_RING_OK && k < mc_naddresses; k++) {
        const char *eq = strrchr(mc_addresses[k], '=');
        if ((size_t)(eq - mc_addresses[k]) == len && memcmp(mc_addresses[k], name, len) == 0)
            rc = hash_ring_mc_set_address(c, name, len, eq + 1, strlen(eq + 1));
    }
    if (rc == HASH_RING_OK)
        rc = hash_ring_mc_add_server(c, name, len, 1);
    if (rc == HASH_RING_OK) {
        (void)hash_ring_mc_set_failover(c, 0);
        (void)hash_ring_mc_set_connect_timeout(c, mc_timeout_ms);
        (void)hash_ring_mc_set_io_timeout(c, mc_timeout_ms);
        (void)hash_ring_mc_set_max_value(c, mc_read_max);
        x->srv[m].c = c;
        return c;
    }
    snprintf(why, whysize, "%s", c != NULL ? hash_ring_mc_last_error(c) : hash_ring_mc_strerror(rc));
    hash_ring_mc_destroy(c);
    return NULL;
}

/* A failure that means the server failed (the key goes on to the next
 * server), as opposed to an answer about the key (a value above the
 * maximum, HASH_RING_ETOOBIG, is such an answer). */
static int mc_server_failure(int st)
{
    return st == HASH_RING_ETIMEDOUT || st == HASH_RING_EIO || st == HASH_RING_EPROTO ||
           st == HASH_RING_ENOSERVER;
}

static void mc_item_failed(mc_item *it, size_t m)
{
    for (size_t k = 0; k < it->nfailed; k++)
        if (it->failed[k] == m)
            return;
    it->failed[it->nfailed++] = m;
}

/* Asks the key's next servers in ring order (after its own failed). */
static int mc_walk(mc_get_ctx *x, mc_item *it, const char *key)
{
    size_t klen = strlen(key), count = 0;
    int rc = hash_ring_snapshot_get_nodes(x->snap, key, klen, x->names, x->lens, x->nmembers,
                                          &count);
    if (rc != HASH_RING_OK) {
        snprintf(it->why, sizeof it->why, "%s", hash_ring_mc_strerror(rc));
        return rc;
    }
    for (size_t j = 1; j < count; j++) {
        size_t m = mc_member(x, x->names[j], x->lens[j]);
        if (m == SIZE_MAX)
            continue;
        if (x->srv[m].failed) {
            mc_item_failed(it, m);
            continue;
        }
        hash_ring_mc_t *c = mc_direct(x, m, x->srv[m].why, sizeof x->srv[m].why);
        const void *v = NULL;
        size_t vl = 0;
        int st = c != NULL ? hash_ring_mc_get(c, key, klen, &v, &vl, NULL) : HASH_RING_ENOSERVER;
        if (mc_server_failure(st)) {
            if (c != NULL) /* else mc_direct said why */
                snprintf(x->srv[m].why, sizeof x->srv[m].why, "%s", hash_ring_mc_last_error(c));
            x->srv[m].failed = 1;
            mc_item_failed(it, m);
            continue;
        }
        if (st != HASH_RING_OK && st != HASH_RING_EMISS) {
            snprintf(it->why, sizeof it->why, "%s", hash_ring_mc_last_error(c));
            return st;
        }
        it->status = st;
        it->server = x->names[j];
        it->server_len = x->lens[j];
        /* x->names is reused by the next key: the name from the snapshot */
        hash_ring_snapshot_node(x->snap, m, &it->server, &it->server_len, NULL, NULL, NULL);
        if (st == HASH_RING_OK) {
            it->copy = malloc(vl + 1);
            if (it->copy == NULL) {
                snprintf(it->why, sizeof it->why, "out of memory");
                return HASH_RING_ENOMEM;
            }
            memcpy(it->copy, v, vl);
            it->value = it->copy;
            it->value_len = vl;
        }
        return HASH_RING_OK;
    }
    snprintf(it->why, sizeof it->why, "no server answered");
    return HASH_RING_ENOSERVER;
}

/* "server A: why; server B: why" for the servers that failed for it. */
static void mc_failed_text(const mc_get_ctx *x, const mc_item *it, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < it->nfailed && n < size; k++) {
        const mc_srv *sv = &x->srv[it->failed[k]];
        int w = snprintf(buf + n, size - n, "%s%s", k ? "; " : "", sv->why);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

static int mc_cmd_get(cli_opts *o, hash_ring_mc_t *mc, int argc, char **argv)
{
    int raw = 0;
    while (argc > 0 && strcmp(argv[0], "--raw") == 0) {
        raw = 1;
        argc--;
        argv++;
    }
    int krc = cli_keys("mc get", &argc, &argv);
    if (krc != 0)
        return krc;
    if (argc <= 0)
        return cli_fail("mc get: no keys given");
    if (raw && (argc != 1 || o->json))
        return cli_fail("mc get: --raw takes one key, without --json");
    mc_get_ctx x;
    memset(&x, 0, sizeof x);
    mc_item *items = calloc((size_t)argc, sizeof *items);
    hash_ring_mc_result_t *res = NULL;
    int status = CLI_EXIT_OK, missing = 0, rc;
    size_t *failed_all = NULL;
    if (items == NULL) {
        status = cli_fail("out of memory");
        goto out;
    }
    if ((rc = hash_ring_snapshot_acquire(o->ring, &x.snap)) != HASH_RING_OK) {
        status = cli_fail("mc get: %s", hash_ring_mc_strerror(rc));
        goto out;
    }
    x.nmembers = hash_ring_snapshot_node_count(x.snap);
    x.srv = calloc(x.nmembers + 1, sizeof *x.srv);
    x.names = calloc(x.nmembers + 1, sizeof *x.names);
    x.lens = calloc(x.nmembers + 1, sizeof *x.lens);
    failed_all = calloc((size_t)argc * (x.nmembers + 1), sizeof *failed_all);
    if (x.srv == NULL || x.names == NULL || x.lens == NULL || failed_all == NULL) {
        status = cli_fail("out of memory");
        goto out;
    }
    for (int i = 0; i < argc; i++)
        items[i].failed = failed_all + (size_t)i * (x.nmembers + 1);
    (void)hash_ring_mc_set_failover(mc, 0);
    if (argc > 1) {
        const void **keys = calloc((size_t)argc, sizeof *keys);
        size_t *lens = calloc((size_t)argc, sizeof *lens);
        if (keys == NULL || lens == NULL) {
            free(keys);
            free(lens);
            status = cli_fail("out of memory");
            goto out;
        }
        for (int i = 0; i < argc; i++) {
            keys[i] = argv[i];
            lens[i] = strlen(argv[i]);
        }
        rc = hash_ring_mc_get_multi(mc, keys, lens, (size_t)argc, &res);
        free(keys);
        free(lens);
        if (rc != HASH_RING_OK) {
            status = mc_fail_rc(mc, "get", rc);
            goto out;
        }
    }
    /* Everything that can fail is known before the first byte is printed. */
    for (int i = 0; i < argc && status == CLI_EXIT_OK; i++) {
        mc_item *it = &items[i];
        const char *key = argv[i];
        const void *v = NULL;
        size_t vl = 0;
        int st;
        char detail[320] = "";
        if (res != NULL) {
            st = hash_ring_mc_result_item(res, (size_t)i, &v, &vl, NULL, NULL);
            if (st != HASH_RING_OK && st != HASH_RING_EMISS)
                snprintf(detail, sizeof detail, "%s", hash_ring_mc_strerror(st));
        } else {
            st = hash_ring_mc_get(mc, key, strlen(key), &v, &vl, NULL);
            if (st != HASH_RING_OK && st != HASH_RING_EMISS)
                snprintf(detail, sizeof detail, "%s", hash_ring_mc_last_error(mc));
        }
        if (st == HASH_RING_EINVAL) {
            status = cli_fail("mc get: %s: %s", key, detail);
            break;
        }
        if ((rc = hash_ring_snapshot_get_node(x.snap, key, strlen(key), &it->owner,
                                              &it->owner_len)) != HASH_RING_OK) {
            status = cli_fail("mc get: %s: %s", key, hash_ring_mc_strerror(rc));
            break;
        }
        size_t m = mc_member(&x, it->owner, it->owner_len);
        if (st == HASH_RING_ETOOBIG) {
            /* the server's answer for this key: no other server is asked
             * (a multi-get item carries no message: the size is not known) */
            if (res != NULL)
                status = cli_fail("mc get: %s: server %.*s: the value is above this client's "
                                  "maximum of %zu bytes (see --max-value)",
                                  key, (int)it->owner_len, it->owner, mc_client_max());
            else
                status = cli_fail("mc get: %s: %s (see --max-value)", key, detail);
            break;
        }
        if (st == HASH_RING_OK || st == HASH_RING_EMISS) {
            it->status = st;
            it->server = it->owner;
            it->server_len = it->owner_len;
            if (st == HASH_RING_OK && res == NULL) {
                /* the client's buffer lasts until its next call */
                it->copy = malloc(vl + 1);
                if (it->copy == NULL) {
                    status = cli_fail("out of memory");
                    break;
                }
                memcpy(it->copy, v, vl);
                v = it->copy;
            }
            it->value = v;
            it->value_len = vl;
            continue;
        }
        if (!mc_server_failure(st)) {
            status = cli_fail("mc get: %s: %s", key, detail);
            break;
        }
        if (m != SIZE_MAX && !x.srv[m].failed) {
            x.srv[m].failed = 1;
            if (strstr(detail, "server ") == detail)
                snprintf(x.srv[m].why, sizeof x.srv[m].why, "%s", detail);
            else if (snprintf(x.srv[m].why, sizeof x.srv[m].why, "server %.*s: %s",
                              (int)it->owner_len, it->owner, detail) < 0)
                x.srv[m].why[0] = '\0';
        }
        if (m != SIZE_MAX)
            mc_item_failed(it, m);
        char failed[1024];
        rc = mc_failover_on ? mc_walk(&x, it, key) : HASH_RING_ENOSERVER;
        if (rc != HASH_RING_OK) {
            mc_failed_text(&x, it, failed, sizeof failed);
            status = mc_failover_on
                         ? cli_fail("mc get: %s: %s (%s)", key,
                                    it->why[0] ? it->why : hash_ring_mc_strerror(rc), failed)
                         : cli_fail("mc get: %s: %s (fail-over is off)", key, failed);
            break;
        }
    }
    if (status != CLI_EXIT_OK)
        goto out;
    /* what fail-over did, on stderr (text) or in the JSON */
    for (int i = 0; i < argc && !o->json; i++) {
        mc_item *it = &items[i];
        char failed[1024];
        if (it->nfailed == 0) {
            if (it->status == HASH_RING_EMISS)
                (void)cli_fail("mc get: %s: not found", argv[i]);
            continue;
        }
        mc_failed_text(&x, it, failed, sizeof failed);
        if (it->status == HASH_RING_OK)
            (void)cli_fail("mc get: %s: read from %.*s, not from its server %.*s (%s); the "
                           "value may be stale",
                           argv[i], (int)it->server_len, it->server, (int)it->owner_len,
                           it->owner, failed);
        else
            (void)cli_fail("mc get: %s: not found on %.*s, asked instead of its server %.*s "
                           "(%s)",
                           argv[i], (int)it->server_len, it->server, (int)it->owner_len,
                           it->owner, failed);
    }
    if (o->json)
        fputc('[', stdout);
    for (int i = 0; i < argc; i++) {
        mc_item *it = &items[i];
        missing |= it->status == HASH_RING_EMISS;
        if (o->json) {
            fputs(i == 0 ? "\n  {\"key\": " : ",\n  {\"key\": ", stdout);
            cli_json_string(stdout, argv[i], strlen(argv[i]));
            fputs(", \"value\": ", stdout);
            if (it->status == HASH_RING_OK)
                cli_json_string(stdout, it->value, it->value_len);
            else
                fputs("null", stdout);
            fputs(", \"server\": ", stdout);
            cli_json_string(stdout, it->server, it->server_len);
            fputs(", \"owner\": ", stdout);
            cli_json_string(stdout, it->owner, it->owner_len);
            fputs(", \"failed\": [", stdout);
            for (size_t k = 0; k < it->nfailed; k++) {
                const char *n;
                size_t nl;
                hash_ring_snapshot_node(x.snap, it->failed[k], &n, &nl, NULL, NULL, NULL);
                fputs(k ? ", {\"server\": " : "{\"server\": ", stdout);
                cli_json_string(stdout, n, nl);
                fputs(", \"error\": ", stdout);
                cli_json_string(stdout, x.srv[it->failed[k]].why,
                                strlen(x.srv[it->failed[k]].why));
                fputc('}', stdout);
            }
            fputs("]}", stdout);
        } else if (it->status == HASH_RING_OK) {
            if (raw) {
                fwrite(it->value, 1, it->value_len, stdout);
                continue;
            }
            if (argc > 1) {
                cli_text(stdout, argv[i], strlen(argv[i]));
                fputc('\t', stdout);
            }
            cli_text(stdout, it->value, it->value_len);
            fputc('\n', stdout);
        }
    }
    if (o->json)
        fputs("\n]\n", stdout);
    status = missing ? CLI_EXIT_MISS : CLI_EXIT_OK;
out:
    for (int i = 0; items != NULL && i < argc; i++)
        free(items[i].copy);
    free(items);
    free(failed_all);
    for (size_t m = 0; x.srv != NULL && m < x.nmembers; m++)
        hash_ring_mc_destroy(x.srv[m].c);
    free(x.srv);
    free(x.names);
    free(x.lens);
    hash_ring_mc_result_free(res);
    hash_ring_snapshot_release(x.snap);
    return status;
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
        (void)cli_fail("mc delete: %s: not found", argv[0]);
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
        (void)cli_fail("mc %s: %s: not found", name, argv[0]);
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
    hash_ring_mc_stats_t *st; /* NULL: down */
    char *reason;
} mc_srv_stat;

/* One STAT value for text output: "?" when the server sent none. */
static void mc_stat_text(const hash_ring_mc_stats_t *st, const char *name)
{
    const char *v = hash_ring_mc_stats_find(st, name);
    if (v == NULL)
        fputc('?', stdout);
    else
        cli_text(stdout, v, strlen(v));
}

static void mc_stat_json(const hash_ring_mc_stats_t *st, const char *name)
{
    const char *v = hash_ring_mc_stats_find(st, name);
    if (v == NULL)
        fputs("null", stdout);
    else
        cli_json_stat_value(stdout, v, strlen(v));
}

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
    int any_down = 0, status = CLI_EXIT_OK;
    if (s == NULL) {
        status = cli_fail("out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        hash_ring_snapshot_node(snap, i, &s[i].name, &s[i].name_len, NULL, NULL, NULL);
        rc = hash_ring_mc_stats(mc, s[i].name, s[i].name_len, NULL, &s[i].st);
        if (rc != HASH_RING_OK) {
            s[i].st = NULL;
            s[i].reason = strdup(hash_ring_mc_last_error(mc));
            if (s[i].reason == NULL) {
                status = cli_fail("out of memory");
                goto out;
            }
            any_down = 1;
        }
    }
    if (o->json)
        fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        if (o->json) {
            fputs(i == 0 ? "\n  {\"server\": " : ",\n  {\"server\": ", stdout);
            cli_json_string(stdout, s[i].name, s[i].name_len);
            if (s[i].st != NULL) {
                fputs(", \"up\": true, \"curr_items\": ", stdout);
                mc_stat_json(s[i].st, "curr_items");
                fputs(", \"total_items\": ", stdout);
                mc_stat_json(s[i].st, "total_items");
            } else {
                fputs(", \"up\": false, \"error\": ", stdout);
                cli_json_string(stdout, s[i].reason, strlen(s[i].reason));
            }
            fputc('}', stdout);
        } else {
            cli_text(stdout, s[i].name, s[i].name_len);
            if (s[i].st != NULL) {
                fputs("\tup\tcurr_items=", stdout);
                mc_stat_text(s[i].st, "curr_items");
                fputs("\ttotal_items=", stdout);
                mc_stat_text(s[i].st, "total_items");
            } else {
                fputs("\tdown\t", stdout);
                cli_text(stdout, s[i].reason, strlen(s[i].reason));
            }
            fputc('\n', stdout);
        }
    }
    if (o->json)
        fputs(n > 0 ? "\n]\n" : "]\n", stdout);
    status = any_down ? CLI_EXIT_MISS : CLI_EXIT_OK;
out:
    for (size_t i = 0; s != NULL && i < n; i++) {
        hash_ring_mc_stats_free(s[i].st);
        free(s[i].reason);
    }
    free(s);
    hash_ring_snapshot_release(snap);
    return status;
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

static int mc_is_option(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "--no-failover") == 0 ||
           strcmp(a, "--timeout") == 0 || strcmp(a, "--max-value") == 0 ||
           strcmp(a, "--address") == 0;
}

int cli_cmd_mc(cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv, mc_help))
        return CLI_EXIT_OK;
    hash_ring_mc_t *mc = NULL;
    char **args = calloc((size_t)argc + 1, sizeof *args);
    mc_addresses = calloc((size_t)argc + 1, sizeof *mc_addresses);
    int rc = -1, n = 0;
    const char *cmd = NULL;
    mc_max_value = MC_DEFAULT_SEND_MAX;
    mc_read_max = MC_DEFAULT_READ_MAX;
    mc_timeout_ms = 1000;
    mc_failover_on = 1;
    mc_naddresses = 0;
    if (args == NULL || mc_addresses == NULL) {
        rc = cli_fail("out of memory");
        goto out;
    }
    /* mc options anywhere before "--"; the first other argument is the
     * command, the rest its arguments (a set option's value included) */
    for (int i = 0, done = 0; i < argc && rc == -1; i++) {
        const char *a = argv[i];
        if (done || !mc_is_option(a)) {
            if (!done && strcmp(a, "--") == 0)
                done = 1;
            if (cmd == NULL && !done) {
                if (a[0] == '-' && a[1] != '\0') {
                    rc = cli_fail("mc: unknown option '%s' (see hash-ring mc --help)", a);
                    break;
                }
                cmd = a;
                continue;
            }
            args[n++] = argv[i];
            if (!done && (strcmp(a, "--ttl") == 0 || strcmp(a, "--flags") == 0) && i + 1 < argc)
                args[n++] = argv[++i];
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            if (cmd == NULL) {
                fputs(mc_help, stdout);
                rc = CLI_EXIT_OK;
            } else {
                args[n++] = argv[i]; /* alone: help; else the command refuses it */
            }
        } else if (strcmp(a, "--no-failover") == 0) {
            mc_failover_on = 0;
        } else if (strcmp(a, "--timeout") == 0) {
            uint64_t ms;
            if (i + 1 >= argc || mc_parse_u64(argv[i + 1], 3600000, &ms) != 0 || ms == 0)
                rc = cli_fail("mc: --timeout needs milliseconds, 1..3600000");
            else {
                mc_timeout_ms = (unsigned)ms;
                i++;
            }
        } else if (strcmp(a, "--max-value") == 0) {
            uint64_t b;
            if (i + 1 >= argc || mc_parse_u64(argv[i + 1], 1073741824, &b) != 0 || b == 0)
                rc = cli_fail("mc: --max-value needs bytes, 1..1073741824");
            else {
                mc_max_value = mc_read_max = (size_t)b;
                i++;
            }
        } else {
            const char *spec = i + 1 < argc ? argv[i + 1] : NULL;
            const char *eq = spec ? strrchr(spec, '=') : NULL;
            if (eq == NULL || eq == spec || eq[1] == '\0') {
                rc = cli_fail("mc: --address needs NAME=ADDRESS");
            } else {
                mc_addresses[mc_naddresses++] = argv[++i];
            }
        }
    }
    if (rc != -1)
        goto out;
    if (cmd == NULL) {
        rc = cli_fail("mc: no command (set, get, delete, incr, decr, stats; see mc --help)");
        goto out;
    }
    const mc_command *c = NULL;
    for (size_t k = 0; k < sizeof mc_commands / sizeof *mc_commands; k++)
        if (strcmp(cmd, mc_commands[k].name) == 0)
            c = &mc_commands[k];
    if (c == NULL) {
        rc = cli_fail("mc: unknown command '%s' (set, get, delete, incr, decr, stats)", cmd);
        goto out;
    }
    if (n == 1 && strcmp(args[0], "--help") == 0) {
        /* COMMAND --help alone; a key named "--help" follows "--" */
        fputs(mc_help, stdout);
        rc = CLI_EXIT_OK;
        goto out;
    }
    rc = hash_ring_mc_create_with_ring(&mc, o->ring);
    if (rc != HASH_RING_OK) {
        rc = cli_fail("mc: %s", hash_ring_mc_strerror(rc));
        goto out;
    }
    (void)hash_ring_mc_set_connect_timeout(mc, mc_timeout_ms);
    (void)hash_ring_mc_set_io_timeout(mc, mc_timeout_ms);
    (void)hash_ring_mc_set_max_value(mc, mc_client_max());
    (void)hash_ring_mc_set_failover(mc, mc_failover_on);
    rc = 0;
    for (int k = 0; k < mc_naddresses && rc == 0; k++) {
        const char *spec = mc_addresses[k], *eq = strrchr(spec, '=');
        if (hash_ring_mc_set_address(mc, spec, (size_t)(eq - spec), eq + 1, strlen(eq + 1)) !=
            HASH_RING_OK)
            rc = cli_fail("mc: --address %s: %s", spec, hash_ring_mc_last_error(mc));
    }
    if (rc == 0)
        rc = c->run(o, mc, n, args);
out:
    hash_ring_mc_destroy(mc);
    free(args);
    free(mc_addresses);
    mc_addresses = NULL;
    mc_naddresses = 0;
    return rc;
}
