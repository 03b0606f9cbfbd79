/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount_fixture.h"

const char *mount_ns_enter(void) {
        static bool entered;
        if (entered)
                return NULL;
        if (geteuid() != 0)
                return "needs root for a private mount namespace";
        if (access("/dev/loop-control", F_OK) != 0)
                return "no /dev/loop-control (loop module not loaded)";
        if (system("command -v mksquashfs >/dev/null") != 0)
                return "mksquashfs not installed (squashfs-tools)";
        if (unshare(CLONE_NEWNS) < 0)
                return "unshare(CLONE_NEWNS) failed";
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return "making / private failed";
        entered = true;
        return NULL;
}

int make_image(const char *path, const char *content) {
        char src[300], cmd[1024];
        snprintf(src, sizeof(src), "%s.src", path);
        mkdir(src, 0755);
        snprintf(cmd, sizeof(cmd), "%s/id", src);
        FILE *f = fopen(cmd, "w");
        if (!f)
                return -1;
        fputs(content, f);
        fclose(f);
        snprintf(cmd, sizeof(cmd), "mksquashfs '%s' '%s' -quiet -noappend -no-progress >/dev/null 2>&1 && rm -rf '%s'",
                 src, path, src);
        return system(cmd) == 0 ? 0 : -1;
}

int mount_env_setup(void **state) {
        struct mount_env *e = calloc(1, sizeof(*e));
        *state = e;
        if (mount_ns_enter())
                return 0; /* the test skips with the reason */
        snprintf(e->dir, sizeof(e->dir), "/tmp/hn-mnt.XXXXXX");
        if (!mkdtemp(e->dir))
                return -1;
        /* tmpfs, like /run where the real bases live; and private to this
         * namespace, so whatever a crashed test leaves goes with it. */
        if (mount("tmpfs", e->dir, "tmpfs", 0, "mode=0700") < 0)
                return -1;
        snprintf(e->uenv, sizeof(e->uenv), "%s/uenv", e->dir);
        snprintf(e->workdir, sizeof(e->workdir), "%s/workdir", e->dir);
        snprintf(e->images, sizeof(e->images), "%s/images", e->dir);
        mkdir(e->images, 0755);
        for (int i = 0; i < 4; i++) {
                char content[32];
                snprintf(e->image[i], sizeof(e->image[i]), "%s/image-%d.sqfs", e->images, i);
                snprintf(content, sizeof(content), "image-%d\n", i);
                if (make_image(e->image[i], content) < 0)
                        return -1;
        }
        hn_mount_config_default(&e->cfg);
        e->cfg.uenv_base = e->uenv;
        e->cfg.workdir_base = e->workdir;
        e->cfg.hold_time_secs = 1;
        if (hn_mount_manager_new(&e->cfg, &e->m, NULL) < 0)
                return -1;
        hn_mount_manager_set_audit(e->m, audit_record, &e->log);
        char p[256];
        snprintf(p, sizeof(p), "%s/emergency", e->dir);
        if (hn_emergency_new(p, &e->emergency, NULL) < 0)
                return -1;
        hn_mount_manager_set_emergency(e->m, e->emergency);
        return 0;
}

/* Unmounts everything under dir, deepest (longest target) first: one
 * pass over mountinfo collects them all, a few passes catch stacked ones. */
static int cmp_len_desc(const void *a, const void *b) {
        return (int) strlen(*(char *const *) b) - (int) strlen(*(char *const *) a);
}

static void unmount_below(const char *dir) {
        for (int pass = 0; pass < 4; pass++) {
                char **targets = NULL;
                size_t n = 0;
                FILE *f = fopen("/proc/self/mountinfo", "r");
                char line[4096];
                while (f && fgets(line, sizeof(line), f)) {
                        char target[PATH_MAX];
                        if (sscanf(line, "%*d %*d %*u:%*u %*s %4095s", target) == 1 &&
                            strncmp(target, dir, strlen(dir)) == 0) {
                                char **grown = realloc(targets, (n + 1) * sizeof(char *));
                                if (!grown)
                                        break;
                                targets = grown;
                                targets[n++] = strdup(target);
                        }
                }
                if (f)
                        fclose(f);
                if (n > 1)
                        qsort(targets, n, sizeof(char *), cmp_len_desc);
                for (size_t i = 0; i < n; i++) {
                        if (targets[i])
                                umount2(targets[i], MNT_DETACH);
                        free(targets[i]);
                }
                free(targets);
                if (n == 0)
                        return;
        }
}

int mount_env_teardown(void **state) {
        struct mount_env *e = *state;
        hn_mount_manager_free(e->m);
        hn_emergency_free(e->emergency);
        if (e->dir[0]) {
                unmount_below(e->dir); /* the tmpfs itself included */
                if (rmdir(e->dir) < 0)
                        return -1;
        }
        free(e);
        return 0;
}

bool mountinfo_find(const char *target, struct mnt_line *ret) {
        FILE *f = fopen("/proc/self/mountinfo", "r");
        char line[4096];
        bool found = false;
        while (f && fgets(line, sizeof(line), f)) {
                struct mnt_line l = { 0 };
                char t[PATH_MAX], *dash;
                if (sscanf(line, "%d %*d %u:%u %*s %4095s %255s", &l.id, &l.major, &l.minor, t, l.options) != 5 ||
                    strcmp(t, target) != 0)
                        continue;
                dash = strstr(line, " - ");
                if (dash)
                        sscanf(dash + 3, "%31s %255s", l.fstype, l.source);
                *ret = l; /* the last one: the mount on top */
                found = true;
        }
        if (f)
                fclose(f);
        return found;
}

int mounts_below(const char *prefix) {
        FILE *f = fopen("/proc/self/mountinfo", "r");
        char line[4096];
        int n = 0;
        while (f && fgets(line, sizeof(line), f)) {
                char t[PATH_MAX];
                if (sscanf(line, "%*d %*d %*u:%*u %*s %4095s", t) == 1 && strncmp(t, prefix, strlen(prefix)) == 0)
                        n++;
        }
        if (f)
                fclose(f);
        return n;
}

int loops_backing(const char *prefix) {
        DIR *d = opendir("/sys/block");
        struct dirent *de;
        int n = 0;
        while (d && (de = readdir(d))) {
                char p[300], buf[PATH_MAX];
                if (strncmp(de->d_name, "loop", 4) != 0)
                        continue;
                snprintf(p, sizeof(p), "/sys/block/%s/loop/backing_file", de->d_name);
                if (read_text(p, buf, sizeof(buf)) == 0 && strncmp(buf, prefix, strlen(prefix)) == 0)
                        n++;
        }
        if (d)
                closedir(d);
        return n;
}

bool has_options(const char *options, const char *want) {
        char w[256];
        snprintf(w, sizeof(w), "%s", want);
        for (char *save = NULL, *t = strtok_r(w, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char o[300];
                snprintf(o, sizeof(o), ",%s,", options);
                char needle[64];
                snprintf(needle, sizeof(needle), ",%s,", t);
                if (!strstr(o, needle))
                        return false;
        }
        return true;
}

bool wait_loops_gone(const char *prefix, unsigned timeout_ms) {
        for (unsigned waited = 0; waited <= timeout_ms; waited += 10) {
                if (loops_backing(prefix) == 0)
                        return true;
                usleep(10000);
        }
        return false;
}
