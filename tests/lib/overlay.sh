# shellcheck shell=bash
# shellcheck disable=SC2016 # single-quoted sh -c scripts expand in the inner shell
# tests/lib/overlay.sh: an emulated overlay of Hermes hosts configured from etcd, shared by
# tests/e2e/overlay_scale.sh (a few hosts) and tools/bench/overlay.sh (16 or more). Source
# it after common.sh; call ov_up after topo_up, whose $TMP, $CG and cleanup trap it uses
# (common.sh's own two hosts stay unused).
#
# Hosts are named by role: cN clients (apps in a child cgroup, steered by their hermesd
# into tunnels), rN edge relays, kN core relays, sN servers (an echo server and a hermesd
# tunnel listener that dials it locally). Each host is a netns ov<NAME>-$ID with eth0 on
# one bridge (br0) in the switch netns ovsw-$ID, address $OV_NET.I (I = its position in
# the list, from 1): a mesh at the IP level, so that every path of the overlay is the
# choice of the hermesd routes, never of the network. The overlay's own tree:
#   client -> edge relay (its pair, primary and alternate) -> core relay (when there
#   are any) -> server's tunnel listener -> the echo server
# All tunnels are HTTP/2 CONNECT in clear text (h2c: a lab; TLS would add handshakes to the
# measurement, not change what travels through etcd). Three hosts run the etcd members
# (client port 2379, peer port 2380 on their address); every hermesd has an `etcd` section
# naming all three, its own state file and --etcd-node NAME.
#
# The configuration of the whole overlay is generated per generation G (ov_gen G DIR: one
# YAML document per node, DIR/NAME.yaml, plus DIR/overlay.yaml for `hermesctl overlay
# apply`, DIR/txn.json for etcd's JSON gateway) and written by ov_apply DIR: all documents
# in one etcd transaction (OVERLAY_APPLY: etcdctl, gateway or hermesctl; see ov_apply).
# Route changes flip the order of each route's peers with G: clients use their pair's first
# relay on even G and its second on odd G (a change of path for new flows each time);
# edge relays flip their core relays with G / 2. Every document also carries G in its
# route names and in proxy.connect_timeout_ms (OV_CONNECT_MS + G; OV_CONNECT_MS defaults
# to hermesd's 3000), so that every node has a new document to apply at every generation.

OV_NET=10.79.0
OV_PREFIX=/hermes/ov
OV_SW=ovsw-$ID
OV_ECHO_PORT=7000
OV_HOSTS=()
OV_ETCD=()      # the hosts running an etcd member
OV_BAD=         # set: ov_gen writes a document every node refuses
declare -A OV_I OV_PID OV_LOG OV_ETCD_PID

ov_ns() { echo "ov$1-$ID"; }
ov_ip() { echo "$OV_NET.${OV_I[$1]}"; }
ov_role() { echo "${1%%[0-9]*}"; }
ov_hosts_of() {
	local h
	for h in "${OV_HOSTS[@]}"; do [[ $h == "$1"[0-9]* ]] && printf '%s\n' "$h"; done
}
# ov_in NAME CMD...: run CMD in host NAME's netns (not steered)
ov_in() {
	local h=$1
	shift
	nsenter --net="/run/netns/$(ov_ns "$h")" "$@"
}
# ov_app NAME CMD...: run CMD in host NAME's netns inside its app cgroup (steered)
ov_app() {
	local h=$1
	shift
	nsenter --net="/run/netns/$(ov_ns "$h")" sh -c 'echo $$ > "$0" && exec "$@"' "$CG/app-$h/cgroup.procs" "$@"
}
# ov_bg TAG NAME [app] CMD...: CMD in the background in host NAME (its app cgroup with
# "app"), output in $TMP/TAG.log; its PID in BG_PID and in PIDS (cleanup stops it)
ov_bg() {
	local tag=$1 h=$2
	shift 2
	if [ "$1" = app ]; then
		shift
		nsenter --net="/run/netns/$(ov_ns "$h")" sh -c 'echo $$ > "$0" && exec "$@"' "$CG/app-$h/cgroup.procs" \
			"$@" >"$TMP/$tag.log" 2>&1 </dev/null &
	else
		nsenter --net="/run/netns/$(ov_ns "$h")" "$@" >"$TMP/$tag.log" 2>&1 </dev/null &
	fi
	BG_PID=$!
	PIDS+=("$BG_PID")
}

