/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Processes in scopes: placement (RI2), teardown (PS3), metrics (RI6),
 * emptiness (WI5), on the real kernel with real processes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

static void set_opts(struct env *e, bool no_clone_into, bool no_kill) {
        struct hn_cgroup_options o;
        hn_cgroup_options_default(&o); /* kill timeout as shipped: see fixture.c */
        o.disable_clone_into_cgroup = no_clone_into;
        o.disable_cgroup_kill = no_kill;
        assert_int_equal(hn_cgroup_manager_set_options(e->workload, &o, NULL), 0);
        assert_int_equal(hn_cgroup_manager_set_options(e->pact, &o, NULL), 0);
}

static void assert_in_scope(struct env *e, pid_t pid, const char *scope_abs) {
        char cg[PATH_MAX];
        assert_int_equal(proc_cgroup_path(pid, cg, sizeof(cg)), 0);
        assert_string_equal(cg, path_below_mount(&e->s, scope_abs));
}

static void attach_moves_a_live_process(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "attach", NULL, &h, &err), 0);
        pid_t pid = fork_sleeper();
        assert_true(pid > 0);
        assert_int_equal(hn_cgroup_attach_pid(e->workload, &h, pid, &err), 0);
        assert_in_scope(e, pid, h.path);
        assert_int_equal(procs_count(h.path), 1);
        int i = audit_find(&e->log, "cgroup.attach", HN_AUDIT_DONE);
        assert_true(i >= 0);
        char want[32];
        snprintf(want, sizeof(want), "pid %d", (int) pid);
        assert_string_equal(e->log.e[i].detail, want);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

static void attach_refusals(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle w, p;
        struct hn_error err = { 0 };
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "w", NULL, &w, &err), 0);
        assert_int_equal(hn_cgroup_create_scope(e->pact, "pact.slice/infra.slice", "p", NULL, &p, &err), 0);
        pid_t pid = fork_sleeper();
        /* RI1: a workload caller cannot place into pact's scope */
        assert_int_equal(hn_cgroup_attach_pid(e->workload, &p, pid, &err), -EPERM);
        assert_int_equal(err.kind, HN_ERR_PERMISSION_DENIED);
        assert_int_equal(procs_count(p.path), 0);
        assert_int_equal(hn_cgroup_attach_pid(e->workload, &w, 0, &err), -EINVAL);
        assert_int_equal(hn_cgroup_attach_pid(e->workload, &w, -5, &err), -EINVAL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        /* a pid that no longer exists */
        assert_int_equal(hn_cgroup_attach_pid(e->workload, &w, pid, &err), -ESRCH);
        assert_int_equal(err.kind, HN_ERR_NOT_FOUND);
        char want[64];
        snprintf(want, sizeof(want), "process not found: pid %d", (int) pid);
        assert_string_equal(err.message, want);
        /* a scope that no longer exists */
        struct hn_cgroup_handle gone;
        snprintf(gone.path, sizeof(gone.path), "%s", env_path(e, "workload.slice/gone.scope"));
        assert_int_equal(hn_cgroup_attach_pid(e->workload, &gone, getpid(), &err), -ENOENT);
        assert_int_equal(err.kind, HN_ERR_NOT_FOUND);
}

static void spawn_starts_inside_scope(struct env *e, bool fallback) {
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        set_opts(e, fallback, false);
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "spawn", NULL, &h, &err), 0);
        char *argv[] = { (char *) helper_path(), "sleep", NULL };
        pid_t pid = -1;
        assert_int_equal(hn_cgroup_spawn(e->workload, &h, argv, &pid, &err), 0);
        assert_true(pid > 0);
        assert_in_scope(e, pid, h.path);
        /* it really is the helper, running */
        char exe[PATH_MAX], link[64];
        snprintf(link, sizeof(link), "/proc/%d/exe", (int) pid);
        for (int i = 0; i < 200; i++) { /* the exec may still be in flight */
                ssize_t n = readlink(link, exe, sizeof(exe) - 1);
                exe[n > 0 ? n : 0] = '\0';
                if (strstr(exe, "hn_test_helper"))
                        break;
                usleep(5000);
        }
        assert_non_null(strstr(exe, "hn_test_helper"));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

static void spawn_clone_into_cgroup(void **state) {
        require_root_cgroup2();
        spawn_starts_inside_scope(*state, false);
}

