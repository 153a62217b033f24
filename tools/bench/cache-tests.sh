#!/bin/bash
# shellcheck disable=SC2317 # the proxies' start functions are called through COL_START
# cache-tests.sh: runs the public HTTP cache test suite (cache-tests.fyi, npm package
# http-cache-tests) against caching reverse proxies from Debian and against Hermes, in one
# run, and writes their results side by side (make cache-tests).
#
# Usage: tools/bench/cache-tests.sh [--help] [COLUMN...]
#
# The suite is a test server (the origin: it answers as each test's configuration says and
# records what reached it) and a client that sends each test's requests to a base URL and
# checks what comes back and what the origin saw. It has no forward-proxy mode (its client
# only ever dials the base URL), so every column is a reverse proxy in front of the server,
# as on cache-tests.fyi. The topology is tests/lib/common.sh's (its cleanup, traps and
# safety rules apply): the suite's server runs on the server host (netns hs-ID,
# 10.77.1.2:8000, also reachable as 10.77.1.3:8000); each proxy and the client run on the
# client host (netns hc-ID); nothing listens or is steered in the root netns.
#
# Columns (all of them by default, in this order; name some to run only those):
#   none           the client straight to the server: the suite's baseline (no cache)
#   nginx          nginx proxy_cache (nginx-light), the suite's own docker configuration:
#                  proxy_cache, proxy_cache_revalidate on
#   squid          squid as an accelerator (http_port accel, origin as cache_peer), memory
#                  cache, the suite's docker configuration
#   varnish        varnishd -b ORIGIN -p default_ttl=0 -p default_grace=0 -p default_keep=3600
#                  -s malloc,64M (the suite's docker configuration, built-in VCL)
#   trafficserver  Apache Traffic Server (traffic_server in a run root of its own), the
#                  suite's docker records.config, a map rule to the origin, a 64 MB cache file
#   hermes         "hermes (cache off)": hermesd with an http rule for 10.77.1.3:8000 and
#                  an http_routes entry sending it to 10.77.1.2:8000, the client in the
#                  steered cgroup: what it passes as a proxy that does not cache
#   hermes-cache   "hermes (cache)": the same with `cache: {enabled: true}` (the defaults:
#                  64 MiB in memory, objects up to 1 MiB)
#
# Output (CACHE_TESTS_OUT, default tools/bench/results/cache-tests):
#   COLUMN.json          the suite's result JSON for that column (as its CLI prints it:
#                        test id -> true, or [error kind, message])
#   COLUMN.status.json   how the run went: ok, timeout (the per-column limit ended it; the
#                        tests finished by then are in COLUMN.json), crashed (the proxy
#                        died or a worker crashed), setup-failed (the proxy did not start),
#                        with the proxy's version, the base URL and the seconds taken
#   tests.json           the suite's test list (id, suite, name, kind, depends_on)
#   summary.md, summary.json  per column: passed, failed, optional failed, setup errors,
#                        dependency failures, check yes/no, not run; and every test whose
#                        result differs between the columns
#
# Environment:
#   CACHE_TESTS_VERSION     the suite's npm version (default 0.4.5, the latest published)
#   CACHE_TESTS_DIR         where it is installed (default $BUILD/cache-tests)
#   CACHE_TESTS_OUT         the results directory (above)
#   CACHE_TESTS_TIMEOUT     seconds one column may take before it is stopped (default 300;
#                           a run takes about 20-60 s: the suite pauses 3 s in many tests)
#   CACHE_TESTS_REQ_TIMEOUT_MS  the time limit of one request (default 20000): a proxy
#                           that never answers fails that test instead of hanging the run
#   CACHE_TESTS_ID          run only the test with this id (tests.json lists them), its
#                           requests and responses printed as the client and the server
#                           saw them; results under $BUILD/cache-tests/single, not in
#                           the results directory
#   BUILD                   the build directory whose hermesd runs (default build)
#
# The proxies' own logs and the client's output of the last run are kept in
# $BUILD/cache-tests/logs/COLUMN/ (hermesd's log, squid's access.log, ...).
#
# Needs root (network namespaces, cgroups, BPF for hermesd), Debian's nodejs and npm (the
# suite is installed with npm from the npm registry on first use), nginx-light, squid,
# varnish, trafficserver (tools/deps.sh cache-tests installs them). A column whose proxy
# is not installed is recorded as setup-failed, the others still run. Exit status 0 when
# every column ran to the end (whatever it passed), 1 when one timed out, crashed or did
# not start, 2 on a usage error.

