/* mc_hostile.c - a hostile "memcached" for the client's tests.
 *
 * usage: mc_hostile MODE
 * Listens on 127.0.0.1 (free port, printed on stdout as "PORT\n"), and for
 * each request line it receives answers according to MODE:
 *   garbage   a line that is no reply at all
 *   binary    10,000 bytes of binary without a newline
 *   half      a VALUE header for 100 bytes, 50 bytes, then closes
 *   huge      a VALUE header announcing 2 GB, then 64 KB of data and waits
 *   trickle   a valid reply, one byte per second
 *   silent    reads, never answers
 *   wrongkey  a VALUE for a key that was not asked
 *   badterm   a VALUE whose data is not followed by CRLF
 *   bignum    a 25-digit number (for incr)
 *   extra     a miss followed by an unasked extra END
 *   close     closes at once
 *   notfound  NOT_FOUND to every request (storage data blocks are read)
 *   early     a set: SERVER_ERROR right after its command line, as memcached
 *             does for a value too large for it, then that connection is
 *             left open and never read again (memcached would take the
 *             next bytes as the rest of the value); other requests: END
 *   errlate   gets: SERVER_ERROR; on the same connection every gets after
 *             the first is answered 300 ms late; other requests: END
 *   late      the first request on the first connection is answered 2 s
 *             late, with the value "stale", by a child process (so that
 *             the other connections are served meanwhile); every other
 *             request with END
 *   statsflood  STAT lines without end, as fast as the client reads them
 *   bigclose  a VALUE header announcing 2,000,000 bytes (above the client's
 *             default maximum, within memcached's), 1,000 of them, closes
 *   stale     on the first connection: SERVER_ERROR to the first request,
 *             then to the second the reply an old request would have had
 *             (get/gets: END, set: STORED, delete: DELETED, touch: TOUCHED,
 *             incr/decr: 5); on every other connection the fresh answer
 *             (get/gets: VALUE "fresh", set: NOT_STORED, delete and touch:
 *             NOT_FOUND, incr/decr: 42)
 * Exits when stdin reaches EOF or on SIGTERM/SIGKILL. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mc_testlib.h"

/* 0, or -1 once the peer is gone. */
static int put_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static void put(int fd, const char *s, size_t n)
{
    (void)put_all(fd, s, n);
}

