/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every path into a slice, tried as an agent that does not own it would
 * (RI1): writes through a descriptor however it was had and by every
 * syscall that writes, cgroup.kill by splice and io_uring, clone3 into a
 * cgroup, moving a job out of its slice, xattrs, an agent's identity
 * subtree, a slice root made again, a resync, and 70,000 cgroups first.
 * Each is a real act by a copy of the test helper registered as an agent.
 * Where the kernel runs BPF LSM (the VM suite), each fails with EPERM, the
 * kernel's state is unchanged, and one "denied" record names the writer;
 * here without it, each happens and one record says it, cross-slice, with
 * the writer's identity. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <hpcnode/monitor.h>
#include <hpcnode/probe.h>

#include "hpcnode.skel.h"

#include "fixture.h"

struct paths {
        struct env *cg;
        struct hn_monitor *mon;
        struct agents agents;
        char stranger_exe[160]; /* a copy of the helper with no identity */
        bool enforce;           /* the kernel denies: BPF LSM */
        struct event_log log;
        struct hn_cgroup_handle pact_scope, workload_scope;
};

static int paths_setup(void **state) {
        struct paths *p = calloc(1, sizeof(*p));
        *state = p;
        if (env_setup((void **) &p->cg) < 0)
                return -1;
        if (geteuid() != 0)
                return 0;
        if (agents_make(&p->agents) < 0)
                return -1;
        snprintf(p->stranger_exe, sizeof(p->stranger_exe), "%s/stranger", p->agents.dir);
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", helper_path(), p->stranger_exe);
        if (system(cmd) != 0)
                return -1;
        struct hn_bpf_lsm_probe lsm;
        hn_probe_bpf_lsm(NULL, &lsm);
        p->enforce = lsm.available;
        if (hn_cgroup_create_scope(p->cg->pact, HN_SLICE_PACT_INFRA, "dbus", NULL, &p->pact_scope, NULL) < 0 ||
            hn_cgroup_create_scope(p->cg->workload, HN_SLICE_WORKLOAD_ROOT, "job", NULL, &p->workload_scope, NULL) < 0)
                return -1;
        return 0;
}

static int paths_teardown(void **state) {
        struct paths *p = *state;
        hn_monitor_free(p->mon);
        void *cg = p->cg;
        env_teardown(&cg);
        unlink(p->stranger_exe);
        agents_remove(&p->agents);
        free(p);
        return 0;
}

/* The watcher as hpcnoded runs it here: enforcing where the kernel can. */
static void watch(struct paths *p, const char *pact_cgroup_identity) {
        require_kernel_features();
        struct hn_monitor_options o = { .cgroup_root = p->cg->s.root, .lsm = p->enforce, .enforce = p->enforce };
        struct hn_error err = { 0 };
        if (hn_monitor_new(&o, &p->mon, &err) < 0 ||
            hn_monitor_add_identity_exe(p->mon, HN_OWNER_PACT, p->agents.pact_exe, &err) < 0 ||
            hn_monitor_add_identity_exe(p->mon, HN_OWNER_WORKLOAD, p->agents.workload_exe, &err) < 0 ||
            (pact_cgroup_identity &&
             hn_monitor_add_identity_cgroup(p->mon, HN_OWNER_PACT, pact_cgroup_identity, &err) < 0) ||
            hn_monitor_start(p->mon, &err) < 0)
                fail_msg("monitor: %s", err.message);
        event_log_drain(&p->log, p->mon);
}

#define REQUIRE(p) require_root_cgroup2()

static const char *file_of(const struct hn_cgroup_handle *h, const char *name) {
        static char buf[4][PATH_MAX + 64];
        static unsigned next;
        char *b = buf[next++ % 4];
        snprintf(b, sizeof(buf[0]), "%s/%s", h->path, name);
        return b;
}

static uint64_t id_of(const char *path) {
        uint64_t id = 0;
        assert_int_equal(hn_cgroup_id(path, &id, NULL), 0);
        return id;
}

static void value_is(const char *path, const char *want) {
        char buf[256];
        assert_int_equal(read_text(path, buf, sizeof(buf)), 0);
        buf[strcspn(buf, "\n")] = '\0';
        assert_string_equal(buf, want);
}

/* The act's own result: refused where the kernel denies, done elsewhere. */
static void act_result(const struct paths *p, int rc, const char *what) {
        if (rc != (p->enforce ? EPERM : 0))
                fail_msg("%s: errno %d, want %d", what, rc, p->enforce ? EPERM : 0);
}

/* The one record of type in the log; fails unless exactly one. */
static const struct hn_event *only(const struct paths *p, unsigned type) {
        const struct hn_event *found = NULL;
        unsigned n = 0;
        for (unsigned i = 0; i < p->log.n; i++)
                if (p->log.ev[i].type == type) {
                        found = &p->log.ev[i];
                        n++;
                }
        if (n != 1) {
                for (unsigned i = 0; i < p->log.n; i++)
                        print_message("  record %s flags %#x source %u path %s tgid %u\n",
                                      hn_event_type_name(p->log.ev[i].type), p->log.ev[i].flags,
                                      p->log.ev[i].source, p->log.ev[i].path, p->log.ev[i].tgid);
                fail_msg("%u records of type %s, want exactly 1 (of %u)", n, hn_event_type_name(type), p->log.n);
        }
        return found;
}

