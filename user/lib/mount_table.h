/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel's mount table as one reconcile pass sees it: read once under
 * the manager's lock, indexed by target and by mount id. */
#ifndef HN_MOUNT_TABLE_H
#define HN_MOUNT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mountinfo.h"

/* The mount table, reduced to what reconciling needs. */
struct mounted {
        const char *target; /* in the table's buffer (mi) */
        dev_t devno;
        int id, parent;
        bool claimed; /* matched to a managed mount */
        bool moved;   /* a managed mount moved here: reported as moved, not as foreign */
        bool ro;      /* the per-mount read-only flag */
        bool shared;  /* in a peer group or a slave: not private */
};
/* Indexed by target and by mount id (open addressing, slots hold index
 * + 1), so that a pass is linear in the mounts: each held image and bind
 * is looked up, never searched for. */
struct table {
        struct mounted *v;
        size_t n;
        uint32_t *by_target, *by_id;
        size_t mask;
        struct mountinfo mi;
};

/* The table of this pass, read once; mount_mount_table_free() after it (also
 * after a failure). */
int mount_table_read(struct table *t);
void mount_table_free(struct table *t);
/* The next mount on target after *pos (start with 0), or NULL. */
struct mounted *mount_table_on(struct table *t, const char *target, size_t *pos);
struct mounted *mount_table_by_id(struct table *t, int id);
/* The mount on target of the device: the manager's, wherever in a stack
 * (the first in the table's order, as a scan would find it). */
struct mounted *mount_table_mine(struct table *t, const char *target, dev_t devno);

#endif
