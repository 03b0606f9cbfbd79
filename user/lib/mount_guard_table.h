/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mount table as the guard's state needs it: each mount's id, its
 * parent and its peer groups, and where it sits, sorted by id. */
#ifndef HN_MOUNT_GUARD_TABLE_H
#define HN_MOUNT_GUARD_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mountinfo.h"

struct table_mount {
        uint32_t id, parent, shared, master;
        uint64_t devno;
        bool ro;
        const char *target;
};

struct guard_table {
        struct table_mount *mounts;
        size_t n;
        /* the targets: in the table read for this one (own), or the one
         * given, else in one copy here */
        struct mountinfo own;
        char *targets;
};

/* From given (which must outlive *ret) or a fresh read of
 * /proc/self/mountinfo. -errno; *ret is then empty. */
int guard_table_read(const struct mountinfo *given, struct guard_table *ret);
const struct table_mount *guard_table_find(const struct guard_table *t, uint32_t id);
/* t's mounts moved into a table of their own (the targets copied, the
 * table read let go): what a later part is built from. t is then
 * empty. -ENOMEM, with t as it was. */
int guard_table_keep(struct guard_table *t, struct guard_table **ret);
void guard_table_clear(struct guard_table *t);
void mount_guard_table_free(struct guard_table *t);

#endif
