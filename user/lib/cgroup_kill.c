/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_events.h"
#include "cgroup_internal.h"
#include "clock.h"
#include "fileio.h"
#include "macro.h"

/* populated 0 can be reported a moment before the last reference to the
 * cgroup's css_set is dropped, when rmdir still says EBUSY. */
#define RMDIR_BUSY_RETRIES 50
#define RMDIR_BUSY_SLEEP_MS 10

/* SIGKILLs every process listed in dirfd's cgroup.procs and in every
 * descendant's; returns how many it signalled. */
static unsigned kill_listed(int dirfd) {
        unsigned n = 0;
        _cleanup_free_ char *procs = NULL;
        if (read_full_file_at(dirfd, "cgroup.procs", &procs, NULL) == 0)
                for (char *p = procs; *p;) {
                        char *end;
                        long pid = strtol(p, &end, 10);
                        if (end == p)
                                break;
                        if (pid > 0 && kill((pid_t) pid, SIGKILL) == 0)
                                n++;
                        p = end;
                        while (*p == '\n')
                                p++;
                }
        _cleanup_closedir_ DIR *d = opendir_at(dirfd, ".");
        if (!d)
                return n;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        _cleanup_close_ int sub = openat(dirfd, de->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (sub >= 0)
                                n += kill_listed(sub);
                }
        return n;
}

static int wait_unpopulated(int dirfd, uint64_t deadline_usec) {
        int r = cgroup_events_wait(dirfd, "populated", false, deadline_usec);
        return r == -ETIMEDOUT ? -EBUSY : r;
}

/* No cgroup.kill (< 5.14), or told not to use it: freeze so nothing can
 * fork, SIGKILL everything listed until the subtree is empty (fatal signals
 * get through the v2 freezer), then thaw so a survivor is not left frozen. */
static int kill_by_signal(int dirfd, uint64_t deadline_usec) {
        bool froze = write_file_at(dirfd, "cgroup.freeze", "1") == 0;
        int r;
        for (;;) {
                (void) kill_listed(dirfd);
                uint64_t soon = monotonic_usec() + 20000u;
                r = wait_unpopulated(dirfd, soon < deadline_usec ? soon : deadline_usec);
                if (r != -EBUSY || monotonic_usec() >= deadline_usec)
                        break;
        }
        if (froze)
                (void) write_file_at(dirfd, "cgroup.freeze", "0");
        return r;
}

int cgroup_kill_all(int dirfd, const struct hn_cgroup_options *opts) {
        uint64_t deadline = monotonic_usec() + (uint64_t) opts->kill_timeout_ms * 1000u;
        if (!opts->disable_cgroup_kill) {
                int r = write_file_at(dirfd, "cgroup.kill", "1");
                if (r == 0)
                        return wait_unpopulated(dirfd, deadline);
                if (r != -ENOENT)
                        return r;
        }
        return kill_by_signal(dirfd, deadline);
}

int cgroup_remove_tree(int parent_fd, const char *name) {
        {
                _cleanup_closedir_ DIR *d = opendir_at(parent_fd, name);
                if (!d)
                        return -errno;
                struct dirent *de;
                while ((de = readdir(d)))
                        if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                                int r = cgroup_remove_tree(dirfd(d), de->d_name);
                                if (r < 0 && r != -ENOENT)
                                        return r;
                        }
        }
        for (int i = 0;; i++) {
                if (unlinkat(parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY || i >= RMDIR_BUSY_RETRIES)
                        return -errno;
                sleep_msec(RMDIR_BUSY_SLEEP_MS);
        }
}
