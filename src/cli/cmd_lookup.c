/* cmd_lookup.c - get and map: where keys live. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void cli_json_string(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* One placement line (or JSON object) for key. */
static int cli_place(cli_opts *o, FILE *out, const char *key, size_t klen, int first)
{
    const char *node;
    size_t nlen;
    int rc = hash_ring_get_node(o->ring, key, klen, &node, &nlen);
    if (rc != HASH_RING_OK)
        return rc;
    if (o->json) {
        fputs(first ? "\n  {\"key\": " : ",\n  {\"key\": ", out);
        cli_json_string(out, key, klen);
        fputs(", \"node\": ", out);
        cli_json_string(out, node, nlen);
        fputc('}', out);
    } else {
        fwrite(key, 1, klen, out);
        fputc('\t', out);
        fwrite(node, 1, nlen, out);
        fputc('\n', out);
    }
    return HASH_RING_OK;
}

static int cli_check_ring(cli_opts *o)
{
    const char *node;
    int rc = hash_ring_get_node(o->ring, "", 0, &node, NULL);
    if (rc != HASH_RING_OK)
        return cli_fail("cannot place keys: %s", hash_ring_strerror(rc));
    return 0;
}

int cli_cmd_get(cli_opts *o, int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "--help") == 0) {
        puts("usage: hash-ring [ring options] get KEY...\n"
             "Prints KEY<TAB>NODE for each KEY: the node that owns it.");
        return CLI_EXIT_OK;
    }
    if (argc == 0)
        return cli_fail("get: no keys given");
    int rc = cli_check_ring(o);
    if (rc != 0)
        return rc;
    if (o->json)
        fputc('[', stdout);
    for (int i = 0; i < argc; i++)
        cli_place(o, stdout, argv[i], strlen(argv[i]), i == 0);
    if (o->json)
        fputs("\n]\n", stdout);
    return CLI_EXIT_OK;
}

int cli_cmd_map(cli_opts *o, int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "--help") == 0) {
        puts("usage: hash-ring [ring options] map < KEYS\n"
             "Reads keys from stdin, one per line (a trailing \\r is part of the key),\n"
             "and prints KEY<TAB>NODE for each, streaming.");
        return CLI_EXIT_OK;
    }
    if (argc > 0)
        return cli_fail("map: unexpected argument '%s' (keys come from stdin)", argv[0]);
    int rc = cli_check_ring(o);
    if (rc != 0)
        return rc;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int first = 1;
    if (o->json)
        fputc('[', stdout);
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        cli_place(o, stdout, line, len, first);
        first = 0;
    }
    if (o->json)
        fputs("\n]\n", stdout);
    free(line);
    return CLI_EXIT_OK;
}
