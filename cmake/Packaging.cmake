# Packaging.cmake - Debian packages with `cpack -G DEB` (included last by the
# root CMakeLists.txt).
#
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF
#   cmake --build build-deb -j
#   (cd build-deb && cpack -G DEB)
#
# One package per install COMPONENT:
#
#   runtime      -> libhash-ring<MAJOR>            libhash_ring.so.<MAJOR> and its real file
#   memcache     -> libhash-ring-memcache<MAJOR>   libhash_ring_memcache.so.<MAJOR> and its
#                                                  real file (the memcached client)
#   development  -> libhash-ring-dev               both headers, both .so links, both .a,
#                                                  hash_ring.pc, hash_ring_memcache.pc, the
#                                                  CMake package files, the hash-ring tool
#                                                  and its man page hash-ring.1
#
# The client has a package of its own for the reason it is a library of its
# own: a system that wants the ring need not install a network client.
#
# The tool is not in the runtime package because a library package must stay
# co-installable with the next SONAME's package (libhash-ring1 next to
# libhash-ring2 during a transition); a /usr/bin file in both would conflict.
# -dev packages of two majors conflict anyway (same headers), so the tool and
# its man page travel with the headers.
#
# Paths come from the build's own install rules, so the packages install
# where the build was configured to install (CPACK_PACKAGING_INSTALL_PREFIX
# = CMAKE_INSTALL_PREFIX): hash_ring.pc and the CMake files name that
# prefix.  Configure with -DCMAKE_INSTALL_PREFIX=/usr for distribution
# packages (GNUInstallDirs then picks lib/<multiarch> on Debian).

if(NOT PROJECT_IS_TOP_LEVEL AND DEFINED PROJECT_IS_TOP_LEVEL)
  return()
endif()

# Debian package names: lowercase, no '_'; the runtime package is named
# after the SONAME (policy 8.1).
set(HASH_RING_DEB_RUNTIME "libhash-ring${PROJECT_VERSION_MAJOR}")
set(HASH_RING_DEB_MEMCACHE "libhash-ring-memcache${PROJECT_VERSION_MAJOR}")
set(HASH_RING_DEB_DEV "libhash-ring-dev")

# Components that actually hold files in this configuration.
set(_hr_components development)
if(HASH_RING_BUILD_SHARED)
  if(HASH_RING_BUILD_MEMCACHE)
    list(PREPEND _hr_components memcache)
  endif()
  list(PREPEND _hr_components runtime)
endif()

# Version: the project's (from include/hash_ring.h) plus a package revision.
set(HASH_RING_DEB_REVISION "1" CACHE STRING "Debian revision of the packages built by cpack")
set(_hr_deb_full_version "${PROJECT_VERSION}-${HASH_RING_DEB_REVISION}")
# Whoever builds the packages maintains them: set it, e.g.
# -DHASH_RING_DEB_MAINTAINER="Jane Doe <jane@example.org>".
set(HASH_RING_DEB_MAINTAINER "The hash_ring developers <hash-ring@example.invalid>"
  CACHE STRING "Maintainer field of the packages built by cpack")

