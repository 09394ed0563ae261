/*
 * _hash_ring.c - the C extension behind the Python package hash_ring.
 *
 * Copyright (c) 2026 The hash_ring developers. BSD-3-Clause, see LICENSE.
 *
 * It talks to libhash_ring through include/hash_ring.h only.  Placement is
 * the library's; this file maps Python objects to names and member indices
 * back to the node objects the caller passed in.
 *
 * Consistency: a Ring holds the Snapshot of its current membership; every
 * lookup goes through that Snapshot.  Membership changes run with the GIL
 * held and swap in a new Snapshot before they return, so a lookup from any
 * Python thread sees one whole membership.  Batch lookups hold a reference
 * to their Snapshot and release the GIL around the library call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include <hash_ring.h>

/* ---- Exceptions ------------------------------------------------------ */

static PyObject *HashRingError;      /* base: carries .code */
static PyObject *HashRingValueError; /* EINVAL, EEXIST; also a ValueError */
static PyObject *NodeNotFoundError;  /* ENOTFOUND; also a KeyError */
static PyObject *HashRingMemoryError; /* ENOMEM; also a MemoryError */

/* "__dict__", interned once: a name made per call is kept by the type
 * attribute cache, one more string for many calls. */
static PyObject *str_dict;

/* Raises the exception class for a library status, with .code set. */
static PyObject *raise_status(int code, const char *fmt, ...)
{
    PyObject *cls = HashRingError;
    if (code == HASH_RING_EINVAL || code == HASH_RING_EEXIST)
        cls = HashRingValueError;
    else if (code == HASH_RING_ENOTFOUND)
        cls = NodeNotFoundError;
    else if (code == HASH_RING_ENOMEM)
        cls = HashRingMemoryError;
    PyObject *msg;
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        PyObject *detail = PyUnicode_FromFormatV(fmt, ap);
        va_end(ap);
        if (detail == NULL)
            return NULL;
        msg = PyUnicode_FromFormat("%U: %s", detail, hash_ring_strerror(code));
        Py_DECREF(detail);
    } else {
        msg = PyUnicode_FromString(hash_ring_strerror(code));
    }
    if (msg == NULL)
        return NULL;
    PyObject *exc = PyObject_CallOneArg(cls, msg);
    Py_DECREF(msg);
    if (exc == NULL)
        return NULL;
    PyObject *pycode = PyLong_FromLong(code);
    if (pycode == NULL || PyObject_SetAttrString(exc, "code", pycode) < 0) {
        Py_XDECREF(pycode);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(pycode);
    PyErr_SetObject(cls, exc);
    Py_DECREF(exc);
    return NULL;
}

/* ---- Conversions ----------------------------------------------------- */

/* A key's bytes: str as UTF-8, bytes as they are.  The pointer lives as
 * long as the key object (CPython caches a str's UTF-8 form in it). */
static inline int key_bytes(PyObject *key, const char **p, Py_ssize_t *n)
{
    if (PyUnicode_Check(key)) {
        *p = PyUnicode_AsUTF8AndSize(key, n);
        return *p != NULL ? 0 : -1;
    }
    if (PyBytes_Check(key)) {
        *p = PyBytes_AS_STRING(key);
        *n = PyBytes_GET_SIZE(key);
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "key must be str, bytes or a bytes-like object, not %.100s",
                 Py_TYPE(key)->tp_name);
    return -1;
}

/* A key as str or bytes (a new reference): a bytes-like object (bytearray,
 * memoryview, array) becomes a bytes copy of its contents, as the original's
 * md5.update() hashed any buffer; a copy, so no other thread can change it
 * under a lookup.  Other objects are left for key_bytes to refuse. */
static PyObject *key_object(PyObject *key)
{
    if (!PyUnicode_Check(key) && !PyBytes_Check(key) && PyObject_CheckBuffer(key))
        return PyBytes_FromObject(key);
    return Py_NewRef(key);
}

/* A node's name as a new bytes object: bytes as they are, anything else
 * as str(node) in UTF-8.  The original hashes '%s-%s' % (node, j), which
 * calls str() on a str subclass too (an Enum mixing in str names itself
 * 'Cls.MEMBER', not by its value). */
static PyObject *node_name(PyObject *node)
{
    PyObject *name;
    if (PyBytes_Check(node)) {
        name = Py_NewRef(node);
    } else if (PyUnicode_CheckExact(node)) {
        name = PyUnicode_AsUTF8String(node);
    } else {
        PyObject *s = PyObject_Str(node);
        if (s == NULL)
            return NULL;
        name = PyUnicode_AsUTF8String(s);
        Py_DECREF(s);
    }
    if (name != NULL && PyBytes_GET_SIZE(name) == 0) {
        Py_DECREF(name);
        return raise_status(HASH_RING_EINVAL, "node %R has an empty name", node);
    }
    return name;
}

/* A weight: a whole number in 0 .. 2^32-1, as an int (or any object with
 * __index__) or a float.  The original computes floor(40*n*w / T) with
 * whatever numbers it is given; for whole-number floats that is the integer
 * result, for others a ring no integer weight gives. */
static int weight_value(PyObject *obj, uint32_t *out)
{
    if (PyFloat_Check(obj)) {
        double d = PyFloat_AS_DOUBLE(obj);
        /* NaN fails the range test; the cast is then defined */
        if (!(d >= 0.0 && d <= (double)UINT32_MAX) || (double)(uint32_t)d != d) {
            raise_status(HASH_RING_EINVAL, "weight %R is not a whole number in 0..4294967295",
                         obj);
            return -1;
        }
        *out = (uint32_t)d;
        return 0;
    }
    if (!PyIndex_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "weight must be an int or a whole-number float, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    PyObject *v = PyNumber_Index(obj);
    if (v == NULL)
        return -1;
    int overflow = 0;
    long long ll = PyLong_AsLongLongAndOverflow(v, &overflow);
    Py_DECREF(v);
    if (ll == -1 && PyErr_Occurred())
        return -1;
    if (overflow != 0 || ll < 0 || ll > (long long)UINT32_MAX) {
        raise_status(HASH_RING_EINVAL, "weight %R out of range 0..4294967295", obj);
        return -1;
    }
    *out = (uint32_t)ll;
    return 0;
}

/* The one argument of a METH_FASTCALL | METH_KEYWORDS method, given by
 * position or as kwname= (the original's parameter name); borrowed. */
static PyObject *one_arg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                         const char *fname, const char *kwname)
{
    Py_ssize_t nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs + nkw != 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly one argument (%zd given)", fname,
                     nargs + nkw);
        return NULL;
    }
    if (nkw == 1 && !PyUnicode_Check(PyTuple_GET_ITEM(kwnames, 0))) {
        PyErr_Format(PyExc_TypeError, "%s() keywords must be strings", fname);
        return NULL;
    }
    if (nkw == 1 && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), kwname) != 0) {
        PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname,
                     PyTuple_GET_ITEM(kwnames, 0));
        return NULL;
    }
    return args[0];
}

