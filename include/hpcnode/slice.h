/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HPCNODE_SLICE_H
#define HPCNODE_SLICE_H

#include <hpcnode/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The fixed slice layout both node agents share (SPEC §1). */
#define HN_SLICE_PACT_ROOT     "pact.slice"
#define HN_SLICE_PACT_INFRA    "pact.slice/infra.slice"
#define HN_SLICE_PACT_NETWORK  "pact.slice/network.slice"
#define HN_SLICE_PACT_GPU      "pact.slice/gpu.slice"
#define HN_SLICE_PACT_AUDIT    "pact.slice/audit.slice"
#define HN_SLICE_WORKLOAD_ROOT "workload.slice"

enum hn_slice_owner {
        HN_OWNER_NONE,
        HN_OWNER_PACT,
        HN_OWNER_WORKLOAD,
};

/* Owner of a cgroup path, matching whole path components: "pact.slice-evil"
 * and "workload.slice-extra" belong to nobody. The path may be relative to
 * the cgroup2 mount, start with '/', or carry the absolute mount prefix
 * (/sys/fs/cgroup or /sys/fs/cgroup/unified). Paths with "." or ".."
 * components, or empty components, belong to nobody. */
HN_PUBLIC enum hn_slice_owner hn_slice_owner(const char *path);

/* "pact", "workload", "none"; never NULL. */
HN_PUBLIC const char *hn_slice_owner_name(enum hn_slice_owner owner);

#ifdef __cplusplus
}
#endif
#endif
