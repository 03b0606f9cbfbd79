/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a job reads through its bind is the image the manager mounted:
 * every act an adversary with root would try against it, done for real
 * against a real hpcnoded by this process (not the manager). With BPF LSM
 * (the VMs, enforce) each act fails, is recorded denied, and the job's
 * bind reads the same bytes after; without it (the host, audit) each act
 * succeeds and is exactly one drift record naming its actor, repaired
 * where a repair is safe. The bases are under a shared tmpfs, as /run is
 * under systemd, so acts through a peer mount namespace propagate. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/loop.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "fixture.h"
#include "mount_fixture.h"

struct genv {
        struct dmn *d;
        bool enforce;
        char run[128], uenv[160], workdir[160], image[192], other[192];
        char name[64];                   /* the image's mount name */
        char mount_point[PATH_MAX], bind[PATH_MAX], loop[64];
};

static void acquire(struct genv *g, const char *alloc, char *bind, size_t size) {
        char args[1024];
        snprintf(args, sizeof(args), "{\"image\":\"%s\",\"allocation\":\"%s\"}", g->image, alloc);
        json_object *r = api_call(g->d, "mount.acquire", args);
        if (!api_ok(r))
                fail_msg("mount.acquire %s: %s", alloc, json_object_to_json_string(r));
        snprintf(bind, size, "%s", str(r, "result", "bind_path"));
        json_object_put(r);
}

/* What the job reads: the image's /id through its bind. */
static void assert_reads_image(const char *bind) {
        char path[PATH_MAX + 8], buf[64] = "";
        snprintf(path, sizeof(path), "%s/id", bind);
        if (read_text(path, buf, sizeof(buf)) < 0)
                fail_msg("%s: %s", path, strerror(errno));
        assert_string_equal(buf, "image-0\n");
}

/* A real daemon, its bases under <dir>/run (a tmpfs made shared), one
 * image held by job-1. */
static void genv_start(struct dmn *d, struct genv *g) {
        require_root_cgroup2();
        REQUIRE_MOUNT_ENV();
        *g = (struct genv){ .d = d, .enforce = can_enforce() };
        snprintf(g->run, sizeof(g->run), "%s/run", d->dir);
        snprintf(g->uenv, sizeof(g->uenv), "%s/uenv", g->run);
        snprintf(g->workdir, sizeof(g->workdir), "%s/workdir", g->run);
        snprintf(g->image, sizeof(g->image), "%s/app.sqfs", d->dir);
        snprintf(g->other, sizeof(g->other), "%s/other.sqfs", d->dir);
        assert_int_equal(mkdir(g->run, 0755), 0);
        assert_int_equal(mount("hn-run", g->run, "tmpfs", 0, "mode=0755"), 0);
        assert_int_equal(mount(NULL, g->run, NULL, MS_SHARED, NULL), 0);
        assert_int_equal(make_image(g->image, "image-0\n"), 0);
        assert_int_equal(make_image(g->other, "image-1\n"), 0);
        char extra[512];
        /* the tick finds what no table change shows (an image written in
         * place); busy or not (the suites run beside the VMs: load > CPUs) */
        snprintf(extra, sizeof(extra), "MountCheckMSec=100\nMountCheckBusyMSec=100\nUenvBase=%s\nWorkdirBase=%s",
                 g->uenv, g->workdir);
        write_config(d, extra);
        start(d);
        acquire(g, "job-1", g->bind, sizeof(g->bind));
        snprintf(g->name, sizeof(g->name), "%s", strrchr(g->bind, '/') + 1);
        snprintf(g->mount_point, sizeof(g->mount_point), "%s/%s", g->uenv, g->name);
        struct mnt_line l;
        assert_true(mountinfo_find(g->mount_point, &l));
        snprintf(g->loop, sizeof(g->loop), "%s", l.source);
        assert_reads_image(g->bind);
}

static int genv_teardown(void **state) {
        struct dmn *d = *state;
        if (d->pid > 0) {
                kill(d->pid, SIGKILL);
                wait_pid_ms(d->pid, 30000, NULL);
                d->pid = 0;
        }
        char run[128];
        snprintf(run, sizeof(run), "%s/run", d->dir);
        (void) umount2(run, MNT_DETACH); /* what the test left goes with it */
        return dmn_teardown(state);
}