/* ---- Snapshot -------------------------------------------------------- */

/* How the dialect's lookup picks a point: the first above the key's MD5
 * position (python, uhashring), the first at or above it (the other MD5
 * dialects), or by CRC-32 (nginx, dalli, pecl-memcache: no MD5 position). */
enum { POS_ABOVE, POS_AT_OR_ABOVE, POS_NONE };

typedef struct {
    PyObject_HEAD
    hash_ring_snapshot_t *snap;
    PyObject *members; /* tuple: node objects in membership order */
    PyObject *by_name; /* dict: name bytes -> node object */
    size_t owners;     /* members owning at least one point */
    int pos_mode;      /* get_node_pos: POS_ABOVE, POS_AT_OR_ABOVE or POS_NONE */
} SnapshotObject;

static PyTypeObject SnapshotType;

/* A new Snapshot of the library ring's current membership; the node
 * objects come from by_name, the ring's name -> node dict.  Every
 * allocation that can start a garbage collection (and so run Python code,
 * which may change the membership from this thread or, dropping the GIL,
 * from another) comes before the library snapshot is taken; from there on
 * only bytes, dict and list storage is allocated, so by_name still holds
 * every member of that snapshot when it is read. */
static SnapshotObject *snapshot_of(hash_ring_t *ring, PyObject *by_name)
{
    SnapshotObject *s = PyObject_GC_New(SnapshotObject, &SnapshotType);
    if (s == NULL)
        return NULL;
    s->snap = NULL;
    s->members = NULL;
    s->by_name = PyDict_New();
    s->owners = 0;
    s->pos_mode = POS_ABOVE;
    PyObject *members = PyList_New(0);
    if (s->by_name == NULL || members == NULL)
        goto fail;
    int rc = hash_ring_snapshot_acquire(ring, &s->snap);
    if (rc != HASH_RING_OK) {
        s->snap = NULL;
        raise_status(rc, NULL);
        goto fail;
    }
    hash_ring_dialect_t dialect = HASH_RING_DIALECT_PYTHON;
    (void)hash_ring_snapshot_dialect(s->snap, &dialect);
    if (dialect == HASH_RING_DIALECT_NGINX || dialect == HASH_RING_DIALECT_DALLI ||
        dialect == HASH_RING_DIALECT_PECL_MEMCACHE)
        s->pos_mode = POS_NONE;
    else if (dialect != HASH_RING_DIALECT_PYTHON && dialect != HASH_RING_DIALECT_UHASHRING)
        s->pos_mode = POS_AT_OR_ABOVE;
    size_t n = hash_ring_snapshot_node_count(s->snap);
    for (size_t i = 0; i < n; i++) {
        const char *nm;
        size_t len, points;
        rc = hash_ring_snapshot_node(s->snap, i, &nm, &len, NULL, &points, NULL);
        if (rc != HASH_RING_OK) {
            raise_status(rc, NULL);
            goto fail;
        }
        s->owners += points > 0;
        PyObject *key = PyBytes_FromStringAndSize(nm, (Py_ssize_t)len);
        if (key == NULL)
            goto fail;
        PyObject *node = PyDict_GetItemWithError(by_name, key);
        if (node == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_SystemError, "member %R has no node object", key);
            Py_DECREF(key);
            goto fail;
        }
        int err = PyDict_SetItem(s->by_name, key, node);
        Py_DECREF(key);
        if (err < 0 || PyList_Append(members, node) < 0)
            goto fail;
    }
    s->members = PyList_AsTuple(members); /* every node is held: a collection is harmless */
    Py_DECREF(members);
    members = NULL;
    if (s->members == NULL)
        goto fail;
    PyObject_GC_Track(s);
    return s;
fail:
    Py_XDECREF(members);
    PyObject_GC_Track(s);
    Py_DECREF(s);
    return NULL;
}

static int snapshot_traverse(SnapshotObject *s, visitproc visit, void *arg)
{
    Py_VISIT(s->members);
    Py_VISIT(s->by_name);
    return 0;
}

static int snapshot_clear(SnapshotObject *s)
{
    Py_CLEAR(s->members);
    Py_CLEAR(s->by_name);
    return 0;
}

static void snapshot_dealloc(SnapshotObject *s)
{
    PyObject_GC_UnTrack(s);
    snapshot_clear(s);
    hash_ring_snapshot_release(s->snap);
    PyObject_GC_Del(s);
}

/* The node object for a name the library returned. */
static PyObject *snap_node_by_name(SnapshotObject *s, const char *nm, size_t len)
{
    PyObject *key = PyBytes_FromStringAndSize(nm, (Py_ssize_t)len);
    if (key == NULL)
        return NULL;
    PyObject *node = PyDict_GetItemWithError(s->by_name, key);
    if (node == NULL && !PyErr_Occurred())
        PyErr_Format(PyExc_SystemError, "member %R has no node object", key);
    Py_DECREF(key);
    return Py_XNewRef(node);
}

static PyObject *snap_get_node(SnapshotObject *s, PyObject *key)
{
    /* the original answers None on an empty ring before hashing the key */
    if (hash_ring_snapshot_point_count(s->snap) == 0)
        Py_RETURN_NONE;
    const char *p;
    Py_ssize_t n;
    if (key_bytes(key, &p, &n) < 0)
        return NULL;
    const void *keys[1] = {p};
    size_t lens[1] = {(size_t)n};
    size_t idx;
    int rc = hash_ring_snapshot_get_index_batch(s->snap, keys, lens, 1, &idx);
    if (rc == HASH_RING_OK && idx < (size_t)PyTuple_GET_SIZE(s->members))
        return Py_NewRef(PyTuple_GET_ITEM(s->members, (Py_ssize_t)idx));
    if (rc == HASH_RING_EEMPTY)
        Py_RETURN_NONE;
    if (rc == HASH_RING_OK)
        return PyErr_Format(PyExc_SystemError, "member index %zu out of range", idx);
    return raise_status(rc, NULL);
}

