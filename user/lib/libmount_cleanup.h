/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_LIBMOUNT_CLEANUP_H
#define HN_LIBMOUNT_CLEANUP_H

#include <libmount.h>

#include "macro.h"

static inline void mnt_unref_tablep(struct libmnt_table **t) {
        mnt_unref_table(*t);
}
static inline void mnt_free_iterp(struct libmnt_iter **i) {
        mnt_free_iter(*i);
}

#define _cleanup_mnt_table_ _cleanup_(mnt_unref_tablep)
#define _cleanup_mnt_iter_ _cleanup_(mnt_free_iterp)

#endif
