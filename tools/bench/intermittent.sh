#!/bin/bash
# tools/bench/intermittent.sh: the intermittent-links experiment (make bench-intermittent,
# as root). Downloads over a path that is never up end to end, with and without proxies
# that keep what reached them. Six hosts in a chain, each a network namespace:
#
#   C (client, wget) -- I (ingress) -- R1 -- R2 -- R3 -- S (nginx)
#     10.78.1.0/24     10.78.2.0/24  .3.0/24  .4.0/24  10.78.5.0/24 (S is 10.78.5.2)
#
# The three links I-R1, R1-R2 and R2-R3 take turns being up: each is up for INT_UP_MS
# (default 1000) in every 3 * INT_UP_MS and cut both ways otherwise (tests/bpf/impair.bpf.c,
# the tests' TC program, on one end of each link), so at any moment one of them is up and
# no packet can cross all three. I-R1 is up first, then R1-R2, then R2-R3. C-I and R3-S stay
# up. The routers forward IP (for the direct scenarios); each host runs its own proxy in
# the proxy scenarios. Every file is fetched by an unmodified wget on C (default settings,
# killed after INT_DEADLINE seconds), byte-compared with the original; the four sizes
# (45 KB, 500 KB, 1 MB, 5 MB, INT_SIZES) at once, INT_REPS rounds, each round its own URLs
# (so no round finds the previous one's copy in a cache). The files' Last-Modified lies a
# day back, so caches may keep them (heuristic freshness) as they would a day-old file.
#
# Scenarios (INT_SCENARIOS; each started and stopped on its own):
#   direct           no outages, no proxy: the path's baseline
#   direct-outages   the links rotating, no proxy
#   hermes-connect   HTTPS end to end (wget https://10.78.5.2/, TLS with nginx), carried by
#                    a hermesd on every host: the tunnel action on C, HTTP/2 CONNECT over
#                    mTLS hop by hop (C -> I -> R1 -> R2 -> R3 -> nginx): proxies that can
#                    see nothing to keep
#   hermes-nocache   plain HTTP: C's hermesd takes wget's flow (the http action) and every
#                    hop passes the request on to the next one's tunnel listener as to a
#                    parent proxy (an upstream_proxy route, HTTP/2 over mTLS), R3 to nginx;
#                    retries at every hop (2 retries on 5xx, reset and connect failure,
#                    INT_RETRY), no cache
#   squid            plain HTTP through squid on every host (C's wget uses the one on C as
#                    its proxy; each squid's parent is the next host's; R3 goes to nginx),
#                    a memory cache at each hop, squid's own retries (forward_max_tries 3,
#                    retry_on_error on, connect_timeout 2 s)
#   hermes-cache     hermes-nocache with `cache: {enabled: true, max_object_kb: 8192}` on
#                    every hop (the 5 MB file fits in one stored object); "not
#                    available" (and skipped) while hermesd has no cache
#
# Writes $BUILD/bench-intermittent/: results.tsv (one line per download: scenario, size,
# round, ok, seconds), results.md (success rate and median completion time per scenario
# and size) and intermittent.png (success rates). Environment: INT_SCENARIOS, INT_SIZES
# (from 45K 500K 1M 5M), INT_REPS (3; QUICK=1: 1), INT_UP_MS (1000), INT_DEADLINE (60 s;
# QUICK=1: 30), INT_OUT (the output directory; logs/ there keeps every proxy's log),
# INT_ROTATE=0 (no outages in any scenario: a check that each path works at all). Cleans up everything it made (namespaces,
# cgroups, pins, processes) also on failure or Ctrl-C (common.sh's cleanup).
# tools/bench/intermittent.sh --help prints this.
case ${1:-} in
-h | --help)
	sed -n '2,/^case /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac

# shellcheck source-path=SCRIPTDIR source=../../tests/lib/common.sh
. "$(dirname "$0")/../../tests/lib/common.sh"

QUICK=${INT_QUICK:-}
INT_SCENARIOS=${INT_SCENARIOS:-direct direct-outages hermes-connect hermes-nocache squid hermes-cache}
INT_SIZES=${INT_SIZES:-45K 500K 1M 5M}
INT_REPS=${INT_REPS:-$([ -n "$QUICK" ] && echo 1 || echo 3)}
INT_UP_MS=${INT_UP_MS:-1000}
INT_DEADLINE=${INT_DEADLINE:-$([ -n "$QUICK" ] && echo 30 || echo 60)}
INT_RETRY=${INT_RETRY:-"{retry_on: [connect-failure, reset, 5xx], num_retries: 2, backoff_base_ms: 100, backoff_max_ms: 1000, timeout_ms: $((INT_DEADLINE * 1000))}"}
INT_OUT=${INT_OUT:-$BUILD/bench-intermittent}
HERMESD_LOG_LEVEL=${HERMESD_LOG_LEVEL:-info}
IMPAIR=$BUILD/tests/bin/impair
ORIGIN=10.78.5.2

