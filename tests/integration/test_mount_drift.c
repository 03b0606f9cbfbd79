/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mount drift (WI2, WI6, F31): real util-linux tools pull, move and add
 * mounts behind the manager's back; hn_mount_reconcile finds each act as
 * exactly one drift of the right class, repairs what is safe, and reports
 * the rest once. In a private mount namespace with scratch bases. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount_fixture.h"

struct drifts {
        struct {
                enum hn_drift_class cls;
                char path[PATH_MAX], image[PATH_MAX], detail[3 * PATH_MAX];
                bool repaired;
        } v[16];
        unsigned n;
};

static void collect(const struct hn_drift *d, void *userdata) {
        struct drifts *x = userdata;
        if (x->n >= 16)
                return;
        x->v[x->n].cls = d->cls;
        snprintf(x->v[x->n].path, sizeof(x->v[0].path), "%s", d->path);
        snprintf(x->v[x->n].image, sizeof(x->v[0].image), "%s", d->image);
        snprintf(x->v[x->n].detail, sizeof(x->v[0].detail), "%s", d->detail);
        x->v[x->n].repaired = d->repaired;
        x->n++;
}

/* One reconcile pass; the number of drifts must be want. */
static void reconcile(struct mount_env *e, struct drifts *d, unsigned want) {
        struct hn_error err = { 0 };
        *d = (struct drifts){ 0 };
        int r = hn_mount_reconcile(e->m, collect, d, &err);
        if (r < 0)
                fail_msg("reconcile: %s", err.message);
        if ((unsigned) r != want || d->n != want) {
                for (unsigned i = 0; i < d->n; i++)
                        print_message("drift %s %s: %s\n", hn_drift_class_name(d->v[i].cls), d->v[i].path,
                                      d->v[i].detail);
                fail_msg("%d drifts, want %u", r, want);
        }
}

static void run(const char *cmd) {
        if (system(cmd) != 0)
                fail_msg("command failed: %s", cmd);
}

static unsigned corrected(struct mount_env *e) {
        unsigned n = 0;
        for (unsigned i = 0; i < e->log.n; i++)
                n += strcmp(e->log.e[i].action, "mount.refcount_corrected") == 0;
        return n;
}

static void assert_image_content(const char *dir, int image) {
        char p[PATH_MAX + 8], buf[64], want[32];
        snprintf(p, sizeof(p), "%s/id", dir);
        snprintf(want, sizeof(want), "image-%d\n", image);
        assert_int_equal(read_text(p, buf, sizeof(buf)), 0);
        assert_string_equal(buf, want);
}

/* umount(8) of a held image mount: the kernel refuses a plain one (the
 * manager holds the mount: busy); a lazy one detaches it, and it is
 * re-mounted, refcount unchanged. */
