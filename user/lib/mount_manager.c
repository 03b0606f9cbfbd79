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
                (void) hn_emergency_active(m->emergency, &info);
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

void image_free(struct image *img) {
        if (!img)
                return;
        for (size_t i = 0; i < img->n_holders; i++)
                free(img->holders[i]);
        free(img->holders);
        free(img);
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

void bind_path_of(const struct hn_mount_manager *m, const char *alloc, const char *name, char *ret, size_t size) {
        snprintf(ret, size, "%s/%s/uenv/%s", m->workdir, alloc, name);
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

int bind_remove(struct hn_mount_manager *m, const char *alloc, const char *name, int umount_flags) {
        char p[PATH_MAX];
        bind_path_of(m, alloc, name, p, sizeof(p));
        if (umount2(p, umount_flags | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
                return -errno;
        /* The allocation's directories go when they are empty; a job's own
         * files beside uenv/ keep them. */
        (void) rmdir(p);
        snprintf(p, sizeof(p), "%s/%s/uenv", m->workdir, alloc);
        (void) rmdir(p);
        snprintf(p, sizeof(p), "%s/%s", m->workdir, alloc);
        (void) rmdir(p);
        return 0;
}

/* With the lock held: unmounts an image nobody holds and forgets it. A
 * plain unmount first; if something still has the path open (a shell cd'ed
 * into it), detach it: nobody holds it, and the loop device goes with its
 * last user (autoclear). */
static void image_unmount(struct hn_mount_manager *m, struct image *img, const char *why) {
        int r = umount2(img->mount_point, UMOUNT_NOFOLLOW);
        if (r < 0 && errno == EBUSY)
                r = umount2(img->mount_point, MNT_DETACH | UMOUNT_NOFOLLOW);
        if (r < 0 && errno != EINVAL && errno != ENOENT) {
                int e = errno;
                mount_audit(m, "mount.unmount", HN_AUDIT_FAILED, img->mount_point, strerror(e), e, false);
                img->deadline_usec = monotonic_usec() + 1000000u; /* try again in a second */
                return;
        }
        (void) rmdir(img->mount_point);
        mount_audit(m, "mount.unmount", HN_AUDIT_DONE, img->mount_point, why, 0, false);
        for (struct image **pp = &m->images; *pp; pp = &(*pp)->next)
                if (*pp == img) {
                        *pp = img->next;
                        break;
                }
        image_free(img);
}

void image_start_hold(struct hn_mount_manager *m, struct image *img) {
        img->deadline_usec = monotonic_usec() + (uint64_t) m->hold_secs * 1000000u;
        if (img->deadline_usec == 0)
                img->deadline_usec = 1;
        pthread_cond_signal(&m->wake);
}

static void *timer_main(void *arg) {
        struct hn_mount_manager *m = arg;
        pthread_mutex_lock(&m->lock);
        while (!m->stop) {
                uint64_t now = monotonic_usec(), next = 0;
                for (struct image *img = m->images, *after; img; img = after) {
                        after = img->next;
                        if (img->foreign || img->n_holders > 0 || img->deadline_usec == 0)
                                continue;
                        if (img->deadline_usec <= now)
                                image_unmount(m, img, "hold expired");
                        else if (!next || img->deadline_usec < next)
                                next = img->deadline_usec;
                }
                /* image_unmount may have re-armed a failed one */
                for (struct image *img = m->images; img; img = img->next)
                        if (!img->foreign && !img->n_holders && img->deadline_usec &&
                            (!next || img->deadline_usec < next))
                                next = img->deadline_usec;
                if (!next) {
                        pthread_cond_wait(&m->wake, &m->lock);
                        continue;
                }
                struct timespec ts = { .tv_sec = (time_t) (next / 1000000u),
                                       .tv_nsec = (long) (next % 1000000u) * 1000 };
                pthread_cond_timedwait(&m->wake, &m->lock, &ts);
        }
        pthread_mutex_unlock(&m->lock);
        return NULL;
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
        const char *bases[] = { m->uenv, m->workdir };
        for (int i = 0; i < 2; i++)
                if ((r = mkdir_p(bases[i], 0755)) < 0) {
                        free(m);
                        return hn_error_set(err, HN_ERR_IO, r, "mount base %s: %s", bases[i], strerror(-r));
                }
        pthread_mutex_init(&m->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&m->wake, &ca);
        pthread_condattr_destroy(&ca);
        if ((r = pthread_create(&m->timer, NULL, timer_main, m)) != 0) {
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

/* A loop device for the image and the squashfs mount at img->mount_point;
 * fills img->loop and img->devno. Negative errno; *ret_loop_failed says
 * which step failed. The loop device detaches itself once unmounted. */
static int image_attach_mount(struct image *img, int image_fd, bool *ret_loop_failed) {
        _cleanup_close_ int loop_fd = loop_attach_ro(image_fd, img->path, img->loop, sizeof(img->loop));
        *ret_loop_failed = loop_fd < 0;
        if (loop_fd < 0)
                return loop_fd;
        if (mount(img->loop, img->mount_point, "squashfs", MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0 ||
            mount(NULL, img->mount_point, NULL, MS_PRIVATE, NULL) < 0) {
                int r = -errno;
                (void) umount2(img->mount_point, MNT_DETACH);
                return r; /* closing loop_fd detaches the device (autoclear) */
        }
        struct stat st;
        if (stat(img->mount_point, &st) == 0)
                img->devno = st.st_dev;
        return 0;
}

int image_remount(struct image *img) {
        if (mkdir(img->mount_point, 0755) < 0 && errno != EEXIST)
                return -errno;
        /* The loop device still backs the image (binds keep its superblock
         * alive): mount it again, so the binds and the image mount share
         * one superblock as before. */
        char backing[PATH_MAX];
        if (img->loop[0] && loop_backing_file(img->loop, backing, sizeof(backing)) == 0 &&
            strcmp(backing, img->path) == 0) {
                if (mount(img->loop, img->mount_point, "squashfs", MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
                        return -errno;
                if (mount(NULL, img->mount_point, NULL, MS_PRIVATE, NULL) < 0) {
                        int r = -errno;
                        (void) umount2(img->mount_point, MNT_DETACH);
                        return r;
                }
                return 0;
        }
        _cleanup_close_ int fd = open(img->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        bool loop_failed;
        return image_attach_mount(img, fd, &loop_failed);
}

/* First reference: loop device + squashfs mount. With the lock held. */
static int image_mount(struct hn_mount_manager *m, const char *canonical, int image_fd, struct image **ret,
                       struct hn_error *err) {
        struct image *img = calloc(1, sizeof(*img));
        if (!img)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        snprintf(img->path, sizeof(img->path), "%s", canonical);
        image_mount_name(canonical, img->name, sizeof(img->name));
        snprintf(img->mount_point, sizeof(img->mount_point), "%s/%s", m->uenv, img->name);

        int r = mkdir(img->mount_point, 0755) < 0 && errno != EEXIST ? -errno : 0;
        if (r < 0) {
                image_free(img);
                return hn_error_set(err, HN_ERR_MOUNT_FAILED, r, "mount failed for %s: mkdir %s: %s", canonical,
                                    img->mount_point, strerror(-r));
        }
        bool loop_failed = false;
        r = image_attach_mount(img, image_fd, &loop_failed);
        if (r < 0) {
                (void) rmdir(img->mount_point);
                mount_audit(m, "mount.acquire", HN_AUDIT_FAILED, canonical, strerror(-r), r, false);
                r = hn_error_set(err, HN_ERR_MOUNT_FAILED, r, "mount failed for %s: %s%s%s", canonical,
                                 loop_failed ? "loop device: " : "", strerror(-r),
                                 loop_failed && r == -ENOENT ? " (no /dev/loop-control: loop module not loaded?)" : "");
                image_free(img);
                return r;
        }
        img->next = m->images;
        m->images = img;
        *ret = img;
        return 0;
}

/* The allocation's read-only bind of the image. With the lock held. */
int bind_make(struct hn_mount_manager *m, struct image *img, const char *alloc, char *ret, size_t size,
              struct hn_error *err) {
        bind_path_of(m, alloc, img->name, ret, size);
        int r = mkdir_p(ret, 0755);
        if (r == 0 && mount(img->mount_point, ret, NULL, MS_BIND, NULL) < 0)
                r = -errno;
        if (r == 0 && (mount(NULL, ret, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0 ||
                       mount(NULL, ret, NULL, MS_PRIVATE, NULL) < 0)) {
                r = -errno;
                (void) umount2(ret, MNT_DETACH);
        }
        if (r < 0) {
                (void) bind_remove(m, alloc, img->name, MNT_DETACH);
                mount_audit(m, "mount.acquire", HN_AUDIT_FAILED, ret, strerror(-r), r, false);
                return hn_error_set(err, HN_ERR_MOUNT_FAILED, r, "mount failed for %s: bind %s: %s", img->path, ret,
                                    strerror(-r));
        }
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
        char canonical[PATH_MAX], detail[HN_MOUNT_ID_MAX + 128];
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
        if ((r = bind_remove(m, h->allocation_id, img->name, MNT_DETACH)) < 0) {
                mount_audit(m, "mount.release", HN_AUDIT_FAILED, h->bind_path, strerror(-r), r, false);
                r = hn_error_set(err, HN_ERR_UNMOUNT_FAILED, r, "unmount failed for %s: %s", h->bind_path,
                                 strerror(-r));
                goto out;
        }
        image_drop_holder(img, (size_t) i);
        snprintf(detail, sizeof(detail), "allocation %s, refcount %zu", h->allocation_id, img->n_holders);
        mount_audit(m, "mount.release", HN_AUDIT_DONE, h->bind_path, detail, 0, false);
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
        if (!m->emergency || hn_emergency_active(m->emergency, NULL) <= 0) {
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
        (void) umount2(img->mount_point, MNT_DETACH | UMOUNT_NOFOLLOW);
        (void) rmdir(img->mount_point);
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
