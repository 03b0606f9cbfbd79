/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pinning: the programs' maps and links under a bpffs directory of
 * hpcnode's own, so the rules hold while hpcnoded is down and across its
 * restarts. A set is named by what was loaded and how (the object's bytes,
 * its rodata, which programs load, the ring size): a starting monitor
 * whose set is pinned adopts it (its maps, with the programs already
 * attached to them) instead of loading a second one; another set (an older
 * build, another mode) is removed once this one is attached, so the
 * change-over overlaps and never leaves a gap. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_keys.h"
#include "error_set.h"
#include "monitor_internal.h"

static bool on_bpffs(const char *path) {
        struct statfs s;
        return statfs(path, &s) == 0 && (unsigned long) s.f_type == (unsigned long) BPF_FS_MAGIC;
}

/* Everything below path, then path: bpffs pins are files and directories. */
static int remove_tree(const char *path) {
        DIR *d = opendir(path);
        if (!d)
                return errno == ENOENT ? 0 : errno == ENOTDIR ? (unlink(path) < 0 ? -errno : 0) : -errno;
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                char sub[PATH_MAX];
                if ((size_t) snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= sizeof(sub)) {
                        r = -ENAMETOOLONG;
                        continue;
                }
                int q = de->d_type == DT_DIR ? remove_tree(sub) : (unlink(sub) < 0 ? -errno : 0);
                if (q < 0 && r == 0)
                        r = q;
        }
        closedir(d);
        if (rmdir(path) < 0 && r == 0)
                r = -errno;
        return r;
}

/* A pin's name: bpffs refuses names with a '.' (hpcnode.rodata, .bss). */
static const char *pin_name(const char *name, char buf[64]) {
        snprintf(buf, 64, "%s", name);
        for (char *c = buf; *c; c++)
                if (*c == '.')
                        *c = '_';
        return buf;
}

static void set_name(struct hn_monitor *m, uint32_t ringbuf_bytes, char out[33]) {
        uint8_t md[SHA256_DIGEST_LENGTH];
        size_t size = 0;
        SHA2_CTX ctx;
        SHA256Init(&ctx);
        /* the bytes loaded: the full object's or the compat one's */
        SHA256Update(&ctx, m->skel->skeleton->data, m->skel->skeleton->data_sz);
        const void *rodata = bpf_map__initial_value(m->skel->maps.rodata, &size);
        bool ok = rodata != NULL;
        if (ok)
                SHA256Update(&ctx, rodata, size);
        struct bpf_program *p;
        bpf_object__for_each_program(p, m->skel->obj) {
                unsigned char on = bpf_program__autoload(p);
                const char *name = bpf_program__name(p);
                SHA256Update(&ctx, (const uint8_t *) name, strlen(name) + 1);
                SHA256Update(&ctx, &on, 1);
        }
        SHA256Update(&ctx, (const uint8_t *) &ringbuf_bytes, sizeof(ringbuf_bytes));
        SHA256Final(md, &ctx);
        if (!ok)
                memset(md, 0, sizeof(md)); /* a name no set has: nothing is adopted */
        for (unsigned i = 0; i < 16; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The set at m->pin_set, if it is whole: every map pinned, and links. */
static int adopt(struct hn_monitor *m) {
        struct bpf_map *map;
        size_t n = 0;
        bpf_object__for_each_map(map, m->skel->obj)
                n++;
        _cleanup_free_ int *fds = calloc(n ? n : 1, sizeof(int));
        if (!fds)
                return -ENOMEM;
        char path[PATH_MAX + 300], links[PATH_MAX + 16];
        snprintf(links, sizeof(links), "%s/links", m->pin_set);
        DIR *d = opendir(links);
        if (!d)
                return -ENOENT;
        /* the links, held open: should their pins go, the programs stay
         * attached while this process lives, and the pins are made again */
        int r = 0;
        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (strlen(de->d_name) >= sizeof(m->held_links[0].name) ||
                    m->n_held_links == ELEMENTSOF(m->held_links)) {
                        r = -E2BIG;
                        break;
                }
                snprintf(path, sizeof(path), "%s/%s", links, de->d_name);
                int fd = bpf_obj_get(path);
                if (fd < 0) {
                        r = -errno;
                        break;
                }
                m->held_links[m->n_held_links].fd = fd;
                memcpy(m->held_links[m->n_held_links++].name, de->d_name, strlen(de->d_name) + 1);
        }
        closedir(d);
        if (r == 0 && !m->n_held_links)
                r = -ENOENT;
        if (r < 0) {
                monitor_held_links_close(m);
                return r;
        }
        size_t i = 0;
        bpf_object__for_each_map(map, m->skel->obj) {
                char nb[64];
                snprintf(path, sizeof(path), "%s/maps/%s", m->pin_set, pin_name(bpf_map__name(map), nb));
                fds[i] = bpf_obj_get(path);
                if (fds[i] < 0) {
                        r = -errno;
                        break;
                }
                i++;
        }
        if (r == 0) {
                i = 0;
                bpf_object__for_each_map(map, m->skel->obj) {
                        if (r == 0 && (r = bpf_map__reuse_fd(map, fds[i])) < 0)
                                break;
                        i++;
                }
        }
        for (size_t k = 0; k < n; k++)
                if (fds[k] > 0)
                        close(fds[k]);
        if (r < 0) {
                monitor_held_links_close(m);
                return r;
        }
        /* the attached programs are the pinned links'; only the one that
         * runs once at start (the placement seed) is loaded again */
        struct bpf_program *p;
        bpf_object__for_each_program(p, m->skel->obj)
                if (p != m->skel->progs.hn_seed_placement)
                        bpf_program__set_autoload(p, false);
        return 0;
}

int monitor_pin_prepare(struct hn_monitor *m, const char *pin_dir, uint32_t ringbuf_bytes, struct hn_error *err) {
        char parent[PATH_MAX];
        if (pin_dir[0] != '/' || strlen(pin_dir) >= sizeof(m->pin_dir) - 64)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "BPF pin directory %s: not an absolute path",
                                    pin_dir);
        snprintf(parent, sizeof(parent), "%s", pin_dir);
        char *slash = strrchr(parent, '/');
        if (slash == parent)
                slash[1] = '\0';
        else
                *slash = '\0';
        if (!on_bpffs(pin_dir) && !on_bpffs(parent))
                return hn_error_set(err, HN_ERR_NOT_FOUND, EMEDIUMTYPE, "BPF pin directory %s: not on a bpffs mount",
                                    pin_dir);
        char name[33];
        set_name(m, ringbuf_bytes, name);
        snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", pin_dir);
        snprintf(m->pin_set, sizeof(m->pin_set), "%s/%s", pin_dir, name);
        m->adopted = adopt(m) == 0;
        return 0;
}

