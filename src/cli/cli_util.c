/* cli_util.c - helpers shared by the hash-ring commands: parsing node
 * specifications and files, JSON strings, exact fractions of 2^32. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

int cli_fail(const char *fmt, ...)
{
    /* The message quotes user input (names, files, arguments): control
     * bytes are written escaped (\n, \xHH) so the error stays one line. */
    char small[512], *msg = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof small) {
        char *big = malloc((size_t)n + 1);
        if (big != NULL) {
            va_start(ap, fmt);
            vsnprintf(big, (size_t)n + 1, fmt, ap);
            va_end(ap);
            msg = big;
        }
    }
    fputs("hash-ring: ", stderr);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p == '\n')
            fputs("\\n", stderr);
        else if (*p == '\r')
            fputs("\\r", stderr);
        else if (*p == '\t')
            fputs("\\t", stderr);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
    fputc('\n', stderr);
    if (msg != small)
        free(msg);
    return CLI_EXIT_USAGE;
}

int cli_parse_weight(const char *s, uint32_t *out)
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

int cli_parse_node_spec(const char *spec, const char *what, size_t *name_len, uint32_t *weight)
{
    const char *eq = strrchr(spec, '=');
    *weight = 1;
    *name_len = eq ? (size_t)(eq - spec) : strlen(spec);
    if (eq != NULL && cli_parse_weight(eq + 1, weight) != 0)
        return cli_fail("bad weight in %s '%s' (want NAME or NAME=WEIGHT, WEIGHT 0..4294967295)",
                        what, spec);
    if (*name_len == 0)
        return cli_fail("empty node name in %s '%s'", what, spec);
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
    size_t len;
    uint32_t w;
    int rc = cli_parse_node_spec(spec, "--node", &len, &w);
    return rc != 0 ? rc : cli_add(ring, spec, len, w);
}

/* ---- collecting nodes, added to the ring in one rebuild ------------------ */

static int cli_nodes_push(cli_nodes *l, const char *name, size_t len, uint32_t w,
                          const char *file, size_t line)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **names = realloc(l->names, cap * sizeof *names);
        if (names != NULL)
            l->names = names;
        size_t *lens = realloc(l->lens, cap * sizeof *lens);
        if (lens != NULL)
            l->lens = lens;
        uint32_t *weights = realloc(l->weights, cap * sizeof *weights);
        if (weights != NULL)
            l->weights = weights;
        const char **files = realloc(l->files, cap * sizeof *files);
        if (files != NULL)
            l->files = files;
        size_t *lines = realloc(l->lines, cap * sizeof *lines);
        if (lines != NULL)
            l->lines = lines;
        if (names == NULL || lens == NULL || weights == NULL || files == NULL || lines == NULL)
            return cli_fail("out of memory");
        l->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return cli_fail("out of memory");
    memcpy(copy, name, len);
    copy[len] = '\0';
    l->names[l->n] = copy;
    l->lens[l->n] = len;
    l->weights[l->n] = w;
    l->files[l->n] = file;
    l->lines[l->n] = line;
    l->n++;
    return 0;
}

int cli_nodes_add_spec(cli_nodes *l, const char *spec)
{
    size_t len;
    uint32_t w;
    int rc = cli_parse_node_spec(spec, "--node", &len, &w);
    return rc != 0 ? rc : cli_nodes_push(l, spec, len, w, NULL, 0);
}

/* Lines "NAME" or "NAME<blanks>WEIGHT" (blanks: spaces or tabs, so a
 * vectors nodes.tsv file works as it is); a trailing \r is dropped; blank
 * lines and lines starting with '#' are skipped. */
int cli_nodes_load_file(cli_nodes *l, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL)
        return cli_fail("cannot read nodes file '%s': %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int rc = 0;
    errno = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (memchr(line, '\0', (size_t)n) != NULL) {
            rc = cli_fail("%s:%zu: NUL byte in line", path, lineno);
            break;
        }
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
                rc = cli_fail("%s:%zu: bad weight '%s' (want NAME [WEIGHT], WEIGHT "
                              "0..4294967295)",
                              path, lineno, p);
                break;
            }
        }
        rc = cli_nodes_push(l, name, len, w, path, lineno);
    }
    if (rc == 0 && ferror(f))
        rc = cli_fail("cannot read nodes file '%s': %s", path,
                      strerror(errno != 0 ? errno : EIO));
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

static const cli_nodes *dup_ctx; /* qsort has no context argument in C11 */

static int cli_dup_cmp(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    size_t la = dup_ctx->lens[a], lb = dup_ctx->lens[b];
    int c = memcmp(dup_ctx->names[a], dup_ctx->names[b], la < lb ? la : lb);
    if (c == 0 && la != lb)
        c = la < lb ? -1 : 1;
    if (c == 0 && a != b) /* the later duplicate sorts after the earlier */
        c = a < b ? -1 : 1;
    return c;
}