/* The first drift record of class cls, waiting up to 10 s. */
static json_object *wait_drift(const char *log, const char *cls) {
        char needle[128];
        snprintf(needle, sizeof(needle), "\"class\":\"%s\"", cls);
        for (double end = now_s() + 10; now_s() < end; usleep(20000)) {
                FILE *f = fopen(log, "r");
                char *line = NULL;
                size_t size = 0;
                while (f && getline(&line, &size, f) > 0 && line_complete(line))
                        if (strstr(line, "\"event\":\"mount.drift\"") && strstr(line, needle)) {
                                fclose(f);
                                json_object *o = json_tokener_parse(line);
                                if (!o)
                                        fail_msg("not JSON: %s", line);
                                free(line);
                                return o;
                        }
                free(line);
                if (f)
                        fclose(f);
        }
        fail_msg("no mount.drift of class %s in %s", cls, log);
        return NULL;
}

/* Enforce: the act failed, one record of event on path, denied by the
 * LSM, and no drift. */
static void expect_denied(struct genv *g, int status, const char *event, const char *path) {
        assert_int_not_equal(status, 0);
        json_object *o = wait_record(g->d->log, event, path);
        if (!o)
                fail_msg("no %s record for %s", event, path ? path : "(any)");
        assert_string_equal(str(o, "verdict", NULL), "denied");
        assert_string_equal(str(o, "hook", NULL), "lsm");
        json_object_put(o);
        usleep(300000); /* passes run: nothing to find */
        assert_int_equal(count_lines(g->d->log, "\"event\":\"mount.drift\""), 0);
}

/* Audit: the act succeeded, and is one drift record of class cls on path
 * naming actor (its comm; NULL: none can be known) and repaired as said. */
static void expect_drift(struct genv *g, int status, const char *cls, const char *path, const char *actor,
                         bool repaired) {
        assert_int_equal(status, 0);
        json_object *o = wait_drift(g->d->log, cls);
        assert_string_equal(str(o, "path", NULL), path);
        assert_true(json_object_get_boolean(json_object_object_get(o, "repaired")) == repaired);
        if (actor)
                assert_string_equal(str(o, "actor", "comm"), actor);
        json_object_put(o);
        usleep(400000); /* more passes (the tick, the watch): still one */
        int n = count_lines(g->d->log, "\"event\":\"mount.drift\"");
        if (n != 1) {
                char cmd[300];
                snprintf(cmd, sizeof(cmd), "grep mount.drift '%s'", g->d->log);
                (void) system(cmd);
                fail_msg("%d drift records, not 1", n);
        }
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
        char cmd[8192];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        return system(cmd);
}

/* No mount of fstype left on target. */
static void assert_no_mount_of(const char *target, const char *fstype) {
        struct mnt_line l;
        if (mountinfo_find(target, &l))
                assert_string_not_equal(l.fstype, fstype);
}

/* ---- Mounts that would hide what jobs read. */

static void tmpfs_on_the_uenv_base(void **state) {
        struct genv g;
        genv_start(*state, &g);
        int status = sh("mount -t tmpfs hn-evil '%s' 2>/dev/null", g.uenv);
        if (g.enforce)
                expect_denied(&g, status, "mount.mount", g.uenv);
        else
                expect_drift(&g, status, "shadowed", g.uenv, "mount", true);
        assert_no_mount_of(g.uenv, "tmpfs");
        /* a later acquire binds the image, not the attacker's directory */
        char bind2[PATH_MAX];
        acquire(&g, "job-2", bind2, sizeof(bind2));
        assert_reads_image(bind2);
        assert_reads_image(g.bind);
}

static void replica_moved_over_the_workdir_base(void **state) {
        struct genv g;
        genv_start(*state, &g);
        char replica[PATH_MAX], stage[256];
        snprintf(replica, sizeof(replica), "%s/replica/job-1/uenv/%s", g.d->dir, g.name);
        assert_int_equal(sh("mkdir -p '%s' && echo evil >'%s/id'", replica, replica), 0);
        snprintf(stage, sizeof(stage), "%s/stage", g.d->dir);
        assert_int_equal(mkdir(stage, 0755), 0);
        assert_int_equal(sh("mount --bind '%s/replica' '%s'", g.d->dir, stage), 0); /* not guarded: allowed */
        int status = sh("mount --move '%s' '%s' 2>/dev/null", stage, g.workdir);
        if (g.enforce)
                expect_denied(&g, status, "mount.move", g.workdir);
        else
                expect_drift(&g, status, "shadowed", g.workdir, "mount", true);
        assert_reads_image(g.bind);
}

