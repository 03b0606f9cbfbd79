/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The service surface end to end: a real hpcnoded, its API socket driven
 * raw and through hpcnodectl, every verb's effect checked in the kernel
 * (cgroupfs, the mount table), its records in the audit log. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <hpcnode/cgroup.h>

#include "daemon_fixture.h"
#include "fixture.h"
#include "json_strict.h"
#include "macro.h"
#include "mount_fixture.h"

#define NOBODY "setpriv --reuid=65534 --regid=65534 --clear-groups"
#define UID_AGENT "setpriv --reuid=4242 --regid=4242 --clear-groups"

static int count_text_n(const char *buf, size_t n, char c) {
        int k = 0;
        for (size_t i = 0; i < n; i++)
                k += buf[i] == c;
        return k;
}

/* What every fd of pid is charged ("memlock:" in its fdinfo), summed. */
static long long fdinfo_memlock_sum(pid_t pid) {
        char dir[64], path[128], line[256];
        snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int) pid);
        DIR *dp = opendir(dir);
        assert_non_null(dp);
        long long sum = 0, v;
        for (struct dirent *de; (de = readdir(dp));) {
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                FILE *f = de->d_name[0] == '.' ? NULL : fopen(path, "r");
                while (f && fgets(line, sizeof(line), f))
                        if (sscanf(line, "memlock: %lld", &v) == 1)
                                sum += v;
                if (f)
                        fclose(f);
        }
        closedir(dp);
        return sum;
}

/* A child that sleeps until killed; the caller reaps it. */
static pid_t sleeper(void) {
        pid_t pid = fork();
        if (pid == 0) {
                for (;;)
                        pause();
        }
        assert_true(pid > 0);
        return pid;
}

static void proc_cgroup(pid_t pid, char *buf, size_t size) {
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/cgroup", (int) pid);
        read_text(p, buf, size);
}

static json_object *ctl_json(struct dmn *d, const char *args) {
        char out[1 << 16], cmd[4096];
        snprintf(cmd, sizeof(cmd), "--json %s", args);
        int r = ctl_run(d, NULL, out, sizeof(out), cmd);
        if (r != 0)
                fail_msg("hpcnodectl %s: exit %d: %s", cmd, r, out);
        json_object *o = json_tokener_parse(out);
        if (!o)
                fail_msg("hpcnodectl %s: not JSON: %s", cmd, out);
        return o;
}

static void scope_calls_act_and_refuse_naming_the_path(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, NULL);
        start(d);
        char out[1 << 16];
        const char *scope = env_path(d->cg, "workload.slice/job1.scope");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice job1"), 0);
        assert_string_equal(out, "workload.slice/job1.scope\n");
        assert_true(path_exists(scope));
        /* exists already: refused, exit 1, the path named */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice job1"), 1);
        has(out, "job1.scope");
        /* the library's record names the API client that asked */
        json_object *o = wait_record(d->log, "cgroup.create", scope);
        if (!o) { /* library records name the path under "path" */
                char needle[512];
                snprintf(needle, sizeof(needle), "\"path\":\"%s\"", scope);
                assert_true(count_lines(d->log, needle) >= 1);
        } else
                json_object_put(o);
        assert_true(count_lines(d->log, "\"client\":{\"role\":\"operator\",\"matched\":\"root\"") >= 1);

        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope list"), 0);
        has(out, "workload.slice/job1.scope");
        has(out, "1 scopes");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope list workload.slice"), 0);
        has(out, "1 scopes");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope list nowhere.slice"), 1);
        has(out, "expected a path inside pact.slice or workload.slice");

        pid_t child = sleeper();
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "scope attach workload.slice/job1.scope %d", (int) child);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 0);
        char cg[1024];
        proc_cgroup(child, cg, sizeof(cg));
        has(cg, "/workload.slice/job1.scope\n");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope metrics workload.slice/job1.scope"), 0);
        has(out, "processes        1\n");
        o = ctl_json(d, "scope metrics workload.slice/job1.scope");
        assert_int_equal(num(o, "processes", NULL), 1);
        json_object_put(o);
        /* an absolute path inside the root (which is not the cgroup2 mount
         * here: a scratch directory) is the same scope */
        snprintf(cmd, sizeof(cmd), "scope metrics %s", scope);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 0);
        has(out, "processes        1\n");
        snprintf(cmd, sizeof(cmd), "scope freeze %s", scope);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 0);
        snprintf(cmd, sizeof(cmd), "scope thaw %s", scope);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 0);

        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope freeze workload.slice/job1.scope"), 0);
        char events[256];
        read_text(env_path(d->cg, "workload.slice/job1.scope/cgroup.events"), events, sizeof(events));
        has(events, "frozen 1");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "tree"), 0);
        has(out, "job1.scope  workload, 1 procs");
        has(out, "[frozen]");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope thaw workload.slice/job1.scope"), 0);
        read_text(env_path(d->cg, "workload.slice/job1.scope/cgroup.events"), events, sizeof(events));
        has(events, "frozen 0");

        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope destroy workload.slice/job1.scope"), 0);
        has(out, "destroyed");
        int status = 0;
        assert_int_equal(wait_pid_ms(child, 5000, &status), child);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_false(path_exists(scope));
        /* bad input is refused before anything is touched */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope destroy"), 2);
        has(out, "Usage: hpcnodectl [OPTIONS] scope destroy PATH");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope attach workload.slice/x.scope notapid"), 2);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice ../evil"), 1);
        assert_false(path_exists(env_path(d->cg, "evil.scope")));
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice j --memory-max lots"), 2);
        assert_false(path_exists(env_path(d->cg, "workload.slice/j.scope")));
}

static void mount_calls_mount_bind_release_and_count(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        REQUIRE_MOUNT_ENV();
        char image[256], out[1 << 16], cmd[1024];
        snprintf(image, sizeof(image), "%s/app.sqfs", d->dir);
        assert_int_equal(make_image(image, "image-0\n"), 0);
        /* long enough that the hold outlasts the test: the force-unmount
         * below must find the image still mounted, and each CLI run takes
         * seconds in an arm64 VM under load (30 s ran out there) */
        write_config(d, "HoldTimeSec=600");
        start(d);
        snprintf(cmd, sizeof(cmd), "mount acquire %s alloc1", image);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 0);
        char bind[4096];
        snprintf(bind, sizeof(bind), "%s", out);
        bind[strcspn(bind, "\n")] = '\0';
        struct mnt_line l;
        assert_true(mountinfo_find(bind, &l));
        char id[64], p[4200];
        snprintf(p, sizeof(p), "%s/id", bind);
        read_text(p, id, sizeof(id));
        assert_string_equal(id, "image-0\n");

        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "mount list"), 0);
        has(out, "refcount 1");
        has(out, "held by alloc1 (operator)");
        json_object *o = ctl_json(d, "mount list");
        json_object *img = json_object_array_get_idx(json_object_object_get(o, "images"), 0);
        assert_non_null(img);
        assert_string_equal(str(img, "image", NULL), image);
        assert_int_equal(num(img, "refcount", NULL), 1);
        char mount_point[4096];
        snprintf(mount_point, sizeof(mount_point), "%s", str(img, "mount_point", NULL));
        assert_true(mountinfo_find(mount_point, &l));
        json_object_put(o);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "tree"), 0);
        has(out, "Image mounts:");
        has(out, "held by alloc1 (operator)");
        /* the metrics count it from the manager's own list */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "metrics"), 0);
        char line[512];
        snprintf(line, sizeof(line), "hpcnode_image_refcount{image=\"%s\"} 1\n", image);
        has(out, line);
        has(out, "hpcnode_images_mounted 1\n");
        has(out, "hpcnode_mount_holders{owner=\"operator\"} 1\n");
        has(out, "hpcnode_mount_holders{owner=\"workload\"} 0\n");
        has(out, "hpcnode_mount_passes_total{kind=\"whole\"} ");
        has(out, "hpcnode_mount_passes_total{kind=\"own\"} ");

        snprintf(cmd, sizeof(cmd), "mount release %s alloc1", image);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 0);
        assert_false(mountinfo_find(bind, &l));
        assert_true(mountinfo_find(mount_point, &l)); /* held for HoldTimeSec */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "mount list"), 0);
        /* counting down from HoldTimeSec=600: how far, the machine's speed
         * says (two CLI runs take seconds under TCG and ASan) */
        has(out, "refcount 0, unmount in ");
        const char *at = strstr(out, "refcount 0, unmount in ") + strlen("refcount 0, unmount in ");
        long minutes = 0, seconds = 0;
        if (sscanf(at, "%ldm %lds", &minutes, &seconds) != 2) {
                minutes = 0; /* "58s": under a minute */
                if (sscanf(at, "%lds", &seconds) != 1)
                        fail_msg("no time left in: %s", out);
        }
        assert_in_range(minutes * 60 + seconds, 1, 600);
        /* a second release is an impossible one: refused, nothing unmounted (F31) */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 1);
        assert_true(mountinfo_find(mount_point, &l));

        snprintf(cmd, sizeof(cmd), "mount force-unmount %s", image);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 4); /* no emergency */
        has(out, "emergency");
        assert_true(mountinfo_find(mount_point, &l));
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency begin --reason stuck-image --duration 5m"), 0);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 0);
        assert_false(mountinfo_find(mount_point, &l));
        /* the intent was recorded before the act (RI3) */
        assert_true(count_lines(d->log, "\"event\":\"mount.force_unmount\",\"outcome\":\"intent\"") == 1);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency end"), 0);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "mount reconcile"), 0);
        assert_string_equal(out, "0 drifts found\n");
        snprintf(cmd, sizeof(cmd), "mount acquire %s", image);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 2);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "mount acquire /nonexistent.sqfs a"), 5);
}

