/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

#include "api_calls.h"
#include "api_server.h"
#include "caller.h"
#include "daemon.h"
#include "error_set.h"
#include "json_strict.h"
#include "macro.h"
#include "timer.h"

struct hnd_api_client {
        struct hnd_api *api;
        struct hnd_api_client *prev, *next;
        int fd;
        sd_event_source *io, *timer;
        sd_event_source *more; /* one request per turn of the loop: the next is deferred */
        struct hnd_caller caller;
        int pidfd;      /* the caller's, where the kernel gives one; -1 */
        pid_t in_writer; /* who wrote the buffered bytes (SCM_CREDENTIALS); -1: more than one */
        char *in;
        size_t in_len, in_cap;
        uint64_t first_byte_usec; /* of the request being read; 0 when none */
        char *out;
        size_t out_len, out_off, out_cap;
        bool closing;    /* close once out is flushed */
        bool subscriber; /* a stream of audit records, no more requests */
        bool busy;       /* a call of its runs on a thread; requests wait */
        bool gone;       /* closed while busy: freed when the call returns */
};

struct hnd_api_job {
        struct hnd_api *api;
        struct hnd_api_client *client;
        struct hnd_api_pending *pending;
        json_object *reply;
        struct hnd_api_job *next;
};

static uint64_t now_usec(sd_event *ev) {
        uint64_t t = 0;
        (void) sd_event_now(ev, CLOCK_MONOTONIC, &t);
        return t;
}

static void client_release(struct hnd_api_client *c) {
        closep(&c->pidfd);
        free(c->in);
        free(c->out);
        free(c);
}

/* Closes the connection; the memory goes now, or when a running call of
 * the client's returns. */
static void client_free(struct hnd_api_client *c) {
        struct hnd_api *a = c->api;
        if (c->prev)
                c->prev->next = c->next;
        else
                a->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        a->n_clients--;
        if (c->subscriber) {
                pthread_mutex_lock(&a->tap_lock); /* the tap reads it from other threads */
                a->n_subscribers--;
                pthread_mutex_unlock(&a->tap_lock);
        }
        c->io = sd_event_source_disable_unref(c->io);
        c->timer = sd_event_source_disable_unref(c->timer);
        c->more = sd_event_source_disable_unref(c->more);
        close(c->fd);
        c->fd = -1;
        if (c->busy)
                c->gone = true;
        else
                client_release(c);
}

static int append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
        if (*len + n > *cap) {
                size_t want = *cap ? *cap : 4096;
                while (want < *len + n)
                        want *= 2;
                char *p = realloc(*buf, want);
                if (!p)
                        return -ENOMEM;
                *buf = p;
                *cap = want;
        }
        memcpy(*buf + *len, data, n);
        *len += n;
        return 0;
}

/* recv, with the writer's pid from SCM_CREDENTIALS (SO_PASSCRED is set
 * on the listening socket, so every byte carries it); 0 if none came. */
static ssize_t recv_with_writer(int fd, void *buf, size_t size, pid_t *ret_writer) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(struct ucred))];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        *ret_writer = 0;
        if (n < 0)
                return n;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
                    cm->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
                        struct ucred u;
                        memcpy(&u, CMSG_DATA(cm), sizeof(u));
                        *ret_writer = u.pid;
                }
        return n;
}

static bool has_line(const struct hnd_api_client *c) {
        return c->in_len && memchr(c->in, '\n', c->in_len);
}

/* What the loop waits for: replies to flush, requests to read (unless the
 * client is closing, has too many replies unread, or a call or a full
 * buffer of requests waiting), and a deadline. */
