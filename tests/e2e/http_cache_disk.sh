#!/bin/bash
# http_cache_disk: the HTTP cache's disk tier (cache.disk_path). Through a 1 MB
# directory, eight 200 KB responses leave at most 1 MB of files (the oldest removed,
# counted as disk evictions). Five more are stored (two fresh for a second only, one of
# them with stale-if-error); hermesd stops; one file is damaged (a byte of its stored
# head changed), a torn copy, a leftover temporary file and a file that is not the
# cache's are put beside them; the origin stops. hermesd starts again: its index skips
# and removes the damaged and torn files, removes the temporary one, leaves the other
# alone (all logged and counted), and the intact response is served from disk
# (byte-exact, with Age; also to an HTTP/2 client) while the origin is down; the damaged
# one is not served; the stale one with stale-if-error answers in place of the origin's
# failure. A body damaged
# after the start is found when read (checksum), before anything is sent: a miss, the
# file removed. A purge by URL removes the disk copy too (its file goes, the next GET is
# not a hit). With the origin back, a stale response read from disk is validated (its
# ETag, a 304) and served refreshed. hermesctl cache stats shows the disk counters. A
# disk_path that is not a directory stops hermesd at start with the reason. The disk
# thread holds no more capabilities than the main thread (it starts after the drop).
# Origin: tests/bin/fill_origin.py (max-age=60, or its cc= parameter; 304s).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
mkdir -p "$TMP/www" "$TMP/disk"
bg origin s "$PY" "$TESTBIN/fill_origin.py" 10.77.1.2 8090 "$TMP/www"
origin_pid=$BG_PID
wait_tcp "$NS_S" 10.77.1.2 8090
cat >"$TMP/hermes.yaml" <<YAML
cache:
  enabled: true
  max_size_mb: 4
  max_object_kb: 512
  disk_path: $TMP/disk
  disk_max_size_mb: 1
http:
  retry: {retry_on: [connect-failure], num_retries: 2, backoff_base_ms: 20}
YAML
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.0/24 http
URL=http://10.77.1.2:8090

