/* mc_status.c - the client's status strings. */
#include "hash_ring_memcache.h"

const char *hash_ring_mc_strerror(int status)
{
    switch (status) {
    case HASH_RING_ENOTSTORED: return "memcached: item not stored";
    case HASH_RING_ECASEXISTS: return "memcached: item modified since it was read (cas)";
    case HASH_RING_EMISS: return "memcached: item not found";
    case HASH_RING_ESERVER: return "memcached: server reported an error";
    case HASH_RING_ETIMEDOUT: return "timed out";
    case HASH_RING_EIO: return "connection failed or closed";
    case HASH_RING_EPROTO: return "malformed reply from server";
    case HASH_RING_ENOSERVER: return "no live server for the key";
    case HASH_RING_ETOOBIG: return "value larger than the client's maximum value size";
    default: return hash_ring_strerror(status);
    }
}