static void spawn_fallback_moves_before_exec(void **state) {
        require_root_cgroup2();
        spawn_starts_inside_scope(*state, true);
}

/* The child never runs outside the scope: a program that prints its own
 * cgroup as its first act sees the scope, on both paths. */
static void spawned_program_sees_scope_first(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        for (int fallback = 0; fallback < 2; fallback++) {
                struct hn_cgroup_handle h;
                struct hn_error err = { 0 };
                char name[32], out[PATH_MAX], cmd[PATH_MAX + 64], got[PATH_MAX];
                set_opts(e, fallback, false);
                snprintf(name, sizeof(name), "first-%d", fallback);
                assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", name, NULL, &h, &err), 0);
                snprintf(out, sizeof(out), "/tmp/hn-first.%d.%d", (int) getpid(), fallback);
                snprintf(cmd, sizeof(cmd), "cat /proc/self/cgroup > %s", out);
                char *argv[] = { "sh", "-c", cmd, NULL };
                pid_t pid;
                assert_int_equal(hn_cgroup_spawn(e->workload, &h, argv, &pid, &err), 0);
                int status;
                assert_int_equal(wait_pid_ms(pid, 10000, &status), pid);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                assert_int_equal(read_text(out, got, sizeof(got)), 0);
                unlink(out);
                char want[PATH_MAX + 8];
                snprintf(want, sizeof(want), "0::%s\n", path_below_mount(&e->s, h.path));
                assert_non_null(strstr(got, want));
        }
}

static void spawn_failures_leave_no_process(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        pid_t pid = 12345;
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "fail", NULL, &h, &err), 0);
        char *missing[] = { "hn-no-such-command", NULL };
        assert_int_equal(hn_cgroup_spawn(e->workload, &h, missing, &pid, &err), -ENOENT);
        assert_int_equal(err.kind, HN_ERR_NOT_FOUND);
        assert_string_equal(err.message, "cannot run \"hn-no-such-command\": not found");
        char *empty[] = { "", NULL };
        assert_int_equal(hn_cgroup_spawn(e->workload, &h, empty, &pid, &err), -EINVAL);
        /* exec itself fails: a directory given as the program */
        for (int fallback = 0; fallback < 2; fallback++) {
                set_opts(e, fallback, false);
                e->log.n = 0;
                char *notexec[] = { "/tmp", NULL };
                int r = hn_cgroup_spawn(e->workload, &h, notexec, &pid, &err);
                assert_int_equal(r, -EACCES);
                assert_int_equal(err.kind, HN_ERR_CREATION_FAILED);
                assert_non_null(strstr(err.message, "exec /tmp: Permission denied"));
                assert_int_equal(pid, 12345);
                assert_int_equal(procs_count(h.path), 0);
                assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* reaped already */
                assert_true(audit_find(&e->log, "cgroup.spawn", HN_AUDIT_FAILED) >= 0);
        }
        /* RI1 applies to spawn too */
        struct hn_cgroup_handle p;
        assert_int_equal(hn_cgroup_create_scope(e->pact, "pact.slice/infra.slice", "chronyd", NULL, &p, &err), 0);
        char *argv[] = { "true", NULL };
        assert_int_equal(hn_cgroup_spawn(e->workload, &p, argv, &pid, &err), -EPERM);
        assert_int_equal(procs_count(p.path), 0);
        /* RI5 is the caller's for a failed spawn: destroy leaves nothing */
        assert_int_equal(hn_cgroup_destroy_scope(e->workload, &h, &err), 0);
        assert_false(path_exists(h.path));
}

/* PS3: a tree of processes, and a sub-cgroup with a process of its own, all
 * die by SIGKILL at once and the directory is gone. */
