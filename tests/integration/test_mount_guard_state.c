/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guard's state changed by one bind (hn_mount_guard_state_of, _add,
 * _remove_bind) against the whole state the kernel gives after the same
 * change (hn_mount_guard_state), on real loop devices and squashfs mounts
 * in a private mount namespace: what a mount call puts in force before
 * its reply must be exactly what the next pass would. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <hpcnode/mount_guard.h>

#include "mount_fixture.h"

static int byte_compare4(const void *a, const void *b) {
        return memcmp(a, b, 4);
}

static int byte_compare16(const void *a, const void *b) {
        return memcmp(a, b, 16);
}

/* The same set, in whatever order each was built. */
static void assert_same_set(const void *a, size_t na, const void *b, size_t nb, size_t size, const char *what) {
        if (na != nb)
                fail_msg("%s: %zu keys, the whole state has %zu", what, na, nb);
        void *x = malloc(na * size + 1), *y = malloc(nb * size + 1);
        assert_non_null(x);
        assert_non_null(y);
        memcpy(x, a, na * size);
        memcpy(y, b, nb * size);
        qsort(x, na, size, size == 4 ? byte_compare4 : byte_compare16);
        qsort(y, nb, size, size == 4 ? byte_compare4 : byte_compare16);
        if (memcmp(x, y, na * size) != 0)
                fail_msg("%s: the keys differ from the whole state's", what);
        free(x);
        free(y);
}

/* Each key of a is in b. */
static void assert_subset(const void *a, size_t na, const void *b, size_t nb, size_t size, const char *what) {
        for (size_t i = 0; i < na; i++) {
                bool found = false;
                for (size_t k = 0; k < nb && !found; k++)
                        found = !memcmp((const char *) a + i * size, (const char *) b + k * size, size);
                if (!found)
                        fail_msg("%s: key %zu of the part is not in the whole state", what, i);
        }
}

static void assert_same_guard(const struct hn_mount_guard *got, const struct hn_mount_guard *whole) {
        assert_same_set(got->held, got->n_held, whole->held, whole->n_held, 4, "held mounts");
        assert_same_set(got->ancestors, got->n_ancestors, whole->ancestors, whole->n_ancestors, 4, "ancestors");
        assert_same_set(got->dirs, got->n_dirs, whole->dirs, whole->n_dirs, 16, "directories");
        assert_same_set(got->loops, got->n_loops, whole->loops, whole->n_loops, 4, "loop devices");
        assert_same_set(got->images, got->n_images, whole->images, whole->n_images, 16, "image files");
        /* the names too, each once and in the same order (a merge keeps
         * them sorted by key and path) */
        if (got->n_names != whole->n_names)
                fail_msg("names: %zu, the whole state %zu", got->n_names, whole->n_names);
        for (size_t i = 0; i < got->n_names; i++) {
                const struct hn_mount_guard_name *a = &got->names[i], *b = &whole->names[i];
                if (a->kind != b->kind || a->id != b->id || a->ino != b->ino || strcmp(a->path, b->path) != 0)
                        fail_msg("name %zu: %s (%u %u %llu), the whole state %s (%u %u %llu)", i, a->path, a->kind,
                                 a->id, (unsigned long long) a->ino, b->path, b->kind, b->id,
                                 (unsigned long long) b->ino);
        }
}

static bool holds_id(const struct hn_mount_guard *g, uint32_t id) {
        for (size_t i = 0; i < g->n_held; i++)
                if (g->held[i] == id)
                        return true;
        return false;
}

static bool names_under(const struct hn_mount_guard *g, const char *prefix) {
        size_t n = strlen(prefix);
        for (size_t i = 0; i < g->n_names; i++)
                if (!strncmp(g->names[i].path, prefix, n) && (!g->names[i].path[n] || g->names[i].path[n] == '/'))
                        return true;
        return false;
}

