#!/usr/bin/env bash
# kernel-fetch.sh META-PACKAGE
# Resolves a Debian kernel meta-package (linux-image-amd64, linux-image-6.12-amd64)
# to its versioned -unsigned image package, downloads and unpacks it into the
# cache, and prepares what a boot needs. Prints the prepared directory.
#
# Cache: ${HN_VM_CACHE:-/var/cache/hpcnode-vm}/<version>/ holding
#   vmlinux      the ELF kernel taken out of the bzImage: qemu boots it through
#                PVH and skips seconds of in-guest decompression under TCG
#   initrd.cpio  busybox + the decompressed modules /init loads, and tests/vm/init.sh
#   modules.order  the insmod order (dependencies first)
# A prepared directory is reused: a fresh machine fetches, later runs do not.
# The packages are unpacked, never installed: installing pulls initramfs-tools
# and would touch the host's boot.
set -euo pipefail
meta=${1:?usage: kernel-fetch.sh META-PACKAGE}
here=$(cd "$(dirname "$0")" && pwd)
cache=${HN_VM_CACHE:-/var/cache/hpcnode-vm}
mkdir -p "$cache"

log() { echo "kernel-fetch: $*" >&2; }

build_initrd() {
        # Modules /init needs, dependencies first, decompressed (busybox insmod
        # takes plain .ko files).
        mods="virtio_pci virtio_blk 9pnet_virtio 9p overlay loop squashfs"
        : >"$dir/modules.order"
        staging="$dir/initrd"
        mkdir -p "$staging/lib/mod" "$staging/bin" "$staging/proc" "$staging/sys" "$staging/dev" "$staging/etc"
        for m in $mods; do
                modprobe -d "$dir/root" -S "$version" --show-depends "$m" 2>/dev/null |
                        sed -n 's/^insmod \([^ ]*\).*/\1/p'
        done | awk '!seen[$0]++' | while read -r ko; do
                name=$(basename "$ko")
                case "$name" in
                *.xz) xz -dc "$ko" >"$staging/lib/mod/${name%.xz}"; name=${name%.xz} ;;
                *.zst) zstd -dcq "$ko" >"$staging/lib/mod/${name%.zst}"; name=${name%.zst} ;;
                *) cp "$ko" "$staging/lib/mod/$name" ;;
                esac
                echo "$name" >>"$dir/modules.order"
        done
        cp "$dir/modules.order" "$staging/modules.order"
        cp /bin/busybox "$staging/bin/busybox"
        cp "$here/init.sh" "$staging/init"
        chmod +x "$staging/init"
        (cd "$staging" && find . | cpio -o -H newc --quiet) >"$dir/initrd.cpio.new"
        mv "$dir/initrd.cpio.new" "$dir/initrd.cpio"
        rm -rf "$staging"
        echo "$want" >"$dir/initrd.sha"
}


resolve() {
        apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1
}
image=$(resolve)
if [ -z "$image" ]; then
        apt-get update -qq >/dev/null 2>&1 || true
        image=$(resolve)
fi
if [ -z "$image" ]; then
        # No package index (offline): use the newest kernel prepared before.
        found=$(ls -d "$cache"/*/ready 2>/dev/null | sort -V | tail -1 || true)
        [ -n "$found" ] || { log "cannot resolve $meta and nothing is cached"; exit 1; }
        log "cannot resolve $meta; using cached $(dirname "$found")"
        dirname "$found"
        exit 0
fi
version=${image#linux-image-}
dir="$cache/$version"
# The initramfs depends on the guest init and on this script, by content
# (a fresh clone has new mtimes; that must not cost a download).
want=$(cat "$here/init.sh" "$0" | sha256sum | cut -d' ' -f1)
if [ -f "$dir/ready" ] && [ "$(cat "$dir/initrd.sha" 2>/dev/null)" = "$want" ]; then
        echo "$dir"
        exit 0
fi

# One preparer at a time per version: make test-vm runs two kernels at once.
exec 9>"$cache/.lock-$version"
flock 9
if [ -f "$dir/ready" ] && [ "$(cat "$dir/initrd.sha" 2>/dev/null)" = "$want" ]; then
        echo "$dir"
        exit 0
fi
if [ -f "$dir/ready" ]; then
        build_initrd
        echo "$dir"
        exit 0
fi
rm -rf "$dir"
mkdir -p "$dir/deb" "$dir/root"
log "fetching ${image}-unsigned"
(cd "$dir/deb" && apt-get download -qq "${image}-unsigned" 2>/dev/null) || {
        log "apt-get download ${image}-unsigned failed"
        exit 1
}
dpkg-deb -x "$dir"/deb/*.deb "$dir/root"
rm -rf "$dir/deb"
depmod -b "$dir/root" "$version"

# The bzImage carries the ELF kernel compressed (xz on 6.1, zstd on 6.12):
# find the payload by its magic and decompress until the ELF header shows.
bz="$dir/root/boot/vmlinuz-$version"
extract() { # magic-regex decompressor
        local off
        for off in $(LC_ALL=C grep -aboP "$1" "$bz" | cut -d: -f1); do
                tail -c +$((off + 1)) "$bz" | $2 >"$dir/vmlinux" 2>/dev/null || true
                if [ "$(head -c 4 "$dir/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
                        return 0
                fi
        done
        return 1
}
extract '\xfd\x37\x7a\x58\x5a\x00' 'xz -dc' || extract '\x28\xb5\x2f\xfd' 'zstd -dcq' ||
        extract '\x1f\x8b\x08' 'gzip -dc' || { log "no ELF kernel found in $bz"; exit 1; }

build_initrd
touch "$dir/ready"
log "prepared $dir ($(wc -l <"$dir/modules.order") modules)"
echo "$dir"