static void client_update(struct hnd_api_client *c) {
        const struct hnd_config *cfg = &c->api->d->cfg;
        uint32_t events = 0;
        size_t pending = c->out_len - c->out_off;
        if (pending)
                events |= EPOLLOUT;
        if (!c->closing && !c->busy && (c->subscriber || (pending < HND_API_REPLY_BACKLOG && !has_line(c))))
                events |= EPOLLIN;
        /* the next buffered request, in a later turn (others get theirs
         * in between), once the replies before it are read */
        bool next = !c->closing && !c->busy && !c->subscriber && pending < HND_API_REPLY_BACKLOG && has_line(c);
        (void) sd_event_source_set_enabled(c->more, next ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
        (void) sd_event_source_set_io_events(c->io, events);
        uint64_t deadline = 0;
        if (c->subscriber || c->busy)
                deadline = 0; /* a call running is not the client's delay */
        else if (c->first_byte_usec)
                deadline = c->first_byte_usec + (uint64_t) cfg->api_request_timeout_ms * 1000u;
        else if (!c->closing && !pending)
                deadline = now_usec(c->api->ev) + (uint64_t) cfg->api_idle_timeout_ms * 1000u;
        if (deadline)
                (void) hnd_timer_arm(c->timer, deadline);
        else
                (void) sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
}

/* Writes what it can now; false if the client is gone. */
static bool client_flush(struct hnd_api_client *c) {
        while (c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        client_free(c);
                        return false;
                }
                c->out_off += (size_t) n;
        }
        if (c->out_off == c->out_len) {
                c->out_off = c->out_len = 0;
                if (c->closing) {
                        client_free(c);
                        return false;
                }
        }
        client_update(c);
        return true;
}

static void queue_line(struct hnd_api_client *c, const char *text, size_t n) {
        if (c->out_off > 0 && c->out_off == c->out_len)
                c->out_off = c->out_len = 0;
        if (append(&c->out, &c->out_len, &c->out_cap, text, n) < 0 ||
            append(&c->out, &c->out_len, &c->out_cap, "\n", 1) < 0)
                c->closing = true;
}

static void queue_json(struct hnd_api_client *c, json_object *o) {
        const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
        const char *text = json_object_to_json_string_ext(o, flags);
        if (!json_utf8_valid(text, strlen(text)) && json_utf8_repair(o)) /* a name the kernel gave */
                text = json_object_to_json_string_ext(o, flags);
        queue_line(c, text, strlen(text));
}

/* An error reply for a request that never reached a call. */
static void queue_error(struct hnd_api_client *c, enum hn_error_kind kind, int sys_errno, const char *message) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(false));
        json_object_object_add(o, "error", hnd_api_error_json(kind, sys_errno, message));
        queue_json(c, o);
        json_object_put(o);
}

/* A worker of the pool: runs jobs handed to it until the API stops.
 * Threads are made as calls need them, up to HND_API_MAX_JOBS, and kept:
 * a thread made and torn down per call cost more than most calls. */
static void *job_worker(void *arg) {
        struct hnd_api_job *j = arg;
        struct hnd_api *a = j->api;
        pthread_mutex_lock(&a->jobs_lock);
        for (;;) {
                pthread_mutex_unlock(&a->jobs_lock);
                hnd_api_run(j->pending);
                pthread_mutex_lock(&a->jobs_lock);
                j->next = a->done;
                a->done = j;
                uint64_t one = 1;
                (void) !write(a->done_efd, &one, sizeof(one));
                a->jobs_running--;
                pthread_cond_broadcast(&a->jobs_cond);
                a->workers_idle++;
                while (!a->ready && !a->workers_stop)
                        pthread_cond_wait(&a->work_cond, &a->jobs_lock);
                if (!a->ready)
                        break; /* stopping, nothing handed over: idle count taken back below */
                j = a->ready;
                a->ready = j->next;
                j->next = NULL;
        }
        a->workers_idle--;
        a->workers--;
        pthread_cond_broadcast(&a->jobs_cond);
        pthread_mutex_unlock(&a->jobs_lock);
        return NULL;
}

/* To an idle worker, or a new one; false if HND_API_MAX_JOBS run. */
static bool job_spawn(struct hnd_api_job *j) {
        struct hnd_api *a = j->api;
        bool ok = false;
        pthread_mutex_lock(&a->jobs_lock);
        if (a->jobs_running < HND_API_MAX_JOBS && a->workers_idle > 0) {
                a->workers_idle--; /* that worker is this job's: it pops one job per wake */
                j->next = NULL;
                struct hnd_api_job **tail = &a->ready;
                while (*tail)
                        tail = &(*tail)->next;
                *tail = j;
                pthread_cond_signal(&a->work_cond);
                ok = true;
        } else if (a->jobs_running < HND_API_MAX_JOBS) {
                pthread_attr_t attr;
                pthread_t t;
                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                ok = pthread_create(&t, &attr, job_worker, j) == 0;
                pthread_attr_destroy(&attr);
                if (ok)
                        a->workers++;
        }
        if (ok)
                a->jobs_running++;
        pthread_mutex_unlock(&a->jobs_lock);
        return ok;
}

