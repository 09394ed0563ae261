/* A program that uses an installed libhash_ring_memcache, built by
 * tests/packaging/check_install.py and check_deb.py with pkg-config
 * (hash_ring_memcache, which pulls in hash_ring) and with
 * find_package(hash_ring) (target hash_ring::hash_ring_memcache).  It adds
 * each NODE as a server of a client (no connection is made: servers are
 * only connected by an operation) and prints, for each KEY, "KEY<TAB>NODE"
 * from the client's own ring, so it calls into both libraries.
 *
 *   consumer_mc NODE... -- KEY...
 */
#include <hash_ring.h>
#include <hash_ring_memcache.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    hash_ring_mc_t *mc = NULL;
    const hash_ring_t *ring;
    int i = 1, rc;

    if (hash_ring_version() != HASH_RING_VERSION_NUMBER) {
        fprintf(stderr, "consumer_mc: header %s but library %s\n", HASH_RING_VERSION_STRING,
                hash_ring_version_string());
        return 2;
    }
    /* The client's own codes have their own texts, in its own library. */
    if (strcmp(hash_ring_mc_strerror(HASH_RING_EMISS), hash_ring_mc_strerror(12345)) == 0) {
        fprintf(stderr, "consumer_mc: hash_ring_mc_strerror does not know HASH_RING_EMISS\n");
        return 2;
    }
    rc = hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON);
    if (rc != HASH_RING_OK) {
        fprintf(stderr, "consumer_mc: create: %s\n", hash_ring_mc_strerror(rc));
        return 1;
    }
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        rc = hash_ring_mc_add_server(mc, argv[i], strlen(argv[i]), 1);
        if (rc != HASH_RING_OK) {
            fprintf(stderr, "consumer_mc: add %s: %s\n", argv[i], hash_ring_mc_strerror(rc));
            hash_ring_mc_destroy(mc);
            return 1;
        }
    }
    ring = hash_ring_mc_ring(mc);
    for (i++; i < argc; i++) {
        const char *node = NULL;
        size_t len = 0;
        rc = hash_ring_get_node(ring, argv[i], strlen(argv[i]), &node, &len);
        if (rc != HASH_RING_OK) {
            fprintf(stderr, "consumer_mc: get %s: %s\n", argv[i], hash_ring_mc_strerror(rc));
            hash_ring_mc_destroy(mc);
            return 1;
        }
        printf("%s\t%.*s\n", argv[i], (int)len, node);
    }
    hash_ring_mc_destroy(mc);
    printf("version\t%s\n", HASH_RING_VERSION_STRING);
    return 0;
}
