/* test_dlopen.c - the library loaded and unloaded as FFI runtimes do it.
 *
 * Cycles of: dlopen(libhash_ring.so.1), create a ring, add nodes, four
 * threads look keys up while the main thread changes the ring, destroy,
 * dlclose; the lookup threads exit only after the dlclose (a thread that
 * kept a destructor in the library would crash there).  After each
 * dlclose the library must really be gone (RTLD_NOLOAD finds nothing: no
 * -z nodelete, nothing pinning it), and every 100 cycles a fork() must
 * work (fork handlers left behind by an unloaded library would crash it).
 * Over 1,000 cycles the process's mappings must not grow.  Leaks: ASan's
 * leak checker at exit (CI runs the suite under it), valgrind.  ctest also
 * runs it with glibc's optional static TLS surplus at 0
 * (test_dlopen_no_static_tls): a library with initial-exec TLS fails to
 * load there when little else uses that surplus, so the first cycle also
 * reads the library's dynamic section: no DF_STATIC_TLS (initial-exec TLS)
 * and no DF_1_NODELETE.
 *
 * Usage: test_dlopen PATH-TO-libhash_ring.so.1 [CYCLES] */
#define _GNU_SOURCE 1 /* dlinfo */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hash_ring.h"

typedef struct api {
    int (*create)(hash_ring_t **, hash_ring_dialect_t);
    void (*destroy)(hash_ring_t *);
    int (*add_node)(hash_ring_t *, const void *, size_t, uint32_t);
    int (*remove_node)(hash_ring_t *, const void *, size_t);
    int (*get_node)(const hash_ring_t *, const void *, size_t, const char **, size_t *);
} api;

#define THREADS 4

typedef struct shared {
    api *f;
    hash_ring_t *ring;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int looked;   /* threads done with their lookups */
    int unloaded; /* the main thread has called dlclose */
    atomic_int bad;
} shared;

static void *looker(void *arg)
{
    shared *s = arg;
    for (int i = 0; i < 300; i++) {
        char k[16];
        const char *n;
        int len = snprintf(k, sizeof k, "key%d", i);
        if (s->f->get_node(s->ring, k, (size_t)len, &n, NULL) != HASH_RING_OK || n[0] != 'n')
            atomic_store(&s->bad, 1);
    }
    pthread_mutex_lock(&s->mu);
    s->looked++;
    pthread_cond_broadcast(&s->cv);
    while (!s->unloaded)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int fail(int cycle, const char *what)
{
    fprintf(stderr, "test_dlopen: cycle %d: %s\n", cycle, what);
    return 1;
}

static long mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return -1;
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* 0 when the loaded object's flags have neither static TLS nor nodelete. */
static int check_flags(void *h)
{
    struct link_map *lm;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0)
        return fail(0, dlerror());
    for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_STATIC_TLS))
            return fail(0, "DF_STATIC_TLS: the library uses initial-exec TLS");
        if (d->d_tag == DT_FLAGS_1 && (d->d_un.d_val & DF_1_NODELETE))
            return fail(0, "DF_1_NODELETE: the library is linked -z nodelete");
    }
    return 0;
}