static void acquire(struct mount_env *e, int image, const char *alloc, struct hn_mount_handle *h) {
        struct hn_error err = { 0 };
        if (hn_mount_acquire(e->m, e->image[image], alloc, h, &err) < 0)
                fail_msg("acquire %s for %s: %s", e->image[image], alloc, err.message);
}

static void release(struct mount_env *e, const struct hn_mount_handle *h) {
        struct hn_error err = { 0 };
        if (hn_mount_release(e->m, h, &err) < 0)
                fail_msg("release %s: %s", h->bind_path, err.message);
}

static void whole(struct mount_env *e, struct hn_mount_guard *g) {
        struct hn_error err = { 0 };
        if (hn_mount_guard_state(e->m, g, &err) < 0)
                fail_msg("guard state: %s", err.message);
}

/* Acquire: the state before, with the new bind's part added, is the
 * whole state after; the part holds that bind and the image's mount, and
 * no other allocation's bind. */
static void acquire_part_added_is_the_whole_state(void **state) {
        REQUIRE_MOUNT_ENV();
        struct mount_env *e = *state;
        struct hn_mount_handle h1, h2, h3;
        struct hn_mount_guard g, part, after;
        struct hn_error err = { 0 };
        struct mnt_line b1, b3, img;
        acquire(e, 0, "job-1", &h1);
        acquire(e, 1, "job-2", &h2);
        whole(e, &g);
        acquire(e, 0, "job-3", &h3); /* a second holder of a mounted image */
        assert_int_equal(hn_mount_guard_state_of(e->m, e->image[0], "job-3", &part, &err), 0);
        assert_true(mountinfo_find(h1.bind_path, &b1));
        assert_true(mountinfo_find(h3.bind_path, &b3));
        assert_true(mountinfo_find(h3.mount_point, &img));
        assert_true(holds_id(&part, (uint32_t) b3.id));
        assert_true(holds_id(&part, (uint32_t) img.id));
        assert_false(holds_id(&part, (uint32_t) b1.id));
        assert_int_equal(part.n_loops, 1);
        assert_int_equal(part.n_images, 1);
        assert_int_equal(hn_mount_guard_add(&g, &part, &err), 0);
        assert_int_equal(part.n_names, 0); /* consumed */
        whole(e, &after);
        assert_same_guard(&g, &after);
        assert_true(names_under(&g, h3.bind_path));
        hn_mount_guard_free(&after);
        /* the first acquire of an image: its mount, loop and file come too */
        struct hn_mount_handle h4;
        acquire(e, 2, "job-4", &h4);
        assert_int_equal(hn_mount_guard_state_of(e->m, e->image[2], "job-4", &part, &err), 0);
        assert_int_equal(hn_mount_guard_add(&g, &part, &err), 0);
        whole(e, &after);
        assert_same_guard(&g, &after);
        assert_int_equal(g.n_loops, 3);
        hn_mount_guard_free(&g);
        hn_mount_guard_free(&after);
}

/* Release: the state before without the bind is the whole state after.
 * While the allocation holds another image its directories stay guarded;
 * with its last bind they go. */
static void release_takes_exactly_the_bind(void **state) {
        REQUIRE_MOUNT_ENV();
        struct mount_env *e = *state;
        struct hn_mount_handle a0, a1, b0;
        struct hn_mount_guard g, after;
        struct hn_error err = { 0 };
        char alloc_dir[PATH_MAX];
        acquire(e, 0, "job-1", &a0);
        acquire(e, 1, "job-1", &a1);
        acquire(e, 0, "job-2", &b0);
        snprintf(alloc_dir, sizeof(alloc_dir), "%s/job-1", e->workdir);
        whole(e, &g);
        release(e, &a0);
        assert_int_equal(hn_mount_guard_remove_bind(e->m, &g, e->image[0], "job-1", &err), 0);
        whole(e, &after);
        assert_same_guard(&g, &after);
        assert_false(names_under(&g, a0.bind_path));
        assert_true(names_under(&g, alloc_dir)); /* job-1 still holds image 1 */
        hn_mount_guard_free(&after);
        /* job-1's last bind: its workdir and uenv directories go too */
        release(e, &a1);
        assert_int_equal(hn_mount_guard_remove_bind(e->m, &g, e->image[1], "job-1", &err), 0);
        whole(e, &after);
        assert_same_guard(&g, &after);
        assert_false(names_under(&g, alloc_dir));
        assert_true(names_under(&g, b0.bind_path));
        hn_mount_guard_free(&g);
        hn_mount_guard_free(&after);
}

