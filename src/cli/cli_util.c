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
    /* The message quotes user input and server replies: written with
     * cli_text, so the error stays one line and carries no control bytes. */
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
    cli_text(stderr, msg, strlen(msg));
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

int cli_read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(f)) != EOF) {
        if (c == '\n') {
            *len = n;
            return 1;
        }
        if (n + 1 >= cap) {
            *len = n;
            return -2;
        }
        buf[n++] = (char)c;
    }
    *len = n;
    if (ferror(f))
        return -1;
    return n > 0 ? 1 : 0;
}

static int cli_is_digits(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* twemproxy's (and Dalli's) "HOST:PORT:WEIGHT": the node name is
 * "HOST:PORT" (*name_len bytes of s), *weight its weight.  1 when s has
 * that shape, 0 when it does not, -1 when it does but WEIGHT is out of
 * range. */
static int cli_twemproxy_addr(const char *s, size_t len, size_t *name_len, uint32_t *weight)
{
    const char *c2 = NULL, *c1 = NULL;
    for (size_t i = len; i > 0; i--)
        if (s[i - 1] == ':') {
            if (c2 == NULL)
                c2 = s + i - 1;
            else {
                c1 = s + i - 1;
                break;
            }
        }
    if (c1 == NULL || c1 == s)
        return 0;
    size_t plen = (size_t)(c2 - c1 - 1), wlen = (size_t)(s + len - c2 - 1);
    if (!cli_is_digits(c1 + 1, plen) || plen > 5 || !cli_is_digits(c2 + 1, wlen))
        return 0;
    /* the host: a name or IPv4 address without ':', or "[IPV6]" */
    size_t hlen = (size_t)(c1 - s);
    if (memchr(s, ':', hlen) != NULL && !(s[0] == '[' && s[hlen - 1] == ']'))
        return 0;
    char w[16];
    if (wlen >= sizeof w)
        return -1;
    memcpy(w, c2 + 1, wlen);
    w[wlen] = '\0';
    if (cli_parse_weight(w, weight) != 0)
        return -1;
    *name_len = (size_t)(c2 - s);
    return 1;
}

/* One line of a nodes file, at most CLI_NODES_LINE_MAX bytes:
 *   NAME                      weight 1
 *   NAME WEIGHT               (libketama's and libmemcached's host:port weight)
 *   HOST:PORT:WEIGHT          twemproxy / Dalli: node HOST:PORT
 *   HOST:PORT:WEIGHT NAME     twemproxy with a server name: node NAME
 * Fields are separated by spaces or tabs (so a vectors nodes.tsv file works
 * as it is); a trailing \r is dropped; blank lines and lines starting with
 * '#' are skipped.  Anything else is refused, never guessed at. */
static int cli_nodes_line(cli_nodes *l, char *line, size_t n, const char *path, size_t lineno)
{
    while (n > 0 && line[n - 1] == '\r')
        n--;
    if (memchr(line, '\0', n) != NULL)
        return cli_fail("%s:%zu: NUL byte in line", path, lineno);
    const char *field[3];
    size_t flen[3], nf = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == n)
            break;
        if (nf == 0 && line[i] == '#')
            return 0;
        size_t start = i;
        while (i < n && line[i] != ' ' && line[i] != '\t')
            i++;
        if (nf == 3)
            break;
        field[nf] = line + start;
        flen[nf++] = i - start;
    }
    if (nf == 0)
        return 0;
    if (nf > 2)
        return cli_fail("%s:%zu: more than two fields (want NAME [WEIGHT], HOST:PORT:WEIGHT "
                        "[NAME]; see hash-ring(1), NODES FILES)",
                        path, lineno);
    size_t alen;
    uint32_t w = 1;
    int tw = cli_twemproxy_addr(field[0], flen[0], &alen, &w);
    if (tw < 0)
        return cli_fail("%s:%zu: bad weight in '%.*s' (HOST:PORT:WEIGHT, WEIGHT 0..4294967295)",
                        path, lineno, (int)flen[0], field[0]);
    if (tw > 0 && nf == 2 && cli_is_digits(field[1], flen[1]))
        return cli_fail("%s:%zu: ambiguous line: '%.*s %.*s' reads as twemproxy's "
                        "HOST:PORT:WEIGHT NAME with a numeric NAME, and as NAME WEIGHT; write "
                        "the node with --node instead",
                        path, lineno, (int)flen[0], field[0], (int)flen[1], field[1]);
    if (tw > 0 && nf == 2)
        return cli_nodes_push(l, field[1], flen[1], w, path, lineno);
    if (tw > 0)
        return cli_nodes_push(l, field[0], alen, w, path, lineno);
    if (nf == 2) {
        char ws[16];
        if (flen[1] >= sizeof ws || (memcpy(ws, field[1], flen[1]), ws[flen[1]] = '\0',
                                     cli_parse_weight(ws, &w) != 0))
            return cli_fail("%s:%zu: bad weight '%.*s' (want NAME [WEIGHT], WEIGHT "
                            "0..4294967295, or HOST:PORT:WEIGHT [NAME])",
                            path, lineno, (int)flen[1], field[1]);
    }
    return cli_nodes_push(l, field[0], flen[0], w, path, lineno);
}

