/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup watcher on the real kernel: real processes acting as the two
 * agents (copies of the test helper whose executables are registered as
 * pact's and workload's identities) write into the slices; each act yields
 * exactly one record, every field checked. Here (no BPF LSM) the verdict is
 * "allowed" and the write happens. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hpcnode/monitor.h>
#include <hpcnode/probe.h>

#include "fixture.h"

struct mon_env {
        struct env *cg;
        struct hn_monitor *mon;
        struct agents agents;
        const char *pact_exe, *workload_exe;
        struct event_log log;
};

static int mon_setup_object(void **state, enum hn_bpf_object object) {
        struct mon_env *m = calloc(1, sizeof(*m));
        *state = m;
        if (env_setup((void **) &m->cg) < 0)
                return -1;
        if (geteuid() != 0)
                return 0;
        if (agents_make(&m->agents) < 0)
                return -1;
        m->pact_exe = m->agents.pact_exe;
        m->workload_exe = m->agents.workload_exe;
        struct hn_monitor_options o = { .cgroup_root = m->cg->s.root, .bpf_object = object };
        struct hn_error err;
        if (kernel_refusal()[0])
                return 0; /* the tests skip, saying why */
        if (hn_monitor_new(&o, &m->mon, &err) < 0) {
                print_message("monitor: %s\n", err.message);
                return -1;
        }
        if (hn_monitor_add_identity_exe(m->mon, HN_OWNER_PACT, m->pact_exe, &err) < 0 ||
            hn_monitor_add_identity_exe(m->mon, HN_OWNER_WORKLOAD, m->workload_exe, &err) < 0 ||
            hn_monitor_start(m->mon, &err) < 0) {
                print_message("monitor: %s\n", err.message);
                return -1;
        }
        return 0;
}

static int mon_setup(void **state) {
        return mon_setup_object(state, HN_BPF_OBJECT_AUTO);
}

/* The compat object (bpf/compat.bpf.h) on this kernel, whatever it is: the
 * same acts must give the same records. Its own kernels (5.10) run every
 * suite with it in the VM suite. */
static int mon_setup_compat(void **state) {
        int r = mon_setup_object(state, HN_BPF_OBJECT_COMPAT);
        struct mon_env *m = *state;
        if (r == 0 && m->mon)
                assert_int_equal(hn_monitor_bpf_object(m->mon), HN_BPF_OBJECT_COMPAT);
        return r;
}

static int mon_teardown(void **state) {
        struct mon_env *m = *state;
        hn_monitor_free(m->mon);
        void *cg = m->cg;
        env_teardown(&cg);
        agents_remove(&m->agents);
        free(m);
        return 0;
}

#define REQUIRE_MONITOR(m)                                                                                             \
        do {                                                                                                           \
                require_root_cgroup2();                                                                                \
                require_kernel_features();                                                                             \
        } while (0)

/* Runs an agent stand-in, which must succeed; returns its pid. */
static pid_t act(const char *exe, const char *verb, const char *path, const char *value) {
        pid_t pid = 0;
        int rc = agent_run(exe, verb, path, value, &pid);
        if (rc != 0)
                fail_msg("%s %s %s: exit %d", exe, verb, path, rc);
        return pid;
}

/* The one record of type among those drained; fails unless exactly one. */
static const struct hn_event *only(struct mon_env *m, unsigned type) {
        const struct hn_event *found = NULL;
        unsigned count = 0;
        for (unsigned i = 0; i < m->log.n; i++)
                if (m->log.ev[i].type == type) {
                        found = &m->log.ev[i];
                        count++;
                }
        if (count != 1)
                fail_msg("%u records of type %s, want exactly 1 (of %u in all)", count, hn_event_type_name(type), m->log.n);
        return found;
}

/* writer_cg 0: the writer ran where the test runs. */
static void assert_writer_in(const struct hn_event *e, pid_t pid, const char *exe, const char *comm, uint64_t writer_cg) {
        struct stat st;
        assert_int_equal(stat(exe, &st), 0);
        assert_int_equal(e->version, HN_EVENT_VERSION);
        assert_int_equal(e->pid, pid);
        assert_int_equal(e->tgid, pid);
        assert_int_equal(e->uid, 0);
        assert_true(e->exe_ino == st.st_ino);
        assert_int_equal(e->exe_dev, (major(st.st_dev) << 20) | minor(st.st_dev)); /* spelled out: checks hn_kernel_dev too */
        assert_string_equal(e->comm, comm);
        struct stat ns;
        assert_int_equal(stat("/proc/self/ns/mnt", &ns), 0); /* the writer runs in ours */
        assert_true(e->mnt_ns == ns.st_ino);
        char path[PATH_MAX];
        assert_int_equal(hn_event_exe_path(e, path, sizeof(path), NULL), 0);
        assert_string_equal(path, exe);
        if (writer_cg) {
                assert_true(e->writer_cgroup_id == writer_cg);
                assert_true(e->ts_boot_ns > 0);
                return;
        }
        uint64_t own_cg;
        char cg[PATH_MAX], abs[PATH_MAX + 64];
        assert_int_equal(proc_cgroup_path(getpid(), cg, sizeof(cg)), 0);
        char mount[PATH_MAX];
        assert_int_equal(hn_cgroup2_find_mount(mount, sizeof(mount), NULL), 0);
        snprintf(abs, sizeof(abs), "%s%s", mount, cg);
        assert_int_equal(hn_cgroup_id(abs, &own_cg, NULL), 0);
        assert_true(e->writer_cgroup_id == own_cg); /* the child runs where the test runs */
        assert_true(e->ts_boot_ns > 0);
}

