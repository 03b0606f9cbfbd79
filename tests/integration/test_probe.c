/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the kernel offers, proved rather than assumed. Inside the VM suite
 * (HN_VM=1: Debian kernels booted with lsm=...,bpf) BPF LSM must load,
 * attach and deny: a VM that silently lost it fails here, loudly. On a host
 * without it, the probe must say so with the reason. */
#include <dirent.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <hpcnode/monitor.h>

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

/* The kernel's version, as major * 1000 + minor (5.10 -> 5010). */
static int kernel_version(void) {
        struct utsname u;
        int major = 0, minor = 0;
        assert_int_equal(uname(&u), 0);
        assert_int_equal(sscanf(u.release, "%d.%d", &major, &minor), 2);
        return major * 1000 + minor;
}

/* Each feature against the version it came in (Debian backports none of
 * them): the probe must find exactly what the release says is there. */
static void kernel_features_match_the_kernel_version(void **state) {
        (void) state;
        if (geteuid() != 0)
                SKIP_BECAUSE("probing BPF helpers and maps needs root");
        static const int since[HN_FEATURE_MAX] = {
                [HN_FEATURE_BTF] = 5004,          [HN_FEATURE_RINGBUF] = 5008,
                [HN_FEATURE_TASK_STORAGE] = 5011, [HN_FEATURE_CURRENT_TASK_BTF] = 5011,
                [HN_FEATURE_TASK_PT_REGS] = 5015, [HN_FEATURE_LOOP] = 5017,
                [HN_FEATURE_CGROUP_KILL] = 5014,  [HN_FEATURE_FDINFO_INO] = 5014,
                [HN_FEATURE_MOUNT_SETATTR] = 5012,
        };
        int v = kernel_version();
        struct hn_kernel_features f;
        memset(&f, 0xa5, sizeof(f));
        hn_probe_kernel_features(&f);
        for (unsigned i = 0; i < HN_FEATURE_MAX; i++) {
                printf("# %-40s %s (since %s)\n", hn_kernel_feature_name(i), f.present[i] ? "yes" : "no",
                       hn_kernel_feature_since(i));
                bool expected = v >= since[i];
                if (i == HN_FEATURE_BTF)
                        expected = expected && access("/sys/kernel/btf/vmlinux", R_OK) == 0;
                assert_int_equal(f.present[i], expected);
                assert_non_null(hn_kernel_feature_name(i));
                assert_non_null(hn_kernel_feature_since(i));
        }
        assert_null(hn_kernel_feature_name(HN_FEATURE_MAX));
        assert_null(hn_kernel_feature_fallback(-1));
}

/* The refusal names every required feature missing, with its version;
 * one that has a fallback is no reason to refuse. */
static void kernel_features_check_names_each_missing_one(void **state) {
        (void) state;
        struct hn_kernel_features f;
        for (unsigned i = 0; i < HN_FEATURE_MAX; i++)
                f.present[i] = true;
        struct hn_error err = { .kind = HN_ERR_IO, .message = "untouched" };
        assert_int_equal(hn_kernel_features_check(&f, &err), 0);
        assert_string_equal(err.message, "untouched");

        f.present[HN_FEATURE_CGROUP_KILL] = f.present[HN_FEATURE_FDINFO_INO] = false;
        assert_non_null(hn_kernel_feature_fallback(HN_FEATURE_CGROUP_KILL));
        assert_int_equal(hn_kernel_features_check(&f, &err), 0);
        assert_string_equal(err.message, "untouched");

        /* what the full object uses: the compat object runs instead */
        assert_int_equal(hn_kernel_bpf_object(&f), HN_BPF_OBJECT_FULL);
        const enum hn_kernel_feature full_only[] = { HN_FEATURE_TASK_STORAGE, HN_FEATURE_CURRENT_TASK_BTF,
                                                     HN_FEATURE_TASK_PT_REGS, HN_FEATURE_LOOP };
        for (size_t i = 0; i < sizeof(full_only) / sizeof(full_only[0]); i++) {
                f.present[full_only[i]] = false;
                assert_non_null(strstr(hn_kernel_feature_fallback(full_only[i]), "the compat BPF object"));
                assert_int_equal(hn_kernel_features_check(&f, &err), 0);
                assert_int_equal(hn_kernel_bpf_object(&f), HN_BPF_OBJECT_COMPAT);
                f.present[full_only[i]] = true;
        }
        assert_string_equal(err.message, "untouched");

        f.present[HN_FEATURE_RINGBUF] = f.present[HN_FEATURE_BTF] = false;
        assert_null(hn_kernel_feature_fallback(HN_FEATURE_RINGBUF));
        assert_int_equal(hn_kernel_features_check(&f, &err), -EOPNOTSUPP);
        assert_int_equal(err.kind, HN_ERR_INVALID_ARGUMENT);
        assert_int_equal(err.sys_errno, EOPNOTSUPP);
        assert_string_equal(err.message, "this kernel lacks what hpcnode's BPF side needs: "
                                         "kernel BTF (/sys/kernel/btf/vmlinux) (Linux 5.4, CONFIG_DEBUG_INFO_BTF=y), "
                                         "BPF ring buffer maps (Linux 5.8)");
        assert_int_equal(hn_kernel_features_check(&f, NULL), -EOPNOTSUPP);
        assert_string_equal(hn_bpf_object_name(HN_BPF_OBJECT_COMPAT), "compat");
        assert_null(hn_bpf_object_name(HN_BPF_OBJECT_MAX));
}

