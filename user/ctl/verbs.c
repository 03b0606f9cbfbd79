/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hpcnodectl's verbs: each one API call (docs/api.md), its arguments
 * checked here, its result printed by render.c or as the daemon's JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_verify.h"
#include "client.h"
#include "render.h"
#include "verbs.h"

struct hnctl_verb_options hnctl_opt;

static void print_json(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* One call: the error's exit code, or 0 with the result printed (JSON) or
 * handed to render. */
static int call(struct hnctl *c, const char *name, json_object *args, bool json, void (*render)(FILE *, json_object *),
                const char *done) {
        json_object *reply = NULL, *ok, *result = NULL;
        int r = hnctl_call(c, name, args, &reply);
        if (r)
                return r;
        json_object_object_get_ex(reply, "ok", &ok);
        if (!json_object_get_boolean(ok)) {
                r = hnctl_error_exit(reply);
                json_object_put(reply);
                return r;
        }
        json_object_object_get_ex(reply, "result", &result);
        if (json)
                print_json(result);
        else if (render)
                render(stdout, result);
        else if (done)
                puts(done);
        json_object_put(reply);
        return 0;
}

/* "512M", "2G", "1048576" → bytes; 0 on a bad value. */
static int parse_size(const char *s, const char *what, int64_t *ret) {
        char *end;
        errno = 0;
        double n = strtod(s, &end);
        int64_t mult = 1;
        switch (*end) {
        case 'K': case 'k': mult = 1LL << 10; end++; break;
        case 'M': case 'm': mult = 1LL << 20; end++; break;
        case 'G': case 'g': mult = 1LL << 30; end++; break;
        case 'T': case 't': mult = 1LL << 40; end++; break;
        }
        if (errno || end == s || *end || n < 0 || n * (double) mult > 4e18) {
                fprintf(stderr, "hpcnodectl: %s %s: expected a size like 512M or 2G\n", what, s);
                return HNCTL_EXIT_USAGE;
        }
        *ret = (int64_t) (n * (double) mult);
        return 0;
}

/* "90s", "30m", "2h", "1d", "600" (seconds). */
static int parse_duration(const char *s, int64_t *ret) {
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        int64_t mult = 1;
        switch (*end) {
        case 's': mult = 1; end++; break;
        case 'm': mult = 60; end++; break;
        case 'h': mult = 3600; end++; break;
        case 'd': mult = 86400; end++; break;
        }
        if (errno || end == s || *end || n <= 0) {
                fprintf(stderr, "hpcnodectl: duration %s: expected e.g. 90s, 30m, 2h\n", s);
                return HNCTL_EXIT_USAGE;
        }
        *ret = n * mult;
        return 0;
}

static json_object *args_path(const char *key, const char *value) {
        json_object *a = json_object_new_object();
        json_object_object_add(a, key, json_object_new_string(value));
        return a;
}

static void print_path(FILE *f, json_object *r) {
        fprintf(f, "%s\n", hnctl_str(r, "path"));
}

static void print_bind(FILE *f, json_object *r) {
        fprintf(f, "%s\n", hnctl_str(r, "bind_path"));
}

static void print_prometheus(FILE *f, json_object *r) {
        fputs(hnctl_str(r, "text"), f);
}

static int v_scope_create(struct hnctl *c, const struct verb *v, char **args, bool json) {
        (void) v;
        json_object *a = json_object_new_object();
        json_object_object_add(a, "parent", json_object_new_string(args[0]));
        json_object_object_add(a, "name", json_object_new_string(args[1]));
        int64_t n;
        int r = 0;
        if (hnctl_opt.memory_max && !(r = parse_size(hnctl_opt.memory_max, "--memory-max", &n)))
                json_object_object_add(a, "memory_max", json_object_new_int64(n));
        if (!r && hnctl_opt.io_max && !(r = parse_size(hnctl_opt.io_max, "--io-max", &n)))
                json_object_object_add(a, "io_max", json_object_new_int64(n));
        if (!r && hnctl_opt.cpu_weight) {
                char *end;
                long w = strtol(hnctl_opt.cpu_weight, &end, 10);
                if (*end || w < 1 || w > 10000) {
                        fprintf(stderr, "hpcnodectl: --cpu-weight %s: expected 1..10000\n", hnctl_opt.cpu_weight);
                        r = HNCTL_EXIT_USAGE;
                } else
                        json_object_object_add(a, "cpu_weight", json_object_new_int64(w));
        }
        if (r) {
                json_object_put(a);
                return r;
        }
        return call(c, "scope.create", a, json, print_path, NULL);
}

static int v_path_call(struct hnctl *c, const struct verb *v, char **args, bool json) {
        static const struct {
                const char *verb, *call, *done;
        } map[] = {
                { "destroy", "scope.destroy", "destroyed" }, { "freeze", "scope.freeze", "frozen" },
                { "thaw", "scope.thaw", "thawed" },
        };
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (!strcmp(v->name, map[i].verb))
                        return call(c, map[i].call, args_path("path", args[0]), json, NULL, map[i].done);
        return HNCTL_EXIT_USAGE;
}

static int v_scope_attach(struct hnctl *c, const struct verb *v, char **args, bool json) {
        (void) v;
        char *end;
        long pid = strtol(args[1], &end, 10);
        if (*end || pid <= 0) {
                fprintf(stderr, "hpcnodectl: %s: not a pid\n", args[1]);
                return HNCTL_EXIT_USAGE;
        }
        json_object *a = args_path("path", args[0]);
        json_object_object_add(a, "pid", json_object_new_int64(pid));
        return call(c, "scope.attach", a, json, NULL, "attached");
}

static int v_scope_metrics(struct hnctl *c, const struct verb *v, char **args, bool json) {
        (void) v;
        return call(c, "scope.metrics", args_path("path", args[0]), json, hnctl_render_metrics, NULL);
}

static int v_scope_list(struct hnctl *c, const struct verb *v, char **args, bool json) {
        (void) v;
        return call(c, "scope.list", args[0] ? args_path("slice", args[0]) : NULL, json, hnctl_render_scopes, NULL);
}

static int v_mount_acquire(struct hnctl *c, const struct verb *v, char **args, bool json) {
        json_object *a = args_path("image", args[0]);
        json_object_object_add(a, "allocation", json_object_new_string(args[1]));
        if (!strcmp(v->name, "acquire"))
                return call(c, "mount.acquire", a, json, print_bind, NULL);
        return call(c, "mount.release", a, json, NULL, "released");
}

static int v_mount_list(struct hnctl *c, const struct verb *v, char **args, bool json) {
        (void) v, (void) args;
        return call(c, "mount.list", NULL, json, hnctl_render_mounts, NULL);
}

static int v_mount_force(struct hnctl *c, const struct verb *v, char **args, bool json) {
        (void) v;
        return call(c, "mount.force_unmount", args_path("image", args[0]), json, NULL, "unmounted");
}

static void print_drifts(FILE *f, json_object *r) {
        fprintf(f, "%" PRId64 " drifts found\n", hnctl_int(r, "drifts"));
}

static int v_mount_reconcile(struct hnctl *c, const struct verb *v, char **args, bool json) {
        (void) v, (void) args;
        return call(c, "mount.reconcile", NULL, json, print_drifts, NULL);
}

/* The operator's name, as the shell knows it (sudo keeps the real one). */
static const char *operator_name(void) {
        const char *n = getenv("SUDO_USER");
        if (!n || !*n)
                n = getenv("LOGNAME");
        return n && *n ? n : "unknown";
}

static int v_emergency(struct hnctl *c, const struct verb *v, char **args, bool json) {
        (void) args;
        if (!strcmp(v->name, "status"))
                return call(c, "emergency.status", NULL, json, hnctl_render_emergency, NULL);
        json_object *a = args_path("actor", operator_name());
        if (!strcmp(v->name, "end"))
                return call(c, "emergency.end", a, json, hnctl_render_emergency, NULL);
        int64_t secs;
        if (!hnctl_opt.reason || !hnctl_opt.duration) {
                fprintf(stderr, "hpcnodectl: emergency begin needs --reason and --duration\n");
                json_object_put(a);
                return HNCTL_EXIT_USAGE;
        }
        int r = parse_duration(hnctl_opt.duration, &secs);
        if (r) {
                json_object_put(a);
                return r;
        }
        json_object_object_add(a, "reason", json_object_new_string(hnctl_opt.reason));
        json_object_object_add(a, "duration_s", json_object_new_int64(secs));
        return call(c, "emergency.begin", a, json, hnctl_render_emergency, NULL);
}

static int v_simple(struct hnctl *c, const struct verb *v, char **args, bool json) {
        (void) args;
        if (!strcmp(v->name, "status"))
                return call(c, "status", NULL, json, hnctl_render_status, NULL);
        if (!strcmp(v->name, "probe"))
                return call(c, "probe", NULL, json, hnctl_render_probe, NULL);
        if (!strcmp(v->name, "tree"))
                return call(c, "tree", NULL, json, hnctl_render_tree, NULL);
        return call(c, "metrics", NULL, json, print_prometheus, NULL);
}

static void print_records(FILE *f, json_object *r) {
        json_object *list;
        json_object_object_get_ex(r, "records", &list);
        for (size_t i = 0; i < json_object_array_length(list); i++)
                hnctl_render_record(f, json_object_array_get_idx(list, i));
}

static int v_audit(struct hnctl *c, const struct verb *v, char **args, bool json) {
        (void) args;
        if (!strcmp(v->name, "tail")) {
                json_object *a = NULL;
                if (hnctl_opt.lines) {
                        char *end;
                        long n = strtol(hnctl_opt.lines, &end, 10);
                        if (*end || n < 1 || n > 10000) {
                                fprintf(stderr, "hpcnodectl: --lines %s: expected 1..10000\n", hnctl_opt.lines);
                                return HNCTL_EXIT_USAGE;
                        }
                        a = json_object_new_object();
                        json_object_object_add(a, "lines", json_object_new_int64(n));
                }
                return call(c, "audit.tail", a, json, print_records, NULL);
        }
        /* follow: subscribe, then one record per line until interrupted */
        int r = call(c, "subscribe", NULL, false, NULL, NULL);
        if (r)
                return r;
        setvbuf(stdout, NULL, _IOLBF, 0);
        for (json_object *rec; (rec = hnctl_read(c, -1));) {
                if (json)
                        puts(json_object_to_json_string_ext(rec,
                                                            JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                else
                        hnctl_render_record(stdout, rec);
                json_object_put(rec);
        }
        fprintf(stderr, "hpcnodectl: the stream ended (hpcnoded stopped, or this client fell behind)\n");
        return HNCTL_EXIT_UNREACHABLE;
}

static int v_audit_verify(struct hnctl *c, const struct verb *v, char **args, bool json) {
        (void) v, (void) json;
        unsigned n = 0;
        while (args[n])
                n++;
        return hnctl_audit_verify(c, args, n);
}

const struct verb hnctl_verbs[] = {
        { "scope", "create", "PARENT NAME [--memory-max SIZE] [--cpu-weight N] [--io-max SIZE]",
          "Create PARENT/NAME.scope with limits (sizes take K, M, G, T).", 2, 2, v_scope_create, OPT_LIMITS },
        { "scope", "destroy", "PATH", "Kill everything in the scope at once and remove it.", 1, 1, v_path_call, 0 },
        { "scope", "freeze", "PATH", "Freeze the scope.", 1, 1, v_path_call, 0 },
        { "scope", "thaw", "PATH", "Thaw the scope.", 1, 1, v_path_call, 0 },
        { "scope", "attach", "PATH PID", "Move process PID (all its threads) into the scope.", 2, 2, v_scope_attach,
          0 },
        { "scope", "metrics", "PATH", "Memory, CPU and process count of any cgroup (anyone may ask).", 1, 1,
          v_scope_metrics, 0 },
        { "scope", "list", "[SLICE]", "Every scope in both slices, or under SLICE.", 0, 1, v_scope_list, 0 },
        { "mount", "acquire", "IMAGE ALLOCATION", "Mount IMAGE (once) and bind it for ALLOCATION; prints the bind.", 2,
          2, v_mount_acquire, 0 },
        { "mount", "release", "IMAGE ALLOCATION", "Drop ALLOCATION's hold on IMAGE (the hold timer starts at zero).", 2,
          2, v_mount_acquire, 0 },
        { "mount", "list", "", "Every image: refcount, holders, hold countdown.", 0, 0, v_mount_list, 0 },
        { "mount", "force-unmount", "IMAGE", "Detach IMAGE and its binds now (only in an emergency).", 1, 1,
          v_mount_force, 0 },
        { "mount", "reconcile", "", "Compare the mount table with the manager now; prints the drifts found.", 0, 0,
          v_mount_reconcile, 0 },
        { "emergency", "begin", "--reason TEXT --duration DURATION",
          "Declare an emergency (operators only); DURATION like 30m or 2h, at most 24h.", 0, 0, v_emergency,
          OPT_EMERGENCY },
        { "emergency", "end", "", "End the emergency in force.", 0, 0, v_emergency, 0 },
        { "emergency", "status", "", "Whether an emergency is in force, by whom, until when.", 0, 0, v_emergency, 0 },
        { NULL, "status", "", "The daemon: mode, attribution, emergency, counters, and who you are to it.", 0, 0,
          v_simple, 0 },
        { NULL, "probe", "", "What this kernel offers (BPF LSM, trampolines) and the mode in force.", 0, 0, v_simple,
          0 },
        { NULL, "tree", "", "The slice hierarchy with owners, counts, zombie marks and the image mounts.", 0, 0,
          v_simple, 0 },
        { NULL, "metrics", "", "The Prometheus exposition, as a scrape would get it.", 0, 0, v_simple, 0 },
        { "audit", "tail", "[--lines N]", "The last N audit records (default 20).", 0, 0, v_audit, OPT_LINES },
        { "audit", "follow", "", "Audit records as they are made, until interrupted.", 0, 0, v_audit, 0 },
        { "audit", "verify", "[FILE...]",
          "Check the audit trail's hash chain (the daemon's log, or FILEs in order); names the first broken record.", 0,
          64, v_audit_verify, 0 },
};

const size_t hnctl_n_verbs = sizeof(hnctl_verbs) / sizeof(hnctl_verbs[0]);

bool hnctl_verb_offline(const struct verb *v, unsigned nargs) {
        return v->run == v_audit_verify && nargs > 0;
}
