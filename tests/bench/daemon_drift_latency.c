/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon_drift_latency: the whole path in a running hpcnoded, from
 * umount2(MNT_DETACH) of a held image mount to the mount.drift line in its audit
 * log, with fdatasync per record (the default) and without, 200 times
 * each, 20 ms apart; p50/p99/max. The daemon
 * runs in this process's private mount namespace on a scratch cgroup root;
 * the image is acquired over its API socket. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "daemon_fixture.h"
#include "mount_fixture.h"

#define N 200

/* Whether needle appeared in path after *off (which moves to the end):
 * only new bytes are read, so the measurement does not grow with the log.
 * The matching line's time_ns (CLOCK_REALTIME, stamped as the daemon wrote
 * it) goes to *ret_ns. */
static bool appeared(const char *path, const char *needle, long *off, long long *ret_ns) {
        FILE *f = fopen(path, "r");
        char line[8192];
        bool found = false;
        if (!f)
                return false;
        fseek(f, *off, SEEK_SET);
        while (fgets(line, sizeof(line), f))
                if (strstr(line, needle)) {
                        found = true;
                        if (ret_ns)
                                (void) sscanf(line, "{\"time_ns\":%lld", ret_ns);
                }
        *off = ftell(f);
        fclose(f);
        return found;
}

static int request(const char *sock, const char *line, char *reply, size_t size) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || write(fd, line, strlen(line)) < 0 ||
            write(fd, "\n", 1) != 1) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        read_fd_text(fd, reply, size);
        close(fd);
        reply[strcspn(reply, "\n")] = '\0';
        return 0;
}

static int run(bool fsync_on);

int main(void) {
        int r = run(true);
        return r ? r : run(false);
}

static int run(bool fsync_on) {
        static bool entered;
        const char *why = entered ? NULL : mount_ns_enter();
        entered = true;
        if (why || geteuid() != 0) {
                fprintf(stderr, "daemon_drift_latency: %s\n", why ? why : "needs root");
                return 1;
        }
        struct scratch cg;
        char dir[] = "/tmp/hn-ddl.XXXXXX", conf[128], log[128], sock[128], image[128], reply[8192];
        if (scratch_new(&cg) < 0 || !mkdtemp(dir))
                return 1;
        snprintf(conf, sizeof(conf), "%s/hpcnoded.conf", dir);
        snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
        snprintf(sock, sizeof(sock), "%s/hpcnoded.sock", dir);
        snprintf(image, sizeof(image), "%s/app.sqfs", dir);
        if (make_image(image, "image-0\n") < 0)
                return 1;
        FILE *f = fopen(conf, "w");
        fprintf(f, "[hpcnoded]\nCgroupRoot=%s\nAuditLog=%s\nJournal=no\nEmergencyState=%s/emergency\nUenvBase=%s/uenv\n"
                   "WorkdirBase=%s/workdir\nControlSocket=%s\nLimitCheckMSec=0\nAuditFsync=%s\n",
                cg.root, log, dir, dir, dir, sock, fsync_on ? "yes" : "no");
        fclose(f);
        pid_t pid = daemon_spawn(conf, NULL, true);
        for (int i = 0; i < 3000 && count_lines(log, "\"event\":\"hpcnoded.start\"") == 0; i++)
                usleep(10000);
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "{\"call\":\"mount.acquire\",\"args\":{\"image\":\"%s\",\"allocation\":\"bench\"}}",
                 image);
        static double lat[N], stamp[N];
        int n = 0, missed = 0;
        char mount_point[4096];
        if (request(sock, cmd, reply, sizeof(reply)) < 0 || !strstr(reply, "\"ok\":true")) {
                fprintf(stderr, "daemon_drift_latency: acquire: %s (did hpcnoded start? %s)\n", reply, log);
                missed = N;
                goto out;
        }
        /* the bind's last component is the image's name under the base */
        char *bind = strstr(reply, "\"bind_path\":\"");
        if (!bind) {
                fprintf(stderr, "daemon_drift_latency: no bind_path in %s\n", reply);
                missed = N;
                goto out;
        }
        bind[strcspn(bind + 13, "\"") + 13] = '\0';
        snprintf(mount_point, sizeof(mount_point), "%s/uenv/%s", dir, strrchr(bind, '/') + 1);
        int in = inotify_init1(IN_CLOEXEC);
        inotify_add_watch(in, log, IN_MODIFY);
        for (int i = 0; i < N; i++) {
                usleep(20000); /* drift is an event, not a storm: the daemon's rate limit refills */
                long off = 0;
                (void) appeared(log, "", &off, NULL); /* to the end */
                struct timespec rt0;
                clock_gettime(CLOCK_REALTIME, &rt0);
                double t0 = now_us();
                /* lazily: the manager holds its image mounts open, so a plain
                 * umount(2) of one is refused (EBUSY) and drifts nothing */
                if (umount2(mount_point, MNT_DETACH) < 0) {
                        perror("daemon_drift_latency: umount");
                        break;
                }
                bool seen = false;
                long long stamp_ns = 0;
                while (!seen && now_us() - t0 < 2e6) {
                        char buf[4096];
                        struct timeval tv = { 0, 100000 };
                        fd_set rd;
                        FD_ZERO(&rd);
                        FD_SET(in, &rd);
                        if (select(in + 1, &rd, NULL, NULL, &tv) > 0)
                                (void) !read(in, buf, sizeof(buf));
                        seen = appeared(log, "\"event\":\"mount.drift\"", &off, &stamp_ns);
                }
                if (!seen) {
                        missed++;
                        continue;
                }
                stamp[n] = (double) (stamp_ns - ((long long) rt0.tv_sec * 1000000000ll + rt0.tv_nsec)) / 1000.0;
                lat[n++] = now_us() - t0;

                for (int k = 0; k < 200; k++) { /* the repair: mounted again */
                        struct mnt_line l;
                        if (mountinfo_find(mount_point, &l))
                                break;
                        usleep(1000);
                }
        }
out:
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        qsort(lat, (size_t) n, sizeof(double), cmp_double);
        qsort(stamp, (size_t) n, sizeof(double), cmp_double);
        printf("daemon_drift_latency: umount2(MNT_DETACH) of a held image mount -> the mount.drift line in a running hpcnoded's\n"
               "audit log, AuditFsync=%s, %d of %d, microseconds\n", fsync_on ? "yes (default)" : "no", n, N);
        printf("%-40s %9s %9s %9s\n", "", "p50", "p99", "max");
        if (n) {
                printf("%-40s %9.1f %9.1f %9.1f\n", "umount -> the record's own time stamp", stamp[n / 2],
                       stamp[n * 99 / 100], stamp[n - 1]);
                printf("%-40s %9.1f %9.1f %9.1f\n", "umount -> record seen in the log", lat[n / 2], lat[n * 99 / 100],
                       lat[n - 1]);
        }
        snprintf(cmd, sizeof(cmd), "findmnt -rn -o TARGET | grep '^%s/' | sort -r | xargs -r umount -l; rm -rf '%s'", dir,
                 dir);
        if (system(cmd) != 0)
                fprintf(stderr, "daemon_drift_latency: cleanup of %s failed\n", dir);
        scratch_remove(&cg);
        return missed ? 1 : 0;
}
