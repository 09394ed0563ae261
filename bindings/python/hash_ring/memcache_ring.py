"""MemcacheRing: python-memcache's Client placing keys on a HashRing."""
import memcache

from . import HashRing


class MemcacheRing(memcache.Client):
    """MemcacheRing(servers, *args, **kwargs): a memcache.Client whose server
    for a key is the first one in the ring's iterate_nodes order that accepts
    a connection, the whole order tried _SERVER_RETRIES times (as the
    original hash_ring.MemcacheRing).  Every memcache.Client method works."""

    def __init__(self, servers, *k, **kw):
        self.hash_ring = HashRing(servers)
        memcache.Client.__init__(self, servers, *k, **kw)
        self.server_mapping = {}
        for server_uri, server_obj in zip(servers, self.servers):
            self.server_mapping[server_uri] = server_obj

    def _get_server(self, key):
        if isinstance(key, tuple):
            # (server hash, key): python-memcache's own choice, as asked.
            return memcache.Client._get_server(self, key)
        for _ in range(self._SERVER_RETRIES):
            for server_uri in self.hash_ring.iterate_nodes(key):
                server_obj = self.server_mapping[server_uri]
                if server_obj.connect():
                    return server_obj, key
        return None, None
