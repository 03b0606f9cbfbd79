#!/usr/bin/env bash
# run-all.sh: the whole test suite (tests/run-suites.sh) inside every kernel
# in HN_VM_KERNELS ([SUITE/]META, as tests/vm/kernel-fetch.sh takes), all
# VMs at once. x86-64 kernels run build/test over the host's /; arm64 ones
# run build/arm64-test (make arm64-bins) over a bookworm arm64 root
# (tests/vm/rootfs-fetch.sh) under qemu-system-aarch64. Prints each
# kernel's suite lines and wall time, then per kernel its closing line
# "vm-X: N passed, M failed, K skipped" (vm-arm64 for the arm64 kernel),
# and the systemd VM's as vm-systemd. Exit 1 if any VM failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kernels=${HN_VM_KERNELS:-linux-image-amd64 linux-image-6.12-amd64 bullseye/linux-image-amd64 linux-image-6.12-arm64}
mkdir -p build/vm
rm -f build/vm/*.note
# A suite's limit inside a VM: five VMs share the machine's cores under
# TCG, so a daemon-heavy suite (test_api: 14 daemon starts) takes three to
# four times its time alone (592 s measured on 2 cores); a hung suite is
# still caught.
suite_timeout=${HN_VM_SUITE_TIMEOUT:-1500}
pids=() labels=()
for spec in $kernels; do
        kdir=$("$here/kernel-fetch.sh" "$spec") || { echo "vm: could not prepare $spec"; exit 1; }
        v=$(basename "$kdir")
        if [ "$(cat "$kdir/arch")" = arm64 ]; then
                label=vm-arm64
                root=$("$here/rootfs-fetch.sh" bookworm arm64) || { echo "vm: could not prepare the arm64 root"; exit 1; }
                # The suites whose code differs by architecture (BPF load,
                # attach and denial, the mount guard's hooks, the syscall
                # numbers of write attribution, the managers on this
                # kernel); arm64 under TCG takes about twice x86-64's time,
                # so the two daemon-heavy suites (architecture-neutral
                # userspace, run on every x86 kernel: test_api 637 s and
                # test_daemon 395 s there, measured 2026-12-06) are left to
                # make test-arm64, which runs every suite.
                suites=${HN_VM_ARM64_SUITES:-test_emergency test_formats test_json_strict test_names_paths \
test_slice_owner test_cgroup_* test_enforce test_monitor test_mount test_mount_drift test_mount_guard \
test_mount_reconstruct test_mount_threads test_probe test_slice_paths}
                [ "$suites" = "test_*" ] || echo "$label: runs $suites; make test-arm64 runs every suite" \
                        >"build/vm/$label.note"
                # the root was unpacked, not installed: the loader's cache is made here
                HN_VM_ROOT=$root "$here/run-vm.sh" "$kdir" "$label" \
                        "ldconfig && HN_SUITE_TIMEOUT=$suite_timeout HN_PROTOCOL_FUZZ_N=300 HN_SUITES='$suites' tests/run-suites.sh build/arm64-test $label" \
                        >"build/vm/$label.out" 2>&1 &
        else
                label="vm-$(echo "$v" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')"
                "$here/run-vm.sh" "$kdir" "$label" \
                        "HN_SUITE_TIMEOUT=$suite_timeout HN_PROTOCOL_FUZZ_N=300 tests/run-suites.sh build/test $label" \
                        >"build/vm/$label.out" 2>&1 &
        fi
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
        cat "build/vm/$label.note" 2>/dev/null
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
