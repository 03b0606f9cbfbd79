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
 * fdatasync'ed by a thread of the sink's own: the records
 * written while one sync runs share the next, and no thread that writes
 * records waits for the disk; a call's reply is held until its records
 * are on disk; reopened on SIGHUP so logrotate can move it),
 * the journal as structured fields, and stdout in the foreground. */
struct hnd_sink {
        /* The mount manager's hold timer writes from its own thread. */
        pthread_mutex_t lock;
        int fd;
        char path[PATH_MAX];
        bool fsync, journal, echo;
        bool unsynced;                /* written since the last fdatasync began */
        /* The group commit, under lock: the sync thread
         * fdatasyncs while syncing, synced_seq is the last record known
         * on disk; the loop, when it waits for one (loop_waiting), hears
         * of it through durable_efd. */
        pthread_t sync_thread;
        pthread_cond_t sync_wanted, synced;
        bool sync_running, sync_stop, syncing, loop_waiting;
        uint64_t synced_seq;
        int durable_efd;
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
/* The sync thread (AuditFsync with a log file; nothing otherwise). Until
 * it runs, and if it cannot, each sync is made on the thread that wants it. */
int hnd_sink_sync_start(struct hnd_sink *s, struct hn_error *err);
/* Waits until every record written so far is on disk (AuditFsync). */
void hnd_sink_sync(struct hnd_sink *s);
/* Whether record seq is on disk (or needs no sync); if not, durable_efd
 * is written once it is, and the caller asks again then. 0: none. */
bool hnd_sink_durable(struct hnd_sink *s, uint64_t seq);
/* The last record this thread wrote that waits for a sync since the last
 * take (0: none), and the count starts again. */
uint64_t hnd_sink_thread_seq_take(void);
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