/* Runs the call on a thread now, or queues it for the next free one;
 * false only without memory. */
static bool job_start(struct hnd_api_client *c, struct hnd_api_pending *p, json_object *reply) {
        struct hnd_api *a = c->api;
        struct hnd_api_job *j = calloc(1, sizeof(*j));
        if (!j)
                return false;
        *j = (struct hnd_api_job){ .api = a, .client = c, .pending = p, .reply = reply };
        if (!a->waiting && job_spawn(j))
                return true;
        *a->waiting_tail = j;
        a->waiting_tail = &j->next;
        return true;
}

/* The calls that waited for a thread, in order, as threads come free. */
static void jobs_resume(struct hnd_api *a) {
        while (a->waiting) {
                struct hnd_api_job *j = a->waiting;
                a->waiting = j->next; /* off the queue first: the thread reuses next */
                if (!a->waiting)
                        a->waiting_tail = &a->waiting;
                j->next = NULL;
                if (!job_spawn(j)) {
                        j->next = a->waiting; /* back at the head, for the next free thread */
                        if (!a->waiting)
                                a->waiting_tail = &j->next;
                        a->waiting = j;
                        return;
                }
        }
}

static void handle_line(struct hnd_api_client *c, const char *line, size_t len) {
        struct hnd_api *a = c->api;
        /* identified again at each call: the writer of these bytes must
         * be the caller, unchanged; a refused connection is closed */
        char why[PATH_MAX * 2 + 160];
        if (hnd_caller_recheck(&c->caller, c->pidfd, c->in_writer, &a->d->cfg, a->d->sink.cgroup_mount,
                               hn_cgroup_manager_root(a->d->cgroups), why, sizeof(why)) < 0) {
                queue_error(c, HN_ERR_PERMISSION_DENIED, EPERM, why);
                c->closing = true;
                c->in_len = 0;
                return;
        }
        json_object *reply = json_object_new_object();
        bool subscribe = false;
        struct hnd_api_pending *p = hnd_api_handle(a->d, &c->caller, line, len, reply, &subscribe);
        if (p) {
                if (job_start(c, p, reply)) {
                        c->busy = true;
                        return;
                }
                hnd_api_busy(p);
                (void) hnd_api_finish(p, reply);
        }
        queue_json(c, reply);
        json_object_put(reply);
        if (subscribe && !c->subscriber) {
                c->subscriber = true;
                pthread_mutex_lock(&a->tap_lock);
                a->n_subscribers++;
                pthread_mutex_unlock(&a->tap_lock);
        }
}

/* One complete line in the buffer is one request: one per turn of the
 * loop, so a client that pipelines many cannot keep the others waiting
 * (the rest wait in the buffer, which is not read further meanwhile). */
static void process_input(struct hnd_api_client *c) {
        if (!c->busy && !c->subscriber && c->out_len - c->out_off < HND_API_REPLY_BACKLOG) {
                char *nl = memchr(c->in, '\n', c->in_len);
                if (nl) {
                        size_t n = (size_t) (nl - c->in);
                        handle_line(c, c->in, n);
                        if (c->in_len) { /* not emptied by a refusal */
                                memmove(c->in, c->in + n + 1, c->in_len - n - 1);
                                c->in_len -= n + 1;
                        }
                }
        }
        if (c->subscriber)
                c->in_len = 0; /* a stream is one way */
        c->first_byte_usec = c->in_len ? (c->first_byte_usec ? c->first_byte_usec : now_usec(c->api->ev)) : 0;
        if (c->in_len > HND_API_REQUEST_MAX && !has_line(c)) {
                char msg[128];
                snprintf(msg, sizeof(msg), "request too large: more than %u bytes without a newline",
                         HND_API_REQUEST_MAX);
                queue_error(c, HN_ERR_INVALID_ARGUMENT, E2BIG, msg);
                c->closing = true;
        }
}

