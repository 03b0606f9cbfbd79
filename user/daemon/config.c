/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hpcnode/cgroup.h>
#include <hpcnode/mount.h>

#include "config.h"
#include "error_set.h"
#include "macro.h"

void hnd_config_default(struct hnd_config *cfg) {
        *cfg = (struct hnd_config){
                .mode = HND_MODE_AUTO,
                .cgroup_root = "auto",
                .audit_log = "/var/log/hpcnode/audit.jsonl",
                .audit_fsync = true,
                .journal = true,
                .ringbuf_bytes = 256u * 1024u,
                .emergency_state = "/run/hpcnode/emergency",
                .bpf_pin_dir = "/sys/fs/bpf/hpcnode",
                .loss_check_ms = 1000,
                .attribution = HN_ATTRIBUTION_AUTO,
                .limit_check_ms = 2000,
                .uenv_base = HN_UENV_MOUNT_BASE,
                .workdir_base = HN_WORKDIR_BASE,
                .hold_time_secs = HN_DEFAULT_HOLD_TIME_SECS,
                .kill_timeout_ms = HN_CGROUP_DEFAULT_KILL_TIMEOUT_MS,
                .mount_check_ms = 1000,
                .mount_check_busy_ms = 10000,
                .control_socket = "/run/hpcnode/hpcnoded.sock",
                .api_request_timeout_ms = 5000,
                .api_idle_timeout_ms = 60000,
                .api_max_clients = 256,
                .metrics_textfile = "/var/lib/prometheus/node-exporter/hpcnode.prom",
                .metrics_interval_secs = 15,
        };
}

/* Mode= values, and the names the start record and --probe print: one
 * list, read both ways. */
static const struct {
        enum hnd_mode mode;
        const char *name;
} mode_names[] = { { HND_MODE_AUTO, "auto" }, { HND_MODE_ENFORCE, "enforce" }, { HND_MODE_AUDIT, "audit" } };

const char *hnd_mode_name(enum hnd_mode mode) {
        for (size_t i = 0; i < ELEMENTSOF(mode_names); i++)
                if (mode_names[i].mode == mode)
                        return mode_names[i].name;
        return "auto";
}

static char *strip(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = '\0';
        return s;
}

static int parse_bool(const char *v, bool *ret) {
        if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
                *ret = true;
        else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

static int parse_u32(const char *v, uint32_t *ret) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (errno || end == v || *end || n > UINT32_MAX || v[0] == '-')
                return -EINVAL;
        *ret = (uint32_t) n;
        return 0;
}

/* A string key's test of its value (the string is then copied whole). */
static bool path_ok(const char *v) {
        return *v == '/' && strlen(v) < PATH_MAX;
}

static bool path_or_empty_ok(const char *v) {
        return !*v || path_ok(v);
}

static bool cgroup_root_ok(const char *v) {
        return !strcmp(v, "auto") || path_or_empty_ok(v);
}

static int parse_mode(const char *v, int *ret) {
        for (size_t i = 0; i < ELEMENTSOF(mode_names); i++)
                if (!strcmp(v, mode_names[i].name)) {
                        *ret = (int) mode_names[i].mode;
                        return 0;
                }
        return -EINVAL;
}

static int parse_attribution(const char *v, int *ret) {
        enum hn_attribution a;
        int r = hn_attribution_from_name(v, &a, NULL);
        if (r < 0)
                return r;
        *ret = (int) a;
        return 0;
}

/* The keys of [hpcnoded], one row each: the one list the parser, the
 * fuzz target and the reload's diff read. Every one applies at start
 * only; SIGHUP applies the identities and names each of these that
 * changed (hnd_config_restart_keys). */
enum key_type { KEY_STRING, KEY_BOOL, KEY_U32, KEY_ENUM };
struct main_key {
        const char *name;
        enum key_type type;
        size_t offset, size;         /* the field in struct hnd_config */
        bool (*string_ok)(const char *v); /* KEY_STRING */
        uint32_t min, max;           /* KEY_U32: the range */
        bool off_ok, power_of_two;   /* KEY_U32: 0 (off) besides the range; only powers of two */
        int (*parse_enum)(const char *v, int *ret); /* KEY_ENUM */
        const char *why;             /* what it takes, for the error */
};

