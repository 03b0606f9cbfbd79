/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One manager, many threads (the seed's trait is Send + Sync). */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "fixture.h"

#define THREADS 8
#define ROUNDS 25

struct worker {
        struct thread_tally tally; /* first: run_workers reads it */
        struct env *env;
        int id;
};

static void *work(void *arg) {
        struct worker *w = arg;
        char *argv[] = { (char *) helper_path(), "sleep", NULL };
        for (int j = 0; j < ROUNDS; j++) {
                struct hn_cgroup_handle h;
                struct hn_error err = { 0 };
                char name[32];
                pid_t pid;
                bool empty = false;
                snprintf(name, sizeof(name), "t%d-%d", w->id, j);
                if (hn_cgroup_create_scope(w->env->workload, "workload.slice", name, NULL, &h, &err) < 0 ||
                    hn_cgroup_spawn(w->env->workload, &h, argv, &pid, &err) < 0 ||
                    hn_cgroup_destroy_scope(w->env->workload, &h, &err) < 0 ||
                    hn_cgroup_is_scope_empty(w->env->workload, &h, &empty, &err) != -ENOENT) {
                        tally_fail(&w->tally, err.message);
                        continue;
                }
                int status;
                if (wait_pid_ms(pid, 5000, &status) != pid || !WIFSIGNALED(status))
                        tally_fail(&w->tally, "the spawned process did not die of a signal");
        }
        return NULL;
}

static int count_scopes(const char *dir) {
        DIR *d = opendir(dir);
        int n = 0;
        struct dirent *de;
        while (d && (de = readdir(d)))
                n += de->d_type == DT_DIR && de->d_name[0] != '.';
        if (d)
                closedir(d);
        return n;
}

static void threads_share_one_manager(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        hn_cgroup_manager_set_audit(e->workload, NULL, NULL); /* the test's log is not thread-safe */
        struct worker w[THREADS];
        for (int i = 0; i < THREADS; i++)
                w[i] = (struct worker){ .env = e, .id = i };
        assert_int_equal(run_workers(work, w, THREADS, sizeof(w[0])), 0);
        assert_int_equal(count_scopes(env_path(e, "workload.slice")), 0);
}

struct racer {
        struct env *env;
        int result;
};

static void *race(void *arg) {
        struct racer *r = arg;
        struct hn_cgroup_handle h;
        r->result = hn_cgroup_create_scope(r->env->workload, "workload.slice", "contended", NULL, &h, NULL);
        return NULL;
}

/* The kernel's mkdir decides: exactly one creator wins, the rest get EEXIST. */
static void racing_creates_have_one_winner(void **state) {
        struct env *e = *state;
        require_root_cgroup2();
        hn_cgroup_manager_set_audit(e->workload, NULL, NULL);
        for (int round = 0; round < 20; round++) {
                pthread_t t[4];
                struct racer r[4];
                for (int i = 0; i < 4; i++) {
                        r[i] = (struct racer){ .env = e };
                        pthread_create(&t[i], NULL, race, &r[i]);
                }
                int won = 0, exists = 0;
                for (int i = 0; i < 4; i++) {
                        pthread_join(t[i], NULL);
                        won += r[i].result == 0;
                        exists += r[i].result == -EEXIST;
                }
                assert_int_equal(won, 1);
                assert_int_equal(exists, 3);
                struct hn_cgroup_handle h;
                snprintf(h.path, sizeof(h.path), "%s", env_path(e, "workload.slice/contended.scope"));
                assert_int_equal(hn_cgroup_destroy_scope(e->workload, &h, NULL), 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(threads_share_one_manager, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(racing_creates_have_one_winner, env_setup, env_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("cgroup_threads", tests, NULL, NULL);
}