static int on_more(sd_event_source *s, void *userdata) {
        struct hnd_api_client *c = userdata;
        (void) s;
        process_input(c);
        (void) client_flush(c);
        return 0;
}

static int on_client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct hnd_api_client *c = userdata;
        (void) s, (void) fd;
        if (revents & EPOLLIN) {
                bool eof = false;
                /* Bounded: a fast writer cannot keep the loop here. None
                 * is read while a call of the client's runs: its reply
                 * comes first (and a half-close waits behind it). */
                for (unsigned i = 0; i < 16 && !c->closing && !c->busy && !has_line(c); i++) {
                        char buf[16384];
                        pid_t writer = 0;
                        ssize_t n = recv_with_writer(c->fd, buf, sizeof(buf), &writer);
                        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                                break;
                        if (n <= 0) {
                                eof = true;
                                break;
                        }
                        /* a read returns one writer's bytes (the kernel does
                         * not merge writers): the buffer's writer, or -1 */
                        c->in_writer = c->in_len == 0 || c->in_writer == writer ? writer : -1;
                        if (!c->subscriber && append(&c->in, &c->in_len, &c->in_cap, buf, (size_t) n) < 0) {
                                c->closing = true;
                                break;
                        }
                        if (!c->first_byte_usec && !c->subscriber)
                                c->first_byte_usec = now_usec(c->api->ev);
                        process_input(c);
                }
                if (eof) {
                        if (c->in_len && !c->subscriber)
                                queue_error(c, HN_ERR_INVALID_ARGUMENT, EPROTO,
                                            "truncated request: the stream ended before its newline");
                        c->closing = true;
                        c->in_len = 0;
                        c->first_byte_usec = 0;
                }
        } else if (revents & (EPOLLHUP | EPOLLERR) && !(revents & EPOLLOUT)) {
                client_free(c);
                return 0;
        }
        (void) client_flush(c);
        return 0;
}

static int on_client_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hnd_api_client *c = userdata;
        (void) s, (void) usec;
        if (c->first_byte_usec) {
                char msg[128];
                snprintf(msg, sizeof(msg), "request timed out: not complete within %u ms of its first byte",
                         c->api->d->cfg.api_request_timeout_ms);
                queue_error(c, HN_ERR_INVALID_ARGUMENT, ETIMEDOUT, msg);
        }
        c->closing = true; /* an idle connection just goes */
        c->in_len = 0;
        c->first_byte_usec = 0;
        (void) client_flush(c);
        return 0;
}

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
                struct hnd_api_client *c = calloc(1, sizeof(*c));
                if (!c)
                        continue;
                c->api = a;
                c->pidfd = -1;
                if (hnd_caller_identify(cfd, &a->d->cfg, a->d->sink.cgroup_mount,
                                        hn_cgroup_manager_root(a->d->cgroups), &c->caller, &c->pidfd) < 0 ||
                    sd_event_add_io(a->ev, &c->io, cfd, EPOLLIN, on_client_io, c) < 0 ||
                    sd_event_add_defer(a->ev, &c->more, on_more, c) < 0 ||
                    sd_event_add_time(a->ev, &c->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_client_timer, c) < 0) {
                        sd_event_source_disable_unref(c->io);
                        sd_event_source_disable_unref(c->more);
                        closep(&c->pidfd);
                        free(c);
                        continue;
                }
                c->fd = take_fd(&cfd);
                c->next = a->clients;
                if (a->clients)
                        a->clients->prev = c;
                a->clients = c;
                a->n_clients++;
                client_update(c);
        }
        return 0;
}

/* Any thread: queued for the loop. */
void hnd_api_tap(const char *line, size_t len, void *userdata) {
        struct hnd_api *a = userdata;
        pthread_mutex_lock(&a->tap_lock);
        if (a->n_subscribers) {
                size_t cap = a->tap_len + len + 1;
                char *p = a->tap_len + len + 1 <= HND_API_STREAM_BACKLOG ? realloc(a->tap_buf, cap) : NULL;
                if (p) {
                        a->tap_buf = p;
                        memcpy(p + a->tap_len, line, len);
                        p[a->tap_len + len] = '\n';
                        a->tap_len += len + 1;
                } else
                        a->tap_lost++;
                uint64_t one = 1;
                (void) !write(a->tap_efd, &one, sizeof(one));
        }
        pthread_mutex_unlock(&a->tap_lock);
}

