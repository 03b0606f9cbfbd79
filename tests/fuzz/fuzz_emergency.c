/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The emergency state file as a starting daemon reads it. Properties: no
 * crash; an emergency taken from it has bounded, terminated texts and an
 * expiry within the maximum duration of its start. */
#include <hpcnode/emergency.h>

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 1 << 16)
                return 0;
        const char *path = fuzz_file(data, size);
        struct hn_emergency *e = NULL;
        struct hn_error err;
        if (hn_emergency_new(path, &e, &err) < 0)
                return 0;
        struct hn_emergency_info info;
        if (hn_emergency_active(e, &info, NULL) > 0) {
                FUZZ_ASSERT(strlen(info.actor) <= HN_EMERGENCY_TEXT_MAX && strlen(info.reason) <= HN_EMERGENCY_TEXT_MAX);
                FUZZ_ASSERT(info.expires_unix > info.started_unix &&
                            info.expires_unix - info.started_unix <= HN_EMERGENCY_MAX_DURATION_SECS);
        }
        hn_emergency_free(e);
        return 0;
}
