# etcd_lib.sh - a real etcd cluster for the fleet tests. Source it after
# lib.sh (it needs $T and cleanup). Members run on 127.0.0.1 with ports of
# their own and data directories on a tmpfs private to the test's mount
# namespace; they are started and stopped by pid.
#
#   etcd_require                 SKIP (exit 77) if etcd-server is missing
#   etcd_free_ports N            N unused TCP ports on 127.0.0.1 -> FREE_PORTS
#   etcd_init N                  ports and data directories for N members;
#                                trap on EXIT stops them and cleans up
#   ETCD_TLS_DIR=DIR             before etcd_start: serve clients over https
#                                with DIR/server.{crt,key}, requiring client
#                                certificates signed by DIR/ca.crt (peers stay
#                                plain http on loopback)
#   etcd_start I / etcd_stop I   one member
#   etcd_wait_healthy I...       wait until each member reports health
#   etcd_curl ARGS...            curl to a member (with the client cert if TLS)
#   etcd_endpoints [I...]        the libconfig list items for the members
#   etcd_tls_material DIR        a CA, a server certificate (127.0.0.1), a
#                                client certificate, and a client certificate
#                                from another CA (other-client.{crt,key})

ETCD=/usr/bin/etcd

etcd_require() {
	if [ ! -x "$ETCD" ]; then
		echo "SKIP: etcd-server not installable ($ETCD missing; tools/install-deps installs etcd-server)"
		exit 77
	fi
}

etcd_free_ports() {
	read -r -a FREE_PORTS <<<"$(/usr/bin/python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
for s in ss: s.close()' "$1")"
}

ETCD_TLS_DIR=
ETCD_MOUNTED=
EPIDS=()

etcd_init() {
	local n=$1 i
	mkdir -p "$T/etcd"
	# etcd preallocates a 64 MiB WAL per member: in the private /tmp
	# (64 MiB) give the data directories their own tmpfs, private to this
	# namespace.
	if [ -n "${SD_ISOLATED:-}" ] && mount -t tmpfs -o mode=0700,size=600m sdtest-etcd "$T/etcd"; then
		ETCD_MOUNTED=1
	fi
	etcd_free_ports $((2 * n))
	CPORT=()
	PPORT=()
	EPIDS=()
	ETCD_CLUSTER=
	for i in $(seq 0 $((n - 1))); do
		CPORT[i]=${FREE_PORTS[i]}
		PPORT[i]=${FREE_PORTS[n + i]}
		EPIDS[i]=
		ETCD_CLUSTER="${ETCD_CLUSTER:+$ETCD_CLUSTER,}m$i=http://127.0.0.1:${PPORT[i]}"
	done
	trap etcd_cleanup EXIT
}

etcd_scheme() {
	if [ -n "$ETCD_TLS_DIR" ]; then echo https; else echo http; fi
}

etcd_start() { # etcd_start I
	local i=$1 url tls=()
	url="$(etcd_scheme)://127.0.0.1:${CPORT[$i]}"
	if [ -n "$ETCD_TLS_DIR" ]; then
		tls=(--client-cert-auth --trusted-ca-file "$ETCD_TLS_DIR/ca.crt"
			--cert-file "$ETCD_TLS_DIR/server.crt" --key-file "$ETCD_TLS_DIR/server.key")
	fi
	$ETCD --name "m$i" --data-dir "$T/etcd/m$i" \
		--listen-client-urls "$url" --advertise-client-urls "$url" \
		--listen-peer-urls "http://127.0.0.1:${PPORT[$i]}" \
		--initial-advertise-peer-urls "http://127.0.0.1:${PPORT[$i]}" \
		--initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new \
		--initial-cluster-token "sdtest-$$" --log-level error "${tls[@]}" \
		>>"$T/etcd/m$i.log" 2>&1 &
	EPIDS[i]=$!
}

etcd_stop() { # etcd_stop I
	local i=$1
	if [ -n "${EPIDS[$i]:-}" ]; then
		kill "${EPIDS[$i]}" 2>/dev/null
		wait "${EPIDS[$i]}" 2>/dev/null
		EPIDS[i]=
	fi
}

etcd_curl() {
	local tls=()
	if [ -n "$ETCD_TLS_DIR" ]; then
		tls=(--cacert "$ETCD_TLS_DIR/ca.crt" --cert "$ETCD_TLS_DIR/client.crt"
			--key "$ETCD_TLS_DIR/client.key")
	fi
	curl -s --noproxy '*' "${tls[@]}" "$@"
}

etcd_wait_healthy() {
	local i n
	for i in "$@"; do
		for n in $(seq 1 150); do
			etcd_curl -m 1 "$(etcd_scheme)://127.0.0.1:${CPORT[$i]}/health" 2>/dev/null |
				grep -q '"health":"true"' && break
			sleep 0.1
		done
	done
}

etcd_endpoints() { # etcd_endpoints [I...]: "URL", "URL", ... (default: all)
	local i out='' idx=("$@")
	[ ${#idx[@]} -eq 0 ] && idx=("${!CPORT[@]}")
	for i in "${idx[@]}"; do
		out="${out:+$out, }\"$(etcd_scheme)://127.0.0.1:${CPORT[$i]}\""
	done
	echo "$out"
}

etcd_cleanup() {
	local i
	for i in "${!EPIDS[@]}"; do
		etcd_stop "$i"
	done
	[ -n "$ETCD_MOUNTED" ] && umount "$T/etcd" 2>/dev/null
	cleanup
}

etcd_tls_material() { # etcd_tls_material DIR
	local dir=$1
	(
		set -e
		mkdir -p "$dir"
		cd "$dir"
		umask 077
		key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
		cat >ext.cnf <<'EOF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
# etcd's HTTP gateway presents the server certificate to its own gRPC
# server when --client-cert-auth is on: it needs clientAuth as well.
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
		# cert NAME CA SUBJECT EXT: a key and a certificate signed by CA
		cert() {
			key "$1.key"
			openssl req -new -key "$1.key" -subj "$3" -config ext.cnf -out "$1.csr" 2>/dev/null
			openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial \
				-days 2 -extfile ext.cnf -extensions "$4" -out "$1.crt" 2>/dev/null
			rm -f "$1.csr"
		}
		for ca in ca other-ca; do
			key "$ca.key"
			openssl req -new -x509 -key "$ca.key" -days 2 -subj "/CN=pam_secdefaults etcd $ca" \
				-config ext.cnf -extensions ca -out "$ca.crt" 2>/dev/null
		done
		cert server ca /CN=127.0.0.1 server
		cert client ca /CN=sdtest-host client
		cert other-client other-ca /CN=sdtest-intruder client
		rm -f ./*.srl ext.cnf
		openssl verify -CAfile ca.crt server.crt client.crt >/dev/null
		chmod 0644 ./*.crt
	)
}
