/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The API's dispatch: a request line parsed strictly, its call found in
 * the table (who may make it, the arguments it takes, whether it may wait),
 * refused or run (here, or handed to the server's threads when slow), and
 * the reply made. The handlers are in api_cgroup.c, api_mount.c,
 * api_emergency.c and api_service.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_calls.h"
#include "api_handlers.h"
#include "caller.h"
#include "daemon.h"
#include "error_set.h"
#include "json_strict.h"
#include "macro.h"

#define ROLE(r) (1u << (r))
#define KNOWN (ROLE(HND_ROLE_OPERATOR) | ROLE(HND_ROLE_PACT) | ROLE(HND_ROLE_WORKLOAD))
#define ANYONE (KNOWN | ROLE(HND_ROLE_UNKNOWN))
#define OPERATOR ROLE(HND_ROLE_OPERATOR)

struct call {
        const char *name;
        unsigned roles;
        hnd_call_fn *fn;
        const char *args[8]; /* every key it accepts */
        /* May wait (a kill that waits for the cgroup to empty, a loop
         * device and a mount) or reads files or cgroupfs (a tail of the
         * trail, a scope's metrics, a probe): run off the event loop, on
         * a thread of its own. Such a call may use only the thread-safe
         * managers. */
        bool slow;
        /* After success, on the loop, before the reply goes out: the
         * guard brought up to date with what the call changed. A whole
         * reconcile pass (every bind held), or the call's own bind only
         * (acquire adds it, release takes it away; the pass its table
         * change brings follows, rate-limited). */
        enum { THEN_NOTHING, THEN_RECONCILE, THEN_GUARD_ADD, THEN_GUARD_DROP } then;
        /* Before the call, on the loop: what it takes of the loop's own
         * state, put in its result (a slow call may not read that state
         * from its thread). */
        void (*prepare)(struct hnd_daemon *d, json_object *result);
};

struct hnd_api_pending {
        struct hnd_daemon *d;
        const struct call *call;
        size_t index;
        json_object *req, *args, *result;
        struct hnd_caller caller;
        struct hn_error err;
        int r;
};

static int check_args(const struct call *call, json_object *args, struct hn_error *err) {
        if (!args)
                return 0;
        json_object_object_foreach(args, key, v) {
                (void) v;
                bool known = false;
                for (size_t i = 0; i < ELEMENTSOF(call->args) && call->args[i]; i++)
                        known |= !strcmp(call->args[i], key);
                if (!known)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "%s takes no argument \"%s\"",
                                            call->name, key);
        }
        return 0;
}

static const struct call calls[] = {
        { .name = "status", .roles = KNOWN, .fn = hnd_call_status, .args = {} },
        { .name = "probe", .roles = KNOWN, .fn = hnd_call_probe, .args = {}, .slow = true },
        { .name = "metrics", .roles = KNOWN, .fn = hnd_call_metrics, .args = {}, .slow = true,
          .prepare = hnd_call_metrics_prepare }, /* a walk of every cgroup */
        { .name = "tree", .roles = KNOWN, .fn = hnd_call_tree, .args = {}, .slow = true }, /* a walk of every cgroup */
        { .name = "hierarchy.create", .roles = KNOWN, .fn = hnd_call_hierarchy_create, .args = {}, .slow = true },
        { .name = "scope.create", .roles = KNOWN, .fn = hnd_call_scope_create,
          .args = { "parent", "name", "memory_max", "cpu_weight", "io_max" }, .slow = true },
        { .name = "scope.destroy", .roles = KNOWN, .fn = hnd_call_scope_destroy, .args = { "path" }, .slow = true },
        { .name = "scope.freeze", .roles = KNOWN, .fn = hnd_call_scope_freeze, .args = { "path" }, .slow = true },
        { .name = "scope.thaw", .roles = KNOWN, .fn = hnd_call_scope_thaw, .args = { "path" }, .slow = true },
        { .name = "scope.attach", .roles = KNOWN, .fn = hnd_call_scope_attach, .args = { "path", "pid" }, .slow = true },
        { .name = "scope.metrics", .roles = ANYONE, .fn = hnd_call_scope_metrics, .args = { "path" },
          .slow = true }, /* RI6 */
        { .name = "scope.is_empty", .roles = KNOWN, .fn = hnd_call_scope_is_empty, .args = { "path" }, .slow = true },
        { .name = "scope.list", .roles = KNOWN, .fn = hnd_call_scope_list, .args = { "slice" }, .slow = true },
        { .name = "mount.acquire", .roles = KNOWN, .fn = hnd_call_mount_acquire,
          .args = { "image", "allocation" }, .slow = true, .then = THEN_GUARD_ADD },
        { .name = "mount.release", .roles = KNOWN, .fn = hnd_call_mount_release,
          .args = { "image", "allocation" }, .slow = true, .then = THEN_GUARD_DROP },
        { .name = "mount.list", .roles = KNOWN, .fn = hnd_call_mount_list, .args = {} },
        { .name = "mount.refcount", .roles = KNOWN, .fn = hnd_call_mount_refcount, .args = { "image" } },
        { .name = "mount.force_unmount", .roles = OPERATOR | ROLE(HND_ROLE_PACT), .fn = hnd_call_mount_force_unmount,
          .args = { "image" }, .slow = true, .then = THEN_RECONCILE },
        { .name = "mount.reconcile", .roles = OPERATOR, .fn = hnd_call_mount_reconcile, .args = {} },
        { .name = "emergency.begin", .roles = OPERATOR, .fn = hnd_call_emergency_begin,
          .args = { "reason", "duration_s", "actor" } },
        { .name = "emergency.end", .roles = OPERATOR, .fn = hnd_call_emergency_end, .args = { "actor" } },
        { .name = "emergency.status", .roles = KNOWN, .fn = hnd_call_emergency_status, .args = {} },
        { .name = "audit.tail", .roles = KNOWN, .fn = hnd_call_audit_tail, .args = { "lines" }, .slow = true },
        { .name = "subscribe", .roles = KNOWN, .fn = hnd_call_subscribe, .args = {} },
};
_Static_assert(ELEMENTSOF(calls) <= HND_API_MAX_CALLS, "raise HND_API_MAX_CALLS");

