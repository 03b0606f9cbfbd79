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
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include <hpcnode/cgroup.h>
#include <hpcnode/emergency.h>
#include <hpcnode/monitor.h>
#include <hpcnode/probe.h>

#include "audit_sink.h"
#include "config.h"

struct daemon {
        struct hnd_config cfg;
        const char *config_path;
        struct hnd_sink sink;
        struct hn_cgroup_manager *cgroups;
        struct hn_emergency *emergency;
        struct hn_monitor *monitor;
        uint64_t lost[HN_EV_TYPE_MAX];
        bool emergency_active;
        int exit_code;
};

static void usage(void) {
        printf("Usage: hpcnoded [--config PATH] [--foreground] [--probe]\n"
               "  --config PATH  configuration file (default " HND_DEFAULT_CONFIG ")\n"
               "  --foreground   also print every audit record on stdout\n"
               "  --probe        print what this kernel offers and exit\n");
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

static int probe_main(void) {
        struct hn_bpf_lsm_probe lsm;
        struct hn_monitor *mon = NULL;
        struct hn_error err = { 0 };
        char mount[4096] = "(none)";
        (void) hn_cgroup2_find_mount(mount, sizeof(mount));
        hn_probe_bpf_lsm(NULL, &lsm);
        int r = hn_monitor_new(NULL, &mon, &err);
        hn_monitor_free(mon);
        printf("%-34s %s\n", "cgroup2 mount", mount);
        printf("%-34s %s%s%s\n", "tp_btf cgroup watcher + ring buffer", r == 0 ? "yes" : "no",
               r == 0 ? "" : ": ", r == 0 ? "" : err.message);
        printf("%-34s %s%s%s\n", "BPF LSM (deny in the kernel)", lsm.available ? "yes" : "no",
               lsm.available ? "" : ": ", lsm.reason);
        printf("%-34s %s\n", "enforce mode", lsm.available ? "yes (cgroup writes)" : "no: needs BPF LSM");
        printf("%-34s %s\n", "attribution of structural actions", "tp_btf (no cost to unrelated syscalls)");
        return r == 0 ? 0 : 1;
}

static void on_event(const struct hn_event *e, void *userdata) {
        hnd_sink_event(userdata, e);
}

static int on_ring(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct daemon *d = userdata;
        (void) s, (void) fd, (void) revents;
        (void) hn_monitor_poll(d->monitor, 0, on_event, &d->sink);
        return 0;
}

/* Losses make an audit gap visible and trigger a resync; the emergency
 * state file may change under us (another process, expiry). */
static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct daemon *d = userdata;
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
                        (void) hn_monitor_poll(d->monitor, 0, on_event, &d->sink);
                        struct hn_error err = { 0 };
                        int r = hn_monitor_resync(d->monitor, &err);
                        if (r < 0)
                                snprintf(p, sizeof(detail) - (size_t) (p - detail), "; resync failed: %s", err.message);
                        hnd_sink_note(&d->sink, "resync", detail, LOG_WARNING);
                        memcpy(d->lost, lost, sizeof(lost));
                }
        }
        bool active = hn_emergency_active(d->emergency, NULL) > 0;
        if (active != d->emergency_active) {
                hn_monitor_set_emergency(d->monitor, active);
                d->emergency_active = active;
        }
        sd_event_source_set_time(s, usec + (uint64_t) d->cfg.loss_check_ms * 1000u);
        return 0;
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct daemon *d = userdata;
        (void) s, (void) si;
        int r = hnd_sink_reopen(&d->sink);
        hnd_sink_note(&d->sink, "audit_log.reopened", r < 0 ? strerror(-r) : d->sink.path, LOG_INFO);
        return 0;
}

