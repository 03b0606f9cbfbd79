/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caller.h"
#include "fileio.h"
#include "macro.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* PIDFD_GET_INFO (Linux 6.13): a live task's credentials by its pidfd,
 * one ioctl where /proc/PID/status is a page of text made per read. */
struct hnd_pidfd_info {
        uint64_t mask, cgroupid;
        uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid, spare0;
};
#define HND_PIDFD_INFO_CREDS (1ULL << 1)
#define HND_PIDFD_INFO_CGROUPID (1ULL << 2)
_Static_assert(sizeof(struct hnd_pidfd_info) == 64, "PIDFD_INFO_SIZE_VER0");
#define HND_PIDFD_GET_INFO _IOWR(0xFF, 11, struct hnd_pidfd_info)

const char *hnd_role_name(enum hnd_role role) {
        switch (role) {
        case HND_ROLE_OPERATOR:
                return "operator";
        case HND_ROLE_PACT:
                return "pact";
        case HND_ROLE_WORKLOAD:
                return "workload";
        default:
                return "unknown";
        }
}

enum hn_slice_owner hnd_role_owner(enum hnd_role role) {
        return role == HND_ROLE_PACT ? HN_OWNER_PACT : role == HND_ROLE_WORKLOAD ? HN_OWNER_WORKLOAD : HN_OWNER_NONE;
}

json_object *hnd_caller_json(const struct hnd_caller *c) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "role", json_object_new_string(hnd_role_name(c->role)));
        json_object_object_add(j, "matched", json_object_new_string(c->matched));
        json_object_object_add(j, "pid", json_object_new_int64(c->pid));
        json_object_object_add(j, "uid", json_object_new_int64(c->uid));
        json_object_object_add(j, "exe", json_object_new_string(c->exe));
        return j;
}

static enum hnd_role role_of(enum hn_slice_owner owner) {
        return owner == HN_OWNER_PACT ? HND_ROLE_PACT : HND_ROLE_WORKLOAD;
}

