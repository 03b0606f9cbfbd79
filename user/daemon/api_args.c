/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The handlers' arguments, decoded from the request's "args" object; the
 * keys a call accepts at all are checked before (api_dispatch.c). */
#include <errno.h>
#include <inttypes.h>

#include "api_handlers.h"
#include "error_set.h"

static json_object *member(json_object *args, const char *key) {
        json_object *v = NULL;
        return json_object_object_get_ex(args, key, &v) ? v : NULL;
}

int api_arg_str(json_object *args, const char *key, bool required, const char **ret, struct hn_error *err) {
        json_object *v = member(args, key);
        if (!v) {
                if (required)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "missing argument \"%s\"", key);
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "argument \"%s\" must be a string", key);
        *ret = json_object_get_string(v);
        return 0;
}

int api_arg_u64(json_object *args, const char *key, uint64_t max, uint64_t *ret, struct hn_error *err) {
        json_object *v = member(args, key);
        if (!v)
                return 0;
        errno = 0;
        int64_t n = json_object_get_int64(v);
        if (!json_object_is_type(v, json_type_int) || errno || n < 0 || (uint64_t) n > max)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "argument \"%s\" must be an integer 0..%" PRIu64, key, max);
        *ret = (uint64_t) n;
        return 0;
}
