/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hpcnode/probe.h>

#include "bpf_print.h"
#include "cgroup_internal.h"
#include "fixture.h"

void require_root_cgroup2(void) {
        char mount[PATH_MAX];
        if (geteuid() != 0)
                SKIP_BECAUSE("needs root to create cgroups");
        if (cgroup2_find_mount(mount, sizeof(mount)) < 0)
                SKIP_BECAUSE("no cgroup2 mount");
}

const char *kernel_refusal(void) {
        static char why[HN_ERROR_MESSAGE_MAX];
        struct hn_kernel_features f;
        struct hn_error err;
        hn_probe_kernel_features(&f); /* probed once per process by the library */
        why[0] = '\0';
        if (hn_kernel_features_check(&f, &err) < 0)
                snprintf(why, sizeof(why), "%s", err.message);
        return why;
}

bool kernel_has(enum hn_kernel_feature f) {
        struct hn_kernel_features all;
        hn_probe_kernel_features(&all);
        return all.present[f];
}

void require_cgroup_kill(void) {
        if (!kernel_has(HN_FEATURE_CGROUP_KILL))
                SKIP_BECAUSE("no cgroup.kill before Linux 5.14 (destroy's freeze and SIGKILL fallback is tested apart)");
}

void require_kernel_features(void) {
        if (kernel_refusal()[0])
                SKIP_BECAUSE("hpcnoded refuses this kernel: %s", kernel_refusal());
}

int scratch_new(struct scratch *s) {
        static unsigned counter;
        memset(s, 0, sizeof(*s));
        if (cgroup2_find_mount(s->mount, sizeof(s->mount)) < 0)
                return -1;
        snprintf(s->root, sizeof(s->root), "%s/hn-test.%d.%u", s->mount, (int) getpid(), counter++);
        return mkdir(s->root, 0755) < 0 ? -1 : 0;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

static void remove_tree(const char *dir) {
        char p[PATH_MAX + 32];
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && de->d_name[0] != '.') {
                        char sub[PATH_MAX];
                        snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
                        remove_tree(sub);
                }
        closedir(d);
        snprintf(p, sizeof(p), "%s/cgroup.freeze", dir);
        write_text(p, "0");
        snprintf(p, sizeof(p), "%s/cgroup.kill", dir);
        write_text(p, "1");
        /* EBUSY: tasks still leaving. EPERM: a test daemon's pinned
         * programs, their bpffs unmounted lazily, are freed by the kernel
         * a moment later and until then deny this non-agent the rmdir
         * (in the VMs, test_daemon left two scratch cgroups so). */
        for (int i = 0; i < 500 && rmdir(dir) < 0 && (errno == EBUSY || errno == EPERM); i++)
                sleep_ms(10);
}

/* SIGKILLs every process whose parent is us: whatever a failed test left
 * running, inside a scope or (if placement broke) outside one. */
static void kill_own_children(void) {
        DIR *d = opendir("/proc");
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                char p[300], buf[512];
                int pid = atoi(de->d_name);
                if (pid <= 0)
                        continue;
                snprintf(p, sizeof(p), "/proc/%d/stat", pid);
                if (read_text(p, buf, sizeof(buf)) < 0)
                        continue;
                char *close_paren = strrchr(buf, ')');
                int ppid = 0;
                if (close_paren && sscanf(close_paren + 2, "%*c %d", &ppid) == 1 && ppid == getpid())
                        kill(pid, SIGKILL);
        }
        closedir(d);
}

void scratch_remove(struct scratch *s) {
        kill_own_children();
        if (s->root[0])
                remove_tree(s->root);
        /* Reap them, without ever blocking on one that cannot die. */
        for (int i = 0; i < 100; i++) {
                pid_t p = waitpid(-1, NULL, WNOHANG);
                if (p < 0)
                        break;
                if (p == 0)
                        sleep_ms(10);
        }
}

int wait_children(unsigned n, unsigned timeout_ms, unsigned *ret_sigkilled) {
        unsigned got = 0, killed = 0;
        for (unsigned waited = 0; got < n && waited <= timeout_ms;) {
                int status;
                pid_t p = waitpid(-1, &status, WNOHANG);
                if (p < 0)
                        break;
                if (p == 0) {
                        sleep_ms(10);
                        waited += 10;
                        continue;
                }
                got++;
                if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
                        killed++;
        }
        *ret_sigkilled = killed;
        return (int) got;
}

