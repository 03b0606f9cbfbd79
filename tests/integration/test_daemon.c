/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hpcnoded end to end: a real daemon process with a scratch cgroup root,
 * real agents' stand-ins acting on the slices, and its audit trail read
 * back as JSON lines, every field checked. Host: audit mode. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <hpcnode/emergency.h>
#include <hpcnode/monitor.h>
#include <hpcnode/probe.h>

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "bpf_owned.h"
#include "daemon_fixture.h"
#include "fixture.h"
#include "mount_fixture.h"

/* mount.acquire over the API: the bind path into bind. */
static void acquire(struct dmn *d, const char *image, const char *alloc, char *bind, size_t size) {
        char args[4096];
        snprintf(args, sizeof(args), "{\"image\":\"%s\",\"allocation\":\"%s\"}", image, alloc);
        json_object *r = api_call(d, "mount.acquire", args);
        if (!api_ok(r))
                fail_msg("mount.acquire %s: %s", image, json_object_to_json_string(r));
        snprintf(bind, size, "%s", str(r, "result", "bind_path"));
        json_object_put(r);
}

static void release(struct dmn *d, const char *image, const char *alloc) {
        char args[4096];
        snprintf(args, sizeof(args), "{\"image\":\"%s\",\"allocation\":\"%s\"}", image, alloc);
        json_object *r = api_call(d, "mount.release", args);
        if (!api_ok(r))
                fail_msg("mount.release %s: %s", image, json_object_to_json_string(r));
        json_object_put(r);
}

/* Runs an agent stand-in, which must exit with want (0, or the errno it met). */
static pid_t act_expect(const char *exe, const char *verb, const char *a, const char *b, int want) {
        pid_t pid = 0;
        assert_int_equal(agent_run(exe, verb, a, b, &pid), want);
        return pid;
}

static pid_t act(const char *exe, const char *verb, const char *a, const char *b) {
        return act_expect(exe, verb, a, b, 0);
}

static void cross_slice_mkdir_is_one_record(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, NULL);
        start(d);
        const char *target = env_path(d->cg, "pact.slice/infra.slice/intruder");
        bool enforce = can_enforce();
        /* enforce: the writer sees EPERM and nothing is made; audit: it happens */
        pid_t pid = act_expect(d->workload_exe, "mkdir", target, NULL, enforce ? EPERM : 0);
        assert_int_equal(path_exists(target), !enforce);
        json_object *o = wait_record(d->log, "cgroup.mkdir", target);
        assert_non_null(o);
        assert_string_equal(str(o, "verdict", NULL), enforce ? "denied" : "allowed");
        assert_true(json_object_get_boolean(json_object_object_get(o, "cross_slice")));
        assert_string_equal(str(o, "target", "owner"), "pact");
        uint64_t id;
        /* a denied mkdir names the cgroup it would have been made in */
        assert_int_equal(hn_cgroup_id(enforce ? env_path(d->cg, "pact.slice/infra.slice") : target, &id, NULL), 0);
        assert_true((uint64_t) num(o, "target", "cgroup_id") == id);
        assert_int_equal(num(o, "writer", "pid"), pid);
        assert_int_equal(num(o, "writer", "tgid"), pid);
        assert_int_equal(num(o, "writer", "uid"), 0);
        assert_string_equal(str(o, "writer", "comm"), "lattice-agent");
        assert_string_equal(str(o, "writer", "identity"), "workload");
        /* named by the kernel at the act: the writer has exited by now */
        assert_string_equal(str(o, "writer", "exe"), d->workload_exe);
        assert_string_equal(str(o, "mode", NULL), enforce ? "enforce" : "audit");
        assert_false(json_object_get_boolean(json_object_object_get(o, "emergency")));
        assert_true(num(o, "time_ns", NULL) > 1700000000ll * 1000000000ll);
        assert_int_equal(strlen(str(o, "time", NULL)), strlen("2026-11-22T03:40:00.123456789Z"));
        char host[256] = "";
        assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
        assert_string_equal(str(o, "host", NULL), host);
        assert_null(json_object_object_get(o, "allocation")); /* pact's: no job's */
        assert_null(json_object_object_get(json_object_object_get(o, "writer"), "allocation"));
        json_object_put(o);
        /* exactly one: count the lines naming that target */
        char cmd[512], out[32];
        snprintf(cmd, sizeof(cmd), "grep -c '\"event\":\"cgroup.mkdir\".*%s\"' %s > %s/count", target, d->log, d->dir);
        assert_int_equal(system(cmd), 0);
        snprintf(cmd, sizeof(cmd), "%s/count", d->dir);
        read_text(cmd, out, sizeof(out));
        assert_string_equal(out, "1\n");
        /* the owner's own write is recorded, not as cross-slice */
        const char *own = env_path(d->cg, "pact.slice/infra.slice/chronyd");
        act(d->pact_exe, "mkdir", own, NULL);
        o = wait_record(d->log, "cgroup.mkdir", own);
        assert_non_null(o);
        assert_false(json_object_get_boolean(json_object_object_get(o, "cross_slice")));
        json_object_put(o);

        /* The wall clock stepped (NTP, an operator): a record made after
         * the step says the new time (the kernel stamps events on
         * CLOCK_BOOTTIME; an offset read once at start would not). Only in
         * a VM: here it would step the host's clock. */
        if (getenv("HN_VM")) {
                struct timespec t0, step;
                assert_int_equal(clock_gettime(CLOCK_REALTIME, &t0), 0);
                step = t0;
                step.tv_sec += 3600;
                assert_int_equal(clock_settime(CLOCK_REALTIME, &step), 0);
                const char *later = env_path(d->cg, "pact.slice/infra.slice/after-step");
                act(d->pact_exe, "mkdir", later, NULL);
                o = wait_record(d->log, "cgroup.mkdir", later);
                assert_int_equal(clock_gettime(CLOCK_REALTIME, &step), 0); /* back, before any assert */
                step.tv_sec -= 3600;
                assert_int_equal(clock_settime(CLOCK_REALTIME, &step), 0);
                assert_non_null(o);
                int64_t stepped_ns = ((int64_t) t0.tv_sec + 3600) * 1000000000ll + t0.tv_nsec;
                assert_true(num(o, "time_ns", NULL) >= stepped_ns);
                assert_true(num(o, "time_ns", NULL) < stepped_ns + 600ll * 1000000000ll);
                json_object_put(o);
        }

        /* joined with jobs: a write into an allocation's scope names it, and
         * so does a write by a process of that allocation */
        char reply[4096];
        /* made and filled by the daemon: in enforce mode this test is nobody's agent */
        assert_int_equal(ctl_run(d, NULL, reply, sizeof(reply), "scope create workload.slice alloc-7"), 0);
        char into[PATH_MAX + 128], from_job[PATH_MAX + 128];
        snprintf(into, sizeof(into), "%s", env_path(d->cg, "workload.slice/alloc-7.scope/stray"));
        snprintf(from_job, sizeof(from_job), "%s", env_path(d->cg, "pact.slice/infra.slice/from-alloc-7"));
        act_expect(d->pact_exe, "mkdir", into, NULL, enforce ? EPERM : 0);
        o = wait_record(d->log, "cgroup.mkdir", into);
        assert_non_null(o);
        assert_string_equal(str(o, "allocation", NULL), "alloc-7");
        assert_null(json_object_object_get(json_object_object_get(o, "writer"), "allocation"));
        json_object_put(o);
        int go[2];
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        pid_t job = fork();
        if (job == 0) { /* a job's process: attached first, then the act */
                char c;
                close(go[1]);
                if (read(go[0], &c, 1) != 1)
                        _exit(1);
                execl(d->workload_exe, d->workload_exe, "mkdir", from_job, (char *) NULL);
                _exit(127);
        }
        close(go[0]);
        snprintf(cmd, sizeof(cmd), "scope attach workload.slice/alloc-7.scope %d", (int) job);
        assert_int_equal(ctl_run(d, NULL, reply, sizeof(reply), cmd), 0);
        assert_int_equal(write(go[1], "g", 1), 1);
        close(go[1]);
        assert_int_equal(wait_pid_ms(job, 10000, NULL), job);
        o = wait_record(d->log, "cgroup.mkdir", from_job);
        assert_non_null(o);
        assert_string_equal(str(o, "writer", "allocation"), "alloc-7");
        assert_null(json_object_object_get(o, "allocation"));
        json_object_put(o);
}

/* hpcnoded in a PID namespace (a container) knows its own acts: its
 * getpid() is not the kernel's tgid, the programs compare it in its own
 * namespace. Its mkdir of a workload scope is the manager's, not a
 * cross-slice write by nobody; an agent's cross-slice mkdir still is one. */
static void manager_known_in_a_pid_namespace(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        if (system("unshare --pid --fork --mount-proc true 2>/dev/null") != 0)
                SKIP_BECAUSE("unshare --pid --mount-proc does not work here");
        d->pid_namespace = true;
        write_config(d, NULL);
        start(d);
        char cmd[PATH_MAX * 2], out[4096];
        /* the client in the daemon's namespace, so that its pid means something there */
        snprintf(cmd, sizeof(cmd), "nsenter --target $(cat /proc/%d/task/%d/children | cut -d' ' -f1) --pid -- "
                                   "env HPCNODE_SOCKET=%s %s scope create workload.slice nsjob > %s/ctl.out 2>&1",
                 (int) d->pid, (int) d->pid, d->socket, ctl_path(), d->dir);
        int st = system(cmd);
        snprintf(cmd, sizeof(cmd), "%s/ctl.out", d->dir);
        read_text(cmd, out, sizeof(out));
        if (st != 0)
                fail_msg("scope create in the namespace: %s", out);
        const char *scope = env_path(d->cg, "workload.slice/nsjob.scope");
        assert_true(path_exists(scope));
        json_object *o = wait_record(d->log, "cgroup.mkdir", scope);
        assert_non_null(o);
        assert_string_equal(str(o, "writer", "identity"), "manager");
        assert_false(json_object_get_boolean(json_object_object_get(o, "cross_slice")));
        assert_string_equal(str(o, "verdict", NULL), "allowed");
        json_object_put(o);
        /* and a stranger's cross-slice act is still one */
        const char *target = env_path(d->cg, "pact.slice/infra.slice/ns-intruder");
        act_expect(d->workload_exe, "mkdir", target, NULL, can_enforce() ? EPERM : 0);
        o = wait_record(d->log, "cgroup.mkdir", target);
        assert_non_null(o);
        assert_true(json_object_get_boolean(json_object_object_get(o, "cross_slice")));
        assert_string_equal(str(o, "writer", "identity"), "workload");
        json_object_put(o);
        assert_int_equal(count_lines(d->log, "\"identity\":\"none\""), 0);
        /* stopped by its parent: unshare ignores SIGTERM, and its death
         * sends the daemon SIGTERM (--kill-child; the self guard lets the
         * parent). Gone before the teardown removes its files. */
        char children[64];
        snprintf(cmd, sizeof(cmd), "/proc/%d/task/%d/children", (int) d->pid, (int) d->pid);
        read_text(cmd, children, sizeof(children));
        pid_t daemon = (pid_t) atoi(children);
        kill(d->pid, SIGKILL);
        assert_int_equal(wait_pid_ms(d->pid, 30000, NULL), d->pid);
        d->pid = 0;
        for (double end = now_s() + 30; now_s() < end && daemon > 0 && kill(daemon, 0) == 0;)
                usleep(20000);
        assert_int_not_equal(kill(daemon, 0), 0);
}

