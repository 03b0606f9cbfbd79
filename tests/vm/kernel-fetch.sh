#!/usr/bin/env bash
# kernel-fetch.sh [SUITE/]META-PACKAGE
# Resolves a Debian kernel meta-package (linux-image-amd64,
# linux-image-6.12-amd64, linux-image-arm64) to its versioned -unsigned image
# package, downloads and unpacks it into the cache, and prepares what a boot
# needs. Prints the prepared directory.
#
# Without SUITE the machine's own package index answers. With one
# (bullseye/linux-image-amd64, trixie/..., bookworm/linux-image-arm64), or
# for a META of another architecture (its -arm64 suffix says so), the index
# is a private one: a sources list and apt state of this script's own under
# the cache, so the machine's apt sources are never changed.
#
# Cache: ${HN_VM_CACHE:-/var/cache/hpcnode-vm}/<version>/ holding
#   vmlinux      x86-64: the ELF kernel taken out of the bzImage: qemu boots it
#                through PVH and skips seconds of in-guest decompression under TCG
#   Image        arm64: the kernel as Debian ships it (an uncompressed Image)
#   btf          the kernel's BTF (raw), read out of the image: what
#                vmlinux/<arch>/vmlinux.h is generated from (make vmlinux-arm64)
#   arch         x86 or arm64 (the names vmlinux/ and __TARGET_ARCH_ use)
#   initrd.cpio  busybox + the decompressed modules /init loads, and tests/vm/init.sh
#   modules.order  the insmod order (dependencies first)
# A prepared directory is reused: a fresh machine fetches, later runs do not.
# The packages are unpacked, never installed: installing pulls initramfs-tools
# and would touch the host's boot.
set -euo pipefail
spec=${1:?usage: kernel-fetch.sh [SUITE/]META-PACKAGE}
here=$(cd "$(dirname "$0")" && pwd)
cache=${HN_VM_CACHE:-/var/cache/hpcnode-vm}
mkdir -p "$cache"
case "$spec" in
*/*) suite=${spec%%/*} meta=${spec#*/} ;;
*) suite= meta=$spec ;;
esac
case "$meta" in
*-arm64) debarch=arm64 arch=arm64 ;;
*-amd64) debarch=amd64 arch=x86 ;;
*) echo "kernel-fetch: $meta: the architecture is its suffix (-amd64 or -arm64)" >&2; exit 2 ;;
esac
hostarch=$(dpkg --print-architecture)

log() { echo "kernel-fetch: $*" >&2; }

