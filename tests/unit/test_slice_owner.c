/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hn_slice_owner(): whole-component matching (SPEC §1), the seed's table
 * plus the prefix holes the seed's own test accepts. */
#include <stdio.h>
#include <string.h>

#include "fixture.h"

static const struct {
        const char *path;
        enum hn_slice_owner owner;
} table[] = {
        /* the seed's cases */
        { HN_SLICE_PACT_ROOT, HN_OWNER_PACT },
        { HN_SLICE_PACT_INFRA, HN_OWNER_PACT },
        { HN_SLICE_PACT_GPU, HN_OWNER_PACT },
        { HN_SLICE_PACT_NETWORK, HN_OWNER_PACT },
        { HN_SLICE_PACT_AUDIT, HN_OWNER_PACT },
        { HN_SLICE_WORKLOAD_ROOT, HN_OWNER_WORKLOAD },
        { "workload.slice/alloc-42", HN_OWNER_WORKLOAD },
        { "pact.slice/infra.slice/chronyd.scope", HN_OWNER_PACT },
        { "workload.slice/alloc-42/task-1.scope", HN_OWNER_WORKLOAD },
        { "system.slice", HN_OWNER_NONE },
        { "", HN_OWNER_NONE },
        { "/sys/fs/cgroup", HN_OWNER_NONE },
        { "not-pact.slice/foo", HN_OWNER_NONE },
        /* where we differ from the seed: prefixes are not components */
        { "workload.slice-extra", HN_OWNER_NONE },
        { "pact.slice-evil", HN_OWNER_NONE },
        { "pact.slice-evil/infra.slice", HN_OWNER_NONE },
        { "pact.slicex", HN_OWNER_NONE },
        { "workload.slicer/job.scope", HN_OWNER_NONE },
        /* accepted prefixes */
        { "/pact.slice", HN_OWNER_PACT },
        { "/workload.slice/", HN_OWNER_WORKLOAD },
        { "/sys/fs/cgroup/pact.slice/gpu.slice", HN_OWNER_PACT },
        { "/sys/fs/cgroup/unified/workload.slice/j.scope", HN_OWNER_WORKLOAD },
        { "/sys/fs/cgroup/unified", HN_OWNER_NONE },
        { "/sys/fs/cgroupx/pact.slice", HN_OWNER_NONE },
        /* ambiguous paths belong to nobody */
        { "pact.slice/../workload.slice", HN_OWNER_NONE },
        { "workload.slice/../pact.slice", HN_OWNER_NONE },
        { "./pact.slice", HN_OWNER_NONE },
        { "pact.slice//infra.slice", HN_OWNER_NONE },
        { "pact.slice/\n", HN_OWNER_NONE },
        /* nested: the first component decides */
        { "other.slice/pact.slice", HN_OWNER_NONE },
};

static void owner_table(void **state) {
        (void) state;
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
                enum hn_slice_owner got = hn_slice_owner(table[i].path);
                if (got != table[i].owner)
                        fail_msg("hn_slice_owner(\"%s\") = %s, want %s", table[i].path, hn_slice_owner_name(got),
                                 hn_slice_owner_name(table[i].owner));
        }
}

static void owner_null_is_none(void **state) {
        (void) state;
        assert_int_equal(hn_slice_owner(NULL), HN_OWNER_NONE);
}

static void owner_names(void **state) {
        (void) state;
        assert_string_equal(hn_slice_owner_name(HN_OWNER_PACT), "pact");
        assert_string_equal(hn_slice_owner_name(HN_OWNER_WORKLOAD), "workload");
        assert_string_equal(hn_slice_owner_name(HN_OWNER_NONE), "none");
        assert_string_equal(hn_slice_owner_name((enum hn_slice_owner) 99), "none");
}

static void error_kind_names(void **state) {
        (void) state;
        assert_string_equal(hn_error_kind_name(HN_ERR_PERMISSION_DENIED), "permission_denied");
        assert_string_equal(hn_error_kind_name(HN_ERR_KILL_FAILED), "kill_failed");
        assert_string_equal(hn_error_kind_name(HN_ERR_NOT_FOUND), "not_found");
        assert_string_equal(hn_error_kind_name((enum hn_error_kind) 99), "unknown");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(owner_table),
                cmocka_unit_test(owner_null_is_none),
                cmocka_unit_test(owner_names),
                cmocka_unit_test(error_kind_names),
        };
        return cmocka_run_group_tests_name("slice_owner", tests, NULL, NULL);
}