# ov_up NAME...: the switch and the hosts (the order gives the addresses)
ov_up() {
	local h i=0 ns links=()
	ip netns add "$OV_SW" || die "ip netns add $OV_SW failed"
	_NETNS_MADE+=("$OV_SW")
	ip -n "$OV_SW" link add br0 type bridge || die "bridge in $OV_SW failed"
	ip -n "$OV_SW" link set br0 up
	for h in "$@"; do
		i=$((i + 1))
		OV_HOSTS+=("$h")
		OV_I[$h]=$i
		ns=$(ov_ns "$h")
		ip netns add "$ns" || die "ip netns add $ns failed"
		_NETNS_MADE+=("$ns")
		ip -n "$ns" link set lo up
		ip -n "$OV_SW" link add "p$i" type veth peer name eth0 netns "$ns" || die "veth for $h failed"
		ip -n "$OV_SW" link set "p$i" master br0 up
		ip -n "$ns" addr add "$OV_NET.$i/24" dev eth0
		ip -n "$ns" link set eth0 up
		mkdir -p "$CG/hermesd-$h" "$CG/app-$h" || die "cannot create the cgroups of $h"
		links+=("$ns" eth0)
	done
	wait_links_up 10 "${links[@]}" || die "the hosts' links did not come up"
	ov_in "$1" ping -n -q -c 1 -w 5 "$OV_NET.$i" >/dev/null || die "no path from $1 to $h across the switch"
	say "overlay hosts up: $* on $OV_NET.1-$i (bridge br0 in $OV_SW)"
}

# ov_cut NAME: the host's cable out (its switch port down): a dead host to its peers,
# whose packets to it are lost (connects time out), not refused
ov_cut() { ip -n "$OV_SW" link set "p${OV_I[$1]}" down; }
# ov_kill_host NAME: the host dies: its hermesd SIGKILLed (its sockets close with it: the
# peers' connections through it are reset, not left hanging), then its cable cut (nothing
# answers at its address any more). Returns once both are done (10 s at most).
ov_kill_host() {
	local pid=${OV_PID[$1]}
	kill -KILL "$pid"
	wait_until 10 sh -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status" ||
		die "hermesd $1 (pid $pid) still there 10 s after SIGKILL"
	sleep 0.2
	ov_cut "$1"
}

# ---------------------------------------------------------------- etcd

