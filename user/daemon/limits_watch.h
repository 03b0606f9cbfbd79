/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The limits reconciler: the safety net under control-file attribution.
 * Each scan reads every writable control file of every cgroup in both
 * slices (hnd_limits_watched) and
 * reports each value that differs from the previous scan. It cannot say
 * who changed a value, only that it changed; with attribution "off" it is
 * the only witness. */
#ifndef HND_LIMITS_WATCH_H
#define HND_LIMITS_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <hpcnode/slice.h>

struct hnd_limits;

struct hnd_limit_change {
        const char *path;  /* the control file, absolute */
        const char *file;  /* its name: "memory.max" */
        const char *old_value, *new_value; /* trimmed */
        enum hn_slice_owner owner;
};
typedef void (*hnd_limit_change_fn)(const struct hnd_limit_change *c, void *userdata);

/* root: the directory holding pact.slice and workload.slice. */
int hnd_limits_new(const char *root, struct hnd_limits **ret);
void hnd_limits_free(struct hnd_limits *l);
/* Reads every watched file; calls fn for each changed value. The first
 * scan, and a cgroup's first sighting, only remember. Returns the number
 * of values watched, or a negative errno (nothing is forgotten then). */
int hnd_limits_scan(struct hnd_limits *l, hnd_limit_change_fn fn, void *userdata);
/* Whether a cgroup file of this name and mode is watched: every file that
 * can be written and read, but membership, freeze and kill (acts a
 * tracepoint records) and the values the kernel moves itself (*.pressure
 * other than cgroup.pressure, *.peak). */
bool hnd_limits_watched(const char *name, mode_t mode);

#endif