# Debian policy 12.7 and 12.1: a changelog.Debian.gz per package, and man
# pages gzip-compressed (gzip -9n: no name or time stamp, so the files are
# reproducible; the date is the configure time, or SOURCE_DATE_EPOCH).
find_program(HASH_RING_GZIP gzip)
string(TIMESTAMP _hr_deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(_hr_pkgdir ${PROJECT_BINARY_DIR}/deb-files)
file(MAKE_DIRECTORY ${_hr_pkgdir})
file(WRITE ${_hr_pkgdir}/changelog.Debian
"hash-ring (${_hr_deb_full_version}) unstable; urgency=medium

  * Packages of hash_ring ${PROJECT_VERSION} built with cpack from the upstream
    source tree.

 -- ${HASH_RING_DEB_MAINTAINER}  ${_hr_deb_date}
")
if(HASH_RING_GZIP)
  execute_process(COMMAND ${HASH_RING_GZIP} -9nf ${_hr_pkgdir}/changelog.Debian)
  if(HASH_RING_BUILD_CLI)
    execute_process(COMMAND ${HASH_RING_GZIP} -9nc ${PROJECT_SOURCE_DIR}/src/cli/hash-ring.1
      OUTPUT_FILE ${_hr_pkgdir}/hash-ring.1.gz)
    install(FILES ${_hr_pkgdir}/hash-ring.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
      COMPONENT development EXCLUDE_FROM_ALL)
  endif()
elseif(HASH_RING_BUILD_CLI)
  install(FILES ${PROJECT_SOURCE_DIR}/src/cli/hash-ring.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
    COMPONENT development EXCLUDE_FROM_ALL)
endif()

# Each shared library's package has dpkg run ldconfig through a trigger
# (policy 8.1.1); its own maintainer scripts do nothing (given here, they
# keep CPack from writing ones that call ldconfig; lintian notes them as
# empty, a warning, where it calls the ldconfig calls an error).
file(WRITE ${_hr_pkgdir}/triggers "activate-noawait ldconfig\n")
foreach(_s postinst postrm)
  file(WRITE ${_hr_pkgdir}/tmp/${_s}
       "#!/bin/sh\n# ldconfig runs through the trigger (DEBIAN/triggers)\nset -e\nexit 0\n")
  file(COPY ${_hr_pkgdir}/tmp/${_s} DESTINATION ${_hr_pkgdir}
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                        WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
  "${_hr_pkgdir}/triggers;${_hr_pkgdir}/postinst;${_hr_pkgdir}/postrm")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_MEMCACHE_PACKAGE_CONTROL_EXTRA "${CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA}")
set(CPACK_DEBIAN_MEMCACHE_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

# Debian policy 12.5: every package ships /usr/share/doc/<package>/copyright.
# EXCLUDE_FROM_ALL keeps these out of a plain `cmake --install`; CPack
# installs component by component, which includes them.
foreach(_c IN LISTS _hr_components)
  if(_c STREQUAL "runtime")
    set(_pkg ${HASH_RING_DEB_RUNTIME})
  elseif(_c STREQUAL "memcache")
    set(_pkg ${HASH_RING_DEB_MEMCACHE})
  else()
    set(_pkg ${HASH_RING_DEB_DEV})
  endif()
  install(FILES ${PROJECT_SOURCE_DIR}/LICENSE
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_pkg}
    RENAME copyright
    COMPONENT ${_c}
    EXCLUDE_FROM_ALL)
  if(HASH_RING_GZIP)
    install(FILES ${_hr_pkgdir}/changelog.Debian.gz
      DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_pkg}
      COMPONENT ${_c}
      EXCLUDE_FROM_ALL)
  endif()
endforeach()

set(CPACK_PACKAGE_NAME "hash-ring")
set(CPACK_PACKAGE_VENDOR "The hash_ring developers")
set(CPACK_PACKAGE_CONTACT "${HASH_RING_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_PACKAGE_VERSION_MAJOR ${PROJECT_VERSION_MAJOR})
set(CPACK_PACKAGE_VERSION_MINOR ${PROJECT_VERSION_MINOR})
set(CPACK_PACKAGE_VERSION_PATCH ${PROJECT_VERSION_PATCH})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_PACKAGE_DIRECTORY "${PROJECT_BINARY_DIR}/packages")
# Release binaries are stripped (policy 10.1); the .a keeps its symbols.
if(NOT DEFINED CPACK_STRIP_FILES)
  set(CPACK_STRIP_FILES ON)
endif()

set(CPACK_GENERATOR "DEB")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL ${_hr_components})
set(CPACK_COMPONENTS_GROUPING IGNORE)

set(CPACK_DEBIAN_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE ${HASH_RING_DEB_REVISION})

# Architecture: what dpkg says (amd64, arm64, ...), not the CMake processor name.
find_program(HASH_RING_DPKG dpkg)
if(HASH_RING_DPKG)
  execute_process(COMMAND ${HASH_RING_DPKG} --print-architecture
    OUTPUT_VARIABLE _hr_deb_arch OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _hr_rc ERROR_QUIET)
  if(_hr_rc EQUAL 0 AND _hr_deb_arch)
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${_hr_deb_arch})
  endif()
endif()

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")

