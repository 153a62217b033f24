# shellcheck shell=bash
# tests/lib/tmux.sh: driving hermes-top's live view in tmux, for the tests that need a
# terminal (source it after common.sh). Sessions run hermes-top in the client netns on
# the test's pin root; the EXIT trap it installs ends them, then runs common.sh's cleanup.

HTOP_BIN=$BUILD/hermes-top
TMUX_SESSIONS=()

# A private tmux server whose socket lives in $TMP: killing it touches no other tmux,
# and the common cleanup removes the socket with $TMP.
tm() { tmux -S "$TMP/tmux.sock" "$@"; }

# The tmux server is not ours to find by PID (it daemonizes): end its sessions by
# name and the server by its socket, then run the common cleanup with the test's status.
# shellcheck disable=SC2317 # invoked by the EXIT trap
my_cleanup() {
	local rc=$? s
	if [ -n "$TMP" ] && [ -S "$TMP/tmux.sock" ]; then
		for s in "${TMUX_SESSIONS[@]}"; do tm kill-session -t "$s" 2>/dev/null; done
		tm kill-server 2>/dev/null
	fi
	(exit "$rc")
	cleanup
}
trap my_cleanup EXIT

require_root
require_cmd tmux
[ -x "$HTOP_BIN" ] || die "$HTOP_BIN is missing: run make first"

# top_session NAME COLS ROWS ARGS...: hermes-top in the client netns in a detached
# tmux session; its exit status goes to $TMP/NAME.rc and its stderr to $TMP/NAME.err.
top_session() {
	local name=$1 x=$2 y=$3 cmd a
	shift 3
	cmd="nsenter --net=/run/netns/$NS_C $HTOP_BIN --pin-root $PINROOT"
	for a in "$@"; do cmd="$cmd $(printf '%q' "$a")"; done
	TMUX_SESSIONS+=("$name")
	tm new-session -d -s "$name" -x "$x" -y "$y" \
		"$cmd 2>$TMP/$name.err; echo \$? >$TMP/$name.rc" || die "tmux new-session $name failed"
}

screen() { tm capture-pane -p -t "$1" 2>/dev/null; }

# screen_has NAME ERE: a line of the pane matches ERE (screen_lacks: none does)
# shellcheck disable=SC2317 # called through wait_until
screen_has() { screen "$1" | grep -Eq -- "$2"; }
# shellcheck disable=SC2317 # called through wait_until
screen_lacks() { ! screen_has "$@"; }

# wait_screen NAME SECS ERE WHAT: until the pane shows a line matching ERE
wait_screen() {
	wait_until "$2" screen_has "$1" "$3" && {
		say "ok: $4"
		return 0
	}
	say "--- screen of $1:"
	screen "$1"
	[ -s "$TMP/$1.err" ] && { say "--- stderr of hermes-top:"; cat "$TMP/$1.err"; }
	die "$4: the screen never showed /$3/ within $2 s"
}

# wait_screen_not NAME SECS ERE WHAT: until no line of the pane matches ERE
wait_screen_not() {
	wait_until "$2" screen_lacks "$1" "$3" && {
		say "ok: $4"
		return 0
	}
	say "--- screen of $1:"
	screen "$1"
	die "$4: the screen still shows /$3/ after $2 s"
}

keys() {
	local s=$1
	shift
	tm send-keys -t "$s" "$@" || die "tmux send-keys $* failed"
}

# wait_session_gone NAME SECS
wait_session_gone() { wait_until "$2" tm_session_gone "$1"; }
# shellcheck disable=SC2317 # called through wait_until
tm_session_gone() { ! tm has-session -t "$1" 2>/dev/null; }