static void library_actions_share_the_trail(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        /* a fresh root: the daemon builds the layout and says so */
        struct scratch s;
        assert_int_equal(scratch_new(&s), 0);
        struct env *cg = d->cg;
        char saved[sizeof(cg->s.root)];
        memcpy(saved, cg->s.root, sizeof(saved));
        memcpy(cg->s.root, s.root, sizeof(s.root));
        write_config(d, NULL);
        memcpy(cg->s.root, saved, sizeof(saved));
        start(d);
        json_object *o = wait_record(d->log, "cgroup.create", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "outcome", NULL), "done");
        char want[PATH_MAX + 32];
        snprintf(want, sizeof(want), "%s/pact.slice", s.root);
        assert_string_equal(str(o, "path", NULL), want);
        json_object_put(o);
        kill(d->pid, SIGTERM);
        assert_int_equal(wait_pid_ms(d->pid, 30000, NULL), d->pid);
        d->pid = 0;
        scratch_remove(&s);
}

static void sighup_reopens_and_sigterm_stops(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, NULL);
        start(d);
        char rotated[160];
        snprintf(rotated, sizeof(rotated), "%s.1", d->log);
        assert_int_equal(rename(d->log, rotated), 0);
        kill(d->pid, SIGHUP);
        json_object *o = wait_record(d->log, "audit_log.reopened", NULL);
        assert_non_null(o); /* in the new file */
        json_object_put(o);
        const char *target = env_path(d->cg, "workload.slice/after-rotate");
        act(d->workload_exe, "mkdir", target, NULL);
        o = wait_record(d->log, "cgroup.mkdir", target);
        assert_non_null(o);
        json_object_put(o);
        kill(d->pid, SIGTERM);
        int status;
        assert_int_equal(wait_pid_ms(d->pid, 30000, &status), d->pid);
        d->pid = 0;
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        o = wait_record(d->log, "hpcnoded.stop", NULL);
        assert_non_null(o);
        json_object_put(o);
}

/* sh -c cmd (formatted); its exit status. */
/* The trail is a hash chain: verify passes on the live log, across a
 * restart and a rotation, and names the first broken record when one is
 * removed, edited, or the tail cut; a name with bytes that are not UTF-8
 * is escaped, so every line stays valid UTF-8 JSON. */
static void audit_chain_verified_and_tampering_found(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, NULL);
        start(d);
        char out[8192], copy[192], rotated[192];
        /* records of several kinds, one naming invalid UTF-8 */
        const char *bad = env_path(d->cg, "pact.slice/infra.slice/bad\xff\xfe-name");
        act_expect(d->workload_exe, "mkdir", bad, NULL, can_enforce() ? EPERM : 0);
        json_object *o = wait_record(d->log, "cgroup.mkdir", NULL);
        assert_non_null(o);
        has(str(o, "target", "path"), "bad\\xff\\xfe-name");
        json_object_put(o);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice chained"), 0);
        assert_int_equal(shf("iconv -f UTF-8 -t UTF-8 '%s' > /dev/null", d->log), 0);
        /* the live log verifies, against the daemon's own end */
        if (ctl_run(d, NULL, out, sizeof(out), "audit verify") != 0)
                fail_msg("audit verify of a live log: %s", out);
        has(out, "ok: ");
        has(out, "from the first");
        int lines = count_lines(d->log, "\"seq\":");
        assert_true(lines >= 4);

        /* a record removed (the second), in a copy */
        snprintf(copy, sizeof(copy), "%s/copy.jsonl", d->dir);
        assert_int_equal(shf("sed 2d '%s' > '%s'", d->log, copy), 0);
        char args[512];
        snprintf(args, sizeof(args), "audit verify %s", copy);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), args), 1);
        has(out, "broken at line 2: seq 3 follows seq 1: records missing");
        /* a record edited (the second: its successor's prev no longer matches) */
        assert_int_equal(shf("sed '2s/\"time_ns\":1/\"time_ns\":2/' '%s' > '%s'", d->log, copy), 0);
        assert_int_not_equal(shf("cmp -s '%s' '%s'", d->log, copy), 0);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), args), 1);
        has(out, "broken at line 3: seq 3: prev is not the hash of the record before it (seq 2)");
        /* and a line that is not a record */
        assert_int_equal(shf("sed '2s/^{/[/' '%s' > '%s'", d->log, copy), 0);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), args), 1);
        has(out, "broken at line 2: not a JSON record (after seq 1)");

        /* a restart goes on with the chain */
        kill(d->pid, SIGTERM);
        assert_int_equal(wait_pid_ms(d->pid, 30000, NULL), d->pid);
        d->pid = 0;
        start(d);
        if (ctl_run(d, NULL, out, sizeof(out), "audit verify") != 0)
                fail_msg("audit verify after a restart: %s", out);
        /* a rotation too: the new file starts where the old one ended */
        snprintf(rotated, sizeof(rotated), "%s.1", d->log);
        assert_int_equal(rename(d->log, rotated), 0);
        kill(d->pid, SIGHUP);
        o = wait_record(d->log, "audit_log.reopened", NULL);
        assert_non_null(o);
        json_object_put(o);
        if (ctl_run(d, NULL, out, sizeof(out), "audit verify") != 0)
                fail_msg("audit verify after a rotation: %s", out);
        has(out, "the chain's start is in an earlier file");
        snprintf(args, sizeof(args), "audit verify %s %s", rotated, d->log);
        if (ctl_run(d, NULL, out, sizeof(out), args) != 0)
                fail_msg("audit verify of both files: %s", out);
        has(out, "from the first");
        snprintf(args, sizeof(args), "audit verify %s %s", d->log, rotated); /* in the wrong order */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), args), 1);

        /* the live log's tail cut (sed -i writes a copy and renames it
         * over the log): with BPF LSM the self guard refuses it; without,
         * verify finds it against the daemon's end */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice chained2"), 0);
        if (can_enforce()) {
                assert_int_not_equal(shf("sed -i '$d' '%s' 2>/dev/null", d->log), 0);
                if (ctl_run(d, NULL, out, sizeof(out), "audit verify") != 0)
                        fail_msg("audit verify after a refused cut: %s", out);
                return;
        }
        assert_int_equal(shf("sed -i '$d' '%s'", d->log), 0);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "audit verify"), 1);
        has(out, "records missing at the end (the file was cut)");
}

/* A tiny ring buffer and a storm: the loss is counted in the kernel and the
 * daemon says so with a resync record. The gap is never silent. */
static void storm_gives_a_resync_record(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, "RingBufferBytes=4096");
        start(d);
        char prefix[PATH_MAX];
        snprintf(prefix, sizeof(prefix), "%s", env_path(d->cg, "workload.slice/storm"));
        /* Nobody reads while the storm blows: 200 records into room for 15
         * must overflow, whatever the machine's speed. */
        kill(d->pid, SIGSTOP);
        act(d->workload_exe, "mkdirs", prefix, "200");
        kill(d->pid, SIGCONT);
        json_object *o = wait_record(d->log, "resync", NULL);
        assert_non_null(o);
        const char *detail = str(o, "detail", NULL);
        printf("# resync: %s\n", detail);
        assert_non_null(strstr(detail, "cgroup.mkdir lost "));
        json_object_put(o);
}

/* The state lives in the kernel and in files, not in the daemon: a
 * restarted hpcnoded knows the owner of a cgroup made while it was down,
 * and the emergency it declared (sealed) before it went down. */
static void restart_loses_no_state(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, NULL);
        start(d);
        char out[4096];
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency begin --reason restart-test --duration 2m"), 0);
        /* a bind held across the restart, with who acquired it */
        char image[PATH_MAX], cmd[PATH_MAX + 64];
        snprintf(image, sizeof(image), "%s/keep.sqfs", d->dir);
        assert_int_equal(make_image(image, "image-0\n"), 0);
        snprintf(cmd, sizeof(cmd), "mount acquire %s keep-1", image);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 0);
        kill(d->pid, SIGTERM);
        assert_int_equal(wait_pid_ms(d->pid, 30000, NULL), d->pid);
        d->pid = 0;
        /* while it is down: a new allocation cgroup */
        const char *alloc = env_path(d->cg, "workload.slice/alloc-9");
        act(d->workload_exe, "mkdir", alloc, NULL);
        /* a second start appends to the same trail */
        start(d);
        /* the bind is the new daemon's, and who acquired it is known (the
         * workdir's mark: the old daemon's memory is gone) */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "mount list"), 0);
        if (!strstr(out, "held by keep-1 (operator)"))
                fail_msg("after the restart: %s", out);
        char sub[PATH_MAX + 16];
        snprintf(sub, sizeof(sub), "%s/step-1", alloc);
        bool enforce = can_enforce();
        act_expect(d->pact_exe, "mkdir", sub, NULL, enforce ? EPERM : 0);
        json_object *o = wait_record(d->log, "cgroup.mkdir", sub);
        assert_non_null(o);
        /* the cgroup made while the daemon was down is known to be workload's */
        assert_string_equal(str(o, "target", "owner"), "workload");
        assert_true(json_object_get_boolean(json_object_object_get(o, "cross_slice")));
        assert_string_equal(str(o, "writer", "identity"), "pact");
        /* and the emergency declared before is in force for the kernel's records */
        assert_true(json_object_get_boolean(json_object_object_get(o, "emergency")));
        json_object_put(o);
        /* its end reaches the kernel */
        usleep(300000);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency end"), 0);
        snprintf(sub, sizeof(sub), "%s/step-2", alloc);
        act_expect(d->pact_exe, "mkdir", sub, NULL, enforce ? EPERM : 0);
        o = wait_record(d->log, "cgroup.mkdir", sub);
        assert_non_null(o);
        assert_false(json_object_get_boolean(json_object_object_get(o, "emergency")));
        json_object_put(o);
        /* both starts, and the stop between them, are in the one trail */
        assert_int_equal(count_lines(d->log, "\"event\":\"hpcnoded.start\""), 2);
        assert_int_equal(count_lines(d->log, "\"event\":\"hpcnoded.stop\""), 1);
}

