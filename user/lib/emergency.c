/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hpcnode/emergency.h>

#include "clock.h"
#include "cgroup_path.h"
#include "error_set.h"
#include "fileio.h"
#include "macro.h"

/* The state file holds four "key=value" lines and exists only while an
 * emergency is in force. Deadlines are wall-clock seconds: the state has to
 * mean the same thing after a restart, which a monotonic clock cannot. */
struct hn_emergency {
        pthread_mutex_t lock;
        char path[PATH_MAX];
        hn_audit_fn audit_fn;
        void *audit_userdata;
};

static uint64_t now_unix(void) {
        return (uint64_t) time(NULL);
}

static void audit(struct hn_emergency *e, const char *action, enum hn_audit_outcome outcome, const char *actor,
                  const char *detail, int sys_errno) {
        if (!e->audit_fn)
                return;
        struct hn_audit_record rec = {
                .action = action,
                .outcome = outcome,
                .path = e->path,
                .actor = actor,
                .detail = detail,
                .sys_errno = sys_errno < 0 ? -sys_errno : sys_errno,
                .emergency = true,
                .realtime_ns = realtime_now_ns(),
        };
        e->audit_fn(&rec, e->audit_userdata);
}

static int check_text(const char *what, const char *s, struct hn_error *err) {
        if (!s || !*s)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid emergency %s: empty", what);
        if (strlen(s) > HN_EMERGENCY_TEXT_MAX)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid emergency %s: over %d bytes",
                                    what, HN_EMERGENCY_TEXT_MAX);
        if (has_control_chars(s))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid emergency %s: contains a control character", what);
        return 0;
}

/* 1 and *ret filled if the file holds a state, 0 if there is none. */
static int load(struct hn_emergency *e, struct hn_emergency_info *ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_full_file_at(AT_FDCWD, e->path, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        struct hn_emergency_info info = { 0 };
        unsigned seen = 0;
        for (char *line = text; *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                char *eq = strchr(line, '=');
                if (eq) {
                        *eq = '\0';
                        const char *v = eq + 1;
                        if (strcmp(line, "actor") == 0 && strlen(v) <= HN_EMERGENCY_TEXT_MAX)
                                strcpy(info.actor, v), seen |= 1;
                        else if (strcmp(line, "reason") == 0 && strlen(v) <= HN_EMERGENCY_TEXT_MAX)
                                strcpy(info.reason, v), seen |= 2;
                        else if (strcmp(line, "started") == 0)
                                info.started_unix = strtoull(v, NULL, 10), seen |= 4;
                        else if (strcmp(line, "expires") == 0)
                                info.expires_unix = strtoull(v, NULL, 10), seen |= 8;
                }
                if (!nl)
                        break;
                line = nl + 1;
        }
        /* A damaged file must not open the doors: treat it as malformed. */
        if (seen != 15 || info.expires_unix <= info.started_unix ||
            info.expires_unix - info.started_unix > HN_EMERGENCY_MAX_DURATION_SECS) /* no begin could have made it */
                return -EBADMSG;
        *ret = info;
        return 1;
}

/* Written to a temporary file, synced, then renamed: a crash leaves the old
 * state or the new one, never half of one. */
static int store(struct hn_emergency *e, const struct hn_emergency_info *info) {
        char tmp[PATH_MAX + 8];
        snprintf(tmp, sizeof(tmp), "%s.new", e->path);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (dprintf(fd, "actor=%s\nreason=%s\nstarted=%" PRIu64 "\nexpires=%" PRIu64 "\n", info->actor,
                    info->reason, info->started_unix, info->expires_unix) < 0 ||
            fsync(fd) < 0) {
                int r = -errno;
                unlink(tmp);
                return r;
        }
        if (rename(tmp, e->path) < 0) {
                int r = -errno;
                unlink(tmp);
                return r;
        }
        return 0;
}

/* With the lock held: 1 if in force, 0 if none; ends an expired one. */
static int current(struct hn_emergency *e, struct hn_emergency_info *ret) {
        struct hn_emergency_info info;
        int r = load(e, &info);
        if (r <= 0)
                return r;
        if (now_unix() >= info.expires_unix) {
                if (unlink(e->path) < 0 && errno != ENOENT)
                        return -errno;
                audit(e, "emergency.end", HN_AUDIT_DONE, info.actor, "expired", 0);
                return 0;
        }
        if (ret)
                *ret = info;
        return 1;
}

int hn_emergency_new(const char *state_path, struct hn_emergency **ret, struct hn_error *err) {
        if (!state_path)
                state_path = HN_EMERGENCY_DEFAULT_STATE_PATH;
        if (!ret)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ret is NULL");
        if (state_path[0] != '/' || strlen(state_path) >= PATH_MAX - 8)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid emergency state path \"%s\": must be absolute", state_path);
        struct hn_emergency *e = calloc(1, sizeof(*e));
        if (!e)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "emergency: out of memory");
        pthread_mutex_init(&e->lock, NULL);
        snprintf(e->path, sizeof(e->path), "%s", state_path);
        /* A malformed file is not fatal here: it never counts as in force,
         * and the next begin replaces it. An unreadable one is. */
        struct hn_emergency_info info;
        int r = load(e, &info);
        if (r < 0 && r != -EBADMSG) {
                hn_emergency_free(e);
                return hn_error_set(err, HN_ERR_IO, r, "emergency state %s: %s", state_path, strerror(-r));
        }
        *ret = e;
        return 0;
}