#define FIELD(f) .offset = offsetof(struct hnd_config, f), .size = sizeof(((struct hnd_config *) 0)->f)
static const struct main_key main_keys[] = {
        { "CgroupRoot", KEY_STRING, FIELD(cgroup_root), .string_ok = cgroup_root_ok,
          .why = "auto, an absolute path, or empty for the cgroup2 mount" },
        { "Mode", KEY_ENUM, FIELD(mode), .parse_enum = parse_mode, .why = "auto, enforce or audit" },
        { "AuditLog", KEY_STRING, FIELD(audit_log), .string_ok = path_or_empty_ok,
          .why = "an absolute path, or empty for none" },
        { "AuditFsync", KEY_BOOL, FIELD(audit_fsync), .why = "yes or no" },
        { "Journal", KEY_BOOL, FIELD(journal), .why = "yes or no" },
        { "RingBufferBytes", KEY_U32, FIELD(ringbuf_bytes), .min = 4096, .max = UINT32_MAX, .power_of_two = true,
          .why = "a power of two, at least 4096" },
        { "BpfPinDir", KEY_STRING, FIELD(bpf_pin_dir), .string_ok = path_or_empty_ok,
          .why = "an absolute path on bpffs, or empty for none" },
        { "EmergencyState", KEY_STRING, FIELD(emergency_state), .string_ok = path_ok, .why = "an absolute path" },
        { "LossCheckMSec", KEY_U32, FIELD(loss_check_ms), .min = 10, .max = 60000, .why = "10..60000" },
        { "Attribution", KEY_ENUM, FIELD(attribution), .parse_enum = parse_attribution,
          .why = "auto, lsm, tracepoint or off" },
        { "LimitCheckMSec", KEY_U32, FIELD(limit_check_ms), .min = 100, .max = 3600000, .off_ok = true,
          .why = "0 (off) or 100..3600000" },
        { "UenvBase", KEY_STRING, FIELD(uenv_base), .string_ok = path_ok, .why = "an absolute path" },
        { "WorkdirBase", KEY_STRING, FIELD(workdir_base), .string_ok = path_ok, .why = "an absolute path" },
        { "HoldTimeSec", KEY_U32, FIELD(hold_time_secs), .min = 0, .max = 86400, .why = "0..86400" },
        { "KillTimeoutMSec", KEY_U32, FIELD(kill_timeout_ms), .min = 100, .max = 600000, .why = "100..600000" },
        { "MountCheckMSec", KEY_U32, FIELD(mount_check_ms), .min = 100, .max = 600000, .why = "100..600000" },
        { "MountCheckBusyMSec", KEY_U32, FIELD(mount_check_busy_ms), .min = 100, .max = 600000,
          .why = "100..600000" },
        { "ControlSocket", KEY_STRING, FIELD(control_socket), .string_ok = path_or_empty_ok,
          .why = "an absolute path, or empty for none" },
        { "ApiRequestTimeoutMSec", KEY_U32, FIELD(api_request_timeout_ms), .min = 100, .max = 3600000,
          .why = "100..3600000" },
        { "ApiIdleTimeoutMSec", KEY_U32, FIELD(api_idle_timeout_ms), .min = 100, .max = 3600000,
          .why = "100..3600000" },
        { "ApiMaxClients", KEY_U32, FIELD(api_max_clients), .min = 1, .max = 4096, .why = "1..4096" },
        { "MetricsTextfile", KEY_STRING, FIELD(metrics_textfile), .string_ok = path_or_empty_ok,
          .why = "an absolute path, or empty for none" },
        { "MetricsIntervalSec", KEY_U32, FIELD(metrics_interval_secs), .min = 1, .max = 3600, .why = "1..3600" },
};
#undef FIELD

static int main_key(struct hnd_config *cfg, const char *key, const char *v, const char **why) {
        const struct main_key *k = NULL;
        for (size_t i = 0; i < ELEMENTSOF(main_keys) && !k; i++)
                if (!strcmp(main_keys[i].name, key))
                        k = &main_keys[i];
        if (!k && !strcmp(key, "MetricsListen")) {
                /* 0.3's HTTP exposition: gone, said so rather than "unknown" */
                *why = "nothing: it is gone (0.4); hpcnoded opens no network socket, let node_exporter's textfile "
                       "collector read MetricsTextfile=";
                return -EINVAL;
        }
        if (!k) {
                *why = "unknown key";
                return -ENOENT;
        }
        *why = k->why;
        void *field = (char *) cfg + k->offset;
        uint32_t n;
        int e;
        _Static_assert(sizeof(enum hnd_mode) == sizeof(int) && sizeof(enum hn_attribution) == sizeof(int),
                       "KEY_ENUM fields are ints");
        switch (k->type) {
        case KEY_STRING:
                if (!k->string_ok(v) || strlen(v) >= k->size)
                        return -EINVAL;
                memset(field, 0, k->size); /* whole: the reload's diff compares strings */
                memcpy(field, v, strlen(v));
                return 0;
        case KEY_BOOL:
                return parse_bool(v, field);
        case KEY_U32:
                if (parse_u32(v, &n) < 0)
                        return -EINVAL;
                if (!((n == 0 && k->off_ok) || (n >= k->min && n <= k->max)) || (k->power_of_two && (n & (n - 1))))
                        return -EINVAL;
                memcpy(field, &n, sizeof(n));
                return 0;
        case KEY_ENUM:
                if (k->parse_enum(v, &e) < 0)
                        return -EINVAL;
                memcpy(field, &e, sizeof(e));
                return 0;
        }
        return -EINVAL;
}