/* The daemon is the only source of truth for an emergency. pact writing
 * the state file itself (before a start, or while it runs) declares
 * nothing: recorded as tampering, removed, and pact's freeze of a
 * workload scope stays cross-slice (denied with BPF LSM). And the
 * deadline is the kernel's: with the daemon stopped (SIGSTOP), an
 * emergency past its end no longer opens workload.slice to pact. */
static void emergency_only_from_the_daemon(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        bool enforce = can_enforce();
        char state_path[128], forged[256], out[4096];
        snprintf(state_path, sizeof(state_path), "%s/emergency", d->dir);
        snprintf(forged, sizeof(forged), "actor=pact\nreason=mine\nstarted=%llu\nexpires=%llu\n",
                 (unsigned long long) time(NULL), (unsigned long long) time(NULL) + 600);
        FILE *f = fopen(state_path, "w");
        fputs(forged, f);
        fclose(f);
        write_config(d, NULL);
        start(d);
        json_object *o = wait_record(d->log, "emergency.state_tampered", NULL);
        assert_non_null(o);
        json_object_put(o);
        assert_false(path_exists(state_path));
        /* and written while it runs */
        f = fopen(state_path, "w");
        fputs(forged, f);
        fclose(f);
        assert_int_equal(wait_lines(d->log, "emergency.state_tampered", 2), 2);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency status"), 0);
        assert_string_equal(out, "none\n");
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "scope create workload.slice frozen-target"), 0);
        char freeze[PATH_MAX + 32];
        snprintf(freeze, sizeof(freeze), "%s/cgroup.freeze", env_path(d->cg, "workload.slice/frozen-target.scope"));
        act_expect(d->pact_exe, "write", freeze, "1", enforce ? EPERM : 0);
        o = wait_record(d->log, "cgroup.control_write", freeze);
        if (!o)
                o = wait_record(d->log, "cgroup.freeze", NULL);
        assert_non_null(o);
        assert_true(json_object_get_boolean(json_object_object_get(o, "cross_slice")));
        assert_false(json_object_get_boolean(json_object_object_get(o, "emergency")));
        json_object_put(o);
        if (!enforce)
                act(d->pact_exe, "write", freeze, "0");

        /* a real one, 10 s, then the daemon stopped: the kernel ends it at
         * the deadline (long enough for the acts below in a slow VM: arm64
         * under TCG outran a 2 s one) */
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "emergency begin --reason kernel-deadline --duration 10s"), 0);
        /* begun before the reply and rounded up to a whole second: its
         * deadline is no later than this */
        double deadline = now_s() + 11;
        int before = count_lines(d->log, "\"emergency\":true");
        act(d->pact_exe, "write", freeze, "1"); /* in force: pact may */
        act(d->pact_exe, "write", freeze, "0");
        assert_true(wait_lines(d->log, "\"emergency\":true", before + 1) > before);
        assert_int_equal(kill(d->pid, SIGSTOP), 0);
        while (now_s() < deadline + 1)
                usleep(100000);
        int denied = 0;
        pid_t writer = 0;
        denied = agent_run(d->pact_exe, "write", freeze, "1", &writer);
        assert_int_equal(kill(d->pid, SIGCONT), 0);
        assert_int_equal(denied, enforce ? EPERM : 0);
        /* its record, made by the kernel while the daemon slept: no emergency */
        char needle[64];
        snprintf(needle, sizeof(needle), "\"pid\":%d,", (int) writer);
        (void) wait_lines(d->log, needle, 1);
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "grep '%s' '%s' | grep -q '\"emergency\":false' && grep '%s' '%s' | grep -q '\"cross_slice\":true'",
                 needle, d->log, needle, d->log);
        if (system(cmd) != 0) {
                snprintf(cmd, sizeof(cmd), "grep '%s' '%s'", needle, d->log);
                (void) system(cmd);
                fail_msg("pact's write after the deadline was not a cross-slice write outside an emergency");
        }
}

/* Every program the daemon holds is one of the pinned set's, but for the
 * placement seed (run once at each start, never pinned). */
static void holds_only_the_pinned(pid_t pid, const struct bpf_ids *pinned) {
        struct bpf_ids now;
        bpf_ids_of_pid(pid, &now);
        size_t same = 0;
        for (size_t i = 0; i < now.n; i++) {
                char name[16];
                if (bpf_ids_has(pinned, now.v[i])) {
                        same++;
                        continue;
                }
                bpf_prog_name_of(now.v[i], name);
                if (strcmp(name, "hn_seed_placeme") != 0)
                        fail_msg("the restarted daemon holds program %u (%s), not one of the pinned set", now.v[i],
                                 name);
        }
        assert_int_equal(same, pinned->n); /* the links it adopted: all of them */
}

/* Enforcement outlives the daemon: pinned, the programs hold while
 * hpcnoded is dead (kill -9): an agent's cross-slice mkdir is denied (BPF
 * LSM) and in any case recorded — the record waits in the pinned ring
 * buffer and is in the trail after the restart, which adopts the set
 * instead of loading a second one. --unload removes it on purpose, refused
 * while agents hold mounts unless --force. */
static void programs_outlive_the_daemon(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        REQUIRE_MOUNT_ENV();
        dmn_pin_setup(d);
        write_config(d, NULL);
        start(d);
        json_object *o = wait_record(d->log, "hpcnoded.start", NULL);
        has(str(o, "detail", NULL), "programs pinned at ");
        json_object_put(o);
        /* by kernel id: the pinned set's programs, each held by the daemon */
        struct bpf_ids pinned, held;
        bpf_ids_of_pins(d->pin_dir, &pinned);
        bpf_ids_of_pid(d->pid, &held);
        assert_true(pinned.n > 5);
        for (size_t i = 0; i < pinned.n; i++)
                assert_true(bpf_ids_has(&held, pinned.v[i]));
        kill(d->pid, SIGKILL);
        assert_int_equal(wait_pid_ms(d->pid, 30000, NULL), d->pid);
        d->pid = 0;
        assert_int_equal(bpf_ids_alive(&pinned), pinned.n);
        /* nobody runs hpcnoded now */
        bool enforce = can_enforce();
        const char *target = env_path(d->cg, "pact.slice/infra.slice/while-dead");
        act_expect(d->workload_exe, "mkdir", target, NULL, enforce ? EPERM : 0);
        assert_int_equal(path_exists(target), !enforce);
        start(d);
        o = wait_record(d->log, "hpcnoded.start", NULL);
        json_object_put(o);
        assert_int_equal(count_lines(d->log, "programs adopted at "), 1);
        holds_only_the_pinned(d->pid, &pinned); /* not a second set */
        o = wait_record(d->log, "cgroup.mkdir", target);
        if (!o)
                fail_msg("the act made while hpcnoded was dead is not in the trail");
        assert_string_equal(str(o, "verdict", NULL), enforce ? "denied" : "allowed");
        assert_string_equal(str(o, "writer", "identity"), "workload");
        json_object_put(o);
        json_object *s = api_call(d, "status", NULL);
        json_object *programs = json_object_object_get(json_object_object_get(s, "result"), "bpf_programs");
        assert_string_equal(str(programs, "state", NULL), "adopted");
        json_object_put(s);

        /* --unload: refused while an agent holds a mount, then forced */
        char image[256], out[4096], cmd[1024];
        snprintf(image, sizeof(image), "%s/app.sqfs", d->dir);
        assert_int_equal(make_image(image, "image-0\n"), 0);
        snprintf(cmd, sizeof(cmd), "mount acquire %s job1", image);
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), cmd), 0);
        kill(d->pid, SIGTERM);
        assert_int_equal(wait_pid_ms(d->pid, 30000, NULL), d->pid);
        d->pid = 0;
        snprintf(cmd, sizeof(cmd), "'%s' --config '%s' --unload > '%s/unload.out' 2>&1", daemon_path(), d->config, d->dir);
        assert_int_not_equal(system(cmd), 0);
        snprintf(cmd, sizeof(cmd), "%s/unload.out", d->dir);
        read_text(cmd, out, sizeof(out));
        has(out, "held mounts are guarded by the pinned programs");
        assert_true(path_exists(d->pin_dir));
        assert_int_equal(bpf_ids_alive(&pinned), pinned.n);
        snprintf(cmd, sizeof(cmd), "'%s' --config '%s' --unload --force > '%s/unload.out' 2>&1", daemon_path(), d->config,
                 d->dir);
        assert_int_equal(system(cmd), 0);
        assert_false(path_exists(d->pin_dir));
        /* the kernel frees detached programs a little later (RCU) */
        for (double end = now_s() + 10; now_s() < end && bpf_ids_alive(&pinned) != 0;)
                usleep(50000);
        assert_int_equal(bpf_ids_alive(&pinned), 0);
        /* and the rules are gone with them: the same act is not refused */
        const char *after = env_path(d->cg, "pact.slice/infra.slice/after-unload");
        act(d->workload_exe, "mkdir", after, NULL);
        assert_true(path_exists(after));
}

/* The self guard (BPF LSM, enforce): a root stranger (any process but
 * hpcnoded and its parent, the service manager) cannot signal or ptrace
 * it, read its emergency key, write its audit trail, or remove its pins;
 * each refusal is recorded. Its parent stops it; its own executable
 * unloads the pins. */