static void held_image_umount_is_remounted(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h;
        struct drifts d;
        struct mnt_line l;
        assert_int_equal(hn_mount_acquire(e->m, e->image[0], "a1", &h, NULL), 0);
        reconcile(e, &d, 0); /* in step: nothing to say */
        assert_int_equal(umount2(h.mount_point, 0), -1);
        assert_int_equal(errno, EBUSY);
        assert_true(mountinfo_find(h.mount_point, &l));
        char cmd[PATH_MAX + 32];
        snprintf(cmd, sizeof(cmd), "umount -l '%s'", h.mount_point);
        run(cmd);
        assert_false(mountinfo_find(h.mount_point, &l));
        e->log.n = 0;
        reconcile(e, &d, 1);
        assert_int_equal(d.v[0].cls, HN_DRIFT_HELD_MOUNT_REMOVED);
        assert_string_equal(d.v[0].path, h.mount_point);
        assert_string_equal(d.v[0].image, h.image_path);
        assert_true(d.v[0].repaired);
        assert_string_equal(d.v[0].detail, "the image mount is gone (1 holders); re-mounted");
        assert_true(mountinfo_find(h.mount_point, &l));
        assert_string_equal(l.fstype, "squashfs");
        assert_image_content(h.mount_point, 0);
        assert_int_equal(corrected(e), 1);
        uint32_t n;
        assert_int_equal(hn_mount_refcount(e->m, e->image[0], &n, NULL), 0);
        assert_int_equal(n, 1);
        reconcile(e, &d, 0); /* repaired: nothing more */
        /* and the state still works: release, the hold expires, all gone */
        assert_int_equal(hn_mount_release(e->m, &h, NULL), 0);
        for (int i = 0; i < 300 && mountinfo_find(h.mount_point, &l); i++)
                usleep(10000);
        assert_false(mountinfo_find(h.mount_point, &l));
        assert_true(wait_loops_gone(e->image[0], 3000));
        reconcile(e, &d, 0); /* the manager's own unmount is no drift */
        /* nor is a forced one (it needs an emergency) */
        assert_int_equal(hn_mount_acquire(e->m, e->image[0], "a2", &h, NULL), 0);
        assert_int_equal(hn_emergency_begin(e->emergency, "operator:test", "drift test", 60, NULL), 0);
        assert_int_equal(hn_mount_force_unmount(e->m, e->image[0], NULL), 0);
        assert_int_equal(hn_emergency_end(e->emergency, "operator:test", NULL), 0);
        assert_false(mountinfo_find(h.mount_point, &l));
        reconcile(e, &d, 0);
}

/* umount -l of a live allocation's bind: re-bound. */
static void lazy_bind_umount_is_rebound(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h1, h2;
        struct drifts d;
        struct mnt_line l;
        assert_int_equal(hn_mount_acquire(e->m, e->image[1], "a1", &h1, NULL), 0);
        assert_int_equal(hn_mount_acquire(e->m, e->image[1], "a2", &h2, NULL), 0);
        char cmd[PATH_MAX + 32];
        snprintf(cmd, sizeof(cmd), "umount -l '%s'", h2.bind_path);
        run(cmd);
        reconcile(e, &d, 1);
        assert_int_equal(d.v[0].cls, HN_DRIFT_BIND_REMOVED);
        assert_string_equal(d.v[0].path, h2.bind_path);
        assert_string_equal(d.v[0].detail, "allocation a2's bind is gone; re-bound");
        assert_true(d.v[0].repaired);
        assert_true(mountinfo_find(h2.bind_path, &l));
        assert_true(has_options(l.options, "ro,nosuid,nodev"));
        assert_image_content(h2.bind_path, 1);
        uint32_t n;
        assert_int_equal(hn_mount_refcount(e->m, e->image[1], &n, NULL), 0);
        assert_int_equal(n, 2);
}

/* mount --move of a bind: reported as moved, re-bound in place; the moved
 * copy is left where it was put, and not reported again as foreign. */
static void moved_bind_is_rebound(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h;
        struct drifts d;
        struct mnt_line l;
        assert_int_equal(hn_mount_acquire(e->m, e->image[2], "a1", &h, NULL), 0);
        char elsewhere[PATH_MAX], cmd[2 * PATH_MAX + 32];
        snprintf(elsewhere, sizeof(elsewhere), "%s/stolen", e->workdir);
        assert_int_equal(mkdir(elsewhere, 0755), 0);
        snprintf(cmd, sizeof(cmd), "mount --move '%s' '%s'", h.bind_path, elsewhere);
        run(cmd);
        reconcile(e, &d, 1);
        assert_int_equal(d.v[0].cls, HN_DRIFT_MOVED);
        assert_string_equal(d.v[0].path, h.bind_path);
        char want[2 * PATH_MAX];
        snprintf(want, sizeof(want), "allocation a1's bind is now at %s; re-bound", elsewhere);
        assert_string_equal(d.v[0].detail, want);
        assert_true(mountinfo_find(h.bind_path, &l));
        assert_true(mountinfo_find(elsewhere, &l));
        reconcile(e, &d, 0);
        snprintf(cmd, sizeof(cmd), "umount '%s'", elsewhere);
        run(cmd);
}