/* The new mount API: a tmpfs made with fsmount(2) and attached by
 * move_mount(2) onto the job's bind; no path is named until the move. */
static void fsmount_onto_a_bind(void **state) {
        struct genv g;
        genv_start(*state, &g);
        int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        assert_true(fs >= 0);
        assert_int_equal(fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0), 0);
        int mfd = fsmount(fs, FSMOUNT_CLOEXEC, 0);
        assert_true(mfd >= 0);
        int status = move_mount(mfd, "", AT_FDCWD, g.bind, MOVE_MOUNT_F_EMPTY_PATH) < 0 ? errno : 0;
        close(mfd);
        close(fs);
        if (g.enforce) {
                assert_int_equal(status, EPERM);
                expect_denied(&g, status, "mount.move", g.bind);
        } else
                expect_drift(&g, status, "shadowed", g.bind, "test_mount_guar", true);
        assert_reads_image(g.bind);
}

static void tmpfs_on_the_image_mount(void **state) {
        struct genv g;
        genv_start(*state, &g);
        int status = sh("mount -t tmpfs hn-evil '%s' 2>/dev/null", g.mount_point);
        if (g.enforce)
                expect_denied(&g, status, "mount.mount", g.mount_point);
        else
                expect_drift(&g, status, "shadowed", g.mount_point, "mount", true);
        assert_no_mount_of(g.mount_point, "tmpfs");
        char bind2[PATH_MAX];
        acquire(&g, "job-2", bind2, sizeof(bind2));
        assert_reads_image(bind2);
}

/* ---- Taking away what carries the bases. */

static void lazy_umount_of_an_ancestor(void **state) {
        struct genv g;
        genv_start(*state, &g);
        int status = sh("umount -l '%s' 2>/dev/null", g.run);
        if (g.enforce) {
                expect_denied(&g, status, "mount.umount", g.run);
                assert_reads_image(g.bind);
                return;
        }
        /* the bases went with it: no repair can put them back where jobs
         * look; refused and alerted, once */
        expect_drift(&g, status, "moved", g.uenv, "umount", false);
        assert_false(path_exists(g.bind));
}

static void move_of_an_ancestor(void **state) {
        struct genv g;
        genv_start(*state, &g);
        char away[256];
        snprintf(away, sizeof(away), "%s/away", g.d->dir);
        assert_int_equal(mkdir(away, 0755), 0);
        /* a shared mount cannot be moved: the attacker first makes it private */
        assert_int_equal(sh("mount --make-private '%s'", g.run), 0);
        int status = sh("mount --move '%s' '%s' 2>/dev/null", g.run, away);
        if (g.enforce) {
                expect_denied(&g, status, "mount.move", NULL);
                assert_reads_image(g.bind);
                return;
        }
        expect_drift(&g, status, "moved", g.uenv, "mount", false);
}

static void rename_of_the_workdir_base(void **state) {
        struct genv g;
        genv_start(*state, &g);
        char away[256];
        snprintf(away, sizeof(away), "%s/workdir.old", g.run);
        int status = rename(g.workdir, away) < 0 ? errno : 0;
        if (g.enforce) {
                assert_int_equal(status, EPERM);
                expect_denied(&g, status, "mount.move", g.workdir);
                assert_reads_image(g.bind);
                return;
        }
        /* rename is no mount act: the drift has no actor to name */
        expect_drift(&g, status, "moved", g.workdir, NULL, false);
}

/* An unmount in another mount namespace whose mounts are peers of ours
 * (unshare --propagation unchanged) propagates here. */
static void umount_through_a_peer_namespace(void **state) {
        struct genv g;
        genv_start(*state, &g);
        int status = sh("unshare -m --propagation unchanged umount '%s' 2>/dev/null", g.bind);
        if (g.enforce)
                expect_denied(&g, status, "mount.umount", g.bind);
        else
                expect_drift(&g, status, "bind_removed", g.bind, "umount", true);
        assert_reads_image(g.bind);
}

static void mount_through_a_peer_namespace(void **state) {
        struct genv g;
        genv_start(*state, &g);
        int status = sh("unshare -m --propagation unchanged mount -t tmpfs hn-evil '%s' 2>/dev/null", g.uenv);
        if (g.enforce)
                expect_denied(&g, status, "mount.mount", g.uenv);
        else
                expect_drift(&g, status, "shadowed", g.uenv, "mount", true);
        assert_no_mount_of(g.uenv, "tmpfs");
}

/* ---- The held mounts' own attributes. */

