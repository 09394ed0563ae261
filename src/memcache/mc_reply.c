/* mc_reply.c - reply handlers of the single-key commands (and flush_all):
 * map one parsed reply to the command's answer (mc_reply_fn in
 * mc_internal.h). */
#include "mc_internal.h"

#include <stdlib.h>
#include <string.h>

/* Server-reported errors end the exchange, and the connection is not
 * reused: after ERROR or CLIENT_ERROR the server may be out of step with
 * us, and after SERVER_ERROR (e.g. a proxy's timeout) the rest of the real
 * reply may still come - as a one-line reply (STORED, DELETED, a number)
 * it could not be told from the next request's answer. */
int hr_mc_server_error(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    const char *what = rep->kind == HR_MC_ERROR          ? "ERROR"
                       : rep->kind == HR_MC_CLIENT_ERROR ? "CLIENT_ERROR"
                                                         : "SERVER_ERROR";
    int len = rep->data_len > 200 ? 200 : (int)rep->data_len;
    hr_mc_errf(mc, "server %s: %s %.*s", s->name, what, len, (const char *)rep->data);
    s->close_after = 1;
    s->result = HASH_RING_ESERVER;
    return 1;
}

int hr_mc_reply_is_error(const hr_mc_reply *rep)
{
    return rep->kind == HR_MC_ERROR || rep->kind == HR_MC_CLIENT_ERROR ||
           rep->kind == HR_MC_SERVER_ERROR;
}

/* One-line answers: OK_KIND gives HASH_RING_OK, the others listed map to
 * their codes, anything else is a protocol error. */
static int mc_one_line(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep,
                       hr_mc_kind ok_kind, unsigned allowed)
{
    if (hr_mc_reply_is_error(rep))
        return hr_mc_server_error(mc, s, rep);
    if (rep->kind == ok_kind) {
        s->result = HASH_RING_OK;
        return 1;
    }
    if (!(allowed & (1u << rep->kind)))
        return HASH_RING_EPROTO;
    switch (rep->kind) {
    case HR_MC_NOT_STORED: s->result = HASH_RING_ENOTSTORED; break;
    case HR_MC_EXISTS: s->result = HASH_RING_ECASEXISTS; break;
    case HR_MC_NOT_FOUND: s->result = HASH_RING_EMISS; break;
    default: return HASH_RING_EPROTO;
    }
    hr_mc_errf(mc, "server %s: %s", s->name, hash_ring_mc_strerror(s->result));
    return 1;
}

#define MC_BIT(k) (1u << (k))

/* Storage replies (memcached protocol.txt): set, add, replace, append and
 * prepend answer STORED or NOT_STORED; only cas also answers EXISTS (the
 * token changed) and NOT_FOUND (no such item).  Any other answer cannot be
 * the reply to this request (e.g. a NOT_FOUND left over from an earlier
 * command): a protocol error, and the connection is dropped. */
int hr_mc_on_store(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    return mc_one_line(mc, s, rep, HR_MC_STORED, MC_BIT(HR_MC_NOT_STORED));
}

int hr_mc_on_cas(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    return mc_one_line(mc, s, rep, HR_MC_STORED,
                       MC_BIT(HR_MC_NOT_STORED) | MC_BIT(HR_MC_EXISTS) | MC_BIT(HR_MC_NOT_FOUND));
}

int hr_mc_on_delete(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    return mc_one_line(mc, s, rep, HR_MC_DELETED, MC_BIT(HR_MC_NOT_FOUND));
}

int hr_mc_on_touch(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    return mc_one_line(mc, s, rep, HR_MC_TOUCHED, MC_BIT(HR_MC_NOT_FOUND));
}

int hr_mc_on_ok(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    return mc_one_line(mc, s, rep, HR_MC_OK, 0);
}

int hr_mc_on_arith(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    if (rep->kind == HR_MC_NUMBER) {
        mc->got_number = rep->number;
        s->result = HASH_RING_OK;
        return 1;
    }
    return mc_one_line(mc, s, rep, HR_MC_NUMBER, MC_BIT(HR_MC_NOT_FOUND));
}

int hr_mc_on_get(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    if (hr_mc_reply_is_error(rep))
        return hr_mc_server_error(mc, s, rep);
    if (rep->kind == HR_MC_END) {
        s->result = mc->got_value == 1 ? HASH_RING_OK
                    : mc->got_value    ? HASH_RING_ETOOBIG
                                       : HASH_RING_EMISS;
        return 1;
    }
    if ((rep->kind != HR_MC_VALUE && rep->kind != HR_MC_VALUE_BIG) || mc->got_value ||
        rep->key_len != mc->op_key_len || memcmp(rep->key, mc->op_key, rep->key_len) != 0 ||
        (mc->op_want_cas && !rep->has_cas))
        return HASH_RING_EPROTO;
    if (rep->kind == HR_MC_VALUE_BIG) {
        /* Stored by a client with a higher limit: this key only fails;
         * the server is fine and keeps its connection (the data is
         * skipped). */
        hr_mc_errf(mc, "server %s: the value is %zu bytes, above this client's maximum of %zu",
                   s->name, rep->data_len, mc->max_value);
        mc->got_value = 2;
        return 0;
    }
    if (mc->vcap < rep->data_len + 1) {
        unsigned char *b = realloc(mc->vbuf, rep->data_len + 1);
        if (b == NULL)
            return HASH_RING_ENOMEM;
        mc->vbuf = b;
        mc->vcap = rep->data_len + 1;
    }
    if (rep->data_len > 0)
        memcpy(mc->vbuf, rep->data, rep->data_len);
    mc->vbuf[rep->data_len] = '\0';
    mc->vlen = rep->data_len;
    mc->got_flags = rep->flags;
    mc->got_cas = rep->cas;
    mc->got_value = 1;
    return 0;
}