case ${1:-} in
-h | --help)
	sed -n '3,/^$/{s/^# \{0,1\}//;p}' "$0"
	exit 0
	;;
esac

# shellcheck source-path=SCRIPTDIR source=../../tests/lib/common.sh
. "$(dirname "$0")/../../tests/lib/common.sh"

SUITE_VERSION=${CACHE_TESTS_VERSION:-0.4.5}
SUITE_ROOT=${CACHE_TESTS_DIR:-$BUILD/cache-tests}
SUITE=$SUITE_ROOT/node_modules/http-cache-tests
OUT=${CACHE_TESTS_OUT:-$HERMES_SRC/tools/bench/results/cache-tests}
LOGDIR=$SUITE_ROOT/logs
ONLY_ID=${CACHE_TESTS_ID:-}
# one test: its exchanges printed, nothing written to the results directory
[ -z "$ONLY_ID" ] || OUT=$SUITE_ROOT/single
COL_TIMEOUT=${CACHE_TESTS_TIMEOUT:-300}
REQ_TIMEOUT_MS=${CACHE_TESTS_REQ_TIMEOUT_MS:-20000}
ORIGIN_PORT=8000
ORIGIN=10.77.1.2:$ORIGIN_PORT
HERMESD_LOG_LEVEL=${HERMESD_LOG_LEVEL:-info}

# ---------------------------------------------------------------- the columns
# add_column NAME LABEL START_FUNCTION [ARGS...]: one column of the table. START_FUNCTION
# ARGS... starts the proxy in front of $ORIGIN and sets COL_BASE (the URL the client
# sends to), COL_WHERE (c: the client host's netns; app: there, inside the cgroup hermesd
# steers), COL_PIDS (checked after the run: one that exited is a crash), COL_VERSION and
# COL_CRASHLOG (a file where the proxy reports a crashed worker it restarted, with
# COL_CRASHRE the pattern); it returns 1 with COL_FAIL set when the proxy did not start.
# Everything it starts goes into PIDS (common.sh's cleanup) and is stopped by PID after the
# column (col_down).
COLUMNS=()
declare -A COL_LABEL COL_START
add_column() {
	COLUMNS+=("$1")
	COL_LABEL[$1]=$2
	shift 2
	COL_START[${COLUMNS[-1]}]="$*"
}
add_column none "none (direct to the server)" none_up
add_column nginx "nginx proxy_cache" nginx_up
add_column squid "squid (accelerator)" squid_up
add_column varnish "varnish" varnish_up
add_column trafficserver "Apache Traffic Server" trafficserver_up
add_column hermes "hermes (cache off)" hermes_up hermes-nocache
add_column hermes-cache "hermes (cache)" hermes_up hermes-cache

# hermes_configs: the hermesd configurations hermes_up can start, $TMP/cfg/NAME.yaml.
# Every one makes hermesd a reverse proxy for the suite: the client (in the steered
# cgroup) dials 10.77.1.3:8000, the http rule hands each flow to hermesd's http action and
# the route sends every request to the server at $ORIGIN on pooled connections.
hermes_configs() {
	local d=$TMP/cfg
	mkdir -p "$d"
	cat >"$d/hermes-nocache.yaml" <<YAML
policy:
  - match: 10.77.1.3/32:$ORIGIN_PORT
    action: http
http_routes:
  - name: cache-tests
    endpoints: [$ORIGIN]
YAML
	{
		cat "$d/hermes-nocache.yaml"
		echo "cache: {enabled: true}"
	} >"$d/hermes-cache.yaml"
}

