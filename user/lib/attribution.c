/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The attribution levels by name: what the configuration parser needs of
 * the monitor, without the programs. */
#include <errno.h>
#include <string.h>

#include <hpcnode/monitor.h>

#include "error_set.h"
#include "macro.h"

static const char *const attribution_names[] = {
        [HN_ATTRIBUTION_AUTO] = "auto",
        [HN_ATTRIBUTION_LSM] = "lsm",
        [HN_ATTRIBUTION_TRACEPOINT] = "tracepoint",
        [HN_ATTRIBUTION_OFF] = "off",
};

const char *hn_attribution_name(enum hn_attribution a) {
        return (unsigned) a < ELEMENTSOF(attribution_names) ? attribution_names[a] : NULL;
}

int hn_attribution_from_name(const char *name, enum hn_attribution *ret, struct hn_error *err) {
        for (size_t i = 0; name && ret && i < ELEMENTSOF(attribution_names); i++)
                if (!strcmp(name, attribution_names[i])) {
                        *ret = (enum hn_attribution) i;
                        return 0;
                }
        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                            "unknown attribution \"%s\" (auto, lsm, tracepoint or off)", name ? name : "(null)");
}