/* mount_setattr(2) reaches no LSM hook: in both modes the change is made,
 * found and undone (the actor named where the syscall programs run). */
static void mount_setattr_clears_read_only(void **state) {
        if (!kernel_has(HN_FEATURE_MOUNT_SETATTR))
                SKIP_BECAUSE("no mount_setattr(2) before Linux 5.12: no such path to guard");
        struct genv g;
        genv_start(*state, &g);
        struct mount_attr attr = { .attr_clr = MOUNT_ATTR_RDONLY };
        int status = mount_setattr(AT_FDCWD, g.bind, 0, &attr, sizeof(attr)) < 0 ? errno : 0;
        expect_drift(&g, status, "remounted", g.bind, g.enforce ? NULL : "test_mount_guar", true);
        struct mnt_line l;
        assert_true(mountinfo_find(g.bind, &l));
        assert_true(has_options(l.options, "ro,nosuid,nodev"));
        assert_reads_image(g.bind);
}

static void make_shared_of_a_bind(void **state) {
        struct genv g;
        genv_start(*state, &g);
        int status = sh("mount --make-shared '%s' 2>/dev/null", g.bind);
        if (g.enforce)
                expect_denied(&g, status, "mount.remount", g.bind);
        else
                expect_drift(&g, status, "propagation", g.bind, "mount", true);
        /* and by mount_setattr, which no hook sees: found and undone */
        if (!kernel_has(HN_FEATURE_MOUNT_SETATTR)) {
                printf("# no mount_setattr(2) before Linux 5.12: its half is not run\n");
                return;
        }
        struct mount_attr attr = { .propagation = MS_SHARED };
        status = mount_setattr(AT_FDCWD, g.mount_point, 0, &attr, sizeof(attr)) < 0 ? errno : 0;
        assert_int_equal(status, 0);
        char needle[PATH_MAX + 64];
        snprintf(needle, sizeof(needle), "\"class\":\"propagation\",\"path\":\"%s\"", g.mount_point);
        for (double end = now_s() + 10; now_s() < end && count_lines(g.d->log, needle) == 0;)
                usleep(20000);
        usleep(300000);
        assert_int_equal(count_lines(g.d->log, needle), 1);
        assert_int_not_equal(sh("grep -q ' %s .*shared:' /proc/self/mountinfo", g.mount_point), 0);
}

/* ---- The loop device and the image file. */

static void loop_change_fd_to_another_image(void **state) {
        struct genv g;
        genv_start(*state, &g);
        struct stat a, b;
        assert_int_equal(stat(g.image, &a), 0);
        assert_int_equal(stat(g.other, &b), 0);
        if (a.st_size != b.st_size)
                assert_int_equal(truncate(g.other, a.st_size), 0); /* LOOP_CHANGE_FD wants the same size */
        int loop = open(g.loop, O_RDONLY | O_CLOEXEC), other = open(g.other, O_RDONLY | O_CLOEXEC);
        assert_true(loop >= 0 && other >= 0);
        int status = ioctl(loop, LOOP_CHANGE_FD, other) < 0 ? errno : 0;
        close(other);
        close(loop);
        if (g.enforce)
                expect_denied(&g, status, "mount.loop_ioctl", g.loop);
        else
                expect_drift(&g, status, "image_changed", g.loop, "test_mount_guar", true);
        char backing[PATH_MAX];
        snprintf(backing, sizeof(backing), "/sys/block/%s/loop/backing_file", strrchr(g.loop, '/') + 1);
        char text[PATH_MAX] = "";
        assert_int_equal(read_text(backing, text, sizeof(text)), 0);
        text[strcspn(text, "\n")] = '\0';
        assert_string_equal(text, g.image);
}

static void loop_set_status_with_an_offset(void **state) {
        struct genv g;
        genv_start(*state, &g);
        int loop = open(g.loop, O_RDONLY | O_CLOEXEC);
        assert_true(loop >= 0);
        struct loop_info64 info;
        assert_int_equal(ioctl(loop, LOOP_GET_STATUS64, &info), 0); /* reading stays open */
        info.lo_offset = 4096;
        int status = ioctl(loop, LOOP_SET_STATUS64, &info) < 0 ? errno : 0;
        if (g.enforce)
                expect_denied(&g, status, "mount.loop_ioctl", g.loop);
        else
                expect_drift(&g, status, "image_changed", g.loop, "test_mount_guar", true);
        assert_int_equal(ioctl(loop, LOOP_GET_STATUS64, &info), 0);
        assert_int_equal(info.lo_offset, 0);
        close(loop);
}

