/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the tests run inside scopes, and as the node agents:
 *   hn_test_helper spin MS            burn MS milliseconds of CPU time, then exit 0
 *   hn_test_helper alloc BYTES        touch BYTES of memory, then sleep (OOM tests)
 *   hn_test_helper tree N             fork N children that sleep, then sleep
 *   hn_test_helper sleep              sleep until killed
 *   hn_test_helper mkdir PATH         mkdir, exit 0 or errno
 *   hn_test_helper mkdirs PREFIX N    N mkdirs PREFIX-0 .. PREFIX-N-1 (a storm)
 *   hn_test_helper rmdir PATH         rmdir, exit 0 or errno
 *   hn_test_helper write PATH V       one write of V (e.g. "0" to cgroup.procs), exit 0 or errno
 * The acts an agent could try on a slice, each by one path into the kernel:
 *   hn_test_helper via HOW PATH V     open PATH and write V, HOW being write, pwrite, writev,
 *                                     pwritev2, splice, sendfile, uring (io_uring write),
 *                                     uring-open (io_uring open and write), creat, handle
 *                                     (open_by_handle_at)
 *   hn_test_helper fdwrite FD V       write V to fd FD (inherited)
 *   hn_test_helper fdvia HOW FD V     write V to fd FD by HOW (as via, the open already made)
 *   hn_test_helper openexec PATH EXE ARGS...  open PATH for writing as fd 3, exec EXE ARGS
 *   hn_test_helper sendfd SOCK PATH   open PATH for writing, send it over the socket fd SOCK
 *   hn_test_helper recvwrite SOCK V   receive an fd over the socket fd SOCK, write V to it
 *   hn_test_helper waitwrite PATH V   open PATH, print "open", wait for a line on stdin, write V
 *   hn_test_helper clone-into DIR     clone3(CLONE_INTO_CGROUP) a child that sleeps into DIR;
 *                                     prints the child's pid; exits 0 or errno
 *   hn_test_helper setxattr PATH NAME V / removexattr PATH NAME
 * Every act but clone-into exits 0 or the errno it met. With HN_HOLD=1 in
 * its environment an act does not exit: it prints "done ERRNO" on stdout
 * and sleeps until killed, so the writer is alive while its record is read.
 * Copies of it under other names stand for the node agents in the monitor
 * tests: the kernel knows a writer by its executable. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/bpf.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* The end of an act: its errno, as the exit code, or held (HN_HOLD=1). */
static int done(int e) {
        const char *hold = getenv("HN_HOLD");
        if (!hold || strcmp(hold, "1") != 0)
                return e;
        printf("done %d\n", e);
        fflush(stdout);
        for (;;)
                pause();
}

static int uring_write(int fd, const char *v) {
        struct io_uring ring;
        int r = io_uring_queue_init(4, &ring, 0);
        if (r < 0)
                return -r;
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_write(sqe, fd, v, (unsigned) strlen(v), 0);
        struct io_uring_cqe *cqe;
        r = io_uring_submit(&ring);
        if (r >= 0)
                r = io_uring_wait_cqe(&ring, &cqe);
        int e = r < 0 ? -r : cqe->res < 0 ? -cqe->res : 0;
        io_uring_queue_exit(&ring);
        return e;
}

static int uring_open(const char *path) {
        struct io_uring ring;
        if (io_uring_queue_init(4, &ring, 0) < 0)
                return -1;
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_openat(sqe, AT_FDCWD, path, O_WRONLY, 0);
        struct io_uring_cqe *cqe;
        int fd = -1;
        if (io_uring_submit(&ring) >= 0 && io_uring_wait_cqe(&ring, &cqe) == 0)
                fd = cqe->res;
        io_uring_queue_exit(&ring);
        if (fd < 0)
                errno = -fd;
        return fd < 0 ? -1 : fd;
}

static int handle_open(const char *path) {
        struct {
                struct file_handle fh;
                unsigned char bytes[128];
        } h = { .fh.handle_bytes = 128 };
        int mount_id;
        if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0)
                return -1;
        /* any fd on the same filesystem serves as the mount: the file's directory */
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
                *slash = '\0';
        int mfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (mfd < 0)
                return -1;
        int fd = open_by_handle_at(mfd, &h.fh, O_WRONLY);
        close(mfd);
        return fd;
}

