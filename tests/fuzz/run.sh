#!/usr/bin/env bash
# run.sh BUILD SECONDS: every libFuzzer target in BUILD (fuzz_*) for
# SECONDS, from its committed corpus (tests/fuzz/corpus/NAME, read only:
# new inputs go to a scratch directory). A crash, a leak or a failed
# property is a failure; its reproducer is kept as BUILD/crash-NAME-*, to
# run again with `BUILD/fuzz_NAME FILE` (and to commit into the corpus once
# fixed). Prints a line per target and "N passed, M failed, 0 skipped".
set -u
build=${1:-build/fuzz}
secs=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0
scratch=$(mktemp -d /tmp/hn-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
for bin in "$build"/fuzz_*; do
        [ -x "$bin" ] || continue
        name=${bin##*/fuzz_}
        mkdir -p "$scratch/$name" "$scratch/$name.tmp"
        log="$build/fuzz_$name.log"
        # -timeout: one input that hangs is a failure too
        # TMPDIR: the files a target writes its inputs to (fuzz_input.h), gone with the scratch
        if TMPDIR="$scratch/$name.tmp" timeout -s KILL $((secs + 60)) "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
                -artifact_prefix="$build/crash-$name-" "$scratch/$name" "$here/corpus/$name" >"$log" 2>&1; then
                runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
                printf 'fuzz %-14s ok: %s runs in %s s\n' "$name" "${runs:-?}" "$secs"
                passed=$((passed + 1))
        else
                echo "fuzz $name: FAILED (reproducer: $(ls "$build"/crash-"$name"-* 2>/dev/null | head -1)); output:"
                grep -E 'property failed|ERROR: |SUMMARY|^    #[0-9]+ ' "$log" | head -30 | sed 's/^/    | /'
                failed=$((failed + 1))
        fi
done
echo "$passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
