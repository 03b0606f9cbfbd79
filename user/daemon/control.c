/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "error_set.h"
#include "macro.h"

#define LINE_MAX_BYTES 8192
#define READ_TIMEOUT_MS 2000

/* The request line, read with a deadline: a slow client cannot hold the
 * loop longer than that. */
static int read_line(int fd, char *buf, size_t size) {
        size_t have = 0;
        while (have < size - 1) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r = poll(&p, 1, READ_TIMEOUT_MS);
                if (r <= 0)
                        return r == 0 ? -ETIMEDOUT : -errno;
                ssize_t n = read(fd, buf + have, size - 1 - have);
                if (n <= 0)
                        return n == 0 ? -ECONNRESET : -errno;
                have += (size_t) n;
                buf[have] = '\0';
                char *nl = strchr(buf, '\n');
                if (nl) {
                        *nl = '\0';
                        return 0;
                }
        }
        return -E2BIG;
}

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(int fd, const char *fmt, ...) {
        char buf[LINE_MAX_BYTES];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t) n > sizeof(buf) - 2)
                n = (int) sizeof(buf) - 2;
        buf[n++] = '\n';
        (void) !write(fd, buf, (size_t) n);
}

static void handle(struct hnd_control *c, int fd, char *line) {
        char *save = NULL, *verb = strtok_r(line, " ", &save), *image = strtok_r(NULL, " ", &save),
             *alloc = strtok_r(NULL, " ", &save);
        struct hn_error err = { 0 };
        struct hn_mount_handle h;
        if (verb && !strcmp(verb, "reconcile") && !image) {
                uint64_t before = c->mounts->drifts;
                hnd_mounts_reconcile(c->mounts);
                reply(fd, "ok %llu", (unsigned long long) (c->mounts->drifts - before));
        } else if (verb && image && alloc && !strtok_r(NULL, " ", &save) && !strcmp(verb, "acquire")) {
                if (hn_mount_acquire(c->mounts->manager, image, alloc, &h, &err) < 0)
                        reply(fd, "error %s", err.message);
                else {
                        hnd_mounts_reconcile(c->mounts); /* the guard holds the new mounts before we answer */
                        reply(fd, "ok %s", h.bind_path);
                }
        } else if (verb && image && alloc && !strtok_r(NULL, " ", &save) && !strcmp(verb, "release")) {
                /* the handle names the image and the allocation; paths are the manager's */
                memset(&h, 0, sizeof(h));
                snprintf(h.image_path, sizeof(h.image_path), "%s", image);
                snprintf(h.allocation_id, sizeof(h.allocation_id), "%s", alloc);
                if (hn_mount_release(c->mounts->manager, &h, &err) < 0)
                        reply(fd, "error %s", err.message);
                else {
                        hnd_mounts_reconcile(c->mounts);
                        reply(fd, "ok");
                }
        } else
                reply(fd, "error usage: acquire IMAGE ALLOCATION | release IMAGE ALLOCATION | reconcile");
}

static int on_connect(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct hnd_control *c = userdata;
        (void) s, (void) revents;
        _cleanup_close_ int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0)
                return 0;
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
                reply(cfd, "error permission denied: root only");
                return 0;
        }
        char line[LINE_MAX_BYTES];
        int r = read_line(cfd, line, sizeof(line));
        if (r < 0) {
                reply(cfd, "error reading the request: %s", strerror(-r));
                return 0;
        }
        handle(c, cfd, line);
        return 0;
}

int hnd_control_start(struct hnd_control *c, sd_event *ev, const char *path, struct hnd_mounts *mounts,
                      struct hn_error *err) {
        *c = (struct hnd_control){ .fd = -1, .mounts = mounts };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG, "control socket %s: path too long",
                                    path);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        snprintf(c->path, sizeof(c->path), "%s", path);
        char dir[sizeof(sa.sun_path)];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                (void) mkdir(dir, 0755);
        }
        (void) unlink(path); /* a stale socket from a crash */
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int r;
        if (c->fd < 0 || bind(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
            listen(c->fd, 64) < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "control socket %s: %s", path, strerror(errno));
        if ((r = sd_event_add_io(ev, &c->src, c->fd, EPOLLIN, on_connect, c)) < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "control socket %s: %s", path, strerror(-r));
        return 0;
}

void hnd_control_stop(struct hnd_control *c) {
        c->src = sd_event_source_unref(c->src);
        if (c->fd >= 0) {
                close(c->fd);
                (void) unlink(c->path);
        }
        c->fd = -1;
}
