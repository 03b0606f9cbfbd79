/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_TRACEPOINT_ATTACH_H
#define HN_TRACEPOINT_ATTACH_H

#include <bpf/libbpf.h>

/* Attaches prog to the tracepoint category:name. Where tracefs is not
 * mounted (a minimal host, a container) the tracepoint's id is read from a
 * private tracefs instance that is never attached to any mount tree, so
 * nothing appears in anyone's mount table. Negative errno on failure
 * (-ENOENT: the kernel has no such tracepoint). */
int hn_tracepoint_attach(struct bpf_program *prog, const char *category, const char *name, struct bpf_link **ret);

#endif
