/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_ERROR_SET_H
#define HN_ERROR_SET_H

#include <hpcnode/error.h>

/* Fills err (if non-NULL) and returns -sys_errno (or -EIO when sys_errno is
 * 0), so a failure path is one line: return hn_error_set(err, …); */
int hn_error_set(struct hn_error *err, enum hn_error_kind kind, int sys_errno, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

#endif
