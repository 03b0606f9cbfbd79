/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* api_roundtrip: what the API socket costs. The same call (scope.metrics
 * of workload.slice) in-process through the library and over a running
 * hpcnoded's socket, interleaved in rounds, as the per-round ratio; the
 * socket with a new connection per request (what hpcnodectl does); and
 * requests per second with 1 and with 16 concurrent clients, each on its
 * own connection. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hpcnode/cgroup.h>

#include "bench_stats.h"
#include "daemon_fixture.h"
#include "fixture.h"

#define ROUNDS 9
#define PER_ROUND 2000
#define CLIENTS 16
#define LOAD_SECONDS 2.0

static const char request_line[] = "{\"call\":\"scope.metrics\",\"args\":{\"path\":\"workload.slice\"}}\n";
static char sock_path[128];

static int connect_api(void) {
        return unix_connect(sock_path);
}

/* One request and its reply on fd; false on any failure or error reply. */
static bool round_trip(int fd) {
        char buf[4096];
        return line_call(fd, request_line, buf, sizeof(buf));
}

struct load {
        double until;
        unsigned long done;
        bool failed;
};

static void *client(void *arg) {
        struct load *l = arg;
        int fd = connect_api();
        if (fd < 0) {
                l->failed = true;
                return NULL;
        }
        while (now_us() < l->until)
                if (round_trip(fd))
                        l->done++;
                else {
                        l->failed = true;
                        break;
                }
        close(fd);
        return NULL;
}

/* Requests per second with n clients at once. */
static double load(unsigned n, bool *failed) {
        pthread_t t[CLIENTS];
        struct load l[CLIENTS];
        double start = now_us();
        for (unsigned i = 0; i < n; i++) {
                l[i] = (struct load){ .until = start + LOAD_SECONDS * 1e6 };
                pthread_create(&t[i], NULL, client, &l[i]);
        }
        unsigned long total = 0;
        for (unsigned i = 0; i < n; i++) {
                pthread_join(t[i], NULL);
                total += l[i].done;
                *failed |= l[i].failed;
        }
        return (double) total / ((now_us() - start) / 1e6);
}

int main(void) {
        if (geteuid() != 0) {
                fprintf(stderr, "api_roundtrip: needs root\n");
                return 1;
        }
        struct scratch cg;
        char dir[] = "/tmp/hn-api.XXXXXX", conf[128];
        if (scratch_new(&cg) < 0 || !mkdtemp(dir))
                return 1;
        snprintf(conf, sizeof(conf), "%s/hpcnoded.conf", dir);
        snprintf(sock_path, sizeof(sock_path), "%s/hpcnoded.sock", dir);
        FILE *f = fopen(conf, "w");
        fprintf(f, "[hpcnoded]\nCgroupRoot=%s\nAuditLog=%s/audit.jsonl\nJournal=no\nEmergencyState=%s/emergency\n"
                   "UenvBase=%s/uenv\nWorkdirBase=%s/workdir\nControlSocket=%s\nLimitCheckMSec=0\nMetricsTextfile=\n",
                cg.root, dir, dir, dir, dir, sock_path);
        fclose(f);
        pid_t pid = daemon_spawn(conf, NULL, true);
        int fd = -1;
        for (int i = 0; i < 500 && (fd = connect_api()) < 0; i++)
                usleep(10000);
        int rc = 1;
        struct hn_cgroup_manager *m = NULL;
        if (fd < 0 || !round_trip(fd) || hn_cgroup_manager_new(cg.root, HN_OWNER_NONE, &m, NULL) < 0) {
                fprintf(stderr, "api_roundtrip: hpcnoded did not answer on %s\n", sock_path);
                goto out;
        }
        double lib[ROUNDS], sock[ROUNDS], fresh[ROUNDS], ratio[ROUNDS], fresh_ratio[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
                struct hn_cgroup_metrics met;
                double t0 = now_us();
                for (int i = 0; i < PER_ROUND; i++)
                        if (hn_cgroup_read_metrics(m, "workload.slice", &met, NULL) < 0)
                                goto out;
                lib[r] = (now_us() - t0) / PER_ROUND;
                t0 = now_us();
                for (int i = 0; i < PER_ROUND; i++)
                        if (!round_trip(fd))
                                goto out;
                sock[r] = (now_us() - t0) / PER_ROUND;
                t0 = now_us();
                for (int i = 0; i < PER_ROUND / 4; i++) {
                        int c = connect_api();
                        bool ok = c >= 0 && round_trip(c);
                        if (c >= 0)
                                close(c);
                        if (!ok)
                                goto out;
                }
                fresh[r] = (now_us() - t0) / (PER_ROUND / 4);
                ratio[r] = sock[r] / lib[r];
                fresh_ratio[r] = fresh[r] / lib[r];
        }
        bool failed = false;
        double one = load(1, &failed), many = load(CLIENTS, &failed);
        if (failed) {
                fprintf(stderr, "api_roundtrip: a client failed under load\n");
                goto out;
        }
        printf("api_roundtrip: scope.metrics of workload.slice, %d rounds of %d, medians\n", ROUNDS, PER_ROUND);
        printf("  %-44s %10s %12s\n", "path", "us/call", "vs library");
        printf("  %-44s %10.2f %12s\n", "library, in-process", median(lib, ROUNDS), "1.00x");
        printf("  %-44s %10.2f %11.2fx\n", "API socket, one connection", median(sock, ROUNDS), median(ratio, ROUNDS));
        printf("  %-44s %10.2f %11.2fx\n", "API socket, a connection per call (the CLI)", median(fresh, ROUNDS),
               median(fresh_ratio, ROUNDS));
        printf("  %-44s %10s %12s\n", "load", "req/s", "vs 1 client");
        printf("  %-44s %10.0f %12s\n", "1 client", one, "1.00x");
        printf("  %-44s %10.0f %11.2fx\n", "16 concurrent clients", many, many / one);
        rc = 0;
out:
        hn_cgroup_manager_free(m);
        if (fd >= 0)
                close(fd);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        (void) !system(cmd);
        scratch_remove(&cg);
        return rc;
}