static void hpcnoded_protects_itself(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        if (!can_enforce())
                SKIP_BECAUSE("the self guard needs BPF LSM (the VM suite runs it)");
        REQUIRE_MOUNT_ENV();
        dmn_pin_setup(d);
        write_config(d, NULL);
        start(d);
        /* signals from a stranger (a shell this test runs: not the daemon's parent) */
        assert_int_not_equal(shf("kill -TERM %d 2>/dev/null", (int) d->pid), 0);
        assert_int_not_equal(shf("kill -KILL %d 2>/dev/null", (int) d->pid), 0);
        assert_int_equal(kill(d->pid, 0), 0); /* alive, and signal 0 is anyone's */
        json_object *o = wait_record(d->log, "hpcnode.signal", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "verdict", NULL), "denied");
        assert_int_equal(num(o, "signal", NULL), SIGTERM);
        json_object_put(o);
        /* ptrace, and its memory through /proc */
        pid_t tracer = fork();
        if (tracer == 0)
                _exit(ptrace(PTRACE_SEIZE, d->pid, NULL, NULL) == 0 ? 0 : errno == EPERM ? 1 : 2);
        int status;
        assert_int_equal(wait_pid_ms(tracer, 10000, &status), tracer);
        assert_int_equal(WEXITSTATUS(status), 1);
        assert_int_not_equal(shf("head -c 1 /proc/%d/mem > /dev/null 2>&1", (int) d->pid), 0);
        o = wait_record(d->log, "hpcnode.ptrace", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "verdict", NULL), "denied");
        json_object_put(o);
        /* its files: the key is nobody's to read, the trail nobody's to write */
        assert_int_not_equal(shf("cat '%s/emergency.key' > /dev/null 2>&1", d->dir), 0);
        assert_int_not_equal(shf("echo forged >> '%s' 2>/dev/null", d->log), 0);
        assert_int_not_equal(shf("rm -f '%s/emergency.key' 2>/dev/null", d->dir), 0);
        o = wait_record(d->log, "hpcnode.file", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "verdict", NULL), "denied");
        json_object_put(o);
        /* its pins */
        assert_int_not_equal(shf("rm -rf '%s' 2>/dev/null", d->pin_dir), 0);
        assert_true(path_exists(d->pin_dir));
        char out[8192];
        assert_int_equal(ctl_run(d, NULL, out, sizeof(out), "audit verify"), 0);
        assert_true(count_lines(d->log, "\"op\":\"unlink\"") >= 1);
        assert_true(count_lines(d->log, "\"op\":\"open_read\"") >= 1);
        assert_true(count_lines(d->log, "\"op\":\"open_write\"") >= 1);
        /* its parent stops it; its own executable unloads the pins */
        assert_int_equal(kill(d->pid, SIGTERM), 0);
        assert_int_equal(wait_pid_ms(d->pid, 30000, NULL), d->pid);
        d->pid = 0;
        assert_int_not_equal(shf("rm -rf '%s' 2>/dev/null", d->pin_dir), 0); /* still, with no daemon */
        assert_int_equal(shf("'%s' --config '%s' --unload > /dev/null 2>&1", daemon_path(), d->config), 0);
        assert_false(path_exists(d->pin_dir));
}

/* hpcnoded in audit mode whatever the kernel allows: BPF LSM, where it
 * runs, records and allows. */
static void start_in_audit_mode(struct dmn *d) {
        write_config(d, "Mode=audit");
        d->mode = "mode audit";
        start(d);
}

/* A link pin of the set below pin_dir, its path into ret. */
static bool first_link_pin(const char *pin_dir, char *ret, size_t size) {
        DIR *sets = opendir(pin_dir);
        bool found = false;
        for (struct dirent *s; !found && sets && (s = readdir(sets));) {
                char links[512];
                if (s->d_name[0] == '.')
                        continue;
                snprintf(links, sizeof(links), "%s/%s/links", pin_dir, s->d_name);
                DIR *l = opendir(links);
                for (struct dirent *e; !found && l && (e = readdir(l));)
                        if (e->d_name[0] != '.')
                                found = (size_t) snprintf(ret, size, "%s/%s", links, e->d_name) < size;
                if (l)
                        closedir(l);
        }
        if (sets)
                closedir(sets);
        return found;
}

/* What a root stranger tries with hpcnode's programs and links taken from
 * their pins and by id: each refused (exit code: the first act that was
 * not). Reading them (their info, as bpftool does) stays open. */
static int bpf_objects_stranger(const char *link_pin, const char *bpffs, uint32_t *ret_link_id) {
        int link = bpf_obj_get(link_pin);
        if (link < 0)
                return 10;
        struct bpf_link_info li = { 0 };
        __u32 len = sizeof(li);
        if (bpf_obj_get_info_by_fd(link, &li, &len) < 0)
                return 11;
        *ret_link_id = li.id;
        if (bpf_link_detach(link) == 0 || errno != EPERM)
                return 12;
        char stolen[256];
        snprintf(stolen, sizeof(stolen), "%s/stolen-link", bpffs);
        if (bpf_obj_pin(link, stolen) == 0 || errno != EPERM)
                return 13;
        int by_id = bpf_link_get_fd_by_id(li.id);
        if (by_id < 0)
                return 14;
        if (bpf_link_detach(by_id) == 0 || errno != EPERM)
                return 15;
        int prog = bpf_prog_get_fd_by_id(li.prog_id);
        if (prog < 0)
                return 16;
        LIBBPF_OPTS(bpf_test_run_opts, run);
        if (bpf_prog_test_run_opts(prog, &run) == 0 || errno != EPERM)
                return 17;
        if (bpf_raw_tracepoint_open(NULL, prog) >= 0 || errno != EPERM)
                return 18;
        return 0;
}

/* hpcnode's links and programs, taken by a root stranger from their pins
 * or by id: not detached, pinned elsewhere, attached again or run; each
 * refusal recorded with the object and the command; the rules hold. */
static void bpf_objects_taken_by_id_are_refused(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        if (!can_enforce())
                SKIP_BECAUSE("the self guard needs BPF LSM (the VM suite runs it)");
        dmn_pin_setup(d);
        write_config(d, NULL);
        start(d);
        char pin[512];
        assert_true(first_link_pin(d->pin_dir, pin, sizeof(pin)));
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t child = fork();
        if (child == 0) {
                uint32_t got[2] = { 0 };
                int code = bpf_objects_stranger(pin, d->bpffs, &got[0]);
                got[1] = (uint32_t) errno;
                (void) !write(fds[1], got, sizeof(got));
                _exit(code);
        }
        close(fds[1]);
        uint32_t got[2] = { 0 }; /* the link's id; errno of the act that was not refused */
        assert_int_equal(read(fds[0], got, sizeof(got)), sizeof(got));
        close(fds[0]);
        uint32_t link_id = got[0];
        int status;
        assert_int_equal(wait_pid_ms(child, 10000, &status), child);
        if (WEXITSTATUS(status) != 0)
                fail_msg("act %d of the stranger was not refused: %s", WEXITSTATUS(status), strerror((int) got[1]));
        char stolen[256];
        snprintf(stolen, sizeof(stolen), "%s/stolen-link", d->bpffs);
        assert_false(path_exists(stolen));
        json_object *o = wait_record(d->log, "hpcnode.bpf_command", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "verdict", NULL), "denied");
        assert_string_equal(str(o, "op", NULL), "link_detach");
        assert_string_equal(str(o, "target", "kind"), "link");
        assert_int_equal(num(o, "target", "id"), link_id);
        assert_string_equal(str(o, "writer", "identity"), "none");
        assert_int_equal(num(o, "writer", "tgid"), child);
        json_object_put(o);
        assert_int_equal(wait_lines(d->log, "\"op\":\"obj_pin\"", 1), 1);
        assert_int_equal(wait_lines(d->log, "\"op\":\"prog_test_run\"", 1), 1);
        assert_int_equal(wait_lines(d->log, "\"op\":\"raw_tracepoint_open\"", 1), 1);
        assert_int_equal(wait_lines(d->log, "\"op\":\"link_detach\"", 2), 2);
        /* the rules hold: a stranger's mkdir in workload.slice is refused */
        const char *stranger = env_path(d->cg, "workload.slice/after-the-attempts");
        act_expect(d->pact_exe, "mkdir", stranger, NULL, EPERM);
        o = wait_record(d->log, "cgroup.mkdir", stranger);
        assert_non_null(o);
        assert_string_equal(str(o, "verdict", NULL), "denied");
        json_object_put(o);
}

/* Audit mode: the same commands go through (the kernel's own answer:
 * no detach for these links; a pin elsewhere is made, and removed here),
 * and each is recorded: by the lsm/bpf hook where BPF LSM runs, else as
 * the bpf(2) call enters. */
static void bpf_commands_recorded_in_audit_mode(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        dmn_pin_setup(d);
        start_in_audit_mode(d);
        char pin[512], stolen[256];
        assert_true(first_link_pin(d->pin_dir, pin, sizeof(pin)));
        snprintf(stolen, sizeof(stolen), "%s/stolen-link", d->bpffs);
        pid_t child = fork();
        if (child == 0) {
                int link = bpf_obj_get(pin);
                if (link < 0)
                        _exit(10);
                if (bpf_link_detach(link) == 0 || errno != EOPNOTSUPP)
                        _exit(11);
                if (bpf_obj_pin(link, stolen) < 0 || unlink(stolen) < 0)
                        _exit(12);
                _exit(0);
        }
        int status;
        assert_int_equal(wait_pid_ms(child, 10000, &status), child);
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(wait_lines(d->log, "\"event\":\"hpcnode.bpf_command\"", 2), 2);
        json_object *o = wait_record(d->log, "hpcnode.bpf_command", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "verdict", NULL), "allowed");
        assert_string_equal(str(o, "op", NULL), "link_detach");
        assert_string_equal(str(o, "target", "kind"), "link");
        assert_string_equal(str(o, "hook", NULL), can_enforce() ? "lsm" : "syscall_enter");
        assert_int_equal(num(o, "writer", "tgid"), child);
        json_object_put(o);
        assert_int_equal(count_lines(d->log, "\"op\":\"obj_pin\""), 1);
}

/* The one pinned set's directory below pin_dir into ret. */
static void pinned_set(const char *pin_dir, char *ret, size_t size) {
        char link[512];
        assert_true(first_link_pin(pin_dir, link, sizeof(link)));
        *strstr(link, "/links/") = '\0';
        assert_true((size_t) snprintf(ret, size, "%s", link) < size);
}

/* Audit mode lets a root stranger remove the pins: the next tick makes
 * them again and says so; an adopted set's links are held by the daemon,
 * so the programs stay attached meanwhile. --unload is refused while
 * hpcnoded runs (it would pin them again). */
