/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hpcnoded: loads the watchers, builds the slice layout, and turns every
 * kernel record and every manager action into the audit trail. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include <hpcnode/cgroup.h>
#include <hpcnode/emergency.h>
#include <hpcnode/monitor.h>
#include <hpcnode/probe.h>

#include "bpf_print.h"
#include "clock.h"
#include "audit_sink.h"
#include "config.h"
#include "daemon.h"
#include "delegation.h"
#include "emergency_key.h"
#include "error_set.h"
#include "limits_watch.h"
#include "macro.h"
#include "mount_watch.h"
#include "probe_cost.h"
#include "timer.h"

static void usage(void) {
        printf("Usage: hpcnoded [--config PATH] [--foreground] [--probe] [--unload [--force]]\n"
               "  --config PATH  configuration file (default " HND_DEFAULT_CONFIG ")\n"
               "  --foreground   also print every audit record on stdout\n"
               "  --probe        print what this kernel offers and exit\n"
               "  --unload       remove the programs pinned at BpfPinDir= (the rules stop) and exit;\n"
               "                 refused while agents hold mounts, unless --force\n");
}

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

/* Each feature the kernel lacks and what runs instead, "; "-separated;
 * "none" when nothing is missing. */
static void degraded_features(const struct hn_kernel_features *f, char *buf, size_t size) {
        size_t used = 0;
        buf[0] = '\0';
        for (unsigned i = 0; i < HN_FEATURE_MAX; i++) {
                if (f->present[i])
                        continue;
                int n = snprintf(buf + used, size - used, "%s%s (Linux %s): %s", used ? "; " : "",
                                 hn_kernel_feature_name(i), hn_kernel_feature_since(i),
                                 hn_kernel_feature_fallback(i) ? hn_kernel_feature_fallback(i) : "required");
                if (n < 0 || (size_t) n >= size - used)
                        break;
                used += n;
        }
        if (!used)
                snprintf(buf, size, "none");
}

static void print_features(const struct hn_kernel_features *f) {
        for (unsigned i = 0; i < HN_FEATURE_MAX; i++) {
                const char *name = hn_kernel_feature_name(i);
                if (f->present[i])
                        printf("%-36s yes\n", name);
                else if (hn_kernel_feature_fallback(i))
                        printf("%-36s no (Linux %s); instead: %s\n", name, hn_kernel_feature_since(i),
                               hn_kernel_feature_fallback(i));
                else
                        printf("%-36s no (Linux %s); required: hpcnoded refuses to start\n", name,
                               hn_kernel_feature_since(i));
        }
}

