/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Enforce mode (BPF LSM): a cross-slice write fails with EPERM in the
 * writer, the cgroup is unchanged, and exactly one "denied" record says who
 * tried what. Where the kernel has no BPF LSM these SKIP with the probe's
 * reason; the VM suite (Debian 6.1 and 6.12, lsm=...,bpf) runs them. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hpcnode/monitor.h>
#include <hpcnode/probe.h>

#include "fixture.h"

struct enf {
        struct env *cg;
        struct hn_monitor *mon;
        struct agents agents;
        const char *pact_exe, *workload_exe;
        struct event_log log;
        char skip[600];
};

static int enf_setup(void **state) {
        struct enf *m = calloc(1, sizeof(*m));
        *state = m;
        if (env_setup((void **) &m->cg) < 0)
                return -1;
        if (geteuid() != 0)
                return 0;
        if (kernel_refusal()[0]) {
                snprintf(m->skip, sizeof(m->skip), "hpcnoded refuses this kernel: %s", kernel_refusal());
                return 0;
        }
        struct hn_bpf_lsm_probe p;
        hn_probe_bpf_lsm(NULL, &p);
        if (!p.available) {
                snprintf(m->skip, sizeof(m->skip), "no BPF LSM here (%s); the VM suite runs this", p.reason);
                return 0;
        }
        if (agents_make(&m->agents) < 0)
                return -1;
        m->pact_exe = m->agents.pact_exe;
        m->workload_exe = m->agents.workload_exe;
        struct hn_monitor_options o = { .cgroup_root = m->cg->s.root, .lsm = true, .enforce = true };
        struct hn_error err;
        if (hn_monitor_new(&o, &m->mon, &err) < 0 ||
            hn_monitor_add_identity_exe(m->mon, HN_OWNER_PACT, m->pact_exe, &err) < 0 ||
            hn_monitor_add_identity_exe(m->mon, HN_OWNER_WORKLOAD, m->workload_exe, &err) < 0 ||
            hn_monitor_start(m->mon, &err) < 0) {
                print_message("monitor: %s\n", err.message);
                return -1;
        }
        return 0;
}

static int enf_teardown(void **state) {
        struct enf *m = *state;
        hn_monitor_free(m->mon); /* detach first: teardown's own writes are the manager's anyway */
        void *cg = m->cg;
        env_teardown(&cg);
        agents_remove(&m->agents);
        free(m);
        return 0;
}

#define REQUIRE_LSM(m)                                                                                                 \
        do {                                                                                                           \
                require_root_cgroup2();                                                                                \
                if ((m)->skip[0])                                                                                      \
                        SKIP_BECAUSE("%s", (m)->skip);                                                                 \
        } while (0)

static const struct hn_event *only_denied(struct enf *m, unsigned type) {
        const struct hn_event *found = NULL;
        unsigned count = 0;
        for (unsigned i = 0; i < m->log.n; i++)
                if (m->log.ev[i].flags & HN_EVF_DENIED) {
                        found = &m->log.ev[i];
                        count++;
                }
        if (count != 1)
                fail_msg("%u denied records, want exactly 1", count);
        assert_int_equal(found->type, type);
        assert_int_equal(found->flags & (HN_EVF_CROSS_SLICE | HN_EVF_NAME_ONLY),
                         HN_EVF_CROSS_SLICE | HN_EVF_NAME_ONLY);
        assert_int_equal(found->source, HN_EVS_LSM);
        return found;
}