/* Index into the sorted list of points (duplicates included) of the point
 * whose owner get_node answers, 0 past the end: the first point strictly
 * above the key's position (bisect_right, as the original's get_node_pos)
 * or the first at or above it (bisect_left), as the dialect looks.  None on
 * an empty ring. */
static PyObject *snap_get_node_pos(SnapshotObject *s, PyObject *key)
{
    if (s->pos_mode == POS_NONE)
        return raise_status(HASH_RING_EINVAL,
                            "get_node_pos: this dialect places keys by CRC-32, not by the "
                            "MD5 position");
    size_t count = hash_ring_snapshot_point_count(s->snap);
    if (count == 0)
        Py_RETURN_NONE; /* before the key, as the original */
    const char *p;
    Py_ssize_t n;
    if (key_bytes(key, &p, &n) < 0)
        return NULL;
    uint32_t pos;
    int rc = hash_ring_position(p, (size_t)n, &pos);
    if (rc != HASH_RING_OK)
        return raise_status(rc, NULL);
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t pt;
        rc = hash_ring_snapshot_point(s->snap, mid, &pt, NULL, NULL);
        if (rc != HASH_RING_OK)
            return raise_status(rc, NULL);
        if (pt < pos || (s->pos_mode == POS_ABOVE && pt == pos))
            lo = mid + 1;
        else
            hi = mid;
    }
    return PyLong_FromSize_t(lo == count ? 0 : lo);
}

/* Up to max distinct nodes in ring order from the key (all when max < 0). */
static PyObject *snap_get_nodes_impl(SnapshotObject *s, PyObject *key, Py_ssize_t max)
{
    const char *p;
    Py_ssize_t n;
    if (key_bytes(key, &p, &n) < 0)
        return NULL;
    /* asking for no more than the owners lets the walk stop early */
    size_t want = (max < 0 || (size_t)max > s->owners) ? s->owners : (size_t)max;
    const char *stack_nodes[64];
    size_t stack_lens[64];
    const char **nodes = stack_nodes;
    size_t *lens = stack_lens;
    if (want > 64) {
        nodes = PyMem_Malloc(want * sizeof *nodes);
        lens = PyMem_Malloc(want * sizeof *lens);
        if (nodes == NULL || lens == NULL) {
            PyMem_Free(nodes);
            PyMem_Free(lens);
            return PyErr_NoMemory();
        }
    }
    size_t got = 0;
    PyObject *result = NULL;
    int rc = hash_ring_snapshot_get_nodes(s->snap, p, (size_t)n, nodes, lens, want, &got);
    if (rc == HASH_RING_EEMPTY) {
        result = PyList_New(0);
    } else if (rc != HASH_RING_OK) {
        raise_status(rc, NULL);
    } else if ((result = PyList_New((Py_ssize_t)got)) != NULL) {
        for (size_t i = 0; i < got; i++) {
            PyObject *node = snap_node_by_name(s, nodes[i], lens[i]);
            if (node == NULL) {
                Py_CLEAR(result);
                break;
            }
            PyList_SET_ITEM(result, (Py_ssize_t)i, node);
        }
    }
    if (nodes != stack_nodes) {
        PyMem_Free(nodes);
        PyMem_Free(lens);
    }
    return result;
}

static PyObject *snap_get_node_kw(SnapshotObject *s, PyObject *const *args, Py_ssize_t nargs,
                                  PyObject *kwnames)
{
    PyObject *key = one_arg(args, nargs, kwnames, "get_node", "string_key");
    if (key == NULL || (key = key_object(key)) == NULL)
        return NULL;
    PyObject *res = snap_get_node(s, key);
    Py_DECREF(key);
    return res;
}

static PyObject *snap_get_node_pos_kw(SnapshotObject *s, PyObject *const *args,
                                      Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *key = one_arg(args, nargs, kwnames, "get_node_pos", "string_key");
    if (key == NULL || (key = key_object(key)) == NULL)
        return NULL;
    PyObject *res = snap_get_node_pos(s, key);
    Py_DECREF(key);
    return res;
}

static PyObject *snap_get_nodes(SnapshotObject *s, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"key", "n", NULL};
    PyObject *key;
    PyObject *nobj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:get_nodes", kwlist, &key, &nobj))
        return NULL;
    Py_ssize_t max = -1;
    if (nobj != Py_None) {
        if (!PyLong_Check(nobj))
            return PyErr_Format(PyExc_TypeError, "n must be int or None, not %.100s",
                                Py_TYPE(nobj)->tp_name);
        max = PyLong_AsSsize_t(nobj);
        if (max == -1 && PyErr_Occurred())
            return NULL;
        if (max < 0)
            return raise_status(HASH_RING_EINVAL, "n=%zd is negative", max);
    }
    if ((key = key_object(key)) == NULL)
        return NULL;
    PyObject *res = snap_get_nodes_impl(s, key, max);
    Py_DECREF(key);
    return res;
}

/* One batch call for every key; the GIL is released around it.  The keys
 * are held in a tuple of our own (bytes-like ones as bytes copies in a list
 * of our own), so no other thread can free or change one. */
