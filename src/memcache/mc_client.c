/* mc_client.c - the client object: create/destroy, options, servers, and
 * the helpers every public call shares (hr_mc_begin/hr_mc_end, key check).
 *
 * The commands are in mc_ops.c (single key, fail-over), mc_multi.c
 * (multi-get), mc_admin.c (flush_all, version, stats); their reply
 * handlers in mc_reply.c. */
#include "mc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MC_DEFAULT_CONNECT_MS 1000u
#define MC_DEFAULT_IO_MS 3000u
#define MC_DEFAULT_RETRY_MS 30000u
#define MC_DEFAULT_MAX_VALUE ((size_t)1 << 20)
#define MC_MAX_TIMEOUT_MS 3600000u
#define MC_MAX_RETRY_MS 86400000u
#define MC_MAX_MAX_VALUE HR_MC_MAX_ITEM

/* ---- Lifetime, options ------------------------------------------------ */

static int mc_new(hash_ring_mc_t **out, hash_ring_t *ring, int owns)
{
    hash_ring_mc_t *mc = calloc(1, sizeof *mc);
    if (mc == NULL)
        return HASH_RING_ENOMEM;
    mc->ring = ring;
    mc->owns_ring = owns;
    mc->connect_timeout = MC_DEFAULT_CONNECT_MS;
    mc->io_timeout = MC_DEFAULT_IO_MS;
    mc->retry_interval = MC_DEFAULT_RETRY_MS;
    mc->failover = 1;
    mc->max_value = MC_DEFAULT_MAX_VALUE;
    mc->sweep_at = 64;
    *out = mc;
    return HASH_RING_OK;
}

int hash_ring_mc_create(hash_ring_mc_t **out, hash_ring_dialect_t dialect)
{
    if (out == NULL)
        return HASH_RING_EINVAL;
    hash_ring_t *ring;
    int rc = hash_ring_create(&ring, dialect);
    if (rc != HASH_RING_OK)
        return rc;
    rc = mc_new(out, ring, 1);
    if (rc != HASH_RING_OK)
        hash_ring_destroy(ring);
    return rc;
}

int hash_ring_mc_create_with_ring(hash_ring_mc_t **out, hash_ring_t *ring)
{
    if (out == NULL || ring == NULL)
        return HASH_RING_EINVAL;
    return mc_new(out, ring, 0);
}

void hash_ring_mc_destroy(hash_ring_mc_t *mc)
{
    if (mc == NULL)
        return;
    for (size_t i = 0; i < mc->nservers; i++)
        hr_mc_server_free(mc->servers[i]);
    free(mc->servers);
    free(mc->buckets);
    free(mc->vbuf);
    free(mc->verbuf);
    free(mc->pfds);
    free(mc->mscratch);
    if (mc->owns_ring)
        hash_ring_destroy(mc->ring);
    free(mc);
}

hash_ring_t *hash_ring_mc_ring(const hash_ring_mc_t *mc)
{
    return mc ? mc->ring : NULL;
}

void hash_ring_mc_disconnect(hash_ring_mc_t *mc)
{
    if (mc == NULL)
        return;
    hr_mc_begin(mc); /* a call that cannot fail: no earlier failure's message */
    for (size_t i = 0; i < mc->nservers; i++)
        hr_mc_server_close(mc->servers[i]);
}

const char *hash_ring_mc_last_error(const hash_ring_mc_t *mc)
{
    return mc ? mc->err : "invalid argument";
}

/* A server that left the ring: its entry goes, with its connection and
 * buffers, unless it holds an address given for the name (kept, without
 * them, for a re-add). */
static void mc_drop(hash_ring_mc_t *mc, mc_server *s)
{
    if (!s->addr_given) {
        hr_mc_server_forget(mc, s);
        return;
    }
    hr_mc_server_release(s);
    s->dead = 0;
}

/* Members removed from a shared ring by others leave entries (with
 * connections and buffers) behind: once the table has doubled since the
 * last sweep, entries whose names are not members of the ring's current
 * snapshot are dropped as hash_ring_mc_remove_server() drops them.  The
 * snapshot takes no lock (a lookup's reader section), so this never waits
 * for a membership change; it runs at the start of a call, when no
 * operation holds a pointer to an entry.  Without a snapshot (out of
 * memory) it waits for the next call. */
