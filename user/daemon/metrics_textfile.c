/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* MetricsTextfile=, every MetricsIntervalSec: what the loop keeps is
 * rendered on the loop (microseconds), the walk of the slices and the file
 * on a thread of its own, so that a scrape at thousands of scopes holds
 * no call. One write at a time: an interval that finds the last one still
 * running is skipped. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon.h"
#include "error_set.h"
#include "macro.h"
#include "metrics.h"
#include "timer.h"

struct hnd_metrics_out {
        struct hnd_daemon *d;
        sd_event_source *textfile_timer;
        /* the loop's: a writer runs, to be joined */
        pthread_t writer;
        bool writing;
        /* the writer's, handed over by the loop before it starts */
        struct hnd_tree_src src;
        char path[PATH_MAX];
        char *kept; /* the loop's part of the exposition */
        /* the writer's alone (one at a time; joined before the next) */
        uint64_t writes, errors;
        bool dir_missing; /* said once, not every interval */
};

/* text to path, atomically: a scrape never sees half a file. */
static int textfile_write(const char *path, const char *text) {
        char tmp[PATH_MAX];
        uint64_t nonce;
        if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t) sizeof(nonce))
                return -errno;
        /* a name nobody can guess, made new: no symlink or file planted
         * there beforehand is followed or truncated */
        if ((size_t) snprintf(tmp, sizeof(tmp), "%s.%016" PRIx64 ".tmp", path, nonce) >= sizeof(tmp))
                return -ENAMETOOLONG;
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        size_t len = strlen(text);
        if (write(fd, text, len) != (ssize_t) len || rename(tmp, path) < 0) {
                int r = -errno;
                (void) unlink(tmp);
                return r ? r : -EIO;
        }
        return 0;
}

static void *textfile_writer(void *arg) {
        struct hnd_metrics_out *o = arg;
        _cleanup_free_ char *text = NULL;
        int r = hnd_metrics_complete(&o->src, o->kept, &text);
        if (r >= 0)
                r = textfile_write(o->path, text);
        free(o->kept);
        o->kept = NULL;
        struct hnd_sink *sink = &o->d->sink; /* notes are thread-safe */
        if (r == -ENOENT) {
                if (!o->dir_missing)
                        hnd_sink_note(sink, "metrics.textfile_skipped",
                                      "the directory of MetricsTextfile= does not exist (no node exporter here?)",
                                      LOG_INFO);
                o->dir_missing = true;
        } else if (r < 0) {
                o->errors++;
                char detail[PATH_MAX + 64];
                snprintf(detail, sizeof(detail), "%s: %s", o->path, strerror(-r));
                hnd_sink_note(sink, "metrics.textfile_failed", detail, LOG_WARNING);
        } else {
                o->writes++;
                o->dir_missing = false;
        }
        return NULL;
}

static int on_textfile(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hnd_metrics_out *o = userdata;
        struct hnd_daemon *d = o->d;
        uint64_t next = usec + (uint64_t) d->cfg.metrics_interval_secs * 1000000u;
        if (o->writing) {
                if (pthread_tryjoin_np(o->writer, NULL) == EBUSY)
                        return hnd_timer_arm(s, next);
                o->writing = false;
        }
        if (hnd_metrics_render_kept(d, &o->kept) < 0)
                return hnd_timer_arm(s, next);
        o->src = hnd_tree_src_of(d);
        snprintf(o->path, sizeof(o->path), "%s", d->cfg.metrics_textfile);
        o->writing = pthread_create(&o->writer, NULL, textfile_writer, o) == 0;
        if (!o->writing)
                (void) textfile_writer(o); /* no thread to be had: here, once */
        return hnd_timer_arm(s, next);
}

int hnd_metrics_start(sd_event *ev, struct hnd_daemon *d, struct hnd_metrics_out **ret, struct hn_error *err) {
        struct hnd_metrics_out *o = calloc(1, sizeof(*o));
        if (!o)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        o->d = d;
        if (d->cfg.metrics_textfile[0]) {
                uint64_t now;
                sd_event_now(ev, CLOCK_MONOTONIC, &now);
                int r = sd_event_add_time(ev, &o->textfile_timer, CLOCK_MONOTONIC, now, 1000000, on_textfile, o);
                if (r < 0) {
                        free(o);
                        return hn_error_set(err, HN_ERR_IO, -r, "MetricsTextfile: %s", strerror(-r));
                }
        }
        *ret = o;
        return 0;
}

void hnd_metrics_stop(struct hnd_metrics_out *o) {
        if (!o)
                return;
        sd_event_source_disable_unref(o->textfile_timer);
        if (o->writing)
                (void) pthread_join(o->writer, NULL);
        free(o);
}
