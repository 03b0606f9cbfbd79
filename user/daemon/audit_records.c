/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What each audit record says: the kernel's events (who, what, where,
 * the verdict), the library's actions, unattributed limit changes and
 * mount drift, as JSON lines and journal entries. Written by the sink
 * (audit_sink.c). */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include <hpcnode/monitor.h>

#include "audit_line.h"
#include "audit_sink.h"
#include "clock.h"
#include "macro.h"

/* Journal message ids: an alert can be selected with MESSAGE_ID= alone. */
#define MSGID_EVENT "7f3c2a4e9b1d4e21a6c8d05e1f2b3a41"
#define MSGID_CROSS_SLICE "c0d4b6a2e8f94c1d9a3b5e7f6d2c8a10"
#define MSGID_LIBRARY "1e9a7c3b5d2f4a6e8b0c2d4f6a8e0c21"
#define MSGID_LIMIT_CHANGED "5b8e2d7a1c4f4e9b8a6d3c2e1f0b9a87"
#define MSGID_DRIFT "9d1f3b5a7c2e4d6f8a0b1c3e5d7f9a2b"

/* The wall-clock time of a kernel event, stamped on CLOCK_BOOTTIME: the
 * offset between the clocks is read per record, so a step of the wall
 * clock (NTP, an operator) is in every record after it. */
static int64_t event_real_ns(const struct hn_event *e) {
        return (int64_t) e->ts_boot_ns + ((int64_t) realtime_now_ns() - (int64_t) boottime_ns());
}

static const char *owner_name(unsigned o) {
        return o == HN_EVO_PACT ? "pact" : o == HN_EVO_WORKLOAD ? "workload" : o == HN_EVO_MANAGER ? "manager" : "none";
}

/* The writer's executable as the kernel saw it at the act, so an exited
 * writer is named too; the device and inode if the kernel saw no path. */
static void writer_exe(const struct hn_event *e, char *buf, size_t size) {
        if (hn_event_exe_path(e, buf, size, NULL) == 0)
                return;
        snprintf(buf, size, "dev=%u:%u ino=%" PRIu64, e->exe_dev >> 20, e->exe_dev & 0xfffff, e->exe_ino);
}

/* The field that carries hn_event.value, per type. */
/* A mount record's objects: the mount (or peer group) and directory a
 * guard record is about, the loop device and its ioctl, the image file. */
static void mount_target_json(json_object *t, const struct hn_event *e) {
        char hex[16];
        switch (e->type) {
        case HN_EV_MOUNT_LOOP:
                snprintf(hex, sizeof(hex), "0x%04x", e->value);
                json_object_object_add(t, "ioctl", json_object_new_string(hex));
                json_object_object_add(t, "device", json_object_new_int64((int64_t) e->cgroup_id));
                return;
        case HN_EV_MOUNT_IMAGE_WRITE:
                json_object_object_add(t, "device", json_object_new_int64(e->value));
                json_object_object_add(t, "inode", json_object_new_int64((int64_t) e->cgroup_id));
                return;
        }
        if (!(e->flags & HN_EVF_NAME_ONLY))
                return;
        json_object_object_add(t, e->flags & HN_EVF_PEER ? "peer_group" : "mount_id", json_object_new_int64(e->value));
        if (e->cgroup_id)
                json_object_object_add(t, "inode", json_object_new_int64((int64_t) e->cgroup_id));
}

static const char *value_field(unsigned type) {
        switch (type) {
        case HN_EV_CGROUP_ATTACH:
                return "attached_pid";
        case HN_EV_CGROUP_POPULATED:
                return "populated";
        case HN_EV_CGROUP_FREEZE:
                return "frozen";
        case HN_EV_CGROUP_KILL:
                return "killed_pid";
        case HN_EV_CGROUP_CLONE_INTO:
                return "child_pid";
        }
        return NULL;
}

/* How the writer was seen: before the act (lsm), in its context (tp_btf),
 * after a successful open (syscall exit) or as a mount call entered. */
static const char *source_name(const struct hn_event *e) {
        switch (e->source) {
        case HN_EVS_SYSCALL:
                if (e->type == HN_EV_SELF_PTRACE)
                        return e->other_cgroup_id == HN_SELF_TRACE_MEM ? "syscall_exit" : "syscall_enter";
                if (e->type == HN_EV_GUARD_BPF)
                        return "syscall_enter";
                return hn_event_class_of(e->type) == HN_EVC_MOUNT ? "syscall_enter" : "syscall_exit";
        case HN_EVS_LSM:
                return "lsm";
        case HN_EVS_FSNOTIFY:
                return "fsnotify";
        }
        return "tp_btf";
}

