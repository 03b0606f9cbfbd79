/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hook_overhead: what the cgroup watcher costs, per attribution level,
 * against the same syscall loops with nothing attached and with empty
 * programs on the same hooks (the floor: the kernel's price for attaching
 * anything there). Interleaved in one run so drift hits every variant.
 *   getppid              an unrelated syscall
 *   open RDONLY          a read of a control file inside a slice
 *   open WRONLY          a control file opened for writing inside a slice
 *   mkdir + rmdir        a structural act inside a slice
 *   stat+open+read+close unrelated metadata work: 64 files outside cgroupfs, in turn
 *                        (every path step meets inode_permission, every open
 *                        file_open, every read file_permission)
 *   pread 4 KiB          unrelated reads of a regular file (file_permission)
 *   pwrite 4 KiB         unrelated writes of a regular file (file_permission, MAY_WRITE), on
 *                        the filesystem of a held image file (the watcher's mount guard is given
 *                        one there: the worst case, a map lookup per write)
 *   ioctl FIONREAD       an unrelated ioctl (file_ioctl; sys_enter_ioctl at level tracepoint)
 * Levels: off (tp_btf only), tracepoint (+ syscall exits), and lsm where
 * the kernel runs BPF LSM (the VM). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <hpcnode/monitor.h>
#include <hpcnode/probe.h>

#include "bench_stats.h"
#include "empty_floor.skel.h"
#include "fixture.h"
#include "tracepoint_attach.h"

#define ROUNDS_MAX 21
#define LOOPS 8
#define FILES 64
#define RING_BYTES (16u << 20) /* 15,000 records of the longest recorded loop, and room */

static double now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static void drop(const struct hn_event *e, void *u) {
        (void) e, (void) u;
}

/* Unrelated work: FILES small files in a directory outside cgroupfs, and
 * one open regular file. */
struct plain {
        char dir[64];
        int fd;
};

static int plain_make(struct plain *pl) {
        snprintf(pl->dir, sizeof(pl->dir), "/tmp/hn-bench.XXXXXX");
        if (!mkdtemp(pl->dir))
                return -1;
        char p[128], block[4096];
        memset(block, 'x', sizeof(block));
        for (int i = 0; i < FILES; i++) {
                snprintf(p, sizeof(p), "%s/f%d", pl->dir, i);
                int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                if (fd < 0 || write(fd, block, 64) != 64)
                        return -1;
                close(fd);
        }
        snprintf(p, sizeof(p), "%s/big", pl->dir);
        pl->fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        return pl->fd >= 0 && pwrite(pl->fd, block, sizeof(block), 0) == (ssize_t) sizeof(block) ? 0 : -1;
}

static void plain_remove(struct plain *pl) {
        char p[128];
        close(pl->fd);
        for (int i = 0; i < FILES; i++) {
                snprintf(p, sizeof(p), "%s/f%d", pl->dir, i);
                unlink(p);
        }
        snprintf(p, sizeof(p), "%s/big", pl->dir);
        unlink(p);
        rmdir(pl->dir);
}

/* The worst case for unrelated writes: a held image file on their
 * filesystem (another file), so each write's first test passes and the
 * image map is looked up. */
static int guard_an_image_beside(struct hn_monitor *mon, const struct plain *pl, struct hn_error *err) {
        char p[128];
        struct stat st;
        snprintf(p, sizeof(p), "%s/f0", pl->dir);
        if (stat(p, &st) < 0)
                return -errno;
        struct hn_guard_file image = { .dev = hn_kernel_dev(st.st_dev), .ino = st.st_ino };
        struct hn_mount_guard g = { .images = &image, .n_images = 1 };
        return hn_monitor_set_mount_guard(mon, &g, err);
}

