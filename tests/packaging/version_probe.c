/* Prints the version as the header states it and as the loaded library
 * reports it, for check_version.py. */
#include <hash_ring.h>

#include <stdio.h>

int main(void)
{
    printf("header_major\t%d\n", HASH_RING_VERSION_MAJOR);
    printf("header_minor\t%d\n", HASH_RING_VERSION_MINOR);
    printf("header_patch\t%d\n", HASH_RING_VERSION_PATCH);
    printf("header_number\t%d\n", HASH_RING_VERSION_NUMBER);
    printf("header_string\t%s\n", HASH_RING_VERSION_STRING);
    printf("runtime_number\t%u\n", hash_ring_version());
    printf("runtime_string\t%s\n", hash_ring_version_string());
    return 0;
}
