/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hn-demo: what libhpcnode does, on the real kernel, in a scratch root that
 * is removed again. Until hpcnoded exists, this is `make run`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hpcnode/cgroup.h>

static void print_audit(const struct hn_audit_record *r, void *userdata) {
        (void) userdata;
        printf("  audit: %-16s %-8s caller=%-8s owner=%-8s %s%s%s\n", r->action, hn_audit_outcome_name(r->outcome),
               hn_slice_owner_name(r->caller), hn_slice_owner_name(r->target_owner), r->path,
               r->detail ? "  -- " : "", r->detail ? r->detail : "");
}

static void print_tree(struct hn_cgroup_manager *m, const char *abs, int depth) {
        struct hn_cgroup_metrics mt;
        struct hn_error err;
        const char *name = strrchr(abs, '/') + 1;
        if (hn_cgroup_read_metrics(m, abs, &mt, &err) < 0) {
                printf("%*s%s  (%s)\n", depth * 2, "", name, err.message);
                return;
        }
        printf("%*s%-*s owner=%-8s procs=%-3" PRIu32 " cpu=%" PRIu64 "us", depth * 2, "", 28 - depth * 2,
               depth ? name : abs, hn_slice_owner_name(hn_slice_owner(abs + strlen(hn_cgroup_manager_root(m)))),
               mt.nr_processes, mt.cpu_usage_usec);
        if (mt.has_memory)
                printf(" mem=%" PRIu64, mt.memory_current);
        printf("\n");
        DIR *d = opendir(abs);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && de->d_name[0] != '.') {
                        char sub[4096 + 256];
                        snprintf(sub, sizeof(sub), "%s/%s", abs, de->d_name);
                        print_tree(m, sub, depth + 1);
                }
        closedir(d);
}

int main(void) {
        struct hn_cgroup_manager *probe = NULL, *workload = NULL;
        struct hn_error err;
        char scratch[4096];
        unsigned enabled = 0;
        char ctrl[64];
        int rc = 1;

        if (hn_cgroup_manager_new(NULL, HN_OWNER_NONE, &probe, &err) < 0) {
                fprintf(stderr, "hn-demo: %s\n", err.message);
                return 1;
        }
        snprintf(scratch, sizeof(scratch), "%s/hn-demo.%d", hn_cgroup_manager_root(probe), (int) getpid());
        hn_cgroup_manager_free(probe);
        if (mkdir(scratch, 0755) < 0) {
                fprintf(stderr, "hn-demo: mkdir %s: %s (run as root)\n", scratch, strerror(errno));
                return 1;
        }
        printf("hn-demo: scratch cgroup root %s\n", scratch);

        if (hn_cgroup_manager_new(scratch, HN_OWNER_WORKLOAD, &workload, &err) < 0)
                goto fail;
        hn_cgroup_manager_set_audit(workload, print_audit, NULL);
        if (hn_cgroup_create_hierarchy(workload, &enabled, &err) < 0)
                goto fail;
        printf("controllers enabled at every level: %s\n",
               enabled ? hn_controller_mask_format(enabled, ctrl, sizeof(ctrl)) : "(none offered by this kernel)");

        struct hn_cgroup_handle job;
        if (hn_cgroup_create_scope(workload, HN_SLICE_WORKLOAD_ROOT, "job-42", NULL, &job, &err) < 0)
                goto fail;
        printf("refused as expected: ");
        struct hn_cgroup_handle denied;
        if (hn_cgroup_create_scope(workload, HN_SLICE_PACT_INFRA, "intruder", NULL, &denied, &err) < 0)
                printf("%s\n", err.message);
        char *argv[] = { "sleep", "30", NULL };
        pid_t pid;
        if (hn_cgroup_spawn(workload, &job, argv, &pid, &err) < 0)
                goto fail;
        printf("spawned 'sleep 30' as pid %d inside %s\n\n", (int) pid, job.path);
        print_tree(workload, scratch, 0);
        printf("\n");
        if (hn_cgroup_destroy_scope(workload, &job, &err) < 0)
                goto fail;
        (void) waitpid(pid, NULL, 0);
        printf("destroyed %s: sleep killed, directory gone: %s\n", job.path, access(job.path, F_OK) ? "yes" : "no");
        rc = 0;
fail:
        if (rc)
                fprintf(stderr, "hn-demo: %s\n", err.message);
        hn_cgroup_manager_free(workload);
        /* The layout directories are empty now; remove them deepest first. */
        const char *layout[] = { HN_SLICE_PACT_INFRA, HN_SLICE_PACT_NETWORK, HN_SLICE_PACT_GPU,
                                 HN_SLICE_PACT_AUDIT, HN_SLICE_PACT_ROOT,   HN_SLICE_WORKLOAD_ROOT };
        for (size_t i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
                char p[4096 + 64];
                snprintf(p, sizeof(p), "%s/%s", scratch, layout[i]);
                rmdir(p);
        }
        if (rmdir(scratch) < 0)
                fprintf(stderr, "hn-demo: could not remove %s: %s\n", scratch, strerror(errno));
        return rc;
}