static PyObject *snap_get_node_many(SnapshotObject *s, PyObject *keys_in)
{
    if (PyUnicode_Check(keys_in) || PyBytes_Check(keys_in))
        return PyErr_Format(PyExc_TypeError, "keys must be an iterable of keys, not one %.100s",
                            Py_TYPE(keys_in)->tp_name);
    PyObject *keys = PySequence_Tuple(keys_in);
    if (keys == NULL)
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(keys);
    const void **ptrs = PyMem_Malloc((size_t)(count ? count : 1) * sizeof *ptrs);
    size_t *lens = PyMem_Malloc((size_t)(count ? count : 1) * sizeof *lens);
    size_t *idx = PyMem_Malloc((size_t)(count ? count : 1) * sizeof *idx);
    PyObject *result = NULL, *copies = NULL;
    if (ptrs == NULL || lens == NULL || idx == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *key = PyTuple_GET_ITEM(keys, i);
        if (!PyUnicode_Check(key) && !PyBytes_Check(key) && PyObject_CheckBuffer(key)) {
            if (copies == NULL && (copies = PyList_New(0)) == NULL)
                goto done;
            key = key_object(key);
            int err = key == NULL || PyList_Append(copies, key) < 0;
            Py_XDECREF(key); /* the list holds it */
            if (err)
                goto done;
        }
        const char *p;
        Py_ssize_t n;
        if (key_bytes(key, &p, &n) < 0)
            goto done;
        ptrs[i] = p;
        lens[i] = (size_t)n;
    }
    int rc;
    Py_INCREF(s); /* the snapshot outlives the call whatever other threads do */
    Py_BEGIN_ALLOW_THREADS
    rc = hash_ring_snapshot_get_index_batch(s->snap, ptrs, lens, (size_t)count, idx);
    Py_END_ALLOW_THREADS
    if (rc == HASH_RING_EEMPTY) {
        result = PyList_New(count);
        for (Py_ssize_t i = 0; result != NULL && i < count; i++)
            PyList_SET_ITEM(result, i, Py_NewRef(Py_None));
    } else if (rc != HASH_RING_OK) {
        raise_status(rc, NULL);
    } else if ((result = PyList_New(count)) != NULL) {
        size_t members = (size_t)PyTuple_GET_SIZE(s->members);
        for (Py_ssize_t i = 0; i < count; i++) {
            if (idx[i] >= members) {
                Py_CLEAR(result);
                PyErr_Format(PyExc_SystemError, "member index %zu out of range", idx[i]);
                break;
            }
            PyList_SET_ITEM(result, i, Py_NewRef(PyTuple_GET_ITEM(s->members, (Py_ssize_t)idx[i])));
        }
    }
    Py_DECREF(s);
done:
    PyMem_Free(ptrs);
    PyMem_Free(lens);
    PyMem_Free(idx);
    Py_XDECREF(copies);
    Py_DECREF(keys);
    return result;
}

static PyObject *snap_gen_key(PyObject *unused, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    (void)unused;
    PyObject *key = one_arg(args, nargs, kwnames, "gen_key", "key");
    if (key == NULL || (key = key_object(key)) == NULL)
        return NULL;
    const char *p;
    Py_ssize_t n;
    uint32_t pos = 0;
    int bad = key_bytes(key, &p, &n) < 0;
    int rc = bad ? HASH_RING_OK : hash_ring_position(p, (size_t)n, &pos);
    Py_DECREF(key);
    if (bad)
        return NULL;
    if (rc != HASH_RING_OK)
        return raise_status(rc, NULL);
    return PyLong_FromUnsignedLong(pos);
}

