/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_tail.h"
#include "error_set.h"
#include "macro.h"

#define CHUNK 65536

int hnd_audit_tail(const char *path, unsigned n, json_object *array, struct hn_error *err) {
        if (!*path)
                return hn_error_set(err, HN_ERR_NOT_FOUND, ENOENT, "no audit log configured (AuditLog= is empty)");
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "audit log %s: %s", path, strerror(errno));
        /* Back from the end, a chunk at a time, until n+1 newlines (the
         * last line ends in one) or the start of the file. */
        off_t start = st.st_size;
        size_t len = 0, newlines = 0;
        _cleanup_free_ char *buf = NULL;
        while (start > 0 && newlines <= n) {
                size_t step = start > CHUNK ? CHUNK : (size_t) start;
                char *grown = malloc(len + step);
                if (!grown)
                        return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
                start -= (off_t) step;
                if (pread(fd, grown, step, start) != (ssize_t) step) {
                        free(grown);
                        return hn_error_set(err, HN_ERR_IO, errno ? errno : EIO, "audit log %s: short read", path);
                }
                if (len)
                        memcpy(grown + step, buf, len);
                free(buf);
                buf = grown;
                len += step;
                newlines = 0;
                for (size_t i = 0; i < len; i++)
                        newlines += buf[i] == '\n';
        }
        /* The complete lines; skip a partial first one (mid-file start). */
        size_t pos = 0;
        if (start > 0) {
                char *nl = memchr(buf, '\n', len);
                pos = nl ? (size_t) (nl - buf) + 1 : len;
        }
        size_t lines = 0;
        for (size_t i = pos; i < len; i++)
                lines += buf[i] == '\n';
        for (; lines > n; lines--)
                pos = (size_t) ((char *) memchr(buf + pos, '\n', len - pos) - buf) + 1;
        while (pos < len) {
                char *nl = memchr(buf + pos, '\n', len - pos);
                if (!nl)
                        break; /* a record being written */
                *nl = '\0';
                json_object *o = json_tokener_parse(buf + pos);
                if (!json_object_is_type(o, json_type_object)) { /* a record is an object, or it is shown as text */
                        json_object_put(o);
                        o = json_object_new_object();
                        json_object_object_add(o, "unparsed", json_object_new_string(buf + pos));
                }
                json_object_array_add(array, o);
                pos = (size_t) (nl - buf) + 1;
        }
        return 0;
}
