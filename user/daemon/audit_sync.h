/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sink's group commit, as the sink's own code uses it (audit_sync.c);
 * the daemon's side is in audit_sink.h. Each _locked one is called with
 * the sink's lock held. */
#ifndef HND_AUDIT_SYNC_H
#define HND_AUDIT_SYNC_H

#include <stdint.h>

struct hnd_sink;

/* Record seq was written and waits for a sync: the thread is woken. */
void sink_sync_want_locked(struct hnd_sink *s, uint64_t seq);
/* No sync running, and what was written is on disk: the file may be
 * closed or replaced. */
void sink_sync_quiesce_locked(struct hnd_sink *s);
/* The thread syncs what is left, then ends (nothing if it never ran). */
void sink_sync_stop(struct hnd_sink *s);

#endif
