/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who is on the other end of an API connection: the peer's credentials
 * (SO_PEERCRED) mapped to an owner by the same identities the BPF side
 * uses (Executable= by device and inode, Cgroup=, Uid=, in that order). */
#ifndef HND_CALLER_H
#define HND_CALLER_H

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include <hpcnode/slice.h>

#include "config.h"

enum hnd_role {
        HND_ROLE_UNKNOWN,  /* no identity, not root: scope.metrics only (RI6) */
        HND_ROLE_OPERATOR, /* root with no identity: the site's operator */
        HND_ROLE_PACT,     /* an [identity.pact] match */
        HND_ROLE_WORKLOAD, /* an [identity.workload] match */
};

struct hnd_caller {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        enum hnd_role role;
        const char *matched;  /* "executable", "cgroup", "uid", "root" or "none" */
        char exe[PATH_MAX];   /* "" when unreadable */
        /* what the identity was judged by, to see it change */
        bool have_exe;
        dev_t exe_dev;
        ino_t exe_ino;
        uid_t real_uid; /* (uid_t) -1 when unreadable */
        bool have_cgroup;
        char cgroup[PATH_MAX]; /* absolute, under cgroup_mount */
        uint64_t cgroup_id;    /* by the pidfd (Linux 6.13); 0 when not known so */
};

/* "unknown", "operator", "pact", "workload"; never NULL. */
const char *hnd_role_name(enum hnd_role role);
/* The slice a role owns; HN_OWNER_NONE for operator and unknown. */
enum hn_slice_owner hnd_role_owner(enum hnd_role role);

/* {"role", "matched", "pid", "uid", "exe"}: how records and status name a caller. */
json_object *hnd_caller_json(const struct hnd_caller *c);

/* Identifies the peer of a connected AF_UNIX socket. cgroup_mount is the
 * cgroup2 mount (/proc/PID/cgroup paths are below it), cgroup_root the
 * configured root (Cgroup= identities are below that). Where the kernel
 * offers SO_PEERPIDFD (6.5+), the peer is checked to be still the same
 * process after its /proc entries were read, so a recycled pid cannot lend
 * its identity; the pidfd is returned in *ret_pidfd (-1 without it), and
 * the peer's /proc directory, open, in *ret_proc_fd, for
 * hnd_caller_recheck: read there, a later check cannot reach another
 * process that has the number since. A peer whose /proc directory cannot
 * be opened (it has exited, or its pid is 0: not in hpcnoded's PID
 * namespace) could not be rechecked: negative errno, and the server
 * closes the connection. */
int hnd_caller_identify(int fd, const struct hnd_config *cfg, const char *cgroup_mount, const char *cgroup_root,
                        struct hnd_caller *ret, int *ret_pidfd, int *ret_proc_fd);

/* Each call: the request's bytes were written by writer (their
 * SCM_CREDENTIALS pid), which must be the caller identified at connect,
 * still alive (pidfd, where there is one) and still the same (executable,
 * real uid, role). Otherwise -EPERM and why: a socket handed to another
 * process, or a caller that exec'd another binary since, is refused. */
int hnd_caller_recheck(const struct hnd_caller *c, int pidfd, int proc_fd, pid_t writer, const struct hnd_config *cfg,
                       const char *cgroup_mount, const char *cgroup_root, char *why, size_t why_size);

#endif