static void status_probe_help_and_exit_codes_tell_the_truth(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, NULL);
        start(d);
        char out[1 << 16];
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "status"), 0);
        has(out, "hpcnoded 0.");
        has(out, can_enforce() ? "Mode:         enforce" : "Mode:         audit");
        has(out, "Emergency:    none");
        has(out, "You are:      operator (uid 0, matched by root)");
        has(out, " maps holding ");
        json_object *o = ctl_json(d, "status");
        assert_int_equal(num(o, "pid", NULL), d->pid);
        assert_string_equal(str(o, "audit_log", NULL), d->log);
        /* the maps' kernel memory: at least the ring buffer (256 KiB by
         * default), at most what every map fd the daemon holds is charged,
         * read here from the kernel's fdinfo */
        int64_t map_bytes = num(o, "bpf_programs", "map_bytes");
        assert_true(num(o, "bpf_programs", "maps") >= 5);
        assert_true(map_bytes >= 256 * 1024);
        char sh[256];
        assert_true(map_bytes <= fdinfo_memlock_sum(d->pid));
        json_object_put(o);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "probe"), 0);
        has(out, "BPF LSM (deny in the kernel)");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "metrics"), 0);
        has(out, "# TYPE hpcnode_events_total counter");
        snprintf(sh, sizeof(sh), "hpcnode_bpf_map_bytes %lld\n", (long long) map_bytes);
        has(out, sh);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice t1"), 0); /* records to tail */
        char needle[512];
        snprintf(needle, sizeof(needle), "%s\"", env_path(d->cg, "workload.slice/t1.scope"));
        (void) wait_lines(d->log, needle, 2);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "audit tail --lines 2"), 0);
        if (count_text(out, "\n") != 2 || count_text(out, "t1.scope") != 2)
                fail_msg("audit tail --lines 2 printed:\n%s", out);
        o = ctl_json(d, "audit tail --lines 1");
        assert_int_equal(json_object_array_length(json_object_object_get(o, "records")), 1);
        json_object_put(o);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "audit tail --lines 0"), 2);

        /* every verb has --help */
        static const char *const verbs[] = { "scope create", "scope destroy", "scope freeze", "scope thaw",
                                             "scope attach", "scope metrics", "scope list", "mount acquire",
                                             "mount release", "mount list", "mount force-unmount", "mount reconcile",
                                             "emergency begin", "emergency end", "emergency status", "status",
                                             "probe", "tree", "metrics", "audit tail", "audit follow" };
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
                char args[128], want[128];
                snprintf(args, sizeof(args), "%s --help", verbs[i]);
                assert_int_equal(ctl_run(d, NULL, out, sizeof(out), args), 0);
                snprintf(want, sizeof(want), "Usage: hpcnodectl [OPTIONS] %s", verbs[i]);
                has(out, want);
        }
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "--help"), 0);
        has(out, "Exit codes:");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "frobnicate"), 2);
        has(out, "unknown verb \"frobnicate\"");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), ""), 2);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "--socket /nonexistent/sock status"), 3);
        has(out, "cannot reach hpcnoded at /nonexistent/sock");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency begin --reason x"), 2);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency begin --reason x --duration soon"), 2);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency end"), 5); /* none in force */
        /* an option the verb does not take is refused, nothing sent */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope destroy workload.slice/x.scope --memory-max 1G"), 2);
        has(out, "scope destroy takes no --memory-max, --cpu-weight or --io-max");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "status --lines 3"), 2);
        has(out, "status takes no --lines");

        /* audit follow streams what happens from now on */
        char cmd[1024], file[192];
        snprintf(file, sizeof(file), "%s/follow.out", d->dir);
        snprintf(cmd, sizeof(cmd), "HPCNODE_SOCKET=%s exec %s --json audit follow > %s 2>&1", d->socket, ctl_path(), file);
        pid_t f = fork();
        if (f == 0) {
                execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
                _exit(127);
        }
        /* when the follower has subscribed is not visible from here (a
         * slow VM took longer than 300 ms): a scope a second until one is
         * streamed whole, the library's record and the kernel's mkdir */
        bool seen = false;
        for (int i = 0; !seen && i < 60; i++) {
                char verb[64], scope[64];
                snprintf(verb, sizeof(verb), "scope create workload.slice followed%d", i);
                snprintf(scope, sizeof(scope), "followed%d.scope", i);
                assert_int_equal(ctl_run(d, NULL, out, sizeof(out), verb), 0);
                for (double end = now_s() + 1; !seen && now_s() < end; usleep(20000))
                        seen = count_lines(file, scope) >= 2;
        }
        kill(f, SIGTERM);
        wait_pid_ms(f, 5000, NULL);
        read_text(file, out, sizeof(out));
        if (!seen)
                fail_msg("audit follow did not stream the scope's records:\n%s", out);
        has(out, "\"event\":\"cgroup.mkdir\"");
}

