/* fuzz_cli.c - fuzz target: the hash-ring tool's argument and nodes-file
 * parsing, and every command but `mc` (which opens connections).
 *
 * The tool's own sources (src/cli, all of them) are compiled into this
 * program with -Dmain=hr_cli_main, and that function is called once per
 * input.
 *
 * Input: up to three sections separated by the first two 0xFF bytes:
 *   ARGS 0xFF NODES_FILE 0xFF STDIN
 * ARGS is the argument list (after argv[0] = "hash-ring"), arguments
 * separated by NUL bytes.  NODES_FILE is written to a temporary file; the
 * value "@F" of --nodes-file stands for its path.  STDIN is what the tool
 * reads from standard input (`map`, `--nodes-file -`).  Every other value
 * that may reach --nodes-file or diff's --from and --to (any argument after
 * one of these literally, or after "--nodes-file=", "--from=", "--to=") is
 * replaced by the path of a file that does not exist, so the tool never
 * reads the files around it.  Inputs naming `mc` anywhere, with more than FZ_MAX_ARGS arguments,
 * or more than FZ_MAX_LINES lines in NODES_FILE or STDIN are skipped, which
 * keeps each run to milliseconds.
 *
 * The tool writes to the C streams stdout and stderr; they are replaced by
 * streams on temporary files, opened afresh for each run (glibc lets a
 * program assign stdin, stdout and stderr; `map` calls setvbuf on stdout,
 * which a memory stream does not survive), so the file descriptors 1 and 2
 * stay where they were and a sanitizer report still reaches the terminal.
 *
 * Checks (hash-ring --help: "Exit status: 0 success, 2 usage or input
 * error (one line on stderr, nothing on stdout)"):
 *   - no crash, leak or undefined behaviour (sanitizers, valgrind);
 *   - the exit status is 0, 1 or 2;
 *   - status 2: stdout is empty (but for `map` stopped by a line above its
 *     bound: it streams) and stderr is exactly one line,
 *     "hash-ring: MESSAGE\n" with a non-empty MESSAGE;
 *   - status 0 or 1: nothing on stderr, and stdout is empty or ends with a
 *     newline (every output format ends its last line). */
#include "fuzz_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FZ_MAX_ARGS 64
#define FZ_MAX_LINES 64

int hr_cli_main(int argc, char **argv);

static char fz_dir[64];
static char fz_nodes_path[96];
static char fz_missing_path[96];

static char fz_out_path[96];
static char fz_err_path[96];

static void fz_cleanup(void)
{
    unlink(fz_nodes_path);
    unlink(fz_out_path);
    unlink(fz_err_path);
    rmdir(fz_dir);
}

static void fz_setup(void)
{
    if (fz_dir[0] != '\0')
        return;
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0' || strlen(tmp) > 30)
        tmp = "/tmp";
    snprintf(fz_dir, sizeof fz_dir, "%s/hr_fuzz_cli.XXXXXX", tmp);
    if (mkdtemp(fz_dir) == NULL) {
        perror("mkdtemp");
        abort(); /* the harness cannot run: not a finding */
    }
    snprintf(fz_nodes_path, sizeof fz_nodes_path, "%s/nodes", fz_dir);
    snprintf(fz_missing_path, sizeof fz_missing_path, "%s/no-such-file", fz_dir);
    snprintf(fz_out_path, sizeof fz_out_path, "%s/stdout", fz_dir);
    snprintf(fz_err_path, sizeof fz_err_path, "%s/stderr", fz_dir);
    atexit(fz_cleanup);
}

static size_t fz_count(const uint8_t *p, size_t n, uint8_t c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == c;
    return k;
}

static char *fz_strndup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        abort(); /* the harness ran out of memory: not a finding */
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static char *fz_concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s == NULL)
        abort();
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

/* A --nodes-file value as the harness lets the tool see it. */
static const char *fz_nodes_value(const char *v)
{
    if (strcmp(v, "@F") == 0)
        return fz_nodes_path;
    if (strcmp(v, "-") == 0)
        return v;
    return fz_missing_path;
}

/* Everything written to f (then closed) as a NUL-terminated string. */
static char *fz_slurp(FILE *f, size_t *len)
{
    if (fflush(f) != 0 || fseek(f, 0, SEEK_END) != 0)
        abort(); /* the harness cannot read its file back: not a finding */
    long end = ftell(f);
    if (end < 0 || fseek(f, 0, SEEK_SET) != 0)
        abort();
    *len = (size_t)end;
    char *s = malloc(*len + 1);
    if (s == NULL || fread(s, 1, *len, f) != *len || fclose(f) != 0)
        abort();
    s[*len] = '\0';
    return s;
}

