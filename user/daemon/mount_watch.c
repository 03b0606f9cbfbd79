/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error_set.h"
#include "fileio.h"
#include "kernel_key.h"
#include "libmount_cleanup.h"
#include "macro.h"
#include "mount_watch.h"
#include "timer.h"

/* What a loop or image-file record is about, by device (and inode): the
 * loop device's path, the image file's. */
static void image_of(struct hnd_mounts *w, const struct hn_event *e, char *path, size_t size) {
        struct hn_mount_info *list = NULL;
        size_t n = 0;
        struct hn_error err = { 0 };
        snprintf(path, size, "(device %u:%u)", e->type == HN_EV_MOUNT_LOOP ? (unsigned) (e->cgroup_id >> 20) : e->value >> 20,
                 e->type == HN_EV_MOUNT_LOOP ? (unsigned) (e->cgroup_id & 0xfffff) : e->value & 0xfffff);
        if (hn_mount_list(w->manager, &list, &n, &err) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                uint32_t dev;
                uint64_t ino;
                bool match = e->type == HN_EV_MOUNT_LOOP
                                     ? stat(list[i].loop_device, &st) == 0 && hn_kernel_dev(st.st_rdev) == e->cgroup_id
                                     : hn_file_kernel_key(list[i].image_path, true, &dev, &ino) == 0 &&
                                               dev == e->value && ino == e->cgroup_id;
                if (match) {
                        snprintf(path, size, "%s", e->type == HN_EV_MOUNT_LOOP ? list[i].loop_device : list[i].image_path);
                        break;
                }
        }
        hn_mount_list_free(list, n);
}

void hnd_mounts_act(struct hnd_mounts *w, const struct hn_event *e, char *path, size_t size) {
        if (e->flags & HN_EVF_NAME_ONLY) {
                /* by object: what the last pass guarded under that id */
                bool peer = e->flags & HN_EVF_PEER;
                const char *name = hn_mount_guard_name(&w->guard, peer, e->value, e->cgroup_id);
                if (name)
                        snprintf(path, size, "%s", name);
                else
                        snprintf(path, size, "(%s %u)", peer ? "peer group" : "mount", e->value);
        } else if (e->type == HN_EV_MOUNT_LOOP || e->type == HN_EV_MOUNT_IMAGE_WRITE)
                image_of(w, e, path, size);
        else
                snprintf(path, size, "%s", e->path);
        struct hnd_mount_act *a = &w->acts[w->next_act];
        w->next_act = (w->next_act + 1) % HND_MOUNT_ACTS;
        if (w->n_acts < HND_MOUNT_ACTS)
                w->n_acts++;
        a->e = *e;
        snprintf(a->path, sizeof(a->path), "%s", path);
        a->seen_usec = monotonic_usec();
}

/* a is the drift's path, its image file, or a directory above the path
 * (an unmount or move of what carries it). */
static bool act_on(const char *a, const struct hn_drift *d) {
        size_t n = strlen(a);
        if (!strcmp(a, d->path) || (d->image[0] && !strcmp(a, d->image)))
                return true;
        return n > 0 && strncmp(a, d->path, n) == 0 && (d->path[n] == '/' || a[n - 1] == '/');
}

/* The newest act on the drift's path (or on its image file, or above it)
 * in the last 10 s: who caused this drift. */
static const struct hnd_mount_act *actor_of(struct hnd_mounts *w, const struct hn_drift *d) {
        uint64_t now = monotonic_usec();
        for (unsigned k = 1; k <= w->n_acts; k++) {
                const struct hnd_mount_act *a = &w->acts[(w->next_act + HND_MOUNT_ACTS - k) % HND_MOUNT_ACTS];
                if (now - a->seen_usec <= 10u * 1000000u && act_on(a->path, d))
                        return a;
        }
        return NULL;
}

/* The drifts one pass found, each with its actor, held until the guard's
 * new state is in the kernel's maps: a mount the pass repaired is guarded
 * before anything else is done (its record's write among them; the sync
 * is the sink's thread's). One that cannot be held (no memory) is recorded at once. */
struct held_drift {
        struct hn_drift d;
        char *path, *image, *detail;
        bool has_actor;
        struct hn_event actor;
};

struct pass_drifts {
        struct hnd_mounts *w;
        struct held_drift *v;
        size_t n;
};

static bool hold_drift(struct pass_drifts *p, const struct hn_drift *d, const struct hn_event *actor) {
        struct held_drift *v = realloc(p->v, (p->n + 1) * sizeof(*v));
        if (!v)
                return false;
        p->v = v;
        struct held_drift *h = &v[p->n];
        *h = (struct held_drift){ .d = *d, .path = strdup(d->path), .image = strdup(d->image),
                                  .detail = strdup(d->detail), .has_actor = actor != NULL };
        if (!h->path || !h->image || !h->detail) {
                free(h->path), free(h->image), free(h->detail);
                return false;
        }
        h->d.path = h->path, h->d.image = h->image, h->d.detail = h->detail;
        if (actor)
                h->actor = *actor;
        p->n++;
        return true;
}

