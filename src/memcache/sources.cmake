# The memcached client (include/hash_ring_memcache.h), compiled into the same
# library as the ring.  Included by the root CMakeLists.txt.
target_sources(hash_ring_objects PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/mc_parse.c
  ${CMAKE_CURRENT_LIST_DIR}/mc_conn.c
  ${CMAKE_CURRENT_LIST_DIR}/mc_server.c
  ${CMAKE_CURRENT_LIST_DIR}/mc_exchange.c
  ${CMAKE_CURRENT_LIST_DIR}/mc_client.c
  ${CMAKE_CURRENT_LIST_DIR}/mc_reply.c
  ${CMAKE_CURRENT_LIST_DIR}/mc_ops.c
  ${CMAKE_CURRENT_LIST_DIR}/mc_multi.c
  ${CMAKE_CURRENT_LIST_DIR}/mc_admin.c)
