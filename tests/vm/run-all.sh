#!/usr/bin/env bash
# run-all.sh: the whole test suite (tests/run-suites.sh) inside every kernel
# in HN_VM_KERNELS ([SUITE/]META, as tests/vm/kernel-fetch.sh takes), all
# VMs at once. x86-64 kernels run build/test over the host's / (those in
# HN_VM_UB_KERNELS, vm-6.1 and vm-6.12 by default, build/ub-test); arm64 ones
# run build/arm64-test (make arm64-bins) over a bookworm arm64 root
# (tests/vm/rootfs-fetch.sh) under qemu-system-aarch64. Prints each
# kernel's suite lines and wall time, then per kernel its closing line
# "vm-X: N passed, M failed, K skipped" (vm-arm64 for the arm64 kernel,
# whose suites are split over two VMs, their lines summed), and the
# systemd VM's as vm-systemd. Exit 1 if any VM failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kernels=${HN_VM_KERNELS-linux-image-amd64 linux-image-6.12-amd64 bullseye/linux-image-amd64 linux-image-6.12-arm64}
mkdir -p build/vm
# A suite's limit inside a VM: six VMs share the machine's cores under
# TCG, so a daemon-heavy suite (test_api: 14 daemon starts) takes up to
# three times its time alone (198 s alone, 540 s among five VMs, measured
# on 2 cores); a hung suite is still caught.
suite_timeout=${HN_VM_SUITE_TIMEOUT:-1500}
# launch LABEL PART KDIR CMD: one VM (PART names its run, LABEL the
# kernel's closing line, which sums its parts), in the background.
declare -A parts_of pid_of
labels=()
# NICE: how much lower than the heaviest VM's its share is (below).
launch() {
        local label=$1 part=$2 kdir=$3 cmd=$4
        [ -n "${parts_of[$label]:-}" ] || labels+=("$label")
        parts_of[$label]="${parts_of[$label]:-} $part"
        nice -n "${NICE:-0}" "$here/run-vm.sh" "$kdir" "$part" "$cmd" >"build/vm/$part.out" 2>&1 &
        pid_of[$part]=$!
}
# launch_split LABEL KDIR PREFIX BUILD: every suite over two VMs, the
# first running the daemon-heavy half's list below, the second the rest
# (Rust tests included). Alone, 2026-12-06, arm64 with ASan: 615 s and 647 s
# (test_api 206 s, test_mount_guard 154 s, test_slice_paths 123 s,
# test_monitor 92 s; test_daemon 213 s, the Rust daemon tests 334 s).
first=${HN_VM_SPLIT_FIRST:-test_api test_mount_guard test_slice_paths test_monitor test_enforce \
test_formats test_json_strict test_names_paths test_slice_owner test_emergency}
launch_split() {
        local label=$1 kdir=$2 prefix=$3 build=$4 i sel
        for i in 1 2; do
                [ "$i" = 1 ] && sel="HN_SUITES='$first'" || sel="HN_SUITES_SKIP='$first'"
                launch "$label" "$label.$i" "$kdir" \
                        "${prefix}HN_SUITE_TIMEOUT=$suite_timeout HN_PROTOCOL_FUZZ_N=300 $sel tests/run-suites.sh $build $label"
        done
}
for spec in $kernels; do
        kdir=$("$here/kernel-fetch.sh" "$spec") || { echo "vm: could not prepare $spec"; exit 1; }
        v=$(basename "$kdir")
        label="vm-$(echo "$v" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')"
        if [ "$(cat "$kdir/arch")" = arm64 ]; then
                root=$("$here/rootfs-fetch.sh" bookworm arm64) || { echo "vm: could not prepare the arm64 root"; exit 1; }
                # Split: arm64 under TCG takes about 1.4 times x86-64's
                # time, so in one VM it would be the last to finish by
                # some ten minutes. Its build has UBSan without ASan
                # (Makefile, arm64-bins). The root was unpacked, not
                # installed: the loader's cache is made here.
                NICE=1 HN_VM_ROOT=$root launch_split vm-arm64 "$kdir" "ldconfig && " build/arm64-test
        else
                # One VM each. 5.10 split too (seven VMs) left each VM so
                # little of the two cores that test_api's and
                # test_cgroup_threads' deadlines failed (2026-12-06).
                # 5.10 has the most work (the compat object: each daemon
                # start verifies 2.7 s longer) and finished last, alone on
                # one core for five minutes while the other idled; so the
                # others run one nice step lower (CFS: 1.25x its share to
                # 5.10), and all end closer together.
                # The kernels in HN_VM_UB_KERNELS run the UBSan-only build
                # (make ub-bins; Makefile says why) when it is there.
                build=build/test
                case " ${HN_VM_UB_KERNELS-vm-6.1 vm-6.12} " in
                *" $label "*) [ -x build/ub-test/hpcnoded ] && build=build/ub-test ;;
                esac
                NICE=$([ "$label" = vm-5.10 ] && echo 0 || echo 1) launch "$label" "$label" "$kdir" \
                        "HN_SUITE_TIMEOUT=$suite_timeout HN_PROTOCOL_FUZZ_N=300 tests/run-suites.sh $build $label"
        fi
