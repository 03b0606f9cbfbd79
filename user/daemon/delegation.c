/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd's cgroup tree is systemd's: it is the single writer of what it
 * manages, and hands a subtree to anyone else only by delegation
 * (systemd.io/CGROUP_DELEGATION). On a systemd host hpcnode's hierarchy
 * lives in a scope unit of its own with Delegate=yes, as Slurm's
 * slurmstepd.scope does: not in hpcnoded.service's own cgroup, where
 * systemd (before 254's DelegateSubgroup=) starts every new process, the
 * restarted daemon included, which a cgroup with controllers enabled for
 * its children refuses. hpcnoded itself stays in its service's cgroup
 * (the journal and sd_notify know a process by its cgroup); the scope is
 * started around a keeper, a child that only waits, in the scope's leaf
 * "keeper", so the scope lives while no job runs and a restarted daemon
 * finds it again; daemon-reload and daemon-reexec keep transient units. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include <hpcnode/cgroup.h>

#include "delegation.h"
#include "fileio.h"
#include "macro.h"

static int cgroup_of(pid_t pid, char *ret, size_t size) {
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/%d/cgroup", (int) pid);
        FILE *f = fopen(proc, "re");
        if (!f)
                return -errno;
        char line[4096];
        int r = -ENOENT;
        while (fgets(line, sizeof(line), f))
                if (!strncmp(line, "0::", 3)) {
                        line[strcspn(line, "\n")] = '\0';
                        r = (size_t) snprintf(ret, size, "%s", line + 3) < size ? 0 : -ENAMETOOLONG;
                        break;
                }
        fclose(f);
        return r;
}

/* PID 1's own socket (root, no dbus-daemon needed), else the system bus. */
static int bus_open(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r = sd_bus_new(&bus);
        if (r >= 0 && (r = sd_bus_set_address(bus, "unix:path=/run/systemd/private")) >= 0 &&
            (r = sd_bus_start(bus)) >= 0) {
                *ret = bus;
                return 0;
        }
        sd_bus_unref(bus);
        return sd_bus_open_system(ret);
}

/* The keeper: a child that only waits, whatever becomes of hpcnoded.
 * Forked before the emergency key is read (setup() resolves the root
 * first): its copy of the daemon's memory holds no secret. */
static pid_t keeper_fork(void) {
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        (void) setsid();
        (void) prctl(PR_SET_NAME, "hpcnode-keeper");
        for (int fd = 3; fd < 4096; fd++)
                (void) close(fd);
        sigset_t all;
        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL); /* SIGKILL and SIGSTOP still reach it */
        for (;;)
                (void) sigsuspend(&all);
}

/* The scope, made with pid in it; EEXIST if it runs already. */
static int scope_start(sd_bus *bus, pid_t pid, char *why, size_t why_size) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                               "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", HND_TREE_SCOPE, "fail");
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sv)", 3, "Description", "s",
                                          "hpcnode: pact.slice and workload.slice, delegated", "Delegate", "b", 1,
                                          "PIDs", "au", 1, (uint32_t) pid);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, "org.freedesktop.systemd1.UnitExists"))
                        r = -EEXIST;
                else
                        snprintf(why, why_size, "starting %s over D-Bus: %s", HND_TREE_SCOPE,
                                 error.message ? error.message : strerror(-r));
        }
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
        return r;
}

/* The running scope's cgroup, relative to the cgroup2 mount. */
static int scope_cgroup(sd_bus *bus, char *ret, size_t size, char *why, size_t why_size) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *path = NULL;
        char *cg = NULL;
        int r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                   "org.freedesktop.systemd1.Manager", "GetUnit", &error, &reply, "s", HND_TREE_SCOPE);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Scope",
                                               "ControlGroup", &error, &cg);
        if (r >= 0 && (!cg || !cg[0]))
                r = -ENOENT;
        if (r >= 0 && (size_t) snprintf(ret, size, "%s", cg) >= size)
                r = -ENAMETOOLONG;
        if (r < 0)
                snprintf(why, why_size, "the cgroup of %s: %s", HND_TREE_SCOPE,
                         error.message ? error.message : strerror(-r));
        free(cg);
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r;
}

/* Moves pid into the scope's leaf name (made if missing). */
static int leaf_move(const char *dir, const char *name, pid_t pid, char *why, size_t why_size) {
        char leaf[8300], value[32];
        snprintf(leaf, sizeof(leaf), "%s/%s", dir, name);
        if (mkdir(leaf, 0755) < 0 && errno != EEXIST) {
                int r = -errno;
                snprintf(why, why_size, "%s: %s", leaf, strerror(-r));
                return r;
        }
        snprintf(leaf, sizeof(leaf), "%s/%s/cgroup.procs", dir, name);
        snprintf(value, sizeof(value), "%d", (int) pid);
        int r = write_file_at(AT_FDCWD, leaf, value);
        if (r < 0)
                snprintf(why, why_size, "moving pid %d into %s: %s", (int) pid, leaf, strerror(-r));
        return r;
}

int hnd_delegated_root(char *ret, size_t size, char *why, size_t why_size) {
        char mount[4096], cg[4096], dir[8192];
        int r;
        if (sd_booted() <= 0) {
                if (size)
                        ret[0] = '\0';
                return 0;
        }
        struct hn_error err = { 0 };
        if ((r = hn_cgroup2_find_mount(mount, sizeof(mount), &err)) < 0) {
                snprintf(why, why_size, "%s", err.message);
                return r;
        }
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        if ((r = bus_open(&bus)) < 0) {
                snprintf(why, why_size, "no connection to systemd (/run/systemd/private, the system bus): %s",
                         strerror(-r));
                return r;
        }
        /* running (the jobs or its keeper keep it): found again */
        if (scope_cgroup(bus, cg, sizeof(cg), why, why_size) < 0) {
                pid_t keeper = keeper_fork();
                if (keeper < 0) {
                        r = -errno;
                        snprintf(why, why_size, "the scope's keeper: %s", strerror(-r));
                        return r;
                }
                r = scope_start(bus, keeper, why, why_size);
                bool started = r >= 0;
                if (!started) {
                        kill(keeper, SIGKILL); /* EEXIST: one came up meanwhile */
                        (void) waitpid(keeper, NULL, 0);
                        if (r != -EEXIST)
                                return r;
                }
                /* systemd moves the keeper in as the job runs */
                for (int i = 0; started && i < 500; i++) {
                        char now[4096];
                        if (cgroup_of(keeper, now, sizeof(now)) == 0 && strstr(now, "/" HND_TREE_SCOPE))
                                break;
                        nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
                }
                if ((r = scope_cgroup(bus, cg, sizeof(cg), why, why_size)) < 0)
                        return r;
                snprintf(dir, sizeof(dir), "%s%s", mount, cg);
                if (started && (r = leaf_move(dir, HND_KEEPER_LEAF, keeper, why, why_size)) < 0)
                        return r;
        }
        snprintf(dir, sizeof(dir), "%s%s", mount, cg);
        if ((size_t) snprintf(ret, size, "%s", dir) >= size) {
                snprintf(why, why_size, "%s: path too long", dir);
                return -ENAMETOOLONG;
        }
        return 0;
}

int hnd_keeper_pid(const char *root, pid_t *ret) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/" HND_KEEPER_LEAF "/cgroup.procs", root);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        int pid;
        if (fscanf(f, "%d", &pid) != 1 || pid <= 0)
                return -ESRCH;
        *ret = (pid_t) pid;
        return 0;
}
