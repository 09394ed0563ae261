/* cli.h - shared pieces of the hash-ring command-line tool. */
#ifndef HR_CLI_H
#define HR_CLI_H

#include <stdio.h>

#include "hash_ring.h"

/* Exit codes: 0 success, 1 "not found" style results, 2 usage/input errors. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_MISS 1
#define CLI_EXIT_USAGE 2

typedef struct cli_opts {
    hash_ring_dialect_t dialect;
    int json;
    hash_ring_t *ring; /* built from --node / --nodes-file */
} cli_opts;

/* Prints "hash-ring: MESSAGE" to stderr and returns CLI_EXIT_USAGE. */
int cli_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Parses "NAME[=WEIGHT]" and adds it.  0 or an error message printed (2). */
int cli_add_node_spec(hash_ring_t *ring, const char *spec);

/* Writes bytes as a JSON string (quoted, escaped). */
void cli_json_string(FILE *f, const char *s, size_t len);

/* Commands: argc/argv start at the command's first argument. */
int cli_cmd_get(cli_opts *o, int argc, char **argv);
int cli_cmd_map(cli_opts *o, int argc, char **argv);
int cli_cmd_mc(cli_opts *o, int argc, char **argv);

#endif
