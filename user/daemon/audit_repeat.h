/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Acts that repeat themselves, on objects that do not change: hpcnoded
 * itself (signals, ptrace and memory reads, its files), its BPF objects,
 * the held images and their loop devices. One actor's acts of one kind
 * on one target are recorded at most HND_REPEAT_PER_SEC a second; the
 * rest are counted, and once their second is over one record.suppressed
 * says how many and by whom. The actor is an executable run by a uid in a
 * cgroup, not a pid: a fork storm (a new process per act) is one actor,
 * and counted as one. A debugger on hpcnoded (strace reads its
 * memory once per system call it shows: 12,000 records a second here) or
 * a loop of writes to a held image cannot fill the trail, and every act
 * is still in it: one by one, or counted. Structural acts (a cgroup or a
 * mount made, moved or removed) each name a different object and are
 * never counted together. Loop only. */
#ifndef HND_AUDIT_REPEAT_H
#define HND_AUDIT_REPEAT_H

#include <stdbool.h>
#include <stdint.h>

#include <hpcnode/event.h>
#include <hpcnode/monitor.h>

#define HND_REPEAT_PER_SEC 20
#define HND_REPEAT_SLOTS 64

struct hnd_repeat {
        uint32_t type;
        uint32_t tgid;          /* the first process seen acting */
        bool others;            /* and other processes of the same actor */
        uint64_t what;          /* the act, its target and its actor, hashed */
        uint64_t window_usec;   /* its second's start; 0: a free slot */
        unsigned in_window;
        uint64_t suppressed;
        char comm[16];
};

struct hnd_repeats {
        struct hnd_repeat v[HND_REPEAT_SLOTS];
};

/* What a summary says: fn(event type name, the first writer, whether
 * other processes of its actor acted too, how many were counted). */
typedef void (*hnd_repeat_fn)(const char *type, uint32_t tgid, const char *comm, bool others, uint64_t suppressed,
                              void *userdata);

/* Whether e is to be recorded (else it is counted); every type but those
 * above is. now: CLOCK_MONOTONIC, microseconds. A full table records. */
bool hnd_repeat_admit(struct hnd_repeats *r, const struct hn_event *e, uint64_t now_usec, hnd_repeat_fn fn,
                      void *userdata);
/* The summaries of the seconds that are over, and their slots freed
 * (now_usec UINT64_MAX: all of them). */
void hnd_repeat_flush(struct hnd_repeats *r, uint64_t now_usec, hnd_repeat_fn fn, void *userdata);

#endif
