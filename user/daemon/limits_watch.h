/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The limits reconciler: the safety net under control-file attribution.
 * Each scan reads the limit files of every cgroup in both slices and
 * reports each value that differs from the previous scan. It cannot say
 * who changed a value, only that it changed; with attribution "off" it is
 * the only witness. */
#ifndef HND_LIMITS_WATCH_H
#define HND_LIMITS_WATCH_H

#include <stddef.h>

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
/* The files watched, NULL-terminated (documentation and tests). */
extern const char *const hnd_limit_files[];

#endif