/* [(point, owner), ...] in ring order, duplicates included. */
static PyObject *snap_points(SnapshotObject *s, PyObject *unused)
{
    (void)unused;
    size_t count = hash_ring_snapshot_point_count(s->snap);
    PyObject *result = PyList_New((Py_ssize_t)count);
    if (result == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        uint32_t pt;
        const char *nm;
        size_t len;
        int rc = hash_ring_snapshot_point(s->snap, i, &pt, &nm, &len);
        if (rc != HASH_RING_OK) {
            Py_DECREF(result);
            return raise_status(rc, NULL);
        }
        PyObject *node = snap_node_by_name(s, nm, len);
        PyObject *item = node ? Py_BuildValue("(kN)", (unsigned long)pt, node) : NULL;
        if (item == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyList_SET_ITEM(result, (Py_ssize_t)i, item);
    }
    return result;
}

/* {node: value} for one field of hash_ring_snapshot_node. */
enum member_field { FIELD_WEIGHT, FIELD_SHARE, FIELD_POINTS };

static PyObject *snap_member_dict(SnapshotObject *s, enum member_field field)
{
    PyObject *result = PyDict_New();
    if (result == NULL)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(s->members);
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t weight;
        size_t points;
        uint64_t share;
        int rc = hash_ring_snapshot_node(s->snap, (size_t)i, NULL, NULL, &weight, &points, &share);
        if (rc != HASH_RING_OK) {
            Py_DECREF(result);
            return raise_status(rc, NULL);
        }
        PyObject *v = field == FIELD_WEIGHT  ? PyLong_FromUnsignedLong(weight)
                      : field == FIELD_SHARE ? PyLong_FromUnsignedLongLong(share)
                                             : PyLong_FromSize_t(points);
        if (v == NULL || PyDict_SetItem(result, PyTuple_GET_ITEM(s->members, i), v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(result);
            return NULL;
        }
        Py_DECREF(v);
    }
    return result;
}

static PyObject *snap_shares(SnapshotObject *s, PyObject *unused)
{
    (void)unused;
    return snap_member_dict(s, FIELD_SHARE);
}

static PyObject *snap_weights_get(SnapshotObject *s, void *unused)
{
    (void)unused;
    return snap_member_dict(s, FIELD_WEIGHT);
}

static PyObject *snap_point_counts(SnapshotObject *s, PyObject *unused)
{
    (void)unused;
    return snap_member_dict(s, FIELD_POINTS);
}

static PyObject *snap_nodes_get(SnapshotObject *s, void *unused)
{
    (void)unused;
    return PySequence_List(s->members);
}

static PyObject *snap_dialect_get(SnapshotObject *s, void *unused)
{
    (void)unused;
    hash_ring_dialect_t d;
    int rc = hash_ring_snapshot_dialect(s->snap, &d);
    if (rc != HASH_RING_OK)
        return raise_status(rc, NULL);
    return PyUnicode_FromString(hash_ring_dialect_name(d));
}

static PyObject *snap_point_count_get(SnapshotObject *s, void *unused)
{
    (void)unused;
    return PyLong_FromSize_t(hash_ring_snapshot_point_count(s->snap));
}

static Py_ssize_t snap_len(SnapshotObject *s)
{
    return PyTuple_GET_SIZE(s->members);
}

/* `node in snapshot`: a member of that name (str(node), as hashed). */
static int snap_contains(SnapshotObject *s, PyObject *node)
{
    PyObject *name = node_name(node);
    if (name == NULL) {
        if (PyErr_ExceptionMatches(HashRingValueError)) {
            PyErr_Clear(); /* an empty name is never a member */
            return 0;
        }
        return -1;
    }
    int r = PyDict_Contains(s->by_name, name);
    Py_DECREF(name);
    return r;
}

#define GET_NODE_DOC "get_node(key) -> the node object owning key, or None on an empty ring."
#define GET_NODE_POS_DOC                                                                       \
    "get_node_pos(key) -> index of the key's point in the sorted list of points\n"            \
    "(duplicates counted, as the original's _sorted_keys), or None on an empty ring."
#define GET_NODES_DOC                                                                          \
    "get_nodes(key, n=None) -> list of up to n distinct nodes in ring order from the key\n"   \
    "(all members owning points when n is None): the replica / fail-over order."
#define GET_NODE_MANY_DOC                                                                      \
    "get_node_many(keys) -> list of the node owning each key, from one batch call of the\n"   \
    "library with the GIL released; every key sees one membership."
#define GEN_KEY_DOC "gen_key(key) -> the key's 32-bit ring position (int)."

static PyMethodDef snapshot_methods[] = {
    {"get_node", (PyCFunction)(void (*)(void))snap_get_node_kw, METH_FASTCALL | METH_KEYWORDS,
     GET_NODE_DOC},
    {"get_node_pos", (PyCFunction)(void (*)(void))snap_get_node_pos_kw,
     METH_FASTCALL | METH_KEYWORDS, GET_NODE_POS_DOC},
    {"get_nodes", (PyCFunction)(void (*)(void))snap_get_nodes, METH_VARARGS | METH_KEYWORDS,
     GET_NODES_DOC},
    {"get_node_many", (PyCFunction)snap_get_node_many, METH_O, GET_NODE_MANY_DOC},
    {"gen_key", (PyCFunction)(void (*)(void))snap_gen_key, METH_FASTCALL | METH_KEYWORDS,
     GEN_KEY_DOC},
    {"points", (PyCFunction)snap_points, METH_NOARGS,
     "points() -> [(position, node), ...] in ring order, duplicates included."},
    {"shares", (PyCFunction)snap_shares, METH_NOARGS,
     "shares() -> {node: number of the 2**32 key positions it owns} (exact)."},
    {"point_counts", (PyCFunction)snap_point_counts, METH_NOARGS,
     "point_counts() -> {node: number of continuum points it contributes}."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef snapshot_getset[] = {
    {"nodes", (getter)snap_nodes_get, NULL, "members in membership order (a new list)", NULL},
    {"weights", (getter)snap_weights_get, NULL, "{node: weight} (a new dict)", NULL},
    {"dialect", (getter)snap_dialect_get, NULL, "the dialect's name", NULL},
    {"point_count", (getter)snap_point_count_get, NULL,
     "number of continuum points, duplicates included (0: an empty ring)", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PySequenceMethods snapshot_as_sequence = {
    .sq_length = (lenfunc)snap_len,
    .sq_contains = (objobjproc)snap_contains,
};

static PyTypeObject SnapshotType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hash_ring.Snapshot",
    .tp_basicsize = sizeof(SnapshotObject),
    .tp_dealloc = (destructor)snapshot_dealloc,
    .tp_as_sequence = &snapshot_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "An immutable view of one membership of a ring (ring.snapshot()).",
    .tp_traverse = (traverseproc)snapshot_traverse,
    .tp_clear = (inquiry)snapshot_clear,
    .tp_methods = snapshot_methods,
    .tp_getset = snapshot_getset,
};

/* ---- Ring ------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    hash_ring_t *ring;
    SnapshotObject *current; /* the membership every lookup sees */
    PyObject *by_name;       /* dict: name bytes -> node object, the members */
} RingObject;

static PyObject *ring_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    RingObject *r = (RingObject *)type->tp_alloc(type, 0);
    if (r == NULL)
        return NULL;
    r->ring = NULL;
    r->current = NULL;
    r->by_name = NULL;
    return (PyObject *)r;
}

static int ring_traverse(RingObject *r, visitproc visit, void *arg)
{
    Py_VISIT(r->current);
    Py_VISIT(r->by_name);
    return 0;
}

static int ring_clear(RingObject *r)
{
    Py_CLEAR(r->current);
    Py_CLEAR(r->by_name);
    return 0;
}

static void ring_dealloc(RingObject *r)
{
    PyObject_GC_UnTrack(r);
    ring_clear(r);
    hash_ring_destroy(r->ring);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

/* Publishes the library's current membership to Python. */
static int ring_refresh(RingObject *r)
{
    SnapshotObject *s = snapshot_of(r->ring, r->by_name);
    if (s == NULL)
        return -1;
    Py_XSETREF(r->current, s);
    return 0;
}

#define RING_READY(r, ret)                                                                     \
    do {                                                                                       \
        if ((r)->current == NULL) {                                                            \
            PyErr_SetString(PyExc_RuntimeError, "HashRing.__init__ was not called");           \
            return ret;                                                                        \
        }                                                                                      \
    } while (0)

/* The weight of node from the weights mapping (missing: 1), as the
 * original's weights.get(node, 1). */
static int weight_of(PyObject *weights, PyObject *node, uint32_t *out)
{
    if (weights == NULL || weights == Py_None) {
        *out = 1;
        return 0;
    }
    PyObject *w;
    if (PyDict_Check(weights)) {
        w = PyDict_GetItemWithError(weights, node);
        if (w == NULL) {
            if (PyErr_Occurred())
                return -1;
            *out = 1;
            return 0;
        }
        Py_INCREF(w);
    } else {
        w = PyObject_GetItem(weights, node);
        if (w == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_KeyError))
                return -1;
            PyErr_Clear();
            *out = 1;
            return 0;
        }
    }
    int rc = weight_value(w, out);
    Py_DECREF(w);
    return rc;
}

static int ring_init(RingObject *r, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"nodes", "weights", "dialect", NULL};
    PyObject *nodes = Py_None, *weights = Py_None;
    const char *dialect_name = "python";
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OOs:HashRing", kwlist, &nodes, &weights,
                                     &dialect_name))
        return -1;
    hash_ring_dialect_t dialect;
    if (hash_ring_dialect_from_name(dialect_name, &dialect) != HASH_RING_OK) {
        raise_status(HASH_RING_EINVAL, "unknown dialect '%s'", dialect_name);
        return -1;
    }
    if (weights != Py_None) {
        /* as the original's `if not weights: weights = {}` */
        int truth = PyObject_IsTrue(weights);
        if (truth < 0)
            return -1;
        if (truth == 0)
            weights = Py_None;
    }
    if (weights != Py_None && !PyMapping_Check(weights)) {
        PyErr_Format(PyExc_TypeError, "weights must be a mapping or None, not %.100s",
                     Py_TYPE(weights)->tp_name);
        return -1;
    }
    PyObject *seq = NULL, *by_name = NULL;
    const void **names = NULL;
    size_t *lens = NULL;
    uint32_t *ws = NULL;
    hash_ring_t *ring = NULL;
    int ok = -1;

    if (nodes == Py_None)
        seq = PyTuple_New(0);
    else if (PyUnicode_Check(nodes) || PyBytes_Check(nodes))
        PyErr_SetString(PyExc_TypeError, "nodes must be a list of nodes, not a single string");
    else
        seq = PySequence_Tuple(nodes);
    by_name = PyDict_New();
    if (seq == NULL || by_name == NULL)
        goto done;
    Py_ssize_t n = PyTuple_GET_SIZE(seq);
    size_t alloc = (size_t)(n ? n : 1);
    names = PyMem_Malloc(alloc * sizeof *names);
    lens = PyMem_Malloc(alloc * sizeof *lens);
    ws = PyMem_Malloc(alloc * sizeof *ws);
    if (names == NULL || lens == NULL || ws == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *node = PyTuple_GET_ITEM(seq, i);
        /* nodes key the weights mapping and the dicts this package returns:
         * an unhashable one is a TypeError now, as in the original */
        if (PyObject_Hash(node) == -1)
            goto done;
        PyObject *name = node_name(node);
        if (name == NULL)
            goto done;
        PyObject *prev = PyDict_GetItemWithError(by_name, name);
        if (prev != NULL) {
            raise_status(HASH_RING_EEXIST, "nodes %R and %R have the same name %R", prev, node,
                         name);
            Py_DECREF(name);
            goto done;
        }
        if (PyErr_Occurred() || PyDict_SetItem(by_name, name, node) < 0 ||
            weight_of(weights, node, &ws[i]) < 0) {
            Py_DECREF(name);
            goto done;
        }
        /* by_name holds the name, so its bytes stay put */
        names[i] = PyBytes_AS_STRING(name);
        lens[i] = (size_t)PyBytes_GET_SIZE(name);
        Py_DECREF(name);
    }
    int rc = hash_ring_create(&ring, dialect);
    if (rc == HASH_RING_OK)
        rc = hash_ring_add_nodes(ring, names, lens, ws, (size_t)n);
    if (rc != HASH_RING_OK) {
        raise_status(rc, NULL);
        goto done;
    }
    /* Build the whole new state first, then swap it in with no Python code
     * in between (a second __init__ replaces the first): a failure leaves
     * the ring as it was, and code run by an allocation's garbage
     * collection never sees a ring without a snapshot. */
    SnapshotObject *snap = snapshot_of(ring, by_name);
    if (snap == NULL)
        goto done;
    hash_ring_t *old_ring = r->ring;
    PyObject *old_by_name = r->by_name;
    SnapshotObject *old_current = r->current;
    r->ring = ring;
    r->by_name = by_name;
    r->current = snap;
    ring = NULL;
    by_name = NULL;
    ok = 0;
    Py_XDECREF(old_current);
    Py_XDECREF(old_by_name);
    hash_ring_destroy(old_ring);
