// SPDX-License-Identifier: GPL-2.0-only
/* Who acts, and the record of the act: the two steps every program that
 * judges or reports an act takes, as global functions. Inlined, the
 * verifier walked them again on every path of every program (745,000
 * instructions for a load at level tracepoint); as global functions it
 * checks each once per program. Their pointer arguments may be NULL as far
 * as the verifier knows, hence the checks. */
#include "emit.bpf.h"

__noinline int hn_writer_identify(struct hn_writer *w, int by_cgroup)
{
        if (!w)
                return HN_EVO_NONE;
        writer_identify_body(w, by_cgroup);
        return w->owner | (w->manager_exe ? 1 << 8 : 0);
}

__noinline int hn_emit(const struct hn_writer *w, const struct act *a)
{
        if (!w || !a)
                return 0;
        emit_body(w, a);
        return 0;
}
