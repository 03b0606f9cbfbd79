/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hold timer (WI3): after an image's last release it stays mounted for
 * the hold time, so the next job that wants it finds it; the manager's own
 * thread unmounts it at the deadline unless an acquire came first. */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "clock.h"
#include "mount_internal.h"

void image_start_hold(struct hn_mount_manager *m, struct image *img) {
        img->deadline_usec = monotonic_usec() + (uint64_t) m->hold_secs * 1000000u;
        if (img->deadline_usec == 0)
                img->deadline_usec = 1;
        pthread_cond_signal(&m->wake);
}

void *mount_hold_main(void *arg) {
        struct hn_mount_manager *m = arg;
        pthread_mutex_lock(&m->lock);
        while (!m->stop) {
                uint64_t now = monotonic_usec(), next = 0;
                for (struct image *img = m->images, *after; img; img = after) {
                        after = img->next;
                        if (img->foreign || img->n_holders > 0 || img->deadline_usec == 0)
                                continue;
                        if (img->deadline_usec <= now)
                                image_unmount(m, img, "hold expired");
                        else if (!next || img->deadline_usec < next)
                                next = img->deadline_usec;
                }
                /* image_unmount may have re-armed a failed one */
                for (struct image *img = m->images; img; img = img->next)
                        if (!img->foreign && !img->n_holders && img->deadline_usec &&
                            (!next || img->deadline_usec < next))
                                next = img->deadline_usec;
                if (!next) {
                        pthread_cond_wait(&m->wake, &m->lock);
                        continue;
                }
                struct timespec ts = { .tv_sec = (time_t) (next / 1000000u),
                                       .tv_nsec = (long) (next % 1000000u) * 1000 };
                pthread_cond_timedwait(&m->wake, &m->lock, &ts);
        }
        pthread_mutex_unlock(&m->lock);
        return NULL;
}

