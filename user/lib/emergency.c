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

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <hpcnode/emergency.h>

#include "clock.h"
#include "cgroup_path.h"
#include "error_set.h"
#include "fileio.h"
#include "macro.h"

/* The state file holds four "key=value" lines and exists only while an
 * emergency is in force. Deadlines are wall-clock seconds: the state has to
 * mean the same thing after a restart, which a monotonic clock cannot.
 *
 * Sealed (hn_emergency_set_key): the state is this object's, and the file
 * only its copy for a restart, with a fifth line "seal=" (HMAC-SHA256 of
 * the four under the key). A file changed behind its back is tampering:
 * reported, ignored, and put back as it was; at start a file without a
 * valid seal is not honoured. */
struct hn_emergency {
        pthread_mutex_t lock;
        char path[PATH_MAX];
        hn_audit_fn audit_fn;
        void *audit_userdata;
        bool sealed;
        unsigned char key[HN_EMERGENCY_KEY_MAX];
        size_t key_len;
        bool in_force;                  /* sealed: the truth */
        struct hn_emergency_info truth; /* while in_force */
        char *written;                  /* sealed: the file's bytes as stored; NULL when there is no file */
};

static uint64_t now_unix(void) {
        return (uint64_t) time(NULL);
}

/* The window starts at the next whole second, so a declaration lasts at
 * least the seconds asked: a 1 s emergency declared at x.999 must not be
 * over at x+1.001. The deadline is whole seconds because the state file
 * and the guard's deadline (monitor_guard.c) are. */
