/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hpcnoded.conf's reader. Properties: no crash; an error names the file
 * and a line; on error the configuration is untouched. */
#include "config.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 1 << 18)
                return 0;
        const char *path = fuzz_file(data, size);
        struct hnd_config cfg, before;
        hnd_config_default(&cfg);
        before = cfg;
        struct hn_error err = { 0 };
        int r = hnd_config_load(path, true, &cfg, &err);
        if (r < 0) {
                FUZZ_ASSERT(strncmp(err.message, path, strlen(path)) == 0);
                FUZZ_ASSERT(memcmp(&cfg, &before, sizeof(cfg)) == 0);
        } else
                FUZZ_ASSERT(cfg.n_identities <= HND_MAX_IDENTITIES);
        return 0;
}
