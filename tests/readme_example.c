#include <stdio.h>
#include <string.h>
#include <hash_ring.h>

int main(void)
{
    const char *servers[] = {"192.168.0.246:11212", "192.168.0.247:11212",
                             "192.168.0.249:11212"};
    hash_ring_t *ring;
    const char *node;

    /* ring = HashRing(memcache_servers) */
    if (hash_ring_create(&ring, HASH_RING_DIALECT_PYTHON) != HASH_RING_OK)
        return 1;
    for (int i = 0; i < 3; i++)
        hash_ring_add_node(ring, servers[i], strlen(servers[i]), 1);
    /* server = ring.get_node('key0') */
    if (hash_ring_get_node(ring, "key0", 4, &node, NULL) == HASH_RING_OK)
        printf("key0 -> %s\n", node);
    hash_ring_destroy(ring);

    /* weights = {'192.168.0.246:11212': 1, '192.168.0.247:11212': 2, ...} */
    const uint32_t weights[] = {1, 2, 1};
    const void *names[3];
    size_t lens[3];
    for (int i = 0; i < 3; i++) {
        names[i] = servers[i];
        lens[i] = strlen(servers[i]);
    }
    hash_ring_create(&ring, HASH_RING_DIALECT_PYTHON);
    hash_ring_add_nodes(ring, names, lens, weights, 3);   /* one rebuild */
    if (hash_ring_get_node(ring, "key0", 4, &node, NULL) == HASH_RING_OK)
        printf("key0 -> %s (weighted)\n", node);
    hash_ring_destroy(ring);
    return 0;
}