/* A cgroup by id as the records name it: its path, or "(cgroup N)" once gone. */
static void cgroup_path(const struct hnd_sink *s, uint64_t id, char *buf, size_t size) {
        if (hn_cgroup_path_by_id(s->cgroup_mount_fd, id, buf, size, NULL) < 0)
                snprintf(buf, size, "(cgroup %" PRIu64 ")", id);
}

/* The allocation a path belongs to, for a shipper to join records with
 * jobs: the component right below workload.slice (one scope or slice per
 * allocation, its unit suffix cut: workload.slice/alloc-42.scope and
 * workload.slice/alloc-42/task-1.scope are both alloc-42), or right below
 * WorkdirBase (the binds, WorkdirBase/<allocation>/uenv/<name>). buf gets
 * "" for any other path. */
static void allocation_of(const struct hnd_sink *s, const char *path, char *buf, size_t size) {
        buf[0] = '\0';
        const char *bases[] = { s->workload_dir, s->workdir_base };
        for (size_t i = 0; i < ELEMENTSOF(bases); i++) {
                size_t n = strlen(bases[i]);
                if (!n || strncmp(path, bases[i], n) != 0)
                        continue;
                const char *name = path + n;
                size_t len = strcspn(name, "/");
                if (i == 0 && len > 6 && (!strncmp(name + len - 6, ".scope", 6) || !strncmp(name + len - 6, ".slice", 6)))
                        len -= 6;
                if (len && len < size)
                        snprintf(buf, size, "%.*s", (int) len, name);
                return;
        }
}

/* o's "allocation" for path, when it names one; buf gets it ("" if not),
 * for the journal entry. */
static void add_allocation(const struct hnd_sink *s, json_object *o, const char *path, char *buf, size_t size) {
        allocation_of(s, path, buf, size);
        if (buf[0])
                json_object_object_add(o, "allocation", json_object_new_string(buf));
}

/* Where a placed task came from (or, for one taken out of a slice, the
 * slice it left): the other end of the move. */
static json_object *other_end_json(const struct hnd_sink *s, const struct hn_event *e) {
        json_object *o = json_object_new_object();
        if (e->flags & HN_EVF_OTHER_UNKNOWN) {
                json_object_object_add(o, "known", json_object_new_boolean(false));
                return o;
        }
        char path[PATH_MAX];
        if (e->other_cgroup_id) {
                cgroup_path(s, e->other_cgroup_id, path, sizeof(path));
                json_object_object_add(o, "path", json_object_new_string(path));
                json_object_object_add(o, "cgroup_id", json_object_new_int64((int64_t) e->other_cgroup_id));
        }
        json_object_object_add(o, "owner", json_object_new_string(owner_name(e->other_owner)));
        return o;
}

/* The writer as a JSON object: who the kernel saw, and the allocation its
 * cgroup was in at the act (while that cgroup lasts). */
static json_object *writer_json(const struct hnd_sink *s, const struct hn_event *e) {
        char exe[PATH_MAX];
        writer_exe(e, exe, sizeof(exe));
        json_object *w = json_object_new_object();
        json_object_object_add(w, "pid", json_object_new_int64(e->pid));
        json_object_object_add(w, "tgid", json_object_new_int64(e->tgid));
        json_object_object_add(w, "uid", json_object_new_int64(e->uid));
        json_object_object_add(w, "comm", json_object_new_string(e->comm));
        json_object_object_add(w, "exe", json_object_new_string(exe));
        json_object_object_add(w, "cgroup_id", json_object_new_int64((int64_t) e->writer_cgroup_id));
        json_object_object_add(w, "mnt_ns", json_object_new_int64((int64_t) e->mnt_ns));
        json_object_object_add(w, "identity", json_object_new_string(owner_name(e->writer_owner)));
        char cg[PATH_MAX], alloc[NAME_MAX + 1];
        if (e->writer_cgroup_id && hn_cgroup_path_by_id(s->cgroup_mount_fd, e->writer_cgroup_id, cg, sizeof(cg), NULL) == 0) {
                add_allocation(s, w, cg, alloc, sizeof(alloc));
        }
        return w;
}

/* The bpf(2) commands the self guard judges (bpf/self_guard.bpf.c). */
static const char *bpf_command_name(uint64_t cmd) {
        switch (cmd) {
        case BPF_OBJ_PIN:
                return "obj_pin";
        case BPF_PROG_ATTACH:
                return "prog_attach";
        case BPF_PROG_TEST_RUN:
                return "prog_test_run";
        case BPF_RAW_TRACEPOINT_OPEN:
                return "raw_tracepoint_open";
        case BPF_LINK_CREATE:
                return "link_create";
        case BPF_LINK_UPDATE:
                return "link_update";
        case BPF_LINK_DETACH:
                return "link_detach";
        }
        return "other";
}