/* A remount read-write of a bind: put back to read-only. */
static void remount_rw_is_undone(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h;
        struct drifts d;
        struct mnt_line l;
        assert_int_equal(hn_mount_acquire(e->m, e->image[1], "a1", &h, NULL), 0);
        char cmd[PATH_MAX + 64];
        snprintf(cmd, sizeof(cmd), "mount -o remount,bind,rw '%s'", h.bind_path);
        run(cmd);
        assert_true(mountinfo_find(h.bind_path, &l));
        assert_true(has_options(l.options, "rw"));
        reconcile(e, &d, 1);
        assert_int_equal(d.v[0].cls, HN_DRIFT_REMOUNTED);
        assert_string_equal(d.v[0].path, h.bind_path);
        assert_string_equal(d.v[0].detail, "the mount is no longer read-only; remounted read-only");
        assert_true(d.v[0].repaired);
        assert_true(mountinfo_find(h.bind_path, &l));
        assert_true(has_options(l.options, "ro,nosuid,nodev"));
        reconcile(e, &d, 0);
}

/* A foreign squashfs under the uenv base: reported once, never touched. */
static void foreign_mount_reported_once(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct drifts d;
        struct mnt_line l;
        char target[PATH_MAX], cmd[2 * PATH_MAX + 64];
        snprintf(target, sizeof(target), "%s/intruder", e->uenv);
        assert_int_equal(mkdir(target, 0755), 0);
        snprintf(cmd, sizeof(cmd), "mount -o loop,ro -t squashfs '%s' '%s'", e->image[3], target);
        run(cmd);
        reconcile(e, &d, 1);
        assert_int_equal(d.v[0].cls, HN_DRIFT_FOREIGN_MOUNT);
        assert_string_equal(d.v[0].path, target);
        assert_false(d.v[0].repaired);
        assert_non_null(strstr(d.v[0].detail, "not made by hpcnode"));
        reconcile(e, &d, 0); /* once */
        assert_true(mountinfo_find(target, &l)); /* untouched */
        snprintf(cmd, sizeof(cmd), "umount '%s'", target);
        run(cmd);
        reconcile(e, &d, 0);
        /* back again: reported again */
        snprintf(cmd, sizeof(cmd), "mount -o loop,ro -t squashfs '%s' '%s'", e->image[3], target);
        run(cmd);
        reconcile(e, &d, 1);
        snprintf(cmd, sizeof(cmd), "umount '%s'", target);
        run(cmd);
}

/* The allocation is gone (its workdir removed) with its bind: an
 * overcount, corrected without unmounting anything; the image then holds. */
static void gone_allocation_is_an_overcount(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h;
        struct drifts d;
        assert_int_equal(hn_mount_acquire(e->m, e->image[0], "job-7", &h, NULL), 0);
        char cmd[2 * PATH_MAX + 64];
        snprintf(cmd, sizeof(cmd), "umount '%s' && rm -rf '%s/job-7'", h.bind_path, e->workdir);
        run(cmd);
        reconcile(e, &d, 1);
        assert_int_equal(d.v[0].cls, HN_DRIFT_REFCOUNT_MISMATCH);
        assert_true(d.v[0].repaired);
        char want[PATH_MAX + 128];
        snprintf(want, sizeof(want), "allocation job-7 is gone (no %s/job-7): holder dropped, refcount 1 -> 0",
                 e->workdir);
        assert_string_equal(d.v[0].detail, want);
        uint32_t n;
        assert_int_equal(hn_mount_refcount(e->m, e->image[0], &n, NULL), 0);
        assert_int_equal(n, 0);
        struct hn_mount_info *list;
        size_t cnt;
        assert_int_equal(hn_mount_list(e->m, &list, &cnt, NULL), 0);
        assert_int_equal(cnt, 1);
        assert_true(list[0].holding); /* in its hold window, still mounted */
        hn_mount_list_free(list, cnt);
        struct mnt_line l;
        assert_true(mountinfo_find(h.mount_point, &l));
}