done:
    hash_ring_destroy(ring);
    PyMem_Free(names);
    PyMem_Free(lens);
    PyMem_Free(ws);
    Py_XDECREF(seq);
    Py_XDECREF(by_name);
    return ok;
}

/* The ring's wrappers hold their own reference to the current snapshot:
 * converting a key or hashing a node may run Python code (a finalizer, a
 * __hash__) that changes the membership and drops the ring's reference. */
#define WITH_CURRENT(r, call)                                                                  \
    do {                                                                                       \
        RING_READY(r, NULL);                                                                   \
        SnapshotObject *cur_ = (SnapshotObject *)Py_NewRef((PyObject *)(r)->current);          \
        PyObject *res_ = call;                                                                 \
        Py_DECREF(cur_);                                                                       \
        return res_;                                                                           \
    } while (0)

static PyObject *ring_get_node(RingObject *r, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    WITH_CURRENT(r, snap_get_node_kw(cur_, args, nargs, kwnames));
}

static PyObject *ring_get_node_pos(RingObject *r, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames)
{
    WITH_CURRENT(r, snap_get_node_pos_kw(cur_, args, nargs, kwnames));
}

static PyObject *ring_get_nodes(RingObject *r, PyObject *args, PyObject *kwds)
{
    WITH_CURRENT(r, snap_get_nodes(cur_, args, kwds));
}

static PyObject *ring_get_node_many(RingObject *r, PyObject *keys)
{
    WITH_CURRENT(r, snap_get_node_many(cur_, keys));
}

static PyObject *ring_snapshot(RingObject *r, PyObject *unused)
{
    (void)unused;
    RING_READY(r, NULL);
    return Py_NewRef((PyObject *)r->current);
}

static PyObject *ring_shares(RingObject *r, PyObject *unused)
{
    (void)unused;
    WITH_CURRENT(r, snap_member_dict(cur_, FIELD_SHARE));
}

static PyObject *ring_points(RingObject *r, PyObject *unused)
{
    (void)unused;
    WITH_CURRENT(r, snap_points(cur_, NULL));
}

static PyObject *ring_point_counts(RingObject *r, PyObject *unused)
{
    (void)unused;
    WITH_CURRENT(r, snap_member_dict(cur_, FIELD_POINTS));
}

