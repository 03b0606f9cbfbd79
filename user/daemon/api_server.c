/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The API socket (api_server.h): the listener and its accepts, start and
 * stop. A connection's life is api_client.c's; calls that wait run in
 * api_jobs.c; the audit stream is api_stream.c's. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "api_client.h"
#include "api_jobs.h"
#include "api_server.h"
#include "api_stream.h"
#include "caller.h"
#include "daemon.h"
#include "error_set.h"
#include "json_strict.h"
#include "macro.h"
#include "timer.h"

static int on_connect(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct hnd_api *a = userdata;
        (void) s, (void) revents;
        /* A handful per turn: a connection storm cannot starve the rest. */
        for (unsigned i = 0; i < 32; i++) {
                _cleanup_close_ int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0)
                        return 0;
                a->connections++;
                if (a->n_clients >= a->d->cfg.api_max_clients) {
                        static const char busy[] = "{\"ok\":false,\"error\":{\"kind\":\"busy\",\"errno\":11,"
                                                   "\"message\":\"too many clients (ApiMaxClients)\"}}\n";
                        (void) !send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                        a->rejected_connections++;
                        continue;
                }
                (void) api_client_add(a, &cfd); /* one it could not take is closed */
        }
        return 0;
}

/* The sink's sync thread has put more of the log on disk: the replies
 * that waited for it go (a client's flush asks the sink again, and one
 * still waiting has the sink tell the loop at its next sync). */
static int on_durable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct hnd_api *a = userdata;
        uint64_t v;
        (void) s, (void) revents;
        (void) !read(fd, &v, sizeof(v));
        for (struct hnd_api_client *c = a->clients, *next; c; c = next) {
                next = c->next; /* a flush may close c */
                if (c->hold_seq)
                        (void) api_client_flush(c);
        }
        return 0;
}

int hnd_api_start(struct hnd_api *a, sd_event *ev, struct hnd_daemon *d, struct hn_error *err) {
        const char *path = d->cfg.control_socket;
        *a = (struct hnd_api){ .d = d, .ev = ev, .fd = -1, .tap_efd = -1, .done_efd = -1,
                               .tap_lock = PTHREAD_MUTEX_INITIALIZER, .jobs_lock = PTHREAD_MUTEX_INITIALIZER,
                               .jobs_cond = PTHREAD_COND_INITIALIZER, .work_cond = PTHREAD_COND_INITIALIZER };
        a->waiting_tail = &a->waiting;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG, "API socket %s: path too long", path);
        size_t len = strlen(path); /* fits: checked above */
        memcpy(sa.sun_path, path, len + 1);
        memcpy(a->path, path, len + 1);
        char dir[sizeof(sa.sun_path)];
        memcpy(dir, path, len + 1);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                (void) mkdir(dir, 0755);
        }
        (void) unlink(path); /* a stale socket from a crash */
        /* Anyone may connect: who may do what is decided per call, from
         * the peer's credentials (RI6 lets anyone read metrics). */
        /* SO_PASSCRED before listen: accepted sockets inherit it, and the
         * kernel stamps each write with its writer, even before accept */
        a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (a->fd < 0 || setsockopt(a->fd, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int)) < 0 ||
            bind(a->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
            listen(a->fd, SOMAXCONN) < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "API socket %s: %s", path, strerror(errno));
        a->tap_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        a->done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        int r;
        if (a->tap_efd < 0 || a->done_efd < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "API socket: eventfd: %s", strerror(errno));
        if ((r = sd_event_add_io(ev, &a->src, a->fd, EPOLLIN, on_connect, a)) < 0 ||
            (r = sd_event_add_io(ev, &a->tap_src, a->tap_efd, EPOLLIN, api_stream_on_tap, a)) < 0 ||
            (r = sd_event_add_io(ev, &a->done_src, a->done_efd, EPOLLIN, api_jobs_on_done, a)) < 0 ||
            (d->sink.durable_efd >= 0 &&
             (r = sd_event_add_io(ev, &a->durable_src, d->sink.durable_efd, EPOLLIN, on_durable, a)) < 0))
                return hn_error_set(err, HN_ERR_IO, -r, "API socket %s: %s", path, strerror(-r));
        return 0;
}

void hnd_api_stop(struct hnd_api *a) {
        while (a->clients)
                api_client_free(a->clients);
        api_jobs_stop(a);
        a->done_src = sd_event_source_disable_unref(a->done_src);
        a->durable_src = sd_event_source_disable_unref(a->durable_src); /* the sink's eventfd: the sink closes it */
        if (a->done_efd >= 0)
                close(a->done_efd);
        a->done_efd = -1;
        a->src = sd_event_source_disable_unref(a->src);
        a->tap_src = sd_event_source_disable_unref(a->tap_src);
        if (a->fd >= 0) {
                close(a->fd);
                (void) unlink(a->path);
        }
        if (a->tap_efd >= 0)
                close(a->tap_efd);
        a->fd = a->tap_efd = -1;
        free(a->tap_buf);
        a->tap_buf = NULL;
}
