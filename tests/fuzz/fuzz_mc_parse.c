/* fuzz_mc_parse.c - fuzz target: the memcached reply parser
 * (hr_mc_parse_reply, src/memcache/mc_parse.h) over arbitrary server bytes.
 *
 * Input: byte 0 selects max_value (low 3 bits, table below); the rest is
 * the byte stream a server sends.
 *
 * Checks, on every call to the parser:
 *   - the status is 1, 0 or HASH_RING_EPROTO;
 *   - 1: *consumed is in 3..len and the reply ends in CRLF; the kind is a
 *     known one; key and data lie inside the consumed bytes; a VALUE's
 *     data_len <= max_value, its data block is followed by CRLF and its key
 *     is a valid key; a VALUE_BIG is one line with a valid key, no data and
 *     a data_len in max_value+1..HR_MC_MAX_ITEM; a text line holds no CR,
 *     LF or NUL;
 *   - 0: out->need is 0 or more than len;
 *   - every output field equals the one of an independent reference parser
 *     written here from mc_parse.h and the memcached protocol (words split
 *     on single spaces, numbers compared as decimal strings).
 * Checks on the stream: the parser is called as a client would (loop while
 * it returns 1, advancing by *consumed, and past a VALUE_BIG's data block
 * and its CRLF, which must be there; stop at 0 or at an error) on the
 * whole stream, then on the stream delivered in two pieces split at every
 * position (the unconsumed bytes of the first piece kept): the sequence of
 * replies, their offsets, and the final state must be the same for every
 * split.  Splitting at every position means every prefix of every reply
 * is parsed: a reply is reported exactly when its last byte has arrived,
 * never earlier or later, and an error never turns into a reply.  When the
 * stream ends inside a VALUE whose header tells the size (need != 0), the
 * reply is completed to exactly `need` bytes and must then parse.
 *
 * Every call gets a heap buffer ending exactly at the len passed (a copy of
 * the bytes received so far), so AddressSanitizer catches any read past
 * len. */
#include "fuzz_target.h"

#include "hash_ring_memcache.h"
#include "mc_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_MAX_REPLIES 4096

static const size_t fz_max_values[8] = {0, 1, 2, 7, 100, 4096, (size_t)1 << 20, SIZE_MAX};

static _Noreturn void fz_report(const char *file, int line, const char *what, size_t split,
                                size_t offset)
{
    char msg[400];
    if (split == SIZE_MAX)
        snprintf(msg, sizeof msg, "%s (whole stream, reply at offset %zu)", what, offset);
    else
        snprintf(msg, sizeof msg, "%s (stream split at %zu, reply at offset %zu)", what, split,
                 offset);
    fz_fail(file, line, msg);
}

