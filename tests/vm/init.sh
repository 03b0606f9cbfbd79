#!/bin/busybox sh
# Guest /init. The host's / arrives read-only over virtio-9p ("hostroot"),
# gets a tmpfs overlay so the guest can write without touching the host, and
# the project directory arrives read-write ("project") at its host path so
# logs land on the host. Then a pure cgroup2 with every controller, bpffs,
# securityfs, tracefs and a cgroup-v1 freezer beside it, and the command in
# /hn/run.sh (appended per run by run-vm.sh) runs chrooted in that root.
# Its output goes to the second serial port; the exit code is printed on
# the console as HN_VM_EXIT=<n>, then the VM powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# the console and the command's output: ttyS0/ttyS1 on x86-64,
# ttyAMA0/hvc0 on arm64 (run-vm.sh says which)
. /hn/run.env
CON=/dev/${HN_VM_CON:-ttyS0} OUT=/dev/${HN_VM_OUT:-ttyS1}

fail() {
        echo "hn-init: $*" >$CON
        echo "HN_VM_EXIT=125" >$CON
        poweroff -f
}

for m in $(cat /modules.order); do
        insmod /lib/mod/$m 2>/dev/null || grep -q "^${m%.ko} " /proc/modules || fail "insmod $m failed"
done

mkdir -p /host /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host || fail "9p hostroot"
mount -t tmpfs -o size=4g,mode=755 rw /rw || fail "tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot || fail "overlay"

R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mount -t tmpfs -o mode=755 tmpfs $R/run
# After /tmp and /run: the project may live under either.
mkdir -p "$R$HN_PROJECT"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 project "$R$HN_PROJECT" || fail "9p project"

# Pure cgroup v2 with every controller delegated from the root.
mount -t cgroup2 none $R/sys/fs/cgroup || fail "cgroup2"
for c in $(cat $R/sys/fs/cgroup/cgroup.controllers); do
        echo "+$c" >$R/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done
mount -t bpf bpf $R/sys/fs/bpf
mount -t securityfs securityfs $R/sys/kernel/security
mount -t tracefs tracefs $R/sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs $R/sys/kernel/debug 2>/dev/null
# A v1 freezer beside v2, for the F30 test (tests look for it here).
mkdir -p $R/run/hn-freezer
mount -t cgroup -o freezer none $R/run/hn-freezer 2>/dev/null
ln -sf /proc/self/mounts $R/etc/mtab 2>/dev/null
# Loopback, as any booted system has it: the metrics port is scraped there.
ip link set lo up || fail "lo up"

cp /hn/run.sh $R/run/hn-run.sh
hostname hn-vm

# systemd as PID 1 (HN_VM_INIT=systemd): the same root, booted by Debian's
# systemd, which mounts the rest itself; the command runs as a oneshot
# unit once the system is up, and its end powers the VM off.
if [ "${HN_VM_INIT:-busybox}" = systemd ]; then
        umount $R/sys/fs/cgroup $R/run/hn-freezer $R/sys/fs/bpf $R/sys/kernel/security 2>/dev/null
        umount $R/sys/kernel/tracing $R/sys/kernel/debug 2>/dev/null
        mkdir -p $R/run/systemd/system
        # quoted: the dollars are the unit's ($$ is systemd's literal $)
        cat >$R/run/systemd/system/hn-test.service <<'EOT'
[Unit]
Description=hpcnode VM suite
Wants=systemd-journald.service
After=basic.target systemd-journald.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
TimeoutStartSec=infinity
EnvironmentFile=/run/hn-run.env
ExecStart=/bin/sh -c 'cd "$$HN_PROJECT" && /bin/sh /run/hn-run.sh >@OUT@ 2>&1 </dev/null; rc=$$?; sync; echo HN_VM_EXIT=$$rc >@CON@; exit 0'
EOT
        sed -i "s|@OUT@|$OUT|; s|@CON@|$CON|" $R/run/systemd/system/hn-test.service
        printf '[Unit]\nDescription=hpcnode VM suite\nRequires=hn-test.service\nAfter=hn-test.service\n' \
                >$R/run/systemd/system/hn-test.target
        echo "HN_PROJECT=$HN_PROJECT" >$R/run/hn-run.env
        exec switch_root $R /lib/systemd/systemd --unit=hn-test.target --log-target=kmsg
        fail "switch_root to systemd"
fi

chroot $R /bin/sh -c "cd \"$HN_PROJECT\" && exec /bin/sh /run/hn-run.sh" >$OUT 2>&1 </dev/null
rc=$?
sync
# The console only carries warnings while the suite runs; on a failure the
# whole kernel log goes there too, for build/vm/<label>/console.log.
[ "$rc" -eq 0 ] || { echo "--- dmesg ---"; dmesg; } >$CON
echo "HN_VM_EXIT=$rc" >$CON
poweroff -f