/* ns per iteration of one loop. */
static double run_loop(int which, const char *dir, const struct plain *pl, int n) {
        char p[PATH_MAX + 64], buf[4096];
        struct stat st;
        memset(buf, 'y', sizeof(buf));
        double t = now_ns();
        for (int i = 0; i < n; i++) {
                if (which == 0)
                        syscall(SYS_getppid);
                else if (which == 1 || which == 2) {
                        snprintf(p, sizeof(p), "%s/%s", dir, which == 1 ? "cgroup.procs" : "cgroup.max.depth");
                        close(open(p, (which == 1 ? O_RDONLY : O_WRONLY) | O_CLOEXEC));
                } else if (which == 3) {
                        snprintf(p, sizeof(p), "%s/b%d", dir, i);
                        mkdir(p, 0755);
                        rmdir(p);
                } else if (which == 4) {
                        snprintf(p, sizeof(p), "%s/f%d", pl->dir, i % FILES);
                        stat(p, &st);
                        int fd = open(p, O_RDONLY | O_CLOEXEC);
                        if (read(fd, buf, 64) < 0)
                                buf[0] = 0;
                        close(fd);
                } else if (which == 5) {
                        if (pread(pl->fd, buf, sizeof(buf), 0) < 0)
                                buf[0] = 0;
                } else if (which == 6) {
                        if (pwrite(pl->fd, buf, sizeof(buf), 0) < 0)
                                buf[0] = 0;
                } else {
                        int avail;
                        if (ioctl(pl->fd, FIONREAD, &avail) < 0)
                                buf[0] = 0;
                }
        }
        return (now_ns() - t) / n;
}

/* The run time of every BPF program of the system (kernel.bpf_stats:
 * counted only while enabled), by id. */
#define PROGS_MAX 4096 /* more than a node loads; past it the newest (this variant's) would be missed */
struct prog_times {
        size_t n;
        __u32 id[PROGS_MAX];
        double ns[PROGS_MAX];
};

static void prog_times_read(struct prog_times *t) {
        __u32 id = 0;
        t->n = 0;
        while (t->n < PROGS_MAX && bpf_prog_get_next_id(id, &id) == 0) {
                int fd = bpf_prog_get_fd_by_id(id);
                struct bpf_prog_info info = { 0 };
                __u32 len = sizeof(info);
                if (fd < 0)
                        continue;
                if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
                        t->id[t->n] = id;
                        t->ns[t->n++] = (double) info.run_time_ns;
                }
                close(fd);
        }
}

/* ns run between two readings by the programs in both (one freed or
 * loaded in between is not this loop's: the variant's stay loaded). */
static double prog_times_delta(const struct prog_times *a, const struct prog_times *b) {
        double total = 0;
        for (size_t i = 0, j = 0; i < a->n && j < b->n;) /* both ascend by id */
                if (a->id[i] < b->id[j])
                        i++;
                else if (a->id[i] > b->id[j])
                        j++;
                else
                        total += b->ns[j++] - a->ns[i++];
        return total;
}

#define FLOOR_EXITS 6

struct floor {
        struct empty_floor *skel;
        struct bpf_link *exits[FLOOR_EXITS];
};

static void floor_free(struct floor *f) {
        for (int i = 0; i < FLOOR_EXITS; i++)
                bpf_link__destroy(f->exits[i]);
        empty_floor__destroy(f->skel);
        *f = (struct floor){ 0 };
}

/* Empty programs on the hooks the watcher uses at that level. */
static int floor_attach(struct floor *f, enum hn_attribution level) {
        f->skel = empty_floor__open();
        if (!f->skel)
                return -1;
        struct bpf_program *exits[FLOOR_EXITS] = {
                f->skel->progs.floor_exit_openat, f->skel->progs.floor_exit_openat2, f->skel->progs.floor_exit_open,
                f->skel->progs.floor_exit_creat, f->skel->progs.floor_exit_open_by_handle_at,
                f->skel->progs.floor_enter_ioctl,
        };
        static const char *const names[FLOOR_EXITS] = { "sys_exit_openat", "sys_exit_openat2", "sys_exit_open",
                                                        "sys_exit_creat", "sys_exit_open_by_handle_at",
                                                        "sys_enter_ioctl" };
        bool tp = level == HN_ATTRIBUTION_TRACEPOINT, lsm = level == HN_ATTRIBUTION_LSM;
        for (int i = 0; i < FLOOR_EXITS; i++) {
                bpf_program__set_autoattach(exits[i], false);
                bpf_program__set_autoload(exits[i], tp);
        }
        bpf_program__set_autoload(f->skel->progs.floor_exec, tp);
        struct bpf_program *lsm_progs[] = {
                f->skel->progs.floor_lsm_mkdir,           f->skel->progs.floor_lsm_rmdir,
                f->skel->progs.floor_lsm_file_open,       f->skel->progs.floor_lsm_file_permission,
                f->skel->progs.floor_lsm_inode_permission, f->skel->progs.floor_lsm_setxattr,
                f->skel->progs.floor_lsm_removexattr,     f->skel->progs.floor_lsm_file_ioctl,
        };
        for (size_t i = 0; i < sizeof(lsm_progs) / sizeof(lsm_progs[0]); i++)
                bpf_program__set_autoload(lsm_progs[i], lsm);
        if (empty_floor__load(f->skel) < 0 || empty_floor__attach(f->skel) < 0)
                return -1;
        for (int i = 0; tp && i < FLOOR_EXITS; i++)
                if (hn_tracepoint_attach(exits[i], "syscalls", names[i], &f->exits[i]) < 0 && i == 0)
                        return -1;
        return 0;
}