/* Root, an agent by executable, an agent by uid, and a stranger. */
static void every_call_refused_outside_its_roles(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        char pact_ctl[192], line[256], cmd[1024], out[1 << 16];
        snprintf(pact_ctl, sizeof(pact_ctl), "%s/pact-ctl", d->dir);
        snprintf(cmd, sizeof(cmd), "cp %s %s", ctl_path(), pact_ctl);
        assert_int_equal(system(cmd), 0);
        snprintf(line, sizeof(line), "Executable=%s", pact_ctl);
        d->pact_extra = line;
        d->workload_extra = "Uid=4242";
        assert_int_equal(chmod(d->dir, 0755), 0); /* others reach the socket */
        write_config(d, NULL);
        start(d);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice job"), 0);

        struct row {
                const char *who, *prefix, *args;
                int exit;
                const char *says;
        } rows[] = {
                { "operator", NULL, "scope create pact.slice/infra.slice svc", 0, "pact.slice/infra.slice/svc.scope" },
                { "pact", pact_ctl, "status", 0, "You are:      pact (uid 0, matched by executable)" },
                { "pact", pact_ctl, "scope create pact.slice/infra.slice svc2", 0, "svc2.scope" },
                { "pact", pact_ctl, "scope create workload.slice intruder", 4, "" },
                { "pact", pact_ctl, "scope destroy workload.slice/job.scope", 4, "" },
                { "pact", pact_ctl, "emergency begin --reason r --duration 1m", 4, "allowed: operator" },
                { "workload", UID_AGENT, "status", 0, "You are:      workload (uid 4242, matched by uid)" },
                { "workload", UID_AGENT, "scope create workload.slice w1", 0, "workload.slice/w1.scope" },
                { "workload", UID_AGENT, "scope create pact.slice/infra.slice x", 4, "" },
                { "workload", UID_AGENT, "mount reconcile", 4, "allowed: operator" },
                { "workload", UID_AGENT, "mount force-unmount /x.sqfs", 4, "allowed: operator, pact" },
                { "stranger", NOBODY, "status", 4, "caller is unknown (uid 65534" },
                { "stranger", NOBODY, "scope list", 4, "" },
                { "stranger", NOBODY, "scope metrics workload.slice", 0, "processes" }, /* RI6 */
        };
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                const struct row *r = &rows[i];
                char run[1024];
                /* the pact agent is the copied binary itself, not a prefix */
                if (r->prefix == pact_ctl) {
                        snprintf(run, sizeof(run), "HPCNODE_SOCKET=%s %s %s > %s/ctl.out 2>&1", d->socket, pact_ctl,
                                 r->args, d->dir);
                        int st = system(run);
                        snprintf(run, sizeof(run), "%s/ctl.out", d->dir);
                        read_text(run, out, sizeof(out));
                        if (!WIFEXITED(st) || WEXITSTATUS(st) != r->exit)
                                fail_msg("%s: %s: exit %d, want %d: %s", r->who, r->args, WEXITSTATUS(st), r->exit, out);
                } else if (ctl_run(d, r->prefix, out, sizeof(out), r->args) != r->exit)
                        fail_msg("%s: %s: want exit %d: %s", r->who, r->args, r->exit, out);
                has(out, r->says);
        }
        /* pact's executable run by another uid is not pact (ExecutableUid=
         * is root unless configured): a stranger even with LD_PRELOAD */
        snprintf(cmd, sizeof(cmd), "HPCNODE_SOCKET=%s " NOBODY " %s scope create pact.slice/infra.slice borrowed > %s/ctl.out 2>&1",
                 d->socket, pact_ctl, d->dir);
        int borrowed = system(cmd);
        snprintf(cmd, sizeof(cmd), "%s/ctl.out", d->dir);
        read_text(cmd, out, sizeof(out));
        if (!WIFEXITED(borrowed) || WEXITSTATUS(borrowed) != 4)
                fail_msg("pact's binary as uid 65534: exit %d: %s", WEXITSTATUS(borrowed), out);
        has(out, "caller is unknown (uid 65534");
        assert_false(path_exists(env_path(d->cg, "pact.slice/infra.slice/borrowed.scope")));
        assert_false(path_exists(env_path(d->cg, "workload.slice/intruder.scope")));
        assert_false(path_exists(env_path(d->cg, "pact.slice/infra.slice/x.scope")));
        assert_true(path_exists(env_path(d->cg, "workload.slice/job.scope")));
        /* refusals are audited, naming the caller */
        json_object *o = wait_record(d->log, "api.refused", NULL);
        assert_non_null(o);
        assert_non_null(strstr(str(o, "detail", NULL), "emergency.begin refused: caller is pact"));
        assert_string_equal(str(o, "client", "role"), "pact");
        assert_string_equal(str(o, "client", "exe"), pact_ctl);
        json_object_put(o);
        assert_true(count_lines(d->log, "\"event\":\"api.refused\",\"detail\":\"status refused: caller is unknown (uid "
                                        "65534") == 1);
        assert_true(count_lines(d->log, "scope.create refused: caller is unknown (uid 65534") == 1);
        /* the library refuses another owner's slice, audited as refused */
        assert_true(count_lines(d->log, "\"outcome\":\"refused\"") >= 3);

        /* in an emergency, pact may take down a workload scope (RI3): the
         * intent is on record before the kernel's rmdir */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency begin --reason node-drain --duration 10m"), 0);
        snprintf(cmd, sizeof(cmd), "HPCNODE_SOCKET=%s %s scope destroy workload.slice/job.scope > /dev/null 2>&1",
                 d->socket, pact_ctl);
        assert_int_equal(system(cmd), 0);
        assert_false(path_exists(env_path(d->cg, "workload.slice/job.scope")));
        json_object *intent = NULL, *rmdir_rec = wait_record(d->log, "cgroup.rmdir", env_path(d->cg, "workload.slice/job.scope"));
        assert_non_null(rmdir_rec);
        char needle[512];
        FILE *f = fopen(d->log, "r");
        char rec[8192];
        snprintf(needle, sizeof(needle), "\"outcome\":\"intent\"");
        while (fgets(rec, sizeof(rec), f))
                if (strstr(rec, needle) && strstr(rec, "job.scope")) {
                        intent = json_tokener_parse(rec);
                        break;
                }
        fclose(f);
        assert_non_null(intent);
        assert_true(num(intent, "time_ns", NULL) < num(rmdir_rec, "time_ns", NULL));
        assert_string_equal(str(intent, "client", "role"), "pact");
        json_object_put(intent);
        json_object_put(rmdir_rec);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency end"), 0);

        /* A stranger hammering the socket cannot fill the log: at most
         * HND_REFUSED_PER_SEC records a second, the rest counted in one
         * summary record; every refusal is in the metric. */
        enum { BURST = 200 };
        pid_t stranger = fork();
        if (stranger == 0) {
                if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                        _exit(1);
                int fd = api_connect(d);
                const char *req = "{\"call\":\"status\"}\n";
                for (int i = 0; i < BURST; i++)
                        if (write(fd, req, strlen(req)) != (ssize_t) strlen(req))
                                _exit(2);
                int replies = 0;
                char buf[65536];
                while (replies < BURST) {
                        ssize_t n = read(fd, buf, sizeof(buf));
                        if (n <= 0)
                                _exit(3);
                        replies += count_text_n(buf, (size_t) n, '\n');
                }
                _exit(0);
        }
        int st = 0;
        assert_int_equal(wait_pid_ms(stranger, 10000, &st), stranger);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        /* the summaries are flushed a second at a time: until they add up
         * (or 30 s: a deadline, not a speed) */
        int recorded = 0;
        long suppressed = 0, total = -1;
        for (double end = now_s() + 30; now_s() < end; usleep(100000)) {
                recorded = count_lines(d->log, "\"event\":\"api.refused\"");
                suppressed = sum_after(d->log, NULL, "\"event\":\"api.refused_suppressed\",\"detail\":\"");
                assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "metrics"), 0);
                char *m = strstr(out, "\nhpcnode_api_refused_total ");
                assert_non_null(m);
                total = strtol(m + strlen("\nhpcnode_api_refused_total "), NULL, 10);
                if (suppressed > 0 && total == recorded + suppressed)
                        break;
        }
        assert_true(suppressed > 0);
        assert_int_equal(total, recorded + suppressed);
        assert_true(recorded < BURST);
}

/* One raw request on its own connection; the reply line and whether the
 * daemon then closed the connection. */
static json_object *raw(struct dmn *d, const void *bytes, size_t n, bool shut, bool *ret_closed) {
        int fd = api_connect(d);
        assert_int_equal(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t) n);
        if (shut)
                shutdown(fd, SHUT_WR);
        char buf[8192];
        (void) read_lines(fd, buf, sizeof(buf), 1, 30000);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char c;
        /* Closed is EOF, or ECONNRESET: a unix socket closed with bytes
         * still unread in its queue (the rest of an oversized request)
         * resets its peer instead (unix_release_sock). */
        *ret_closed = poll(&p, 1, 1000) == 1 && (read(fd, &c, 1) == 0 || errno == ECONNRESET);
        close(fd);
        json_object *o = json_tokener_parse(buf);
        if (!o)
                fail_msg("reply is not JSON: \"%s\"", buf);
        return o;
}

static void bad_requests_cost_the_request_not_the_daemon(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, "ApiRequestTimeoutMSec=300");
        start(d);
        char deep[512] = "{\"call\":\"status\",\"args\":";
        for (int i = 0; i < 40; i++)
                strcat(deep, "[");
        strcat(deep, "\n");
        static const struct {
                const char *req, *says;
        } table[] = {
                { "not json\n", "malformed request" },
                { "[1,2]\n", "not a JSON object" },
                { "{\"call\":5}\n", "no \"call\" string" },
                { "{\"call\":\"nope\"}\n", "unknown call \"nope\"" },
                { "{\"call\":\"status\",\"args\":[]}\n", "\"args\" is not an object" },
                { "{\"call\":\"status\",\"bogus\":1}\n", "unknown member \"bogus\"" },
                { "{\"call\":\"status\"} {}\n", "data after the JSON value" },
                { "{\"call\":\"status\"\n", "expected ',' or '}'" },
                /* what json-c would take and the daemon would act on */
                { "{\"call\":\"scope.create\",\"args\":{\"parent\":\"workload.slice\",\"name\":\"x2\\u0000/../../evil\"}}\n",
                  "NUL (\\u0000) in a string" },
                { "{\"call\":\"scope.create\",\"args\":{\"parent\":\"workload.slice\",\"name\":\"a\",\"name\":\"b\"}}\n",
                  "duplicate member name" },
                { "{\"call\":\"scope.create\",\"args\":{\"parent\":\"workload.slice\",\"name\":\"\xff\xfe\"}}\n",
                  "invalid UTF-8" },
                { "{\"call\":\"scope.create\",\"args\":{\"parent\":\"workload.slice\",\"name\":\"\\ud800\"}}\n",
                  "lone high surrogate" },
                { "{\"call\":\"status\",}\n", "expected a member name" },
                { "{\"call\":\"audit.tail\",\"args\":{\"lines\":18446744073709551617}}\n", "integer out of range" },
                { "{\"call\":\"scope.metrics\",\"args\":{\"path\":5}}\n", "\"path\" must be a string" },
                { "{\"call\":\"scope.metrics\",\"args\":{\"paht\":\"x\"}}\n", "takes no argument \"paht\"" },
                { "{\"call\":\"scope.create\",\"args\":{\"parent\":\"workload.slice\",\"name\":\"a\",\"cpu_weight\":"
                  "99999}}\n",
                  "\"cpu_weight\" must be an integer 0..10000" },
                { "{\"call\":\"emergency.begin\",\"args\":{\"reason\":\"x\"}}\n", "duration_s" },
                { "\x01\x02\xff\n", "malformed request" },
        };
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
                bool closed;
                json_object *o = raw(d, table[i].req, strlen(table[i].req), false, &closed);
                assert_false(api_ok(o));
                if (!strstr(str(o, "error", "message"), table[i].says))
                        fail_msg("%s: got \"%s\"", table[i].req, str(o, "error", "message"));
                assert_string_equal(str(o, "error", "kind"), "invalid_argument");
                assert_false(closed); /* a bad request costs that request, not the connection */
                json_object_put(o);
        }
        bool closed;
        json_object *o = raw(d, deep, strlen(deep), false, &closed);
        assert_false(api_ok(o));
        has(str(o, "error", "message"), "malformed request");
        json_object_put(o);
        assert_false(path_exists(env_path(d->cg, "workload.slice/a.scope")));
        assert_false(path_exists(env_path(d->cg, "workload.slice/b.scope")));
        assert_false(path_exists(env_path(d->cg, "workload.slice/x2.scope")));
        /* nothing refused was echoed: the trail stays valid UTF-8 */
        char check[300];
        snprintf(check, sizeof(check), "iconv -f UTF-8 -t UTF-8 '%s' >/dev/null", d->log);
        assert_int_equal(system(check), 0);

        /* oversized: an error, then the connection is closed */
        size_t big = 70 * 1024;
        char *huge = malloc(big);
        memset(huge, 'x', big);
        o = raw(d, huge, big, false, &closed);
        free(huge);
        has(str(o, "error", "message"), "request too large");
        assert_true(closed);
        json_object_put(o);
        /* truncated: the stream ends before the newline */
        o = raw(d, "{\"call\":\"status\"}", 17, true, &closed);
        has(str(o, "error", "message"), "truncated request");
        assert_true(closed);
        json_object_put(o);
        /* the id comes back */
        o = api_request(d, "{\"call\":\"status\",\"id\":7}");
        assert_true(api_ok(o));
        assert_int_equal(num(o, "id", NULL), 7);
        json_object_put(o);

        /* slow: half a request, then nothing. Others are served meanwhile,
         * and the slow one gets a timeout and is closed. */
        int slow = api_connect(d);
        assert_int_equal(send(slow, "{\"call\":", 8, 0), 8);
        double t0 = now_s();
        o = api_call(d, "status", NULL);
        assert_true(api_ok(o));
        json_object_put(o);
        /* served before the slow one's timeout: nothing for it yet */
        char buf[512] = "";
        struct pollfd p = { .fd = slow, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 0), 0);
        assert_int_equal(poll(&p, 1, 3000), 1);
        ssize_t n = read(slow, buf, sizeof(buf) - 1);
        assert_true(n > 0);
        buf[n] = '\0';
        has(buf, "request timed out: not complete within 300 ms");
        assert_true(now_s() - t0 >= 0.25);
        assert_int_equal(read(slow, buf, 1), 0); /* closed */
        close(slow);
        o = api_call(d, "status", NULL);
        assert_true(api_ok(o));
        json_object_put(o);
}

