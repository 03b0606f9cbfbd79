#!/usr/bin/env bash
# run-all.sh: the whole test suite (tests/run-suites.sh over build/test)
# inside every kernel in HN_VM_KERNELS, all VMs at once. Prints each
# kernel's suite lines, then per kernel its closing line
# "vm-X: N passed, M failed, K skipped", and the systemd VM's as
# vm-systemd. Exit 1 if any VM failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kernels=${HN_VM_KERNELS:-linux-image-amd64 linux-image-6.12-amd64}
mkdir -p build/vm
pids=() labels=()
for meta in $kernels; do
        kdir=$("$here/kernel-fetch.sh" "$meta") || { echo "vm: could not prepare $meta"; exit 1; }
        v=$(basename "$kdir")
        label="vm-$(echo "$v" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')"
        "$here/run-vm.sh" "$kdir" "$label" "HN_PROTOCOL_FUZZ_N=300 tests/run-suites.sh build/test $label" >"build/vm/$label.out" 2>&1 &
        pids+=($!) labels+=("$label")
done
# systemd as PID 1 (Debian's 252 from the shared root) on the newest
# kernel: hpcnoded installed into the guest and run as the node runs it
# (tests/integration/test_systemd.c); then, with the service running
# again, the bench against systemd-run --scope (tests/bench/systemd_scope.c).
if [ "${HN_VM_SYSTEMD:-1}" = 1 ]; then
        kdir=$("$here/kernel-fetch.sh" linux-image-6.12-amd64) || { echo "vm: could not prepare the systemd VM's kernel"; exit 1; }
        HN_VM_INIT=systemd "$here/run-vm.sh" "$kdir" vm-systemd \
                "make -s install BUILD=build/install PREFIX=/usr >build/vm/vm-systemd/install.log 2>&1 && systemctl daemon-reload && HN_SUITES=test_systemd tests/run-suites.sh build/test vm-systemd; rc=\$?; systemctl start hpcnoded && build/install/tests/bench/systemd_scope; exit \$rc" \
                >build/vm/vm-systemd.out 2>&1 &
        pids+=($!) labels+=(vm-systemd)
fi
status=0
for i in "${!pids[@]}"; do
        wait "${pids[$i]}"
        rc=$?
        label=${labels[$i]}
        # every line but the closing one, which is printed labelled below
        grep -v '^[0-9]* passed, [0-9]* failed' "build/vm/$label.out"
        last=$(grep '^[0-9]* passed, [0-9]* failed' "build/vm/$label.out" | tail -1)
        if [ -z "$last" ]; then
                last="0 passed, 1 failed, 0 skipped"
                echo "$label: the suite did not finish (exit $rc)"
        elif [ "$rc" -ne 0 ] && echo "$last" | grep -q ' 0 failed'; then
                last=$(echo "$last" | sed 's/ 0 failed/ 1 failed/')
        fi
        echo "$label: $last"
        [ "$rc" -eq 0 ] || status=1
done
exit $status