static const enum hn_attribution levels[] = { HN_ATTRIBUTION_OFF, HN_ATTRIBUTION_TRACEPOINT, HN_ATTRIBUTION_LSM };

/* Variant v (0: nothing; per level l: 1 + 2l the floor, 2 + 2l the
 * watcher) attached, each loop run, detached: ns per call into res[][v][r];
 * with bpf_ns, the ns inside BPF per call into bpf_ns[][v] too. */
static int run_variant(struct env *e, struct plain *pl, const char *slice, int v, const int *iters,
                       double res[LOOPS][7][ROUNDS_MAX + 1], int r, double bpf_ns[LOOPS][7]) {
        struct floor floor = { 0 };
        struct hn_monitor *mon = NULL;
        struct hn_error err = { 0 };
        if (v > 0) {
                enum hn_attribution level = levels[(v - 1) / 2];
                /* a ring that holds every record of the longest loop
                 * (drained between loops): each act is recorded, none
                 * counted lost, which would cost less */
                struct hn_monitor_options o = { .cgroup_root = e->s.root,
                                                .lsm = level == HN_ATTRIBUTION_LSM,
                                                .attribution = level,
                                                .ringbuf_bytes = RING_BYTES };
                if ((v - 1) % 2 == 0 ? floor_attach(&floor, level) < 0
                                     : hn_monitor_new(&o, &mon, &err) < 0 || hn_monitor_start(mon, &err) < 0 ||
                                               guard_an_image_beside(mon, pl, &err) < 0) {
                        fprintf(stderr, "hook_overhead: level %s: %s\n", hn_attribution_name(level),
                                err.message[0] ? err.message : "floor did not attach");
                        floor_free(&floor);
                        hn_monitor_free(mon);
                        return -1;
                }
        }
        for (int l = 0; l < LOOPS; l++) {
                static struct prog_times before, after;
                if (bpf_ns)
                        prog_times_read(&before);
                res[l][v][r] = run_loop(l, slice, pl, iters[l]);
                if (bpf_ns) {
                        prog_times_read(&after);
                        bpf_ns[l][v] = prog_times_delta(&before, &after) / iters[l];
                }
                if (mon)
                        while (hn_monitor_poll(mon, 0, drop, NULL, NULL) > 0)
                                ;
        }
        floor_free(&floor);
        hn_monitor_free(mon);
        return 0;
}

