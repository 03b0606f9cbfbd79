/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_DAEMON_PROBE_H
#define HND_DAEMON_PROBE_H

#include <stddef.h>

#include <hpcnode/probe.h>

/* Each feature the kernel lacks and what runs instead, "; "-separated;
 * "none" when nothing is missing. */
void hnd_features_degraded(const struct hn_kernel_features *f, char *buf, size_t size);
/* hpcnoded --probe: prints the table; 1 where the BPF side does not load. */
int hnd_probe_main(void);

#endif
