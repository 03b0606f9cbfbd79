/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The refcounted SquashFS mount manager on real loop devices and mounts,
 * checked against the kernel's own view each time. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mount_fixture.h"

static void read_id(const char *dir, char *buf, size_t size) {
        char p[PATH_MAX + 8];
        snprintf(p, sizeof(p), "%s/id", dir);
        assert_int_equal(read_text(p, buf, size), 0);
}

static void assert_refcount(struct mount_env *e, const char *image, uint32_t want) {
        uint32_t n = 99;
        assert_int_equal(hn_mount_refcount(e->m, image, &n, NULL), 0);
        assert_int_equal(n, want);
}

static void first_acquire_mounts_read_only_and_binds(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h;
        struct hn_error err = { 0 };
        assert_int_equal(hn_mount_acquire(e->m, e->image[0], "alloc-1", &h, &err), 0);
        assert_string_equal(h.image_path, e->image[0]);
        assert_string_equal(h.allocation_id, "alloc-1");
        assert_int_equal(strncmp(h.mount_point, e->uenv, strlen(e->uenv)), 0);
        assert_non_null(strstr(h.mount_point, "/image-0-"));
        char want_bind[PATH_MAX];
        snprintf(want_bind, sizeof(want_bind), "%s/alloc-1/uenv/%s", e->workdir, strrchr(h.mount_point, '/') + 1);
        assert_string_equal(h.bind_path, want_bind);

        struct mnt_line img, bind;
        assert_true(mountinfo_find(h.mount_point, &img));
        assert_string_equal(img.fstype, "squashfs");
        assert_true(has_options(img.options, "ro,nosuid,nodev"));
        assert_int_equal(strncmp(img.source, "/dev/loop", 9), 0);
        assert_true(mountinfo_find(h.bind_path, &bind));
        assert_true(has_options(bind.options, "ro,nosuid,nodev"));
        assert_true(bind.major == img.major && bind.minor == img.minor); /* same superblock */

        char buf[64], p[128], backing[PATH_MAX];
        read_id(h.bind_path, buf, sizeof(buf));
        assert_string_equal(buf, "image-0\n");
        snprintf(p, sizeof(p), "/sys/block/%s/loop/backing_file", img.source + 5);
        assert_int_equal(read_text(p, backing, sizeof(backing)), 0);
        backing[strcspn(backing, "\n")] = '\0';
        assert_string_equal(backing, e->image[0]);
        snprintf(p, sizeof(p), "/sys/block/%s/ro", img.source + 5);
        assert_int_equal(read_text(p, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "1\n");
        /* the bind really is read-only */
        snprintf(p, sizeof(p), "%s/new", h.bind_path);
        assert_int_equal(open(p, O_WRONLY | O_CREAT, 0644), -1);
        assert_int_equal(errno, EROFS);
        assert_refcount(e, e->image[0], 1);
        int i = audit_find(&e->log, "mount.acquire", HN_AUDIT_DONE);
        assert_true(i >= 0);
        assert_string_equal(e->log.e[i].path, h.bind_path);
        assert_string_equal(e->log.e[i].detail, "allocation alloc-1, refcount 1");
}

static void allocations_share_one_mount(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle a, b, again;
        assert_int_equal(hn_mount_acquire(e->m, e->image[1], "job-a", &a, NULL), 0);
        struct mnt_line first;
        assert_true(mountinfo_find(a.mount_point, &first));
        assert_int_equal(hn_mount_acquire(e->m, e->image[1], "job-b", &b, NULL), 0);
        assert_string_equal(a.mount_point, b.mount_point);
        struct mnt_line still;
        assert_true(mountinfo_find(b.mount_point, &still));
        assert_int_equal(still.id, first.id); /* not remounted */
        assert_int_equal(loops_backing(e->image[1]), 1);
        assert_refcount(e, e->image[1], 2);
        assert_int_equal(mounts_below(e->workdir), 2);
        /* the same allocation again: same handle, nothing new */
        assert_int_equal(hn_mount_acquire(e->m, e->image[1], "job-a", &again, NULL), 0);
        assert_string_equal(again.image_path, a.image_path);
        assert_string_equal(again.mount_point, a.mount_point);
        assert_string_equal(again.allocation_id, a.allocation_id);
        assert_string_equal(again.bind_path, a.bind_path);
        assert_refcount(e, e->image[1], 2);
        assert_int_equal(mounts_below(e->workdir), 2);
}

static void same_file_name_in_two_directories(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        char d1[300], d2[300], i1[320], i2[320], buf[64];
        snprintf(d1, sizeof(d1), "%s/site-a", e->images);
        snprintf(d2, sizeof(d2), "%s/site-b", e->images);
        mkdir(d1, 0755);
        mkdir(d2, 0755);
        snprintf(i1, sizeof(i1), "%s/pytorch.sqfs", d1);
        snprintf(i2, sizeof(i2), "%s/pytorch.sqfs", d2);
        assert_int_equal(make_image(i1, "a\n"), 0);
        assert_int_equal(make_image(i2, "b\n"), 0);
        struct hn_mount_handle h1, h2;
        assert_int_equal(hn_mount_acquire(e->m, i1, "j", &h1, NULL), 0);
        assert_int_equal(hn_mount_acquire(e->m, i2, "j", &h2, NULL), 0);
        assert_string_not_equal(h1.mount_point, h2.mount_point);
        assert_string_not_equal(h1.bind_path, h2.bind_path);
        read_id(h1.bind_path, buf, sizeof(buf));
        assert_string_equal(buf, "a\n");
        read_id(h2.bind_path, buf, sizeof(buf));
        assert_string_equal(buf, "b\n");
}

static void release_holds_then_unmounts(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h;
        assert_int_equal(hn_mount_acquire(e->m, e->image[2], "job", &h, NULL), 0);
        assert_int_equal(hn_mount_release(e->m, &h, NULL), 0);
        assert_false(path_exists(h.bind_path));
        char alloc_dir[PATH_MAX];
        snprintf(alloc_dir, sizeof(alloc_dir), "%s/job", e->workdir);
        assert_false(path_exists(alloc_dir)); /* empty allocation dirs go too */
        /* during the hold: still mounted, refcount 0, a deadline */
        struct mnt_line l;
        assert_true(mountinfo_find(h.mount_point, &l));
        assert_refcount(e, e->image[2], 0);
        uint64_t deadline = hn_mount_next_deadline(e->m);
        assert_true(deadline > 0);
        struct hn_mount_info *list;
        size_t n;
        assert_int_equal(hn_mount_list(e->m, &list, &n, NULL), 0);
        assert_int_equal(n, 1);
        assert_true(list[0].holding);
        assert_int_equal(list[0].refcount, 0);
        assert_true(list[0].hold_deadline_usec == deadline);
        hn_mount_list_free(list, n);
        /* expiry: the manager's own timer, nobody calls anything. It
         * unmounts, then removes the directory: wait for both. */
        for (int i = 0; i < 300 && (mountinfo_find(h.mount_point, &l) || path_exists(h.mount_point)); i++)
                usleep(10000);
        assert_false(mountinfo_find(h.mount_point, &l));
        assert_false(path_exists(h.mount_point));
        assert_true(wait_loops_gone(e->image[2], 2000));
        assert_int_equal(hn_mount_refcount(e->m, e->image[2], &(uint32_t){ 0 }, NULL), -ENOENT);
        assert_true(hn_mount_next_deadline(e->m) == 0);
        int i = audit_find(&e->log, "mount.unmount", HN_AUDIT_DONE);
        assert_true(i >= 0);
        assert_string_equal(e->log.e[i].detail, "hold expired");
}

static void acquire_during_hold_cancels_it(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h, h2;
        struct mnt_line before, after;
        assert_int_equal(hn_mount_acquire(e->m, e->image[3], "one", &h, NULL), 0);
        assert_true(mountinfo_find(h.mount_point, &before));
        assert_int_equal(hn_mount_release(e->m, &h, NULL), 0);
        usleep(300000);
        assert_int_equal(hn_mount_acquire(e->m, e->image[3], "two", &h2, NULL), 0);
        assert_true(hn_mount_next_deadline(e->m) == 0);
        usleep(1500000); /* past the original deadline */
        assert_true(mountinfo_find(h2.mount_point, &after));
        assert_int_equal(after.id, before.id);
        assert_refcount(e, e->image[3], 1);
}

static void hold_zero_unmounts_at_once(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_manager *m;
        struct hn_mount_config cfg = e->cfg;
        cfg.hold_time_secs = 0;
        assert_int_equal(hn_mount_manager_new(&cfg, &m, NULL), 0);
        struct hn_mount_handle h;
        struct mnt_line l;
        assert_int_equal(hn_mount_acquire(m, e->image[0], "quick", &h, NULL), 0);
        assert_int_equal(hn_mount_release(m, &h, NULL), 0);
        for (int i = 0; i < 100 && mountinfo_find(h.mount_point, &l); i++)
                usleep(10000);
        assert_false(mountinfo_find(h.mount_point, &l));
        assert_true(wait_loops_gone(e->image[0], 2000));
        hn_mount_manager_free(m);
}

/* F31: an impossible release is refused and unmounts nothing. */
static void impossible_release_is_refused(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle a, b;
        struct hn_error err = { 0 };
        assert_int_equal(hn_mount_acquire(e->m, e->image[0], "a", &a, NULL), 0);
        assert_int_equal(hn_mount_acquire(e->m, e->image[0], "b", &b, NULL), 0);
        assert_int_equal(hn_mount_release(e->m, &a, NULL), 0);
        e->log.n = 0;
        assert_int_equal(hn_mount_release(e->m, &a, &err), -ESRCH);
        assert_int_equal(err.kind, HN_ERR_REFCOUNT_INCONSISTENCY);
        char want[PATH_MAX + 128];
        snprintf(want, sizeof(want),
                 "refcount inconsistency for %s: allocation a holds no reference (refcount 1); nothing unmounted",
                 e->image[0]);
        assert_string_equal(err.message, want);
        assert_int_equal(e->log.n, 1);
        assert_int_equal(e->log.e[0].outcome, HN_AUDIT_REFUSED);
        assert_refcount(e, e->image[0], 1);
        struct mnt_line l;
        assert_true(mountinfo_find(b.bind_path, &l));
        assert_true(mountinfo_find(b.mount_point, &l));
        /* an image never acquired, and a forged handle */
        struct hn_mount_handle forged = b;
        snprintf(forged.allocation_id, sizeof(forged.allocation_id), "nobody");
        assert_int_equal(hn_mount_release(e->m, &forged, &err), -ESRCH);
        snprintf(forged.image_path, sizeof(forged.image_path), "%s", e->image[3]);
        assert_int_equal(hn_mount_release(e->m, &forged, &err), -ESRCH);
        assert_true(mountinfo_find(b.bind_path, &l));
        assert_refcount(e, e->image[0], 1);
}

struct force_probe {
        struct mount_env *e;
        const char *mount_point;
        bool mounted_at_intent;
};

static void force_audit(const struct hn_audit_record *r, void *userdata) {
        struct force_probe *p = userdata;
        struct mnt_line l;
        if (strcmp(r->action, "mount.force_unmount") == 0 && r->outcome == HN_AUDIT_INTENT)
                p->mounted_at_intent = mountinfo_find(p->mount_point, &l);
        audit_record(r, &p->e->log);
}

static void force_unmount_only_in_emergency(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle a, b;
        struct hn_error err = { 0 };
        struct mnt_line l;
        assert_int_equal(hn_mount_acquire(e->m, e->image[1], "a", &a, NULL), 0);
        assert_int_equal(hn_mount_acquire(e->m, e->image[1], "b", &b, NULL), 0);
        assert_int_equal(hn_mount_force_unmount(e->m, e->image[1], &err), -EPERM);
        assert_int_equal(err.kind, HN_ERR_PERMISSION_DENIED);
        assert_true(mountinfo_find(a.mount_point, &l));
        assert_refcount(e, e->image[1], 2);

        struct force_probe probe = { .e = e, .mount_point = a.mount_point };
        hn_mount_manager_set_audit(e->m, force_audit, &probe);
        assert_int_equal(hn_emergency_begin(e->emergency, "operator:carol", "image corrupt", 60, NULL), 0);
        e->log.n = 0;
        assert_int_equal(hn_mount_force_unmount(e->m, e->image[1], &err), 0);
        assert_false(mountinfo_find(a.mount_point, &l));
        assert_false(mountinfo_find(a.bind_path, &l));
        assert_false(mountinfo_find(b.bind_path, &l));
        assert_false(path_exists(a.mount_point));
        int intent = audit_find(&e->log, "mount.force_unmount", HN_AUDIT_INTENT);
        int done = audit_find(&e->log, "mount.force_unmount", HN_AUDIT_DONE);
        assert_true(intent >= 0 && intent < done);
        assert_true(probe.mounted_at_intent);
        assert_string_equal(e->log.e[intent].actor, "operator:carol");
        assert_true(e->log.e[intent].emergency);
        assert_int_equal(hn_mount_refcount(e->m, e->image[1], &(uint32_t){ 0 }, NULL), -ENOENT);
        /* the loop device goes with the last reference (autoclear, lazily) */
        assert_true(wait_loops_gone(e->image[1], 2000));
        /* and releasing a handle of it now is an inconsistency, not a crash */
        assert_int_equal(hn_mount_release(e->m, &a, &err), -ESRCH);
}

static void bad_input_changes_nothing(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        char notsq[300], dir[300], link[300], fifo[300], dots[400], missing[300];
        snprintf(notsq, sizeof(notsq), "%s/plain.sqfs", e->images);
        snprintf(dir, sizeof(dir), "%s/adir.sqfs", e->images);
        snprintf(link, sizeof(link), "%s/link.sqfs", e->images);
        snprintf(fifo, sizeof(fifo), "%s/fifo.sqfs", e->images);
        snprintf(missing, sizeof(missing), "%s/missing.sqfs", e->images);
        snprintf(dots, sizeof(dots), "%s/../images/image-0.sqfs", e->images);
        FILE *f = fopen(notsq, "w");
        fputs("this is not a squashfs image, just text long enough\n", f);
        fclose(f);
        mkdir(dir, 0755);
        assert_int_equal(symlink(e->image[0], link), 0);
        assert_int_equal(mkfifo(fifo, 0644), 0);
        const struct {
                const char *image, *alloc, *msg;
                enum hn_error_kind kind;
        } bad[] = {
                { missing, "a", "no such file", HN_ERR_NOT_FOUND },
                { "images/image-0.sqfs", "a", "not an absolute path", HN_ERR_INVALID_ARGUMENT },
                { dir, "a", "is a directory", HN_ERR_INVALID_ARGUMENT },
                { link, "a", "is a symlink", HN_ERR_INVALID_ARGUMENT },
                { fifo, "a", "not a regular file", HN_ERR_INVALID_ARGUMENT },
                { notsq, "a", "not a squashfs image", HN_ERR_INVALID_ARGUMENT },
                { dots, "a", "\"..\"", HN_ERR_INVALID_ARGUMENT },
                { "/", "a", "\"..\"", HN_ERR_INVALID_ARGUMENT },
                { NULL, "a", "not an absolute path", HN_ERR_INVALID_ARGUMENT },
                { e->image[0], "", "invalid allocation id: empty", HN_ERR_INVALID_ARGUMENT },
                { e->image[0], "a/b", "invalid allocation id: contains '/'", HN_ERR_INVALID_ARGUMENT },
                { e->image[0], "..", "invalid allocation id: \".\" and \"..\"", HN_ERR_INVALID_ARGUMENT },
                { e->image[0], "job\n", "invalid allocation id: contains a control character", HN_ERR_INVALID_ARGUMENT },
                { e->image[0], "x0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
                  "invalid allocation id: too long", HN_ERR_INVALID_ARGUMENT },
                { e->image[0], NULL, "invalid allocation id: empty", HN_ERR_INVALID_ARGUMENT },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct hn_mount_handle h = { .image_path = "untouched" };
                struct hn_error err = { 0 };
                assert_true(hn_mount_acquire(e->m, bad[i].image, bad[i].alloc, &h, &err) < 0);
                if (!strstr(err.message, bad[i].msg))
                        fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.message, bad[i].msg);
                assert_int_equal(err.kind, bad[i].kind);
                assert_string_equal(h.image_path, "untouched");
        }
        assert_int_equal(mounts_below(e->uenv) + mounts_below(e->workdir), 0);
        assert_int_equal(loops_backing(e->dir), 0);
        DIR *d = opendir(e->uenv);
        int entries = 0;
        struct dirent *de;
        while (d && (de = readdir(d)))
                entries += de->d_name[0] != '.';
        closedir(d);
        assert_int_equal(entries, 0);
        d = opendir(e->workdir);
        entries = 0;
        while (d && (de = readdir(d)))
                entries += de->d_name[0] != '.';
        closedir(d);
        assert_int_equal(entries, 0);
}