/* One client pipelines 200 large audit.tail calls in one write and reads
 * none of the replies: its requests wait in its own buffer, one answered
 * at a time as it reads, and another client is served meanwhile; the
 * daemon does not grow by the 200 replies (about 2 MB each). */
static void pipelining_client_stalls_no_one(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        /* a trail of 10,000 records to tail */
        FILE *f = fopen(d->log, "w");
        assert_non_null(f);
        for (int i = 0; i < 10000; i++)
                fprintf(f, "{\"event\":\"test.filler\",\"n\":%d,\"detail\":\"%0180d\"}\n", i, i);
        fclose(f);
        write_config(d, NULL);
        start(d);
        long before = process_rss_kb(d->pid);
        int hog = api_connect(d);
        size_t cap = 200 * 64, len = 0;
        char *reqs = malloc(cap);
        for (int i = 0; i < 200; i++)
                len += (size_t) snprintf(reqs + len, cap - len, "{\"call\":\"audit.tail\",\"args\":{\"lines\":10000},\"id\":%d}\n", i);
        assert_int_equal(send(hog, reqs, len, MSG_NOSIGNAL), (ssize_t) len);
        free(reqs);
        usleep(300000);
        for (int i = 0; i < 5; i++) {
                json_object *o = api_call(d, "status", NULL);
                assert_true(api_ok(o));
                json_object_put(o);
        }
        /* the hog's calls: one answered (its reply waits unread), the rest
         * waiting unparsed in its buffer */
        json_object *m = api_call(d, "metrics", NULL);
        const char *text = str(m, "result", "text");
        const char *line = strstr(text, "hpcnode_api_requests_total{call=\"audit.tail\"} ");
        assert_non_null(line);
        long served = strtol(line + strlen("hpcnode_api_requests_total{call=\"audit.tail\"} "), NULL, 10);
        if (served > 2)
                fail_msg("%ld of the hog's calls served while it read nothing", served);
        json_object_put(m);
        /* and the daemon did not keep 200 replies: growth is one reply's
         * making (ASan's quarantine keeps freed memory resident) */
        long during = process_rss_kb(d->pid);
        if (during - before > 256 * 1024)
                fail_msg("hpcnoded grew from %ld to %ld kB", before, during);
        /* the hog's first reply, whole, when it reads */
        char *buf = malloc(8u << 20);
        size_t n = read_lines(hog, buf, 8u << 20, 1, 60000);
        assert_true(n > 0);
        *strchr(buf, '\n') = '\0';
        json_object *first = json_tokener_parse(buf);
        assert_non_null(first);
        assert_int_equal(num(first, "id", NULL), 0);
        assert_int_equal(json_object_array_length(json_object_object_get(json_object_object_get(first, "result"),
                                                                          "records")),
                         10000);
        json_object_put(first);
        free(buf);
        close(hog);
        json_object *o = api_call(d, "status", NULL);
        assert_true(api_ok(o));
        json_object_put(o);
}

/* The caller is identified again at every call, by the writer of the
 * request's bytes: a socket handed to another process (here a forked
 * child; the same holds for SCM_RIGHTS), a caller that exec'd an agent's
 * binary after connecting and one that moved into an agent's cgroup are
 * refused, and the connection closed. */
