/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The event loop's own sources: the ring buffer's records into the sink,
 * the ticks (losses and resync, the programs' state, the emergency's
 * deadline, the limits reconciler), the signals. */
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "clock.h"
#include "daemon.h"
#include "daemon_loop.h"
#include "daemon_reload.h"
#include "timer.h"

/* One second's repeats of one act, counted instead of recorded
 * (audit_repeat.h). */
static void repeats_summary(const char *type, uint32_t tgid, const char *comm, bool others, uint64_t suppressed,
                            void *userdata) {
        struct hnd_daemon *d = userdata;
        char detail[320];
        snprintf(detail, sizeof(detail),
                 "%" PRIu64 " more %s records by pid %u (%s)%s in one second, not recorded one by one (at most %u a "
                 "second)",
                 suppressed, type, tgid, comm,
                 others ? " and other processes of its executable, uid and cgroup" : "", HND_REPEAT_PER_SEC);
        hnd_sink_note(&d->sink, "record.suppressed", detail, LOG_WARNING);
}

void hnd_repeats_flush_all(struct hnd_daemon *d) {
        hnd_repeat_flush(&d->repeats, UINT64_MAX, repeats_summary, d); /* every second counts as over */
}

void hnd_on_event(const struct hn_event *e, void *userdata) {
        struct hnd_daemon *d = userdata;
        if (e->type < HN_EV_TYPE_MAX) {
                d->counters.events[e->type][!!(e->flags & HN_EVF_DENIED)]++;
                if (e->flags & HN_EVF_CROSS_SLICE)
                        d->counters.cross_slice[e->type]++;
        }
        char path[4096];
        bool mount = hn_event_class_of(e->type) == HN_EVC_MOUNT;
        if (mount)
                hnd_mounts_act(&d->mounts, e, path, sizeof(path)); /* a drift may name it, counted or not */
        if (hnd_repeat_admit(&d->repeats, e, monotonic_usec(), repeats_summary, d))
                hnd_sink_event(&d->sink, e, mount ? path : NULL);
}

void hnd_drain_ring(void *userdata) {
        struct hnd_daemon *d = userdata;
        (void) hn_monitor_poll(d->monitor, 0, hnd_on_event, d, NULL);
}

static int on_ring(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct hnd_daemon *d = userdata;
        (void) s, (void) fd, (void) revents;
        (void) hn_monitor_poll(d->monitor, 0, hnd_on_event, d, NULL);
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
                        (void) hn_monitor_poll(d->monitor, 0, hnd_on_event, d, NULL);
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
        hnd_repeat_flush(&d->repeats, monotonic_usec(), repeats_summary, d);
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

/* Memory the calls freed, given back to the kernel every TRIM_SECS: the
 * heap (and the worker threads' arenas) keep what a burst of calls took
 * otherwise, and the daemon's RSS would be the high-water mark of its
 * busiest minute. */
#define TRIM_SECS 2
static int on_trim(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) userdata;
        (void) malloc_trim(0);
        return hnd_timer_arm(s, usec + TRIM_SECS * 1000000ull);
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

/* The test-only knob (daemon_loop.h): the stall, recorded first. */
static int on_test_stall(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct hnd_daemon *d = userdata;
        (void) s;
        char why[96];
        snprintf(why, sizeof(why), "SIGUSR2 from pid %u with " HND_TEST_STALL_ENV "=1: the loop stops", si->ssi_pid);
        hnd_sink_note(&d->sink, "hpcnoded.test_stall", why, LOG_WARNING);
        hnd_sink_sync(&d->sink);
        for (;;)
                pause();
        return 0;
}

static int on_term(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) userdata;
        sd_notify(0, "STOPPING=1");
        (void) si;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int hnd_loop_sources_add(sd_event *ev, struct hnd_daemon *d, bool test_stall, const char **ret_what) {
        int r;
        uint64_t now;
        *ret_what = "the ring buffer";
        int ring = hn_monitor_fd(d->monitor, NULL);
        if (ring < 0)
                return ring;
        if ((r = sd_event_add_io(ev, NULL, ring, EPOLLIN, on_ring, d)) < 0)
                return r;
        *ret_what = "the signals";
        if ((r = sd_event_add_signal(ev, NULL, SIGTERM, on_term, d)) < 0 ||
            (r = sd_event_add_signal(ev, NULL, SIGINT, on_term, d)) < 0 ||
            (r = sd_event_add_signal(ev, NULL, SIGHUP, hnd_on_hup, d)) < 0 ||
            (test_stall && (r = sd_event_add_signal(ev, NULL, SIGUSR2, on_test_stall, d)) < 0))
                return r;
        *ret_what = "the timers";
        if ((r = sd_event_now(ev, CLOCK_MONOTONIC, &now)) < 0 ||
            (r = sd_event_add_time(ev, NULL, CLOCK_MONOTONIC, now + (uint64_t) d->cfg.loss_check_ms * 1000u, 1000,
                                   on_tick, d)) < 0 ||
            (r = sd_event_add_time(ev, NULL, CLOCK_MONOTONIC, now + TRIM_SECS * 1000000ull, 1000000, on_trim, d)) < 0 ||
            (d->limits && (r = sd_event_add_time(ev, NULL, CLOCK_MONOTONIC,
                                                 now + (uint64_t) d->cfg.limit_check_ms * 1000u, 1000,
                                                 on_limits_tick, d)) < 0))
                return r;
        *ret_what = "the watchdog";
        r = sd_event_set_watchdog(ev, true); /* > 0: on, 0: no WatchdogSec= */
        return r < 0 ? r : 0;
}
