/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_CGROUP_EVENTS_H
#define HN_CGROUP_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

/* Waits until the "key 0|1" line of dirfd's cgroup.events shows want, or
 * until deadline (monotonic_usec()). 0, -ETIMEDOUT, or a negative errno.
 * kernfs wakes poll() with POLLPRI when the file changes; a re-check every
 * 100 ms covers a missed wake-up. */
int cgroup_events_wait(int dirfd, const char *key, bool want, uint64_t deadline_usec);

#endif
