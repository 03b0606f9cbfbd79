/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mountinfo.h"

void mountinfo_free(struct mountinfo *mi) {
        free(mi->buf);
        free(mi->v);
        *mi = (struct mountinfo){ 0 };
}

/* The whole file, NUL-terminated. */
static int read_all(const char *path, char **ret, size_t *ret_len) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t cap = 64 * 1024, len = 0;
        char *buf = malloc(cap);
        for (;;) {
                if (buf && len + 1 >= cap) {
                        char *more = realloc(buf, cap *= 2);
                        if (!more) {
                                free(buf);
                                buf = NULL;
                        } else
                                buf = more;
                }
                if (!buf) {
                        close(fd);
                        return -ENOMEM;
                }
                ssize_t n = read(fd, buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;
                        free(buf);
                        close(fd);
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        close(fd);
        buf[len] = '\0';
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* The next space-separated field of *s, NUL-terminated in place. */
static char *field(char **s) {
        char *f = *s;
        if (!f || !*f)
                return NULL;
        char *sp = strchr(f, ' ');
        if (sp) {
                *sp = '\0';
                *s = sp + 1;
        } else
                *s = NULL;
        return f;
}

/* The kernel's octal escapes (\040 space, \011 tab, \012 newline, \134
 * backslash) undone in place. */
static void unescape(char *s) {
        char *w = s;
        for (char *r = s; *r; r++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w++ = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 3;
                } else
                        *w++ = *r;
        }
        *w = '\0';
}

static bool parse_u32(const char *s, uint32_t *ret) {
        char *end;
        errno = 0;
        unsigned long v = s ? strtoul(s, &end, 10) : 0;
        if (!s || end == s || *end || errno || v > UINT32_MAX)
                return false;
        *ret = (uint32_t) v;
        return true;
}

static bool has_option(const char *opts, const char *opt) {
        size_t n = strlen(opt);
        for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                if (!strncmp(p, opt, n) && (p[n] == ',' || p[n] == '\0'))
                        return true;
        return false;
}

static int parse_line(char *line, struct mountinfo_entry *e) {
        char *s = line, *id = field(&s), *parent = field(&s), *devno = field(&s);
        char *root = field(&s), *target = field(&s), *opts = field(&s);
        unsigned maj, min;
        char tail;
        if (!root || !target || !opts || !parse_u32(id, &e->id) || !parse_u32(parent, &e->parent) ||
            sscanf(devno, "%u:%u%c", &maj, &min, &tail) != 2)
                return -EBADMSG;
        e->devno = makedev(maj, min);
        e->ro = has_option(opts, "ro");
        e->shared = e->master = 0;
        char *opt;
        while ((opt = field(&s)) && strcmp(opt, "-") != 0) {
                if (!strncmp(opt, "shared:", 7) && !parse_u32(opt + 7, &e->shared))
                        return -EBADMSG;
                if (!strncmp(opt, "master:", 7) && !parse_u32(opt + 7, &e->master))
                        return -EBADMSG;
        }
        if (!opt)
                return -EBADMSG; /* no separator: not a mountinfo line */
        char *fstype = field(&s), *source = field(&s);
        if (!fstype || !source)
                return -EBADMSG;
        unescape(target);
        unescape(source);
        e->target = target;
        e->fstype = fstype;
        e->source = source;
        return 0;
}

int mountinfo_read(const char *path, struct mountinfo *ret) {
        struct mountinfo mi = { 0 };
        size_t len = 0;
        int r = read_all(path, &mi.buf, &len);
        if (r < 0)
                return r;
        size_t lines = 0;
        for (size_t i = 0; i < len; i++)
                lines += mi.buf[i] == '\n';
        mi.v = calloc(lines + 1, sizeof(*mi.v));
        if (!mi.v) {
                mountinfo_free(&mi);
                return -ENOMEM;
        }
        for (char *line = mi.buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
                if ((nl = strchr(line, '\n')))
                        *nl = '\0';
                if ((r = parse_line(line, &mi.v[mi.n])) < 0) {
                        mountinfo_free(&mi);
                        return r;
                }
                mi.n++;
        }
        *ret = mi;
        return 0;
}
