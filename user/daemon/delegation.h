/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_DELEGATION_H
#define HND_DELEGATION_H

#include <stddef.h>
#include <sys/types.h>

/* CgroupRoot=auto on a systemd host: the slices live in a transient scope
 * unit systemd delegates to hpcnode (HND_TREE_SCOPE, Delegate=yes), made
 * over D-Bus around a keeper process (in its leaf HND_KEEPER_LEAF: a
 * cgroup that enables controllers for its children holds no process) if
 * it does not run yet. ret gets the scope's directory; "" where systemd is
 * not PID 1 (the cgroup2 mount then, as without systemd). Negative errno
 * and why on failure. */
int hnd_delegated_root(char *ret, size_t size, char *why, size_t why_size);

/* The keeper's pid: the one process in root's HND_KEEPER_LEAF. -ESRCH if
 * none runs there; *ret untouched on failure. */
int hnd_keeper_pid(const char *root, pid_t *ret);

#define HND_TREE_SCOPE "hpcnode.scope"
#define HND_KEEPER_LEAF "keeper"

#endif
