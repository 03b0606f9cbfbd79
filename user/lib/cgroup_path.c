/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <hpcnode/cgroup.h>

#include "cgroup_path.h"
#include "error_set.h"

#define SCOPE_SUFFIX ".scope"

bool has_control_chars(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || (unsigned char) *s == 0x7f)
                        return true;
        return false;
}

static bool ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && strcmp(s + n - k, suffix) == 0;
}

int scope_name_to_component(const char *name, char *ret_component, size_t size, struct hn_error *err) {
        if (!name || name[0] == '\0')
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid scope name \"\": empty");
        if (strchr(name, '/'))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid scope name \"%s\": contains '/'", name);
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid scope name \"%s\": \".\" and \"..\" are not names", name);
        if (has_control_chars(name))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid scope name: contains a control character");

        /* "job.scope" is taken as already suffixed; "job.scope.scope" is a
         * caller adding the suffix on top of one that was already there. */
        size_t len = strlen(name);
        bool suffixed = ends_with(name, SCOPE_SUFFIX);
        if (suffixed) {
                size_t stem = len - strlen(SCOPE_SUFFIX);
                if (stem == 0)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                            "invalid scope name \"%s\": nothing before the .scope suffix", name);
                char stem_buf[HN_CGROUP_NAME_MAX + 1];
                if (stem < sizeof(stem_buf)) {
                        memcpy(stem_buf, name, stem);
                        stem_buf[stem] = '\0';
                        if (ends_with(stem_buf, SCOPE_SUFFIX))
                                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                                    "invalid scope name \"%s\": .scope suffix given twice", name);
                }
        }
        size_t component_len = len + (suffixed ? 0 : strlen(SCOPE_SUFFIX));
        if (component_len > HN_CGROUP_NAME_MAX)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG,
                                    "invalid scope name: %zu bytes with the .scope suffix, the limit is %d",
                                    component_len, HN_CGROUP_NAME_MAX);
        if (component_len + 1 > size)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG, "scope name too long");
        snprintf(ret_component, size, "%s%s", name, suffixed ? "" : SCOPE_SUFFIX);
        return 0;
}

/* Checks each '/'-separated component of rel. */
static int check_components(const char *original, const char *rel, struct hn_error *err) {
        const char *p = rel;
        while (*p) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);
                if (n == 0)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                            "invalid cgroup path \"%s\": empty component", original);
                if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                            "invalid cgroup path \"%s\": \".\" and \"..\" components are refused",
                                            original);
                if (n > HN_CGROUP_NAME_MAX)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG,
                                            "invalid cgroup path \"%s\": a component is over %d bytes", original,
                                            HN_CGROUP_NAME_MAX);
                if (!slash)
                        break;
                p = slash + 1;
        }
        return 0;
}

int cgroup_path_relative(const char *root, const char *path, char *ret, size_t size, struct hn_error *err) {
        if (!path)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid cgroup path: NULL");
        if (has_control_chars(path))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid cgroup path: contains a control character");
        const char *rel = path;
        if (path[0] == '/') {
                size_t n = strlen(root);
                while (n > 0 && root[n - 1] == '/')
                        n--;
                if (n == 0)
                        rel = path; /* root is "/": every absolute path is inside */
                else if (strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0'))
                        rel = path + n;
                else
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                            "invalid cgroup path \"%s\": not inside the cgroup root %s", path,
                                            root);
                while (*rel == '/')
                        rel++;
        }
        size_t len = strlen(rel);
        while (len > 0 && rel[len - 1] == '/')
                len--;
        if (len + 1 > size)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG, "invalid cgroup path: too long");
        char tmp[HN_CGROUP_PATH_MAX];
        if (len + 1 > sizeof(tmp))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG, "invalid cgroup path: too long");
        memcpy(tmp, rel, len);
        tmp[len] = '\0';
        int r = check_components(path, tmp, err);
        if (r < 0)
                return r;
        memcpy(ret, tmp, len + 1);
        return 0;
}
