/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal local control path until the socket API exists: one line in,
 * one line out, root only (SO_PEERCRED), on a stream socket.
 *   acquire IMAGE ALLOCATION  ->  ok BIND_PATH   | error MESSAGE
 *   release IMAGE ALLOCATION  ->  ok             | error MESSAGE
 *   reconcile                 ->  ok N           (drifts found)
 * Every call is audited by the managers; the mount table changes it makes
 * are the manager's own, never drift. */
#ifndef HND_CONTROL_H
#define HND_CONTROL_H

#include <systemd/sd-event.h>

#include "mount_watch.h"

struct hnd_control {
        int fd;
        char path[4096];
        sd_event_source *src;
        struct hnd_mounts *mounts;
};

int hnd_control_start(struct hnd_control *c, sd_event *ev, const char *path, struct hnd_mounts *mounts,
                      struct hn_error *err);
void hnd_control_stop(struct hnd_control *c);

#endif