/* Writes v to fd by the path named how (the open already made). */
static int write_by(const char *how, int fd, const char *v) {
        size_t n = strlen(v);
        ssize_t r = -1;
        if (!strcmp(how, "write") || !strcmp(how, "creat") || !strcmp(how, "handle"))
                r = write(fd, v, n);
        else if (!strcmp(how, "pwrite"))
                r = pwrite(fd, v, n, 0);
        else if (!strcmp(how, "writev")) {
                struct iovec iov = { (void *) v, n };
                r = writev(fd, &iov, 1);
        } else if (!strcmp(how, "pwritev2")) {
                struct iovec iov = { (void *) v, n };
                r = pwritev2(fd, &iov, 1, -1, 0);
        } else if (!strcmp(how, "splice")) {
                int p[2];
                if (pipe(p) < 0 || write(p[1], v, n) != (ssize_t) n)
                        return errno;
                r = splice(p[0], NULL, fd, NULL, n, 0);
        } else if (!strcmp(how, "sendfile")) {
                char tmp[] = "/tmp/hn-sendfile.XXXXXX";
                int src = mkstemp(tmp);
                if (src < 0 || write(src, v, n) != (ssize_t) n)
                        return errno;
                unlink(tmp);
                off_t off = 0;
                r = sendfile(fd, src, &off, n);
        } else if (!strcmp(how, "uring") || !strcmp(how, "uring-open"))
                return uring_write(fd, v);
        else
                return EINVAL;
        return r < 0 ? errno : 0;
}

static int open_by(const char *how, const char *path) {
        if (!strcmp(how, "creat"))
                return creat(path, 0644);
        if (!strcmp(how, "handle"))
                return handle_open(path);
        if (!strcmp(how, "uring-open"))
                return uring_open(path);
        return open(path, O_WRONLY);
}

static int send_fd(int sock, int fd) {
        char byte = 'f';
        struct iovec iov = { &byte, 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u = { 0 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        return sendmsg(sock, &msg, 0) == 1 ? 0 : errno;
}

static int recv_fd(int sock) {
        char byte;
        struct iovec iov = { &byte, 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u;
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
        if (recvmsg(sock, &msg, 0) != 1)
                return -1;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (!c || c->cmsg_type != SCM_RIGHTS)
                return -1;
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        return fd;
}

static int clone_into(const char *dir) {
        int cfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cfd < 0)
                return errno;
        struct clone_args args = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t) cfd };
        long pid = syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0)
                return errno;
        if (pid == 0)
                for (;;)
                        pause();
        printf("%ld\n", pid);
        fflush(stdout);
        return 0;
}