# ---------------------------------------------------------------- proxies

COL_BASE='' COL_WHERE='' COL_VERSION='' COL_FAIL='' COL_CRASHLOG='' COL_CRASHRE=''
COL_PIDS=()

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }

# start NAME PORT CMD...: CMD in the client netns, output in $TMP/NAME.out; waits (10 s)
# until 127.0.0.1:PORT accepts; 1 with COL_FAIL set when it does not or CMD exited
start() {
	local name=$1 port=$2
	shift 2
	nsenter --net="/run/netns/$NS_C" "$@" >"$TMP/$name.out" 2>&1 </dev/null &
	COL_PIDS+=("$!")
	PIDS+=("$!")
	if ! wait_tcp "$NS_C" 127.0.0.1 "$port"; then
		COL_FAIL="$name did not listen on 127.0.0.1:$port within 10 s: $(tail -n 3 "$TMP/$name.out" | tr '\n' ' ')"
		return 1
	fi
}

need() { command -v "$1" >/dev/null 2>&1 || { COL_FAIL="$1 is not installed (tools/deps.sh cache-tests installs it)" && return 1; }; }

none_up() {
	COL_BASE=http://$ORIGIN COL_VERSION="http-cache-tests $SUITE_VERSION server"
}

nginx_up() {
	local d=$TMP/nginx port=8002
	need /usr/sbin/nginx || return 1
	COL_VERSION="nginx-light $(pkg_version nginx-light)" COL_BASE=http://127.0.0.1:$port
	mkdir -p "$d/tmp" "$d/cache"
	chown -R nobody:nogroup "$d/tmp" "$d/cache" # the workers' user writes the cache
	# The suite's docker/nginx/nginx.conf, with our paths: proxy_cache with a 1000 MB
	# zone, proxy_cache_revalidate on; nginx's other defaults (it keeps what upstream
	# marks cacheable, honours no-store/private/Set-Cookie by not storing).
	cat >"$d/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user nobody nogroup;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 2048; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    proxy_cache_path $d/cache levels=1:2 keys_zone=cachetests:8m max_size=1000m inactive=600m;
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://$ORIGIN;
            proxy_cache cachetests;
            proxy_cache_revalidate on;
        }
    }
}
EOF
	COL_CRASHLOG=$d/error.log COL_CRASHRE='exited on signal'
	start nginx "$port" /usr/sbin/nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf"
}