# the disk thread starts once hermesd dropped its privileges: capabilities are per thread
disk_tid=$(grep -l '^hermesd-disk$' /proc/"$HERMESD_PID"/task/*/comm 2>/dev/null | head -n 1 | cut -d/ -f5)
[ -n "$disk_tid" ] || die "no hermesd-disk thread in hermesd (pid $HERMESD_PID)"
assert_eq "$(grep CapEff /proc/"$HERMESD_PID"/status)" "$(grep CapEff /proc/"$HERMESD_PID"/task/"$disk_tid"/status)" \
	"the disk thread's capabilities are the main thread's"
assert_eq "$(grep CapBnd /proc/"$HERMESD_PID"/status)" "$(grep CapBnd /proc/"$HERMESD_PID"/task/"$disk_tid"/status)" \
	"the disk thread's bounding set is the main thread's"

# shellcheck disable=SC2317 # called through wait_until
writes_at_least() { [ "$(stat_value hermes_http_cache_disk_writes_total)" -ge "$1" ] 2>/dev/null; }
# the directory's object files' bytes, and the file holding a URL's response
files_bytes() { find "$TMP/disk" -name '*.hc' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
file_of() { grep -l -F -- "$1" "$TMP"/disk/*.hc 2>/dev/null | head -n 1; }
# shellcheck disable=SC2317
files_within() { [ "$(files_bytes)" -le "$1" ]; }
# shellcheck disable=SC2317
no_file_of() { [ -z "$(file_of "$1")" ]; }

# 1. the size limit: 8 x 200 KB through 1 MB
for i in 1 2 3 4 5 6 7 8; do
	in_app curl -sS --max-time 5 -o /dev/null "$URL/big$i.bin?size=200000" || die "GET big$i.bin failed"
done
wait_until 5 writes_at_least 8 || die "the 8 responses were not written to disk"
wait_until 5 files_within 1048576 || die "the directory holds $(files_bytes) bytes of files, over its 1 MB"
assert_le 1048576 "$(stat_value hermes_http_cache_disk_bytes)" "hermes_http_cache_disk_bytes"
assert_ge 3 "$(stat_value hermes_http_cache_disk_evictions_total)" "disk evictions"
[ -n "$(file_of /big8.bin?)" ] || die "the newest response has no file"
[ -z "$(file_of /big1.bin?)" ] || die "the oldest response's file was not evicted"
say "ok: $(find "$TMP/disk" -name '*.hc' | wc -l) files, $(files_bytes) bytes within 1 MB; oldest evicted"

# 2. three more stored (one fresh for a second only, stale-if-error for ten minutes),
# hermesd stopped, the directory damaged by hand
SIE="$URL/sie.bin?size=30000&cc=max-age%3D1%2C%20stale-if-error%3D600"
for n in keep bad; do
	in_app curl -sS --max-time 5 -o /dev/null "$URL/$n.bin?size=50000" || die "GET $n.bin failed"
done
RV="$URL/rv.bin?size=30000&cc=max-age%3D1"
in_app curl -sS --max-time 5 -o /dev/null "$SIE" || die "GET sie.bin failed"
in_app curl -sS --max-time 5 -o /dev/null "$RV" || die "GET rv.bin failed"
sie_at=$(now_ms)
in_app curl -sS --max-time 5 -o /dev/null "$URL/h2.bin?size=20000" || die "GET h2.bin failed"
wait_until 5 writes_at_least 13 || die "keep.bin, bad.bin, sie.bin, rv.bin and h2.bin were not written to disk"
wait_until 5 files_within 1048576 || die "the directory holds $(files_bytes) bytes of files, over its 1 MB"
stop_hermesd TERM 10
n=$(find "$TMP/disk" -name '*.hc' | wc -l)
assert_eq 0 "$HERMESD_RC" "hermesd's exit status"
keep=$(file_of /keep.bin?) bad=$(file_of /bad.bin?)
if [ -z "$keep" ] || [ -z "$bad" ]; then die "keep.bin or bad.bin has no file"; fi
# a byte of bad.bin's stored head ("HTTP/1.1 200" -> "HTTP/1.1 201")
off=$(grep -a -b -o -m 1 'HTTP/1.1 200' "$bad" | head -n 1 | cut -d: -f1)
[ -n "$off" ] || die "no stored head found in $bad"
printf '1' | dd of="$bad" bs=1 seek=$((off + 11)) conv=notrunc status=none
head -c 300 "$keep" >"$TMP/disk/00000000000000aa.hc" # torn: shorter than its header says
echo half >"$TMP/disk/00000000000000bb.tmp"
echo 'not the cache' >"$TMP/disk/README"
stop_pid "$origin_pid" TERM 5

# 3. restarted with the origin down
start_hermesd -c "$TMP/hermes.yaml"
wait_until 5 grep -q 'index read in' "$HERMESD_LOG" || die "hermesd did not log the disk index"
grep 'index read in' "$HERMESD_LOG" | tail -n 1
assert_file_match "$HERMESD_LOG" ": $((n - 1)) objects, [0-9]+ bytes .*; 2 corrupt files skipped and removed, 1 unfinished writes removed, 1 files not the cache.s left alone" \
	"the index's log line"
assert_eq 2 "$(stat_value hermes_http_cache_disk_errors_total 'kind="corrupt"')" "corrupt files counted"
assert_eq 1 "$(stat_value hermes_http_cache_disk_foreign_files)" "foreign files"
assert_eq $((n - 1)) "$(stat_value hermes_http_cache_disk_objects)" "disk objects indexed"
[ -e "$bad" ] && die "the damaged file $bad was not removed"
[ -e "$TMP/disk/00000000000000aa.hc" ] && die "the torn file was not removed"
[ -e "$TMP/disk/00000000000000bb.tmp" ] && die "the temporary file was not removed"
[ -e "$TMP/disk/README" ] || die "the file that is not the cache's was removed"

in_app curl -sS --max-time 5 -D "$TMP/keep.h" -o "$TMP/keep.got" "$URL/keep.bin?size=50000" ||
	die "GET keep.bin with the origin down failed"
assert_file_match "$TMP/keep.h" '^HTTP/1.1 200' "keep.bin from disk"
assert_file_match "$TMP/keep.h" '^Age: ' "keep.bin carries an Age"
cmp -s "$TMP/keep.got" "$TMP/www/keep.bin" || die "keep.bin from disk differs from the origin's"
assert_eq 1 "$(stat_value hermes_http_cache_disk_reads_total)" "disk reads"
in_app curl -sS --max-time 5 -D "$TMP/keep2.h" -o /dev/null "$URL/keep.bin?size=50000" || die "second GET failed"
assert_eq 1 "$(stat_value hermes_http_cache_disk_reads_total)" "disk reads after a second GET (from memory)"
in_app curl -sS --max-time 5 --http2-prior-knowledge -D "$TMP/h2.h" -o "$TMP/h2.got" "$URL/h2.bin?size=20000" ||
	die "an HTTP/2 GET of h2.bin with the origin down failed"
assert_file_match "$TMP/h2.h" '^HTTP/2 200' "h2.bin from disk to an HTTP/2 client"
cmp -s "$TMP/h2.got" "$TMP/www/h2.bin" || die "h2.bin from disk differs from the origin's"
assert_eq 2 "$(stat_value hermes_http_cache_disk_reads_total)" "disk reads after the HTTP/2 GET"
code=$(in_app curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$URL/bad.bin?size=50000" 2>/dev/null)
case $code in 5??) ;; *) die "the damaged response answered $code: it was served" ;; esac
say "ok: served from disk after a restart with the origin down; the damaged one not ($code)"

# 3a. stale on disk, the origin down: stale-if-error answers with the disk's copy
while [ "$(now_ms)" -lt $((sie_at + 1500)) ]; do sleep 0.05; done # stale by now (bounded: 1.5 s)
in_app curl -sS --max-time 5 -D "$TMP/sie.h" -o "$TMP/sie.got" "$SIE" || die "GET sie.bin with the origin down failed"
assert_file_match "$TMP/sie.h" '^HTTP/1.1 200' "stale sie.bin from disk in place of the origin's failure"
cmp -s "$TMP/sie.got" "$TMP/www/sie.bin" || die "sie.bin from disk differs from the origin's"
assert_eq 1 "$(stat_value hermes_http_cache_stale_if_error_total)" "stale-if-error answers"

# 3b. a body damaged after the index was read: found when read (its checksum) before
# anything is sent, so a miss (the origin down: 5xx), the file removed
big=$(file_of /big8.bin?)
[ -n "$big" ] || die "big8.bin has no file"
# the last byte flipped, not set: the body is random and may already end in any byte
last=$(tail -c 1 "$big" | od -An -tu1 | tr -d ' ')
# shellcheck disable=SC2059 # an octal escape built here
printf "\\$(printf %o $(((last + 1) % 256)))" | dd of="$big" bs=1 seek=$(($(stat -c %s "$big") - 1)) conv=notrunc status=none
[ "$(tail -c 1 "$big" | od -An -tu1 | tr -d ' ')" != "$last" ] || die "the last byte of $big was not changed"
code=$(in_app curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$URL/big8.bin?size=200000" 2>/dev/null)
case $code in 5??) ;; *) die "a body damaged on disk answered $code, the origin down" ;; esac
assert_eq 3 "$(stat_value hermes_http_cache_disk_errors_total 'kind="corrupt"')" "corrupt files counted"
wait_until 5 no_file_of /big8.bin? || die "the damaged file $big was not removed"
in_app curl -sS --max-time 5 -o /dev/null "$URL/keep.bin?size=50000" || die "keep.bin failed after the damaged read"
say "ok: a body damaged on disk was not served"

# 4. purge reaches the disk
out=$(hermesctl cache purge "$URL/keep.bin?size=50000" 2>&1) || die "cache purge failed: $out"
say "$out"
wait_until 5 no_file_of /keep.bin? || die "keep.bin's file is still there after the purge"
code=$(in_app curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$URL/keep.bin?size=50000" 2>/dev/null)
case $code in 5??) ;; *) die "keep.bin answered $code after its purge, the origin down" ;; esac
out=$(hermesctl cache stats 2>&1) || die "cache stats failed: $out"
assert_match "$out" "disk_objects +$((n - 3))" "cache stats shows the disk objects"
assert_match "$out" 'disk_reads +3' "cache stats shows the disk reads"
say "ok: purged from disk"

# 5. the origin back: a stale response read from disk is validated (If-None-Match, 304)
bg origin2 s "$PY" "$TESTBIN/fill_origin.py" 10.77.1.2 8090 "$TMP/www"
wait_tcp "$NS_S" 10.77.1.2 8090
in_app curl -sS --max-time 5 -D "$TMP/rv.h" -o "$TMP/rv.got" "$RV" || die "GET rv.bin failed"
cmp -s "$TMP/rv.got" "$TMP/www/rv.bin" || die "rv.bin revalidated differs from the origin's"
assert_eq 1 "$(stat_value hermes_http_cache_revalidations_total)" "revalidations (a 304 refreshed the disk's copy)"
nm=$(ns_s curl -sS --max-time 5 "$URL/__stats" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["not_modified"])')
assert_eq 1 "$nm" "304s the origin sent"
say "ok: a stale response from disk validated with a 304"

# 6. a disk_path that is not a directory: hermesd refuses to start, saying why
stop_hermesd TERM 10
sed "s|disk_path: .*|disk_path: $TMP/www/rv.bin|" "$TMP/hermes.yaml" >"$TMP/bad.yaml"
launch_hermesd "$NS_C" "$CG/hermesd" "$CG/app" "$PINROOT" "$HERMESD_LOG" info -c "$TMP/bad.yaml"
wait_until 10 sh -c "! kill -0 $LAUNCH_PID 2>/dev/null" || die "hermesd with a file as its disk_path kept running"
wait "$LAUNCH_PID"
assert_ne 0 $? "hermesd's exit status with a file as its disk_path"
assert_file_match "$HERMESD_LOG" "cannot use the disk directory $TMP/www/rv.bin \\(cache.disk_path\\): Not a directory" \
	"the reason is logged"

pass