static PyObject *ring_add_node(RingObject *r, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"node", "weight", NULL};
    PyObject *node, *wobj = NULL;
    RING_READY(r, NULL);
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:add_node", kwlist, &node, &wobj))
        return NULL;
    uint32_t weight = 1;
    if (wobj != NULL && weight_value(wobj, &weight) < 0)
        return NULL;
    if (PyObject_Hash(node) == -1)
        return NULL;
    PyObject *name = node_name(node);
    if (name == NULL)
        return NULL;
    PyObject *prev = PyDict_GetItemWithError(r->by_name, name);
    if (prev != NULL || PyErr_Occurred()) {
        if (prev != NULL)
            raise_status(HASH_RING_EEXIST, "%R (name %R, as %R)", node, name, prev);
        Py_DECREF(name);
        return NULL;
    }
    if (PyDict_SetItem(r->by_name, name, node) < 0) {
        Py_DECREF(name);
        return NULL;
    }
    int rc = hash_ring_add_node(r->ring, PyBytes_AS_STRING(name),
                                (size_t)PyBytes_GET_SIZE(name), weight);
    if (rc != HASH_RING_OK) {
        if (PyDict_DelItem(r->by_name, name) < 0)
            PyErr_Clear();
        Py_DECREF(name);
        return raise_status(rc, "add_node(%R)", node);
    }
    Py_DECREF(name);
    if (ring_refresh(r) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *ring_remove_node(RingObject *r, PyObject *node)
{
    RING_READY(r, NULL);
    PyObject *name = node_name(node);
    if (name == NULL)
        return NULL;
    int rc = hash_ring_remove_node(r->ring, PyBytes_AS_STRING(name),
                                   (size_t)PyBytes_GET_SIZE(name));
    if (rc != HASH_RING_OK) {
        Py_DECREF(name);
        return raise_status(rc, "remove_node(%R)", node);
    }
    /* the old snapshot keeps its own references to the node */
    int err = PyDict_DelItem(r->by_name, name);
    Py_DECREF(name);
    if (err < 0 || ring_refresh(r) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *ring_set_weight(RingObject *r, PyObject *args)
{
    PyObject *node, *wobj;
    RING_READY(r, NULL);
    if (!PyArg_ParseTuple(args, "OO:set_weight", &node, &wobj))
        return NULL;
    uint32_t weight;
    if (weight_value(wobj, &weight) < 0)
        return NULL;
    PyObject *name = node_name(node);
    if (name == NULL)
        return NULL;
    int rc = hash_ring_set_weight(r->ring, PyBytes_AS_STRING(name),
                                  (size_t)PyBytes_GET_SIZE(name), weight);
    Py_DECREF(name);
    if (rc != HASH_RING_OK)
        return raise_status(rc, "set_weight(%R)", node);
    if (ring_refresh(r) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *ring_nodes_get(RingObject *r, void *unused)
{
    (void)unused;
    RING_READY(r, NULL);
    return PySequence_List(r->current->members);
}

static PyObject *ring_weights_get(RingObject *r, void *unused)
{
    (void)unused;
    WITH_CURRENT(r, snap_member_dict(cur_, FIELD_WEIGHT));
}

static PyObject *ring_dialect_get(RingObject *r, void *unused)
{
    (void)unused;
    RING_READY(r, NULL);
    return snap_dialect_get(r->current, NULL);
}

static Py_ssize_t ring_len(RingObject *r)
{
    RING_READY(r, -1);
    return PyTuple_GET_SIZE(r->current->members);
}

static int ring_contains(RingObject *r, PyObject *node)
{
    RING_READY(r, -1);
    SnapshotObject *cur = (SnapshotObject *)Py_NewRef((PyObject *)r->current);
    int res = snap_contains(cur, node);
    Py_DECREF(cur);
    return res;
}

static PyObject *ring_repr(RingObject *r)
{
    if (r->current == NULL) /* repr never raises: tracebacks and debuggers call it */
        return PyUnicode_FromFormat("<%s, not initialised>", Py_TYPE(r)->tp_name);
    hash_ring_dialect_t d = HASH_RING_DIALECT_PYTHON;
    (void)hash_ring_snapshot_dialect(r->current->snap, &d);
    const char *name = hash_ring_dialect_name(d);
    return PyUnicode_FromFormat("<%s %s, %zd nodes>", Py_TYPE(r)->tp_name, name ? name : "?",
                                PyTuple_GET_SIZE(r->current->members));
}

/* Pickling and copy: the ring is rebuilt from (nodes, weights, dialect);
 * an instance __dict__ (a Python subclass) travels as the state. */
static PyObject *ring_reduce(RingObject *r, PyObject *unused)
{
    (void)unused;
    RING_READY(r, NULL);
    SnapshotObject *cur = (SnapshotObject *)Py_NewRef((PyObject *)r->current);
    PyObject *nodes = PySequence_List(cur->members);
    PyObject *weights = snap_member_dict(cur, FIELD_WEIGHT);
    PyObject *dialect = snap_dialect_get(cur, NULL);
    Py_DECREF(cur);
    PyObject *args = (nodes && weights && dialect) ? PyTuple_Pack(3, nodes, weights, dialect)
                                                   : NULL;
    Py_XDECREF(nodes);
    Py_XDECREF(weights);
    Py_XDECREF(dialect);
    if (args == NULL)
        return NULL;
    PyObject *state = PyObject_GetAttr((PyObject *)r, str_dict);
    if (state == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            Py_DECREF(args);
            return NULL;
        }
        PyErr_Clear();
        state = Py_NewRef(Py_None);
    } else if (PyDict_Check(state) && PyDict_GET_SIZE(state) == 0) {
        Py_SETREF(state, Py_NewRef(Py_None));
    }
    return Py_BuildValue("(ONN)", (PyObject *)Py_TYPE(r), args, state);
}

static PyMethodDef ring_methods[] = {
    {"get_node", (PyCFunction)(void (*)(void))ring_get_node, METH_FASTCALL | METH_KEYWORDS,
     GET_NODE_DOC},
    {"get_node_pos", (PyCFunction)(void (*)(void))ring_get_node_pos,
     METH_FASTCALL | METH_KEYWORDS, GET_NODE_POS_DOC},
    {"get_nodes", (PyCFunction)(void (*)(void))ring_get_nodes, METH_VARARGS | METH_KEYWORDS,
     GET_NODES_DOC},
    {"get_node_many", (PyCFunction)ring_get_node_many, METH_O, GET_NODE_MANY_DOC},
    {"gen_key", (PyCFunction)(void (*)(void))snap_gen_key, METH_FASTCALL | METH_KEYWORDS,
     GEN_KEY_DOC},
    {"add_node", (PyCFunction)(void (*)(void))ring_add_node, METH_VARARGS | METH_KEYWORDS,
     "add_node(node, weight=1): adds a member (one rebuild)."},
    {"remove_node", (PyCFunction)ring_remove_node, METH_O,
     "remove_node(node): removes the member named str(node)."},
    {"set_weight", (PyCFunction)ring_set_weight, METH_VARARGS,
     "set_weight(node, weight): changes a member's weight, keeping its place."},
    {"snapshot", (PyCFunction)ring_snapshot, METH_NOARGS,
     "snapshot() -> an immutable Snapshot of the current membership."},
    {"shares", (PyCFunction)ring_shares, METH_NOARGS,
     "shares() -> {node: number of the 2**32 key positions it owns} (exact)."},
    {"points", (PyCFunction)ring_points, METH_NOARGS,
     "points() -> [(position, node), ...] in ring order, duplicates included."},
    {"point_counts", (PyCFunction)ring_point_counts, METH_NOARGS,
     "point_counts() -> {node: number of continuum points it contributes}."},
    {"__reduce__", (PyCFunction)ring_reduce, METH_NOARGS,
     "Pickling and copy: rebuilt from (nodes, weights, dialect)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef ring_getset[] = {
    {"nodes", (getter)ring_nodes_get, NULL, "members in membership order (a new list)", NULL},
    {"weights", (getter)ring_weights_get, NULL, "{node: weight} (a new dict)", NULL},
    {"dialect", (getter)ring_dialect_get, NULL, "the dialect's name", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PySequenceMethods ring_as_sequence = {
    .sq_length = (lenfunc)ring_len,
    .sq_contains = (objobjproc)ring_contains,
};

static PyTypeObject RingType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hash_ring._hash_ring.Ring",
    .tp_basicsize = sizeof(RingObject),
    .tp_dealloc = (destructor)ring_dealloc,
    .tp_repr = (reprfunc)ring_repr,
    .tp_as_sequence = &ring_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Ring(nodes=None, weights=None, dialect='python'): the C core of HashRing.",
    .tp_traverse = (traverseproc)ring_traverse,
    .tp_clear = (inquiry)ring_clear,
    .tp_methods = ring_methods,
    .tp_getset = ring_getset,
    .tp_init = (initproc)ring_init,
    .tp_new = ring_new,
};

/* ---- Module ---------------------------------------------------------- */

static PyObject *mod_dialects(PyObject *m, PyObject *unused)
{
    (void)m;
    (void)unused;
    PyObject *list = PyList_New(0);
    for (int d = 0; list != NULL; d++) {
        const char *name = hash_ring_dialect_name((hash_ring_dialect_t)d);
        if (name == NULL)
            break;
        PyObject *s = PyUnicode_FromString(name);
        if (s == NULL || PyList_Append(list, s) < 0) {
            Py_XDECREF(s);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(s);
    }
    return list;
}

static PyMethodDef module_methods[] = {
    {"dialects", (PyCFunction)mod_dialects, METH_NOARGS,
     "dialects() -> the dialect names the library knows."},
    {"gen_key", (PyCFunction)(void (*)(void))snap_gen_key, METH_FASTCALL | METH_KEYWORDS,
     GEN_KEY_DOC},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "hash_ring._hash_ring",
    "The C core of hash_ring: libhash_ring through its public header.", -1, module_methods,
    NULL, NULL, NULL, NULL};

static PyObject *new_error(const char *name, PyObject *bases, const char *doc)
{
    PyObject *cls = PyErr_NewExceptionWithDoc(name, doc, bases, NULL);
    if (cls != NULL && PyObject_SetAttrString(cls, "code", Py_None) < 0)
        Py_CLEAR(cls);
    return cls;
}

PyMODINIT_FUNC PyInit__hash_ring(void)
{
    if (PyType_Ready(&RingType) < 0 || PyType_Ready(&SnapshotType) < 0)
        return NULL;
    if (str_dict == NULL && (str_dict = PyUnicode_InternFromString("__dict__")) == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    HashRingError = new_error("hash_ring.HashRingError", PyExc_Exception,
                              "A libhash_ring error; .code is the library's status code.");
    if (HashRingError == NULL)
        goto fail;
    PyObject *b = PyTuple_Pack(2, HashRingError, PyExc_ValueError);
    HashRingValueError = b ? new_error("hash_ring.HashRingValueError", b,
                                       "Bad argument (HASH_RING_EINVAL) or node already a "
                                       "member (HASH_RING_EEXIST).")
                           : NULL;
    Py_XDECREF(b);
    b = PyTuple_Pack(2, HashRingError, PyExc_KeyError);
    NodeNotFoundError =
        b ? new_error("hash_ring.NodeNotFoundError", b, "No such member (HASH_RING_ENOTFOUND).")
          : NULL;
    Py_XDECREF(b);
    b = PyTuple_Pack(2, HashRingError, PyExc_MemoryError);
    HashRingMemoryError =
        b ? new_error("hash_ring.HashRingMemoryError", b, "Out of memory (HASH_RING_ENOMEM).")
          : NULL;
    Py_XDECREF(b);
    if (HashRingValueError == NULL || NodeNotFoundError == NULL || HashRingMemoryError == NULL)
        goto fail;
    if (PyModule_AddObjectRef(m, "HashRingError", HashRingError) < 0 ||
        PyModule_AddObjectRef(m, "HashRingValueError", HashRingValueError) < 0 ||
        PyModule_AddObjectRef(m, "NodeNotFoundError", NodeNotFoundError) < 0 ||
        PyModule_AddObjectRef(m, "HashRingMemoryError", HashRingMemoryError) < 0 ||
        PyModule_AddObjectRef(m, "Ring", (PyObject *)&RingType) < 0 ||
        PyModule_AddObjectRef(m, "Snapshot", (PyObject *)&SnapshotType) < 0 ||
        PyModule_AddStringConstant(m, "library_version", hash_ring_version_string()) < 0)
        goto fail;
    static const struct {
        const char *name;
        int value;
    } codes[] = {{"EINVAL", HASH_RING_EINVAL},       {"ENOMEM", HASH_RING_ENOMEM},
                 {"EEXIST", HASH_RING_EEXIST},       {"ENOTFOUND", HASH_RING_ENOTFOUND},
                 {"EEMPTY", HASH_RING_EEMPTY},       {"ECRYPTO", HASH_RING_ECRYPTO}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (PyModule_AddIntConstant(m, codes[i].name, codes[i].value) < 0)
            goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
