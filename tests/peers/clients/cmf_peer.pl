# Stores keys through Perl Cache::Memcached::Fast with ketama_points => 160
# (the client cannot be asked where a key goes, only made to write it).
#
#   perl cmf_peer.pl NODES KEYS
#
# NODES: lines "address<TAB>weight" in the order the client is given them
# ("host:port" or a unix socket path); KEYS: one key per line.  Every key is
# set with its index as the value; the caller reads the daemons back.
# Output "STORED n".
use strict;
use warnings;
use Cache::Memcached::Fast;

my (@servers, @keys);
open(my $nf, '<', $ARGV[0]) or die "$ARGV[0]: $!";
while (my $line = <$nf>) {
    chomp $line;
    next if $line eq '';
    my ($addr, $w) = split /\t/, $line;
    push @servers, { address => $addr, weight => $w };
}
close $nf;
open(my $kf, '<:raw', $ARGV[1]) or die "$ARGV[1]: $!";
while (my $k = <$kf>) {
    chomp $k;
    push @keys, $k;
}
close $kf;
my $mc = Cache::Memcached::Fast->new({
    servers => \@servers, ketama_points => 160, io_timeout => 10,
    connect_timeout => 10, max_failures => 0, close_on_error => 1,
});
for my $i (0 .. $#keys) {
    $mc->set($keys[$i], "$i") or die "set '$keys[$i]' failed\n";
}
$mc->disconnect_all;
print 'STORED ', scalar(@keys), "\n";