/* Binds acquired and released one after another, each change made by
 * its part: the state's names stay the whole state's, however many come
 * and go between whole states (each part's names on the shared way, /
 * and the bases, were added again at every acquire and never taken away:
 * a release's scan and the memory grew with every mount call until the
 * next reconcile pass). */
static void names_stay_the_whole_states_over_many_binds(void **state) {
        REQUIRE_MOUNT_ENV();
        struct mount_env *e = *state;
        struct hn_mount_handle kept, h;
        struct hn_mount_guard g, part, after;
        struct hn_error err = { 0 };
        acquire(e, 1, "job-kept", &kept);
        whole(e, &g);
        size_t names = g.n_names;
        for (int i = 0; i < 20; i++) {
                char alloc[32];
                snprintf(alloc, sizeof(alloc), "job-%d", i);
                acquire(e, 0, alloc, &h);
                assert_int_equal(hn_mount_guard_state_of(e->m, e->image[0], alloc, &part, &err), 0);
                assert_int_equal(hn_mount_guard_add(&g, &part, &err), 0);
                release(e, &h);
                assert_int_equal(hn_mount_guard_remove_bind(e->m, &g, e->image[0], alloc, &err), 0);
        }
        whole(e, &after);
        assert_same_guard(&g, &after); /* names included: as many, the same */
        /* image 0 stays mounted for its hold time: its mount's names came */
        assert_true(g.n_names > names);
        assert_true(g.n_names < names + 20);
        hn_mount_guard_free(&g);
        hn_mount_guard_free(&after);
}

/* A pass and the guard from one read of the table: the whole state
 * (hn_mount_guard_state) when the pass found nothing; after a repair, the
 * state with the repaired bind (its new mount), read again. */
static void pass_and_guard_from_one_read(void **state) {
        REQUIRE_MOUNT_ENV();
        struct mount_env *e = *state;
        struct hn_mount_handle h1, h2;
        struct hn_mount_guard g = { 0 }, want = { 0 };
        struct hn_error err = { 0 };
        struct mnt_line before, after;
        acquire(e, 0, "job-1", &h1);
        acquire(e, 1, "job-2", &h2);
        assert_int_equal(hn_mount_reconcile_guard(e->m, NULL, NULL, &g, &err), 0);
        whole(e, &want);
        assert_same_guard(&g, &want);
        hn_mount_guard_free(&g);
        hn_mount_guard_free(&want);
        assert_true(mountinfo_find(h2.bind_path, &before));
        assert_int_equal(umount2(h2.bind_path, MNT_DETACH), 0);
        /* the freed mount id taken by another mount, so the rebind's differs */
        char other[256];
        snprintf(other, sizeof(other), "%s/other", e->dir);
        assert_int_equal(mkdir(other, 0755), 0);
        assert_int_equal(mount("hn-other", other, "tmpfs", 0, "size=4k"), 0);
        assert_int_equal(hn_mount_reconcile_guard(e->m, NULL, NULL, &g, &err), 1); /* rebound */
        assert_true(mountinfo_find(h2.bind_path, &after));
        assert_int_not_equal(after.id, before.id);
        assert_true(holds_id(&g, (uint32_t) after.id));
        assert_false(holds_id(&g, (uint32_t) before.id));
        whole(e, &want);
        assert_same_guard(&g, &want);
        hn_mount_guard_free(&g);
        hn_mount_guard_free(&want);
        assert_int_equal(hn_mount_reconcile_guard(e->m, NULL, NULL, NULL, &err), -EINVAL);
}

