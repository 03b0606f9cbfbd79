#!/usr/bin/env bash
# rootfs-fetch.sh SUITE DEBARCH
# A Debian root of another architecture (bookworm arm64) for the VM suite
# on that architecture: the guest's / (shared read-only over 9p, as the
# host's own / is for an x86-64 guest) and, because the -dev packages are
# in it too, the sysroot the project is cross-built against. Its packages
# and every dependency are resolved by apt through a private index
# (tests/vm/apt-private.sh) and unpacked with dpkg-deb -x: nothing is
# installed on this machine, no maintainer script runs. Prints the root.
#
# Cache: ${HN_VM_CACHE:-/var/cache/hpcnode-vm}/rootfs/<suite>-<arch>/,
# rebuilt when this script (its package list) changes.
set -euo pipefail
suite=${1:?usage: rootfs-fetch.sh SUITE DEBARCH}
debarch=${2:?usage: rootfs-fetch.sh SUITE DEBARCH}
here=$(cd "$(dirname "$0")" && pwd)
cache=${HN_VM_CACHE:-/var/cache/hpcnode-vm}
dir="$cache/rootfs/$suite-$debarch"
log() { echo "rootfs-fetch: $*" >&2; }

# What the suites run (tools their tests call) and link (the -dev
# packages bring the run-time libraries with them).
pkgs=(
        base-files base-passwd bash dash coreutils util-linux mount findutils grep sed mawk diffutils procps psmisc
        kmod gzip tar
        iproute2 squashfs-tools e2fsprogs busybox bpftool libc-bin
        libc6-dev libbpf-dev libelf-dev zlib1g-dev libcmocka-dev libmount-dev libsystemd-dev libjson-c-dev
        libssl-dev libmd-dev liburing-dev libasan8 libubsan1
        libstd-rust-dev # the Rust standard library the crate's tests are cross-built against
)
want=$( (cat "$0" "$here/apt-private.sh"; echo "${pkgs[*]}") | sha256sum | cut -d' ' -f1)
if [ -f "$dir/ready" ] && [ "$(cat "$dir/ready")" = "$want" ]; then
        echo "$dir/root"
        exit 0
fi
mkdir -p "$cache/rootfs"
exec 9>"$cache/rootfs/.lock-$suite-$debarch"
flock 9
if [ -f "$dir/ready" ] && [ "$(cat "$dir/ready")" = "$want" ]; then
        echo "$dir/root"
        exit 0
fi
. "$here/apt-private.sh"
apt_private "$suite" "$debarch" "$cache"
apt-get "${apt_opts[@]}" update -qq >/dev/null 2>&1 || { log "apt-get update ($suite $debarch) failed"; exit 1; }
apt-get "${apt_opts[@]}" clean # no stale version unpacked over a new one
# Resolve against an empty status: the closure of the list, essential
# packages included, downloaded only.
apt-get "${apt_opts[@]}" -qq -y --download-only --no-install-recommends install "${pkgs[@]}" >"$dir.log" 2>&1 ||
        { log "resolving the packages failed:"; tail -20 "$dir.log" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/root"
n=0
for deb in "$cache/apt/$suite-$debarch/archives"/*.deb; do
        dpkg-deb -x "$deb" "$dir/root"
        n=$((n + 1))
done
r="$dir/root"
# What maintainer scripts would have made: accounts, a hostname, the
# shell, and the loader's cache is made in the guest (ldconfig there).
cp "$r/usr/share/base-passwd/passwd.master" "$r/etc/passwd"
cp "$r/usr/share/base-passwd/group.master" "$r/etc/group"
[ -e "$r/bin/sh" ] || ln -s dash "$r/bin/sh"
echo hn-vm >"$r/etc/hostname"
mkdir -p "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/run" "$r/root"
# Prometheus' promtool, where tests/lib/promtool-fetch.sh keeps it (the
# package alone: its dependencies are a server's, promtool is static)
mkdir -p "$dir/prom" "$r/var/cache/hpcnode-tools/prometheus/usr/bin"
(cd "$dir/prom" && apt-get "${apt_opts[@]}" download -qq prometheus >/dev/null 2>&1) ||
        { log "apt-get download prometheus ($debarch) failed"; exit 1; }
dpkg-deb --fsys-tarfile "$dir"/prom/prometheus_*.deb | tar -x -C "$dir/prom" ./usr/bin/promtool
mv "$dir/prom/usr/bin/promtool" "$r/var/cache/hpcnode-tools/prometheus/usr/bin/promtool"
rm -rf "$dir/prom"
echo "$want" >"$dir/ready"
log "prepared $r ($n packages, $(du -sh "$r" | cut -f1))"
echo "$r"