/* A loop device attached to a managed image that nothing mounts. */
static void leaked_loop_reported(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h;
        struct drifts d;
        assert_int_equal(hn_mount_acquire(e->m, e->image[1], "a1", &h, NULL), 0);
        char cmd[PATH_MAX + 64], out[64];
        snprintf(cmd, sizeof(cmd), "losetup -f --show -r '%s' > %s/leak", e->image[1], e->dir);
        run(cmd);
        snprintf(cmd, sizeof(cmd), "%s/leak", e->dir);
        assert_int_equal(read_text(cmd, out, sizeof(out)), 0);
        out[strcspn(out, "\n")] = '\0';
        reconcile(e, &d, 1);
        assert_int_equal(d.v[0].cls, HN_DRIFT_LOOP_LEAK);
        assert_string_equal(d.v[0].path, out);
        assert_string_equal(d.v[0].image, e->image[1]);
        assert_false(d.v[0].repaired);
        reconcile(e, &d, 0);
        snprintf(cmd, sizeof(cmd), "losetup -d %s", out);
        run(cmd);
}

/* The loop device detached behind the manager's back, then the bind and
 * the image unmounted: the manager still holds the image mount, so the
 * detach waits (autoclear) and the superblock lives; both come back on
 * the same loop device. */
static void detached_loop_then_umount_is_remounted(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h;
        struct drifts d;
        struct mnt_line l;
        assert_int_equal(hn_mount_acquire(e->m, e->image[2], "a1", &h, NULL), 0);
        assert_true(mountinfo_find(h.mount_point, &l));
        char cmd[2 * PATH_MAX + 64];
        snprintf(cmd, sizeof(cmd), "losetup -d '%s' && umount '%s' && umount -l '%s'", l.source, h.bind_path,
                 h.mount_point);
        run(cmd);
        assert_int_equal(loops_backing(e->image[2]), 1);
        reconcile(e, &d, 2);
        assert_int_equal(d.v[0].cls, HN_DRIFT_HELD_MOUNT_REMOVED);
        assert_int_equal(d.v[1].cls, HN_DRIFT_BIND_REMOVED);
        assert_true(d.v[0].repaired && d.v[1].repaired);
        assert_image_content(h.bind_path, 2);
        assert_int_equal(loops_backing(e->image[2]), 1);
}

/* A bind removed while no manager watched (the daemon was down): a fresh
 * manager's reconstruct sees the live allocation's empty bind directory
 * beside the binds the table shows (a0's, a2's), and the first reconcile
 * re-binds it. */
static void bind_removed_while_down_found_at_start(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h, h0, h2;
        struct drifts d;
        assert_int_equal(hn_mount_acquire(e->m, e->image[3], "a0", &h0, NULL), 0);
        assert_int_equal(hn_mount_acquire(e->m, e->image[3], "a1", &h, NULL), 0);
        assert_int_equal(hn_mount_acquire(e->m, e->image[3], "a2", &h2, NULL), 0);
        assert_int_equal(umount2(h.bind_path, 0), 0);
        struct hn_mount_manager *fresh;
        assert_int_equal(hn_mount_manager_new(&e->cfg, &fresh, NULL), 0);
        const char *live[] = { "a2", "a1", "a0" };
        assert_int_equal(hn_mount_reconstruct_state(fresh, live, 3, NULL), 0);
        uint32_t n;
        assert_int_equal(hn_mount_refcount(fresh, e->image[3], &n, NULL), 0);
        assert_int_equal(n, 3);
        d = (struct drifts){ 0 };
        assert_int_equal(hn_mount_reconcile(fresh, collect, &d, NULL), 1);
        assert_int_equal(d.v[0].cls, HN_DRIFT_BIND_REMOVED);
        assert_true(d.v[0].repaired);
        assert_image_content(h.bind_path, 3);
        hn_mount_manager_free(fresh);
}

