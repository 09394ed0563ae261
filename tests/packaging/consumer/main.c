/* A program that uses an installed libhash_ring, as a distribution's user
 * would: built by tests/packaging/check_install.py with pkg-config and with
 * find_package(hash_ring).  Prints, for each KEY argument after the node
 * list, "KEY<TAB>NODE".
 *
 *   consumer NODE... -- KEY...
 */
#include <hash_ring.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    hash_ring_t *ring = NULL;
    int i = 1, rc;

    if (hash_ring_version() != HASH_RING_VERSION_NUMBER ||
        strcmp(hash_ring_version_string(), HASH_RING_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: header %s but library %s\n", HASH_RING_VERSION_STRING,
                hash_ring_version_string());
        return 2;
    }
    rc = hash_ring_create(&ring, HASH_RING_DIALECT_PYTHON);
    if (rc != HASH_RING_OK) {
        fprintf(stderr, "consumer: create: %s\n", hash_ring_strerror(rc));
        return 1;
    }
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        rc = hash_ring_add_node(ring, argv[i], strlen(argv[i]), 1);
        if (rc != HASH_RING_OK) {
            fprintf(stderr, "consumer: add %s: %s\n", argv[i], hash_ring_strerror(rc));
            hash_ring_destroy(ring);
            return 1;
        }
    }
    for (i++; i < argc; i++) {
        const char *node = NULL;
        size_t len = 0;
        rc = hash_ring_get_node(ring, argv[i], strlen(argv[i]), &node, &len);
        if (rc != HASH_RING_OK) {
            fprintf(stderr, "consumer: get %s: %s\n", argv[i], hash_ring_strerror(rc));
            hash_ring_destroy(ring);
            return 1;
        }
        printf("%s\t%.*s\n", argv[i], (int)len, node);
    }
    hash_ring_destroy(ring);
    printf("version\t%s\n", HASH_RING_VERSION_STRING);
    return 0;
}
