/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hpcnode/probe.h>

#include "daemon_fixture.h"

/* The mode hpcnoded must choose here: enforce where BPF LSM works. */
bool can_enforce(void) {
        static int known = -1;
        if (known < 0) {
                struct hn_bpf_lsm_probe p;
                hn_probe_bpf_lsm(NULL, &p);
                known = p.available;
        }
        return known;
}

const char *daemon_path(void) {
        static char p[PATH_MAX];
        if (p[0])
                return p;
        snprintf(p, sizeof(p), "%s", helper_path());
        char *cut = strstr(p, "/tests/helper/hn_test_helper");
        snprintf(cut, sizeof(p) - (size_t) (cut - p), "/hpcnoded");
        return p;
}

void write_config(struct dmn *d, const char *extra) {
        FILE *f = fopen(d->config, "w");
        fprintf(f,
                "# test configuration\n[hpcnoded]\nCgroupRoot=%s\nAuditLog=%s\nJournal=no\nLossCheckMSec=100\n"
                "EmergencyState=%s/emergency\nUenvBase=%s/uenv\nWorkdirBase=%s/workdir\nControlSocket=%s\n"
                "MetricsTextfile=\nHoldTimeSec=1\nBpfPinDir=%s\n%s\n[identity.pact]\nExecutable=%s\n%s\n[identity.workload]\n"
                "Executable=%s\n%s\n",
                d->cg->s.root, d->log, d->dir, d->dir, d->dir, d->socket, d->pin_dir, extra ? extra : "", d->pact_exe,
                d->pact_extra ? d->pact_extra : "", d->workload_exe, d->workload_extra ? d->workload_extra : "");
        fclose(f);
}

int dmn_setup(void **state) {
        struct dmn *d = calloc(1, sizeof(*d));
        *state = d;
        if (env_setup((void **) &d->cg) < 0)
                return -1;
        if (geteuid() != 0)
                return 0;
        snprintf(d->dir, sizeof(d->dir), "/tmp/hn-dmn.XXXXXX");
        if (!mkdtemp(d->dir))
                return -1;
        snprintf(d->config, sizeof(d->config), "%s/hpcnoded.conf", d->dir);
        snprintf(d->log, sizeof(d->log), "%s/audit.jsonl", d->dir);
        snprintf(d->socket, sizeof(d->socket), "%s/hpcnoded.sock", d->dir);
        if (agents_make(&d->agents) < 0)
                return -1;
        d->pact_exe = d->agents.pact_exe;
        d->workload_exe = d->agents.workload_exe;
        return 0;
}

void dmn_pin_setup(struct dmn *d) {
        snprintf(d->bpffs, sizeof(d->bpffs), "%s/bpf", d->dir);
        assert_int_equal(mkdir(d->bpffs, 0700), 0);
        if (mount("bpf", d->bpffs, "bpf", 0, NULL) < 0)
                fail_msg("mount -t bpf %s: %s", d->bpffs, strerror(errno));
        snprintf(d->pin_dir, sizeof(d->pin_dir), "%s/hpcnode", d->bpffs);
}

int dmn_teardown(void **state) {
        struct dmn *d = *state;
        if (d->pid > 0) {
                kill(d->pid, SIGKILL);
                wait_pid_ms(d->pid, 5000, NULL);
        }
        /* pins first: programs a test left pinned in enforce mode would
         * refuse the scratch cgroups' removal to this process */
        if (d->bpffs[0]) {
                char cmd[256];
                snprintf(cmd, sizeof(cmd), "umount -l '%s' 2>/dev/null", d->bpffs);
                (void) !system(cmd);
        }
        void *cg = d->cg;
        env_teardown(&cg);
        agents_remove(&d->agents);
        if (d->dir[0]) {
                char cmd[256];
                /* what a daemon mounted there (private namespace) goes first */
                snprintf(cmd, sizeof(cmd), "findmnt -rn -o TARGET | grep '^%s/' | sort -r | xargs -r umount -l",
                         d->dir);
                if (system(cmd) != 0)
                        return -1;
                /* a daemon that is still going (its exit is the kernel's to
                 * finish) guards its files until it is gone */
                snprintf(cmd, sizeof(cmd), "rm -rf '%s' 2>/dev/null", d->dir);
                int rc = -1;
                for (int i = 0; i < 100 && (rc = system(cmd)) != 0; i++)
                        usleep(100000);
                if (rc != 0)
                        return -1;
        }
        free(d);
        return 0;
}

double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int wait_lines(const char *log, const char *needle, int n) {
        int found = count_lines(log, needle);
        for (double end = now_s() + 10; found < n && now_s() < end; found = count_lines(log, needle))
                usleep(20000);
        return found;
}

/* The first record in the log with "event" == name (and, if non-NULL,
 * target.path == path), waiting up to 10 s of wall time. Only lines that
 * mention the name are parsed: a storm's log is long. The caller
 * json_object_put()s the result. */
json_object *wait_record(const char *log, const char *name, const char *path) {
        char needle[128];
        snprintf(needle, sizeof(needle), "\"event\":\"%s\"", name);
        for (double end = now_s() + 10; now_s() < end;) {
                FILE *f = fopen(log, "r");
                char *line = NULL;
                size_t size = 0;
                while (f && getline(&line, &size, f) > 0 && line_complete(line)) {
                        if (!strstr(line, needle) || (path && !strstr(line, path)))
                                continue;
                        json_object *o = json_tokener_parse(line), *v, *t;
                        if (!o)
                                fail_msg("not JSON: %s", line);
                        if (json_object_object_get_ex(o, "event", &v) && !strcmp(json_object_get_string(v), name) &&
                            (!path || (json_object_object_get_ex(o, "target", &t) &&
                                       json_object_object_get_ex(t, "path", &v) &&
                                       !strcmp(json_object_get_string(v), path)))) {
                                fclose(f);
                                free(line);
                                return o;
                        }
                        json_object_put(o);
                }
                free(line);
                if (f)
                        fclose(f);
                usleep(20000);
        }
        return NULL;
}

