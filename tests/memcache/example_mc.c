/* example_mc.c - the README's C example: the seed's mc.set('hello', 'world')
 * round trip, on three memcached servers placed with the Python ring.
 *
 *   example_mc [SERVER SERVER SERVER]    (default 127.0.0.1:11211..11213) */
#include <stdio.h>
#include <string.h>

#include "hash_ring_memcache.h"

int main(int argc, char **argv)
{
    const char *servers[3] = {"127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.1:11213"};
    hash_ring_mc_t *mc;
    int rc = hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON);
    if (rc != HASH_RING_OK) {
        fprintf(stderr, "example_mc: %s\n", hash_ring_mc_strerror(rc));
        return 1;
    }
    for (int i = 0; i < 3 && rc == HASH_RING_OK; i++) {
        const char *s = i + 1 < argc ? argv[i + 1] : servers[i];
        rc = hash_ring_mc_add_server(mc, s, strlen(s), 1);
    }

    const void *value;
    size_t len;
    if (rc == HASH_RING_OK)
        rc = hash_ring_mc_set(mc, "hello", 5, "world", 5, 0 /* flags */, 0 /* ttl */);
    if (rc == HASH_RING_OK)
        rc = hash_ring_mc_get(mc, "hello", 5, &value, &len, NULL);
    if (rc != HASH_RING_OK) {
        /* what failed, and why (never empty after a failure) */
        fprintf(stderr, "example_mc: %s\n", hash_ring_mc_last_error(mc));
        hash_ring_mc_destroy(mc);
        return 1;
    }
    printf("%.*s\n", (int)len, (const char *)value); /* world */

    const char *server;
    if (hash_ring_get_node(hash_ring_mc_ring(mc), "hello", 5, &server, NULL) == HASH_RING_OK)
        printf("'hello' lives on %s\n", server);
    hash_ring_mc_destroy(mc);
    return 0;
}