int main(int argc, char **argv) {
        if (argc >= 5 && strcmp(argv[1], "bpf-map-tamper") == 0) {
                /* a stranger's executable editing hpcnode's state as bpftool
                 * would: .bss (slice_root_id[INDEX] = 0, at the start of
                 * .bss) and the emergency deadline; exit 0, or the errno of
                 * an open refused, 100/101 when a lookup/update fails */
                union bpf_attr a;
                int fds[2], refused = 0;
                for (int i = 0; i < 2; i++) { /* both tried, as bpftool would */
                        memset(&a, 0, sizeof(a));
                        a.map_id = (uint32_t) strtoul(argv[2 + i], NULL, 10);
                        fds[i] = (int) syscall(SYS_bpf, BPF_MAP_GET_FD_BY_ID, &a, sizeof(a));
                        if (fds[i] < 0 && !refused)
                                refused = errno;
                }
                if (refused)
                        return refused;
                static uint64_t value[8192];
                uint32_t zero = 0;
                memset(&a, 0, sizeof(a));
                a.map_fd = (uint32_t) fds[0], a.key = (uintptr_t) &zero, a.value = (uintptr_t) value;
                if (syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)) < 0)
                        return 100;
                value[strtoul(argv[4], NULL, 10)] = 0;
                if (syscall(SYS_bpf, BPF_MAP_UPDATE_ELEM, &a, sizeof(a)) < 0)
                        return 101;
                uint64_t deadline = 1;
                a.map_fd = (uint32_t) fds[1], a.value = (uintptr_t) &deadline;
                if (syscall(SYS_bpf, BPF_MAP_UPDATE_ELEM, &a, sizeof(a)) < 0)
                        return 101;
                return 0;
        }
        if (argc >= 3 && strcmp(argv[1], "spin") == 0) {
                /* MS of CPU time, not of wall time: on a busy host the
                 * kernel still counts what was asked */
                struct timespec ts;
                volatile unsigned long x = 0;
                for (double used = 0; used < atof(argv[2]) / 1000.0; x++) {
                        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
                        used = (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
                }
                return 0;
        }
        if (argc >= 3 && strcmp(argv[1], "alloc") == 0) {
                size_t n = strtoull(argv[2], NULL, 10);
                char *p = malloc(n);
                if (!p)
                        return 2;
                for (size_t i = 0; i < n; i += 4096)
                        p[i] = 1;
                for (;;)
                        pause();
        }
        if (argc >= 3 && strcmp(argv[1], "tree") == 0) {
                for (int i = 0; i < atoi(argv[2]); i++)
                        if (fork() == 0)
                                for (;;)
                                        pause();
                for (;;)
                        pause();
        }
        if (argc >= 3 && strcmp(argv[1], "mkdir") == 0)
                return done(mkdir(argv[2], 0755) < 0 ? errno : 0);
        if (argc >= 4 && strcmp(argv[1], "mkdirs") == 0) { /* PREFIX N: a storm */
                for (int i = 0; i < atoi(argv[3]); i++) {
                        char p[4096];
                        snprintf(p, sizeof(p), "%s-%d", argv[2], i);
                        if (mkdir(p, 0755) < 0)
                                return errno;
                }
                return 0;
        }
        if (argc >= 3 && strcmp(argv[1], "rmdir") == 0)
                return done(rmdir(argv[2]) < 0 ? errno : 0);
        if (argc >= 4 && strcmp(argv[1], "write") == 0) {
                int fd = open(argv[2], O_WRONLY);
                if (fd < 0)
                        return done(errno);
                ssize_t n = write(fd, argv[3], strlen(argv[3]));
                int e = n < 0 ? errno : 0;
                close(fd);
                return done(e);
        }
        if (argc >= 5 && strcmp(argv[1], "via") == 0) {
                int fd = open_by(argv[2], argv[3]);
                if (fd < 0)
                        return done(errno);
                return done(write_by(argv[2], fd, argv[4]));
        }
        if (argc >= 4 && strcmp(argv[1], "fdwrite") == 0) {
                ssize_t n = write(atoi(argv[2]), argv[3], strlen(argv[3]));
                return done(n < 0 ? errno : 0);
        }
        if (argc >= 5 && strcmp(argv[1], "fdvia") == 0)
                return done(write_by(argv[2], atoi(argv[3]), argv[4]));
        if (argc >= 4 && strcmp(argv[1], "openexec") == 0) {
                int fd = open(argv[2], O_WRONLY);
                if (fd < 0)
                        return errno;
                if (dup2(fd, 3) < 0)
                        return errno;
                execv(argv[3], argv + 3);
                return errno;
        }
        if (argc >= 4 && strcmp(argv[1], "sendfd") == 0) {
                int fd = open(argv[3], O_WRONLY);
                if (fd < 0)
                        return errno;
                return send_fd(atoi(argv[2]), fd);
        }
        if (argc >= 4 && strcmp(argv[1], "recvwrite") == 0) {
                int fd = recv_fd(atoi(argv[2]));
                if (fd < 0)
                        return done(EBADF);
                ssize_t n = write(fd, argv[3], strlen(argv[3]));
                return done(n < 0 ? errno : 0);
        }
        if (argc >= 4 && strcmp(argv[1], "waitwrite") == 0) {
                int fd = open(argv[2], O_WRONLY);
                if (fd < 0)
                        return done(errno);
                printf("open\n");
                fflush(stdout);
                char line[16];
                if (!fgets(line, sizeof(line), stdin))
                        return done(EPIPE);
                ssize_t n = write(fd, argv[3], strlen(argv[3]));
                return done(n < 0 ? errno : 0);
        }
        if (argc >= 3 && strcmp(argv[1], "clone-into") == 0)
                return clone_into(argv[2]);
        if (argc >= 5 && strcmp(argv[1], "setxattr") == 0)
                return done(setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0) < 0 ? errno : 0);
        if (argc >= 4 && strcmp(argv[1], "removexattr") == 0)
                return done(removexattr(argv[2], argv[3]) < 0 ? errno : 0);
        if (argc >= 2 && strcmp(argv[1], "sleep") == 0)
                for (;;)
                        pause();
        fprintf(stderr, "usage: see the comment at the top of hn_test_helper.c\n");
        return 64;
}