void audit_record(const struct hn_audit_record *r, void *userdata) {
        struct audit_log *log = userdata;
        if (log->n >= 64)
                return;
        struct audit_entry *e = &log->e[log->n++];
        snprintf(e->action, sizeof(e->action), "%s", r->action);
        e->outcome = r->outcome;
        e->caller = r->caller;
        e->target_owner = r->target_owner;
        snprintf(e->path, sizeof(e->path), "%s", r->path ? r->path : "");
        snprintf(e->actor, sizeof(e->actor), "%s", r->actor ? r->actor : "");
        snprintf(e->detail, sizeof(e->detail), "%s", r->detail ? r->detail : "");
        e->sys_errno = r->sys_errno;
        e->emergency = r->emergency;
        e->realtime_ns = r->realtime_ns;
        e->path_existed = r->path && path_exists(r->path);
        int n = r->path ? procs_count(r->path) : -1;
        e->procs_seen = n > 0 ? (unsigned) n : 0;
}

int audit_find(const struct audit_log *log, const char *action, int outcome) {
        for (unsigned i = 0; i < log->n; i++)
                if (strcmp(log->e[i].action, action) == 0 && (outcome < 0 || (int) log->e[i].outcome == outcome))
                        return (int) i;
        return -1;
}

int proc_cgroup_path(pid_t pid, char *ret, size_t size) {
        char p[64], buf[PATH_MAX + 64];
        snprintf(p, sizeof(p), "/proc/%d/cgroup", (int) pid);
        if (read_text(p, buf, sizeof(buf)) < 0)
                return -1;
        for (char *line = buf; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                if (strncmp(line, "0::", 3) == 0) {
                        snprintf(ret, size, "%s", line + 3);
                        return 0;
                }
                line = nl ? nl + 1 : NULL;
        }
        return -1;
}

const char *path_below_mount(const struct scratch *s, const char *abs) {
        return abs + strlen(s->mount);
}

int procs_count(const char *abs) {
        char p[PATH_MAX + 16], buf[8192];
        snprintf(p, sizeof(p), "%s/cgroup.procs", abs);
        if (read_text(p, buf, sizeof(buf)) < 0)
                return -1;
        int n = 0;
        for (char *c = buf; *c; c++)
                if (*c == '\n')
                        n++;
        return n;
}

bool wait_procs_count(const char *abs, int n, unsigned timeout_ms) {
        for (unsigned waited = 0; waited <= timeout_ms; waited += 10) {
                if (procs_count(abs) == n)
                        return true;
                sleep_ms(10);
        }
        return false;
}

pid_t fork_sleeper(void) {
        pid_t pid = fork();
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (;;)
                        pause();
        }
        return pid;
}

const char *helper_path(void) {
        /* Resolved once: after a test enters a private mount namespace,
         * /proc/self/exe of a chrooted process (the VM suite) names the
         * file from the old namespace's root. */
        static char path[PATH_MAX + 32];
        if (path[0])
                return path;
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0)
                return "hn_test_helper";
        self[n] = '\0';
        /* build/test/tests/<kind>/test_x -> build/test/tests/helper/hn_test_helper */
        char *slash = strrchr(self, '/');
        *slash = '\0';
        slash = strrchr(self, '/');
        *slash = '\0';
        snprintf(path, sizeof(path), "%s/helper/hn_test_helper", self);
        return path;
}

bool path_exists(const char *p) {
        return access(p, F_OK) == 0;
}

void read_fd_text(int fd, char *buf, size_t size) {
        size_t have = 0;
        ssize_t n;
        while (have < size - 1 && (n = read(fd, buf + have, size - 1 - have)) > 0)
                have += (size_t) n;
        buf[have] = '\0';
}

int unix_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
        }
        return fd;
}

/* The value after name ("VmRSS:") in /proc/PID/status, up to the line's
 * end, into text (which holds the file); NULL if there is none. */
static const char *process_status_field(pid_t pid, const char *name, char *text, size_t size) {
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/status", (int) pid);
        if (read_text(p, text, size) < 0)
                return NULL;
        char *v = strstr(text, name);
        if (!v)
                return NULL;
        v += strlen(name);
        v[strcspn(v, "\n")] = '\0';
        return v + strspn(v, " \t");
}

long process_rss_kb(pid_t pid) {
        char text[4096];
        const char *v = process_status_field(pid, "VmRSS:", text, sizeof(text));
        return v ? strtol(v, NULL, 10) : -1;
}

