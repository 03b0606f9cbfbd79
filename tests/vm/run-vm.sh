#!/usr/bin/env bash
# run-vm.sh KERNEL-DIR LABEL COMMAND
# Boots the kernel prepared by kernel-fetch.sh under qemu and runs COMMAND
# (a shell command line) in the project directory inside the guest, as root,
# with a pure cgroup2 and BPF LSM enabled (HN_VM_INIT=systemd: booted by
# systemd as PID 1, the command a unit of it). The kernel's architecture
# (KERNEL-DIR/arch, from kernel-fetch.sh) picks qemu: x86-64 shares the
# host's / as the guest's, arm64 the root HN_VM_ROOT names
# (tests/vm/rootfs-fetch.sh). Prints the command's output and
# exits with its status. Distinct statuses for what is not the command's:
#   124  the VM did not finish within HN_VM_TIMEOUT seconds (default 3600)
#   125  the guest printed no exit code (kernel panic, init failure)
# Logs: build/vm/LABEL/console.log (kernel), output.log (command). Prints
# the wall time and the host CPU time the VM took. On a
# failure the tail of the kernel log is printed.
set -uo pipefail
kdir=${1:?usage: run-vm.sh KERNEL-DIR LABEL COMMAND}
label=${2:?}
cmd=${3:?}
project=$(pwd -P)
out="$project/build/vm/$label"
rm -rf "$out"
mkdir -p "$out/extra/hn"

arch=$(cat "$kdir/arch" 2>/dev/null || echo x86)
root=${HN_VM_ROOT:-/}
if [ "$arch" = arm64 ]; then
        # the PL011 is the console; the output a virtio console (the virt
        # machine has one UART)
        con=ttyAMA0 cmdout=hvc0
        [ "$root" != / ] || { echo "$label: an arm64 guest needs HN_VM_ROOT (tests/vm/rootfs-fetch.sh)" >&2; exit 2; }
else
        con=ttyS0 cmdout=ttyS1
fi
cat >"$out/extra/hn/run.env" <<EOT
HN_PROJECT='$project'
HN_VM_INIT='${HN_VM_INIT:-busybox}'
HN_VM_CON='$con'
HN_VM_OUT='$cmdout'
EOT
cat >"$out/extra/hn/run.sh" <<EOT
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root HN_VM=1 HN_VM_LABEL='$label'
$cmd
EOT
# An appended cpio must start on a 4-byte boundary of the initrd.
cp "$kdir/initrd.cpio" "$out/initrd.cpio"
pad=$(( (4 - $(stat -c %s "$out/initrd.cpio") % 4) % 4 ))
head -c "$pad" /dev/zero >>"$out/initrd.cpio"
(cd "$out/extra" && find hn | cpio -o -H newc --quiet) >>"$out/initrd.cpio"

# A real virtual disk, so io.max has a whole-disk device to limit.
truncate -s 256M "$out/disk.img"

accel=${HN_VM_ACCEL:-tcg,thread=single}
timeout_s=${HN_VM_TIMEOUT:-3600}
start=$(date +%s%N)
append="rdinit=/init panic=-1 lsm=lockdown,capability,landlock,yama,bpf loglevel=4"
share=(-virtfs "local,path=$root,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
        -virtfs "local,path=$project,mount_tag=project,security_model=none,multidevs=remap"
        -drive "file=$out/disk.img,format=raw,if=virtio")
if [ "$arch" = arm64 ]; then
        # cortex-a72: no pointer authentication or SVE to emulate, which
        # costs TCG dearly and nothing here needs
        timeout -k 10 "$timeout_s" qemu-system-aarch64 \
                -M virt -accel "$accel" -cpu cortex-a72 -m "${HN_VM_MEM:-3072}" -smp 1 \
                -display none -nodefaults -no-reboot \
                -kernel "$kdir/Image" -initrd "$out/initrd.cpio" -append "console=ttyAMA0 $append" \
                -chardev file,id=con,path="$out/console.log" -serial chardev:con \
                -device virtio-serial-pci -chardev file,id=cmd,path="$out/output.log" -device virtconsole,chardev=cmd \
                "${share[@]}" </dev/null >"$out/qemu.log" 2>&1
else
        timeout -k 10 "$timeout_s" qemu-system-x86_64 \
                -M q35 -accel "$accel" -cpu max -m "${HN_VM_MEM:-3072}" -smp 1 \
                -display none -vga none -nodefaults -no-reboot \
                -kernel "$kdir/vmlinux" -initrd "$out/initrd.cpio" -append "console=ttyS0 $append" \
                -chardev file,id=con,path="$out/console.log" -serial chardev:con \
                -chardev file,id=cmd,path="$out/output.log" -serial chardev:cmd \
                "${share[@]}" </dev/null >"$out/qemu.log" 2>&1
fi
qrc=$?
cat "$out/output.log" 2>/dev/null
rc=$(sed -n 's/.*HN_VM_EXIT=\([0-9]*\).*/\1/p' "$out/console.log" 2>/dev/null | tail -1)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
# and the host CPU the VM took (qemu, reaped above: the children's times),
# which is what the VMs share when they run at once
times >"$out/times" # in this shell: a $(...) subshell has no children yet
cpu=$(tail -1 "$out/times" | awk '{ split($1, u, "m"); split($2, s, "m"); printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
printf '%s: VM wall time %d.%d s, CPU %s s\n' "$label" $((ms / 1000)) $((ms % 1000 / 100)) "$cpu" >&2
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
        rc=124
        echo "$label: VM timed out after ${timeout_s} s" >&2
elif [ -z "$rc" ]; then
        rc=125
        echo "$label: guest printed no exit code (panic or init failure); qemu said:" >&2
        sed 's/^/    /' "$out/qemu.log" >&2
fi
if [ "$rc" -ne 0 ]; then
        echo "$label: last kernel messages (full log: $out/console.log):" >&2
        tail -25 "$out/console.log" | sed 's/^/    /' >&2
fi
exit "$rc"