static void borrowed_connections_refused(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        char agent_sh[192], line[256], cmd[1024], buf[8192];
        /* the workload agent: a shell, so that it can write on an inherited fd */
        snprintf(agent_sh, sizeof(agent_sh), "%s/agent-sh", d->dir);
        snprintf(cmd, sizeof(cmd), "cp /bin/sh %s", agent_sh);
        assert_int_equal(system(cmd), 0);
        snprintf(line, sizeof(line), "Executable=%s", agent_sh);
        d->workload_extra = line;
        /* pact's agent also by its cgroup, in pact's slice (there before
         * the start, as the unit's would be): pact's own act moves a
         * process there (the guard holds in the VM suite) */
        char agents[PATH_MAX], procs[PATH_MAX + 16];
        snprintf(agents, sizeof(agents), "%s", env_path(d->cg, "pact.slice"));
        assert_true(mkdir(agents, 0755) == 0 || errno == EEXIST);
        snprintf(agents, sizeof(agents), "%s", env_path(d->cg, "pact.slice/agent.service"));
        assert_int_equal(mkdir(agents, 0755), 0);
        d->pact_extra = "Cgroup=pact.slice/agent.service";
        write_config(d, NULL);
        start(d);
        static const char req[] = "{\"call\":\"scope.create\",\"args\":{\"parent\":\"workload.slice\",\"name\":\"handed\"}}\n";

        /* connected by this process (the operator), written by a child */
        int fd = api_connect(d);
        pid_t child = fork();
        if (child == 0)
                _exit(write(fd, req, sizeof(req) - 1) == (ssize_t) (sizeof(req) - 1) ? 0 : 1);
        int status;
        assert_int_equal(wait_pid_ms(child, 10000, &status), child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_true(read_lines(fd, buf, sizeof(buf), 1, 10000) > 0);
        json_object *o = json_tokener_parse(buf);
        assert_non_null(o);
        assert_false(api_ok(o));
        assert_string_equal(str(o, "error", "kind"), "permission_denied");
        char want[128];
        snprintf(want, sizeof(want), "written by pid %d, not by the connected caller (pid %d)", (int) child,
                 (int) getpid());
        if (!strstr(str(o, "error", "message"), want))
                fail_msg("want \"%s\" in %s", want, json_object_to_json_string(o));
        json_object_put(o);
        assert_int_equal(read(fd, buf, sizeof(buf)), 0); /* and closed */
        close(fd);
        assert_false(path_exists(env_path(d->cg, "workload.slice/handed.scope")));

        /* connected as the test binary, then exec'd the agent's binary,
         * which writes the request */
        char out[PATH_MAX];
        snprintf(out, sizeof(out), "%s/exec.out", d->dir);
        child = fork();
        if (child == 0) {
                int s = api_connect(d);
                /* a first call answered: the daemon has identified this
                 * connection as the test binary's before the exec (else it
                 * might first look after the exec and see the agent) */
                static const char ask[] = "{\"call\":\"status\"}\n";
                char c = 0;
                if (write(s, ask, sizeof(ask) - 1) != (ssize_t) (sizeof(ask) - 1))
                        _exit(121);
                while (c != '\n')
                        if (read(s, &c, 1) != 1)
                                _exit(122);
                if (dup2(s, 3) < 0)
                        _exit(120);
                char script[512];
                snprintf(script, sizeof(script), "printf '%%s\\n' '%.*s' >&3; head -n 1 <&3 > %s", (int) sizeof(req) - 2,
                         req, out);
                execl(agent_sh, "agent-sh", "-c", script, (char *) NULL);
                _exit(127);
        }
        assert_int_equal(wait_pid_ms(child, 20000, &status), child);
        read_text(out, buf, sizeof(buf));
        o = json_tokener_parse(buf);
        if (!o)
                fail_msg("no reply after exec: %s", buf);
        assert_false(api_ok(o));
        assert_string_equal(str(o, "error", "kind"), "permission_denied");
        if (!strstr(str(o, "error", "message"), "changed since it connected (was operator as "))
                fail_msg("want a changed caller in %s", json_object_to_json_string(o));
        json_object_put(o);
        assert_false(path_exists(env_path(d->cg, "workload.slice/handed.scope")));

        /* connected as the operator, answered, then moved (by pact) into
         * pact's agent cgroup */
        snprintf(out, sizeof(out), "%s/moved.out", d->dir);
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", agents);
        int asked[2], moved[2];
        assert_int_equal(pipe2(asked, O_CLOEXEC), 0);
        assert_int_equal(pipe2(moved, O_CLOEXEC), 0);
        child = fork();
        if (child == 0) {
                int s = api_connect(d);
                static const char ask[] = "{\"call\":\"status\"}\n";
                char reply[16384], go;
                if (write(s, ask, sizeof(ask) - 1) != (ssize_t) (sizeof(ask) - 1) ||
                    read_lines(s, reply, sizeof(reply), 1, 10000) <= 0 || !strstr(reply, "\"ok\":true"))
                        _exit(122);
                if (write(asked[1], "a", 1) != 1 || read(moved[0], &go, 1) != 1)
                        _exit(123);
                if (write(s, req, sizeof(req) - 1) != (ssize_t) (sizeof(req) - 1) ||
                    read_lines(s, reply, sizeof(reply), 1, 10000) <= 0)
                        _exit(124);
                FILE *f = fopen(out, "w");
                fputs(reply, f);
                fclose(f);
                _exit(0);
        }
        char one;
        close(asked[1]);
        close(moved[0]);
        assert_int_equal(read(asked[0], &one, 1), 1);
        char pid_text[32];
        snprintf(pid_text, sizeof(pid_text), "%d", (int) child);
        assert_int_equal(agent_run(d->pact_exe, "write", procs, pid_text, NULL), 0);
        assert_int_equal(write(moved[1], "m", 1), 1);
        close(asked[0]);
        close(moved[1]);
        assert_int_equal(wait_pid_ms(child, 20000, &status), child);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("the moved caller: status %#x", status);
        read_text(out, buf, sizeof(buf));
        o = json_tokener_parse(buf);
        if (!o)
                fail_msg("no reply after the move: %s", buf);
        assert_false(api_ok(o));
        if (!strstr(str(o, "error", "message"), "changed since it connected (was operator as ") ||
            !strstr(str(o, "error", "message"), ", now pact as "))
                fail_msg("want a changed caller in %s", json_object_to_json_string(o));
        json_object_put(o);
        assert_false(path_exists(env_path(d->cg, "workload.slice/handed.scope")));
        assert_int_equal(procs_count(agents), 0); /* the moved caller is gone */
        assert_int_equal(agent_run(d->pact_exe, "rmdir", agents, NULL, NULL), 0);

        /* the same request by a caller that connected and wrote it: served */
        o = api_call(d, "scope.create", "{\"parent\":\"workload.slice\",\"name\":\"handed\"}");
        assert_true(api_ok(o));
        json_object_put(o);
        assert_true(path_exists(env_path(d->cg, "workload.slice/handed.scope")));
}

/* Protocol fuzzing against the sanitizer-built daemon: 3,000 mutants
 * (bytes flipped, inserted, deleted, duplicated; a fixed seed) of a
 * scope.create request. Each that is not strict JSON (the others are
 * not sent) is answered invalid_argument and acted on by no one: no scope
 * appears; the daemon stays up, serving. */
static void malformed_requests_never_acted_on(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, NULL);
        start(d);
        static const char base[] = "{\"call\":\"scope.create\",\"args\":{\"parent\":\"workload.slice\",\"name\":\"fz\"},\"id\":1}";
        /* single bytes, and the tokens json-c alone would let through */
        static const char pick[] = "{}[]\",:\\u0aZ/.-1e+ \x00\x7f\xc3\xa9\xed\xa0\x80\xff";
        static const char *const tokens[] = { "\\u0000", "\\ud800", "\"name\":\"x\",", "\"call\":\"status\",",
                                              ",", "99999999999999999999", "\xc0\xaf", "\"args\":{},", "\\uDFFF" };
        unsigned seed = 12345, malformed = 0;
        char m[512], reply[8192];
        /* fewer in the VMs (TCG): the parser is the same on every kernel */
        int count = getenv("HN_PROTOCOL_FUZZ_N") ? atoi(getenv("HN_PROTOCOL_FUZZ_N")) : 3000;
        for (int i = 0; i < count; i++) {
                size_t n = sizeof(base) - 1;
                memcpy(m, base, n);
                for (int k = 1 + (int) (rand_r(&seed) % 3); k > 0; k--) {
                        size_t at = (size_t) rand_r(&seed) % n;
                        char c = pick[rand_r(&seed) % (sizeof(pick) - 1)];
                        const char *t = tokens[rand_r(&seed) % (sizeof(tokens) / sizeof(tokens[0]))];
                        size_t tn = strlen(t);
                        switch (rand_r(&seed) % 4) {
                        case 0: m[at] = c; break;
                        case 1: memmove(m + at + 1, m + at, n - at); m[at] = c; n++; break;
                        case 2: memmove(m + at, m + at + 1, n - at - 1); n--; break;
                        default: memmove(m + at + tn, m + at, n - at); memcpy(m + at, t, tn); n += tn; break;
                        }
                }
                for (size_t j = 0; j < n; j++)
                        if (m[j] == '\n')
                                m[j] = ' '; /* one request per line */
                char why[128];
                bool valid = json_strict_check(m, n, why, sizeof(why)) == 0;
                if (valid)
                        continue; /* a mutant that is JSON: may be a valid request */
                malformed++;
                int fd = api_connect(d);
                m[n] = '\n';
                assert_int_equal(send(fd, m, n + 1, MSG_NOSIGNAL), (ssize_t) n + 1);
                assert_true(read_lines(fd, reply, sizeof(reply), 1, 10000) > 0);
                close(fd);
                json_object *o = json_tokener_parse(reply);
                if (!o || api_ok(o) || strcmp(str(o, "error", "kind"), "invalid_argument"))
                        fail_msg("mutant %d (%.*s) answered %s", i, (int) n, m, reply);
                json_object_put(o);
        }
        if (malformed < (unsigned) count * 2 / 3)
                fail_msg("only %u of %d mutants malformed", malformed, count);
        /* only malformed mutants were sent: none made a scope */
        char out[1 << 16];
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope list workload.slice"), 0);
        if (strstr(out, ".scope"))
                fail_msg("a malformed request made a scope: %s", out);
        json_object *o = api_call(d, "scope.create", "{\"parent\":\"workload.slice\",\"name\":\"after-fuzz\"}");
        assert_true(api_ok(o));
        json_object_put(o);
        assert_true(path_exists(env_path(d->cg, "workload.slice/after-fuzz.scope")));
}

static void sixty_four_clients_served_at_once(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, "ApiMaxClients=70");
        start(d);
        enum { N = 64 };
        int fds[N];
        /* all connected, then a slow one among them, then every request */
        for (int i = 0; i < N; i++)
                fds[i] = api_connect(d);
        int slow = api_connect(d);
        assert_int_equal(send(slow, "{\"ca", 4, 0), 4);
        for (int i = 0; i < N; i++) {
                char req[128];
                int len = snprintf(req, sizeof(req), "{\"call\":\"scope.metrics\",\"args\":{\"path\":\"workload.slice\"},\"id\":%d}\n", i);
                assert_int_equal(send(fds[i], req, (size_t) len, 0), len);
        }
        /* the last sent is read first: its answer may wait for all 64 to be
         * served (arm64 under TCG among six VMs took over 5 s, CI 12-06); a
         * daemon stalled by the slow client never answers at all */
        for (int i = N - 1; i >= 0; i--) {
                char buf[4096];
                assert_true(read_lines(fds[i], buf, sizeof(buf), 1, 30000) > 0);
                json_object *o = json_tokener_parse(buf);
                assert_true(api_ok(o));
                assert_int_equal(num(o, "id", NULL), i);
                json_object_put(o);
                /* a second request on the same connection */
                const char *again = "{\"call\":\"emergency.status\"}\n";
                assert_int_equal(send(fds[i], again, strlen(again), 0), (ssize_t) strlen(again));
        }
        for (int i = 0; i < N; i++) {
                char buf[4096];
                struct pollfd p = { .fd = fds[i], .events = POLLIN };
                assert_int_equal(poll(&p, 1, 30000), 1);
                ssize_t n = read(fds[i], buf, sizeof(buf) - 1);
                assert_true(n > 0);
                buf[n] = '\0';
                has(buf, "\"ok\":true");
        }
        /* 64 + the slow one + 5 more reach ApiMaxClients=70; the next is turned away */
        int more[5];
        for (int i = 0; i < 5; i++)
                more[i] = api_connect(d);
        usleep(200000);
        int extra = api_connect(d);
        char buf[512];
        struct pollfd p = { .fd = extra, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 5000), 1);
        ssize_t n = read(extra, buf, sizeof(buf) - 1);
        assert_true(n > 0);
        buf[n] = '\0';
        has(buf, "too many clients (ApiMaxClients)");
        close(extra);
        for (int i = 0; i < 5; i++)
                close(more[i]);
        for (int i = 0; i < N; i++)
                close(fds[i]);
        close(slow);
        usleep(200000);
        json_object *o = api_call(d, "status", NULL);
        assert_true(api_ok(o));
        assert_int_equal(num(o, "result", "counters") >= 0, 1);
        json_object_put(o);
}

