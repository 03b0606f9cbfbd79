/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon.h"
#include "error_set.h"
#include "fileio.h"
#include "macro.h"
#include "metrics.h"
#include "timer.h"
#include "tree.h"

static void header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Scopes and zombies per owner from one walk of the slices, and the
 * images from the mount manager: typed, as they are now. */
static void render_tree(FILE *f, const struct hnd_tree_src *src) {
        struct hnd_tree_counts c;
        hnd_tree_count(src, &c);
        header(f, "hpcnode_scopes", "gauge", "Scopes (*.scope cgroups) under each owner's slice.");
        for (unsigned o = HN_OWNER_PACT; o <= HN_OWNER_WORKLOAD; o++)
                fprintf(f, "hpcnode_scopes{owner=\"%s\"} %" PRIu64 "\n", hn_slice_owner_name(o), c.scopes[o]);
        header(f, "hpcnode_scope_processes", "gauge", "Processes in scopes under each owner's slice.");
        for (unsigned o = HN_OWNER_PACT; o <= HN_OWNER_WORKLOAD; o++)
                fprintf(f, "hpcnode_scope_processes{owner=\"%s\"} %" PRIu64 "\n", hn_slice_owner_name(o), c.processes[o]);
        header(f, "hpcnode_zombie_scopes", "gauge", "Cgroups marked zombie (processes that would not die, F30).");
        for (unsigned o = HN_OWNER_PACT; o <= HN_OWNER_WORKLOAD; o++)
                fprintf(f, "hpcnode_zombie_scopes{owner=\"%s\"} %" PRIu64 "\n", hn_slice_owner_name(o), c.zombies[o]);

        struct hn_mount_info *list = NULL;
        size_t n = 0;
        if (hn_mount_list(src->mounts, &list, &n, NULL) < 0)
                return;
        header(f, "hpcnode_image_refcount", "gauge", "Holders of each mounted image (0 while its hold runs).");
        uint64_t binds[4] = { 0 }, mounted = 0, foreign = 0;
        static const char *const bind_owners[] = { "operator", "pact", "workload", "unknown" };
        for (size_t i = 0; i < n; i++) {
                const struct hn_mount_info *m = &list[i];
                if (m->foreign) {
                        foreign++;
                        continue;
                }
                mounted++;
                fprintf(f, "hpcnode_image_refcount{image=\"%s\"} %" PRIu32 "\n", m->image_path, m->refcount);
                for (uint32_t h = 0; h < m->refcount && m->holders; h++) {
                        char buf[32];
                        const char *owner = hnd_owners_get(src->owners, m->holders[h], buf, sizeof(buf));
                        unsigned k = 3;
                        for (unsigned b = 0; b < 3; b++)
                                if (!strcmp(owner, bind_owners[b]))
                                        k = b;
                        binds[k]++;
                }
        }
        hn_mount_list_free(list, n);
        header(f, "hpcnode_images_mounted", "gauge", "Images the mount manager has mounted.");
        fprintf(f, "hpcnode_images_mounted %" PRIu64 "\n", mounted);
        header(f, "hpcnode_foreign_mounts", "gauge", "Mounts under the bases that hpcnode did not make.");
        fprintf(f, "hpcnode_foreign_mounts %" PRIu64 "\n", foreign);
        header(f, "hpcnode_mount_holders", "gauge", "Allocations holding an image, by who acquired them.");
        for (unsigned b = 0; b < 4; b++)
                fprintf(f, "hpcnode_mount_holders{owner=\"%s\"} %" PRIu64 "\n", bind_owners[b], binds[b]);
}

