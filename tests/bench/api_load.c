/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* api_load: a running hpcnoded under the load a node puts on it.
 *   floor     one call (status) over a persistent connection against a
 *             minimal echo server in this process answering the same bytes
 *             with a reply of the same size: the unix-socket round trip
 *             that no server can beat here (interleaved rounds, ratio);
 *   mix       16 clients, each on its own connection, sending a node's mix
 *             (status, scope.metrics, scope.list, metrics, tree,
 *             scope.create + destroy, mount.acquire + release) for a few
 *             seconds, with 0, 100 and 1,000 binds held: calls/s, p50/p99
 *             of every call and of the read-only ones, the daemon's CPU per
 *             call (/proc/PID/stat), its RSS;
 *   soak      HN_BENCH_SOAK calls (default 100,000) of the same mix: the
 *             daemon's RSS idle, after, and its change.
 * The daemon runs in this process's private mount namespace on a scratch
 * cgroup root; its bases are on a tmpfs, as /run (where they are by
 * default) is under systemd, and its audit log on the disk of /tmp;
 * everything is removed at the end. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_stats.h"
#include "daemon_fixture.h"
#include "mount_fixture.h"

#define CLIENTS 16
#define MIX_SECONDS 3.0
#define FLOOR_ROUNDS 7
#define FLOOR_CALLS 2000
#define LAT_MAX 400000
#define SOAK_SECONDS_MAX 300.0

static char dir[] = "/tmp/hn-load.XXXXXX";
static char sock_path[128], image[128], held_image[128];

/* ---- the floor: an echo server answering each line with reply_len bytes */
struct echo {
        int listen_fd;
        size_t reply_len;
};

static void *echo_serve(void *arg) {
        struct echo *e = arg;
        int fd = accept4(e->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        char buf[65536], reply[65536];
        memset(reply, 'x', sizeof(reply));
        memcpy(reply, "{\"ok\":true}", 11);
        reply[e->reply_len - 1] = '\n';
        size_t have = 0;
        while (fd >= 0) {
                ssize_t n = read(fd, buf + have, sizeof(buf) - have);
                if (n <= 0)
                        break;
                have += (size_t) n;
                char *nl;
                while ((nl = memchr(buf, '\n', have))) {
                        if (write(fd, reply, e->reply_len) != (ssize_t) e->reply_len)
                                goto out;
                        have -= (size_t) (nl + 1 - buf);
                        memmove(buf, nl + 1, have);
                }
        }
out:
        if (fd >= 0)
                close(fd);
        return NULL;
}

static int echo_listen(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)) {
                close(fd);
                return -1;
        }
        return fd;
}

/* us per status call on fd, over FLOOR_CALLS in a row; -1 on a failed call */
static double calls_us(int fd, char *reply, size_t size) {
        double t0 = now_us();
        for (int i = 0; i < FLOOR_CALLS; i++)
                if (!line_call(fd, "{\"call\":\"status\"}\n", reply, size))
                        return -1;
        return (now_us() - t0) / FLOOR_CALLS;
}

/* ---- the mix */
enum kind { K_STATUS, K_SCOPE_METRICS, K_SCOPE_LIST, K_METRICS, K_TREE, K_SCOPE, K_MOUNT, K_N };
static const char *const kind_names[K_N] = { "status", "scope.metrics", "scope.list", "metrics",
                                             "tree", "scope.create+destroy", "mount.acquire+release" };
/* out of 20 turns: reads 14, writes 6 (each a pair of calls) */
static const enum kind turn[20] = { K_STATUS, K_SCOPE_METRICS, K_STATUS, K_SCOPE_LIST, K_SCOPE,
                                    K_STATUS, K_SCOPE_METRICS, K_MOUNT, K_STATUS, K_METRICS,
                                    K_SCOPE_METRICS, K_SCOPE, K_STATUS, K_TREE, K_MOUNT,
                                    K_STATUS, K_SCOPE_METRICS, K_SCOPE, K_SCOPE_LIST, K_MOUNT };

