/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /proc/self/mountinfo, read whole and parsed in place into the fields a
 * reconcile pass and the guard's state use. A pass reads the table at
 * every change of it; at thousands of mounts libmount's parse (every
 * field of every line copied) was most of a pass. */
#ifndef HN_MOUNTINFO_H
#define HN_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mountinfo_entry {
        uint32_t id, parent;
        dev_t devno;
        bool ro;                 /* the per-mount read-only flag */
        uint32_t shared, master; /* peer group ids, 0 when not */
        const char *target;      /* unescaped, in the table's buffer */
        const char *fstype;      /* "squashfs", …; in the buffer */
        const char *source;      /* "/dev/loop3", …; unescaped, in the buffer */
};

struct mountinfo {
        char *buf;
        struct mountinfo_entry *v;
        size_t n;
};

/* The table as one read of path (/proc/self/mountinfo) gives it. -errno
 * (-EBADMSG for a line that is not mountinfo's); *ret then empty. */
int mountinfo_read(const char *path, struct mountinfo *ret);
void mountinfo_free(struct mountinfo *mi);

#endif