static int on_term(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) userdata;
        sd_notify(0, "STOPPING=1");
        (void) si;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int setup(struct daemon *d, bool echo, char *why, size_t why_size, const char **mode) {
        struct hn_error err = { 0 };
        struct hn_bpf_lsm_probe lsm;
        hn_probe_bpf_lsm(NULL, &lsm);
        if (decide_mode(&d->cfg, &lsm, mode, why, why_size) < 0) {
                fprintf(stderr, "hpcnoded: Mode=enforce cannot be had here: %s\n", why);
                return -1;
        }
        const char *root = d->cfg.cgroup_root[0] ? d->cfg.cgroup_root : NULL;
        if (hn_cgroup_manager_new(root, HN_OWNER_NONE, &d->cgroups, &err) < 0) {
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
        hn_cgroup_manager_set_audit(d->cgroups, hnd_sink_library, &d->sink);
        if (hn_emergency_new(d->cfg.emergency_state, &d->emergency, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return -1;
        }
        hn_emergency_set_audit(d->emergency, hnd_sink_library, &d->sink);
        hn_cgroup_manager_set_emergency(d->cgroups, d->emergency);
        unsigned enabled = 0;
        if (hn_cgroup_create_hierarchy(d->cgroups, &enabled, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return -1;
        }
        struct hn_monitor_options mo = { .cgroup_root = hn_cgroup_manager_root(d->cgroups),
                                         .ringbuf_bytes = d->cfg.ringbuf_bytes,
                                         .lsm = lsm.available,
                                         .enforce = !strcmp(*mode, "enforce") };
        if (hn_monitor_new(&mo, &d->monitor, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return -1;
        }
        for (unsigned i = 0; i < d->cfg.n_identities; i++) {
                const struct hnd_identity *id = &d->cfg.identities[i];
                char path[8192];
                int r;
                if (id->kind == HND_ID_EXE)
                        r = hn_monitor_add_identity_exe(d->monitor, id->owner, id->value, &err);
                else if (id->kind == HND_ID_UID)
                        r = hn_monitor_add_identity_uid(d->monitor, id->owner, (uid_t) strtoul(id->value, NULL, 10),
                                                        &err);
                else {
                        snprintf(path, sizeof(path), "%s/%s", hn_cgroup_manager_root(d->cgroups), id->value);
                        r = hn_monitor_add_identity_cgroup(d->monitor, id->owner, path, &err);
                }
                if (r < 0) {
                        fprintf(stderr, "hpcnoded: %s: %s\n", d->config_path, err.message);
                        return -1;
                }
        }
        if (hn_monitor_start(d->monitor, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return -1;
        }
        d->emergency_active = hn_emergency_active(d->emergency, NULL) > 0;
        hn_monitor_set_emergency(d->monitor, d->emergency_active);
        return 0;
}

int main(int argc, char **argv) {
        static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
                                              { "foreground", no_argument, NULL, 'f' },
                                              { "probe", no_argument, NULL, 'p' },
                                              { "help", no_argument, NULL, 'h' },
                                              {} };
        struct daemon d = { .config_path = HND_DEFAULT_CONFIG };
        bool echo = false, probe = false, config_given = false;
        int c;
        while ((c = getopt_long(argc, argv, "c:fph", opts, NULL)) >= 0)
                switch (c) {
                case 'c':
                        d.config_path = optarg;
                        config_given = true;
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
        if (hnd_config_load(d.config_path, config_given, &d.cfg, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                return 1;
        }
        char why[512];
        const char *mode = "audit";
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if (setup(&d, echo, why, sizeof(why), &mode) < 0)
                return 1;

        char start[1024];
        snprintf(start, sizeof(start), "mode %s: %s; cgroup root %s", mode, why, hn_cgroup_manager_root(d.cgroups));
        hnd_sink_note(&d.sink, "hpcnoded.start", start, LOG_NOTICE);
        fprintf(stderr, "hpcnoded: %s\n", start);

        sd_event *ev = NULL;
        sd_event_default(&ev);
        sd_event_add_io(ev, NULL, hn_monitor_fd(d.monitor), EPOLLIN, on_ring, &d);
        sd_event_add_signal(ev, NULL, SIGTERM, on_term, &d);
        sd_event_add_signal(ev, NULL, SIGINT, on_term, &d);
        sd_event_add_signal(ev, NULL, SIGHUP, on_hup, &d);
        uint64_t now;
        sd_event_now(ev, CLOCK_MONOTONIC, &now);
        sd_event_add_time(ev, NULL, CLOCK_MONOTONIC, now + (uint64_t) d.cfg.loss_check_ms * 1000u, 1000, on_tick, &d);
        sd_event_set_watchdog(ev, true);
        sd_notifyf(0, "READY=1\nSTATUS=%s mode: %s", mode, why);

        int r = sd_event_loop(ev);
        (void) hn_monitor_poll(d.monitor, 0, on_event, &d.sink); /* what is queued is still recorded */
        hnd_sink_note(&d.sink, "hpcnoded.stop", r < 0 ? strerror(-r) : "signal", LOG_NOTICE);
        sd_event_unref(ev);
        hn_monitor_free(d.monitor);
        hn_cgroup_manager_free(d.cgroups);
        hn_emergency_free(d.emergency);
        hnd_sink_close(&d.sink);
        return r < 0 ? 1 : 0;
}