SQUID_SVC=
squid_up() {
	local d=$TMP/squid port=8001
	need /usr/sbin/squid || return 1
	COL_VERSION="squid $(pkg_version squid)" COL_BASE=http://127.0.0.1:$port
	mkdir -p "$d"
	chown proxy:proxy "$d" # squid binds as root, then runs as proxy, which writes its logs
	# The suite's docker/squid/squid.conf (accelerator, the origin as its only parent),
	# with our paths; Debian's defaults otherwise: a 256 MB memory cache, no cache_dir.
	cat >"$d/squid.conf" <<CONF
http_port 127.0.0.1:$port accel defaultsite=127.0.0.1 no-vhost
cache_peer ${ORIGIN%:*} parent $ORIGIN_PORT 0 no-query no-digest originserver default name=origin
cache_peer_access origin allow all
http_access allow all
visible_hostname hermes-cache-tests-squid
cache_effective_user proxy
cache_effective_group proxy
pid_filename $d/squid.pid
cache_log $d/cache.log
access_log stdio:$d/access.log
cache_store_log none
netdb_filename none
coredump_dir $d
pinger_enable off
shutdown_lifetime 1 seconds
connect_retries 3
CONF
	# squid's shared memory in /dev/shm is named after -n: ours, removed in col_down
	SQUID_SVC=hct${ID//[^a-zA-Z0-9]/}
	COL_CRASHLOG=$d/cache.log COL_CRASHRE='FATAL|assertion failed'
	start squid "$port" /usr/sbin/squid -N -n "$SQUID_SVC" -f "$d/squid.conf"
}

varnish_up() {
	local d=$TMP/varnish port=8005
	need /usr/sbin/varnishd || return 1
	COL_VERSION="varnish $(pkg_version varnish)" COL_BASE=http://127.0.0.1:$port
	mkdir -p "$d"
	chmod 755 "$d"
	# The suite's docker/serve.sh command line; -b instead of its default.vcl, which holds
	# the same backend and nothing else; -F: in the foreground, its PID ours to stop.
	# The management process restarts a child that crashed and says so on its output.
	COL_CRASHLOG=$TMP/varnish.out COL_CRASHRE='Child .* (died|Panic)|Child not responding'
	start varnish "$port" /usr/sbin/varnishd -F -n "$d/work" -a "127.0.0.1:$port" -b "$ORIGIN" \
		-p default_ttl=0 -p default_grace=0 -p default_keep=3600 -s malloc,64M
}

trafficserver_up() {
	local d=$TMP/trafficserver port=8003
	need /usr/bin/traffic_server || return 1
	# (Debian's 9.2.5+ds-0+deb12u4 reports itself as 9.2.9: both are shown)
	COL_VERSION="trafficserver $(pkg_version trafficserver) (traffic_server $(traffic_server -V 2>/dev/null |
		awk '/^Traffic Server/ { print $3; exit }'))" COL_BASE=http://127.0.0.1:$port
	mkdir -p "$d/etc" "$d/run" "$d/log" "$d/cache" "$d/var"
	cp -r /etc/trafficserver/. "$d/etc/"
	# A run root of our own (traffic_server --run-root): our config, logs, cache file and
	# runtime files, the package's binaries and plugins; /etc/trafficserver is only read.
	cat >"$d/runroot.yaml" <<YAML
prefix: /usr
exec_prefix: /usr
bindir: /usr/bin
sbindir: /usr/sbin
sysconfdir: $d/etc
datadir: $d/cache
includedir: /usr/include
libdir: /usr/lib/trafficserver
libexecdir: /usr/lib/trafficserver/modules
localstatedir: $d/var
runtimedir: $d/run
logdir: $d/log
cachedir: $d/cache
YAML
	# The suite's docker/trafficserver/records.config, less what only tunes threads and
	# logs, with our port; remap to the origin; a 64 MB cache file.
	cat >"$d/etc/records.config" <<EOF