void hn_emergency_free(struct hn_emergency *e) {
        if (!e)
                return;
        pthread_mutex_destroy(&e->lock);
        free(e);
}

void hn_emergency_set_audit(struct hn_emergency *e, hn_audit_fn fn, void *userdata) {
        pthread_mutex_lock(&e->lock);
        e->audit_fn = fn;
        e->audit_userdata = userdata;
        pthread_mutex_unlock(&e->lock);
}

int hn_emergency_begin(struct hn_emergency *e, const char *actor, const char *reason, uint32_t duration_secs,
                       struct hn_error *err) {
        int r = check_text("actor", actor, err);
        if (r < 0)
                return r;
        r = check_text("reason", reason, err);
        if (r < 0)
                return r;
        if (duration_secs == 0 || duration_secs > HN_EMERGENCY_MAX_DURATION_SECS)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid emergency duration %" PRIu32 " s: must be 1..%u", duration_secs,
                                    HN_EMERGENCY_MAX_DURATION_SECS);

        pthread_mutex_lock(&e->lock);
        struct hn_emergency_info info;
        r = current(e, &info);
        if (r > 0) {
                audit(e, "emergency.begin", HN_AUDIT_REFUSED, actor, "another emergency is in force", EBUSY);
                r = hn_error_set(err, HN_ERR_PERMISSION_DENIED, EBUSY,
                                 "emergency already in force: declared by %s (%s), expires at %" PRIu64,
                                 info.actor, info.reason, info.expires_unix);
        } else if (r == 0 || r == -EBADMSG) {
                /* A malformed file is replaced by the new declaration. */
                info = (struct hn_emergency_info){ .started_unix = now_unix() };
                info.expires_unix = info.started_unix + duration_secs;
                snprintf(info.actor, sizeof(info.actor), "%s", actor);
                snprintf(info.reason, sizeof(info.reason), "%s", reason);
                r = store(e, &info);
                if (r < 0) {
                        audit(e, "emergency.begin", HN_AUDIT_FAILED, actor, reason, r);
                        r = hn_error_set(err, HN_ERR_IO, r, "emergency state %s: %s", e->path, strerror(-r));
                } else
                        audit(e, "emergency.begin", HN_AUDIT_DONE, actor, reason, 0);
        } else
                r = hn_error_set(err, HN_ERR_IO, r, "emergency state %s: %s", e->path, strerror(-r));
        pthread_mutex_unlock(&e->lock);
        return r;
}

int hn_emergency_end(struct hn_emergency *e, const char *actor, struct hn_error *err) {
        int r = check_text("actor", actor, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&e->lock);
        r = current(e, NULL);
        if (r == 0)
                r = hn_error_set(err, HN_ERR_NOT_FOUND, ENOENT, "no emergency in force");
        else if ((r > 0 || r == -EBADMSG) && unlink(e->path) == 0) {
                audit(e, "emergency.end", HN_AUDIT_DONE, actor, "ended", 0);
                r = 0;
        } else {
                r = r < 0 && r != -EBADMSG ? r : -errno;
                r = hn_error_set(err, HN_ERR_IO, r, "emergency state %s: %s", e->path, strerror(-r));
        }
        pthread_mutex_unlock(&e->lock);
        return r;
}

int hn_emergency_active(struct hn_emergency *e, struct hn_emergency_info *ret_info) {
        pthread_mutex_lock(&e->lock);
        int r = current(e, ret_info);
        pthread_mutex_unlock(&e->lock);
        /* An unreadable or malformed state never opens the doors. */
        return r > 0 ? 1 : r == 0 ? 0 : r;
}