static void assert_writer(const struct hn_event *e, pid_t pid, const char *exe, const char *comm) {
        assert_writer_in(e, pid, exe, comm, 0);
}

static void workload_mkdir_in_pact_is_cross_slice(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        const char *target = env_path(m->cg, "pact.slice/infra.slice/intruder");
        event_log_drain(&m->log, m->mon);
        pid_t pid = act(m->workload_exe, "mkdir", target, NULL);
        event_log_drain(&m->log, m->mon);
        const struct hn_event *e = only(m, HN_EV_CGROUP_MKDIR);
        assert_int_equal(m->log.n, 1);
        assert_writer(e, pid, m->workload_exe, "lattice-agent");
        assert_int_equal(e->flags, HN_EVF_CROSS_SLICE); /* audit mode: not denied */
        assert_int_equal(e->target_owner, HN_EVO_PACT);
        assert_int_equal(e->writer_owner, HN_EVO_WORKLOAD);
        uint64_t id;
        assert_int_equal(hn_cgroup_id(target, &id, NULL), 0);
        assert_true(e->cgroup_id == id);
        assert_string_equal(e->path, path_below_mount(&m->cg->s, target));
        assert_true(path_exists(target)); /* audit mode: the write happened */
}

static void owner_mkdir_is_not_cross_slice(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        event_log_drain(&m->log, m->mon);
        pid_t pid = act(m->pact_exe, "mkdir", env_path(m->cg, "pact.slice/gpu.slice/ok"), NULL);
        event_log_drain(&m->log, m->mon);
        const struct hn_event *e = only(m, HN_EV_CGROUP_MKDIR);
        assert_writer(e, pid, m->pact_exe, "pact-agent");
        assert_int_equal(e->flags, 0);
        assert_int_equal(e->writer_owner, HN_EVO_PACT);
        /* and a grandchild inherits the owner the kernel recorded for its parent */
        pid = act(m->workload_exe, "mkdir", env_path(m->cg, "pact.slice/gpu.slice/ok/deeper"), NULL);
        event_log_drain(&m->log, m->mon);
        e = only(m, HN_EV_CGROUP_MKDIR);
        assert_int_equal(e->target_owner, HN_EVO_PACT);
        assert_int_equal(e->flags, HN_EVF_CROSS_SLICE);
}

static void manager_writes_are_marked_not_cross(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        struct hn_cgroup_handle h;
        event_log_drain(&m->log, m->mon);
        assert_int_equal(hn_cgroup_create_scope(m->cg->workload, "workload.slice", "mgr", NULL, &h, NULL), 0);
        event_log_drain(&m->log, m->mon);
        const struct hn_event *e = only(m, HN_EV_CGROUP_MKDIR);
        assert_int_equal(e->tgid, getpid());
        assert_int_equal(e->writer_owner, HN_EVO_MANAGER);
        assert_int_equal(e->flags, HN_EVF_MANAGER);
}

static void attach_and_populated_are_reported(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        struct hn_cgroup_handle h;
        assert_int_equal(hn_cgroup_create_scope(m->cg->pact, "pact.slice/infra.slice", "chronyd", NULL, &h, NULL), 0);
        char procs[PATH_MAX + 32];
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", h.path);
        event_log_drain(&m->log, m->mon);
        /* the workload agent moves itself into pact's scope: a cross-slice attach */
        pid_t pid = act(m->workload_exe, "write", procs, "0");
        event_log_drain(&m->log, m->mon);
        const struct hn_event *e = only(m, HN_EV_CGROUP_ATTACH);
        uint64_t id;
        assert_int_equal(hn_cgroup_id(h.path, &id, NULL), 0);
        /* cgroup_attach_task fires after the move: a process moving itself
         * is already in the destination when it is recorded */
        assert_writer_in(e, pid, m->workload_exe, "lattice-agent", id);
        assert_int_equal(e->value, pid);
        assert_int_equal(e->target_owner, HN_EVO_PACT);
        assert_int_equal(e->flags, HN_EVF_CROSS_SLICE);
        assert_true(e->cgroup_id == id);
        /* the scope became populated, then empty when the writer exited: WI5 from the kernel */
        unsigned pop = 0, unpop = 0;
        for (unsigned i = 0; i < m->log.n; i++)
                if (m->log.ev[i].type == HN_EV_CGROUP_POPULATED && m->log.ev[i].cgroup_id == id) {
                        pop += m->log.ev[i].value == 1;
                        unpop += m->log.ev[i].value == 0;
                        assert_int_equal(m->log.ev[i].flags & HN_EVF_CROSS_SLICE, 0);
                }
        assert_int_equal(pop, 1);
        assert_int_equal(unpop, 1);
}

/* cgroup.freeze is attributed in audit mode too, through the freezer's
 * own tracepoints: freeze and thaw, each one record. */
