/* mc_testlib.h - real memcached daemons and a raw, independent reader for the
 * memcached client's tests.
 *
 * The raw reader (tl_raw_*) is written separately from the library and
 * shares no code with it: the tests use it to look at each backend directly. */
#ifndef HR_MC_TESTLIB_H
#define HR_MC_TESTLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TL_SKIP 77

typedef struct tl_daemon {
    pid_t pid;          /* 0 when not running */
    int port;           /* TCP port on 127.0.0.1 (0 for a unix socket) */
    char path[108];     /* unix socket path, or "" */
    char addr[128];     /* "127.0.0.1:PORT" or the path */
    int stopped;        /* SIGSTOPped */
} tl_daemon;

/* Path of the memcached binary (HR_MEMCACHED from CMake, or PATH), NULL if
 * absent; prints why.  tl_require_memcached() exits 77 when absent. */
const char *tl_memcached(void);
void tl_require_memcached(void);

/* Binds a TCP socket to a free port on 127.0.0.1 (family AF_INET) or [::1]
 * (AF_INET6), outside the kernel's ephemeral port range where it can (so
 * that no outgoing connection competes for it).  The port, or -1. */
int tl_bind_loopback(int fd, int family);

/* A free TCP port on 127.0.0.1 (bound as above, then closed). */
int tl_free_port(void);

/* A TCP port on 127.0.0.1 that refuses connections for as long as *holder
 * stays open: bound and never listening, so no other process (a daemon of
 * a test running beside this one) can take it.  The port, or -1; close
 * *holder when done. */
int tl_refusing_port(int *holder);

/* Starts memcached on 127.0.0.1 (port 0: a free one; else that port), or on
 * a unix socket when path is not NULL.  Waits until it answers "stats" with
 * its own pid.  0 or -1.  The daemon dies with the test process (PDEATHSIG). */
int tl_daemon_start(tl_daemon *d, int port, const char *unix_path);
/* The same with extra memcached options (NULL-terminated, at most 30). */
int tl_daemon_start_args(tl_daemon *d, int port, const char *unix_path,
                         const char *const *extra);
/* SIGKILL and reap; fine when not running. */
void tl_daemon_kill(tl_daemon *d);
/* SIGSTOP, and waits until the daemon is stopped: kill() returns before
 * that (one of memcached's threads takes the signal when it next runs and
 * then stops the others; meanwhile the worker thread still answers). */
void tl_daemon_stop(tl_daemon *d);
void tl_daemon_cont(tl_daemon *d); /* SIGCONT */

/* A TCP listener on 127.0.0.1 that nobody accepts on, its accept queue
 * full (backlog 0, filled by connections from fill[0..nfill), nfill >= 2):
 * the kernel drops further SYNs, so a connect to *port hangs until its
 * timeout.  Returns once the kernel reports the queue full (no guess at how
 * long that takes).  The listener, or -1; close it and the fill sockets. */
int tl_full_listener(int *port, int *fill, int nfill);

/* Writes all n bytes to a socket (EINTR retried, no SIGPIPE). 0 or -1. */
int tl_send_all(int fd, const char *p, size_t n);

/* Raw protocol, blocking with a 5 s timeout. */
/* get: 1 hit (*value malloc'd, NUL-terminated), 0 miss, -1 error. */
int tl_raw_get(const char *addr, const char *key, char **value, size_t *len, uint32_t *flags);
/* set: 0 STORED, -1 otherwise. */
int tl_raw_set(const char *addr, const char *key, const char *value, uint32_t flags);
/* The value of "STAT name" from "stats", or -1. */
long long tl_raw_stat(const char *addr, const char *name);
/* Sends the bytes and returns all that the server sends back until it has
 * been quiet for quiet_ms (malloc'd, NUL-terminated), or NULL. */
char *tl_raw_exchange(const char *addr, const char *req, size_t len, int quiet_ms);
/* Sends the bytes and returns the reply once it ends with `end` (e.g.
 * "OK\r\n", "END\r\n"; malloc'd, NUL-terminated); NULL for an error
 * line, a failure or no such reply within 5 s.  Unlike tl_raw_exchange it
 * does not guess how long a loaded server takes to answer. */
char *tl_raw_request(const char *addr, const char *req, size_t len, const char *end);

/* Open file descriptors of this process. */
int tl_count_fds(void);

uint64_t tl_now_ms(void);
void tl_sleep_ms(unsigned ms);

/* 1 when HASH_RING_UNDER_VALGRIND is set (and not "0"). */
int tl_valgrind(void);

/* Slack for the upper bound of an elapsed-time assertion, on top of the
 * time the client may legitimately take (its timeouts): the client's own
 * work and the scheduling delays of a loaded CI machine.  1 s natively,
 * 3 s in sanitizer builds, 10 s under valgrind (about 30x slower CPU; the
 * daemons run natively).  Lower bounds need no slack: the client never
 * gives up before its timeout. */
unsigned tl_slack_ms(void);

/* Lines of a vectors TSV: key and expected nodes (replicas: several). */
typedef struct tl_vec {
    size_t n;
    char **key;
    char **node;  /* .get.tsv: the owner */
    char ***reps; /* .replicas.tsv: NULL-terminated list, or NULL */
} tl_vec;
int tl_vec_load(tl_vec *v, const char *get_tsv, const char *replicas_tsv);
void tl_vec_free(tl_vec *v);


/* The seed's three servers, as tests/vectors/seed3 names them (the
 * tests point each name at a local daemon), and a name's index among them
 * (-1 if it is none of them). */
extern const char *const tl_seed3_names[3];
int tl_seed3_index(const char *name);

/* Starts n daemons on free loopback ports: 0, or -1 (those started are
 * killed).  tl_daemons_kill kills n (never-started entries are skipped). */
int tl_daemons_start(tl_daemon *d, int n);
void tl_daemons_kill(tl_daemon *d, int n);

#endif