static int cycle(const char *path, int i)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return fail(i, dlerror());
    if (i == 0 && check_flags(h) != 0)
        return 1;
    api f;
    *(void **)&f.create = dlsym(h, "hash_ring_create");
    *(void **)&f.destroy = dlsym(h, "hash_ring_destroy");
    *(void **)&f.add_node = dlsym(h, "hash_ring_add_node");
    *(void **)&f.remove_node = dlsym(h, "hash_ring_remove_node");
    *(void **)&f.get_node = dlsym(h, "hash_ring_get_node");
    if (!f.create || !f.destroy || !f.add_node || !f.remove_node || !f.get_node)
        return fail(i, "a symbol is missing");

    shared s = {.f = &f};
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    atomic_init(&s.bad, 0);
    if (f.create(&s.ring, HASH_RING_DIALECT_PYTHON) != HASH_RING_OK)
        return fail(i, "create");
    for (int k = 0; k < 20; k++) {
        char n[16];
        int len = snprintf(n, sizeof n, "n%d", k);
        if (f.add_node(s.ring, n, (size_t)len, 1) != HASH_RING_OK)
            return fail(i, "add_node");
    }
    pthread_t t[THREADS];
    for (int k = 0; k < THREADS; k++)
        if (pthread_create(&t[k], NULL, looker, &s) != 0)
            return fail(i, "pthread_create");
    /* changes while they look up */
    for (int k = 0; k < 10; k++) {
        char n[16];
        int len = snprintf(n, sizeof n, "n%d", 20 + k / 2);
        if ((k % 2 == 0 ? f.add_node(s.ring, n, (size_t)len, 2)
                        : f.remove_node(s.ring, n, (size_t)len)) != HASH_RING_OK)
            return fail(i, "change");
    }
    pthread_mutex_lock(&s.mu);
    while (s.looked < THREADS)
        pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
    f.destroy(s.ring);

    if (dlclose(h) != 0)
        return fail(i, dlerror());
    void *still = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (still != NULL) {
        dlclose(still);
        return fail(i, "still loaded after dlclose");
    }
    /* the lookup threads exit now, with the library gone */
    pthread_mutex_lock(&s.mu);
    s.unloaded = 1;
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    for (int k = 0; k < THREADS; k++)
        pthread_join(t[k], NULL);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    if (atomic_load(&s.bad))
        return fail(i, "a lookup failed");

    if (i % 100 == 99) {
        pid_t pid = fork();
        if (pid < 0)
            return fail(i, "fork");
        if (pid == 0)
            _exit(0);
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return fail(i, "fork after dlclose");
    }
    return 0;
}

#if defined(__SANITIZE_ADDRESS__)
/* dlopens every library that `path` loads with it (its link map after
 * itself), and keeps them loaded. */
static void hold_dependencies(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    struct link_map *lm = NULL;
    if (h == NULL || dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0)
        return;
    for (struct link_map *m = lm->l_next; m != NULL; m = m->l_next)
        if (m->l_name != NULL && m->l_name[0] == '/')
            (void)dlopen(m->l_name, RTLD_NOW | RTLD_LOCAL);
    dlclose(h);
}
#endif

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_dlopen PATH-TO-libhash_ring.so.1 [CYCLES]\n");
        return 2;
    }
    int cycles = argc > 2 ? atoi(argv[2]) : 1000;
    /* the slow checkers: fewer cycles (ASan runs all 1,000) */
    if (getenv("HASH_RING_UNDER_VALGRIND") && cycles > 20)
        cycles = 20;
#if defined(__SANITIZE_THREAD__)
    if (cycles > 200)
        cycles = 200;
#endif
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's runtime keeps a little memory for every load of a library it
     * did not instrument (here libz, loaded and unloaded with each cycle),
     * which the mapping count would charge to this library: hold the
     * library's dependencies for the whole run; it still cycles itself. */
    hold_dependencies(argv[1]);
#endif
    /* the baseline after a few cycles: the C library's first-use caches */
    int warm = cycles < 10 ? cycles : 10;
    for (int i = 0; i < warm; i++)
        if (cycle(argv[1], i) != 0)
            return 1;
    long before = mappings();
    for (int i = warm; i < cycles; i++)
        if (cycle(argv[1], i) != 0)
            return 1;
    long after = mappings();
    printf("test_dlopen: %d cycles; mappings %ld after %d cycles, %ld at the end\n", cycles,
           before, warm, after);
    if (before < 0 || after > before + 8) {
        fprintf(stderr, "test_dlopen: the mappings grew from %ld to %ld\n", before, after);
        return 1;
    }
    return 0;
}
