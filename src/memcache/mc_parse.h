/* mc_parse.h - parser of memcached text-protocol replies (internal).
 *
 * A pure function over a byte buffer: no I/O, no allocation, no global
 * state.  It is the unit a fuzzer targets: feed it any bytes. */
#ifndef HR_MC_PARSE_H
#define HR_MC_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Longest reply line accepted (a VALUE header with a 250-byte key is about
 * 300 bytes; STAT and VERSION lines are short). */
#define HR_MC_MAX_LINE 4096

/* The largest item memcached stores (its -I option goes up to 1 GiB): a
 * VALUE above the client's maximum but not above this is skipped, larger
 * announcements are malformed. */
#define HR_MC_MAX_ITEM ((size_t)1 << 30)

typedef enum hr_mc_kind {
    HR_MC_VALUE = 1,    /* VALUE key flags bytes [cas] + data block */
    HR_MC_END,          /* END */
    HR_MC_STORED,       /* STORED */
    HR_MC_NOT_STORED,   /* NOT_STORED */
    HR_MC_EXISTS,       /* EXISTS */
    HR_MC_NOT_FOUND,    /* NOT_FOUND */
    HR_MC_DELETED,      /* DELETED */
    HR_MC_TOUCHED,      /* TOUCHED */
    HR_MC_OK,           /* OK */
    HR_MC_NUMBER,       /* decimal number (incr/decr), trailing spaces allowed */
    HR_MC_VERSION,      /* VERSION text */
    HR_MC_STAT,         /* STAT name value */
    HR_MC_ERROR,        /* ERROR [text] */
    HR_MC_CLIENT_ERROR, /* CLIENT_ERROR text */
    HR_MC_SERVER_ERROR, /* SERVER_ERROR text */
    HR_MC_VALUE_BIG     /* a VALUE line announcing more than max_value bytes
                         * (at most HR_MC_MAX_ITEM): only the line is
                         * consumed; the caller skips data_len bytes of
                         * data and then CRLF */
} hr_mc_kind;

typedef struct hr_mc_reply {
    hr_mc_kind kind;
    /* VALUE, VALUE_BIG: the key; STAT: the name. */
    const unsigned char *key;
    size_t key_len;
    /* VALUE: the data block; STAT: the value; VERSION: the version;
     * ERROR, CLIENT_ERROR, SERVER_ERROR: the message (may be empty);
     * VALUE_BIG: data NULL, data_len the announced length. */
    const unsigned char *data;
    size_t data_len;
    uint32_t flags;  /* VALUE, VALUE_BIG */
    uint64_t cas;    /* VALUE, VALUE_BIG with a cas field */
    int has_cas;     /* VALUE, VALUE_BIG: 1 if the cas field was present */
    uint64_t number; /* NUMBER */
    /* When the return is 0 (incomplete): the total number of bytes the
     * reply needs from buf[0] if the header already tells (a VALUE whose
     * header line is complete), else 0. */
    size_t need;
} hr_mc_reply;

/* Parses the reply that starts at buf[0] (len bytes available).
 * Returns 1: one complete reply, described in *out (pointers into buf),
 *            *consumed = its length in bytes (header, data and both CRLFs);
 *         0: incomplete - more bytes are needed (out->need as above);
 *            A VALUE announcing more than max_value bytes (but at most
 *            HR_MC_MAX_ITEM) is the reply VALUE_BIG as soon as its line is
 *            complete, *consumed covering only the line.
 *         HASH_RING_EPROTO: not a valid reply: unknown keyword, bad number,
 *            bad key, a line over HR_MC_MAX_LINE bytes or not ending in
 *            CRLF, a data block not followed by CRLF, or a VALUE announcing
 *            more than HR_MC_MAX_ITEM bytes (refused from the line alone).
 * Never reads buf beyond len.  buf may be NULL when len is 0. */
int hr_mc_parse_reply(const unsigned char *buf, size_t len, size_t max_value, hr_mc_reply *out,
                      size_t *consumed);

/* 1 if key (key_len bytes) is a valid memcached text-protocol key:
 * 1..250 bytes, none <= 0x20 or == 0x7f.  Else 0. */
int hr_mc_key_valid(const void *key, size_t key_len);

#endif
