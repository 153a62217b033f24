# shellcheck shell=bash
# shellcheck disable=SC2016 # single-quoted sh -c scripts expand in the inner shell
# tools/bench/overlay_fail.sh: the failure phase of `make bench-overlay` (sourced by
# tools/bench/overlay.sh, which has the overlay up and its measured phases done; the
# helpers are tests/lib/overlay.sh's, the same tests/e2e/overlay_scale.sh uses on 6 hosts).
# Issue 19 asks for host failures while traffic runs; three, in this order:
#   1. etcd member: OV_FAIL_CHANGES (12) more route changes on the OV_INTERVAL_MS beat;
#      before the third the member that leads the cluster is SIGKILLed (an election, and
#      the hermesd watching through it must move to another endpoint), after two thirds of
#      them it is restarted from its data directory; timed until it serves the last
#      revision again (rejoined), then the rest of the changes. Each change must reach
#      all the nodes; its propagation is reported per state (all up, member down,
#      rejoined), apart from the measured 50.
#   2. relay host: OV_FAIL_FLOWS (400) flows held from every client, half of each relay
#      pair's clients through its first relay, half through its second; then the first
#      relay of the first pair (r1) dies (hermesd SIGKILLed, cable cut: ov_kill_host).
#      Its held flows must be reset (ended, not hung), every other held flow must stay
#      byte-exact, and new flows from its clients (ovflows.py churn, started after the
#      death) must all work through the pair's other relay (they wait the route's
#      connect timeout on the dead one first: counted and timed); the other clients' new
#      flows run across it all and must not fail.
#   3. (OV_FAIL_ETCD_ALL=1, the default) every etcd member killed: the held and new
#      flows go on, a new flow from every client works, every hermesd keeps running the
#      last revision.
# Writes in OV_RESULTS: fail_changes.tsv (as changes.tsv, plus the state), fail_applied.tsv
# (every node's applied revisions), failures.tsv (times and counts), fail_flows.txt.

OV_FAIL_CHANGES=${OV_FAIL_CHANGES:-12}
OV_FAIL_FLOWS=${OV_FAIL_FLOWS:-400}
OV_FAIL_WINDOW_S=${OV_FAIL_WINDOW_S:-12}
OV_FAIL_ETCD_ALL=${OV_FAIL_ETCD_ALL:-1}

# fail_note KEY VALUE: one line of failures.tsv
fail_note() { printf '%s\t%s\n' "$1" "$2" >>"$OV_RESULTS/failures.tsv"; }
# fail_change STATE: the next generation on the beat (as the measured changes), recorded
fail_change() {
	local t0 t1 rest
	G=$((G + 1))
	t0=${EPOCHREALTIME/[.,]/}
	ov_apply "$TMP/gen$G"
	t1=${EPOCHREALTIME/[.,]/}
	printf '%s\t%s\t%s.%s\t%s.%s\t%s\n' "$G" "$OV_REV" "${t0:0:-3}" "${t0: -3}" "${t1:0:-3}" "${t1: -3}" "$1" \
		>>"$OV_RESULTS/fail_changes.tsv"
	rest=$((OV_INTERVAL_MS * 1000 - (${EPOCHREALTIME/[.,]/} - t0)))
	[ "$rest" -gt 0 ] && sleep "$((rest / 1000000)).$(printf '%06d' $((rest % 1000000)))"
}
# a member serves revision $1 from its own store (a serializable read: no leader asked)
member_at() {
	[ "$(ov_in "${OV_ETCD[0]}" env ETCDCTL_API=3 etcdctl --endpoints="http://$(ov_ip "$2"):2379" \
		--dial-timeout=1s --command-timeout=2s get "$OV_PREFIX/nodes/${OV_HOSTS[0]}" --consistency=s -w json 2>/dev/null |
		sed -n 's/.*"mod_revision":\([0-9]*\).*/\1/p')" = "$1" ]
}
# gone PID: the process ended (or is a zombie waiting for us)
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

