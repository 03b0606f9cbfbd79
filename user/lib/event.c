/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading a record: its type's name and the writer's executable. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <hpcnode/monitor.h>

#include "error_set.h"

const char *hn_event_type_name(unsigned type) {
        switch (type) {
        case HN_EV_CGROUP_MKDIR:
                return "cgroup.mkdir";
        case HN_EV_CGROUP_RMDIR:
                return "cgroup.rmdir";
        case HN_EV_CGROUP_ATTACH:
                return "cgroup.attach";
        case HN_EV_CGROUP_POPULATED:
                return "cgroup.populated";
        case HN_EV_CONTROL_OPEN:
                return "cgroup.control_write";
        case HN_EV_CGROUP_FREEZE:
                return "cgroup.freeze";
        case HN_EV_CGROUP_KILL:
                return "cgroup.kill";
        case HN_EV_MOUNT_UMOUNT:
                return "mount.umount";
        case HN_EV_MOUNT_MOVE:
                return "mount.move";
        case HN_EV_MOUNT_REMOUNT:
                return "mount.remount";
        case HN_EV_MOUNT_OTHER:
                return "mount.mount";
        case HN_EV_MOUNT_LOOP:
                return "mount.loop_ioctl";
        case HN_EV_MOUNT_IMAGE_WRITE:
                return "mount.image_write";
        case HN_EV_CGROUP_CLONE_INTO:
                return "cgroup.clone_into";
        case HN_EV_CGROUP_ATTR:
                return "cgroup.attr";
        case HN_EV_EXEC:
                return "task.exec";
        case HN_EV_GUARD_MAP:
                return "hpcnode.map_write";
        case HN_EV_SELF_FILE:
                return "hpcnode.file";
        case HN_EV_SELF_SIGNAL:
                return "hpcnode.signal";
        case HN_EV_SELF_PTRACE:
                return "hpcnode.ptrace";
        case HN_EV_GUARD_BPF:
                return "hpcnode.bpf_command";
        }
        return "unknown";
}

int hn_event_exe_path(const struct hn_event *e, char *ret, size_t size, struct hn_error *err) {
        const char *comp[HN_EVENT_EXE_LEN / 2];
        size_t n = 0, at = 0;
        bool complete = false;
        /* leaf first, NUL-separated, an empty component ends the list */
        while (at < sizeof(e->exe)) {
                size_t len = strnlen(e->exe + at, sizeof(e->exe) - at);
                if (len == 0) {
                        complete = true;
                        break;
                }
                if (at + len >= sizeof(e->exe) - 1)
                        break; /* reaches the last byte: cut off by the record's size */
                comp[n++] = e->exe + at;
                at += len + 1;
        }
        if (n == 0)
                return hn_error_set(err, HN_ERR_NOT_FOUND, ENOENT, "the record names no executable (a kernel thread)");
        size_t used = 0;
        char buf[PATH_MAX];
        if (!complete)
                used += (size_t) snprintf(buf, sizeof(buf), "…");
        for (size_t i = n; i-- > 0 && used < sizeof(buf);)
                used += (size_t) snprintf(buf + used, sizeof(buf) - used, "/%s", comp[i]);
        if (used >= size)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG,
                                    "the executable's path (%zu bytes) does not fit in %zu", used + 1, size);
        memcpy(ret, buf, used + 1);
        return 0;
}


const char *hn_drop_cause_name(unsigned cause) {
        switch (cause) {
        case HN_DROP_TASK_STORAGE:
                return "task_storage";
        case HN_DROP_PID_UNREAD:
                return "pid_unread";
        case HN_DROP_RECORD_FOREIGN:
                return "record_foreign";
        }
        return "unknown";
}

int hn_event_from_record(const void *data, size_t size, struct hn_event *ret, struct hn_error *err) {
        struct hn_event e;
        if (size != sizeof(e))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EPROTO, "a record of %zu bytes, not %zu", size,
                                    sizeof(e));
        memcpy(&e, data, sizeof(e));
        if (e.version != HN_EVENT_VERSION)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EPROTO, "a record of version %u, not %u",
                                    (unsigned) e.version, (unsigned) HN_EVENT_VERSION);
        e.comm[sizeof(e.comm) - 1] = '\0';
        e.path[sizeof(e.path) - 1] = '\0';
        *ret = e;
        return 0;
}
