/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_DAEMON_LOOP_H
#define HND_DAEMON_LOOP_H

#include <stdbool.h>

#include <systemd/sd-event.h>

#include <hpcnode/event.h>

struct hnd_daemon;

/* The test-only knob (HPCNODED_TEST_WATCHDOG_STALL=1 in the environment,
 * read once at start): SIGUSR2 then stalls the event loop for good, so a
 * test sees WatchdogSec= restart a daemon whose loop stopped turning.
 * Without the variable SIGUSR2 keeps its default. */
#define HND_TEST_STALL_ENV "HPCNODED_TEST_WATCHDOG_STALL"

/* One kernel record: counted, a mount's acted on, into the sink. */
void hnd_on_event(const struct hn_event *e, void *userdata);
/* At a stop: every repeat still being counted, summarised now (its second
 * is not over), so that the trail has every act. */
void hnd_repeats_flush_all(struct hnd_daemon *d);
/* Before a mount pass: the kernel's records first, so drift has its actor. */
void hnd_drain_ring(void *userdata);
/* The loop's own sources, each checked: without the ring buffer's the
 * audit would go silent, without a signal's the daemon would not stop.
 * *ret_what names the one that failed. */
int hnd_loop_sources_add(sd_event *ev, struct hnd_daemon *d, bool test_stall, const char **ret_what);

#endif
