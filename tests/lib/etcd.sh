#!/bin/bash
# etcd.sh: what the etcd tests share (etcd_config, etcd_shared), sourced after common.sh.
# The test defines EPS (the endpoints, comma-separated) before calling these; etcdctl runs
# in the client netns, where the test's members listen.

# ectl ARGS...: etcdctl v3 against $EPS
ectl() { ns_c env ETCDCTL_API=3 etcdctl --endpoints="$EPS" --dial-timeout=1s --command-timeout=1s "$@"; }

# etcd_put KEY VALUE: sets REV to the revision of the write (tried again for a few
# seconds: with a member just killed, the cluster may be electing a leader)
etcd_put() {
	local out i
	for ((i = 0; i < 5; i++)); do
		out=$(ectl put -w json "$1" "$2" 2>&1) && break
		say "etcdctl put failed (${out##*Error: }): again"
	done
	[ $i -lt 5 ] || die "etcdctl put $1 failed: $out"
	REV=$(printf '%s' "$out" | sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
	[ -n "$REV" ] || die "no revision in etcdctl's answer: $out"
	say "put $1 at revision $REV"
}

# wait_applied REV: the test's hermesd applies revision REV within 10 s
etcd_applied() { [ "$(stat_value hermes_etcd_applied_revision)" = "$1" ]; }
wait_applied() {
	wait_until 10 etcd_applied "$1" ||
		die "hermesd did not apply revision $1 (applied: $(stat_value hermes_etcd_applied_revision)): $(grep etcd "$HERMESD_LOG" | tail -n 3)"
	say "revision $1 applied"
}
