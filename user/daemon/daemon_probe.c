/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the kernel offers, for `hpcnoded --probe` and the start record:
 * each feature, its fallback or refusal, and what each attribution level
 * costs unrelated syscalls here. */
#include <stdio.h>

#include <hpcnode/cgroup.h>
#include <hpcnode/monitor.h>
#include <hpcnode/probe.h>

#include "daemon_probe.h"
#include "probe_cost.h"

/* Each feature the kernel lacks and what runs instead, "; "-separated;
 * "none" when nothing is missing. */
void hnd_features_degraded(const struct hn_kernel_features *f, char *buf, size_t size) {
        size_t used = 0;
        buf[0] = '\0';
        for (unsigned i = 0; i < HN_FEATURE_MAX; i++) {
                if (f->present[i])
                        continue;
                int n = snprintf(buf + used, size - used, "%s%s (Linux %s): %s", used ? "; " : "",
                                 hn_kernel_feature_name(i), hn_kernel_feature_since(i),
                                 hn_kernel_feature_fallback(i) ? hn_kernel_feature_fallback(i) : "required");
                if (n < 0 || (size_t) n >= size - used)
                        break;
                used += n;
        }
        if (!used)
                snprintf(buf, size, "none");
}

static void print_features(const struct hn_kernel_features *f) {
        for (unsigned i = 0; i < HN_FEATURE_MAX; i++) {
                const char *name = hn_kernel_feature_name(i);
                if (f->present[i])
                        printf("%-36s yes\n", name);
                else if (hn_kernel_feature_fallback(i))
                        printf("%-36s no (Linux %s); instead: %s\n", name, hn_kernel_feature_since(i),
                               hn_kernel_feature_fallback(i));
                else
                        printf("%-36s no (Linux %s); required: hpcnoded refuses to start\n", name,
                               hn_kernel_feature_since(i));
        }
}

int hnd_probe_main(void) {
        struct hn_bpf_lsm_probe lsm;
        struct hn_monitor *mon = NULL;
        struct hn_error err = { 0 };
        char mount[4096] = "(none)";
        /* Each line as soon as it is known, even into a pipe: what follows
         * the feature list loads the programs and measures their cost,
         * seconds on a slow node, and a reader that wants only the list
         * (the Rust tests' kernel check) stops there. */
        setvbuf(stdout, NULL, _IOLBF, 0);
        struct hn_kernel_features features;
        hn_probe_kernel_features(&features);
        print_features(&features);
        printf("%-36s %s\n", "BPF object",
               hn_kernel_bpf_object(&features) == HN_BPF_OBJECT_FULL
                       ? "full (Linux 5.17+)"
                       : "compat (the same programs without what the kernel lacks above)");
        (void) hn_cgroup2_find_mount(mount, sizeof(mount), NULL);
        hn_probe_bpf_lsm(NULL, &lsm);
        struct hn_monitor_options off = { .attribution = HN_ATTRIBUTION_OFF };
        int r = hn_monitor_new(&off, &mon, &err);
        hn_monitor_free(mon);
        printf("%-36s %s\n", "cgroup2 mount", mount);
        printf("%-36s %s%s%s\n", "tp_btf cgroup watcher + ring buffer", r == 0 ? "yes" : "no", r == 0 ? "" : ": ",
               r == 0 ? "" : err.message);
        printf("%-36s %s%s%s\n", "BPF LSM (deny in the kernel)", lsm.available ? "yes" : "no",
               lsm.available ? "" : ": ", lsm.reason);
        printf("%-36s %s\n", "enforce mode",
               r < 0                ? "no: the BPF side does not load (above)"
               : lsm.available      ? "yes (cgroup writes)"
                                    : "no: needs BPF LSM");
        struct hn_trampoline_probe tramp;
        hn_probe_trampolines(&tramp);
        printf("%-36s %s%s%s\n", "fentry/fexit trampolines (unused)", tramp.available ? "yes" : "no",
               tramp.available ? "" : ": ", tramp.reason);
        printf("%-36s %s\n", "structural acts (mkdir..kill)", "attributed by tp_btf (no cost to unrelated syscalls)");
        printf("%-36s %s\n", "cgroup ownership", "from each cgroup's ancestry, in the kernel (nothing kept per cgroup)");
        printf("%-36s %s\n", "writes through any fd",
               lsm.available ? "judged at the write (lsm/file_permission)" : "witnessed by fanotify, writer by pid");
        printf("%-36s %s\n", "attribution level auto", lsm.available ? "lsm" : "tracepoint");
        if (r < 0)
                return 1;
        /* What each level costs unrelated syscalls, measured here and now. */
        for (enum hn_attribution level = HN_ATTRIBUTION_LSM; level <= HN_ATTRIBUTION_OFF; level++) {
                char name[64];
                struct hnd_cost c;
                snprintf(name, sizeof(name), "attribution level %s", hn_attribution_name(level));
                if (level == HN_ATTRIBUTION_LSM && !lsm.available) {
                        printf("%-36s no: needs BPF LSM\n", name);
                        continue;
                }
                if (hnd_measure_cost(level, lsm.available, &c, &err) < 0) {
                        printf("%-36s no: %s\n", name, err.message);
                        continue;
                }
                printf("%-36s yes; getppid %.0f -> %.0f ns (x%.2f), open+close %.0f -> %.0f ns (x%.2f), "
                       "pwrite 4 KiB %.0f -> %.0f ns (x%.2f)\n",
                       name, c.getppid_none, c.getppid_level, c.getppid_level / c.getppid_none, c.open_none,
                       c.open_level, c.open_level / c.open_none, c.write_none, c.write_level,
                       c.write_level / c.write_none);
        }
        return 0;
}
