/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who acquired each allocation's binds (operator, pact, workload), as
 * the tree and the metrics show it: kept on the allocation's workdir as an
 * xattr (so a restart knows it) and here in memory, so that a tree or a
 * metrics scrape at thousands of binds reads no file per holder. */
#ifndef HND_ALLOC_OWNER_H
#define HND_ALLOC_OWNER_H

#include <pthread.h>
#include <stddef.h>

struct hnd_alloc_owner;

struct hnd_owners {
        pthread_mutex_t lock; /* acquires run on worker threads */
        struct hnd_alloc_owner *v; /* sorted by allocation id */
        size_t n, cap;
        const char *workdir;
};

void hnd_owners_init(struct hnd_owners *o, const char *workdir);
void hnd_owners_free(struct hnd_owners *o);
/* After an acquire by owner: on the workdir and here. */
void hnd_owners_set(struct hnd_owners *o, const char *alloc, const char *owner);
/* After a release: forgotten once the allocation's workdir is gone. */
void hnd_owners_released(struct hnd_owners *o, const char *alloc);
/* The allocation's owner, into buf: from memory, or once from its workdir
 * (binds from before a restart); "unknown" if neither says. */
const char *hnd_owners_get(struct hnd_owners *o, const char *alloc, char *buf, size_t size);

#endif