# runtime: dependencies from dpkg-shlibdeps (libc6, libssl3), and a shlibs
# file so that packages built against it depend on this version or later
# (new symbols only arrive in later versions of the same SONAME).
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME ${HASH_RING_DEB_RUNTIME})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION "libs")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# Each description's first line is the package's own synopsis.  CPackDeb
# prepends CPACK_PACKAGE_DESCRIPTION_SUMMARY to every description unless it
# equals CPack's default text, which is therefore what it is set to (before
# include(CPack); it would otherwise default to PROJECT_DESCRIPTION).
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
  "consistent hashing library compatible with the ketama family\n\
libhash_ring places keys (memcached keys first of all) on nodes exactly as\n\
the Python hash_ring package, node hash_ring, libketama, libmemcached,\n\
twemproxy and npm hashring do.\n\
This package holds the shared library.")

# memcache: the client's shared library.  dpkg-shlibdeps gives it libc6; it
# cannot give libhash-ring<MAJOR>, whose shlibs file CPack keeps where
# dpkg-shlibdeps does not look (and writes only when it packages that
# component), so that dependency is written here as the runtime package's
# shlibs line states it.  check_deb.py runs dpkg-shlibdeps on the built
# packages and checks that it computes exactly these dependencies.
set(CPACK_DEBIAN_MEMCACHE_PACKAGE_NAME ${HASH_RING_DEB_MEMCACHE})
set(CPACK_DEBIAN_MEMCACHE_PACKAGE_SECTION "libs")
set(CPACK_DEBIAN_MEMCACHE_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_MEMCACHE_PACKAGE_DEPENDS "${HASH_RING_DEB_RUNTIME} (>= ${_hr_deb_full_version})")
set(CPACK_DEBIAN_MEMCACHE_DESCRIPTION
  "memcached client placing keys with libhash_ring\n\
libhash_ring_memcache is a memcached client (text protocol over TCP or\n\
unix sockets, fail-over, multi-get) that sends every key to the server\n\
libhash_ring places it on, as the Python hash_ring package's MemcacheRing\n\
does.\n\
This package holds the shared library.")

# development: headers, .so link, static library, pkg-config and CMake files.
# The static library and the CMake/pkg-config files need libcrypto's
# development files and zlib's (Requires.private: libcrypto zlib;
# find_dependency(OpenSSL), find_dependency(ZLIB)).
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME ${HASH_RING_DEB_DEV})
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION "libdevel")
set(_hr_dev_depends "libssl-dev, zlib1g-dev")
if(HASH_RING_BUILD_SHARED)
  set(_hr_dev_runtimes "${HASH_RING_DEB_RUNTIME} (= ${_hr_deb_full_version})")
  if(HASH_RING_BUILD_MEMCACHE)
    string(APPEND _hr_dev_runtimes ", ${HASH_RING_DEB_MEMCACHE} (= ${_hr_deb_full_version})")
  endif()
  set(_hr_dev_depends "${_hr_dev_runtimes}, ${_hr_dev_depends}")
endif()
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS "${_hr_dev_depends}")
set(CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION
  "consistent hashing library compatible with the ketama family - development\n\
Headers, static libraries, pkg-config files (hash_ring.pc,\n\
hash_ring_memcache.pc) and CMake package (find_package(hash_ring), targets\n\
hash_ring::hash_ring and hash_ring::hash_ring_memcache) for libhash_ring and\n\
libhash_ring_memcache, and the hash-ring tool (where keys live, how evenly\n\
they spread, what moves when a server is added or removed) with its man\n\
page.")

# The tool in -dev needs libc6 and both libraries: dpkg-shlibdeps adds the
# former; the latter are the explicit Depends above.
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SHLIBDEPS ON)
if(HASH_RING_BUILD_SHARED)
  # dpkg-shlibdeps must find libhash_ring.so.<MAJOR> and the client's
  # library to describe the other dependencies (libc6) of the client library
  # and of hash-ring; they are in the components' staging trees (CPack's layout:
  # <CPACK_PACKAGE_FILE_NAME default>/<component>).  Without this cpack
  # fails; tests/packaging/check_deb.py covers it.
  set(_hr_stage "${CPACK_PACKAGE_DIRECTORY}/_CPack_Packages/${CMAKE_SYSTEM_NAME}/DEB/${CPACK_PACKAGE_NAME}-${PROJECT_VERSION}-${CMAKE_SYSTEM_NAME}")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
    "${_hr_stage}/runtime${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}")
  if(HASH_RING_BUILD_MEMCACHE)
    list(APPEND CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
      "${_hr_stage}/memcache${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}")
  endif()
endif()

include(CPack)
