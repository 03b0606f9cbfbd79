/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mount calls: mount.acquire, release, list, refcount,
 * force_unmount, reconcile. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "api_handlers.h"
#include "caller.h"
#include "daemon.h"
#include "error_set.h"
#include "tree.h"

int hnd_call_mount_acquire(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                           json_object *result, struct hn_error *err) {
        const char *image, *alloc;
        struct hn_mount_handle h;
        int r;
        if ((r = api_arg_str(args, "image", true, &image, err)) < 0 ||
            (r = api_arg_str(args, "allocation", true, &alloc, err)) < 0 ||
            (r = hn_mount_acquire(d->mounts.manager, image, alloc, &h, err)) < 0)
                return r;
        hnd_owners_set(&d->mounts.owners, h.allocation_id, hnd_role_name(c->role));
        json_object_object_add(result, "image", json_object_new_string(h.image_path));
        json_object_object_add(result, "mount_point", json_object_new_string(h.mount_point));
        json_object_object_add(result, "allocation", json_object_new_string(h.allocation_id));
        json_object_object_add(result, "bind_path", json_object_new_string(h.bind_path));
        return 0;
}

int hnd_call_mount_release(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                           json_object *result, struct hn_error *err) {
        const char *image, *alloc;
        struct hn_mount_handle h = { 0 };
        int r;
        (void) c, (void) result;
        if ((r = api_arg_str(args, "image", true, &image, err)) < 0 ||
            (r = api_arg_str(args, "allocation", true, &alloc, err)) < 0)
                return r;
        if (strlen(image) >= sizeof(h.image_path) || strlen(alloc) >= sizeof(h.allocation_id))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG, "image or allocation too long");
        /* The handle names the image and the allocation; paths are the manager's. */
        snprintf(h.image_path, sizeof(h.image_path), "%s", image);
        snprintf(h.allocation_id, sizeof(h.allocation_id), "%s", alloc);
        if ((r = hn_mount_release(d->mounts.manager, &h, err)) < 0)
                return r;
        hnd_owners_released(&d->mounts.owners, alloc);
        return 0;
}

int hnd_call_mount_list(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                        struct hn_error *err) {
        (void) c, (void) args;
        json_object *images = NULL;
        struct hnd_tree_src src = hnd_tree_src_of(d);
        int r = hnd_tree_mounts(&src, &images, err);
        if (r < 0)
                return r;
        json_object_object_add(result, "images", images);
        return 0;
}

int hnd_call_mount_refcount(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                            json_object *result, struct hn_error *err) {
        const char *image;
        uint32_t n;
        (void) c;
        int r = api_arg_str(args, "image", true, &image, err);
        if (r < 0 || (r = hn_mount_refcount(d->mounts.manager, image, &n, err)) < 0)
                return r;
        json_object_object_add(result, "refcount", json_object_new_int64(n));
        return 0;
}

int hnd_call_mount_force_unmount(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                                 json_object *result, struct hn_error *err) {
        const char *image;
        (void) c, (void) result;
        int r = api_arg_str(args, "image", true, &image, err);
        return r < 0 ? r : hn_mount_force_unmount(d->mounts.manager, image, err);
}

int hnd_call_mount_reconcile(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                             json_object *result, struct hn_error *err) {
        (void) c, (void) args, (void) err;
        uint64_t before = d->mounts.drifts;
        hnd_mounts_reconcile(&d->mounts);
        json_object_object_add(result, "drifts", json_object_new_int64((int64_t) (d->mounts.drifts - before)));
        return 0;
}
