/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The emergency calls: begin, end, status (RI3's window, F31). */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "api_handlers.h"
#include "caller.h"
#include "daemon.h"
#include "error_set.h"

void api_emergency_json(struct hnd_daemon *d, json_object *o) {
        struct hn_emergency_info info;
        bool active = hn_emergency_active(d->emergency, &info, NULL) > 0;
        json_object_object_add(o, "active", json_object_new_boolean(active));
        if (!active)
                return;
        uint64_t now = (uint64_t) time(NULL);
        json_object_object_add(o, "actor", json_object_new_string(info.actor));
        json_object_object_add(o, "reason", json_object_new_string(info.reason));
        json_object_object_add(o, "started", json_object_new_int64((int64_t) info.started_unix));
        json_object_object_add(o, "expires", json_object_new_int64((int64_t) info.expires_unix));
        json_object_object_add(o, "remaining_s",
                               json_object_new_int64(info.expires_unix > now ? (int64_t) (info.expires_unix - now) : 0));
}

/* Who declared it: the name the client gives (its login), and what the
 * kernel says the caller is; the name alone proves nothing. */
static void actor_of(const struct hnd_caller *c, const char *name, char *buf, size_t size) {
        snprintf(buf, size, "%.64s (uid %u, pid %d, %.128s)", name && *name ? name : "unnamed", (unsigned) c->uid,
                 (int) c->pid, c->exe[0] ? c->exe : "?");
}

int hnd_call_emergency_begin(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                             json_object *result, struct hn_error *err) {
        const char *reason, *name;
        uint64_t duration = 0;
        char actor[HN_EMERGENCY_TEXT_MAX + 1];
        int r;
        if ((r = api_arg_str(args, "reason", true, &reason, err)) < 0 ||
            (r = api_arg_str(args, "actor", false, &name, err)) < 0 ||
            (r = api_arg_u64(args, "duration_s", HN_EMERGENCY_MAX_DURATION_SECS, &duration, err)) < 0)
                return r;
        if (!duration)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "missing argument \"duration_s\" (1..%u)",
                                    HN_EMERGENCY_MAX_DURATION_SECS);
        actor_of(c, name, actor, sizeof(actor));
        if ((r = hn_emergency_begin(d->emergency, actor, reason, (uint32_t) duration, err)) < 0)
                return r;
        hnd_emergency_sync(d);
        api_emergency_json(d, result);
        return 0;
}

int hnd_call_emergency_end(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                           json_object *result, struct hn_error *err) {
        const char *name;
        char actor[HN_EMERGENCY_TEXT_MAX + 1];
        int r = api_arg_str(args, "actor", false, &name, err);
        if (r < 0)
                return r;
        actor_of(c, name, actor, sizeof(actor));
        if ((r = hn_emergency_end(d->emergency, actor, err)) < 0)
                return r;
        hnd_emergency_sync(d);
        api_emergency_json(d, result);
        return 0;
}

int hnd_call_emergency_status(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                              json_object *result, struct hn_error *err) {
        (void) c, (void) args, (void) err;
        api_emergency_json(d, result);
        return 0;
}