static void destroy_kills_tree(struct env *e, bool no_cgroup_kill) {
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        set_opts(e, false, no_cgroup_kill);
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "tree", NULL, &h, &err), 0);
        char *argv[] = { (char *) helper_path(), "tree", "3", NULL };
        pid_t leader;
        assert_int_equal(hn_cgroup_spawn(e->workload, &h, argv, &leader, &err), 0);
        assert_true(wait_procs_count(h.path, 4, 5000));
        /* a nested cgroup made by the job's agent, with a process in it */
        char sub[PATH_MAX + 16], procs[PATH_MAX + 32], pidtxt[16];
        snprintf(sub, sizeof(sub), "%s/task-1", h.path);
        assert_int_equal(mkdir(sub, 0755), 0);
        pid_t nested = fork_sleeper();
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", sub);
        snprintf(pidtxt, sizeof(pidtxt), "%d", (int) nested);
        assert_int_equal(write_text(procs, pidtxt), 0);

        e->log.n = 0;
        assert_int_equal(hn_cgroup_destroy_scope(e->workload, &h, &err), 0);
        assert_false(path_exists(h.path));
        /* every one of the five died of SIGKILL: no grace period */
        unsigned killed = 0;
        assert_int_equal(wait_children(5, 5000, &killed), 5);
        assert_int_equal(killed, 5);
        int i = audit_find(&e->log, "cgroup.destroy", HN_AUDIT_DONE);
        assert_true(i >= 0);
        assert_string_equal(e->log.e[i].path, h.path);
        prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static void destroy_kills_tree_with_cgroup_kill(void **state) {
        require_root_cgroup2();
        destroy_kills_tree(*state, false);
}

static void destroy_kills_tree_by_freeze_and_signal(void **state) {
        require_root_cgroup2();
        destroy_kills_tree(*state, true);
}

static void destroy_missing_scope_succeeds(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        snprintf(h.path, sizeof(h.path), "%s", env_path(e, "workload.slice/never.scope"));
        assert_int_equal(hn_cgroup_destroy_scope(e->workload, &h, &err), 0);
        snprintf(h.path, sizeof(h.path), "%s", env_path(e, "workload.slice/alloc-9/never.scope"));
        assert_int_equal(hn_cgroup_destroy_scope(e->workload, &h, &err), 0);
        /* twice in a row */
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "twice", NULL, &h, &err), 0);
        assert_int_equal(hn_cgroup_destroy_scope(e->workload, &h, &err), 0);
        assert_int_equal(hn_cgroup_destroy_scope(e->workload, &h, &err), 0);
}

static void destroy_refusals(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        /* slices are not scopes */
        snprintf(h.path, sizeof(h.path), "%s", env_path(e, "workload.slice"));
        assert_int_equal(hn_cgroup_destroy_scope(e->workload, &h, &err), -EINVAL);
        assert_non_null(strstr(err.message, "not a .scope cgroup"));
        assert_true(path_exists(h.path));
        /* RI1: workload cannot tear down pact's scope, even in an emergency */
        struct hn_cgroup_handle p;
        assert_int_equal(hn_cgroup_create_scope(e->pact, "pact.slice/infra.slice", "dbus", NULL, &p, &err), 0);
        pid_t pid;
        char *argv[] = { (char *) helper_path(), "sleep", NULL };
        assert_int_equal(hn_cgroup_spawn(e->pact, &p, argv, &pid, &err), 0);
        assert_int_equal(hn_emergency_begin(e->emergency, "op", "test", 60, NULL), 0);
        assert_int_equal(hn_cgroup_destroy_scope(e->workload, &p, &err), -EPERM);
        assert_int_equal(err.kind, HN_ERR_PERMISSION_DENIED);
        assert_true(path_exists(p.path));
        assert_int_equal(kill(pid, 0), 0);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

static void metrics_of_live_scope(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        struct hn_cgroup_metrics m0, m1;
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "metrics", NULL, &h, &err), 0);
        assert_int_equal(hn_cgroup_read_metrics(e->pact, h.path, &m0, &err), 0); /* RI6: any caller */
        assert_int_equal(m0.nr_processes, 0);
        assert_true(m0.cpu_usage_usec == 0);
        pid_t sleepers[2];
        char *argv[] = { (char *) helper_path(), "sleep", NULL };
        for (int i = 0; i < 2; i++)
                assert_int_equal(hn_cgroup_spawn(e->workload, &h, argv, &sleepers[i], &err), 0);
        char *spin[] = { (char *) helper_path(), "spin", "200", NULL };
        pid_t spinner;
        assert_int_equal(hn_cgroup_spawn(e->workload, &h, spin, &spinner, &err), 0);
        assert_int_equal(hn_cgroup_read_metrics(e->service, h.path, &m1, &err), 0);
        assert_int_equal(m1.nr_processes, 3);
        int status;
        waitpid(spinner, &status, 0);
        assert_true(WIFEXITED(status));
        /* relative path, and the pact manager: reads are never refused */
        assert_int_equal(hn_cgroup_read_metrics(e->pact, "workload.slice/metrics.scope", &m1, &err), 0);
        assert_int_equal(m1.nr_processes, 2);
        assert_true(m1.cpu_usage_usec >= 150000); /* 200 ms of spinning, counted by the kernel */
        if (e->enabled & HN_CONTROLLER_MEMORY) {
                assert_true(m1.has_memory);
                assert_true(m1.memory_current > 0);
                assert_true(m1.memory_max == HN_MEMORY_UNLIMITED);
        } else {
                assert_false(m1.has_memory);
                assert_true(m1.memory_max == HN_MEMORY_UNLIMITED);
        }
        /* a slice, the root itself */
        assert_int_equal(hn_cgroup_read_metrics(e->workload, "pact.slice", &m1, &err), 0);
        assert_int_equal(hn_cgroup_read_metrics(e->workload, "", &m1, &err), 0);
        for (int i = 0; i < 2; i++) {
                kill(sleepers[i], SIGKILL);
                waitpid(sleepers[i], NULL, 0);
        }
        struct hn_cgroup_metrics untouched = { .nr_processes = 77 };
        assert_int_equal(hn_cgroup_read_metrics(e->workload, "workload.slice/none.scope", &untouched, &err), -ENOENT);
        assert_int_equal(err.kind, HN_ERR_NOT_FOUND);
        assert_int_equal(untouched.nr_processes, 77);
        assert_int_equal(hn_cgroup_read_metrics(e->workload, "/etc", &untouched, &err), -EINVAL);
}

