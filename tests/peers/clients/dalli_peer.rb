# Placements by Ruby Dalli 3.x (Dalli::Ring, the continuum every command
# consults), with live memcached daemons behind every server.
#
#   ruby dalli_peer.rb NODES KEYS
#
# NODES: one server string a line, exactly as an application passes it to
# Dalli::Client.new ("host", "host:port", "host:port:weight", "/socket",
# "/socket:weight"), in that order; KEYS: one key per line.  For every key it
# asks the ring (server_for_key, which needs the server alive), then stores
# the key through the client (set, raw, value = the key's index); the
# caller reads the daemons back.  Output: the ring's owner index per key.
require 'dalli'
require 'logger'

# Dalli logs to standard output by default: keep that for the answers.
Dalli.logger = Logger.new($stderr)

servers = File.readlines(ARGV[0], chomp: true).reject(&:empty?)
keys = File.read(ARGV[1], mode: 'rb').split("\n", -1)
keys.pop if keys.last == ''
# failover: false: a server that fails must fail the test, not send its keys
# elsewhere.  Placement is the same either way while every server is up.
client = Dalli::Client.new(servers, socket_timeout: 10, failover: false)
ring = client.send(:ring)
index = {}
ring.servers.each_with_index { |s, i| index[s] = i }
out = keys.map { |k| index.fetch(ring.server_for_key(k)) }
keys.each_with_index do |k, i|
  raise "set #{k.inspect} failed" unless client.set(k, i.to_s, 0, raw: true)
end
client.close
$stdout.write(out.join("\n") + "\n")