int main(void) {
        struct env *e;
        if (geteuid() != 0 || env_setup((void **) &e) < 0) {
                fprintf(stderr, "hook_overhead: needs root and a cgroup2 mount\n");
                return 1;
        }
        libbpf_set_print(NULL);
        char slice[PATH_MAX];
        snprintf(slice, sizeof(slice), "%s", env_path(e, "workload.slice"));
        struct hn_bpf_lsm_probe lsm;
        hn_probe_bpf_lsm(NULL, &lsm);
        int n_levels = lsm.available ? 3 : 2;
        const char *names[LOOPS] = { "getppid", "open RDONLY cgroup.procs", "open WRONLY cgroup.max.depth",
                                     "mkdir + rmdir in a slice", "stat+open+read+close, 64 files", "pread 4 KiB",
                                     "pwrite 4 KiB", "ioctl FIONREAD" };
        const int iters[LOOPS] = { 300000, 15000, 15000, 1000, 20000, 100000, 50000, 300000 };
        /* HN_BENCH_ROUNDS: fewer rounds where each costs much more (TCG) */
        const char *env = getenv("HN_BENCH_ROUNDS");
        const int rounds = env && atoi(env) >= 3 && atoi(env) <= ROUNDS_MAX ? atoi(env) : ROUNDS_MAX;
        struct plain pl;
        if (plain_make(&pl) < 0) {
                fprintf(stderr, "hook_overhead: files in /tmp: %s\n", strerror(errno));
                return 1;
        }
        /* variant 0: nothing; per level: 1 + 2l floor, 2 + 2l watcher */
        static double res[LOOPS][7][ROUNDS_MAX + 1]; /* the last: the stats round's */
        int n_variants = 1 + 2 * n_levels;
        for (int r = 0; r < rounds; r++)
                for (int v = 0; v < n_variants; v++)
                        if (run_variant(e, &pl, slice, v, iters, res, r, NULL) < 0)
                                return 1;
        /* One more round, with the kernel timing each program run (which
         * costs the timed rounds nothing: it is off then): the ns spent
         * inside BPF per call, floor and watcher. */
        static double bpf_ns[LOOPS][7];
        int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
        for (int v = 1; stats_fd >= 0 && v < n_variants; v++)
                if (run_variant(e, &pl, slice, v, iters, res, ROUNDS_MAX, bpf_ns) < 0)
                        return 1;
        printf("hook_overhead: ns per call, median of %d interleaved rounds; ratios are the median of the\n"
               "per-round ratios (variants of one round run back to back, so the machine's drift cancels)%s\n",
               rounds, lsm.available ? "" : "\n(no BPF LSM here: level lsm runs in the VM)");
        printf("%-30s %-10s %9s %9s %9s %10s %11s\n", "loop", "level", "none", "floor", "watcher", "watch/none",
               "watch/floor");
        for (int l = 0; l < LOOPS; l++) {
                double m[7], to_none[3][ROUNDS_MAX], to_floor[3][ROUNDS_MAX];
                for (int k = 0; k < n_levels; k++)
                        for (int r = 0; r < rounds; r++) {
                                to_none[k][r] = res[l][2 + 2 * k][r] / res[l][0][r];
                                to_floor[k][r] = res[l][2 + 2 * k][r] / res[l][1 + 2 * k][r];
                        }
                for (int v = 0; v < n_variants; v++) {
                        qsort(res[l][v], rounds, sizeof(double), cmp_double);
                        m[v] = res[l][v][rounds / 2];
                }
                for (int k = 0; k < n_levels; k++) {
                        qsort(to_none[k], rounds, sizeof(double), cmp_double);
                        qsort(to_floor[k], rounds, sizeof(double), cmp_double);
                        printf("%-30s %-10s %9.1f %9.1f %9.1f %9.3fx %10.3fx\n", k ? "" : names[l],
                               hn_attribution_name(levels[k]), m[0], m[1 + 2 * k], m[2 + 2 * k],
                               to_none[k][rounds / 2], to_floor[k][rounds / 2]);
                }
        }
        if (stats_fd >= 0) {
                printf("ns per call inside BPF programs (kernel.bpf_stats, one more round; the floor's programs are empty)\n");
                printf("%-30s %-10s %9s %9s %11s\n", "loop", "level", "floor", "watcher", "watch-floor");
                for (int l = 0; l < LOOPS; l++)
                        for (int k = 0; k < n_levels; k++)
                                printf("%-30s %-10s %9.1f %9.1f %11.1f\n", k ? "" : names[l],
                                       hn_attribution_name(levels[k]), bpf_ns[l][1 + 2 * k], bpf_ns[l][2 + 2 * k],
                                       bpf_ns[l][2 + 2 * k] - bpf_ns[l][1 + 2 * k]);
                close(stats_fd);
        } else
                printf("(no BPF run-time statistics here: %s)\n", strerror(-stats_fd)); /* libbpf: -errno */
        plain_remove(&pl);
        env_teardown((void **) &e);
        return 0;
}