ov_eps() {
	local h s=
	for h in "${OV_ETCD[@]}"; do s+=${s:+,}http://$(ov_ip "$h"):2379; done
	echo "$s"
}
# ov_etcd_start NAME: the member on host NAME (data in $TMP/etcd-NAME, kept across restarts)
ov_etcd_start() {
	local h=$1 m cl=
	for m in "${OV_ETCD[@]}"; do cl+=${cl:+,}$m=http://$(ov_ip "$m"):2380; done
	ov_bg "etcd-$h" "$h" etcd --name "$h" --data-dir "$TMP/etcd-$h" \
		--listen-client-urls "http://$(ov_ip "$h"):2379" --advertise-client-urls "http://$(ov_ip "$h"):2379" \
		--listen-peer-urls "http://$(ov_ip "$h"):2380" --initial-advertise-peer-urls "http://$(ov_ip "$h"):2380" \
		--initial-cluster "$cl" --initial-cluster-token "hermes-ov-$ID" --initial-cluster-state new \
		--heartbeat-interval 50 --election-timeout 500
	# shellcheck disable=SC2034 # for the scripts that kill members
	OV_ETCD_PID[$h]=$BG_PID
}
# ov_etcd_up NAME NAME NAME: the cluster, waited for
ov_etcd_up() {
	local h
	OV_ETCD=("$@")
	for h in "$@"; do ov_etcd_start "$h"; done
	wait_until 20 ov_ectl endpoint health || die "the etcd cluster did not come up: $(tail -n 3 "$TMP/etcd-$1.log")"
	say "etcd cluster up on $* ($(ov_eps))"
}
# ov_etcd_leader: the host whose member leads the cluster now (empty when none answers)
ov_etcd_leader() {
	local ep h
	ep=$(ov_ectl endpoint status 2>/dev/null | awk -F', ' '$5 == "true" { print $1; exit }')
	for h in "${OV_ETCD[@]}"; do [ "$ep" = "http://$(ov_ip "$h"):2379" ] && echo "$h"; done
}
# ov_ectl ARGS...: etcdctl from the first etcd host (its netns; the members that are up)
ov_ectl() {
	local eps=${OV_ECTL_EPS:-$(ov_eps)}
	ov_in "${OV_ETCD[0]}" env ETCDCTL_API=3 etcdctl --endpoints="$eps" --dial-timeout=1s --command-timeout=3s "$@"
}

# ---------------------------------------------------------------- documents

# ov_peer_order G A B: "A B" or "B A" by G's parity
ov_peer_order() { if (($1 % 2 == 0)); then echo "$2 $3"; else echo "$3 $2"; fi; }
# ov_pair NAME: the two edge relays client NAME uses (clients 1..K split over the pairs)
ov_pair() {
	local -a rs
	mapfile -t rs < <(ov_hosts_of r)
	local nc n=${1#c} pairs=$((${#rs[@]} / 2))
	nc=$(ov_hosts_of c | wc -l)
	local p=$(((n - 1) * pairs / nc))
	echo "${rs[2 * p]} ${rs[2 * p + 1]}"
}
ov_servers_match() {
	local s m=
	for s in $(ov_hosts_of s); do m+=${m:+, }$OV_NET.${OV_I[$s]}/32; done
	echo "$m"
}
ov_listen() { echo "$(ov_ip "$1"):15008"; }

# ov_doc NAME G: node NAME's document at generation G (flow-style YAML, one line: etcdctl
# txn takes each value as one quoted string). With OV_BAD set, every document also holds a
# policy rule whose address does not parse, which every node must refuse.
ov_doc() {
	local h=$1 g=$2 a b s ks common pol=
	common="proxy: {connect_timeout_ms: $((${OV_CONNECT_MS:-3000} + g))}, tunnel: {h2_max_streams: 4000}, http2: {max_concurrent_streams: 4000}"
	[ -n "$OV_BAD" ] && pol="{match: 10.79.0.300/32, action: deny}"
	case $(ov_role "$h") in
	c)
		for s in $(ov_hosts_of s); do pol+=${pol:+, }"{match: $(ov_ip "$s")/32, action: tunnel}"; done
		read -r a b <<<"$(ov_pair "$h")"
		read -r a b <<<"$(ov_peer_order "$g" "$a" "$b")"
		echo "{$common, policy: [$pol], routes: [{name: servers-g$g, match: [$(ov_servers_match)]," \
			"protocol: h2c, peers: [$(ov_listen "$a"), $(ov_listen "$b")]}]}"
		;;
	r)
		mapfile -t ks < <(ov_hosts_of k)
		if [ ${#ks[@]} -ge 2 ]; then
			read -r a b <<<"$(ov_peer_order $((g / 2)) "${ks[0]}" "${ks[1]}")"
			echo "{$common, policy: [$pol], routes: [{name: core-g$g, match: [$(ov_servers_match)]," \
				"protocol: h2c, peers: [$(ov_listen "$a"), $(ov_listen "$b")]}]}"
		else
			ov_doc_to_servers "$common, policy: [$pol]" "$g"
		fi
		;;
	k) ov_doc_to_servers "$common, policy: [$pol]" "$g" ;;
	s) echo "{$common, policy: [$pol], tunnel_access: [{match: $(ov_ip "$h")/32, action: allow}]}" ;;
	esac
}
# a route per server, to its tunnel listener
ov_doc_to_servers() {
	local s r=
	for s in $(ov_hosts_of s); do
		r+=${r:+, }"{name: $s-g$2, match: [$(ov_ip "$s")/32], protocol: h2c, peers: [$(ov_listen "$s")]}"
	done
	echo "{$1, routes: [$r]}"
}

