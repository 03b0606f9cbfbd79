/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The self guard's files: what the programs keep from anyone but the
 * manager (its pins, and the files the caller names), by inode. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_keys.h"
#include "error_set.h"
#include "kernel_key.h"
#include "monitor_internal.h"

struct own_file {
        struct hn_guard_file key;
        uint8_t guard;
};

struct own_files {
        struct own_file *f;
        size_t n, cap;
};

static int add(struct own_files *o, const char *path, uint8_t guard) {
        uint32_t dev;
        uint64_t ino;
        int r = hn_file_kernel_key(path, false, &dev, &ino);
        if (r < 0)
                return r;
        if (o->n == o->cap) {
                size_t cap = o->cap ? o->cap * 2 : 32;
                struct own_file *g = realloc(o->f, cap * sizeof(*g));
                if (!g)
                        return -ENOMEM;
                o->f = g, o->cap = cap;
        }
        o->f[o->n++] = (struct own_file){ .key = { .dev = dev, .ino = ino }, .guard = guard };
        return 0;
}

/* The pins: the directories and every file in them, neither removed nor
 * renamed (the rules would go with them). */
static int add_tree(struct own_files *o, const char *path, int depth) {
        int r = add(o, path, HN_SELF_NO_UNLINK | HN_SELF_NO_RENAME);
        if (r < 0 || depth == 0)
                return r;
        DIR *d = opendir(path);
        if (!d)
                return errno == ENOTDIR ? 0 : -errno;
        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                char sub[PATH_MAX];
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if ((size_t) snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= sizeof(sub))
                        r = -ENAMETOOLONG;
                else
                        r = add_tree(o, sub, depth - 1);
        }
        closedir(d);
        return r;
}

struct wanted_files {
        const struct own_files *o;
};

static bool file_wanted(const void *key, void *userdata) {
        const struct own_files *o = ((struct wanted_files *) userdata)->o;
        for (size_t i = 0; i < o->n; i++)
                if (!memcmp(&o->f[i].key, key, sizeof(o->f[i].key)))
                        return true;
        return false;
}

int hn_monitor_protect_files(struct hn_monitor *m, const struct hn_protected_file *files, size_t n,
                             struct hn_error *err) {
        struct own_files o = { 0 };
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++)
                if ((r = add(&o, files[i].path, (uint8_t) files[i].guard)) < 0)
                        hn_error_set(err, HN_ERR_NOT_FOUND, -r, "protected file %s: %s", files[i].path, strerror(-r));
        if (r == 0 && m->pin_set[0] && (m->pinned || m->adopted) && (r = add_tree(&o, m->pin_dir, 3)) < 0)
                hn_error_set(err, HN_ERR_IO, -r, "BPF pins under %s: %s", m->pin_dir, strerror(-r));
        const struct bpf_map *map = m->skel->maps.own_files;
        for (size_t i = 0; r == 0 && i < o.n; i++)
                if (bpf_map__update_elem(map, &o.f[i].key, sizeof(o.f[i].key), &o.f[i].guard, 1, BPF_ANY) < 0) {
                        r = -errno;
                        hn_error_set(err, HN_ERR_IO, -r, "BPF own_files: %s", strerror(-r));
                }
        uint64_t secret = 0;
        for (size_t i = 0; r == 0 && i < o.n; i++)
                if (o.f[i].guard & HN_SELF_NO_READ)
                        secret = o.f[i].key.ino;
        if (r == 0) {
                m->skel->bss->own_secret_ino = secret;
                struct wanted_files w = { &o };
                if ((r = bpf_keys_delete_except(map, sizeof(struct hn_guard_file), file_wanted, &w)) < 0)
                        hn_error_set(err, HN_ERR_IO, -r, "BPF own_files: %s", strerror(-r));
        }
        free(o.f);
        return r;
}