static int probe_main(void) {
        struct hn_bpf_lsm_probe lsm;
        struct hn_monitor *mon = NULL;
        struct hn_error err = { 0 };
        char mount[4096] = "(none)";
        (void) hn_cgroup2_find_mount(mount, sizeof(mount));
        hn_probe_bpf_lsm(NULL, &lsm);
        struct hn_monitor_options off = { .attribution = HN_ATTRIBUTION_OFF };
        int r = hn_monitor_new(&off, &mon, &err);
        hn_monitor_free(mon);
        struct hn_kernel_features features;
        hn_probe_kernel_features(&features);
        print_features(&features);
        printf("%-36s %s\n", "BPF object",
               hn_kernel_bpf_object(&features) == HN_BPF_OBJECT_FULL
                       ? "full (Linux 5.17+)"
                       : "compat (the same programs without what the kernel lacks above)");
        printf("%-36s %s\n", "cgroup2 mount", mount);
        printf("%-36s %s%s%s\n", "tp_btf cgroup watcher + ring buffer", r == 0 ? "yes" : "no", r == 0 ? "" : ": ",
               r == 0 ? "" : err.message);
        printf("%-36s %s%s%s\n", "BPF LSM (deny in the kernel)", lsm.available ? "yes" : "no",
               lsm.available ? "" : ": ", lsm.reason);
        printf("%-36s %s\n", "enforce mode",
               r < 0                ? "no: the BPF side does not load (above)"
               : lsm.available      ? "yes (cgroup writes)"
                                    : "no: needs BPF LSM");
        struct hn_trampoline_probe tramp;
        hn_probe_trampolines(&tramp);
        printf("%-36s %s%s%s\n", "fentry/fexit trampolines (unused)", tramp.available ? "yes" : "no",
               tramp.available ? "" : ": ", tramp.reason);
        printf("%-36s %s\n", "structural acts (mkdir..kill)", "attributed by tp_btf (no cost to unrelated syscalls)");
        printf("%-36s %s\n", "cgroup ownership", "from each cgroup's ancestry, in the kernel (nothing kept per cgroup)");
        printf("%-36s %s\n", "writes through any fd",
               lsm.available ? "judged at the write (lsm/file_permission)" : "witnessed by fanotify, writer by pid");
        printf("%-36s %s\n", "attribution level auto", lsm.available ? "lsm" : "tracepoint");
        if (r < 0)
                return 1;
        /* What each level costs unrelated syscalls, measured here and now. */
        for (enum hn_attribution level = HN_ATTRIBUTION_LSM; level <= HN_ATTRIBUTION_OFF; level++) {
                char name[64];
                struct hnd_cost c;
                snprintf(name, sizeof(name), "attribution level %s", hn_attribution_name(level));
                if (level == HN_ATTRIBUTION_LSM && !lsm.available) {
                        printf("%-36s no: needs BPF LSM\n", name);
                        continue;
                }
                if (hnd_measure_cost(level, lsm.available, &c, &err) < 0) {
                        printf("%-36s no: %s\n", name, err.message);
                        continue;
                }
                printf("%-36s yes; getppid %.0f -> %.0f ns (x%.2f), open+close %.0f -> %.0f ns (x%.2f), "
                       "pwrite 4 KiB %.0f -> %.0f ns (x%.2f)\n",
                       name, c.getppid_none, c.getppid_level, c.getppid_level / c.getppid_none, c.open_none,
                       c.open_level, c.open_level / c.open_none, c.write_none, c.write_level,
                       c.write_level / c.write_none);
        }
        return 0;
}

static void on_event(const struct hn_event *e, void *userdata) {
        struct hnd_daemon *d = userdata;
        if (e->type < HN_EV_TYPE_MAX) {
                d->counters.events[e->type][!!(e->flags & HN_EVF_DENIED)]++;
                if (e->flags & HN_EVF_CROSS_SLICE)
                        d->counters.cross_slice[e->type]++;
        }
        if (hn_event_class_of(e->type) == HN_EVC_MOUNT) {
                char path[4096];
                hnd_mounts_act(&d->mounts, e, path, sizeof(path));
                hnd_sink_event(&d->sink, e, path);
        } else
                hnd_sink_event(&d->sink, e, NULL);
}

/* Before a mount pass: the kernel's records first, so drift has its actor. */
static void drain_ring(void *userdata) {
        struct hnd_daemon *d = userdata;
        (void) hn_monitor_poll(d->monitor, 0, on_event, d);
}

static int on_ring(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct hnd_daemon *d = userdata;
        (void) s, (void) fd, (void) revents;
        (void) hn_monitor_poll(d->monitor, 0, on_event, d);
        return 0;
}

/* Losses make an audit gap visible and trigger a resync; the emergency
 * state file may change under us (another process, expiry). */