/* "name{labels} value" lines, each family with HELP and TYPE first. */
static void parse_exposition(const char *text, json_object *samples) {
        char *copy = strdup(text), *save = NULL;
        char family[128] = "";
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (!strncmp(line, "# HELP ", 7)) {
                        sscanf(line + 7, "%127s", family);
                        continue;
                }
                if (!strncmp(line, "# TYPE ", 7)) {
                        char name[128], type[32];
                        assert_int_equal(sscanf(line + 7, "%127s %31s", name, type), 2);
                        assert_string_equal(name, family);
                        assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge"));
                        continue;
                }
                char *space = strrchr(line, ' ');
                if (!space)
                        fail_msg("not a sample: %s", line);
                *space = '\0';
                char *end;
                double v = strtod(space + 1, &end);
                if (*end)
                        fail_msg("not a value: %s", space + 1);
                if (strncmp(line, family, strlen(family)) || (line[strlen(family)] && line[strlen(family)] != '{'))
                        fail_msg("sample %s outside its family %s", line, family);
                json_object_object_add(samples, line, json_object_new_double(v));
        }
        free(copy);
}

static double sample(json_object *samples, const char *key) {
        json_object *v;
        if (!json_object_object_get_ex(samples, key, &v))
                fail_msg("no sample %s", key);
        return json_object_get_double(v);
}

/* Whether pid holds a listening TCP socket (IPv4 or IPv6): the sockets
 * among its descriptors, against the kernel's tables of listeners. */
static bool listens_on_tcp(pid_t pid) {
        char dir[64], link[PATH_MAX], line[512], path[PATH_MAX + 64];
        unsigned long inodes[256];
        size_t n = 0;
        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int) pid);
        DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d)) && n < ELEMENTSOF(inodes)) {
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                ssize_t len = readlink(path, link, sizeof(link) - 1);
                if (len > 0) {
                        link[len] = '\0';
                        if (sscanf(link, "socket:[%lu]", &inodes[n]) == 1)
                                n++;
                }
        }
        closedir(d);
        assert_true(n > 0); /* its API socket at least: the look is not blind */
        static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
        for (size_t t = 0; t < ELEMENTSOF(tables); t++) {
                FILE *f = fopen(tables[t], "re");
                while (f && fgets(line, sizeof(line), f)) {
                        unsigned st;
                        unsigned long inode;
                        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
                        if (sscanf(line, " %*s %*s %*s %x %*s %*s %*s %*s %*s %lu", &st, &inode) == 2 && st == 0x0A)
                                for (size_t i = 0; i < n; i++)
                                        if (inodes[i] == inode) {
                                                fclose(f);
                                                return true;
                                        }
                }
                if (f)
                        fclose(f);
        }
        return false;
}

/* The v1 freezer group of the running test: thawed in teardown even when
 * an assertion failed half-way, so its task can die and the root go. */
static char frozen_group[512];

static int slow_teardown(void **state) {
        if (frozen_group[0]) {
                char p[600];
                snprintf(p, sizeof(p), "%s/freezer.state", frozen_group);
                write_text(p, "THAWED");
        }
        int r = dmn_teardown(state);
        if (frozen_group[0])
                rmdir(frozen_group);
        frozen_group[0] = '\0';
        return r;
}

/* A task in scope (an API path) that SIGKILL cannot finish: frozen by a
 * cgroup-v1 freezer group, which slow_teardown thaws. Skips without one. */
static pid_t frozen_child(struct dmn *d, const char *scope) {
        char freezer[256], why[1024], cmd[512], out[4096];
        v1_freezer(freezer, sizeof(freezer));
        if (!freezer[0])
                SKIP_BECAUSE("no cgroup-v1 freezer to make an unkillable task");
        snprintf(frozen_group, sizeof(frozen_group), "%s/hn-test.api.%d", freezer, (int) getpid());
        assert_int_equal(mkdir(frozen_group, 0755), 0);
        pid_t child = sleeper();
        snprintf(cmd, sizeof(cmd), "scope attach %s %d", scope, (int) child);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 0);
        if (freeze_v1_task(frozen_group, child, why, sizeof(why)) < 0)
                fail_msg("%s", why);
        return child;
}

/* A scope made a zombie the only way the guard allows: by the daemon
 * (F30), through a destroy whose task cannot die. The config must give a
 * short KillTimeoutMSec. */
static void zombie_made_by_the_daemon(struct dmn *d, const char *scope) {
        char cmd[512], out[4096];
        frozen_child(d, scope);
        snprintf(cmd, sizeof(cmd), "scope destroy %s", scope);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 6); /* kill_failed (exit 6): marked a zombie */
        assert_true(getxattr(env_path(d->cg, scope), HN_CGROUP_ZOMBIE_XATTR, NULL, 0) >= 0);
}

static void metrics_scraped_and_parsed(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        char extra[512], textfile[192];
        snprintf(textfile, sizeof(textfile), "%s/prom/hpcnode.prom", d->dir);
        snprintf(extra, sizeof(extra), "MetricsTextfile=%s\nMetricsIntervalSec=1\nKillTimeoutMSec=300", textfile);
        write_config(d, extra);
        char prom[192];
        snprintf(prom, sizeof(prom), "%s/prom", d->dir);
        assert_int_equal(mkdir(prom, 0755), 0);
        start(d);
        char out[4096];
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice m1"), 0);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice m1"), 1);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create pact.slice/gpu.slice m2"), 0);
        pid_t writer; /* a cross-slice write: made in audit mode, denied in enforce */
        assert_int_equal(agent_run(d->workload_exe, "mkdir", env_path(d->cg, "pact.slice/infra.slice/cross"), NULL, &writer),
                         can_enforce() ? EPERM : 0);
        json_object *o = wait_record(d->log, "cgroup.mkdir", env_path(d->cg, "pact.slice/infra.slice/cross"));
        json_object_put(o);
        zombie_made_by_the_daemon(d, "workload.slice/m1.scope");

        /* the textfile: written within the interval after the zombie was
         * marked (one written before it may be there already), whole, no
         * temporary left */
        char text[1 << 16];
        for (double end = now_s() + 10; now_s() < end; usleep(100000))
                if (read_text(textfile, text, sizeof(text)) == 0 &&
                    strstr(text, "hpcnode_zombie_scopes{owner=\"workload\"} 1\n"))
                        break;
        promtool_passes(textfile);
        json_object *s = json_object_new_object();
        parse_exposition(text, s);
        assert_true(sample(s, "hpcnode_api_requests_total{call=\"scope.create\"}") == 3);
        assert_true(sample(s, "hpcnode_api_errors_total{call=\"scope.create\"}") == 1);
        assert_true(sample(s, "hpcnode_scopes{owner=\"workload\"}") == 1);
        assert_true(sample(s, "hpcnode_scopes{owner=\"pact\"}") == 1);
        assert_true(sample(s, "hpcnode_zombie_scopes{owner=\"workload\"}") == 1);
        assert_true(sample(s, "hpcnode_zombie_scopes{owner=\"pact\"}") == 0);
        /* the zombie's process stays in m1.scope; m2.scope is empty */
        assert_true(sample(s, "hpcnode_scope_processes{owner=\"workload\"}") >= 1);
        assert_true(sample(s, "hpcnode_scope_processes{owner=\"pact\"}") == 0);
        bool enforce = can_enforce();
        /* two scopes made, and the cross-slice mkdir: denied in enforce mode */
        assert_true(sample(s, "hpcnode_events_total{type=\"cgroup.mkdir\",verdict=\"allowed\"}") == (enforce ? 2 : 3));
        assert_true(sample(s, "hpcnode_events_total{type=\"cgroup.mkdir\",verdict=\"denied\"}") == (enforce ? 1 : 0));
        assert_true(sample(s, "hpcnode_cross_slice_writes_total{type=\"cgroup.mkdir\"}") == 1);
        assert_true(sample(s, "hpcnode_ringbuf_lost_total{type=\"cgroup.mkdir\"}") == 0);
        assert_true(sample(s, "hpcnode_resyncs_total") == 0);
        assert_true(sample(s, "hpcnode_mount_drift_total{class=\"held_mount_removed\"}") == 0);
        assert_true(sample(s, "hpcnode_emergency_active") == 0);
        assert_true(sample(s, "hpcnode_images_mounted") == 0);
        assert_true(sample(s, "hpcnode_bpf_prog_runs_total{program=\"hn_cgroup_mkdir\"}") >= 0);
        json_object_put(s);
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "ls %s | grep -q tmp", prom);
        assert_int_not_equal(system(cmd), 0);
        /* no network socket: the exposition is the textfile and the API */
        assert_false(listens_on_tcp(d->pid));
        /* over the API too */
        assert_int_equal(ctl_run(d, NULL, text, sizeof(text), "metrics"), 0);
        has(text, "hpcnode_scopes{owner=\"workload\"} 1");
}

