/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SIGHUP: the audit log reopened, the identities reloaded, and every
 * other key that changed named as needing a restart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "daemon.h"
#include "daemon_reload.h"
#include "daemon_setup.h"
#include "macro.h"

int hnd_on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct hnd_daemon *d = userdata;
        struct hn_error err = { 0 };
        (void) s, (void) si;
        int r = hnd_sink_reopen(&d->sink);
        hnd_sink_note(&d->sink, "audit_log.reopened", r < 0 ? strerror(-r) : d->sink.path, LOG_INFO);
        if (r >= 0 && hnd_protect_own_files(d, &err) < 0) /* the new file, not the rotated one */
                hnd_sink_note(&d->sink, "self_guard.failed", err.message, LOG_ERR);
        _cleanup_free_ struct hnd_config *next = malloc(sizeof(*next));
        if (!next)
                return 0;
        hnd_config_default(next);
        if (hnd_config_load(d->config_path, d->config_given, next, &err) < 0 || hnd_apply_identities(d, next, &err) < 0) {
                hnd_sink_note(&d->sink, "config.reload_failed", err.message, LOG_ERR);
                return 0;
        }
        char ignored[512], detail[1024];
        hnd_config_restart_keys(&d->cfg, next, ignored, sizeof(ignored));
        snprintf(detail, sizeof(detail), "%s: %u identities%s%s", d->config_path, next->n_identities,
                 ignored[0] ? "; needs a restart to apply: " : "", ignored);
        memcpy(d->cfg.identities, next->identities, sizeof(next->identities));
        d->cfg.n_identities = next->n_identities;
        memcpy(d->cfg.executable_uid, next->executable_uid, sizeof(next->executable_uid));
        hnd_sink_note(&d->sink, "config.reloaded", detail, LOG_NOTICE);
        return 0;
}
