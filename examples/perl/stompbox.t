#!/usr/bin/perl
# Net::Stomp (Debian's libnet-stomp-perl, STOMP 1.0) against the stompbox
# binary: send, subscribe with client acks, receive, ack, disconnect; then
# stompbox's HTTP API says what it saw. Run: prove examples/perl
# (the binary is $STOMPBOX_BIN, or target/debug/stompbox of this checkout).
use strict;
use warnings;
use FindBin;
use HTTP::Tiny;
use IPC::Open2;
use JSON::PP;
use Net::Stomp;
use Test::More;

my $binary = $ENV{STOMPBOX_BIN} // "$FindBin::Bin/../../target/debug/stompbox";
my $pid = open2(my $out, my $in, $binary, qw(--port 0 --http-port 0 --ready-json --log off));
my $ready = decode_json(scalar <$out>);
my ($host, $port) = split /:/, $ready->{stomp};
my $http = HTTP::Tiny->new;
sub api { decode_json($http->get("http://$ready->{http}$_[0]")->{content}) }

my $stomp = Net::Stomp->new({ hostname => $host, port => $port });
ok($stomp->connect({ login => 'perl', passcode => 'x' }), 'connected');
$stomp->send({ destination => '/queue/perl', body => 'hello from Net::Stomp' });
$stomp->subscribe({ destination => '/queue/perl', ack => 'client' });
my $frame = $stomp->receive_frame;
is($frame->command, 'MESSAGE', 'a MESSAGE arrives');
is($frame->body, 'hello from Net::Stomp', 'with the body sent');
$stomp->ack({ frame => $frame });
$stomp->send_with_receipt({ destination => '/queue/done', body => 'sync' })
    or BAIL_OUT('no receipt');

my $acks = api('/acks');
is(scalar @$acks, 1, 'the broker recorded one ACK');
is($acks->[0]{message_id}, $frame->headers->{'message-id'}, 'for the message received');
my $connections = api('/connections');
is($connections->[0]{version}, '1.0', 'Net::Stomp speaks STOMP 1.0');
is($connections->[0]{login}, 'perl', 'its login is recorded');
$stomp->disconnect;

kill 'TERM', $pid;
waitpid($pid, 0);
is($? >> 8, 0, 'stompbox exits 0 on SIGTERM');
done_testing;
