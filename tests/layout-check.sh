#!/usr/bin/env bash
# layout-check.sh [ROOT]: the code's rooms as docs/architecture.md states
# them, checked on every `make test` so they stay true:
#  - no circle between the files of user/ (one file "uses" another when it
#    includes that file's header; a circle makes two rooms one);
#  - no file in user/ over 450 lines without its reason at its top;
#  - every public call that returns an int (0 or a negative errno) takes a
#    struct hn_error as its last argument (docs/api.md's convention);
#  - the library neither reads the environment nor sets libbpf's global
#    print hook (a host process's settings are its own).
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 1
passed=0 failed=0
check() { # name, then the command whose success passes it
        local name=$1
        shift
        if out=$("$@" 2>&1); then
                passed=$((passed + 1))
                echo "ok: $name"
        else
                failed=$((failed + 1))
                echo "FAILED: $name"
                [ -n "$out" ] && echo "$out" | sed 's/^/    /'
        fi
}

# "A B" for each local include of B.h by A.c or A.h, over user/.
include_pairs() {
        local f m d
        for f in user/*/*.[ch] user/*/*/*.[ch]; do
                [ -e "$f" ] || continue
                m=$(basename "${f%.*}")
                grep -o '^#include "[^"]*\.h"' "$f" | sed 's/^#include "//; s/\.h"$//' | while read -r d; do
                        d=$(basename "$d")
                        [ "$d" != "$m" ] && echo "$m $d"
                done
        done
}
no_circle() {
        include_pairs | tsort >/dev/null
}

# files over 450 lines whose first 15 lines do not say why
long_files() {
        local f bad=0
        for f in user/*/*.[ch] user/*/*/*.[ch]; do
                [ -e "$f" ] || continue
                if [ "$(wc -l <"$f")" -gt 450 ] && ! head -15 "$f" | grep -qi 'longer than 450 lines'; then
                        echo "$f: $(wc -l <"$f") lines, no reason at its top"
                        bad=1
                fi
        done
        return $bad
}

# HN_PUBLIC int calls without a struct hn_error (hn_monitor_check_state
# returns a count and never fails: its header says so)
public_calls_take_errors() {
        local bad
        bad=$(cat include/hpcnode/*.h | tr '\n' ' ' | grep -oE 'HN_PUBLIC int [a-z0-9_]+\([^)]*\);' |
                grep -v 'struct hn_error \*err);' | grep -v 'hn_monitor_check_state(')
        [ -z "$bad" ] || { echo "$bad" | sed 's/  */ /g'; return 1; }
}

# Two reads are the caller's own and allowed: PATH in cgroup_spawn.c (the
# spawn call searches it as execvp(3) does, in the parent), and
# HN_BPF_VERBOSE in bpf_print.c (the print hook a program's main installs,
# never installed by the library).
library_keeps_to_itself() {
        ! grep -nE '\blibbpf_set_print\(' user/lib/*.c &&
                ! grep -nE '\b(secure_)?getenv\(' user/lib/*.c |
                        grep -vE '^user/lib/cgroup_spawn\.c:[0-9]+: +const char \*path = getenv\("PATH"\);$' |
                        grep -vE '^user/lib/bpf_print\.c:'
}

check "no circle between the files of user/ (includes)" no_circle
check "no file in user/ over 450 lines without a reason" long_files
check "every public call that can fail takes a struct hn_error" public_calls_take_errors
check "the library reads no environment and sets no libbpf print hook" library_keeps_to_itself
echo "$passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
