#!/bin/bash
# certs_init: `hermesctl certs init` makes a CA and host certificates that openssl accepts
# for what hermesd peers will use them for. openssl verify accepts a host certificate
# against its CA and refuses it against another CA or once expired (--expired); the SANs,
# key usages and CA constraints are the documented ones; keys are 0600 whatever the umask;
# a second run reuses the CA, adds a new host, and refuses to overwrite an existing host's
# files without --force; and a real TLS 1.3 mTLS handshake (openssl s_server -Verify 1,
# s_client) succeeds with these certificates and fails with another CA's or an expired one.
# No namespaces: only files and one loopback handshake at a time.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd openssl timeout
[ -x "$HERMESCTL_BIN" ] || die "$HERMESCTL_BIN is missing: run make first"
TMP=$(mktemp -d "/tmp/hermes-test-$ID.XXXXXX") || die "mktemp failed" # removed by cleanup
A=$TMP/a
B=$TMP/b

# certs ARGS...: hermesctl certs ARGS; sets OUT (stdout+stderr) and RC
certs() {
	OUT=$("$HERMESCTL_BIN" certs "$@" 2>&1)
	RC=$?
	printf '%s\n' "$OUT" | sed 's/^/    | /'
}
sums() { (cd "$1" && sha256sum -- *.crt *.key); }

# --- a CA and two hosts; umask 0 must not make keys readable by others
(umask 000 && "$HERMESCTL_BIN" certs init "$A" --hosts node-a,node-b --days 30) >"$TMP/out" 2>&1
RC=$?
sed 's/^/    | /' "$TMP/out"
assert_eq 0 "$RC" "certs init $A --hosts node-a,node-b"
for f in ca node-a node-b; do
	[ -s "$A/$f.crt" ] && [ -s "$A/$f.key" ] || die "$A/$f.crt or $A/$f.key is missing"
	assert_eq 600 "$(stat -c %a "$A/$f.key")" "$f.key is mode 0600 (umask 000)"
done
assert_eq "" "$(find "$A" -name '.certs-init*')" "no temporary files left behind"
for h in node-a node-b; do
	assert_match "$(openssl verify -CAfile "$A/ca.crt" "$A/$h.crt" 2>&1)" ": OK$" "openssl verify accepts $h.crt against ca.crt"
	assert_match "$(openssl x509 -in "$A/$h.crt" -noout -ext subjectAltName)" "DNS:$h, URI:spiffe://hermes/$h\$" "$h SANs"
done
assert_match "$(openssl x509 -in "$A/node-a.crt" -noout -ext extendedKeyUsage)" \
	"TLS Web Server Authentication, TLS Web Client Authentication" "host extendedKeyUsage serverAuth, clientAuth"
assert_match "$(openssl x509 -in "$A/node-a.crt" -noout -text)" "ASN1 OID: prime256v1" "host key is EC P-256"
ca_text=$(openssl x509 -in "$A/ca.crt" -noout -ext basicConstraints,keyUsage)
assert_match "$ca_text" "Basic Constraints: critical" "CA basicConstraints is critical"
assert_match "$ca_text" "CA:TRUE" "CA basicConstraints CA:TRUE"
assert_match "$ca_text" "Certificate Sign, CRL Sign" "CA keyUsage keyCertSign, cRLSign"
assert_match "$(openssl x509 -in "$A/node-a.crt" -noout -checkend $((29 * 86400)) 2>&1)" "will not expire" "--days 30 is honoured (valid in 29 days)"
assert_match "$(openssl x509 -in "$A/node-a.crt" -noout -checkend $((31 * 86400)) 2>&1)" "will expire" "--days 30 is honoured (expired in 31 days)"
openssl pkey -in "$A/node-a.key" -noout 2>/dev/null || die "node-a.key is not a readable private key"

