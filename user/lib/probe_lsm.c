/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include <hpcnode/lsm_probe.h>
#include <hpcnode/monitor.h>
#include <hpcnode/probe.h>

#include "fileio.h"
#include "lsm_probe.skel.h"
#include "macro.h"

#define LSM_LIST "/sys/kernel/security/lsm"

static bool lsm_listed(char *reason, size_t size) {
        char buf[512];
        int r = read_file_at(AT_FDCWD, LSM_LIST, buf, sizeof(buf));
        if (r < 0) {
                snprintf(reason, size, "cannot read %s: %s (securityfs not mounted?)", LSM_LIST, strerror(-r));
                return false;
        }
        char list[sizeof(buf)];
        memcpy(list, buf, sizeof(buf));
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (strcmp(t, "bpf") == 0)
                        return true;
        snprintf(reason, size, "bpf is not in the active LSM list (%s = \"%.120s\"); boot with lsm=...,bpf",
                 LSM_LIST, list);
        return false;
}

/* Every failing step adds its cause, so the operator sees the whole story
 * ("not in the LSM list; load: Operation not permitted"). */
static void add_reason(char *reason, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_reason(char *reason, size_t size, const char *fmt, ...) {
        size_t used = strlen(reason);
        va_list ap;
        if (used && used + 2 < size) {
                memcpy(reason + used, "; ", 3);
                used += 2;
        }
        va_start(ap, fmt);
        vsnprintf(reason + used, size - used, fmt, ap);
        va_end(ap);
}

/* strerror, but for the kernel's own ENOTSUPP (524), which libc does not
 * name: an attach it returns means this kernel has no BPF trampolines on
 * its architecture (arm64 before 6.4: no ftrace direct calls), which
 * lsm/ and fentry/ programs both need. */
static const char *attach_error(int e) {
        if (e == 524)
                return "not supported by this kernel (ENOTSUPP: no BPF trampolines here, e.g. arm64 before Linux 6.4)";
        return strerror(e);
}

/* With the program attached: a mkdir of the probe name in a fresh dir. */
static bool check_denies(const char *tmpdir, char *reason, size_t size) {
        char dir[512], target[600];
        snprintf(dir, sizeof(dir), "%s/hn-lsm-probe.XXXXXX", tmpdir);
        if (!mkdtemp(dir)) {
                snprintf(reason, size, "mkdtemp in %s: %s", tmpdir, strerror(errno));
                return false;
        }
        snprintf(target, sizeof(target), "%s/%s", dir, HN_LSM_PROBE_NAME);
        int r = mkdir(target, 0700);
        int e = errno;
        if (r == 0)
                rmdir(target);
        rmdir(dir);
        if (r == 0 || e != EPERM) {
                snprintf(reason, size, "attached lsm/inode_mkdir program did not deny (mkdir: %s)",
                         r == 0 ? "succeeded" : strerror(e));
                return false;
        }
        return true;
}

void hn_probe_bpf_lsm(const char *tmpdir, struct hn_bpf_lsm_probe *ret) {
        struct hn_bpf_lsm_probe out = { 0 };

        if (!tmpdir)
                tmpdir = "/tmp";
        out.listed = lsm_listed(out.reason, sizeof(out.reason));
        struct lsm_probe *skel = lsm_probe__open();
        if (!skel) {
                add_reason(out.reason, sizeof(out.reason), "opening the probe object: %s", strerror(errno));
                goto done;
        }
        skel->rodata->target_tgid = (unsigned) getpid();
        struct stat ns;
        if (stat("/proc/self/ns/pid", &ns) == 0) {
                skel->rodata->target_pidns_dev = hn_kernel_dev(ns.st_dev);
                skel->rodata->target_pidns_ino = ns.st_ino;
        }
        bpf_program__set_autoload(skel->progs.hn_probe_fentry, false);
        int r = lsm_probe__load(skel);
        if (r < 0) {
                add_reason(out.reason, sizeof(out.reason), "loading lsm/inode_mkdir: %s", strerror(-r));
                goto done;
        }
        out.loaded = true;
        r = lsm_probe__attach(skel);
        if (r < 0) {
                add_reason(out.reason, sizeof(out.reason), "attaching lsm/inode_mkdir: %s", attach_error(-r));
                goto done;
        }
        out.attached = true;
        char why[256] = "";
        out.denies = check_denies(tmpdir, why, sizeof(why));
        if (!out.denies)
                add_reason(out.reason, sizeof(out.reason), "%s", why);
done:
        lsm_probe__destroy(skel);
        out.available = out.listed && out.loaded && out.attached && out.denies;
        if (out.available)
                out.reason[0] = '\0';
        *ret = out;
}

void hn_probe_trampolines(struct hn_trampoline_probe *ret) {
        struct hn_trampoline_probe out = { 0 };
        struct bpf_link *link = NULL;
        struct lsm_probe *skel = lsm_probe__open();
        int r;
        if (!skel) {
                snprintf(out.reason, sizeof(out.reason), "opening the probe object: %s", strerror(errno));
                goto done;
        }
        bpf_program__set_autoload(skel->progs.hn_lsm_probe_mkdir, false);
        bpf_program__set_autoload(skel->progs.hn_probe_fentry, true);
        if ((r = lsm_probe__load(skel)) < 0) {
                snprintf(out.reason, sizeof(out.reason), "loading fentry/vfs_mkdir: %s", strerror(-r));
                goto done;
        }
        link = bpf_program__attach(skel->progs.hn_probe_fentry);
        if ((r = libbpf_get_error(link)) != 0) {
                link = NULL;
                snprintf(out.reason, sizeof(out.reason), "attaching fentry/vfs_mkdir: %s", attach_error(r < 0 ? -r : r));
                goto done;
        }
        out.available = true;
done:
        bpf_link__destroy(link);
        lsm_probe__destroy(skel);
        *ret = out;
}