/* Past every check, the kernel refuses: a squashfs magic on a corrupt
 * superblock gets a loop device, then mount(2) says no. The undo path must
 * leave no loop device, no directory and no mount. */
static void kernel_refused_mount_leaves_nothing(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        char corrupt[300];
        snprintf(corrupt, sizeof(corrupt), "%s/corrupt.sqfs", e->images);
        FILE *f = fopen(corrupt, "w");
        fputs("hsqs", f);
        for (int i = 0; i < 8192; i++)
                fputc(0x5a, f);
        fclose(f);
        struct hn_mount_handle h = { .image_path = "untouched" };
        struct hn_error err = { 0 };
        e->log.n = 0;
        assert_true(hn_mount_acquire(e->m, corrupt, "job", &h, &err) < 0);
        assert_int_equal(err.kind, HN_ERR_MOUNT_FAILED);
        char want[400];
        snprintf(want, sizeof(want), "mount failed for %s: ", corrupt);
        assert_int_equal(strncmp(err.message, want, strlen(want)), 0);
        assert_string_equal(h.image_path, "untouched");
        assert_true(audit_find(&e->log, "mount.acquire", HN_AUDIT_FAILED) >= 0);
        assert_true(wait_loops_gone(corrupt, 2000));
        assert_int_equal(mounts_below(e->uenv) + mounts_below(e->workdir), 0);
        DIR *d = opendir(e->uenv);
        struct dirent *de;
        int entries = 0;
        while (d && (de = readdir(d)))
                entries += de->d_name[0] != '.';
        closedir(d);
        assert_int_equal(entries, 0);
        assert_int_equal(hn_mount_refcount(e->m, corrupt, &(uint32_t){ 0 }, NULL), -ENOENT);
        /* and a good image still mounts afterwards */
        assert_int_equal(hn_mount_acquire(e->m, e->image[0], "job", &h, NULL), 0);
}

