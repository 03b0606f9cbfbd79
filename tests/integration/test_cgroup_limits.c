/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Limits as the kernel applies them. They need memory, cpu and io on
 * cgroup2: where the host keeps those on v1 these SKIP, and the VM suite
 * (pure cgroup2, every controller) runs them for real. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_limits.h"
#include "fixture.h"

static void require_controller(struct env *e, unsigned bit, const char *name) {
        if (!(e->enabled & bit))
                SKIP_BECAUSE("%s controller not available on cgroup2 here (the host binds it to v1); the VM suite runs "
                             "this",
                             name);
}

static void read_control(const char *scope, const char *file, char *buf, size_t size) {
        char p[PATH_MAX + 64];
        snprintf(p, sizeof(p), "%s/%s", scope, file);
        assert_int_equal(read_text(p, buf, size), 0);
}

static void memory_max_enforced_by_oom_kill(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        require_controller(e, HN_CONTROLLER_MEMORY, "memory");
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        struct hn_resource_limits l = { .memory_max = 32u << 20 };
        char buf[512];
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "oom", &l, &h, &err), 0);
        read_control(h.path, "memory.max", buf, sizeof(buf));
        assert_string_equal(buf, "33554432\n");
        /* no swap escape hatch: the limit must bite */
        char p[PATH_MAX + 32];
        snprintf(p, sizeof(p), "%s/memory.swap.max", h.path);
        write_text(p, "0");
        struct hn_cgroup_metrics m;
        assert_int_equal(hn_cgroup_read_metrics(e->workload, h.path, &m, &err), 0);
        assert_true(m.has_memory);
        assert_true(m.memory_max == 32u << 20);

        char *argv[] = { (char *) helper_path(), "alloc", "134217728", NULL }; /* 128 MiB */
        pid_t pid;
        assert_int_equal(hn_cgroup_spawn(e->workload, &h, argv, &pid, &err), 0);
        int status;
        assert_int_equal(wait_pid_ms(pid, 10000, &status), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        read_control(h.path, "memory.events", buf, sizeof(buf));
        char *oom = strstr(buf, "oom_kill ");
        assert_non_null(oom);
        assert_true(atoi(oom + strlen("oom_kill ")) >= 1);
}

static void cpu_weight_written(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        require_controller(e, HN_CONTROLLER_CPU, "cpu");
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        struct hn_resource_limits l = { .cpu_weight = 250 };
        char buf[64];
        assert_int_equal(hn_cgroup_create_scope(e->pact, "pact.slice/infra.slice", "chronyd", &l, &h, &err), 0);
        read_control(h.path, "cpu.weight", buf, sizeof(buf));
        assert_string_equal(buf, "250\n");
        l.cpu_weight = 10000;
        assert_int_equal(hn_cgroup_create_scope(e->pact, "pact.slice/infra.slice", "max", &l, &h, &err), 0);
        read_control(h.path, "cpu.weight", buf, sizeof(buf));
        assert_string_equal(buf, "10000\n");
}

/* io_max lands on every whole disk with a size, as rbps and wbps; the
 * per-device list is applied on top, in the kernel's own line format. */
static void io_max_on_every_disk(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        require_controller(e, HN_CONTROLLER_IO, "io");
        struct hn_io_device_limit *disks = NULL;
        size_t n = 0;
        assert_int_equal(whole_disks_list("/sys/block", &disks, &n), 0);
        if (n == 0)
                SKIP_BECAUSE("no block device with a size to limit");
        struct hn_io_device_limit extra = { .major = disks[0].major, .minor = disks[0].minor, .riops = 500 };
        struct hn_resource_limits l = { .io_max = 1048576, .io_devices = &extra, .n_io_devices = 1 };
        struct hn_cgroup_handle h;
        struct hn_error err = { 0 };
        char buf[2048], line[128];
        assert_int_equal(hn_cgroup_create_scope(e->workload, "workload.slice", "io", &l, &h, &err), 0);
        read_control(h.path, "io.max", buf, sizeof(buf));
        printf("# io.max:\n%s", buf);
        snprintf(line, sizeof(line), "%u:%u rbps=1048576 wbps=1048576 riops=500 wiops=max", disks[0].major,
                 disks[0].minor);
        assert_non_null(strstr(buf, line));
        for (size_t i = 1; i < n; i++) {
                snprintf(line, sizeof(line), "%u:%u rbps=1048576 wbps=1048576 riops=max wiops=max", disks[i].major,
                         disks[i].minor);
                assert_non_null(strstr(buf, line));
        }
        free(disks);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(memory_max_enforced_by_oom_kill, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(cpu_weight_written, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(io_max_on_every_disk, env_setup, env_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("cgroup_limits", tests, NULL, NULL);
}
