#!/bin/sh
# leaked_certs.sh DIR - throwaway TLS material for the leaked-password tests.
#
# Writes into DIR (created if missing):
#   ca.crt ca.key           a test CA
#   server.crt server.key   a server certificate for 127.0.0.1 and localhost,
#                           signed by that CA (subjectAltName IP:127.0.0.1)
#   wrong.crt wrong.key     a self-signed certificate for the same names, which
#                           no client trusting only ca.crt accepts
#   otherhost.crt otherhost.key
#                           signed by the CA, but only for other.invalid: the
#                           host check must refuse it for 127.0.0.1
# Keys are EC P-256 (fast to make), certificates valid for 2 days.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077

key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

cat >ext.cnf <<'EOF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[otherhost]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.invalid
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

key ca.key
openssl req -new -x509 -key ca.key -days 2 -subj "/CN=pam_secdefaults test CA" \
	-config ext.cnf -extensions ca -out ca.crt 2>/dev/null

key server.key
openssl req -new -key server.key -subj "/CN=127.0.0.1" -config ext.cnf -out server.csr \
	2>/dev/null
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
	-extfile ext.cnf -extensions server -out server.crt 2>/dev/null

key otherhost.key
openssl req -new -key otherhost.key -subj "/CN=other.invalid" -config ext.cnf \
	-out otherhost.csr 2>/dev/null
openssl x509 -req -in otherhost.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
	-extfile ext.cnf -extensions otherhost -out otherhost.crt 2>/dev/null

key wrong.key
openssl req -new -x509 -key wrong.key -days 2 -subj "/CN=127.0.0.1" -config ext.cnf \
	-extensions server -out wrong.crt 2>/dev/null

rm -f server.csr otherhost.csr ca.srl ext.cnf
openssl verify -CAfile ca.crt server.crt otherhost.crt >/dev/null
chmod 0644 ca.crt server.crt otherhost.crt wrong.crt