/* The one record whose writer has this identity; fails unless exactly one. */
static const struct hn_event *only_by(const struct paths *p, unsigned writer_owner, const char *what) {
        const struct hn_event *found = NULL;
        for (unsigned i = 0; i < p->log.n; i++)
                if (p->log.ev[i].writer_owner == writer_owner) {
                        if (found)
                                fail_msg("%s: two records by the same writer", what);
                        found = &p->log.ev[i];
                }
        if (!found)
                fail_msg("%s: no record of the act", what);
        return found;
}

/* The writer as the record names it: process, executable, identity. */
static void writer_is(const struct hn_event *e, pid_t pid, const char *exe, unsigned owner) {
        struct stat st;
        assert_int_equal(stat(exe, &st), 0);
        assert_int_equal(e->version, HN_EVENT_VERSION);
        assert_int_equal(e->tgid, pid);
        assert_true(e->exe_ino == st.st_ino);
        assert_int_equal(e->exe_dev, hn_kernel_dev(st.st_dev));
        char path[PATH_MAX];
        assert_int_equal(hn_event_exe_path(e, path, sizeof(path), NULL), 0);
        assert_string_equal(path, exe);
        assert_int_equal(e->writer_owner, owner);
        assert_int_equal(e->uid, 0);
        assert_true(e->ts_boot_ns > 0);
        struct stat ns;
        assert_int_equal(stat("/proc/self/ns/mnt", &ns), 0);
        assert_true(e->mnt_ns == ns.st_ino);
}

/* Denied by the LSM, or allowed and cross-slice, as the kernel can. */
static void verdict_is(const struct paths *p, const struct hn_event *e, unsigned extra_flags) {
        unsigned want = HN_EVF_CROSS_SLICE | extra_flags | (p->enforce ? HN_EVF_DENIED : 0);
        if (e->flags != want)
                fail_msg("flags %#x, want %#x", e->flags, want);
}

/* ---- writes through a descriptor, however it was had */

/* A control-file record: of the file, in cgroup of h, by the writer. */
static void control_record(const struct paths *p, const struct hn_cgroup_handle *h, const char *file, pid_t pid,
                           const char *exe, unsigned owner, unsigned source) {
        const struct hn_event *e = only(p, HN_EV_CONTROL_OPEN);
        writer_is(e, pid, exe, owner);
        verdict_is(p, e, HN_EVF_NAME_ONLY);
        assert_int_equal(e->source, p->enforce ? HN_EVS_LSM : source);
        assert_true(e->cgroup_id == id_of(h->path));
        assert_string_equal(e->path, file);
        assert_int_equal(e->target_owner, owner == HN_EVO_WORKLOAD ? HN_EVO_PACT : HN_EVO_WORKLOAD);
}

/* Opened before the watcher started: the check at open never ran, the
 * write is judged when it happens. */