/* losetup(8): -d (LOOP_CLR_FD) under a mounted image only marks it to go
 * with the last unmount, -c (LOOP_SET_CAPACITY) re-reads the size: on the
 * host nothing a job reads changes (the act is recorded, no drift); with
 * BPF LSM both are refused. */
static void losetup_detach_and_capacity(void **state) {
        struct genv g;
        genv_start(*state, &g);
        const char *acts[] = { "losetup -d '%s' 2>/dev/null", "losetup -c '%s' 2>/dev/null" };
        for (int i = 0; i < 2; i++) {
                int status = sh(acts[i], g.loop);
                for (double end = now_s() + 10; now_s() < end && count_lines(g.d->log, "mount.loop_ioctl") <= i;)
                        usleep(20000);
                usleep(200000);
                assert_int_equal(count_lines(g.d->log, "mount.loop_ioctl"), i + 1); /* one record per act */
                /* the act's record: its verdict, its hook, who */
                assert_int_equal(sh("grep mount.loop_ioctl '%s' | tail -n 1 | grep '\"verdict\":\"%s\"' | "
                                    "grep '\"comm\":\"losetup\"' | grep -q '\"hook\":\"%s\"'",
                                    g.d->log, g.enforce ? "denied" : "allowed", g.enforce ? "lsm" : "syscall_enter"),
                                 0);
                if (g.enforce)
                        assert_int_not_equal(status, 0);
        }
        usleep(300000);
        assert_int_equal(count_lines(g.d->log, "\"event\":\"mount.drift\""), 0);
        assert_reads_image(g.bind);
}

/* Written in place: no repair can unwrite it; in enforce the open fails. */
static void write_into_the_backing_image(void **state) {
        struct genv g;
        genv_start(*state, &g);
        int status = sh("dd if=/dev/zero of='%s' bs=1 count=8 seek=200 conv=notrunc status=none 2>/dev/null",
                        g.image);
        if (g.enforce) {
                expect_denied(&g, status, "mount.image_write", g.image);
                assert_reads_image(g.bind);
                return;
        }
        expect_drift(&g, status, "image_changed", g.mount_point, "dd", false);
}

/* ---- The manager's own paths. */

static void symlink_swapped_into_an_allocation(void **state) {
        struct genv g;
        genv_start(*state, &g);
        char evil[256], alloc[PATH_MAX], link[PATH_MAX];
        snprintf(evil, sizeof(evil), "%s/evil", g.d->dir);
        assert_int_equal(mkdir(evil, 0755), 0);
        snprintf(alloc, sizeof(alloc), "%s/job-3", g.workdir);
        assert_int_equal(mkdir(alloc, 0755), 0);
        snprintf(link, sizeof(link), "%s/uenv", alloc);
        assert_int_equal(symlink(evil, link), 0);
        char args[1024];
        snprintf(args, sizeof(args), "{\"image\":\"%s\",\"allocation\":\"job-3\"}", g.image);
        json_object *r = api_call(g.d, "mount.acquire", args);
        assert_false(api_ok(r));
        assert_non_null(strstr(str(r, "error", "message"), "a symlink on the way there: refused"));
        json_object_put(r);
        assert_int_equal(mounts_below(evil), 0);
        assert_reads_image(g.bind);
}

/* Two holders: the first one's bind pulled is that bind removed (it was
 * once reported "moved" to the other holder's). And the API's release
 * record names the bind and the image. */
static void two_holders_and_the_release_record(void **state) {
        struct genv g;
        genv_start(*state, &g);
        char bind2[PATH_MAX];
        acquire(&g, "job-2", bind2, sizeof(bind2));
        int status = sh("umount -l '%s' 2>/dev/null", g.bind);
        if (g.enforce)
                expect_denied(&g, status, "mount.umount", g.bind);
        else
                expect_drift(&g, status, "bind_removed", g.bind, "umount", true);
        assert_reads_image(g.bind);
        assert_reads_image(bind2);
        char args[1024];
        snprintf(args, sizeof(args), "{\"image\":\"%s\",\"allocation\":\"job-2\"}", g.image);
        json_object *r = api_call(g.d, "mount.release", args);
        assert_true(api_ok(r));
        json_object_put(r);
        json_object *o = wait_record(g.d->log, "mount.release", NULL);
        assert_non_null(o);
        assert_string_equal(str(o, "path", NULL), bind2);
        json_object_put(o);
}