static void pins_removed_are_made_again(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        dmn_pin_setup(d);
        start_in_audit_mode(d);
        char set[512], cmd[1200], out[4096];
        pinned_set(d->pin_dir, set, sizeof(set));
        /* removed while it is stopped: one tick after sees it all gone
         * (a tick amid rm's unlinks would pin again under its feet) */
        assert_int_equal(kill(d->pid, SIGSTOP), 0);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s/links' '%s/maps/emergency'", set, set);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(kill(d->pid, SIGCONT), 0);
        json_object *o = wait_record(d->log, "bpf.state_tampered", NULL);
        assert_non_null(o);
        has(str(o, "detail", NULL), "pins");
        json_object_put(o);
        snprintf(cmd, sizeof(cmd), "%s/maps/emergency", set);
        assert_true(path_exists(cmd));
        char link[512];
        assert_true(first_link_pin(d->pin_dir, link, sizeof(link)));
        snprintf(cmd, sizeof(cmd), "'%s' --config '%s' --unload > '%s/unload.out' 2>&1", daemon_path(), d->config, d->dir);
        assert_int_not_equal(system(cmd), 0);
        snprintf(cmd, sizeof(cmd), "%s/unload.out", d->dir);
        read_text(cmd, out, sizeof(out));
        has(out, "hpcnoded is running");
        assert_true(path_exists(link));
        /* adopted: the links are the daemon's too */
        kill(d->pid, SIGTERM);
        assert_int_equal(wait_pid_ms(d->pid, 30000, NULL), d->pid);
        d->pid = 0;
        start(d);
        assert_int_equal(count_lines(d->log, "programs adopted at "), 1);
        struct bpf_ids linked;
        snprintf(cmd, sizeof(cmd), "%s/links", set);
        bpf_ids_of_pins(cmd, &linked);
        assert_true(linked.n > 5);
        assert_int_equal(kill(d->pid, SIGSTOP), 0);
        /* counted now: the first half may have made more than one (the
         * records are not this half's, and the pins they name came back
         * before them) */
        int tampered = count_lines(d->log, "\"event\":\"bpf.state_tampered\"");
        snprintf(cmd, sizeof(cmd), "rm -rf '%s/links'", set);
        assert_int_equal(system(cmd), 0);
        const char *target = env_path(d->cg, "pact.slice/infra.slice/pins-gone");
        act(d->workload_exe, "mkdir", target, NULL);
        assert_int_equal(bpf_ids_alive(&linked), linked.n); /* held by the daemon's link descriptors */
        assert_int_equal(kill(d->pid, SIGCONT), 0);
        o = wait_record(d->log, "cgroup.mkdir", target);
        if (!o)
                fail_msg("with its pins gone, the adopted set's programs no longer ran");
        json_object_put(o);
        assert_true(wait_lines(d->log, "\"event\":\"bpf.state_tampered\"", tampered + 1) > tampered);
        assert_true(path_exists(link));
}

/* A thread of pid other than its leader, or 0. */
static pid_t other_thread(pid_t pid) {
        char dir[64];
        snprintf(dir, sizeof(dir), "/proc/%d/task", (int) pid);
        DIR *d = opendir(dir);
        pid_t found = 0;
        for (struct dirent *e; !found && d && (e = readdir(d));)
                if (atoi(e->d_name) > 0 && atoi(e->d_name) != pid)
                        found = atoi(e->d_name);
        if (d)
                closedir(d);
        return found;
}

/* A root stranger's acts on hpcnoded that audit mode lets through, each
 * one: a signal it ignores, ptrace (seized, then let go), its memory read
 * three ways, its fd taken, its key read, its trail opened for writing. */
static int self_acts_stranger(pid_t daemon, const char *key, const char *log) {
        if (kill(daemon, SIGWINCH) < 0)
                return 1;
        if (ptrace(PTRACE_SEIZE, daemon, NULL, NULL) < 0)
                return 2;
        (void) ptrace(PTRACE_DETACH, daemon, NULL, NULL);
        char byte;
        struct iovec local = { &byte, 1 }, remote = { (void *) 4096, 1 };
        (void) process_vm_readv(daemon, &local, 1, &remote, 1, 0); /* the address need not be mapped */
        char mem[64];
        snprintf(mem, sizeof(mem), "/proc/%d/task/%d/mem", (int) daemon, (int) other_thread(daemon));
        int fd = open(mem, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 3;
        close(fd);
        int pidfd = (int) syscall(SYS_pidfd_open, daemon, 0);
        if (pidfd < 0)
                return 4;
        if ((fd = (int) syscall(SYS_pidfd_getfd, pidfd, 0, 0)) < 0)
                return 5;
        close(fd);
        close(pidfd);
        if ((fd = open(key, O_RDONLY | O_CLOEXEC)) < 0)
                return 6;
        close(fd);
        if ((fd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
                return 7;
        close(fd);
        return 0;
}

/* A stranger that reads hpcnoded's memory n times, waited for; its pid,
 * and in *took the seconds it took. */
static pid_t memory_reader(pid_t daemon, int n, const char *cgroup, double *took) {
        double t0 = now_s();
        pid_t child = fork();
        if (child == 0) {
                char procs[PATH_MAX];
                snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup ? cgroup : "");
                if (cgroup && write_text(procs, "0") < 0)
                        _exit(1); /* another cgroup: another actor than the test's other readers */
                char byte;
                struct iovec local = { &byte, 1 }, remote = { (void *) 4096, 1 };
                for (int i = 0; i < n; i++)
                        (void) process_vm_readv(daemon, &local, 1, &remote, 1, 0);
                _exit(0);
        }
        int status;
        assert_int_equal(wait_pid_ms(child, 30000, &status), child);
        assert_int_equal(WEXITSTATUS(status), 0);
        *took = now_s() - t0;
        return child;
}

/* A fork storm: n reads of daemon's memory, each by a process of its own
 * (all forked by one child, the test's executable, in its cgroup), in one
 * burst: all are forked first and wait, then all read, each waiting again
 * before it exits. Forks and exits took 0.1 s each under TCG on a busy
 * host: one after another, the reads were 10 a second, and under the
 * limit no read is counted. Returns the forking child. */
static pid_t memory_reader_storm(pid_t daemon, int n, double *took) {
        double t0 = now_s();
        pid_t child = fork();
        if (child == 0) {
                int go[2], read_done[2], leave[2];
                if (pipe(go) < 0 || pipe(read_done) < 0 || pipe(leave) < 0)
                        _exit(1);
                for (int i = 0; i < n; i++) {
                        pid_t one = fork();
                        if (one == 0) {
                                char byte;
                                close(go[1]);
                                close(leave[1]);
                                (void) !read(go[0], &byte, 1); /* end of file: the burst starts */
                                struct iovec local = { &byte, 1 }, remote = { (void *) 4096, 1 };
                                (void) process_vm_readv(daemon, &local, 1, &remote, 1, 0);
                                (void) !write(read_done[1], "r", 1);
                                (void) !read(leave[0], &byte, 1);
                                _exit(0);
                        }
                        if (one < 0)
                                _exit(1);
                }
                close(go[0]);
                close(read_done[1]);
                close(leave[0]);
                close(go[1]);
                char byte;
                for (int i = 0; i < n; i++)
                        if (read(read_done[0], &byte, 1) != 1)
                                _exit(1);
                close(leave[1]);
                while (wait(NULL) > 0)
                        ;
                _exit(0);
        }
        int status;
        assert_int_equal(wait_pid_ms(child, 120000, &status), child);
        assert_int_equal(WEXITSTATUS(status), 0);
        *took = now_s() - t0;
        return child;
}

/* A reader's acts in the log: recorded one by one (only its records name
 * its tgid), counted, and the ring buffer's losses of the type (anyone's). */
static long reads_accounted(const char *log, pid_t reader, long *recorded, long *suppressed) {
        char tgid[64], by[64];
        snprintf(tgid, sizeof(tgid), "\"tgid\":%d,", (int) reader);
        snprintf(by, sizeof(by), " by pid %d (", (int) reader);
        *recorded = count_lines(log, tgid);
        *suppressed = sum_after(log, by, "\"event\":\"record.suppressed\",\"detail\":\"");
        return sum_after(log, "\"event\":\"resync\"", "hpcnode.ptrace lost ");
}

/* A stranger reading hpcnoded's memory in a loop, as a debugger does
 * (strace: once per system call it shows), is recorded at most
 * HND_REPEAT_PER_SEC (20) times a second; the rest are counted in
 * record.suppressed. Every read is in the trail, one by one or counted
 * (or, where the burst outran the ring buffer, in a resync record's
 * losses), and the trail does not grow with the loop; a stop within the
 * second of a burst summarises its count before the stop record. */
static void repeated_acts_counted_not_flooding(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        start_in_audit_mode(d);
        enum { READS = 2000, PER_SEC = 20, AT_STOP = 500 };
        double took;
        pid_t reader = memory_reader(d->pid, READS, NULL, &took);
        long recorded = 0, suppressed = 0, lost = 0;
        for (double end = now_s() + 30; now_s() < end; usleep(100000))
                if ((lost = reads_accounted(d->log, reader, &recorded, &suppressed)) + recorded + suppressed == READS)
                        break;
        printf("# %d reads in %.2f s: %ld recorded, %ld counted, %ld lost in the ring buffer\n", READS, took, recorded,
               suppressed, lost);
        assert_int_equal(recorded + suppressed + lost, READS);
        assert_true(suppressed > 0);
        assert_true(recorded >= PER_SEC);
        assert_true(recorded <= PER_SEC * ((long) took + 2));
        /* a fork storm, a new pid per read: one actor (the executable, the
         * uid, the cgroup), counted as one; each counted read is in a
         * summary naming the others */
        enum { STORM = 300 };
        long ptrace_before = count_lines(d->log, "\"event\":\"hpcnode.ptrace\"");
        long lost_storm = lost;
        pid_t storm = memory_reader_storm(d->pid, STORM, &took);
        long storm_recorded = 0, storm_counted = 0;
        for (double end = now_s() + 30; now_s() < end; usleep(100000)) {
                storm_recorded = count_lines(d->log, "\"event\":\"hpcnode.ptrace\"") - ptrace_before;
                storm_counted = sum_after(d->log, " and other processes of its executable, uid and cgroup",
                                          "\"event\":\"record.suppressed\",\"detail\":\"");
                lost_storm = sum_after(d->log, "\"event\":\"resync\"", "hpcnode.ptrace lost ") - lost;
                if (storm_recorded + storm_counted + lost_storm == STORM)
                        break;
        }
        printf("# a storm of %d readers, one read each, in %.2f s: %ld recorded, %ld counted, %ld lost\n", STORM, took,
               storm_recorded, storm_counted, lost_storm);
        assert_int_equal(storm_recorded + storm_counted + lost_storm, STORM);
        assert_true(storm_counted > 0);
        assert_true(storm_recorded <= PER_SEC * ((long) took + 2));
        (void) storm;
        lost += lost_storm;
        /* stopped within the second of a burst: its count is in the trail
         * too (a reader in a cgroup of its own: an actor of its own, never
         * counted with the storm's) */
        long lost_before = lost;
        const char *own = env_path(d->cg, "reader-at-stop");
        assert_int_equal(mkdir(own, 0755), 0);
        reader = memory_reader(d->pid, AT_STOP, own, &took);
        kill(d->pid, SIGTERM);
        assert_int_equal(wait_pid_ms(d->pid, 30000, NULL), d->pid);
        d->pid = 0;
        lost = reads_accounted(d->log, reader, &recorded, &suppressed) - lost_before;
        printf("# %d reads, then a stop: %ld recorded, %ld counted, %ld lost\n", AT_STOP, recorded, suppressed, lost);
        assert_int_equal(recorded + suppressed + lost, AT_STOP);
        assert_true(suppressed > 0);
        assert_int_equal(count_lines(d->log, "\"event\":\"hpcnoded.stop\""), 1);
}

/* Audit mode: every act of a stranger on hpcnoded itself is recorded, each
 * with what was done and by whom: without BPF LSM from the tracepoints
 * (attribution level tracepoint), with it from the self guard's hooks. */
static void self_acts_recorded_in_audit_mode(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        start_in_audit_mode(d);
        assert_int_not_equal(other_thread(d->pid), 0);
        char key[PATH_MAX];
        snprintf(key, sizeof(key), "%s/emergency.key", d->dir);
        pid_t child = fork();
        if (child == 0)
                _exit(self_acts_stranger(d->pid, key, d->log));
        int status;
        assert_int_equal(wait_pid_ms(child, 10000, &status), child);
        assert_int_equal(WEXITSTATUS(status), 0);
        const char *hook = can_enforce() ? "lsm" : NULL;
        json_object *o = wait_record(d->log, "hpcnode.signal", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "verdict", NULL), "allowed");
        assert_int_equal(num(o, "signal", NULL), SIGWINCH);
        assert_int_equal(num(o, "writer", "tgid"), child);
        assert_string_equal(str(o, "hook", NULL), hook ? hook : "tp_btf");
        json_object_put(o);
        /* ptrace, process_vm_readv, a thread's mem, pidfd_getfd */
        if (wait_lines(d->log, "\"event\":\"hpcnode.ptrace\"", 4) != 4)
                fail_msg("not 4 ptrace records: %d", dump_lines(d->log, "hpcnode.ptrace"));
        if (!hook) {
                assert_int_equal(count_lines(d->log, "\"op\":\"ptrace\""), 1);
                assert_int_equal(count_lines(d->log, "\"op\":\"process_vm\""), 1);
                assert_int_equal(count_lines(d->log, "\"op\":\"mem_open\""), 1);
                assert_int_equal(count_lines(d->log, "\"op\":\"pidfd_getfd\""), 1);
        }
        o = wait_record(d->log, "hpcnode.ptrace", NULL);
        assert_int_equal(num(o, "writer", "tgid"), child);
        assert_true(num(o, "ptrace_mode", NULL) & 2); /* PTRACE_MODE_ATTACH */
        json_object_put(o);
        /* the key read, the trail opened for writing */
        assert_int_equal(wait_lines(d->log, "\"event\":\"hpcnode.file\"", 2), 2);
        assert_int_equal(count_lines(d->log, "\"op\":\"open_read\""), 1);
        assert_int_equal(count_lines(d->log, "\"op\":\"open_write\""), 1);
        o = wait_record(d->log, "hpcnode.file", NULL);
        assert_int_equal(num(o, "writer", "tgid"), child);
        assert_string_equal(str(o, "hook", NULL), hook ? hook : "syscall_exit");
        json_object_put(o);
        /* its parent's signal is not a stranger's: it stops it, unrecorded */
        assert_int_equal(kill(d->pid, SIGTERM), 0);
        assert_int_equal(wait_pid_ms(d->pid, 30000, NULL), d->pid);
        d->pid = 0;
        assert_int_equal(count_lines(d->log, "\"event\":\"hpcnode.signal\""), 1);
}

/* SIGHUP reloads the identities: a swapped pair and a removed one take
 * effect at once; a broken file changes nothing and says why. */
static void sighup_reloads_identities(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, NULL);
        start(d);
        /* workload's executable becomes pact's; pact's own is dropped */
        FILE *f = fopen(d->config, "w");
        fprintf(f, "[hpcnoded]\nCgroupRoot=%s\nAuditLog=%s\nJournal=no\nLossCheckMSec=100\nEmergencyState=%s/emergency\n"
                   "UenvBase=%s/uenv\nWorkdirBase=%s/workdir\nControlSocket=%s\nMetricsTextfile=\nHoldTimeSec=1\n"
                   "RingBufferBytes=8192\n[identity.pact]\nExecutable=%s\n",
                d->cg->s.root, d->log, d->dir, d->dir, d->dir, d->socket, d->workload_exe);
        fclose(f);
        kill(d->pid, SIGHUP);
        json_object *o = wait_record(d->log, "config.reloaded", NULL);
        assert_non_null(o);
        char want[512];
        /* BpfPinDir: absent above, so its default, where the start had
         * none; the hand-kept list the table replaced left it out */
        snprintf(want, sizeof(want), "%s: 1 identities; needs a restart to apply: RingBufferBytes, BpfPinDir",
                 d->config);
        assert_string_equal(str(o, "detail", NULL), want);
        json_object_put(o);
        const char *mine = env_path(d->cg, "pact.slice/infra.slice/now-mine");
        act(d->workload_exe, "mkdir", mine, NULL);
        o = wait_record(d->log, "cgroup.mkdir", mine);
        assert_non_null(o);
        assert_string_equal(str(o, "writer", "identity"), "pact");
        assert_false(json_object_get_boolean(json_object_object_get(o, "cross_slice")));
        json_object_put(o);
        const char *stranger = env_path(d->cg, "workload.slice/by-a-stranger");
        act_expect(d->pact_exe, "mkdir", stranger, NULL, can_enforce() ? EPERM : 0);
        o = wait_record(d->log, "cgroup.mkdir", stranger);
        assert_non_null(o);
        assert_string_equal(str(o, "writer", "identity"), "none");
        json_object_put(o);
        /* a broken file: refused with its reason, the identities stay */
        f = fopen(d->config, "w");
        fprintf(f, "[identity.pact]\nExecutable=/nonexistent/agent\n");
        fclose(f);
        kill(d->pid, SIGHUP);
        o = wait_record(d->log, "config.reload_failed", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "detail", NULL), "identity executable /nonexistent/agent: No such file or directory");
        json_object_put(o);
        const char *still = env_path(d->cg, "pact.slice/infra.slice/still-mine");
        act(d->workload_exe, "mkdir", still, NULL);
        o = wait_record(d->log, "cgroup.mkdir", still);
        assert_non_null(o);
        assert_string_equal(str(o, "writer", "identity"), "pact");
        json_object_put(o);
}

