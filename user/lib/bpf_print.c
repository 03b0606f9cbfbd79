/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "bpf_print.h"

int bpf_print_env(enum libbpf_print_level level, const char *fmt, va_list ap) {
        static int verbose = -1; /* read once: the environment does not change under a running program */
        (void) level;
        if (verbose < 0)
                verbose = getenv("HN_BPF_VERBOSE") != NULL;
        return verbose ? vfprintf(stderr, fmt, ap) : 0;
}
