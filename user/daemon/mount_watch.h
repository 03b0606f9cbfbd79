/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's mount manager and its drift watch: the mount table is
 * watched (POLLPRI on /proc/self/mountinfo) so drift is caught at once,
 * with an idle tick besides, fast while the node is idle and slow while
 * it is busy. */
#ifndef HND_MOUNT_WATCH_H
#define HND_MOUNT_WATCH_H

#include <systemd/sd-event.h>

#include <hpcnode/mount.h>

#include "audit_sink.h"
#include "config.h"

struct hnd_mounts {
        struct hn_mount_manager *manager;
        struct hnd_sink *sink;
        const struct hnd_config *cfg;
        int mountinfo_fd;
        sd_event_source *io, *tick, *later; /* later: a pass deferred to the end of the gap */
        uint64_t passes, drifts;
        uint64_t last_pass_usec; /* CLOCK_MONOTONIC */
        bool deferred;
};

/* Makes the bases, the manager (audited through the sink), rebuilds its
 * state from the kernel (an allocation is live while its workdir exists),
 * and reconciles once. */
int hnd_mounts_start(struct hnd_mounts *w, sd_event *ev, const struct hnd_config *cfg, struct hnd_sink *sink,
                     struct hn_emergency *emergency, struct hn_error *err);
void hnd_mounts_stop(struct hnd_mounts *w);
/* One reconcile pass now (after an own act, or from the watch). */
void hnd_mounts_reconcile(struct hnd_mounts *w);

#endif
