/* peer_common.c - key generation, raw MD5 points, shared-point inputs. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "peer_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/md5.h>

#include "testutil.h"

#ifndef HR_PEERS_DIR
#error "HR_PEERS_DIR must be defined"
#endif

size_t pc_key(uint64_t i, char *buf)
{
    uint64_t s = i * 0x9E3779B97F4A7C15ull + 0x1234567ull;
    if (s == 0)
        s = 1;
    size_t n = 0;
    switch (i % 4) {
    case 0:
        return (size_t)snprintf(buf, 80, "key%llu", (unsigned long long)i);
    case 1: { /* printable ASCII, 1..60 bytes */
        size_t len = 1 + (size_t)(tu_rand(&s) % 60);
        for (n = 0; n < len; n++)
            buf[n] = (char)(0x21 + tu_rand(&s) % 94);
        break;
    }
    case 2: { /* bytes 0x21..0xff: UTF-8 and invalid sequences alike */
        size_t len = 1 + (size_t)(tu_rand(&s) % 40);
        for (n = 0; n < len; n++)
            buf[n] = (char)(unsigned char)(0x21 + tu_rand(&s) % 223);
        break;
    }
    default:
        return (size_t)snprintf(buf, 80, "user:%016llx:session:%llu",
                                (unsigned long long)tu_rand(&s), (unsigned long long)i);
    }
    buf[n] = '\0';
    return n;
}

/* libcrypto's one-shot MD5(): the cheapest call per key (the searches for
 * exact hits hash millions of short keys, also under valgrind). */
static void pc_md5(const void *p, size_t len, unsigned char d[16])
{
    if (MD5(p, len, d) == NULL)
        fail_msg("MD5() failed");
}

static uint32_t pc_u32le(const unsigned char *d)
{
    return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

uint32_t pc_position(const void *key, size_t len)
{
    unsigned char d[16];
    pc_md5(key, len, d);
    return pc_u32le(d);
}

void pc_points(const char *name, size_t len, unsigned j, unsigned p, uint32_t *out)
{
    char *buf = malloc(len + 16);
    assert_non_null(buf);
    memcpy(buf, name, len);
    int k = snprintf(buf + len, 16, "-%u", j);
    unsigned char d[16];
    pc_md5(buf, len + (size_t)k, d);
    free(buf);
    for (unsigned i = 0; i < p; i++)
        out[i] = pc_u32le(d + 4 * i);
}

size_t pc_nkeys(size_t dflt)
{
    const char *e = getenv("HR_PEER_KEYS");
    if (e == NULL || *e == '\0')
        return dflt;
    char *end;
    unsigned long long v = strtoull(e, &end, 10);
    return (*end == '\0' && v > 0) ? (size_t)v : dflt;
}

size_t pc_read_pairs(pc_pair **out)
{
    tu_tsv t;
    assert_int_equal(tu_tsv_read(HR_PEERS_DIR "/shared_points.tsv", &t), 0);
    pc_pair *v = calloc(t.nlines + 1, sizeof *v);
    assert_non_null(v);
    size_t n = 0;
    for (size_t i = 0; i < t.nlines; i++) {
        if (t.nfields[i] < 5)
            continue;
        pc_pair *p = &v[n++];
        snprintf(p->family, sizeof p->family, "%s", t.fields[i][0]);
        p->point = (uint32_t)strtoul(t.fields[i][1], NULL, 10);
        snprintf(p->a, sizeof p->a, "%s", t.fields[i][2]);
        snprintf(p->b, sizeof p->b, "%s", t.fields[i][3]);
        if (strcmp(t.fields[i][4], "-") != 0)
            snprintf(p->hit, sizeof p->hit, "%s", t.fields[i][4]);
        /* The inputs must be what they claim: both names produce the point
         * (some j < 40), and the hit key hashes exactly onto it. */
        unsigned found = 0;
        const char *nm[2] = {p->a, p->b};
        unsigned ppd = strcmp(p->family, "x3") == 0 ? 3 : 4;
        for (int s = 0; s < 2; s++) {
            const char *h = nm[s];
            size_t hl = strlen(h);
            for (unsigned j = 0; j < 40; j++) {
                uint32_t pts[4];
                pc_points(h, hl, j, ppd, pts);
                for (unsigned k = 0; k < ppd; k++)
                    if (pts[k] == p->point)
                        found |= 1u << s;
            }
        }
        assert_int_equal(found, 3u);
        if (p->hit[0] != '\0')
            assert_int_equal(pc_position(p->hit, strlen(p->hit)), p->point);
    }
    tu_tsv_free(&t);
    *out = v;
    return n;
}