static void emergency_lifecycle(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, NULL);
        start(d);
        char out[1 << 16];
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency begin --reason 'disk failing' --duration 1h"), 0);
        has(out, "ACTIVE: disk failing");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency begin --reason again --duration 1m"), 6); /* busy */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "status"), 0);
        has(out, "Emergency:    ACTIVE: disk failing");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "tree"), 0);
        has(out, "[EMERGENCY]");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "metrics"), 0);
        has(out, "hpcnode_emergency_active 1\n");
        json_object *o = wait_record(d->log, "emergency.begin", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "outcome", NULL), "done");
        assert_string_equal(str(o, "client", "role"), "operator");
        assert_string_equal(str(o, "detail", NULL), "disk failing");
        json_object_put(o);

        /* persisted: a restarted daemon still knows it (a liveness wait:
         * arm64 under TCG took longer than 5 s to stop) */
        kill(d->pid, SIGTERM);
        assert_int_equal(wait_pid_ms(d->pid, 60000, NULL), d->pid);
        d->pid = 0;
        start(d);
        json_object *st = ctl_json(d, "emergency status");
        assert_true(json_object_get_boolean(json_object_object_get(st, "active")));
        assert_string_equal(str(st, "reason", NULL), "disk failing");
        json_object_put(st);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency end"), 0);
        assert_string_equal(out, "none\n");

        /* expiry closes one, on record, and every view says so */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency begin --reason short --duration 2s"), 0);
        for (double end = now_s() + 10; now_s() < end; usleep(100000))
                if (count_lines(d->log, "\"detail\":\"expired\"") > 0)
                        break;
        assert_int_equal(count_lines(d->log, "\"event\":\"emergency.end\",\"outcome\":\"done\""), 2);
        assert_int_equal(count_lines(d->log, "\"detail\":\"expired\""), 1);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency status"), 0);
        assert_string_equal(out, "none\n");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "metrics"), 0);
        has(out, "hpcnode_emergency_active 0\n");

        /* begin and end by command */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency begin --reason drill --duration 1h"), 0);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency end"), 0);
        assert_string_equal(out, "none\n");
        assert_int_equal(count_lines(d->log, "\"event\":\"emergency.end\""), 3);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency begin --reason long --duration 25h"), 1);
        has(out, "duration_s");
}

/* Every node of `tree --json` against the directories and files. */
static void check_node(struct dmn *d, json_object *n, size_t *count) {
        const char *rel = str(n, "path", NULL);
        const char *abs = env_path(d->cg, rel);
        assert_true(path_exists(abs));
        char procs_path[4200], procs[8192];
        snprintf(procs_path, sizeof(procs_path), "%s/cgroup.procs", abs);
        read_text(procs_path, procs, sizeof(procs));
        assert_int_equal(num(n, "processes", NULL), count_text(procs, "\n"));
        bool zombie = getxattr(abs, HN_CGROUP_ZOMBIE_XATTR, NULL, 0) >= 0;
        assert_int_equal(json_object_get_boolean(json_object_object_get(n, "zombie")), zombie);
        assert_string_equal(str(n, "owner", NULL), hn_slice_owner_name(hn_slice_owner(rel)));
        json_object *kids = json_object_object_get(n, "children");
        size_t dirs = 0;
        DIR *dir = opendir(abs);
        for (struct dirent *de; (de = readdir(dir));)
                dirs += de->d_type == DT_DIR && de->d_name[0] != '.';
        closedir(dir);
        assert_int_equal(json_object_array_length(kids), dirs);
        (*count)++;
        for (size_t i = 0; i < json_object_array_length(kids); i++)
                check_node(d, json_object_array_get_idx(kids, i), count);
}

static void tree_matches_the_kernel(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, "KillTimeoutMSec=300");
        start(d);
        char out[1 << 16], cmd[256];
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice a"), 0);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice b"), 0);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create pact.slice/infra.slice c"), 0);
        pid_t kids[3];
        for (int i = 0; i < 3; i++) {
                kids[i] = sleeper();
                snprintf(cmd, sizeof(cmd), "scope attach %s %d", i < 2 ? "workload.slice/a.scope" : "pact.slice/infra.slice/c.scope",
                         (int) kids[i]);
                assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 0);
        }
        zombie_made_by_the_daemon(d, "workload.slice/b.scope");
        json_object *t = ctl_json(d, "tree");
        assert_string_equal(str(t, "root", NULL), d->cg->s.root);
        json_object *slices = json_object_object_get(t, "slices");
        assert_int_equal(json_object_array_length(slices), 2);
        size_t count = 0;
        for (size_t i = 0; i < 2; i++)
                check_node(d, json_object_array_get_idx(slices, i), &count);
        assert_int_equal(count, 1 + 4 + 1 + 1 + 2); /* pact + 4 subslices + c, workload + a, b */
        json_object_put(t);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "tree"), 0);
        has(out, "├─pact.slice  pact, 0 procs");
        has(out, "│ ├─infra.slice  pact, 0 procs");
        has(out, "│ │ └─c.scope  pact, 1 procs");
        has(out, "└─workload.slice  workload, 0 procs");
        has(out, "  ├─a.scope  workload, 2 procs");
        has(out, "  └─b.scope  workload, 1 procs"); /* the task that could not die */
        has(out, "[zombie]");
        for (int i = 0; i < 3; i++) {
                kill(kids[i], SIGKILL);
                wait_pid_ms(kids[i], 5000, NULL);
        }
}

/* A call that waits (a kill of a task that cannot die) runs off the
 * event loop: others are answered and the kernel's records flow
 * meanwhile; the caller gets kill_failed at KillTimeoutMSec; one
 * connection's replies keep the order of its requests. */
static void *continue_later(void *pid) {
        usleep(300000);
        kill(*(pid_t *) pid, SIGCONT);
        return NULL;
}

static void slow_call_holds_no_one(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        char p[700], out[4096];
        /* the kill's timeout is the room the acts meanwhile have: under TCG
         * among six VMs they took over 1.2 s (fresh run 12-07) */
        write_config(d, "KillTimeoutMSec=4000");
        start(d);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice stuck"), 0);
        pid_t child = frozen_child(d, "workload.slice/stuck.scope");
        snprintf(p, sizeof(p), "%s/freezer.state", frozen_group);

        /* the destroy, and behind it on the same connection a status */
        int fd = api_connect(d);
        const char *two = "{\"call\":\"scope.destroy\",\"args\":{\"path\":\"workload.slice/stuck.scope\"},\"id\":1}\n"
                          "{\"call\":\"status\",\"id\":2}\n";
        double t0 = now_s();
        assert_int_equal(write(fd, two, strlen(two)), (ssize_t) strlen(two));
        usleep(200000);
        /* meanwhile: another client is answered at once, a cross-slice act is recorded */
        double t1 = now_s();
        json_object *o = api_call(d, "status", NULL);
        assert_true(api_ok(o));
        json_object_put(o);
        assert_true(now_s() - t1 < 2.0); /* not behind the destroy (4 s) */
        const char *target = env_path(d->cg, "pact.slice/infra.slice/meanwhile");
        pid_t writer;
        assert_int_equal(agent_run(d->workload_exe, "mkdir", target, NULL, &writer), can_enforce() ? EPERM : 0);
        o = wait_record(d->log, "cgroup.mkdir", can_enforce() ? NULL : target);
        assert_non_null(o);
        json_object_put(o);
        /* all that before the kill gave up: its reply is not there yet */
        struct pollfd pending = { .fd = fd, .events = POLLIN };
        assert_int_equal(poll(&pending, 1, 0), 0);

        /* the replies, in order: kill_failed at the timeout, then status */
        char replies[16384];
        (void) read_lines(fd, replies, sizeof(replies), 2, 10000);
        if (count_text(replies, "\n") != 2)
                fail_msg("expected two replies, got: %s", replies);
        double took = now_s() - t0;
        close(fd);
        assert_true(took >= 3.9);
        char *second = strchr(replies, '\n') + 1;
        second[-1] = '\0';
        json_object *r1 = json_tokener_parse(replies), *r2 = json_tokener_parse(second);
        assert_int_equal(num(r1, "id", NULL), 1);
        assert_string_equal(str(r1, "error", "kind"), "kill_failed");
        assert_int_equal(num(r2, "id", NULL), 2);
        assert_true(api_ok(r2));
        json_object_put(r1);
        json_object_put(r2);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope list"), 0);
        has(out, "[zombie]");
        /* once the task can die, a destroy finishes the job */
        assert_int_equal(write_text(p, "THAWED"), 0);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope destroy workload.slice/stuck.scope"), 0);
        assert_int_equal(wait_pid_ms(child, 5000, NULL), child);
        assert_false(path_exists(env_path(d->cg, "workload.slice/stuck.scope")));
        /* a client that half-closes after a call that waits still gets its reply */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice quick"), 0);
        const char *req = "{\"call\":\"scope.destroy\",\"args\":{\"path\":\"workload.slice/quick.scope\"}}\n";
        bool closed;
        /* stopped, so it finds the request and the half-close together;
         * continued by a thread of this process, its parent (the self
         * guard lets no other process signal it) */
        assert_int_equal(kill(d->pid, SIGSTOP), 0);
        pthread_t resume;
        assert_int_equal(pthread_create(&resume, NULL, continue_later, &d->pid), 0);
        o = raw(d, req, strlen(req), true, &closed);
        assert_int_equal(pthread_join(resume, NULL), 0);
        assert_true(api_ok(o));
        assert_true(closed);
        json_object_put(o);
        assert_false(path_exists(env_path(d->cg, "workload.slice/quick.scope")));
}

