/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* create_scope: RI1 refusals, bad input, RI5, on the real cgroup2 mount. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"

/* Number of sub-cgroups under abs: "nothing was created" made checkable. */
static int count_children(const char *abs) {
        DIR *d = opendir(abs);
        int n = 0;
        if (!d)
                return -1;
        struct dirent *de;
        while ((de = readdir(d)))
                n += de->d_type == DT_DIR && de->d_name[0] != '.';
        closedir(d);
        return n;
}

static int total_scopes(const struct env *e) {
        const char *parents[] = { "workload.slice", "pact.slice/infra.slice", "pact.slice/network.slice",
                                  "pact.slice/gpu.slice", "pact.slice/audit.slice" };
        int n = 0;
        for (int i = 0; i < 5; i++)
                n += count_children(env_path(e, parents[i]));
        return n + count_children(e->s.root) + count_children(env_path(e, "pact.slice"));
}

static void scope_created_where_asked(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        assert_int_equal(hn_cgroup_create_scope(e->pact, HN_SLICE_PACT_GPU, "nvidia-persistenced", NULL, &h, &err), 0);
        assert_string_equal(h.path, env_path(e, "pact.slice/gpu.slice/nvidia-persistenced.scope"));
        struct stat st;
        assert_int_equal(stat(h.path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        int i = audit_find(&e->log, "cgroup.create", HN_AUDIT_DONE);
        assert_true(i >= 0);
        assert_string_equal(e->log.e[i].path, h.path);
        assert_int_equal(e->log.e[i].caller, HN_OWNER_PACT);
        assert_int_equal(e->log.e[i].target_owner, HN_OWNER_PACT);

        /* absolute parent inside the root, and a name already suffixed */
        assert_int_equal(hn_cgroup_create_scope(e->workload, env_path(e, "workload.slice"), "alloc-42.scope", NULL,
                                                &h, &err),
                         0);
        assert_string_equal(h.path, env_path(e, "workload.slice/alloc-42.scope"));
        assert_true(path_exists(h.path));
}

/* RI1: every cross-slice create is refused before anything is touched,
 * with the seed's message and a REFUSED audit record. */
static void cross_slice_creates_refused(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        const struct {
                struct hn_cgroup_manager *m;
                const char *parent;
                const char *owner_msg;
        } cases[] = {
                { e->workload, "pact.slice", "owned by pact" },
                { e->workload, "pact.slice/infra.slice", "owned by pact" },
                { e->workload, "pact.slice/gpu.slice", "owned by pact" },
                { e->pact, "workload.slice", "owned by workload" },
                { e->service, "workload.slice", "owned by workload" },
                { e->service, "pact.slice", "owned by pact" },
                { e->pact, "", "is outside pact.slice and workload.slice" },
                { e->workload, "pact.slice-evil", "is outside pact.slice and workload.slice" },
                { e->workload, "workload.slice-extra", "is outside pact.slice and workload.slice" },
        };
        int before = total_scopes(e);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct hn_cgroup_handle h = { .path = "untouched" };
                struct hn_error err = { 0 };
                e->log.n = 0;
                assert_int_equal(hn_cgroup_create_scope(cases[i].m, cases[i].parent, "x", NULL, &h, &err), -EPERM);
                assert_int_equal(err.kind, HN_ERR_PERMISSION_DENIED);
                char want[PATH_MAX + 200];
                snprintf(want, sizeof(want), "permission denied: %s %s", env_path(e, cases[i].parent),
                         cases[i].owner_msg);
                assert_string_equal(err.message, want);
                assert_string_equal(h.path, "untouched");
                assert_int_equal(e->log.n, 1);
                assert_string_equal(e->log.e[0].action, "cgroup.create");
                assert_int_equal(e->log.e[0].outcome, HN_AUDIT_REFUSED);
                assert_int_equal(e->log.e[0].sys_errno, EPERM);
        }
        assert_int_equal(total_scopes(e), before);
}

/* The seed's Display string, with the root it runs under. */
static void permission_message_matches_seed(void **state) {
        (void) state;
        require_root_cgroup2();
        struct hn_cgroup_manager *m = NULL;
        struct hn_error err = { 0 };
        struct hn_cgroup_handle h;
        assert_int_equal(hn_cgroup_manager_new(NULL, HN_OWNER_PACT, &m, NULL), 0);
        /* refused before anything is touched, so safe on the real root */
        assert_int_equal(hn_cgroup_create_scope(m, "workload.slice", "x", NULL, &h, &err), -EPERM);
        char want[PATH_MAX + 64];
        snprintf(want, sizeof(want), "permission denied: %s/workload.slice owned by workload",
                 hn_cgroup_manager_root(m));
        assert_string_equal(err.message, want);
        hn_cgroup_manager_free(m);
}

static void bad_names_refused_nothing_created(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        char longname[251];
        memset(longname, 'n', 250);
        longname[250] = '\0';
        const char *bad[] = { "", "a/b", ".", "..", "x\ny", "x\x01", "job.scope.scope", ".scope", longname, NULL };
        int before = total_scopes(e);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct hn_cgroup_handle h = { .path = "untouched" };
                struct hn_error err = { 0 };
                int r = hn_cgroup_create_scope(e->workload, "workload.slice", bad[i], NULL, &h, &err);
                assert_true(r == -EINVAL || r == -ENAMETOOLONG);
                assert_int_equal(err.kind, HN_ERR_INVALID_ARGUMENT);
                assert_non_null(strstr(err.message, "invalid scope name"));
                assert_string_equal(h.path, "untouched");
        }
        assert_int_equal(total_scopes(e), before);
        /* bad parents and limits too */
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice/../pact.slice", "x", NULL, &h, &err),
                         -EINVAL);
        assert_int_equal(hn_cgroup_create_scope(e->workload, "/etc", "x", NULL, &h, &err), -EINVAL);
        assert_non_null(strstr(err.message, "not inside the cgroup root"));
        struct hn_resource_limits l = { .cpu_weight = 0x7fffffff };
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "x", &l, &h, &err), -EINVAL);
        assert_string_equal(err.message, "invalid cpu_weight 2147483647: must be 1..10000");
        assert_int_equal(total_scopes(e), before);
}

