/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "error_set.h"
#include "loopdev.h"
#include "macro.h"
#include "mount_internal.h"
#include "mount_names.h"

void hn_mount_config_default(struct hn_mount_config *cfg) {
        *cfg = (struct hn_mount_config){
                .uenv_base = HN_UENV_MOUNT_BASE,
                .workdir_base = HN_WORKDIR_BASE,
                .hold_time_secs = HN_DEFAULT_HOLD_TIME_SECS,
        };
}

void mount_audit(struct hn_mount_manager *m, const char *action, enum hn_audit_outcome outcome, const char *path,
                 const char *detail, int sys_errno, bool emergency) {
        if (!m->audit_fn)
                return;
        struct hn_emergency_info info = { .actor = "" };
        if (emergency && m->emergency)
                (void) hn_emergency_active(m->emergency, &info, NULL);
        struct hn_audit_record rec = {
                .action = action,
                .outcome = outcome,
                .path = path,
                .actor = emergency ? info.actor : NULL,
                .detail = detail,
                .sys_errno = sys_errno < 0 ? -sys_errno : sys_errno,
                .emergency = emergency,
                .realtime_ns = realtime_now_ns(),
        };
        m->audit_fn(&rec, m->audit_userdata);
}

struct image *image_find(struct hn_mount_manager *m, const char *canonical) {
        for (struct image *i = m->images; i; i = i->next)
                if (!i->foreign && strcmp(i->path, canonical) == 0)
                        return i;
        return NULL;
}

int image_add_holder(struct image *img, const char *alloc) {
        char **grown = realloc(img->holders, (img->n_holders + 1) * sizeof(char *));
        if (!grown)
                return -ENOMEM;
        img->holders = grown;
        if (!(img->holders[img->n_holders] = strdup(alloc)))
                return -ENOMEM;
        img->n_holders++;
        img->deadline_usec = 0; /* an acquire during the hold cancels it */
        return 0;
}

void image_drop_holder(struct image *img, size_t i) {
        free(img->holders[i]);
        img->holders[i] = img->holders[--img->n_holders];
}

static ssize_t holder_index(const struct image *img, const char *alloc) {
        for (size_t i = 0; i < img->n_holders; i++)
                if (strcmp(img->holders[i], alloc) == 0)
                        return (ssize_t) i;
        return -1;
}

static int mkdir_p(const char *path, mode_t mode) {
        char buf[PATH_MAX];
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        return mkdir(buf, mode) < 0 && errno != EEXIST ? -errno : 0;
}

static int copy_base(char *dst, size_t size, const char *src, const char *what, struct hn_error *err) {
        if (!src || src[0] != '/' || strlen(src) >= size || strcmp(src, "/") == 0)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid %s \"%s\": must be an absolute path below /",
                                    what, src ? src : "(null)");
        snprintf(dst, size, "%s", src);
        size_t n = strlen(dst);
        while (n > 1 && dst[n - 1] == '/')
                dst[--n] = '\0';
        return 0;
}

