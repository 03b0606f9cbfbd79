/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "render.h"

const char *hnctl_str(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "";
}

int64_t hnctl_int(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static json_object *get(json_object *o, const char *key) {
        json_object *v = NULL;
        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *hnctl_bytes(json_object *v, char *buf, size_t size) {
        if (!v)
                return "-";
        if (json_object_is_type(v, json_type_string))
                return json_object_get_string(v); /* "max" */
        static const char units[] = "BKMGTP";
        double n = (double) json_object_get_int64(v);
        unsigned u = 0;
        while (n >= 1024 && u < sizeof(units) - 2) {
                n /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%.0fB", n);
        else
                snprintf(buf, size, "%.1f%c", n, units[u]);
        return buf;
}

const char *hnctl_duration(uint64_t s, char *buf, size_t size) {
        if (s >= 86400)
                snprintf(buf, size, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s % 86400 / 3600);
        else if (s >= 3600)
                snprintf(buf, size, "%" PRIu64 "h %" PRIu64 "m", s / 3600, s % 3600 / 60);
        else if (s >= 60)
                snprintf(buf, size, "%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
        else
                snprintf(buf, size, "%" PRIu64 "s", s);
        return buf;
}

void hnctl_render_emergency(FILE *f, json_object *e) {
        char d[32];
        if (!json_object_get_boolean(get(e, "active"))) {
                fprintf(f, "none\n");
                return;
        }
        fprintf(f, "ACTIVE: %s, declared by %s, ends in %s\n", hnctl_str(e, "reason"), hnctl_str(e, "actor"),
                hnctl_duration((uint64_t) hnctl_int(e, "remaining_s"), d, sizeof(d)));
}

void hnctl_render_status(FILE *f, json_object *r) {
        char up[32];
        json_object *n = get(r, "counters"), *me = get(r, "caller");
        fprintf(f, "hpcnoded %s (pid %" PRId64 "), up %s\n", hnctl_str(r, "version"), hnctl_int(r, "pid"),
                hnctl_duration((uint64_t) hnctl_int(r, "uptime_s"), up, sizeof(up)));
        fprintf(f, "%-13s %s (%s)\n", "Mode:", hnctl_str(r, "mode"), hnctl_str(r, "mode_reason"));
        fprintf(f, "%-13s %s\n", "Attribution:", hnctl_str(r, "attribution"));
        fprintf(f, "%-13s %s\n", "Cgroup root:", hnctl_str(r, "cgroup_root"));
        fprintf(f, "%-13s %s (binds under %s)\n", "Images:", hnctl_str(r, "uenv_base"), hnctl_str(r, "workdir_base"));
        fprintf(f, "%-13s ", "Emergency:");
        hnctl_render_emergency(f, get(r, "emergency"));
        fprintf(f, "%-13s %s: %" PRId64 " records, %" PRId64 " write failures, %" PRId64 " events lost, %" PRId64
                   " resyncs, %" PRId64 " mount drifts\n",
                "Audit:", hnctl_str(r, "audit_log")[0] ? hnctl_str(r, "audit_log") : "(no file)",
                hnctl_int(n, "audit_records"), hnctl_int(n, "audit_write_failures"), hnctl_int(n, "events_lost"),
                hnctl_int(n, "resyncs"), hnctl_int(n, "mount_drifts"));
        json_object *bp = get(r, "bpf_programs");
        char kib[32];
        fprintf(f, "%-13s %s, %" PRId64 " maps holding %s\n", "BPF:", hnctl_str(bp, "state"), hnctl_int(bp, "maps"),
                hnctl_bytes(get(bp, "map_bytes"), kib, sizeof(kib)));
        fprintf(f, "%-13s %" PRId64 " connected\n", "API clients:", hnctl_int(n, "api_clients"));
        fprintf(f, "%-13s %s (uid %" PRId64 ", matched by %s)\n", "You are:", hnctl_str(me, "role"),
                hnctl_int(me, "uid"), hnctl_str(me, "matched"));
}

void hnctl_render_probe(FILE *f, json_object *r) {
        json_object *l = get(r, "bpf_lsm"), *t = get(r, "trampolines");
        fprintf(f, "%-30s %s\n", "cgroup2 mount", hnctl_str(r, "cgroup2_mount"));
        fprintf(f, "%-30s %s: %s\n", "BPF LSM (deny in the kernel)",
                json_object_get_boolean(get(l, "available")) ? "yes" : "no", hnctl_str(l, "reason"));
        fprintf(f, "%-30s %s: %s\n", "fentry/fexit trampolines", json_object_get_boolean(get(t, "available")) ? "yes" : "no",
                hnctl_str(t, "reason"));
        fprintf(f, "%-30s %s\n", "mode in force", hnctl_str(r, "mode"));
        fprintf(f, "%-30s %s\n", "attribution level", hnctl_str(r, "attribution"));
}

void hnctl_render_metrics(FILE *f, json_object *r) {
        char a[32], b[32];
        fprintf(f, "%-16s %" PRId64 "\n", "processes", hnctl_int(r, "processes"));
        fprintf(f, "%-16s %.3fs\n", "cpu", (double) hnctl_int(r, "cpu_usage_usec") / 1e6);
        fprintf(f, "%-16s %s\n", "memory.current", hnctl_bytes(get(r, "memory_current"), a, sizeof(a)));
        fprintf(f, "%-16s %s\n", "memory.max", hnctl_bytes(get(r, "memory_max"), b, sizeof(b)));
}

static void flags(FILE *f, json_object *n) {
        if (json_object_get_boolean(get(n, "zombie")))
                fputs(" [zombie]", f);
        if (json_object_get_boolean(get(n, "frozen")))
                fputs(" [frozen]", f);
}

void hnctl_render_scopes(FILE *f, json_object *r) {
        json_object *list = get(r, "scopes");
        fprintf(f, "%-56s %-9s %5s %9s %10s\n", "SCOPE", "OWNER", "PROCS", "MEMORY", "CPU");
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *n = json_object_array_get_idx(list, i);
                char m[32];
                fprintf(f, "%-56s %-9s %5" PRId64 " %9s %9.2fs", hnctl_str(n, "path"), hnctl_str(n, "owner"),
                        hnctl_int(n, "processes"), hnctl_bytes(get(n, "memory_current"), m, sizeof(m)),
                        (double) hnctl_int(n, "cpu_usage_usec") / 1e6);
                flags(f, n);
                fputc('\n', f);
        }
        fprintf(f, "%zu scopes\n", json_object_array_length(list));
}

static void mount_line(FILE *f, json_object *m, const char *indent) {
        char d[32];
        json_object *holders = get(m, "holders");
        fprintf(f, "%s%s -> %s", indent, hnctl_str(m, "image"), hnctl_str(m, "mount_point"));
        if (json_object_get_boolean(get(m, "foreign"))) {
                fputs("  [foreign: not made by hpcnode]\n", f);
                return;
        }
        fprintf(f, "  %s  refcount %" PRId64, hnctl_str(m, "loop_device"), hnctl_int(m, "refcount"));
        if (json_object_get_boolean(get(m, "holding")))
                fprintf(f, ", unmount in %s",
                        hnctl_duration((uint64_t) (hnctl_int(m, "hold_remaining_ms") + 999) / 1000, d, sizeof(d)));
        fputc('\n', f);
        for (size_t i = 0; i < json_object_array_length(holders); i++) {
                json_object *h = json_object_array_get_idx(holders, i);
                fprintf(f, "%s    held by %s (%s)\n", indent, hnctl_str(h, "allocation"), hnctl_str(h, "owner"));
        }
}

void hnctl_render_mounts(FILE *f, json_object *r) {
        json_object *images = get(r, "images");
        for (size_t i = 0; i < json_object_array_length(images); i++)
                mount_line(f, json_object_array_get_idx(images, i), "");
        fprintf(f, "%zu images\n", json_object_array_length(images));
}

void hnctl_render_record(FILE *f, json_object *rec) {
        json_object *target = get(rec, "target"), *writer = get(rec, "writer"), *client = get(rec, "client");
        const char *verdict = hnctl_str(rec, "verdict")[0] ? hnctl_str(rec, "verdict") : hnctl_str(rec, "outcome");
        const char *path = target ? hnctl_str(target, "path") : hnctl_str(rec, "path");
        fprintf(f, "%s %s", hnctl_str(rec, "time"), hnctl_str(rec, "event"));
        if (*verdict)
                fprintf(f, " %s", verdict);
        if (*path)
                fprintf(f, " %s", path);
        if (writer)
                fprintf(f, " by %s[%" PRId64 "] (%s)", hnctl_str(writer, "comm"), hnctl_int(writer, "tgid"),
                        hnctl_str(writer, "identity"));
        if (client)
                fprintf(f, " via API %s[%" PRId64 "] (%s)", hnctl_str(client, "exe"), hnctl_int(client, "pid"),
                        hnctl_str(client, "role"));
        if (hnctl_str(rec, "detail")[0])
                fprintf(f, ": %s", hnctl_str(rec, "detail"));
        fputc('\n', f);
}

/* One cgroup and its children, systemd-cgls style. */
static void tree_node(FILE *f, json_object *n, const char *prefix, bool last) {
        char m[32], mx[32], line[512];
        fprintf(f, "%s%s%s", prefix, last ? "└─" : "├─", hnctl_str(n, "name"));
        fprintf(f, "  %s, %" PRId64 " procs, mem %s/%s, cpu %.2fs", hnctl_str(n, "owner"), hnctl_int(n, "processes"),
                hnctl_bytes(get(n, "memory_current"), m, sizeof(m)), hnctl_bytes(get(n, "memory_max"), mx, sizeof(mx)),
                (double) hnctl_int(n, "cpu_usage_usec") / 1e6);
        flags(f, n);
        fputc('\n', f);
        json_object *kids = get(n, "children");
        snprintf(line, sizeof(line), "%s%s", prefix, last ? "  " : "│ ");
        for (size_t i = 0; kids && i < json_object_array_length(kids); i++)
                tree_node(f, json_object_array_get_idx(kids, i), line, i + 1 == json_object_array_length(kids));
}

void hnctl_render_tree(FILE *f, json_object *r) {
        json_object *slices = get(r, "slices"), *images = get(r, "mounts");
        fprintf(f, "%s%s\n", hnctl_str(r, "root"), json_object_get_boolean(get(r, "emergency")) ? "  [EMERGENCY]" : "");
        for (size_t i = 0; slices && i < json_object_array_length(slices); i++)
                tree_node(f, json_object_array_get_idx(slices, i), "", i + 1 == json_object_array_length(slices));
        if (json_object_get_boolean(get(r, "truncated")))
                fprintf(f, "(truncated: more cgroups than the daemon walks at once)\n");
        fprintf(f, "\nImage mounts:\n");
        for (size_t i = 0; images && i < json_object_array_length(images); i++)
                mount_line(f, json_object_array_get_idx(images, i), "  ");
        if (!images || !json_object_array_length(images))
                fprintf(f, "  (none)\n");
}