static int on_tap(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct hnd_api *a = userdata;
        uint64_t v;
        (void) s, (void) revents;
        (void) !read(fd, &v, sizeof(v));
        pthread_mutex_lock(&a->tap_lock);
        char *buf = a->tap_buf;
        size_t len = a->tap_len;
        uint64_t lost = a->tap_lost;
        a->tap_buf = NULL;
        a->tap_len = 0;
        a->tap_lost = 0;
        pthread_mutex_unlock(&a->tap_lock);
        char gap[128];
        int gap_len = snprintf(gap, sizeof(gap), "{\"event\":\"subscribe.gap\",\"lost\":%llu}",
                               (unsigned long long) lost);
        for (struct hnd_api_client *c = a->clients, *next; c; c = next) {
                next = c->next;
                if (!c->subscriber || c->closing)
                        continue;
                /* A subscriber that cannot keep up is told and dropped: a
                 * stream with a silent hole would be worse. */
                if (c->out_len - c->out_off + len > HND_API_STREAM_BACKLOG) {
                        queue_error(c, HN_ERR_IO, ENOBUFS, "subscriber too slow: records would be lost");
                        c->closing = true;
                        a->dropped_subscribers++;
                } else {
                        if (lost)
                                queue_line(c, gap, (size_t) gap_len);
                        if (len && append(&c->out, &c->out_len, &c->out_cap, buf, len) < 0)
                                c->closing = true;
                }
                (void) client_flush(c);
        }
        free(buf);
        return 0;
}

/* Replies of calls that ran on threads, back on the loop. */
static void jobs_finish(struct hnd_api *a) {
        pthread_mutex_lock(&a->jobs_lock);
        struct hnd_api_job *j = a->done;
        a->done = NULL;
        pthread_mutex_unlock(&a->jobs_lock);
        while (j) {
                struct hnd_api_job *next = j->next;
                struct hnd_api_client *c = j->client;
                (void) hnd_api_finish(j->pending, j->reply);
                c->busy = false;
                if (c->gone)
                        client_release(c);
                else {
                        queue_json(c, j->reply);
                        process_input(c); /* the requests that waited */
                        (void) client_flush(c);
                }
                json_object_put(j->reply);
                free(j);
                j = next;
        }
        jobs_resume(a);
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        uint64_t v;
        (void) s, (void) revents;
        (void) !read(fd, &v, sizeof(v));
        jobs_finish(userdata);
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
            (r = sd_event_add_io(ev, &a->tap_src, a->tap_efd, EPOLLIN, on_tap, a)) < 0 ||
            (r = sd_event_add_io(ev, &a->done_src, a->done_efd, EPOLLIN, on_done, a)) < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "API socket %s: %s", path, strerror(-r));
        return 0;
}

void hnd_api_stop(struct hnd_api *a) {
        while (a->clients)
                client_free(a->clients);
        /* calls that never got a thread are answered busy, to no one */
        for (struct hnd_api_job *j = a->waiting, *next; j; j = next) {
                next = j->next;
                hnd_api_busy(j->pending);
                (void) hnd_api_finish(j->pending, j->reply);
                json_object_put(j->reply);
                client_release(j->client); /* gone: closed above */
                free(j);
        }
        a->waiting = NULL;
        a->waiting_tail = &a->waiting;
        /* Calls still running finish first (a kill waits its timeout at
         * most); then the idle workers go. */
        pthread_mutex_lock(&a->jobs_lock);
        while (a->jobs_running)
                pthread_cond_wait(&a->jobs_cond, &a->jobs_lock);
        a->workers_stop = true;
        pthread_cond_broadcast(&a->work_cond);
        while (a->workers)
                pthread_cond_wait(&a->jobs_cond, &a->jobs_lock);
        pthread_mutex_unlock(&a->jobs_lock);
        jobs_finish(a);
        a->done_src = sd_event_source_disable_unref(a->done_src);
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
