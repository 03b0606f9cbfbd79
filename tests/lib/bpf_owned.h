/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* BPF programs by kernel id: those a process holds (its descriptors'
 * fdinfo) and those a pin directory holds (its link and program pins).
 * Never by name, so that another loader on the machine (a parallel test,
 * a VM's host) counts for nothing. */
#ifndef HN_TEST_BPF_OWNED_H
#define HN_TEST_BPF_OWNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BPF_IDS_MAX 256

/* A set of program ids, sorted, each once. */
struct bpf_ids {
        uint32_t v[BPF_IDS_MAX];
        size_t n;
};

/* The programs pid holds: its program descriptors' and its links'. */
void bpf_ids_of_pid(pid_t pid, struct bpf_ids *ret);
/* The programs pinned under dir (any depth): the pinned programs and the
 * pinned links' programs. */
void bpf_ids_of_pins(const char *dir, struct bpf_ids *ret);
bool bpf_ids_has(const struct bpf_ids *s, uint32_t id);
/* How many of s the kernel still has. */
size_t bpf_ids_alive(const struct bpf_ids *s);
/* The program's name as the kernel keeps it (15 characters at most); ""
 * if it is gone. */
void bpf_prog_name_of(uint32_t id, char name[16]);

#endif
