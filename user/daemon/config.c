/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
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

const char *hnd_mode_name(enum hnd_mode mode) {
        return mode == HND_MODE_ENFORCE ? "enforce" : mode == HND_MODE_AUDIT ? "audit" : "auto";
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

static int copy_path(const char *v, char *dst, bool allow_empty) {
        if ((!allow_empty && !*v) || (*v && *v != '/') || strlen(v) >= PATH_MAX)
                return -EINVAL;
        snprintf(dst, PATH_MAX, "%s", v);
        return 0;
}

int hnd_parse_listen(const char *v, struct sockaddr_in *ret) {
        char host[32];
        const char *colon = strrchr(v, ':');
        uint32_t port;
        if (!colon || (size_t) (colon - v) >= sizeof(host) || parse_u32(colon + 1, &port) < 0 || port < 1 ||
            port > 65535)
                return -EINVAL;
        memcpy(host, v, (size_t) (colon - v));
        host[colon - v] = '\0';
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                return -EINVAL;
        if (ret)
                *ret = sa;
        return 0;
}

static int main_key(struct hnd_config *cfg, const char *key, const char *v, const char **why) {
        uint32_t n;
        if (!strcmp(key, "CgroupRoot")) {
                *why = "auto, an absolute path, or empty for the cgroup2 mount";
                if (!strcmp(v, "auto"))
                        return snprintf(cfg->cgroup_root, sizeof(cfg->cgroup_root), "auto"), 0;
                return copy_path(v, cfg->cgroup_root, true);
        }
        if (!strcmp(key, "Mode")) {
                *why = "auto, enforce or audit";
                if (!strcmp(v, "auto"))
                        cfg->mode = HND_MODE_AUTO;
                else if (!strcmp(v, "enforce"))
                        cfg->mode = HND_MODE_ENFORCE;
                else if (!strcmp(v, "audit"))
                        cfg->mode = HND_MODE_AUDIT;
                else
                        return -EINVAL;
                return 0;
        }
        if (!strcmp(key, "AuditLog"))
                return *why = "an absolute path, or empty for none", copy_path(v, cfg->audit_log, true);
        if (!strcmp(key, "AuditFsync"))
                return *why = "yes or no", parse_bool(v, &cfg->audit_fsync);
        if (!strcmp(key, "Journal"))
                return *why = "yes or no", parse_bool(v, &cfg->journal);
        if (!strcmp(key, "RingBufferBytes")) {
                *why = "a power of two, at least 4096";
                if (parse_u32(v, &n) < 0 || n < 4096 || (n & (n - 1)))
                        return -EINVAL;
                cfg->ringbuf_bytes = n;
                return 0;
        }
        if (!strcmp(key, "BpfPinDir"))
                return *why = "an absolute path on bpffs, or empty for none", copy_path(v, cfg->bpf_pin_dir, true);
        if (!strcmp(key, "EmergencyState"))
                return *why = "an absolute path", copy_path(v, cfg->emergency_state, false);
        if (!strcmp(key, "LossCheckMSec")) {
                *why = "10..60000";
                if (parse_u32(v, &n) < 0 || n < 10 || n > 60000)
                        return -EINVAL;
                cfg->loss_check_ms = n;
                return 0;
        }
        if (!strcmp(key, "Attribution"))
                return *why = "auto, lsm, tracepoint or off", hn_attribution_from_name(v, &cfg->attribution);
        if (!strcmp(key, "LimitCheckMSec")) {
                *why = "0 (off) or 100..3600000";
                if (parse_u32(v, &n) < 0 || (n && (n < 100 || n > 3600000)))
                        return -EINVAL;
                cfg->limit_check_ms = n;
                return 0;
        }
        if (!strcmp(key, "UenvBase"))
                return *why = "an absolute path", copy_path(v, cfg->uenv_base, false);
        if (!strcmp(key, "WorkdirBase"))
                return *why = "an absolute path", copy_path(v, cfg->workdir_base, false);
        if (!strcmp(key, "HoldTimeSec")) {
                *why = "0..86400";
                if (parse_u32(v, &n) < 0 || n > 86400)
                        return -EINVAL;
                cfg->hold_time_secs = n;
                return 0;
        }
        if (!strcmp(key, "KillTimeoutMSec")) {
                *why = "100..600000";
                if (parse_u32(v, &n) < 0 || n < 100 || n > 600000)
                        return -EINVAL;
                cfg->kill_timeout_ms = n;
                return 0;
        }
        if (!strcmp(key, "MountCheckMSec") || !strcmp(key, "MountCheckBusyMSec")) {
                *why = "100..600000";
                if (parse_u32(v, &n) < 0 || n < 100 || n > 600000)
                        return -EINVAL;
                if (!strcmp(key, "MountCheckMSec"))
                        cfg->mount_check_ms = n;
                else
                        cfg->mount_check_busy_ms = n;
                return 0;
        }
        if (!strcmp(key, "ControlSocket"))
                return *why = "an absolute path, or empty for none", copy_path(v, cfg->control_socket, true);
        if (!strcmp(key, "ApiRequestTimeoutMSec") || !strcmp(key, "ApiIdleTimeoutMSec")) {
                *why = "100..3600000";
                if (parse_u32(v, &n) < 0 || n < 100 || n > 3600000)
                        return -EINVAL;
                *(!strcmp(key, "ApiIdleTimeoutMSec") ? &cfg->api_idle_timeout_ms : &cfg->api_request_timeout_ms) = n;
                return 0;
        }
        if (!strcmp(key, "ApiMaxClients")) {
                *why = "1..4096";
                if (parse_u32(v, &n) < 0 || n < 1 || n > 4096)
                        return -EINVAL;
                cfg->api_max_clients = n;
                return 0;
        }
        if (!strcmp(key, "MetricsListen")) {
                *why = "IPV4:PORT (e.g. 127.0.0.1:9464), or empty for none";
                if (*v && hnd_parse_listen(v, NULL) < 0)
                        return -EINVAL;
                snprintf(cfg->metrics_listen, sizeof(cfg->metrics_listen), "%s", v);
                return 0;
        }
        if (!strcmp(key, "MetricsTextfile"))
                return *why = "an absolute path, or empty for none", copy_path(v, cfg->metrics_textfile, true);
        if (!strcmp(key, "MetricsIntervalSec")) {
                *why = "1..3600";
                if (parse_u32(v, &n) < 0 || n < 1 || n > 3600)
                        return -EINVAL;
                cfg->metrics_interval_secs = n;
                return 0;
        }
        *why = "unknown key";
        return -ENOENT;
}

static int identity_key(struct hnd_config *cfg, enum hn_slice_owner owner, const char *key, const char *v,
                        const char **why) {
        struct hnd_identity id = { .owner = owner };
        uint32_t uid;
        if (!strcmp(key, "Executable")) {
                *why = "an absolute path";
                id.kind = HND_ID_EXE;
                if (copy_path(v, id.value, false) < 0)
                        return -EINVAL;
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
