# help2roff.awk: turns a program's --help text into its man page, so that the two can
# never disagree: `PROG --help | awk -f tools/help2roff.awk -v prog=PROG -v section=8
# -v version=V -v date=YYYY-MM-DD INCLUDE -` (the Makefile's man rule). INCLUDE holds, in
# roff, what --help does not say (FILES, SEE ALSO, ...); a NAME section in it goes first,
# the rest after the help text.
# Headings: an upper-case line at column 0 (hermesctl, hermes-top: NAME, SYNOPSIS, ...)
# or a capitalised "Word words:" line alone (hermesd: Options:); "Usage: ..." becomes
# SYNOPSIS and the text after it DESCRIPTION. Each section's text is kept as it is laid
# out in --help (no-fill, its common indent removed), with "-" kept a hyphen-minus so
# that options copied from the page work.

function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}

# flush: the buffered section, its common indentation removed
function flush(   i, n, min, l, lead) {
	# trailing blank lines are the gap before the next heading
	while (nbuf > 0 && buf[nbuf] ~ /^[ \t]*$/)
		nbuf--
	min = -1
	for (i = 1; i <= nbuf; i++) {
		l = buf[i]
		if (l ~ /^[ \t]*$/)
			continue
		match(l, /^ */)
		if (min < 0 || RLENGTH < min)
			min = RLENGTH
	}
	if (cur == "NAME") {
		# whatis(1) and mandb read "prog \- what it does" as one filled line
		n = ""
		for (i = 1; i <= nbuf; i++) {
			l = buf[i]
			sub(/^[ \t]+/, "", l)
			if (l != "")
				n = n (n == "" ? "" : " ") l
		}
		print esc(n)
	} else if (nbuf > 0) {
		print ".nf"
		for (i = 1; i <= nbuf; i++) {
			l = buf[i]
			if (l ~ /^[ \t]*$/) {
				print ""
				continue
			}
			print esc(substr(l, min + 1))
		}
		print ".fi"
	}
	nbuf = 0
}

function heading(h) {
	flush()
	cur = h
	print ".SH " esc(h)
}

BEGIN {
	if (section == "")
		section = 8
	nbuf = 0
	cur = ""
	inc_name = ""
	inc_rest = ""
	in_name = 0
}

# the include file (first operand): its NAME section apart, the rest kept for the end
FILENAME != "-" && FILENAME != "/dev/stdin" {
	if ($0 ~ /^\.SH +"?NAME"?[ \t]*$/) {
		in_name = 1
		inc_name = inc_name $0 "\n"
		next
	}
	if ($0 ~ /^\.SH/)
		in_name = 0
	if (in_name)
		inc_name = inc_name $0 "\n"
	else
		inc_rest = inc_rest $0 "\n"
	next
}

# the --help text
!started {
	started = 1
	printf ".\\\" %s(%s): generated from `%s --help` and packaging/man/%s.inc by\n", prog, section, prog, prog
	printf ".\\\" tools/help2roff.awk; edit those, not this file.\n"
	printf ".TH %s %s \"%s\" \"Hermes %s\" \"Hermes\"\n", toupper(prog), section, date, version
	if (inc_name != "")
		printf "%s", inc_name
}

/^Usage: / {
	heading("SYNOPSIS")
	l = $0
	sub(/^Usage: +/, "", l)
	buf[++nbuf] = l
	heading("DESCRIPTION")
	next
}

/^[A-Z][A-Z0-9 ()\/_-]*[A-Z)]$/ {
	heading($0)
	next
}

/^[A-Z][A-Za-z ]*:$/ {
	h = toupper($0)
	sub(/:$/, "", h)
	heading(h)
	next
}

{
	buf[++nbuf] = $0
}

END {
	flush()
	printf "%s", inc_rest
}
