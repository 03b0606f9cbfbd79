/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup_events.h"
#include "clock.h"
#include "macro.h"

#define EVENTS_RECHECK_MS 100

int cgroup_events_wait(int dirfd, const char *key, bool want, uint64_t deadline_usec) {
        char needle[64];
        snprintf(needle, sizeof(needle), "%s ", key);
        _cleanup_close_ int fd = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (;;) {
                char buf[256];
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
                if (n < 0)
                        return -errno;
                buf[n] = '\0';
                /* at the start of a line: "frozen" must not match inside another key */
                char *p = strstr(buf, needle);
                while (p && p != buf && p[-1] != '\n')
                        p = strstr(p + 1, needle);
                if (p && (p[strlen(needle)] == '1') == want)
                        return 0;
                uint64_t now = monotonic_usec();
                if (now >= deadline_usec)
                        return -ETIMEDOUT;
                uint64_t wait_ms = (deadline_usec - now + 999) / 1000;
                struct pollfd pfd = { .fd = fd, .events = POLLPRI };
                (void) poll(&pfd, 1, (int) (wait_ms < EVENTS_RECHECK_MS ? wait_ms : EVENTS_RECHECK_MS));
        }
}
