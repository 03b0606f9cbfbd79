/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One API connection: its buffers, its requests read one per turn of the
 * loop (each caller identified again at each call), its replies queued and
 * flushed without blocking, its deadlines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_calls.h"
#include "api_client.h"
#include "api_jobs.h"
#include "daemon.h"
#include "json_strict.h"
#include "macro.h"
#include "timer.h"

static uint64_t now_usec(sd_event *ev) {
        uint64_t t = 0;
        (void) sd_event_now(ev, CLOCK_MONOTONIC, &t);
        return t;
}

void api_client_release(struct hnd_api_client *c) {
        closep(&c->pidfd);
        closep(&c->proc_fd);
        free(c->in);
        free(c->out);
        free(c);
}

/* Closes the connection; the memory goes now, or when a running call of
 * the client's returns. */
void api_client_free(struct hnd_api_client *c) {
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
                api_client_release(c);
}

int api_buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
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
        if (pending && !c->hold_seq)
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

void api_client_hold(struct hnd_api_client *c, uint64_t seq) {
        if (seq > c->hold_seq)
                c->hold_seq = seq;
}

/* Writes what it can now; false if the client is gone. Replies held for
 * their records' sync go when the sink says they are on disk (the loop is
 * told through its durable_efd, api_server.c). */
bool api_client_flush(struct hnd_api_client *c) {
        if (c->hold_seq && !hnd_sink_durable(&c->api->d->sink, c->hold_seq)) {
                client_update(c);
                return true;
        }
        c->hold_seq = 0;
        while (c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        api_client_free(c);
                        return false;
                }
                c->out_off += (size_t) n;
        }
        if (c->out_off == c->out_len) {
                c->out_off = c->out_len = 0;
                if (c->closing) {
                        api_client_free(c);
                        return false;
                }
        }
        client_update(c);
        return true;
}

void api_client_queue_line(struct hnd_api_client *c, const char *text, size_t n) {
        if (c->out_off > 0 && c->out_off == c->out_len)
                c->out_off = c->out_len = 0;
        if (api_buf_append(&c->out, &c->out_len, &c->out_cap, text, n) < 0 ||
            api_buf_append(&c->out, &c->out_len, &c->out_cap, "\n", 1) < 0)
                c->closing = true;
}

void api_client_queue_json(struct hnd_api_client *c, json_object *o) {
        const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
        const char *text = json_object_to_json_string_ext(o, flags);
        if (!json_utf8_valid(text, strlen(text)) && json_utf8_repair(o)) /* a name the kernel gave */
                text = json_object_to_json_string_ext(o, flags);
        api_client_queue_line(c, text, strlen(text));
}

/* An error reply for a request that never reached a call. */
void api_client_queue_error(struct hnd_api_client *c, enum hn_error_kind kind, int sys_errno, const char *message) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(false));
        json_object_object_add(o, "error", hnd_api_error_json(kind, sys_errno, message));
        api_client_queue_json(c, o);
        json_object_put(o);
}

/* A call of c's, run on a thread, has returned: its reply, then the
 * requests that waited for it. */
static void call_done(void *owner, json_object *reply, uint64_t seq) {
        struct hnd_api_client *c = owner;
        c->busy = false;
        if (c->gone) {
                api_client_release(c);
                return;
        }
        api_client_hold(c, seq);
        api_client_queue_json(c, reply);
        api_client_process_input(c);
        (void) api_client_flush(c);
}

static void handle_request(struct hnd_api_client *c, const char *line, size_t len) {
        struct hnd_api *a = c->api;
        /* identified again at each call: the writer of these bytes must
         * be the caller, unchanged; a refused connection is closed */
        char why[PATH_MAX * 2 + 160];
        if (hnd_caller_recheck(&c->caller, c->pidfd, c->proc_fd, c->in_writer, &a->d->cfg, a->d->sink.cgroup_mount,
                               hn_cgroup_manager_root(a->d->cgroups), why, sizeof(why)) < 0) {
                api_client_queue_error(c, HN_ERR_PERMISSION_DENIED, EPERM, why);
                c->closing = true;
                c->in_len = 0;
                return;
        }
        json_object *reply = json_object_new_object();
        bool subscribe = false;
        struct hnd_api_pending *p = hnd_api_handle(a->d, &c->caller, line, len, reply, &subscribe);
        if (p) {
                if (api_job_start(a, p, reply, call_done, c)) {
                        c->busy = true;
                        return;
                }
                hnd_api_busy(p);
                (void) hnd_api_finish(p, reply);
        }
        api_client_queue_json(c, reply);
        json_object_put(reply);
        if (subscribe && !c->subscriber) {
                c->subscriber = true;
                pthread_mutex_lock(&a->tap_lock);
                a->n_subscribers++;
                pthread_mutex_unlock(&a->tap_lock);
        }
}

