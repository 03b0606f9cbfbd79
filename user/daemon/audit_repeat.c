/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "audit_repeat.h"

#define WINDOW_USEC 1000000u

static bool limited(uint32_t type) {
        switch (type) {
        case HN_EV_SELF_FILE:
        case HN_EV_SELF_SIGNAL:
        case HN_EV_SELF_PTRACE:
        case HN_EV_GUARD_BPF:
        case HN_EV_GUARD_MAP:
        case HN_EV_MOUNT_IMAGE_WRITE:
        case HN_EV_MOUNT_LOOP:
                return true;
        }
        return false;
}

/* FNV-1a over what tells two acts of one kind apart: its numbers (the
 * signal, the op, the inode or id), its verdict, its name, and who acted
 * (the executable, the uid, the cgroup; not the pid, which a fork storm
 * makes new for every act). */
static uint64_t what_of(const struct hn_event *e) {
        uint64_t h = 14695981039346656037ull;
        const uint64_t parts[] = { e->value,   e->other_cgroup_id, e->cgroup_id,        e->flags & HN_EVF_DENIED,
                                   e->exe_ino, e->exe_dev,         e->writer_cgroup_id, e->uid };
        const unsigned char *p = (const unsigned char *) parts;
        for (size_t i = 0; i < sizeof(parts); i++)
                h = (h ^ p[i]) * 1099511628211ull;
        for (size_t i = 0; i < sizeof(e->path) && e->path[i]; i++)
                h = (h ^ (unsigned char) e->path[i]) * 1099511628211ull;
        return h;
}

static void summarise(struct hnd_repeat *s, hnd_repeat_fn fn, void *userdata) {
        if (s->suppressed)
                fn(hn_event_type_name(s->type), s->tgid, s->comm, s->others, s->suppressed, userdata);
        s->suppressed = 0;
        s->others = false;
}

bool hnd_repeat_admit(struct hnd_repeats *r, const struct hn_event *e, uint64_t now_usec, hnd_repeat_fn fn,
                      void *userdata) {
        if (!limited(e->type))
                return true;
        uint64_t what = what_of(e);
        struct hnd_repeat *s = NULL, *free_slot = NULL;
        for (size_t i = 0; i < HND_REPEAT_SLOTS && !s; i++) {
                struct hnd_repeat *c = &r->v[i];
                if (c->window_usec && c->type == e->type && c->what == what)
                        s = c;
                else if (!free_slot && (!c->window_usec || (now_usec - c->window_usec >= WINDOW_USEC &&
                                                            !c->suppressed)))
                        free_slot = c;
        }
        if (!s) {
                if (!free_slot)
                        return true; /* no room to count it in: recorded */
                s = free_slot;
                *s = (struct hnd_repeat){ .type = e->type, .tgid = e->tgid, .what = what, .window_usec = now_usec };
                memcpy(s->comm, e->comm, sizeof(s->comm) - 1);
        } else if (now_usec - s->window_usec >= WINDOW_USEC) {
                summarise(s, fn, userdata);
                s->window_usec = now_usec;
                s->in_window = 0;
        }
        if (e->tgid != s->tgid)
                s->others = true;
        if (s->in_window < HND_REPEAT_PER_SEC) {
                s->in_window++;
                return true;
        }
        s->suppressed++;
        return false;
}

void hnd_repeat_flush(struct hnd_repeats *r, uint64_t now_usec, hnd_repeat_fn fn, void *userdata) {
        for (size_t i = 0; i < HND_REPEAT_SLOTS; i++) {
                struct hnd_repeat *s = &r->v[i];
                if (s->window_usec && now_usec - s->window_usec >= WINDOW_USEC) {
                        summarise(s, fn, userdata);
                        s->window_usec = 0;
                }
        }
}
