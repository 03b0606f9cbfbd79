#!/usr/bin/env bash
# run.sh BUILD LABEL: the Rust crate's test binaries (built by `make
# rust-bins` into BUILD/rust), as cmocka's suites are run: each one's
# counts, its SKIP reasons, its output when something failed, and one
# closing line "N passed, M failed, K skipped". The daemon tests start
# hpcnoded (BUILD/hpcnoded) in a private mount namespace, so a failed test
# leaves no mount behind.
set -u
build=${1:-build/test}
label=${2:-host}
passed=0 failed=0 skipped=0
logdir="$build/logs/$label"
mkdir -p "$logdir"
for bin in "$build"/rust/*; do
        [ -x "$bin" ] && [ -f "$bin" ] || continue
        name=rust-$(basename "$bin")
        log="$logdir/$name.log"
        HPCNODED="$build/hpcnoded" timeout -s KILL "${HN_SUITE_TIMEOUT:-600}" \
                unshare -m --propagation private "$bin" --nocapture --test-threads 2 >"$log" 2>&1
        rc=$?
        result=$(grep '^test result: ' "$log" | tail -1)
        if [ -z "$result" ]; then
                echo "$label $name: crashed or aborted (exit $rc); output:"
                sed 's/^/    /' "$log" | tail -40
                failed=$((failed + 1))
                continue
        fi
        p=$(echo "$result" | grep -oE '[0-9]+ passed' | cut -d' ' -f1)
        f=$(echo "$result" | grep -oE '[0-9]+ failed' | cut -d' ' -f1)
        s=$(grep -c '^SKIP: ' "$log")
        p=$((p - s))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
                f=1
        fi
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
        printf '%s %-28s %3d passed, %d failed, %d skipped\n' "$label" "$name" "$p" "$f" "$s"
        grep '^SKIP: ' "$log" | sort -u | sed 's/^/    /'
        if [ "$f" -gt 0 ]; then
                grep -E '^test .* FAILED$' "$log" | sed 's/^test \(.*\) \.\.\. FAILED$/[  FAILED  ] \1/'
                sed 's/^/    | /' "$log" | grep -v ' \.\.\. ok$' | tail -60
        fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