const char *hnd_api_call_name(size_t i) {
        return i < ELEMENTSOF(calls) ? calls[i].name : NULL;
}

json_object *hnd_api_error_json(enum hn_error_kind kind, int sys_errno, const char *message) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "kind", json_object_new_string(hn_error_kind_name(kind)));
        json_object_object_add(e, "errno", json_object_new_int(sys_errno));
        json_object_object_add(e, "message", json_object_new_string(message));
        return e;
}

static void roles_text(unsigned roles, char *buf, size_t size) {
        size_t used = 0;
        buf[0] = '\0';
        for (enum hnd_role r = HND_ROLE_OPERATOR; r <= HND_ROLE_WORKLOAD; r++)
                if (roles & ROLE(r))
                        used += (size_t) snprintf(buf + used, size - used, "%s%s", used ? ", " : "", hnd_role_name(r));
}

/* Parses the request: an object with a string "call", an optional object
 * "args" and an optional "id" echoed back. */
static int parse(const char *line, size_t len, json_object **ret, const struct call **ret_call, size_t *ret_index,
                 json_object **ret_args, struct hn_error *err) {
        char why[128];
        if (json_strict_check(line, len, why, sizeof(why)) < 0)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG, "malformed request: %s", why);
        json_tokener *tok = json_tokener_new_ex(32);
        if (!tok)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        json_object *o = json_tokener_parse_ex(tok, line, (int) len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t used = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!o || jerr != json_tokener_success) {
                json_object_put(o);
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG, "malformed request: %s",
                                    jerr == json_tokener_continue ? "incomplete JSON" : json_tokener_error_desc(jerr));
        }
        *ret = o;
        for (; used < len; used++)
                if (line[used] != ' ' && line[used] != '\t' && line[used] != '\r')
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG,
                                            "malformed request: data after the JSON object");
        if (!json_object_is_type(o, json_type_object))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG, "malformed request: not a JSON object");
        json_object *name = NULL, *args = NULL;
        json_object_object_foreach(o, key, v) {
                (void) v;
                if (strcmp(key, "call") && strcmp(key, "args") && strcmp(key, "id"))
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG,
                                            "malformed request: unknown member \"%s\"", key);
        }
        if (!json_object_object_get_ex(o, "call", &name) || !json_object_is_type(name, json_type_string))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG, "malformed request: no \"call\" string");
        if (json_object_object_get_ex(o, "args", &args) && !json_object_is_type(args, json_type_object))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG, "malformed request: \"args\" is not an object");
        for (size_t i = 0; i < ELEMENTSOF(calls); i++)
                if (!strcmp(calls[i].name, json_object_get_string(name))) {
                        *ret_call = &calls[i];
                        *ret_index = i;
                        *ret_args = args;
                        return 0;
                }
        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EOPNOTSUPP, "unknown call \"%s\"",
                            json_object_get_string(name));
}

static void pending_free(struct hnd_api_pending *p) {
        json_object_put(p->req);
        json_object_put(p->args);
        json_object_put(p->result);
        free(p);
}

