/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_AUDIT_SINK_H
#define HND_AUDIT_SINK_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <hpcnode/audit.h>
#include <hpcnode/event.h>
#include <hpcnode/mount.h>

#include "audit_chain.h"
#include "config.h"
#include "limits_watch.h"

/* Where every record goes: JSON lines appended to a file (with AuditFsync,
 * fdatasync'ed once per batch: hnd_sink_sync() runs before the daemon's
 * loop waits again, so a record is on disk before the daemon sleeps, and a
 * burst pays one sync, not one per record (a record from the hold timer's
 * thread waits for the loop's next turn, a second at most); reopened on
 * SIGHUP so logrotate can move it),
 * the journal as structured fields, and stdout in the foreground. */
struct hnd_sink {
        /* The mount manager's hold timer writes from its own thread. */
        pthread_mutex_t lock;
        int fd;
        char path[PATH_MAX];
        bool fsync, journal, echo;
        bool unsynced;                /* written since the last fdatasync */
        const char *mode;             /* "audit" or "enforce" */
        char cgroup_mount[PATH_MAX];  /* event paths are below it */
        int cgroup_mount_fd;          /* open on it: a record's cgroup named with nothing opened */
        /* Where an allocation is named in a path (hnd_sink_set_places):
         * "<root>/workload.slice/" and "<WorkdirBase>/", "" until set. */
        char workload_dir[PATH_MAX], workdir_base[PATH_MAX];
        char host[256];               /* gethostname at open and each reopen */
        uint64_t records, failures;
        struct audit_chain chain; /* the last record's seq and hash */
        /* Every record line, also handed here (API subscribers); called
         * with the sink locked, from the thread making the record. */
        void (*tap)(const char *line, size_t len, void *userdata);
        void *tap_userdata;
};

struct hnd_caller;
/* The API client whose call is running on this thread, named in the
 * library's records and the daemon's notes until reset with NULL. */
void hnd_sink_set_client(const struct hnd_caller *c);

int hnd_sink_open(struct hnd_sink *s, const struct hnd_config *cfg, const char *cgroup_mount, bool echo,
                  struct hn_error *err);
/* The hierarchy's root and the bind base, so that records name the
 * allocation a path belongs to. */
void hnd_sink_set_places(struct hnd_sink *s, const char *cgroup_root, const char *workdir_base);
/* A new file at the same path (log rotation, SIGHUP); the host name read again. */
int hnd_sink_reopen(struct hnd_sink *s);
/* fdatasync of what was written since the last one (AuditFsync). */
void hnd_sink_sync(struct hnd_sink *s);
void hnd_sink_close(struct hnd_sink *s);
/* Where the chain stands: the last record's seq and hash. */
struct audit_chain hnd_sink_chain(struct hnd_sink *s);

/* A kernel record from the ring buffer. mount_path: the resolved target
 * of a mount record (NULL for the others). */
void hnd_sink_event(struct hnd_sink *s, const struct hn_event *e, const char *mount_path);
/* A record from the library's audit callback (cgroup/mount managers, emergency). */
void hnd_sink_library(const struct hn_audit_record *r, void *sink);
/* A changed limit seen by the reconciler: unattributed, so an alert. */
void hnd_sink_limit_changed(struct hnd_sink *s, const struct hnd_limit_change *c);
/* A mount drift found by the reconciler (an alert). */
void hnd_sink_drift(struct hnd_sink *s, const struct hn_drift *d, const struct hn_event *actor);
/* The daemon's own: start, stop, mode, resync. detail may be NULL. */
void hnd_sink_note(struct hnd_sink *s, const char *event, const char *detail, int priority);

#endif