bool line_call(int fd, const char *line, char *reply, size_t size) {
        size_t len = strlen(line), have = 0;
        if (size == 0 || write(fd, line, len) != (ssize_t) len)
                return false;
        reply[0] = '\0';
        while (!have || reply[have - 1] != '\n') {
                if (have == size)
                        return false;
                ssize_t n = read(fd, reply + have, size - have);
                if (n <= 0)
                        return false;
                have += (size_t) n;
        }
        return memmem(reply, have, "\"ok\":true", 9) != NULL;
}

int shf(const char *fmt, ...) {
        char cmd[8192];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        int st = system(cmd);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

void promtool_passes(const char *path) {
        char tool[512] = "", cmd[1024], said[4096] = "";
        FILE *p = popen("tests/lib/promtool-fetch.sh 2>/dev/null", "r");
        if (p) {
                if (!fgets(tool, sizeof(tool), p))
                        tool[0] = '\0';
                pclose(p);
        }
        tool[strcspn(tool, "\n")] = '\0';
        if (!tool[0] || access(tool, X_OK) < 0)
                SKIP_BECAUSE("no promtool (tests/lib/promtool-fetch.sh could not fetch Debian's prometheus package)");
        snprintf(cmd, sizeof(cmd), "'%s' check metrics < '%s' 2>&1", tool, path);
        p = popen(cmd, "r");
        assert_non_null(p);
        size_t n = fread(said, 1, sizeof(said) - 1, p);
        said[n] = '\0';
        int st = pclose(p);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || n)
                fail_msg("promtool check metrics %s: status %d: %s", path, WIFEXITED(st) ? WEXITSTATUS(st) : -1, said);
}

/* A record is one writev of the line and its newline, but a reader can
 * see it before the kernel has copied all of it (the file's size grows
 * page by page): a line without its newline is still being written, and
 * the next poll reads it whole. Lines are read with getline, so a long
 * line is one line and only the file's last one can lack its newline. */
bool line_complete(const char *line) {
        size_t n = strlen(line);
        return n > 0 && line[n - 1] == '\n';
}

int count_lines(const char *path, const char *needle) {
        FILE *f = fopen(path, "re");
        char *line = NULL;
        size_t size = 0;
        int n = 0;
        while (f && getline(&line, &size, f) > 0 && line_complete(line))
                n += strstr(line, needle) != NULL;
        free(line);
        if (f)
                fclose(f);
        return n;
}

long sum_after(const char *path, const char *also, const char *lead) {
        FILE *f = fopen(path, "re");
        char *line = NULL;
        size_t size = 0;
        long n = 0;
        while (f && getline(&line, &size, f) > 0 && line_complete(line)) {
                char *p = strstr(line, lead);
                if (p && (!also || strstr(line, also)))
                        n += strtol(p + strlen(lead), NULL, 10);
        }
        free(line);
        if (f)
                fclose(f);
        return n;
}

int dump_lines(const char *path, const char *needle) {
        FILE *f = fopen(path, "re");
        char line[8192];
        int n = 0;
        while (f && fgets(line, sizeof(line), f))
                if (strstr(line, needle)) {
                        fprintf(stderr, "%s: %s", path, line);
                        n++;
                }
        if (f)
                fclose(f);
        return n;
}

int count_text(const char *text, const char *needle) {
        int n = 0;
        for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

int read_text(const char *path, char *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        read_fd_text(fd, buf, size);
        close(fd);
        return 0;
}

int write_text(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, text, strlen(text));
        int e = errno;
        close(fd);
        return n < 0 ? -e : 0;
}

int env_setup(void **state) {
        struct env *e = calloc(1, sizeof(*e));
        if (!e)
                return -1;
        *state = e;
        if (geteuid() != 0)
                return 0; /* each test skips through require_root_cgroup2() */
        if (scratch_new(&e->s) < 0)
                return -1;
        if (hn_cgroup_manager_new(e->s.root, HN_OWNER_PACT, &e->pact, NULL) < 0 ||
            hn_cgroup_manager_new(e->s.root, HN_OWNER_WORKLOAD, &e->workload, NULL) < 0 ||
            hn_cgroup_manager_new(e->s.root, HN_OWNER_NONE, &e->service, NULL) < 0)
                return -1;
        if (hn_cgroup_create_hierarchy(e->service, &e->enabled, NULL) < 0)
                return -1;
        snprintf(e->emergency_dir, sizeof(e->emergency_dir), "/tmp/hn-env.XXXXXX");
        if (!mkdtemp(e->emergency_dir))
                return -1;
        char p[128];
        snprintf(p, sizeof(p), "%s/emergency", e->emergency_dir);
        if (hn_emergency_new(p, &e->emergency, NULL) < 0)
                return -1;
        hn_emergency_set_audit(e->emergency, audit_record, &e->log);
        struct hn_cgroup_manager *all[] = { e->pact, e->workload, e->service };
        for (int i = 0; i < 3; i++) {
                struct hn_cgroup_options o;
                /* the library's kill timeout (10 s): a kill that succeeds ends
                 * when the scope empties, and under TCG with six VMs on two
                 * cores eight threads' kills took over 3 s (arm64, 12-06) */
                hn_cgroup_options_default(&o);
                hn_cgroup_manager_set_options(all[i], &o, NULL);
                hn_cgroup_manager_set_audit(all[i], audit_record, &e->log);
                hn_cgroup_manager_set_emergency(all[i], e->emergency);
        }
        return 0;
}