static void mc_sweep(hash_ring_mc_t *mc)
{
    hash_ring_snapshot_t *snap;
    if (hash_ring_snapshot_acquire(mc->ring, &snap) != HASH_RING_OK)
        return;
    for (size_t i = 0; i < mc->nservers; i++)
        mc->servers[i]->member = 0;
    size_t n = hash_ring_snapshot_node_count(snap);
    for (size_t i = 0; i < n; i++) {
        const char *name;
        size_t len;
        if (hash_ring_snapshot_node(snap, i, &name, &len, NULL, NULL, NULL) != HASH_RING_OK)
            continue;
        mc_server *s = hr_mc_server_get(mc, name, len, 0);
        if (s != NULL)
            s->member = 1;
    }
    hash_ring_snapshot_release(snap);
    for (size_t i = mc->nservers; i-- > 0;) {
        mc_server *s = mc->servers[i];
        if (!s->member)
            mc_drop(mc, s);
    }
    mc->sweep_at = 2 * mc->nservers + 64;
}

/* Every public call starts with hr_mc_begin and returns through hr_mc_end. */
void hr_mc_begin(hash_ring_mc_t *mc)
{
    mc->err[0] = '\0';
    if (mc->nservers >= mc->sweep_at)
        mc_sweep(mc);
}

int hr_mc_end(hash_ring_mc_t *mc, int rc)
{
    if (rc == HASH_RING_OK)
        mc->err[0] = '\0';
    else if (mc->err[0] == '\0')
        hr_mc_errf(mc, "%s", hash_ring_mc_strerror(rc));
    return rc;
}

/* Every option setter: a NULL handle is refused, a value outside min..max
 * says why, and a success clears the message of an earlier failure. */
static int mc_check_option(hash_ring_mc_t *mc, const char *what, unsigned long long v,
                           unsigned long long min, unsigned long long max, const char *unit)
{
    if (mc == NULL)
        return HASH_RING_EINVAL;
    hr_mc_begin(mc);
    if (v < min || v > max) {
        hr_mc_errf(mc, "%s must be %llu..%llu %s", what, min, max, unit);
        return hr_mc_end(mc, HASH_RING_EINVAL);
    }
    return hr_mc_end(mc, HASH_RING_OK);
}

int hash_ring_mc_set_connect_timeout(hash_ring_mc_t *mc, unsigned ms)
{
    int rc = mc_check_option(mc, "connect timeout", ms, 1, MC_MAX_TIMEOUT_MS, "ms");
    if (rc == HASH_RING_OK)
        mc->connect_timeout = ms;
    return rc;
}

int hash_ring_mc_set_io_timeout(hash_ring_mc_t *mc, unsigned ms)
{
    int rc = mc_check_option(mc, "io timeout", ms, 1, MC_MAX_TIMEOUT_MS, "ms");
    if (rc == HASH_RING_OK)
        mc->io_timeout = ms;
    return rc;
}

int hash_ring_mc_set_retry_interval(hash_ring_mc_t *mc, unsigned ms)
{
    int rc = mc_check_option(mc, "retry interval", ms, 0, MC_MAX_RETRY_MS, "ms");
    if (rc == HASH_RING_OK)
        mc->retry_interval = ms;
    return rc;
}

int hash_ring_mc_set_failover(hash_ring_mc_t *mc, int enabled)
{
    int rc = mc_check_option(mc, "failover", enabled != 0, 0, 1, "");
    if (rc == HASH_RING_OK)
        mc->failover = enabled != 0;
    return rc;
}

int hash_ring_mc_set_max_value(hash_ring_mc_t *mc, size_t bytes)
{
    int rc = mc_check_option(mc, "maximum value size", bytes, 1, MC_MAX_MAX_VALUE, "bytes");
    if (rc == HASH_RING_OK)
        mc->max_value = bytes;
    return rc;
}

/* ---- Servers ------------------------------------------------------------ */

int hr_mc_check_server_given(hash_ring_mc_t *mc, const void *server, size_t server_len)
{
    if (server != NULL && server_len > 0)
        return HASH_RING_OK;
    hr_mc_errf(mc, "server name is %s", server == NULL ? "NULL" : "empty");
    return HASH_RING_EINVAL;
}

