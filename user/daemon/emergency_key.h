/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_EMERGENCY_KEY_H
#define HND_EMERGENCY_KEY_H

#include <stdbool.h>
#include <stddef.h>

#define HND_EMERGENCY_KEY_BYTES 32

/* The key that seals the emergency state file: path (EmergencyState= with
 * ".key" appended, beside the state, so both live and go together) holds
 * 32 random bytes, mode 0600, owned by this process's uid. Created when
 * missing; one that is not such a file (planted, truncated, readable by
 * others) is replaced and *ret_replaced set, so a stranger's key seals
 * nothing. */
int hnd_emergency_key_load(const char *path, unsigned char key[HND_EMERGENCY_KEY_BYTES], bool *ret_replaced);

#endif
