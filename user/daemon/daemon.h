/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's state, shared by the event loop's parts: the watchers, the
 * API's calls and the metrics. */
#ifndef HND_DAEMON_H
#define HND_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <hpcnode/cgroup.h>
#include <hpcnode/emergency.h>
#include <hpcnode/monitor.h>

#include "api_calls.h"
#include "api_state.h"
#include "audit_repeat.h"
#include "audit_sink.h"
#include "config.h"
#include "limits_watch.h"
#include "mount_watch.h"
#include "tree.h"

#define HND_REFUSED_PER_SEC 20

/* What the metrics count that no library object keeps. */
struct hnd_counters {
        uint64_t events[HN_EV_TYPE_MAX][2]; /* [type][denied] */
        uint64_t cross_slice[HN_EV_TYPE_MAX];
        uint64_t resyncs;
        uint64_t tampered; /* ticks that found the programs' state changed behind our back */
        uint64_t api_requests[HND_API_MAX_CALLS], api_errors[HND_API_MAX_CALLS];
        uint64_t api_refused; /* calls refused for who the caller is */
        /* Refusals recorded one by one, at most HND_REFUSED_PER_SEC a
         * second: any local user can be refused, and must not be able to
         * fill the audit log. The rest are counted into one record. */
        uint64_t refused_window_usec;
        unsigned refused_in_window;
        uint64_t refused_suppressed;
};

struct hnd_metrics_out;

struct hnd_daemon {
        struct hnd_config cfg;
        const char *config_path;
        bool config_given;
        char pin_note[512]; /* why the programs are not pinned, if they are not */
        struct hnd_limits *limits;
        struct hnd_mounts mounts;
        struct hnd_api api;
        struct hnd_metrics_out *metrics; /* metrics.c's */
        struct hnd_sink sink;
        /* The service's own manager (it owns no slice), and one per owner
         * through which API callers act: the library then refuses another
         * owner's slice (RI1) exactly as it would in the agent itself. */
        struct hn_cgroup_manager *cgroups;
        struct hn_cgroup_manager *pact_cgroups, *workload_cgroups;
        struct hn_emergency *emergency;
        struct hn_monitor *monitor;
        uint64_t lost[HN_EV_TYPE_MAX];
        struct hnd_counters counters;
        struct hnd_repeats repeats; /* the loop's */
        bool emergency_active;
        uint64_t emergency_expires; /* as the programs were last told: unix seconds, 0 none */
        const char *mode;
        char mode_why[512];
        uint64_t started_unix_usec;
        pid_t pid; /* its own, for status: read once, not a system call a call */
        int exit_code;
};

/* What the slices' and images' views (tree.h) read of the daemon. */
static inline struct hnd_tree_src hnd_tree_src_of(struct hnd_daemon *d) {
        return (struct hnd_tree_src){ .cgroups = d->cgroups,
                                      .mounts = d->mounts.manager,
                                      .owners = &d->mounts.owners,
                                      .emergency = d->emergency };
}

/* The emergency as the library holds it, told to the programs (with its
 * deadline) when it changed. */
void hnd_emergency_sync(struct hnd_daemon *d);
/* The self guard's files: the emergency key, the audit log (again after
 * it is reopened), and the pins. */
int hnd_protect_own_files(struct hnd_daemon *d, struct hn_error *err);

#endif
