/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mount_ops: what the mount manager costs against doing the same by hand,
 * in the same run, in a private mount namespace, on tmpfs like /run.
 *  1. first acquire (loop + squashfs mount + ro bind) vs the raw syscalls
 *     mount -o loop,ro makes (LOOP_CTL_GET_FREE + LOOP_CONFIGURE + mount),
 *     and vs mount(8) itself;
 *  2. a further acquire (bind only) vs the raw mkdirs + bind + ro remount;
 *  3. 128 concurrent first acquires of one image by 128 allocations, vs
 *     the per-job way (uenv, squashfs-mount): 128 jobs at once, each in a
 *     mount namespace of its own (unshare -m) mounting the image with
 *     mount -o loop,ro, a loop device each;
 *  4. reconstruct_state over 1,000 and 10,000 bind mounts, against the
 *     floor any reader of the table pays: one read of
 *     /proc/self/mountinfo at that size (the kernel printing every line). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "mount_fixture.h"

static int raw_loop_mount(const char *image, const char *target) {
        int img = open(image, O_RDONLY | O_CLOEXEC), ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
        char dev[32];
        snprintf(dev, sizeof(dev), "/dev/loop%d", nr);
        int fd = open(dev, O_RDONLY | O_CLOEXEC);
        struct loop_config cfg = { .fd = (unsigned) img, .info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR };
        int r = ioctl(fd, LOOP_CONFIGURE, &cfg);
        if (r == 0)
                r = mount(dev, target, "squashfs", MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
        close(fd);
        close(ctl);
        close(img);
        return r;
}

static void wait_unmounted(const char *target) {
        struct mnt_line l;
        for (int i = 0; i < 500 && mountinfo_find(target, &l); i++)
                usleep(2000);
}

struct racer {
        struct hn_mount_manager *m;
        const char *image;
        int id;
        pthread_barrier_t *go;
        int r;
};

static void *race(void *arg) {
        struct racer *r = arg;
        char alloc[32];
        struct hn_mount_handle h;
        snprintf(alloc, sizeof(alloc), "job-%d", r->id);
        pthread_barrier_wait(r->go);
        r->r = hn_mount_acquire(r->m, r->image, alloc, &h, NULL);
        return NULL;
}

/* One read of the mount table, the bytes dropped: the kernel's part of
 * anything that reads it. */
static double mountinfo_read_us(void) {
        static char buf[1 << 16];
        double t = now_us();
        int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
                ;
        if (fd >= 0)
                close(fd);
        return now_us() - t;
}

/* One job the per-job way: waits for go (EOF on go_fd), then a mount
 * namespace of its own and mount(8) with a loop device of its own, says
 * done (a byte on done_fd) and keeps the mount until end_fd closes: its
 * namespace, and with it the mount and the loop device, go when it exits. */
static _Noreturn void per_job(const char *image, const char *target, int go_fd, int done_fd, int end_fd) {
        char c;
        (void) !read(go_fd, &c, 1);
        int ok = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
        if (ok) {
                pid_t pid = fork();
                if (pid == 0) {
                        execlp("mount", "mount", "-t", "squashfs", "-o", "loop,ro,nosuid,nodev", image, target,
                               (char *) NULL);
                        _exit(127);
                }
                int status = 0;
                ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
        c = ok ? 'y' : 'n';
        (void) !write(done_fd, &c, 1);
        (void) !read(end_fd, &c, 1);
        _exit(0);
}

/* n jobs the per-job way at once: microseconds from go until every job
 * has its mount; failures counted into *ret_failed. */
static double per_job_concurrent(const char *image, const char *dir, int n, int *ret_failed) {
        int go[2], done[2], end[2];
        if (pipe2(go, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0 || pipe2(end, O_CLOEXEC) < 0)
                return -1;
        pid_t kids[n];
        for (int i = 0; i < n; i++) {
                char target[PATH_MAX];
                snprintf(target, sizeof(target), "%s/job-%d", dir, i);
                mkdir(target, 0755);
                kids[i] = fork();
                if (kids[i] == 0) {
                        close(go[1]);
                        close(done[0]);
                        close(end[1]);
                        per_job(image, target, go[0], done[1], end[0]);
                }
        }
        close(go[0]);
        close(done[1]);
        close(end[0]);
        double t = now_us();
        close(go[1]); /* go: every job reads EOF */
        int got = 0;
        char c;
        while (got < n && read(done[0], &c, 1) == 1) {
                got++;
                *ret_failed += c != 'y';
        }
        double took = now_us() - t;
        *ret_failed += n - got;
        close(end[1]); /* the jobs end, their namespaces with them */
        for (int i = 0; i < n; i++)
                if (kids[i] > 0)
                        waitpid(kids[i], NULL, 0);
        close(done[0]);
        return took;
}

static void print_drift(const struct hn_drift *d, void *userdata) {
        (void) userdata;
        fprintf(stderr, "mount_ops: drift %s %s: %s\n", hn_drift_class_name(d->cls), d->path, d->detail);
}

int main(void) {
        const char *why = mount_ns_enter();
        if (why) {
                fprintf(stderr, "mount_ops: %s\n", why);
                return 1;
        }
        void *state;
        if (mount_env_setup(&state) < 0)
                return 1;
        struct mount_env *e = state;
        struct hn_mount_manager *m;
        struct hn_mount_config cfg = e->cfg;
        cfg.hold_time_secs = 0;
        if (hn_mount_manager_new(&cfg, &m, NULL) < 0)
                return 1;
        enum { N = 40 };
        double lib[N], raw[N], tool[N];
        char target[300], cmd[800];
        snprintf(target, sizeof(target), "%s/raw", e->dir);
        mkdir(target, 0755);
        int failures = 0;

        /* 1. first acquire, interleaved with the raw sequence */
        for (int i = 0; i < N; i++) {
                struct hn_mount_handle h;
                double t = now_us();
                failures += hn_mount_acquire(m, e->image[0], "first", &h, NULL) < 0;
                lib[i] = now_us() - t;
                hn_mount_release(m, &h, NULL);
                wait_unmounted(h.mount_point);

                t = now_us();
                failures += raw_loop_mount(e->image[0], target) < 0;
                raw[i] = now_us() - t;
                umount2(target, 0);

                snprintf(cmd, sizeof(cmd), "mount -t squashfs -o loop,ro,nosuid,nodev '%s' '%s'", e->image[0], target);
                t = now_us();
                failures += system(cmd) != 0;
                tool[i] = now_us() - t;
                umount2(target, 0);
        }
        double lib1 = median(lib, N), raw1 = median(raw, N), tool1 = median(tool, N);

        /* 2. a further acquire: a bind only */
        struct hn_mount_handle keep;
        hn_mount_acquire(m, e->image[1], "keeper", &keep, NULL);
        for (int i = 0; i < N; i++) {
                struct hn_mount_handle h;
                char alloc[32];
                snprintf(alloc, sizeof(alloc), "more-%d", i);
                double t = now_us();
                failures += hn_mount_acquire(m, e->image[1], alloc, &h, NULL) < 0;
                lib[i] = now_us() - t;
                /* the same work by hand: the bind's directories, the bind,
                 * the read-only remount */
                char d1[400], d2[420], d3[600];
                snprintf(d1, sizeof(d1), "%s/raw-%d", e->dir, i);
                snprintf(d2, sizeof(d2), "%s/uenv", d1);
                snprintf(d3, sizeof(d3), "%s/%s", d2, strrchr(keep.mount_point, '/') + 1);
                t = now_us();
                failures += mkdir(d1, 0755) < 0 || mkdir(d2, 0755) < 0 || mkdir(d3, 0755) < 0;
                failures += mount(keep.mount_point, d3, NULL, MS_BIND, NULL) < 0;
                failures += mount(NULL, d3, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0;
                raw[i] = now_us() - t;
                umount2(d3, 0);
        }
        double lib2 = median(lib, N), raw2 = median(raw, N);

        /* 3. 128 allocations start at once on a cold image */
        enum { RACERS = 128 };
        static struct racer racers[RACERS];
        pthread_t th[RACERS];
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, RACERS + 1);
        for (int i = 0; i < RACERS; i++) {
                racers[i] = (struct racer){ .m = m, .image = e->image[2], .id = i, .go = &go };
                pthread_create(&th[i], NULL, race, &racers[i]);
        }
        double t = now_us();
        pthread_barrier_wait(&go);
        for (int i = 0; i < RACERS; i++) {
                pthread_join(th[i], NULL);
                failures += racers[i].r < 0;
        }
        double concurrent = now_us() - t;
        char jobs_dir[300];
        snprintf(jobs_dir, sizeof(jobs_dir), "%s/jobs", e->dir);
        mkdir(jobs_dir, 0755);
        int per_job_failed = 0;
        double per_job_us = per_job_concurrent(e->image[2], jobs_dir, RACERS, &per_job_failed);
        failures += per_job_failed;
        uint32_t rc = 0;
        hn_mount_refcount(m, e->image[2], &rc, NULL);

        /* 4. reconstruct over many binds; and the daemon's pass at that
         * size: a reconcile, then the guard's state from what is held */
        double rec[2], pass[2], guard[2], table[2];
        int sizes[2] = { 1000, 10000 };
        static const char *live[10000];
        static char ids[10000][16];
        int made = 0;
        for (int s = 0; s < 2; s++) {
                for (; made < sizes[s]; made++) {
                        struct hn_mount_handle h;
                        snprintf(ids[made], sizeof(ids[made]), "r%d", made);
                        live[made] = ids[made];
                        if (hn_mount_acquire(m, e->image[3], ids[made], &h, NULL) < 0) {
                                failures++;
                                break;
                        }
                }
                double pv[5], gv[5];
                /* settled first: the previous size's reconstruct removed the
                 * binds of allocations it was not told were live, which
                 * this manager still holds (corrected here, untimed) */
                failures += hn_mount_reconcile(m, NULL, NULL, NULL) < 0;
                for (int k = 0; k < 5; k++) {
                        t = now_us();
                        failures += hn_mount_reconcile(m, print_drift, NULL, NULL) != 0; /* no drift: 0 found */
                        pv[k] = now_us() - t;
                        struct hn_mount_guard g = { 0 };
                        t = now_us();
                        failures += hn_mount_guard_state(m, &g, NULL) < 0;
                        gv[k] = now_us() - t;
                        hn_mount_guard_free(&g);
                }
                pass[s] = median(pv, 5);
                guard[s] = median(gv, 5);
                /* every allocation live: a reconstruct changes nothing, so
                 * it can run again; interleaved with the table's floor */
                double rv[5], tv[5];
                for (int k = 0; k < 5; k++) {
                        tv[k] = mountinfo_read_us();
                        struct hn_mount_manager *fresh;
                        hn_mount_manager_new(&e->cfg, &fresh, NULL);
                        t = now_us();
                        failures += hn_mount_reconstruct_state(fresh, live, (size_t) made, NULL) < 0;
                        rv[k] = now_us() - t;
                        hn_mount_refcount(fresh, e->image[3], &rc, NULL);
                        failures += rc != (uint32_t) made;
                        hn_mount_manager_free(fresh);
                }
                rec[s] = median(rv, 5);
                table[s] = median(tv, 5);
        }

        printf("mount_ops: medians of %d runs, interleaved; private mount namespace\n", N);
        printf("%-52s %12s %12s %8s\n", "operation", "hpcnode_us", "baseline_us", "ratio");
        printf("%-52s %12.0f %12.0f %7.2fx\n", "first acquire vs raw loop+mount syscalls", lib1, raw1, lib1 / raw1);
        printf("%-52s %12.0f %12.0f %7.2fx\n", "first acquire vs mount -o loop,ro (mount(8))", lib1, tool1,
               lib1 / tool1);
        printf("%-52s %12.0f %12.0f %7.2fx\n", "further acquire vs raw mkdir x3 + bind + ro remount", lib2, raw2,
               lib2 / raw2);
        printf("%-52s %12.0f %12.0f %7.2fx\n", "128 concurrent first acquires vs the per-job way", concurrent,
               per_job_us, concurrent / per_job_us);
        printf("%-52s %12.0f %12.0f %7.2fx\n", "  (and vs squashfs-mount#12's reported 1.87 s)", concurrent, 1.87e6,
               concurrent / 1.87e6);
        printf("%-52s %12.0f %12.0f %7.2fx\n", "reconstruct_state, 1,000 binds vs one mountinfo read", rec[0],
               table[0], rec[0] / table[0]);
        printf("%-52s %12.0f %12.0f %7.2fx\n", "reconstruct_state, 10,000 binds vs one mountinfo read", rec[1],
               table[1], rec[1] / table[1]);
        printf("%-52s %12s %12s %7.2fx\n", "reconstruct_state, 10,000 binds vs 1,000", "-", "-", rec[1] / rec[0]);
        printf("%-52s %12s %12s %7.2fx\n", "one mountinfo read, 10,000 binds vs 1,000 (the kernel)", "-", "-",
               table[1] / table[0]);
        printf("%-52s %12.0f %12s %8s\n", "reconcile pass, 1,000 binds held", pass[0], "-", "-");
        printf("%-52s %12.0f %12s %7.2fx\n", "reconcile pass, 10,000 binds held (ratio: vs 1,000)", pass[1], "-",
               pass[1] / pass[0]);
        printf("%-52s %12.0f %12s %8s\n", "guard state build, 1,000 binds held", guard[0], "-", "-");
        printf("%-52s %12.0f %12s %7.2fx\n", "guard state build, 10,000 binds held (ratio: vs 1,000)", guard[1], "-",
               guard[1] / guard[0]);
        printf("(the per-job way: 128 jobs at once, each unshare -m + mount -o loop,ro of the image, a loop device\n"
               " each, in this run; squashfs-mount#12: 1.87 s reported for 128 such mounts, a different machine)\n");
        if (failures)
                printf("FAILED operations: %d\n", failures);
        hn_mount_manager_free(m);
        mount_env_teardown(&state);
        return failures ? 1 : 0;
}
