/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hpcnoded: loads the watchers, builds the slice layout, and turns every
 * kernel record and every manager action into the audit trail. This file
 * is its command line and its life: setup (daemon_setup.c), the loop's
 * sources (daemon_loop.c, daemon_reload.c), --probe (daemon_probe.c). */
#include <errno.h>
#include <malloc.h>
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

#include "api_server.h"
#include "api_stream.h"
#include "bpf_print.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "daemon_loop.h"
#include "daemon_probe.h"
#include "daemon_setup.h"
#include "macro.h"
#include "metrics.h"


/* malloc's thresholds while hpcnoded starts, and after (glibc's defaults) */
#define START_MMAP_THRESHOLD (64 << 20)
#define START_TRIM_THRESHOLD (256 << 20)
#define DEFAULT_MMAP_THRESHOLD (128 << 10)
#define DEFAULT_TRIM_THRESHOLD (128 << 10)
static void usage(void) {
        printf("Usage: hpcnoded [--config PATH] [--foreground] [--probe] [--unload [--force]]\n"
               "  --config PATH  configuration file (default " HND_DEFAULT_CONFIG ")\n"
               "  --foreground   also print every audit record on stdout\n"
               "  --probe        print what this kernel offers and exit\n"
               "  --unload       remove the programs pinned at BpfPinDir= (the rules stop) and exit;\n"
               "                 refused while agents hold mounts, unless --force\n");
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

int main(int argc, char **argv) {
        static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
                                              { "foreground", no_argument, NULL, 'f' },
                                              { "probe", no_argument, NULL, 'p' },
                                              { "help", no_argument, NULL, 'h' },
                                              { "unload", no_argument, NULL, 'u' },
                                              { "force", no_argument, NULL, 'F' },
                                              {} };
        /* every fd -1: hnd_daemon_free() runs whatever setup got to */
        struct hnd_daemon d = { .config_path = HND_DEFAULT_CONFIG, .sink.fd = -1, .api.fd = -1, .api.tap_efd = -1,
                                .api.done_efd = -1, .mounts.mountinfo_fd = -1 };
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
                return hnd_probe_main();

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
        const char *stall = getenv(HND_TEST_STALL_ENV);
        bool test_stall = stall && !strcmp(stall, "1");
        if (test_stall)
                sigaddset(&mask, SIGUSR2);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        /* The call threads (up to 16) share four arenas: one each kept what
         * each thread's busiest call took, 2 MiB a thread of free memory. */
        (void) mallopt(M_ARENA_MAX, 4);
        /* The start parses the kernel's BTF up to three times (the LSM
         * probe, the feature probe, the object's load: libbpf takes no
         * parsed copy), about 12 MiB each. Page faults are most of a pinned
         * restart's time: from the heap and kept there, a later parse
         * reuses an earlier one's pages (by default the first is mmap'ed
         * and unmapped, and the second faults in its pages anew: 25 ms
         * more here). Set back once started, then trimmed (below). */
        (void) mallopt(M_MMAP_THRESHOLD, START_MMAP_THRESHOLD);
        (void) mallopt(M_TRIM_THRESHOLD, START_TRIM_THRESHOLD);
        if (hnd_daemon_setup(&d, echo, why, sizeof(why), &mode) < 0) {
                hnd_daemon_free(&d);
                return 1;
        }
        d.mode = mode;
        snprintf(d.mode_why, sizeof(d.mode_why), "%s", why);
        d.started_unix_usec = realtime_now_ns() / 1000u;
        d.pid = getpid();

        sd_event *ev = NULL;
        int er = sd_event_default(&ev);
        if (er < 0) {
                fprintf(stderr, "hpcnoded: the event loop: %s\n", strerror(-er));
                hnd_daemon_free(&d);
                return 1;
        }
        d.mounts.monitor = d.monitor;
        d.mounts.drain = hnd_drain_ring;
        d.mounts.drain_userdata = &d;
        if (hnd_sink_sync_start(&d.sink, &err) < 0 ||
            hn_monitor_set_mount_bases(d.monitor, d.cfg.uenv_base, d.cfg.workdir_base, &err) < 0 ||
            hnd_mounts_start(&d.mounts, ev, &d.cfg, &d.sink, d.emergency, &err) < 0 ||
            (d.cfg.control_socket[0] && hnd_api_start(&d.api, ev, &d, &err) < 0) ||
            hnd_metrics_start(ev, &d, &d.metrics, &err) < 0) {
                fprintf(stderr, "hpcnoded: %s\n", err.message);
                hnd_daemon_free(&d);
                sd_event_unref(ev);
                return 1;
        }
        char start[4 * 4096], degraded[2048];
        struct hn_kernel_features features;
        hn_probe_kernel_features(&features);
        hnd_features_degraded(&features, degraded, sizeof(degraded));
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
        if ((er = hnd_loop_sources_add(ev, &d, test_stall, &what)) < 0) {
                fprintf(stderr, "hpcnoded: the event loop: %s: %s\n", what, strerror(-er));
                hnd_sink_note(&d.sink, "hpcnoded.stop", strerror(-er), LOG_ERR);
                sd_event_unref(ev);
                hnd_daemon_free(&d);
                return 1;
        }
        /* The load's transient memory (the kernel's BTF as libbpf read it,
         * the objects' ELF) is free by now but still in the heap: given
         * back, so the idle daemon is its working set; large blocks are
         * mapped and trimmed as glibc does by default from now on. */
        (void) mallopt(M_MMAP_THRESHOLD, DEFAULT_MMAP_THRESHOLD);
        (void) mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD);
        (void) malloc_trim(0);
        sd_notifyf(0, "READY=1\nSTATUS=%s mode: %s", mode, why);

        /* the records the loop's turns write are synced by the sink's own
         * thread (audit_sink.c): the loop never waits for the disk */
        int r = sd_event_loop(ev);
        (void) hn_monitor_poll(d.monitor, 0, hnd_on_event, &d, NULL); /* what is queued is still recorded */
        hnd_repeats_flush_all(&d);
        hnd_sink_note(&d.sink, "hpcnoded.stop", r < 0 ? strerror(-r) : "signal", LOG_NOTICE);
        sd_event_unref(ev);
        hnd_daemon_free(&d);
        return r < 0 ? 1 : 0;
}