static void freeze_is_attributed(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        struct hn_cgroup_handle h;
        assert_int_equal(hn_cgroup_create_scope(m->cg->pact, "pact.slice/infra.slice", "rasdaemon", NULL, &h, NULL), 0);
        char freeze[PATH_MAX + 32];
        snprintf(freeze, sizeof(freeze), "%s/cgroup.freeze", h.path);
        uint64_t id;
        assert_int_equal(hn_cgroup_id(h.path, &id, NULL), 0);
        for (int frozen = 1; frozen >= 0; frozen--) {
                event_log_drain(&m->log, m->mon);
                pid_t pid = act(m->workload_exe, "write", freeze, frozen ? "1" : "0");
                event_log_drain(&m->log, m->mon);
                const struct hn_event *e = only(m, HN_EV_CGROUP_FREEZE);
                assert_writer(e, pid, m->workload_exe, "lattice-agent");
                assert_int_equal(e->value, (unsigned) frozen);
                assert_true(e->cgroup_id == id);
                assert_int_equal(e->target_owner, HN_EVO_PACT);
                assert_int_equal(e->flags, HN_EVF_CROSS_SLICE);
                assert_string_equal(e->path, path_below_mount(&m->cg->s, h.path));
        }
        /* the owner's freeze is recorded, not as cross-slice */
        event_log_drain(&m->log, m->mon);
        act(m->pact_exe, "write", freeze, "1");
        event_log_drain(&m->log, m->mon);
        assert_int_equal(only(m, HN_EV_CGROUP_FREEZE)->flags, 0);
        act(m->pact_exe, "write", freeze, "0");
}

static void rmdir_cross_slice(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        const char *victim = env_path(m->cg, "workload.slice/alloc-1");
        act(m->workload_exe, "mkdir", victim, NULL);
        event_log_drain(&m->log, m->mon);
        pid_t pid = act(m->pact_exe, "rmdir", victim, NULL);
        event_log_drain(&m->log, m->mon);
        const struct hn_event *e = only(m, HN_EV_CGROUP_RMDIR);
        assert_writer(e, pid, m->pact_exe, "pact-agent");
        assert_int_equal(e->target_owner, HN_EVO_WORKLOAD);
        assert_int_equal(e->writer_owner, HN_EVO_PACT);
        assert_int_equal(e->flags, HN_EVF_CROSS_SLICE);
        assert_false(path_exists(victim));
}

/* Outside both slices nothing is recorded: the filter is in the kernel. */
static void outside_the_slices_is_silent(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        event_log_drain(&m->log, m->mon);
        act(m->workload_exe, "mkdir", env_path(m->cg, "other.slice"), NULL);
        act(m->workload_exe, "mkdir", env_path(m->cg, "pact.slice-evil"), NULL);
        act(m->workload_exe, "rmdir", env_path(m->cg, "other.slice"), NULL);
        event_log_drain(&m->log, m->mon);
        assert_int_equal(m->log.n, 0);
}

/* Runs exe (NULL: the plain helper, no executable identity) doing verb on
 * path: in the cgroup dir (if not NULL) and as uid (if not 0). Returns its
 * pid. */
static pid_t act_exe_as(const char *exe, const char *cgroup_dir, uid_t uid, const char *verb, const char *path) {
        pid_t pid = fork();
        if (pid == 0) {
                char procs[PATH_MAX + 32];
                if (cgroup_dir) {
                        snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup_dir);
                        int r = write_text(procs, "0");
                        if (r < 0) {
                                fprintf(stderr, "moving into %s: %s\n", cgroup_dir, strerror(-r));
                                _exit(120);
                        }
                }
                if (uid && setresuid(uid, uid, uid) < 0)
                        _exit(121);
                execl(exe ? exe : helper_path(), "hn_test_helper", verb, path, (char *) NULL);
                _exit(127);
        }
        int status;
        assert_int_equal(wait_pid_ms(pid, 10000, &status), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        return pid;
}

static pid_t act_as(const char *cgroup_dir, uid_t uid, const char *verb, const char *path) {
        return act_exe_as(NULL, cgroup_dir, uid, verb, path);
}

/* The other two identity kinds: a cgroup subtree the writer runs in (the
 * nearest configured ancestor wins) and a uid. */