static void cross_slice_mkdir_denied(void **state) {
        struct enf *m = *state;
        REQUIRE_LSM(m);
        const char *target = env_path(m->cg, "pact.slice/infra.slice/intruder");
        event_log_drain(&m->log, m->mon);
        pid_t pid;
        assert_int_equal(agent_run(m->workload_exe, "mkdir", target, NULL, &pid), EPERM);
        assert_false(path_exists(target));
        event_log_drain(&m->log, m->mon);
        const struct hn_event *e = only_denied(m, HN_EV_CGROUP_MKDIR);
        uint64_t parent;
        assert_int_equal(hn_cgroup_id(env_path(m->cg, "pact.slice/infra.slice"), &parent, NULL), 0);
        assert_true(e->cgroup_id == parent);
        assert_string_equal(e->path, "intruder");
        assert_int_equal(e->tgid, pid);
        assert_int_equal(e->target_owner, HN_EVO_PACT);
        assert_int_equal(e->writer_owner, HN_EVO_WORKLOAD);
        assert_string_equal(e->comm, "lattice-agent");
        char resolved[PATH_MAX];
        char mount[PATH_MAX];
        assert_int_equal(hn_cgroup2_find_mount(mount, sizeof(mount), NULL), 0);
        int mount_fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(mount_fd >= 0);
        assert_int_equal(hn_cgroup_path_by_id(mount_fd, e->cgroup_id, resolved, sizeof(resolved), NULL), 0);
        assert_string_equal(resolved, env_path(m->cg, "pact.slice/infra.slice"));
        /* a path that does not fit is refused whole, the output untouched */
        struct hn_error err = { 0 };
        char small[8] = "keep";
        assert_int_equal(hn_cgroup_path_by_id(mount_fd, e->cgroup_id, small, sizeof(small), &err), -ENAMETOOLONG);
        assert_string_equal(small, "keep");
        assert_non_null(strstr(err.message, "does not fit in 8 bytes"));
        close(mount_fd);
        /* the owner may: allowed, recorded by the tracepoint, not denied */
        assert_int_equal(agent_run(m->pact_exe, "mkdir", target, NULL, NULL), 0);
        assert_true(path_exists(target));
        event_log_drain(&m->log, m->mon);
        for (unsigned i = 0; i < m->log.n; i++)
                assert_int_equal(m->log.ev[i].flags & HN_EVF_DENIED, 0);
        /* and rmdir of it by workload is denied too */
        assert_int_equal(agent_run(m->workload_exe, "rmdir", target, NULL, NULL), EPERM);
        assert_true(path_exists(target));
        event_log_drain(&m->log, m->mon);
        e = only_denied(m, HN_EV_CGROUP_RMDIR);
        uint64_t id;
        assert_int_equal(hn_cgroup_id(target, &id, NULL), 0);
        assert_true(e->cgroup_id == id);
}

static void cross_slice_control_writes_denied(void **state) {
        struct enf *m = *state;
        REQUIRE_LSM(m);
        struct hn_cgroup_handle h;
        assert_int_equal(hn_cgroup_create_scope(m->cg->pact, "pact.slice/infra.slice", "dbus", NULL, &h, NULL), 0);
        char *argv[] = { (char *) helper_path(), "sleep", NULL };
        pid_t job;
        assert_int_equal(hn_cgroup_spawn(m->cg->pact, &h, argv, &job, NULL), 0);
        const char *files[] = { "cgroup.procs", "cgroup.kill", "memory.max", "cgroup.freeze" };
        const char *values[] = { "0", "1", "1", "1" };
        for (int i = 0; i < 4; i++) {
                char p[PATH_MAX + 32];
                snprintf(p, sizeof(p), "%s/%s", h.path, files[i]);
                if (!path_exists(p))
                        continue; /* memory.max needs the memory controller: the VM has it */
                event_log_drain(&m->log, m->mon);
                assert_int_equal(agent_run(m->workload_exe, "write", p, values[i], NULL), EPERM);
                event_log_drain(&m->log, m->mon);
                const struct hn_event *e = only_denied(m, HN_EV_CONTROL_OPEN);
                assert_string_equal(e->path, files[i]);
                uint64_t id;
                assert_int_equal(hn_cgroup_id(h.path, &id, NULL), 0);
                assert_true(e->cgroup_id == id);
        }
        /* nothing happened: the job lives, unfrozen, alone in its scope */
        assert_int_equal(kill(job, 0), 0);
        assert_int_equal(procs_count(h.path), 1);
        /* the owner's own write passes, and is recorded (attribution level
         * lsm), not denied */
        assert_int_equal(hn_monitor_attribution(m->mon), HN_ATTRIBUTION_LSM);
        char p[PATH_MAX + 32];
        snprintf(p, sizeof(p), "%s/memory.max", h.path);
        if (path_exists(p)) {
                event_log_drain(&m->log, m->mon);
                assert_int_equal(agent_run(m->pact_exe, "write", p, "max", NULL), 0);
                event_log_drain(&m->log, m->mon);
                assert_int_equal(m->log.n, 1);
                assert_int_equal(m->log.ev[0].type, HN_EV_CONTROL_OPEN);
                assert_int_equal(m->log.ev[0].flags, HN_EVF_NAME_ONLY);
                assert_int_equal(m->log.ev[0].source, HN_EVS_LSM);
                assert_string_equal(m->log.ev[0].path, "memory.max");
        }
        kill(job, SIGKILL);
        wait_pid_ms(job, 5000, NULL);
}