CONFIG proxy.config.http.server_ports STRING $port
CONFIG proxy.config.admin.user_id STRING trafficserver
CONFIG proxy.config.exec_thread.autoconfig INT 0
CONFIG proxy.config.exec_thread.limit INT 2
CONFIG proxy.config.accept_threads INT 1
CONFIG proxy.config.task_threads INT 2
CONFIG proxy.config.http.insert_request_via_str INT 1
CONFIG proxy.config.http.insert_response_via_str INT 0
CONFIG proxy.config.http.connect_attempts_max_retries INT 3
CONFIG proxy.config.http.connect_attempts_timeout INT 30
CONFIG proxy.config.http.negative_caching_enabled INT 0
CONFIG proxy.config.http.insert_client_ip INT 1
CONFIG proxy.config.http.insert_squid_x_forwarded_for INT 1
CONFIG proxy.config.http.push_method_enabled INT 0
CONFIG proxy.config.http.cache.http INT 1
CONFIG proxy.config.http.cache.ignore_client_cc_max_age INT 1
CONFIG proxy.config.http.normalize_ae INT 1
CONFIG proxy.config.http.cache.cache_responses_to_cookies INT 1
CONFIG proxy.config.http.cache.cache_urls_that_look_dynamic INT 1
CONFIG proxy.config.http.cache.when_to_revalidate INT 0
CONFIG proxy.config.http.cache.required_headers INT 2
CONFIG proxy.config.http.cache.heuristic_min_lifetime INT 3600
CONFIG proxy.config.http.cache.heuristic_max_lifetime INT 86400
CONFIG proxy.config.http.cache.heuristic_lm_factor FLOAT 0.10
CONFIG proxy.config.cache.ram_cache.size INT -1
CONFIG proxy.config.cache.ram_cache_cutoff INT 4194304
CONFIG proxy.config.cache.limits.http.max_alts INT 5
CONFIG proxy.config.cache.max_doc_size INT 0
CONFIG proxy.config.cache.min_average_object_size INT 8000
CONFIG proxy.config.url_remap.remap_required INT 1
CONFIG proxy.config.url_remap.pristine_host_hdr INT 1
CONFIG proxy.config.reverse_proxy.enabled INT 1
CONFIG proxy.config.diags.debug.enabled INT 0
CONFIG proxy.config.log.logging_enabled INT 0
EOF
	echo "map http://127.0.0.1:$port/ http://$ORIGIN/" >"$d/etc/remap.config"
	cat >"$d/etc/ip_allow.yaml" <<YAML
ip_allow:
  - apply: in
    ip_addrs: 0/0
    action: allow
    methods: ALL
  - apply: in
    ip_addrs: ::/0
    action: allow
    methods: ALL
YAML
	echo "$d/cache 64M" >"$d/etc/storage.config"
	chown -R trafficserver:trafficserver "$d"
	COL_CRASHLOG=$d/log/diags.log COL_CRASHRE='FATAL|received signal'
	start trafficserver "$port" /usr/bin/traffic_server --run-root="$d/runroot.yaml"
}

# hermes_up CONFIG: hermesd with $TMP/cfg/CONFIG.yaml (hermes_configs) as common.sh's
# start_hermesd runs it (in the client netns, in $CG/hermesd, steering $CG/app, pins
# under $PINROOT), waiting for /ready; the client then runs in $CG/app and dials
# 10.77.1.3:8000, which the config's http rule steers to hermesd. A hermesd that exits
# or is not ready in 15 s is a setup failure of this column, not the end of the run.
hermes_up() {
	local cfg=$TMP/cfg/$1.yaml i
	[ -x "$HERMESD_BIN" ] || { COL_FAIL="$HERMESD_BIN is missing: run make first" && return 1; }
	[ -f "$cfg" ] || { COL_FAIL="no hermesd configuration $cfg (hermes_configs writes them)" && return 1; }
	COL_VERSION="$("$HERMESD_BIN" --version 2>/dev/null | head -n 1)"
	COL_BASE=http://10.77.1.3:$ORIGIN_PORT COL_WHERE=app
	COL_CRASHLOG=$HERMESD_LOG COL_CRASHRE='ERROR: (Address|Leak)Sanitizer|runtime error:'
	launch_hermesd "$NS_C" "$CG/hermesd" "$CG/app" "$PINROOT" "$HERMESD_LOG" "$HERMESD_LOG_LEVEL" \
		--detach-on-exit -c "$cfg"
	HERMESD_PID=$LAUNCH_PID
	COL_PIDS+=("$HERMESD_PID")
	for ((i = 0; i < 150; i++)); do
		if ! pid_alive "$HERMESD_PID"; then
			COL_FAIL="hermesd -c $cfg exited during start-up: $(tail -n 2 "$HERMESD_LOG" | tr '\n' ' ')"
			return 1
		fi
		[ "$(ns_c curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:15000/ready)" = 200 ] && return 0
		sleep 0.1
	done
	COL_FAIL="hermesd -c $cfg not ready after 15 s (GET /ready on 127.0.0.1:15000)"
	return 1
}