done
# systemd as PID 1 (Debian's 252 from the shared root) on the newest
# kernel: hpcnoded installed into the guest and run as the node runs it
# (tests/integration/test_systemd.c); with HN_VM_SYSTEMD_BENCH=1 (make
# bench-systemd), then, with the service running again, the bench against
# systemd-run --scope (tests/bench/systemd_scope.c) instead of the suite.
if [ "${HN_VM_SYSTEMD:-1}" = 1 ]; then
        kdir=$("$here/kernel-fetch.sh" linux-image-6.12-amd64) || { echo "vm: could not prepare the systemd VM's kernel"; exit 1; }
        install="make -s install BUILD=build/install PREFIX=/usr >build/vm/vm-systemd/install.log 2>&1 && systemctl daemon-reload"
        if [ "${HN_VM_SYSTEMD_BENCH:-0}" = 1 ]; then
                # the bench's table, then one line for the closing count
                run="systemctl start hpcnoded && build/install/tests/bench/systemd_scope && echo '1 passed, 0 failed, 0 skipped'"
        else
                # the VMs' suite limit, not run-suites.sh's 600 s: test_systemd
                # took 548 s among the six VMs (fresh run 12-06) and was
                # killed at 600 s in CI the same night
                run="HN_SUITE_TIMEOUT=$suite_timeout HN_SUITES=test_systemd tests/run-suites.sh build/test vm-systemd"
        fi
        NICE=1 HN_VM_INIT=systemd launch vm-systemd vm-systemd "$kdir" "$install && $run"
fi
status=0
for label in "${labels[@]}"; do
        p=0 f=0 s=0
        for part in ${parts_of[$label]}; do
                wait "${pid_of[$part]}"
                rc=$?
                # every line but the closing one, which is summed below
                grep -v '^[0-9]* passed, [0-9]* failed' "build/vm/$part.out"
                last=$(grep '^[0-9]* passed, [0-9]* failed' "build/vm/$part.out" | tail -1)
                if [ -z "$last" ]; then
                        last="0 passed, 1 failed, 0 skipped"
                        echo "$part: the suite did not finish (exit $rc)"
                elif [ "$rc" -ne 0 ] && echo "$last" | grep -q ' 0 failed'; then
                        last=$(echo "$last" | sed 's/ 0 failed/ 1 failed/')
                fi
                p=$((p + $(echo "$last" | cut -d' ' -f1)))
                f=$((f + $(echo "$last" | grep -oE '[0-9]+ failed' | cut -d' ' -f1)))
                s=$((s + $(echo "$last" | grep -oE '[0-9]+ skipped' | cut -d' ' -f1)))
                [ "$rc" -eq 0 ] || status=1
        done
        echo "$label: $p passed, $f failed, $s skipped"
done
exit $status
