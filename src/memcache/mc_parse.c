/* mc_parse.c - parser of memcached text-protocol replies.
 *
 * Every reply is a line ending in CRLF; a VALUE line is followed by a data
 * block of the announced length and a CRLF.  Lengths are checked before any
 * byte is looked at, and nothing beyond len is ever read. */
#include "mc_parse.h"

#include <string.h>

#include "hash_ring_memcache.h"

/* Nonzero if any byte of the 8 in x is <= 0x20 or == 0x7f.  Word-at-a-time
 * tests (exact as booleans): (x - 0x21..) & ~x & 0x80.. flags a byte below
 * 0x21 (bytes >= 0x80 are never flagged), the same on x ^ 0x7f.. flags a
 * byte equal to 0x7f.  Keys are checked on every request and every VALUE
 * line: about half the instructions of a byte loop for 8-40 byte keys. */
static uint64_t mc_word_bad(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t y = x ^ (0x7f * ones);
    return (((x - 0x21 * ones) & ~x) | ((y - ones) & ~y)) & high;
}

int hr_mc_key_valid(const void *key, size_t key_len)
{
    const unsigned char *k = key;
    if (k == NULL || key_len == 0 || key_len > 250)
        return 0;
    uint64_t bad = 0, w;
    if (key_len < 8) {
        for (size_t i = 0; i < key_len; i++)
            bad |= (uint64_t)(k[i] <= 0x20) | (uint64_t)(k[i] == 0x7f);
        return bad == 0;
    }
    for (size_t i = 0; i + 8 < key_len; i += 8) {
        memcpy(&w, k + i, 8);
        bad |= mc_word_bad(w);
    }
    memcpy(&w, k + key_len - 8, 8); /* the last 8 bytes (may overlap) */
    bad |= mc_word_bad(w);
    return bad == 0;
}

/* Parses all of s[0..n) as a decimal number <= max; no sign, no spaces.
 * Up to 19 digits cannot overflow 64 bits, so only a 20th digit needs an
 * overflow check (one division per number at most, not one per digit); a
 * number only grows with each digit, so comparing the end value with max
 * is the same as checking every step. */
static int mc_parse_u64(const unsigned char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20)
        return -1;
    size_t fast = n < 19 ? n : 19;
    for (size_t i = 0; i < fast; i++) {
        unsigned d = (unsigned)s[i] - '0';
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    if (n == 20) {
        unsigned d = (unsigned)s[19] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* The decimal field at line[*pos..n): its digits run up to a space or the
 * end of the line.  Parses it as mc_parse_u64 would the token, moving *pos
 * to the space or the end.  Any other byte in it (or an empty field) is an
 * error.  One pass over the bytes instead of mc_token + mc_parse_u64. */
static int mc_field_u64(const unsigned char *line, size_t n, size_t *pos, uint64_t max,
                        uint64_t *out)
{
    size_t p = *pos;
    uint64_t v = 0; /* wraps past 19 digits: then mc_parse_u64 decides */
    unsigned d;
    while (p < n && (d = (unsigned)line[p] - '0') <= 9) {
        v = v * 10 + d;
        p++;
    }
    if (p < n && line[p] != ' ')
        return -1;
    size_t len = p - *pos;
    if (len == 0 || len > 20)
        return -1;
    if (len == 20) {
        if (mc_parse_u64(line + *pos, len, max, &v) != 0)
            return -1;
    } else if (v > max) {
        return -1;
    }
    *out = v;
    *pos = p;
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

/* The VALUE line "VALUE <key> <flags> <bytes>[ <cas>]" (line_len bytes
 * without CRLF, fields from pos): single spaces between the fields, none
 * trailing.  The hot path of every get: parsed in one pass. */
static int mc_parse_value(const unsigned char *buf, size_t len, size_t line_len, size_t pos,
                          size_t max_value, hr_mc_reply *out, size_t *consumed)
{
    const unsigned char *line = buf;
    uint64_t flags, bytes, cas = 0;
    int has_cas = 0;
    size_t p = pos;
    while (p < line_len && line[p] != ' ')
        p++;
    const unsigned char *key = line + pos;
    size_t key_len = p - pos;
    /* key, space, flags, space, bytes: each number field is non-empty (so
     * a double or trailing space fails), and ends at a space or the end. */
    if (key_len == 0 || p == line_len)
        return HASH_RING_EPROTO;
    p++;
    if (mc_field_u64(line, line_len, &p, UINT32_MAX, &flags) != 0 || p == line_len)
        return HASH_RING_EPROTO;
    p++;
    if (mc_field_u64(line, line_len, &p, UINT64_MAX, &bytes) != 0)
        return HASH_RING_EPROTO;
    if (p < line_len) {
        p++;
        if (mc_field_u64(line, line_len, &p, UINT64_MAX, &cas) != 0 || p != line_len)
            return HASH_RING_EPROTO; /* bad cas, trailing space or a fifth field */
        has_cas = 1;
    }
    if (!hr_mc_key_valid(key, key_len))
        return HASH_RING_EPROTO;
    if (bytes > max_value) {
        /* Larger than this client takes, but maybe stored by another
         * client with a higher limit: the caller skips the data. */
        if (bytes > HR_MC_MAX_ITEM)
            return HASH_RING_EPROTO;
        out->kind = HR_MC_VALUE_BIG;
        out->key = key;
        out->key_len = key_len;
        out->data_len = (size_t)bytes;
        out->flags = (uint32_t)flags;
        out->cas = cas;
        out->has_cas = has_cas;
        *consumed = line_len + 2;
        return 1;
    }
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
    out->has_cas = has_cas;
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
