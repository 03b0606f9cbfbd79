/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's mount manager and its drift watch: the mount table is
 * watched (POLLPRI on /proc/self/mountinfo) so drift is caught at once,
 * with an idle tick besides, fast while the node is idle and slow while
 * it is busy. */
#ifndef HND_MOUNT_WATCH_H
#define HND_MOUNT_WATCH_H

#include <systemd/sd-event.h>

#include <hpcnode/monitor.h>
#include <hpcnode/mount.h>

#include "alloc_owner.h"
#include "audit_sink.h"
#include "config.h"

/* A mount act the kernel attributed, kept a while so that the drift it
 * causes can name its actor. */
struct hnd_mount_act {
        struct hn_event e;
        char path[4096]; /* resolved */
        uint64_t seen_usec; /* CLOCK_MONOTONIC */
};
#define HND_MOUNT_ACTS 32

struct hnd_mounts {
        struct hn_mount_manager *manager;
        struct hn_monitor *monitor; /* the guard's maps; may be NULL */
        void (*drain)(void *userdata); /* reads the ring buffer before a pass */
        void *drain_userdata;
        struct hnd_mount_act acts[HND_MOUNT_ACTS];
        unsigned n_acts, next_act;
        struct hn_mount_guard guard; /* what the kernel guards since the last pass */
        struct hnd_sink *sink;
        const struct hnd_config *cfg;
        int mountinfo_fd;
        sd_event_source *io, *tick, *later; /* later: a pass deferred to the end of the gap */
        uint64_t passes, drifts;
        uint64_t passes_own; /* of them: the table changed by the manager's own guarded binds alone */
        uint64_t drift_by_class[HN_DRIFT_CLASS_MAX];
        uint64_t tokens_usec; /* the pass rate limit's bucket (CLOCK_MONOTONIC; see mount_watch.c) */
        uint64_t pass_cost_usec; /* what the last pass took: the gap grows with it */
        bool deferred;
        struct hnd_owners owners; /* who acquired each allocation's binds */
};

/* Makes the bases, the manager (audited through the sink), rebuilds its
 * state from the kernel (an allocation is live while its workdir exists),
 * and reconciles once. */
int hnd_mounts_start(struct hnd_mounts *w, sd_event *ev, const struct hnd_config *cfg, struct hnd_sink *sink,
                     struct hn_emergency *emergency, struct hn_error *err);
void hnd_mounts_stop(struct hnd_mounts *w);
/* One reconcile pass now (after an own act, or from the watch); then the
 * guard's held set is brought up to date. */
void hnd_mounts_reconcile(struct hnd_mounts *w);
/* After a mount call: one bind added to (held) or taken from the guard
 * before the caller hears of it, at the cost of that bind, where a pass
 * costs every bind held; the pass the table change brings (rate-limited)
 * then writes the whole state. If the part cannot be made, a pass now. */
void hnd_mounts_guard_bind(struct hnd_mounts *w, const char *image, const char *alloc, bool held);
/* A kernel mount record: remembered for attribution; its path resolved
 * (a guard record names the mount by id). */
void hnd_mounts_act(struct hnd_mounts *w, const struct hn_event *e, char *path, size_t size);

#endif
