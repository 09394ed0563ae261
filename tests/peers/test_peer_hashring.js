#!/usr/bin/env node
// Dialects hashring and hashring-python against the real npm hashring 3.x.
//
// The ctest fixture peers_npm_install installs hashring@3 into the build tree;
// this script loads it from --modules, builds each ring with
// new HashRing({name: weight, ...}) (default options: dialect hashring) and
// new HashRing(..., 'md5', {compatibility: 'hash_ring'}) (dialect
// hashring-python), asks ring.get(key) for every key, and compares key for
// key with the library's answer (hr_peer_map).  Exit 0 pass, 1 fail.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

function arg(name) {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) {
    console.error(`usage: test_peer_hashring.js --map BIN --modules DIR --pairs FILE`);
    process.exit(1);
  }
  return process.argv[i + 1];
}

const MAP = arg('--map');
const MODULES = arg('--modules');
const PAIRS = arg('--pairs');
const NKEYS = +(process.env.HR_PEER_KEYS || 100000);
const HashRing = require(path.join(MODULES, 'hashring'));
const version = require(path.join(MODULES, 'hashring', 'package.json')).version;
if (!/^3\./.test(version)) {
  console.log(`FAIL: expected hashring 3.x, found ${version}`);
  process.exit(1);
}

const MODES = [
  { dialect: 'hashring', options: {} },
  { dialect: 'hashring-python', options: { compatibility: 'hash_ring' } },
];

function peerRing(nodes, mode) {
  const servers = {};
  for (const [name, w] of nodes) servers[name] = w;
  // Object key order is insertion order only for non-integer-like names:
  // check it, since the order decides who owns a shared point.
  if (Object.keys(servers).join('\n') !== nodes.map((n) => n[0]).join('\n'))
    throw new Error('server order not preserved');
  return new HashRing(servers, 'md5', mode.options);
}

