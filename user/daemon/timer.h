/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_TIMER_H
#define HND_TIMER_H

#include <stdint.h>
#include <systemd/sd-event.h>

/* Arms a timer source for usec (CLOCK_MONOTONIC). sd-event disables a
 * one-shot source before its callback runs, so setting the time alone
 * would never fire it again. */
static inline int hnd_timer_arm(sd_event_source *s, uint64_t usec) {
        int r = sd_event_source_set_time(s, usec);
        return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

#endif
