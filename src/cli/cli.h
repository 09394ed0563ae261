/* cli.h - shared pieces of the hash-ring command-line tool.
 *
 * Layout: main.c parses the global options, builds the ring and dispatches;
 * cli_util.c holds parsing and output helpers (JSON strings, exact
 * fractions); one file per group of commands: cmd_lookup.c (get, map,
 * replicas), cmd_ring.c (continuum, stats), cmd_diff.c (diff and the exact
 * movement computation), cmd_demo.c (demo), cmd_mc.c (mc).
 *
 * Rule for every command: validate all arguments and compute everything that
 * can fail before the first byte reaches stdout, so an error leaves stdout
 * empty.  Only `map` streams; it can fail mid-stream (a read error, a line
 * above CLI_MAP_LINE_MAX).
 *
 * Text output writes every byte that came from a user, a file or a server
 * through cli_text, so one record is one line with fixed columns and no
 * control byte reaches a terminal. */
#ifndef HR_CLI_H
#define HR_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "hash_ring.h"

/* Input bounds (documented in --help, hash-ring(1) and the README): a key
 * line of map, a line of a nodes file, a whole nodes file (bytes). */
#define CLI_MAP_LINE_MAX 1048576
#define CLI_NODES_LINE_MAX 4096
#define CLI_NODES_FILE_MAX 67108864

/* Exit codes: 0 success, 1 "not found" style results, 2 usage/input errors. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_MISS 1
#define CLI_EXIT_USAGE 2

typedef struct cli_opts {
    hash_ring_dialect_t dialect;
    int json;
    hash_ring_t *ring; /* built from --node / --nodes-file */
    int have_nodes;    /* at least one node was given */
    int nodes_given;   /* --node or --nodes-file was used (even if no node came of it) */
    int stdin_used;    /* a nodes file was standard input */
} cli_opts;

/* Prints "hash-ring: MESSAGE" to stderr and returns CLI_EXIT_USAGE. */
int cli_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Parses a decimal weight 0..4294967295 (digits only).  0 or -1. */
int cli_parse_weight(const char *s, uint32_t *out);

/* Splits "NAME[=WEIGHT]" at its last '=' (weight 1 when absent) and checks
 * it; `what` names the option in messages.  0 or an error printed (2). */
int cli_parse_node_spec(const char *spec, const char *what, size_t *name_len, uint32_t *weight);

/* Nodes collected from the command line, added with one rebuild (adding
 * 2,000 nodes one by one would rebuild the continuum 2,000 times). */
typedef struct cli_nodes {
    char **names; /* owned copies */
    size_t *lens;
    uint32_t *weights;
    const char **files; /* where each came from: a nodes file (argv's
                         * string), or NULL for --node */
    size_t *lines;      /* its line in that file */
    size_t n, cap;
} cli_nodes;

/* Appends "NAME[=WEIGHT]" / the nodes of FILE ("-" = stdin).  0 or an error
 * message printed (2). */
int cli_nodes_add_spec(cli_nodes *l, const char *spec);
int cli_nodes_load_file(cli_nodes *l, const char *path);

/* Reads one line of f into buf (cap bytes: at most cap - 1 bytes before the
 * newline, which is dropped; any byte, NUL included, is data).  Memory is
 * the caller's buffer alone, whatever the input.  Returns 1 (a line of
 * *len bytes; a last line without newline counts), 0 at end of input, -1
 * on a read error (errno set by the stream), -2 when the line is longer
 * than cap - 1 bytes (the rest is left unread). */
int cli_read_line(FILE *f, char *buf, size_t cap, size_t *len);
/* Adds every collected node to ring in order (a duplicate name is an
 * error, named).  0 or an error message printed (2). */
int cli_nodes_commit(cli_nodes *l, hash_ring_t *ring);

/* The key arguments of command `cmd`: a leading "--" is skipped (then any
 * argument is a key); without it an argument starting with '-' (other
 * than "-") is refused as a misplaced option.  0 or the exit status. */
