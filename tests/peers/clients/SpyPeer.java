/* Placements by spymemcached's own ketama locator.
 *
 *   java -cp spymemcached.jar SpyPeer.java plain|weighted NODES KEYS...
 *
 * One run answers several pools (the JVM's start is the slow part): pairs
 * of NODES (lines "host:port<TAB>weight" in the order the client is given
 * them, as AddrUtil reads a server list) and KEYS (one key per line).
 * The locator comes from the client's KetamaConnectionFactory (its
 * default, or with a weights map), exactly as a MemcachedClient builds it;
 * the nodes are stand-ins that only answer getSocketAddress, so no
 * connection is made.  Output per pair: "#ADDR i
 * text" for every node (Java's printed address), the owner's index per key,
 * then a line "--". */
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import net.spy.memcached.AddrUtil;
import net.spy.memcached.DefaultConnectionFactory;
import net.spy.memcached.DefaultHashAlgorithm;
import net.spy.memcached.KetamaConnectionFactory;
import net.spy.memcached.KetamaNodeKeyFormatter;
import net.spy.memcached.MemcachedNode;
import net.spy.memcached.NodeLocator;

public final class SpyPeer {
    private static MemcachedNode standIn(InetSocketAddress addr) {
        return (MemcachedNode) Proxy.newProxyInstance(MemcachedNode.class.getClassLoader(),
            new Class<?>[] {MemcachedNode.class}, (proxy, m, args) -> {
                switch (m.getName()) {
                case "getSocketAddress": return addr;
                case "hashCode": return System.identityHashCode(proxy);
                case "equals": return proxy == args[0];
                case "toString": return "stand-in " + addr;
                default: throw new UnsupportedOperationException(m.getName());
                }
            });
    }

    public static void main(String[] a) throws Exception {
        boolean weighted = a[0].equals("weighted");
        BufferedWriter out = new BufferedWriter(
            new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
        for (int j = 1; j + 1 < a.length; j += 2) {
            pool(weighted, a[j], a[j + 1], out);
            out.write("--\n");
        }
        out.flush();
    }

    private static void pool(boolean weighted, String nodesFile, String keysFile,
                             BufferedWriter out) throws Exception {
        List<InetSocketAddress> addrs = new ArrayList<>();
        Map<InetSocketAddress, Integer> weights = new HashMap<>();
        for (String line : Files.readAllLines(Paths.get(nodesFile), StandardCharsets.UTF_8)) {
            String[] f = line.split("\t");
            InetSocketAddress addr = AddrUtil.getAddresses(f[0]).get(0);
            addrs.add(addr);
            weights.put(addr, Integer.valueOf(f[1]));
        }
        KetamaConnectionFactory factory = weighted
            ? new KetamaConnectionFactory(DefaultConnectionFactory.DEFAULT_OP_QUEUE_LEN,
                  DefaultConnectionFactory.DEFAULT_READ_BUFFER_SIZE,
                  DefaultConnectionFactory.DEFAULT_OP_QUEUE_MAX_BLOCK_TIME,
                  DefaultHashAlgorithm.KETAMA_HASH, KetamaNodeKeyFormatter.Format.SPYMEMCACHED,
                  weights)
            : new KetamaConnectionFactory();
        List<MemcachedNode> nodes = new ArrayList<>();
        Map<MemcachedNode, Integer> index = new IdentityHashMap<>();
        for (InetSocketAddress addr : addrs) {
            MemcachedNode n = standIn(addr);
            index.put(n, nodes.size());
            out.write("#ADDR " + nodes.size() + " " + addr + "\n");
            nodes.add(n);
        }
        NodeLocator loc = factory.createLocator(nodes);
        try (BufferedReader in = Files.newBufferedReader(Paths.get(keysFile),
                                                         StandardCharsets.UTF_8)) {
            String key;
            while ((key = in.readLine()) != null) {
                out.write(index.get(loc.getPrimary(key)) + "\n");
            }
        }
    }
}
