/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit sink: the log file and its hash chain, the journal, the
 * subscribers' tap; each record written whole (sink_write_line) and
 * synced by the sink's own thread (the group commit). What each record
 * says is audit_records.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include <hpcnode/monitor.h>

#include "audit_chain.h"
#include "audit_line.h"
#include "audit_sink.h"
#include "caller.h"
#include "clock.h"
#include "error_set.h"
#include "json_strict.h"
#include "macro.h"

/* The group commit. One thread fdatasyncs the log while the others go
 * on: the records written during one sync share the next, the event loop
 * never waits for the disk, and a worker writing a record never waits
 * behind a sync (the lock is not held across it). A call's reply is held
 * until its records are on disk (hnd_sink_durable); the loop hears that
 * they are through durable_efd. Each _locked one is called with the
 * sink's lock held. */
/* The last record this thread wrote that waits for a sync. */
static __thread uint64_t thread_seq;

uint64_t hnd_sink_thread_seq_take(void) {
        uint64_t seq = thread_seq;
        thread_seq = 0;
        return seq;
}

/* Whether record seq is on disk: a sync has covered it, or no record
 * waits for one and none is running (a record whose write failed, or one
 * made without AuditFsync, waits for nothing). */
static bool all_durable_locked(const struct hnd_sink *s, uint64_t seq) {
        return s->synced_seq >= seq || (!s->unsynced && !s->syncing);
}

/* The loop, if it waits, is told of the progress (a write to an eventfd
 * does not block: the counter is far from its limit). */
static void tell_loop_locked(struct hnd_sink *s) {
        uint64_t one = 1;
        if (s->loop_waiting && s->durable_efd >= 0)
                (void) !write(s->durable_efd, &one, sizeof(one));
        s->loop_waiting = false;
}

/* A sync made here, on the calling thread (no sync thread, or the file is
 * about to be let go); the lock held across it. */
static void sync_inline_locked(struct hnd_sink *s) {
        if (s->unsynced && s->fd >= 0 && fdatasync(s->fd) < 0)
                s->failures++;
        s->unsynced = false;
        s->synced_seq = s->chain.seq;
        pthread_cond_broadcast(&s->synced);
        tell_loop_locked(s);
}

static void sink_sync_want_locked(struct hnd_sink *s, uint64_t seq) {
        s->unsynced = true;
        thread_seq = seq;
        if (s->sync_running && !s->syncing)
                pthread_cond_signal(&s->sync_wanted);
}

static void sink_sync_quiesce_locked(struct hnd_sink *s) {
        while (s->syncing)
                pthread_cond_wait(&s->synced, &s->lock);
        sync_inline_locked(s);
}

