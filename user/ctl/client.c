/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

/* What was read past the last line. */
static char *pending;
static size_t pending_len;

int hnctl_connect(struct hnctl *c) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(c->socket) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "hpcnodectl: %s: socket path too long\n", c->socket);
                return HNCTL_EXIT_UNREACHABLE;
        }
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->socket);
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fprintf(stderr, "hpcnodectl: cannot reach hpcnoded at %s: %s\n", c->socket, strerror(errno));
                return HNCTL_EXIT_UNREACHABLE;
        }
        return 0;
}

static long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line, or NULL (EOF, timeout, or too long: errno says). timeout_ms < 0: none. */
static char *read_line(int fd, int timeout_ms) {
        long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
        for (;;) {
                char *nl = pending ? memchr(pending, '\n', pending_len) : NULL;
                if (nl) {
                        size_t n = (size_t) (nl - pending);
                        char *line = malloc(n + 1);
                        if (!line)
                                return NULL;
                        memcpy(line, pending, n);
                        line[n] = '\0';
                        memmove(pending, nl + 1, pending_len - n - 1);
                        pending_len -= n + 1;
                        return line;
                }
                int wait = deadline < 0 ? -1 : (int) (deadline - now_ms());
                if (deadline >= 0 && wait <= 0) {
                        errno = ETIMEDOUT;
                        return NULL;
                }
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r = poll(&p, 1, wait);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        errno = r == 0 ? ETIMEDOUT : errno;
                        return NULL;
                }
                char *grown = realloc(pending, pending_len + 65536);
                if (!grown)
                        return NULL;
                pending = grown;
                ssize_t n = read(fd, pending + pending_len, 65536);
                if (n <= 0) {
                        errno = n == 0 ? ECONNRESET : errno;
                        return NULL;
                }
                pending_len += (size_t) n;
        }
}

json_object *hnctl_read(struct hnctl *c, int timeout_ms) {
        char *line = read_line(c->fd, timeout_ms);
        if (!line)
                return NULL;
        json_object *o = json_tokener_parse(line);
        free(line);
        return o;
}

int hnctl_call(struct hnctl *c, const char *call, json_object *args, json_object **ret_reply) {
        json_object *req = json_object_new_object();
        json_object_object_add(req, "call", json_object_new_string(call));
        if (args)
                json_object_object_add(req, "args", args);
        const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
        size_t len = strlen(text);
        int r = 0;
        if (send(c->fd, text, len, MSG_NOSIGNAL) != (ssize_t) len || send(c->fd, "\n", 1, MSG_NOSIGNAL) != 1) {
                fprintf(stderr, "hpcnodectl: sending to %s: %s\n", c->socket, strerror(errno));
                r = HNCTL_EXIT_UNREACHABLE;
        }
        json_object_put(req);
        if (r)
                return r;
        char *line = read_line(c->fd, c->timeout_ms);
        if (!line) {
                fprintf(stderr, "hpcnodectl: no reply from %s: %s\n", c->socket,
                        errno == ETIMEDOUT ? "timed out" : strerror(errno));
                return HNCTL_EXIT_UNREACHABLE;
        }
        json_object *reply = json_tokener_parse(line), *ok;
        if (!reply || !json_object_object_get_ex(reply, "ok", &ok)) {
                fprintf(stderr, "hpcnodectl: not a reply from %s: %.200s\n", c->socket, line);
                free(line);
                json_object_put(reply);
                return HNCTL_EXIT_UNREACHABLE;
        }
        free(line);
        *ret_reply = reply;
        return 0;
}

int hnctl_error_exit(json_object *reply) {
        json_object *e, *v;
        const char *kind = "", *message = "(no message)";
        int err = 0;
        if (json_object_object_get_ex(reply, "error", &e)) {
                if (json_object_object_get_ex(e, "kind", &v))
                        kind = json_object_get_string(v);
                if (json_object_object_get_ex(e, "message", &v))
                        message = json_object_get_string(v);
                if (json_object_object_get_ex(e, "errno", &v))
                        err = json_object_get_int(v);
        }
        fprintf(stderr, "hpcnodectl: %s\n", message);
        if (err == EBUSY || !strcmp(kind, "kill_failed") || !strcmp(kind, "busy"))
                return HNCTL_EXIT_BUSY;
        if (!strcmp(kind, "permission_denied"))
                return HNCTL_EXIT_DENIED;
        if (!strcmp(kind, "not_found"))
                return HNCTL_EXIT_NOT_FOUND;
        return HNCTL_EXIT_FAILED;
}