int hn_mount_manager_new(const struct hn_mount_config *cfg, struct hn_mount_manager **ret, struct hn_error *err) {
        struct hn_mount_config def;
        int r;
        if (!ret)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ret is NULL");
        if (!cfg) {
                hn_mount_config_default(&def);
                cfg = &def;
        }
        if (cfg->hold_time_secs > 7u * 24 * 3600)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid hold time %u s: at most a week", cfg->hold_time_secs);
        struct hn_mount_manager *m = calloc(1, sizeof(*m));
        if (!m)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        if ((r = copy_base(m->uenv, sizeof(m->uenv), cfg->uenv_base, "uenv base", err)) < 0 ||
            (r = copy_base(m->workdir, sizeof(m->workdir), cfg->workdir_base, "workdir base", err)) < 0) {
                free(m);
                return r;
        }
        m->hold_secs = cfg->hold_time_secs;
        m->uenv_fd = m->workdir_fd = -1;
        const char *bases[] = { m->uenv, m->workdir };
        int *fds[] = { &m->uenv_fd, &m->workdir_fd };
        for (int i = 0; i < 2; i++) {
                if ((r = mkdir_p(bases[i], 0755)) < 0 ||
                    (*fds[i] = open(bases[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                        r = r < 0 ? r : -errno;
                        closep(&m->uenv_fd);
                        free(m);
                        return hn_error_set(err, HN_ERR_IO, -r, "mount base %s: %s", bases[i], strerror(-r));
                }
        }
        pthread_mutex_init(&m->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&m->wake, &ca);
        pthread_condattr_destroy(&ca);
        if ((r = pthread_create(&m->timer, NULL, mount_hold_main, m)) != 0) {
                hn_mount_manager_free(m);
                return hn_error_set(err, HN_ERR_IO, r, "mount manager: timer thread: %s", strerror(r));
        }
        m->timer_started = true;
        *ret = m;
        return 0;
}

void hn_mount_manager_free(struct hn_mount_manager *m) {
        if (!m)
                return;
        if (m->timer_started) {
                pthread_mutex_lock(&m->lock);
                m->stop = true;
                pthread_cond_signal(&m->wake);
                pthread_mutex_unlock(&m->lock);
                pthread_join(m->timer, NULL);
        }
        while (m->images) {
                struct image *next = m->images->next;
                image_free(m->images);
                m->images = next;
        }
        for (size_t i = 0; i < m->n_reported; i++)
                free(m->reported[i]);
        free(m->reported);
        mount_guard_table_free(m->guard_table);
        own_log_free(m);
        closep(&m->uenv_fd);
        closep(&m->workdir_fd);
        pthread_cond_destroy(&m->wake);
        pthread_mutex_destroy(&m->lock);
        free(m);
}

void hn_mount_manager_set_audit(struct hn_mount_manager *m, hn_audit_fn fn, void *userdata) {
        pthread_mutex_lock(&m->lock);
        m->audit_fn = fn;
        m->audit_userdata = userdata;
        pthread_mutex_unlock(&m->lock);
}

void hn_mount_manager_set_emergency(struct hn_mount_manager *m, struct hn_emergency *e) {
        pthread_mutex_lock(&m->lock);
        m->emergency = e;
        pthread_mutex_unlock(&m->lock);
}

void hn_mount_manager_set_parts(struct hn_mount_manager *m, bool caller_takes_parts) {
        pthread_mutex_lock(&m->lock);
        m->caller_takes_parts = caller_takes_parts;
        pthread_mutex_unlock(&m->lock);
}

/* First reference: loop device + squashfs mount. With the lock held. */
static int image_mount(struct hn_mount_manager *m, const char *canonical, int image_fd, struct image **ret,
                       struct hn_error *err) {
        struct image *img = image_new_entry();
        if (!img)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        snprintf(img->path, sizeof(img->path), "%s", canonical);
        image_mount_name(canonical, img->name, sizeof(img->name));
        snprintf(img->mount_point, sizeof(img->mount_point), "%s/%s", m->uenv, img->name);
        bool loop_failed = false;
        int r = image_attach_mount(m, img, image_fd, &loop_failed);
        if (r < 0) {
                (void) unlinkat(m->uenv_fd, img->name, AT_REMOVEDIR);
                mount_audit(m, "mount.acquire", HN_AUDIT_FAILED, canonical, strerror(-r), r, false);
                r = hn_error_set(err, HN_ERR_MOUNT_FAILED, r, "mount failed for %s: %s%s%s", canonical,
                                 loop_failed ? "loop device: " : "", strerror(-r),
                                 loop_failed && r == -ENOENT ? " (no /dev/loop-control: loop module not loaded?)"
                                 : r == -EXDEV              ? " (a mount is stacked on the uenv base: refused)"
                                 : r == -ELOOP              ? " (a symlink in the uenv base: refused)"
                                                            : "");
                image_free(img);
                return r;
        }
        img->next = m->images;
        m->images = img;
        *ret = img;
        return 0;
}

static void fill_handle(struct hn_mount_handle *h, const struct image *img, const char *alloc, const char *bind) {
        snprintf(h->image_path, sizeof(h->image_path), "%s", img->path);
        snprintf(h->mount_point, sizeof(h->mount_point), "%s", img->mount_point);
        snprintf(h->allocation_id, sizeof(h->allocation_id), "%s", alloc);
        snprintf(h->bind_path, sizeof(h->bind_path), "%s", bind);
}

int hn_mount_acquire(struct hn_mount_manager *m, const char *image_path, const char *allocation_id,
                     struct hn_mount_handle *ret, struct hn_error *err) {
        char canonical[PATH_MAX], bind[PATH_MAX], detail[HN_MOUNT_ID_MAX + 64];
        int r;
        if (!ret)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ret is NULL");
        if ((r = allocation_id_check(allocation_id, err)) < 0 ||
            (r = image_path_canonical(image_path, canonical, sizeof(canonical), err)) < 0)
                return r;
        pthread_mutex_lock(&m->lock);
        struct image *img = image_find(m, canonical);
        if (img && holder_index(img, allocation_id) >= 0) {
                bind_path_of(m, allocation_id, img->name, bind, sizeof(bind));
                fill_handle(ret, img, allocation_id, bind);
                pthread_mutex_unlock(&m->lock);
                return 0;
        }
        bool mounted_now = false;
        if (!img) {
                /* Opened and checked before anything is touched, and held
                 * open until the loop device has it: what is checked is what
                 * is mounted. A further acquire binds what is mounted. */
                _cleanup_close_ int image_fd = -1;
                if ((r = image_open(canonical, &image_fd, err)) < 0 ||
                    (r = image_mount(m, canonical, image_fd, &img, err)) < 0)
                        goto out;
                mounted_now = true;
        }
        if ((r = bind_make(m, img, allocation_id, bind, sizeof(bind), err)) < 0 ||
            (r = image_add_holder(img, allocation_id)) < 0) {
                if (r == -ENOMEM) {
                        (void) bind_remove(m, allocation_id, img->name, MNT_DETACH);
                        r = hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
                }
                /* A first mount with no holder would only wait for its timer. */
                if (mounted_now)
                        image_unmount(m, img, "acquire failed");
                goto out;
        }
        snprintf(detail, sizeof(detail), "allocation %s, refcount %zu", allocation_id, img->n_holders);
        mount_audit(m, "mount.acquire", HN_AUDIT_DONE, bind, detail, 0, false);
        fill_handle(ret, img, allocation_id, bind);
out:
        pthread_mutex_unlock(&m->lock);
        return r;
}

int hn_mount_release(struct hn_mount_manager *m, const struct hn_mount_handle *h, struct hn_error *err) {
        char canonical[PATH_MAX], bind[PATH_MAX], detail[HN_MOUNT_ID_MAX + 128];
        int r;
        if (!h)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: handle is NULL");
        if ((r = allocation_id_check(h->allocation_id, err)) < 0 ||
            (r = image_path_canonical(h->image_path, canonical, sizeof(canonical), err)) < 0)
                return r;
        pthread_mutex_lock(&m->lock);
        struct image *img = image_find(m, canonical);
        ssize_t i = img ? holder_index(img, h->allocation_id) : -1;
        if (i < 0) {
                /* F31: never negative, never unmount on doubt. */
                snprintf(detail, sizeof(detail), "allocation %s holds no reference (refcount %zu); nothing unmounted",
                         h->allocation_id, img ? img->n_holders : 0);
                mount_audit(m, "mount.release", HN_AUDIT_REFUSED, canonical, detail, ESRCH, false);
                r = hn_error_set(err, HN_ERR_REFCOUNT_INCONSISTENCY, ESRCH, "refcount inconsistency for %s: %s",
                                 canonical, detail);
                goto out;
        }
        /* the bind's path is the manager's to say, not the caller's handle */
        bind_path_of(m, h->allocation_id, img->name, bind, sizeof(bind));
        if ((r = bind_remove(m, h->allocation_id, img->name, MNT_DETACH)) < 0) {
                mount_audit(m, "mount.release", HN_AUDIT_FAILED, bind, strerror(-r), r, false);
                r = hn_error_set(err, HN_ERR_UNMOUNT_FAILED, r, "unmount failed for %s: %s", bind, strerror(-r));
                goto out;
        }
        image_drop_holder(img, (size_t) i);
        snprintf(detail, sizeof(detail), "allocation %s, refcount %zu", h->allocation_id, img->n_holders);
        mount_audit(m, "mount.release", HN_AUDIT_DONE, bind, detail, 0, false);
        if (img->n_holders == 0)
                image_start_hold(m, img);
out:
        pthread_mutex_unlock(&m->lock);
        return r;
}

int hn_mount_force_unmount(struct hn_mount_manager *m, const char *image_path, struct hn_error *err) {
        char canonical[PATH_MAX], detail[PATH_MAX + 64];
        int r = image_path_canonical(image_path, canonical, sizeof(canonical), err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&m->lock);
        if (!m->emergency || hn_emergency_active(m->emergency, NULL, NULL) <= 0) {
                mount_audit(m, "mount.force_unmount", HN_AUDIT_REFUSED, canonical, "no emergency in force", EPERM,
                            false);
                r = hn_error_set(err, HN_ERR_PERMISSION_DENIED, EPERM,
                                 "permission denied: force unmount of %s needs a declared emergency", canonical);
                goto out;
        }
        struct image *img = image_find(m, canonical);
        if (!img) {
                r = hn_error_set(err, HN_ERR_NOT_FOUND, ENOENT, "not mounted: %s", canonical);
                goto out;
        }
        /* RI3: the record goes out before the action. */
        snprintf(detail, sizeof(detail), "detach %zu bind(s) and %s", img->n_holders, img->mount_point);
        mount_audit(m, "mount.force_unmount", HN_AUDIT_INTENT, canonical, detail, 0, true);
        while (img->n_holders > 0) {
                (void) bind_remove(m, img->holders[0], img->name, MNT_DETACH);
                image_drop_holder(img, 0);
        }
        if (img->root_fd >= 0)
                (void) mount_fd_detach(img->root_fd);
        closep(&img->root_fd);
        (void) unlinkat(m->uenv_fd, img->name, AT_REMOVEDIR);
        for (struct image **pp = &m->images; *pp; pp = &(*pp)->next)
                if (*pp == img) {
                        *pp = img->next;
                        break;
                }
        mount_audit(m, "mount.force_unmount", HN_AUDIT_DONE, canonical, img->mount_point, 0, true);
        image_free(img);
        pthread_cond_signal(&m->wake);
out:
        pthread_mutex_unlock(&m->lock);
        return r;
}

int hn_mount_refcount(struct hn_mount_manager *m, const char *image_path, uint32_t *ret_count, struct hn_error *err) {
        char canonical[PATH_MAX];
        int r = image_path_canonical(image_path, canonical, sizeof(canonical), err);
        if (r < 0)
                return r;
        if (!ret_count)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ret_count is NULL");
        pthread_mutex_lock(&m->lock);
        struct image *img = image_find(m, canonical);
        if (img)
                *ret_count = (uint32_t) img->n_holders;
        pthread_mutex_unlock(&m->lock);
        return img ? 0 : hn_error_set(err, HN_ERR_NOT_FOUND, ENOENT, "not mounted: %s", canonical);
}

void hn_mount_list_free(struct hn_mount_info *list, size_t n) {
        if (!list)
                return;
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < list[i].refcount; j++)
                        free(list[i].holders[j]);
                free(list[i].holders);
        }
        free(list);
}

static int cmp_info(const void *a, const void *b) {
        return strcmp(((const struct hn_mount_info *) a)->image_path, ((const struct hn_mount_info *) b)->image_path);
}

int hn_mount_list(struct hn_mount_manager *m, struct hn_mount_info **ret, size_t *ret_n, struct hn_error *err) {
        if (!ret || !ret_n)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: NULL output");
        pthread_mutex_lock(&m->lock);
        size_t n = 0;
        for (struct image *i = m->images; i; i = i->next)
                n++;
        struct hn_mount_info *list = calloc(n ? n : 1, sizeof(*list));
        size_t k = 0;
        for (struct image *i = m->images; list && i; i = i->next, k++) {
                struct hn_mount_info *o = &list[k];
                snprintf(o->image_path, sizeof(o->image_path), "%s", i->path);
                snprintf(o->mount_point, sizeof(o->mount_point), "%s", i->mount_point);
                snprintf(o->loop_device, sizeof(o->loop_device), "%s", i->loop);
                o->foreign = i->foreign;
                o->holding = !i->foreign && i->n_holders == 0 && i->deadline_usec;
                o->hold_deadline_usec = o->holding ? i->deadline_usec : 0;
                o->holders = calloc(i->n_holders ? i->n_holders : 1, sizeof(char *));
                if (!o->holders) {
                        hn_mount_list_free(list, k);
                        list = NULL;
                        break;
                }
                for (size_t j = 0; j < i->n_holders; j++)
                        if ((o->holders[j] = strdup(i->holders[j])))
                                o->refcount++;
                qsort(o->holders, o->refcount, sizeof(char *), strcmp_ptr);
        }
        pthread_mutex_unlock(&m->lock);
        if (!list)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        qsort(list, n, sizeof(*list), cmp_info);
        *ret = list;
        *ret_n = n;
        return 0;
}

uint64_t hn_mount_next_deadline(struct hn_mount_manager *m) {
        uint64_t next = 0;
        pthread_mutex_lock(&m->lock);
        for (struct image *i = m->images; i; i = i->next)
                if (!i->foreign && !i->n_holders && i->deadline_usec && (!next || i->deadline_usec < next))
                        next = i->deadline_usec;
        pthread_mutex_unlock(&m->lock);
        return next;
}