bool monitor_syscall_hook_unpinned(const struct hn_monitor *m, size_t i) {
        if (!m->adopted)
                return true;
        char nb[64];
        const char *name = pin_name(bpf_program__name(syscall_prog(m->skel, i)), nb);
        for (size_t k = 0; k < m->n_held_links; k++)
                if (!strcmp(m->held_links[k].name, name))
                        return false;
        return true;
}

static int pin_link(struct bpf_link *link, const struct bpf_program *prog, const char *dir, const char **ret_what) {
        char path[PATH_MAX + 300];
        char nb[64];
        snprintf(path, sizeof(path), "%s/links/%s", dir, pin_name(bpf_program__name(prog), nb));
        *ret_what = bpf_program__name(prog);
        return bpf_link__pin(link, path);
}

int monitor_pin_commit(struct hn_monitor *m, struct hn_error *err) {
        if (!m->pin_set[0] || m->adopted)
                return 0;
        char tmp[PATH_MAX + 64], sub[PATH_MAX + 300];
        snprintf(tmp, sizeof(tmp), "%s/loading-%d", m->pin_dir, (int) getpid());
        if (mkdir(m->pin_dir, 0700) < 0 && errno != EEXIST)
                return hn_error_set(err, HN_ERR_IO, errno, "BPF pin directory %s: %s", m->pin_dir, strerror(errno));
        (void) remove_tree(tmp);
        int r = 0;
        const char *what = "the set's directory";
        snprintf(sub, sizeof(sub), "%s/maps", tmp);
        if (mkdir(tmp, 0700) < 0 || mkdir(sub, 0700) < 0 ||
            (snprintf(sub, sizeof(sub), "%s/links", tmp), mkdir(sub, 0700) < 0))
                r = -errno;
        struct bpf_map *map;
        bpf_object__for_each_map(map, m->skel->obj) {
                if (r < 0)
                        break;
                char nb[64];
                snprintf(sub, sizeof(sub), "%s/maps/%s", tmp, pin_name(bpf_map__name(map), nb));
                r = bpf_map__pin(map, sub);
                what = bpf_map__name(map);
        }
        const struct bpf_object_skeleton *s = m->skel->skeleton;
        for (int i = 0; r == 0 && i < s->prog_cnt; i++) {
                struct bpf_link *link = *s->progs[i].link;
                if (link)
                        r = pin_link(link, *s->progs[i].prog, tmp, &what);
        }
        for (size_t i = 0; r == 0 && i < HN_SYSCALL_HOOKS; i++)
                if (m->syscall_links[i] && !m->syscall_perf_event[i])
                        r = pin_link(m->syscall_links[i], syscall_prog(m->skel, i), tmp, &what);
        /* whole, then under its name: a set is adopted only whole */
        if (r == 0) {
                (void) remove_tree(m->pin_set); /* a broken one of the same name */
                if (rename(tmp, m->pin_set) < 0)
                        r = -errno;
        }
        if (r < 0) {
                (void) remove_tree(tmp);
                return hn_error_set(err, HN_ERR_IO, -r, "BPF: pinning %s under %s: %s", what, m->pin_dir, strerror(-r));
        }
        m->pinned = true;
        /* the other sets go once this one runs: an overlap, never a gap */
        DIR *d = opendir(m->pin_dir);
        for (struct dirent *de; d && (de = readdir(d));) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                snprintf(sub, sizeof(sub), "%s/%s", m->pin_dir, de->d_name);
                if (strcmp(sub, m->pin_set))
                        (void) remove_tree(sub);
        }
        if (d)
                closedir(d);
        return 0;
}