/* What the kernel lacks is said at start: each missing feature with its
 * fallback in the start record, or, where a required one is missing, a
 * refusal naming it (exit 1, nothing started). */
static void start_names_what_the_kernel_lacks(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        struct hn_kernel_features f;
        hn_probe_kernel_features(&f);
        write_config(d, NULL);
        const char *refusal = kernel_refusal();
        if (refusal[0]) {
                char out[4096], path[PATH_MAX];
                snprintf(path, sizeof(path), "%s/refused.out", d->dir);
                int rc = shf("'%s' --config '%s' > '%s' 2>&1", daemon_path(), d->config, path);
                read_text(path, out, sizeof(out));
                printf("# %s", out);
                assert_int_equal(rc, 1);
                has(out, refusal);
                assert_false(path_exists(d->log) && count_lines(d->log, "\"event\":\"hpcnoded.start\"") > 0);
                return;
        }
        static const char prefix[] = "kernel features missing: ";
        char want[2048] = "";
        size_t used = snprintf(want, sizeof(want), "%s", prefix);
        for (unsigned i = 0; i < HN_FEATURE_MAX; i++)
                if (!f.present[i])
                        used += snprintf(want + used, sizeof(want) - used, "%s%s (Linux %s): %s",
                                         used > strlen(prefix) ? "; " : "", hn_kernel_feature_name(i),
                                         hn_kernel_feature_since(i), hn_kernel_feature_fallback(i));
        if (used == strlen(prefix))
                snprintf(want + used, sizeof(want) - used, "none");
        start(d);
        json_object *o = wait_record(d->log, "hpcnoded.start", NULL);
        const char *detail = str(o, "detail", NULL);
        printf("# %s\n", detail);
        const char *at = strstr(detail, prefix);
        assert_non_null(at);
        assert_string_equal(at, want); /* the record's last part, whole */
        json_object_put(o);
}

/* The safety net: with attribution off, a changed limit is still seen on
 * the next tick, unattributed, old and new value given; and the write
 * itself by the fanotify witness, its writer named by pid (attributed only
 * if it still lived when the record was made). */
static void limits_reconciler_sees_unattributed_changes(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, "Attribution=off\nLimitCheckMSec=100");
        start(d);
        json_object *o = wait_record(d->log, "hpcnoded.start", NULL);
        assert_non_null(strstr(str(o, "detail", NULL), "attribution of control-file writes: off"));
        json_object_put(o);
        char file[PATH_MAX + 32];
        snprintf(file, sizeof(file), "%s/cgroup.max.descendants", env_path(d->cg, "workload.slice"));
        usleep(300000); /* a baseline scan has run */
        act(d->workload_exe, "write", file, "40");
        o = wait_record(d->log, "cgroup.limit_changed", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "target", "path"), file);
        assert_string_equal(str(o, "target", "file"), "cgroup.max.descendants");
        assert_string_equal(str(o, "target", "owner"), "workload");
        assert_string_equal(str(o, "old", NULL), "max");
        assert_string_equal(str(o, "new", NULL), "40");
        assert_false(json_object_get_boolean(json_object_object_get(o, "attributed")));
        json_object_put(o);
        /* one write is one witnessed write and one value change */
        o = wait_record(d->log, "cgroup.control_write", file);
        assert_non_null(o);
        assert_string_equal(str(o, "hook", NULL), "fsnotify");
        assert_string_equal(str(o, "target", "owner"), "workload");
        /* the owner's own write: not cross-slice if the witness still found
         * the writer; unattributed (and so cross-slice) if it had exited */
        json_object *w = json_object_object_get(o, "writer"), *attributed;
        bool gone = json_object_object_get_ex(w, "attributed", &attributed) && !json_object_get_boolean(attributed);
        assert_int_equal(json_object_get_boolean(json_object_object_get(o, "cross_slice")), gone);
        assert_string_equal(str(o, "writer", "identity"), gone ? "none" : "workload");
        json_object_put(o);
        usleep(300000);
        assert_int_equal(count_lines(d->log, "\"event\":\"cgroup.control_write\""), 1);
        assert_int_equal(count_lines(d->log, "\"event\":\"cgroup.limit_changed\""), 1);
        /* the tick keeps ticking: a second change, a second record */
        act(d->workload_exe, "write", file, "max");
        for (double end = now_s() + 10; now_s() < end;)
                if (count_lines(d->log, "\"new\":\"max\"") == 1)
                        break;
        assert_int_equal(count_lines(d->log, "\"new\":\"max\""), 1);
        /* every writable file, not a list of limits: cgroup.pressure (5.19+) */
        snprintf(file, sizeof(file), "%s/cgroup.pressure", env_path(d->cg, "workload.slice"));
        if (!path_exists(file))
                return;
        act(d->workload_exe, "write", file, "0");
        o = wait_record(d->log, "cgroup.limit_changed", file);
        assert_non_null(o);
        assert_string_equal(str(o, "old", NULL), "1");
        assert_string_equal(str(o, "new", NULL), "0");
        json_object_put(o);
}