int cli_nodes_load_file(cli_nodes *l, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL)
        return cli_fail("cannot read nodes file '%s': %s", path, strerror(errno));
    char *line = malloc(CLI_NODES_LINE_MAX + 1);
    size_t lineno = 0, total = 0, n;
    int rc = 0, r;
    if (line == NULL)
        rc = cli_fail("out of memory");
    errno = 0;
    while (rc == 0 && (r = cli_read_line(f, line, CLI_NODES_LINE_MAX + 1, &n)) != 0) {
        lineno++;
        total += n + 1;
        if (r == -1)
            rc = cli_fail("cannot read nodes file '%s': %s", path,
                          strerror(errno != 0 ? errno : EIO));
        else if (r == -2)
            rc = cli_fail("%s:%zu: line longer than %d bytes", path, lineno, CLI_NODES_LINE_MAX);
        else if (total > CLI_NODES_FILE_MAX)
            rc = cli_fail("nodes file '%s' is larger than %d bytes", path, CLI_NODES_FILE_MAX);
        else
            rc = cli_nodes_line(l, line, n, path, lineno);
    }
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

void cli_print_percent32(FILE *f, uint64_t count)
{
    const uint64_t one = UINT64_C(1) << 32, mask = one - 1;
    if (count > one)
        count = one;
    /* 100 * count / 2^32 rounded half to even at 4 decimals, in integers:
     * 10^6 * count < 2^52. */
    uint64_t scaled = count * 1000000u, q = scaled >> 32, rem = scaled & mask;
    if (rem > one / 2 || (rem == one / 2 && (q & 1u) != 0))
        q++;
    fprintf(f, "%llu.%04llu%%", (unsigned long long)(q / 10000u),
            (unsigned long long)(q % 10000u));
}

void cli_text(FILE *f, const void *s, size_t len)
{
    const unsigned char *u = s;
    for (size_t i = 0; i < len;) {
        /* a run of printable ASCII in one write */
        size_t j = i;
        while (j < len && u[j] >= 0x20 && u[j] < 0x7f && u[j] != '\\')
            j++;
        if (j > i) {
            fwrite(u + i, 1, j - i, f);
            i = j;
            continue;
        }
        unsigned char c = u[i];
        if (c == '\\') {
            fputs("\\\\", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c >= 0x20 && c < 0x7f) {
            fputc(c, f);
        } else if (c >= 0x80) {
            size_t n = cli_utf8_len(u + i, len - i);
            /* C1 controls (U+0080..U+009F: 0xc2 0x80..0x9f) are terminal
             * commands too */
            if (n > 0 && !(c == 0xc2 && u[i + 1] < 0xa0)) {
                fwrite(u + i, 1, n, f);
                i += n;
                continue;
            }
            fprintf(f, "\\x%02x", c);
        } else {
            fprintf(f, "\\x%02x", c);
        }
        i++;
    }
}

void cli_json_stat_value(FILE *f, const char *s, size_t len)
{
    /* a JSON number: 0 or digits without a leading zero */
    if (cli_is_digits(s, len) && (s[0] != '0' || len == 1))
        fwrite(s, 1, len, f);
    else
        cli_json_string(f, s, len);
}

int cli_wants_help(int argc, char **argv, const char *text)
{
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(text, stdout);
        return 1;
    }
    return 0;
}