static void identities_by_cgroup_and_uid(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        struct hn_error err;
        /* copies: env_path's buffers are reused */
        char agents[PATH_MAX + 128], pact_agent[PATH_MAX + 128], deeper[PATH_MAX + 128], lent[PATH_MAX + 128];
        snprintf(agents, sizeof(agents), "%s", env_path(m->cg, "agents"));
        snprintf(pact_agent, sizeof(pact_agent), "%s", env_path(m->cg, "agents/pact-agent"));
        snprintf(deeper, sizeof(deeper), "%s", env_path(m->cg, "agents/pact-agent/worker"));
        snprintf(lent, sizeof(lent), "%s", env_path(m->cg, "pact.slice/infra.slice/lent"));
        assert_int_equal(mkdir(agents, 0755), 0);
        assert_int_equal(mkdir(pact_agent, 0755), 0);
        assert_int_equal(mkdir(deeper, 0755), 0);
        assert_int_equal(hn_monitor_add_identity_cgroup(m->mon, HN_OWNER_WORKLOAD, agents, &err), 0);
        assert_int_equal(hn_monitor_add_identity_cgroup(m->mon, HN_OWNER_PACT, pact_agent, &err), 0);
        event_log_drain(&m->log, m->mon);
        const char *target = env_path(m->cg, "workload.slice/from-pact-agent");
        pid_t pid = act_as(deeper, 0, "mkdir", target);
        event_log_drain(&m->log, m->mon);
        const struct hn_event *e = only(m, HN_EV_CGROUP_MKDIR);
        uint64_t id;
        assert_int_equal(hn_cgroup_id(deeper, &id, NULL), 0);
        assert_writer_in(e, pid, helper_path(), "hn_test_helper", id);
        assert_int_equal(e->writer_owner, HN_EVO_PACT); /* the nearer ancestor, not agents' workload */
        assert_int_equal(e->flags, HN_EVF_CROSS_SLICE);
        /* and in the configured cgroup itself */
        event_log_drain(&m->log, m->mon);
        act_as(pact_agent, 0, "mkdir", env_path(m->cg, "workload.slice/from-pact-agent-2"));
        event_log_drain(&m->log, m->mon);
        assert_int_equal(only(m, HN_EV_CGROUP_MKDIR)->writer_owner, HN_EVO_PACT);
        assert_int_equal(mkdir(lent, 0755), 0);
        assert_int_equal(chown(lent, 4242, 4242), 0);
        char sub[PATH_MAX + 160];
        /* pact's executable is pact only as run by root: run by uid 4242
         * it is nobody, until an identity names that uid */
        snprintf(sub, sizeof(sub), "%s/exe-by-4242", lent);
        assert_int_equal(chmod(m->agents.dir, 0755), 0); /* uid 4242 runs the agent's binary */
        event_log_drain(&m->log, m->mon);
        act_exe_as(m->pact_exe, NULL, 4242, "mkdir", sub);
        event_log_drain(&m->log, m->mon);
        assert_int_equal(only(m, HN_EV_CGROUP_MKDIR)->writer_owner, HN_EVO_NONE);
        assert_int_equal(rmdir(sub), 0);
        struct hn_identity exe_4242[3] = {
                { .owner = HN_OWNER_PACT, .kind = HN_IDENTITY_EXE, .path = m->pact_exe, .uid = 4242 },
                { .owner = HN_OWNER_WORKLOAD, .kind = HN_IDENTITY_CGROUP, .path = agents },
                { .owner = HN_OWNER_PACT, .kind = HN_IDENTITY_CGROUP, .path = pact_agent },
        };
        assert_int_equal(hn_monitor_replace_identities(m->mon, exe_4242, 3, &err), 0);
        event_log_drain(&m->log, m->mon);
        act_exe_as(m->pact_exe, NULL, 4242, "mkdir", sub);
        event_log_drain(&m->log, m->mon);
        assert_int_equal(only(m, HN_EV_CGROUP_MKDIR)->writer_owner, HN_EVO_PACT);
        /* a uid: may create below a directory it owns */
        assert_int_equal(hn_monitor_add_identity_uid(m->mon, HN_OWNER_WORKLOAD, 4242, &err), 0);
        snprintf(sub, sizeof(sub), "%s/by-uid", lent);
        event_log_drain(&m->log, m->mon);
        pid = act_as(NULL, 4242, "mkdir", sub);
        event_log_drain(&m->log, m->mon);
        e = only(m, HN_EV_CGROUP_MKDIR);
        assert_int_equal(e->tgid, pid);
        assert_int_equal(e->uid, 4242);
        assert_int_equal(e->writer_owner, HN_EVO_WORKLOAD);
        assert_int_equal(e->target_owner, HN_EVO_PACT);
        assert_int_equal(e->flags, HN_EVF_CROSS_SLICE);
        /* replacing the identities drops the ones not named again */
        struct hn_identity only_uid = { .owner = HN_OWNER_PACT, .kind = HN_IDENTITY_UID, .uid = 4242 };
        assert_int_equal(hn_monitor_replace_identities(m->mon, &only_uid, 1, &err), 0);
        event_log_drain(&m->log, m->mon);
        act_as(deeper, 0, "mkdir", env_path(m->cg, "workload.slice/nobody-now"));
        snprintf(sub, sizeof(sub), "%s/pact-now", lent);
        act_as(NULL, 4242, "mkdir", sub);
        event_log_drain(&m->log, m->mon);
        assert_int_equal(m->log.n, 2);
        assert_int_equal(m->log.ev[0].writer_owner, HN_EVO_NONE);
        assert_int_equal(m->log.ev[1].writer_owner, HN_EVO_PACT);
        assert_int_equal(m->log.ev[1].flags, 0);
        /* a bad entry changes nothing */
        struct hn_identity bad[2] = { { .owner = HN_OWNER_WORKLOAD, .kind = HN_IDENTITY_UID, .uid = 7 },
                                      { .owner = HN_OWNER_PACT, .kind = HN_IDENTITY_CGROUP, .path = "/nonexistent" } };
        assert_int_equal(hn_monitor_replace_identities(m->mon, bad, 2, &err), -ENOENT);
        assert_string_equal(err.message, "identity cgroup /nonexistent: No such file or directory");
        event_log_drain(&m->log, m->mon);
        snprintf(sub, sizeof(sub), "%s/still-pact", lent);
        act_as(NULL, 4242, "mkdir", sub);
        event_log_drain(&m->log, m->mon);
        assert_int_equal(only(m, HN_EV_CGROUP_MKDIR)->writer_owner, HN_EVO_PACT);
}

/* Attribution level "tracepoint" (the default without BPF LSM): a control
 * file opened for writing is one record from the open's syscall exit, by
 * name inside its cgroup, and the write happened. cgroup.max.depth stands
 * in for memory.max here: this host has no v2 controllers. */
