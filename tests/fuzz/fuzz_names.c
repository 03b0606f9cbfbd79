/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scope names and cgroup paths from callers. Properties: no crash; an
 * accepted name is one path component (no '/', not "." or "..", no
 * control character); an accepted relative path never climbs out ("..")
 * and has no empty component. */
#include "cgroup_path.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 8192)
                return 0;
        char *s = fuzz_string(data, size);
        char out[4096];
        struct hn_error err;
        if (scope_name_to_component(s, out, sizeof(out), &err) == 0) {
                FUZZ_ASSERT(!strchr(out, '/') && strcmp(out, ".") && strcmp(out, "..") && *out);
                FUZZ_ASSERT(!has_control_chars(out));
        }
        if (cgroup_path_relative("/sys/fs/cgroup", s, out, sizeof(out), &err) == 0) {
                FUZZ_ASSERT(strcmp(out, "..") && strncmp(out, "../", 3) && !strstr(out, "/../") &&
                            !strstr(out, "//"));
                size_t n = strlen(out);
                FUZZ_ASSERT(n < 3 || strcmp(out + n - 3, "/.."));
                (void) slice_owner_of_relative(out);
        }
        free(s);
        return 0;
}
