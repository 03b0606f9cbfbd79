#!/usr/bin/env bash
# Runs every cmocka suite built under BUILD/tests (unit first, then
# integration), prints each suite's counts and SKIP reasons, and ends with
# one line "N passed, M failed, K skipped". Exit status 1 if anything failed.
# A suite that dies before printing cmocka's summary (a crash, a sanitizer
# report) counts as one failure and its output is shown.
set -u
build=${1:-build/test}
label=${2:-host}
passed=0 failed=0 skipped=0
logdir="$build/logs/$label"
mkdir -p "$logdir"

# HN_SUITES="GLOB ...": only the suites whose name matches one of them
# (and no Rust tests). HN_SUITES_SKIP="GLOB ...": all but those (a VM
# suite split over two VMs runs one list in each).
suites() {
        local pat pats skips=()
        # split on blanks, but the globs are find's, not the shell's
        read -r -a pats <<<"${HN_SUITES:-test_*}"
        read -r -a skips <<<"${HN_SUITES_SKIP:-}"
        for kind in unit integration; do
                for pat in "${pats[@]}"; do
                        find "$build/tests/$kind" -type f -name "$pat" ! -name '*.o' -perm -u+x 2>/dev/null
                done | sort -u | while read -r bin; do
                        for pat in "${skips[@]}"; do
                                # shellcheck disable=SC2053 # a glob, on purpose
                                [[ $(basename "$bin") == $pat ]] && continue 2
                        done
                        echo "$bin"
                done
        done
}

for bin in $(suites); do
        name=$(basename "$bin")
        started=$(date +%s)
        log="$logdir/$name.log"
        # A hung suite is a failed suite, never a hung CI.
        timeout -s KILL "${HN_SUITE_TIMEOUT:-600}" "$bin" >"$log" 2>&1
        rc=$?
        if ! grep -q '^\[==========\] .* test(s) run\.' "$log"; then
                echo "$label $name: crashed or aborted (exit $rc); output:"
                sed 's/^/    /' "$log" | tail -40
                failed=$((failed + 1))
                continue
        fi
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | tail -1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | tail -1)
        s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | tail -1)
        p=${p:-0} f=${f:-0} s=${s:-0}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
                f=1 # cmocka said nothing failed but the process did
        fi
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
        printf '%s %-28s %3d passed, %d failed, %d skipped (%d s)\n' "$label" "$name" "$p" "$f" "$s" \
                $(($(date +%s) - started))
        grep '^SKIP: ' "$log" | sort -u | sed 's/^/    /'
        if [ "$f" -gt 0 ]; then
                sed 's/^/    | /' "$log" | grep -v '^    | \[ *\(RUN\|OK\) *\]' | tail -60
        fi
done

# The Rust crate's tests, where `make rust-bins` built them.
if [ -d "$build/rust" ] && [ -z "${HN_SUITES:-}" ]; then
        "$(dirname "$0")/rust/run.sh" "$build" "$label" >"$logdir/rust.out" 2>&1
        grep -v '^[0-9]* passed, [0-9]* failed' "$logdir/rust.out"
        last=$(grep '^[0-9]* passed, [0-9]* failed' "$logdir/rust.out" | tail -1)
        rp=$(echo "$last" | grep -oE '^[0-9]+') rf=$(echo "$last" | grep -oE '[0-9]+ failed' | cut -d' ' -f1)
        rs=$(echo "$last" | grep -oE '[0-9]+ skipped' | cut -d' ' -f1)
        [ -n "$last" ] || rf=1
        passed=$((passed + ${rp:-0})) failed=$((failed + ${rf:-0})) skipped=$((skipped + ${rs:-0}))
fi

# A suite that crashed may have left a test daemon's bpffs mounted, and
# with it pinned programs: only ours (under /tmp/hn-dmn.*) are unmounted.
findmnt -rn -t bpf -o TARGET 2>/dev/null | grep '^/tmp/hn-dmn\.' | while read -r m; do
        umount -l "$m" && echo "$label: unmounted leftover bpffs $m"
done

# Scratch cgroups are named hn-test.<pid>.<n> (hn-rust.* for the Rust
# tests); a suite that crashed may have
# left one. Only ours are touched, and only a dead process's: another run
# beside this one (a second checkout's) still uses its own.
for mnt in /sys/fs/cgroup/unified /sys/fs/cgroup; do
        for d in "$mnt"/hn-test.* "$mnt"/hn-rust.*; do
                [ -d "$d" ] || continue
                owner=$(basename "$d" | cut -d. -f2)
                [ -n "$owner" ] && [ -d "/proc/$owner" ] && continue
                find "$d" -depth -type d | while read -r c; do
                        { echo 0 > "$c/cgroup.freeze"; } 2>/dev/null # absent before 5.2
                        { echo 1 > "$c/cgroup.kill"; } 2>/dev/null # absent before 5.14
                        for _ in $(seq 50); do rmdir "$c" 2>/dev/null && break; sleep 0.1; done
                done
                echo "$label: removed leftover scratch cgroup $d"
        done
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