build_initrd() {
        # Modules /init needs, dependencies first, decompressed (busybox insmod
        # takes plain .ko files).
        mods="virtio_pci virtio_blk virtio_console 9pnet_virtio 9p overlay loop squashfs"
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
        if [ "$debarch" = "$hostarch" ]; then
                cp /bin/busybox "$staging/bin/busybox"
        else
                # the guest's own architecture's busybox, from the same index
                mkdir -p "$dir/bb"
                (cd "$dir/bb" && apt_get download -qq busybox-static 2>/dev/null) ||
                        { log "apt-get download busybox-static ($debarch) failed"; exit 1; }
                dpkg-deb -x "$dir"/bb/*.deb "$dir/bb/root"
                cp "$dir/bb/root/usr/bin/busybox" "$staging/bin/busybox" 2>/dev/null ||
                        cp "$dir/bb/root/bin/busybox" "$staging/bin/busybox"
                rm -rf "$dir/bb"
        fi
        cp "$here/init.sh" "$staging/init"
        chmod +x "$staging/init"
        (cd "$staging" && find . | cpio -o -H newc --quiet) >"$dir/initrd.cpio.new"
        mv "$dir/initrd.cpio.new" "$dir/initrd.cpio"
        rm -rf "$staging"
        echo "$want" >"$dir/initrd.sha"
}


# The kernel's BTF, as /sys/kernel/btf/vmlinux would give it: the .BTF data
# lies whole in the image, found by its header (magic 0xeB9F, version 1,
# flags 0, a 24-byte header, types first) with the strings right after the
# types. The largest such blob is the kernel's.
extract_btf() {
        local image_file="$dir/vmlinux" off len type_len str_off str_len best_off= best_len=0
        [ "$arch" = x86 ] || image_file="$dir/Image"
        for off in $(LC_ALL=C grep -aboP '\x9f\xeb\x01\x00\x18\x00\x00\x00\x00\x00\x00\x00' "$image_file" | cut -d: -f1); do
                read -r type_len str_off str_len < <(od -An -tu4 -j $((off + 12)) -N 12 "$image_file")
                [ "$str_off" = "$type_len" ] || continue
                len=$((24 + str_off + str_len))
                if [ "$len" -gt "$best_len" ]; then best_off=$off best_len=$len; fi
        done
        [ -n "$best_off" ] || { log "no BTF found in $image_file"; exit 1; }
        dd if="$image_file" of="$dir/btf" bs=1M iflag=skip_bytes,count_bytes skip="$best_off" count="$best_len" status=none
        bpftool btf dump file "$dir/btf" >/dev/null || { log "the BTF read out of $image_file does not parse"; exit 1; }
        echo "$arch" >"$dir/arch"
}

# apt for this spec: the machine's own for its own architecture and suite,
# else a private index (tests/vm/apt-private.sh).
apt_opts=()
if [ -n "$suite" ] || [ "$debarch" != "$hostarch" ]; then
        [ -n "$suite" ] || suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
        . "$here/apt-private.sh"
        apt_private "$suite" "$debarch" "$cache"
fi
apt_get() { apt-get "${apt_opts[@]}" "$@"; }

resolve() {
        apt-cache "${apt_opts[@]}" depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1
}
image=$(resolve || true)
if [ -z "$image" ]; then
        apt_get update -qq >/dev/null 2>&1 || true
        image=$(resolve || true)
fi
if [ -z "$image" ]; then
        # No package index (offline): use the newest kernel of this
        # architecture prepared before.
        found=$(ls -d "$cache"/*-"$debarch"/ready 2>/dev/null | sort -V | tail -1 || true)
        [ -n "$found" ] || { log "cannot resolve $spec and nothing is cached"; exit 1; }
        log "cannot resolve $spec; using cached $(dirname "$found")"
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
        # prepared by an older version of this script
        [ -f "$dir/btf" ] || extract_btf
        echo "$arch" >"$dir/arch"
        build_initrd
        echo "$dir"
        exit 0
fi
rm -rf "$dir"
mkdir -p "$dir/deb" "$dir/root"
log "fetching ${image}-unsigned"
(cd "$dir/deb" && apt_get download -qq "${image}-unsigned" 2>/dev/null) || {
        log "apt-get download ${image}-unsigned failed"
        exit 1
}
dpkg-deb -x "$dir"/deb/*.deb "$dir/root"
rm -rf "$dir/deb"
# trixie ships the modules under /usr/lib (merged /usr): depmod and
# modprobe -d look in lib/modules
[ -e "$dir/root/lib" ] || ln -s usr/lib "$dir/root/lib"
depmod -b "$dir/root" "$version"

bz="$dir/root/boot/vmlinuz-$version"
if [ "$arch" = arm64 ]; then
        # Debian's arm64 vmlinuz is the Image itself ("ARM\x64" at 0x38), or
        # gzipped on some versions: qemu-system-aarch64 boots the Image.
        if [ "$(head -c 2 "$bz" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
                gzip -dc <"$bz" >"$dir/Image"
        else
                cp "$bz" "$dir/Image"
        fi
        [ "$(tail -c +57 "$dir/Image" | head -c 4)" = "ARM$(printf '\x64')" ] ||
                { log "$bz is not an arm64 Image"; exit 1; }
else
        # The bzImage carries the ELF kernel compressed (xz on 6.1, zstd on
        # 6.12): find the payload by its magic and decompress until the ELF
        # header shows.
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
fi

extract_btf
build_initrd
touch "$dir/ready"
log "prepared $dir ($(wc -l <"$dir/modules.order") modules)"
echo "$dir"