static void puts_fd(int fd, const char *s)
{
    put(fd, s, strlen(s));
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int is_storage(const char *verb)
{
    return strcmp(verb, "set") == 0 || strcmp(verb, "add") == 0 ||
           strcmp(verb, "replace") == 0 || strcmp(verb, "append") == 0 ||
           strcmp(verb, "prepend") == 0 || strcmp(verb, "cas") == 0;
}

/* Reads and drops n bytes. 0 or -1 on EOF. */
static int skip_bytes(int fd, unsigned long long n)
{
    char buf[4096];
    while (n > 0) {
        ssize_t r = recv(fd, buf, n < sizeof buf ? (size_t)n : sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        n -= (unsigned long long)r;
    }
    return 0;
}

/* Reads one request line; the verb is the first word, the key the second;
 * a storage command's byte count goes to *bytes (else 0).  0 or -1 on EOF. */
static int read_request_line(int fd, char *verb, char *key, unsigned long long *bytes)
{
    char line[1024];
    size_t n = 0;
    while (n < sizeof line - 1) {
        ssize_t r = recv(fd, line + n, 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        n++;
        if (n >= 2 && line[n - 2] == '\r' && line[n - 1] == '\n')
            break;
    }
    line[n] = '\0';
    unsigned fl, ttl;
    verb[0] = key[0] = '\0';
    *bytes = 0;
    if (sscanf(line, "%31s %250s", verb, key) < 1)
        return -1;
    if (is_storage(verb) && sscanf(line, "%*s %*s %u %u %llu", &fl, &ttl, bytes) != 3)
        *bytes = 0;
    return 0;
}

/* One whole request: the line, and a storage command's data block. */
static int read_request(int fd, char *verb, char *key)
{
    unsigned long long bytes;
    if (read_request_line(fd, verb, key, &bytes) != 0)
        return -1;
    return is_storage(verb) ? skip_bytes(fd, bytes + 2) : 0;
}

static int nconns; /* connections accepted so far ("stale", "late") */

/* "stale": the answer to VERB KEY, as an old request's or as its own. */
static void stale_or_fresh(int c, const char *verb, const char *key, int stale)
{
    char buf[600];
    int cas = strcmp(verb, "gets") == 0;
    if (strcmp(verb, "get") == 0 || cas) {
        if (stale)
            puts_fd(c, "END\r\n");
        else {
            snprintf(buf, sizeof buf, "VALUE %s 0 5%s\r\nfresh\r\nEND\r\n", key,
                     cas ? " 7" : "");
            puts_fd(c, buf);
        }
    } else if (is_storage(verb)) {
        puts_fd(c, stale ? "STORED\r\n" : "NOT_STORED\r\n");
    } else if (strcmp(verb, "delete") == 0) {
        puts_fd(c, stale ? "DELETED\r\n" : "NOT_FOUND\r\n");
    } else if (strcmp(verb, "touch") == 0) {
        puts_fd(c, stale ? "TOUCHED\r\n" : "NOT_FOUND\r\n");
    } else if (strcmp(verb, "incr") == 0 || strcmp(verb, "decr") == 0) {
        puts_fd(c, stale ? "5\r\n" : "42\r\n");
    } else {
        puts_fd(c, "ERROR\r\n");
    }
}

/* Serves connection c; returns 1 to leave it open, unread ("early"). */
static int serve(int c, const char *mode)
{
    char verb[32], key[256], buf[600];
    for (int nreq = 0;; nreq++) {
        if (strcmp(mode, "early") == 0) {
            unsigned long long bytes;
            if (read_request_line(c, verb, key, &bytes) != 0)
                return 0;
            if (strcmp(verb, "set") == 0) {
                puts_fd(c, "SERVER_ERROR object too large for cache\r\n");
                return 1;
            }
            puts_fd(c, "END\r\n");
            continue;
        }
        if (read_request(c, verb, key) != 0)
            return 0;
        if (strcmp(mode, "stale") == 0) {
            if (nconns == 1 && nreq == 0)
                puts_fd(c, "SERVER_ERROR busy\r\n");
            else
                stale_or_fresh(c, verb, key, nconns == 1 && nreq == 1);
        } else if (strcmp(mode, "notfound") == 0) {
            puts_fd(c, "NOT_FOUND\r\n");
        } else if (strcmp(mode, "errlate") == 0) {
            if (strcmp(verb, "gets") != 0) {
                puts_fd(c, "END\r\n");
                continue;
            }
            if (nreq > 0)
                sleep_ms(300);
            puts_fd(c, "SERVER_ERROR busy\r\n");
        } else if (strcmp(mode, "late") == 0) {
            if (nconns == 1 && nreq == 0) {
                sleep_ms(2000);
                snprintf(buf, sizeof buf, "VALUE %s 0 5\r\nstale\r\nEND\r\n", key);
                puts_fd(c, buf);
            } else {
                puts_fd(c, "END\r\n");
            }
        } else if (strcmp(mode, "garbage") == 0) {
            puts_fd(c, "HELLO THERE, I AM NOT MEMCACHED\r\n");
        } else if (strcmp(mode, "binary") == 0) {
            char junk[10000];
            for (size_t i = 0; i < sizeof junk; i++)
                junk[i] = (char)(i * 131 % 251 == 10 ? 0 : i * 131 % 251);
            put(c, junk, sizeof junk);
        } else if (strcmp(mode, "half") == 0) {
            snprintf(buf, sizeof buf, "VALUE %s 0 100\r\n", key);
            puts_fd(c, buf);
            puts_fd(c, "0123456789012345678901234567890123456789012345678");
            return 0;
        } else if (strcmp(mode, "huge") == 0) {
            snprintf(buf, sizeof buf, "VALUE %s 0 2147483648\r\n", key);
            puts_fd(c, buf);
            static char data[65536];
            memset(data, 'x', sizeof data);
            put(c, data, sizeof data);
        } else if (strcmp(mode, "trickle") == 0) {
            snprintf(buf, sizeof buf, "VALUE %s 0 5\r\nhello\r\nEND\r\n", key);
            for (size_t i = 0; buf[i]; i++) {
                put(c, buf + i, 1);
                sleep(1);
            }
        } else if (strcmp(mode, "silent") == 0) {
            /* nothing */
        } else if (strcmp(mode, "wrongkey") == 0) {
            puts_fd(c, "VALUE someone-else 0 1\r\nx\r\nEND\r\n");
        } else if (strcmp(mode, "badterm") == 0) {
            snprintf(buf, sizeof buf, "VALUE %s 0 5\r\nhelloXYEND\r\n", key);
            puts_fd(c, buf);
        } else if (strcmp(mode, "bignum") == 0) {
            puts_fd(c, "1234567890123456789012345\r\n");
        } else if (strcmp(mode, "bigclose") == 0) {
            static char part[1000];
            memset(part, 'b', sizeof part);
            snprintf(buf, sizeof buf, "VALUE %s 0 2000000 7\r\n", key);
            puts_fd(c, buf);
            put(c, part, sizeof part);
            return 0;
        } else if (strcmp(mode, "statsflood") == 0) {
            static char flood[64 * 1024];
            for (size_t i = 0; i + 10 <= sizeof flood; i += 10)
                memcpy(flood + i, "STAT a b\r\n", 10);
            while (put_all(c, flood, sizeof flood / 10 * 10) == 0) {
            }
            return 0;
        } else if (strcmp(mode, "extra") == 0) {
            puts_fd(c, "END\r\nEND\r\n");
        } else {
            return 0; /* close */
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mc_hostile MODE\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_IGN); /* children ("late") are reaped by the kernel */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls >= 0 && strcmp(argv[1], "early") == 0) {
        /* small buffers (inherited by accepted sockets): a large value
         * cannot be parked in them */
        int small = 4096;
        (void)setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    int port = ls < 0 ? -1 : tl_bind_loopback(ls, AF_INET);
    if (port < 0 || listen(ls, 16) != 0) {
        perror("mc_hostile");
        return 1;
    }
    int parked[64];
    size_t nparked = 0;
    printf("%d\n", port);
    fflush(stdout);
    for (;;) {
        struct pollfd p[2] = {{ls, POLLIN, 0}, {0, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return 1;
        if (p[1].revents)
            return 0; /* the test closed our stdin: it is done */
        if (!(p[0].revents & POLLIN))
            continue;
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            continue;
        nconns++;
        if (nconns == 1 && strcmp(argv[1], "late") == 0) {
            pid_t pid = fork();
            if (pid == 0) {
                close(ls);
                serve(c, argv[1]);
                _exit(0);
            }
            close(c); /* the child serves it (or, if fork failed, nobody) */
            continue;
        }
        if (serve(c, argv[1]) && nparked < sizeof parked / sizeof *parked)
            parked[nparked++] = c; /* left open, never read; closed at exit */
        else
            close(c);
    }
}
