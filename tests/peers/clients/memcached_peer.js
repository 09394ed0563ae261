'use strict';
// Placements by npm memcached 2.x with its default options.
//
//   node memcached_peer.js MODULES ask|write NODES KEYS
//
// NODES: lines "server<TAB>weight" in the order the client is given them (a
// weights object, as the client documents); KEYS: one key per line.
//   ask:   the client's own routing, client.HashRing.get(key) (what every
//          command runs when it has more than one server); no connection.
//   write: client.set(key, index) for every key; the caller reads the
//          daemons back.  Output "STORED n".
// Output of ask: the owner's index per key.
const fs = require('fs');
const path = require('path');

const [modules, mode, nodesFile, keysFile] = process.argv.slice(2);
const Memcached = require(path.join(modules, 'memcached'));

const servers = {};
const order = [];
for (const line of fs.readFileSync(nodesFile, 'utf8').split('\n')) {
  if (line === '') continue;
  const [name, w] = line.split('\t');
  servers[name] = Number(w);
  order.push(name);
}
const text = fs.readFileSync(keysFile, 'utf8');
const keys = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
const client = new Memcached(servers, { retries: 0, timeout: 10000, idle: 30000 });

if (mode === 'ask') {
  const index = new Map(order.map((n, i) => [n, i]));
  const out = keys.map((k) => {
    const i = index.get(client.HashRing.get(k));
    if (i === undefined) throw new Error('unknown server for key ' + k);
    return i;
  });
  process.stdout.write(out.join('\n') + '\n');
  client.end();
} else {
  let next = 0;
  let done = 0;
  let failed = false;
  const stored = () => {
    if (next >= keys.length) return;
    const i = next++;
    client.set(keys[i], String(i), 0, (err) => {
      if (err && !failed) {
        failed = true;
        process.stderr.write('set ' + JSON.stringify(keys[i]) + ': ' + err + '\n');
        process.exit(1);
      }
      done++;
      if (done === keys.length) {
        process.stdout.write('STORED ' + done + '\n');
        client.end();
      } else {
        stored();
      }
    });
  };
  for (let c = 0; c < 16; c++) stored();
}