/* hpcnoded down, the image mount and its bind unmounted: the restarted
 * daemon knows the image from the record on the bind's directory, mounts
 * it and binds it again. */
static void image_and_bind_unmounted_while_down(void **state) {
        struct genv g;
        genv_start(*state, &g);
        kill(g.d->pid, SIGTERM);
        assert_int_equal(wait_pid_ms(g.d->pid, 30000, NULL), g.d->pid);
        g.d->pid = 0;
        ((struct dmn *) *state)->pid = 0;
        assert_int_equal(umount2(g.bind, MNT_DETACH), 0);
        assert_int_equal(umount2(g.mount_point, MNT_DETACH), 0);
        start(g.d);
        json_object *o = wait_drift(g.d->log, "held_mount_removed");
        assert_string_equal(str(o, "path", NULL), g.mount_point);
        assert_true(json_object_get_boolean(json_object_object_get(o, "repaired")));
        json_object_put(o);
        o = wait_drift(g.d->log, "bind_removed");
        assert_string_equal(str(o, "path", NULL), g.bind);
        assert_true(json_object_get_boolean(json_object_object_get(o, "repaired")));
        json_object_put(o);
        assert_reads_image(g.bind);
        /* and guarded again: the next act is judged */
        int status = sh("umount -l '%s' 2>/dev/null", g.bind);
        if (g.enforce) {
                assert_int_not_equal(status, 0);
                o = wait_record(g.d->log, "mount.umount", g.bind);
                assert_non_null(o);
                assert_string_equal(str(o, "verdict", NULL), "denied");
                json_object_put(o);
        } else {
                assert_int_equal(status, 0);
                for (double end = now_s() + 10; now_s() < end && count_lines(g.d->log, "\"class\":\"bind_removed\"") < 2;)
                        usleep(20000);
                assert_int_equal(count_lines(g.d->log, "\"class\":\"bind_removed\""), 2);
        }
        assert_reads_image(g.bind);
}

/* hpcnoded down, only the image mount unmounted (the bind stays): the
 * restarted daemon knows the image from the bind's loop device, mounts it
 * again and guards the bind. */
static void image_unmounted_while_down(void **state) {
        struct genv g;
        genv_start(*state, &g);
        kill(g.d->pid, SIGTERM);
        assert_int_equal(wait_pid_ms(g.d->pid, 30000, NULL), g.d->pid);
        ((struct dmn *) *state)->pid = 0;
        assert_int_equal(umount2(g.mount_point, MNT_DETACH), 0);
        start(g.d);
        json_object *o = wait_drift(g.d->log, "held_mount_removed");
        assert_string_equal(str(o, "path", NULL), g.mount_point);
        assert_string_equal(str(o, "image", NULL), g.image);
        assert_true(json_object_get_boolean(json_object_object_get(o, "repaired")));
        json_object_put(o);
        usleep(300000);
        assert_int_equal(count_lines(g.d->log, "\"event\":\"mount.drift\""), 1);
        assert_reads_image(g.bind);
        struct mnt_line l;
        assert_true(mountinfo_find(g.mount_point, &l));
        int status = sh("mount -t tmpfs hn-evil '%s' 2>/dev/null", g.bind);
        if (g.enforce)
                assert_int_not_equal(status, 0);
        else {
                assert_int_equal(status, 0);
                json_object_put(wait_drift(g.d->log, "shadowed"));
        }
        assert_reads_image(g.bind);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, dmn_setup, genv_teardown)
        const struct CMUnitTest tests[] = {
                T(tmpfs_on_the_uenv_base),
                T(replica_moved_over_the_workdir_base),
                T(fsmount_onto_a_bind),
                T(tmpfs_on_the_image_mount),
                T(lazy_umount_of_an_ancestor),
                T(move_of_an_ancestor),
                T(rename_of_the_workdir_base),
                T(umount_through_a_peer_namespace),
                T(mount_through_a_peer_namespace),
                T(mount_setattr_clears_read_only),
                T(make_shared_of_a_bind),
                T(loop_change_fd_to_another_image),
                T(loop_set_status_with_an_offset),
                T(losetup_detach_and_capacity),
                T(write_into_the_backing_image),
                T(symlink_swapped_into_an_allocation),
                T(two_holders_and_the_release_record),
                T(image_and_bind_unmounted_while_down),
                T(image_unmounted_while_down),
        };
#undef T
        test_filter_from_env();
        return cmocka_run_group_tests_name("mount_guard", tests, NULL, NULL);
}
