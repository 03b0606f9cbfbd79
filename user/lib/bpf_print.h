/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libbpf's messages: where they go is a process-wide setting, the
 * program's own (its main installs this with libbpf_set_print); the
 * library never changes it. */
#ifndef HN_BPF_PRINT_H
#define HN_BPF_PRINT_H

#include <stdarg.h>

#include <bpf/libbpf.h>

/* Drops libbpf's messages, or with HN_BPF_VERBOSE set in the environment
 * prints them on stderr (the verifier's log on a refusal among them). */
int bpf_print_env(enum libbpf_print_level level, const char *fmt, va_list ap);

#endif