ov_fail_phase() {
	local k m t0 kill_at restart_at dead alt c h i n p
	local -a hd=() ho=() ca=() co=() once=() pair
	: >"$OV_RESULTS/failures.tsv"
	: >"$OV_RESULTS/fail_flows.txt"
	printf 'generation\trevision\twrite_start_ms\twrite_end_ms\tstate\n' >"$OV_RESULTS/fail_changes.tsv"
	for ((k = 1; k <= OV_FAIL_CHANGES + 4; k++)); do ov_gen $((G + k)) "$TMP/gen$((G + k))"; done

	# ---- 1. the leading etcd member killed while the changes go on, then restarted
	m=$(ov_etcd_leader)
	fail_note etcd_leader_found "$([ -n "$m" ] && echo 1 || echo 0)"
	[ -n "$m" ] || m=${OV_ETCD[0]}
	fail_note etcd_killed "$m"
	kill_at=3
	restart_at=$((OV_FAIL_CHANGES * 2 / 3 + 1))
	say "failure 1: etcd member $m (the leader) killed before change $kill_at of $OV_FAIL_CHANGES, restarted before change $restart_at"
	for ((k = 1; k <= OV_FAIL_CHANGES; k++)); do
		if [ "$k" = "$kill_at" ]; then
			kill -KILL "${OV_ETCD_PID[$m]}"
			fail_note etcd_kill_ms "$(now_ms)"
			sleep 0.5 # (half a beat: the next write meets the election, 500 ms timeout)
		fi
		if [ "$k" = "$restart_at" ]; then
			t0=$(now_ms)
			fail_note etcd_restart_ms "$t0"
			cp "$TMP/etcd-$m.log" "$TMP/etcd-$m-killed.log" # (the restart writes a new one)
			ov_etcd_start "$m"
			# rejoined: it has caught up with the revision last written
			if wait_until 20 member_at "$OV_REV" "$m"; then
				fail_note etcd_rejoined 1
				fail_note etcd_rejoin_ms $(($(now_ms) - t0))
			else
				fail_note etcd_rejoined 0
				say "etcd member $m did not serve revision $OV_REV within 20 s of its restart: $(tail -n 3 "$TMP/etcd-$m.log")"
			fi
		fi
		if [ "$k" -lt "$kill_at" ]; then
			fail_change all_up
		elif [ "$k" -lt "$restart_at" ]; then
			fail_change member_down
		else
			fail_change rejoined
		fi
	done
	ov_wait_applied "$OV_REV"
	say "failure 1: $OV_FAIL_CHANGES changes applied by every node (revision $OV_REV)"

	# ---- 2. a relay host killed while traffic runs
	# the flows are split by the generation at their start: on an even one a pair's clients
	# go through its first relay, on an odd one through its second
	[ $((G % 2)) = 0 ] || { G=$((G + 1)) && ov_apply "$TMP/gen$G" && ov_wait_applied "$OV_REV"; }
	read -r dead alt <<<"$(ov_pair "${CLIENTS[0]}")"
	n=$(((OV_FAIL_FLOWS + ${#CLIENTS[@]} - 1) / ${#CLIENTS[@]}))
	for p in 0 1; do
		for ((i = p; i < ${#CLIENTS[@]}; i += 2)); do
			c=${CLIENTS[i]}
			ov_bg "fhold-$c" "$c" app "$PY" "$TESTBIN/ovflows.py" hold "$T" "$n" --chunk 1024 --interval 0.5 \
				--stop-file "$TMP/fail.stop" --deadline 120 --timeout 10
			read -r -a pair <<<"$(ov_pair "$c")"
			# through the dead relay: the first pair's clients started on an even generation
			if [ "$p" = 0 ] && [ "${pair[0]}" = "$dead" ]; then hd+=("$c:$BG_PID"); else ho+=("$c:$BG_PID"); fi
		done
		for ((i = p; i < ${#CLIENTS[@]}; i += 2)); do
			wait_until 30 grep -q '^established' "$TMP/fhold-${CLIENTS[i]}.log" ||
				die "failure 2: the flows of ${CLIENTS[i]} did not start: $(tail -n 2 "$TMP/fhold-${CLIENTS[i]}.log")"
		done
		G=$((G + 1))
		ov_apply "$TMP/gen$G"
		ov_wait_applied "$OV_REV"
	done
	# (G is even again: the dead relay's clients put it first)
	for c in "${CLIENTS[@]}"; do
		read -r -a pair <<<"$(ov_pair "$c")"
		[ "${pair[0]}" = "$dead" ] && continue
		ov_bg "fchurn-$c" "$c" app "$PY" "$TESTBIN/ovflows.py" churn "$T" --parallel 1 --interval 0.25 \
			--stop-file "$TMP/fail.stop" --deadline 120 --timeout 30
		co+=("$c:$BG_PID")
	done
	sleep 2
	fail_note relay_killed "$dead"
	fail_note relay_alternate "$alt"
	fail_note relay_flows_through "$((${#hd[@]} * n))"
	fail_note relay_flows_other "$((${#ho[@]} * n))"
	local alt0
	alt0=$(ov_connects "$alt")
	say "failure 2: relay host $dead killed; $((${#hd[@]} * n)) held flows through it, $((${#ho[@]} * n)) through others"
	t0=$(now_ms)
	ov_kill_host "$dead"
	fail_note relay_kill_ms "$t0"
	for c in "${CLIENTS[@]}"; do
		read -r -a pair <<<"$(ov_pair "$c")"
		[ "${pair[0]}" = "$dead" ] || continue
		ov_bg "fnew-$c" "$c" app "$PY" "$TESTBIN/ovflows.py" churn "$T" --parallel 1 --interval 0.25 \
			--stop-file "$TMP/fail.stop" --deadline 120 --timeout 30
		ca+=("$c:$BG_PID")
	done
	# the flows through it end (reset), each client's all at once
	local ended=1
	for c in "${hd[@]}"; do
		wait_until 15 gone "${c#*:}" || ended=0
	done
	fail_note relay_reset_all "$ended"
	[ "$ended" = 1 ] && fail_note relay_reset_ms $(($(now_ms) - t0))
	sleep "$OV_FAIL_WINDOW_S"
	fail_note relay_window_s "$OV_FAIL_WINDOW_S"

	# ---- 3. every etcd member killed: serving on the last configuration
	if [ "$OV_FAIL_ETCD_ALL" = 1 ]; then
		local rev=$OV_REV alive=0 at=0
		for h in "${OV_ETCD[@]}"; do kill -KILL "${OV_ETCD_PID[$h]}" 2>/dev/null; done
		fail_note etcd_all_down_ms "$(now_ms)"
		say "failure 3: every etcd member killed; a new flow from every client"
		sleep 2
		for c in "${CLIENTS[@]}"; do
			ov_bg "fonce-$c" "$c" app timeout 30 "$PY" "$TESTBIN/ovflows.py" once "$T" --timeout 10
			once+=("$c:$BG_PID")
		done
		for c in "${once[@]}"; do
			wait "${c#*:}"
			printf '%s once %s\n' "${c%%:*}" "$(tail -n 1 "$TMP/fonce-${c%%:*}.log")" >>"$OV_RESULTS/fail_flows.txt"
		done
		sleep 3
		for h in "${OV_HOSTS[@]}"; do
			[ "$h" = "$dead" ] && continue
			pid_alive "${OV_PID[$h]}" && alive=$((alive + 1))
			[ "$(ov_stat "$h" hermes_etcd_applied_revision)" = "$rev" ] && at=$((at + 1))
		done
		fail_note etcd_all_hermesd_alive "$alive"
		fail_note etcd_all_at_revision "$at"
		fail_note etcd_all_expected "$((${#OV_HOSTS[@]} - 1))"
	fi

	touch "$TMP/fail.stop"
	for c in "${hd[@]}" "${ho[@]}" "${ca[@]}" "${co[@]}"; do wait "${c#*:}"; done
	{
		for c in "${hd[@]}"; do printf '%s hold_dead %s\n' "${c%%:*}" "$(tail -n 1 "$TMP/fhold-${c%%:*}.log")"; done
		for c in "${ho[@]}"; do printf '%s hold_other %s\n' "${c%%:*}" "$(tail -n 1 "$TMP/fhold-${c%%:*}.log")"; done
		for c in "${ca[@]}"; do printf '%s new_after %s\n' "${c%%:*}" "$(tail -n 1 "$TMP/fnew-${c%%:*}.log")"; done
		for c in "${co[@]}"; do printf '%s new_other %s\n' "${c%%:*}" "$(tail -n 1 "$TMP/fchurn-${c%%:*}.log")"; done
	} >>"$OV_RESULTS/fail_flows.txt"
	fail_note relay_alternate_connects $(($(ov_connects "$alt") - alt0))
	cat "$OV_RESULTS/fail_flows.txt"

	printf 'node\trevision\tapplied\n' >"$OV_RESULTS/fail_applied.tsv"
	for h in "${OV_HOSTS[@]}"; do
		grep -F " info hermesd: etcd: reloaded $OV_PREFIX/nodes/$h revision " "${OV_LOG[$h]}" |
			awk -v h="$h" '{ for (i = 1; i < NF; i++) if ($i == "revision") { printf "%s\t%s\t%s\n", h, $(i + 1), $1; break } }'
	done >>"$OV_RESULTS/fail_applied.tsv"
}