void monitor_held_links_close(struct hn_monitor *m) {
        for (size_t i = 0; i < m->n_held_links; i++)
                close(m->held_links[i].fd);
        m->n_held_links = 0;
}

/* One pin: made again if it is gone (its object is this process's). */
static int pin_again(const char *dir, const char *kind, const char *name, int fd, bool *ret_made) {
        char path[PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s/%s", dir, kind);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return -errno;
        snprintf(path, sizeof(path), "%s/%s/%s", dir, kind, name);
        struct stat st;
        if (fd < 0 || lstat(path, &st) == 0)
                return 0;
        if (errno != ENOENT)
                return -errno;
        if (bpf_obj_pin(fd, path) < 0)
                return -errno;
        *ret_made = true;
        return 0;
}

void monitor_pins_check(struct hn_monitor *m, struct tamper_note *t) {
        if (!(m->pinned || m->adopted))
                return;
        bool made = false;
        int r = 0;
        if (mkdir(m->pin_dir, 0700) < 0 && errno != EEXIST)
                r = -errno;
        char nb[64];
        struct bpf_map *map;
        bpf_object__for_each_map(map, m->skel->obj)
                if (r == 0)
                        r = pin_again(m->pin_set, "maps", pin_name(bpf_map__name(map), nb), bpf_map__fd(map), &made);
        if (m->adopted)
                for (size_t i = 0; r == 0 && i < m->n_held_links; i++)
                        r = pin_again(m->pin_set, "links", m->held_links[i].name, m->held_links[i].fd, &made);
        const struct bpf_object_skeleton *s = m->skel->skeleton;
        for (int i = 0; r == 0 && !m->adopted && i < s->prog_cnt; i++) {
                struct bpf_link *link = *s->progs[i].link;
                if (link)
                        r = pin_again(m->pin_set, "links", pin_name(bpf_program__name(*s->progs[i].prog), nb),
                                      bpf_link__fd(link), &made);
        }
        for (size_t i = 0; r == 0 && !m->adopted && i < HN_SYSCALL_HOOKS; i++)
                if (m->syscall_links[i] && !m->syscall_perf_event[i])
                        r = pin_again(m->pin_set, "links", pin_name(bpf_program__name(syscall_prog(m->skel, i)), nb),
                                      bpf_link__fd(m->syscall_links[i]), &made);
        if (made || r < 0)
                tamper_note_add(t, r < 0 ? "pins (not all made again)" : "pins");
}

const char *hn_monitor_pin_state(const struct hn_monitor *m, const char **ret_path) {
        if (ret_path)
                *ret_path = m->pin_set[0] ? m->pin_set : NULL;
        return m->adopted ? "adopted" : m->pinned ? "pinned" : "unpinned";
}

/* held, not a mount on the way down to one */
static bool is_held(int fd, const void *key, void *userdata) {
        (void) userdata;
        uint8_t v = 0;
        return bpf_map_lookup_elem(fd, key, &v) == 0 && v == HN_GUARD_HELD;
}

/* The held mounts a set's guard knows of: agents still hold images. */
static size_t held_in(const char *set) {
        char path[PATH_MAX + 32];
        if ((size_t) snprintf(path, sizeof(path), "%s/maps/held_mounts", set) >= sizeof(path))
                return 0;
        _cleanup_close_ int fd = bpf_obj_get(path);
        return fd < 0 ? 0 : bpf_fd_count_keys(fd, sizeof(uint32_t), is_held, NULL);
}

int hn_monitor_unload(const char *pin_dir, bool force, struct hn_error *err) {
        if (!pin_dir || pin_dir[0] != '/')
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "BPF pin directory %s: not an absolute path",
                                    pin_dir ? pin_dir : "(null)");
        DIR *d = opendir(pin_dir);
        if (!d)
                return hn_error_set(err, HN_ERR_NOT_FOUND, errno, "BPF pin directory %s: %s", pin_dir, strerror(errno));
        size_t held = 0;
        char sub[PATH_MAX];
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && (size_t) snprintf(sub, sizeof(sub), "%s/%s", pin_dir, de->d_name) < sizeof(sub))
                        held += held_in(sub);
        closedir(d);
        if (held && !force)
                return hn_error_set(err, HN_ERR_PERMISSION_DENIED, EBUSY,
                                    "%zu held mounts are guarded by the pinned programs: agents hold images (--force "
                                    "unloads anyway, leaving them unguarded)",
                                    held);
        int r = remove_tree(pin_dir);
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "BPF pin directory %s: %s", pin_dir, strerror(-r));
        return 0;
}