static void write_through_fd_opened_before_start(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        const char *file = file_of(&p->pact_scope, "cgroup.max.descendants");
        int in[2], out[2];
        assert_int_equal(pipe(in), 0);
        assert_int_equal(pipe(out), 0);
        pid_t pid = fork();
        if (pid == 0) {
                dup2(in[0], STDIN_FILENO);
                dup2(out[1], STDOUT_FILENO);
                setenv("HN_HOLD", "1", 1);
                execl(p->agents.workload_exe, p->agents.workload_exe, "waitwrite", file, "7", (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        FILE *o = fdopen(out[0], "r");
        char line[64] = "";
        assert_non_null(fgets(line, sizeof(line), o)); /* "open": the fd exists */
        assert_string_equal(line, "open\n");
        watch(p, NULL);
        assert_int_equal(write(in[1], "go\n", 3), 3);
        assert_non_null(fgets(line, sizeof(line), o));
        int rc = -1;
        assert_int_equal(sscanf(line, "done %d", &rc), 1);
        act_result(p, rc, "write through an fd opened before start");
        value_is(file, p->enforce ? "max" : "7");
        event_log_drain(&p->log, p->mon);
        control_record(p, &p->pact_scope, "cgroup.max.descendants", pid, p->agents.workload_exe, HN_EVO_WORKLOAD,
                       HN_EVS_FSNOTIFY);
        fclose(o);
        close(in[1]);
        agent_release(pid);
}

/* Opened by pact (its own scope: allowed), written by the workload agent
 * it exec'd into with the fd (inherited across exec). */
static void write_through_inherited_fd(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        watch(p, NULL);
        const char *file = file_of(&p->pact_scope, "cgroup.max.depth");
        char *argv[] = { p->agents.pact_exe, "openexec", (char *) file, p->agents.workload_exe, "fdwrite", "3", "5",
                         NULL };
        pid_t pid;
        int rc = agent_hold(argv, &pid);
        act_result(p, rc, "write through an inherited fd");
        value_is(file, p->enforce ? "max" : "5");
        event_log_drain(&p->log, p->mon);
        /* the open was pact's own (here recorded at the open, allowed):
         * the write's record is the workload agent's */
        const struct hn_event *e = only_by(p, HN_EVO_WORKLOAD, "the write");
        assert_int_equal(e->type, HN_EV_CONTROL_OPEN);
        writer_is(e, pid, p->agents.workload_exe, HN_EVO_WORKLOAD);
        verdict_is(p, e, HN_EVF_NAME_ONLY);
        assert_int_equal(e->source, p->enforce ? HN_EVS_LSM : HN_EVS_FSNOTIFY);
        assert_string_equal(e->path, "cgroup.max.depth");
        agent_release(pid);
}

/* Opened by pact, passed over a unix socket (SCM_RIGHTS), written by the
 * workload agent. */
static void write_through_passed_fd(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        watch(p, NULL);
        const char *file = file_of(&p->pact_scope, "cgroup.max.descendants");
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        char a[16], b[16];
        snprintf(a, sizeof(a), "%d", sv[0]);
        snprintf(b, sizeof(b), "%d", sv[1]);
        char *send[] = { p->agents.pact_exe, "sendfd", a, (char *) file, NULL };
        assert_int_equal(agent_runv(send, NULL), 0);
        char *recv[] = { p->agents.workload_exe, "recvwrite", b, "9", NULL };
        pid_t pid;
        int rc = agent_hold(recv, &pid);
        close(sv[0]);
        close(sv[1]);
        act_result(p, rc, "write through a passed fd");
        value_is(file, p->enforce ? "max" : "9");
        event_log_drain(&p->log, p->mon);
        const struct hn_event *e = only_by(p, HN_EVO_WORKLOAD, "the write");
        writer_is(e, pid, p->agents.workload_exe, HN_EVO_WORKLOAD);
        verdict_is(p, e, HN_EVF_NAME_ONLY);
        assert_int_equal(e->source, p->enforce ? HN_EVS_LSM : HN_EVS_FSNOTIFY);
        agent_release(pid);
}

/* Each way to open a control file: write(2) after open, creat,
 * open_by_handle_at, io_uring's openat. */
static void opens_by_every_syscall(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        watch(p, NULL);
        static const struct {
                const char *how;
                unsigned source; /* where this host sees it */
        } ways[] = { { "write", HN_EVS_SYSCALL }, { "creat", HN_EVS_SYSCALL }, { "handle", HN_EVS_SYSCALL },
                     { "uring-open", HN_EVS_FSNOTIFY } };
        for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
                const char *file = file_of(&p->pact_scope, "cgroup.max.descendants");
                char v[16];
                snprintf(v, sizeof(v), "%zu", 10 + i);
                char *argv[] = { p->agents.workload_exe, "via", (char *) ways[i].how, (char *) file, v, NULL };
                pid_t pid;
                int rc = agent_hold(argv, &pid);
                act_result(p, rc, ways[i].how);
                value_is(file, p->enforce ? "max" : v);
                event_log_drain(&p->log, p->mon);
                print_message("# open by %s: %u record(s)\n", ways[i].how, p->log.n);
                control_record(p, &p->pact_scope, "cgroup.max.descendants", pid, p->agents.workload_exe,
                               HN_EVO_WORKLOAD, ways[i].source);
                agent_release(pid);
        }
}

/* Each way to write through an fd the open check never judged (inherited
 * from the owner): write, pwrite, writev, pwritev2, splice, sendfile,
 * io_uring. */
static void writes_by_every_syscall(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        watch(p, NULL);
        static const char *const ways[] = { "write", "pwrite", "writev", "pwritev2", "splice", "sendfile", "uring" };
        for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
                const char *file = file_of(&p->pact_scope, "cgroup.max.depth");
                char v[16];
                snprintf(v, sizeof(v), "%zu", 20 + i);
                char *argv[] = { p->agents.pact_exe, "openexec", (char *) file, p->agents.workload_exe, "fdvia",
                                 (char *) ways[i], "3", v, NULL };
                pid_t pid;
                int rc = agent_hold(argv, &pid);
                act_result(p, rc, ways[i]);
                value_is(file, p->enforce ? "max" : v);
                event_log_drain(&p->log, p->mon);
                const struct hn_event *e = only_by(p, HN_EVO_WORKLOAD, ways[i]);
                writer_is(e, pid, p->agents.workload_exe, HN_EVO_WORKLOAD);
                verdict_is(p, e, HN_EVF_NAME_ONLY);
                assert_int_equal(e->source, p->enforce ? HN_EVS_LSM : HN_EVS_FSNOTIFY);
                assert_string_equal(e->path, "cgroup.max.depth");
                agent_release(pid);
        }
}

/* A writer that is gone before its record is read: on this host the
 * record still comes (from fanotify), attributed or saying it is not. */
static void write_by_a_writer_gone_at_once_is_recorded(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        watch(p, NULL);
        const char *file = file_of(&p->pact_scope, "cgroup.max.depth");
        char *argv[] = { p->agents.pact_exe, "openexec", (char *) file, p->agents.workload_exe, "fdwrite", "3", "3",
                         NULL };
        pid_t pid;
        int rc = agent_runv(argv, &pid);
        act_result(p, rc, "write by a writer that exits");
        event_log_drain(&p->log, p->mon);
        const struct hn_event *e = NULL;
        for (unsigned i = 0; i < p->log.n; i++)
                if (p->log.ev[i].source != HN_EVS_SYSCALL || p->log.ev[i].writer_owner != HN_EVO_PACT) {
                        assert_null(e);
                        e = &p->log.ev[i];
                }
        assert_non_null(e);
        assert_int_equal(e->tgid, pid);
        assert_string_equal(e->path, "cgroup.max.depth");
        assert_true(e->cgroup_id == id_of(p->pact_scope.path));
        if (p->enforce)
                assert_int_equal(e->flags, HN_EVF_NAME_ONLY | HN_EVF_CROSS_SLICE | HN_EVF_DENIED);
        else if (e->flags & HN_EVF_UNATTRIBUTED)
                assert_int_equal(e->writer_owner, HN_EVO_NONE); /* and says so */
        else
                writer_is(e, pid, p->agents.workload_exe, HN_EVO_WORKLOAD);
        assert_true(e->flags & HN_EVF_CROSS_SLICE);
}

/* ---- cgroup.kill by splice and io_uring */

static void kill_by_splice_and_uring(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        require_cgroup_kill();
        watch(p, NULL);
        static const char *const ways[] = { "splice", "uring" };
        for (size_t i = 0; i < 2; i++) {
                /* a scope of its own: after a cgroup.kill a task forked into
                 * the same cgroup can be killed at birth (6.18) */
                struct hn_cgroup_handle h;
                assert_int_equal(hn_cgroup_create_scope(p->cg->pact, HN_SLICE_PACT_INFRA, ways[i], NULL, &h, NULL), 0);
                char *sleeper[] = { (char *) helper_path(), "sleep", NULL };
                pid_t job;
                assert_int_equal(hn_cgroup_spawn(p->cg->pact, &h, sleeper, &job, NULL), 0);
                const char *kill_file = file_of(&h, "cgroup.kill");
                /* the stranger, through an fd pact handed it: refused */
                char *cross[] = { p->agents.pact_exe, "openexec", (char *) kill_file, p->agents.workload_exe, "fdvia",
                                  (char *) ways[i], "3", "1", NULL };
                pid_t w;
                event_log_drain(&p->log, p->mon);
                int rc = agent_hold(cross, &w);
                act_result(p, rc, ways[i]);
                event_log_drain(&p->log, p->mon);
                agent_release(w);
                if (p->enforce) {
                        assert_int_equal(kill(job, 0), 0); /* it lives */
                        const struct hn_event *e = only(p, HN_EV_CONTROL_OPEN);
                        writer_is(e, w, p->agents.workload_exe, HN_EVO_WORKLOAD);
                        verdict_is(p, e, HN_EVF_NAME_ONLY);
                        assert_string_equal(e->path, "cgroup.kill");
                        /* the owner may, by the same path: one kill record, pact's */
                        char *own[] = { p->agents.pact_exe, "via", (char *) ways[i], (char *) kill_file, "1", NULL };
                        assert_int_equal(agent_hold(own, &w), 0);
                        event_log_drain(&p->log, p->mon);
                        agent_release(w);
                }
                int status;
                assert_int_equal(wait_pid_ms(job, 5000, &status), job);
                assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
                const struct hn_event *k = only(p, HN_EV_CGROUP_KILL);
                writer_is(k, w, p->enforce ? p->agents.pact_exe : p->agents.workload_exe,
                          p->enforce ? HN_EVO_PACT : HN_EVO_WORKLOAD);
                assert_int_equal(k->value, job);
                assert_int_equal(k->source, HN_EVS_TP_BTF);
                assert_int_equal(k->flags, HN_EVF_NAME_ONLY | (p->enforce ? 0 : HN_EVF_CROSS_SLICE));
                assert_true(k->cgroup_id == id_of(h.path));
        }
}

/* ---- placements */

/* clone3(CLONE_INTO_CGROUP) into workload's scope by pact; prints the
 * child's pid where it was made. */
static pid_t clone_into(const char *exe, const char *dir, int *ret_rc) {
        int out[2];
        assert_int_equal(pipe(out), 0);
        pid_t pid = fork();
        if (pid == 0) {
                dup2(out[1], STDOUT_FILENO);
                execl(exe, exe, "clone-into", dir, (char *) NULL);
                _exit(127);
        }
        close(out[1]);
        int status;
        assert_int_equal(wait_pid_ms(pid, 10000, &status), pid);
        *ret_rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        char buf[32] = "";
        ssize_t n = read(out[0], buf, sizeof(buf) - 1);
        close(out[0]);
        return n > 0 ? (pid_t) atoi(buf) : 0;
}

static void clone_into_a_slice(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        watch(p, NULL);
        int rc;
        pid_t child = clone_into(p->agents.pact_exe, p->workload_scope.path, &rc);
        act_result(p, rc, "clone3 into workload's scope by pact");
        event_log_drain(&p->log, p->mon);
        const struct hn_event *e = only(p, HN_EV_CGROUP_CLONE_INTO);
        assert_int_equal(e->writer_owner, HN_EVO_PACT);
        verdict_is(p, e, HN_EVF_NAME_ONLY);
        assert_true(e->cgroup_id == id_of(p->workload_scope.path));
        assert_int_equal(e->target_owner, HN_EVO_WORKLOAD);
        assert_int_equal(e->other_owner, HN_EVO_NONE); /* pact runs outside the slices here */
        assert_int_equal(e->source, p->enforce ? HN_EVS_LSM : HN_EVS_TP_BTF);
        if (p->enforce) {
                assert_int_equal(child, 0);
                assert_int_equal(e->value, 0);
                assert_int_equal(procs_count(p->workload_scope.path), 0);
        } else {
                assert_true(child > 0);
                assert_int_equal(e->value, child);
                assert_int_equal(procs_count(p->workload_scope.path), 1);
                kill(child, SIGKILL);
        }
        /* into its own slice: allowed, recorded, not cross */
        child = clone_into(p->agents.pact_exe, p->pact_scope.path, &rc);
        assert_int_equal(rc, 0);
        assert_true(child > 0);
        event_log_drain(&p->log, p->mon);
        e = only(p, HN_EV_CGROUP_CLONE_INTO);
        assert_int_equal(e->flags, HN_EVF_NAME_ONLY);
        assert_int_equal(e->value, child);
        assert_int_equal(e->source, HN_EVS_TP_BTF);
        kill(child, SIGKILL);
}

/* A job taken out of workload.slice, to the root (out of its limits) or
 * into pact's own scope: an act on the slice it leaves. The pid is written
 * every way the kernel reads one. */
static void moving_a_job_out_of_its_slice(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        watch(p, NULL);
        char *sleeper[] = { (char *) helper_path(), "sleep", NULL };
        pid_t job;
        assert_int_equal(hn_cgroup_spawn(p->cg->workload, &p->workload_scope, sleeper, &job, NULL), 0);
        char forms[5][32];
        snprintf(forms[0], sizeof(forms[0]), "%d", job);
        snprintf(forms[1], sizeof(forms[1]), "  %d\n", job);
        snprintf(forms[2], sizeof(forms[2]), "0x%x", job);
        snprintf(forms[3], sizeof(forms[3]), "0%o", job);
        snprintf(forms[4], sizeof(forms[4]), "+%d", job);
        char root_procs[PATH_MAX + 32];
        snprintf(root_procs, sizeof(root_procs), "%s/cgroup.procs", p->cg->s.root);
        const char *dests[] = { root_procs, file_of(&p->pact_scope, "cgroup.procs") };
        const char *dest_dirs[] = { p->cg->s.root, p->pact_scope.path };
        for (size_t d = 0; d < 2; d++)
                for (size_t f = 0; f < (p->enforce ? 5u : 1u); f++) {
                        char *argv[] = { p->agents.pact_exe, "write", (char *) dests[d], forms[f], NULL };
                        pid_t w;
                        int rc = agent_hold(argv, &w);
                        act_result(p, rc, forms[f]);
                        event_log_drain(&p->log, p->mon);
                        const struct hn_event *e = only(p, HN_EV_CGROUP_ATTACH);
                        writer_is(e, w, p->agents.pact_exe, HN_EVO_PACT);
                        verdict_is(p, e, p->enforce ? HN_EVF_NAME_ONLY : 0);
                        assert_int_equal(e->value, job);
                        assert_true(e->cgroup_id == id_of(dest_dirs[d]));
                        assert_int_equal(e->target_owner, d == 0 ? HN_EVO_NONE : HN_EVO_PACT);
                        assert_int_equal(e->other_owner, HN_EVO_WORKLOAD); /* the slice it left */
                        assert_true(e->other_cgroup_id == id_of(p->workload_scope.path));
                        agent_release(w);
                        if (p->enforce)
                                assert_int_equal(procs_count(p->workload_scope.path), 1); /* it stayed */
                        else { /* it went: the manager brings it back */
                                assert_int_equal(hn_cgroup_attach_pid(p->cg->workload, &p->workload_scope, job, NULL), 0);
                                event_log_drain(&p->log, p->mon);
                        }
                }
        /* a pid the kernel does not show to the LSM (spliced in): refused */
        if (p->enforce) {
                uint64_t drops[HN_DROP_MAX];
                assert_int_equal(hn_monitor_drops(p->mon, drops, NULL), 0);
                char *argv[] = { p->agents.pact_exe, "via", "splice", root_procs, forms[0], NULL };
                pid_t w;
                assert_int_equal(agent_hold(argv, &w), EPERM);
                agent_release(w);
                assert_int_equal(procs_count(p->workload_scope.path), 1);
                uint64_t after[HN_DROP_MAX];
                assert_int_equal(hn_monitor_drops(p->mon, after, NULL), 0);
                assert_true(after[HN_DROP_PID_UNREAD] == drops[HN_DROP_PID_UNREAD] + 1);
        }
        kill(job, SIGKILL);
        wait_pid_ms(job, 5000, NULL);
}

/* pact's Cgroup= identity subtree (outside the slices): whoever is put
 * there is pact to the kernel, so only pact (and the manager) may put
 * anyone there. */
static void identity_subtree_is_protected(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        const char *subtree = env_path(p->cg, "agents");
        assert_int_equal(mkdir(subtree, 0755), 0);
        char identity[PATH_MAX + 64];
        snprintf(identity, sizeof(identity), "%s/pact", subtree);
        assert_int_equal(mkdir(identity, 0755), 0);
        watch(p, identity);
        /* a stranger starts a child there */
        int rc;
        pid_t child = clone_into(p->stranger_exe, identity, &rc);
        act_result(p, rc, "clone3 into pact's identity subtree");
        event_log_drain(&p->log, p->mon);
        const struct hn_event *e = only(p, HN_EV_CGROUP_CLONE_INTO);
        assert_int_equal(e->writer_owner, HN_EVO_NONE);
        verdict_is(p, e, HN_EVF_NAME_ONLY | HN_EVF_IDENTITY);
        assert_true(e->cgroup_id == id_of(identity));
        assert_int_equal(e->target_owner, HN_EVO_PACT);
        if (!p->enforce) {
                assert_true(child > 0);
                kill(child, SIGKILL);
                wait_pid_ms(child, 5000, NULL);
        }
        /* a stranger moves itself there */
        char procs[PATH_MAX + 80];
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", identity);
        char *argv[] = { p->stranger_exe, "write", procs, "0", NULL };
        pid_t w;
        rc = agent_hold(argv, &w);
        act_result(p, rc, "a stranger moving itself into pact's identity subtree");
        event_log_drain(&p->log, p->mon);
        e = p->enforce ? only(p, HN_EV_CONTROL_OPEN) : only(p, HN_EV_CGROUP_ATTACH); /* refused at the open */
        assert_int_equal(e->tgid, w);
        assert_int_equal(e->writer_owner, HN_EVO_NONE);
        verdict_is(p, e, (p->enforce ? HN_EVF_NAME_ONLY : 0) | HN_EVF_IDENTITY);
        assert_int_equal(e->target_owner, HN_EVO_PACT);
        if (!p->enforce)
                assert_int_equal(e->value, w);
        agent_release(w);
        /* pact itself may: nothing is recorded for a move outside the slices */
        char *own[] = { p->agents.pact_exe, "write", procs, "0", NULL };
        assert_int_equal(agent_hold(own, &w), 0);
        event_log_drain(&p->log, p->mon);
        assert_int_equal(p->log.n, 0);
        agent_release(w);
        /* and the last act must be seen: a stranger's mkdir in workload.slice */
        char *stray[] = { p->stranger_exe, "mkdir", (char *) env_path(p->cg, "workload.slice/stray"), NULL };
        rc = agent_hold(stray, &w);
        act_result(p, rc, "a stranger's mkdir");
        event_log_drain(&p->log, p->mon);
        only(p, HN_EV_CGROUP_MKDIR);
        agent_release(w);
}

/* ---- xattrs: the manager's alone (the zombie mark lives there) */

static void xattrs_on_a_scope(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        watch(p, NULL);
        const char *exes[] = { p->agents.pact_exe, p->agents.workload_exe };
        const unsigned owners[] = { HN_EVO_PACT, HN_EVO_WORKLOAD };
        for (size_t i = 0; i < 2; i++) {
                char *argv[] = { (char *) exes[i], "setxattr", (char *) p->workload_scope.path,
                                 "trusted.hpcnode.zombie", "1", NULL };
                pid_t w;
                int rc = agent_hold(argv, &w);
                act_result(p, rc, "setxattr of the zombie mark");
                char v[8];
                ssize_t n = getxattr(p->workload_scope.path, "trusted.hpcnode.zombie", v, sizeof(v));
                assert_true(p->enforce ? n < 0 : n == 1);
                event_log_drain(&p->log, p->mon);
                const struct hn_event *e = only(p, HN_EV_CGROUP_ATTR);
                writer_is(e, w, exes[i], owners[i]);
                verdict_is(p, e, HN_EVF_NAME_ONLY);
                assert_true(e->cgroup_id == id_of(p->workload_scope.path));
                assert_int_equal(e->target_owner, HN_EVO_WORKLOAD);
                if (p->enforce) {
                        assert_int_equal(e->source, HN_EVS_LSM);
                        assert_string_equal(e->path, "trusted.hpcnode.zombie");
                        assert_int_equal(e->value, 1);
                } else {
                        assert_int_equal(e->source, HN_EVS_FSNOTIFY);
                        assert_string_equal(e->path, ""); /* the cgroup itself */
                        assert_int_equal(e->value, 2);
                        assert_int_equal(removexattr(p->workload_scope.path, "trusted.hpcnode.zombie"), 0);
                        event_log_drain(&p->log, p->mon); /* the manager's own: not recorded */
                        assert_int_equal(p->log.n, 0);
                }
                agent_release(w);
        }
}

/* ---- the kernel side's own state */

/* A slice root removed and made again is owned from its first moment:
 * the programs learn the new root themselves, nothing waits for a tick. */
static void slice_root_made_again_is_owned_at_once(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        watch(p, NULL);
        assert_int_equal(rmdir(p->workload_scope.path), 0);
        const char *root = env_path(p->cg, "workload.slice");
        assert_int_equal(rmdir(root), 0);
        assert_int_equal(mkdir(root, 0755), 0);
        char *argv[] = { p->agents.pact_exe, "mkdir", (char *) env_path(p->cg, "workload.slice/x"), NULL };
        pid_t w;
        int rc = agent_hold(argv, &w);
        act_result(p, rc, "mkdir in a workload.slice made again");
        event_log_drain(&p->log, p->mon);
        const struct hn_event *e = NULL;
        for (unsigned i = 0; i < p->log.n; i++)
                if (p->log.ev[i].type == HN_EV_CGROUP_MKDIR && p->log.ev[i].tgid == (uint32_t) w)
                        e = &p->log.ev[i];
        assert_non_null(e);
        writer_is(e, w, p->agents.pact_exe, HN_EVO_PACT);
        verdict_is(p, e, p->enforce ? HN_EVF_NAME_ONLY : 0);
        assert_int_equal(e->target_owner, HN_EVO_WORKLOAD);
        agent_release(w);
        assert_int_equal(path_exists(env_path(p->cg, "workload.slice/x")), !p->enforce);
}

struct resyncer {
        struct hn_monitor *mon;
        volatile bool stop;
        unsigned rounds;
};

static void *resync_loop(void *arg) {
        struct resyncer *r = arg;
        while (!r->stop) {
                if (hn_monitor_resync(r->mon, NULL) == 0)
                        r->rounds++;
        }
        return NULL;
}

/* A resync empties nothing: acts during one are judged like any other. */
static void resync_leaves_no_window(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        watch(p, NULL);
        struct resyncer r = { .mon = p->mon };
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, resync_loop, &r), 0);
        unsigned acts = p->enforce ? 20 : 200, records = 0;
        if (p->enforce)
                for (unsigned i = 0; i < acts; i++) {
                        char dir[64];
                        snprintf(dir, sizeof(dir), "workload.slice/r%u", i);
                        char *argv[] = { p->agents.pact_exe, "mkdir", (char *) env_path(p->cg, dir), NULL };
                        assert_int_equal(agent_runv(argv, NULL), EPERM);
                }
        else {
                char *argv[] = { p->agents.pact_exe, "mkdirs", (char *) env_path(p->cg, "workload.slice/r"), "200",
                                 NULL };
                assert_int_equal(agent_runv(argv, NULL), 0);
        }
        r.stop = true;
        pthread_join(t, NULL);
        for (int round = 0; round < 20 && records < acts; round++) {
                event_log_drain(&p->log, p->mon);
                for (unsigned i = 0; i < p->log.n; i++)
                        if (p->log.ev[i].type == HN_EV_CGROUP_MKDIR && p->log.ev[i].writer_owner == HN_EVO_PACT) {
                                assert_int_equal(p->log.ev[i].target_owner, HN_EVO_WORKLOAD);
                                assert_true(p->log.ev[i].flags & HN_EVF_CROSS_SLICE);
                                records++;
                        }
        }
        print_message("# %u resyncs during %u cross-slice mkdirs\n", r.rounds, acts);
        assert_true(r.rounds > 0);
        assert_int_equal(records, acts);
}

