/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_CLOCK_H
#define HN_CLOCK_H

#include <stdint.h>

/* Audit timestamps: wall clock. */
uint64_t realtime_now_ns(void);
/* The clock the BPF programs stamp records with (bpf_ktime_get_boot_ns). */
uint64_t boottime_ns(void);
/* Deadlines and waits: never jumps. */
uint64_t monotonic_usec(void);
/* Sleeps ms milliseconds, resuming after signals. */
void sleep_msec(unsigned ms);

#endif
