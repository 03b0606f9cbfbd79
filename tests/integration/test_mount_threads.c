/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WI2 under load: 8 threads x 500 random acquire/release on 4 images end
 * with every refcount equal to the binds in the kernel's table, and no
 * loop device left once everything is released and the holds expire. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mount_fixture.h"

#define THREADS 8
#define OPS 500
#define ALLOCS_PER_THREAD 4

struct worker {
        struct thread_tally tally; /* first: run_workers reads it */
        struct mount_env *e;
        int id;
        unsigned seed;
        bool held[ALLOCS_PER_THREAD][4];
        struct hn_mount_handle h[ALLOCS_PER_THREAD][4];
};

static void *work(void *arg) {
        struct worker *w = arg;
        for (int op = 0; op < OPS; op++) {
                int a = rand_r(&w->seed) % ALLOCS_PER_THREAD, i = rand_r(&w->seed) % 4;
                struct hn_error err = { 0 };
                int r;
                if (w->held[a][i]) {
                        r = hn_mount_release(w->e->m, &w->h[a][i], &err);
                        if (r == 0)
                                w->held[a][i] = false;
                } else {
                        char alloc[32];
                        snprintf(alloc, sizeof(alloc), "t%d-a%d", w->id, a);
                        r = hn_mount_acquire(w->e->m, w->e->image[i], alloc, &w->h[a][i], &err);
                        if (r == 0)
                                w->held[a][i] = true;
                }
                if (r < 0)
                        tally_fail(&w->tally, err.message);
        }
        return NULL;
}

static void random_load_keeps_counts_exact(void **state) {
        struct mount_env *e = *state;
        const char *why = mount_ns_enter();
        if (why)
                SKIP_BECAUSE("%s", why);
        hn_mount_manager_set_audit(e->m, NULL, NULL); /* the test log is single-threaded */
        static struct worker w[THREADS];
        for (int i = 0; i < THREADS; i++) {
                memset(&w[i], 0, sizeof(w[i]));
                w[i].e = e;
                w[i].id = i;
                w[i].seed = 1234u + (unsigned) i;
        }
        assert_int_equal(run_workers(work, w, THREADS, sizeof(w[0])), 0);

        /* refcount == what the threads hold == binds in the kernel's table */
        int total_binds = 0;
        for (int i = 0; i < 4; i++) {
                unsigned held = 0;
                for (int k = 0; k < THREADS; k++)
                        for (int a = 0; a < ALLOCS_PER_THREAD; a++)
                                held += w[k].held[a][i];
                uint32_t n = 0;
                int r = hn_mount_refcount(e->m, e->image[i], &n, NULL);
                assert_true(r == 0 || (r == -ENOENT && held == 0));
                assert_int_equal(n, held);
                /* binds of image i: the workdir mounts whose name is its name */
                struct hn_mount_info *list;
                size_t cnt;
                assert_int_equal(hn_mount_list(e->m, &list, &cnt, NULL), 0);
                for (size_t j = 0; j < cnt; j++)
                        if (strcmp(list[j].image_path, e->image[i]) == 0) {
                                const char *name = strrchr(list[j].mount_point, '/');
                                int binds = 0;
                                for (int k = 0; k < THREADS; k++)
                                        for (int a = 0; a < ALLOCS_PER_THREAD; a++) {
                                                char p[PATH_MAX];
                                                struct mnt_line l;
                                                snprintf(p, sizeof(p), "%s/t%d-a%d/uenv%s", e->workdir, k, a, name);
                                                binds += mountinfo_find(p, &l);
                                        }
                                assert_int_equal(binds, (int) held);
                                /* exactly one loop device per mounted image */
                                assert_int_equal(loops_backing(e->image[i]), 1);
                        }
                hn_mount_list_free(list, cnt);
                total_binds += (int) held;
        }
        assert_int_equal(mounts_below(e->workdir), total_binds);
        printf("# %d binds held at the end over 4 images\n", total_binds);

        /* release everything; after the hold, nothing is left */
        for (int k = 0; k < THREADS; k++)
                for (int a = 0; a < ALLOCS_PER_THREAD; a++)
                        for (int i = 0; i < 4; i++)
                                if (w[k].held[a][i])
                                        assert_int_equal(hn_mount_release(e->m, &w[k].h[a][i], NULL), 0);
        for (int i = 0; i < 300 && mounts_below(e->uenv) + mounts_below(e->workdir) > 0; i++)
                usleep(10000);
        assert_int_equal(mounts_below(e->uenv) + mounts_below(e->workdir), 0);
        assert_true(wait_loops_gone(e->dir, 3000));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(random_load_keeps_counts_exact, mount_env_setup, mount_env_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("mount_threads", tests, NULL, NULL);
}