static void render_bpf(FILE *f, struct hnd_daemon *d) {
        struct hn_prog_stat stats[64];
        size_t n = 0;
        char text[16] = "0";
        (void) read_file_at(AT_FDCWD, "/proc/sys/kernel/bpf_stats_enabled", text, sizeof(text));
        header(f, "hpcnode_bpf_stats_enabled", "gauge",
               "1 while kernel.bpf_stats_enabled is on (the run time and count below count only then).");
        fprintf(f, "hpcnode_bpf_stats_enabled %d\n", atoi(text) ? 1 : 0);
        uint64_t drops[HN_DROP_MAX];
        if (hn_monitor_drops(d->monitor, drops, NULL) == 0) {
                header(f, "hpcnode_bpf_drops_total", "counter",
                       "What the BPF programs could not do, by cause (each is exported, none is a silent allow).");
                for (unsigned c = 0; c < HN_DROP_MAX; c++)
                        fprintf(f, "hpcnode_bpf_drops_total{cause=\"%s\"} %" PRIu64 "\n", hn_drop_cause_name(c),
                                drops[c]);
        }
        uint64_t map_bytes;
        size_t maps;
        if (hn_monitor_map_memory(d->monitor, &map_bytes, &maps, NULL) == 0) {
                header(f, "hpcnode_bpf_map_bytes", "gauge", "Kernel memory held by the BPF programs' maps (memlock).");
                fprintf(f, "hpcnode_bpf_map_bytes %" PRIu64 "\n", map_bytes);
        }
        if (hn_monitor_prog_stats(d->monitor, stats, ELEMENTSOF(stats), &n, NULL) < 0)
                return;
        header(f, "hpcnode_bpf_prog_run_seconds_total", "counter", "Time the kernel spent in each BPF program.");
        for (size_t i = 0; i < n && i < ELEMENTSOF(stats); i++)
                fprintf(f, "hpcnode_bpf_prog_run_seconds_total{program=\"%s\"} %.9f\n", stats[i].name,
                        (double) stats[i].run_time_ns / 1e9);
        header(f, "hpcnode_bpf_prog_runs_total", "counter", "Runs of each BPF program.");
        for (size_t i = 0; i < n && i < ELEMENTSOF(stats); i++)
                fprintf(f, "hpcnode_bpf_prog_runs_total{program=\"%s\"} %" PRIu64 "\n", stats[i].name,
                        stats[i].run_cnt);
}

/* What f (open_memstream onto *text) gathered, into *ret; on failure
 * nothing (and *text freed). */
static int memstream_close(FILE *f, char **text, char **ret) {
        if (fclose(f) != 0) {
                free(*text);
                return -ENOMEM;
        }
        *ret = *text;
        return 0;
}

int hnd_metrics_complete(const struct hnd_tree_src *src, const char *kept, char **ret) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -errno;
        fputs(kept, f);
        render_tree(f, src);
        return memstream_close(f, &text, ret);
}