# ov_gen G DIR: every node's document at generation G in DIR/NAME.yaml, and the whole
# overlay in DIR/overlay.yaml for `hermesctl overlay apply` (OVERLAY_APPLY=hermesctl): each
# node with its role (c client, r and k relay, s egress), its address, the tunnel listener
# of those routes go through, and its document as its `config` block (the routes stay in
# the config blocks: a client's pair of edge relays and an edge relay's core order flip on
# different beats, which the overlay's routes, one path list for all their from nodes,
# do not express), so that each node gets exactly DIR/NAME.yaml
ov_role_name() {
	case $(ov_role "$1") in c) echo client ;; r | k) echo relay ;; s) echo egress ;; esac
}
ov_gen() {
	local g=$1 dir=$2 h
	mkdir -p "$dir"
	{
		echo "# the emulated overlay, generation $g (tests/lib/overlay.sh)"
		echo "overlay: ov-$ID"
		echo "prefix: $OV_PREFIX"
		echo "protocol: h2c"
		echo "nodes:"
		for h in "${OV_HOSTS[@]}"; do
			ov_doc "$h" "$g" >"$dir/$h.yaml"
			echo "  - name: $h"
			echo "    address: $(ov_ip "$h")"
			[ "$(ov_role "$h")" = c ] || echo "    tunnel: $(ov_listen "$h")"
			echo "    roles: [$(ov_role_name "$h")]"
			echo "    config: $(cat "$dir/$h.yaml")"
		done
	} >"$dir/overlay.yaml"
	# the same transaction for etcd's JSON gateway (OVERLAY_APPLY=gateway)
	{
		printf '{"success": ['
		for h in "${OV_HOSTS[@]}"; do
			[ "$h" = "${OV_HOSTS[0]}" ] || printf ', '
			printf '{"requestPut": {"key": "%s", "value": "%s"}}' "$(printf '%s' "$OV_PREFIX/nodes/$h" | base64 -w0)" \
				"$(base64 -w0 <"$dir/$h.yaml")"
		done
		printf ']}\n'
	} >"$dir/txn.json"
}

