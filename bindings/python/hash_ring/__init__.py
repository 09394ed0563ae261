"""hash_ring: consistent hashing on libhash_ring, a drop-in for the Python
package hash_ring 1.3 (``from hash_ring import HashRing, MemcacheRing``).

Placement is computed by the C library (dialect ``python`` by default, the
original package's rules); this package maps keys and node objects to it.
See README.md beside this package for the differences from the original.
"""
from ._hash_ring import (EEMPTY, EEXIST, EINVAL, ENOMEM, ENOTFOUND, ECRYPTO,
                         HashRingError, HashRingMemoryError, HashRingValueError,
                         NodeNotFoundError, Ring, Snapshot, dialects, gen_key,
                         library_version)

__version__ = "1.0.0"
# MemcacheRing (it needs python-memcache) is imported on first use, and left
# out of `import *`.
__all__ = ["HashRing", "Snapshot", "HashRingError", "HashRingValueError",
           "NodeNotFoundError", "HashRingMemoryError", "dialects", "gen_key"]


class HashRing(Ring):
    """HashRing(nodes=None, weights=None, dialect='python')

    nodes: hashable node objects (a node's name is str(node) in UTF-8; bytes
    are used as they are).  weights: {node: weight}, a whole number (int or
    float) in 0..2**32-1, missing = 1.  A repeated
    node, two nodes with the same name, or an empty name raise
    HashRingValueError (a ValueError).
    """

    def __bool__(self):
        # The original defines no __len__, so its rings are always true;
        # `if ring:` must not turn false on a ring that is empty for now.
        return True

    @property
    def ring(self):
        """{position: node} as the original's attribute (the node added last
        keeps a shared position); built anew on each access."""
        return dict(self.points())

    @property
    def _sorted_keys(self):
        """The sorted positions, duplicates included, as the original's
        attribute; built anew on each access."""
        return [p for p, _ in self.points()]

    def iterate_nodes(self, string_key, distinct=True):
        """Yields the distinct nodes in ring order from the key's position,
        wrapping around (the replica and fail-over order).  As the original:
        `distinct` is ignored, nodes that are false (0, '') are skipped, and
        an empty ring yields (None, None) once."""
        snap = self.snapshot()
        if snap.point_count == 0:
            yield None, None
            return
        seen = set()
        for node in snap.get_nodes(string_key):
            name = str(node)
            if name not in seen:
                seen.add(name)
                if node:
                    yield node


def __getattr__(name):
    # MemcacheRing needs python-memcache; import it only when asked for.
    if name == "MemcacheRing":
        from .memcache_ring import MemcacheRing
        return MemcacheRing
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