require_cmd wget /usr/sbin/squid nginx openssl
[ -x "$IMPAIR" ] || die "$IMPAIR is missing: make all builds it"
trap 'int_cleanup' EXIT
int_cleanup() {
	local rc=$?
	declare -F stop_squids >/dev/null && stop_squids
	# the proxies' logs outlive the run, for a look at what each hop did
	[ -n "$TMP" ] && mkdir -p "$INT_OUT/logs" && cp "$TMP"/*.log "$INT_OUT/logs/" 2>/dev/null
	for d in "$TMP"/squid-*; do [ -d "$d" ] && cp "$d/access.log" "$INT_OUT/logs/$(basename "$d")-access.log" 2>/dev/null; done
	(exit "$rc")
	cleanup
}

bytes_of() {
	case $1 in
	45K) echo 46080 ;; 500K) echo 512000 ;; 1M) echo 1048576 ;; 5M) echo 5242880 ;;
	*) die "unknown size $1 (known: 45K 500K 1M 5M)" ;;
	esac
}

# ---------------------------------------------------------------- the chain

topo_up
ip -n "$NS_C" link del eth0 # the tests' direct link: here every path crosses the chain
NS_I=hi-$ID
NS_R1=h1-$ID
NS_R2=h2-$ID
NS_R3=h3-$ID
HOSTS=("$NS_C" "$NS_I" "$NS_R1" "$NS_R2" "$NS_R3" "$NS_S")
NAMES=(c i r1 r2 r3 s)
for ns in "$NS_I" "$NS_R1" "$NS_R2" "$NS_R3"; do
	ip netns add "$ns" || die "ip netns add $ns failed"
	_NETNS_MADE+=("$ns")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
done
# link k (1..5) joins HOSTS[k-1] (dev r, 10.78.k.1) and HOSTS[k] (dev l, 10.78.k.2)
for k in 1 2 3 4 5; do
	a=${HOSTS[k - 1]} b=${HOSTS[k]}
	ip -n "$a" link add name r type veth peer name l netns "$b" || die "veth $a-$b failed"
	ip -n "$a" addr add "10.78.$k.1/24" dev r
	ip -n "$b" addr add "10.78.$k.2/24" dev l
	ip -n "$a" link set dev r up
	ip -n "$b" link set dev l up
done
for h in 0 1 2 3 4 5; do
	for k in 1 2 3 4 5; do
		if ((k >= h + 2)); then
			ip -n "${HOSTS[h]}" route add "10.78.$k.0/24" via "10.78.$((h + 1)).2" dev r
		elif ((k <= h - 1)); then
			ip -n "${HOSTS[h]}" route add "10.78.$k.0/24" via "10.78.$h.1" dev l
		fi
	done
done
wait_links_up 5 "$NS_C" r "$NS_I" l "$NS_I" r "$NS_R1" l "$NS_R1" r "$NS_R2" l "$NS_R2" r "$NS_R3" l \
	"$NS_R3" r "$NS_S" l || die "the chain's links did not come up"
ns_c ping -c 1 -W 2 "$ORIGIN" >/dev/null || die "no route from C to $ORIGIN across the chain"
say "chain up: ${HOSTS[*]}"

# the three rotating links: the TC program on the right end of I, R1 and R2
ROT_HOSTS=("$NS_I" "$NS_R1" "$NS_R2")
for ns in "${ROT_HOSTS[@]}"; do
	nsenter --net="/run/netns/$ns" "$IMPAIR" attach r both || die "cannot attach the impair program in $ns"
done
# rotation_on: link j up in [j * UP, (j + 1) * UP) of every 3 * UP; returns once the
# pattern is steady (before that, links set later are still all up)
rotation_on() {
	local j period=$((3 * INT_UP_MS))
	for j in 0 1 2; do
		nsenter --net="/run/netns/${ROT_HOSTS[j]}" "$IMPAIR" set r $period $((2 * INT_UP_MS)) 100 \
			$((((j + 1) * INT_UP_MS) % period)) || die "impair set failed in ${ROT_HOSTS[j]}"
	done
	sleep "$(awk -v p=$period 'BEGIN { print p / 1000 }')"
}
rotation_off() {
	local ns
	for ns in "${ROT_HOSTS[@]}"; do nsenter --net="/run/netns/$ns" "$IMPAIR" set r off; done
}
dropped() {
	local ns n=0 d
	for ns in "${ROT_HOSTS[@]}"; do
		d=$(nsenter --net="/run/netns/$ns" "$IMPAIR" stats r | tr ' ' '\n' | sed -n 's/^dropped_pkts=//p')
		n=$((n + ${d:-0}))
	done
	echo "$n"
}

# ---------------------------------------------------------------- the origin

"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts c,i,r1,r2,r3,$ORIGIN >/dev/null || die "hermesctl certs init failed"
NGINX_HTTP_EXTRA="    server { listen $ORIGIN:443 ssl; ssl_certificate $TMP/pki/$ORIGIN.crt;
             ssl_certificate_key $TMP/pki/$ORIGIN.key; ssl_protocols TLSv1.3; root $TMP/nginx/www; }"
start_nginx "$NS_S" "$ORIGIN:80"
wait_tcp "$NS_S" "$ORIGIN" 443 || die "nginx does not listen on $ORIGIN:443"
for s in $INT_SIZES; do
	head -c "$(bytes_of "$s")" /dev/urandom >"$TMP/nginx/www/f$s.bin"
done

# ---------------------------------------------------------------- the proxies

tls() { echo "tls: {cert: $TMP/pki/$1.crt, key: $TMP/pki/$1.key, ca: $TMP/pki/ca.crt}"; }
# next_routes N: HOSTS[N]'s routes to the next hop's tunnel listener (N 0..3), for
# CONNECT (the tunnel action) and for proxy requests (an upstream_proxy http route)
next_routes() {
	local addr=10.78.$(($1 + 1)).2:15008 name=${NAMES[$1 + 1]}
	cat <<YAML
routes:
  - {name: next, match: [$ORIGIN/32], peers: [{address: $addr, name: $name}]}
http_routes:
  - {name: next, match: {host: "$ORIGIN"}, endpoints: [$addr], upstream_protocol: h2,
     upstream_proxy: true, tls_name: $name, retry: $INT_RETRY}
YAML
}
# hop_cfg N EXTRA: the config of HOSTS[N]'s hermesd (N 1..4): CONNECT and proxy requests
# to the origin allowed from the previous hop; both passed on to the next hop (R3: to
# the origin itself)
hop_cfg() {
	local n=$1
	tls "${NAMES[n]}"
	cat <<YAML
tunnel_access:
  - {match: $ORIGIN/32, action: allow}
http:
  retry: $INT_RETRY
$2
YAML
	((n < 4)) || return 0
	next_routes "$n"
}
# client_cfg ACTION EXTRA: C's hermesd, wget's flows to the origin taken by ACTION
client_cfg() {
	tls c
	next_routes 0
	cat <<YAML
policy:
  - {match: $ORIGIN/32, action: $1}
$2
YAML
}
HOP_PIDS=()
# hermes_up ACTION EXTRA: a hermesd on every host
hermes_up() {
	local n
	HOP_PIDS=()
	for n in 4 3 2 1; do
		hop_cfg $n "$2" >"$TMP/${NAMES[n]}.yaml"
		start_peer_hermesd "${HOSTS[n]}" "${NAMES[n]}" -c "$TMP/${NAMES[n]}.yaml" --tunnel-listen "10.78.$n.2:15008"
		HOP_PIDS+=("$PEER_PID")
	done
	client_cfg "$1" "$2" >"$TMP/c.yaml"
	start_hermesd -c "$TMP/c.yaml"
}
hermes_down() {
	local pid
	stop_hermesd TERM 10
	for pid in "${HOP_PIDS[@]}"; do stop_pid "$pid" TERM 10; done
	HOP_PIDS=()
}
# hermes_has_cache: this hermesd's config check takes a cache section
hermes_has_cache() {
	printf '%s\ncache: {enabled: true}\n' "$(tls c)" >"$TMP/probe.yaml"
	"$HERMESD_BIN" -c none --check --cgroup "$CG/app" --pin-root "$PINROOT" -c "$TMP/probe.yaml" >/dev/null 2>&1
}

SQUID_PIDS=()
SQUID_SVCS=()
# squid_up: squid on every host; C's on 127.0.0.1:3128 for wget, the others on their left
# address, each with the next host's as its parent (R3: the origin directly)
squids_up() {
	local n dir addr svc
	for n in 4 3 2 1 0; do
		dir=$TMP/squid-${NAMES[n]}
		addr=$([ "$n" = 0 ] && echo 127.0.0.1 || echo "10.78.$n.2")
		svc=hermes${ID//[^a-zA-Z0-9]/}${NAMES[n]}
		mkdir -p "$dir"
		chown proxy:proxy "$dir" || die "cannot chown $dir to the proxy user"
		{
			cat <<CONF
http_port $addr:3128
visible_hostname hermes-bench-${NAMES[n]}
cache_effective_user proxy
cache_effective_group proxy
pid_filename $dir/squid.pid
cache_log $dir/cache.log
access_log stdio:$dir/access.log
cache_store_log none
netdb_filename none
coredump_dir $dir
pinger_enable off
shutdown_lifetime 1 seconds
cache_mem 64 MB
maximum_object_size_in_memory 8 MB
maximum_object_size 8 MB
connect_timeout 2 seconds
forward_max_tries 3
retry_on_error on
acl all_src src all
http_access allow all_src
CONF
			if ((n < 4)); then
				echo "cache_peer 10.78.$((n + 1)).2 parent 3128 0 no-query no-digest default"
				echo "never_direct allow all"
			fi
		} >"$dir/squid.conf"
		nsenter --net="/run/netns/${HOSTS[n]}" /usr/sbin/squid -N -n "$svc" -f "$dir/squid.conf" \
			>"$dir/stdout.log" 2>&1 </dev/null &
		SQUID_PIDS+=($!)
		SQUID_SVCS+=("$svc")
		PIDS+=($!)
		wait_tcp "${HOSTS[n]}" "$addr" 3128 || { tail -n 20 "$dir/cache.log"; die "squid on ${NAMES[n]} did not start"; }
	done
	say "squid on every host (pids ${SQUID_PIDS[*]})"
}
stop_squids() {
	local pid svc
	for pid in "${SQUID_PIDS[@]}"; do pid_alive "$pid" && stop_pid "$pid" TERM 10; done
	for svc in "${SQUID_SVCS[@]}"; do rm -f /dev/shm/"$svc"-*; done
	SQUID_PIDS=()
	SQUID_SVCS=()
}

# ---------------------------------------------------------------- downloads

mkdir -p "$INT_OUT"
RESULTS=$INT_OUT/results.tsv
printf 'scenario\tsize\tround\tok\tseconds\n' >"$RESULTS"

# fetch SCENARIO ROUND HOW: the sizes at once, each its own wget; a line per download
fetch() {
	local sc=$1 round=$2 how=$3 s url pids=() t0 i=0 f
	t0=$(now_ms)
	for s in $INT_SIZES; do
		f=$TMP/nginx/www/f$s-$sc-$round.bin
		ln -f "$TMP/nginx/www/f$s.bin" "$f"
		touch -d '-1 day' "$f"
		url=http://$ORIGIN/$(basename "$f")
		rm -f "$TMP/got-$s" "$TMP/ms-$s"
		case $how in
		direct) cmd=(nsenter --net="/run/netns/$NS_C") ;;
		app) cmd=(in_app) ;;
		squid) cmd=(nsenter --net="/run/netns/$NS_C" env http_proxy=http://127.0.0.1:3128) ;;
		tls)
			cmd=(in_app)
			url=https://$ORIGIN/$(basename "$f")
			;;
		esac
		(
			"${cmd[@]}" timeout "$INT_DEADLINE" wget -q --ca-certificate="$TMP/pki/ca.crt" -O "$TMP/got-$s" "$url"
			echo "$? $(($(now_ms) - t0))" >"$TMP/ms-$s"
		) &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	for s in $INT_SIZES; do
		local rc ms ok=0
		read -r rc ms <"$TMP/ms-$s"
		[ "$rc" = 0 ] && cmp -s "$TMP/got-$s" "$TMP/nginx/www/f$s.bin" && ok=1
		printf '%s\t%s\t%s\t%s\t%s\n' "$sc" "$s" "$round" "$ok" "$(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }')" >>"$RESULTS"
		say "$sc round $round $s: $([ $ok = 1 ] && echo ok || echo "FAILED (wget $rc)") after ${ms} ms"
	done
}

run_scenario() {
	local sc=$1 how round d0
	case $sc in
	direct | direct-outages) how=direct ;;
	hermes-connect) hermes_up tunnel "" && how=tls ;;
	hermes-nocache) hermes_up http "" && how=app ;;
	hermes-cache)
		if ! hermes_has_cache; then
			say "$sc: not available (this hermesd has no cache section)"
			printf '%s\tall\t-\tn/a\t-\n' "$sc" >>"$RESULTS"
			return 0
		fi
		hermes_up http "cache: {enabled: true, max_object_kb: 8192}" && how=app
		;;
	squid) squids_up && how=squid ;;
	*) die "unknown scenario $sc" ;;
	esac
	d0=$(dropped)
	[ "$sc" = direct ] || [ "${INT_ROTATE:-1}" = 0 ] || rotation_on
	for ((round = 1; round <= INT_REPS; round++)); do
		fetch "$sc" "$round" "$how"
	done
	rotation_off
	say "$sc: $(($(dropped) - d0)) packets dropped on the rotating links"
	case $sc in hermes-*) hermes_down ;; squid) stop_squids ;; esac
}

for sc in $INT_SCENARIOS; do
	say "== $sc"
	run_scenario "$sc"
done

"$PY" "$(dirname "$0")/intermittent_report.py" "$RESULTS" "$INT_OUT" "$INT_UP_MS" "$INT_DEADLINE" ||
	die "the report failed"
cat "$INT_OUT/results.md"
say "results in $INT_OUT"
