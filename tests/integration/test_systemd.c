/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hpcnoded as a real node runs it: installed (make install), started by
 * systemd as PID 1 from its unit, its hierarchy in the cgroup systemd
 * delegated to it, its records read back from the journal, restarted by
 * systemd after a SIGKILL with the rules never lapsing, stopped with the
 * jobs left running. Runs in the VM suite's systemd boot (HN_VM_INIT=
 * systemd); anywhere else each test says SKIP. The tests run in order, on
 * one service. */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon_fixture.h"
#include "fixture.h"
#include "mount_fixture.h"

#define UNIT "hpcnoded.service"
#define SCOPE "hpcnode.scope"
#define ROOT "/sys/fs/cgroup/system.slice/" SCOPE
#define LOG "/var/log/hpcnode/audit.jsonl"
#define CONF "/etc/hpcnode/hpcnoded.conf"
#define DROPIN "/run/systemd/system/" UNIT ".d/test-stall.conf"
#define REMOTE "/var/tmp/hn-remote"

static struct agents agents;
static pid_t job; /* a job's process in workload.slice/job1.scope */
/* The agents where a node installs them: on its root, an overlayfs in the
 * VM as on many diskless nodes (stat(2) and the kernel number its files
 * differently there). */
#define PACT_EXE "/usr/local/lib/hn-test/pact-agent"
#define WORKLOAD_EXE "/usr/local/lib/hn-test/lattice-agent"

