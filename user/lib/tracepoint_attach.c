/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "tracepoint_attach.h"

/* The events directory of the tracefs that is mounted, or of a detached
 * one of our own (fsopen + fsmount: Linux 5.2). */
static int tracefs_events_open(void) {
        static const char *const mounted[] = { "/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events" };
        for (size_t i = 0; i < ELEMENTSOF(mounted); i++) {
                int fd = open(mounted[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0)
                        return fd;
        }
        _cleanup_close_ int fs = fsopen("tracefs", FSOPEN_CLOEXEC);
        if (fs < 0)
                return -errno;
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -errno;
        _cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC);
        if (mnt < 0)
                return -errno;
        int fd = openat(mnt, "events", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int tracepoint_id(const char *category, const char *name, unsigned long long *ret) {
        _cleanup_close_ int events = tracefs_events_open();
        if (events < 0)
                return events;
        char rel[256], buf[32];
        if ((size_t) snprintf(rel, sizeof(rel), "%s/%s/id", category, name) >= sizeof(rel))
                return -ENAMETOOLONG;
        int r = read_file_at(events, rel, buf, sizeof(buf));
        if (r < 0)
                return r;
        char *end;
        errno = 0;
        unsigned long long id = strtoull(buf, &end, 10);
        if (errno || end == buf)
                return -EINVAL;
        *ret = id;
        return 0;
}

int hn_tracepoint_attach(struct bpf_program *prog, const char *category, const char *name, struct bpf_link **ret) {
        unsigned long long id;
        int r = tracepoint_id(category, name, &id);
        if (r < 0)
                return r;
        struct perf_event_attr attr = {
                .type = PERF_TYPE_TRACEPOINT,
                .size = sizeof(attr),
                .config = id,
                .sample_period = 1,
                .wakeup_events = 1,
        };
        /* pid -1, cpu 0: a tracepoint event fires for every task on every
         * CPU once a BPF program is attached to it. */
        _cleanup_close_ int pfd = (int) syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
        if (pfd < 0)
                return -errno;
        struct bpf_link *link = bpf_program__attach_perf_event(prog, pfd);
        r = libbpf_get_error(link);
        if (r)
                return r < 0 ? r : -r;
        pfd = -1; /* the link owns it now */
        *ret = link;
        return 0;
}