struct client {
        int id;
        double until;
        unsigned long max_calls;
        unsigned long calls;
        size_t n_lat;
        float *lat_us;  /* per call */
        uint8_t *kinds; /* per call */
        bool failed;
        char why[512];
};

static bool timed(struct client *c, int fd, enum kind k, const char *line) {
        static __thread char reply[1 << 20];
        double t0 = now_us();
        bool ok = line_call(fd, line, reply, sizeof(reply));
        if (!ok) {
                c->failed = true;
                snprintf(c->why, sizeof(c->why), "%s: %.300s", line, reply);
                return false;
        }
        if (c->n_lat < LAT_MAX / CLIENTS) {
                c->lat_us[c->n_lat] = (float) (now_us() - t0);
                c->kinds[c->n_lat++] = (uint8_t) k;
        }
        c->calls++;
        return true;
}

/* Each kind's request lines for client id: one call, or two (a create
 * and its destroy, an acquire and its release; else the second is ""). */
static void requests_of(int id, char req[K_N][2][512]) {
        memset(req, 0, sizeof(char[K_N][2][512]));
        snprintf(req[K_STATUS][0], 512, "{\"call\":\"status\"}\n");
        snprintf(req[K_SCOPE_METRICS][0], 512, "{\"call\":\"scope.metrics\",\"args\":{\"path\":\"workload.slice\"}}\n");
        snprintf(req[K_SCOPE_LIST][0], 512, "{\"call\":\"scope.list\",\"args\":{\"slice\":\"workload.slice\"}}\n");
        snprintf(req[K_METRICS][0], 512, "{\"call\":\"metrics\"}\n");
        snprintf(req[K_TREE][0], 512, "{\"call\":\"tree\"}\n");
        snprintf(req[K_SCOPE][0], 512,
                 "{\"call\":\"scope.create\",\"args\":{\"parent\":\"workload.slice\",\"name\":\"load-%d\"}}\n", id);
        snprintf(req[K_SCOPE][1], 512, "{\"call\":\"scope.destroy\",\"args\":{\"path\":\"workload.slice/load-%d.scope\"}}\n",
                 id);
        snprintf(req[K_MOUNT][0], 512, "{\"call\":\"mount.acquire\",\"args\":{\"image\":\"%s\",\"allocation\":\"load-%d\"}}\n",
                 image, id);
        snprintf(req[K_MOUNT][1], 512, "{\"call\":\"mount.release\",\"args\":{\"image\":\"%s\",\"allocation\":\"load-%d\"}}\n",
                 image, id);
}

static void *client_run(void *arg) {
        struct client *c = arg;
        char req[K_N][2][512];
        requests_of(c->id, req); /* once: the loop below only sends */
        int fd = unix_connect(sock_path);
        if (fd < 0) {
                c->failed = true;
                snprintf(c->why, sizeof(c->why), "connect %s: %s", sock_path, strerror(errno));
                return NULL;
        }
        for (unsigned t = 0; now_us() < c->until && c->calls < c->max_calls; t++) {
                enum kind k = turn[(t + (unsigned) c->id) % 20];
                if (!timed(c, fd, k, req[k][0]) || (req[k][1][0] && !timed(c, fd, k, req[k][1])))
                        break;
        }
        close(fd);
        return NULL;
}