static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hnd_daemon *d = userdata;
        uint64_t lost[HN_EV_TYPE_MAX];
        if (hn_monitor_losses(d->monitor, lost, NULL) == 0) {
                char detail[256] = "", *p = detail;
                bool any = false;
                for (unsigned t = 1; t < HN_EV_TYPE_MAX; t++)
                        if (lost[t] > d->lost[t]) {
                                p += snprintf(p, sizeof(detail) - (size_t) (p - detail), "%s%s lost %" PRIu64,
                                              any ? ", " : "", hn_event_type_name(t), lost[t] - d->lost[t]);
                                any = true;
                        }
                if (any) {
                        (void) hn_monitor_poll(d->monitor, 0, on_event, d);
                        struct hn_error err = { 0 };
                        int r = hn_monitor_resync(d->monitor, &err);
                        if (r < 0)
                                snprintf(p, sizeof(detail) - (size_t) (p - detail), "; resync failed: %s", err.message);
                        hnd_sink_note(&d->sink, "resync", detail, LOG_WARNING);
                        d->counters.resyncs++;
                        memcpy(d->lost, lost, sizeof(lost));
                }
        }
        hnd_api_refusals_flush(d);
        /* the programs' state as this process wrote it, or tampered with */
        char changed[512];
        if (hn_monitor_check_state(d->monitor, changed, sizeof(changed)) > 0) {
                char detail[600];
                snprintf(detail, sizeof(detail), "changed behind hpcnoded's back, restored: %s", changed);
                hnd_sink_note(&d->sink, "bpf.state_tampered", detail, LOG_ALERT);
                d->counters.tampered++;
        }
        hnd_emergency_sync(d);
        return hnd_timer_arm(s, usec + (uint64_t) d->cfg.loss_check_ms * 1000u);
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
        uint64_t expires = hn_emergency_active(d->emergency, &info) > 0 ? info.expires_unix : 0;
        if (expires != d->emergency_expires) {
                (void) hn_monitor_set_emergency(d->monitor, expires);
                d->emergency_expires = expires;
        }
        d->emergency_active = expires != 0;
}

static void on_limit_change(const struct hnd_limit_change *c, void *userdata) {
        hnd_sink_limit_changed(userdata, c);
}

static int on_limits_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hnd_daemon *d = userdata;
        int r = hnd_limits_scan(d->limits, on_limit_change, &d->sink);
        if (r < 0)
                hnd_sink_note(&d->sink, "limits.scan_failed", strerror(-r), LOG_ERR);
        return hnd_timer_arm(s, usec + (uint64_t) d->cfg.limit_check_ms * 1000u);
}

/* The configured identities, as the monitor takes them; cgroup subtrees
 * are relative to the root. */
static int apply_identities(struct hnd_daemon *d, const struct hnd_config *cfg, struct hn_error *err) {
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

/* Keys that only a restart applies; named in the reload record so a
 * changed one is never silently ignored. */
static void restart_keys(const struct hnd_config *a, const struct hnd_config *b, char *buf, size_t size) {
        const struct {
                const char *name;
                bool differs;
        } keys[] = {
                { "CgroupRoot", strcmp(a->cgroup_root, b->cgroup_root) != 0 },
                { "Mode", a->mode != b->mode },
                { "AuditLog", strcmp(a->audit_log, b->audit_log) != 0 },
                { "AuditFsync", a->audit_fsync != b->audit_fsync },
                { "Journal", a->journal != b->journal },
                { "RingBufferBytes", a->ringbuf_bytes != b->ringbuf_bytes },
                { "EmergencyState", strcmp(a->emergency_state, b->emergency_state) != 0 },
                { "LossCheckMSec", a->loss_check_ms != b->loss_check_ms },
                { "Attribution", a->attribution != b->attribution },
                { "LimitCheckMSec", a->limit_check_ms != b->limit_check_ms },
                { "KillTimeoutMSec", a->kill_timeout_ms != b->kill_timeout_ms },
                { "UenvBase", strcmp(a->uenv_base, b->uenv_base) != 0 },
                { "WorkdirBase", strcmp(a->workdir_base, b->workdir_base) != 0 },
                { "HoldTimeSec", a->hold_time_secs != b->hold_time_secs },
                { "MountCheckMSec", a->mount_check_ms != b->mount_check_ms },
                { "MountCheckBusyMSec", a->mount_check_busy_ms != b->mount_check_busy_ms },
                { "ControlSocket", strcmp(a->control_socket, b->control_socket) != 0 },
                { "ApiRequestTimeoutMSec", a->api_request_timeout_ms != b->api_request_timeout_ms },
                { "ApiIdleTimeoutMSec", a->api_idle_timeout_ms != b->api_idle_timeout_ms },
                { "ApiMaxClients", a->api_max_clients != b->api_max_clients },
                { "MetricsListen", strcmp(a->metrics_listen, b->metrics_listen) != 0 },
                { "MetricsTextfile", strcmp(a->metrics_textfile, b->metrics_textfile) != 0 },
                { "MetricsIntervalSec", a->metrics_interval_secs != b->metrics_interval_secs },
        };
        size_t used = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].differs && used < size)
                        used += (size_t) snprintf(buf + used, size - used, "%s%s", used ? ", " : "", keys[i].name);
}

