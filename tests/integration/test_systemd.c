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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon_fixture.h"
#include "fixture.h"

#define UNIT "hpcnoded.service"
#define SCOPE "hpcnode.scope"
#define ROOT "/sys/fs/cgroup/system.slice/" SCOPE
#define LOG "/var/log/hpcnode/audit.jsonl"
#define CONF "/etc/hpcnode/hpcnoded.conf"

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
                (void) shf("systemctl stop " UNIT " >/dev/null 2>&1");
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
        char out[65536];
        json_object *entry = NULL;
        for (int i = 0; i < 100 && !entry; i++) {
                sh_out(out, sizeof(out), "journalctl -u " UNIT " -o json --no-pager HPCNODE_EVENT=cgroup.mkdir "
                                         "HPCNODE_TARGET=%s | tail -1", target);
                entry = out[0] ? json_tokener_parse(out) : NULL;
                if (!entry)
                        usleep(100000);
        }
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
        json_object_put(entry);
        json_object_put(line);
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
        sh_out(out, sizeof(out), "systemctl show -p NRestarts --value " UNIT);
        assert_true(atoi(out) >= 1);
        assert_true(wait_lines(LOG, "programs adopted at ", 1) >= 1);
        assert_int_equal(kill(job, 0), 0);
        assert_int_equal(procs_count(ROOT "/workload.slice/job1.scope"), 1);
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
                cmocka_unit_test(journal_has_the_record_field_by_field),
                cmocka_unit_test(reload_rereads_identities),
                cmocka_unit_test(sigkill_restart_never_lapses),
                cmocka_unit_test(stop_is_clean_jobs_and_rules_stay),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("systemd", tests, group_setup, group_teardown);
}