#define FZ_CHECK(c, split, off)                                                           \
    do {                                                                                  \
        if (!(c))                                                                         \
            fz_report(__FILE__, __LINE__, #c, (split), (off));                           \
    } while (0)

/* ---- the reference parser ------------------------------------------------ */

typedef struct ref_reply {
    int rc;
    hr_mc_kind kind;
    size_t key_off, key_len; /* offsets from the reply's first byte */
    size_t data_off, data_len;
    uint32_t flags;
    uint64_t cas;
    int has_cas;
    uint64_t number;
    size_t need;
    size_t consumed;
} ref_reply;

/* Is s[0..n) a decimal number (digits only, at most 20 of them) <= max,
 * where max is given as its decimal string?  Compared as strings: strip
 * the leading zeros, then a shorter string is smaller, equal lengths
 * compare bytewise. */
static int ref_number(const unsigned char *s, size_t n, const char *max, uint64_t *out)
{
    if (n == 0 || n > 20)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    size_t z = 0;
    while (z + 1 < n && s[z] == '0')
        z++;
    size_t sig = n - z, mlen = strlen(max);
    if (sig > mlen || (sig == mlen && memcmp(s + z, max, mlen) > 0))
        return 0;
    uint64_t v = 0;
    for (size_t i = z; i < n; i++)
        v = v * 10u + (uint64_t)(s[i] - '0');
    *out = v;
    return 1;
}

static int ref_is(const unsigned char *w, size_t wl, const char *word)
{
    return wl == strlen(word) && memcmp(w, word, wl) == 0;
}

/* The reply at buf[0..len) as mc_parse.h and the protocol describe it. */
static void ref_parse(const unsigned char *buf, size_t len, size_t max_value, ref_reply *r)
{
    memset(r, 0, sizeof *r);
    r->rc = HASH_RING_EPROTO;
    /* The line, CRLF included, is at most HR_MC_MAX_LINE bytes. */
    size_t nl = 0;
    while (nl < len && nl < HR_MC_MAX_LINE && buf[nl] != '\n')
        nl++;
    if (nl == len || nl == HR_MC_MAX_LINE) {
        if (len < HR_MC_MAX_LINE)
            r->rc = 0;
        return;
    }
    if (nl == 0 || buf[nl - 1] != '\r')
        return;
    size_t n = nl - 1;
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\r' || buf[i] == '\0')
            return;
    /* Words separated by single spaces (empty words kept). */
    enum { MAXW = 7 };
    size_t ws[MAXW], wl[MAXW], nw = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || buf[i] == ' ') {
            if (nw < MAXW) {
                ws[nw] = start;
                wl[nw] = i - start;
            }
            nw++;
            start = i + 1;
        }
    }
    const unsigned char *w0 = buf;
    size_t l0 = wl[0];

    if (ref_is(w0, l0, "VALUE")) {
        if (nw != 4 && nw != 5)
            return;
        for (size_t k = 1; k < nw; k++)
            if (wl[k] == 0)
                return;
        const unsigned char *key = buf + ws[1];
        if (wl[1] > 250)
            return;
        for (size_t k = 0; k < wl[1]; k++)
            if (key[k] <= ' ' || key[k] == 0x7f)
                return;
        uint64_t flags, bytes, cas = 0;
        if (!ref_number(buf + ws[2], wl[2], "4294967295", &flags) ||
            !ref_number(buf + ws[3], wl[3], "18446744073709551615", &bytes) ||
            (nw == 5 && !ref_number(buf + ws[4], wl[4], "18446744073709551615", &cas)))
            return;
        if (bytes > max_value) {
            /* Too big for the client, not for memcached: the line alone. */
            if (bytes > HR_MC_MAX_ITEM)
                return;
            r->rc = 1;
            r->kind = HR_MC_VALUE_BIG;
            r->key_off = ws[1];
            r->key_len = wl[1];
            r->data_len = (size_t)bytes;
            r->flags = (uint32_t)flags;
            r->cas = cas;
            r->has_cas = nw == 5;
            r->consumed = nl + 1;
            return;
        }
        /* The whole reply: line, CRLF, data, CRLF (beyond SIZE_MAX: refused). */
        if (bytes > SIZE_MAX - 4 - n)
            return;
        size_t total = n + 2 + (size_t)bytes + 2;
        if (len < total) {
            r->rc = 0;
            r->need = total;
            return;
        }
        if (buf[total - 2] != '\r' || buf[total - 1] != '\n')
            return;
        r->rc = 1;
        r->kind = HR_MC_VALUE;
        r->key_off = ws[1];
        r->key_len = wl[1];
        r->data_off = n + 2;
        r->data_len = (size_t)bytes;
        r->flags = (uint32_t)flags;
        r->cas = cas;
        r->has_cas = nw == 5;
        r->consumed = total;
        return;
    }
    static const struct {
        const char *word;
        hr_mc_kind kind;
    } bare[] = {{"END", HR_MC_END},         {"STORED", HR_MC_STORED},
                {"NOT_STORED", HR_MC_NOT_STORED}, {"EXISTS", HR_MC_EXISTS},
                {"NOT_FOUND", HR_MC_NOT_FOUND}, {"DELETED", HR_MC_DELETED},
                {"TOUCHED", HR_MC_TOUCHED}, {"OK", HR_MC_OK}};
    for (size_t k = 0; k < sizeof bare / sizeof *bare; k++) {
        if (nw == 1 && ref_is(w0, l0, bare[k].word)) {
            r->rc = 1;
            r->kind = bare[k].kind;
            r->consumed = nl + 1;
            return;
        }
    }
    if (ref_is(w0, l0, "STAT") && nw >= 2) {
        /* STAT name [value]: the name is the second word (not empty); the
         * value is everything after the single space that follows it. */
        if (wl[1] == 0)
            return;
        r->rc = 1;
        r->kind = HR_MC_STAT;
        r->key_off = ws[1];
        r->key_len = wl[1];
        r->data_off = nw == 2 ? n : ws[2];
        r->data_len = n - r->data_off;
        r->consumed = nl + 1;
        return;
    }
    static const struct {
        const char *word;
        hr_mc_kind kind;
    } texted[] = {{"VERSION", HR_MC_VERSION},
                  {"ERROR", HR_MC_ERROR},
                  {"CLIENT_ERROR", HR_MC_CLIENT_ERROR},
                  {"SERVER_ERROR", HR_MC_SERVER_ERROR}};
    for (size_t k = 0; k < sizeof texted / sizeof *texted; k++) {
        if (ref_is(w0, l0, texted[k].word)) {
            r->rc = 1;
            r->kind = texted[k].kind;
            r->data_off = nw == 1 ? n : l0 + 1;
            r->data_len = n - r->data_off;
            r->consumed = nl + 1;
            return;
        }
    }
    /* incr/decr: a number, then only (empty) words: padding spaces. */
    for (size_t k = 1; k < nw && k < MAXW; k++)
        if (wl[k] != 0)
            return;
    if (nw > MAXW) {
        for (size_t i = l0; i < n; i++)
            if (buf[i] != ' ')
                return;
    }
    if (ref_number(w0, l0, "18446744073709551615", &r->number)) {
        r->rc = 1;
        r->kind = HR_MC_NUMBER;
        r->consumed = nl + 1;
    }
}