static uint64_t next_whole_second(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec + (ts.tv_nsec > 0);
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

/* HMAC-SHA256 of text[0..len) under the key, in hex. */
static void seal_of(const struct hn_emergency *e, const char *text, size_t len, char hex[65]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (!HMAC(EVP_sha256(), e->key, (int) e->key_len, (const unsigned char *) text, len, md, &n) || n != 32) {
                memset(hex, 'x', 64); /* matches no seal: nothing is honoured */
                hex[64] = '\0';
                return;
        }
        for (unsigned i = 0; i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* 1 and *ret filled if text holds a state; -EBADMSG if it is malformed;
 * sealed, -EKEYREJECTED unless its last line is the seal of the others. */
static int parse(const struct hn_emergency *e, const char *whole, struct hn_emergency_info *ret) {
        _cleanup_free_ char *text = strdup(whole);
        if (!text)
                return -ENOMEM;
        struct hn_emergency_info info = { 0 };
        unsigned seen = 0;
        const char *seal = NULL;
        size_t sealed_len = 0;
        for (char *line = text; *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                if (seal)
                        return -EKEYREJECTED; /* nothing after the seal */
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
                        else if (strcmp(line, "seal") == 0)
                                seal = v, sealed_len = (size_t) (line - text);
                }
                if (!nl)
                        break;
                line = nl + 1;
        }
        if (e->sealed) {
                char want[65];
                seal_of(e, whole, sealed_len, want);
                if (!seal || strlen(seal) != 64 || CRYPTO_memcmp(seal, want, 64) != 0)
                        return -EKEYREJECTED;
        }
        /* A damaged file must not open the doors: treat it as malformed. */
        if (seen != 15 || info.expires_unix <= info.started_unix ||
            info.expires_unix - info.started_unix > HN_EMERGENCY_MAX_DURATION_SECS) /* no begin could have made it */
                return -EBADMSG;
        *ret = info;
        return 1;
}

/* The file's bytes (*ret NULL when there is none). */
static int read_state(const struct hn_emergency *e, char **ret) {
        char *text = NULL;
        int r = read_full_file_at(AT_FDCWD, e->path, &text, NULL);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        *ret = text;
        return 0;
}

/* 1 and *ret filled if the file holds a state, 0 if there is none. */
static int load(struct hn_emergency *e, struct hn_emergency_info *ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_state(e, &text);
        if (r < 0 || !text)
                return r;
        return parse(e, text, ret);
}

/* Written to a temporary file, synced, then renamed: a crash leaves the old
 * state or the new one, never half of one. */
static int store(struct hn_emergency *e, const struct hn_emergency_info *info) {
        char tmp[PATH_MAX + 8], body[2 * HN_EMERGENCY_TEXT_MAX + 160];
        int n = snprintf(body, sizeof(body), "actor=%s\nreason=%s\nstarted=%" PRIu64 "\nexpires=%" PRIu64 "\n",
                         info->actor, info->reason, info->started_unix, info->expires_unix);
        if (e->sealed) {
                char seal[65];
                seal_of(e, body, (size_t) n, seal);
                snprintf(body + n, sizeof(body) - (size_t) n, "seal=%s\n", seal);
        }
        _cleanup_free_ char *copy = strdup(body);
        if (!copy)
                return -ENOMEM;
        snprintf(tmp, sizeof(tmp), "%s.new", e->path);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (dprintf(fd, "%s", body) < 0 || fsync(fd) < 0) {
                int r = -errno;
                unlink(tmp);
                return r;
        }
        if (rename(tmp, e->path) < 0) {
                int r = -errno;
                unlink(tmp);
                return r;
        }
        free(e->written);
        e->written = take_ptr(&copy);
        return 0;
}

static int remove_state(struct hn_emergency *e) {
        if (unlink(e->path) < 0 && errno != ENOENT)
                return -errno;
        free(e->written);
        e->written = NULL;
        e->in_force = false;
        return 0;
}

/* Sealed: the file must be what this object last wrote. Anything else is
 * tampering (another process wrote, replaced or removed it): reported,
 * and the file put back as the truth has it. */
static int check_tampering(struct hn_emergency *e) {
        _cleanup_free_ char *text = NULL;
        int r = read_state(e, &text);
        if (r < 0)
                return r;
        if ((!text && !e->written) || (text && e->written && !strcmp(text, e->written)))
                return 0;
        audit(e, "emergency.state_tampered", HN_AUDIT_REFUSED, "unknown",
              text ? "the state file was written behind the manager's back: ignored, restored"
                   : "the state file was removed behind the manager's back: restored",
              EPERM);
        return e->in_force ? store(e, &e->truth) : remove_state(e);
}

/* With the lock held: 1 if in force, 0 if none; ends an expired one. */
static int current(struct hn_emergency *e, struct hn_emergency_info *ret) {
        struct hn_emergency_info info;
        int r;
        if (e->sealed) {
                if ((r = check_tampering(e)) < 0)
                        return r;
                if (!e->in_force)
                        return 0;
                info = e->truth;
        } else if ((r = load(e, &info)) <= 0)
                return r;
        if (now_unix() >= info.expires_unix) {
                if ((r = remove_state(e)) < 0)
                        return r;
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
        free(e->written);
        OPENSSL_cleanse(e->key, sizeof(e->key));
        pthread_mutex_destroy(&e->lock);
        free(e);
}

int hn_emergency_set_key(struct hn_emergency *e, const void *key, size_t len, struct hn_error *err) {
        if (!key || len < HN_EMERGENCY_KEY_MIN || len > HN_EMERGENCY_KEY_MAX)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid emergency key: %zu bytes, want %d..%d",
                                    len, HN_EMERGENCY_KEY_MIN, HN_EMERGENCY_KEY_MAX);
        pthread_mutex_lock(&e->lock);
        memcpy(e->key, key, len);
        e->key_len = len;
        e->sealed = true;
        e->in_force = false;
        free(e->written);
        e->written = NULL;
        char *text = NULL;
        struct hn_emergency_info info;
        int r = read_state(e, &text);
        if (r == 0 && text) {
                r = parse(e, text, &info);
                if (r > 0) { /* ours: honoured (current() ends it if expired) */
                        e->truth = info;
                        e->in_force = true;
                        e->written = text;
                        text = NULL;
                        r = 0;
                } else if (r == -EKEYREJECTED || r == -EBADMSG) {
                        audit(e, "emergency.state_tampered", HN_AUDIT_REFUSED, "unknown",
                              r == -EKEYREJECTED ? "the state file is not sealed by the manager: not honoured, removed"
                                                 : "the state file is malformed: not honoured, removed",
                              EPERM);
                        r = remove_state(e);
                }
        }
        free(text);
        pthread_mutex_unlock(&e->lock);
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "emergency state %s: %s", e->path, strerror(-r));
        return 0;
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
                info = (struct hn_emergency_info){ .started_unix = next_whole_second() };
                info.expires_unix = info.started_unix + duration_secs;
                snprintf(info.actor, sizeof(info.actor), "%s", actor);
                snprintf(info.reason, sizeof(info.reason), "%s", reason);
                r = store(e, &info);
                if (r < 0) {
                        audit(e, "emergency.begin", HN_AUDIT_FAILED, actor, reason, r);
                        r = hn_error_set(err, HN_ERR_IO, r, "emergency state %s: %s", e->path, strerror(-r));
                } else {
                        e->truth = info;
                        e->in_force = true;
                        audit(e, "emergency.begin", HN_AUDIT_DONE, actor, reason, 0);
                }
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
        else if ((r > 0 || r == -EBADMSG) && (r = remove_state(e)) == 0)
                audit(e, "emergency.end", HN_AUDIT_DONE, actor, "ended", 0);
        else {
                r = hn_error_set(err, HN_ERR_IO, r, "emergency state %s: %s", e->path, strerror(-r));
        }
        pthread_mutex_unlock(&e->lock);
        return r;
}

int hn_emergency_active(struct hn_emergency *e, struct hn_emergency_info *ret_info, struct hn_error *err) {
        if (!e)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: no emergency");
        pthread_mutex_lock(&e->lock);
        int r = current(e, ret_info);
        pthread_mutex_unlock(&e->lock);
        /* An unreadable or malformed state never opens the doors. */
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "emergency state %s: %s", e->path, strerror(-r));
        return r > 0 ? 1 : 0;
}
