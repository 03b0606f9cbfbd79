/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Refused calls in the audit trail: one api.refused record each, at most
 * HND_REFUSED_PER_SEC a second; the rest counted and summarised once their
 * second is over, so a stranger's burst cannot fill the log. */
#include <inttypes.h>
#include <stdio.h>
#include <syslog.h>

#include "api_calls.h"
#include "clock.h"
#include "daemon.h"

void hnd_api_refusals_flush(struct hnd_daemon *d) {
        struct hnd_counters *n = &d->counters;
        uint64_t now = monotonic_usec();
        if (now - n->refused_window_usec < 1000000u)
                return;
        if (n->refused_suppressed) {
                char text[128];
                snprintf(text, sizeof(text), "%" PRIu64 " more refusals, not recorded one by one (at most %u a second)",
                         n->refused_suppressed, HND_REFUSED_PER_SEC);
                hnd_sink_note(&d->sink, "api.refused_suppressed", text, LOG_WARNING);
        }
        n->refused_window_usec = now;
        n->refused_in_window = 0;
        n->refused_suppressed = 0;
}

/* One api.refused record, or counted into the summary once this second
 * has had HND_REFUSED_PER_SEC. */
void hnd_api_refusal_record(struct hnd_daemon *d, const char *detail) {
        struct hnd_counters *n = &d->counters;
        n->api_refused++;
        hnd_api_refusals_flush(d);
        if (n->refused_in_window++ < HND_REFUSED_PER_SEC)
                hnd_sink_note(&d->sink, "api.refused", detail, LOG_WARNING);
        else
                n->refused_suppressed++;
}
