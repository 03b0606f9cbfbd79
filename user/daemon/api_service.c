/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The service's own calls: status, probe, metrics, audit.tail, subscribe. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <hpcnode/probe.h>

#include "api_handlers.h"
#include "audit_tail.h"
#include "caller.h"
#include "clock.h"
#include "daemon.h"
#include "error_set.h"
#include "macro.h"
#include "metrics.h"

int hnd_call_status(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                    struct hn_error *err) {
        (void) args, (void) err;
        uint64_t now_usec = realtime_now_ns() / 1000u;
        json_object_object_add(result, "version", json_object_new_string(HND_VERSION));
        json_object_object_add(result, "pid", json_object_new_int(d->pid));
        json_object_object_add(result, "mode", json_object_new_string(d->mode));
        json_object_object_add(result, "mode_reason", json_object_new_string(d->mode_why));
        json_object_object_add(result, "attribution",
                               json_object_new_string(hn_attribution_name(hn_monitor_attribution(d->monitor))));
        json_object_object_add(result, "cgroup_root", json_object_new_string(hn_cgroup_manager_root(d->cgroups)));
        json_object_object_add(result, "uenv_base", json_object_new_string(d->cfg.uenv_base));
        json_object_object_add(result, "workdir_base", json_object_new_string(d->cfg.workdir_base));
        json_object_object_add(result, "audit_log", json_object_new_string(d->cfg.audit_log));
        /* where the chain stands, so audit verify sees a cut tail too */
        struct audit_chain chain = hnd_sink_chain(&d->sink);
        json_object *ch = json_object_new_object();
        json_object_object_add(ch, "seq", json_object_new_int64((int64_t) chain.seq));
        json_object_object_add(ch, "last", json_object_new_string(chain.last));
        json_object_object_add(result, "audit_chain", ch);
        const char *set = NULL, *pin = hn_monitor_pin_state(d->monitor, &set);
        json_object *bp = json_object_new_object();
        json_object_object_add(bp, "state", json_object_new_string(pin));
        json_object_object_add(bp, "path", set ? json_object_new_string(set) : NULL);
        if (!set)
                json_object_object_add(bp, "why", json_object_new_string(d->pin_note[0] ? d->pin_note : "BpfPinDir= is empty"));
        uint64_t map_bytes;
        size_t maps;
        if (hn_monitor_map_memory(d->monitor, &map_bytes, &maps, NULL) == 0) {
                json_object_object_add(bp, "maps", json_object_new_int64((int64_t) maps));
                json_object_object_add(bp, "map_bytes", json_object_new_int64((int64_t) map_bytes));
        }
        json_object_object_add(result, "bpf_programs", bp);
        json_object_object_add(result, "uptime_s",
                               json_object_new_int64((int64_t) ((now_usec - d->started_unix_usec) / 1000000u)));
        json_object *e = json_object_new_object();
        api_emergency_json(d, e);
        json_object_object_add(result, "emergency", e);
        uint64_t lost_total = 0;
        for (unsigned t = 0; t < HN_EV_TYPE_MAX; t++)
                lost_total += d->lost[t];
        json_object *n = json_object_new_object();
        json_object_object_add(n, "audit_records", json_object_new_int64((int64_t) d->sink.records));
        json_object_object_add(n, "audit_write_failures", json_object_new_int64((int64_t) d->sink.failures));
        json_object_object_add(n, "events_lost", json_object_new_int64((int64_t) lost_total));
        json_object_object_add(n, "resyncs", json_object_new_int64((int64_t) d->counters.resyncs));
        json_object_object_add(n, "mount_drifts", json_object_new_int64((int64_t) d->mounts.drifts));
        json_object_object_add(n, "api_clients", json_object_new_int64(d->api.n_clients));
        json_object_object_add(result, "counters", n);
        json_object_object_add(result, "caller", hnd_caller_json(c));
        return 0;
}

int hnd_call_probe(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                   struct hn_error *err) {
        (void) c, (void) args, (void) err;
        struct hn_bpf_lsm_probe lsm;
        struct hn_trampoline_probe tramp;
        hn_probe_bpf_lsm(NULL, &lsm);
        hn_probe_trampolines(&tramp);
        json_object *l = json_object_new_object(), *t = json_object_new_object();
        json_object_object_add(l, "available", json_object_new_boolean(lsm.available));
        json_object_object_add(l, "reason", json_object_new_string(lsm.reason));
        json_object_object_add(t, "available", json_object_new_boolean(tramp.available));
        json_object_object_add(t, "reason", json_object_new_string(tramp.reason));
        json_object_object_add(result, "bpf_lsm", l);
        json_object_object_add(result, "trampolines", t);
        json_object_object_add(result, "cgroup2_mount", json_object_new_string(d->sink.cgroup_mount));
        json_object_object_add(result, "mode", json_object_new_string(d->mode));
        json_object_object_add(result, "attribution",
                               json_object_new_string(hn_attribution_name(hn_monitor_attribution(d->monitor))));
        return 0;
}

void hnd_call_metrics_prepare(struct hnd_daemon *d, json_object *result) {
        _cleanup_free_ char *kept = NULL;
        if (hnd_metrics_render_kept(d, &kept) == 0)
                json_object_object_add(result, "text", json_object_new_string(kept));
}

int hnd_call_metrics(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                     struct hn_error *err) {
        (void) c, (void) args;
        json_object *kept;
        if (!json_object_object_get_ex(result, "text", &kept))
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "metrics: out of memory");
        _cleanup_free_ char *text = NULL;
        struct hnd_tree_src src = hnd_tree_src_of(d);
        int r = hnd_metrics_complete(&src, json_object_get_string(kept), &text);
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "metrics: %s", strerror(-r));
        json_object_object_add(result, "text", json_object_new_string(text));
        return 0;
}

int hnd_call_audit_tail(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                        struct hn_error *err) {
        uint64_t lines = 20;
        (void) c;
        int r = api_arg_u64(args, "lines", HND_AUDIT_TAIL_MAX, &lines, err);
        if (r < 0)
                return r;
        json_object *records = json_object_new_array();
        if ((r = hnd_audit_tail(d->cfg.audit_log, (unsigned) lines, records, err)) < 0) {
                json_object_put(records);
                return r;
        }
        json_object_object_add(result, "records", records);
        return 0;
}

/* The connection becomes a stream; the server does the rest. */
int hnd_call_subscribe(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                       struct hn_error *err) {
        (void) d, (void) c, (void) args, (void) result, (void) err;
        return 0;
}