/* o.a or o.a.b as a string; a missing field fails the test (a NULL would
 * crash the string comparison instead of naming the field). */
const char *str(json_object *o, const char *a, const char *b) {
        json_object *v;
        if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
                fail_msg("no field %s%s%s in %s", a, b ? "." : "", b ? b : "", json_object_to_json_string(o));
        return json_object_get_string(v);
}

bool has(const char *text, const char *needle) {
        if (!strstr(text, needle))
                fail_msg("expected \"%s\" in:\n%s", needle, text);
        return true;
}

int64_t num(json_object *o, const char *a, const char *b) {
        json_object *v;
        if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
                fail_msg("no field %s.%s", a, b ? b : "");
        return json_object_get_int64(v);
}

pid_t daemon_spawn(const char *config, const char *bounding_set, bool quiet) {
        pid_t pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);
                dup2(null, 1);
                if (quiet)
                        dup2(null, 2);
                if (bounding_set)
                        execlp("setpriv", "setpriv", "--bounding-set", bounding_set, daemon_path(), "--config", config,
                               (char *) NULL);
                else
                        execl(daemon_path(), "hpcnoded", "--config", config, (char *) NULL);
                _exit(127);
        }
        return pid;
}

void start(struct dmn *d) {
        require_kernel_features();
        /* a restart appends to the same log: wait for a new start record */
        int before = count_lines(d->log, "\"event\":\"hpcnoded.start\"");
        if (d->pid_namespace) {
                d->pid = fork();
                if (d->pid == 0) {
                        int null = open("/dev/null", O_WRONLY);
                        dup2(null, 1);
                        execlp("unshare", "unshare", "--pid", "--fork", "--mount-proc", "--kill-child=SIGTERM",
                               daemon_path(), "--config", d->config, (char *) NULL);
                        _exit(127);
                }
        } else
                d->pid = daemon_spawn(d->config, d->bounding_set, false);
        /* Liveness, not speed: a start takes 13-17 s under TCG alone, and
         * make test runs five VMs on two cores (a start passed 30 s there). */
        for (double end = now_s() + 120; now_s() < end;) {
                if (count_lines(d->log, "\"event\":\"hpcnoded.start\"") > before)
                        break;
                usleep(20000);
        }
        if (count_lines(d->log, "\"event\":\"hpcnoded.start\"") <= before)
                fail_msg("hpcnoded did not start (no new hpcnoded.start record in %s)", d->log);
        json_object *o = wait_record(d->log, "hpcnoded.start", NULL);
        const char *mode = d->mode ? d->mode : can_enforce() ? "mode enforce" : "mode audit";
        assert_non_null(strstr(str(o, "detail", NULL), mode));
        json_object_put(o);
}


const char *ctl_path(void) {
        static char p[PATH_MAX];
        if (!p[0]) {
                snprintf(p, sizeof(p), "%s", daemon_path());
                snprintf(strrchr(p, '/'), sizeof(p) - (size_t) (strrchr(p, '/') - p), "/hpcnodectl");
        }
        return p;
}

int api_connect(struct dmn *d) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->socket);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                fail_msg("connect %s: %s", d->socket, strerror(errno));
        return fd;
}

size_t read_lines(int fd, char *buf, size_t size, int lines, int timeout_ms) {
        size_t have = 0;
        buf[0] = '\0';
        while (have < size - 1 && count_text(buf, "\n") < lines) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, timeout_ms) <= 0)
                        break;
                ssize_t r = read(fd, buf + have, size - 1 - have);
                if (r <= 0)
                        break;
                have += (size_t) r;
                buf[have] = '\0';
        }
        return have;
}

json_object *api_request(struct dmn *d, const char *line) {
        int fd = api_connect(d);
        size_t n = strlen(line);
        assert_int_equal(write(fd, line, n), (ssize_t) n);
        assert_int_equal(write(fd, "\n", 1), 1);
        char *reply = malloc(1 << 20);
        assert_non_null(reply);
        (void) read_lines(fd, reply, 1 << 20, 1, 10000);
        close(fd);
        json_object *o = json_tokener_parse(reply);
        if (!o)
                fail_msg("reply to %s is not JSON: %s", line, reply);
        free(reply);
        return o;
}

json_object *api_call(struct dmn *d, const char *call, const char *args_json) {
        char line[8192];
        snprintf(line, sizeof(line), "{\"call\":\"%s\"%s%s}", call, args_json ? ",\"args\":" : "",
                 args_json ? args_json : "");
        return api_request(d, line);
}

bool api_ok(json_object *reply) {
        json_object *v;
        return json_object_object_get_ex(reply, "ok", &v) && json_object_get_boolean(v);
}

int ctl_run(struct dmn *d, const char *prefix, char *out, size_t size, const char *args) {
        char cmd[8192], file[160];
        snprintf(file, sizeof(file), "%s/ctl.out", d->dir);
        snprintf(cmd, sizeof(cmd), "HPCNODE_SOCKET=%s %s %s %s > %s 2>&1", d->socket, prefix ? prefix : "",
                 ctl_path(), args, file);
        int status = system(cmd);
        read_text(file, out, size);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
