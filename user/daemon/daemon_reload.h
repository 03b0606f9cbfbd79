/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_DAEMON_RELOAD_H
#define HND_DAEMON_RELOAD_H

#include <systemd/sd-event.h>

/* SIGHUP: reopen the audit log (logrotate) and reload the identities. A
 * bad file changes nothing and says why. */
int hnd_on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata);

#endif