/* RI3: pact may kill in workload.slice only during an emergency. */
static void emergency_opens_kill_for_pact(void **state) {
        struct enf *m = *state;
        REQUIRE_LSM(m);
        require_cgroup_kill();
        struct hn_cgroup_handle h;
        assert_int_equal(hn_cgroup_create_scope(m->cg->workload, "workload.slice", "job", NULL, &h, NULL), 0);
        char *argv[] = { (char *) helper_path(), "sleep", NULL };
        pid_t job;
        assert_int_equal(hn_cgroup_spawn(m->cg->workload, &h, argv, &job, NULL), 0);
        char p[PATH_MAX + 32];
        snprintf(p, sizeof(p), "%s/cgroup.kill", h.path);
        assert_int_equal(agent_run(m->pact_exe, "write", p, "1", NULL), EPERM);
        assert_int_equal(kill(job, 0), 0);
        assert_int_equal(hn_monitor_set_emergency(m->mon, (uint64_t) time(NULL) + 600, NULL), 0);
        event_log_drain(&m->log, m->mon);
        assert_int_equal(agent_run(m->pact_exe, "write", p, "1", NULL), 0);
        int status;
        assert_int_equal(wait_pid_ms(job, 5000, &status), job);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        event_log_drain(&m->log, m->mon);
        /* one record, the kill's: the allowed open of cgroup.kill is not recorded again */
        unsigned kills = 0;
        for (unsigned i = 0; i < m->log.n; i++) {
                assert_int_not_equal(m->log.ev[i].type, HN_EV_CONTROL_OPEN);
                if (m->log.ev[i].type == HN_EV_CGROUP_KILL) {
                        assert_int_equal(m->log.ev[i].flags,
                                         HN_EVF_EMERGENCY | HN_EVF_CROSS_SLICE | HN_EVF_NAME_ONLY);
                        assert_int_equal(m->log.ev[i].value, job);
                        assert_int_equal(m->log.ev[i].writer_owner, HN_EVO_PACT);
                        kills++;
                }
        }
        assert_int_equal(kills, 1);
        /* the emergency opens kill and freeze, not placement */
        snprintf(p, sizeof(p), "%s/cgroup.procs", h.path);
        assert_int_equal(agent_run(m->pact_exe, "write", p, "0", NULL), EPERM);
        assert_int_equal(hn_monitor_set_emergency(m->mon, 0, NULL), 0);
}

/* Reads are never recorded, never refused (RI6), nor is a write outside
 * cgroupfs. The last act must be seen: otherwise a pipeline that records
 * nothing at all would pass. */
static void reads_pass_silently(void **state) {
        struct enf *m = *state;
        REQUIRE_LSM(m);
        event_log_drain(&m->log, m->mon);
        char p[PATH_MAX + 32], buf[256];
        snprintf(p, sizeof(p), "%s/cgroup.procs", env_path(m->cg, "pact.slice/infra.slice"));
        assert_int_equal(read_text(p, buf, sizeof(buf)), 0);
        snprintf(p, sizeof(p), "%s/memory.max", env_path(m->cg, "pact.slice/infra.slice"));
        if (path_exists(p))
                assert_int_equal(read_text(p, buf, sizeof(buf)), 0);
        assert_int_equal(agent_run(m->workload_exe, "write", "/dev/null", "x", NULL), 0);
        event_log_drain(&m->log, m->mon);
        assert_int_equal(m->log.n, 0);
        snprintf(p, sizeof(p), "%s/cgroup.max.depth", env_path(m->cg, "pact.slice/infra.slice"));
        assert_int_equal(agent_run(m->workload_exe, "write", p, "3", NULL), EPERM);
        event_log_drain(&m->log, m->mon);
        assert_int_equal(only_denied(m, HN_EV_CONTROL_OPEN)->tgid > 0, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(cross_slice_mkdir_denied, enf_setup, enf_teardown),
                cmocka_unit_test_setup_teardown(cross_slice_control_writes_denied, enf_setup, enf_teardown),
                cmocka_unit_test_setup_teardown(emergency_opens_kill_for_pact, enf_setup, enf_teardown),
                cmocka_unit_test_setup_teardown(reads_pass_silently, enf_setup, enf_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("enforce", tests, NULL, NULL);
}
