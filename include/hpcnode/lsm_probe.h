/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HPCNODE_LSM_PROBE_H
#define HPCNODE_LSM_PROBE_H

/* Shared by bpf/lsm_probe.bpf.c and the probe in libhpcnode: the one
 * directory name the probe program refuses. No kernel or libc headers. */
#define HN_LSM_PROBE_NAME "hn-lsm-probe-deny"

#endif
