/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "cgroup_path.h"
#include "error_set.h"
#include "fileio.h"
#include "macro.h"

extern char **environ;

/* Resolves the handle and checks the caller may put processes there. */
static int scope_for_write(struct hn_cgroup_manager *m, const struct hn_cgroup_handle *h, const char *action,
                           char *rel, size_t rel_size, struct hn_error *err) {
        if (!h)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: handle is NULL");
        int r = cgroup_path_relative(m->root, h->path, rel, rel_size, err);
        if (r < 0)
                return r;
        return cgroup_check_access(m, rel, ACCESS_WRITE, action, NULL, err);
}

int hn_cgroup_attach_pid(struct hn_cgroup_manager *m, const struct hn_cgroup_handle *h, pid_t pid,
                         struct hn_error *err) {
        char rel[HN_CGROUP_PATH_MAX], value[32], detail[64];
        if (pid <= 0)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid pid %d", (int) pid);
        int r = scope_for_write(m, h, "cgroup.attach", rel, sizeof(rel), err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = cgroup_open_dir(m, rel);
        if (fd < 0)
                return hn_error_set(err, fd == -ENOENT ? HN_ERR_NOT_FOUND : HN_ERR_IO, fd,
                                    fd == -ENOENT ? "cgroup path not found: %s" : "cgroup I/O error: %s",
                                    h->path);
        snprintf(value, sizeof(value), "%d", (int) pid);
        snprintf(detail, sizeof(detail), "pid %d", (int) pid);
        r = write_file_at(fd, "cgroup.procs", value);
        if (r < 0) {
                cgroup_audit(m, "cgroup.attach", HN_AUDIT_FAILED, rel, detail, r, false);
                if (r == -ESRCH)
                        return hn_error_set(err, HN_ERR_NOT_FOUND, ESRCH, "process not found: pid %d", (int) pid);
                return hn_error_set(err, HN_ERR_IO, r, "cgroup I/O error: %s/cgroup.procs: writing %s: %s", h->path,
                                    value, strerror(-r));
        }
        cgroup_audit(m, "cgroup.attach", HN_AUDIT_DONE, rel, detail, 0, false);
        return 0;
}

/* execvp's search, done in the parent so the child does no allocation. */
static int find_executable(const char *name, char *ret, size_t size) {
        if (strchr(name, '/')) {
                if ((size_t) snprintf(ret, size, "%s", name) >= size)
                        return -ENAMETOOLONG;
                return access(ret, X_OK) < 0 ? -errno : 0;
        }
        const char *path = getenv("PATH");
        if (!path || !*path)
                path = "/usr/local/bin:/usr/bin:/bin";
        int last = -ENOENT;
        while (*path) {
                size_t n = strcspn(path, ":");
                if ((size_t) snprintf(ret, size, "%.*s/%s", (int) n, n ? path : ".", name) < size) {
                        struct stat st;
                        if (access(ret, X_OK) == 0 && stat(ret, &st) == 0 && S_ISREG(st.st_mode))
                                return 0;
                        if (errno == EACCES)
                                last = -EACCES;
                }
                path += n;
                if (*path == ':')
                        path++;
        }
        return last;
}

/* Runs in the child, before exec: async-signal-safe calls only. A daemon
 * blocks and ignores signals it handles through signalfd; the job must not
 * inherit that. */
static _Noreturn void child_exec(const char *exe, char *const argv[], int procs_fd, int report_fd) {
        sigset_t none;
        int e;

        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        /* Fallback path: move ourselves before running anything of the job's. */
        if (procs_fd >= 0 && write(procs_fd, "0", 1) != 1) {
                e = errno;
                goto fail;
        }
        execve(exe, argv, environ);
        e = errno;
fail:
        (void) !write(report_fd, &e, sizeof(e));
        _exit(127);
}

static pid_t clone_into_cgroup(int cgroup_fd) {
        struct clone_args args = {
                .flags = CLONE_INTO_CGROUP,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t) cgroup_fd,
        };
        return (pid_t) syscall(SYS_clone3, &args, sizeof(args));
}

int hn_cgroup_spawn(struct hn_cgroup_manager *m, const struct hn_cgroup_handle *h, char *const argv[],
                    pid_t *ret_pid, struct hn_error *err) {
        char rel[HN_CGROUP_PATH_MAX], exe[PATH_MAX], detail[PATH_MAX + 64];
        int r;

        if (!argv || !argv[0] || !argv[0][0])
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: empty argv");
        if (!ret_pid)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ret_pid is NULL");
        r = scope_for_write(m, h, "cgroup.spawn", rel, sizeof(rel), err);
        if (r < 0)
                return r;
        r = find_executable(argv[0], exe, sizeof(exe));
        if (r < 0)
                return hn_error_set(err, r == -ENOENT ? HN_ERR_NOT_FOUND : HN_ERR_INVALID_ARGUMENT, r,
                                    "cannot run \"%s\": %s", argv[0], r == -ENOENT ? "not found" : strerror(-r));

        _cleanup_close_ int scope_fd = openat(m->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (scope_fd < 0)
                return hn_error_set(err, errno == ENOENT ? HN_ERR_NOT_FOUND : HN_ERR_IO, errno,
                                    errno == ENOENT ? "cgroup path not found: %s" : "cgroup I/O error: %s", h->path);
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "spawn failed in %s: pipe: %s", h->path, strerror(errno));
        _cleanup_close_ int report_read = pipefd[0], report_write = pipefd[1];

        pid_t pid = -1;
        _cleanup_close_ int procs_fd = -1;
        if (!m->options.disable_clone_into_cgroup) {
                pid = clone_into_cgroup(scope_fd);
                if (pid == 0)
                        child_exec(exe, argv, -1, report_write);
                /* ENOSYS: no clone3 (< 5.3); E2BIG/EINVAL: no CLONE_INTO_CGROUP (< 5.7). */
                if (pid < 0 && errno != ENOSYS && errno != E2BIG && errno != EINVAL)
                        return hn_error_set(err, HN_ERR_CREATION_FAILED, errno, "spawn failed in %s: clone3: %s",
                                            h->path, strerror(errno));
        }
        if (pid < 0) {
                procs_fd = openat(scope_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                if (procs_fd < 0)
                        return hn_error_set(err, HN_ERR_IO, errno, "spawn failed in %s: cgroup.procs: %s", h->path,
                                            strerror(errno));
                pid = fork();
                if (pid == 0)
                        child_exec(exe, argv, procs_fd, report_write);
                if (pid < 0)
                        return hn_error_set(err, HN_ERR_CREATION_FAILED, errno, "spawn failed in %s: fork: %s",
                                            h->path, strerror(errno));
        }

        closep(&report_write);
        int child_errno = 0;
        ssize_t n;
        do
                n = read(report_read, &child_errno, sizeof(child_errno));
        while (n < 0 && errno == EINTR);
        if (n > 0) {
                (void) waitpid(pid, NULL, 0);
                snprintf(detail, sizeof(detail), "exec %s: %s", exe, strerror(child_errno));
                cgroup_audit(m, "cgroup.spawn", HN_AUDIT_FAILED, rel, detail, child_errno, false);
                return hn_error_set(err, HN_ERR_CREATION_FAILED, child_errno, "spawn failed in %s: %s", h->path,
                                    detail);
        }
        snprintf(detail, sizeof(detail), "pid %d exe %s", (int) pid, exe);
        cgroup_audit(m, "cgroup.spawn", HN_AUDIT_DONE, rel, detail, 0, false);
        *ret_pid = pid;
        return 0;
}
