// SPDX-License-Identifier: GPL-2.0-only
/* Who owns a cgroup, from its ancestry: the decisions every program asks
 * for, as global functions (verified once each). */
#include "ownership.bpf.h"

/* v1 hierarchies number their kernfs nodes on their own: only the default
 * hierarchy (id 0) counts. */
static __always_inline bool on_default_hierarchy(struct cgroup *cg)
{
        return cg && BPF_CORE_READ(cg, root, hierarchy_id) == 0;
}

__noinline int hn_owner_of_cgroup(__u64 cgp)
{
        struct cgroup *cg = (struct cgroup *)cgp;
        if (!on_default_hierarchy(cg))
                return HN_EVO_NONE;
        int level = BPF_CORE_READ(cg, level);
        int known = slice_level;
        if (known > 0)
                return level < known ? HN_EVO_NONE : slice_of_id(ancestor_id(cg, known));
        for (int l = 1; l < HN_MAX_LEVELS; l++) {
                if (l > level)
                        break;
                __u8 owner = slice_of_id(ancestor_id(cg, l));
                if (owner != HN_EVO_NONE) {
                        slice_level = l; /* both slice roots are children of one root */
                        return owner;
                }
        }
        return HN_EVO_NONE;
}

__noinline int hn_identity_owner_of_cgroup(__u64 cgp)
{
        struct cgroup *cg = (struct cgroup *)cgp;
        if (!identity_cgroup_count || !on_default_hierarchy(cg))
                return HN_EVO_NONE;
        int level = BPF_CORE_READ(cg, level);
        for (int l = HN_MAX_LEVELS - 1; l >= 0; l--) {
                if (l > level)
                        continue;
                __u64 id = ancestor_id(cg, l);
                __u8 *owner = id ? bpf_map_lookup_elem(&identity_cgroup, &id) : NULL;
                if (owner)
                        return *owner;
        }
        return HN_EVO_NONE;
}