void hnd_config_restart_keys(const struct hnd_config *a, const struct hnd_config *b, char *buf, size_t size) {
        size_t used = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(main_keys); i++) {
                const struct main_key *k = &main_keys[i];
                const char *fa = (const char *) a + k->offset, *fb = (const char *) b + k->offset;
                bool differs = k->type == KEY_STRING ? strncmp(fa, fb, k->size) != 0 : memcmp(fa, fb, k->size) != 0;
                if (differs && used < size)
                        used += (size_t) snprintf(buf + used, size - used, "%s%s", used ? ", " : "", k->name);
        }
}

static int identity_key(struct hnd_config *cfg, enum hn_slice_owner owner, const char *key, const char *v,
                        const char **why) {
        struct hnd_identity id = { .owner = owner };
        uint32_t uid;
        if (!strcmp(key, "Executable")) {
                *why = "an absolute path";
                id.kind = HND_ID_EXE;
                if (!path_ok(v))
                        return -EINVAL;
                snprintf(id.value, sizeof(id.value), "%s", v);
        } else if (!strcmp(key, "ExecutableUid")) {
                /* the section's: an executable is its agent only when run
                 * by this uid (a copy run by anyone else is not) */
                *why = "a numeric uid";
                if (parse_u32(v, &uid) < 0 || uid == UINT32_MAX)
                        return -EINVAL;
                cfg->executable_uid[owner] = (uid_t) uid;
                return 0;
        } else if (!strcmp(key, "Uid")) {
                *why = "a numeric uid";
                id.kind = HND_ID_UID;
                if (parse_u32(v, &uid) < 0)
                        return -EINVAL;
                snprintf(id.value, sizeof(id.value), "%u", uid);
        } else if (!strcmp(key, "Cgroup")) {
                *why = "a cgroup path relative to the root";
                id.kind = HND_ID_CGROUP;
                if (!*v || *v == '/' || strstr(v, "..") || strlen(v) >= PATH_MAX)
                        return -EINVAL;
                snprintf(id.value, sizeof(id.value), "%s", v);
        } else {
                *why = "unknown key";
                return -ENOENT;
        }
        if (cfg->n_identities >= HND_MAX_IDENTITIES) {
                *why = "too many identities";
                return -E2BIG;
        }
        cfg->identities[cfg->n_identities++] = id;
        return 0;
}

#define CONFIG_LINE_MAX 65536

int hnd_config_load(const char *path, bool must_exist, struct hnd_config *cfg, struct hn_error *err) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && !must_exist)
                        return 0;
                return hn_error_set(err, HN_ERR_NOT_FOUND, errno, "%s: %s", path, strerror(errno));
        }
        struct hnd_config parsed = *cfg;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        enum { S_NONE, S_MAIN, S_PACT, S_WORKLOAD } section = S_NONE;
        /* whole lines, however long: a line is never split into two (the
         * tail of a long comment read as a key) */
        for (unsigned lineno = 1; (n = getline(&line, &cap, f)) >= 0; lineno++) {
                if (n > CONFIG_LINE_MAX)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, E2BIG,
                                            "%s:%u: line too long (%zd bytes; at most %d)", path, lineno, n,
                                            CONFIG_LINE_MAX);
                if (memchr(line, '\0', (size_t) n))
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "%s:%u: NUL byte in the line", path,
                                            lineno);
                char *s = strip(line);
                if (!*s || *s == '#' || *s == ';')
                        continue;
                if (*s == '[') {
                        if (!strcmp(s, "[hpcnoded]"))
                                section = S_MAIN;
                        else if (!strcmp(s, "[identity.pact]"))
                                section = S_PACT;
                        else if (!strcmp(s, "[identity.workload]"))
                                section = S_WORKLOAD;
                        else
                                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                                    "%s:%u: unknown section %s", path, lineno, s);
                        continue;
                }
                char *eq = strchr(s, '=');
                if (!eq)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "%s:%u: expected Key=value", path,
                                            lineno);
                *eq = '\0';
                char *key = strip(s), *value = strip(eq + 1);
                const char *why = "";
                int r;
                if (section == S_NONE)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "%s:%u: %s= before any section",
                                            path, lineno, key);
                if (section == S_MAIN)
                        r = main_key(&parsed, key, value, &why);
                else
                        r = identity_key(&parsed, section == S_PACT ? HN_OWNER_PACT : HN_OWNER_WORKLOAD, key, value,
                                         &why);
                if (r == -ENOENT)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "%s:%u: unknown key %s", path, lineno,
                                            key);
                if (r < 0)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "%s:%u: %s=%s: expected %s", path,
                                            lineno, key, value, why);
        }
        *cfg = parsed;
        return 0;
}