/* ---- one call to the parser ---------------------------------------------- */

static int fz_is_text(hr_mc_kind k)
{
    return k == HR_MC_VERSION || k == HR_MC_ERROR || k == HR_MC_CLIENT_ERROR ||
           k == HR_MC_SERVER_ERROR || k == HR_MC_STAT;
}

/* An empty text may point anywhere: recorded as pointing at its line end. */
static ref_reply fz_fix_empty_text(ref_reply r)
{
    if (r.rc == 1 && r.kind != HR_MC_VALUE && r.data_len == 0)
        r.data_off = r.consumed - 2;
    return r;
}

/* Calls the parser on buf[0..len) (the end of buf is the end of the heap
 * block), checks the result against the reference and the structural
 * invariants, and returns it as offsets.  With full == 0 (a complete reply
 * in a split stream, compared afterwards with the whole stream's), only the
 * constant-time bounds checks are made. */
static ref_reply fz_call(const unsigned char *buf, size_t len, size_t max_value, size_t split,
                         size_t at, int full)
{
    hr_mc_reply out;
    size_t consumed = 0xdeadbeef;
    memset(&out, 0x5a, sizeof out);
    int rc = hr_mc_parse_reply(buf, len, max_value, &out, &consumed);
    FZ_CHECK(rc == 1 || rc == 0 || rc == HASH_RING_EPROTO, split, at);
    ref_reply got;
    memset(&got, 0, sizeof got);
    got.rc = rc;
    if (rc == 0) {
        FZ_CHECK(out.need == 0 || out.need > len, split, at);
        got.need = out.need;
    }
    if (rc == 1) {
        FZ_CHECK(consumed >= 3 && consumed <= len, split, at);
        FZ_CHECK(buf[consumed - 2] == '\r' && buf[consumed - 1] == '\n', split, at);
        FZ_CHECK(out.kind >= HR_MC_VALUE && out.kind <= HR_MC_VALUE_BIG, split, at);
        const unsigned char *end = buf + consumed;
        int big = out.kind == HR_MC_VALUE_BIG;
        if (out.kind == HR_MC_VALUE || out.kind == HR_MC_STAT || big) {
            FZ_CHECK(out.key != NULL && out.key >= buf && out.key <= end, split, at);
            FZ_CHECK(out.key_len <= (size_t)(end - out.key), split, at);
            got.key_off = (size_t)(out.key - buf);
            got.key_len = out.key_len;
            FZ_CHECK(out.key_len > 0, split, at);
            FZ_CHECK(memchr(out.key, ' ', out.key_len) == NULL, split, at);
        } else {
            FZ_CHECK(out.key == NULL && out.key_len == 0, split, at);
        }
        if (out.kind == HR_MC_VALUE || fz_is_text(out.kind)) {
            FZ_CHECK(out.data != NULL && out.data >= buf && out.data <= end, split, at);
            FZ_CHECK(out.data_len <= (size_t)(end - out.data), split, at);
            got.data_off = (size_t)(out.data - buf);
            got.data_len = out.data_len;
        } else if (big) {
            FZ_CHECK(out.data == NULL, split, at);
            got.data_len = out.data_len;
        } else {
            FZ_CHECK(out.data == NULL && out.data_len == 0, split, at);
        }
        if (!full) {
            /* A reply of a split stream: compared with the whole stream's,
             * which had every check below. */
            got.kind = out.kind;
            got.number = out.number;
            got.consumed = consumed;
            got.flags = out.flags;
            got.cas = out.cas;
            got.has_cas = out.has_cas;
            return fz_fix_empty_text(got);
        }
        if (out.kind == HR_MC_VALUE) {
            FZ_CHECK(out.data_len <= max_value, split, at);
            FZ_CHECK(hr_mc_key_valid(out.key, out.key_len) == 1, split, at);
            FZ_CHECK(out.has_cas == 0 || out.has_cas == 1, split, at);
            FZ_CHECK(out.has_cas || out.cas == 0, split, at);
            /* header CRLF, data, CRLF: nothing else. */
            FZ_CHECK(got.data_off >= 2 && buf[got.data_off - 2] == '\r' &&
                         buf[got.data_off - 1] == '\n',
                     split, at);
            FZ_CHECK(got.data_off + out.data_len + 2 == consumed, split, at);
            FZ_CHECK(memchr(buf, '\n', got.data_off - 1) == NULL, split, at);
            got.flags = out.flags;
            got.cas = out.cas;
            got.has_cas = out.has_cas;
        } else if (big) {
            /* The VALUE line alone, for a value the client does not take. */
            FZ_CHECK(out.data_len > max_value && out.data_len <= HR_MC_MAX_ITEM, split, at);
            FZ_CHECK(hr_mc_key_valid(out.key, out.key_len) == 1, split, at);
            FZ_CHECK(out.has_cas == 0 || out.has_cas == 1, split, at);
            FZ_CHECK(out.has_cas || out.cas == 0, split, at);
            FZ_CHECK(memchr(buf, '\n', consumed - 1) == NULL, split, at);
            FZ_CHECK(memchr(buf, '\r', consumed - 2) == NULL, split, at);
            FZ_CHECK(memchr(buf, '\0', consumed - 2) == NULL, split, at);
            got.flags = out.flags;
            got.cas = out.cas;
            got.has_cas = out.has_cas;
        } else {
            /* A one-line reply: the line and its CRLF, no other CR, LF, NUL. */
            FZ_CHECK(memchr(buf, '\n', consumed - 1) == NULL, split, at);
            FZ_CHECK(memchr(buf, '\r', consumed - 2) == NULL, split, at);
            FZ_CHECK(memchr(buf, '\0', consumed - 2) == NULL, split, at);
            FZ_CHECK(out.flags == 0 && out.cas == 0 && out.has_cas == 0, split, at);
            if (got.data_len > 0)
                FZ_CHECK(got.data_off + got.data_len == consumed - 2, split, at);
        }
        if (out.kind != HR_MC_NUMBER)
            FZ_CHECK(out.number == 0, split, at);
        FZ_CHECK(out.need == 0, split, at);
        got.kind = out.kind;
        got.number = out.number;
        got.consumed = consumed;
    }
    /* The independent reading of the same bytes. */
    ref_reply want;
    ref_parse(buf, len, max_value, &want);
    FZ_CHECK(got.rc == want.rc, split, at);
    FZ_CHECK(got.need == want.need, split, at);
    FZ_CHECK(got.consumed == want.consumed, split, at);
    FZ_CHECK(got.kind == want.kind, split, at);
    FZ_CHECK(got.key_off == want.key_off && got.key_len == want.key_len, split, at);
    /* An empty text: where it points does not matter. */
    if (want.data_len > 0 || want.kind == HR_MC_VALUE)
        FZ_CHECK(got.data_off == want.data_off, split, at);
    FZ_CHECK(got.data_len == want.data_len, split, at);
    FZ_CHECK(got.flags == want.flags && got.cas == want.cas && got.has_cas == want.has_cas, split,
             at);
    FZ_CHECK(got.number == want.number, split, at);
    return fz_fix_empty_text(got);
}

