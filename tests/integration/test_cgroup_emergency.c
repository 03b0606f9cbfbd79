/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RI3: pact may kill or freeze in workload.slice only in a declared
 * emergency, and the record is delivered before the action. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

static pid_t start_job(struct env *e, struct hn_cgroup_handle *h) {
        struct hn_error err = { 0 };
        pid_t pid;
        char *argv[] = { (char *) helper_path(), "sleep", NULL };
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "job", NULL, h, &err), 0);
        assert_int_equal(hn_cgroup_spawn(e->workload, h, argv, &pid, &err), 0);
        return pid;
}

static void pact_kill_refused_without_emergency(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        pid_t pid = start_job(e, &h);
        e->log.n = 0;
        assert_int_equal(hn_cgroup_destroy_scope(e->pact, &h, &err), -EPERM);
        assert_int_equal(err.kind, HN_ERR_PERMISSION_DENIED);
        char want[PATH_MAX + 64];
        snprintf(want, sizeof(want), "permission denied: %s owned by workload", h.path);
        assert_string_equal(err.message, want);
        assert_int_equal(kill(pid, 0), 0);
        assert_true(path_exists(h.path));
        assert_int_equal(e->log.n, 1);
        assert_string_equal(e->log.e[0].action, "cgroup.destroy");
        assert_int_equal(e->log.e[0].outcome, HN_AUDIT_REFUSED);
        assert_false(e->log.e[0].emergency);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

static void emergency_kill_audited_before_action(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        pid_t pid = start_job(e, &h);
        assert_int_equal(hn_emergency_begin(e->emergency, "operator:alice", "job 42 wedged the GPU", 300, &err), 0);
        e->log.n = 0;
        assert_int_equal(hn_cgroup_destroy_scope(e->pact, &h, &err), 0);
        int status;
        assert_int_equal(wait_pid_ms(pid, 10000, &status), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_false(path_exists(h.path));

        int intent = audit_find(&e->log, "emergency.kill", HN_AUDIT_INTENT);
        int done = audit_find(&e->log, "cgroup.destroy", HN_AUDIT_DONE);
        assert_true(intent >= 0 && done >= 0);
        assert_true(intent < done);
        const struct audit_entry *r = &e->log.e[intent];
        /* when the record was delivered, nothing had been done yet */
        assert_true(r->path_existed);
        assert_int_equal(r->procs_seen, 1);
        assert_string_equal(r->path, h.path);
        assert_string_equal(r->actor, "operator:alice");
        assert_int_equal(r->caller, HN_OWNER_PACT);
        assert_int_equal(r->target_owner, HN_OWNER_WORKLOAD);
        assert_true(r->emergency);
        assert_true(e->log.e[done].emergency);
        assert_true(r->realtime_ns <= e->log.e[done].realtime_ns);
}

static void emergency_freeze_audited_before_action(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        char p[PATH_MAX + 32], buf[128];
        pid_t pid = start_job(e, &h);
        assert_int_equal(hn_emergency_begin(e->emergency, "operator:bob", "hung IO", 300, &err), 0);
        e->log.n = 0;
        assert_int_equal(hn_cgroup_freeze_scope(e->pact, &h, true, &err), 0);
        snprintf(p, sizeof(p), "%s/cgroup.events", h.path);
        read_text(p, buf, sizeof(buf));
        assert_non_null(strstr(buf, "frozen 1"));
        int intent = audit_find(&e->log, "emergency.freeze", HN_AUDIT_INTENT);
        int done = audit_find(&e->log, "cgroup.freeze", HN_AUDIT_DONE);
        assert_true(intent >= 0 && intent < done);
        assert_string_equal(e->log.e[intent].actor, "operator:bob");
        assert_int_equal(hn_cgroup_freeze_scope(e->pact, &h, false, &err), 0);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

/* The emergency opens kill and freeze, never create or placement. */
static void emergency_does_not_open_writes(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h, x;
        struct hn_error err = { 0 };
        pid_t pid = start_job(e, &h);
        assert_int_equal(hn_emergency_begin(e->emergency, "op", "r", 300, &err), 0);
        assert_int_equal(hn_cgroup_create_scope(e->pact, "workload.slice", "x", NULL, &x, &err), -EPERM);
        assert_int_equal(hn_cgroup_attach_pid(e->pact, &h, getpid(), &err), -EPERM);
        /* and the service identity (no slice) is not pact */
        assert_int_equal(hn_cgroup_destroy_scope(e->service, &h, &err), -EPERM);
        assert_int_equal(kill(pid, 0), 0);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

static void ended_or_expired_emergency_closes_the_door(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        pid_t pid = start_job(e, &h);
        assert_int_equal(hn_emergency_begin(e->emergency, "op", "r", 300, &err), 0);
        assert_int_equal(hn_emergency_end(e->emergency, "op", &err), 0);
        assert_int_equal(hn_cgroup_destroy_scope(e->pact, &h, &err), -EPERM);
        assert_int_equal(hn_emergency_begin(e->emergency, "op", "short", 1, &err), 0);
        sleep(2);
        e->log.n = 0;
        assert_int_equal(hn_cgroup_destroy_scope(e->pact, &h, &err), -EPERM);
        int end = audit_find(&e->log, "emergency.end", HN_AUDIT_DONE);
        assert_true(end >= 0);
        assert_string_equal(e->log.e[end].detail, "expired");
        assert_int_equal(kill(pid, 0), 0);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(pact_kill_refused_without_emergency, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(emergency_kill_audited_before_action, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(emergency_freeze_audited_before_action, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(emergency_does_not_open_writes, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(ended_or_expired_emergency_closes_the_door, env_setup, env_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("cgroup_emergency", tests, NULL, NULL);
}
