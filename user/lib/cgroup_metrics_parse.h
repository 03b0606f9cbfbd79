/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_CGROUP_METRICS_PARSE_H
#define HN_CGROUP_METRICS_PARSE_H

#include <stdint.h>

/* "max" -> HN_MEMORY_UNLIMITED, else a decimal byte count. -EBADMSG otherwise. */
int parse_memory_max(const char *text, uint64_t *ret);
/* Number of pids in a cgroup.procs text (one per line). */
uint32_t count_pid_lines(const char *text);

#endif
