/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_PROBE_COST_H
#define HND_PROBE_COST_H

#include <hpcnode/monitor.h>

/* What an attribution level costs unrelated work on this machine:
 * getppid(2), an open+close of /dev/null, and a 4 KiB pwrite(2) of an
 * anonymous file (every write meets file_permission where BPF LSM runs),
 * median ns per call with nothing attached and with a monitor at that
 * level, interleaved. About a second. Negative errno if the monitor cannot
 * start here. */
struct hnd_cost {
        double getppid_none, getppid_level;
        double open_none, open_level;
        double write_none, write_level;
};
int hnd_measure_cost(enum hn_attribution level, bool lsm, struct hnd_cost *ret, struct hn_error *err);

#endif
