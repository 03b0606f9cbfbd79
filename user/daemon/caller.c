/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
static int peer_cgroup(pid_t pid, const char *cgroup_mount, char *buf, size_t size) {
        char p[64], text[PATH_MAX + 64];
        snprintf(p, sizeof(p), "/proc/%d/cgroup", (int) pid);
        int r = read_file_at(AT_FDCWD, p, text, sizeof(text));
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

static enum hn_slice_owner match(const struct hnd_config *cfg, const struct stat *exe, const char *cgroup,
                                 const char *cgroup_root, uid_t uid, const char **ret_how) {
        for (unsigned i = 0; exe && i < cfg->n_identities; i++) {
                struct stat st;
                if (cfg->identities[i].kind == HND_ID_EXE && stat(cfg->identities[i].value, &st) == 0 &&
                    st.st_dev == exe->st_dev && st.st_ino == exe->st_ino)
                        return *ret_how = "executable", cfg->identities[i].owner;
        }
        for (unsigned i = 0; cgroup && i < cfg->n_identities; i++) {
                char dir[PATH_MAX];
                if (cfg->identities[i].kind == HND_ID_CGROUP &&
                    (size_t) snprintf(dir, sizeof(dir), "%s/%s", cgroup_root, cfg->identities[i].value) < sizeof(dir) &&
                    path_within(cgroup, dir))
                        return *ret_how = "cgroup", cfg->identities[i].owner;
        }
        for (unsigned i = 0; i < cfg->n_identities; i++)
                if (cfg->identities[i].kind == HND_ID_UID && strtoul(cfg->identities[i].value, NULL, 10) == uid)
                        return *ret_how = "uid", cfg->identities[i].owner;
        return HN_OWNER_NONE;
}

int hnd_caller_identify(int fd, const struct hnd_config *cfg, const char *cgroup_mount, const char *cgroup_root,
                        struct hnd_caller *ret) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        _cleanup_close_ int pidfd = -1;
        len = sizeof(int);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
                pidfd = -1;

        struct hnd_caller c = { .pid = cred.pid, .uid = cred.uid, .gid = cred.gid, .matched = "none" };
        char p[64], cgroup[PATH_MAX];
        struct stat exe;
        snprintf(p, sizeof(p), "/proc/%d/exe", (int) cred.pid);
        bool have_exe = stat(p, &exe) == 0;
        ssize_t n = readlink(p, c.exe, sizeof(c.exe) - 1);
        c.exe[n > 0 ? n : 0] = '\0';
        bool have_cgroup = peer_cgroup(cred.pid, cgroup_mount, cgroup, sizeof(cgroup)) == 0;
        /* The pid named the peer when we read /proc: it must not have
         * exited (and been recycled) in between. */
        if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return -ESRCH;

        const char *how = "none";
        enum hn_slice_owner owner =
                match(cfg, have_exe ? &exe : NULL, have_cgroup ? cgroup : NULL, cgroup_root, cred.uid, &how);
        if (owner != HN_OWNER_NONE) {
                c.role = role_of(owner);
                c.matched = how;
        } else if (cred.uid == 0) {
                c.role = HND_ROLE_OPERATOR;
                c.matched = "root";
        } else
                c.role = HND_ROLE_UNKNOWN;
        *ret = c;
        return 0;
}