int cli_keys(const char *cmd, int *argc, char ***argv);
void cli_nodes_free(cli_nodes *l);

/* Fails (2) with a clear message unless the ring owns at least one point. */
int cli_check_ring(const hash_ring_t *ring);

/* cli_check_ring, then a snapshot of the ring for command `cmd`: 0, or an
 * error line printed and CLI_EXIT_USAGE returned. */
int cli_ring_snapshot(const hash_ring_t *ring, const char *cmd, hash_ring_snapshot_t **snap);

/* Writes bytes as a JSON string (quoted).  Valid UTF-8 is copied as is
 * (control characters, '"' and '\\' escaped); every byte that is not part
 * of a valid UTF-8 sequence is written as the lone surrogate \udcXX (XX =
 * the byte), Python's "surrogateescape": decoding with
 * bytes.decode('utf-8', 'surrogateescape') gives the same string, and
 * str.encode('utf-8', 'surrogateescape') gives the bytes back. */
void cli_json_string(FILE *f, const char *s, size_t len);

/* Writes count / 2^32 (count <= 2^32) as its exact decimal expansion, never
 * rounded: at most 32 digits after the point ("1", "0.25",
 * "0.00000000023283064365386962890625" for 1). */
void cli_print_fraction32(FILE *f, uint64_t count);

/* Writes count / 2^32 as a percentage rounded to 4 decimals ("22.2668%"). */
void cli_print_percent32(FILE *f, uint64_t count);

/* Writes bytes for text output: printable ASCII as is, '\\' as "\\\\",
 * tab, newline and carriage return as "\\t", "\\n", "\\r", every other
 * control byte (C0, DEL, and the C1 controls U+0080..U+009F) and every byte
 * that is not part of valid UTF-8 as "\\xHH"; other valid UTF-8 is copied.
 * The result holds no tab, newline or control character, and is
 * reversible. */
void cli_text(FILE *f, const void *s, size_t len);

/* A server's stats value in JSON: a number when it is a valid JSON integer
 * (digits, no leading zero), else a string. */
void cli_json_stat_value(FILE *f, const char *s, size_t len);

/* Writes the "--help" text of a command if argv[0] asks for it; returns 1
 * when it did (the command then exits 0). */
int cli_wants_help(int argc, char **argv, const char *text);

/* ---- Exact movement between two snapshots (cmd_diff.c) ------------------ */

typedef struct cli_move {
    const char *from; /* name in the "before" snapshot */
    size_t from_len;
    const char *to; /* name in the "after" snapshot */
    size_t to_len;
    uint64_t positions; /* how many of the 2^32 positions move from -> to */
} cli_move;

typedef struct cli_movement {
    uint64_t moved; /* positions whose owner changes (by name) */
    cli_move *pairs; /* sorted: most positions first, then by names */
    size_t npairs;
} cli_movement;

/* Computes the exact movement from `before` to `after` (both non-empty).
 * 0, or HASH_RING_ENOMEM / another status from the library. */
int cli_movement_compute(const hash_ring_snapshot_t *before, const hash_ring_snapshot_t *after,
                         cli_movement *out);
void cli_movement_free(cli_movement *m);

/* Commands: argc/argv start at the command's first argument. */
int cli_cmd_get(cli_opts *o, int argc, char **argv);
int cli_cmd_map(cli_opts *o, int argc, char **argv);
int cli_cmd_replicas(cli_opts *o, int argc, char **argv);
int cli_cmd_continuum(cli_opts *o, int argc, char **argv);
int cli_cmd_stats(cli_opts *o, int argc, char **argv);
int cli_cmd_diff(cli_opts *o, int argc, char **argv);
int cli_cmd_demo(cli_opts *o, int argc, char **argv);
int cli_cmd_mc(cli_opts *o, int argc, char **argv);

#endif
