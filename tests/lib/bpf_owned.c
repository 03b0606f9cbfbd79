/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf_owned.h"

static int id_compare(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

static void add(struct bpf_ids *s, uint32_t id) {
        if (id && s->n < BPF_IDS_MAX)
                s->v[s->n++] = id;
}

static void finish(struct bpf_ids *s) {
        qsort(s->v, s->n, sizeof(s->v[0]), id_compare);
        size_t k = 0;
        for (size_t i = 0; i < s->n; i++)
                if (!k || s->v[k - 1] != s->v[i])
                        s->v[k++] = s->v[i];
        s->n = k;
}

/* "prog_id:" of an fdinfo: a program's own, a link's program's. */
static uint32_t fdinfo_prog_id(const char *fdinfo_path) {
        FILE *f = fopen(fdinfo_path, "re");
        char line[256];
        unsigned long id = 0;
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "prog_id: %lu", &id) == 1)
                        break;
        if (f)
                fclose(f);
        return (uint32_t) id;
}

void bpf_ids_of_pid(pid_t pid, struct bpf_ids *ret) {
        char dir[64], path[128];
        ret->n = 0;
        snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int) pid);
        DIR *d = opendir(dir);
        for (struct dirent *e; d && (e = readdir(d));)
                if (e->d_name[0] != '.') {
                        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                        add(ret, fdinfo_prog_id(path));
                }
        if (d)
                closedir(d);
        finish(ret);
}

static void pins_walk(const char *dir, struct bpf_ids *ret) {
        DIR *d = opendir(dir);
        for (struct dirent *e; d && (e = readdir(d));) {
                char path[1024], info[64];
                if (e->d_name[0] == '.' || (size_t) snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
                        continue;
                if (e->d_type == DT_DIR) {
                        pins_walk(path, ret);
                        continue;
                }
                int fd = bpf_obj_get(path);
                if (fd < 0)
                        continue;
                snprintf(info, sizeof(info), "/proc/self/fdinfo/%d", fd);
                add(ret, fdinfo_prog_id(info));
                close(fd);
        }
        if (d)
                closedir(d);
}

void bpf_ids_of_pins(const char *dir, struct bpf_ids *ret) {
        ret->n = 0;
        pins_walk(dir, ret);
        finish(ret);
}

bool bpf_ids_has(const struct bpf_ids *s, uint32_t id) {
        return bsearch(&id, s->v, s->n, sizeof(s->v[0]), id_compare) != NULL;
}

size_t bpf_ids_alive(const struct bpf_ids *s) {
        size_t n = 0;
        for (size_t i = 0; i < s->n; i++) {
                int fd = bpf_prog_get_fd_by_id(s->v[i]);
                if (fd >= 0) {
                        n++;
                        close(fd);
                }
        }
        return n;
}

void bpf_prog_name_of(uint32_t id, char name[16]) {
        struct bpf_prog_info info = { 0 };
        uint32_t len = sizeof(info);
        name[0] = '\0';
        int fd = bpf_prog_get_fd_by_id(id);
        if (fd < 0)
                return;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
                snprintf(name, 16, "%s", info.name);
        close(fd);
}
