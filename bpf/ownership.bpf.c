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
        /* nearest first: the cgroup, then each parent up to the root. A
         * walk that leaves by break gives the verifier one path per level;
         * one over ancestor levels that skipped those above the cgroup's
         * with continue gave it one more per level skipped (45,000
         * instructions a program). */
        for (int i = 0; i < HN_MAX_LEVELS && cg; i++) {
                __u64 id = cgroup_id_of(cg);
                __u8 *owner = id ? bpf_map_lookup_elem(&identity_cgroup, &id) : NULL;
                if (owner)
                        return *owner;
                struct cgroup_subsys_state *up = BPF_CORE_READ(cg, self.parent);
                cg = up ? (struct cgroup *)((char *)up - bpf_core_field_offset(struct cgroup, self)) : NULL;
        }
        return HN_EVO_NONE;
}