/* Their records, in the order found. */
static void record_drifts(struct pass_drifts *p) {
        for (size_t i = 0; i < p->n; i++) {
                struct held_drift *h = &p->v[i];
                hnd_sink_drift(p->w->sink, &h->d, h->has_actor ? &h->actor : NULL);
                free(h->path), free(h->image), free(h->detail);
        }
        free(p->v);
        *p = (struct pass_drifts){ .w = p->w };
}

static void on_drift(const struct hn_drift *d, void *userdata) {
        struct pass_drifts *p = userdata;
        struct hnd_mounts *w = p->w;
        const struct hnd_mount_act *a = actor_of(w, d);
        if (!a && w->drain) {
                /* The act may have come after this pass's first drain and
                 * before its table read: its record is queued by now (the
                 * programs run at the syscall's entry). */
                w->drain(w->drain_userdata);
                a = actor_of(w, d);
        }
        w->drifts++;
        if ((unsigned) d->cls < ELEMENTSOF(w->drift_by_class))
                w->drift_by_class[d->cls]++;
        if (!hold_drift(p, d, a ? &a->e : NULL))
                hnd_sink_drift(w->sink, d, a ? &a->e : NULL);
}

/* The guard's state: what the manager holds now, after this pass's
 * repairs, into the kernel's maps. On failure the last state stays in
 * force, and for naming. */
static void guard_update(struct hnd_mounts *w, struct hn_mount_guard *g) {
        struct hn_error err = { 0 };
        if (hn_monitor_set_mount_guard(w->monitor, g, &err) < 0) {
                hnd_sink_note(w->sink, "mount.guard_failed", err.message, LOG_ERR);
                hn_mount_guard_free(g);
                return;
        }
        hn_mount_guard_free(&w->guard);
        w->guard = *g;
}

/* parts: after a change of the table (the watch), where the manager's
 * own binds, each guarded by its part already, may be all that changed:
 * then nothing more is read (hn_mount_reconcile_parts). */
static void reconcile(struct hnd_mounts *w, bool parts) {
        struct hn_error err = { 0 };
        struct hn_mount_guard g = { 0 };
        struct pass_drifts found = { .w = w };
        bool whole = true;
        uint64_t start = monotonic_usec();
        w->passes++;
        if (w->drain)
                w->drain(w->drain_userdata); /* the acts first: a drift can then name its actor */
        int r = !w->monitor ? hn_mount_reconcile(w->manager, on_drift, &found, &err)
                : parts     ? hn_mount_reconcile_parts(w->manager, on_drift, &found, &g, &whole, &err)
                            : hn_mount_reconcile_guard(w->manager, on_drift, &found, &g, &err);
        if (r >= 0 && w->monitor && whole)
                guard_update(w, &g);
        record_drifts(&found); /* after the guard's maps hold the repairs */
        if (r < 0)
                /* the reconcile's failure, or the guard's after its repairs */
                hnd_sink_note(w->sink, err.kind == HN_ERR_GUARD_STATE ? "mount.guard_failed" : "mount.reconcile_failed",
                              err.message, LOG_ERR);
        if (!whole)
                w->passes_own++;
        w->pass_cost_usec = monotonic_usec() - start;
}

void hnd_mounts_reconcile(struct hnd_mounts *w) {
        reconcile(w, false);
}

void hnd_mounts_guard_bind(struct hnd_mounts *w, const char *image, const char *alloc, bool held) {
        struct hn_mount_guard part = { 0 };
        struct hn_error err = { 0 };
        if (!w->monitor)
                return;
        /* w->guard changes in place (on failure it is as it was): the
         * maps are then brought to it, writing only what differs */
        int r = held ? hn_mount_guard_state_of(w->manager, image, alloc, &part, &err)
                     : hn_mount_guard_remove_bind(w->manager, &w->guard, image, alloc, &err);
        if (r >= 0 && held)
                r = hn_mount_guard_add(&w->guard, &part, &err);
        hn_mount_guard_free(&part);
        if (r < 0 || hn_monitor_set_mount_guard(w->monitor, &w->guard, &err) < 0)
                hnd_mounts_reconcile(w); /* the whole state, as before this shortcut */
}

/* Passes are rate-limited by a token bucket: a burst of PASS_BURST runs
 * at once (a drift, its repair, the next drift: each caught within the
 * millisecond), and a sustained mount storm costs at most one pass per
 * gap: PASS_GAP_USEC, or PASS_COST_SHARE times what the last pass took,
 * so that passes over thousands of binds take at most about a fifth of
 * the loop's time and the calls behind them are still answered. */
#define PASS_GAP_USEC 2000u
#define PASS_BURST 8u
#define PASS_COST_SHARE 4u

static uint64_t pass_gap(const struct hnd_mounts *w) {
        uint64_t by_cost = w->pass_cost_usec * PASS_COST_SHARE;
        return by_cost > PASS_GAP_USEC ? by_cost : PASS_GAP_USEC;
}

static void refill(struct hnd_mounts *w, uint64_t now) {
        uint64_t full = (uint64_t) PASS_BURST * pass_gap(w);
        if (w->tokens_usec == 0)
                w->tokens_usec = now - full; /* a full bucket */
        /* tokens_usec: the time the bucket was last empty; a token per gap since */
        if (now - w->tokens_usec > full)
                w->tokens_usec = now - full;
}

