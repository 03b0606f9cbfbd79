/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WI6 / F31: a manager that died without cleaning up is replaced by a
 * fresh one that rebuilds everything from the kernel's table. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mount_fixture.h"

static const struct {
        int image;
        const char *alloc;
} crash_plan[] = { { 0, "a1" }, { 0, "a2" }, { 1, "a3" }, { 1, "a4" }, { 2, "a5" } };

/* The child acquires as the plan says, reports the handles, and is killed
 * before it can release anything. */
static void run_and_kill_child(struct mount_env *e, struct hn_mount_handle *handles) {
        int pipefd[2];
        assert_int_equal(pipe(pipefd), 0);
        pid_t pid = fork();
        if (pid == 0) {
                struct hn_mount_manager *m;
                if (hn_mount_manager_new(&e->cfg, &m, NULL) < 0)
                        _exit(1);
                for (size_t i = 0; i < 5; i++) {
                        struct hn_mount_handle h;
                        if (hn_mount_acquire(m, e->image[crash_plan[i].image], crash_plan[i].alloc, &h, NULL) < 0)
                                _exit(2);
                        if (write(pipefd[1], &h, sizeof(h)) != sizeof(h))
                                _exit(3);
                }
                for (;;)
                        pause();
        }
        close(pipefd[1]);
        for (size_t i = 0; i < 5; i++) {
                size_t got = 0;
                while (got < sizeof(handles[i])) {
                        ssize_t n = read(pipefd[0], (char *) &handles[i] + got, sizeof(handles[i]) - got);
                        assert_true(n > 0);
                        got += (size_t) n;
                }
        }
        close(pipefd[0]);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(wait_pid_ms(pid, 5000, &status), pid);
}

static void crash_then_reconstruct(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h[5];
        struct mnt_line before[5], l;
        run_and_kill_child(e, h);
        for (int i = 0; i < 5; i++)
                assert_true(mountinfo_find(h[i].bind_path, &before[i]));
        assert_int_equal(loops_backing(e->images), 3);

        /* a fresh manager (e->m never saw any of it) with a1, a3, a4 live */
        const char *live[] = { "a1", "a3", "a4" };
        e->log.n = 0;
        assert_int_equal(hn_mount_reconstruct_state(e->m, live, 3, NULL), 0);
        uint32_t n;
        assert_int_equal(hn_mount_refcount(e->m, e->image[0], &n, NULL), 0);
        assert_int_equal(n, 1);
        assert_int_equal(hn_mount_refcount(e->m, e->image[1], &n, NULL), 0);
        assert_int_equal(n, 2);
        assert_int_equal(hn_mount_refcount(e->m, e->image[2], &n, NULL), 0);
        assert_int_equal(n, 0);
        /* dead allocations' binds are gone, with a record each */
        assert_false(mountinfo_find(h[1].bind_path, &l)); /* a2 */
        assert_false(mountinfo_find(h[4].bind_path, &l)); /* a5 */
        unsigned corrected = 0;
        for (unsigned i = 0; i < e->log.n; i++)
                if (strcmp(e->log.e[i].action, "mount.refcount_corrected") == 0) {
                        corrected++;
                        assert_non_null(strstr(e->log.e[i].detail, "is not live: its bind was removed"));
                }
        assert_int_equal(corrected, 2);
        /* live allocations were not disturbed: the very same mounts */
        int live_idx[] = { 0, 2, 3 };
        for (int k = 0; k < 3; k++) {
                assert_true(mountinfo_find(h[live_idx[k]].bind_path, &l));
                assert_int_equal(l.id, before[live_idx[k]].id);
        }
        /* image 2 lost its last holder: held, then unmounted by the timer */
        struct hn_mount_info *list;
        size_t cnt;
        assert_int_equal(hn_mount_list(e->m, &list, &cnt, NULL), 0);
        assert_int_equal(cnt, 3);
        for (size_t i = 0; i < cnt; i++) {
                assert_false(list[i].foreign);
                if (strcmp(list[i].image_path, e->image[2]) == 0)
                        assert_true(list[i].holding);
                if (strcmp(list[i].image_path, e->image[1]) == 0) {
                        assert_int_equal(list[i].refcount, 2);
                        assert_string_equal(list[i].holders[0], "a3");
                        assert_string_equal(list[i].holders[1], "a4");
                }
        }
        hn_mount_list_free(list, cnt);
        for (int i = 0; i < 300 && mountinfo_find(h[4].mount_point, &l); i++)
                usleep(10000);
        assert_false(mountinfo_find(h[4].mount_point, &l));
        assert_true(wait_loops_gone(e->image[2], 2000));
        /* and the rebuilt state is a working one: release, reacquire */
        assert_int_equal(hn_mount_release(e->m, &h[0], NULL), 0);
        assert_int_equal(hn_mount_refcount(e->m, e->image[0], &n, NULL), 0);
        assert_int_equal(n, 0);
        assert_int_equal(hn_mount_acquire(e->m, e->image[0], "a9", &h[0], NULL), 0);
        assert_int_equal(loops_backing(e->image[0]), 1);
}