void hnd_api_run(struct hnd_api_pending *p) {
        hnd_sink_set_client(&p->caller); /* this thread's records name the caller */
        p->r = p->call->fn(p->d, &p->caller, p->args, p->result, &p->err);
        hnd_sink_set_client(NULL);
}

static void reply_error(json_object *reply, int r, struct hn_error *err) {
        if (!err->kind)
                hn_error_set(err, HN_ERR_IO, -r, "%s", strerror(-r));
        json_object_object_add(reply, "ok", json_object_new_boolean(false));
        json_object_object_add(reply, "error", hnd_api_error_json(err->kind, err->sys_errno, err->message));
}

void hnd_api_busy(struct hnd_api_pending *p) {
        p->r = hn_error_set(&p->err, HN_ERR_IO, EAGAIN, "%s: %u calls that wait are running already; try again",
                            p->call->name, HND_API_MAX_JOBS);
}

static void then_guard(struct hnd_api_pending *p) {
        json_object *image, *alloc;
        switch (p->call->then) {
        case THEN_NOTHING:
                return;
        case THEN_RECONCILE:
                hnd_mounts_reconcile(&p->d->mounts);
                return;
        case THEN_GUARD_ADD:
        case THEN_GUARD_DROP:
                /* the arguments were checked strings: the call succeeded */
                if (json_object_object_get_ex(p->args, "image", &image) &&
                    json_object_object_get_ex(p->args, "allocation", &alloc))
                        hnd_mounts_guard_bind(&p->d->mounts, json_object_get_string(image),
                                              json_object_get_string(alloc), p->call->then == THEN_GUARD_ADD);
                else
                        hnd_mounts_reconcile(&p->d->mounts);
                return;
        }
}

bool hnd_api_finish(struct hnd_api_pending *p, json_object *reply) {
        bool subscribe = false;
        if (p->r >= 0) {
                then_guard(p);
                json_object_object_add(reply, "ok", json_object_new_boolean(true));
                json_object_object_add(reply, "result", json_object_get(p->result));
                subscribe = p->call->fn == hnd_call_subscribe;
        } else {
                p->d->counters.api_errors[p->index]++;
                reply_error(reply, p->r, &p->err);
        }
        pending_free(p);
        return subscribe;
}

struct hnd_api_pending *hnd_api_handle(struct hnd_daemon *d, const struct hnd_caller *c, const char *line, size_t len,
                                       json_object *reply, bool *ret_subscribe) {
        struct hn_error err = { 0 };
        json_object *req = NULL, *args = NULL, *id = NULL;
        const struct call *call = NULL;
        size_t index = 0;
        struct hnd_api_pending *p = NULL;
        hnd_sink_set_client(c);
        int r = parse(line, len, &req, &call, &index, &args, &err);
        if (req && json_object_is_type(req, json_type_object) && json_object_object_get_ex(req, "id", &id))
                json_object_object_add(reply, "id", json_object_get(id));
        if (r >= 0) {
                d->counters.api_requests[index]++;
                if (!(call->roles & ROLE(c->role))) {
                        char who[128], detail[1024];
                        roles_text(call->roles, who, sizeof(who));
                        snprintf(detail, sizeof(detail), "%s refused: caller is %s (uid %u, pid %d, %.512s); allowed: %s",
                                 call->name, hnd_role_name(c->role), (unsigned) c->uid, (int) c->pid,
                                 c->exe[0] ? c->exe : "?", who);
                        hnd_api_refusal_record(d, detail);
                        r = hn_error_set(&err, HN_ERR_PERMISSION_DENIED, EPERM, "%s", detail);
                } else if ((r = check_args(call, args, &err)) >= 0) {
                        p = calloc(1, sizeof(*p));
                        if (!p)
                                r = hn_error_set(&err, HN_ERR_IO, ENOMEM, "out of memory");
                }
                if (r < 0)
                        d->counters.api_errors[index]++;
        }
        if (r < 0)
                reply_error(reply, r, &err);
        hnd_sink_set_client(NULL);
        if (!p) {
                json_object_put(req);
                return NULL;
        }
        *p = (struct hnd_api_pending){ .d = d, .call = call, .index = index, .req = req, .caller = *c,
                                       .args = args ? json_object_get(args) : json_object_new_object(),
                                       .result = json_object_new_object() };
        if (call->prepare)
                call->prepare(d, p->result);
        if (call->slow)
                return p; /* the server runs it on a thread, then finishes it here */
        hnd_api_run(p);
        *ret_subscribe = hnd_api_finish(p, reply);
        return NULL;
}