/* ---- the stream ---------------------------------------------------------- */

typedef struct fz_seq {
    ref_reply r[FZ_MAX_REPLIES];
    size_t off[FZ_MAX_REPLIES];
    size_t n;    /* complete replies */
    int last_rc; /* 0 (waiting for more) or HASH_RING_EPROTO */
    size_t last_off, last_need;
} fz_seq;

static fz_seq fz_ref, fz_cur;

static int fz_same(const ref_reply *a, const ref_reply *b)
{
    return a->rc == b->rc && a->kind == b->kind && a->key_off == b->key_off &&
           a->key_len == b->key_len && a->data_off == b->data_off &&
           a->data_len == b->data_len && a->flags == b->flags && a->cas == b->cas &&
           a->has_cas == b->has_cas && a->number == b->number && a->need == b->need &&
           a->consumed == b->consumed;
}

static unsigned char *fz_copy(const unsigned char *p, size_t n)
{
    if (n == 0)
        return NULL;
    unsigned char *b = malloc(n);
    if (b == NULL)
        abort(); /* the harness ran out of memory: not a finding */
    memcpy(b, p, n);
    return b;
}

/* The client's loop over the bytes received so far, buf[0..len) (an exact
 * heap block), from offset *pos.  Returns 0 when it waits for more bytes,
 * HASH_RING_EPROTO when the connection would be dropped. */