int env_teardown(void **state) {
        struct env *e = *state;
        hn_cgroup_manager_free(e->pact);
        hn_cgroup_manager_free(e->workload);
        hn_cgroup_manager_free(e->service);
        hn_emergency_free(e->emergency);
        scratch_remove(&e->s);
        if (e->emergency_dir[0]) {
                char p[128];
                snprintf(p, sizeof(p), "%s/emergency", e->emergency_dir);
                unlink(p);
                rmdir(e->emergency_dir);
        }
        free(e);
        return 0;
}

const char *env_path(const struct env *e, const char *rel) {
        static char buf[4][PATH_MAX + 128];
        static unsigned next;
        char *p = buf[next++ % 4];
        snprintf(p, sizeof(buf[0]), "%s%s%s", e->s.root, rel[0] ? "/" : "", rel);
        return p;
}

pid_t wait_pid_ms(pid_t pid, unsigned timeout_ms, int *ret_status) {
        for (unsigned waited = 0; waited <= timeout_ms; waited += 10) {
                pid_t p = waitpid(pid, ret_status, WNOHANG);
                if (p != 0)
                        return p;
                sleep_ms(10);
        }
        return 0;
}

int agents_make(struct agents *a) {
        char cmd[1024];
        snprintf(a->dir, sizeof(a->dir), "/tmp/hn-agents.XXXXXX");
        if (!mkdtemp(a->dir))
                return -1;
        snprintf(a->pact_exe, sizeof(a->pact_exe), "%s/pact-agent", a->dir);
        snprintf(a->workload_exe, sizeof(a->workload_exe), "%s/lattice-agent", a->dir);
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s' '%s'", helper_path(), a->pact_exe, helper_path(),
                 a->workload_exe);
        return system(cmd) == 0 ? 0 : -1;
}

void agents_remove(struct agents *a) {
        if (!a->dir[0])
                return;
        unlink(a->pact_exe);
        unlink(a->workload_exe);
        rmdir(a->dir);
        a->dir[0] = '\0';
}

int agent_run(const char *exe, const char *verb, const char *a, const char *b, pid_t *ret_pid) {
        char *argv[] = { (char *) exe, (char *) verb, (char *) a, (char *) b, NULL };
        return agent_runv(argv, ret_pid);
}

static void event_log_add(const struct hn_event *e, void *userdata) {
        struct event_log *log = userdata;
        if (log->n < sizeof(log->ev) / sizeof(log->ev[0]))
                log->ev[log->n++] = *e;
}

void event_log_drain(struct event_log *log, struct hn_monitor *mon) {
        log->n = 0;
        int r;
        while ((r = hn_monitor_poll(mon, 50, event_log_add, log, NULL)) > 0)
                ;
        if (r < 0)
                fail_msg("reading the monitor's records: %s", strerror(-r)); /* a dead pipeline is a failure */
}

/* Runs argv with HN_HOLD=1 and stdout on a pipe, until it says "done E". */
static pid_t hold_start(char *const argv[], int *ret_errno) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                setenv("HN_HOLD", "1", 1);
                execv(argv[0], argv);
                _exit(127);
        }
        close(p[1]);
        char buf[64] = "";
        size_t used = 0;
        struct pollfd pf = { .fd = p[0], .events = POLLIN };
        while (used < sizeof(buf) - 1 && !strchr(buf, '\n') && poll(&pf, 1, 10000) == 1) {
                ssize_t n = read(p[0], buf + used, sizeof(buf) - 1 - used);
                if (n <= 0)
                        break;
                used += (size_t) n;
                buf[used] = '\0';
        }
        close(p[0]);
        if (pid < 0 || sscanf(buf, "done %d", ret_errno) != 1) {
                if (pid > 0) {
                        kill(pid, SIGKILL);
                        wait_pid_ms(pid, 1000, NULL);
                }
                return -1;
        }
        return pid;
}