/* A command's standard output, trailing newline cut; its exit code. */
static int sh_out(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh_out(char *buf, size_t size, const char *fmt, ...) {
        char cmd[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        FILE *p = popen(cmd, "r");
        size_t n = p ? fread(buf, 1, size - 1, p) : 0;
        buf[n] = '\0';
        while (n && buf[n - 1] == '\n')
                buf[--n] = '\0';
        int st = p ? pclose(p) : -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A file's first line. */
static void read_line(const char *path, char *buf, size_t size) {
        read_text(path, buf, size);
        buf[strcspn(buf, "\n")] = '\0';
}

static pid_t main_pid(void) {
        char out[64];
        sh_out(out, sizeof(out), "systemctl show -p MainPID --value " UNIT);
        return (pid_t) atoi(out);
}

static void require_systemd(void) {
        if (sd_booted() <= 0)
                SKIP_BECAUSE("systemd is not PID 1 here (the VM suite's systemd boot runs these)");
        if (access("/usr/sbin/hpcnoded", X_OK) < 0 || access("/usr/lib/systemd/system/" UNIT, R_OK) < 0)
                SKIP_BECAUSE("hpcnoded is not installed (the systemd VM run installs it first)");
}

/* Waits until the unit is active with a main pid other than not_pid; 0 on time. */
static pid_t wait_active(pid_t not_pid, int seconds) {
        for (int i = 0; i < seconds * 10; i++) {
                char state[64];
                sh_out(state, sizeof(state), "systemctl is-active " UNIT);
                pid_t pid = main_pid();
                if (!strcmp(state, "active") && pid > 0 && pid != not_pid)
                        return pid;
                usleep(100000);
        }
        return 0;
}

static int group_setup(void **state) {
        (void) state;
        if (sd_booted() <= 0 || geteuid() != 0 || access("/usr/sbin/hpcnoded", X_OK) < 0)
                return 0;
        if (agents_make(&agents) < 0 ||
            shf("mkdir -p /usr/local/lib/hn-test && cp '%s' " PACT_EXE " && cp '%s' " WORKLOAD_EXE, agents.pact_exe,
                agents.workload_exe) != 0)
                return -1;
        FILE *f = fopen(CONF, "w");
        if (!f)
                return -1;
        fprintf(f, "[hpcnoded]\nCgroupRoot=auto\nLossCheckMSec=100\nJournal=yes\n"
                   "[identity.pact]\nExecutable=" PACT_EXE "\n[identity.workload]\nExecutable=" WORKLOAD_EXE "\n");
        fclose(f);
        (void) unlink(LOG);
        return 0;
}

static int group_teardown(void **state) {
        (void) state;
        if (sd_booted() > 0 && access("/usr/sbin/hpcnoded", X_OK) == 0) {
                (void) shf("rm -f " DROPIN "; systemctl daemon-reload; systemctl stop " UNIT " >/dev/null 2>&1");
                (void) shf("/usr/sbin/hpcnoded --unload --force >/dev/null 2>&1");
        }
        if (job > 0)
                kill(job, SIGKILL);
        agents_remove(&agents);
        return 0;
}

/* Type=notify: active only once READY=1 came; STATUS= says the mode; the
 * daemon made the delegated scope around its keeper, the hierarchy in it,
 * and stays in its unit's cgroup; the OOM killer takes it last. */
static void starts_ready_in_its_delegated_cgroup(void **state) {
        (void) state;
        require_systemd();
        char said[4096];
        /* the installed unit as systemd's own linter reads it: nothing to say */
        assert_int_equal(sh_out(said, sizeof(said), "systemd-analyze verify /usr/lib/systemd/system/" UNIT " 2>&1"), 0);
        assert_string_equal(said, "");
        /* systemd's exposure score, for the log (the hardening is checked below) */
        (void) shf("systemd-analyze security --no-pager " UNIT " 2>&1 | tail -1 >&2");
        assert_int_equal(shf("systemctl start " UNIT), 0);
        pid_t pid = wait_active(0, 60);
        assert_true(pid > 0);
        char out[4096], want[128];
        sh_out(out, sizeof(out), "systemctl show -p StatusText --value " UNIT);
        has(out, "enforce mode");
        snprintf(want, sizeof(want), "/proc/%d/cgroup", (int) pid);
        read_text(want, out, sizeof(out));
        has(out, "0::/system.slice/" UNIT); /* the journal and sd_notify know it by its cgroup */
        sh_out(out, sizeof(out), "systemctl show -p Delegate --value " SCOPE);
        assert_string_equal(out, "yes");
        assert_true(path_exists(ROOT "/pact.slice/infra.slice"));
        assert_true(path_exists(ROOT "/workload.slice"));
        assert_false(path_exists("/sys/fs/cgroup/workload.slice")); /* nothing in systemd's namespace */
        snprintf(want, sizeof(want), "/proc/%d/oom_score_adj", (int) pid);
        read_line(want, out, sizeof(out));
        assert_string_equal(out, "-1000");
        /* the hardening, as the kernel holds it for the running daemon */
        snprintf(want, sizeof(want), "/proc/%d/status", (int) pid);
        read_text(want, out, sizeof(out));
        has(out, "NoNewPrivs:\t1\n");
        has(out, "Seccomp:\t2\n"); /* a filter, systemd's */
        const char *props[] = { "NoNewPrivileges", "LockPersonality", "RestrictRealtime", "RestrictSUIDSGID",
                                "MemoryDenyWriteExecute" };
        for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
                sh_out(out, sizeof(out), "systemctl show -p %s --value " UNIT, props[i]);
                if (strcmp(out, "yes") != 0)
                        fail_msg("%s=%s, not yes", props[i], out);
        }
        sh_out(out, sizeof(out), "systemctl show -p SystemCallArchitectures --value " UNIT);
        assert_string_equal(out, "native");
        sh_out(out, sizeof(out), "systemctl show -p RestrictNamespaces --value " UNIT);
        assert_string_equal(out, "yes");
        assert_int_equal(shf("hpcnodectl status >/dev/null"), 0);
        /* its audit log, on the overlay root, is nobody's to write */
        assert_int_not_equal(shf("echo forged >> " LOG " 2>/dev/null"), 0);
        assert_true(wait_lines(LOG, "\"op\":\"open_write\"", 1) >= 1);
}

/* systemd's own acts on its tree leave hpcnode's scope, its process and
 * its limits as they were. */
static void jobs_survive_systemds_own_acts(void **state) {
        (void) state;
        require_systemd();
        assert_int_equal(shf("hpcnodectl scope create workload.slice job1 --memory-max 64M --cpu-weight 300 >/dev/null"), 0);
        job = fork_sleeper();
        assert_int_equal(shf("hpcnodectl scope attach workload.slice/job1.scope %d", (int) job), 0);
        assert_int_equal(shf("systemctl daemon-reload"), 0);
        assert_int_equal(shf("systemctl daemon-reexec"), 0);
        sleep(2); /* the reexec'd manager back */
        assert_int_equal(shf("systemctl set-property --runtime systemd-journald.service CPUWeight=90"), 0);
        assert_int_equal(shf("systemd-run --quiet --scope true"), 0);
        char out[256];
        read_line(ROOT "/workload.slice/job1.scope/memory.max", out, sizeof(out));
        assert_string_equal(out, "67108864");
        read_line(ROOT "/workload.slice/job1.scope/cpu.weight", out, sizeof(out));
        assert_string_equal(out, "300");
        assert_int_equal(procs_count(ROOT "/workload.slice/job1.scope"), 1);
        assert_int_equal(kill(job, 0), 0);
        pid_t pid = main_pid();
        char cg[64];
        snprintf(cg, sizeof(cg), "/proc/%d/cgroup", (int) pid);
        read_text(cg, out, sizeof(out));
        has(out, "/system.slice/" UNIT);
        assert_int_equal(procs_count(ROOT "/keeper"), 1);
}

static pid_t keeper_pid(void) {
        char out[64];
        read_line(ROOT "/keeper/cgroup.procs", out, sizeof(out));
        return (pid_t) atoi(out);
}

/* The keeper holds the scope up while no job runs: a root stranger (this
 * test: neither hpcnoded, the keeper's parent, nor PID 1) can neither
 * signal nor ptrace it, nor kill, move or nest in its leaf; each refusal
 * is recorded. PID 1 may signal it (systemd stopping the scope). */
static void keeper_guarded_like_hpcnoded(void **state) {
        (void) state;
        require_systemd();
        pid_t keeper = keeper_pid();
        assert_true(keeper > 0);
        int signals = count_lines(LOG, "\"event\":\"hpcnode.signal\"");
        assert_int_not_equal(shf("kill -KILL %d 2>/dev/null", (int) keeper), 0);
        json_object *o = wait_record(LOG, "hpcnode.signal", "hpcnoded's keeper");
        assert_non_null(o);
        assert_string_equal(str(o, "verdict", NULL), "denied");
        assert_int_equal(num(o, "signal", NULL), SIGKILL);
        json_object_put(o);
        assert_int_not_equal(shf("echo 1 > " ROOT "/keeper/cgroup.kill 2>/dev/null"), 0);
        assert_int_not_equal(shf("echo %d > /sys/fs/cgroup/system.slice/cgroup.procs 2>/dev/null", (int) keeper), 0);
        assert_int_not_equal(shf("mkdir " ROOT "/keeper/nested 2>/dev/null"), 0);
        assert_int_not_equal(shf("echo 1 > " ROOT "/keeper/cgroup.freeze 2>/dev/null"), 0);
        pid_t tracer = fork();
        if (tracer == 0)
                _exit(ptrace(PTRACE_SEIZE, keeper, NULL, NULL) == 0 ? 0 : errno == EPERM ? 1 : 2);
        int status;
        assert_int_equal(waitpid(tracer, &status, 0), tracer);
        assert_int_equal(WEXITSTATUS(status), 1);
        o = wait_record(LOG, "hpcnode.ptrace", "hpcnoded's keeper");
        assert_non_null(o);
        assert_string_equal(str(o, "verdict", NULL), "denied");
        json_object_put(o);
        assert_true(wait_lines(LOG, "\"owner\":\"manager\"", 1) >= 1); /* the leaf's acts, the manager's leaf */
        /* PID 1's signal to the scope passes (SIGCONT: harmless to all in it) */
        signals = count_lines(LOG, "\"event\":\"hpcnode.signal\"");
        assert_int_equal(shf("systemctl kill -s CONT " SCOPE), 0);
        usleep(300000);
        assert_int_equal(count_lines(LOG, "\"event\":\"hpcnode.signal\""), signals);
        assert_int_equal(kill(keeper, 0), 0);
        assert_int_equal(procs_count(ROOT "/keeper"), 1);
        assert_true(path_exists(ROOT "/workload.slice"));
}

/* The last journal entry of an event on a target, from journalctl with
 * source (e.g. "-u hpcnoded.service", "--file=F"), waited for up to 10 s;
 * NULL if none came. The caller json_object_put()s it. */
static json_object *journal_entry(const char *source, const char *event, const char *target) {
        static char out[65536];
        for (int i = 0; i < 100; i++, usleep(100000)) {
                sh_out(out, sizeof(out), "journalctl %s -o json --no-pager HPCNODE_EVENT=%s HPCNODE_TARGET=%s | tail -1",
                       source, event, target);
                json_object *entry = out[0] ? json_tokener_parse(out) : NULL;
                if (entry)
                        return entry;
        }
        return NULL;
}

/* journalctl -u hpcnoded shows the record of a cross-slice write, at
 * warning priority, with its HPCNODE_* fields equal to the JSON line's. */
static void journal_has_the_record_field_by_field(void **state) {
        (void) state;
        require_systemd();
        const char *target = ROOT "/pact.slice/infra.slice/from-lattice";
        int e = agent_run(WORKLOAD_EXE, "mkdir", target, NULL, NULL);
        assert_int_equal(e, EPERM);
        json_object *line = wait_record(LOG, "cgroup.mkdir", target);
        assert_non_null(line);
        json_object *entry = journal_entry("-u " UNIT, "cgroup.mkdir", target);
        assert_non_null(entry);
        assert_string_equal(str(entry, "HPCNODE_VERDICT", NULL), str(line, "verdict", NULL));
        assert_string_equal(str(entry, "HPCNODE_VERDICT", NULL), "denied");
        assert_string_equal(str(entry, "HPCNODE_TARGET", NULL), str(line, "target", "path"));
        assert_string_equal(str(entry, "HPCNODE_TARGET_OWNER", NULL), str(line, "target", "owner"));
        assert_string_equal(str(entry, "HPCNODE_WRITER_IDENTITY", NULL), str(line, "writer", "identity"));
        assert_string_equal(str(line, "writer", "identity"), "workload"); /* known on the overlay root */
        assert_int_equal(atoi(str(entry, "HPCNODE_WRITER_PID", NULL)), num(line, "writer", "tgid"));
        assert_string_equal(str(entry, "HPCNODE_WRITER_EXE", NULL), str(line, "writer", "exe"));
        assert_string_equal(str(entry, "HPCNODE_CROSS_SLICE", NULL), "1");
        assert_string_equal(str(entry, "PRIORITY", NULL), "4"); /* LOG_WARNING */
        assert_true(strlen(str(entry, "MESSAGE_ID", NULL)) == 32);
        assert_string_equal(str(entry, "HPCNODE_MODE", NULL), "enforce");
        assert_int_equal(atoll(str(entry, "HPCNODE_SEQ", NULL)), num(line, "seq", NULL));
        assert_string_equal(str(entry, "_HOSTNAME", NULL), str(line, "host", NULL));
        json_object_put(entry);
        json_object_put(line);
}

/* Drift, an alert: at warning, with the allocation it concerns. A
 * squashfs mounted by hand under the binds' base is not hpcnode's: reported
 * once, never touched (the guard refuses acts on held mounts, not this). */
static void journal_has_drift_at_warning(void **state) {
        (void) state;
        require_systemd();
        const char *image = "/var/tmp/hn-foreign.sqfs", *point = "/run/pact/workdir/alloc-9/uenv/foreign";
        assert_int_equal(make_image(image, "foreign\n"), 0);
        assert_int_equal(shf("mkdir -p %s && mount -o loop,ro -t squashfs %s %s", point, image, point), 0);
        assert_true(wait_lines(LOG, "\"class\":\"foreign_mount\"", 1) >= 1);
        json_object *entry = journal_entry("-u " UNIT, "mount.drift", point);
        assert_non_null(entry);
        FILE *f = fopen(LOG, "re");
        json_object *line = NULL;
        char buf[8192];
        while (f && !line && fgets(buf, sizeof(buf), f))
                if (strstr(buf, "\"class\":\"foreign_mount\"") && strstr(buf, point))
                        line = json_tokener_parse(buf);
        if (f)
                fclose(f);
        assert_non_null(line);
        assert_string_equal(str(entry, "PRIORITY", NULL), "4"); /* LOG_WARNING */
        assert_true(strlen(str(entry, "MESSAGE_ID", NULL)) == 32);
        assert_string_equal(str(entry, "HPCNODE_DRIFT_CLASS", NULL), str(line, "class", NULL));
        assert_string_equal(str(entry, "HPCNODE_TARGET", NULL), str(line, "path", NULL));
        assert_string_equal(str(entry, "HPCNODE_IMAGE", NULL), str(line, "image", NULL));
        assert_string_equal(str(entry, "HPCNODE_REPAIRED", NULL), "0");
        assert_false(json_object_get_boolean(json_object_object_get(line, "repaired")));
        assert_string_equal(str(entry, "HPCNODE_ALLOCATION", NULL), "alloc-9");
        assert_string_equal(str(line, "allocation", NULL), "alloc-9");
        assert_string_equal(str(entry, "_HOSTNAME", NULL), str(line, "host", NULL));
        json_object_put(entry);
        json_object_put(line);
        assert_int_equal(shf("umount %s", point), 0);
}

/* The journal has every record of the trail: each JSON line's seq is one
 * journal entry of the unit's, HPCNODE_SEQ= the same and the same event,
 * and there are no others (the log was emptied at the start, and every
 * daemon since ran with Journal=yes). Seq, not order: records made on two
 * threads may reach journald the other way round. */
#define MAX_RECORDS 4096
static size_t read_events(const char *cmd, const char *seq_key, const char *event_key, char (*events)[48]) {
        FILE *p = popen(cmd, "r");
        char buf[16384];
        size_t n = 0;
        while (p && fgets(buf, sizeof(buf), p)) {
                json_object *o = json_tokener_parse(buf), *seq, *ev;
                /* the unit's other entries (systemd's own about it) carry no HPCNODE_SEQ */
                if (o && json_object_object_get_ex(o, seq_key, &seq) && json_object_object_get_ex(o, event_key, &ev)) {
                        long long k = atoll(json_object_get_string(seq));
                        if (k > 0 && k < MAX_RECORDS && !events[k][0]) {
                                snprintf(events[k], sizeof(events[k]), "%s", json_object_get_string(ev));
                                n++;
                        } else
                                fail_msg("%s: seq %lld out of range or twice", cmd, k);
                }
                json_object_put(o);
        }
        if (p)
                pclose(p);
        return n;
}

static void journal_has_every_record(void **state) {
        (void) state;
        require_systemd();
        static char in_log[MAX_RECORDS][48], in_journal[MAX_RECORDS][48];
        size_t n_log = 0, n_journal = 0;
        for (int attempt = 0; attempt < 50; attempt++, usleep(100000)) {
                memset(in_log, 0, sizeof(in_log));
                memset(in_journal, 0, sizeof(in_journal));
                n_log = read_events("cat " LOG, "seq", "event", in_log);
                n_journal = read_events("journalctl -u " UNIT " -o json --no-pager", "HPCNODE_SEQ", "HPCNODE_EVENT",
                                        in_journal);
                if (n_log == n_journal)
                        break;
        }
        assert_true(n_log > 10);
        for (size_t k = 1; k < MAX_RECORDS; k++)
                if (strcmp(in_log[k], in_journal[k]) != 0)
                        fail_msg("seq %zu: \"%s\" in the log, \"%s\" in the journal", k, in_log[k], in_journal[k]);
        assert_int_equal(n_log, n_journal);
}

/* Fleet forwarding through systemd's own tools: systemd-journal-upload
 * sends the journal to a systemd-journal-remote on loopback, and the
 * cross-slice record arrives there with its fields. */
static void journal_forwarded_to_a_collector(void **state) {
        (void) state;
        require_systemd();
        if (access("/lib/systemd/systemd-journal-remote", X_OK) < 0 || access("/lib/systemd/systemd-journal-upload", X_OK) < 0)
                SKIP_BECAUSE("systemd-journal-remote is not installed (make deps installs it)");
        assert_int_equal(shf("rm -rf " REMOTE " && mkdir -p " REMOTE " && systemd-run --quiet --unit=hn-journal-remote "
                             "/lib/systemd/systemd-journal-remote --listen-http=127.0.0.1:19532 --split-mode=none "
                             "--output=" REMOTE "/remote.journal"), 0);
        int up = 1;
        for (int i = 0; i < 100 && up != 0; i++, usleep(100000))
                up = shf("/lib/systemd/systemd-journal-upload --url=http://127.0.0.1:19532 --follow=no "
                         "--save-state=" REMOTE "/upload.state >" REMOTE "/upload.log 2>&1");
        assert_int_equal(up, 0);
        const char *target = ROOT "/pact.slice/infra.slice/from-lattice"; /* journal_has_the_record_field_by_field's */
        json_object *remote = journal_entry("--file=" REMOTE "/remote.journal", "cgroup.mkdir", target);
        (void) shf("systemctl stop hn-journal-remote");
        assert_non_null(remote);
        json_object *mine = journal_entry("-u " UNIT, "cgroup.mkdir", target);
        assert_non_null(mine);
        const char *fields[] = { "MESSAGE", "MESSAGE_ID", "PRIORITY", "HPCNODE_VERDICT", "HPCNODE_CROSS_SLICE",
                                 "HPCNODE_TARGET_OWNER", "HPCNODE_WRITER_PID", "HPCNODE_WRITER_EXE",
                                 "HPCNODE_WRITER_IDENTITY", "HPCNODE_MODE", "_HOSTNAME", "_SYSTEMD_UNIT" };
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                if (strcmp(str(remote, fields[i], NULL), str(mine, fields[i], NULL)) != 0)
                        fail_msg("%s: %s at the collector, %s here", fields[i], str(remote, fields[i], NULL),
                                 str(mine, fields[i], NULL));
        assert_string_equal(str(remote, "_SYSTEMD_UNIT", NULL), UNIT);
        json_object_put(remote);
        json_object_put(mine);
}

/* systemctl reload re-reads the identities (SIGHUP, sent by PID 1: no
 * stranger's signal to record or refuse). */
static void reload_rereads_identities(void **state) {
        (void) state;
        require_systemd();
        int before = count_lines(LOG, "\"event\":\"config.reloaded\"");
        int signals = count_lines(LOG, "\"event\":\"hpcnode.signal\"");
        assert_int_equal(shf("systemctl reload " UNIT), 0);
        assert_true(wait_lines(LOG, "\"event\":\"config.reloaded\"", before + 1) > before);
        assert_int_equal(count_lines(LOG, "\"event\":\"hpcnode.signal\""), signals);
}

/* SIGKILL: systemd starts it again; while it is down the pinned programs
 * still refuse; the new one adopts them; the job lives on. */
static void sigkill_restart_never_lapses(void **state) {
        (void) state;
        require_systemd();
        pid_t old = main_pid();
        assert_true(old > 0);
        assert_int_equal(shf("systemctl kill --kill-who=main -s KILL " UNIT), 0);
        const char *target = ROOT "/workload.slice/while-restarting";
        assert_int_equal(agent_run(PACT_EXE, "mkdir", target, NULL, NULL), EPERM);
        assert_false(path_exists(target));
        pid_t pid = wait_active(old, 60);
        assert_true(pid > 0);
        char out[256];
        assert_int_equal(procs_count(ROOT "/keeper"), 1); /* the same scope, found again */
        assert_int_not_equal(shf("kill -KILL %d 2>/dev/null", (int) keeper_pid()), 0); /* and its keeper guarded */
        sh_out(out, sizeof(out), "systemctl show -p NRestarts --value " UNIT);
        assert_true(atoi(out) >= 1);
        assert_true(wait_lines(LOG, "programs adopted at ", 1) >= 1);
        assert_int_equal(kill(job, 0), 0);
        assert_int_equal(procs_count(ROOT "/workload.slice/job1.scope"), 1);
}

/* WatchdogSec=: a loop that stops turning (the test-only knob: SIGUSR2
 * with HPCNODED_TEST_WATCHDOG_STALL=1, from a drop-in that also makes the
 * watchdog 3 s) gets the service restarted by systemd; the rules hold
 * while it hangs, the job lives on. */
static void watchdog_restarts_a_stalled_loop(void **state) {
        (void) state;
        require_systemd();
        assert_int_equal(shf("mkdir -p /run/systemd/system/" UNIT ".d && printf '[Service]\\nEnvironment="
                             "HPCNODED_TEST_WATCHDOG_STALL=1\\nWatchdogSec=3s\\n' > " DROPIN
                             " && systemctl daemon-reload && systemctl restart " UNIT), 0);
        pid_t old = wait_active(0, 60);
        assert_true(old > 0);
        char out[65536];
        sh_out(out, sizeof(out), "systemctl show -p WatchdogUSec --value " UNIT);
        assert_string_equal(out, "3s");
        sh_out(out, sizeof(out), "systemctl show -p NRestarts --value " UNIT);
        int restarts = atoi(out);
        int stalls = count_lines(LOG, "\"event\":\"hpcnoded.test_stall\"");
        assert_int_equal(shf("systemctl kill --kill-who=main -s USR2 " UNIT), 0);
        assert_true(wait_lines(LOG, "\"event\":\"hpcnoded.test_stall\"", stalls + 1) > stalls);
        const char *target = ROOT "/workload.slice/while-stalled";
        assert_int_equal(agent_run(PACT_EXE, "mkdir", target, NULL, NULL), EPERM);
        pid_t pid = wait_active(old, 60);
        assert_true(pid > 0);
        sh_out(out, sizeof(out), "systemctl show -p NRestarts --value " UNIT);
        assert_int_equal(atoi(out), restarts + 1);
        /* PID 1's own words (to kmsg in this boot, so without a UNIT= field) */
        assert_int_equal(sh_out(out, sizeof(out), "journalctl --no-pager -o cat | grep -c '" UNIT ": Watchdog timeout'"), 0);
        assert_true(atoi(out) >= 1);
        assert_int_equal(kill(job, 0), 0);
        assert_int_equal(procs_count(ROOT "/workload.slice/job1.scope"), 1);
        /* back to the shipped unit */
        assert_int_equal(shf("rm -f " DROPIN " && systemctl daemon-reload && systemctl restart " UNIT), 0);
        assert_true(wait_active(pid, 60) > 0);
        sh_out(out, sizeof(out), "systemctl show -p WatchdogUSec --value " UNIT);
        assert_string_equal(out, "30s");
}

/* systemctl stop: clean (a stop record), the job left running, the rules
 * still holding. */
static void stop_is_clean_jobs_and_rules_stay(void **state) {
        (void) state;
        require_systemd();
        int before = count_lines(LOG, "\"event\":\"hpcnoded.stop\"");
        assert_int_equal(shf("systemctl stop " UNIT), 0);
        char out[64];
        sh_out(out, sizeof(out), "systemctl is-active " UNIT);
        assert_string_equal(out, "inactive");
        assert_int_equal(count_lines(LOG, "\"event\":\"hpcnoded.stop\""), before + 1);
        assert_int_equal(kill(job, 0), 0);
        assert_int_equal(procs_count(ROOT "/workload.slice/job1.scope"), 1);
        const char *target = ROOT "/workload.slice/while-stopped";
        assert_int_equal(agent_run(PACT_EXE, "mkdir", target, NULL, NULL), EPERM);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(starts_ready_in_its_delegated_cgroup),
                cmocka_unit_test(jobs_survive_systemds_own_acts),
                cmocka_unit_test(keeper_guarded_like_hpcnoded),
                cmocka_unit_test(journal_has_the_record_field_by_field),
                cmocka_unit_test(journal_has_drift_at_warning),
                cmocka_unit_test(journal_forwarded_to_a_collector),
                cmocka_unit_test(reload_rereads_identities),
                cmocka_unit_test(sigkill_restart_never_lapses),
                cmocka_unit_test(watchdog_restarts_a_stalled_loop),
                cmocka_unit_test(journal_has_every_record),
                cmocka_unit_test(stop_is_clean_jobs_and_rules_stay),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("systemd", tests, group_setup, group_teardown);
}
