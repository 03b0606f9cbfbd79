/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's start and end: the mode decided, the managers, the sink,
 * the emergency and its key, the hierarchy, the monitor with the
 * identities and the self guard, the limits reconciler; and the reverse. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <hpcnode/probe.h>

#include "api_server.h"
#include "daemon.h"
#include "daemon_setup.h"
#include "delegation.h"
#include "emergency_key.h"
#include "error_set.h"
#include "macro.h"
#include "metrics.h"

/* Enforce where the kernel can deny (BPF LSM proved by the probe), audit
 * everywhere else; Mode=enforce without BPF LSM refuses to start rather
 * than pretend. Mount enforcement comes with the mount watcher. */
static int decide_mode(const struct hnd_config *cfg, const struct hn_bpf_lsm_probe *lsm, const char **ret_mode,
                       char *why, size_t size) {
        if (!lsm->available) {
                snprintf(why, size, "no BPF LSM: %s", lsm->reason);
                if (cfg->mode == HND_MODE_ENFORCE)
                        return -EOPNOTSUPP;
                *ret_mode = "audit";
        } else if (cfg->mode == HND_MODE_AUDIT) {
                snprintf(why, size, "BPF LSM works here; audit mode requested by configuration");
                *ret_mode = "audit";
        } else {
                snprintf(why, size, "BPF LSM works here: cross-slice cgroup writes are denied");
                *ret_mode = "enforce";
        }
        return 0;
}

int hnd_apply_identities(struct hnd_daemon *d, const struct hnd_config *cfg, struct hn_error *err) {
        struct hn_identity ids[HND_MAX_IDENTITIES];
        _cleanup_free_ char *paths = malloc((size_t) HND_MAX_IDENTITIES * PATH_MAX);
        if (!paths)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        for (unsigned i = 0; i < cfg->n_identities; i++) {
                const struct hnd_identity *id = &cfg->identities[i];
                char *path = paths + (size_t) i * PATH_MAX;
                ids[i] = (struct hn_identity){ .owner = id->owner, .path = path };
                if (id->kind == HND_ID_EXE) {
                        ids[i].kind = HN_IDENTITY_EXE;
                        ids[i].uid = cfg->executable_uid[id->owner];
                        snprintf(path, PATH_MAX, "%s", id->value);
                } else if (id->kind == HND_ID_UID) {
                        ids[i].kind = HN_IDENTITY_UID;
                        ids[i].uid = (uid_t) strtoul(id->value, NULL, 10);
                } else {
                        ids[i].kind = HN_IDENTITY_CGROUP;
                        if ((size_t) snprintf(path, PATH_MAX, "%s/%s", hn_cgroup_manager_root(d->cgroups),
                                              id->value) >= PATH_MAX)
                                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG,
                                                    "identity cgroup %s: path too long", id->value);
                }
        }
        return hn_monitor_replace_identities(d->monitor, ids, cfg->n_identities, err);
}

int hnd_protect_own_files(struct hnd_daemon *d, struct hn_error *err) {
        char key[PATH_MAX + 8];
        snprintf(key, sizeof(key), "%s.key", d->cfg.emergency_state);
        /* the key is nobody's to read; the trail nobody's to write or
         * remove (logrotate may rename it: SIGHUP then protects the new
         * one). The configuration stays the operator's to edit: it takes
         * effect only by a reload or restart, from PID 1, and is recorded. */
        struct hn_protected_file files[2] = {
                { key, HN_SELF_NO_READ | HN_SELF_NO_WRITE | HN_SELF_NO_UNLINK | HN_SELF_NO_RENAME },
                { d->cfg.audit_log, HN_SELF_NO_WRITE | HN_SELF_NO_UNLINK },
        };
        return hn_monitor_protect_files(d->monitor, files, d->cfg.audit_log[0] ? 2 : 1, err);
}

void hnd_emergency_sync(struct hnd_daemon *d) {
        struct hn_emergency_info info;
        uint64_t expires = hn_emergency_active(d->emergency, &info, NULL) > 0 ? info.expires_unix : 0;
        if (expires != d->emergency_expires) {
                (void) hn_monitor_set_emergency(d->monitor, expires, NULL);
                d->emergency_expires = expires;
        }
        d->emergency_active = expires != 0;
}