# --- a second, independent CA: its certificates do not verify against the first
certs init "$B" --hosts node-a
assert_eq 0 "$RC" "certs init $B (a second CA)"
assert_match "$(openssl verify -CAfile "$A/ca.crt" "$B/node-a.crt" 2>&1)" "verification failed" \
	"a certificate of the second CA fails verification against the first CA"
assert_ne "$(openssl x509 -in "$A/ca.crt" -noout -subject)" "$(openssl x509 -in "$B/ca.crt" -noout -subject)" \
	"the two CAs have different subjects"

# --- re-running: the CA is reused, existing host files are never overwritten
before=$(sums "$A")
certs init "$A" --hosts node-b
assert_eq 1 "$RC" "certs init again for an existing host fails"
assert_match "$OUT" "$A/node-b.key already exists: refusing to overwrite it \(use --force" "the error names the file"
certs init "$A" --hosts node-c,node-a
assert_eq 1 "$RC" "a list with one existing host fails"
[ ! -e "$A/node-c.crt" ] || die "node-c.crt was written although node-a's files exist (nothing must be written)"
assert_eq "$before" "$(sums "$A")" "the existing files are unchanged"
certs init "$A" --hosts node-c
assert_eq 0 "$RC" "certs init adds a new host"
assert_match "$OUT" "ca: reusing $A/ca.crt" "the existing CA is reused"
assert_eq "$before" "$(sums "$A" | grep -v node-c)" "the CA and the other hosts are unchanged"
assert_match "$(openssl verify -CAfile "$A/ca.crt" "$A/node-c.crt" 2>&1)" ": OK$" "the new host is signed by the existing CA"

# --- hosts given as IP addresses get an IP SAN (what a TLS client checks for an address)
certs init "$A" --hosts 10.0.0.7,fd00::7
assert_eq 0 "$RC" "certs init --hosts 10.0.0.7,fd00::7"
assert_match "$OUT" "host 10\.0\.0\.7: created .* \(IP:10\.0\.0\.7, URI:spiffe://hermes/10\.0\.0\.7," "the summary names the IP SAN"
assert_match "$(openssl x509 -in "$A/10.0.0.7.crt" -noout -ext subjectAltName)" "IP Address:10\.0\.0\.7, URI:spiffe://hermes/10\.0\.0\.7\$" \
	"10.0.0.7 SANs: IP, no DNS"
assert_match "$(openssl x509 -in "$A/fd00::7.crt" -noout -ext subjectAltName)" "IP Address:FD00:0:0:0:0:0:0:7, URI:spiffe://hermes/fd00::7\$" \
	"fd00::7 SANs: IP, no DNS"
assert_match "$(openssl verify -CAfile "$A/ca.crt" -verify_ip 10.0.0.7 "$A/10.0.0.7.crt" 2>&1)" ": OK$" \
	"openssl verify -verify_ip 10.0.0.7 accepts it"
assert_match "$(openssl verify -CAfile "$A/ca.crt" -verify_ip 10.0.0.8 "$A/10.0.0.7.crt" 2>&1)" "IP address mismatch" \
	"and refuses it for another address"

# --- usage errors (exit 2), nothing written
certs init "$A" --hosts 'bad_name'
assert_eq 2 "$RC" "a host name with '_' is a usage error"
certs init "$A" --hosts ca
assert_eq 2 "$RC" "the host name 'ca' is reserved"
certs init "$A" --hosts 10.0.0.256
assert_eq 2 "$RC" "10.0.0.256 is neither an address nor a usable name"
certs init "$A" --days 0
assert_eq 2 "$RC" "--days 0 is a usage error"
certs init
assert_eq 2 "$RC" "missing DIR is a usage error"

# --- a CA file without its pair is refused, not silently replaced
mkdir "$TMP/half" && cp "$A/ca.crt" "$TMP/half/"
certs init "$TMP/half"
assert_eq 1 "$RC" "ca.crt without ca.key is refused"
assert_match "$OUT" "ca.key does not" "the error names the missing ca.key"

