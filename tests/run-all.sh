#!/usr/bin/env bash
# run-all.sh: `make test` after the build. The VM suites (unless
# HN_SKIP_VM=1, which says so) start first, in the background; beside them
# the host suites, the fuzz targets briefly, the installed tree and the
# code's layout (tests/layout-check.sh); then
# the VMs' lines as they finish, and one closing line that adds everything
# up. The exit status covers all of them.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The VMs (TCG, CPU-bound for half an hour) run at a lower priority: the
# host suites mostly wait on the daemon and the kernel, and at an equal
# share their waits would stretch; the VMs take the cores they leave.
if [ "${HN_SKIP_VM:-0}" != 1 ]; then
        mkdir -p build/test
        nice -n 10 "$here/vm/run-all.sh" >build/test/vm.out 2>&1 &
        vm_pid=$!
fi
total_p=0 total_f=0 total_s=0 status=0
add() { # a "N passed, M failed, K skipped" line
        local p f s
        p=$(echo "$1" | grep -oE '[0-9]+ passed' | cut -d' ' -f1)
        f=$(echo "$1" | grep -oE '[0-9]+ failed' | cut -d' ' -f1)
        s=$(echo "$1" | grep -oE '[0-9]+ skipped' | cut -d' ' -f1)
        total_p=$((total_p + ${p:-0})) total_f=$((total_f + ${f:-0})) total_s=$((total_s + ${s:-0}))
}
"$here/run-suites.sh" build/test host | tee build/test/host.out | sed 's/^\([0-9]* passed, \)/host: \1/'
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
add "$(tail -1 build/test/host.out)"
# the parsers under libFuzzer, briefly (make fuzz runs them longer)
"$here/fuzz/run.sh" build/fuzz "${HN_FUZZ_SECONDS:-20}" | tee build/test/fuzz.out | sed 's/^\([0-9]* passed, \)/fuzz: \1/'
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
add "$(tail -1 build/test/fuzz.out)"
"$here/install-check.sh" build/install | tee build/test/install.out | sed 's/^\([0-9]* passed, \)/install: \1/'
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
add "$(tail -1 build/test/install.out)"
# the code's rooms: no circle between files, short files, errors as values
"$here/layout-check.sh" | tee build/test/layout.out | sed 's/^\([0-9]* passed, \)/layout: \1/'
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
add "$(tail -1 build/test/layout.out)"
if [ "${HN_SKIP_VM:-0}" = 1 ]; then
        echo "vm: SKIP: HN_SKIP_VM=1 (the VM suites did not run)"
else
        tail -n +1 -f --pid="$vm_pid" build/test/vm.out
        wait "$vm_pid" || status=1
        while read -r line; do add "$line"; done < <(grep -E '^vm-([0-9.]+|systemd|arm64): [0-9]+ passed' build/test/vm.out)
fi
[ "$total_f" -eq 0 ] || status=1
# What failed, last, where a CI log's tail shows it: cmocka's "[  FAILED  ]
# name" lines and crashed suites, of every run above.
if [ "$status" -ne 0 ]; then
        echo "failed:"
        cat build/test/host.out build/test/fuzz.out build/test/install.out build/test/layout.out build/test/vm.out 2>/dev/null |
                grep -E ' [1-9][0-9]* failed|^FAILED: |\[  FAILED  \] [a-z_]|\[  ERROR   \]|crashed or aborted|did not finish|^fuzz .*FAILED' |
                grep -vE '^vm-([0-9.]+|systemd|arm64): [0-9]+ passed' | tail -40
fi
echo "total: $total_p passed, $total_f failed, $total_s skipped"
exit $status
