/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the kernel offers, proved rather than assumed. Inside the VM suite
 * (HN_VM=1: Debian kernels booted with lsm=...,bpf) BPF LSM must load,
 * attach and deny: a VM that silently lost it fails here, loudly. On a host
 * without it, the probe must say so with the reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hpcnode/lsm_probe.h>
#include <hpcnode/probe.h>

#include "fixture.h"

static bool lsm_list_has_bpf(void) {
        char buf[512];
        if (read_text("/sys/kernel/security/lsm", buf, sizeof(buf)) < 0)
                return false;
        for (char *t = strtok(buf, ",\n"); t; t = strtok(NULL, ",\n"))
                if (strcmp(t, "bpf") == 0)
                        return true;
        return false;
}

static void bpf_lsm_probe_tells_the_truth(void **state) {
        (void) state;
        if (geteuid() != 0)
                SKIP_BECAUSE("loading BPF programs needs root");
        struct hn_bpf_lsm_probe p;
        memset(&p, 0xa5, sizeof(p));
        hn_probe_bpf_lsm(NULL, &p);
        printf("# BPF LSM: listed=%d loaded=%d attached=%d denies=%d available=%d reason=\"%s\"\n", p.listed,
               p.loaded, p.attached, p.denies, p.available, p.reason);
        assert_int_equal(p.available, p.listed && p.loaded && p.attached && p.denies);
        assert_int_equal(p.listed, lsm_list_has_bpf());
        if (getenv("HN_VM")) {
                /* the VM's whole point: enforcement paths run for real */
                assert_true(p.listed);
                assert_true(p.loaded);
                assert_true(p.attached);
                assert_true(p.denies);
                assert_true(p.available);
                assert_string_equal(p.reason, "");
        } else if (!p.available) {
                assert_true(strlen(p.reason) > 0);
                if (!p.listed)
                        assert_true(strstr(p.reason, "bpf is not in the active LSM list") ||
                                    strstr(p.reason, "cannot read /sys/kernel/security/lsm"));
                if (!p.loaded)
                        assert_non_null(strstr(p.reason, "loading lsm/inode_mkdir: "));
        }
}

/* Trampolines: Debian's kernels in the VM have them; where they fail the
 * reason names the step. */
static void trampoline_probe_tells_the_truth(void **state) {
        (void) state;
        if (geteuid() != 0)
                SKIP_BECAUSE("loading BPF programs needs root");
        struct hn_trampoline_probe t;
        hn_probe_trampolines(&t);
        if (getenv("HN_VM")) {
                assert_true(t.available);
                assert_string_equal(t.reason, "");
        } else if (!t.available)
                assert_true(!strncmp(t.reason, "loading fentry/vfs_mkdir: ", 26) ||
                            !strncmp(t.reason, "attaching fentry/vfs_mkdir: ", 28));
}

/* Detached means detached: after the probe, the name is allowed again. */
static void probe_leaves_nothing_attached(void **state) {
        (void) state;
        if (geteuid() != 0)
                SKIP_BECAUSE("loading BPF programs needs root");
        struct hn_bpf_lsm_probe p;
        hn_probe_bpf_lsm("/tmp", &p);
        char dir[] = "/tmp/hn-probe-after.XXXXXX", target[128];
        assert_non_null(mkdtemp(dir));
        snprintf(target, sizeof(target), "%s/%s", dir, HN_LSM_PROBE_NAME);
        assert_int_equal(mkdir(target, 0700), 0);
        assert_int_equal(rmdir(target), 0);
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(bpf_lsm_probe_tells_the_truth),
                cmocka_unit_test(trampoline_probe_tells_the_truth),
                cmocka_unit_test(probe_leaves_nothing_attached),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