int hnd_daemon_setup(struct hnd_daemon *d, bool echo, char *why, size_t why_size, const char **mode) {
        struct hn_error err = { 0 };
        struct hn_bpf_lsm_probe lsm;
        hn_probe_bpf_lsm(NULL, &lsm);
        if (decide_mode(&d->cfg, &lsm, mode, why, why_size) < 0) {
                fprintf(stderr, "hpcnoded: Mode=enforce cannot be had here: %s\n", why);
                return -1;
        }
        /* auto: where systemd is PID 1, the scope it delegates to hpcnode
         * (delegation.c), else the cgroup2 mount */
        const char *root = d->cfg.cgroup_root[0] ? d->cfg.cgroup_root : NULL;
        char delegated[sizeof(d->cfg.cgroup_root)] = "", cause[512] = "";
        if (root && !strcmp(root, "auto")) {
                if (hnd_delegated_root(delegated, sizeof(delegated), cause, sizeof(cause)) < 0) {
                        fprintf(stderr, "hpcnoded: CgroupRoot=auto: %s\n", cause);
                        return -1;
                }
                root = delegated[0] ? delegated : NULL;
        }
        if (hn_cgroup_manager_new(root, HN_OWNER_NONE, &d->cgroups, &err) < 0 ||
            hn_cgroup_manager_new(root, HN_OWNER_PACT, &d->pact_cgroups, &err) < 0 ||
            hn_cgroup_manager_new(root, HN_OWNER_WORKLOAD, &d->workload_cgroups, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return -1;
        }
        /* Kernel records carry paths from the hierarchy's root: the mount. */
        char mount[4096] = "";
        (void) hn_cgroup2_find_mount(mount, sizeof(mount), NULL);
        if (hnd_sink_open(&d->sink, &d->cfg, mount, echo, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return -1;
        }
        d->sink.mode = *mode;
        hnd_sink_set_places(&d->sink, hn_cgroup_manager_root(d->cgroups), d->cfg.workdir_base);
        struct hn_cgroup_manager *managers[] = { d->cgroups, d->pact_cgroups, d->workload_cgroups };
        struct hn_cgroup_options copts;
        hn_cgroup_options_default(&copts);
        copts.kill_timeout_ms = d->cfg.kill_timeout_ms;
        for (size_t i = 0; i < ELEMENTSOF(managers); i++) {
                hn_cgroup_manager_set_audit(managers[i], hnd_sink_library, &d->sink);
                (void) hn_cgroup_manager_set_options(managers[i], &copts, NULL); /* in range: checked by the config */
        }
        if (hn_emergency_new(d->cfg.emergency_state, &d->emergency, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return -1;
        }
        hn_emergency_set_audit(d->emergency, hnd_sink_library, &d->sink);
        /* the daemon is the emergency's only source of truth: its state
         * file sealed with a key of its own, beside it */
        char key_path[PATH_MAX + 8];
        unsigned char key[HND_EMERGENCY_KEY_BYTES];
        bool replaced;
        snprintf(key_path, sizeof(key_path), "%s.key", d->cfg.emergency_state);
        int kr = hnd_emergency_key_load(key_path, key, &replaced);
        if (kr < 0) {
                fprintf(stderr, "hpcnoded: emergency key %s: %s\n", key_path, strerror(-kr));
                return -1;
        }
        if (replaced)
                hnd_sink_note(&d->sink, "emergency.key_replaced",
                              "the key file was not hpcnoded's (mode, owner or size): replaced", LOG_ALERT);
        kr = hn_emergency_set_key(d->emergency, key, sizeof(key), &err);
        explicit_bzero(key, sizeof(key));
        if (kr < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return -1;
        }
        for (size_t i = 0; i < ELEMENTSOF(managers); i++)
                hn_cgroup_manager_set_emergency(managers[i], d->emergency);
        unsigned enabled = 0;
        if (hn_cgroup_create_hierarchy(d->cgroups, &enabled, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return -1;
        }
        struct hn_monitor_options mo = { .cgroup_root = hn_cgroup_manager_root(d->cgroups),
                                         .ringbuf_bytes = d->cfg.ringbuf_bytes,
                                         .lsm = lsm.available,
                                         .enforce = !strcmp(*mode, "enforce"),
                                         .attribution = d->cfg.attribution };
        /* pinned, the rules hold while hpcnoded is down; where there is no
         * bpffs they cannot outlive it, and the start record says so */
        mo.pin_dir = d->cfg.bpf_pin_dir[0] ? d->cfg.bpf_pin_dir : NULL;
        int mr = hn_monitor_new(&mo, &d->monitor, &err);
        if (mr == -EMEDIUMTYPE) {
                snprintf(d->pin_note, sizeof(d->pin_note), "%s", err.message);
                mo.pin_dir = NULL;
                mr = hn_monitor_new(&mo, &d->monitor, &err);
        }
        if (mr < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return -1;
        }
        if (hnd_apply_identities(d, &d->cfg, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s: %s\n", d->config_path, err.message);
                return -1;
        }
        if (hn_monitor_start(d->monitor, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return -1;
        }
        if (hnd_protect_own_files(d, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return -1;
        }
        if (delegated[0]) {
                /* the keeper holds the scope up: guarded as hpcnoded is */
                pid_t keeper = 0;
                int pr = hnd_keeper_pid(delegated, &keeper);
                if (pr < 0 || hn_monitor_protect_helper(d->monitor, HND_KEEPER_LEAF, keeper, &err) < 0) {
                        fprintf(stderr, "hpcnoded: the scope's keeper in %s/" HND_KEEPER_LEAF ": %s\n", delegated,
                                pr < 0 ? strerror(-pr) : err.message);
                        return -1;
                }
        }
        d->emergency_expires = UINT64_MAX; /* unknown: written below */
        hnd_emergency_sync(d);
        if (d->cfg.limit_check_ms) {
                int r = hnd_limits_new(hn_cgroup_manager_root(d->cgroups), &d->limits);
                if (r >= 0)
                        r = hnd_limits_scan(d->limits, NULL, NULL); /* the baseline */
                if (r < 0) {
                        fprintf(stderr, "hpcnoded: limits reconciler: %s\n", strerror(-r));
                        return -1;
                }
        }
        return 0;
}

void hnd_daemon_free(struct hnd_daemon *d) {
        pthread_mutex_lock(&d->sink.lock); /* the hold timer's thread may be making a record */
        d->sink.tap = NULL;
        pthread_mutex_unlock(&d->sink.lock);
        hnd_api_stop(&d->api);
        hnd_metrics_stop(d->metrics);
        d->metrics = NULL;
        hnd_mounts_stop(&d->mounts);
        hn_monitor_free(d->monitor);
        hnd_limits_free(d->limits);
        hn_cgroup_manager_free(d->cgroups);
        hn_cgroup_manager_free(d->pact_cgroups);
        hn_cgroup_manager_free(d->workload_cgroups);
        hn_emergency_free(d->emergency);
        hnd_sink_close(&d->sink);
}
