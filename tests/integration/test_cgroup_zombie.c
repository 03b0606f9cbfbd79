/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* F30: a kill that cannot finish. A task frozen by a cgroup-v1 freezer
 * sits in uninterruptible sleep and SIGKILL cannot finish it, which is what
 * a process stuck in D state looks like to cgroup.kill. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

/* The v1 group of the running test: thawed and removed in teardown even
 * when an assertion failed half-way, or the scratch root could never go. */
static char frozen_group[512];

static int zombie_teardown(void **state) {
        char p[600];
        if (frozen_group[0]) {
                snprintf(p, sizeof(p), "%s/freezer.state", frozen_group);
                write_text(p, "THAWED");
        }
        env_teardown(state);
        if (frozen_group[0])
                rmdir(frozen_group);
        frozen_group[0] = '\0';
        return 0;
}

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void unkillable_scope_becomes_zombie(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        char freezer[256], p[600], buf[1024];
        char *group = frozen_group;
        v1_freezer(freezer, sizeof(freezer));
        if (!freezer[0])
                SKIP_BECAUSE("no cgroup-v1 freezer to make an unkillable task");
        snprintf(group, sizeof(frozen_group), "%s/hn-test.%d", freezer, (int) getpid());
        assert_int_equal(mkdir(group, 0755), 0);

        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        struct hn_cgroup_options o;
        hn_cgroup_options_default(&o);
        o.kill_timeout_ms = 500;
        assert_int_equal(hn_cgroup_manager_set_options(e->workload, &o, NULL), 0);
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "stuck", NULL, &h, &err), 0);
        char *argv[] = { (char *) helper_path(), "sleep", NULL };
        pid_t pid;
        assert_int_equal(hn_cgroup_spawn(e->workload, &h, argv, &pid, &err), 0);
        if (freeze_v1_task(group, pid, buf, sizeof(buf)) < 0)
                fail_msg("%s", buf);

        e->log.n = 0;
        double t0 = now_s();
        assert_int_equal(hn_cgroup_destroy_scope(e->workload, &h, &err), -EBUSY);
        double took = now_s() - t0;
        printf("# KillFailed after %.0f ms (bound 500 ms)\n", took * 1000);
        assert_true(took >= 0.45 && took < 2.0);
        assert_int_equal(err.kind, HN_ERR_KILL_FAILED);
        char want[PATH_MAX + 128];
        snprintf(want, sizeof(want),
                 "cgroup.kill failed for %s: 1 process(es) still present after 500 ms (uninterruptible sleep?); "
                 "scope marked zombie",
                 h.path);
        assert_string_equal(err.message, want);
        int i = audit_find(&e->log, "cgroup.kill_failed", HN_AUDIT_FAILED);
        assert_true(i >= 0);
        assert_string_equal(e->log.e[i].path, h.path);
        assert_int_equal(e->log.e[i].sys_errno, EBUSY);

        /* the mark is in the kernel: visible to anyone, and to a restarted manager */
        assert_true(getxattr(h.path, HN_CGROUP_ZOMBIE_XATTR, buf, sizeof(buf)) > 0);
        struct hn_cgroup_manager *restarted = NULL;
        assert_int_equal(hn_cgroup_manager_new(e->s.root, HN_OWNER_WORKLOAD, &restarted, NULL), 0);
        bool zombie = false;
        assert_int_equal(hn_cgroup_is_zombie(restarted, h.path, &zombie, &err), 0);
        assert_true(zombie);
        struct hn_cgroup_handle again = { .path = "untouched" };
        assert_int_equal(hn_cgroup_create_scope(restarted, "workload.slice", "stuck", NULL, &again, &err), -EEXIST);
        assert_non_null(strstr(err.message, "scope is a zombie"));
        assert_string_equal(again.path, "untouched");

        /* once the task can die, a destroy finishes the job and frees the name */
        snprintf(p, sizeof(p), "%s/freezer.state", group);
        assert_int_equal(write_text(p, "THAWED"), 0);
        int status;
        assert_int_equal(wait_pid_ms(pid, 10000, &status), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_int_equal(hn_cgroup_destroy_scope(restarted, &h, &err), 0);
        assert_false(path_exists(h.path));
        assert_int_equal(hn_cgroup_create_scope(restarted, "workload.slice", "stuck", NULL, &again, &err), 0);
        hn_cgroup_manager_free(restarted);
        assert_int_equal(rmdir(group), 0);
        group[0] = '\0';
}

static void live_scope_is_not_zombie(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        bool zombie = true;
        struct hn_error err = { 0 };
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "fine", NULL, &h, &err), 0);
        assert_int_equal(hn_cgroup_is_zombie(e->pact, h.path, &zombie, &err), 0);
        assert_false(zombie);
        assert_int_equal(hn_cgroup_is_zombie(e->pact, "workload.slice/nope.scope", &zombie, &err), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(unkillable_scope_becomes_zombie, env_setup, zombie_teardown),
                cmocka_unit_test_setup_teardown(live_scope_is_not_zombie, env_setup, env_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("cgroup_zombie", tests, NULL, NULL);
}