static void bad_config_refused(void **state) {
        (void) state;
        struct hn_mount_manager *m = (void *) 0x1;
        struct hn_mount_config cfg;
        struct hn_error err = { 0 };
        hn_mount_config_default(&cfg);
        assert_string_equal(cfg.uenv_base, "/run/pact/uenv");
        assert_string_equal(cfg.workdir_base, "/run/pact/workdir");
        assert_int_equal(cfg.hold_time_secs, 60);
        cfg.uenv_base = "relative";
        assert_int_equal(hn_mount_manager_new(&cfg, &m, &err), -EINVAL);
        assert_string_equal(err.message, "invalid uenv base \"relative\": must be an absolute path below /");
        hn_mount_config_default(&cfg);
        cfg.hold_time_secs = 8 * 24 * 3600;
        assert_int_equal(hn_mount_manager_new(&cfg, &m, &err), -EINVAL);
        assert_ptr_equal(m, (void *) 0x1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(first_acquire_mounts_read_only_and_binds, mount_env_setup,
                                                mount_env_teardown),
                cmocka_unit_test_setup_teardown(allocations_share_one_mount, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(same_file_name_in_two_directories, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(release_holds_then_unmounts, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(acquire_during_hold_cancels_it, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(hold_zero_unmounts_at_once, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(impossible_release_is_refused, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(force_unmount_only_in_emergency, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(bad_input_changes_nothing, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(kernel_refused_mount_leaves_nothing, mount_env_setup,
                                                mount_env_teardown),
                cmocka_unit_test(bad_config_refused),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("mount", tests, NULL, NULL);
}
