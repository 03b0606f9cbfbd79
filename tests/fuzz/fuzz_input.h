/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every fuzz target needs: the input as a C string, or as a file
 * (for the parsers that read one), in a directory of the target's own. */
#ifndef HN_FUZZ_INPUT_H
#define HN_FUZZ_INPUT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* data with a NUL after it; the caller frees. */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* data written to a file of this process's, in $TMPDIR (run.sh gives each
 * target a directory of its own there, removed after it); its path, valid
 * until the next call. */
static inline const char *fuzz_file(const uint8_t *data, size_t size) {
        static char path[4096];
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof(path), "%s/hn-fuzz.%d", dir && *dir ? dir : "/tmp", (int) getpid());
        FILE *f = fopen(path, "we");
        if (!f || (size && fwrite(data, 1, size, f) != size))
                abort();
        fclose(f);
        return path;
}

/* A property that must hold: a crash libFuzzer reports, with the input. */
#define FUZZ_ASSERT(cond)                                                                                              \
        do {                                                                                                           \
                if (!(cond)) {                                                                                         \
                        fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);                   \
                        abort();                                                                                       \
                }                                                                                                      \
        } while (0)

#endif
