/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* restart: how long hpcnoded is away when it restarts. Start to serving
 * (spawn until the API answers status) and stop (SIGTERM until exit), with
 * the programs pinned (the set adopted: no load, no verifier, no attach)
 * and without pins (load and attach every time, detach at exit), in
 * interleaved rounds; the ratio per round. The pins live on a bpffs of
 * this run's own, unmounted at the end (nothing outlives the bench). */
#include <errno.h>
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
#include "fixture.h"

#define ROUNDS 7

static char sock_path[160];

/* status answered ok on a fresh connection */
static bool serving(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool ok = false;
        if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
                static const char req[] = "{\"call\":\"status\"}\n";
                char buf[16384];
                size_t have = 0;
                if (write(fd, req, sizeof(req) - 1) == (ssize_t) sizeof(req) - 1)
                        while (have < sizeof(buf) && (!have || buf[have - 1] != '\n')) {
                                ssize_t n = read(fd, buf + have, sizeof(buf) - have);
                                if (n <= 0)
                                        break;
                                have += (size_t) n;
                        }
                ok = have && memmem(buf, have, "\"ok\":true", 9);
        }
        if (fd >= 0)
                close(fd);
        return ok;
}

/* One start (to serving) and stop, in ms; false if it never served. */
static bool cycle(const char *conf, double *start_ms, double *stop_ms) {
        unlink(sock_path);
        double t0 = now_us();
        pid_t pid = daemon_spawn(conf, NULL, true);
        bool up = false;
        while (!(up = serving()) && now_us() - t0 < 30e6)
                usleep(500);
        *start_ms = (now_us() - t0) / 1e3;
        t0 = now_us();
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        *stop_ms = (now_us() - t0) / 1e3;
        return up;
}

static void write_conf(const char *path, const char *root, const char *dir, const char *pin_dir) {
        FILE *f = fopen(path, "w");
        fprintf(f, "[hpcnoded]\nCgroupRoot=%s\nAuditLog=%s/audit.jsonl\nJournal=no\nEmergencyState=%s/emergency\n"
                   "UenvBase=%s/uenv\nWorkdirBase=%s/workdir\nControlSocket=%s\nLimitCheckMSec=0\nMetricsTextfile=\n"
                   "BpfPinDir=%s\n",
                root, dir, dir, dir, dir, sock_path, pin_dir);
        fclose(f);
}

int main(void) {
        if (geteuid() != 0) {
                fprintf(stderr, "restart: needs root\n");
                return 1;
        }
        struct scratch cg;
        char dir[] = "/tmp/hn-restart.XXXXXX", pinned[192], unpinned[192], bpffs[160], pin_dir[192];
        if (scratch_new(&cg) < 0 || !mkdtemp(dir))
                return 1;
        snprintf(sock_path, sizeof(sock_path), "%s/hpcnoded.sock", dir);
        snprintf(bpffs, sizeof(bpffs), "%s/bpf", dir);
        snprintf(pin_dir, sizeof(pin_dir), "%s/hpcnode", bpffs);
        if (mkdir(bpffs, 0700) < 0 || mount("bpf", bpffs, "bpf", 0, NULL) < 0) {
                fprintf(stderr, "restart: mount -t bpf %s: %s\n", bpffs, strerror(errno));
                return 1;
        }
        snprintf(pinned, sizeof(pinned), "%s/pinned.conf", dir);
        snprintf(unpinned, sizeof(unpinned), "%s/unpinned.conf", dir);
        write_conf(pinned, cg.root, dir, pin_dir);
        write_conf(unpinned, cg.root, dir, "");
        int rc = 1;
        double first_start, first_stop;
        /* the first pinned start loads and pins the set */
        if (!cycle(pinned, &first_start, &first_stop)) {
                fprintf(stderr, "restart: hpcnoded did not serve on %s\n", sock_path);
                goto out;
        }
        double ps[ROUNDS], pt[ROUNDS], us[ROUNDS], ut[ROUNDS], rs[ROUNDS], rt[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
                if (!cycle(unpinned, &us[r], &ut[r]) || !cycle(pinned, &ps[r], &pt[r])) {
                        fprintf(stderr, "restart: hpcnoded did not serve on %s\n", sock_path);
                        goto out;
                }
                rs[r] = ps[r] / us[r];
                rt[r] = pt[r] / ut[r];
        }
        printf("restart: hpcnoded start (spawn to status answered) and stop (SIGTERM to exit), %d interleaved rounds, "
               "medians\n",
               ROUNDS);
        printf("  %-46s %10s %10s %14s\n", "", "start ms", "stop ms", "vs unpinned");
        printf("  %-46s %10.1f %10.1f %14s\n", "unpinned: load, verify, attach; detach at exit", median(us, ROUNDS),
               median(ut, ROUNDS), "1.00x");
        printf("  %-46s %10.1f %10.1f %7.2fx %5.2fx\n", "pinned: the set adopted", median(ps, ROUNDS),
               median(pt, ROUNDS), median(rs, ROUNDS), median(rt, ROUNDS));
        printf("  %-46s %10.1f %10.1f\n", "pinned, first start: load, attach, pin", first_start, first_stop);
        rc = 0;
out:
        if (umount2(bpffs, MNT_DETACH) < 0)
                rc = 1;
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                rc = 1;
        scratch_remove(&cg);
        return rc;
}