int agent_hold(char *const argv[], pid_t *ret_pid) {
        int e = -1;
        pid_t pid = hold_start(argv, &e);
        if (pid < 0)
                fail_msg("%s %s: did not report its act", argv[0], argv[1]);
        *ret_pid = pid;
        return e;
}

void agent_release(pid_t pid) {
        if (pid <= 0)
                return;
        kill(pid, SIGKILL);
        wait_pid_ms(pid, 5000, NULL);
}

int agent_runv(char *const argv[], pid_t *ret_pid) {
        pid_t pid = fork();
        if (pid == 0) {
                execv(argv[0], argv);
                _exit(127);
        }
        int status = 0;
        if (wait_pid_ms(pid, 10000, &status) != pid) {
                kill(pid, SIGKILL);
                wait_pid_ms(pid, 1000, NULL);
                return -1;
        }
        if (ret_pid)
                *ret_pid = pid;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Finds or mounts a v1 freezer hierarchy; "" if the kernel has none. */
void v1_freezer(char *ret, size_t size) {
        ret[0] = '\0';
        if (path_exists("/sys/fs/cgroup/freezer/freezer.state") || path_exists("/sys/fs/cgroup/freezer/tasks")) {
                snprintf(ret, size, "/sys/fs/cgroup/freezer");
                return;
        }
        /* the VM: pure v2 at /sys/fs/cgroup, v1 freezer mounted beside it */
        if (path_exists("/run/hn-freezer/tasks")) {
                snprintf(ret, size, "/run/hn-freezer");
                return;
        }
        mkdir("/run/hn-freezer", 0755);
        if (system("mount -t cgroup -o freezer none /run/hn-freezer 2>/dev/null") == 0)
                snprintf(ret, size, "/run/hn-freezer");
}

int freeze_v1_task(const char *group, pid_t pid, char *why, size_t why_size) {
        char p[PATH_MAX], buf[256];
        snprintf(p, sizeof(p), "%s/tasks", group);
        snprintf(buf, sizeof(buf), "%d", (int) pid);
        int r = write_text(p, buf);
        if (r < 0) {
                snprintf(why, why_size, "%s: %s", p, strerror(-r));
                return r;
        }
        snprintf(p, sizeof(p), "%s/freezer.state", group);
        /* 120 s: a liveness wait. FROZEN written again each second makes
         * the kernel try each task of the group once more, so a task a
         * loaded machine had not yet scheduled into the refrigerator is
         * asked again instead of waited on. */
        for (int i = 0; i < 6000; i++) {
                if (i % 50 == 0 && (r = write_text(p, "FROZEN")) < 0) {
                        snprintf(why, why_size, "%s: %s", p, strerror(-r));
                        return r;
                }
                if (read_text(p, buf, sizeof(buf)) >= 0 && strncmp(buf, "FROZEN", 6) == 0)
                        return 0;
                usleep(20000);
        }
        char text[4096];
        const char *state = process_status_field(pid, "State:", text, sizeof(text));
        buf[strcspn(buf, "\n")] = '\0';
        snprintf(why, why_size, "%s still %s after 120 s; task %d: %s", p, buf, (int) pid, state ? state : "gone");
        write_text(p, "THAWED");
        return -ETIMEDOUT;
}

void test_filter_from_env(void) {
        const char *pattern = getenv("HN_TEST_FILTER");
        if (pattern && *pattern)
                cmocka_set_test_filter(pattern);
}

/* libbpf's messages, as hpcnoded's main sets them: dropped, or on stderr
 * with HN_BPF_VERBOSE=1. Every test and benchmark links this file. */
__attribute__((constructor)) static void bpf_print_set(void) {
        libbpf_set_print(bpf_print_env);
}

void tally_fail(struct thread_tally *t, const char *message) {
        if (!t->failures++)
                snprintf(t->first_error, sizeof(t->first_error), "%s", message ? message : "");
}

int run_workers(void *(*fn)(void *), void *workers, size_t n, size_t stride) {
        pthread_t t[64];
        assert_true(n <= 64);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(pthread_create(&t[i], NULL, fn, (char *) workers + i * stride), 0);
        int failures = 0;
        for (size_t i = 0; i < n; i++) {
                pthread_join(t[i], NULL);
                const struct thread_tally *w = (const void *) ((char *) workers + i * stride);
                if (w->failures)
                        print_message("thread %zu: %d failures, first: %s\n", i, w->failures, w->first_error);
                failures += w->failures;
        }
        return failures;
}
