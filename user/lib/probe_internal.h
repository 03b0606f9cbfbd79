/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the probe learns of the kernel for the loader alone. */
#ifndef HN_PROBE_INTERNAL_H
#define HN_PROBE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <hpcnode/probe.h>

/* The xattr LSM hooks take the mount's idmap or user namespace first
 * (5.12+): the programs read their arguments one slot later. */
bool probe_xattr_hooks_idmap(void);

/* "name (Linux since), ..." of each feature the full BPF object uses that
 * f lacks; the bytes written, 0 when none. */
size_t probe_full_object_missing(const struct hn_kernel_features *f, char *buf, size_t size);

#endif