static bool take_token(struct hnd_mounts *w, uint64_t now) {
        refill(w, now);
        if (now - w->tokens_usec < pass_gap(w))
                return false;
        w->tokens_usec += pass_gap(w);
        return true;
}

static int on_deferred(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hnd_mounts *w = userdata;
        (void) s;
        w->deferred = false;
        (void) take_token(w, usec);
        reconcile(w, true);
        return 0;
}

static int on_mountinfo(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct hnd_mounts *w = userdata;
        (void) fd, (void) revents;
        uint64_t now;
        sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &now);
        if (w->deferred)
                return 0; /* the pass already due covers this change too */
        if (take_token(w, now)) {
                reconcile(w, true);
                return 0;
        }
        w->deferred = true; /* one pass when the next token is there */
        (void) hnd_timer_arm(w->later, w->tokens_usec + pass_gap(w));
        return 0; /* an error here would switch off the watch itself */
}

/* Busy: more runnable work than CPUs over the last minute. */
static bool node_busy(void) {
        char buf[128];
        double load;
        if (read_file_at(AT_FDCWD, "/proc/loadavg", buf, sizeof(buf)) < 0)
                return false;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        return sscanf(buf, "%lf", &load) == 1 && cpus > 0 && load > (double) cpus;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hnd_mounts *w = userdata;
        hnd_mounts_reconcile(w);
        uint32_t ms = node_busy() ? w->cfg->mount_check_busy_ms : w->cfg->mount_check_ms;
        return hnd_timer_arm(s, usec + (uint64_t) ms * 1000u);
}

/* Allocations with a workdir: the live ones. */
static int live_allocations(const char *workdir, char ***ret, size_t *ret_n) {
        _cleanup_closedir_ DIR *d = opendir(workdir);
        char **v = NULL;
        size_t n = 0;
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                char **nv = realloc(v, (n + 1) * sizeof(char *));
                if (nv)
                        v = nv;
                if (!nv || !(v[n] = strdup(de->d_name))) {
                        for (size_t i = 0; i < n; i++)
                                free(v[i]);
                        free(v);
                        return -ENOMEM;
                }
                n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int hnd_mounts_start(struct hnd_mounts *w, sd_event *ev, const struct hnd_config *cfg, struct hnd_sink *sink,
                     struct hn_emergency *emergency, struct hn_error *err) {
        /* monitor and drain are set by the caller beforehand */
        w->sink = sink;
        w->cfg = cfg;
        w->mountinfo_fd = -1;
        hnd_owners_init(&w->owners, cfg->workdir_base);
        int r;
        /* the manager makes the bases */
        struct hn_mount_config mc = { .uenv_base = cfg->uenv_base,
                                      .workdir_base = cfg->workdir_base,
                                      .hold_time_secs = cfg->hold_time_secs };
        if ((r = hn_mount_manager_new(&mc, &w->manager, err)) < 0)
                return r;
        hn_mount_manager_set_audit(w->manager, hnd_sink_library, sink);
        hn_mount_manager_set_emergency(w->manager, emergency);
        hn_mount_manager_set_parts(w->manager, true); /* then_guard, before the reply */
        char **live = NULL;
        size_t n = 0;
        if ((r = live_allocations(cfg->workdir_base, &live, &n)) < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "listing %s: %s", cfg->workdir_base, strerror(-r));
        r = hn_mount_reconstruct_state(w->manager, (const char *const *) live, n, err);
        for (size_t i = 0; i < n; i++)
                free(live[i]);
        free(live);
        if (r < 0)
                return r;
        hnd_mounts_reconcile(w);
        w->mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (w->mountinfo_fd < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "/proc/self/mountinfo: %s", strerror(errno));
        uint64_t now;
        sd_event_now(ev, CLOCK_MONOTONIC, &now);
        if ((r = sd_event_add_io(ev, &w->io, w->mountinfo_fd, EPOLLPRI, on_mountinfo, w)) < 0 ||
            /* accuracy 1 µs: 0 would mean sd-event's default, 250 ms */
            (r = sd_event_add_time(ev, &w->later, CLOCK_MONOTONIC, UINT64_MAX, 1, on_deferred, w)) < 0 ||
            (r = sd_event_add_time(ev, &w->tick, CLOCK_MONOTONIC, now + (uint64_t) cfg->mount_check_ms * 1000u, 1000,
                                   on_tick, w)) < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "watching the mount table: %s", strerror(-r));
        return 0;
}

void hnd_mounts_stop(struct hnd_mounts *w) {
        w->io = sd_event_source_unref(w->io);
        w->later = sd_event_source_unref(w->later);
        w->tick = sd_event_source_unref(w->tick);
        if (w->mountinfo_fd >= 0)
                close(w->mountinfo_fd);
        w->mountinfo_fd = -1;
        hn_mount_manager_free(w->manager);
        w->manager = NULL;
        hn_mount_guard_free(&w->guard);
        hnd_owners_free(&w->owners);
}
