/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scope names and cgroup paths are validated once, at the boundary. */
#include <stdio.h>
#include <string.h>

#include "cgroup_path.h"
#include "fixture.h"

static void good_names_get_one_suffix(void **state) {
        (void) state;
        char c[HN_CGROUP_NAME_MAX + 1];
        struct hn_error err = { 0 };
        assert_int_equal(scope_name_to_component("job-42", c, sizeof(c), &err), 0);
        assert_string_equal(c, "job-42.scope");
        assert_int_equal(scope_name_to_component("job-42.scope", c, sizeof(c), &err), 0);
        assert_string_equal(c, "job-42.scope");
        assert_int_equal(scope_name_to_component("nvidia persistenced", c, sizeof(c), &err), 0);
        assert_string_equal(c, "nvidia persistenced.scope");
        assert_int_equal(scope_name_to_component("a.slice", c, sizeof(c), &err), 0);
        assert_string_equal(c, "a.slice.scope");
}

static void bad_names_refused_with_reason(void **state) {
        (void) state;
        char long249[250], long250[251];
        memset(long249, 'a', 249), long249[249] = '\0';
        memset(long250, 'a', 250), long250[250] = '\0';
        const struct {
                const char *name;
                const char *reason;
        } bad[] = {
                { "", "empty" },
                { "a/b", "contains '/'" },
                { "/", "contains '/'" },
                { ".", "are not names" },
                { "..", "are not names" },
                { "job\n", "control character" },
                { "job\x01x", "control character" },
                { "job\x7f", "control character" },
                { "\t", "control character" },
                { ".scope", "nothing before" },
                { "job.scope.scope", "given twice" },
                { long250, "the limit is 255" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char c[HN_CGROUP_NAME_MAX + 1] = "untouched";
                struct hn_error err = { 0 };
                int r = scope_name_to_component(bad[i].name, c, sizeof(c), &err);
                if (r >= 0)
                        fail_msg("name #%zu accepted", i);
                assert_int_equal(err.kind, HN_ERR_INVALID_ARGUMENT);
                assert_string_equal(c, "untouched");
                if (!strstr(err.message, bad[i].reason))
                        fail_msg("name #%zu: message \"%s\" lacks \"%s\"", i, err.message, bad[i].reason);
        }
        char c[HN_CGROUP_NAME_MAX + 1];
        /* 249 + ".scope" = 255: exactly the kernel's limit. */
        assert_int_equal(scope_name_to_component(long249, c, sizeof(c), NULL), 0);
        assert_int_equal(strlen(c), 255);
        assert_int_equal(scope_name_to_component(NULL, c, sizeof(c), NULL), -EINVAL);
}

static void paths_normalised(void **state) {
        (void) state;
        const struct {
                const char *root, *in, *out;
        } good[] = {
                { "/sys/fs/cgroup", "pact.slice", "pact.slice" },
                { "/sys/fs/cgroup", "pact.slice/", "pact.slice" },
                { "/sys/fs/cgroup", "/sys/fs/cgroup/pact.slice/infra.slice", "pact.slice/infra.slice" },
                { "/sys/fs/cgroup", "/sys/fs/cgroup", "" },
                { "/sys/fs/cgroup", "/sys/fs/cgroup/", "" },
                { "/sys/fs/cgroup/", "/sys/fs/cgroup/workload.slice", "workload.slice" },
                { "/", "/pact.slice", "pact.slice" },
        };
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                char out[HN_CGROUP_PATH_MAX];
                struct hn_error err = { 0 };
                if (cgroup_path_relative(good[i].root, good[i].in, out, sizeof(out), &err) < 0)
                        fail_msg("path #%zu refused: %s", i, err.message);
                assert_string_equal(out, good[i].out);
        }
}

static void bad_paths_refused(void **state) {
        (void) state;
        const struct {
                const char *in, *reason;
        } bad[] = {
                { "/sys/fs/cgroupx/pact.slice", "not inside the cgroup root" },
                { "/etc/passwd", "not inside the cgroup root" },
                { "pact.slice/../../etc", "\"..\" components" },
                { "./pact.slice", "\"..\" components" },
                { "pact.slice//infra.slice", "empty component" },
                { "pact.slice/\x1b", "control character" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char out[HN_CGROUP_PATH_MAX] = "untouched";
                struct hn_error err = { 0 };
                if (cgroup_path_relative("/sys/fs/cgroup", bad[i].in, out, sizeof(out), &err) >= 0)
                        fail_msg("path #%zu accepted", i);
                assert_int_equal(err.kind, HN_ERR_INVALID_ARGUMENT);
                assert_string_equal(out, "untouched");
                if (!strstr(err.message, bad[i].reason))
                        fail_msg("path #%zu: message \"%s\" lacks \"%s\"", i, err.message, bad[i].reason);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(good_names_get_one_suffix),
                cmocka_unit_test(bad_names_refused_with_reason),
                cmocka_unit_test(paths_normalised),
                cmocka_unit_test(bad_paths_refused),
        };
        return cmocka_run_group_tests_name("names_paths", tests, NULL, NULL);
}
