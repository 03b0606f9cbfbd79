/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared test fixtures: scratch cgroup roots on the real cgroup2 mount,
 * an audit recorder, and small process helpers. */
#ifndef HN_TEST_FIXTURE_H
#define HN_TEST_FIXTURE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <limits.h>
#include <sys/types.h>
#include <errno.h>
#include <stdio.h>

#include <hpcnode/cgroup.h>
#include <hpcnode/monitor.h>

/* HN_TEST_FILTER=PATTERN runs only the tests whose names match (cmocka's
 * filter: * and ? wildcards). Call at the top of main. */
void test_filter_from_env(void);

/* Prints "SKIP: <reason>" (the runner collects these) and skips. */
#define SKIP_BECAUSE(...)                                                                                              \
        do {                                                                                                           \
                printf("SKIP: " __VA_ARGS__);                                                                          \
                printf("\n");                                                                                          \
                fflush(stdout);                                                                                        \
                skip();                                                                                                \
        } while (0)

/* Skips unless root with a writable cgroup2 mount. */
void require_root_cgroup2(void);

/* Why hpcnode's BPF side refuses this kernel (hn_kernel_features_check's
 * message), "" where it does not. */
const char *kernel_refusal(void);
/* Skips, saying why, where it refuses: the refusal itself is test_probe's
 * and test_daemon's to show. */
void require_kernel_features(void);
/* Has this kernel the feature (hn_probe_kernel_features, probed once)? */
bool kernel_has(enum hn_kernel_feature f);
/* SKIP unless the kernel has cgroup.kill (Linux 5.14). */
void require_cgroup_kill(void);

/* A fresh directory under the cgroup2 mount, named hn-test.<pid>.<n>.
 * Its hierarchy is built by the test. */
struct scratch {
        char root[PATH_MAX + 64];
        char mount[PATH_MAX];
};
int scratch_new(struct scratch *s);
/* Kills whatever is left inside and removes the whole tree, deepest first.
 * Safe on a half-built or already-removed scratch. */
void scratch_remove(struct scratch *s);

/* Up to 64 audit records, strings copied. */
struct audit_entry {
        char action[64];
        enum hn_audit_outcome outcome;
        enum hn_slice_owner caller, target_owner;
        char path[PATH_MAX];
        char actor[300];
        char detail[1024];
        int sys_errno;
        bool emergency;
        uint64_t realtime_ns;
        /* Observations made inside the callback, for "before the action". */
        bool path_existed;
        unsigned procs_seen;
};
struct audit_log {
        struct audit_entry e[64];
        unsigned n;
};
void audit_record(const struct hn_audit_record *r, void *userdata);
/* Index of the first entry with that action (and outcome, if >= 0), or -1. */
int audit_find(const struct audit_log *log, const char *action, int outcome);

/* "0::/x/y" from /proc/PID/cgroup, as the path under the mount ("/x/y"). */
int proc_cgroup_path(pid_t pid, char *ret, size_t size);
/* The scope's path as /proc/PID/cgroup shows it for a member. */
const char *path_below_mount(const struct scratch *s, const char *abs);

/* Number of pids in cgroup.procs of abs (-1 on error). */
int procs_count(const char *abs);
/* Polls until procs_count(abs) == n or timeout_ms passes. */
bool wait_procs_count(const char *abs, int n, unsigned timeout_ms);

/* Reaps up to n children within timeout_ms, never blocking past it;
 * returns how many, and how many of them died of SIGKILL. */
int wait_children(unsigned n, unsigned timeout_ms, unsigned *ret_sigkilled);

/* waitpid(pid) for at most timeout_ms: pid, or 0 if it is still running. */
pid_t wait_pid_ms(pid_t pid, unsigned timeout_ms, int *ret_status);

/* Records read from a monitor, for assertions. */
struct event_log {
        struct hn_event ev[256];
        unsigned n;
};
/* Empties log, then reads every record waiting (the tracepoint runs in the
 * writer's syscall, so an act's records are queued when it returns). */
void event_log_drain(struct event_log *log, struct hn_monitor *mon);

/* Copies of the test helper standing for the two node agents: the kernel
 * knows a writer by its executable, so each copy is a distinct identity. */
