/* peer_map.c - the library's placements for the script-driven peer tests.
 *
 *   hr_peer_map DIALECT NODES_FILE < keys > nodes
 *
 * NODES_FILE: lines NAME<TAB>WEIGHT (UTF-8 or any bytes but tab/newline),
 * added in file order.  stdin: one key per line ('\n' ends a key; the key
 * itself may hold any other byte).  stdout: the owning node's name, one per
 * key, in order.  Exit 0 on success, 1 on any error (with a message). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash_ring.h"

static int fail(const char *what, int rc)
{
    fprintf(stderr, "hr_peer_map: %s: %s\n", what, rc ? hash_ring_strerror(rc) : strerror(errno));
    return 1;
}

int main(int argc, char **argv)
{
    hash_ring_dialect_t d;
    if (argc != 3 || hash_ring_dialect_from_name(argv[1], &d) != HASH_RING_OK) {
        fprintf(stderr, "usage: hr_peer_map DIALECT NODES_FILE < keys\n");
        return 1;
    }
    hash_ring_t *ring = NULL;
    int rc = hash_ring_create(&ring, d);
    if (rc != HASH_RING_OK)
        return fail("create", rc);
    FILE *f = fopen(argv[2], "r");
    if (f == NULL) {
        hash_ring_destroy(ring);
        return fail(argv[2], 0);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = 0;
    while (status == 0 && (n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        char *tab = memchr(line, '\t', (size_t)n);
        if (tab == NULL) {
            fprintf(stderr, "hr_peer_map: bad node line '%s'\n", line);
            status = 1;
            break;
        }
        char *end;
        unsigned long w = strtoul(tab + 1, &end, 10);
        if (*end != '\0' || w > UINT32_MAX) {
            fprintf(stderr, "hr_peer_map: bad weight in '%s'\n", line);
            status = 1;
            break;
        }
        rc = hash_ring_add_node(ring, line, (size_t)(tab - line), (uint32_t)w);
        if (rc != HASH_RING_OK)
            status = fail("add node", rc);
    }
    fclose(f);
    while (status == 0 && (n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            n--;
        const char *node = NULL;
        size_t len = 0;
        rc = hash_ring_get_node(ring, line, (size_t)n, &node, &len);
        if (rc != HASH_RING_OK) {
            status = fail("get node", rc);
            break;
        }
        fwrite(node, 1, len, stdout);
        fputc('\n', stdout);
    }
    free(line);
    hash_ring_destroy(ring);
    if (status == 0 && (ferror(stdin) || fflush(stdout) != 0))
        status = fail("I/O", 0);
    return status;
}