/* 70,000 cgroups in pact.slice first: nothing kept per cgroup can fill
 * up, so a cross-slice mkdir in a new workload scope after them is judged
 * like the first. */
static void seventy_thousand_cgroups_change_nothing(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        watch(p, NULL);
        const char *fill = env_path(p->cg, "pact.slice/fill");
        assert_int_equal(mkdir(fill, 0755), 0);
        char dir[PATH_MAX + 64];
        for (int i = 0; i < 70000; i++) {
                snprintf(dir, sizeof(dir), "%s/c%d", fill, i);
                if (mkdir(dir, 0755) < 0)
                        fail_msg("mkdir %s: %s", dir, strerror(errno));
                if (i % 4096 == 0)
                        (void) hn_monitor_poll(p->mon, 0, NULL, NULL, NULL); /* the manager's own records: read, dropped */
        }
        while (hn_monitor_poll(p->mon, 0, NULL, NULL, NULL) > 0)
                ;
        struct hn_cgroup_handle fresh;
        assert_int_equal(hn_cgroup_create_scope(p->cg->workload, HN_SLICE_WORKLOAD_ROOT, "fresh", NULL, &fresh, NULL),
                         0);
        event_log_drain(&p->log, p->mon);
        char target[PATH_MAX + 64];
        snprintf(target, sizeof(target), "%s/intruder", fresh.path);
        char *argv[] = { p->agents.pact_exe, "mkdir", target, NULL };
        pid_t w;
        int rc = agent_hold(argv, &w);
        act_result(p, rc, "a cross-slice mkdir after 70,000 cgroups");
        assert_int_equal(path_exists(target), !p->enforce);
        event_log_drain(&p->log, p->mon);
        const struct hn_event *e = only(p, HN_EV_CGROUP_MKDIR);
        writer_is(e, w, p->agents.pact_exe, HN_EVO_PACT);
        verdict_is(p, e, p->enforce ? HN_EVF_NAME_ONLY : 0);
        assert_int_equal(e->target_owner, HN_EVO_WORKLOAD);
        agent_release(w);
        for (int i = 0; i < 70000; i++) {
                snprintf(dir, sizeof(dir), "%s/c%d", fill, i);
                rmdir(dir);
                if (i % 4096 == 0)
                        (void) hn_monitor_poll(p->mon, 0, NULL, NULL, NULL);
        }
}