static void control_write_attributed_by_syscall_exit(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        assert_int_equal(hn_monitor_attribution(m->mon), HN_ATTRIBUTION_TRACEPOINT);
        const char *dir = env_path(m->cg, "pact.slice/infra.slice");
        char file[PATH_MAX + 32], buf[64];
        snprintf(file, sizeof(file), "%s/cgroup.max.depth", dir);
        uint64_t id;
        assert_int_equal(hn_cgroup_id(dir, &id, NULL), 0);
        event_log_drain(&m->log, m->mon);
        pid_t pid = act(m->workload_exe, "write", file, "7");
        event_log_drain(&m->log, m->mon);
        assert_int_equal(m->log.n, 1);
        const struct hn_event *e = only(m, HN_EV_CONTROL_OPEN);
        assert_writer(e, pid, m->workload_exe, "lattice-agent");
        assert_int_equal(e->flags, HN_EVF_CROSS_SLICE | HN_EVF_NAME_ONLY);
        assert_int_equal(e->source, HN_EVS_SYSCALL);
        assert_true(e->cgroup_id == id);
        assert_string_equal(e->path, "cgroup.max.depth");
        assert_int_equal(e->target_owner, HN_EVO_PACT);
        assert_int_equal(e->writer_owner, HN_EVO_WORKLOAD);
        assert_int_equal(read_text(file, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "7\n"); /* audit mode: the write happened */
        /* the owner's write: recorded, not cross-slice */
        event_log_drain(&m->log, m->mon);
        act(m->pact_exe, "write", file, "max");
        event_log_drain(&m->log, m->mon);
        assert_int_equal(only(m, HN_EV_CONTROL_OPEN)->flags, HN_EVF_NAME_ONLY);
        /* reads, and writes outside the slices, are never recorded */
        event_log_drain(&m->log, m->mon);
        assert_int_equal(read_text(file, buf, sizeof(buf)), 0);
        snprintf(file, sizeof(file), "%s/cgroup.max.depth", env_path(m->cg, "other.slice"));
        assert_int_equal(mkdir(env_path(m->cg, "other.slice"), 0755), 0);
        act(m->workload_exe, "write", file, "3");
        act(m->workload_exe, "write", "/dev/null", "x");
        event_log_drain(&m->log, m->mon);
        assert_int_equal(m->log.n, 0);
}

/* cgroup.kill: one record per write however many processes die, from
 * signal_generate in the writer's context: no syscall tracepoint needed. */
static void kill_is_one_record_per_write(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        require_cgroup_kill();
        struct hn_cgroup_handle h;
        assert_int_equal(hn_cgroup_create_scope(m->cg->pact, "pact.slice/infra.slice", "slurmd", NULL, &h, NULL), 0);
        char *argv[] = { (char *) helper_path(), "sleep", NULL };
        pid_t jobs[3];
        for (int i = 0; i < 3; i++)
                assert_int_equal(hn_cgroup_spawn(m->cg->pact, &h, argv, &jobs[i], NULL), 0);
        char kill_file[PATH_MAX + 32];
        snprintf(kill_file, sizeof(kill_file), "%s/cgroup.kill", h.path);
        uint64_t id;
        assert_int_equal(hn_cgroup_id(h.path, &id, NULL), 0);
        event_log_drain(&m->log, m->mon);
        pid_t pid = act(m->workload_exe, "write", kill_file, "1");
        for (int i = 0; i < 3; i++) {
                int status;
                assert_int_equal(wait_pid_ms(jobs[i], 5000, &status), jobs[i]);
                assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        }
        event_log_drain(&m->log, m->mon);
        const struct hn_event *e = only(m, HN_EV_CGROUP_KILL);
        assert_writer(e, pid, m->workload_exe, "lattice-agent");
        assert_int_equal(e->flags, HN_EVF_CROSS_SLICE | HN_EVF_NAME_ONLY);
        assert_int_equal(e->source, HN_EVS_TP_BTF);
        assert_true(e->cgroup_id == id);
        assert_string_equal(e->path, "cgroup.kill");
        assert_int_equal(e->target_owner, HN_EVO_PACT);
        assert_true(e->value == (uint32_t) jobs[0] || e->value == (uint32_t) jobs[1] || e->value == (uint32_t) jobs[2]);
        /* no control-file record besides: the kill record is the act's one */
        for (unsigned i = 0; i < m->log.n; i++)
                assert_int_not_equal(m->log.ev[i].type, HN_EV_CONTROL_OPEN);
        /* an ordinary SIGKILL is not a cgroup.kill (a fresh scope: a
         * process forked into a killed cgroup is killed at birth) */
        pid_t job;
        assert_int_equal(hn_cgroup_create_scope(m->cg->pact, "pact.slice/infra.slice", "munged", NULL, &h, NULL), 0);
        assert_int_equal(hn_cgroup_spawn(m->cg->pact, &h, argv, &job, NULL), 0);
        event_log_drain(&m->log, m->mon);
        assert_int_equal(kill(job, SIGKILL), 0);
        assert_int_equal(wait_pid_ms(job, 5000, NULL), job);
        event_log_drain(&m->log, m->mon);
        assert_true(m->log.n > 0); /* the scope and its parents emptied */
        for (unsigned i = 0; i < m->log.n; i++)
                assert_int_not_equal(m->log.ev[i].type, HN_EV_CGROUP_KILL);
}

/* Level off: no program attributes control-file writes; the fanotify
 * witness sees the write itself and names the writer by its pid (here
 * alive while its record is read). Structural acts are still attributed
 * in the kernel. */
static void attribution_off_witnesses_writes_by_pid(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        struct hn_monitor *off;
        struct hn_monitor_options o = { .cgroup_root = m->cg->s.root, .attribution = HN_ATTRIBUTION_OFF };
        assert_int_equal(hn_monitor_new(&o, &off, NULL), 0);
        assert_int_equal(hn_monitor_attribution(off), HN_ATTRIBUTION_OFF);
        struct hn_error err = { 0 };
        assert_int_equal(hn_monitor_add_identity_exe(off, HN_OWNER_PACT, m->pact_exe, &err), 0);
        assert_int_equal(hn_monitor_start(off, NULL), 0);
        struct event_log log = { 0 };
        event_log_drain(&log, off);
        char file[PATH_MAX + 32];
        snprintf(file, sizeof(file), "%s/cgroup.max.descendants", env_path(m->cg, "workload.slice"));
        char *write[] = { (char *) m->pact_exe, "write", file, "100", NULL };
        pid_t writer;
        assert_int_equal(agent_hold(write, &writer), 0);
        pid_t mkdirer = act(m->pact_exe, "mkdir", env_path(m->cg, "workload.slice/stray"), NULL);
        event_log_drain(&log, off);
        assert_int_equal(log.n, 2);
        const struct hn_event *w = log.ev[0].type == HN_EV_CONTROL_OPEN ? &log.ev[0] : &log.ev[1];
        const struct hn_event *d = w == &log.ev[0] ? &log.ev[1] : &log.ev[0];
        assert_int_equal(d->type, HN_EV_CGROUP_MKDIR);
        assert_int_equal(d->tgid, mkdirer);
        assert_int_equal(w->type, HN_EV_CONTROL_OPEN);
        assert_int_equal(w->source, HN_EVS_FSNOTIFY);
        assert_writer(w, writer, m->pact_exe, "pact-agent");
        assert_int_equal(w->writer_owner, HN_EVO_PACT);
        assert_int_equal(w->target_owner, HN_EVO_WORKLOAD);
        assert_int_equal(w->flags, HN_EVF_CROSS_SLICE | HN_EVF_NAME_ONLY);
        assert_string_equal(w->path, "cgroup.max.descendants");
        uint64_t id;
        assert_int_equal(hn_cgroup_id(env_path(m->cg, "workload.slice"), &id, NULL), 0);
        assert_true(w->cgroup_id == id);
        agent_release(writer);
        hn_monitor_free(off);
        /* lsm without the lsm/ programs is refused, and bad levels too */
        o.attribution = HN_ATTRIBUTION_LSM;
        assert_int_equal(hn_monitor_new(&o, &off, &err), -EOPNOTSUPP);
        assert_string_equal(err.message,
                            "attribution level lsm needs the lsm/ programs (options.lsm), which need BPF LSM");
        o.attribution = (enum hn_attribution) 9;
        assert_int_equal(hn_monitor_new(&o, &off, &err), -EINVAL);
        assert_string_equal(err.message, "invalid attribution level 9");
}

/* kernfs raises modify events itself when it notifies cgroup.events (a
 * scope emptied): the witness takes none of them for a write. The last
 * act must be seen. */
static void kernel_notifications_are_not_writes(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        struct hn_cgroup_handle h;
        assert_int_equal(hn_cgroup_create_scope(m->cg->pact, "pact.slice/infra.slice", "notified", NULL, &h, NULL), 0);
        char *argv[] = { (char *) helper_path(), "sleep", NULL };
        pid_t job;
        assert_int_equal(hn_cgroup_spawn(m->cg->pact, &h, argv, &job, NULL), 0);
        char events[PATH_MAX + 32], buf[256];
        snprintf(events, sizeof(events), "%s/cgroup.events", h.path);
        int fd = open(events, O_RDONLY | O_CLOEXEC); /* held open: its inode stays cached, so kernfs notifies it */
        assert_true(fd >= 0);
        assert_int_equal(read_text(events, buf, sizeof(buf)), 0);
        event_log_drain(&m->log, m->mon);
        kill(job, SIGKILL);
        assert_int_equal(wait_pid_ms(job, 5000, NULL), job);
        assert_true(wait_procs_count(h.path, 0, 5000));
        usleep(100000); /* kernfs notifies from a workqueue */
        event_log_drain(&m->log, m->mon);
        assert_int_equal(read_text(events, buf, sizeof(buf)), 0);
        assert_non_null(strstr(buf, "populated 0"));
        for (unsigned i = 0; i < m->log.n; i++)
                if (m->log.ev[i].source == HN_EVS_FSNOTIFY)
                        fail_msg("a witnessed %s of %s by pid %u", hn_event_type_name(m->log.ev[i].type),
                                 m->log.ev[i].path, m->log.ev[i].tgid);
        close(fd);
        char file[PATH_MAX + 32];
        snprintf(file, sizeof(file), "%s/cgroup.max.depth", h.path);
        char *write[] = { (char *) m->pact_exe, "openexec", file, (char *) m->workload_exe, "fdwrite", "3", "2", NULL };
        pid_t writer;
        assert_int_equal(agent_hold(write, &writer), 0);
        event_log_drain(&m->log, m->mon);
        unsigned witnessed = 0;
        for (unsigned i = 0; i < m->log.n; i++)
                witnessed += m->log.ev[i].source == HN_EVS_FSNOTIFY && m->log.ev[i].tgid == (uint32_t) writer;
        assert_int_equal(witnessed, 1);
        agent_release(writer);
}

/* An executable deeper than the record holds keeps its leaf side, from
 * the kernel's walk (a mkdir) and from the witness's /proc reading (a write
 * through an inherited fd) alike: what is shown is a true suffix of the
 * path, marked cut. (6.1's verifier once pruned the walk's depth check.) */
static void deep_executable_path_keeps_its_leaf_side(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        char deep[PATH_MAX] = "", cmd[PATH_MAX + 256];
        snprintf(deep, sizeof(deep), "%s", m->agents.dir);
        for (int i = 0; i < 20; i++) {
                size_t n = strlen(deep);
                snprintf(deep + n, sizeof(deep) - n, "/component-%02d", i);
                assert_int_equal(mkdir(deep, 0755), 0);
        }
        size_t n = strlen(deep);
        snprintf(deep + n, sizeof(deep) - n, "/deep-agent");
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", helper_path(), deep);
        assert_int_equal(system(cmd), 0);
        assert_true(strlen(deep) > HN_EVENT_EXE_LEN);
        event_log_drain(&m->log, m->mon);
        act(deep, "mkdir", env_path(m->cg, "workload.slice/deep"), NULL);
        char file[PATH_MAX + 32];
        snprintf(file, sizeof(file), "%s/cgroup.max.depth", env_path(m->cg, "workload.slice"));
        char *argv[] = { (char *) m->pact_exe, "openexec", file, deep, "fdwrite", "3", "4", NULL };
        pid_t writer;
        assert_int_equal(agent_hold(argv, &writer), 0);
        event_log_drain(&m->log, m->mon);
        unsigned seen = 0;
        for (unsigned i = 0; i < m->log.n; i++) {
                const struct hn_event *e = &m->log.ev[i];
                if (e->type != HN_EV_CGROUP_MKDIR && e->source != HN_EVS_FSNOTIFY)
                        continue;
                char shown[PATH_MAX];
                assert_int_equal(hn_event_exe_path(e, shown, sizeof(shown), NULL), 0);
                if (strncmp(shown, "…/", strlen("…/")) != 0)
                        fail_msg("%s record: \"%s\" is not marked cut", hn_event_type_name(e->type), shown);
                const char *tail = shown + strlen("…");
                if (strlen(tail) < 40 || strcmp(deep + strlen(deep) - strlen(tail), tail) != 0)
                        fail_msg("%s record: \"%s\" is not the leaf side of %s", hn_event_type_name(e->type), shown,
                                 deep);
                seen++;
        }
        assert_int_equal(seen, 2); /* the kernel's and the witness's */
        agent_release(writer);
        unlink(deep);
        for (int i = 19; i >= 0; i--) {
                *strrchr(deep, '/') = '\0';
                rmdir(deep);
        }
}

/* A tiny ring buffer and nobody reading: the kernel counts what it drops. */
static void losses_are_counted(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        struct hn_monitor *tiny;
        struct hn_monitor_options o = { .cgroup_root = m->cg->s.root, .ringbuf_bytes = 4096 };
        assert_int_equal(hn_monitor_new(&o, &tiny, NULL), 0);
        assert_int_equal(hn_monitor_start(tiny, NULL), 0);
        for (int i = 0; i < 100; i++) {
                char p[64];
                snprintf(p, sizeof(p), "workload.slice/storm-%d", i);
                assert_int_equal(mkdir(env_path(m->cg, p), 0755), 0);
        }
        uint64_t lost[HN_EV_TYPE_MAX];
        assert_int_equal(hn_monitor_losses(tiny, lost, NULL), 0);
        printf("# 100 mkdirs into a 4 KiB ring buffer: %llu lost\n", (unsigned long long) lost[HN_EV_CGROUP_MKDIR]);
        assert_true(lost[HN_EV_CGROUP_MKDIR] >= 80); /* 4 KiB holds at most 14 records */
        assert_true(lost[HN_EV_CGROUP_MKDIR] < 100);
        assert_int_equal(lost[HN_EV_CGROUP_RMDIR], 0);
        hn_monitor_free(tiny);
        struct hn_monitor_options bad = { .ringbuf_bytes = 5000 };
        struct hn_error err = { 0 };
        assert_int_equal(hn_monitor_new(&bad, &tiny, &err), -EINVAL);
        assert_string_equal(err.message, "invalid ring buffer size 5000: a power of two, at least 4096");
}

/* A guard state larger than the kernel's maps hold is refused as the
 * guard's failure (HN_ERR_GUARD_STATE: the daemon then records
 * mount.guard_failed, not a failed reconcile), with the kernel's errno;
 * the next state that fits is written whole. */
static void guard_larger_than_its_maps_refused(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        enum { N = 4097 }; /* held_images holds 4,096 */
        struct hn_guard_file *files = calloc(N, sizeof(*files));
        assert_non_null(files);
        for (size_t i = 0; i < N; i++)
                files[i] = (struct hn_guard_file){ .dev = 7, .ino = 1000 + i };
        struct hn_mount_guard g = { .images = files, .n_images = 1 };
        struct hn_error err = { 0 };
        assert_int_equal(hn_monitor_set_mount_guard(m->mon, &g, &err), 0);
        g.n_images = N;
        assert_int_equal(hn_monitor_set_mount_guard(m->mon, &g, &err), -E2BIG);
        assert_int_equal(err.kind, HN_ERR_GUARD_STATE);
        assert_int_equal(err.sys_errno, E2BIG);
        assert_string_equal(err.message, "the mount guard: Argument list too long");
        g.n_images = 2;
        assert_int_equal(hn_monitor_set_mount_guard(m->mon, &g, &err), 0);
        free(files);
}

/* Every program of a set says what its load cost the kernel's verifier
 * (bpf_prog_info.verified_insns, 5.16+), each within a bound: the
 * writer's identification and the record are global functions, verified
 * once per program. Inlined, as they were, one program took 119,000
 * instructions and a load 750,000 (a daemon start took 13-17 s under
 * TCG); a change that brings that back fails here. */
#define VERIFIED_INSNS_PER_PROGRAM_MAX 40000
/* The compat object's are static functions, verified at each call (5.10
 * takes no pointer into a global one): bounded well inside the kernel's
 * million a program. */
#define VERIFIED_INSNS_PER_PROGRAM_MAX_COMPAT 200000

/* bpf_prog_info.verified_insns: Linux 5.16. No feature probed marks
 * 5.16 itself: bpf_loop (5.17) implies it, so on 5.16 alone a count of 0
 * goes unchecked. */
static bool kernel_reports_verified_insns(void) {
        return kernel_has(HN_FEATURE_LOOP);
}

static void programs_within_their_verifier_cost(struct hn_monitor *mon, const char *what) {
        struct hn_prog_stat stats[128];
        size_t n = 0;
        assert_int_equal(hn_monitor_prog_stats(mon, stats, 128, &n, NULL), 0);
        assert_true(n > 0 && n <= 128);
        unsigned long long total = 0;
        const struct hn_prog_stat *most = &stats[0];
        unsigned bound = hn_monitor_bpf_object(mon) == HN_BPF_OBJECT_COMPAT ? VERIFIED_INSNS_PER_PROGRAM_MAX_COMPAT
                                                                            : VERIFIED_INSNS_PER_PROGRAM_MAX;
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(strncmp(stats[i].name, "hn_", 3), 0);
                if (stats[i].verified_insns > bound)
                        fail_msg("%s: %s took %u instructions to verify (bound %u)", what, stats[i].name,
                                 stats[i].verified_insns, bound);
                if (kernel_reports_verified_insns())
                        assert_true(stats[i].verified_insns > 0);
                total += stats[i].verified_insns;
                if (stats[i].verified_insns > most->verified_insns)
                        most = &stats[i];
        }
        printf("# %s (%s object): %zu programs, %llu instructions verified, most %u (%s)\n", what,
               hn_bpf_object_name(hn_monitor_bpf_object(mon)), n, total, most->verified_insns, most->name);
}