/* path is below (or is) dir, on a component boundary. */
static bool path_within(const char *path, const char *dir) {
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/')
                n--;
        return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The peer's cgroup, absolute: the cgroup2 mount + the "0::" line. */
static int peer_cgroup(int proc_fd, const char *cgroup_mount, char *buf, size_t size) {
        char text[PATH_MAX + 64];
        int r = read_file_at(proc_fd, "cgroup", text, sizeof(text));
        if (r < 0)
                return r;
        char *line = strstr(text, "0::");
        if (!line || (line != text && line[-1] != '\n'))
                return -ENOENT;
        line += 3;
        line[strcspn(line, "\n")] = '\0';
        if ((size_t) snprintf(buf, size, "%s%s", cgroup_mount, line) >= size)
                return -ENAMETOOLONG;
        return 0;
}

/* The real uid from /proc/PID/status, where the kernel has no
 * PIDFD_GET_INFO. */
static int peer_real_uid(int proc_fd, uid_t *ret) {
        char text[4096];
        int r = read_file_at(proc_fd, "status", text, sizeof(text));
        if (r < 0)
                return r;
        const char *uid = strstr(text, "\nUid:");
        if (!uid)
                return -ENOENT;
        *ret = (uid_t) strtoul(uid + 5, NULL, 10);
        return 0;
}

static enum hn_slice_owner match(const struct hnd_config *cfg, const struct hnd_caller *c, const char *cgroup,
                                 const char *cgroup_root, const char **ret_how) {
        /* an executable is its agent only as run by ExecutableUid= (root
         * unless set): the agent's binary run by another uid is not it */
        for (unsigned i = 0; c->have_exe && i < cfg->n_identities; i++) {
                const struct hnd_identity *id = &cfg->identities[i];
                struct stat st;
                if (id->kind == HND_ID_EXE && c->real_uid == cfg->executable_uid[id->owner] &&
                    stat(id->value, &st) == 0 && st.st_dev == c->exe_dev && st.st_ino == c->exe_ino)
                        return *ret_how = "executable", id->owner;
        }
        for (unsigned i = 0; cgroup && i < cfg->n_identities; i++) {
                char dir[PATH_MAX];
                if (cfg->identities[i].kind == HND_ID_CGROUP &&
                    (size_t) snprintf(dir, sizeof(dir), "%s/%s", cgroup_root, cfg->identities[i].value) < sizeof(dir) &&
                    path_within(cgroup, dir))
                        return *ret_how = "cgroup", cfg->identities[i].owner;
        }
        for (unsigned i = 0; i < cfg->n_identities; i++)
                if (cfg->identities[i].kind == HND_ID_UID && strtoul(cfg->identities[i].value, NULL, 10) == c->uid)
                        return *ret_how = "uid", cfg->identities[i].owner;
        return HN_OWNER_NONE;
}

/* Who pid is now, with uid (SO_PEERCRED's) and gid as given, read in
 * proc_fd (its /proc directory, opened at connect: once that process is
 * gone every name in it fails, whoever has the number since). pidfd, if
 * not -1, is pid's: it must still be alive once /proc was read, so a
 * recycled pid cannot lend its identity. before: who it was (a recheck),
 * or NULL. Where the kernel gives a pidfd's credentials and cgroup id
 * (PIDFD_GET_INFO, 6.13), the real uid is read so, and the cgroup's path
 * is before's while the id is (a v2 cgroup cannot be renamed, so one id
 * is one path); else both from /proc. */
static int identify_pid(pid_t pid, uid_t uid, gid_t gid, int pidfd, int proc_fd, const struct hnd_config *cfg,
                        const char *cgroup_mount, const char *cgroup_root, const struct hnd_caller *before,
                        struct hnd_caller *ret) {
        struct hnd_caller c = { .pid = pid, .uid = uid, .gid = gid, .matched = "none", .real_uid = (uid_t) -1 };
        struct stat exe;
        c.have_exe = fstatat(proc_fd, "exe", &exe, 0) == 0;
        if (c.have_exe)
                c.exe_dev = exe.st_dev, c.exe_ino = exe.st_ino;
        if (before && c.have_exe && before->have_exe && before->exe_dev == c.exe_dev && before->exe_ino == c.exe_ino)
                memcpy(c.exe, before->exe, sizeof(c.exe)); /* the same file: its name for messages */
        else {
                ssize_t n = readlinkat(proc_fd, "exe", c.exe, sizeof(c.exe) - 1);
                c.exe[n > 0 ? n : 0] = '\0';
        }
        struct hnd_pidfd_info info = { .mask = HND_PIDFD_INFO_CREDS | HND_PIDFD_INFO_CGROUPID };
        bool by_pidfd = pidfd >= 0 && ioctl(pidfd, HND_PIDFD_GET_INFO, &info) == 0;
        if (by_pidfd && (info.mask & HND_PIDFD_INFO_CREDS))
                c.real_uid = (uid_t) info.ruid;
        else if (peer_real_uid(proc_fd, &c.real_uid) < 0)
                c.have_exe = false; /* no uid to run it as: no executable identity */
        c.cgroup_id = by_pidfd && (info.mask & HND_PIDFD_INFO_CGROUPID) ? info.cgroupid : 0;
        /* /proc read after the pidfd last answered: the pidfd asked again */
        bool read_since = !by_pidfd;
        if (before && c.cgroup_id && c.cgroup_id == before->cgroup_id && before->have_cgroup) {
                c.have_cgroup = true;
                memcpy(c.cgroup, before->cgroup, sizeof(c.cgroup));
        } else {
                c.have_cgroup = peer_cgroup(proc_fd, cgroup_mount, c.cgroup, sizeof(c.cgroup)) == 0;
                read_since = true;
        }
        /* Still the process the pidfd names, once /proc was read: a
         * recycled pid cannot lend its identity. PIDFD_GET_INFO answering
         * after the last /proc read already says so (it fails with ESRCH
         * once the task is gone), which saves a call a request. */
        if (pidfd >= 0 && read_since && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return -ESRCH;

        const char *how = "none";
        enum hn_slice_owner owner = match(cfg, &c, c.have_cgroup ? c.cgroup : NULL, cgroup_root, &how);
        if (owner != HN_OWNER_NONE) {
                c.role = role_of(owner);
                c.matched = how;
        } else if (uid == 0) {
                c.role = HND_ROLE_OPERATOR;
                c.matched = "root";
        } else
                c.role = HND_ROLE_UNKNOWN;
        *ret = c;
        return 0;
}

int hnd_caller_identify(int fd, const struct hnd_config *cfg, const char *cgroup_mount, const char *cgroup_root,
                        struct hnd_caller *ret, int *ret_pidfd, int *ret_proc_fd) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        _cleanup_close_ int pidfd = -1;
        len = sizeof(int);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
                pidfd = -1;
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d", (int) cred.pid);
        _cleanup_close_ int proc_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proc_fd < 0)
                return -errno;
        struct hnd_caller c;
        int r = identify_pid(cred.pid, cred.uid, cred.gid, pidfd, proc_fd, cfg, cgroup_mount, cgroup_root, NULL, &c);
        if (r < 0)
                return r;
        *ret = c;
        *ret_pidfd = take_fd(&pidfd);
        *ret_proc_fd = take_fd(&proc_fd);
        return 0;
}

int hnd_caller_recheck(const struct hnd_caller *c, int pidfd, int proc_fd, pid_t writer, const struct hnd_config *cfg,
                       const char *cgroup_mount, const char *cgroup_root, char *why, size_t why_size) {
        if (writer != c->pid) {
                snprintf(why, why_size, "the request was written by pid %d, not by the connected caller (pid %d)",
                         (int) writer, (int) c->pid);
                return -EPERM;
        }
        struct hnd_caller now;
        if (identify_pid(c->pid, c->uid, c->gid, pidfd, proc_fd, cfg, cgroup_mount, cgroup_root, c, &now) < 0) {
                snprintf(why, why_size, "the connected caller (pid %d) has exited", (int) c->pid);
                return -EPERM;
        }
        if (now.have_exe != c->have_exe || now.exe_dev != c->exe_dev || now.exe_ino != c->exe_ino ||
            now.real_uid != c->real_uid || now.role != c->role) {
                snprintf(why, why_size, "the caller (pid %d) changed since it connected (was %s as %s, now %s as %s)",
                         (int) c->pid, hnd_role_name(c->role), c->exe, hnd_role_name(now.role), now.exe);
                return -EPERM;
        }
        return 0;
}