/* The test-only knob (HPCNODED_TEST_WATCHDOG_STALL=1 in the environment,
 * read once at start): SIGUSR2 then stalls the event loop for good, so a
 * test sees WatchdogSec= restart a daemon whose loop stopped turning. The
 * stall is recorded first; without the variable SIGUSR2 keeps its default. */
#define TEST_STALL_ENV "HPCNODED_TEST_WATCHDOG_STALL"
static int on_test_stall(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct hnd_daemon *d = userdata;
        (void) s;
        char why[96];
        snprintf(why, sizeof(why), "SIGUSR2 from pid %u with " TEST_STALL_ENV "=1: the loop stops", si->ssi_pid);
        hnd_sink_note(&d->sink, "hpcnoded.test_stall", why, LOG_WARNING);
        hnd_sink_sync(&d->sink);
        for (;;)
                pause();
        return 0;
}

/* SIGHUP: reopen the audit log (logrotate) and reload the identities. A
 * bad file changes nothing and says why. */
static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
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
        if (hnd_config_load(d->config_path, d->config_given, next, &err) < 0 || apply_identities(d, next, &err) < 0) {
                hnd_sink_note(&d->sink, "config.reload_failed", err.message, LOG_ERR);
                return 0;
        }
        char ignored[512], detail[1024];
        restart_keys(&d->cfg, next, ignored, sizeof(ignored));
        snprintf(detail, sizeof(detail), "%s: %u identities%s%s", d->config_path, next->n_identities,
                 ignored[0] ? "; needs a restart to apply: " : "", ignored);
        memcpy(d->cfg.identities, next->identities, sizeof(next->identities));
        d->cfg.n_identities = next->n_identities;
        hnd_sink_note(&d->sink, "config.reloaded", detail, LOG_NOTICE);
        return 0;
}

/* Group commit: after every batch of event sources, before the loop
 * sleeps, what was written is synced (AuditFsync). */
static int on_post(sd_event_source *s, void *userdata) {
        struct hnd_daemon *d = userdata;
        (void) s;
        hnd_sink_sync(&d->sink);
        return 0;
}