# ov_apply DIR: write the generation in DIR to etcd in one transaction; sets OV_REV (the
# revision of the write). OVERLAY_APPLY: etcdctl (the default: etcdctl txn), gateway (the
# same transaction POSTed with curl to etcd's JSON gateway, /v3/kv/txn: no Go program to
# start, as a C client such as hermesctl would) or hermesctl (`hermesctl overlay apply`,
# i19-apply's command, on DIR/overlay.yaml). Tried again for a few seconds: with a member just
# killed the cluster may be electing a leader.
OV_REV=
ov_apply() {
	local dir=$1 out i h eps
	for ((i = 0; i < 5; i++)); do
		case ${OVERLAY_APPLY:-etcdctl} in
		hermesctl)
			out=$(ov_in "${OV_ETCD[0]}" "$HERMESCTL_BIN" overlay apply --etcd "${OV_ECTL_EPS:-$(ov_eps)}" \
				--prefix "$OV_PREFIX" --json "$dir/overlay.yaml" 2>&1) && break
			;;
		gateway)
			# (etcd answers a txn only once it is committed: 200 with the header's revision)
			IFS=, read -r -a eps <<<"${OV_ECTL_EPS:-$(ov_eps)}"
			out=$(ov_in "${OV_ETCD[0]}" curl -sS --fail-with-body --max-time 3 -X POST \
				"${eps[i % ${#eps[@]}]}/v3/kv/txn" \
				--data-binary @"$dir/txn.json" 2>&1) && [[ $out == *'"succeeded":true'* ]] && break
			;;
		etcdctl)
			out=$(for h in "${OV_HOSTS[@]}"; do
				printf 'put %s/nodes/%s "%s"\n' "$OV_PREFIX" "$h" "$(cat "$dir/$h.yaml")"
			done | { printf '\n'; cat; printf '\n\n'; } | ov_ectl txn -w json 2>&1) && break
			;;
		*) die "OVERLAY_APPLY=$OVERLAY_APPLY: expected etcdctl, gateway or hermesctl" ;;
		esac
		say "writing the overlay failed (${out##*Error: }): again"
		sleep 0.3
	done
	[ $i -lt 5 ] || die "writing the overlay failed: $out"
	OV_REV=$(printf '%s' "$out" | sed -n 's/.*"revision": *"\{0,1\}\([0-9]*\).*/\1/p' | head -n 1)
	# (hermesctl found nothing to write, a retry after a write whose answer was lost: its
	# revision is the store's, which the nodes' status keys move on; the documents' is wanted)
	[[ $out == *'"written": false'* ]] && OV_REV=
	[ -z "$OV_REV" ] && OV_REV=$(ov_ectl get "$OV_PREFIX/nodes/${OV_HOSTS[0]}" -w json | sed -n 's/.*"mod_revision":\([0-9]*\).*/\1/p')
	[ -n "$OV_REV" ] || die "no revision after writing the overlay: $out"
}

# ---------------------------------------------------------------- hermesd on every host