/* The tracepoint level in the daemon: a control-file write and a kill
 * each become a record naming the file, with the hook that saw it. Audit
 * mode, so that the VM's kernels (BPF LSM) run this too. */
static void control_write_and_kill_records(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, "Mode=audit\nAttribution=tracepoint\nLimitCheckMSec=0");
        d->mode = "mode audit";
        start(d);
        struct hn_cgroup_handle h;
        assert_int_equal(hn_cgroup_create_scope(d->cg->pact, "pact.slice/infra.slice", "sshd", NULL, &h, NULL), 0);
        char *argv[] = { (char *) helper_path(), "sleep", NULL };
        pid_t job;
        assert_int_equal(hn_cgroup_spawn(d->cg->pact, &h, argv, &job, NULL), 0);
        char file[PATH_MAX + 32];
        snprintf(file, sizeof(file), "%s/cgroup.max.depth", h.path);
        pid_t pid = act(d->workload_exe, "write", file, "2");
        json_object *o = wait_record(d->log, "cgroup.control_write", file);
        assert_non_null(o);
        assert_string_equal(str(o, "hook", NULL), "syscall_exit");
        assert_string_equal(str(o, "writer", "identity"), "workload");
        assert_int_equal(num(o, "writer", "pid"), pid);
        assert_true(json_object_get_boolean(json_object_object_get(o, "cross_slice")));
        json_object_put(o);
        if (!kernel_has(HN_FEATURE_CGROUP_KILL)) {
                printf("# no cgroup.kill before Linux 5.14: the kill half is not run\n");
                kill(job, SIGKILL);
                wait_pid_ms(job, 5000, NULL);
                return;
        }
        snprintf(file, sizeof(file), "%s/cgroup.kill", h.path);
        pid = act(d->workload_exe, "write", file, "1");
        assert_int_equal(wait_pid_ms(job, 5000, NULL), job);
        o = wait_record(d->log, "cgroup.kill", file);
        assert_non_null(o);
        assert_string_equal(str(o, "hook", NULL), "tp_btf");
        assert_int_equal(num(o, "killed_pid", NULL), job);
        assert_int_equal(num(o, "writer", "pid"), pid);
        assert_string_equal(str(o, "target", "owner"), "pact");
        assert_true(json_object_get_boolean(json_object_object_get(o, "cross_slice")));
        json_object_put(o);
}

/* Mount drift through the running daemon: an image acquired over the
 * API socket, its mount pulled with umount(8): one drift record, the
 * repair done and recorded; the daemon's own unmounts are no drift. */
static void mount_drift_caught_and_repaired(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        REQUIRE_MOUNT_ENV(); /* the daemon inherits this private namespace */
        char image[256], cmd[8192];
        snprintf(image, sizeof(image), "%s/app.sqfs", d->dir);
        assert_int_equal(make_image(image, "image-0\n"), 0);
        write_config(d, "MountCheckMSec=100");
        start(d);
        json_object *r = api_call(d, "mount.acquire", "{\"image\":\"/nonexistent.sqfs\",\"allocation\":\"job-1\"}");
        assert_false(api_ok(r));
        assert_string_equal(str(r, "error", "kind"), "not_found");
        json_object_put(r);
        char bind[4096];
        acquire(d, image, "job-1", bind, sizeof(bind));
        struct mnt_line l;
        assert_true(mountinfo_find(bind, &l));
        char mount_point[4096];
        snprintf(mount_point, sizeof(mount_point), "%s", bind);
        /* <workdir>/job-1/uenv/<name> -> <uenv>/<name> */
        snprintf(mount_point, sizeof(mount_point), "%s/uenv/%s", d->dir, strrchr(bind, '/') + 1);
        if (can_enforce()) {
                /* BPF LSM: each act on a held mount fails, is recorded denied,
                 * and nothing changes */
                char stolen[4096];
                snprintf(stolen, sizeof(stolen), "%s/workdir/stolen", d->dir);
                assert_int_equal(mkdir(stolen, 0755), 0);
                const char *acts[][2] = { { "umount '%s' 2>/dev/null", "mount.umount" },
                                          { "umount -l '%s' 2>/dev/null", "mount.umount" },
                                          { "mount -o remount,bind,rw '%s' 2>/dev/null", "mount.remount" },
                                          { "mount --move '%s' '%s' 2>/dev/null", "mount.move" } };
                for (int i = 0; i < 4; i++) {
                        const char *target = i == 0 ? mount_point : bind;
                        snprintf(cmd, sizeof(cmd), acts[i][0], target, stolen);
                        assert_int_not_equal(system(cmd), 0);
                        json_object *o = wait_record(d->log, acts[i][1], target);
                        assert_non_null(o);
                        assert_string_equal(str(o, "verdict", NULL), "denied");
                        assert_string_equal(str(o, "hook", NULL), "lsm");
                        json_object_put(o);
                }
                assert_true(mountinfo_find(mount_point, &l));
                assert_true(mountinfo_find(bind, &l));
                assert_true(has_options(l.options, "ro"));
                assert_false(mountinfo_find(stolen, &l));
                assert_int_equal(count_lines(d->log, "\"event\":\"mount.drift\""), 0);
                release(d, image, "job-1"); /* the manager's own unmounts pass */
                for (int i = 0; i < 300 && mountinfo_find(mount_point, &l); i++)
                        usleep(10000);
                assert_false(mountinfo_find(mount_point, &l));
                return;
        }
        /* a plain unmount is refused by the kernel (the manager holds the
         * mount: busy); a lazy one detaches it */
        snprintf(cmd, sizeof(cmd), "umount '%s' 2>/dev/null", mount_point);
        assert_int_not_equal(system(cmd), 0);
        assert_true(mountinfo_find(mount_point, &l));
        snprintf(cmd, sizeof(cmd), "umount -l '%s'", mount_point);
        assert_int_equal(system(cmd), 0);
        json_object *o = wait_record(d->log, "mount.drift", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "class", NULL), "held_mount_removed");
        assert_string_equal(str(o, "path", NULL), mount_point);
        assert_string_equal(str(o, "image", NULL), image);
        assert_true(json_object_get_boolean(json_object_object_get(o, "repaired")));
        /* named: the syscall entry program saw umount(8) do it */
        assert_string_equal(str(o, "actor", "comm"), "umount");
        assert_string_equal(str(o, "actor", "exe"), "/usr/bin/umount");
        struct stat ns;
        assert_int_equal(stat("/proc/self/ns/mnt", &ns), 0); /* umount(8) ran in this test's namespace */
        assert_true((uint64_t) num(o, "actor", "mnt_ns") == ns.st_ino);
        json_object_put(o);
        o = wait_record(d->log, "mount.umount", mount_point);
        assert_non_null(o);
        assert_string_equal(str(o, "hook", NULL), "syscall_enter");
        assert_string_equal(str(o, "verdict", NULL), "allowed");
        json_object_put(o);
        o = wait_record(d->log, "mount.refcount_corrected", NULL);
        assert_non_null(o);
        json_object_put(o);
        char acquired[4200]; /* the library's records name it too */
        snprintf(acquired, sizeof(acquired), "\"event\":\"mount.acquire\",\"outcome\":\"done\",\"path\":\"%s\","
                 "\"allocation\":\"job-1\"", bind);
        assert_int_equal(count_lines(d->log, acquired), 1);
        assert_true(mountinfo_find(mount_point, &l));
        usleep(300000); /* more passes (the tick, the watch): still one record */
        assert_int_equal(count_lines(d->log, "\"event\":\"mount.drift\""), 1);
        /* a remount read-write of the bind: undone, and mount(8) named */
        snprintf(cmd, sizeof(cmd), "mount -o remount,bind,rw '%s'", bind);
        assert_int_equal(system(cmd), 0);
        (void) wait_lines(d->log, "\"class\":\"remounted\"", 1);
        o = wait_record(d->log, "mount.drift", NULL);
        json_object_put(o);
        char line_match[4200], line[4200];
        snprintf(line_match, sizeof(line_match), "\"class\":\"remounted\",\"path\":\"%s\",\"allocation\":\"job-1\"", bind);
        assert_int_equal(count_lines(d->log, line_match), 1);
        assert_int_equal(count_lines(d->log, "\"actor\":{\"pid\":"), 2); /* umount's, and mount's */
        assert_true(mountinfo_find(bind, &l));
        assert_true(has_options(l.options, "ro,nosuid,nodev"));
        /* a foreign squashfs under the uenv base: reported once, left alone */
        char foreign[4096];
        snprintf(foreign, sizeof(foreign), "%s/uenv/intruder", d->dir);
        assert_int_equal(mkdir(foreign, 0755), 0);
        snprintf(cmd, sizeof(cmd), "mount -o loop,ro -t squashfs '%s' '%s'", image, foreign);
        assert_int_equal(system(cmd), 0);
        (void) wait_lines(d->log, "foreign_mount", 1);
        usleep(300000);
        assert_int_equal(count_lines(d->log, "\"class\":\"foreign_mount\""), 1);
        assert_true(mountinfo_find(foreign, &l));
        assert_int_equal(umount2(foreign, 0), 0);
        /* the new mount API: fsmount names no path, move_mount lands it under
         * the base; the drift names this process as its actor */
        char newapi[4096];
        snprintf(newapi, sizeof(newapi), "%s/uenv/new-api", d->dir);
        assert_int_equal(mkdir(newapi, 0755), 0);
        int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        assert_true(fs >= 0);
        assert_int_equal(fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0), 0);
        int mfd = fsmount(fs, FSMOUNT_CLOEXEC, 0);
        assert_true(mfd >= 0);
        assert_int_equal(move_mount(mfd, "", AT_FDCWD, newapi, MOVE_MOUNT_F_EMPTY_PATH), 0);
        close(mfd);
        close(fs);
        for (double end = now_s() + 10; now_s() < end && count_lines(d->log, "new-api\",\"image") == 0;)
                usleep(20000);
        snprintf(line, sizeof(line), "\"class\":\"foreign_mount\",\"path\":\"%s\"", newapi);
        assert_int_equal(count_lines(d->log, line), 1);
        snprintf(line, sizeof(line), "\"event\":\"mount.move\",\"verdict\":\"allowed\"");
        assert_int_equal(count_lines(d->log, line), 1);
        assert_int_equal(umount2(newapi, 0), 0);
        /* the daemon's own: release, the hold expires, the image goes */
        release(d, image, "job-1");
        for (int i = 0; i < 300 && mountinfo_find(mount_point, &l); i++)
                usleep(10000);
        assert_false(mountinfo_find(mount_point, &l));
        usleep(300000);
        assert_int_equal(count_lines(d->log, "\"event\":\"mount.drift\""), 4); /* the four above, no more */
        r = api_call(d, "frobnicate", NULL);
        assert_string_equal(str(r, "error", "message"), "unknown call \"frobnicate\"");
        json_object_put(r);
}