struct agents {
        char dir[64];
        char pact_exe[128];     /* .../pact-agent */
        char workload_exe[128]; /* .../lattice-agent */
};
int agents_make(struct agents *a);
void agents_remove(struct agents *a);
/* Runs exe verb [a [b]] as a child and reaps it (bounded); returns its exit
 * code: 0, or the errno it met. */
int agent_run(const char *exe, const char *verb, const char *a, const char *b, pid_t *ret_pid);

/* The same with an argument vector (argv[0] the executable). */
int agent_runv(char *const argv[], pid_t *ret_pid);
/* Runs argv held (HN_HOLD=1): the act is made, then the process stays
 * alive until agent_release, so it is there while its record is read.
 * Returns the errno the act met (0: it was done). */
int agent_hold(char *const argv[], pid_t *ret_pid);
void agent_release(pid_t pid);

/* Forks a child that pauses until killed. */
pid_t fork_sleeper(void);
/* Path of the helper program built beside the tests. */
const char *helper_path(void);

bool path_exists(const char *p);
int read_text(const char *path, char *buf, size_t size);
/* Whether a line read from a file that is still growing is whole (ends in
 * its newline). */
bool line_complete(const char *line);
/* Whole lines of the text file path that contain needle (0 if it is
 * missing); a last line without its newline is not counted yet. */
int count_lines(const char *path, const char *needle);
/* Over the whole lines of path holding lead (and also, unless NULL): the
 * sum of the numbers right after lead ("1980 more ..." after
 * "\"detail\":\""); a last line without its newline is not read yet. */
long sum_after(const char *path, const char *also, const char *lead);
/* A stream socket connected to the unix socket at path; -1 and errno if not. */
int unix_connect(const char *path);
/* One request line (newline included) on fd and its one-line reply into
 * reply (not NUL-terminated); false on a short write, the stream's end, a
 * reply longer than size, or a reply without "ok":true. */
bool line_call(int fd, const char *line, char *reply, size_t size);
/* A process's resident memory (VmRSS), kB; -1 if it cannot be read. */
long process_rss_kb(pid_t pid);
/* A shell command, formatted; its exit code (128 if it did not exit). */
int shf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prometheus' own parser and linter (promtool check metrics, from
 * Debian's package through tests/lib/promtool-fetch.sh) on an exposition
 * file: asserts it passes with nothing said; SKIP if promtool cannot be had. */
void promtool_passes(const char *path);
/* Prints (stderr) the lines of path containing needle; their count. */
int dump_lines(const char *path, const char *needle);
/* A cgroup-v1 freezer hierarchy, found or mounted, into ret; "" if the
 * kernel has none. A task frozen there sits in uninterruptible sleep: what
 * a process stuck in D state looks like to cgroup.kill. */
void v1_freezer(char *ret, size_t size);
/* Puts pid into the v1 freezer group and freezes the group, waiting (a
 * liveness wait) until the kernel says FROZEN. 0, or a negative errno with
 * why naming the file, the group's state and the task's. */
int freeze_v1_task(const char *group, pid_t pid, char *why, size_t why_size);
/* Occurrences of needle in text ("\n": its lines). */
int count_text(const char *text, const char *needle);
/* Reads fd to its end (or size - 1 bytes), NUL-terminated. */
void read_fd_text(int fd, char *buf, size_t size);
int write_text(const char *path, const char *text);


/* Per-test environment for integration tests: a scratch root with the
 * hierarchy built, one manager per caller sharing one audit log. */
struct env {
        struct scratch s;
        struct hn_cgroup_manager *pact, *workload, *service;
        struct audit_log log;
        unsigned enabled; /* controllers the hierarchy got */
        char emergency_dir[64];
        struct hn_emergency *emergency;
};
int env_setup(void **state);
int env_teardown(void **state);
/* Absolute path of rel inside the env's root. */
const char *env_path(const struct env *e, const char *rel);
/* Threads hammering one manager: each worker begins with a tally of its
 * failed calls and the first one's message (tally_fail). run_workers
 * starts fn on n workers (stride bytes apart), joins them, prints each
 * one's first failure and returns the sum. */
struct thread_tally {
        int failures;
        char first_error[512];
};
void tally_fail(struct thread_tally *t, const char *message);
int run_workers(void *(*fn)(void *), void *workers, size_t n, size_t stride);

#endif