# col_down: stop what the column started, by PID (TERM, KILL after 10 s), and what it
# leaves behind; the hermesd pins are removed by cleanup (and reused by the next start)
col_down() {
	local p
	for p in "${COL_PIDS[@]}"; do stop_pid "$p" TERM 10; done
	[ -n "$SQUID_SVC" ] && rm -f /dev/shm/"$SQUID_SVC"-* && SQUID_SVC=
	HERMESD_PID=
}

# ---------------------------------------------------------------- the suite

# install_suite: http-cache-tests $SUITE_VERSION from the npm registry into $SUITE_ROOT
# (a package.json of its own there, so npm never touches the source tree), unless there
install_suite() {
	local have
	have=$(node -p "require('$SUITE/package.json').version" 2>/dev/null)
	if [ "$have" = "$SUITE_VERSION" ] && [ -d "$SUITE_ROOT/node_modules/node-fetch" ]; then
		return 0
	fi
	require_cmd node npm
	say "installing http-cache-tests@$SUITE_VERSION from npm into $SUITE_ROOT"
	mkdir -p "$SUITE_ROOT"
	[ -f "$SUITE_ROOT/package.json" ] ||
		printf '{ "name": "hermes-cache-tests", "private": true, "description": "the HTTP cache test suite for tools/bench/cache-tests.sh" }\n' >"$SUITE_ROOT/package.json"
	(cd "$SUITE_ROOT" && npm install --no-audit --no-fund --ignore-scripts --save-exact \
		"http-cache-tests@$SUITE_VERSION") >"$SUITE_ROOT/npm-install.log" 2>&1 ||
		die "npm install http-cache-tests@$SUITE_VERSION failed (see $SUITE_ROOT/npm-install.log): is the npm registry reachable?"
}

SERVER_PID=
server_up() {
	# the suite's `npm run server`, without npm: its settings come as npm_config_* variables
	bg suite-server s env npm_config_protocol=http npm_config_port=$ORIGIN_PORT \
		npm_config_pidfile="$TMP/suite-server.pid" node "$SUITE/server/server.mjs"
	SERVER_PID=$BG_PID
	wait_tcp "$NS_S" "${ORIGIN%:*}" "$ORIGIN_PORT" ||
		die "the suite's server did not listen on $ORIGIN: $(tail -n 5 "$TMP/suite-server.log")"
}

