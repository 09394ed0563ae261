"""The original package's module path: from hash_ring.hash_ring import HashRing."""
from . import HashRing

__all__ = ["HashRing"]