static void emptiness_from_the_kernel(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        bool empty = false;
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "empty", NULL, &h, &err), 0);
        assert_int_equal(hn_cgroup_is_scope_empty(e->workload, &h, &empty, &err), 0);
        assert_true(empty);
        char *argv[] = { (char *) helper_path(), "spin", "100", NULL };
        pid_t pid;
        assert_int_equal(hn_cgroup_spawn(e->workload, &h, argv, &pid, &err), 0);
        assert_int_equal(hn_cgroup_is_scope_empty(e->pact, &h, &empty, &err), 0);
        assert_false(empty);
        assert_int_equal(wait_pid_ms(pid, 10000, NULL), pid); /* the job ends by itself */
        assert_int_equal(hn_cgroup_is_scope_empty(e->workload, &h, &empty, &err), 0);
        assert_true(empty);
        struct hn_cgroup_handle gone;
        snprintf(gone.path, sizeof(gone.path), "%s", env_path(e, "workload.slice/gone.scope"));
        assert_int_equal(hn_cgroup_is_scope_empty(e->workload, &gone, &empty, &err), -ENOENT);
}

static void freeze_and_thaw(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        char p[PATH_MAX + 32], buf[128];
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "frz", NULL, &h, &err), 0);
        char *argv[] = { (char *) helper_path(), "sleep", NULL };
        pid_t pid;
        assert_int_equal(hn_cgroup_spawn(e->workload, &h, argv, &pid, &err), 0);
        assert_int_equal(hn_cgroup_freeze_scope(e->workload, &h, true, &err), 0);
        snprintf(p, sizeof(p), "%s/cgroup.events", h.path);
        read_text(p, buf, sizeof(buf));
        assert_non_null(strstr(buf, "frozen 1"));
        assert_int_equal(hn_cgroup_freeze_scope(e->workload, &h, false, &err), 0);
        read_text(p, buf, sizeof(buf));
        assert_non_null(strstr(buf, "frozen 0"));
        /* pact may not freeze workload's scope outside an emergency */
        assert_int_equal(hn_cgroup_freeze_scope(e->pact, &h, true, &err), -EPERM);
        read_text(p, buf, sizeof(buf));
        assert_non_null(strstr(buf, "frozen 0"));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(attach_moves_a_live_process, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(attach_refusals, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(spawn_clone_into_cgroup, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(spawn_fallback_moves_before_exec, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(spawned_program_sees_scope_first, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(spawn_failures_leave_no_process, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(destroy_kills_tree_with_cgroup_kill, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(destroy_kills_tree_by_freeze_and_signal, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(destroy_missing_scope_succeeds, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(destroy_refusals, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(metrics_of_live_scope, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(emptiness_from_the_kernel, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(freeze_and_thaw, env_setup, env_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("cgroup_process", tests, NULL, NULL);
}