/* The records a request makes on the loop (a refusal, a call run here)
 * are on disk before its reply goes: their seq, taken after it. */
static void handle_line(struct hnd_api_client *c, const char *line, size_t len) {
        (void) hnd_sink_thread_seq_take(); /* the loop's records until now are not this request's */
        handle_request(c, line, len);
        api_client_hold(c, hnd_sink_thread_seq_take());
}

/* One complete line in the buffer is one request: one per turn of the
 * loop, so a client that pipelines many cannot keep the others waiting
 * (the rest wait in the buffer, which is not read further meanwhile). */
void api_client_process_input(struct hnd_api_client *c) {
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
                api_client_queue_error(c, HN_ERR_INVALID_ARGUMENT, E2BIG, msg);
                c->closing = true;
        }
}

static int on_more(sd_event_source *s, void *userdata) {
        struct hnd_api_client *c = userdata;
        (void) s;
        api_client_process_input(c);
        (void) api_client_flush(c);
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
                        if (!c->subscriber && api_buf_append(&c->in, &c->in_len, &c->in_cap, buf, (size_t) n) < 0) {
                                c->closing = true;
                                break;
                        }
                        if (!c->first_byte_usec && !c->subscriber)
                                c->first_byte_usec = now_usec(c->api->ev);
                        api_client_process_input(c);
                        /* A short read took all there was: the next is the
                         * loop's (EPOLLIN is level-triggered), not an EAGAIN
                         * a call. */
                        if ((size_t) n < sizeof(buf))
                                break;
                }
                if (eof) {
                        if (c->in_len && !c->subscriber)
                                api_client_queue_error(c, HN_ERR_INVALID_ARGUMENT, EPROTO,
                                            "truncated request: the stream ended before its newline");
                        c->closing = true;
                        c->in_len = 0;
                        c->first_byte_usec = 0;
                }
        } else if (revents & (EPOLLHUP | EPOLLERR) && !(revents & EPOLLOUT)) {
                api_client_free(c);
                return 0;
        }
        (void) api_client_flush(c);
        return 0;
}

static int on_client_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hnd_api_client *c = userdata;
        (void) s, (void) usec;
        if (c->first_byte_usec) {
                char msg[128];
                snprintf(msg, sizeof(msg), "request timed out: not complete within %u ms of its first byte",
                         c->api->d->cfg.api_request_timeout_ms);
                api_client_queue_error(c, HN_ERR_INVALID_ARGUMENT, ETIMEDOUT, msg);
        }
        c->closing = true; /* an idle connection just goes */
        c->in_len = 0;
        c->first_byte_usec = 0;
        (void) api_client_flush(c);
        return 0;
}

/* A new connection (*cfd, taken on success): the caller identified, then
 * driven by the loop. Negative errno when it could not be. */
int api_client_add(struct hnd_api *a, int *cfd) {
        struct hnd_api_client *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->api = a;
        c->pidfd = c->proc_fd = -1;
        int r = hnd_caller_identify(*cfd, &a->d->cfg, a->d->sink.cgroup_mount, hn_cgroup_manager_root(a->d->cgroups),
                                    &c->caller, &c->pidfd, &c->proc_fd);
        if (r >= 0 && (r = sd_event_add_io(a->ev, &c->io, *cfd, EPOLLIN, on_client_io, c)) >= 0 &&
            (r = sd_event_add_defer(a->ev, &c->more, on_more, c)) >= 0)
                r = sd_event_add_time(a->ev, &c->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_client_timer, c);
        if (r < 0) {
                sd_event_source_disable_unref(c->io);
                sd_event_source_disable_unref(c->more);
                closep(&c->pidfd);
                closep(&c->proc_fd);
                free(c);
                return r;
        }
        c->fd = take_fd(cfd);
        c->next = a->clients;
        if (a->clients)
                a->clients->prev = c;
        a->clients = c;
        a->n_clients++;
        client_update(c);
        return 0;
}
