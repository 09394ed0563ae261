/* status.c - status strings and the run-time version. */
#include "hash_ring.h"

const char *hash_ring_strerror(int status)
{
    switch (status) {
    case HASH_RING_OK: return "success";
    case HASH_RING_EINVAL: return "invalid argument";
    case HASH_RING_ENOMEM: return "out of memory";
    case HASH_RING_EEXIST: return "node already in the ring";
    case HASH_RING_ENOTFOUND: return "no such node";
    case HASH_RING_EEMPTY: return "the ring has no points (no nodes, or all weights 0)";
    case HASH_RING_ECRYPTO: return "libcrypto could not provide MD5";
    default: return "unknown error";
    }
}

unsigned hash_ring_version(void)
{
    return HASH_RING_VERSION_NUMBER;
}

const char *hash_ring_version_string(void)
{
    return HASH_RING_VERSION_STRING;
}