/* Task-storage maps this process holds (fdinfo's map_type): the full
 * object has two, the compat one none; which bytes were loaded, seen from
 * the kernel rather than from what the monitor says. */
static int task_storage_maps_held(void) {
        DIR *dp = opendir("/proc/self/fdinfo");
        assert_non_null(dp);
        int n = 0;
        char path[64], line[128];
        for (struct dirent *de; (de = readdir(dp));) {
                snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", de->d_name);
                FILE *f = de->d_name[0] == '.' ? NULL : fopen(path, "r");
                unsigned type;
                while (f && fgets(line, sizeof(line), f))
                        if (sscanf(line, "map_type: %u", &type) == 1 && type == BPF_MAP_TYPE_TASK_STORAGE)
                                n++;
                if (f)
                        fclose(f);
        }
        closedir(dp);
        return n;
}

/* The object the monitor loads is the one the probe names; the full one
 * asked for on a kernel without what it uses is refused, naming each
 * missing feature; the compat one loads anywhere. */
static void monitor_loads_the_object_the_kernel_runs(void **state) {
        (void) state;
        if (geteuid() != 0)
                SKIP_BECAUSE("loading BPF programs needs root");
        if (kernel_refusal()[0])
                SKIP_BECAUSE("hpcnoded refuses this kernel: %s", kernel_refusal());
        struct hn_kernel_features f;
        hn_probe_kernel_features(&f);
        enum hn_bpf_object runs = hn_kernel_bpf_object(&f);
        printf("# this kernel runs the %s object\n", hn_bpf_object_name(runs));
        const enum hn_bpf_object asked[] = { HN_BPF_OBJECT_AUTO, HN_BPF_OBJECT_FULL, HN_BPF_OBJECT_COMPAT };
        for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
                struct hn_monitor_options o = { .attribution = HN_ATTRIBUTION_OFF, .bpf_object = asked[i] };
                struct hn_monitor *m = NULL;
                struct hn_error err = { 0 };
                int r = hn_monitor_new(&o, &m, &err);
                printf("# asked %s: %d %s\n", hn_bpf_object_name(asked[i]), r, err.message);
                if (asked[i] == HN_BPF_OBJECT_FULL && runs == HN_BPF_OBJECT_COMPAT) {
                        assert_int_equal(r, -EOPNOTSUPP);
                        assert_null(m);
                        assert_non_null(strstr(err.message, "the full BPF object needs what this kernel lacks: "));
                        assert_non_null(strstr(err.message, "bpf_loop helper (Linux 5.17)"));
                        continue;
                }
                assert_int_equal(r, 0);
                enum hn_bpf_object loaded = asked[i] == HN_BPF_OBJECT_AUTO ? runs : asked[i];
                assert_int_equal(hn_monitor_bpf_object(m), loaded);
                assert_int_equal(task_storage_maps_held(), loaded == HN_BPF_OBJECT_FULL ? 2 : 0);
                hn_monitor_free(m);
        }
        struct hn_monitor_options bad = { .attribution = HN_ATTRIBUTION_OFF, .bpf_object = HN_BPF_OBJECT_MAX };
        struct hn_monitor *m = NULL;
        struct hn_error err = { 0 };
        assert_int_equal(hn_monitor_new(&bad, &m, &err), -EINVAL);
        assert_null(m);
        assert_string_equal(err.message, "invalid BPF object 3");
}

/* The monitor asks before it loads: on a kernel without what it needs it
 * refuses with the probe's own words, and loads where all is there. */
static void monitor_refuses_a_kernel_without_what_it_needs(void **state) {
        (void) state;
        if (geteuid() != 0)
                SKIP_BECAUSE("loading BPF programs needs root");
        struct hn_kernel_features f;
        hn_probe_kernel_features(&f);
        struct hn_error want = { 0 }, err = { 0 };
        int expected = hn_kernel_features_check(&f, &want);
        struct hn_monitor_options o = { .attribution = HN_ATTRIBUTION_OFF };
        struct hn_monitor *m = NULL;
        int r = hn_monitor_new(&o, &m, &err);
        printf("# hn_monitor_new: %d %s\n", r, err.message);
        if (expected < 0) {
                assert_int_equal(r, -EOPNOTSUPP);
                assert_null(m);
                assert_string_equal(err.message, want.message);
                return;
        }
        assert_int_equal(r, 0);
        assert_non_null(m);
        hn_monitor_free(m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(bpf_lsm_probe_tells_the_truth),
                cmocka_unit_test(trampoline_probe_tells_the_truth),
                cmocka_unit_test(probe_leaves_nothing_attached),
                cmocka_unit_test(kernel_features_match_the_kernel_version),
                cmocka_unit_test(kernel_features_check_names_each_missing_one),
                cmocka_unit_test(monitor_refuses_a_kernel_without_what_it_needs),
                cmocka_unit_test(monitor_loads_the_object_the_kernel_runs),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
