/* peer_common.h - helpers shared by the C peer tests (tests/peers).
 *
 * Nothing here computes an expected placement: these helpers generate keys,
 * read the committed shared-point INPUTS, and compute raw ketama points
 * with libcrypto's MD5 so that a test can FIND keys in a given arc.  Which
 * node owns such a key is always asked of the real peer. */
#ifndef HR_PEER_COMMON_H
#define HR_PEER_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Writes test key number i into buf (at least 80 bytes) and returns its
 * length.  Keys mix short counters, printable noise, high bytes (UTF-8 and
 * invalid UTF-8) and long structured keys; never a space, control byte or
 * NUL, so every peer (memcached text protocol included) takes them whole. */
size_t pc_key(uint64_t i, char *buf);

/* Position of a key: the first four MD5 bytes little-endian. */
uint32_t pc_position(const void *key, size_t len);

/* The p points of digest md5(name + "-" + j) (p = 3 or 4). */
void pc_points(const char *name, size_t len, unsigned j, unsigned p, uint32_t *out);

/* Number of keys per configuration: HR_PEER_KEYS from the environment or
 * the given default. */
size_t pc_nkeys(size_t dflt);

/* One line of shared_points.tsv. */
typedef struct pc_pair {
    char family[8]; /* "x4", "x3", "t" */
    uint32_t point;
    char a[64], b[64];
    char hit[32]; /* a key hashing exactly onto point, or "" */
} pc_pair;

/* Reads HR_PEERS_DIR/shared_points.tsv; returns the count (asserts). */
size_t pc_read_pairs(pc_pair **out);

#endif