/* The thread of hpcnoded's named name (its comm); 0 if there is none. */
static pid_t thread_named(pid_t pid, const char *name) {
        char dir[64], path[128], comm[64];
        snprintf(dir, sizeof(dir), "/proc/%d/task", (int) pid);
        DIR *tasks = opendir(dir);
        pid_t found = 0;
        for (struct dirent *t; !found && tasks && (t = readdir(tasks));) {
                if (t->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s/comm", dir, t->d_name);
                if (read_text(path, comm, sizeof(comm)) == 0 && !strncmp(comm, name, strlen(name)) &&
                    comm[strlen(name)] == '\n')
                        found = (pid_t) atoi(t->d_name);
        }
        if (tasks)
                closedir(tasks);
        return found;
}

/* AuditFsync=yes (the default): a call's reply goes once its record is
 * on disk, and the loop does not wait for the disk meanwhile. The log's
 * sync thread is held in a ptrace stop (one thread stops, the others
 * run): the call's record is written but cannot be synced, so no reply,
 * while another client's status is answered at once; let go, the reply
 * comes. Audit mode: the self guard, where BPF LSM runs, refuses a
 * ptrace of hpcnoded. */
static void reply_waits_for_its_record_on_disk(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, "Mode=audit");
        d->mode = "mode audit";
        start(d);
        pid_t tid = thread_named(d->pid, "hpcnoded-sync");
        if (tid <= 0)
                fail_msg("no thread named hpcnoded-sync in hpcnoded (pid %d)", (int) d->pid);
        assert_int_equal(ptrace(PTRACE_SEIZE, tid, 0, 0), 0);
        assert_int_equal(ptrace(PTRACE_INTERRUPT, tid, 0, 0), 0);
        int st;
        assert_int_equal(waitpid(tid, &st, __WALL), tid);
        assert_true(WIFSTOPPED(st));

        int fd = api_connect(d);
        const char *req = "{\"call\":\"scope.create\",\"args\":{\"parent\":\"workload.slice\",\"name\":\"synced\"},\"id\":7}\n";
        assert_int_equal(write(fd, req, strlen(req)), (ssize_t) strlen(req));
        /* the act is done and its record written: only the sync is missing */
        const char *scope = env_path(d->cg, "workload.slice/synced.scope");
        char needle[600];
        snprintf(needle, sizeof(needle), "\"path\":\"%s\"", scope);
        assert_true(wait_lines(d->log, needle, 1) >= 1);
        assert_true(path_exists(scope));
        /* the loop answers others meanwhile */
        double t = now_s();
        json_object *o = api_call(d, "status", NULL);
        assert_true(api_ok(o));
        json_object_put(o);
        assert_true(now_s() - t < 2.0);
        struct pollfd held = { .fd = fd, .events = POLLIN };
        assert_int_equal(poll(&held, 1, 300), 0);

        assert_int_equal(ptrace(PTRACE_DETACH, tid, 0, 0), 0);
        char reply[4096];
        (void) read_lines(fd, reply, sizeof(reply), 1, 10000);
        close(fd);
        o = json_tokener_parse(reply);
        if (!o)
                fail_msg("no reply after the sync thread went on: \"%s\"", reply);
        assert_int_equal(num(o, "id", NULL), 7);
        assert_true(api_ok(o));
        json_object_put(o);
}

/* The unit's CapabilityBoundingSet=, as setpriv --bounding-set takes it. */
static void unit_bounding_set(char *buf, size_t size) {
        char unit[PATH_MAX], text[8192];
        snprintf(unit, sizeof(unit), "%s", daemon_path());
        /* up from the build directory to the tree holding the unit */
        for (int up = 0; up < 5; up++) {
                *strrchr(unit, '/') = '\0';
                char p[PATH_MAX + 64];
                snprintf(p, sizeof(p), "%s/user/daemon/hpcnoded.service", unit);
                if (read_text(p, text, sizeof(text)) == 0)
                        break;
                text[0] = '\0';
        }
        char *line = strstr(text, "\nCapabilityBoundingSet=");
        assert_non_null(line);
        line += strlen("\nCapabilityBoundingSet=");
        line[strcspn(line, "\n")] = '\0';
        size_t used = (size_t) snprintf(buf, size, "-all");
        for (char *save = NULL, *cap = strtok_r(line, " ", &save); cap; cap = strtok_r(NULL, " ", &save)) {
                used += (size_t) snprintf(buf + used, size - used, ",+");
                for (const char *c = cap + strlen("CAP_"); *c && used < size - 1; c++)
                        buf[used++] = (char) (*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
                buf[used] = '\0';
        }
}

/* hpcnoded with only the capabilities its unit grants: an agent of
 * another uid is still known by its executable, its records name their
 * cgroups, mounts and the owner mark still work. */
static void unit_capabilities_suffice(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        REQUIRE_MOUNT_ENV();
        char caps[512], agent[192], line[256], cmd[2048], out[1 << 16], image[256];
        unit_bounding_set(caps, sizeof(caps));
        has(caps, "+sys_admin");
        d->bounding_set = caps;
        snprintf(agent, sizeof(agent), "%s/lattice-ctl", d->dir);
        snprintf(cmd, sizeof(cmd), "cp %s %s", ctl_path(), agent);
        assert_int_equal(system(cmd), 0);
        snprintf(line, sizeof(line), "Executable=%s\nExecutableUid=4242", agent);
        d->workload_extra = line;
        assert_int_equal(chmod(d->dir, 0755), 0);
        snprintf(image, sizeof(image), "%s/app.sqfs", d->dir);
        assert_int_equal(make_image(image, "image-0\n"), 0);
        write_config(d, "Mode=audit\nAttribution=tracepoint\nLimitCheckMSec=0");
        d->mode = "mode audit";
        start(d);
        char status[64];
        snprintf(status, sizeof(status), "/proc/%d/status", (int) d->pid);
        read_text(status, out, sizeof(out));
        has(out, "CapBnd:\t"); /* and not all of them: */
        assert_null(strstr(out, "CapBnd:\t000001ffffffffff"));

        snprintf(cmd, sizeof(cmd), "HPCNODE_SOCKET=%s " UID_AGENT " %s status > %s/ctl.out 2>&1", d->socket, agent, d->dir);
        assert_int_equal(system(cmd), 0);
        snprintf(cmd, sizeof(cmd), "%s/ctl.out", d->dir);
        read_text(cmd, out, sizeof(out));
        has(out, "You are:      workload (uid 4242, matched by executable)");
        snprintf(cmd, sizeof(cmd), "HPCNODE_SOCKET=%s " UID_AGENT " %s scope create workload.slice capjob > /dev/null 2>&1",
                 d->socket, agent);
        assert_int_equal(system(cmd), 0);
        assert_true(path_exists(env_path(d->cg, "workload.slice/capjob.scope")));
        snprintf(cmd, sizeof(cmd), "mount acquire %s capjob", image);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 0);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "mount list"), 0);
        has(out, "held by capjob (operator)");
        /* the owner mark is a trusted xattr, written with the bounded set */
        char mark[32] = "", workdir_alloc[PATH_MAX];
        snprintf(workdir_alloc, sizeof(workdir_alloc), "%s/workdir/capjob", d->dir);
        assert_int_equal(getxattr(workdir_alloc, "trusted.hpcnode.owner", mark, sizeof(mark) - 1), 8);
        assert_string_equal(mark, "operator");
        /* a control-file record names its cgroup by path (open_by_handle_at) */
        char file[PATH_MAX + 32];
        snprintf(file, sizeof(file), "%s/cgroup.max.depth", env_path(d->cg, "workload.slice/capjob.scope"));
        pid_t writer;
        assert_int_equal(agent_run(d->pact_exe, "write", file, "3", &writer), 0);
        json_object *o = wait_record(d->log, "cgroup.control_write", file);
        assert_non_null(o);
        assert_string_equal(str(o, "writer", "identity"), "pact");
        json_object_put(o);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(scope_calls_act_and_refuse_naming_the_path, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(mount_calls_mount_bind_release_and_count, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(status_probe_help_and_exit_codes_tell_the_truth, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(every_call_refused_outside_its_roles, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(bad_requests_cost_the_request_not_the_daemon, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(borrowed_connections_refused, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(malformed_requests_never_acted_on, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(sixty_four_clients_served_at_once, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(pipelining_client_stalls_no_one, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(metrics_scraped_and_parsed, dmn_setup, slow_teardown),
                cmocka_unit_test_setup_teardown(emergency_lifecycle, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(tree_matches_the_kernel, dmn_setup, slow_teardown),
                cmocka_unit_test_setup_teardown(unit_capabilities_suffice, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(slow_call_holds_no_one, dmn_setup, slow_teardown),
                cmocka_unit_test_setup_teardown(reply_waits_for_its_record_on_disk, dmn_setup, dmn_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