/* ---- the daemon as the kernel sees it */
static double cpu_s(pid_t pid) {
        char p[64], buf[2048];
        snprintf(p, sizeof(p), "/proc/%d/stat", (int) pid);
        if (read_text(p, buf, sizeof(buf)) < 0)
                return -1;
        const char *s = strrchr(buf, ')');
        unsigned long utime = 0, stime = 0;
        /* after the comm: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
        if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
                return -1;
        return (double) (utime + stime) / (double) sysconf(_SC_CLK_TCK);
}

static double rss_mib(pid_t pid) {
        long kb = process_rss_kb(pid);
        return kb < 0 ? -1 : (double) kb / 1024.0;
}

struct mix_result {
        double calls_per_s, p50, p99, read_p99, cpu_us_per_call, rss_mib;
        unsigned long calls;
        double p99_kind[K_N];
};

static float *all_lat, *read_lat, *kind_lat;

static int mix(pid_t pid, double seconds, unsigned long max_calls, struct mix_result *ret) {
        pthread_t t[CLIENTS];
        static struct client c[CLIENTS];
        double start = now_us(), cpu0 = cpu_s(pid);
        for (int i = 0; i < CLIENTS; i++) {
                float *lat = c[i].lat_us ? c[i].lat_us : malloc(sizeof(float) * (LAT_MAX / CLIENTS));
                uint8_t *kinds = c[i].kinds ? c[i].kinds : malloc(LAT_MAX / CLIENTS);
                c[i] = (struct client){ .id = i, .until = start + seconds * 1e6,
                                        .max_calls = max_calls / CLIENTS, .lat_us = lat, .kinds = kinds };
                pthread_create(&t[i], NULL, client_run, &c[i]);
        }
        unsigned long calls = 0;
        size_t n_all = 0, n_read = 0;
        int rc = 0;
        for (int i = 0; i < CLIENTS; i++) {
                pthread_join(t[i], NULL);
                if (c[i].failed && !rc) {
                        fprintf(stderr, "api_load: client %d: %s\n", i, c[i].why);
                        rc = -1;
                }
                calls += c[i].calls;
        }
        double took = (now_us() - start) / 1e6, cpu = cpu_s(pid) - cpu0;
        for (int i = 0; i < CLIENTS; i++)
                for (size_t j = 0; j < c[i].n_lat; j++) {
                        all_lat[n_all++] = c[i].lat_us[j];
                        if (c[i].kinds[j] < K_SCOPE)
                                read_lat[n_read++] = c[i].lat_us[j];
                }
        qsort(all_lat, n_all, sizeof(float), cmp_float);
        qsort(read_lat, n_read, sizeof(float), cmp_float);
        *ret = (struct mix_result){ .calls = calls, .calls_per_s = (double) calls / took,
                                    .p50 = n_all ? all_lat[n_all / 2] / 1e3 : 0,
                                    .p99 = n_all ? all_lat[n_all * 99 / 100] / 1e3 : 0,
                                    .read_p99 = n_read ? read_lat[n_read * 99 / 100] / 1e3 : 0,
                                    .cpu_us_per_call = calls ? cpu * 1e6 / (double) calls : 0,
                                    .rss_mib = rss_mib(pid) };
        for (int k = 0; k < K_N; k++) {
                size_t n = 0;
                for (int i = 0; i < CLIENTS; i++)
                        for (size_t j = 0; j < c[i].n_lat; j++)
                                if (c[i].kinds[j] == k)
                                        kind_lat[n++] = c[i].lat_us[j];
                qsort(kind_lat, n, sizeof(float), cmp_float);
                ret->p99_kind[k] = n ? kind_lat[n * 99 / 100] / 1e3 : 0;
        }
        return rc;
}

/* Held binds: allocations held-0 .. held-(n-1) of the held image. */
static int hold(int fd, int from, int to) {
        char line[1024], reply[8192];
        for (int i = from; i < to; i++) {
                snprintf(line, sizeof(line),
                         "{\"call\":\"mount.acquire\",\"args\":{\"image\":\"%s\",\"allocation\":\"held-%d\"}}\n",
                         held_image, i);
                if (!line_call(fd, line, reply, sizeof(reply))) {
                        fprintf(stderr, "api_load: holding bind %d: %.300s\n", i, reply);
                        return -1;
                }
        }
        return 0;
}

int main(void) {
        const char *why = mount_ns_enter();
        if (why || geteuid() != 0) {
                fprintf(stderr, "api_load: %s\n", why ? why : "needs root");
                return 1;
        }
        struct scratch cg;
        char conf[128], log[128];
        char run[160];
        if (scratch_new(&cg) < 0 || !mkdtemp(dir))
                return 1;
        snprintf(run, sizeof(run), "%s/run", dir);
        if (mkdir(run, 0755) < 0 || mount("tmpfs", run, "tmpfs", 0, "mode=0755") < 0) {
                fprintf(stderr, "api_load: a tmpfs on %s: %s\n", run, strerror(errno));
                (void) rmdir(run);
                (void) rmdir(dir);
                scratch_remove(&cg);
                return 1;
        }
        snprintf(conf, sizeof(conf), "%s/hpcnoded.conf", dir);
        snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
        snprintf(sock_path, sizeof(sock_path), "%s/hpcnoded.sock", dir);
        snprintf(image, sizeof(image), "%s/app.sqfs", dir);
        snprintf(held_image, sizeof(held_image), "%s/held.sqfs", dir);
        const char *soak_env = getenv("HN_BENCH_SOAK");
        unsigned long soak = soak_env && atol(soak_env) > 0 ? (unsigned long) atol(soak_env) : 100000;
        all_lat = malloc(sizeof(float) * LAT_MAX);
        read_lat = malloc(sizeof(float) * LAT_MAX);
        kind_lat = malloc(sizeof(float) * LAT_MAX);
        int rc = 1, fd = -1;
        pid_t pid = -1;
        if (make_image(image, "image-0\n") < 0 || make_image(held_image, "held\n") < 0) {
                fprintf(stderr, "api_load: mksquashfs failed in %s\n", dir);
                goto out;
        }
        FILE *f = fopen(conf, "w");
        fprintf(f, "[hpcnoded]\nCgroupRoot=%s\nAuditLog=%s\nJournal=no\nEmergencyState=%s/emergency\nUenvBase=%s/uenv\n"
                   "WorkdirBase=%s/workdir\nControlSocket=%s\nMetricsTextfile=\nApiMaxClients=64\n",
                cg.root, log, dir, run, run, sock_path);
        fclose(f);
        pid = daemon_spawn(conf, NULL, true);
        char reply[65536];
        for (int i = 0; i < 12000 && fd < 0; i++) {
                fd = unix_connect(sock_path);
                if (fd < 0)
                        usleep(10000);
        }
        if (fd < 0 || !line_call(fd, "{\"call\":\"hierarchy.create\"}\n", reply, sizeof(reply)) ||
            !line_call(fd, "{\"call\":\"status\"}\n", reply, sizeof(reply))) {
                fprintf(stderr, "api_load: hpcnoded did not answer on %s (its log: %s)\n", sock_path, log);
                goto out;
        }
        usleep(500000);
        double rss_idle = rss_mib(pid);

        /* The floor, interleaved with the same call to hpcnoded: an echo
         * server in a process of its own (every API client is another
         * process than the daemon: each call switches address spaces, which
         * this VM's kernel makes dear), and, as earlier runs measured it,
         * one on a thread of this process (no address-space switch). */
        struct echo e = { .reply_len = strlen(reply) }, et = { .reply_len = strlen(reply) };
        char echo_path[160], echo_thread_path[160];
        snprintf(echo_path, sizeof(echo_path), "%s/echo.sock", dir);
        snprintf(echo_thread_path, sizeof(echo_thread_path), "%s/echo-thread.sock", dir);
        e.listen_fd = echo_listen(echo_path);
        et.listen_fd = echo_listen(echo_thread_path);
        pthread_t echo_thread;
        pid_t echo_pid = e.listen_fd < 0 || et.listen_fd < 0 ? -1 : fork();
        if (echo_pid == 0) {
                echo_serve(&e);
                _exit(0);
        }
        if (echo_pid < 0 || pthread_create(&echo_thread, NULL, echo_serve, &et) != 0) {
                fprintf(stderr, "api_load: echo servers on %s: %s\n", echo_path, strerror(errno));
                goto out;
        }
        int efd = unix_connect(echo_path), etfd = unix_connect(echo_thread_path);
        double floor_us[FLOOR_ROUNDS], thread_us[FLOOR_ROUNDS], api_us[FLOOR_ROUNDS];
        double floor_ratio[FLOOR_ROUNDS], thread_ratio[FLOOR_ROUNDS];
        for (int r = 0; r < FLOOR_ROUNDS; r++) {
                if ((floor_us[r] = calls_us(efd, reply, sizeof(reply))) < 0 ||
                    (thread_us[r] = calls_us(etfd, reply, sizeof(reply))) < 0 ||
                    (api_us[r] = calls_us(fd, reply, sizeof(reply))) < 0)
                        goto out;
                floor_ratio[r] = api_us[r] / floor_us[r];
                thread_ratio[r] = api_us[r] / thread_us[r];
        }
        close(efd);
        close(etfd);
        pthread_join(echo_thread, NULL);
        waitpid(echo_pid, NULL, 0);
        close(e.listen_fd);
        close(et.listen_fd);

        const int held[] = { 0, 100, 1000 };
        struct mix_result res[3];
        for (int h = 0; h < 3; h++) {
                double t0 = now_us();
                if (hold(fd, h ? held[h - 1] : 0, held[h]) < 0)
                        goto out;
                fprintf(stderr, "api_load: %d binds held (%.1f s to acquire them); the mix runs\n", held[h],
                        (now_us() - t0) / 1e6);
                if (mix(pid, MIX_SECONDS, ~0ul, &res[h]) < 0)
                        goto out;
        }
        double rss_before_soak = rss_mib(pid);
        struct mix_result soaked;
        double t_soak = now_us();
        if (mix(pid, SOAK_SECONDS_MAX, soak, &soaked) < 0)
                goto out;
        t_soak = (now_us() - t_soak) / 1e6;

        printf("api_load: a running hpcnoded (%s), %d clients, each on its own connection\n",
               can_enforce() ? "enforce" : "audit", CLIENTS);
        printf("  one call (status, %zu-byte reply) over a persistent connection, %d interleaved rounds of %d, medians\n",
               e.reply_len, FLOOR_ROUNDS, FLOOR_CALLS);
        printf("    %-46s %9.1f us\n", "floor: an echo server process, same bytes", median(floor_us, FLOOR_ROUNDS));
        printf("    %-46s %9.1f us\n", "an echo server thread in the caller's process", median(thread_us, FLOOR_ROUNDS));
        printf("    %-46s %9.1f us   %.2fx the floor (goal <= 1.5x); %.2fx the thread\n", "hpcnoded",
               median(api_us, FLOOR_ROUNDS), median(floor_ratio, FLOOR_ROUNDS), median(thread_ratio, FLOOR_ROUNDS));
        printf("  the mix for %.0f s: 14 of 20 turns read (status, scope.metrics, scope.list, metrics, tree), 6 write\n"
               "  (scope.create+destroy, mount.acquire+release)\n",
               MIX_SECONDS);
        printf("    %-12s %9s %8s %8s %12s %14s %9s\n", "binds held", "calls/s", "p50 ms", "p99 ms", "read p99 ms",
               "daemon us/call", "RSS MiB");
        for (int h = 0; h < 3; h++)
                printf("    %-12d %9.0f %8.2f %8.2f %12.2f %14.1f %9.1f\n", held[h], res[h].calls_per_s, res[h].p50,
                       res[h].p99, res[h].read_p99, res[h].cpu_us_per_call, res[h].rss_mib);
        printf("    goals: >= 5,000 calls/s, read p99 <= 5 ms, <= 100 us daemon CPU per call, flat over binds held\n");
        printf("    p99 by call at 1,000 binds held (ms):");
        for (int k = 0; k < K_N; k++)
                printf(" %s %.2f%s", kind_names[k], res[2].p99_kind[k], k + 1 < K_N ? "," : "\n");
        printf("  soak: %lu calls of the mix in %.0f s with 1,000 binds held: RSS %.1f MiB idle, %.1f before, %.1f after "
               "(%+.1f MiB; goals: <= 10 MiB idle, +-1 MiB)\n",
               soaked.calls, t_soak, rss_idle, rss_before_soak, soaked.rss_mib, soaked.rss_mib - rss_before_soak);
        rc = 0;
out:
        if (fd >= 0)
                close(fd);
        if (pid > 0) {
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
        }
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "findmnt -rn -o TARGET | grep '^%s/' | sort -r | xargs -r umount -l; rm -rf '%s'", dir,
                 dir);
        if (system(cmd) != 0)
                fprintf(stderr, "api_load: cleanup of %s failed\n", dir);
        scratch_remove(&cg);
        return rc;
}
