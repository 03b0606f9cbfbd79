/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit log's group commit. One thread fdatasyncs the log while the
 * others go on: the records written during one sync share the next, the
 * event loop never waits for the disk, and a worker writing a record never
 * waits behind a sync (the sink's lock is not held across it). A call's
 * reply is held until its records are on disk (hnd_sink_durable); the
 * loop hears that they are through durable_efd. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "audit_sink.h"
#include "audit_sync.h"
#include "error_set.h"

/* The last record this thread wrote that waits for a sync. */
static __thread uint64_t thread_seq;

uint64_t hnd_sink_thread_seq_take(void) {
        uint64_t seq = thread_seq;
        thread_seq = 0;
        return seq;
}

/* Everything written, and not yet synced, is on disk when this returns:
 * nothing waits for a sync, or one in progress covers it. */
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

void sink_sync_want_locked(struct hnd_sink *s, uint64_t seq) {
        s->unsynced = true;
        thread_seq = seq;
        if (s->sync_running && !s->syncing)
                pthread_cond_signal(&s->sync_wanted);
}

void sink_sync_quiesce_locked(struct hnd_sink *s) {
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
        pthread_mutex_lock(&s->lock);
        s->durable_efd = efd;
        int r = pthread_create(&s->sync_thread, NULL, sync_main, s);
        s->sync_running = r == 0;
        pthread_mutex_unlock(&s->lock);
        if (r != 0) {
                pthread_mutex_lock(&s->lock);
                s->durable_efd = -1;
                pthread_mutex_unlock(&s->lock);
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

void sink_sync_stop(struct hnd_sink *s) {
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