void hnd_sink_event(struct hnd_sink *s, const struct hn_event *e, const char *mount_path) {
        char exe[PATH_MAX], target[PATH_MAX + 256];
        bool cross = e->flags & HN_EVF_CROSS_SLICE, denied = e->flags & HN_EVF_DENIED;
        const char *type = hn_event_type_name(e->type), *verdict = denied ? "denied" : "allowed";
        if (e->type == HN_EV_SELF_FILE)
                snprintf(target, sizeof(target), "hpcnoded's file %s", e->path);
        else if (e->type == HN_EV_SELF_SIGNAL || e->type == HN_EV_SELF_PTRACE)
                snprintf(target, sizeof(target), e->flags & HN_EVF_HELPER ? "hpcnoded's keeper" : "hpcnoded");
        else if (e->type == HN_EV_GUARD_BPF)
                snprintf(target, sizeof(target), "bpf %s %u", e->path, e->value);
        else if (hn_event_class_of(e->type) == HN_EVC_GUARD)
                snprintf(target, sizeof(target), "bpf map %s", e->path);
        else if (mount_path)
                snprintf(target, sizeof(target), "%s", mount_path);
        else if (e->flags & HN_EVF_NAME_ONLY) {
                /* Name-only records name a child (mkdir, control file) of
                 * cgroup_id; for rmdir, clone_into and an xattr, or an empty
                 * name, the cgroup itself. */
                char dir[PATH_MAX];
                cgroup_path(s, e->cgroup_id, dir, sizeof(dir));
                bool itself = e->type == HN_EV_CGROUP_RMDIR || e->type == HN_EV_CGROUP_CLONE_INTO || !e->path[0] ||
                              (e->type == HN_EV_CGROUP_ATTR && e->value != 2);
                if (itself)
                        snprintf(target, sizeof(target), "%s", dir);
                else
                        snprintf(target, sizeof(target), "%s/%s", dir, e->path);
        } else
                snprintf(target, sizeof(target), "%s%s", s->cgroup_mount, e->path);
        writer_exe(e, exe, sizeof(exe));
        char alloc[NAME_MAX + 1];

        json_object *o = json_object_new_object();
        sink_add_time(o, event_real_ns(e));
        json_object_object_add(o, "event", json_object_new_string(type));
        json_object_object_add(o, "verdict", json_object_new_string(verdict));
        json_object_object_add(o, "cross_slice", json_object_new_boolean(cross));
        add_allocation(s, o, target, alloc, sizeof(alloc));
        json_object *t = json_object_new_object();
        json_object_object_add(t, "path", json_object_new_string(target));
        if (e->type == HN_EV_SELF_FILE) {
                static const char *const acts[] = { "?", "open_write", "open_read", "unlink", "rename" };
                json_object_object_add(t, "inode", json_object_new_int64((int64_t) e->cgroup_id));
                json_object_object_add(o, "op", json_object_new_string(acts[e->value < 5 ? e->value : 0]));
        } else if (e->type == HN_EV_SELF_SIGNAL)
                json_object_object_add(o, "signal", json_object_new_int64(e->value));
        else if (e->type == HN_EV_SELF_PTRACE) {
                static const char *const how[] = { "access", "ptrace", "attach_stop", "mem_open", "process_vm",
                                                   "pidfd_getfd" };
                json_object_object_add(o, "ptrace_mode", json_object_new_int64(e->value));
                json_object_object_add(o, "op", json_object_new_string(e->other_cgroup_id < ELEMENTSOF(how)
                                                                               ? how[e->other_cgroup_id]
                                                                               : "?"));
        }
        else if (e->type == HN_EV_GUARD_BPF) {
                json_object_object_add(t, "kind", json_object_new_string(e->path));
                json_object_object_add(t, "id", json_object_new_int64(e->value));
                json_object_object_add(o, "op", json_object_new_string(bpf_command_name(e->other_cgroup_id)));
        }
        else if (hn_event_class_of(e->type) == HN_EVC_GUARD)
                json_object_object_add(t, "map_id", json_object_new_int64(e->value));
        else if (mount_path)
                mount_target_json(t, e);
        else {
                json_object_object_add(t, "cgroup_id", json_object_new_int64((int64_t) e->cgroup_id));
                json_object_object_add(t, "owner", json_object_new_string(owner_name(e->target_owner)));
        }
        if (e->flags & HN_EVF_IDENTITY)
                json_object_object_add(t, "identity_subtree", json_object_new_boolean(true));
        json_object_object_add(o, "target", t);
        json_object *w = writer_json(s, e);
        if (e->flags & HN_EVF_UNATTRIBUTED)
                json_object_object_add(w, "attributed", json_object_new_boolean(false));
        json_object_object_add(o, "writer", w);
        const char *value_name = value_field(e->type);
        if (value_name)
                json_object_object_add(o, value_name, json_object_new_int64(e->value));
        if (e->type == HN_EV_CGROUP_ATTACH || e->type == HN_EV_CGROUP_CLONE_INTO)
                json_object_object_add(o, "from", other_end_json(s, e));
        if (e->type == HN_EV_CGROUP_ATTR) {
                /* the LSM names the xattr; fanotify saw an attribute change */
                json_object_object_add(o, "op", json_object_new_string(e->value == 1   ? "set_xattr"
                                                                       : e->value == 0 ? "remove_xattr"
                                                                                       : "changed"));
                if (e->value != 2)
                        json_object_object_add(o, "xattr", json_object_new_string(e->path));
        }
        json_object_object_add(o, "hook", json_object_new_string(source_name(e)));
        json_object_object_add(o, "mode", json_object_new_string(s->mode));
        json_object_object_add(o, "emergency", json_object_new_boolean(e->flags & HN_EVF_EMERGENCY));
        uint64_t seq = sink_write_line(s, o);
        json_object_put(o);

        if (s->journal)
                sd_journal_send("MESSAGE=%s%s %s by %s (pid %u, %s) %s", cross ? "cross-slice write: " : "", type,
                                target, e->comm, e->tgid, owner_name(e->writer_owner), verdict,
                                "MESSAGE_ID=%s", cross ? MSGID_CROSS_SLICE : MSGID_EVENT, "HPCNODE_SEQ=%" PRIu64,
                                seq, "PRIORITY=%d", cross ? LOG_WARNING : LOG_INFO, "HPCNODE_EVENT=%s", type,
                                "HPCNODE_VERDICT=%s", verdict, "HPCNODE_CROSS_SLICE=%d", cross, "HPCNODE_TARGET=%s", target,
                                "HPCNODE_TARGET_OWNER=%s", owner_name(e->target_owner), "HPCNODE_WRITER_PID=%u",
                                e->tgid, "HPCNODE_WRITER_EXE=%s", exe, "HPCNODE_WRITER_IDENTITY=%s",
                                owner_name(e->writer_owner), "HPCNODE_MODE=%s", s->mode,
                                alloc[0] ? "HPCNODE_ALLOCATION=%s" : NULL, alloc, NULL);
}

