<?php
// Placements by PHP pecl memcache (class Memcache), run with
// memcache.hash_strategy=consistent and memcache.hash_function=crc32.
//
//   php pecl_memcache_peer.php ask|write NODES KEYS
//
// NODES: lines "host<TAB>port<TAB>weight", added with addServer in that
// order; KEYS: one key per line.
//   ask:   Memcache::findServer(key) for every key (no connection needed);
//          output: the owner's index per key.
//   write: Memcache::set(key, index) for every key; the caller reads the
//          daemons back.  Output "STORED n".
$mode = $argv[1];
$mc = new Memcache();
$index = array();
$i = 0;
foreach (file($argv[2], FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $line) {
    list($host, $port, $weight) = explode("\t", $line);
    if (!$mc->addServer($host, (int)$port, false, (int)$weight, 10)) {
        fwrite(STDERR, "addServer $host $port failed\n");
        exit(1);
    }
    // findServer names a server by the port the client keeps (an unsigned
    // short): a port past 65535 is answered modulo 2^16.
    $index["$host:$port"] = $i;
    $index["$host:" . ((int)$port & 0xffff)] = $i++;
}
$keys = explode("\n", rtrim(file_get_contents($argv[3]), "\n"));
if ($mode === 'ask') {
    $out = array();
    foreach ($keys as $k) {
        $s = $mc->findServer($k);
        if (!isset($index[$s])) {
            fwrite(STDERR, "findServer returned unknown server '$s'\n");
            exit(1);
        }
        $out[] = $index[$s];
    }
    echo implode("\n", $out), "\n";
} else {
    foreach ($keys as $n => $k) {
        if (!$mc->set($k, (string)$n, 0, 0)) {
            fwrite(STDERR, "set '$k' failed\n");
            exit(1);
        }
    }
    echo "STORED ", count($keys), "\n";
}
