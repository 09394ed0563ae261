/* mc_parse.c - parser of memcached text-protocol replies.
 *
 * Every reply is a line ending in CRLF; a VALUE line is followed by a data
 * block of the announced length and a CRLF.  Lengths are checked before any
 * byte is looked at, and nothing beyond len is ever read. */
#include "memcache/mc_parse.h"

#include <string.h>

#include "hash_ring.h"

int hr_mc_key_valid(const void *key, size_t key_len)
{
    const unsigned char *k = key;
    if (k == NULL || key_len == 0 || key_len > 250)
        return 0;
    for (size_t i = 0; i < key_len; i++)
        if (k[i] <= 0x20 || k[i] == 0x7f)
            return 0;
    return 1;
}

/* Parses all of s[0..n) as a decimal number <= max; no sign, no spaces. */
static int mc_parse_u64(const unsigned char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Does the line (n bytes) equal the word, or start with "word "? */
static int mc_word(const unsigned char *line, size_t n, const char *word, size_t *rest)
{
    size_t w = strlen(word);
    if (n < w || memcmp(line, word, w) != 0)
        return 0;
    if (n == w) {
        *rest = n;
        return 1;
    }
    if (line[w] == ' ') {
        *rest = w + 1;
        return 1;
    }
    return 0;
}

/* Next space-separated token of line[*pos..n); single spaces only. */
static int mc_token(const unsigned char *line, size_t n, size_t *pos, const unsigned char **tok,
                    size_t *tok_len)
{
    size_t p = *pos;
    if (p >= n)
        return 0;
    size_t start = p;
    while (p < n && line[p] != ' ')
        p++;
    if (p == start)
        return 0; /* empty token: double space or trailing space */
    *tok = line + start;
    *tok_len = p - start;
    if (p < n)
        p++; /* the separating space */
    if (p == n && line[n - 1] == ' ')
        return 0; /* trailing space */
    *pos = p;
    return 1;
}

static int mc_parse_value(const unsigned char *buf, size_t len, size_t line_len, size_t pos,
                          size_t max_value, hr_mc_reply *out, size_t *consumed)
{
    const unsigned char *key, *fl, *by, *ca = NULL;
    size_t key_len, fl_len, by_len, ca_len = 0;
    uint64_t flags, bytes, cas = 0;
    if (!mc_token(buf, line_len, &pos, &key, &key_len) ||
        !mc_token(buf, line_len, &pos, &fl, &fl_len) ||
        !mc_token(buf, line_len, &pos, &by, &by_len))
        return HASH_RING_EPROTO;
    if (pos < line_len && !mc_token(buf, line_len, &pos, &ca, &ca_len))
        return HASH_RING_EPROTO;
    if (pos != line_len)
        return HASH_RING_EPROTO; /* more fields than VALUE has */
    if (!hr_mc_key_valid(key, key_len) || mc_parse_u64(fl, fl_len, UINT32_MAX, &flags) != 0 ||
        mc_parse_u64(by, by_len, UINT64_MAX, &bytes) != 0 ||
        (ca != NULL && mc_parse_u64(ca, ca_len, UINT64_MAX, &cas) != 0))
        return HASH_RING_EPROTO;
    if (bytes > max_value)
        return HASH_RING_EPROTO;
    size_t header = line_len + 2;
    /* max_value is far below SIZE_MAX - header - 2 in practice; check anyway. */
    if ((size_t)bytes > SIZE_MAX - header - 2)
        return HASH_RING_EPROTO;
    size_t total = header + (size_t)bytes + 2;
    if (len < total) {
        out->need = total;
        return 0;
    }
    if (buf[total - 2] != '\r' || buf[total - 1] != '\n')
        return HASH_RING_EPROTO;
    out->kind = HR_MC_VALUE;
    out->key = key;
    out->key_len = key_len;
    out->data = buf + header;
    out->data_len = (size_t)bytes;
    out->flags = (uint32_t)flags;
    out->cas = cas;
    out->has_cas = ca != NULL;
    *consumed = total;
    return 1;
}

int hr_mc_parse_reply(const unsigned char *buf, size_t len, size_t max_value, hr_mc_reply *out,
                      size_t *consumed)
{
    static const struct {
        const char *word;
        hr_mc_kind kind;
    } simple[] = {
        {"END", HR_MC_END},           {"STORED", HR_MC_STORED},   {"NOT_STORED", HR_MC_NOT_STORED},
        {"EXISTS", HR_MC_EXISTS},     {"NOT_FOUND", HR_MC_NOT_FOUND},
        {"DELETED", HR_MC_DELETED},   {"TOUCHED", HR_MC_TOUCHED}, {"OK", HR_MC_OK},
    };
    memset(out, 0, sizeof *out);
    if (len == 0 || buf == NULL)
        return 0;
    size_t scan = len < HR_MC_MAX_LINE ? len : HR_MC_MAX_LINE;
    const unsigned char *nl = memchr(buf, '\n', scan);
    if (nl == NULL)
        return len >= HR_MC_MAX_LINE ? HASH_RING_EPROTO : 0;
    size_t nl_pos = (size_t)(nl - buf);
    if (nl_pos == 0 || buf[nl_pos - 1] != '\r')
        return HASH_RING_EPROTO;
    size_t n = nl_pos - 1; /* line length without CRLF */
    const unsigned char *line = buf;
    if (memchr(line, '\r', n) != NULL || (n > 0 && memchr(line, '\0', n) != NULL))
        return HASH_RING_EPROTO;
    size_t rest;

    if (mc_word(line, n, "VALUE", &rest))
        return rest == n ? HASH_RING_EPROTO
                         : mc_parse_value(buf, len, n, rest, max_value, out, consumed);
    for (size_t i = 0; i < sizeof simple / sizeof *simple; i++) {
        if (n == strlen(simple[i].word) && memcmp(line, simple[i].word, n) == 0) {
            out->kind = simple[i].kind;
            *consumed = n + 2;
            return 1;
        }
    }
    if (mc_word(line, n, "STAT", &rest)) {
        const unsigned char *name;
        size_t name_len, pos = rest;
        if (rest == n || !mc_token(line, n, &pos, &name, &name_len)) {
            /* A trailing space after the name (empty value) is allowed. */
            size_t sp = rest;
            while (sp < n && line[sp] != ' ')
                sp++;
            if (sp == rest || sp + 1 != n)
                return HASH_RING_EPROTO;
            name = line + rest;
            name_len = sp - rest;
            pos = n;
        }
        out->kind = HR_MC_STAT;
        out->key = name;
        out->key_len = name_len;
        out->data = line + pos;
        out->data_len = n - pos;
        *consumed = n + 2;
        return 1;
    }
    static const struct {
        const char *word;
        hr_mc_kind kind;
    } texted[] = {
        {"VERSION", HR_MC_VERSION},
        {"ERROR", HR_MC_ERROR},
        {"CLIENT_ERROR", HR_MC_CLIENT_ERROR},
        {"SERVER_ERROR", HR_MC_SERVER_ERROR},
    };
    for (size_t i = 0; i < sizeof texted / sizeof *texted; i++) {
        if (mc_word(line, n, texted[i].word, &rest)) {
            out->kind = texted[i].kind;
            out->data = line + rest;
            out->data_len = n - rest;
            *consumed = n + 2;
            return 1;
        }
    }
    /* incr/decr: digits, then (old servers) padding spaces. */
    size_t digits = 0;
    while (digits < n && line[digits] >= '0' && line[digits] <= '9')
        digits++;
    if (digits > 0) {
        for (size_t i = digits; i < n; i++)
            if (line[i] != ' ')
                return HASH_RING_EPROTO;
        if (mc_parse_u64(line, digits, UINT64_MAX, &out->number) != 0)
            return HASH_RING_EPROTO;
        out->kind = HR_MC_NUMBER;
        *consumed = n + 2;
        return 1;
    }
    return HASH_RING_EPROTO;
}
