/* SPDX-License-Identifier: GPL-2.0-only */
/* The file behind one of the current task's fds: what a syscall's fd
 * argument names, read from the kernel's own table. */
#ifndef HN_CURRENT_FILE_BPF_H
#define HN_CURRENT_FILE_BPF_H

#include "hpcnode.bpf.h"

/* The current task's open file fd, or NULL: direct loads through the BTF
 * task pointer, one helper call for the slot. */
static __always_inline struct file *current_file(long fd)
{
        struct task_struct *task = bpf_get_current_task_btf();
        struct fdtable *fdt = task->files->fdt;
        if (fd < 0 || (unsigned long)fd >= fdt->max_fds)
                return NULL;
        struct file *file = NULL;
        bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]);
        return file;
}

#endif