/* A part is built from the table the last whole state was read from, not
 * from a fresh read: still exactly the whole state after the change when
 * a mount id freed since was taken again by the new bind, and when a
 * mount stacked on the way since makes that table wrong (the part is
 * then read afresh). */
static void part_from_the_kept_table_is_the_whole_state(void **state) {
        REQUIRE_MOUNT_ENV();
        struct mount_env *e = *state;
        struct hn_mount_handle h1, h2, h3;
        struct hn_mount_guard g, part, after;
        struct hn_error err = { 0 };
        struct mnt_line b1, b2, shared, self;
        char other[256];
        snprintf(other, sizeof(other), "%s/other", e->dir);
        assert_int_equal(mkdir(other, 0755), 0);
        assert_int_equal(mount("hn-other", other, "tmpfs", 0, "size=4k"), 0);
        assert_int_equal(mount(NULL, other, NULL, MS_SHARED, NULL), 0);
        assert_true(mountinfo_find(other, &shared));
        acquire(e, 0, "job-1", &h1);
        assert_true(mountinfo_find(h1.bind_path, &b1));
        whole(e, &g);
        release(e, &h1);
        assert_int_equal(hn_mount_guard_remove_bind(e->m, &g, e->image[0], "job-1", &err), 0);
        /* the image stays mounted (its hold): the new bind may get b1's id */
        acquire(e, 0, "job-2", &h2);
        assert_true(mountinfo_find(h2.bind_path, &b2));
        assert_int_equal(hn_mount_guard_state_of(e->m, e->image[0], "job-2", &part, &err), 0);
        assert_true(holds_id(&part, (uint32_t) b2.id));
        assert_int_equal(hn_mount_guard_add(&g, &part, &err), 0);
        whole(e, &after);
        assert_same_guard(&g, &after);
        hn_mount_guard_free(&after);
        hn_mount_guard_free(&g);
        /* The shared tmpfs unmounted and the workdir bound onto itself: a
         * mount on the way that the kept table has not, with the freed id
         * that the kept table gives to the shared tmpfs elsewhere. Taken
         * from that table, the part would guard the workdir's directories
         * in the tmpfs's peer group. What was added before is now seen
         * through another mount (the next pass's whole state replaces
         * it); the part must say only what the whole state says. */
        assert_int_equal(umount2(other, 0), 0);
        assert_int_equal(mount(e->workdir, e->workdir, NULL, MS_BIND, NULL), 0);
        assert_true(mountinfo_find(e->workdir, &self));
        if (self.id != shared.id)
                fail_msg("the self-bind got mount id %d, not the freed %d: the kernel reuses the lowest free id",
                         self.id, shared.id);
        acquire(e, 1, "job-3", &h3);
        assert_int_equal(hn_mount_guard_state_of(e->m, e->image[1], "job-3", &part, &err), 0);
        whole(e, &after);
        assert_subset(part.held, part.n_held, after.held, after.n_held, 4, "held mounts");
        assert_subset(part.ancestors, part.n_ancestors, after.ancestors, after.n_ancestors, 4, "ancestors");
        assert_subset(part.dirs, part.n_dirs, after.dirs, after.n_dirs, 16, "directories");
        assert_int_equal(part.n_held, 2); /* image 1's first: its mount and the bind */
        assert_int_equal(part.n_loops, 1);
        assert_int_equal(part.n_images, 1);
        hn_mount_guard_free(&part);
        hn_mount_guard_free(&after);
        assert_int_equal(umount2(e->workdir, MNT_DETACH), 0);
}

/* The first drift a pass reports, and how many. */
struct drifts {
        unsigned n;
        struct {
                enum hn_drift_class cls;
                char path[PATH_MAX];
        } v[1];
};

static void collect(const struct hn_drift *d, void *userdata) {
        struct drifts *x = userdata;
        if (x->n++ == 0) {
                x->v[0].cls = d->cls;
                snprintf(x->v[0].path, sizeof(x->v[0].path), "%s", d->path);
        }
}

