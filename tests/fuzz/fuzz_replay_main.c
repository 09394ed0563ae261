/* fuzz_replay_main.c - runs a fuzz target over a committed corpus as a
 * cmocka test, so every build checks the corpus without libFuzzer.
 *
 * With no arguments it replays every regular file of FZ_CORPUS_DIR, one
 * cmocka test per file (sorted by name).  Arguments, when given, are files
 * or directories replayed instead (handy for a crash file on a machine
 * without libFuzzer).  An empty corpus is a failure: the test must run
 * something. */
#include "fuzz_target.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#ifndef FZ_CORPUS_DIR
#error "FZ_CORPUS_DIR must be defined"
#endif
#ifndef FZ_GROUP_NAME
#error "FZ_GROUP_NAME must be defined (the cmocka group: fuzz_<target>_corpus)"
#endif

_Noreturn void fz_fail(const char *file, int line, const char *message)
{
    print_error("invariant broken: %s\n", message);
    _fail(file, line);
    abort(); /* _fail leaves through longjmp inside a test */
}

static void replay_one(void **state)
{
    const char *path = *state;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            unsigned char *nb = realloc(buf, cap);
            assert_non_null(nb);
            buf = nb;
        }
    }
    assert_int_equal(ferror(f), 0);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
}

typedef struct paths {
    char **v;
    size_t n, cap;
} paths;

static void paths_add(paths *p, const char *s)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->v = realloc(p->v, p->cap * sizeof *p->v);
        if (p->v == NULL)
            abort();
    }
    size_t len = strlen(s);
    p->v[p->n] = malloc(len + 1);
    if (p->v[p->n] == NULL)
        abort();
    memcpy(p->v[p->n], s, len + 1);
    p->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds path, or every regular file directly inside it when a directory. */
static void collect(paths *p, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "cannot stat %s\n", path);
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        paths_add(p, path);
        return;
    }
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    size_t first = p->n;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(path) + strlen(de->d_name) + 2;
        char *full = malloc(len);
        if (full == NULL)
            abort();
        snprintf(full, len, "%s/%s", path, de->d_name);
        if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode))
            paths_add(p, full);
        free(full);
    }
    closedir(d);
    qsort(p->v + first, p->n - first, sizeof *p->v, cmp_str);
}

int main(int argc, char **argv)
{
    paths p = {NULL, 0, 0};
    if (argc > 1)
        for (int i = 1; i < argc; i++)
            collect(&p, argv[i]);
    else
        collect(&p, FZ_CORPUS_DIR);
    if (p.n == 0) {
        fprintf(stderr, "no corpus files found\n");
        return 1;
    }
    struct CMUnitTest *tests = calloc(p.n, sizeof *tests);
    if (tests == NULL)
        return 1;
    for (size_t i = 0; i < p.n; i++) {
        const char *base = strrchr(p.v[i], '/');
        tests[i].name = base ? base + 1 : p.v[i];
        tests[i].test_func = replay_one;
        tests[i].initial_state = p.v[i];
    }
    int failed = _cmocka_run_group_tests(FZ_GROUP_NAME, tests, p.n, NULL, NULL);
    free(tests);
    for (size_t i = 0; i < p.n; i++)
        free(p.v[i]);
    free(p.v);
    return failed;
}