# ov_conf NAME: the host's start file (restart keys and the etcd section only)
ov_conf() {
	cat >"$TMP/conf-$1.yaml" <<YAML
# host $1 of the emulated overlay: every reload key comes from etcd
etcd:
  endpoints: [$(ov_eps | sed 's/,/, /g')]
  prefix: $OV_PREFIX
  state_file: $TMP/state-$1.yaml
YAML
	echo "$TMP/conf-$1.yaml"
}
# ov_launch NAME: start the host's hermesd (not waited for)
ov_launch() {
	local h=$1 extra=()
	case $(ov_role "$h") in r | k | s) extra=(--tunnel-listen "$(ov_listen "$h")") ;; esac
	OV_LOG[$h]=$TMP/hermesd-$h.log
	_PINS_MADE+=("$PINROOT-$h")
	_LOGS_MADE+=("${OV_LOG[$h]}")
	launch_hermesd "$(ov_ns "$h")" "$CG/hermesd-$h" "$CG/app-$h" "$PINROOT-$h" "${OV_LOG[$h]}" \
		"${HERMESD_LOG_LEVEL-info}" -c "$(ov_conf "$h")" --etcd-node "$h" "${extra[@]}"
	OV_PID[$h]=$LAUNCH_PID
}
ov_ready() { [ "$(ov_in "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:15000/ready)" = 200 ]; }
# ov_wait_ready NAME...: each hermesd answers /ready (bounded: 30 s in all)
ov_wait_ready() {
	local h t0
	t0=$(now_ms)
	for h in "$@"; do
		while ! ov_ready "$h"; do
			pid_alive "${OV_PID[$h]}" || { tail -n 20 "${OV_LOG[$h]}"; die "hermesd $h exited during startup"; }
			(($(now_ms) - t0 < 30000)) || { tail -n 20 "${OV_LOG[$h]}"; die "hermesd $h not ready after 30 s"; }
			sleep 0.1
		done
	done
}
# ov_hermesd_up NAME...: start them all, then wait for each
ov_hermesd_up() {
	local h
	for h in "$@"; do ov_launch "$h"; done
	ov_wait_ready "$@"
	say "hermesd ready on $*"
}
# ov_stat NAME METRIC: a /stats value of host NAME's hermesd (first sample)
ov_stat() {
	ov_in "$1" curl -s --max-time 3 http://127.0.0.1:15000/stats |
		awk -v m="$2" 'index($0, m) == 1 && substr($0, length(m) + 1, 1) ~ /[ {]/ { print $NF; exit }'
}
# ov_all_applied REV: every running hermesd has applied REV (its etcd revision gauge)
ov_all_applied() {
	local h
	for h in "${OV_HOSTS[@]}"; do
		pid_alive "${OV_PID[$h]:-0}" || continue
		[ "$(ov_stat "$h" hermes_etcd_applied_revision)" = "$1" ] || return 1
	done
}
# ov_wait_applied REV: ov_all_applied within 10 s, or the test fails naming the laggards
ov_wait_applied() {
	local h late=
	wait_until 10 ov_all_applied "$1" && return 0
	for h in "${OV_HOSTS[@]}"; do
		pid_alive "${OV_PID[$h]:-0}" || continue
		[ "$(ov_stat "$h" hermes_etcd_applied_revision)" = "$1" ] || late+=" $h($(ov_stat "$h" hermes_etcd_applied_revision))"
	done
	die "revision $1 not applied within 10 s by:$late"
}
# ov_wait_logged REV: every running hermesd logged that it applied REV (one grep over the
# logs: cheaper than asking each /stats, for a test that makes many changes in a row)
ov_wait_logged() {
	local h logs=() n
	for h in "${OV_HOSTS[@]}"; do pid_alive "${OV_PID[$h]:-0}" && logs+=("${OV_LOG[$h]}"); done
	n=${#logs[@]}
	wait_until 10 sh -c '[ "$(grep -l " etcd: reloaded [^ ]* revision $0 " "$@" | wc -l)" = "$1" ]' "$1" "$n" "${logs[@]}" ||
		die "revision $1 not applied within 10 s by every node: $(grep -L " etcd: reloaded [^ ]* revision $1 " "${logs[@]}")"
}
# ov_wait_in_sync: `hermesctl overlay status` says every node runs its documents (exit 0:
# each status key's applied revision at least its documents'), within 10 s, or the test
# fails with its table. One process and one etcd read per try, whatever the node count.
ov_overlay_status() {
	ov_in "${OV_ETCD[0]}" "$HERMESCTL_BIN" overlay status --etcd "${OV_ECTL_EPS:-$(ov_eps)}" --prefix "$OV_PREFIX"
}
ov_wait_in_sync() {
	wait_until 10 ov_overlay_status && return 0
	die "not every node in sync within 10 s: $(ov_overlay_status 2>&1)"
}
# ov_connects NAME: how many CONNECTs relay or server NAME's tunnel listener logged
ov_connects() { grep -c "tunnel conn [0-9]*: CONNECT " "${OV_LOG[$1]}"; }

# ov_echo_up: an echo server on every server host (bounded by OV_ECHO_DEADLINE s)
ov_echo_up() {
	local s
	for s in $(ov_hosts_of s); do
		ov_bg "echo-$s" "$s" "$PY" "$TESTBIN/hnet.py" serve-echo "$(ov_ip "$s")" "$OV_ECHO_PORT" \
			--deadline "${OV_ECHO_DEADLINE:-300}"
	done
	for s in $(ov_hosts_of s); do
		wait_tcp "$(ov_ns "$s")" "$(ov_ip "$s")" "$OV_ECHO_PORT" || die "echo server on $s not listening"
	done
}
# ov_targets: the echo servers as ovflows.py TARGETS
ov_targets() {
	local s t=
	for s in $(ov_hosts_of s); do t+=${t:+,}$(ov_ip "$s"):$OV_ECHO_PORT; done
	echo "$t"
}
