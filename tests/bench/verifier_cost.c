/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verifier_cost: what loading hpcnode's programs costs, which is what every
 * unpinned start of hpcnoded pays (and each test daemon in the VM suite).
 * The load (open + the verifier + map creation: hn_monitor_new) against the
 * floor (empty programs on the same hooks, loaded and attached), in
 * interleaved rounds at the highest attribution level the kernel offers;
 * then, per program, the instructions the kernel's verifier processed
 * (bpf_prog_info.verified_insns, 5.16+), largest first, and their sum. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include <hpcnode/monitor.h>
#include <hpcnode/probe.h>

#include "bench_stats.h"
#include "empty_floor.skel.h"
#include "fixture.h"

#define ROUNDS_MAX 15
#define PROGS_MAX 128

/* The floor: every empty program of the level, loaded and attached. */
static int floor_load(enum hn_attribution level) {
        struct empty_floor *skel = empty_floor__open();
        if (!skel)
                return -1;
        bool tp = level == HN_ATTRIBUTION_TRACEPOINT || level == HN_ATTRIBUTION_LSM;
        struct bpf_program *prog;
        bpf_object__for_each_program(prog, skel->obj) {
                const char *sec = bpf_program__section_name(prog);
                bool is_lsm = strncmp(sec, "lsm/", 4) == 0, is_tp = strncmp(sec, "tracepoint/", 11) == 0;
                bpf_program__set_autoload(prog, is_lsm ? level == HN_ATTRIBUTION_LSM : is_tp ? tp : true);
                if (is_tp)
                        bpf_program__set_autoattach(prog, false);
        }
        int r = empty_floor__load(skel) < 0 || empty_floor__attach(skel) < 0 ? -1 : 0;
        empty_floor__destroy(skel);
        return r;
}

static int cmp_insns(const void *a, const void *b) {
        const struct hn_prog_stat *x = a, *y = b;
        return x->verified_insns < y->verified_insns ? 1 : x->verified_insns > y->verified_insns ? -1 : 0;
}

int main(void) {
        struct env *e;
        if (geteuid() != 0 || env_setup((void **) &e) < 0) {
                fprintf(stderr, "verifier_cost: needs root and a cgroup2 mount\n");
                return 1;
        }
        if (!getenv("HN_BENCH_VERBOSE"))
                libbpf_set_print(NULL); /* HN_BENCH_VERBOSE=1: libbpf's messages, the verifier's log on a refusal */
        struct hn_bpf_lsm_probe lsm;
        hn_probe_bpf_lsm(NULL, &lsm);
        enum hn_attribution level = lsm.available ? HN_ATTRIBUTION_LSM : HN_ATTRIBUTION_TRACEPOINT;
        const char *env = getenv("HN_BENCH_ROUNDS");
        const int rounds = env && atoi(env) >= 1 && atoi(env) <= ROUNDS_MAX ? atoi(env) : 7;
        double floor_ms[ROUNDS_MAX], load_ms[ROUNDS_MAX], ratio[ROUNDS_MAX];
        static struct hn_prog_stat stats[PROGS_MAX];
        size_t n = 0;
        for (int r = 0; r < rounds; r++) {
                double t0 = now_us();
                if (floor_load(level) < 0) {
                        fprintf(stderr, "verifier_cost: the floor did not load at level %s\n",
                                hn_attribution_name(level));
                        return 1;
                }
                double t1 = now_us();
                struct hn_monitor *mon = NULL;
                struct hn_error err = { 0 };
                struct hn_monitor_options o = { .cgroup_root = e->s.root,
                                                .lsm = level == HN_ATTRIBUTION_LSM,
                                                .attribution = level };
                if (hn_monitor_new(&o, &mon, &err) < 0) {
                        fprintf(stderr, "verifier_cost: level %s: %s\n", hn_attribution_name(level), err.message);
                        return 1;
                }
                double t2 = now_us();
                if (r == 0 && hn_monitor_prog_stats(mon, stats, PROGS_MAX, &n, NULL) < 0) {
                        fprintf(stderr, "verifier_cost: program info: %s\n", strerror(errno));
                        return 1;
                }
                hn_monitor_free(mon);
                floor_ms[r] = (t1 - t0) / 1e3;
                load_ms[r] = (t2 - t1) / 1e3;
                ratio[r] = load_ms[r] / floor_ms[r];
        }
        if (n > PROGS_MAX)
                n = PROGS_MAX;
        qsort(stats, n, sizeof(stats[0]), cmp_insns);
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
                total += stats[i].verified_insns;
        printf("verifier_cost: level %s, %d interleaved rounds, medians\n", hn_attribution_name(level), rounds);
        printf("  %-44s %10.1f ms\n", "floor (empty programs, same hooks)", median(floor_ms, rounds));
        printf("  %-44s %10.1f ms   %.1fx the floor (per round)\n", "hpcnode's programs (hn_monitor_new)",
               median(load_ms, rounds), median(ratio, rounds));
        printf("  instructions the verifier processed, %zu programs: %llu%s\n", n, (unsigned long long) total,
               total ? "" : " (the kernel does not report them: before 5.16)");
        for (size_t i = 0; i < n && total; i++)
                printf("    %-40s %8u\n", stats[i].name, stats[i].verified_insns);
        env_teardown((void **) &e);
        return 0;
}