static int parts_pass(struct mount_env *e, struct hn_mount_guard *g, bool *whole) {
        struct hn_error err = { 0 };
        *g = (struct hn_mount_guard){ .n_held = 777 }; /* untouched unless whole */
        int r = hn_mount_reconcile_parts(e->m, NULL, NULL, g, whole, &err);
        if (r < 0)
                fail_msg("pass: %s", err.message);
        return r;
}

/* A pass after the manager's own binds, each guarded by its part, reads
 * nothing more and gives no new state; so does one after mounts away from
 * the bases and the held images (made, remounted, gone). Any other change
 * of the table (a mount under a base or on the way to one or to a held
 * image's file, a bind of its unmounted,
 * remounted or made shared, an own bind with no part, an image unmounted)
 * makes it whole, and the drift is found as before. */
static void pass_after_own_guarded_binds_alone_reads_no_more(void **state) {
        REQUIRE_MOUNT_ENV();
        struct mount_env *e = *state;
        struct hn_mount_handle h1, h2, h3;
        struct hn_mount_guard g, part, state_now;
        struct hn_error err = { 0 };
        bool is_whole;
        acquire(e, 0, "job-1", &h1);
        assert_int_equal(parts_pass(e, &g, &is_whole), 0);
        assert_true(is_whole); /* no whole state yet */
        /* an acquire and its part, a release and its part: nothing more */
        acquire(e, 0, "job-2", &h2);
        assert_int_equal(hn_mount_guard_state_of(e->m, e->image[0], "job-2", &part, &err), 0);
        assert_int_equal(hn_mount_guard_add(&g, &part, &err), 0);
        assert_int_equal(parts_pass(e, &state_now, &is_whole), 0);
        assert_false(is_whole);
        assert_int_equal(state_now.n_held, 777);
        struct mnt_line b2, b4;
        assert_true(mountinfo_find(h2.bind_path, &b2));
        release(e, &h2);
        assert_int_equal(hn_mount_guard_remove_bind(e->m, &g, e->image[0], "job-2", &err), 0);
        /* before any pass, the released bind's mount id given back to the
         * next own bind */
        struct hn_mount_handle h4;
        acquire(e, 0, "job-4", &h4);
        assert_true(mountinfo_find(h4.bind_path, &b4));
        if (b4.id != b2.id)
                fail_msg("job-4's bind got mount id %d, not the freed %d", b4.id, b2.id);
        assert_int_equal(hn_mount_guard_state_of(e->m, e->image[0], "job-4", &part, &err), 0);
        assert_int_equal(hn_mount_guard_add(&g, &part, &err), 0);
        assert_int_equal(parts_pass(e, &state_now, &is_whole), 0);
        assert_false(is_whole);
        release(e, &h4);
        assert_int_equal(hn_mount_guard_remove_bind(e->m, &g, e->image[0], "job-4", &err), 0);
        assert_int_equal(parts_pass(e, &state_now, &is_whole), 0);
        assert_false(is_whole);
        /* what the parts made is the whole state */
        struct hn_mount_guard want;
        whole(e, &want);
        assert_same_guard(&g, &want);
        hn_mount_guard_free(&want);
        hn_mount_guard_free(&g);
        /* an own bind whose part was never taken */
        acquire(e, 1, "job-3", &h3);
        assert_int_equal(parts_pass(e, &g, &is_whole), 0);
        assert_true(is_whole);
        hn_mount_guard_free(&g);
        /* a mount not the manager's, away from the bases (a container
         * runtime's): made, remounted, and another gone, with nothing
         * more read and the state as it was */
        char other[256], away[300];
        snprintf(other, sizeof(other), "%s/other", e->dir);
        snprintf(away, sizeof(away), "%s/away", e->dir);
        assert_int_equal(mkdir(other, 0755), 0);
        assert_int_equal(mkdir(away, 0755), 0);
        assert_int_equal(mount("hn-away", away, "tmpfs", 0, "size=4k"), 0);
        whole(e, &g); /* away is in the whole state's table */
        hn_mount_guard_free(&g);
        assert_int_equal(mount("hn-other", other, "tmpfs", 0, "size=4k"), 0);
        assert_int_equal(mount(NULL, away, NULL, MS_REMOUNT | MS_RDONLY, "size=4k"), 0);
        assert_int_equal(parts_pass(e, &g, &is_whole), 0);
        assert_false(is_whole);
        assert_int_equal(g.n_held, 777);
        assert_int_equal(umount2(away, 0), 0);
        assert_int_equal(parts_pass(e, &g, &is_whole), 0);
        assert_false(is_whole);
        /* one over the held images' directory, away from the bases
         * (another file could stand where an image was): whole */
        assert_int_equal(mount("hn-images", e->images, "tmpfs", 0, "size=4k"), 0);
        assert_true(parts_pass(e, &g, &is_whole) >= 0);
        assert_true(is_whole);
        hn_mount_guard_free(&g);
        assert_int_equal(umount2(e->images, 0), 0);
        assert_true(parts_pass(e, &g, &is_whole) >= 0);
        assert_true(is_whole); /* gone from there: whole too */
        hn_mount_guard_free(&g);
        /* one under a base: foreign, found by a whole pass */
        char under[PATH_MAX];
        snprintf(under, sizeof(under), "%s/not-an-allocation", e->workdir);
        assert_int_equal(mkdir(under, 0755), 0);
        assert_int_equal(mount("hn-under", under, "tmpfs", 0, "size=4k"), 0);
        struct drifts found = { 0 };
        assert_int_equal(hn_mount_reconcile_parts(e->m, collect, &found, &g, &is_whole, &err), 1);
        assert_true(is_whole);
        assert_int_equal(found.v[0].cls, HN_DRIFT_FOREIGN_MOUNT);
        assert_string_equal(found.v[0].path, under);
        hn_mount_guard_free(&g);
        assert_int_equal(umount2(under, 0), 0);
        assert_int_equal(parts_pass(e, &g, &is_whole), 0);
        assert_true(is_whole); /* gone from under a base: whole too */
        hn_mount_guard_free(&g);
        assert_int_equal(parts_pass(e, &g, &is_whole), 0);
        assert_false(is_whole); /* nothing since */
        /* an own bind, its part taken, made shared before the pass read
         * the table: not as the manager made it */
        struct hn_mount_handle h5;
        acquire(e, 2, "job-5", &h5);
        assert_int_equal(hn_mount_guard_state_of(e->m, e->image[2], "job-5", &part, &err), 0);
        hn_mount_guard_free(&part);
        assert_int_equal(mount(NULL, h5.bind_path, NULL, MS_SHARED, NULL), 0);
        assert_int_equal(parts_pass(e, &g, &is_whole), 1);
        assert_true(is_whole);
        hn_mount_guard_free(&g);
        /* a held bind made shared, then one unmounted: drift, repaired */
        assert_int_equal(mount(NULL, h1.bind_path, NULL, MS_SHARED, NULL), 0);
        assert_int_equal(parts_pass(e, &g, &is_whole), 1);
        assert_true(is_whole);
        hn_mount_guard_free(&g);
        assert_int_equal(umount2(h3.bind_path, MNT_DETACH), 0);
        assert_int_equal(parts_pass(e, &g, &is_whole), 1);
        assert_true(is_whole);
        hn_mount_guard_free(&g);
        /* the manager's bind removed (its part taken), its mount id then
         * taken by a mount at another place: not the manager's */
        struct mnt_line b1, reused;
        assert_true(mountinfo_find(h1.bind_path, &b1));
        whole(e, &g);
        release(e, &h1);
        assert_int_equal(hn_mount_guard_remove_bind(e->m, &g, e->image[0], "job-1", &err), 0);
        assert_int_equal(umount2(other, 0), 0);
        assert_int_equal(mount("hn-other", other, "tmpfs", 0, "size=4k"), 0);
        assert_true(mountinfo_find(other, &reused));
        if (reused.id != b1.id)
                fail_msg("the tmpfs got mount id %d, not the freed %d: the kernel reuses the lowest free id", reused.id,
                         b1.id);
        assert_int_equal(parts_pass(e, &state_now, &is_whole), 0);
        assert_true(is_whole);
        hn_mount_guard_free(&state_now);
        hn_mount_guard_free(&g);
        assert_int_equal(umount2(other, 0), 0);
        /* a mount on the way to the bases (over their parent, hiding
         * them; the only change of the table): whole */
        assert_int_equal(parts_pass(e, &g, &is_whole), 0);
        hn_mount_guard_free(&g);
        assert_int_equal(mount("hn-over", e->dir, "tmpfs", 0, "size=4k"), 0);
        int r = hn_mount_reconcile_parts(e->m, NULL, NULL, &g, &is_whole, &err);
        assert_int_equal(umount2(e->dir, MNT_DETACH), 0);
        assert_true(r >= 0);
        assert_true(is_whole);
        hn_mount_guard_free(&g);
}

