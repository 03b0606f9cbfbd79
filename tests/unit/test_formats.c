/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The text the library writes to and reads from cgroupfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <hpcnode/monitor.h>

#include "cgroup_controllers.h"
#include "cgroup_limits.h"
#include "cgroup_metrics_parse.h"
#include "fileio.h"
#include "fixture.h"
#include "mountinfo.h"

static void io_max_line_names_only_set_fields(void **state) {
        (void) state;
        char buf[128];
        struct hn_io_device_limit d = { .major = 8, .minor = 0, .rbps = 1048576, .wbps = 2097152 };
        assert_int_equal(io_max_format_line(&d, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "8:0 rbps=1048576 wbps=2097152");
        d = (struct hn_io_device_limit){ .major = 259, .minor = 3, .riops = 100, .wiops = 200 };
        assert_int_equal(io_max_format_line(&d, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "259:3 riops=100 wiops=200");
        d = (struct hn_io_device_limit){ .major = 254, .minor = 0, .rbps = 1, .wbps = 2, .riops = 3, .wiops = 4 };
        assert_int_equal(io_max_format_line(&d, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "254:0 rbps=1 wbps=2 riops=3 wiops=4");
        d = (struct hn_io_device_limit){ .major = 8, .minor = 0 };
        assert_int_equal(io_max_format_line(&d, buf, sizeof(buf)), -EINVAL);
        d.wbps = UINT64_MAX;
        assert_int_equal(io_max_format_line(&d, buf, 8), -ENOBUFS);
}

static void limits_validation(void **state) {
        (void) state;
        struct hn_error err = { 0 };
        struct hn_resource_limits l = { .cpu_weight = 10000 };
        assert_int_equal(limits_validate(&l, &err), 0);
        assert_int_equal(limits_validate(NULL, &err), 0);
        l.cpu_weight = 10001;
        assert_int_equal(limits_validate(&l, &err), -EINVAL);
        assert_string_equal(err.message, "invalid cpu_weight 10001: must be 1..10000");
        struct hn_io_device_limit empty = { .major = 8, .minor = 0 };
        l = (struct hn_resource_limits){ .io_devices = &empty, .n_io_devices = 1 };
        assert_int_equal(limits_validate(&l, &err), -EINVAL);
        assert_string_equal(err.message, "invalid io limit for 8:0: no field set");
        l = (struct hn_resource_limits){ .n_io_devices = 2 };
        assert_int_equal(limits_validate(&l, &err), -EINVAL);
}

static void mkfile(const char *dir, const char *rel, const char *content) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, rel);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

/* A fake /sys/block: a disk, an empty loop device, a second disk. */
static void whole_disks_skip_empty_devices(void **state) {
        (void) state;
        char dir[] = "/tmp/hn-sysblock.XXXXXX", p[512];
        assert_non_null(mkdtemp(dir));
        const char *devs[][3] = { { "vda", "254:0\n", "1000\n" }, { "loop0", "7:0\n", "0\n" },
                                  { "nvme0n1", "259:0\n", "42\n" } };
        for (int i = 0; i < 3; i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, devs[i][0]);
                mkdir(p, 0755);
                snprintf(p, sizeof(p), "%s/dev", devs[i][0]);
                mkfile(dir, p, devs[i][1]);
                snprintf(p, sizeof(p), "%s/size", devs[i][0]);
                mkfile(dir, p, devs[i][2]);
        }
        struct hn_io_device_limit *list = NULL;
        size_t n = 0;
        assert_int_equal(whole_disks_list(dir, &list, &n), 0);
        assert_int_equal(n, 2);
        unsigned seen = 0;
        for (size_t i = 0; i < n; i++) {
                if (list[i].major == 254 && list[i].minor == 0)
                        seen |= 1;
                if (list[i].major == 259 && list[i].minor == 0)
                        seen |= 2;
        }
        assert_int_equal(seen, 3);
        free(list);
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(whole_disks_list("/nonexistent", &list, &n), -ENOENT);
}

static void memory_max_parsing(void **state) {
        (void) state;
        uint64_t v = 7;
        assert_int_equal(parse_memory_max("max", &v), 0);
        assert_true(v == HN_MEMORY_UNLIMITED);
        assert_int_equal(parse_memory_max("536870912", &v), 0);
        assert_true(v == 536870912ull);
        v = 7;
        assert_int_equal(parse_memory_max("-1", &v), -EBADMSG);
        assert_int_equal(parse_memory_max("12k", &v), -EBADMSG);
        assert_int_equal(parse_memory_max("", &v), -EBADMSG);
        assert_int_equal(parse_memory_max("99999999999999999999999", &v), -EBADMSG);
        assert_true(v == 7);
}

static void pid_lines_counted(void **state) {
        (void) state;
        assert_int_equal(count_pid_lines(""), 0);
        assert_int_equal(count_pid_lines("12\n"), 1);
        assert_int_equal(count_pid_lines("12\n13\n14\n"), 3);
        assert_int_equal(count_pid_lines("12\n13"), 2);
}

static void keyed_values_read(void **state) {
        (void) state;
        char dir[] = "/tmp/hn-keyed.XXXXXX";
        assert_non_null(mkdtemp(dir));
        mkfile(dir, "cpu.stat", "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n");
        mkfile(dir, "bad", "usage_usec 12x\n");
        int fd = open(dir, O_PATH | O_DIRECTORY);
        unsigned long long v = 0;
        assert_int_equal(read_keyed_u64_at(fd, "cpu.stat", "usage_usec", &v), 0);
        assert_true(v == 123456);
        assert_int_equal(read_keyed_u64_at(fd, "cpu.stat", "system_usec", &v), 0);
        assert_true(v == 23456);
        assert_int_equal(read_keyed_u64_at(fd, "cpu.stat", "usage", &v), -ENODATA);
        assert_int_equal(read_keyed_u64_at(fd, "bad", "usage_usec", &v), -EBADMSG);
        assert_int_equal(read_keyed_u64_at(fd, "missing", "usage_usec", &v), -ENOENT);
        close(fd);
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
}

/* hn_event.exe: leaf-first components; an empty one ends the list. */
static void event_exe_path_decoding(void **state) {
        (void) state;
        struct hn_event e = { 0 };
        char out[PATH_MAX];
        memcpy(e.exe, "agent\0bin\0usr\0\0", 16);
        assert_int_equal(hn_event_exe_path(&e, out, sizeof(out), NULL), 0);
        assert_string_equal(out, "/usr/bin/agent");
        struct hn_error err = { 0 };
        char before[sizeof(out)];
        memcpy(before, out, sizeof(out));
        assert_int_equal(hn_event_exe_path(&e, out, 14, &err), -ENAMETOOLONG);
        assert_int_equal(err.kind, HN_ERR_INVALID_ARGUMENT);
        assert_int_equal(err.sys_errno, ENAMETOOLONG);
        assert_string_equal(err.message, "the executable's path (15 bytes) does not fit in 14");
        assert_memory_equal(out, before, sizeof(out)); /* untouched */
        memset(e.exe, 0, sizeof(e.exe));
        assert_int_equal(hn_event_exe_path(&e, out, sizeof(out), &err), -ENOENT);
        assert_int_equal(err.kind, HN_ERR_NOT_FOUND);
        assert_string_equal(err.message, "the record names no executable (a kernel thread)");
        /* too deep for the record: the leaf side is kept, and marked */
        memset(e.exe, 'x', sizeof(e.exe));
        memcpy(e.exe, "agent\0deep\0", 11);
        e.exe[sizeof(e.exe) - 1] = '\0';
        assert_int_equal(hn_event_exe_path(&e, out, sizeof(out), NULL), 0);
        assert_string_equal(out, "…/deep/agent");
}

/* A ring-buffer record is taken only in this library's layout: a record
 * of another version or size (programs of another build) is refused, the
 * output untouched, never misread; strings come out NUL-terminated. */
static void records_of_another_layout_refused(void **state) {
        (void) state;
        struct hn_event rec, out;
        memset(&rec, 'x', sizeof(rec));
        rec.version = HN_EVENT_VERSION;
        rec.type = HN_EV_CGROUP_MKDIR;
        rec.pid = 4242;
        assert_int_equal(hn_event_from_record(&rec, sizeof(rec), &out, NULL), 0);
        assert_int_equal(out.type, HN_EV_CGROUP_MKDIR);
        assert_int_equal(out.pid, 4242);
        assert_int_equal(out.comm[sizeof(out.comm) - 1], '\0');
        assert_int_equal(out.path[sizeof(out.path) - 1], '\0');
        assert_int_equal(strlen(out.path), sizeof(out.path) - 1);

        struct hn_event untouched;
        memset(&untouched, 0x5a, sizeof(untouched));
        memcpy(&out, &untouched, sizeof(out));
        rec.version = HN_EVENT_VERSION - 1;
        struct hn_error err = { 0 };
        char want[128];
        assert_int_equal(hn_event_from_record(&rec, sizeof(rec), &out, &err), -EPROTO);
        snprintf(want, sizeof(want), "a record of version %u, not %u", HN_EVENT_VERSION - 1, HN_EVENT_VERSION);
        assert_string_equal(err.message, want);
        assert_int_equal(err.sys_errno, EPROTO);
        rec.version = HN_EVENT_VERSION;
        assert_int_equal(hn_event_from_record(&rec, sizeof(rec) - 8, &out, &err), -EPROTO);
        snprintf(want, sizeof(want), "a record of %zu bytes, not %zu", sizeof(rec) - 8, sizeof(rec));
        assert_string_equal(err.message, want);
        char longer[sizeof(rec) + 8] = { 0 };
        memcpy(longer, &rec, sizeof(rec));
        assert_int_equal(hn_event_from_record(longer, sizeof(longer), &out, NULL), -EPROTO);
        assert_memory_equal(&out, &untouched, sizeof(out));
        assert_string_equal(hn_drop_cause_name(HN_DROP_RECORD_FOREIGN), "record_foreign");
}

static void controller_masks(void **state) {
        (void) state;
        char buf[64];
        assert_int_equal(controller_mask_parse("cpuset cpu io memory hugetlb pids rdma misc"), HN_CONTROLLERS_ALL);
        assert_int_equal(controller_mask_parse("hugetlb"), 0);
        assert_int_equal(controller_mask_parse("memory\n"), HN_CONTROLLER_MEMORY);
        assert_int_equal(controller_mask_parse("cpuset"), 0); /* not "cpu" */
        assert_string_equal(hn_controller_mask_format(HN_CONTROLLERS_ALL, buf, sizeof(buf)), "cpu io memory pids");
        assert_string_equal(hn_controller_mask_format(HN_CONTROLLER_MEMORY | HN_CONTROLLER_CPU, buf, sizeof(buf)),
                            "cpu memory");
        assert_string_equal(hn_controller_mask_format(0, buf, sizeof(buf)), "");
}

static void mountinfo_text(const char *text, struct mountinfo *mi, int want) {
        char path[] = "/tmp/hn-mountinfo.XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        assert_int_equal(mountinfo_read(path, mi), want);
        unlink(path);
}

/* mountinfo as the kernel writes it: escaped targets and sources, optional
 * fields (none, one, two), the per-mount read-only flag, the type and the
 * source; a line without the separator, the source, or with a bad number
 * refuses the whole table. */
static void mountinfo_lines_parsed(void **state) {
        (void) state;
        struct mountinfo mi = { .n = 99 };
        mountinfo_text("22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
                       "36 22 7:3 / /run/a\\040b\\134c ro,nosuid,nodev shared:7 master:3 - squashfs /dev/loop3 ro\n"
                       "37 36 7:3 /sub /w/x ro - squashfs /dev/loop3 ro\n"
                       "38 22 0:50 / /rw rw,noatime,rop - tmpfs my\\040t rw\n",
                       &mi, 0);
        assert_int_equal(mi.n, 4);
        assert_int_equal(mi.v[0].id, 22);
        assert_int_equal(mi.v[0].parent, 1);
        assert_string_equal(mi.v[0].target, "/");
        assert_int_equal(mi.v[0].shared, 1);
        assert_int_equal(mi.v[0].master, 0);
        assert_false(mi.v[0].ro);
        assert_string_equal(mi.v[1].target, "/run/a b\\c");
        assert_true(mi.v[1].ro);
        assert_int_equal(mi.v[1].shared, 7);
        assert_int_equal(mi.v[1].master, 3);
        assert_int_equal(major(mi.v[1].devno), 7);
        assert_int_equal(minor(mi.v[1].devno), 3);
        assert_string_equal(mi.v[2].target, "/w/x");
        assert_int_equal(mi.v[2].shared + mi.v[2].master, 0);
        assert_false(mi.v[3].ro); /* "rop" is not "ro" */
        assert_string_equal(mi.v[1].fstype, "squashfs");
        assert_string_equal(mi.v[1].source, "/dev/loop3");
        assert_string_equal(mi.v[3].fstype, "tmpfs");
        assert_string_equal(mi.v[3].source, "my t"); /* unescaped too */
        mountinfo_free(&mi);
        struct mountinfo bad = { .n = 7 };
        mountinfo_text("22 1 0:21 / / rw shared:1 ext4 /dev/vda rw\n", &bad, -EBADMSG);
        assert_int_equal(bad.n, 7); /* untouched */
        mountinfo_text("22 x 0:21 / / rw - ext4 /dev/vda rw\n", &bad, -EBADMSG);
        mountinfo_text("22 1 0:21 / / rw shared:z - ext4 /dev/vda rw\n", &bad, -EBADMSG);
        mountinfo_text("22 1 021 / / rw - ext4 /dev/vda rw\n", &bad, -EBADMSG);
        mountinfo_text("22 1 0:21 / / rw - ext4\n", &bad, -EBADMSG); /* no source */
        assert_int_equal(mountinfo_read("/nonexistent/mountinfo", &bad), -ENOENT);
        /* the real one: the root is there */
        assert_int_equal(mountinfo_read("/proc/self/mountinfo", &mi), 0);
        bool root = false;
        for (size_t i = 0; i < mi.n; i++)
                root |= !strcmp(mi.v[i].target, "/");
        assert_true(root);
        mountinfo_free(&mi);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(io_max_line_names_only_set_fields),
                cmocka_unit_test(event_exe_path_decoding),
                cmocka_unit_test(records_of_another_layout_refused),
                cmocka_unit_test(limits_validation),
                cmocka_unit_test(whole_disks_skip_empty_devices),
                cmocka_unit_test(memory_max_parsing),
                cmocka_unit_test(pid_lines_counted),
                cmocka_unit_test(keyed_values_read),
                cmocka_unit_test(controller_masks),
                cmocka_unit_test(mountinfo_lines_parsed),
        };
        return cmocka_run_group_tests_name("formats", tests, NULL, NULL);
}