int hnd_metrics_render_kept(struct hnd_daemon *d, char **ret) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -errno;
        header(f, "hpcnode_info", "gauge", "The running hpcnoded: version, mode and attribution level.");
        fprintf(f, "hpcnode_info{version=\"%s\",mode=\"%s\",attribution=\"%s\"} 1\n", HND_VERSION, d->mode,
                hn_attribution_name(hn_monitor_attribution(d->monitor)));
        header(f, "hpcnode_emergency_active", "gauge", "1 while an emergency is declared (RI3).");
        fprintf(f, "hpcnode_emergency_active %d\n", hn_emergency_active(d->emergency, NULL, NULL) > 0);

        header(f, "hpcnode_events_total", "counter", "Kernel records by type and verdict.");
        for (unsigned t = 1; t < HN_EV_TYPE_MAX; t++)
                for (unsigned v = 0; v < 2 && hn_event_class_of(t) != HN_EVC_NONE; v++)
                        fprintf(f, "hpcnode_events_total{type=\"%s\",verdict=\"%s\"} %" PRIu64 "\n",
                                hn_event_type_name(t), v ? "denied" : "allowed", d->counters.events[t][v]);
        header(f, "hpcnode_cross_slice_writes_total", "counter", "Writes by a writer that does not own the slice.");
        for (unsigned t = 1; t < HN_EV_TYPE_MAX; t++)
                if (hn_event_class_of(t) == HN_EVC_CGROUP_ACT)
                        fprintf(f, "hpcnode_cross_slice_writes_total{type=\"%s\"} %" PRIu64 "\n",
                                hn_event_type_name(t), d->counters.cross_slice[t]);
        header(f, "hpcnode_ringbuf_lost_total", "counter", "Records the kernel could not queue, by type.");
        for (unsigned t = 1; t < HN_EV_TYPE_MAX; t++)
                fprintf(f, "hpcnode_ringbuf_lost_total{type=\"%s\"} %" PRIu64 "\n", hn_event_type_name(t),
                        d->lost[t]);
        header(f, "hpcnode_resyncs_total", "counter", "Full resyncs after lost records.");
        fprintf(f, "hpcnode_resyncs_total %" PRIu64 "\n", d->counters.resyncs);
        header(f, "hpcnode_bpf_state_tampered_total", "counter",
               "Checks that found the BPF programs' state changed behind hpcnoded's back (and restored it).");
        fprintf(f, "hpcnode_bpf_state_tampered_total %" PRIu64 "\n", d->counters.tampered);
        header(f, "hpcnode_mount_drift_total", "counter", "Mount drift found by the reconciler, by class.");
        for (unsigned c = HN_DRIFT_HELD_MOUNT_REMOVED; c < HN_DRIFT_CLASS_MAX; c++)
                fprintf(f, "hpcnode_mount_drift_total{class=\"%s\"} %" PRIu64 "\n", hn_drift_class_name(c),
                        d->mounts.drift_by_class[c]);
        header(f, "hpcnode_mount_passes_total", "counter",
               "Reconcile passes: whole, or own (the table changed by hpcnode's own guarded binds and by mounts away "
               "from its bases alone).");
        fprintf(f, "hpcnode_mount_passes_total{kind=\"whole\"} %" PRIu64 "\n", d->mounts.passes - d->mounts.passes_own);
        fprintf(f, "hpcnode_mount_passes_total{kind=\"own\"} %" PRIu64 "\n", d->mounts.passes_own);
        header(f, "hpcnode_audit_records_total", "counter", "Audit records written.");
        fprintf(f, "hpcnode_audit_records_total %" PRIu64 "\n", d->sink.records);
        header(f, "hpcnode_audit_write_failures_total", "counter", "Audit records the log file did not take.");
        fprintf(f, "hpcnode_audit_write_failures_total %" PRIu64 "\n", d->sink.failures);

        header(f, "hpcnode_api_requests_total", "counter", "API requests by call.");
        for (size_t i = 0; hnd_api_call_name(i); i++)
                fprintf(f, "hpcnode_api_requests_total{call=\"%s\"} %" PRIu64 "\n", hnd_api_call_name(i),
                        d->counters.api_requests[i]);
        header(f, "hpcnode_api_errors_total", "counter", "API requests that failed, by call.");
        for (size_t i = 0; hnd_api_call_name(i); i++)
                fprintf(f, "hpcnode_api_errors_total{call=\"%s\"} %" PRIu64 "\n", hnd_api_call_name(i),
                        d->counters.api_errors[i]);
        header(f, "hpcnode_api_refused_total", "counter", "API calls refused for who the caller is.");
        fprintf(f, "hpcnode_api_refused_total %" PRIu64 "\n", d->counters.api_refused);
        header(f, "hpcnode_api_clients", "gauge", "Connected API clients.");
        fprintf(f, "hpcnode_api_clients %u\n", d->api.n_clients);
        header(f, "hpcnode_api_rejected_connections_total", "counter", "Connections refused at ApiMaxClients.");
        fprintf(f, "hpcnode_api_rejected_connections_total %" PRIu64 "\n", d->api.rejected_connections);
        header(f, "hpcnode_api_dropped_subscribers_total", "counter", "Subscribers dropped for not keeping up.");
        fprintf(f, "hpcnode_api_dropped_subscribers_total %" PRIu64 "\n", d->api.dropped_subscribers);

        render_bpf(f, d);
        return memstream_close(f, &text, ret);
}

