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

static void put(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void puts_fd(int fd, const char *s)
{
    put(fd, s, strlen(s));
}

/* Reads one request line; the key is the second word. 0 or -1 on EOF. */
static int read_request(int fd, char *key, size_t cap)
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
    char verb[32];
    key[0] = '\0';
    if (sscanf(line, "%31s %250s", verb, key) < 1)
        return -1;
    (void)cap;
    return 0;
}

static void serve(int c, const char *mode)
{
    char key[256], buf[600];
    for (;;) {
        if (read_request(c, key, sizeof key) != 0)
            return;
        if (strcmp(mode, "garbage") == 0) {
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
            return;
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
        } else if (strcmp(mode, "extra") == 0) {
            puts_fd(c, "END\r\nEND\r\n");
        } else {
            return; /* close */
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
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 16) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &al) != 0) {
        perror("mc_hostile");
        return 1;
    }
    printf("%d\n", ntohs(a.sin_port));
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
        serve(c, argv[1]);
        close(c);
    }
}