/* The id of a BPF map hpcnoded holds, by name, from its fdinfo. */
static uint32_t daemon_map_id(pid_t pid, const char *name) {
        char dir[64], p[128], text[1024];
        snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int) pid);
        DIR *d = opendir(dir);
        uint32_t found = 0;
        for (struct dirent *de; d && !found && (de = readdir(d));) {
                snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                const char *id;
                if (de->d_name[0] == '.' || read_text(p, text, sizeof(text)) < 0 || !(id = strstr(text, "map_id:")))
                        continue;
                LIBBPF_OPTS(bpf_get_fd_by_id_opts, ro, .open_flags = BPF_F_RDONLY); /* reading is open to all */
                int fd = bpf_map_get_fd_by_id_opts((uint32_t) strtoul(id + 7, NULL, 10), &ro);
                struct bpf_map_info info = { 0 };
                __u32 len = sizeof(info);
                if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && !strcmp(info.name, name))
                        found = info.id;
                if (fd >= 0)
                        close(fd);
        }
        if (d)
                closedir(d);
        return found;
}

/* Someone else writes hpcnoded's BPF state (its emergency flag, as a
 * bpftool map update would): where BPF LSM runs the open for writing is
 * refused and recorded; here the next tick finds it, restores it and says
 * so. The flag never lets pact kill in workload.slice either way. */
static void tampered_state_recorded(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        write_config(d, "LossCheckMSec=100");
        start(d);
        uint32_t id = daemon_map_id(d->pid, "emergency");
        assert_true(id > 0);
        int fd = bpf_map_get_fd_by_id(id);
        if (can_enforce()) {
                assert_true(fd < 0 && errno == EPERM);
                json_object *o = wait_record(d->log, "hpcnode.map_write", NULL);
                assert_non_null(o);
                assert_string_equal(str(o, "verdict", NULL), "denied");
                assert_string_equal(str(o, "target", "path"), "bpf map emergency");
                assert_int_equal(num(o, "target", "map_id"), id);
                assert_int_equal(num(o, "writer", "tgid"), getpid());
                json_object_put(o);
                return;
        }
        assert_true(fd >= 0);
        __u32 zero = 0, one = 1;
        assert_int_equal(bpf_map_update_elem(fd, &zero, &one, BPF_ANY), 0);
        close(fd);
        json_object *o = wait_record(d->log, "bpf.state_tampered", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "detail", NULL), "changed behind hpcnoded's back, restored: emergency");
        json_object_put(o);
        /* restored: pact freezing in workload.slice is cross-slice, not an emergency act */
        struct hn_cgroup_handle h;
        assert_int_equal(hn_cgroup_create_scope(d->cg->workload, "workload.slice", "victim", NULL, &h, NULL), 0);
        char freeze[PATH_MAX + 32];
        snprintf(freeze, sizeof(freeze), "%s/cgroup.freeze", h.path);
        act(d->pact_exe, "write", freeze, "1");
        o = wait_record(d->log, "cgroup.freeze", NULL);
        assert_non_null(o);
        assert_true(json_object_get_boolean(json_object_object_get(o, "cross_slice")));
        assert_false(json_object_get_boolean(json_object_object_get(o, "emergency")));
        json_object_put(o);
}

/* A bind removed while the daemon was down is found at start-up. */
static void bind_removed_while_down(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        REQUIRE_MOUNT_ENV();
        char image[256];
        snprintf(image, sizeof(image), "%s/app.sqfs", d->dir);
        assert_int_equal(make_image(image, "image-0\n"), 0);
        write_config(d, NULL);
        start(d);
        char bind[4096];
        acquire(d, image, "job-2", bind, sizeof(bind));
        kill(d->pid, SIGTERM);
        assert_int_equal(wait_pid_ms(d->pid, 30000, NULL), d->pid);
        d->pid = 0;
        assert_int_equal(umount2(bind, 0), 0);
        start(d);
        json_object *o = wait_record(d->log, "mount.drift", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "class", NULL), "bind_removed");
        assert_string_equal(str(o, "path", NULL), bind);
        assert_true(json_object_get_boolean(json_object_object_get(o, "repaired")));
        json_object_put(o);
        struct mnt_line l;
        assert_true(mountinfo_find(bind, &l));
}

/* hpcnoded refuses d->config: it says "hpcnoded: CONFIG:" and want_tail
 * on stderr, and nothing more. */
static void config_refused(struct dmn *d, const char *want_tail) {
        char cmd[1024], out[1024], want[512];
        snprintf(cmd, sizeof(cmd), "'%s' --config '%s' 2>'%s/err'; echo $? > '%s/rc'", daemon_path(), d->config, d->dir,
                 d->dir);
        assert_int_equal(system(cmd), 0);
        snprintf(cmd, sizeof(cmd), "%s/err", d->dir);
        read_text(cmd, out, sizeof(out));
        snprintf(want, sizeof(want), "hpcnoded: %s:%s\n", d->config, want_tail);
        assert_string_equal(out, want);
        snprintf(cmd, sizeof(cmd), "%s/rc", d->dir);
        read_text(cmd, out, sizeof(out));
        assert_string_equal(out, "1\n");
}

static void bad_config_and_impossible_enforce_refused(void **state) {
        struct dmn *d = *state;
        require_root_cgroup2();
        char cmd[1024], out[1024];
        FILE *f = fopen(d->config, "w");
        fprintf(f, "[hpcnoded]\nMode=sometimes\n");
        fclose(f);
        config_refused(d, "2: Mode=sometimes: expected auto, enforce or audit");
        /* a comment longer than any buffer stays one comment: its tail is
         * no key (the next line's error names line 3, and that line) */
        f = fopen(d->config, "w");
        fprintf(f, "[hpcnoded]\n# ");
        for (int i = 0; i < 6000; i++)
                fputc('x', f);
        fprintf(f, "Mode=enforce\nMode=sometimes\n");
        fclose(f);
        config_refused(d, "3: Mode=sometimes: expected auto, enforce or audit");
        /* a line beyond 64 KiB is an error with its place, not a split */
        f = fopen(d->config, "w");
        fprintf(f, "[hpcnoded]\n# ");
        for (int i = 0; i < 70000; i++)
                fputc('x', f);
        fprintf(f, "\n");
        fclose(f);
        config_refused(d, "2: line too long (70003 bytes; at most 65536)");
        /* ExecutableUid= is a number, never a name looked up (or ignored) */
        f = fopen(d->config, "w");
        fprintf(f, "[identity.pact]\nExecutableUid=nobody\n");
        fclose(f);
        config_refused(d, "2: ExecutableUid=nobody: expected a numeric uid");
        /* Attribution=lsm without BPF LSM is refused too, with the reason */
        if (!can_enforce()) {
                write_config(d, "Attribution=lsm");
                snprintf(cmd, sizeof(cmd), "'%s' --config '%s' 2>'%s/err'; echo $? > '%s/rc'", daemon_path(), d->config,
                         d->dir, d->dir);
                assert_int_equal(system(cmd), 0);
                snprintf(cmd, sizeof(cmd), "%s/err", d->dir);
                read_text(cmd, out, sizeof(out));
                assert_string_equal(out, "hpcnoded: attribution level lsm needs the lsm/ programs (options.lsm), which "
                                         "need BPF LSM\n");
        }
        if (can_enforce())
                return; /* Mode=enforce is what this kernel can do: nothing to refuse */
        /* Without BPF LSM, Mode=enforce is refused, never pretended. */
        write_config(d, "Mode=enforce");
        snprintf(cmd, sizeof(cmd), "'%s' --config '%s' 2>'%s/err'; echo $? > '%s/rc'", daemon_path(), d->config, d->dir,
                 d->dir);
        assert_int_equal(system(cmd), 0);
        snprintf(cmd, sizeof(cmd), "%s/err", d->dir);
        read_text(cmd, out, sizeof(out));
        assert_non_null(strstr(out, "hpcnoded: Mode=enforce cannot be had here: "));
        snprintf(cmd, sizeof(cmd), "%s/rc", d->dir);
        read_text(cmd, out, sizeof(out));
        assert_string_equal(out, "1\n");
}

int main(void) {
        (void) daemon_path(); /* resolved before any test enters a mount namespace */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(cross_slice_mkdir_is_one_record, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(library_actions_share_the_trail, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(manager_known_in_a_pid_namespace, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(sighup_reopens_and_sigterm_stops, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(audit_chain_verified_and_tampering_found, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(storm_gives_a_resync_record, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(restart_loses_no_state, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(emergency_only_from_the_daemon, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(programs_outlive_the_daemon, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(start_names_what_the_kernel_lacks, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(hpcnoded_protects_itself, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(bpf_objects_taken_by_id_are_refused, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(self_acts_recorded_in_audit_mode, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(repeated_acts_counted_not_flooding, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(bpf_commands_recorded_in_audit_mode, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(pins_removed_are_made_again, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(sighup_reloads_identities, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(limits_reconciler_sees_unattributed_changes, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(control_write_and_kill_records, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(mount_drift_caught_and_repaired, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(bind_removed_while_down, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(tampered_state_recorded, dmn_setup, dmn_teardown),
                cmocka_unit_test_setup_teardown(bad_config_and_impossible_enforce_refused, dmn_setup, dmn_teardown),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("daemon", tests, NULL, NULL);
}