int hr_mc_check_server_name(hash_ring_mc_t *mc, const void *server, size_t server_len)
{
    hr_mc_addr a;
    char why[96];
    int rc = hr_mc_addr_parse(server, server_len, &a, why, sizeof why);
    if (rc == HASH_RING_OK)
        hr_mc_addr_free(&a);
    else if (rc == HASH_RING_EINVAL)
        hr_mc_errf(mc, "server '%.*s': %s", (int)(server_len > 200 ? 200 : server_len),
                   (const char *)server, why);
    return rc;
}

int hash_ring_mc_add_server(hash_ring_mc_t *mc, const void *server, size_t server_len,
                            uint32_t weight)
{
    if (mc == NULL)
        return HASH_RING_EINVAL;
    hr_mc_begin(mc);
    int rc = hr_mc_check_server_given(mc, server, server_len);
    if (rc != HASH_RING_OK)
        return hr_mc_end(mc, rc);
    mc_server *s = hr_mc_server_get(mc, server, server_len, 0);
    if (s == NULL) {
        rc = hr_mc_check_server_name(mc, server, server_len);
        if (rc != HASH_RING_OK)
            return hr_mc_end(mc, rc);
    } else if (!s->addr_ok) {
        hr_mc_errf(mc, "server %s: %s", s->name, s->addr_err);
        return hr_mc_end(mc, HASH_RING_EINVAL);
    }
    return hr_mc_end(mc, hash_ring_add_node(mc->ring, server, server_len, weight));
}

int hash_ring_mc_remove_server(hash_ring_mc_t *mc, const void *server, size_t server_len)
{
    if (mc == NULL)
        return HASH_RING_EINVAL;
    hr_mc_begin(mc);
    int rc = hr_mc_check_server_given(mc, server, server_len);
    if (rc != HASH_RING_OK)
        return hr_mc_end(mc, rc);
    rc = hash_ring_remove_node(mc->ring, server, server_len);
    if (rc == HASH_RING_OK) {
        mc_server *s = hr_mc_server_get(mc, server, server_len, 0);
        if (s != NULL)
            mc_drop(mc, s);
    }
    return hr_mc_end(mc, rc);
}

int hash_ring_mc_set_address(hash_ring_mc_t *mc, const void *server, size_t server_len,
                             const void *address, size_t address_len)
{
    if (mc == NULL)
        return HASH_RING_EINVAL;
    hr_mc_begin(mc);
    int rc = hr_mc_check_server_given(mc, server, server_len);
    if (rc != HASH_RING_OK)
        return hr_mc_end(mc, rc);
    hr_mc_addr a;
    char why[96];
    rc = hr_mc_addr_parse(address, address_len, &a, why, sizeof why);
    if (rc != HASH_RING_OK) {
        if (rc == HASH_RING_EINVAL)
            hr_mc_errf(mc, "address for server '%.*s': %s", (int)(server_len > 200 ? 200 : server_len),
                    (const char *)server, why);
        return hr_mc_end(mc, rc);
    }
    mc_server *s = hr_mc_server_get(mc, server, server_len, 1);
    if (s == NULL) {
        hr_mc_addr_free(&a);
        return hr_mc_end(mc, HASH_RING_ENOMEM);
    }
    hr_mc_server_close(s);
    hr_mc_addr_free(&s->addr);
    s->addr = a;
    s->addr_ok = 1;
    s->addr_given = 1;
    s->dead = 0;
    return hr_mc_end(mc, HASH_RING_OK);
}

int hr_mc_check_key(hash_ring_mc_t *mc, const void *key, size_t key_len)
{
    if (hr_mc_key_valid(key, key_len))
        return HASH_RING_OK;
    if (key == NULL || key_len == 0)
        hr_mc_errf(mc, "empty key");
    else if (key_len > HASH_RING_MC_MAX_KEY)
        hr_mc_errf(mc, "key of %zu bytes: longer than %d bytes", key_len, HASH_RING_MC_MAX_KEY);
    else
        hr_mc_errf(mc, "key contains a space or control character");
    return HASH_RING_EINVAL;
}
