#!/bin/bash
# caps_user: after start-up hermesd keeps only CAP_NET_ADMIN (CapEff 0000000000001000);
# with --user nobody it also runs as nobody. It still proxies and exits 0 on SIGTERM, and
# a stop leaves its links attached.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
nobody_uid=$(id -u nobody) || skip "no user nobody"

status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

for mode in root nobody; do
	if [ $mode = nobody ]; then start_hermesd --user nobody; else start_hermesd; fi
	say "$mode: $(grep -E '^(Uid|Gid|Cap(Inh|Prm|Eff|Bnd|Amb)):' "/proc/$HERMESD_PID/status" | tr '\t\n' ' ;')"
	assert_eq 0000000000001000 "$(status_field "$HERMESD_PID" CapEff)" "$mode: CapEff of hermesd (only CAP_NET_ADMIN)"
	if [ $mode = nobody ]; then
		uids=$(status_field "$HERMESD_PID" Uid)
		assert_eq "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" "$(tr -s ' \t' '  ' <<<"$uids")" "--user nobody: real, effective, saved and fs uid"
		for t in /proc/"$HERMESD_PID"/task/*; do
			tu=$(awk '$1 == "Uid:" { print $3 }' "$t/status")
			assert_eq "$nobody_uid" "$tu" "--user nobody: effective uid of thread ${t##*/}"
		done
	fi
	policy_add 10.77.1.0/24 proxy
	# what /metrics reads from /proc/self and from the maps, with these privileges
	for f in process_open_fds process_start_time_seconds hermes_policy_rules hermes_flow_table_entries; do
		[ -n "$(stat_value "$f")" ] || die "$mode: /metrics has no $f"
	done
	assert_eq 1 "$(stat_value hermes_policy_rules 'origin="manual"')" "$mode: /metrics counts the rule"
	n=$(origdst_count '10\.77\.1\.2:80')
	expect_page "$mode: proxy works with reduced privileges" http://10.77.1.2/
	wait_origdst '10\.77\.1\.2:80' $((n + 1)) "$mode: flow went through hermesd"
	# the once-a-second link check works with reduced privileges: still ready
	sleep 1.2
	assert_eq 200 "$(admin_code /ready)" "$mode: /ready after a link check"
	if [ $mode = nobody ]; then
		# a cgroup made again cannot be attached to without privileges: shout
		if ! rmdir "$CG/app" || ! mkdir "$CG/app"; then die "cannot re-make $CG/app"; fi
		wait_until 5 sh -c "nsenter --net=/run/netns/$NS_C curl -s --max-time 1 http://127.0.0.1:15000/ready | grep -q 'dropped the privileges'" ||
			die "--user nobody: /ready does not say why it cannot heal: $(admin_get /ready)"
		say "ok: --user nobody: /ready: $(admin_get /ready)"
	fi
	stop_hermesd TERM 15
	assert_eq 0 "$HERMESD_RC" "$mode: exit status after SIGTERM"
	# the links outlive hermesd (the next round's start takes them over); as nobody, the
	# nine on the re-made app cgroup were left defunct
	if [ $mode = root ]; then want=11; else want=2; fi
	assert_eq $want "$(cg_prog_count)" "$mode: programs still attached after SIGTERM"
done
pass "capabilities: only CAP_NET_ADMIN; --user nobody honoured"