/* Bad input is refused before anything is read or changed. */
static void bad_input_refused(void **state) {
        REQUIRE_MOUNT_ENV();
        struct mount_env *e = *state;
        struct hn_mount_handle h;
        struct hn_mount_guard g = { .n_held = 7 }, whole_state;
        struct hn_error err = { 0 };
        assert_int_equal(hn_mount_guard_state_of(e->m, e->image[0], "../job", &g, &err), -EINVAL);
        assert_int_equal(err.kind, HN_ERR_INVALID_ARGUMENT);
        assert_int_equal(g.n_held, 7);
        acquire(e, 0, "job-1", &h);
        whole(e, &whole_state);
        size_t held = whole_state.n_held, dirs = whole_state.n_dirs, names = whole_state.n_names;
        err = (struct hn_error){ 0 };
        assert_int_equal(hn_mount_guard_remove_bind(e->m, &whole_state, e->image[0], "", &err), -EINVAL);
        assert_int_equal(err.kind, HN_ERR_INVALID_ARGUMENT);
        assert_int_equal(whole_state.n_held, held);
        assert_int_equal(whole_state.n_dirs, dirs);
        assert_int_equal(whole_state.n_names, names);
        err = (struct hn_error){ 0 };
        assert_int_equal(hn_mount_guard_add(&whole_state, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.message, "NULL"));
        assert_int_equal(whole_state.n_held, held);
        /* an empty part changes nothing */
        struct hn_mount_guard nothing = { 0 };
        assert_int_equal(hn_mount_guard_add(&whole_state, &nothing, &err), 0);
        assert_int_equal(whole_state.n_held, held);
        assert_int_equal(whole_state.n_dirs, dirs);
        assert_int_equal(whole_state.n_names, names);
        hn_mount_guard_free(&whole_state);
        /* an image nobody holds: an empty part, not an error */
        assert_int_equal(hn_mount_guard_state_of(e->m, e->image[3], "job-9", &g, &err), 0);
        assert_int_equal(g.n_held, 0);
        assert_int_equal(g.n_loops, 0);
        hn_mount_guard_free(&g);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(acquire_part_added_is_the_whole_state, mount_env_setup,
                                                mount_env_teardown),
                cmocka_unit_test_setup_teardown(release_takes_exactly_the_bind, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(names_stay_the_whole_states_over_many_binds, mount_env_setup,
                                                mount_env_teardown),
                cmocka_unit_test_setup_teardown(pass_and_guard_from_one_read, mount_env_setup, mount_env_teardown),
                cmocka_unit_test_setup_teardown(part_from_the_kept_table_is_the_whole_state, mount_env_setup,
                                                mount_env_teardown),
                cmocka_unit_test_setup_teardown(pass_after_own_guarded_binds_alone_reads_no_more, mount_env_setup,
                                                mount_env_teardown),
                cmocka_unit_test_setup_teardown(bad_input_refused, mount_env_setup, mount_env_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("mount_guard_state", tests, NULL, NULL);
}
