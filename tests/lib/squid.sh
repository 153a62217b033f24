# shellcheck shell=bash
# tests/lib/squid.sh: squid as an HTTP/1.1 CONNECT proxy on the server host, for the
# interop tests (source it after common.sh, call start_squid after topo_up, and call
# stop_squid from the test's EXIT trap before common.sh's cleanup).
#
# squid runs in the foreground (-N) with everything under $TMP/squid: config, pid, logs,
# and no disk cache. It allows CONNECT from 10.77.1.0/24 to port 80 only (so a CONNECT to
# any other port gets its 403), dials from 10.77.1.2 (so nginx's log shows squid), stops
# within a second of SIGTERM, and logs each request when it ends as
#   CLIENT_ADDR RESULT/STATUS BYTES METHOD URL comm=HERMES-COMM-HEADER
# in $SQUID_ACCESS_LOG.

SQUID_PID=
SQUID_DIR=
SQUID_SVC=
SQUID_ACCESS_LOG=

# start_squid ADDR PORT: waits until squid listens; dies if it does not
start_squid() {
	local addr=$1 port=$2
	require_cmd /usr/sbin/squid
	SQUID_DIR=$TMP/squid
	SQUID_ACCESS_LOG=$SQUID_DIR/access.log
	mkdir -p "$SQUID_DIR"
	# Started as root, squid binds its port, then runs as cache_effective_user, which
	# must be able to write its logs.
	chown proxy:proxy "$SQUID_DIR" || die "cannot chown $SQUID_DIR to the proxy user (squid's cache_effective_user)"
	cat >"$SQUID_DIR/squid.conf" <<CONF
http_port $addr:$port
visible_hostname hermes-test-squid
cache_effective_user proxy
cache_effective_group proxy
pid_filename $SQUID_DIR/squid.pid
cache_log $SQUID_DIR/cache.log
logformat hermes %>a %Ss/%03>Hs %<st %rm %ru comm=%{Hermes-Comm}>h
access_log stdio:$SQUID_ACCESS_LOG hermes
cache_store_log none
netdb_filename none
coredump_dir $SQUID_DIR
pinger_enable off
cache deny all
cache_mem 8 MB
# a SIGTERM stops squid after 1 s instead of waiting 30 s for clients
shutdown_lifetime 1 seconds
# squid's address towards the origin, so that nginx's log tells who dialled it
tcp_outgoing_address 10.77.1.2
acl lan src 10.77.1.0/24
acl web_port port 80
acl connect_method method CONNECT
http_access allow connect_method lan web_port
http_access deny all
CONF
	# squid keeps shared-memory segments in /dev/shm named after its service name (-n):
	# a name of our own keeps them apart from any other squid's and lets stop_squid
	# remove them if squid could not. Started with nsenter directly, not with bg: bg's
	# PID is a subshell, and a TERM to it would orphan squid instead of stopping it.
	SQUID_SVC=hermes${ID//[^a-zA-Z0-9]/}
	nsenter --net="/run/netns/$NS_S" /usr/sbin/squid -N -n "$SQUID_SVC" -f "$SQUID_DIR/squid.conf" \
		>"$TMP/squid.log" 2>&1 </dev/null &
	SQUID_PID=$!
	PIDS+=("$SQUID_PID")
	if ! wait_tcp "$NS_S" "$addr" "$port"; then
		tail -n 20 "$TMP/squid.log" "$SQUID_DIR/cache.log" 2>/dev/null
		die "squid did not start listening on $addr:$port"
	fi
	say "squid (pid $SQUID_PID) in $NS_S on $addr:$port"
}

# stop_squid: SIGTERM by PID (bounded), then its shared memory; sets STOP_RC when it ran
stop_squid() {
	[ -n "$SQUID_PID" ] || return 0
	if pid_alive "$SQUID_PID"; then
		stop_pid "$SQUID_PID" TERM 10
		say "squid (pid $SQUID_PID) stopped: status $STOP_RC"
	fi
	rm -f /dev/shm/"$SQUID_SVC"-*
	SQUID_PID=
}