void hnd_sink_library(const struct hn_audit_record *r, void *userdata) {
        struct hnd_sink *s = userdata;
        json_object *o = json_object_new_object();
        sink_add_time(o, (int64_t) r->realtime_ns);
        json_object_object_add(o, "event", json_object_new_string(r->action));
        json_object_object_add(o, "outcome", json_object_new_string(hn_audit_outcome_name(r->outcome)));
        json_object_object_add(o, "path", json_object_new_string(r->path ? r->path : ""));
        char alloc[NAME_MAX + 1];
        add_allocation(s, o, r->path ? r->path : "", alloc, sizeof(alloc));
        json_object_object_add(o, "caller", json_object_new_string(hn_slice_owner_name(r->caller)));
        json_object_object_add(o, "target_owner", json_object_new_string(hn_slice_owner_name(r->target_owner)));
        if (r->actor)
                json_object_object_add(o, "actor", json_object_new_string(r->actor));
        if (r->detail)
                json_object_object_add(o, "detail", json_object_new_string(r->detail));
        if (r->sys_errno)
                json_object_object_add(o, "errno", json_object_new_int(r->sys_errno));
        json_object_object_add(o, "mode", json_object_new_string(s->mode));
        json_object_object_add(o, "emergency", json_object_new_boolean(r->emergency));
        sink_add_client(o);
        uint64_t seq = sink_write_line(s, o);
        json_object_put(o);
        if (s->journal)
                sd_journal_send("MESSAGE=%s %s %s%s%s", r->action, hn_audit_outcome_name(r->outcome),
                                r->path ? r->path : "", r->detail ? ": " : "", r->detail ? r->detail : "",
                                "MESSAGE_ID=%s", MSGID_LIBRARY, "HPCNODE_SEQ=%" PRIu64, seq, "PRIORITY=%d",
                                r->outcome == HN_AUDIT_DONE ? LOG_INFO : LOG_NOTICE, "HPCNODE_EVENT=%s", r->action,
                                "HPCNODE_OUTCOME=%s", hn_audit_outcome_name(r->outcome), "HPCNODE_MODE=%s", s->mode,
                                alloc[0] ? "HPCNODE_ALLOCATION=%s" : NULL, alloc, NULL);
}

