/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_CGROUP_ZOMBIE_H
#define HN_CGROUP_ZOMBIE_H

#include <stdbool.h>

/* F30: a scope whose processes could not be killed carries an xattr on its
 * directory. It lives in the kernel, so it survives a restart of whoever
 * marked it, and goes away with the directory. */
int zombie_mark(int parent_fd, const char *name, const char *reason);
/* 1 if marked, 0 if not, negative errno. */
int zombie_check(int parent_fd, const char *name);

#endif
