/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_DAEMON_SETUP_H
#define HND_DAEMON_SETUP_H

#include <stdbool.h>
#include <stddef.h>

#include <hpcnode/error.h>

struct hnd_config;
struct hnd_daemon;

/* Everything before the loop, from d->cfg; *mode "enforce" or "audit" and
 * why. -1 with the cause on stderr (hnd_daemon_free() undoes what was
 * done). */
int hnd_daemon_setup(struct hnd_daemon *d, bool echo, char *why, size_t why_size, const char **mode);
/* Whatever setup got to, in reverse. */
void hnd_daemon_free(struct hnd_daemon *d);
/* The configured identities, as the monitor takes them; cgroup subtrees
 * are relative to the root. */
int hnd_apply_identities(struct hnd_daemon *d, const struct hnd_config *cfg, struct hn_error *err);

#endif