void hnd_sink_limit_changed(struct hnd_sink *s, const struct hnd_limit_change *c) {
        const char *owner = hn_slice_owner_name(c->owner);
        json_object *o = json_object_new_object();
        sink_add_time(o, (int64_t) realtime_now_ns());
        json_object_object_add(o, "event", json_object_new_string("cgroup.limit_changed"));
        json_object_object_add(o, "attributed", json_object_new_boolean(false));
        char alloc[NAME_MAX + 1];
        add_allocation(s, o, c->path, alloc, sizeof(alloc));
        json_object *t = json_object_new_object();
        json_object_object_add(t, "path", json_object_new_string(c->path));
        json_object_object_add(t, "file", json_object_new_string(c->file));
        json_object_object_add(t, "owner", json_object_new_string(owner));
        json_object_object_add(o, "target", t);
        json_object_object_add(o, "old", json_object_new_string(c->old_value));
        json_object_object_add(o, "new", json_object_new_string(c->new_value));
        json_object_object_add(o, "mode", json_object_new_string(s->mode));
        uint64_t seq = sink_write_line(s, o);
        json_object_put(o);
        if (s->journal)
                sd_journal_send("MESSAGE=limit changed, writer unknown: %s %s -> %s", c->path, c->old_value,
                                c->new_value, "MESSAGE_ID=%s", MSGID_LIMIT_CHANGED, "HPCNODE_SEQ=%" PRIu64, seq,
                                "PRIORITY=%d", LOG_WARNING,
                                "HPCNODE_EVENT=cgroup.limit_changed", "HPCNODE_TARGET=%s", c->path,
                                "HPCNODE_TARGET_OWNER=%s", owner, "HPCNODE_OLD=%s", c->old_value, "HPCNODE_NEW=%s",
                                c->new_value, "HPCNODE_MODE=%s", s->mode, alloc[0] ? "HPCNODE_ALLOCATION=%s" : NULL,
                                alloc, NULL);
}

void hnd_sink_drift(struct hnd_sink *s, const struct hn_drift *d, const struct hn_event *actor) {
        const char *cls = hn_drift_class_name(d->cls);
        json_object *o = json_object_new_object();
        sink_add_time(o, (int64_t) realtime_now_ns());
        json_object_object_add(o, "event", json_object_new_string("mount.drift"));
        json_object_object_add(o, "class", json_object_new_string(cls));
        json_object_object_add(o, "path", json_object_new_string(d->path));
        char alloc[NAME_MAX + 1];
        add_allocation(s, o, d->path, alloc, sizeof(alloc));
        json_object_object_add(o, "image", json_object_new_string(d->image));
        json_object_object_add(o, "detail", json_object_new_string(d->detail));
        json_object_object_add(o, "repaired", json_object_new_boolean(d->repaired));
        if (d->sys_errno)
                json_object_object_add(o, "errno", json_object_new_int(d->sys_errno));
        /* the act the kernel saw on that path, if any: who did it */
        json_object_object_add(o, "actor", actor ? writer_json(s, actor) : NULL);
        json_object_object_add(o, "mode", json_object_new_string(s->mode));
        uint64_t seq = sink_write_line(s, o);
        json_object_put(o);
        if (s->journal)
                sd_journal_send("MESSAGE=mount drift (%s): %s: %s%s%s", cls, d->path, d->detail,
                                actor ? "; by " : "", actor ? actor->comm : "", "MESSAGE_ID=%s", MSGID_DRIFT,
                                "HPCNODE_SEQ=%" PRIu64, seq, "PRIORITY=%d", LOG_WARNING, "HPCNODE_EVENT=mount.drift",
                                "HPCNODE_ACTOR_PID=%u", actor ? actor->tgid : 0,
                                "HPCNODE_DRIFT_CLASS=%s", cls, "HPCNODE_TARGET=%s", d->path, "HPCNODE_IMAGE=%s",
                                d->image, "HPCNODE_REPAIRED=%d", d->repaired, "HPCNODE_MODE=%s", s->mode,
                                alloc[0] ? "HPCNODE_ALLOCATION=%s" : NULL, alloc, NULL);
}
