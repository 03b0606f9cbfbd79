// SPDX-License-Identifier: GPL-2.0-only
/* hpcnode's own state: its maps hold the slice roots, the identities, the
 * emergency flag and the held mounts, and a root stranger with bpftool
 * could rewrite any of them. With BPF LSM, opening one of them for writing
 * (by id, or from a pin) is refused to anyone but the manager and
 * recorded; reading them stays open. Without it the daemon checks them
 * against what it wrote, every tick (monitor_guard.c). */
#include "emit.bpf.h"

#define FMODE_WRITE 0x2

static __always_inline bool own_map(__u32 id)
{
        for (int i = 0; i < HN_OWN_MAPS; i++) {
                if (!own_map_ids[i])
                        return false;
                if (own_map_ids[i] == id)
                        return true;
        }
        return false;
}

SEC("lsm/bpf_map")
int BPF_PROG(hn_lsm_bpf_map, struct bpf_map *map, fmode_t fmode, int ret)
{
        if (ret)
                return previous(ret);
        if (!(fmode & FMODE_WRITE) || !own_map(map->id))
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        if (w.owner == HN_EVO_MANAGER)
                return 0;
        struct act a = { .type = HN_EV_GUARD_MAP, .path = map->name, .value = map->id, .source = HN_EVS_LSM,
                         .flags = HN_EVF_CROSS_SLICE };
        return verdict(&w, &a, true, true);
}
