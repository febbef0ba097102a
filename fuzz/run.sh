#!/bin/bash
# fuzz/run.sh SECONDS [TARGET...] - build the libFuzzer targets with clang
# (ASan + UBSan) and run each for SECONDS on a copy of its seed corpus.
# Used by `make fuzz-smoke`; run longer by hand, e.g. fuzz/run.sh 3600 state.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config state location leaked auth)
out=${FUZZ_OUT:-$top/build-fuzz}
mkdir -p "$out"
# config.h from any configured build; the fuzz build needs only its macros.
cfg=$(ls -d "$top"/build*/config.h 2>/dev/null | head -n 1)
[ -n "$cfg" ] || { echo "fuzz/run.sh: configure a build first (no config.h found)"; exit 1; }
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$(dirname "$cfg")"
libs="$(pkg-config --cflags --libs libconfig liboath libcurl libcrypto libqrencode json-c) -lcrypt -lpthread"
lib_src="util conf location user state counters store store_dir store_etcd totp policy request http leaked enroll recovery lazy"
status=0
for t in "${targets[@]}"; do
	srcs=""
	for s in $lib_src; do srcs="$srcs $top/src/lib/$s.c"; done
	# The auth target includes the module's source; its libpam is fake.
	[ "$t" = auth ] && srcs="$srcs $top/src/pam/pam_secdefaults.c"
	# shellcheck disable=SC2086
	clang $flags -o "$out/fuzz_$t" "$here/fuzz_$t.c" $srcs $libs
	rm -rf "$out/corpus_$t"
	cp -r "$here/corpus/$t" "$out/corpus_$t"
	echo "== fuzz_$t for ${secs}s"
	if ! LSAN_OPTIONS="suppressions=$here/lsan.supp" "$out/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=10 \
		-artifact_prefix="$out/crash_${t}_" "$out/corpus_$t" >"$out/fuzz_$t.log" 2>&1; then
		echo "FAIL: fuzz_$t found a problem:"
		tail -n 40 "$out/fuzz_$t.log"
		status=1
	else
		grep -E '^#[0-9]+.*(DONE|pulse)' "$out/fuzz_$t.log" | tail -n 1
		echo "ok: fuzz_$t"
	fi
done
exit $status