static _Noreturn void fz_report_at(int line, const char *what, int rc, const char *err,
                                   size_t err_len)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s (exit status %d, stderr %zu bytes: \"%.*s\")", what, rc,
             err_len, (int)(err_len < 300 ? err_len : 300), err != NULL ? err : "");
    fz_fail(__FILE__, line, msg);
}
#define fz_report(what, rc, err, err_len) fz_report_at(__LINE__, what, rc, err, err_len)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The three sections. */
    const uint8_t *sec[3] = {data, NULL, NULL};
    size_t len[3] = {size, 0, 0};
    for (int k = 1; k < 3 && sec[k - 1] != NULL; k++) {
        const uint8_t *sep = len[k - 1] ? memchr(sec[k - 1], 0xff, len[k - 1]) : NULL;
        if (sep == NULL)
            break;
        sec[k] = sep + 1;
        len[k] = len[k - 1] - (size_t)(sep + 1 - sec[k - 1]);
        len[k - 1] = (size_t)(sep - sec[k - 1]);
    }
    if (fz_count(sec[1], len[1], '\n') > FZ_MAX_LINES ||
        fz_count(sec[2], len[2], '\n') > FZ_MAX_LINES)
        return 0;
    /* The arguments. */
    size_t nargs = len[0] == 0 ? 0 : fz_count(sec[0], len[0], 0) + 1;
    if (nargs > FZ_MAX_ARGS)
        return 0;
    fz_setup();
    char *argv[FZ_MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = fz_strndup((const uint8_t *)"hash-ring", 9);
    for (size_t i = 0, start = 0; nargs > 0 && i <= len[0]; i++) {
        if (i < len[0] && sec[0][i] != 0)
            continue;
        argv[argc++] = fz_strndup(sec[0] + start, i - start);
        start = i + 1;
    }
    argv[argc] = NULL;
    int skip = 0, prev_opt = 0, map_cmd = 0;
    static const char *const file_opts[] = {"--nodes-file", "--from", "--to"};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "mc") == 0)
            skip = 1;
        map_cmd |= strcmp(argv[i], "map") == 0;
        /* Any argument after a literal file option may be read as a file. */
        int this_opt = 0;
        const char *v = NULL, *opt = NULL;
        for (size_t k = 0; k < sizeof file_opts / sizeof *file_opts; k++) {
            size_t ol = strlen(file_opts[k]);
            this_opt |= strcmp(argv[i], file_opts[k]) == 0;
            if (strncmp(argv[i], file_opts[k], ol) == 0 && argv[i][ol] == '=') {
                v = argv[i] + ol + 1;
                opt = file_opts[k];
            }
        }
        if (prev_opt)
            v = argv[i];
        if (v != NULL) {
            char *eq = v == argv[i] ? NULL : fz_concat(opt, "=");
            char *r = fz_concat(eq != NULL ? eq : "", fz_nodes_value(v));
            free(eq);
            free(argv[i]);
            argv[i] = r;
        }
        prev_opt = this_opt;
    }
    if (skip) {
        for (int i = 0; i < argc; i++)
            free(argv[i]);
        return 0;
    }

    /* The nodes file, standard input, and the captured outputs. */
    FILE *nf = fopen(fz_nodes_path, "wb");
    if (nf == NULL || fwrite(sec[1] ? (const void *)sec[1] : "", 1, len[1], nf) != len[1] ||
        fclose(nf) != 0)
        abort(); /* the harness cannot write its file: not a finding */
    FILE *in = len[2] > 0 ? fmemopen((void *)(uintptr_t)sec[2], len[2], "r")
                          : fopen("/dev/null", "r");
    FILE *out = fopen(fz_out_path, "w+b");
    FILE *err = fopen(fz_err_path, "w+b");
    if (in == NULL || out == NULL || err == NULL)
        abort();
    FILE *saved_in = stdin, *saved_out = stdout, *saved_err = stderr;
    stdin = in;
    stdout = out;
    stderr = err;
    int rc = hr_cli_main(argc, argv);
    stdin = saved_in;
    stdout = saved_out;
    stderr = saved_err;
    fclose(in);
    size_t out_len, err_len;
    char *out_buf = fz_slurp(out, &out_len);
    char *err_buf = fz_slurp(err, &err_len);
    for (int i = 0; i < argc; i++)
        free(argv[i]);

    if (rc != 0 && rc != 1 && rc != 2)
        fz_report("exit status not 0, 1 or 2", rc, err_buf, err_len);
    if (rc == 2) {
        static const char prefix[] = "hash-ring: ";
        if (out_len != 0 && !(map_cmd && strstr(err_buf, "is longer than") != NULL))
            fz_report("status 2 with output on stdout", rc, err_buf, err_len);
        /* "hash-ring: ", at least one byte of message, "\n". */
        if (err_len < sizeof prefix + 1 || memcmp(err_buf, prefix, sizeof prefix - 1) != 0 ||
            err_buf[sizeof prefix - 1] == '\n')
            fz_report("status 2: stderr does not start with \"hash-ring: \" and a message", rc,
                      err_buf, err_len);
        if (err_buf[err_len - 1] != '\n')
            fz_report("status 2: stderr does not end with a newline", rc, err_buf, err_len);
        if (memchr(err_buf, '\n', err_len - 1) != NULL)
            fz_report("status 2: stderr is not exactly one line", rc, err_buf, err_len);
    } else {
        if (err_len != 0)
            fz_report("status 0 or 1 with output on stderr", rc, err_buf, err_len);
        if (out_len != 0 && out_buf[out_len - 1] != '\n')
            fz_report("stdout does not end with a newline", rc, err_buf, err_len);
    }
    free(out_buf);
    free(err_buf);
    return 0;
}