static int on_term(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) userdata;
        sd_notify(0, "STOPPING=1");
        (void) si;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int setup(struct hnd_daemon *d, bool echo, char *why, size_t why_size, const char **mode) {
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
        (void) hn_cgroup2_find_mount(mount, sizeof(mount));
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
        if (apply_identities(d, &d->cfg, &err) < 0) {
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

/* Whatever setup got to, in reverse. */
static void daemon_free(struct hnd_daemon *d) {
        pthread_mutex_lock(&d->sink.lock); /* the hold timer's thread may be making a record */
        d->sink.tap = NULL;
        pthread_mutex_unlock(&d->sink.lock);
        hnd_api_stop(&d->api);
        hnd_metrics_stop(&d->metrics);
        hnd_mounts_stop(&d->mounts);
        hn_monitor_free(d->monitor);
        hnd_limits_free(d->limits);
        hn_cgroup_manager_free(d->cgroups);
        hn_cgroup_manager_free(d->pact_cgroups);
        hn_cgroup_manager_free(d->workload_cgroups);
        hn_emergency_free(d->emergency);
        hnd_sink_close(&d->sink);
}

/* Whether a daemon listens at the API socket path. */
static bool socket_answers(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (!path[0] || strlen(path) >= sizeof(sa.sun_path))
                return false;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
}

/* The loop's own sources, each checked: without the ring buffer's the
 * audit would go silent, without a signal's the daemon would not stop.
 * *ret_what names the one that failed. */
static int loop_sources_add(sd_event *ev, struct hnd_daemon *d, bool test_stall, const char **ret_what) {
        int r;
        uint64_t now;
        *ret_what = "the ring buffer";
        if ((r = sd_event_add_io(ev, NULL, hn_monitor_fd(d->monitor), EPOLLIN, on_ring, d)) < 0)
                return r;
        *ret_what = "the signals";
        if ((r = sd_event_add_signal(ev, NULL, SIGTERM, on_term, d)) < 0 ||
            (r = sd_event_add_signal(ev, NULL, SIGINT, on_term, d)) < 0 ||
            (r = sd_event_add_signal(ev, NULL, SIGHUP, on_hup, d)) < 0 ||
            (test_stall && (r = sd_event_add_signal(ev, NULL, SIGUSR2, on_test_stall, d)) < 0))
                return r;
        *ret_what = "the post hook";
        if ((r = sd_event_add_post(ev, NULL, on_post, d)) < 0)
                return r;
        *ret_what = "the timers";
        if ((r = sd_event_now(ev, CLOCK_MONOTONIC, &now)) < 0 ||
            (r = sd_event_add_time(ev, NULL, CLOCK_MONOTONIC, now + (uint64_t) d->cfg.loss_check_ms * 1000u, 1000,
                                   on_tick, d)) < 0 ||
            (d->limits && (r = sd_event_add_time(ev, NULL, CLOCK_MONOTONIC,
                                                 now + (uint64_t) d->cfg.limit_check_ms * 1000u, 1000,
                                                 on_limits_tick, d)) < 0))
                return r;
        *ret_what = "the watchdog";
        r = sd_event_set_watchdog(ev, true); /* > 0: on, 0: no WatchdogSec= */
        return r < 0 ? r : 0;
}

int main(int argc, char **argv) {
        static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
                                              { "foreground", no_argument, NULL, 'f' },
                                              { "probe", no_argument, NULL, 'p' },
                                              { "help", no_argument, NULL, 'h' },
                                              { "unload", no_argument, NULL, 'u' },
                                              { "force", no_argument, NULL, 'F' },
                                              {} };
        /* every fd -1: daemon_free() runs whatever setup got to */
        struct hnd_daemon d = { .config_path = HND_DEFAULT_CONFIG, .sink.fd = -1, .api.fd = -1, .api.tap_efd = -1,
                                .api.done_efd = -1, .metrics.http_fd = -1, .mounts.mountinfo_fd = -1 };
        bool echo = false, probe = false, unload = false, force = false;
        int c;
        libbpf_set_print(bpf_print_env); /* the process's, so set here: the library never does */
        while ((c = getopt_long(argc, argv, "c:fph", opts, NULL)) >= 0)
                switch (c) {
                case 'u':
                        unload = true;
                        break;
                case 'F':
                        force = true;
                        break;
                case 'c':
                        d.config_path = optarg;
                        d.config_given = true;
                        break;
                case 'f':
                        echo = true;
                        break;
                case 'p':
                        probe = true;
                        break;
                case 'h':
                        usage();
                        return 0;
                default:
                        usage();
                        return 2;
                }
        if (probe)
                return probe_main();

        struct hn_error err = { 0 };
        hnd_config_default(&d.cfg);
        if (hnd_config_load(d.config_path, d.config_given, &d.cfg, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return 1;
        }
        if (force && !unload) {
                fprintf(stderr, "hpcnoded: --force goes with --unload\n");
                return 2;
        }
        if (unload) {
                /* a running hpcnoded holds the programs and pins them again */
                if (socket_answers(d.cfg.control_socket)) {
                        fprintf(stderr, "hpcnoded: --unload: hpcnoded is running (%s answers): stop it first\n",
                                d.cfg.control_socket);
                        return 1;
                }
                /* on purpose: the pinned programs go, and with them the rules */
                if (!d.cfg.bpf_pin_dir[0] || hn_monitor_unload(d.cfg.bpf_pin_dir, force, &err) < 0) {
                        fprintf(stderr, "hpcnoded: --unload: %s\n",
                                d.cfg.bpf_pin_dir[0] ? err.message : "BpfPinDir= is empty: nothing is pinned");
                        return 1;
                }
                printf("hpcnoded: unloaded the programs pinned at %s\n", d.cfg.bpf_pin_dir);
                return 0;
        }
        char why[512];
        const char *mode = "audit";
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        const char *stall = getenv(TEST_STALL_ENV);
        bool test_stall = stall && !strcmp(stall, "1");
        if (test_stall)
                sigaddset(&mask, SIGUSR2);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if (setup(&d, echo, why, sizeof(why), &mode) < 0) {
                daemon_free(&d);
                return 1;
        }
        d.mode = mode;
        snprintf(d.mode_why, sizeof(d.mode_why), "%s", why);
        d.started_unix_usec = realtime_now_ns() / 1000u;

        sd_event *ev = NULL;
        int er = sd_event_default(&ev);
        if (er < 0) {
                fprintf(stderr, "hpcnoded: the event loop: %s\n", strerror(-er));
                daemon_free(&d);
                return 1;
        }
        d.mounts.monitor = d.monitor;
        d.mounts.drain = drain_ring;
        d.mounts.drain_userdata = &d;
        if (hn_monitor_set_mount_bases(d.monitor, d.cfg.uenv_base, d.cfg.workdir_base, &err) < 0 ||
            hnd_mounts_start(&d.mounts, ev, &d.cfg, &d.sink, d.emergency, &err) < 0 ||
            (d.cfg.control_socket[0] && hnd_api_start(&d.api, ev, &d, &err) < 0) ||
            hnd_metrics_start(&d.metrics, ev, &d, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                daemon_free(&d);
                sd_event_unref(ev);
                return 1;
        }
        char start[4 * 4096], degraded[2048];
        struct hn_kernel_features features;
        hn_probe_kernel_features(&features);
        degraded_features(&features, degraded, sizeof(degraded));
        const char *set = NULL, *pin = hn_monitor_pin_state(d.monitor, &set);
        snprintf(start, sizeof(start),
                 "mode %s: %s; attribution of control-file writes: %s; cgroup root %s; image mounts %s, binds %s; "
                 "programs %s%s%s; kernel features missing: %s",
                 mode, why, hn_attribution_name(hn_monitor_attribution(d.monitor)), hn_cgroup_manager_root(d.cgroups),
                 d.cfg.uenv_base, d.cfg.workdir_base, set ? pin : "not pinned: ", set ? " at " : "",
                 set ? set : d.pin_note[0] ? d.pin_note : "BpfPinDir= is empty", degraded);
        if (d.cfg.control_socket[0]) {
                pthread_mutex_lock(&d.sink.lock);
                d.sink.tap = hnd_api_tap;
                d.sink.tap_userdata = &d.api;
                pthread_mutex_unlock(&d.sink.lock);
        }
        hnd_sink_note(&d.sink, "hpcnoded.start", start, LOG_NOTICE);
        fprintf(stderr, "hpcnoded: %s\n", start);
        const char *what = NULL;
        if ((er = loop_sources_add(ev, &d, test_stall, &what)) < 0) {
                fprintf(stderr, "hpcnoded: the event loop: %s: %s\n", what, strerror(-er));
                hnd_sink_note(&d.sink, "hpcnoded.stop", strerror(-er), LOG_ERR);
                sd_event_unref(ev);
                daemon_free(&d);
                return 1;
        }
        sd_notifyf(0, "READY=1\nSTATUS=%s mode: %s", mode, why);

        int r = sd_event_loop(ev);
        (void) hn_monitor_poll(d.monitor, 0, on_event, &d); /* what is queued is still recorded */
        hnd_sink_note(&d.sink, "hpcnoded.stop", r < 0 ? strerror(-r) : "signal", LOG_NOTICE);
        sd_event_unref(ev);
        daemon_free(&d);
        return r < 0 ? 1 : 0;
}
