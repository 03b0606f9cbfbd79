/* SPDX-License-Identifier: GPL-2.0-only */
/* The syscall the current task is in, per architecture: the numbers
 * differ between x86-64 and arm64 (asm-generic), and so does where
 * pt_regs keeps the number. No other file names a syscall number. */
#ifndef HN_SYSCALL_BPF_H
#define HN_SYSCALL_BPF_H

#include "compat.bpf.h"

#if defined(__TARGET_ARCH_x86)
#define HN_NR_WRITE 1
#define HN_NR_PWRITE64 18
#define HN_NR_WRITEV 20
#define HN_NR_SENDFILE 40
#define HN_NR_SPLICE 275
#define HN_NR_PWRITEV 296
#define HN_NR_COPY_FILE_RANGE 326
#define HN_NR_PWRITEV2 328
#define HN_NR_IO_URING_ENTER 426
#define HN_NR_CLONE3 435
static __always_inline long syscall_nr_of(struct pt_regs *regs)
{
        return BPF_CORE_READ(regs, orig_ax);
}
#elif defined(__TARGET_ARCH_arm64)
#define HN_NR_WRITE 64
#define HN_NR_WRITEV 66
#define HN_NR_PWRITE64 68
#define HN_NR_PWRITEV 70
#define HN_NR_SENDFILE 71
#define HN_NR_SPLICE 76
#define HN_NR_COPY_FILE_RANGE 285
#define HN_NR_PWRITEV2 287
#define HN_NR_IO_URING_ENTER 426
#define HN_NR_CLONE3 435
static __always_inline long syscall_nr_of(struct pt_regs *regs)
{
        return BPF_CORE_READ(regs, syscallno);
}
#else
#error "the syscall numbers are known for x86 and arm64 only: add this architecture's here"
#endif

#define PF_IO_WORKER 0x00000010 /* an io_uring worker thread: it runs no syscall of its own */

/* The current syscall's number; -1 where its registers are not found
 * (compat.bpf.h). */
static __always_inline long current_syscall(void)
{
        struct pt_regs *regs = current_regs();
        return regs ? syscall_nr_of(regs) : -1;
}

static __always_inline bool in_io_worker(void)
{
        return current_flags() & PF_IO_WORKER;
}

/* write(2) and its vector and positional forms: the data is in the
 * caller's memory, at the second argument. */
static __always_inline bool is_write_family(long nr)
{
        return nr == HN_NR_WRITE || nr == HN_NR_PWRITE64 || nr == HN_NR_WRITEV || nr == HN_NR_PWRITEV ||
               nr == HN_NR_PWRITEV2;
}

static __always_inline bool is_vector_write(long nr)
{
        return nr == HN_NR_WRITEV || nr == HN_NR_PWRITEV || nr == HN_NR_PWRITEV2;
}

/* Is the current task writing a file: a write-family syscall, a splice,
 * sendfile or copy_file_range into one, or io_uring (inline in
 * io_uring_enter, or in its worker threads)? */
static __always_inline bool in_file_write(void)
{
        if (in_io_worker())
                return true;
        long nr = current_syscall();
        return is_write_family(nr) || nr == HN_NR_SENDFILE || nr == HN_NR_SPLICE || nr == HN_NR_COPY_FILE_RANGE ||
               nr == HN_NR_IO_URING_ENTER;
}

#endif
