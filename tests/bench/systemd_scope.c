/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd_scope: a job's cgroup made the systemd way against hpcnode's, on
 * a systemd host with hpcnoded running as its service (the systemd VM run
 * of make test). Each round, interleaved so that both see the same machine:
 *   systemd-run   `systemd-run --quiet --scope true`: a transient scope
 *                 unit over D-Bus, true run in it, the unit gone after;
 *   api           one client connection: scope.create, a process forked and
 *                 scope.attach'ed, it execs true, waited for, scope.destroy;
 *   hpcnodectl    the same three calls as three hpcnodectl runs, so a CLI
 *                 is compared with a CLI.
 * Prints the medians and p90s and the per-round ratios to systemd-run
 * (systemd#31676 reports 8.4 ms per systemd-run --scope). Anywhere
 * without systemd as PID 1 or a running hpcnoded it says SKIP. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_stats.h"
#include "fixture.h"

#define ROUNDS_DEFAULT 40
#define SOCKET_DEFAULT "/run/hpcnode/hpcnoded.sock"

static const char *sock_path;

static int connect_api(void) {
        return unix_connect(sock_path);
}

/* One request line and its reply; false on any failure or error reply. */
static bool call(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool call(int fd, const char *fmt, ...) {
        char req[1024], buf[8192];
        va_list ap;
        va_start(ap, fmt);
        int len = vsnprintf(req, sizeof(req), fmt, ap);
        va_end(ap);
        if (len <= 0 || (size_t) len >= sizeof(req) || write(fd, req, (size_t) len) != len)
                return false;
        size_t have = 0;
        while (!have || buf[have - 1] != '\n') {
                ssize_t n = read(fd, buf + have, sizeof(buf) - have);
                if (n <= 0)
                        return false;
                have += (size_t) n;
        }
        if (!memmem(buf, have, "\"ok\":true", 9)) {
                fprintf(stderr, "systemd_scope: %.*s -> %.*s", len, req, (int) have, buf);
                return false;
        }
        return true;
}

/* argv run to its end; its exit status, -1 if it did not exit. */
static int run(char *const argv[]) {
        pid_t pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0)
                        dup2(null, STDOUT_FILENO); /* hpcnodectl's answers */
                execvp(argv[0], argv);
                _exit(127);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid)
                return -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A child that waits for its go, then execs true: moved before it runs. */
static pid_t child_waiting(int *go) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                char c;
                close(p[1]);
                if (read(p[0], &c, 1) != 1)
                        _exit(1);
                execl("/bin/true", "true", (char *) NULL);
                _exit(127);
        }
        close(p[0]);
        *go = p[1];
        return pid;
}

static bool child_run(pid_t pid, int go) {
        int st;
        bool ok = write(go, "g", 1) == 1;
        close(go);
        return waitpid(pid, &st, 0) == pid && ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static bool systemd_run_round(void) {
        char *argv[] = { "systemd-run", "--quiet", "--scope", "true", NULL };
        return run(argv) == 0;
}

static bool api_round(int fd, int i) {
        int go;
        if (!call(fd, "{\"call\":\"scope.create\",\"args\":{\"parent\":\"workload.slice\",\"name\":\"bench-api-%d\"}}\n", i))
                return false;
        pid_t pid = child_waiting(&go);
        bool ok = pid > 0 &&
                  call(fd, "{\"call\":\"scope.attach\",\"args\":{\"path\":\"workload.slice/bench-api-%d.scope\",\"pid\":%d}}\n",
                       i, (int) pid);
        ok = pid > 0 && child_run(pid, go) && ok;
        return call(fd, "{\"call\":\"scope.destroy\",\"args\":{\"path\":\"workload.slice/bench-api-%d.scope\"}}\n", i) && ok;
}

static bool ctl_round(int i) {
        char name[64], path[96], pidtxt[16];
        snprintf(name, sizeof(name), "bench-ctl-%d", i);
        snprintf(path, sizeof(path), "workload.slice/%s.scope", name);
        char *create[] = { "hpcnodectl", "scope", "create", "workload.slice", name, NULL };
        if (run(create) != 0)
                return false;
        int go;
        pid_t pid = child_waiting(&go);
        snprintf(pidtxt, sizeof(pidtxt), "%d", (int) pid);
        char *attach[] = { "hpcnodectl", "scope", "attach", path, pidtxt, NULL };
        bool ok = pid > 0 && run(attach) == 0;
        ok = pid > 0 && child_run(pid, go) && ok;
        char *destroy[] = { "hpcnodectl", "scope", "destroy", path, NULL };
        return run(destroy) == 0 && ok;
}

static void row(const char *name, double *v, size_t n) {
        qsort(v, n, sizeof(*v), cmp_double);
        printf("  %-34s %10.2f %10.2f\n", name, v[n / 2] / 1000.0, v[n * 9 / 10] / 1000.0);
}

int main(void) {
        if (access("/run/systemd/system", F_OK) < 0) {
                printf("systemd_scope: SKIP: systemd is not PID 1 here (the systemd VM run of make test runs it)\n");
                return 0;
        }
        sock_path = getenv("HPCNODE_SOCKET") ? getenv("HPCNODE_SOCKET") : SOCKET_DEFAULT;
        int fd = connect_api();
        if (fd < 0) {
                printf("systemd_scope: SKIP: no hpcnoded answers at %s\n", sock_path);
                return 0;
        }
        const char *env = getenv("HN_BENCH_ROUNDS");
        size_t rounds = env && atoi(env) > 0 ? (size_t) atoi(env) : ROUNDS_DEFAULT;
        double *sd = calloc(rounds, sizeof(double)), *api = calloc(rounds, sizeof(double)),
               *ctl = calloc(rounds, sizeof(double)), *r_api = calloc(rounds, sizeof(double)),
               *r_ctl = calloc(rounds, sizeof(double));
        if (!sd || !api || !ctl || !r_api || !r_ctl)
                return 1;
        /* one of each first, untimed: caches, the D-Bus connection, page-ins */
        if (!systemd_run_round() || !api_round(fd, -1) || !ctl_round(-1)) {
                fprintf(stderr, "systemd_scope: a warm-up round failed\n");
                return 1;
        }
        for (size_t i = 0; i < rounds; i++) {
                double t0 = now_us();
                bool ok = systemd_run_round();
                double t1 = now_us();
                ok = api_round(fd, (int) i) && ok;
                double t2 = now_us();
                ok = ctl_round((int) i) && ok;
                double t3 = now_us();
                if (!ok) {
                        fprintf(stderr, "systemd_scope: round %zu failed\n", i);
                        return 1;
                }
                sd[i] = t1 - t0, api[i] = t2 - t1, ctl[i] = t3 - t2;
                r_api[i] = api[i] / sd[i], r_ctl[i] = ctl[i] / sd[i];
        }
        close(fd);
        printf("systemd_scope: a job's cgroup: made, a process in it running true, gone (%zu interleaved rounds)\n",
               rounds);
        printf("  %-34s %10s %10s\n", "", "median ms", "p90 ms");
        row("systemd-run --scope true", sd, rounds);
        row("hpcnode API (one connection)", api, rounds);
        row("hpcnodectl x3", ctl, rounds);
        printf("  ratio to systemd-run, per round (median): API %.2fx, hpcnodectl %.2fx\n", median(r_api, rounds),
               median(r_ctl, rounds));
        free(sd), free(api), free(ctl), free(r_api), free(r_ctl);
        return 0;
}