static int fz_drain(const unsigned char *buf, size_t len, size_t *pos, size_t max_value,
                    fz_seq *s, size_t split)
{
    for (;;) {
        const unsigned char *at = buf ? buf + *pos : NULL;
        /* Where it stops (0 or an error), every check is made anyway. */
        ref_reply r = fz_call(at, len - *pos, max_value, split, *pos, split == SIZE_MAX);
        if (r.rc != 1) {
            s->last_rc = r.rc;
            s->last_off = *pos;
            s->last_need = r.need;
            return r.rc;
        }
        size_t next = *pos + r.consumed;
        if (r.kind == HR_MC_VALUE_BIG) {
            /* The client drops the data block, then needs its CRLF: until
             * all of it is here, it waits at this reply. */
            if (len - next < 2 || len - next - 2 < r.data_len) {
                s->last_rc = 0;
                s->last_off = *pos;
                s->last_need = 0;
                return 0;
            }
            next += r.data_len;
            if (buf[next] != '\r' || buf[next + 1] != '\n') {
                s->last_rc = HASH_RING_EPROTO;
                s->last_off = *pos;
                s->last_need = 0;
                return HASH_RING_EPROTO;
            }
            next += 2;
        }
        FZ_CHECK(s->n < FZ_MAX_REPLIES, split, *pos);
        s->r[s->n] = r;
        s->off[s->n] = *pos;
        s->n++;
        *pos = next;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t max_value = fz_max_values[data[0] & 7];
    const unsigned char *stream = data + 1;
    size_t n = size - 1;
    /* At most one reply per 3 bytes: FZ_MAX_REPLIES bounds the input. */
    if (n / 3 >= FZ_MAX_REPLIES)
        return 0;

    unsigned char *whole = fz_copy(stream, n);
    size_t pos = 0;
    fz_ref.n = 0;
    int rc = fz_drain(whole, n, &pos, max_value, &fz_ref, SIZE_MAX);

    /* Ended inside a VALUE of known size: complete it to exactly `need`. */
    if (rc == 0 && fz_ref.last_need != 0) {
        size_t have = n - pos, need = fz_ref.last_need;
        FZ_CHECK(need > have, SIZE_MAX, pos);
        if (need - have <= ((size_t)1 << 21)) {
            unsigned char *ext = malloc(need);
            if (ext == NULL)
                abort();
            if (have > 0)
                memcpy(ext, whole + pos, have);
            memset(ext + have, 'v', need - have);
            if (need - 2 >= have)
                ext[need - 2] = '\r';
            ext[need - 1] = '\n';
            ref_reply r = fz_call(ext, need, max_value, SIZE_MAX, pos, 1);
            FZ_CHECK(r.rc != 0, SIZE_MAX, pos);
            if (need - 2 >= have)
                FZ_CHECK(r.rc == 1 && r.kind == HR_MC_VALUE && r.consumed == need, SIZE_MAX,
                         pos);
            /* One byte short, it still waits, asking for the same. */
            r = fz_call(ext, need - 1, max_value, SIZE_MAX, pos, 1);
            FZ_CHECK(r.rc == 0 && r.need == need, SIZE_MAX, pos);
            free(ext);
        }
    }

    /* Two pieces, split at every position. */
    for (size_t split = 0; split <= n; split++) {
        fz_cur.n = 0;
        size_t p = 0;
        unsigned char *first = fz_copy(stream, split);
        rc = fz_drain(first, split, &p, max_value, &fz_cur, split);
        free(first);
        if (rc == 0) {
            /* A size announced early is the size the whole stream shows:
             * that reply's length, or the same wait at the end. */
            size_t need = fz_cur.last_need;
            if (need != 0) {
                FZ_CHECK(p + need > split, split, p);
                if (p == fz_ref.last_off && fz_ref.last_rc == 0)
                    FZ_CHECK(need == fz_ref.last_need, split, p);
                else if (p != fz_ref.last_off)
                    FZ_CHECK(fz_cur.n < fz_ref.n && fz_ref.r[fz_cur.n].consumed == need, split,
                             p);
            }
            rc = fz_drain(whole, n, &p, max_value, &fz_cur, split);
        }
        FZ_CHECK(fz_cur.n == fz_ref.n, split, p);
        for (size_t i = 0; i < fz_ref.n; i++) {
            FZ_CHECK(fz_cur.off[i] == fz_ref.off[i], split, fz_cur.off[i]);
            FZ_CHECK(fz_same(&fz_cur.r[i], &fz_ref.r[i]), split, fz_cur.off[i]);
        }
        FZ_CHECK(fz_cur.last_rc == fz_ref.last_rc && fz_cur.last_off == fz_ref.last_off &&
                     fz_cur.last_need == fz_ref.last_need,
                 split, fz_cur.last_off);
    }
    free(whole);
    return 0;
}