static void load_cost_is_bounded(void **state) {
        struct mon_env *m = *state;
        REQUIRE_MONITOR(m);
        programs_within_their_verifier_cost(m->mon, "tracepoint level");
        struct hn_bpf_lsm_probe lsm;
        hn_probe_bpf_lsm(NULL, &lsm);
        if (!lsm.available) {
                printf("# no BPF LSM here: the lsm level is bounded in the VM suite\n");
                return;
        }
        struct hn_monitor *with_lsm = NULL;
        struct hn_monitor_options o = { .cgroup_root = m->cg->s.root, .lsm = true, .attribution = HN_ATTRIBUTION_LSM,
                                        .bpf_object = hn_monitor_bpf_object(m->mon) };
        struct hn_error err = { 0 };
        if (hn_monitor_new(&o, &with_lsm, &err) < 0)
                fail_msg("lsm level: %s", err.message);
        programs_within_their_verifier_cost(with_lsm, "lsm level");
        hn_monitor_free(with_lsm);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(workload_mkdir_in_pact_is_cross_slice, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(owner_mkdir_is_not_cross_slice, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(manager_writes_are_marked_not_cross, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(attach_and_populated_are_reported, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(freeze_is_attributed, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(rmdir_cross_slice, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(outside_the_slices_is_silent, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(identities_by_cgroup_and_uid, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(control_write_attributed_by_syscall_exit, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(kill_is_one_record_per_write, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(attribution_off_witnesses_writes_by_pid, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(kernel_notifications_are_not_writes, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(deep_executable_path_keeps_its_leaf_side, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(losses_are_counted, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(guard_larger_than_its_maps_refused, mon_setup, mon_teardown),
                cmocka_unit_test_setup_teardown(load_cost_is_bounded, mon_setup, mon_teardown),
                /* the compat object, where its code differs: the task (fds,
                 * leader, registers), per-task maps, loops */
                cmocka_unit_test_setup_teardown(workload_mkdir_in_pact_is_cross_slice, mon_setup_compat, mon_teardown),
                cmocka_unit_test_setup_teardown(attach_and_populated_are_reported, mon_setup_compat, mon_teardown),
                cmocka_unit_test_setup_teardown(identities_by_cgroup_and_uid, mon_setup_compat, mon_teardown),
                cmocka_unit_test_setup_teardown(control_write_attributed_by_syscall_exit, mon_setup_compat,
                                                mon_teardown),
                cmocka_unit_test_setup_teardown(kill_is_one_record_per_write, mon_setup_compat, mon_teardown),
                cmocka_unit_test_setup_teardown(deep_executable_path_keeps_its_leaf_side, mon_setup_compat,
                                                mon_teardown),
                cmocka_unit_test_setup_teardown(load_cost_is_bounded, mon_setup_compat, mon_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("monitor", tests, NULL, NULL);
}