# --- --expired: openssl verify reports the certificate expired
certs init "$A" --hosts stale --expired
assert_eq 0 "$RC" "certs init --expired"
assert_match "$(openssl verify -CAfile "$A/ca.crt" "$A/stale.crt" 2>&1)" "certificate has expired" "openssl verify: stale.crt has expired"

# --- --force: a new CA and a replaced host key
old_key=$(sha256sum <"$A/node-b.key")
certs init "$A" --hosts node-b --force
assert_eq 0 "$RC" "certs init --force"
assert_ne "$old_key" "$(sha256sum <"$A/node-b.key")" "--force replaced node-b.key"
assert_eq 600 "$(stat -c %a "$A/node-b.key")" "the replaced key is 0600"
assert_match "$(openssl verify -CAfile "$A/ca.crt" "$A/node-b.crt" 2>&1)" ": OK$" "node-b verifies against the new CA"
assert_match "$(openssl verify -CAfile "$A/ca.crt" "$A/node-a.crt" 2>&1)" "verification failed" \
	"node-a (old CA) no longer verifies against the new CA"

# --- TLS 1.3 mTLS with openssl s_server -Verify 1 (client certificate required), with a
# fresh CA in $C: --force above left $A's hosts signed by a CA that is gone
C=$TMP/c
certs init "$C" --hosts server,client
assert_eq 0 "$RC" "certs init $C --hosts server,client"
certs init "$C" --hosts stale --expired
assert_eq 0 "$RC" "certs init $C --hosts stale --expired"
# mtls CLIENT_CRT CLIENT_KEY: server "server" of $C, client with the given pair; the server
# reverses each line (-rev), so "olleh" back means the server accepted the client.
mtls() {
	local port i
	: >"$TMP/srv.log"
	timeout 15 openssl s_server -accept 127.0.0.1:0 -naccept 1 -tls1_3 -rev \
		-cert "$C/server.crt" -key "$C/server.key" -CAfile "$C/ca.crt" -Verify 1 -verify_return_error \
		>"$TMP/srv.log" 2>&1 </dev/null &
	PIDS+=($!)
	for ((i = 0; i < 50; i++)); do
		port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/srv.log")
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || { cat "$TMP/srv.log"; die "openssl s_server did not start"; }
	# stdin stays open a second so that the reversed line can come back before s_client quits
	CLI=$( (echo hello; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$port" -tls1_3 -brief \
		-cert "$1" -key "$2" -CAfile "$C/ca.crt" -verify_return_error -servername server -verify_hostname server 2>&1)
	stop_pid "${PIDS[-1]}" TERM 5
	SRV=$(cat "$TMP/srv.log")
}

mtls "$C/client.crt" "$C/client.key"
assert_match "$CLI" "^olleh$" "mTLS: the server answered the client over TLS"
assert_match "$CLI" "Protocol version: TLSv1.3" "mTLS: TLS 1.3"
assert_match "$CLI" "Verified peername: server" "mTLS: the client verified the server's DNS SAN"
assert_match "$SRV" "Peer certificate: O = Hermes, CN = client" "mTLS: the server got the client's certificate"
assert_match "$SRV" "Verification: OK" "mTLS: the server verified the client's certificate"

mtls "$B/node-a.crt" "$B/node-a.key"
assert_file_nomatch <(printf '%s\n' "$CLI") "^olleh$" "mTLS with the other CA's client certificate: no data"
assert_match "$SRV" "unable to get local issuer certificate|certificate verify failed" \
	"mTLS: the server refused the other CA's certificate"

mtls "$C/stale.crt" "$C/stale.key"
assert_file_nomatch <(printf '%s\n' "$CLI") "^olleh$" "mTLS with an expired client certificate: no data"
assert_match "$SRV" "certificate has expired" "mTLS: the server refused the expired certificate"

pass "certs init: CA, host certificates, reuse, refusal to overwrite, --expired, mTLS handshakes"