function library(dialect, nodes, keys) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-peer-npm-'));
  const file = path.join(dir, 'nodes.tsv');
  try {
    fs.writeFileSync(file, nodes.map(([n, w]) => `${n}\t${w}\n`).join(''));
    const r = spawnSync(MAP, [dialect, file], {
      input: keys.join('\n') + '\n',
      maxBuffer: 1 << 30,
    });
    if (r.status !== 0) throw new Error(`hr_peer_map failed: ${r.stderr}`);
    const out = r.stdout.toString('utf8').split('\n');
    out.pop();
    if (out.length !== keys.length) throw new Error('hr_peer_map: wrong line count');
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let total = 0;
let agreed = 0;
function compare(mode, title, nodes, keys) {
  const ring = peerRing(nodes, mode);
  const lib = library(mode.dialect, nodes, keys);
  let agree = 0;
  let shown = 0;
  const per = new Map();
  keys.forEach((k, i) => {
    const want = ring.get(k);
    per.set(want, (per.get(want) || 0) + 1);
    if (lib[i] === want) agree++;
    else if (shown++ < 5)
      console.log(`  MISMATCH ${mode.dialect} ${title}: key ${JSON.stringify(k)} ` +
                  `(position ${position(k)}): library ${lib[i]}, hashring ${want}`);
  });
  console.log(`${mode.dialect.padEnd(15)} ${title.padEnd(40)} ${agree}/${keys.length} keys agree ` +
              `(${per.size} of ${nodes.length} nodes own keys)`);
  total += keys.length;
  agreed += agree;
}

function position(key) {
  return crypto.createHash('md5').update(key).digest().readUInt32LE(0);
}

function makeKey(i) {
  switch (i % 4) {
    case 0: return `key${i}`;
    case 1: return `ключ-${i}-键-${'é'.repeat(i % 5)}`;
    case 2: return `user:${(i * 2654435761 >>> 0).toString(16)}:session:${i}`;
    default: return `${i}\u{1F600}x${i % 97}`;
  }
}

// Only to find keys in an arc: the points of an equal ring of nodes (40
// hashes each).  The owner of those keys is what hashring says.
function points(names, perDigest) {
  const pts = [];
  for (const n of names)
    for (let j = 0; j < 40; j++) {
      const d = crypto.createHash('md5').update(`${n}-${j}`).digest();
      for (let k = 0; k < perDigest; k++) pts.push(d.readUInt32LE(4 * k));
    }
  return pts.sort((a, b) => a - b);
}

function arcKeys(tag, pts, point, before = 20, after = 5) {
  const i = pts.indexOf(point);
  const prev = pts[(i - 1 + pts.length) % pts.length];
  let j = i;
  while (pts[j % pts.length] === point) j++;
  const next = pts[j % pts.length];
  const inside = (lo, hi, x) => (lo < hi ? lo < x && x <= hi : x > lo || x <= hi);
  const keys = [];
  let nb = 0;
  let na = 0;
  for (let c = 0; nb < before || na < after; c++) {
    const k = `arc-${tag}-${c}`;
    const x = position(k);
    if (nb < before && inside(prev, point, x)) { keys.push(k); nb++; }
    else if (na < after && inside(point, next, x)) { keys.push(k); na++; }
  }
  return keys;
}

function main() {
  const keys = [];
  for (let i = 0; i < NKEYS; i++) keys.push(makeKey(i));

  const equal = (n, fmt) => Array.from({ length: n }, (_, i) => [fmt(i), 1]);
  const configs = [
    ['3 equal nodes', equal(3, (i) => `10.0.0.${i + 1}:11211`)],
    ['weights 1,2,3,7', [['a.example:11211', 1], ['b.example:11212', 2],
                         ['c.example:11211', 3], ['d.example:22122', 7]]],
    ['uneven weights 15087,71265,8963,77176,98302',
     [15087, 71265, 8963, 77176, 98302].map((w, i) => [`10.0.3.${i + 1}:22122`, w])],
    ['weight 0 (treated as 1)', [['zero', 0], ['one', 1], ['two', 2]]],
    ['UTF-8 names', [['сервер-1', 1], ['服务器-2', 2], ['serveur-é', 1], ['🖥-4', 1]]],
  ];
  for (const n of [7, 14, 28, 49, 56])
    configs.push([`${n} equal nodes (double: 39 hashes)`, equal(n, (i) => `cache-${i}.local`)]);
  // Large and lopsided pools, weights near 2^32 (a total far past 32 bits),
  // long, upper-case and IPv6 names, a single node (20,000 keys each).
  const extra = [];
  extra.push(['2000 nodes, weights 1 or 10000',
                Array.from({ length: 2000 }, (_, i) => [`10.${i >> 8}.${i & 255}.7:11211`,
                                                        (i * 2654435761 >>> 0) % 3 ? 10000 : 1])]);
  extra.push(['weights 2^32-1, 2^32-2, 2^31, 1',
                [4294967295, 4294967294, 2147483648, 1].map((w, i) => [`big-${i}:11211`, w])]);
  extra.push(['long, upper-case, IPv6 names',
                [[`${'L'.repeat(300)}.Example.COM:11211`, 2], ['CACHE-A.EXAMPLE:11211', 1],
                 ['[2001:db8::1]:11211', 1], ['::1', 3], ['h:0', 1], ['h:011211', 1]]]);
  extra.push(['one node', [['only.example:11211', 5]]]);
  for (const mode of MODES) {
    for (const [title, nodes] of configs) compare(mode, title, nodes, keys);
    for (const [title, nodes] of extra) compare(mode, title, nodes, keys.slice(0, 20000));
  }

  // Keys the generator never makes: empty, blank, control characters, 250
  // and 1,000 bytes.
  const odd = ['', ' ', 'a b', '\t', '\r', '\u0001\u007f', 'x'.repeat(250), 'é'.repeat(500),
               ' lead', 'trail ', 'tab\there'];
  for (const mode of MODES) compare(mode, 'keys: empty, blanks, long', configs[1][1], odd);

  // Exact hits on ordinary points of a 100-node ring.
  const hundred = equal(100, (i) => `h${i}`);
  const names = hundred.map((n) => n[0]);
  for (const mode of MODES) {
    const per = mode.dialect === 'hashring' ? 4 : 3;
    const pts = new Set(points(names, per));
    const hits = [];
    for (let c = 0; hits.length < 3; c++) {
      const k = `exact${c}`;
      if (pts.has(position(k))) hits.push(k);
    }
    compare(mode, 'exact hits, 100 nodes', hundred, hits);
  }

  // Shared points (committed inputs), 2-node rings in both orders.
  let shared = 0;
  for (const line of fs.readFileSync(PAIRS, 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [fam, p, a, b, hit] = line.split('\t');
    const point = +p;
    if (fam === 't') continue;
    const mode = fam === 'x4' ? MODES[0] : MODES[1];
    const pts = points([a, b], fam === 'x4' ? 4 : 3);
    if (pts.filter((x) => x === point).length !== 2) {
      console.log(`FAIL: input pair ${a},${b} does not share point ${point}`);
      return 1;
    }
    for (const order of [[a, b], [b, a]]) {
      const ks = arcKeys(order.join('-'), pts, point);
      if (hit !== '-') {
        if (position(hit) !== point) {
          console.log(`FAIL: input key ${hit} is not on point ${point}`);
          return 1;
        }
        ks.push(hit);
      }
      compare(mode, `shared point ${order.join(',')}`, [[order[0], 1], [order[1], 1]], ks);
      shared++;
    }
  }
  console.log(`hashring ${version}: ${shared} shared-point rings; ${agreed}/${total} keys agree`);
  return agreed === total && shared > 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (e) {
  console.log(`FAIL: ${e.stack}`);
  process.exitCode = 1;
}