# run_column NAME: start its proxy, run the suite through it (bounded), record the outcome
run_column() {
	local name=$1 status=ok detail='' rc t0 secs p start
	COL_BASE='' COL_WHERE=c COL_VERSION='' COL_FAIL='' COL_CRASHLOG='' COL_CRASHRE='' COL_PIDS=()
	rm -f "$OUT/$name.json"
	pid_alive "$SERVER_PID" || server_up
	say "== $name: ${COL_LABEL[$name]}"
	start=${COL_START[$name]}
	t0=$(date +%s)
	# shellcheck disable=SC2086 # the start function and its arguments are words
	if ! $start; then
		status=setup-failed detail=$COL_FAIL
		say "$name: $detail"
	else
		local runner=(timeout -k 10 "$COL_TIMEOUT" node "$HERMES_SRC/tools/bench/cache-tests-run.mjs"
			--suite "$SUITE" --base "$COL_BASE" --out "$OUT/$name.json" --timeout-ms "$REQ_TIMEOUT_MS"
			${ONLY_ID:+--id "$ONLY_ID"})
		if [ "$COL_WHERE" = app ]; then
			in_app "${runner[@]}" >"$TMP/run-$name.log" 2>&1
		else
			ns_c "${runner[@]}" >"$TMP/run-$name.log" 2>&1
		fi
		rc=$?
		[ -z "$ONLY_ID" ] || cat "$TMP/run-$name.log"
		case $rc in
		0) ;;
		124 | 137) status=timeout detail="stopped after the ${COL_TIMEOUT} s limit (tests not finished by then are not in $name.json)" ;;
		*) status=error detail="the suite's client exited with status $rc: $(tail -n 3 "$TMP/run-$name.log" | tr '\n' ' ')" ;;
		esac
		for p in "${COL_PIDS[@]}"; do
			pid_alive "$p" && continue
			wait "$p" 2>/dev/null
			rc=$?
			status=crashed detail="the proxy (pid $p) exited during the run with status $rc${detail:+; $detail}"
		done
		if [ -n "$COL_CRASHLOG" ] && [ -f "$COL_CRASHLOG" ] && grep -qE "$COL_CRASHRE" "$COL_CRASHLOG"; then
			status=crashed
			detail="$(basename "$COL_CRASHLOG") says: $(grep -E "$COL_CRASHRE" "$COL_CRASHLOG" | head -n 2 | tr '\n' ' ')${detail:+; $detail}"
		fi
		[ -s "$OUT/$name.json" ] || { [ $status = ok ] && status=error detail="no results written: $(tail -n 3 "$TMP/run-$name.log" | tr '\n' ' ')"; }
		say "$name: $status${detail:+ ($detail)}"
	fi
	secs=$(($(date +%s) - t0))
	col_down
	# the proxy's output and logs, for a post-mortem (not in the results directory)
	mkdir -p "$LOGDIR/$name"
	cp "$TMP/run-$name.log" "$TMP/$name.out" "$COL_CRASHLOG" "$LOGDIR/$name/" 2>/dev/null
	[ -d "$TMP/$name" ] && find "$TMP/$name" -maxdepth 2 -name '*.log' -exec cp {} "$LOGDIR/$name/" \;
	"$PY" -c '
import json, sys
f, col, label, version, status, detail, base, where, secs = sys.argv[1:]
json.dump({"column": col, "label": label, "version": version, "status": status, "detail": detail,
           "base": base, "client_in": where, "seconds": int(secs)}, open(f, "w"), indent=1)
' "$OUT/$name.status.json" "$name" "${COL_LABEL[$name]}" "$COL_VERSION" "$status" "$detail" \
		"$COL_BASE" "$COL_WHERE" "$secs"
	[ $status = ok ]
}

# ---------------------------------------------------------------- main

RUN=()
for a in "$@"; do
	[ -n "${COL_LABEL[$a]+x}" ] || { echo "cache-tests: unknown column '$a' (known: ${COLUMNS[*]})" >&2; exit 2; }
	RUN+=("$a")
done
[ ${#RUN[@]} -gt 0 ] || RUN=("${COLUMNS[@]}")

# the machine's load when the run starts, for the report (timing-bound tests vary with it)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
require_cmd node
install_suite
topo_up
hermes_configs
rm -rf "$LOGDIR"
mkdir -p "$OUT" "$LOGDIR" || die "cannot create $OUT"
node "$HERMES_SRC/tools/bench/cache-tests-run.mjs" --suite "$SUITE" --meta "$OUT/tests.json" --base none --out /dev/null --list-only >/dev/null ||
	die "cannot read the suite's test list from $SUITE"
server_up

failed=0
for c in "${RUN[@]}"; do
	run_column "$c" || failed=1
done

{
	echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sr), $(nproc) CPUs ($(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)), load average $LOAD0 at the start"
	echo "Suite: http-cache-tests $SUITE_VERSION (npm), node $(node --version); Hermes $(git -C "$HERMES_SRC" describe --always --dirty 2>/dev/null)"
} >"$OUT/run.txt"
"$PY" "$HERMES_SRC/tools/bench/cache-tests-report.py" "$OUT" "${RUN[@]}" || die "the report failed"
say "results in $OUT (summary.md)"
[ $failed = 0 ] || die "a column did not run to the end (see its status above and in $OUT/*.status.json)"
exit 0