static void *sync_main(void *arg) {
        struct hnd_sink *s = arg;
        pthread_mutex_lock(&s->lock);
        for (;;) {
                while (!s->unsynced && !s->sync_stop)
                        pthread_cond_wait(&s->sync_wanted, &s->lock);
                if (!s->unsynced)
                        break; /* stopping, and nothing is left */
                uint64_t upto = s->chain.seq;
                int fd = s->fd; /* not closed while syncing: the sink waits (quiesce) */
                s->unsynced = false;
                s->syncing = true;
                pthread_mutex_unlock(&s->lock);
                int r = fd >= 0 ? fdatasync(fd) : 0;
                pthread_mutex_lock(&s->lock);
                if (r < 0)
                        s->failures++;
                s->syncing = false;
                s->synced_seq = upto;
                pthread_cond_broadcast(&s->synced);
                tell_loop_locked(s);
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

int hnd_sink_sync_start(struct hnd_sink *s, struct hn_error *err) {
        if (!s->fsync || s->fd < 0)
                return 0;
        int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "audit log %s: its sync thread's eventfd: %s", s->path,
                                    strerror(errno));
        /* under the lock: the thread reads these under it, once started */
        pthread_mutex_lock(&s->lock);
        int r = pthread_create(&s->sync_thread, NULL, sync_main, s);
        if (r == 0) {
                s->durable_efd = efd;
                s->sync_running = true;
        }
        pthread_mutex_unlock(&s->lock);
        if (r != 0) {
                close(efd);
                return hn_error_set(err, HN_ERR_IO, r, "audit log %s: its sync thread: %s", s->path, strerror(r));
        }
        (void) pthread_setname_np(s->sync_thread, "hpcnoded-sync");
        return 0;
}

void hnd_sink_sync(struct hnd_sink *s) {
        pthread_mutex_lock(&s->lock);
        uint64_t upto = s->chain.seq;
        if (!s->sync_running)
                sync_inline_locked(s);
        while (!all_durable_locked(s, upto)) {
                pthread_cond_signal(&s->sync_wanted);
                pthread_cond_wait(&s->synced, &s->lock);
        }
        pthread_mutex_unlock(&s->lock);
}

bool hnd_sink_durable(struct hnd_sink *s, uint64_t seq) {
        if (!seq)
                return true;
        pthread_mutex_lock(&s->lock);
        if (!s->sync_running)
                sync_inline_locked(s);
        bool durable = all_durable_locked(s, seq);
        if (!durable)
                s->loop_waiting = true;
        pthread_mutex_unlock(&s->lock);
        return durable;
}

static void sink_sync_stop(struct hnd_sink *s) {
        pthread_mutex_lock(&s->lock);
        bool running = s->sync_running;
        s->sync_stop = true;
        pthread_cond_signal(&s->sync_wanted);
        pthread_mutex_unlock(&s->lock);
        if (running)
                (void) pthread_join(s->sync_thread, NULL);
        pthread_mutex_lock(&s->lock);
        s->sync_running = false;
        if (s->durable_efd >= 0)
                close(s->durable_efd);
        s->durable_efd = -1;
        pthread_mutex_unlock(&s->lock);
}

/* Opened for appending only; a last line a crash cut short is closed
 * with a newline, so the next record is a line of its own (the broken one
 * stays, for audit verify to name). */
static int open_log(const char *path, bool partial) {
        if (!*path)
                return -1;
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                (void) mkdir(dir, 0750);
        }
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return -errno;
        if (partial && write(fd, "\n", 1) != 1) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* The node's name as the records carry it ("" if the kernel gave none). */
static void read_host(char *buf, size_t size) {
        if (gethostname(buf, size) < 0)
                buf[0] = '\0';
        buf[size - 1] = '\0';
}

int hnd_sink_open(struct hnd_sink *s, const struct hnd_config *cfg, const char *cgroup_mount, bool echo,
                  struct hn_error *err) {
        *s = (struct hnd_sink){ .lock = PTHREAD_MUTEX_INITIALIZER, .sync_wanted = PTHREAD_COND_INITIALIZER,
                                .synced = PTHREAD_COND_INITIALIZER, .durable_efd = -1,
                                .fd = -1, .cgroup_mount_fd = -1, .fsync = cfg->audit_fsync,
                                .journal = cfg->journal, .echo = echo,
                                .mode = "audit" };
        memcpy(s->chain.last, AUDIT_CHAIN_GENESIS, AUDIT_CHAIN_HEX);
        snprintf(s->path, sizeof(s->path), "%s", cfg->audit_log);
        snprintf(s->cgroup_mount, sizeof(s->cgroup_mount), "%s", cgroup_mount);
        read_host(s->host, sizeof(s->host));
        if (*s->path) {
                /* the chain goes on from the file's last record */
                bool partial = false;
                int r = audit_chain_resume(s->path, &s->chain, &partial);
                if (r < 0)
                        return hn_error_set(err, HN_ERR_IO, -r, "audit log %s: %s", s->path, strerror(-r));
                s->fd = open_log(s->path, partial);
                if (s->fd < 0)
                        return hn_error_set(err, HN_ERR_IO, -s->fd, "audit log %s: %s", s->path, strerror(-s->fd));
        }
        /* none ("" when the node has no cgroup2 mount): records name
         * cgroups by id */
        if (*cgroup_mount)
                s->cgroup_mount_fd = open(cgroup_mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return 0;
}

void hnd_sink_set_places(struct hnd_sink *s, const char *cgroup_root, const char *workdir_base) {
        snprintf(s->workload_dir, sizeof(s->workload_dir), "%s/" HN_SLICE_WORKLOAD_ROOT "/", cgroup_root);
        snprintf(s->workdir_base, sizeof(s->workdir_base), "%s/", workdir_base);
}

int hnd_sink_reopen(struct hnd_sink *s) {
        char host[sizeof(s->host)];
        read_host(host, sizeof(host));
        pthread_mutex_lock(&s->lock);
        memcpy(s->host, host, sizeof(host));
        pthread_mutex_unlock(&s->lock);
        if (!*s->path)
                return 0;
        int fd = open_log(s->path, false); /* a new file goes on with the chain where the old one ended */
        if (fd < 0)
                return fd;
        pthread_mutex_lock(&s->lock);
        sink_sync_quiesce_locked(s); /* what went to the old file is on disk before it is let go */
        if (s->fd >= 0)
                close(s->fd);
        s->fd = fd;
        pthread_mutex_unlock(&s->lock);
        return 0;
}

struct audit_chain hnd_sink_chain(struct hnd_sink *s) {
        pthread_mutex_lock(&s->lock);
        struct audit_chain c = s->chain;
        pthread_mutex_unlock(&s->lock);
        return c;
}

void hnd_sink_close(struct hnd_sink *s) {
        sink_sync_stop(s);
        hnd_sink_sync(s);
        if (s->fd >= 0)
                close(s->fd);
        s->fd = -1;
        if (s->cgroup_mount_fd >= 0)
                close(s->cgroup_mount_fd);
        s->cgroup_mount_fd = -1;
}

void sink_add_time(json_object *o, int64_t real_ns) {
        char buf[64];
        time_t secs = (time_t) (real_ns / 1000000000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, sizeof(buf) - n, ".%09" PRId64 "Z", real_ns % 1000000000);
        json_object_object_add(o, "time_ns", json_object_new_int64(real_ns));
        json_object_object_add(o, "time", json_object_new_string(buf));
}

static __thread const struct hnd_caller *current_client;

void hnd_sink_set_client(const struct hnd_caller *c) {
        current_client = c;
}

void sink_add_client(json_object *o) {
        if (current_client)
                json_object_object_add(o, "client", hnd_caller_json(current_client));
}

/* Each record: valid UTF-8 whatever the kernel named, then its place in
 * the chain (seq, and the previous line's hash), written whole with one
 * writev under the lock so the chain is the file's order. Returns its seq,
 * which its journal entry carries as HPCNODE_SEQ= (records made on two
 * threads may reach the journal in the other order). */
uint64_t sink_write_line(struct hnd_sink *s, json_object *o) {
        const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
        pthread_mutex_lock(&s->lock);
        json_object_object_add(o, "host", json_object_new_string(s->host));
        json_object_object_add(o, "seq", json_object_new_int64((int64_t) (s->chain.seq + 1)));
        json_object_object_add(o, "prev", json_object_new_string(s->chain.last));
        /* serialised once; again only for a name that was not UTF-8 */
        const char *text = json_object_to_json_string_ext(o, flags);
        size_t len = strlen(text);
        if (!json_utf8_valid(text, len) && json_utf8_repair(o)) {
                text = json_object_to_json_string_ext(o, flags);
                len = strlen(text);
        }
        s->chain.seq++;
        audit_chain_hash(text, len, s->chain.last);
        s->records++;
        if (s->fd >= 0) {
                struct iovec iov[2] = { { (void *) text, len }, { "\n", 1 } };
                if (writev(s->fd, iov, 2) != (ssize_t) len + 1)
                        s->failures++;
                else if (s->fsync)
                        sink_sync_want_locked(s, s->chain.seq);
        }
        if (s->echo) {
                fputs(text, stdout);
                fputc('\n', stdout);
                fflush(stdout);
        }
        if (s->tap)
                s->tap(text, len, s->tap_userdata);
        uint64_t seq = s->chain.seq;
        pthread_mutex_unlock(&s->lock);
        return seq;
}

void hnd_sink_note(struct hnd_sink *s, const char *event, const char *detail, int priority) {
        json_object *o = json_object_new_object();
        sink_add_time(o, (int64_t) realtime_now_ns());
        json_object_object_add(o, "event", json_object_new_string(event));
        if (detail)
                json_object_object_add(o, "detail", json_object_new_string(detail));
        json_object_object_add(o, "mode", json_object_new_string(s->mode));
        sink_add_client(o);
        uint64_t seq = sink_write_line(s, o);
        json_object_put(o);
        if (s->journal)
                sd_journal_send("MESSAGE=%s%s%s", event, detail ? ": " : "", detail ? detail : "",
                                "HPCNODE_SEQ=%" PRIu64, seq, "PRIORITY=%d",
                                priority, "HPCNODE_EVENT=%s", event, "HPCNODE_MODE=%s", s->mode, NULL);
}
