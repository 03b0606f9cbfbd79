/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the tests run inside scopes:
 *   hn_test_helper spin MS       burn CPU for MS milliseconds, then exit 0
 *   hn_test_helper alloc BYTES   touch BYTES of memory, then sleep (OOM tests)
 *   hn_test_helper tree N        fork N children that sleep, then sleep
 *   hn_test_helper sleep         sleep until killed
 *   hn_test_helper mkdir PATH    mkdir, exit 0 or errno
 *   hn_test_helper rmdir PATH    rmdir, exit 0 or errno
 *   hn_test_helper write PATH V  one write of V (e.g. "0" to cgroup.procs), exit 0 or errno
 * Copies of it under other names stand for the node agents in the
 * monitor tests: the kernel knows a writer by its executable. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        if (argc >= 3 && strcmp(argv[1], "spin") == 0) {
                double end = now() + atof(argv[2]) / 1000.0;
                volatile unsigned long x = 0;
                while (now() < end)
                        x++;
                return 0;
        }
        if (argc >= 3 && strcmp(argv[1], "alloc") == 0) {
                size_t n = strtoull(argv[2], NULL, 10);
                char *p = malloc(n);
                if (!p)
                        return 2;
                for (size_t i = 0; i < n; i += 4096)
                        p[i] = 1;
                for (;;)
                        pause();
        }
        if (argc >= 3 && strcmp(argv[1], "tree") == 0) {
                for (int i = 0; i < atoi(argv[2]); i++)
                        if (fork() == 0)
                                for (;;)
                                        pause();
                for (;;)
                        pause();
        }
        if (argc >= 3 && strcmp(argv[1], "mkdir") == 0)
                return mkdir(argv[2], 0755) < 0 ? errno : 0;
        if (argc >= 4 && strcmp(argv[1], "mkdirs") == 0) { /* PREFIX N: a storm */
                for (int i = 0; i < atoi(argv[3]); i++) {
                        char p[4096];
                        snprintf(p, sizeof(p), "%s-%d", argv[2], i);
                        if (mkdir(p, 0755) < 0)
                                return errno;
                }
                return 0;
        }
        if (argc >= 3 && strcmp(argv[1], "rmdir") == 0)
                return rmdir(argv[2]) < 0 ? errno : 0;
        if (argc >= 4 && strcmp(argv[1], "write") == 0) {
                int fd = open(argv[2], O_WRONLY);
                if (fd < 0)
                        return errno;
                ssize_t n = write(fd, argv[3], strlen(argv[3]));
                int e = n < 0 ? errno : 0;
                close(fd);
                return e;
        }
        if (argc >= 2 && strcmp(argv[1], "sleep") == 0)
                for (;;)
                        pause();
        fprintf(stderr, "usage: hn_test_helper spin MS | alloc BYTES | tree N | sleep | mkdir P | rmdir P | write P V\n");
        return 64;
}