/* The id of this process's BPF map named name (the monitor's .bss). */
static uint32_t own_map_id(const char *name) {
        DIR *d = opendir("/proc/self/fd");
        uint32_t found = 0;
        for (struct dirent *de; d && (de = readdir(d));) {
                int fd = atoi(de->d_name);
                struct bpf_map_info info = { 0 };
                __u32 len = sizeof(info);
                if (de->d_name[0] != '.' && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && !strcmp(info.name, name))
                        found = info.id;
        }
        if (d)
                closedir(d);
        return found;
}

/* A root stranger rewriting the programs' state with the bpf syscall (as
 * bpftool does): where BPF LSM runs, opening hpcnode's maps for writing is
 * refused and recorded; here the write lands, and the next check finds it,
 * names it and restores it, before anything is judged wrong. */
static void tampered_state_is_refused_or_restored(void **state) {
        struct paths *p = *state;
        REQUIRE(p);
        watch(p, NULL);
        uint32_t bss = own_map_id("hpcnode.bss"), emergency = own_map_id("emergency");
        assert_true(bss && emergency);
        int out[2];
        assert_int_equal(pipe(out), 0);
        /* another executable: this test's own would be the manager's
         * (a process running it as root may open the maps: a restart) */
        pid_t stranger = fork();
        if (stranger == 0) {
                char b[16], e[16], idx[16];
                snprintf(b, sizeof(b), "%u", bss);
                snprintf(e, sizeof(e), "%u", emergency);
                snprintf(idx, sizeof(idx), "%d", HN_EVO_WORKLOAD); /* workload.slice owned by nobody */
                execl(helper_path(), "hn_test_helper", "bpf-map-tamper", b, e, idx, (char *) NULL);
                _exit(127);
        }
        int status;
        assert_int_equal(wait_pid_ms(stranger, 10000, &status), stranger);
        assert_true(WIFEXITED(status));
        act_result(p, WEXITSTATUS(status), "opening hpcnode's maps for writing");
        event_log_drain(&p->log, p->mon);
        char detail[256];
        if (p->enforce) {
                /* both opens refused, each one record */
                assert_int_equal(p->log.n, 2);
                for (unsigned i = 0; i < 2; i++) {
                        const struct hn_event *e = &p->log.ev[i];
                        assert_int_equal(e->type, HN_EV_GUARD_MAP);
                        assert_int_equal(e->tgid, stranger);
                        assert_int_equal(e->flags, HN_EVF_DENIED | HN_EVF_CROSS_SLICE);
                        assert_int_equal(e->value, i == 0 ? bss : emergency);
                        assert_string_equal(e->path, i == 0 ? "hpcnode.bss" : "emergency");
                }
                assert_int_equal(hn_monitor_check_state(p->mon, detail, sizeof(detail)), 0);
        } else {
                assert_int_equal(p->log.n, 0); /* nothing in the kernel saw it */
                assert_int_equal(hn_monitor_check_state(p->mon, detail, sizeof(detail)), 2);
                assert_string_equal(detail, "slice_root_id, emergency");
                assert_int_equal(hn_monitor_check_state(p->mon, detail, sizeof(detail)), 0); /* restored */
        }
        /* the rules hold: a cross-slice mkdir in workload.slice, outside an emergency */
        char *argv[] = { p->agents.pact_exe, "mkdir", (char *) env_path(p->cg, "workload.slice/after"), NULL };
        pid_t w;
        int rc = agent_hold(argv, &w);
        act_result(p, rc, "a cross-slice mkdir after the tampering");
        event_log_drain(&p->log, p->mon);
        const struct hn_event *e = only(p, HN_EV_CGROUP_MKDIR);
        assert_int_equal(e->target_owner, HN_EVO_WORKLOAD);
        verdict_is(p, e, p->enforce ? HN_EVF_NAME_ONLY : 0);
        agent_release(w);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(write_through_fd_opened_before_start, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(write_through_inherited_fd, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(write_through_passed_fd, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(opens_by_every_syscall, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(writes_by_every_syscall, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(write_by_a_writer_gone_at_once_is_recorded, paths_setup,
                                                paths_teardown),
                cmocka_unit_test_setup_teardown(kill_by_splice_and_uring, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(clone_into_a_slice, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(moving_a_job_out_of_its_slice, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(identity_subtree_is_protected, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(xattrs_on_a_scope, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(slice_root_made_again_is_owned_at_once, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(resync_leaves_no_window, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(tampered_state_is_refused_or_restored, paths_setup, paths_teardown),
                cmocka_unit_test_setup_teardown(seventy_thousand_cgroups_change_nothing, paths_setup, paths_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("slice_paths", tests, NULL, NULL);
}
