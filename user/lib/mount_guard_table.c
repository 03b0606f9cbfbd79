/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libmount_cleanup.h"
#include "mount_guard_table.h"
#include "mount_internal.h"

static int mount_id_compare(const void *a, const void *b) {
        uint32_t x = ((const struct table_mount *) a)->id, y = ((const struct table_mount *) b)->id;
        return x < y ? -1 : x > y;
}

int guard_table_read(struct libmnt_table *given, struct guard_table *ret) {
        struct guard_table t = { 0 };
        if (given)
                mnt_ref_table(t.mt = given);
        else
                t.mt = mnt_new_table_from_file("/proc/self/mountinfo");
        if (!t.mt)
                return errno ? -errno : -EIO;
        t.mounts = calloc((size_t) mnt_table_get_nents(t.mt) + 1, sizeof(*t.mounts));
        _cleanup_mnt_iter_ struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
        if (!t.mounts || !it) {
                guard_table_clear(&t);
                return -ENOMEM;
        }
        struct libmnt_fs *fs;
        while (mnt_table_next_fs(t.mt, it, &fs) == 0) {
                struct table_mount *x = &t.mounts[t.n++];
                x->id = (uint32_t) mnt_fs_get_id(fs);
                x->parent = (uint32_t) mnt_fs_get_parent_id(fs);
                x->target = mnt_fs_get_target(fs);
                x->devno = mnt_fs_get_devno(fs);
                const char *vfs = mnt_fs_get_vfs_options(fs);
                x->ro = vfs && mnt_optstr_get_option(vfs, "ro", NULL, NULL) == 0;
                const char *opt = mnt_fs_get_optional_fields(fs);
                const char *s = opt ? strstr(opt, "shared:") : NULL, *ms = opt ? strstr(opt, "master:") : NULL;
                x->shared = s ? (uint32_t) strtoul(s + 7, NULL, 10) : 0;
                x->master = ms ? (uint32_t) strtoul(ms + 7, NULL, 10) : 0;
        }
        qsort(t.mounts, t.n, sizeof(*t.mounts), mount_id_compare);
        *ret = t;
        return 0;
}

const struct table_mount *guard_table_find(const struct guard_table *t, uint32_t id) {
        struct table_mount key = { .id = id };
        return t->n ? bsearch(&key, t->mounts, t->n, sizeof(*t->mounts), mount_id_compare) : NULL;
}

int guard_table_keep(struct guard_table *t, struct guard_table **ret) {
        size_t size = 1;
        for (size_t i = 0; i < t->n; i++)
                size += t->mounts[i].target ? strlen(t->mounts[i].target) + 1 : 0;
        struct guard_table *kept = calloc(1, sizeof(*kept));
        char *targets = malloc(size);
        if (!kept || !targets) {
                free(kept);
                free(targets);
                return -ENOMEM;
        }
        char *at = targets;
        for (size_t i = 0; i < t->n; i++) {
                const char *target = t->mounts[i].target;
                if (!target)
                        continue;
                size_t n = strlen(target) + 1;
                memcpy(at, target, n);
                t->mounts[i].target = at;
                at += n;
        }
        mnt_unref_table(t->mt);
        *kept = (struct guard_table){ .mounts = t->mounts, .n = t->n, .targets = targets };
        *t = (struct guard_table){ 0 };
        *ret = kept;
        return 0;
}

void guard_table_clear(struct guard_table *t) {
        free(t->mounts);
        free(t->targets);
        mnt_unref_table(t->mt);
        *t = (struct guard_table){ 0 };
}

void mount_guard_table_free(struct guard_table *t) {
        if (!t)
                return;
        guard_table_clear(t);
        free(t);
}
