/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit stream to subscribers: records from any thread gathered under
 * a lock, handed to the loop by an eventfd, and written to each
 * subscriber; a gap is said, a subscriber too slow is told and dropped. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_client.h"
#include "api_state.h"
#include "api_stream.h"

/* Any thread: queued for the loop. */
void hnd_api_tap(const char *line, size_t len, void *userdata) {
        struct hnd_api *a = userdata;
        pthread_mutex_lock(&a->tap_lock);
        if (a->n_subscribers) {
                size_t cap = a->tap_len + len + 1;
                char *p = a->tap_len + len + 1 <= HND_API_STREAM_BACKLOG ? realloc(a->tap_buf, cap) : NULL;
                if (p) {
                        a->tap_buf = p;
                        memcpy(p + a->tap_len, line, len);
                        p[a->tap_len + len] = '\n';
                        a->tap_len += len + 1;
                } else
                        a->tap_lost++;
                uint64_t one = 1;
                (void) !write(a->tap_efd, &one, sizeof(one));
        }
        pthread_mutex_unlock(&a->tap_lock);
}

int api_stream_on_tap(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct hnd_api *a = userdata;
        uint64_t v;
        (void) s, (void) revents;
        (void) !read(fd, &v, sizeof(v));
        pthread_mutex_lock(&a->tap_lock);
        char *buf = a->tap_buf;
        size_t len = a->tap_len;
        uint64_t lost = a->tap_lost;
        a->tap_buf = NULL;
        a->tap_len = 0;
        a->tap_lost = 0;
        pthread_mutex_unlock(&a->tap_lock);
        char gap[128];
        int gap_len = snprintf(gap, sizeof(gap), "{\"event\":\"subscribe.gap\",\"lost\":%llu}",
                               (unsigned long long) lost);
        for (struct hnd_api_client *c = a->clients, *next; c; c = next) {
                next = c->next;
                if (!c->subscriber || c->closing)
                        continue;
                /* A subscriber that cannot keep up is told and dropped: a
                 * stream with a silent hole would be worse. */
                if (c->out_len - c->out_off + len > HND_API_STREAM_BACKLOG) {
                        api_client_queue_error(c, HN_ERR_IO, ENOBUFS, "subscriber too slow: records would be lost");
                        c->closing = true;
                        a->dropped_subscribers++;
                } else {
                        if (lost)
                                api_client_queue_line(c, gap, (size_t) gap_len);
                        if (len && api_buf_append(&c->out, &c->out_len, &c->out_cap, buf, len) < 0)
                                c->closing = true;
                }
                (void) api_client_flush(c);
        }
        free(buf);
        return 0;
}