/* A squashfs someone else mounted under our base: reported, never touched. */
static void foreign_mount_left_alone(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        char target[300], cmd[800];
        snprintf(target, sizeof(target), "%s/somebody-elses", e->uenv);
        mkdir(target, 0755);
        snprintf(cmd, sizeof(cmd), "mount -t squashfs -o loop,ro '%s' '%s'", e->image[3], target);
        assert_int_equal(system(cmd), 0);
        struct mnt_line before, after;
        assert_true(mountinfo_find(target, &before));
        struct hn_mount_handle h;
        assert_int_equal(hn_mount_acquire(e->m, e->image[0], "mine", &h, NULL), 0);
        e->log.n = 0;
        const char *live[] = { "mine" };
        assert_int_equal(hn_mount_reconstruct_state(e->m, live, 1, NULL), 0);
        assert_true(mountinfo_find(target, &after));
        assert_int_equal(after.id, before.id);
        struct hn_mount_info *list;
        size_t n;
        assert_int_equal(hn_mount_list(e->m, &list, &n, NULL), 0);
        int foreign = -1, ours = -1;
        for (size_t i = 0; i < n; i++) {
                if (list[i].foreign)
                        foreign = (int) i;
                else
                        ours = (int) i;
        }
        assert_true(foreign >= 0 && ours >= 0);
        assert_string_equal(list[foreign].mount_point, target);
        assert_string_equal(list[foreign].image_path, e->image[3]);
        assert_int_equal(list[ours].refcount, 1);
        hn_mount_list_free(list, n);
        int i = audit_find(&e->log, "mount.foreign", HN_AUDIT_DONE);
        assert_true(i >= 0);
        assert_string_equal(e->log.e[i].path, target);
        /* even with no live allocation at all, and after a hold, it stays */
        assert_int_equal(hn_mount_reconstruct_state(e->m, NULL, 0, NULL), 0);
        usleep(1500000);
        assert_true(mountinfo_find(target, &after));
        assert_int_equal(after.id, before.id);
        /* the foreign image's path is not ours to release or force */
        assert_int_equal(hn_mount_refcount(e->m, e->image[3], &(uint32_t){ 0 }, NULL), -ENOENT);
}

static void reconstruct_refuses_bad_ids(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h;
        struct hn_error err = { 0 };
        struct mnt_line l;
        assert_int_equal(hn_mount_acquire(e->m, e->image[0], "keep", &h, NULL), 0);
        const char *bad[] = { "keep", "../etc" };
        assert_int_equal(hn_mount_reconstruct_state(e->m, bad, 2, &err), -EINVAL);
        assert_int_equal(err.kind, HN_ERR_INVALID_ARGUMENT);
        assert_int_equal(hn_mount_reconstruct_state(e->m, NULL, 3, &err), -EINVAL);
        /* refused before anything was touched */
        assert_true(mountinfo_find(h.bind_path, &l));
        uint32_t n;
        assert_int_equal(hn_mount_refcount(e->m, e->image[0], &n, NULL), 0);
        assert_int_equal(n, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(crash_then_reconstruct, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(foreign_mount_left_alone, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(reconstruct_refuses_bad_ids, mount_env_setup, mount_env_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("mount_reconstruct", tests, NULL, NULL);
}
