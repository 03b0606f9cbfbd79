/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager construction and the slice layout, on the real cgroup2 mount. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"

static const char *const layout[] = { "pact.slice",         "pact.slice/infra.slice", "pact.slice/network.slice",
                                      "pact.slice/gpu.slice", "pact.slice/audit.slice", "workload.slice" };

static void hierarchy_created_with_every_slice(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        for (size_t i = 0; i < 6; i++) {
                struct stat st;
                assert_int_equal(stat(env_path(e, layout[i]), &st), 0);
                assert_true(S_ISDIR(st.st_mode));
                /* a real cgroup: the kernel populated its control files */
                char p[PATH_MAX + 64];
                snprintf(p, sizeof(p), "%s/cgroup.procs", env_path(e, layout[i]));
                assert_true(path_exists(p));
        }
}

static void hierarchy_twice_is_idempotent(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        /* a scope created in between must survive a second call */
        struct hn_cgroup_handle h;
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "keep", NULL, &h, NULL), 0);
        unsigned enabled = 0xff;
        e->log.n = 0;
        assert_int_equal(hn_cgroup_create_hierarchy(e->pact, &enabled, NULL), 0);
        assert_int_equal(hn_cgroup_create_hierarchy(e->workload, &enabled, NULL), 0);
        assert_true(path_exists(h.path));
        assert_int_equal(audit_find(&e->log, "cgroup.create", -1), -1); /* nothing new was made */
        assert_int_equal(enabled, e->enabled);
}

static void hierarchy_in_fresh_root_audits_each_slice(void **state) {
        (void) state;
        require_root_cgroup2();
        struct scratch s;
        struct hn_cgroup_manager *m = NULL;
        struct audit_log log = { 0 };
        assert_int_equal(scratch_new(&s), 0);
        assert_int_equal(hn_cgroup_manager_new(s.root, HN_OWNER_PACT, &m, NULL), 0);
        hn_cgroup_manager_set_audit(m, audit_record, &log);
        assert_int_equal(hn_cgroup_create_hierarchy(m, NULL, NULL), 0);
        assert_int_equal(log.n, 6);
        for (unsigned i = 0; i < 6; i++) {
                char want[PATH_MAX + 64];
                snprintf(want, sizeof(want), "%s/%s", s.root, layout[i]);
                assert_string_equal(log.e[i].action, "cgroup.create");
                assert_string_equal(log.e[i].path, want);
                assert_int_equal(log.e[i].caller, HN_OWNER_PACT);
                assert_int_equal(log.e[i].target_owner, i < 5 ? HN_OWNER_PACT : HN_OWNER_WORKLOAD);
        }
        hn_cgroup_manager_free(m);
        scratch_remove(&s);
        assert_false(path_exists(s.root));
}

/* What the call reports is what the kernel shows in subtree_control. */
static void enabled_controllers_match_the_kernel(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        char buf[256], p[PATH_MAX + 64];
        snprintf(p, sizeof(p), "%s/cgroup.subtree_control", env_path(e, "workload.slice"));
        assert_int_equal(read_text(p, buf, sizeof(buf)), 0);
        const char *names[] = { "cpu", "io", "memory", "pids" };
        for (unsigned i = 0; i < 4; i++) {
                bool in_file = false;
                char copy[256];
                snprintf(copy, sizeof(copy), "%s", buf);
                for (char *t = strtok(copy, " \n"); t; t = strtok(NULL, " \n"))
                        in_file |= strcmp(t, names[i]) == 0;
                assert_int_equal(in_file, !!(e->enabled & (1u << i)));
        }
        char offered[256];
        snprintf(p, sizeof(p), "%s/cgroup.controllers", e->s.root);
        read_text(p, offered, sizeof(offered));
        printf("# controllers offered to the scratch root: \"%s\"; enabled at every level: 0x%x\n", offered,
               e->enabled);
}

static void manager_finds_the_cgroup2_mount(void **state) {
        (void) state;
        require_root_cgroup2();
        struct hn_cgroup_manager *m = NULL;
        struct hn_error err = { 0 };
        assert_int_equal(hn_cgroup_manager_new(NULL, HN_OWNER_NONE, &m, &err), 0);
        struct scratch s;
        assert_int_equal(scratch_new(&s), 0);
        assert_string_equal(hn_cgroup_manager_root(m), s.mount);
        scratch_remove(&s);
        hn_cgroup_manager_free(m);
}

static void manager_refuses_bad_roots(void **state) {
        (void) state;
        struct hn_cgroup_manager *m = (void *) 0x1;
        struct hn_error err = { 0 };
        assert_int_equal(hn_cgroup_manager_new("/tmp", HN_OWNER_PACT, &m, &err), -ENOTDIR);
        assert_int_equal(err.kind, HN_ERR_INVALID_ARGUMENT);
        assert_string_equal(err.message, "invalid cgroup root /tmp: not inside a cgroup2 mount");
        assert_int_equal(hn_cgroup_manager_new("/nonexistent/cg", HN_OWNER_PACT, &m, &err), -ENOENT);
        assert_int_equal(err.kind, HN_ERR_NOT_FOUND);
        assert_string_equal(err.message, "cgroup path not found: /nonexistent/cg: No such file or directory");
        assert_int_equal(hn_cgroup_manager_new("relative", HN_OWNER_PACT, &m, &err), -EINVAL);
        assert_int_equal(hn_cgroup_manager_new(NULL, (enum hn_slice_owner) 7, &m, &err), -EINVAL);
        assert_ptr_equal(m, (void *) 0x1); /* outputs untouched on failure */
}

static void options_validated(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_options o;
        struct hn_error err = { 0 };
        hn_cgroup_options_default(&o);
        assert_int_equal(o.kill_timeout_ms, 10000);
        o.kill_timeout_ms = 0;
        assert_int_equal(hn_cgroup_manager_set_options(e->pact, &o, &err), -EINVAL);
        assert_string_equal(err.message, "invalid kill timeout 0 ms: must be 1..3600000");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(hierarchy_created_with_every_slice, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(hierarchy_twice_is_idempotent, env_setup, env_teardown),
                cmocka_unit_test(hierarchy_in_fresh_root_audits_each_slice),
                cmocka_unit_test_setup_teardown(enabled_controllers_match_the_kernel, env_setup, env_teardown),
                cmocka_unit_test(manager_finds_the_cgroup2_mount),
                cmocka_unit_test(manager_refuses_bad_roots),
                cmocka_unit_test_setup_teardown(options_validated, env_setup, env_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("cgroup_hierarchy", tests, NULL, NULL);
}