/* An image's mount and every bind of it gone while no manager watched:
 * nothing in the table names the image any more, only the record on the
 * live allocations' bind directories. A fresh manager's reconstruct knows
 * the image again from that record, with both allocations as holders, and
 * the first reconcile mounts it and binds it again for each. */
static void image_and_binds_gone_while_down_found_at_start(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h1, h2;
        struct drifts d;
        struct mnt_line l;
        assert_int_equal(hn_mount_acquire(e->m, e->image[3], "a1", &h1, NULL), 0);
        assert_int_equal(hn_mount_acquire(e->m, e->image[3], "a2", &h2, NULL), 0);
        assert_int_equal(umount2(h1.bind_path, 0), 0);
        assert_int_equal(umount2(h2.bind_path, 0), 0);
        assert_int_equal(umount2(h1.mount_point, MNT_DETACH), 0); /* the old manager still holds it open */
        assert_false(mountinfo_find(h1.mount_point, &l));
        struct hn_mount_manager *fresh;
        assert_int_equal(hn_mount_manager_new(&e->cfg, &fresh, NULL), 0);
        const char *live[] = { "a2", "a1" };
        assert_int_equal(hn_mount_reconstruct_state(fresh, live, 2, NULL), 0);
        struct hn_mount_info *list;
        size_t cnt;
        assert_int_equal(hn_mount_list(fresh, &list, &cnt, NULL), 0);
        assert_int_equal(cnt, 1);
        assert_string_equal(list[0].image_path, e->image[3]);
        assert_int_equal(list[0].refcount, 2);
        assert_string_equal(list[0].holders[0], "a1");
        assert_string_equal(list[0].holders[1], "a2");
        hn_mount_list_free(list, cnt);
        d = (struct drifts){ 0 };
        assert_true(hn_mount_reconcile(fresh, collect, &d, NULL) >= 1);
        assert_true(d.v[0].repaired);
        assert_image_content(h1.bind_path, 3);
        assert_image_content(h2.bind_path, 3);
        assert_true(mountinfo_find(h1.mount_point, &l));
        hn_mount_manager_free(fresh);
}

/* Mounts elsewhere are not ours to mention, however many. */
static void unrelated_mount_storm_is_silent(void **state) {
        struct mount_env *e = *state;
        REQUIRE_MOUNT_ENV();
        struct hn_mount_handle h;
        struct drifts d;
        assert_int_equal(hn_mount_acquire(e->m, e->image[0], "a1", &h, NULL), 0);
        char base[PATH_MAX], p[PATH_MAX + 32];
        snprintf(base, sizeof(base), "%s/elsewhere", e->dir);
        assert_int_equal(mkdir(base, 0755), 0);
        for (int i = 0; i < 1000; i++) {
                snprintf(p, sizeof(p), "%s/m%d", base, i);
                assert_int_equal(mkdir(p, 0755), 0);
                assert_int_equal(mount("none", p, "tmpfs", 0, "size=4k"), 0);
        }
        reconcile(e, &d, 0);
        for (int i = 0; i < 1000; i++) {
                snprintf(p, sizeof(p), "%s/m%d", base, i);
                assert_int_equal(umount2(p, 0), 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(held_image_umount_is_remounted, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(lazy_bind_umount_is_rebound, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(moved_bind_is_rebound, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(remount_rw_is_undone, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(foreign_mount_reported_once, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(gone_allocation_is_an_overcount, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(leaked_loop_reported, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(detached_loop_then_umount_is_remounted, mount_env_setup,
                                                mount_env_teardown),
                cmocka_unit_test_setup_teardown(image_and_binds_gone_while_down_found_at_start, mount_env_setup,
                                                mount_env_teardown),
                cmocka_unit_test_setup_teardown(bind_removed_while_down_found_at_start, mount_env_setup,
                                                mount_env_teardown),
                cmocka_unit_test_setup_teardown(unrelated_mount_storm_is_silent, mount_env_setup, mount_env_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("mount_drift", tests, NULL, NULL);
}