int cli_nodes_commit(cli_nodes *l, hash_ring_t *ring)
{
    if (l->n == 0)
        return 0;
    /* Name the first duplicate (in input order) ourselves: the batch call
     * would only say that one exists. */
    size_t *order = malloc(l->n * sizeof *order);
    if (order == NULL)
        return cli_fail("out of memory");
    for (size_t i = 0; i < l->n; i++)
        order[i] = i;
    dup_ctx = l;
    qsort(order, l->n, sizeof *order, cli_dup_cmp);
    dup_ctx = NULL;
    size_t dup = SIZE_MAX;
    for (size_t i = 1; i < l->n; i++) {
        size_t a = order[i - 1], b = order[i];
        if (l->lens[a] == l->lens[b] && memcmp(l->names[a], l->names[b], l->lens[a]) == 0 &&
            (dup == SIZE_MAX || b < dup))
            dup = b;
    }
    free(order);
    if (dup != SIZE_MAX) {
        size_t first = 0;
        while (l->lens[first] != l->lens[dup] ||
               memcmp(l->names[first], l->names[dup], l->lens[dup]) != 0)
            first++;
        char at[2][256];
        for (int k = 0; k < 2; k++) {
            size_t i = k == 0 ? dup : first;
            if (l->files[i] == NULL)
                snprintf(at[k], sizeof at[k], "--node");
            else
                snprintf(at[k], sizeof at[k], "%.200s:%zu", l->files[i], l->lines[i]);
        }
        return cli_fail("duplicate node '%.*s' (%s; first at %s)", (int)l->lens[dup],
                        l->names[dup], at[0], at[1]);
    }
    int rc = hash_ring_add_nodes(ring, (const void *const *)l->names, l->lens, l->weights, l->n);
    if (rc != HASH_RING_OK)
        return cli_fail("cannot add the nodes: %s", hash_ring_strerror(rc));
    return 0;
}

void cli_nodes_free(cli_nodes *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->lens);
    free(l->weights);
    free(l->files);
    free(l->lines);
    memset(l, 0, sizeof *l);
}

/* The keys: after a leading "--" anything; without it, an argument that
 * starts with '-' (but is not "-") is taken for a misplaced option and
 * refused, rather than looked up as a key.  0 or the exit status. */
int cli_keys(const char *cmd, int *argc, char ***argv)
{
    if (*argc > 0 && strcmp((*argv)[0], "--") == 0) {
        (*argv)++;
        (*argc)--;
        return 0;
    }
    for (int i = 0; i < *argc; i++)
        if ((*argv)[i][0] == '-' && (*argv)[i][1] != '\0')
            return cli_fail("%s: '%s' is not a key: options go before the command; put -- "
                            "before keys that start with '-'",
                            cmd, (*argv)[i]);
    return 0;
}

int cli_check_ring(const hash_ring_t *ring)
{
    const char *node;
    int rc = hash_ring_get_node(ring, "", 0, &node, NULL);
    if (rc == HASH_RING_EEMPTY)
        return cli_fail("no node owns any point (every weight is 0)");
    if (rc != HASH_RING_OK)
        return cli_fail("cannot place keys: %s", hash_ring_strerror(rc));
    return 0;
}

int cli_ring_snapshot(const hash_ring_t *ring, const char *cmd, hash_ring_snapshot_t **snap)
{
    int rc = cli_check_ring(ring);
    if (rc != 0)
        return rc;
    rc = hash_ring_snapshot_acquire(ring, snap);
    if (rc != HASH_RING_OK)
        return cli_fail("%s: %s", cmd, hash_ring_strerror(rc));
    return 0;
}

/* Length of the valid UTF-8 sequence at s[0..len), or 0 if it is not one
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t cli_utf8_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (len < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return need;
}

void cli_json_string(FILE *f, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            i++;
        } else if (c == '\n') {
            fputs("\\n", f);
            i++;
        } else if (c == '\t') {
            fputs("\\t", f);
            i++;
        } else if (c == '\r') {
            fputs("\\r", f);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            fputc(c, f);
            i++;
        } else {
            size_t n = cli_utf8_len(u + i, len - i);
            if (n == 0) {
                fprintf(f, "\\udc%02x", c); /* surrogateescape */
                i++;
            } else {
                fwrite(u + i, 1, n, f);
                i += n;
            }
        }
    }
    fputc('"', f);
}

void cli_print_fraction32(FILE *f, uint64_t count)
{
    const uint64_t one = UINT64_C(1) << 32, mask = one - 1;
    if (count >= one) {
        fputs("1", f);
        return;
    }
    char digits[40];
    size_t n = 0;
    uint64_t r = count & mask;
    /* count / 2^32 = count * 5^32 / 10^32: at most 32 digits, exact. */
    while (r != 0 && n < 32) {
        r *= 10; /* r < 2^32, so r * 10 < 2^36: no overflow */
        digits[n++] = (char)('0' + (r >> 32));
        r &= mask;
    }
    fputc('0', f);
    if (n > 0) {
        fputc('.', f);
        fwrite(digits, 1, n, f);
    }
}

int cli_wants_help(int argc, char **argv, const char *text)
{
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(text, stdout);
        return 1;
    }
    return 0;
}

int cli_copy_ring(const hash_ring_snapshot_t *snap, hash_ring_t **out)
{
    hash_ring_dialect_t d;
    hash_ring_t *ring = NULL;
    int rc = hash_ring_snapshot_dialect(snap, &d);
    if (rc == HASH_RING_OK)
        rc = hash_ring_create(&ring, d);
    size_t n = hash_ring_snapshot_node_count(snap);
    const void **names = calloc(n + 1, sizeof *names);
    size_t *lens = calloc(n + 1, sizeof *lens);
    uint32_t *weights = calloc(n + 1, sizeof *weights);
    if (rc == HASH_RING_OK && (names == NULL || lens == NULL || weights == NULL))
        rc = HASH_RING_ENOMEM;
    for (size_t i = 0; rc == HASH_RING_OK && i < n; i++) {
        const char *name;
        rc = hash_ring_snapshot_node(snap, i, &name, &lens[i], &weights[i], NULL, NULL);
        names[i] = name;
    }
    if (rc == HASH_RING_OK)
        rc = hash_ring_add_nodes(ring, names, lens, weights, n);
    free(names);
    free(lens);
    free(weights);
    if (rc != HASH_RING_OK) {
        hash_ring_destroy(ring);
        return cli_fail("cannot copy the ring: %s", hash_ring_strerror(rc));
    }
    *out = ring;
    return 0;
}
