/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Cleanup attributes in the systemd style: a variable declared with one of
 * these is released on every path out of its scope. */
#ifndef HN_MACRO_H
#define HN_MACRO_H

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

/* Resets *fd so a later cleanup of the same variable does not close the
 * number again: in a threaded process that number may already belong to
 * another thread's freshly opened file. */
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
                *fd = -1;
        }
}
static inline void freep(void *p) {
        free(*(void **) p);
}
static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hands ownership of an fd out of a _cleanup_close_ variable. */
static inline int take_fd(int *fd) {
        int r = *fd;
        *fd = -1;
        return r;
}

/* Hands ownership of a pointer out of a _cleanup_free_ variable. */
#define take_ptr(p)                                                                                                    \
        ({                                                                                                             \
                __typeof__(*(p)) _taken = *(p);                                                                        \
                *(p) = NULL;                                                                                           \
                _taken;                                                                                                \
        })

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/* For qsort/bsearch over arrays of strings. */
static inline int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#endif