static void missing_parent_is_not_found(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice/alloc-7", "task", NULL, &h, &err),
                         -ENOENT);
        assert_int_equal(err.kind, HN_ERR_NOT_FOUND);
        char want[PATH_MAX + 64];
        snprintf(want, sizeof(want), "cgroup path not found: %s", env_path(e, "workload.slice/alloc-7"));
        assert_string_equal(err.message, want);
        assert_false(path_exists(env_path(e, "workload.slice/alloc-7")));
}

static void existing_scope_refused(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h, again = { .path = "untouched" };
        struct hn_error err = { 0 };
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "job", NULL, &h, &err), 0);
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "job", NULL, &again, &err), -EEXIST);
        assert_int_equal(err.kind, HN_ERR_CREATION_FAILED);
        char want[PATH_MAX + 64];
        snprintf(want, sizeof(want), "cgroup creation failed: %s: already exists", h.path);
        assert_string_equal(err.message, want);
        assert_string_equal(again.path, "untouched");
        assert_true(path_exists(h.path)); /* the first one is left alone */
}

/* RI5: a limit the kernel rejects removes the scope again. Here the
 * controllers are absent (host) or the device does not exist (VM): both
 * are real kernel refusals. */
static void rejected_limit_leaves_no_scope(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        struct hn_cgroup_handle h = { .path = "untouched" };
        struct hn_error err = { 0 };
        struct hn_resource_limits l;
        const char *expect;
        struct hn_io_device_limit nodev = { .major = 250, .minor = 250, .rbps = 1000 };
        if (!(e->enabled & HN_CONTROLLER_MEMORY)) {
                l = (struct hn_resource_limits){ .memory_max = 64 << 20 };
                expect = "memory.max=67108864: controller not enabled (no memory in";
        } else {
                l = (struct hn_resource_limits){ .memory_max = 64 << 20, .io_devices = &nodev, .n_io_devices = 1 };
                expect = "io.max=250:250 rbps=1000: No such device";
        }
        e->log.n = 0;
        int r = hn_cgroup_create_scope(e->workload, "workload.slice", "limited", &l, &h, &err);
        assert_true(r < 0);
        assert_int_equal(err.kind, HN_ERR_CREATION_FAILED);
        if (!strstr(err.message, expect))
                fail_msg("message \"%s\" lacks \"%s\"", err.message, expect);
        assert_string_equal(h.path, "untouched");
        assert_false(path_exists(env_path(e, "workload.slice/limited.scope")));
        int i = audit_find(&e->log, "cgroup.create", HN_AUDIT_FAILED);
        assert_true(i >= 0);
        assert_non_null(strstr(e->log.e[i].detail, expect));
        /* and the name is free again */
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "limited", NULL, &h, &err), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(scope_created_where_asked, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(cross_slice_creates_refused, env_setup, env_teardown),
                cmocka_unit_test(permission_message_matches_seed),
                cmocka_unit_test_setup_teardown(bad_names_refused_nothing_created, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(missing_parent_is_not_found, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(existing_scope_refused, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(rejected_limit_leaves_no_scope, env_setup, env_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("cgroup_scope", tests, NULL, NULL);
}
