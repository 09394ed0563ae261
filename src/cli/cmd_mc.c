/* cmd_mc.c - hash-ring mc: the memcached client from the command line.
 * Placeholder until the memcached client lands (issue 5). */
#include "cli.h"

int cli_cmd_mc(cli_opts *o, int argc, char **argv)
{
    (void)o;
    (void)argc;
    (void)argv;
    return cli_fail("mc: the memcached client is not built yet");
}
