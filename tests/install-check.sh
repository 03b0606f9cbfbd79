#!/usr/bin/env bash
# install-check.sh BUILD: `make install` into a scratch DESTDIR, then what
# an installed hpcnode must offer: the files, the unit pointing at the
# installed daemon, a program built against the installed headers and
# library through pkg-config that runs, man pages groff reads without a
# warning, and an operator's configuration never overwritten. Prints
# "N passed, M failed, 0 skipped" like the suites.
set -uo pipefail
build=${1:-build/install} # not the sanitized test build: programs link the installed library as users do
dest=$(mktemp -d /tmp/hn-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
passed=0 failed=0
check() { # name, command...
        local name=$1; shift
        if "$@" >/dev/null 2>"$dest/err"; then
                passed=$((passed + 1))
        else
                failed=$((failed + 1))
                echo "    FAIL: $name: $(head -3 "$dest/err")"
        fi
}
if ! make -s -j2 install BUILD="$build" DESTDIR="$dest" PREFIX=/usr >"$dest/log" 2>&1; then
        echo "    FAIL: make install: $(tail -3 "$dest/log")"
        echo "0 passed, 1 failed, 0 skipped"
        exit 1
fi
for f in usr/lib/libhpcnode.a usr/lib/libhpcnode.so.0 usr/lib/libhpcnode.so usr/lib/pkgconfig/libhpcnode.pc \
        usr/include/hpcnode/cgroup.h usr/include/hpcnode/mount.h usr/include/hpcnode/monitor.h \
        usr/include/hpcnode/event.h usr/sbin/hpcnoded usr/lib/systemd/system/hpcnoded.service \
        etc/hpcnode/hpcnoded.conf usr/share/doc/hpcnode/hpcnoded.conf.example \
        usr/share/man/man8/hpcnoded.8 usr/share/man/man5/hpcnoded.conf.5 usr/share/doc/hpcnode/api.md usr/share/doc/hpcnode/socket-api.md \
        usr/bin/hpcnodectl usr/share/man/man1/hpcnodectl.1 usr/share/bash-completion/completions/hpcnodectl; do
        check "installed $f" test -e "$dest/$f"
done
check "daemon is executable" test -x "$dest/usr/sbin/hpcnoded"
check "unit starts the installed daemon" grep -qx 'ExecStart=/usr/sbin/hpcnoded' "$dest/usr/lib/systemd/system/hpcnoded.service"
check "installed daemon runs" "$dest/usr/sbin/hpcnoded" --help
check "installed hpcnodectl runs" sh -c "'$dest/usr/bin/hpcnodectl' --help | grep -q 'Exit codes:'"
# The completion, driven as bash drives it: verbs, sub-verbs, options.
complete_words() { # words... -> COMPREPLY
        bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _hpcnodectl; echo "${COMPREPLY[*]}"' \
                _ "$dest/usr/share/bash-completion/completions/hpcnodectl" "$@"
}
check "completion: verbs" test "$(complete_words hpcnodectl '')" = "scope mount emergency audit status probe tree metrics"
check "completion: sub-verbs" test "$(complete_words hpcnodectl mount f)" = "force-unmount"
check "completion: a verb's options" test "$(complete_words hpcnodectl emergency begin --r)" = "--reason"
check "completion: slices" test "$(complete_words hpcnodectl scope create work)" = "workload.slice"
cat > "$dest/prog.c" <<'EOC'
#include <stdio.h>
#include <string.h>
#include <hpcnode/error.h>
#include <hpcnode/slice.h>
int main(void) {
        return strcmp(hn_slice_owner_name(HN_OWNER_PACT), "pact") != 0;
}
EOC
pc() { PKG_CONFIG_PATH="$dest/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest" pkg-config "$@"; }
check "pkg-config knows libhpcnode" pc --exists libhpcnode
check "a program builds against the installed library" \
        cc -o "$dest/prog" "$dest/prog.c" $(pc --cflags --libs libhpcnode) -Wl,-rpath,"$dest/usr/lib"
check "and runs" "$dest/prog"
for m in man1/hpcnodectl.1 man8/hpcnoded.8 man5/hpcnoded.conf.5; do
        check "man page $m reads cleanly" sh -c "groff -man -Tutf8 -ww -z '$dest/usr/share/man/$m' 2>&1 | (! grep .)"
done
echo "# my site's settings" > "$dest/etc/hpcnode/hpcnoded.conf"
make -s install BUILD="$build" DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
check "a second install keeps the operator's configuration" grep -qx "# my site's settings" "$dest/etc/hpcnode/hpcnoded.conf"
echo "$passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
